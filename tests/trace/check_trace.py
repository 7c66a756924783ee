#!/usr/bin/env python3
"""Checks a framealloc trace (Chrome Trace Event Format, JSON array).

    check_trace.py FILE [--killed] [--min-frames N] [--threads N]
                   [--tag NAME ...] [--diag CODE ...] [--self-test]

A closed trace must parse as JSON as it is and end with the trace_end
event; with --killed the file is the trace of a killed program: it must
not be closed, and it is read as a tolerant reader does (an incomplete
last line and the trailing comma dropped, the array closed). Every event
is checked against the schema of the kinds the library writes (metadata,
frame slices, counters, diagnostic instants). Exit status 0 when the
trace is valid and shows what the options ask for, 1 otherwise.
"""
import argparse
import json
import re
import sys

FRAME_ARGS = ("frame", "frame_bytes", "frame_peak", "chunks", "allocs",
              "pool_bytes", "heap_bytes", "task_bytes", "os_bytes",
              "diagnostics")
COUNTERS = {"frame bytes": ("frame",), "tier bytes": ("pool", "heap", "task"),
            "os bytes": ("os",)}


class Invalid(Exception):
    pass


def tolerant_parse(text):
    """The events of a trace that may have been cut short."""
    if not text.startswith("[\n"):
        raise Invalid("the trace does not start with '[' and a newline")
    lines = text[2:].split("\n")
    events = []
    for i, line in enumerate(lines):
        if not line or line == "]":
            continue
        body = line[:-1] if line.endswith(",") else line
        try:
            events.append(json.loads(body))
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # the last line, possibly cut short
                break
            raise Invalid("line %d is not one JSON event: %r" % (i + 2, line))
    return events


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def need(cond, what, ev):
    if not cond:
        raise Invalid("%s: %s" % (what, json.dumps(ev)[:300]))


def check_events(events, closed):
    need(len(events) >= 2, "too few events", events)
    need(events[0].get("ph") == "M" and events[0].get("name") ==
         "process_name", "the first event is not process_name", events[0])
    need(events[1].get("ph") == "M" and events[1].get("name") ==
         "framealloc", "the second event is not the configuration", events[1])
    cfg = events[1]["args"]
    need(isinstance(cfg.get("version"), str) and
         is_uint(cfg.get("frame_budget")) and
         is_uint(cfg.get("history_frames")) and
         isinstance(cfg.get("budgets"), list), "bad configuration", events[1])
    for b in cfg["budgets"]:
        need(isinstance(b.get("tag"), str) and is_uint(b.get("soft")) and
             is_uint(b.get("hard")), "bad budget", events[1])
    pid = events[0]["pid"]
    named, frames, last_frame, diags, tags = set(), 0, {}, set(), set()
    frame_tids = set()
    end = None
    for i, ev in enumerate(events):
        need(isinstance(ev, dict), "an event is not an object", ev)
        need(ev.get("pid") == pid, "pid differs", ev)
        need(is_uint(ev.get("tid")), "tid is not a small integer", ev)
        ph, name, tid = ev.get("ph"), ev.get("name"), ev["tid"]
        args = ev.get("args")
        need(isinstance(args, dict), "args is not an object", ev)
        if ph == "M":
            need(name in ("process_name", "thread_name", "framealloc",
                          "trace_end"), "unknown metadata event", ev)
            if name == "thread_name":
                need(args.get("name") == "thread %d" % tid, "bad thread name",
                     ev)
                named.add(tid)
            if name == "trace_end":
                need(i == len(events) - 1, "trace_end is not last", ev)
                need(is_uint(args.get("frames")) and
                     is_uint(args.get("dropped")), "bad trace_end", ev)
                end = ev
        elif ph == "X":
            need(name == "frame" and ev.get("cat") == "frame",
                 "a slice that is not a frame", ev)
            need(tid in named, "a frame before its thread's name", ev)
            need(is_num(ev.get("ts")) and is_num(ev.get("dur")),
                 "bad ts or dur", ev)
            for k in FRAME_ARGS:
                need(is_uint(args.get(k)), "frame arg %s" % k, ev)
            need(args["frame_peak"] >= args["frame_bytes"], "peak < bytes", ev)
            need(args.get("budget") in ("ok", "soft", "hard"), "budget", ev)
            need(isinstance(args.get("tags"), dict), "tags", ev)
            for tag, b in args["tags"].items():
                need(isinstance(b, dict) and
                     all(is_uint(b.get(k)) for k in ("frame", "pool", "task")),
                     "tag bytes", ev)
                tags.add(tag)
            need(args["frame"] > last_frame.get(tid, 0),
                 "frame numbers do not increase", ev)
            last_frame[tid] = args["frame"]
            frames += 1
            frame_tids.add(tid)
        elif ph == "C":
            need(name in COUNTERS, "unknown counter", ev)
            need(is_num(ev.get("ts")), "bad ts", ev)
            for k in COUNTERS[name]:
                need(is_uint(args.get(k)), "counter arg %s" % k, ev)
            if name == "frame bytes":
                need(ev.get("id") == tid, "frame bytes id is not the tid", ev)
        elif ph == "i":
            need(ev.get("s") == "t" and ev.get("cat") == "diagnostic",
                 "an instant that is not a diagnostic", ev)
            need(re.fullmatch(r"FA\d{3}", name or "") is not None,
                 "bad diagnostic name", ev)
            need(is_num(ev.get("ts")), "bad ts", ev)
            need(args.get("code") == name and
                 args.get("severity") in ("warning", "error") and
                 isinstance(args.get("message"), str) and args["message"] and
                 isinstance(args.get("site"), str), "bad diagnostic args", ev)
            diags.add(name)
        else:
            need(False, "unknown event kind", ev)
    if closed:
        need(end is not None, "a closed trace without trace_end", events[-1])
        need(end["args"]["frames"] == frames,
             "trace_end counts %d frames, the trace has %d" %
             (end["args"]["frames"], frames), end)
    else:
        need(end is None, "a killed program's trace has trace_end", end)
    return {"frames": frames, "threads": frame_tids, "diags": diags,
            "tags": tags}


def check_file(path, killed):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if killed:
        if text.rstrip().endswith("]"):
            raise Invalid("a killed program's trace is closed")
        return check_events(tolerant_parse(text), False)
    try:
        events = json.loads(text)
    except json.JSONDecodeError as e:
        raise Invalid("not valid JSON: %s" % e)
    if not isinstance(events, list):
        raise Invalid("not a JSON array")
    if tolerant_parse(text) != events:
        raise Invalid("not one event per line")
    return check_events(events, True)


def self_test():
    good = ('[\n{"ph":"M","name":"process_name","pid":1,"tid":0,"args":'
            '{"name":"framealloc"}},\n{"ph":"M","name":"framealloc","pid":1,'
            '"tid":0,"args":{"version":"0.1.0","frame_budget":0,'
            '"history_frames":0,"budgets":[]}},\n{"ph":"M","name":'
            '"thread_name","pid":1,"tid":0,"args":{"name":"thread 0"}},\n'
            '{"ph":"X","name":"frame","cat":"frame","pid":1,"tid":0,"ts":1.5,'
            '"dur":2.000,"args":{"frame":1,"frame_bytes":64,"frame_peak":64,'
            '"chunks":1,"allocs":1,"pool_bytes":0,"heap_bytes":0,'
            '"task_bytes":0,"os_bytes":9,"diagnostics":0,"budget":"ok",'
            '"tags":{}}},\n')
    end = ('{"ph":"M","name":"trace_end","pid":1,"tid":0,"args":'
           '{"frames":1,"dropped":0}}\n]\n')
    assert check_events(json.loads(good + end), True)["frames"] == 1
    cut = good + '{"ph":"C","name":"frame by'
    assert check_events(tolerant_parse(cut), False)["frames"] == 1
    for bad in (good.replace('"frame_peak":64', '"frame_peak":1') + end,
                good.replace('"budget":"ok"', '"budget":"x"') + end,
                good + end.replace('"frames":1', '"frames":2'),
                good.replace("thread_name", "thread_nam") + end):
        try:
            check_events(json.loads(bad), True)
        except Invalid:
            continue
        raise AssertionError("accepted: " + bad)
    print("self-test passed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?")
    ap.add_argument("--killed", action="store_true")
    ap.add_argument("--min-frames", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--tag", action="append", default=[])
    ap.add_argument("--diag", action="append", default=[])
    ap.add_argument("--self-test", action="store_true")
    o = ap.parse_args()
    if o.self_test:
        self_test()
        return 0
    if not o.file:
        ap.error("a trace file is needed")
    try:
        r = check_file(o.file, o.killed)
        if r["frames"] < o.min_frames:
            raise Invalid("%d frames, at least %d expected" %
                          (r["frames"], o.min_frames))
        if len(r["threads"]) < o.threads:
            raise Invalid("frames of %d threads, %d expected" %
                          (len(r["threads"]), o.threads))
        for t in o.tag:
            if t not in r["tags"]:
                raise Invalid("no bytes of tag %r" % t)
        for d in o.diag:
            if d not in r["diags"]:
                raise Invalid("no %s event" % d)
    except Invalid as e:
        print("%s: invalid trace: %s" % (o.file, e))
        return 1
    print("%s: valid, %d frames of %d threads, diagnostics %s, tags %s" %
          (o.file, r["frames"], len(r["threads"]), sorted(r["diags"]),
           sorted(r["tags"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
