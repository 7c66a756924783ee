#!/usr/bin/env python3
"""Checks that fa-check and the run-time tools name the same line for one
agreement program.

The static side runs fa-check on the program's source and takes its one
finding of the given code. The run-time side runs the program, built against
the debug library with AddressSanitizer, and takes the line its report names:

  FA702, FA604  frame #0 of AddressSanitizer's use-after-poison report; the
                checker's line is the use of the frame pointer (FA604's
                finding itself, FA702's "used here" note: FA702's finding
                sits on the suspension point before it).
  FA701         the frame of the abort's stack, in the program's async
                function the checker names, after the library's FA701
                diagnostic (the program's allocator is strict, so the
                diagnostic aborts and ASAN_OPTIONS=handle_abort=1 prints the
                stack); the checker's line is its finding.

The test passes when both lines exist and are equal. With --code none
the program holds no mistake: the checker must report nothing and the
program must run to the end (exit status 0) without a report.

usage: agree.py --fa-check BIN --include DIR --source FILE
                --code FA604|FA701|FA702|none --program EXE
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

CLANG_ARGS = ["-std=c11", "-D_GNU_SOURCE"]
CXX_ARGS = ["-x", "c++", "-std=c++20", "-D_GNU_SOURCE"]
# A stack frame: "#3 0x55d0c2 in job ../agree/fa701_async.c:6" (a column
# may follow with another symbolizer).
FRAME = re.compile(r"^\s*#(\d+) 0x[0-9a-f]+ in (\S+) (.+?):(\d+)(?::\d+)?\s*$")
# The note of a finding that carries the line of the use, when the finding
# itself does not.
USE_NOTE = {"FA702": "used here"}
ASYNC_NAME = re.compile(r"in async function '([^']+)'")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def run_checker(args):
    """fa-check's json document for the program's source."""
    with tempfile.TemporaryDirectory() as cwd:
        config = os.path.join(cwd, "fa-check.toml")
        with open(config, "w", encoding="utf-8") as fh:
            fh.write("# no settings: every rule at its default level\n")
        cmd = [args.fa_check, "--format", "json", "--config", config,
               args.source, "--", "-I" + args.include] + \
            (CXX_ARGS if args.source.endswith(".cpp") else CLANG_ARGS)
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if p.returncode not in (0, 1) or p.stderr.strip():
        fail("fa-check exited with %d:\n%s" % (p.returncode, p.stderr))
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        fail("fa-check's json output does not parse (%s):\n%s" %
             (e, p.stdout))
    return doc, p.stdout


def static_side(args):
    """(line, function name or None, text) of the checker's finding."""
    doc, text = run_checker(args)
    found = [d for d in doc["diagnostics"] if d["code"] == args.code]
    if len(found) != 1:
        fail("fa-check reports %d %s findings on %s, the program holds one:"
             "\n%s" % (len(found), args.code, args.source, text))
    d = found[0]
    where = "%s at line %d" % (args.code, d["line"])
    line = d["line"]
    if args.code in USE_NOTE:
        notes = [n for n in d["notes"]
                 if n["message"].startswith(USE_NOTE[args.code])]
        if not notes:
            fail("the %s finding has no '%s' note:\n%s" %
                 (args.code, USE_NOTE[args.code], text))
        line = notes[0]["line"]
        where += ", %s line %d" % (USE_NOTE[args.code], line)
    m = ASYNC_NAME.search(d["message"])
    return line, (m.group(1) if m else None), where + ": " + d["message"]


def frames_in_source(lines, start, source):
    """The stack frames after lines[start] that are in the source file:
    (function, line), innermost first, up to the end of that stack."""
    base = os.path.basename(source)
    out = []
    seen = False
    for text in lines[start + 1:]:
        m = FRAME.match(text)
        if not m:
            if seen:
                break
            continue
        seen = True
        if os.path.basename(m.group(3)) == base:
            out.append((m.group(2), int(m.group(4))))
    return out


def run_program(args, dies):
    """The program's run, its output copied to ours. A program that dies on
    purpose is not checked for leaks, and its abort prints a stack."""
    env = dict(os.environ)
    if dies:
        # Later options win: the caller's settings, then this run's.
        env["ASAN_OPTIONS"] = ":".join(
            o for o in (env.get("ASAN_OPTIONS"),
                        "detect_leaks=0:handle_abort=1") if o)
    p = subprocess.run([args.program], env=env, capture_output=True,
                       text=True)
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    return p


def silent(args):
    """The checks of a program without a mistake."""
    doc, text = run_checker(args)
    if doc["diagnostics"]:
        fail("fa-check reports findings on a program without a mistake:\n" +
             text)
    p = run_program(args, False)
    report = re.search(r"ERROR: \w+Sanitizer|runtime error:|"
                       r"framealloc: (error|warning)\[", p.stderr)
    if p.returncode != 0 or report:
        fail("the program without a mistake did not run cleanly (exit "
             "status %d)" % p.returncode)
    print("agree: neither the checker nor the run-time tools report "
          "anything on %s" % os.path.basename(args.source))
    return 0


def runtime_side(args, function):
    """(line, text) that the run-time tools report."""
    p = run_program(args, True)
    if p.returncode == 0:
        fail("the program ran to the end: nothing stopped it")
    lines = p.stderr.splitlines()
    base = os.path.basename(args.source)
    if args.code == "FA701":
        diag = [i for i, t in enumerate(lines)
                if t.startswith("framealloc: error[FA701]")]
        if not diag:
            fail("the library raised no FA701 diagnostic")
        abort = [i for i, t in enumerate(lines)
                 if "AddressSanitizer: ABRT" in t and i > diag[0]]
        if not abort:
            fail("no stack after the FA701 diagnostic: the allocator is "
                 "not strict, or ASan does not handle SIGABRT")
        frames = frames_in_source(lines, abort[0], args.source)
        if function:
            frames = [f for f in frames if f[0] == function]
        if not frames:
            fail("the abort's stack has no frame in %s%s" %
                 (base, " in " + function if function else ""))
        return frames[0][1], "FA701 raised; stack frame %s() at line %d" % (
            frames[0][0], frames[0][1])
    report = [i for i, t in enumerate(lines)
              if "ERROR: AddressSanitizer: use-after-poison" in t]
    if not report:
        fail("AddressSanitizer reported no use-after-poison")
    for text in lines[report[0] + 1:]:
        m = FRAME.match(text)
        if m and m.group(1) == "0":
            if os.path.basename(m.group(3)) != base:
                fail("frame #0 of the report is in %s, not in %s" %
                     (m.group(3), base))
            return int(m.group(4)), (
                "use-after-poison, frame #0 %s() at line %s" %
                (m.group(2), m.group(4)))
    fail("the use-after-poison report has no frame #0")
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fa-check", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--code", required=True,
                    choices=["FA604", "FA701", "FA702", "none"])
    ap.add_argument("--program", required=True)
    args = ap.parse_args()
    if os.sep in args.fa_check:  # fa-check runs in a scratch directory
        args.fa_check = os.path.abspath(args.fa_check)
    args.include = os.path.abspath(args.include)
    args.source = os.path.abspath(args.source)
    if args.code == "none":
        return silent(args)
    static_line, function, static_text = static_side(args)
    runtime_line, runtime_text = runtime_side(args, function)
    name = os.path.basename(args.source)
    print("checker:  %s: %s" % (name, static_text))
    print("run time: %s: %s" % (name, runtime_text))
    if static_line != runtime_line:
        fail("%s: the checker names line %d, the run-time tools line %d" %
             (name, static_line, runtime_line))
    print("agree: the checker's %s and the run-time tools both name %s:%d" %
          (args.code, name, static_line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
