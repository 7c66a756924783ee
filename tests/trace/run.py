#!/usr/bin/env python3
"""Runs a program that writes a framealloc trace, then checks the trace.

    run.py basic|exit|killed|unwritable PROG OUTDIR   (PROG: trace_prog)
    run.py example PROG OUTDIR [check options]  (any program, traced
                                                 through FA_TRACE)

Exit status 0 when the program behaved and every trace it wrote is valid:
tools/fa_trace.py check, with --complete (closed by fa_trace_close or at
exit) unless the program was killed (--killed), and the expectations of
the mode (--min-frames, --threads, --tag, --diag).
"""
import glob
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "..", "tools", "fa_trace.py")


def check(path, *opts):
    opts = list(opts)
    if "--killed" not in opts:
        opts.insert(0, "--complete")
    r = subprocess.run([sys.executable, CHECK, "check"] + opts + [path])
    return r.returncode == 0


def run(cmd, env=None, timeout=120):
    r = subprocess.run(cmd, env=env, timeout=timeout)
    if r.returncode != 0:
        print("%s exited with %d" % (" ".join(cmd), r.returncode))
    return r.returncode == 0


def clean_env():
    env = dict(os.environ)
    env.pop("FA_TRACE", None)
    return env


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    mode, prog, out = sys.argv[1], sys.argv[2], sys.argv[3]
    extra = sys.argv[4:]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, mode + ".json")
    for old in glob.glob(path + "*"):
        os.remove(old)
    env = clean_env()
    if mode == "basic":
        return 0 if run([prog, "basic", path], env) and check(
            path, "--min-frames", "161", "--threads", "4", "--tag",
            "physics", "--tag", 'ai "planner" \\ v2', "--diag",
            "FA003") else 1
    if mode == "exit":
        return 0 if run([prog, "exit", path], env) and check(
            path, "--min-frames", "30", "--tag", "physics") else 1
    if mode == "killed":
        p = subprocess.Popen([prog, "spin", path], env=env,
                             stdout=subprocess.PIPE, text=True)
        line = p.stdout.readline()
        time.sleep(0.2)
        p.kill()
        p.wait()
        if line.strip() != "ready":
            print("the program did not get ready: %r" % line)
            return 1
        return 0 if check(path, "--killed", "--min-frames", "100") else 1
    if mode == "unwritable":
        env["FA_TRACE"] = os.path.join(out, "no-such-dir", "trace.json")
        r = subprocess.run([prog, "unwritable"], env=env,
                           capture_output=True, text=True, timeout=120)
        sys.stdout.write(r.stdout + r.stderr)
        return 0 if r.returncode == 0 else 1
    if mode == "example":
        name = os.path.basename(prog)
        path = os.path.join(out, name + ".json")
        for old in glob.glob(path + "*"):
            os.remove(old)
        env["FA_TRACE"] = path
        if not run([prog], env):
            return 1
        files = sorted(glob.glob(path + "*"))
        if not files:
            print("%s wrote no trace" % name)
            return 1
        ok = all(check(f, *extra) for f in files)
        return 0 if ok else 1
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
