#!/usr/bin/env python3
"""Runs the core tests of a build under Valgrind memcheck.

Usage: memcheck.py BUILD_DIR

The tests and their command lines come from CTest's own list
(ctest --show-only=json-v1), so they run exactly as `ctest` runs them, one
at a time, each under
  valgrind --error-exitcode=99 --leak-check=full
           --errors-for-leak-kinds=definite,indirect
A test passes when it exits 0: no memcheck error and no definite or
indirect leak. The build should be a Release build with -DFA_VALGRIND=ON,
so that the library tells memcheck which frame, pool and task bytes are
dead. Run by `make test-memcheck`; ends with "N passed, N failed".

Which tests: the library's own (test_*), the C++ header test and the
fuzzer's replayed inputs. Left out: fa-check's tests (libclang is slow
under memcheck and keeps memory until exit; they run under ASan), the
libuv integration's tests (test_uv*: libuv's event loop and sockets, and
a load test of a minute under memcheck; they run under ASan and TSan),
the installed-package and documentation tests (other builds),
test_uaf (ASan only: it expects an ASan report), and test_hostile (its
free races spin two threads against each other thousands of times;
Valgrind runs one thread at a time, so a run takes from 20 s to several
minutes; it runs in every other build, TSan included)."""
import json
import os
import subprocess
import sys
import time

CORE = ("test_", "fuzz_alloc_")
SKIP = ("test_uaf", "test_uv", "test_hostile")
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--quiet",
            "--child-silent-after-fork=yes"]
# Memcheck runs threads one at a time and every access through its JIT:
# the stress test keeps its seed but does fewer iterations.
ENV = {"FA_STRESS_ITERATIONS": "300"}


def tests(build):
    out = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build,
                         check=True, capture_output=True, text=True).stdout
    for t in json.loads(out)["tests"]:
        name = t["name"]
        if not name.startswith(CORE) or name.startswith(SKIP):
            continue
        props = {p["name"]: p["value"] for p in t.get("properties", [])}
        env = dict(os.environ, **ENV)
        for kv in props.get("ENVIRONMENT", []):
            k, _, v = kv.partition("=")
            env[k] = v
        yield name, t["command"], props.get("WORKING_DIRECTORY", build), env


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    build = sys.argv[1]
    passed = failed = 0
    for name, cmd, cwd, env in tests(build):
        start = time.monotonic()
        r = subprocess.run(VALGRIND + cmd, cwd=cwd, env=env,
                           capture_output=True, text=True)
        took = time.monotonic() - start
        if r.returncode == 0:
            passed += 1
            print(f"ok   {name} ({took:.1f}s)")
        else:
            failed += 1
            print(f"FAIL {name} (status {r.returncode}, {took:.1f}s)")
            print(r.stdout[-4000:])
            print(r.stderr[-8000:])
        sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
