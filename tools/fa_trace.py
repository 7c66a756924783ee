#!/usr/bin/env python3
"""Reads, checks and summarises framealloc traces.

    fa_trace.py check [--complete | --killed] [--min-frames N]
                      [--threads N] [--tag NAME]... [--diag CODE]... FILE...
    fa_trace.py summary [--json] FILE
    fa_trace.py repair FILE OUT

A trace is what fa_trace_open (or the FA_TRACE environment variable) writes:
the Chrome Trace Event Format as a JSON array, one event per line, which
Perfetto and chrome://tracing open (docs/profiling.md).

Loading is tolerant, as the format allows: a trace whose program was killed
has no closing "]", may end in a comma, and its last line may be cut short;
the cut line is dropped and the array closed. Only the last line may be
damaged: anything else that is not JSON is an error naming its line.

`check` validates every event of the kinds framealloc writes (process and
thread names, the "framealloc" configuration, frame slices, counters,
diagnostics, "trace_end") and a few rules across events; each problem is
printed as FILE:LINE: event N: what is wrong (N counts the array's
elements from 0). Events and args keys of other kinds are ignored. A trace
that was not closed is accepted with a note. --complete asks for a trace as
fa_trace_close leaves it (one event per line, strict JSON, trace_end last),
--killed for one that was never closed; --min-frames, --threads, --tag and
--diag for what a test expects it to show. Exit status: 0 valid, 1 a
problem (or a file that cannot be read), 2 usage.

`summary` prints frames per thread, frame time percentiles, peak bytes per
tier, budget overruns, diagnostics and bytes per tag; --json prints the same
as one JSON object. It validates first and exits 1 on an invalid trace.

`repair` writes the events of a valid trace to OUT as strict JSON, one
event per line, closed: for viewers that do not read a killed trace (a
trace_end event is not made up: none is added).

As a module: load(path) or loads(text) give a Trace, validate(trace) its
problems, summarise(trace) the summary as a dict.
"""
import argparse
import json
import math
import re
import sys

TIERS = ("frame", "pool", "heap", "task", "os")
BUDGET_STATES = ("ok", "soft", "hard")
SEVERITIES = ("warning", "error")
# The frame slice's numeric args, in the order of the format.
FRAME_COUNTS = ("frame", "frame_bytes", "frame_peak", "chunks", "allocs",
                "pool_bytes", "heap_bytes", "task_bytes", "os_bytes",
                "diagnostics")
TAG_TIERS = ("frame", "pool", "task")
PERCENTILES = (50, 90, 99)


class TraceError(Exception):
    """A trace that cannot be read at all (not JSON, not an array)."""


class Trace:
    """The events of one trace and how the file ended.

    events: the array's elements, in file order;
    lines: the line of each event (None when the file was not one event
      per line and had to be parsed as a whole);
    closed: the file ended with "]";
    cut_line: the line dropped because it was cut short, or None;
    last_comma: the line of the last event ended with a comma (a closed
      trace is then not strict JSON; fa_trace_close writes none).
    """

    def __init__(self, name, events, lines, closed, cut_line,
                 last_comma=False):
        self.name = name
        self.events = events
        self.lines = lines
        self.closed = closed
        self.cut_line = cut_line
        self.last_comma = last_comma

    def where(self, index):
        line = self.lines[index] if self.lines else None
        if line is None:
            return "%s: event %d" % (self.name, index)
        return "%s:%d: event %d" % (self.name, line, index)


def load(path):
    """Reads the trace at path; raises TraceError if it is unreadable."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise TraceError("%s: cannot read: %s" % (path, e.strerror))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if b"\n" not in data[e.start:].rstrip(b"\n"):
            # Cut inside a character of the last line: that line goes.
            text = data[:e.start].decode("utf-8")
        else:
            line = data.count(b"\n", 0, e.start) + 1
            raise TraceError("%s:%d: not UTF-8 (byte 0x%02x)"
                             % (path, line, data[e.start]))
    return loads(text, path)


def loads(text, name="<trace>"):
    """Parses the text of a trace; raises TraceError if it is unreadable."""
    if not text.strip():
        raise TraceError(
            "%s: empty: not even the trace's first lines were written (a "
            "write that failed, reported as FA008, or a program killed as "
            "it opened the trace)" % name)
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.strip())
    bad_line = None
    if lines[first].strip() == "[":
        trace = _loads_lines(lines, first, name)
        if isinstance(trace, Trace):
            return trace
        bad_line = trace
    try:
        return _loads_whole(text, name)
    except TraceError:
        if bad_line is None:
            raise
        # One event per line, but a line in the middle is not JSON.
        raise TraceError("%s:%d: not JSON: %s" % ((name,) + bad_line))


def _loads_lines(lines, first, name):
    """The writer's layout: "[", then one "{...}," per line, then "]".

    Returns a Trace, or when the file does not have that layout (it is
    then parsed as one JSON document) the first line that is not an event
    and what is wrong with it, (line, message), or None."""
    events, where = [], []
    closed, cut_line, last_comma = False, None, False
    body = [(i + 1, ln.strip()) for i, ln in enumerate(lines)
            if i > first and ln.strip()]
    for k, (line, s) in enumerate(body):
        if s == "]":
            if k != len(body) - 1:
                return None
            closed = True
            break
        last = k == len(body) - 1
        if last and s.endswith("]") and not closed:
            # "]" at the end of the last event's line.
            try:
                ev = json.loads(s[:-1].rstrip().rstrip(","))
                closed = True
            except ValueError:
                pass
        if not closed:
            try:
                ev = json.loads(s[:-1] if s.endswith(",") else s)
            except ValueError as e:
                if last:
                    cut_line = line  # killed while writing: the last line
                    break
                return line, e.msg
        events.append(ev)
        where.append(line)
        last_comma = s.rstrip("]").rstrip().endswith(",")
    return Trace(name, events, where, closed, cut_line, last_comma)


def _loads_whole(text, name):
    """Any other layout of a JSON array (or {"traceEvents": [...]})."""
    s = text.rstrip()
    closed = s.endswith("]") or s.endswith("}")
    try:
        doc = json.loads(s)
    except ValueError:
        # A trailing comma before "]", or no "]" at all.
        body = s[:-1].rstrip() if s.endswith("]") else s
        body = body[:-1] if body.endswith(",") else body
        try:
            doc = json.loads(body + "]")
        except ValueError as e:
            raise TraceError("%s:%d: not JSON: %s" % (name, e.lineno, e.msg))
    if isinstance(doc, dict) and isinstance(doc.get("traceEvents"), list):
        doc = doc["traceEvents"]
    if not isinstance(doc, list):
        raise TraceError("%s: not a trace: the document is a JSON %s, not an "
                         "array of events" % (name, type(doc).__name__))
    return Trace(name, doc, None, closed, None)


# ---------------------------------------------------------------- kinds

def kind_of(ev):
    """The kind of one of our events, or None for anything else."""
    if not isinstance(ev, dict):
        return None
    ph, name = ev.get("ph"), ev.get("name")
    if ph == "M":
        return {"process_name": "process_name", "thread_name": "thread_name",
                "framealloc": "config", "trace_end": "trace_end"}.get(name)
    if ph == "X" and name == "frame":
        return "frame"
    if ph == "C":
        return {"frame bytes": "frame_counter", "tier bytes": "tier_counter",
                "os bytes": "os_counter"}.get(name)
    if ph == "i" and ev.get("cat") == "diagnostic":
        return "diagnostic"
    return None


KIND_NAMES = {
    "process_name": "process_name metadata",
    "thread_name": "thread_name metadata",
    "config": "framealloc metadata",
    "trace_end": "trace_end metadata",
    "frame": "frame slice",
    "frame_counter": '"frame bytes" counter',
    "tier_counter": '"tier bytes" counter',
    "os_counter": '"os bytes" counter',
    "diagnostic": "diagnostic",
}


# ----------------------------------------------------------- validation

class Problem:
    def __init__(self, where, message):
        self.where = where
        self.message = message

    def __str__(self):
        return "%s: %s" % (self.where, self.message)


def _is_count(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_time(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and v >= 0)


def _show(v):
    s = json.dumps(v)
    return s if len(s) <= 40 else s[:37] + "..."


class _Checker:
    """Collects the problems of one event: each check names the field."""

    def __init__(self, ev, kind, report):
        self.ev = ev
        self.kind = KIND_NAMES[kind]
        self.report = report

    def fail(self, message):
        self.report("%s: %s" % (self.kind, message))

    def get(self, obj, key, path):
        if key not in obj:
            self.fail("%s is missing" % path)
            return None, False
        return obj[key], True

    def count(self, obj, key, path):
        v, ok = self.get(obj, key, path)
        if ok and not _is_count(v):
            self.fail("%s must be a non-negative integer, got %s"
                      % (path, _show(v)))
            return None
        return v

    def time(self, obj, key, path):
        v, ok = self.get(obj, key, path)
        if ok and not _is_time(v):
            self.fail("%s must be a non-negative number of microseconds, "
                      "got %s" % (path, _show(v)))
            return None
        return v

    def string(self, obj, key, path, choices=None, pattern=None):
        v, ok = self.get(obj, key, path)
        if not ok:
            return None
        if not isinstance(v, str):
            self.fail("%s must be a string, got %s" % (path, _show(v)))
            return None
        if choices and v not in choices:
            self.fail("%s must be one of %s, got %s"
                      % (path, ", ".join('"%s"' % c for c in choices),
                         _show(v)))
            return None
        if pattern and not re.fullmatch(pattern, v):
            self.fail("%s must look like %s, got %s"
                      % (path, pattern, _show(v)))
            return None
        return v

    def obj(self, obj, key, path):
        v, ok = self.get(obj, key, path)
        if ok and not isinstance(v, dict):
            self.fail("%s must be an object, got %s" % (path, _show(v)))
            return None
        return v


def _check_event(ev, kind, c):
    """The schema of one event of a known kind; returns its args or None."""
    c.count(ev, "pid", "pid")
    c.count(ev, "tid", "tid")
    if kind in ("frame", "frame_counter", "tier_counter", "os_counter",
                "diagnostic"):
        c.time(ev, "ts", "ts")
    args = c.obj(ev, "args", "args")
    if args is None:
        return None
    if kind in ("process_name", "thread_name"):
        c.string(args, "name", "args.name")
    elif kind == "config":
        c.string(args, "version", "args.version",
                 pattern=r"\d+\.\d+\.\d+")
        c.count(args, "frame_budget", "args.frame_budget")
        c.count(args, "history_frames", "args.history_frames")
        budgets, ok = c.get(args, "budgets", "args.budgets")
        if ok and not isinstance(budgets, list):
            c.fail("args.budgets must be an array, got %s" % _show(budgets))
        elif ok:
            seen = set()
            for i, b in enumerate(budgets):
                path = "args.budgets[%d]" % i
                if not isinstance(b, dict):
                    c.fail("%s must be an object, got %s" % (path, _show(b)))
                    continue
                tag = c.string(b, "tag", path + ".tag")
                c.count(b, "soft", path + ".soft")
                c.count(b, "hard", path + ".hard")
                if tag == "":
                    c.fail("%s.tag is empty" % path)
                elif tag in seen:
                    c.fail('%s.tag: "%s" has two budgets' % (path, tag))
                seen.add(tag)
    elif kind == "trace_end":
        c.count(args, "frames", "args.frames")
        c.count(args, "dropped", "args.dropped")
    elif kind == "frame":
        c.string(ev, "cat", "cat", choices=("frame",))
        c.time(ev, "dur", "dur")
        vals = {k: c.count(args, k, "args." + k) for k in FRAME_COUNTS}
        c.string(args, "budget", "args.budget", choices=BUDGET_STATES)
        if (vals["frame_peak"] is not None and vals["frame_bytes"] is not None
                and vals["frame_peak"] < vals["frame_bytes"]):
            c.fail("args.frame_peak (%d) is less than args.frame_bytes (%d): "
                   "the peak is the most in use at once"
                   % (vals["frame_peak"], vals["frame_bytes"]))
        tags = args.get("tags", {})
        if not isinstance(tags, dict):
            c.fail("args.tags must be an object, got %s" % _show(tags))
        else:
            for tag, t in tags.items():
                path = "args.tags[%s]" % json.dumps(tag)
                if not isinstance(t, dict):
                    c.fail("%s must be an object, got %s" % (path, _show(t)))
                    continue
                for k in TAG_TIERS:
                    c.count(t, k, "%s.%s" % (path, k))
    elif kind == "frame_counter":
        c.count(args, "frame", "args.frame")
        if "id" in ev and ev["id"] != ev.get("tid"):
            c.fail("id (%s) must be the thread index, tid (%s)"
                   % (_show(ev["id"]), _show(ev.get("tid"))))
    elif kind == "tier_counter":
        for k in ("pool", "heap", "task"):
            c.count(args, k, "args." + k)
    elif kind == "os_counter":
        c.count(args, "os", "args.os")
    elif kind == "diagnostic":
        c.string(ev, "s", "s", choices=("t",))
        code = c.string(args, "code", "args.code", pattern=r"FA\d{3}")
        if code is not None and ev.get("name") != code:
            c.fail("name (%s) differs from args.code (%s)"
                   % (_show(ev.get("name")), _show(code)))
        c.string(args, "severity", "args.severity", choices=SEVERITIES)
        c.string(args, "message", "args.message")
        c.string(args, "site", "args.site")
    return args


def validate(trace, complete=False, killed=False):
    """(errors, notes): lists of Problem. A trace is valid without errors;
    notes say how it ended (not closed, a cut line). With complete, the
    trace must be as fa_trace_close leaves it: one event per line, closed,
    strict JSON, trace_end last. With killed, it must be a trace that was
    never closed: no "]", no trace_end."""
    errors, notes = [], []
    config_at = end_at = None
    pid = None             # (pid, event) of the first of our events
    named = set()          # tids with a thread_name event
    last_start = {}        # tid -> ts of its last frame slice
    last_frame = {}        # tid -> number of its last frame slice
    for i, ev in enumerate(trace.events):
        def report(msg, i=i):
            errors.append(Problem(trace.where(i), msg))
        if not isinstance(ev, dict):
            report("an event must be a JSON object, got %s" % _show(ev))
            continue
        if not isinstance(ev.get("ph"), str):
            report('"ph" (the event type) must be a string, got %s'
                   % _show(ev.get("ph")))
            continue
        if end_at is not None:
            report("an event after trace_end (event %d): trace_end must be "
                   "the last" % end_at)
        kind = kind_of(ev)
        if kind is None:
            continue
        if kind == "thread_name":
            named.add(ev.get("tid"))  # even when its args are wrong
        before = len(errors)
        args = _check_event(ev, kind, _Checker(ev, kind, report))
        if len(errors) > before or args is None:
            continue
        tid = ev["tid"]
        if pid is None:
            pid = (ev["pid"], i)
        elif ev["pid"] != pid[0]:
            report("pid %d differs from the trace's, %d (event %d)"
                   % (ev["pid"], pid[0], pid[1]))
        if kind == "config":
            if config_at is not None:
                report("a second framealloc metadata event (the first is "
                       "event %d)" % config_at)
            config_at = i
        elif kind == "trace_end":
            end_at = i
            written = sum(kind_of(e) == "frame" for e in trace.events[:i])
            if args["frames"] != written:
                report("trace_end counts %d frame slices, the trace holds %d"
                       % (args["frames"], written))
        elif kind == "frame":
            if tid not in named:
                report("frame slice of thread %d before its thread_name "
                       "event" % tid)
                named.add(tid)  # one report per thread
            if tid in last_start and ev["ts"] < last_start[tid]:
                report("frame slice of thread %d starts at %s us, before "
                       "the previous one (at %s us)"
                       % (tid, ev["ts"], last_start[tid]))
            last_start[tid] = ev["ts"]
            f = args["frame"]
            if tid in last_frame and f <= last_frame[tid]:
                report("frame slice of thread %d is frame %d, after frame "
                       "%d: a thread's frame numbers increase"
                       % (tid, f, last_frame[tid]))
            last_frame[tid] = f
    if killed:
        if trace.closed:
            errors.append(Problem(trace.name, 'closed with "]": not the '
                                  "trace of a killed program"))
        if end_at is not None:
            errors.append(Problem(trace.where(end_at), "trace_end: not the "
                                  "trace of a killed program"))
    status = errors if complete else notes
    if not trace.closed:
        status.append(Problem(trace.name, 'no closing "]": the program '
                              "ended without fa_trace_close (killed, or "
                              "crashed); the events before are kept"))
    if trace.cut_line is not None:
        status.append(Problem("%s:%d" % (trace.name, trace.cut_line),
                              "the last line was cut short and is left out"))
    if complete and trace.closed and end_at is None:
        errors.append(Problem(trace.name, "no trace_end event"))
    if complete and trace.lines is None:
        errors.append(Problem(trace.name, "not one event per line, as "
                              "framealloc writes a trace"))
    if complete and trace.closed and trace.last_comma:
        errors.append(Problem(trace.where(len(trace.events) - 1),
                              'a comma after the last event, before "]": '
                              "not strict JSON, as fa_trace_close leaves a "
                              "trace"))
    return errors, notes


def expect(trace, min_frames=0, threads=0, tags=(), diags=()):
    """What a test asks of a valid trace: at least min_frames frame
    slices, frames of at least `threads` threads, bytes of each tag in
    tags, a diagnostic event of each code in diags. Returns the problems
    (strings)."""
    frames = events_of(trace, "frame")
    out = []
    if len(frames) < min_frames:
        out.append("%d frame slices, at least %d expected"
                   % (len(frames), min_frames))
    tids = {ev["tid"] for ev in frames}
    if len(tids) < threads:
        out.append("frames of %d threads, at least %d expected"
                   % (len(tids), threads))
    seen = {tag for ev in frames for tag, t in ev["args"].get(
        "tags", {}).items() if tag_total(t)}
    out += ["no bytes of tag %s" % json.dumps(t) for t in tags
            if t not in seen]
    codes = {ev["args"]["code"] for ev in events_of(trace, "diagnostic")}
    out += ["no %s event" % d for d in diags if d not in codes]
    return out


# -------------------------------------------------------------- summary

def events_of(trace, kind):
    return [ev for ev in trace.events if kind_of(ev) == kind]


def config(trace):
    """The args of the framealloc metadata event ({} without one)."""
    found = events_of(trace, "config")
    return found[0]["args"] if found else {}


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted, non-empty list."""
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1]


def tag_budgets(trace):
    """{tag: (soft, hard)} from the configuration (0: none)."""
    return {b["tag"]: (b["soft"], b["hard"])
            for b in config(trace).get("budgets", [])}


def tag_total(t):
    """The bytes a tag attributed in one frame: frame, pool and task."""
    return sum(t.get(k, 0) for k in TAG_TIERS)


def summarise(trace):
    """The summary of a valid trace, as a dict (see format_summary)."""
    cfg = config(trace)
    frames = events_of(trace, "frame")
    names = {ev["tid"]: ev["args"]["name"]
             for ev in events_of(trace, "thread_name")}
    threads = {}
    for ev in frames:
        threads.setdefault(ev["tid"], []).append(ev)
    out_threads = []
    for tid in sorted(threads):
        evs = threads[tid]
        durs = sorted(ev["dur"] for ev in evs)
        out_threads.append({
            "tid": tid,
            "name": names.get(tid, "thread %d" % tid),
            "frames": len(evs),
            "first_frame": evs[0]["args"]["frame"],
            "last_frame": evs[-1]["args"]["frame"],
            "frame_time_us": dict(
                [("p%d" % p, percentile(durs, p)) for p in PERCENTILES]
                + [("max", durs[-1])]),
            "frame_peak": max(ev["args"]["frame_peak"] for ev in evs),
            "budget_soft": sum(ev["args"]["budget"] == "soft" for ev in evs),
            "budget_hard": sum(ev["args"]["budget"] == "hard" for ev in evs),
        })

    peaks = {t: {"bytes": 0, "tid": None, "frame": None} for t in TIERS}

    def seen(tier, value, ev):
        if value > peaks[tier]["bytes"]:
            peaks[tier].update(bytes=value, tid=ev.get("tid"),
                               frame=ev["args"].get("frame")
                               if kind_of(ev) == "frame" else None)
    for ev in frames:
        a = ev["args"]
        seen("frame", a["frame_peak"], ev)
        for t in ("pool", "heap", "task", "os"):
            seen(t, a[t + "_bytes"], ev)
    for ev in events_of(trace, "tier_counter"):
        for t in ("pool", "heap", "task"):
            seen(t, ev["args"][t], ev)
    for ev in events_of(trace, "os_counter"):
        seen("os", ev["args"]["os"], ev)

    # A tag budget bounds what one thread attributes to the tag in one
    # frame (frame, pool and task bytes together): each frame slice is
    # compared with it. Bytes never pass a hard budget (the allocation is
    # refused: the slice's budget is "hard" and FA003 is raised), so only
    # the soft one is counted here, and the headroom left below the hard.
    budgets = tag_budgets(trace)
    tags = {}

    def tag_entry(tag):
        return tags.setdefault(tag, {
            "frames": 0, "total": dict.fromkeys(TAG_TIERS, 0),
            "peak": dict.fromkeys(TAG_TIERS + ("sum",), 0),
            "peak_at": None, "soft": 0, "hard": 0, "over_soft": 0})
    for ev in frames:
        for tag, t in ev["args"].get("tags", {}).items():
            s = tag_entry(tag)
            s["frames"] += 1
            for k in TAG_TIERS:
                s["total"][k] += t.get(k, 0)
                s["peak"][k] = max(s["peak"][k], t.get(k, 0))
            total = tag_total(t)
            if total > s["peak"]["sum"]:
                s["peak"]["sum"] = total
                s["peak_at"] = {"tid": ev["tid"],
                                "frame": ev["args"]["frame"]}
            soft = budgets.get(tag, (0, 0))[0]
            s["over_soft"] += bool(soft and total > soft)
    for tag, (soft, hard) in budgets.items():
        tag_entry(tag).update(soft=soft, hard=hard)

    diags = events_of(trace, "diagnostic")
    by_code = {}
    for ev in diags:
        a = ev["args"]
        d = by_code.setdefault(a["code"], {"count": 0})
        d["count"] += 1
        sev = d.setdefault(a["severity"], {"count": 0, "first": {
            "tid": ev["tid"], "ts": ev["ts"], "message": a["message"],
            "site": a["site"]}})
        sev["count"] += 1
    ends = events_of(trace, "trace_end")
    errors, notes = validate(trace)
    return {
        "trace": trace.name,
        "closed": trace.closed,
        "cut_line": trace.cut_line,
        "notes": [str(n) for n in notes],
        "version": cfg.get("version"),
        "frame_budget": cfg.get("frame_budget", 0),
        "history_frames": cfg.get("history_frames", 0),
        "events": len(trace.events),
        "threads": out_threads,
        "peak_bytes": peaks,
        "budget_soft": sum(t["budget_soft"] for t in out_threads),
        "budget_hard": sum(t["budget_hard"] for t in out_threads),
        "tags": dict(sorted(tags.items())),
        "diagnostics": {
            "events": len(diags),
            "counted_by_frames": sum(ev["args"]["diagnostics"]
                                     for ev in frames),
            "by_code": dict(sorted(by_code.items())),
        },
        "end": ends[0]["args"] if ends else None,
    }


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return ("%d %s" % (n, unit)) if unit == "B" else \
                "%.1f %s" % (n, unit)
        n /= 1024.0
    return None


def human_time(us):
    return "%.3f ms" % (us / 1000.0) if us >= 1000 else "%.1f us" % us


def format_summary(s):
    """The summary as text, one fact per line."""
    out = []
    end = "closed" if s["closed"] else "not closed"
    if s["cut_line"] is not None:
        end += ", last line cut"
    out.append("trace %s (%d events, %s)" % (s["trace"], s["events"], end))
    budget = human_bytes(s["frame_budget"]) if s["frame_budget"] else "none"
    out.append("framealloc %s, frame budget %s, history %d frames"
               % (s["version"] or "(no configuration event)", budget,
                  s["history_frames"]))
    if s["end"] is not None:
        out.append("trace_end: %d frames, %d dropped"
                   % (s["end"]["frames"], s["end"]["dropped"]))
    out.append("")
    out.append("threads:")
    if not s["threads"]:
        out.append("  no frames")
    for t in s["threads"]:
        ft = t["frame_time_us"]
        out.append("  %d %-12s %5d frames (%d..%d)  frame time p50 %s, "
                   "p90 %s, p99 %s, max %s"
                   % (t["tid"], '"%s"' % t["name"], t["frames"],
                      t["first_frame"], t["last_frame"],
                      human_time(ft["p50"]), human_time(ft["p90"]),
                      human_time(ft["p99"]), human_time(ft["max"])))
    out.append("")
    out.append("peak bytes:")
    for tier in TIERS:
        p = s["peak_bytes"][tier]
        at = ""
        if tier == "frame" and p["tid"] is not None:
            at = "  (thread %d, frame %d)" % (p["tid"], p["frame"])
        elif p["frame"] is not None:
            at = "  (first at the end of thread %d's frame %d)" % (
                p["tid"], p["frame"])
        elif p["tid"] is not None:
            at = "  (first in a counter of thread %d)" % p["tid"]
        out.append("  %-6s %12s%s" % (tier, human_bytes(p["bytes"]), at))
    out.append("")
    out.append("budget overruns (frames): soft %d, hard %d"
               % (s["budget_soft"], s["budget_hard"]))
    for t in s["threads"]:
        if t["budget_soft"] or t["budget_hard"]:
            out.append("  thread %d: soft %d, hard %d"
                       % (t["tid"], t["budget_soft"], t["budget_hard"]))
    out.append("")
    out.append("tags (bytes one thread attributed in one frame: frame + "
               "pool + task):")
    if not s["tags"]:
        out.append("  none")
    for tag, t in s["tags"].items():
        line = "  %-12s %5d frames, peak %s (frame %s, pool %s, task %s)" % (
            tag, t["frames"], human_bytes(t["peak"]["sum"]),
            human_bytes(t["peak"]["frame"]), human_bytes(t["peak"]["pool"]),
            human_bytes(t["peak"]["task"]))
        if t["peak_at"] is not None:
            line += " at thread %d, frame %d" % (t["peak_at"]["tid"],
                                                 t["peak_at"]["frame"])
        out.append(line)
        if t["soft"] or t["hard"]:
            budget = []
            if t["soft"]:
                budget.append("soft %s: over it in %d frames"
                              % (human_bytes(t["soft"]), t["over_soft"]))
            if t["hard"]:
                budget.append("hard %s: peak at %d%% of it"
                              % (human_bytes(t["hard"]),
                                 100 * t["peak"]["sum"] // t["hard"]))
            out.append("  %-12s budget %s" % ("", "; ".join(budget)))
    out.append("")
    d = s["diagnostics"]
    out.append("diagnostics: %d events (frames count %d)"
               % (d["events"], d["counted_by_frames"]))
    for code, c in d["by_code"].items():
        for severity in reversed(SEVERITIES):
            if severity not in c:
                continue
            f = c[severity]["first"]
            site = (" (%s)" % f["site"]) if f["site"] else ""
            out.append("  %s %s x%d, first on thread %d at %s%s: %s"
                       % (code, severity, c[severity]["count"], f["tid"],
                          human_time(f["ts"]), site, f["message"]))
    for n in s["notes"]:
        out.append("note: %s" % n)
    return "\n".join(out)


# ------------------------------------------------------------------ CLI

def _load_valid(path, complete=False, killed=False):
    """The trace at path, or None after printing why it is not valid."""
    try:
        trace = load(path)
    except TraceError as e:
        print(e, file=sys.stderr)
        return None, []
    errors, notes = validate(trace, complete, killed)
    for p in errors:
        print(p, file=sys.stderr)
    return (None if errors else trace), notes


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="fa_trace.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="validate traces (exit 0 or 1)")
    how = c.add_mutually_exclusive_group()
    how.add_argument("--complete", action="store_true",
                     help="the trace must be as fa_trace_close leaves it")
    how.add_argument("--killed", action="store_true",
                     help="the trace must be one that was never closed")
    c.add_argument("--min-frames", type=int, default=0, metavar="N",
                   help="at least N frame slices")
    c.add_argument("--threads", type=int, default=0, metavar="N",
                   help="frames of at least N threads")
    c.add_argument("--tag", action="append", default=[], metavar="NAME",
                   help="bytes attributed to tag NAME (repeatable)")
    c.add_argument("--diag", action="append", default=[], metavar="CODE",
                   help="a diagnostic event CODE, FA003 (repeatable)")
    c.add_argument("files", nargs="+", metavar="FILE")
    s = sub.add_parser("summary", help="summarise a trace")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("file", metavar="FILE")
    r = sub.add_parser("repair", help="write a killed trace closed")
    r.add_argument("file", metavar="FILE")
    r.add_argument("out", metavar="OUT")
    args = p.parse_args(argv)

    if args.command == "check":
        status = 0
        for path in args.files:
            trace, notes = _load_valid(path, args.complete, args.killed)
            if trace is None:
                status = 1
                continue
            missing = expect(trace, args.min_frames, args.threads,
                             args.tag, args.diag)
            for m in missing:
                print("%s: %s" % (path, m), file=sys.stderr)
            if missing:
                status = 1
                continue
            for n in notes:
                print("note: %s" % n)
            frames = len(events_of(trace, "frame"))
            print("%s: ok, %d events, %d frame slices"
                  % (path, len(trace.events), frames))
        return status
    trace, _ = _load_valid(args.file)
    if trace is None:
        return 1
    if args.command == "repair":
        text = "[\n" + ",\n".join(json.dumps(ev, separators=(",", ":"))
                                  for ev in trace.events) + "\n]\n"
        try:
            with open(args.out, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as e:
            print("%s: cannot write: %s" % (args.out, e.strerror),
                  file=sys.stderr)
            return 1
        print("%s: %d events%s" % (args.out, len(trace.events),
                                   "" if trace.cut_line is None else
                                   " (the cut line %d left out)"
                                   % trace.cut_line))
        return 0
    summary = summarise(trace)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
