#!/usr/bin/env python3
"""Runs fa-check over the fixture corpus and compares its findings with the
expectations written in the fixtures.

A fixture is a C or C++ file directly in the fixture directory (analysed
alone; C++ as C++20) or a directory of C or C++ files (a group, analysed in one run, with its own
fa-check.toml passed with --config when it has one). Every fixture is
checked with --all, so the async-safety fixtures must stay clean of
lifetime findings and the other way round. A line ending in
`// expect: FA702` (several codes separated by spaces allowed) must get
exactly those findings; every other line must stay silent. `// silent: why`
marks lines that must stay silent (cases that could be mistaken for one).

usage: run_fixtures.py --fa-check BIN --include DIR [--fixtures DIR]
                       [NAME...]
Prints a diff per failing fixture and ends with "N passed, N failed".
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

EXPECT = re.compile(r"//\s*expect:\s*((?:FA\d{3}\s*)+)")
FINDING = re.compile(
    r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?:error|warning): "
    r"(?P<msg>.*) \[(?P<code>FA\d{3})\]$")
CLANG_ARGS = ["-std=c11", "-D_GNU_SOURCE"]
CXX_ARGS = ["-x", "c++", "-std=c++20", "-D_GNU_SOURCE"]
SOURCE = (".c", ".cpp")


def fixtures_in(root):
    names = []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if name.endswith(SOURCE) and os.path.isfile(path):
            names.append(name)
        elif os.path.isdir(path):
            names.append(name)
    return names


def sources_of(root, name):
    path = os.path.join(root, name)
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path)
                       if f.endswith(SOURCE))
        config = os.path.join(path, "fa-check.toml")
        return files, (config if os.path.isfile(config) else None), path
    return [path], None, root


def expected_of(files, root):
    """The (file, line, code) set the fixtures ask for, over every C file
    and header of the fixture."""
    want = set()
    scan = set(files)
    for f in files:
        d = os.path.dirname(f)
        if d != root:  # a group: its headers too
            scan.update(os.path.join(d, h) for h in os.listdir(d)
                        if h.endswith((".h", ".hpp")))
    for f in sorted(scan):
        with open(f, encoding="utf-8") as fh:
            for n, text in enumerate(fh, 1):
                m = EXPECT.search(text)
                if m:
                    for code in m.group(1).split():
                        want.add((os.path.realpath(f), n, code))
    return want


def run_one(args, root, name, empty_config):
    files, config, _ = sources_of(root, name)
    cmd = [args.fa_check, "--all", "--format", "compact", "--config",
           config or empty_config] + files + ["--"] + \
        ["-I" + args.include] + \
        (CXX_ARGS if any(f.endswith(".cpp") for f in files) else CLANG_ARGS)
    with tempfile.TemporaryDirectory() as cwd:
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        got, messages = set(), {}
        for text in p.stdout.splitlines():
            m = FINDING.match(text)
            if not m:
                continue
            f = os.path.realpath(os.path.join(cwd, m.group("file")))
            key = (f, int(m.group("line")), m.group("code"))
            got.add(key)
            messages[key] = m.group("msg")
    problems = []
    if p.returncode not in (0, 1) or p.stderr.strip():
        # Nothing is printed on stderr in a clean run: a sanitizer report
        # or a parse failure is a failure of the fixture.
        problems.append("fa-check exited with %d:\n%s" %
                        (p.returncode, p.stderr.strip()))
    want = expected_of(files, root)
    for key in sorted(want - got):
        problems.append("missing  %s:%d: %s" %
                        (os.path.relpath(key[0], root), key[1], key[2]))
    for key in sorted(got - want):
        problems.append("unwanted %s:%d: %s: %s" %
                        (os.path.relpath(key[0], root), key[1], key[2],
                         messages[key]))
    if args.verbose or problems:
        sys.stdout.write(p.stdout)
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fa-check", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--fixtures",
                    default=os.path.join(os.path.dirname(
                        os.path.abspath(__file__)), "fixtures"))
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("names", nargs="*")
    args = ap.parse_args()
    if os.sep in args.fa_check:  # the runs happen in a scratch directory
        args.fa_check = os.path.abspath(args.fa_check)
    args.include = os.path.abspath(args.include)
    root = os.path.realpath(args.fixtures)
    names = args.names or fixtures_in(root)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        empty = os.path.join(tmp, "fa-check.toml")
        with open(empty, "w", encoding="utf-8") as fh:
            fh.write("# no settings: every rule at its default level\n")
        for name in names:
            if not os.path.exists(os.path.join(root, name)):
                print("FAIL %s: no such fixture" % name)
                failed += 1
                continue
            problems = run_one(args, root, name, empty)
            if problems:
                failed += 1
                print("FAIL %s" % name)
                for line in problems:
                    print("  " + line)
            else:
                passed += 1
                print("ok   %s" % name)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
