"""The loop shared by the Python test scripts run by CTest.

run(tests, make_ctx, prefix, errors) runs each test function with the
context make_ctx(tmp) builds around a fresh temporary directory (removed
afterwards), prints "ok   NAME" or "FAIL NAME: why" for each (a test fails
by raising one of errors) and, last, "N passed, N failed". Returns the exit
status: 1 when a test failed, else 0.
"""
import shutil
import tempfile


def run(tests, make_ctx, prefix, errors):
    passed = failed = 0
    for test in tests:
        tmp = tempfile.mkdtemp(prefix=prefix)
        try:
            test(make_ctx(tmp))
            passed += 1
            print("ok   %s" % test.__name__)
        except errors as e:
            failed += 1
            print("FAIL %s: %s" % (test.__name__, e))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
