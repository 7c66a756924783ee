#!/usr/bin/env python3
"""Prepares a compilation database for the fa-check benchmark.

Reads compile_commands.json from SRC_DIR and writes into OUT_DIR:
  compile_commands.json  the same entries, one per source file (a library
                         built both shared and static lists each file
                         twice; both tools must see the same work once)
  syntax-only.txt        one shell command per entry that runs
                         `CLANG -fsyntax-only` with the entry's own flags in
                         its own directory: the reference fa-check is
                         compared with, sequentially or through xargs -P

usage: compdb.py SRC_DIR OUT_DIR CLANG
"""
import json
import os
import shlex
import sys


def arguments(entry):
    if "arguments" in entry:
        return list(entry["arguments"])
    return shlex.split(entry["command"])


def syntax_only(args, clang):
    """The entry's flags without the compiler, -c and -o OUT."""
    out = [clang, "-fsyntax-only"]
    skip = False
    for a in args[1:]:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a == "-c" or a.startswith("-o"):
            continue
        else:
            out.append(a)
    return out


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip())
    src, dst, clang = sys.argv[1:]
    with open(os.path.join(src, "compile_commands.json")) as f:
        db = json.load(f)
    seen = set()
    kept = []
    for e in db:
        path = os.path.normpath(os.path.join(e["directory"], e["file"]))
        if path in seen:
            continue
        seen.add(path)
        kept.append(e)
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "compile_commands.json"), "w") as f:
        json.dump(kept, f, indent=2)
        f.write("\n")
    with open(os.path.join(dst, "syntax-only.txt"), "w") as f:
        for e in kept:
            cmd = " ".join(shlex.quote(a)
                           for a in syntax_only(arguments(e), clang))
            f.write("cd %s && %s\n" % (shlex.quote(e["directory"]), cmd))
    print(len(kept))


if __name__ == "__main__":
    main()
