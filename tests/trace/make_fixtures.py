#!/usr/bin/env python3
"""Writes the recorded trace fixtures of tests/trace/, deterministically.

    make_fixtures.py [--check] DIR

A made-up run of a game, written the way framealloc's trace writer writes
(docs/profiling.md, "The trace format"): two threads with their own frame
rates, frames numbered from 1, tags with budgets, two frames over a soft
tag budget (FA003 warnings), one with an allocation refused at the hard
budget (FA003 error, its site escaped), a frame that rewinds (its peak above
its bytes at the end), and counters written only when their value changes.
Files:

  two_threads.trace.json  closed by fa_trace_close (trace_end, then "]");
  killed.trace.json       the same run killed during a write: no "]", the
                          last line cut in the middle.

With --check, nothing is written: the files in DIR must equal what would be
(exit 1 and the name of the stale file otherwise). PLANTED holds the facts
the run was made to show; the tests compare fa_trace.py's summary with
them.
"""
import argparse
import json
import os
import sys

PID = 4242
VERSION = "0.1.0"
FRAME_BUDGET = 64 * 1024
HISTORY_FRAMES = 120
BUDGETS = [("physics", 16 * 1024, 32 * 1024), ("render", 24 * 1024, 0)]
MAIN_FRAMES = 48             # thread 0: 60 frames per second
WORKER_FRAMES = 24           # thread 1: 30 frames per second
MAIN_US, WORKER_US = 16666.667, 33333.333
SOFT_FRAME, HARD_FRAME = 30, 40   # thread 0 frames with the overruns
REWIND_FRAME = 12                 # thread 0: 12 KiB used, then rewound
KILLED_AFTER_BATCHES = 50         # batches written before the kill

# What the run shows, for the tests.
PLANTED = {
    "frames": {0: MAIN_FRAMES, 1: WORKER_FRAMES},
    "frame_peak": 60 * 1024,              # thread 0, HARD_FRAME
    "frame_peak_at": (0, HARD_FRAME),
    "budget_soft": 2, "budget_hard": 1,   # the writer's budget field
    "diagnostics": {"FA003": 4},          # 3 warnings, 1 error
    "diagnostic_errors": 1,
    "physics_peak": 30 * 1024,            # HARD_FRAME: the next 4 KiB
    "physics_peak_at": (0, HARD_FRAME),   # would pass the hard 32 KiB
    "physics_over_soft": 3,
    "render_over_soft": 0,
    "tags": ["audio", "physics", "render"],
    "pool_peak": 40960 + 24 * 2048,       # every sprite loaded
    "task_peak": 8192,
    "heap_bytes": 131072,
    "os_peak": 8 << 20,                   # grown once, by the worker
}


class Rng:
    """A small linear congruential generator: the same numbers anywhere."""

    def __init__(self, seed):
        self.state = seed

    def below(self, n):
        self.state = (self.state * 1103515245 + 12345) % (1 << 31)
        return (self.state >> 8) % n


def us(x):
    """A timestamp in microseconds with nanosecond precision."""
    return round(x, 3)


def line(ev):
    return json.dumps(ev, separators=(",", ":")) + ",\n"


def main_thread_frame(f, rng):
    """(frame_bytes, frame_peak, allocs, tags, diagnostics) of thread 0."""
    physics = 8 * 1024 + rng.below(4096)
    render = 12 * 1024 + rng.below(8192)
    audio = 0
    if f == SOFT_FRAME:
        physics = 20 * 1024                  # over the soft 16 KiB
    if f == SOFT_FRAME + 1:
        physics = 18 * 1024
    if f == HARD_FRAME:
        physics = 30 * 1024                  # then 4 KiB more is refused
    if f % 8 == 0:
        audio = 2048
    used = physics + render + audio + 4096   # 4 KiB untagged
    peak = used
    if f == REWIND_FRAME:
        peak = used + 12 * 1024
    if f == HARD_FRAME:
        peak = PLANTED["frame_peak"]
    tags = {}
    if physics:
        tags["physics"] = {"frame": physics, "pool": 0, "task": 0}
    if render:
        tags["render"] = {"frame": render, "pool": 0, "task": 0}
    if audio:
        tags["audio"] = {"frame": audio, "pool": 0, "task": 0}
    return used, peak, 40 + rng.below(20), tags


def diagnostic(ts, severity, message, site):
    return {"ph": "i", "s": "t", "name": "FA003", "cat": "diagnostic",
            "pid": PID, "tid": 0, "ts": us(ts),
            "args": {"code": "FA003", "severity": severity,
                     "message": message, "site": site}}


def build():
    """The lines of the closed trace, each ending in a newline, and the
    number of lines before each batch (where a kill may cut)."""
    rng = Rng(16)
    head = ["[\n",
            line({"ph": "M", "name": "process_name", "pid": PID, "tid": 0,
                  "args": {"name": "framealloc"}}),
            line({"ph": "M", "name": "framealloc", "pid": PID, "tid": 0,
                  "args": {"version": VERSION,
                           "frame_budget": FRAME_BUDGET,
                           "history_frames": HISTORY_FRAMES,
                           "budgets": [{"tag": t, "soft": s, "hard": h}
                                       for t, s, h in BUDGETS]}})]
    # Frames of both threads, written in the order they end.
    frames = []
    t = 150.0
    for f in range(1, MAIN_FRAMES + 1):
        dur = MAIN_US - 2000 + rng.below(3000)
        if f == HARD_FRAME:
            dur += 9000                      # the frame that stalled
        frames.append((us(t + dur), 0, f, us(t), us(dur)))
        t += MAIN_US
    t = 410.5
    for f in range(1, WORKER_FRAMES + 1):
        dur = WORKER_US - 5000 + rng.below(4000)
        frames.append((us(t + dur), 1, f, us(t), us(dur)))
        t += WORKER_US
    frames.sort()

    state = {"pool": 40960, "heap": PLANTED["heap_bytes"], "task": 0,
             "os": 4 << 20}
    written = {"tier": None, "os": None}
    named = set()
    lines, batch_starts = list(head), []
    loaded = 0
    for end, tid, f, begin, dur in frames:
        batch_starts.append(len(lines))
        batch = []
        if tid not in named:
            named.add(tid)
            batch.append({"ph": "M", "name": "thread_name", "pid": PID,
                          "tid": tid, "args": {"name": "thread %d" % tid}})
        diagnostics = 0
        if tid == 0:
            used, peak, allocs, tags = main_thread_frame(f, rng)
            budget = "ok"
            if f in (SOFT_FRAME, SOFT_FRAME + 1, HARD_FRAME):
                budget, diagnostics = "soft", 1
                physics = tags["physics"]["frame"]
                batch.append(diagnostic(
                    begin + dur / 3, "warning",
                    "tag \"physics\" over its soft budget: %d bytes in the "
                    "frame, 16384 allowed" % physics, ""))
            if f == HARD_FRAME:
                budget, diagnostics = "hard", 2
                batch.append(diagnostic(
                    begin + dur - 1234.5, "error",
                    "tag \"physics\" over its hard budget: 4096 bytes "
                    "asked, %d in use, 32768 allowed" % physics,
                    "game\\physics.c:212"))
            chunks = 1 + peak // (32 * 1024)
        else:
            # The worker decodes one sprite a frame into pool memory,
            # with its scratch in a task.
            loaded += 1
            state["pool"] = 40960 + loaded * 2048
            state["task"] = 8192 if f % 3 != 2 else 0
            used = peak = 2048 + rng.below(1024)
            allocs, chunks = 3 + rng.below(3), 1
            tags = {"audio": {"frame": used, "pool": 0, "task": 0},
                    "physics": {"frame": 0, "pool": 2048,
                                "task": state["task"]}}
            budget = "ok"
        if state["pool"] + state["task"] > 80 * 1024:
            state["os"] = 8 << 20
        batch.append({"ph": "X", "name": "frame", "cat": "frame",
                      "pid": PID, "tid": tid, "ts": begin, "dur": dur,
                      "args": {"frame": f, "frame_bytes": used,
                               "frame_peak": peak, "chunks": chunks,
                               "allocs": allocs,
                               "pool_bytes": state["pool"],
                               "heap_bytes": state["heap"],
                               "task_bytes": state["task"],
                               "os_bytes": state["os"],
                               "diagnostics": diagnostics,
                               "budget": budget, "tags": tags}})
        batch.append({"ph": "C", "name": "frame bytes", "id": tid,
                      "pid": PID, "tid": tid, "ts": end,
                      "args": {"frame": used}})
        tier = (state["pool"], state["heap"], state["task"])
        if tier != written["tier"]:
            written["tier"] = tier
            batch.append({"ph": "C", "name": "tier bytes", "pid": PID,
                          "tid": tid, "ts": end,
                          "args": {"pool": tier[0], "heap": tier[1],
                                   "task": tier[2]}})
        if state["os"] != written["os"]:
            written["os"] = state["os"]
            batch.append({"ph": "C", "name": "os bytes", "pid": PID,
                          "tid": tid, "ts": end,
                          "args": {"os": state["os"]}})
        lines += [line(ev) for ev in batch]
    # The last event has no comma: a closed trace is strict JSON.
    lines.append(line({"ph": "M", "name": "trace_end", "pid": PID, "tid": 0,
                       "args": {"frames": len(frames), "dropped": 0}})[:-2]
                 + "\n")
    lines.append("]\n")
    return lines, batch_starts


def fixtures():
    """{file name: text}."""
    lines, batch_starts = build()
    cut = batch_starts[KILLED_AFTER_BATCHES]
    partial = lines[cut][: len(lines[cut]) // 2]
    return {
        "two_threads.trace.json": "".join(lines),
        "killed.trace.json": "".join(lines[:cut]) + partial,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true",
                   help="compare with the files in DIR, write nothing")
    p.add_argument("dir", metavar="DIR")
    args = p.parse_args()
    stale = 0
    for name, text in fixtures().items():
        path = os.path.join(args.dir, name)
        if args.check:
            try:
                with open(path, encoding="utf-8") as f:
                    same = f.read() == text
            except OSError:
                same = False
            if not same:
                print("%s is stale: run %s %s" % (path, sys.argv[0], args.dir))
                stale += 1
            continue
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
