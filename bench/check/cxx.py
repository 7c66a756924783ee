#!/usr/bin/env python3
"""fa-check on a C++ project against clang++ -fsyntax-only.

Reads a compile database, then in alternating rounds times
  clang++ -fsyntax-only on every translation unit with its own flags (one at
  a time for -j 1, two at a time for -j 2), and
  fa-check --all -j N -p DB (from an empty directory, so no fa-check.toml
  applies),
and prints the median wall-clock and CPU milliseconds of each, with the
ratios. fa-check must exit 0 (the project uses no frame memory).

usage: cxx.py --fa-check BIN --db DIR [--clang clang++-14] [--runs 3]
"""
import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time


def commands(db, clang):
    out = []
    for e in json.load(open(os.path.join(db, "compile_commands.json"))):
        args = e["arguments"] if "arguments" in e else shlex.split(
            e["command"])
        keep, skip = [clang, "-fsyntax-only"], False
        for a in args[1:]:
            if skip:
                skip = False
                continue
            if a in ("-o", "-MF", "-MT", "-MQ"):
                skip = True
                continue
            if a in ("-c", "-MD", "-MMD"):
                continue
            keep.append(a)
        out.append((e["directory"], keep))
    return out


def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000


def run_clang(cmds, jobs):
    t0, c0 = time.monotonic(), cpu_ms()
    running = []
    for d, args in cmds:
        if len(running) == jobs:
            running.pop(0).wait()
        running.append(subprocess.Popen(args, cwd=d,
                                        stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL))
    for p in running:
        p.wait()
    return (time.monotonic() - t0) * 1000, cpu_ms() - c0


def run_fa(fa, db, jobs, cwd):
    t0, c0 = time.monotonic(), cpu_ms()
    p = subprocess.run([fa, "--all", "-j", str(jobs), "-p", db], cwd=cwd,
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("fa-check exited %d:\n%s%s" % (p.returncode, p.stdout,
                                                p.stderr))
    return (time.monotonic() - t0) * 1000, cpu_ms() - c0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fa-check", required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--clang", default="clang++-14")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    db = os.path.abspath(a.db)
    cmds = commands(db, a.clang)
    names = ["clang_j1", "fa_j1", "clang_j2", "fa_j2"]
    times = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as cwd:
        for r in range(a.runs + 1):  # round 0 warms the file cache
            for n in names:
                jobs = 1 if n.endswith("j1") else 2
                res = run_clang(cmds, jobs) if n.startswith("clang") else \
                    run_fa(a.fa_check, db, jobs, cwd)
                if r:
                    times[n].append(res)
    med = {n: (statistics.median(t[0] for t in times[n]),
               statistics.median(t[1] for t in times[n])) for n in names}
    print("TUs: %d, rounds: %d" % (len(cmds), a.runs))
    for n in names:
        print("%-9s median %6.0f ms wall, %6.0f ms CPU; rounds %s" % (
            n, med[n][0], med[n][1],
            " ".join("%.0f" % t[0] for t in times[n])))
    for j in ("j1", "j2"):
        print("fa-check / clang++ -fsyntax-only, -%s: %.2fx wall, %.2fx CPU"
              % (j.replace("j", "j "), med["fa_" + j][0] / med["clang_" + j][0],
                 med["fa_" + j][1] / med["clang_" + j][1]))
    print("fa-check -j 2 over -j 1: %.2fx faster (clang++: %.2fx)" % (
        med["fa_j1"][0] / med["fa_j2"][0],
        med["clang_j1"][0] / med["clang_j2"][0]))


if __name__ == "__main__":
    main()
