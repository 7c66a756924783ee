#!/usr/bin/env python3
"""Writes compile_commands.json from what `make -n` prints.

Usage: make -n ... | make_compdb.py DIRECTORY OUT_JSON [SOURCE...]

Reads a dry run of make from standard input and keeps the commands that
compile one C file (`-c FILE.c`): the exact commands the build would run,
without running them. A libtool wrapper (`libtool --mode=compile
--tag=CC gcc ...`) is peeled off, leaving the compiler command; commands
libtool would run with the C++ compiler (--tag=CXX) are left out, since the
C library is what is checked. DIRECTORY is where make runs the commands
(relative file names are resolved there). With SOURCE names, only those
files are kept. Prints the number of entries; fails when there is none.
"""

import json
import os
import shlex
import sys


def compile_command(line):
    """The compiler's argument list of a line of `make -n`, or None."""
    try:
        words = shlex.split(line)
    except ValueError:
        return None
    if words and os.path.basename(words[0]).startswith("libtool"):
        modes = [w for w in words if w.startswith("--mode=")]
        if modes != ["--mode=compile"] or "--tag=CXX" in words:
            return None
        words = words[1:]
        while words and words[0].startswith("--"):
            words = words[1:]
    if "-c" not in words:
        return None
    return words


def source_of(words):
    """The C file a compile command compiles (the argument after -c or the
    only .c operand), or None."""
    files = [w for w in words[1:] if w.endswith(".c") and not w.startswith("-")]
    return files[0] if len(files) == 1 else None


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: make -n ... | make_compdb.py DIRECTORY OUT_JSON [SOURCE...]")
    directory = os.path.abspath(sys.argv[1])
    out = sys.argv[2]
    wanted = set(sys.argv[3:])
    entries = []
    seen = set()
    for line in sys.stdin:
        words = compile_command(line.strip())
        if not words:
            continue
        src = source_of(words)
        if not src or (wanted and src not in wanted) or src in seen:
            continue
        seen.add(src)
        entries.append({
            "directory": directory,
            "arguments": words,
            "file": os.path.normpath(os.path.join(directory, src)),
        })
    if not entries:
        sys.exit("make_compdb.py: no compile command in the output of make -n")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(entries, f, indent=1)
        f.write("\n")
    print(len(entries))


if __name__ == "__main__":
    main()
