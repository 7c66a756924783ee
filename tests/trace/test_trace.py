#!/usr/bin/env python3
"""The trace tools (tools/fa_trace.py, tools/fa-plot), run by CTest.

    test_trace.py --tools DIR --fixtures DIR GROUP

GROUP is one of the names in GROUPS below. The reader and the checker are
run on the recorded fixtures (tests/trace/fixtures, written by
make_fixtures.py) and on variants of them made here: killed at every kind
of place, and broken in each way the schema forbids. The plot group draws
the fixtures and reads the SVG back; it needs matplotlib and exits 77
(skipped) without it. The last line is "N passed, N failed".
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]
import make_fixtures  # noqa: E402
import pyharness  # noqa: E402

SKIP = 77
fa_trace = None  # tools/fa_trace.py, imported in main()


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


def expect_eq(got, want, what):
    if got != want:
        raise Failure("%s: got %r, expected %r" % (what, got, want))


class Ctx:
    def __init__(self, tools, fixtures, tmp):
        self.tools = tools
        self.fixtures = fixtures
        self.tmp = tmp

    def fixture(self, name):
        return os.path.join(self.fixtures, name)

    def write(self, name, text):
        p = os.path.join(self.tmp, name)
        with open(p, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return p

    def write_bytes(self, name, data):
        p = os.path.join(self.tmp, name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def run(self, tool, *args, python=None, env=None):
        e = dict(os.environ)
        e.pop("FA_PLOT_REEXEC", None)
        e.update(env or {})
        cmd = (python or [sys.executable]) + [
            os.path.join(self.tools, tool)] + list(args)
        p = subprocess.run(cmd, cwd=self.tmp, env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def check(self, *args):
        return self.run("fa_trace.py", "check", *args)


def good_lines():
    """The closed fixture's events, one per element, in file order."""
    lines, _ = make_fixtures.build()
    return [json.loads(ln.rstrip("\n").rstrip(",")) for ln in lines[1:-1]]


def as_trace(events, closed=True):
    """Events in the writer's layout (each line "{...},", the last one
    without its comma when the trace is closed)."""
    text = "[\n" + "".join(json.dumps(ev, separators=(",", ":")) + ",\n"
                           for ev in events)
    if closed and events:
        text = text[:-2] + "\n"
    return text + ("]\n" if closed else "")


def find(events, pred):
    """The index of the first event for which pred holds."""
    return next(i for i, ev in enumerate(events) if pred(ev))


def is_frame(tid=None, frame=None):
    def pred(ev):
        return (ev.get("ph") == "X" and ev.get("name") == "frame"
                and (tid is None or ev["tid"] == tid)
                and (frame is None or ev["args"]["frame"] == frame))
    return pred


def is_meta(name):
    return lambda ev: ev.get("ph") == "M" and ev.get("name") == name


def is_counter(name):
    return lambda ev: ev.get("ph") == "C" and ev.get("name") == name


def is_diag(ev):
    return ev.get("ph") == "i" and ev.get("cat") == "diagnostic"


# ------------------------------------------------------------ fixtures

def test_fixtures_current(c):
    """The committed fixtures are what the generator writes."""
    p = subprocess.run([sys.executable,
                        os.path.join(HERE, "make_fixtures.py"), "--check",
                        c.fixtures], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    expect(p.returncode == 0, "stale fixtures:\n" +
           p.stdout.decode("utf-8", "replace"))


def test_fixtures_deterministic(c):
    """Two runs of the generator write the same bytes."""
    expect_eq(make_fixtures.fixtures(), make_fixtures.fixtures(),
              "generator output")


def test_fixtures_check(c):
    rc, out, err = c.check(c.fixture("two_threads.trace.json"),
                           c.fixture("killed.trace.json"))
    expect_eq(rc, 0, "check of both fixtures (stderr: %s)" % err)
    expect("two_threads.trace.json: ok, 180 events, 72 frame slices" in out,
           "the closed fixture's counts:\n" + out)
    expect("killed.trace.json: ok" in out, out)


# -------------------------------------------------------------- reader

def test_read_closed(c):
    """The closed fixture, as the writer closes a trace: strict JSON."""
    with open(c.fixture("two_threads.trace.json"), encoding="utf-8") as f:
        expect_eq(len(json.load(f)), 180, "events read as strict JSON")
    t = fa_trace.load(c.fixture("two_threads.trace.json"))
    expect_eq(len(t.events), 180, "events")
    expect(t.closed, "closed")
    expect_eq(t.cut_line, None, "cut line")
    expect_eq(t.lines[0], 2, "the first event's line")
    expect_eq(t.lines[-1], 181, "the last event's line")
    expect_eq(t.events[-1]["name"], "trace_end", "last event")


def test_read_killed(c):
    """The killed fixture: no "]", its last line cut and dropped."""
    path = c.fixture("killed.trace.json")
    text = open(path, encoding="utf-8").read()
    t = fa_trace.load(path)
    expect(not t.closed, "not closed")
    n_lines = text.count("\n") + 1
    expect_eq(t.cut_line, n_lines, "the cut line")
    expect_eq(len(t.events), n_lines - 2, "events: all whole lines")
    expect_eq(t.events, good_lines()[:len(t.events)],
              "the events before the cut")


def test_read_killed_everywhere(c):
    """A kill at every byte of the last batches loses at most the line it
    cut: the events read are a prefix of the whole run's, minus one."""
    full = make_fixtures.fixtures()["two_threads.trace.json"]
    events = good_lines()
    start = full.index("\n", len(full) - 1500) + 1
    for n in range(start, len(full) - 2):
        t = fa_trace.loads(full[:n], "cut%d" % n)
        whole = full[:n].count("\n") - 1   # whole event lines
        got = len(t.events)
        expect(got in (whole, whole + 1),
               "cut at %d: %d events, %d whole lines" % (n, got, whole))
        expect_eq(t.events, events[:got], "cut at %d: the events" % n)
        expect(not t.closed, "cut at %d: not closed" % n)


def test_read_trailing_comma_and_no_bracket(c):
    events = good_lines()[:10]
    body = as_trace(events, closed=False)
    for name, text in (("comma", body), ("no comma", body[:-2] + "\n"),
                       ("no newline", body[:-2]), ("closed", body + "]")):
        t = fa_trace.loads(text, name)
        expect_eq(t.events, events, name + ": events")
        expect_eq(t.cut_line, None, name + ": cut line")
        expect_eq(t.closed, name == "closed", name + ": closed")


def test_read_bracket_on_last_line(c):
    """ "]" after the last event on its line closes the trace; a line cut
    just after a "]" inside an event is still a cut line."""
    events = good_lines()[:6]
    text = as_trace(events)
    t = fa_trace.loads(text.replace("}\n]\n", "}]\n"), "inline")
    expect_eq(t.events, events, "events")
    expect(t.closed and t.cut_line is None and not t.last_comma, "closed")
    t = fa_trace.loads(text.replace("}\n]\n", "},]\n"), "comma")
    expect(t.closed and t.last_comma, "closed after a comma")
    config = json.dumps(events[1], separators=(",", ":"))
    cut = "[\n" + json.dumps(events[0]) + ",\n" + config[:config.index(
        "]") + 1]
    t = fa_trace.loads(cut, "cut")
    expect_eq(t.events, events[:1], "the events before the cut")
    expect(not t.closed and t.cut_line == 3, "cut, not closed")


def test_read_crlf(c):
    events = good_lines()[:5]
    t = fa_trace.loads(as_trace(events).replace("\n", "\r\n"), "crlf")
    expect_eq(t.events, events, "CRLF events")
    expect(t.closed, "CRLF closed")


def test_read_other_layouts(c):
    """A pretty-printed array and the object form ({"traceEvents": []})
    are read too, without line numbers."""
    events = good_lines()[:20]
    for name, text in (
            ("pretty", json.dumps(events, indent=2)),
            ("object", json.dumps({"traceEvents": events,
                                   "displayTimeUnit": "ms"})),
            ("one line", json.dumps(events)),
            ("pretty, trailing comma",
             json.dumps(events, indent=1)[:-1].rstrip() + ",\n]")):
        t = fa_trace.loads(text, name)
        expect_eq(t.events, events, name)
        expect_eq(t.lines, None, name + ": lines")


def test_read_cut_utf8(c):
    """A kill inside a multi-byte character of the last line."""
    events = good_lines()[:4]
    diag = next(ev for ev in good_lines() if is_diag(ev))
    diag = copy.deepcopy(diag)
    diag["args"]["message"] = "budget \u00e9t\u00e9 d\u00e9pass\u00e9"
    data = as_trace(events, closed=False).encode() + \
        json.dumps(diag, ensure_ascii=False).encode()
    cut = data.index("\u00e9".encode()) + 1
    t = fa_trace.load(c.write_bytes("utf8.json", data[:cut]))
    expect_eq(t.events, events, "events before the cut character")
    expect(t.cut_line is not None, "the cut line is reported")


def test_read_errors(c):
    """Unreadable traces: a TraceError naming the file and the line."""
    events = good_lines()[:6]
    lines = as_trace(events).split("\n")
    broken_middle = "\n".join(lines[:3] + ['{"ph":"X",,}'] + lines[3:])
    cases = [
        ("empty.json", "", "empty: not even the trace's first lines"),
        ("blank.json", "\n\n  \n", "empty"),
        ("middle.json", broken_middle, "middle.json:4: not JSON"),
        ("object.json", '{"ph":"M"}', "not a trace: the document is a JSON "
         "dict"),
        ("after.json", as_trace(events) + '{"ph":"M"}\n', "not JSON"),
        ("garbage.json", "hello\n", "garbage.json:1: not JSON"),
    ]
    for name, text, message in cases:
        path = c.write(name, text)
        try:
            fa_trace.load(path)
        except fa_trace.TraceError as e:
            expect(message in str(e) and path in str(e),
                   "%s: %r does not contain %r" % (name, str(e), message))
        else:
            raise Failure("%s: read without error" % name)
    bad = c.write_bytes("latin1.json", b'[\n{"ph":"M","name":"\xe9"},\n'
                        b'{"ph":"M"},\n]\n')
    try:
        fa_trace.load(bad)
        raise Failure("invalid UTF-8 in the middle read without error")
    except fa_trace.TraceError as e:
        expect("latin1.json:2: not UTF-8" in str(e), str(e))
    try:
        fa_trace.load(os.path.join(c.tmp, "absent.json"))
        raise Failure("a missing file read without error")
    except fa_trace.TraceError as e:
        expect("absent.json: cannot read" in str(e), str(e))


def test_read_only_open_bracket(c):
    t = fa_trace.loads("[\n", "open")
    expect_eq(t.events, [], "events")
    expect(not t.closed, "not closed")
    errors, notes = fa_trace.validate(t)
    expect_eq(errors, [], "errors")
    expect(any('no closing "]"' in str(n) for n in notes), "the note")


# ------------------------------------------------------------- schema

def mutate(events, pred, fn):
    """A copy of events with fn applied to the first one pred selects;
    returns (events, index)."""
    events = copy.deepcopy(events)
    i = find(events, pred)
    fn(events[i])
    return events, i


def setter(path, value):
    """fn(ev) that sets ev[path...] = value (deletes it if value is DEL)."""
    def fn(ev):
        obj = ev
        for k in path[:-1]:
            obj = obj[k]
        if value is DEL:
            del obj[path[-1]]
        else:
            obj[path[-1]] = value
    return fn


DEL = object()

# (what, event selector, change, message). The message is what check
# prints after "FILE:LINE: event N: ".
SCHEMA_CASES = [
    ("negative count", is_frame(0, 3), setter(["args", "frame_bytes"], -1),
     "frame slice: args.frame_bytes must be a non-negative integer, got -1"),
    ("float count", is_frame(1, 2), setter(["args", "chunks"], 1.5),
     "frame slice: args.chunks must be a non-negative integer, got 1.5"),
    ("bool count", is_frame(0, 1), setter(["args", "allocs"], True),
     "frame slice: args.allocs must be a non-negative integer, got true"),
    ("missing dur", is_frame(0, 5), setter(["dur"], DEL),
     "frame slice: dur is missing"),
    ("string ts", is_frame(0, 6), setter(["ts"], "12"),
     'frame slice: ts must be a non-negative number of microseconds, '
     'got "12"'),
    ("NaN ts", is_frame(0, 7), setter(["ts"], float("nan")),
     "frame slice: ts must be a non-negative number of microseconds, "
     "got NaN"),
    ("negative dur", is_frame(0, 8), setter(["dur"], -0.5),
     "frame slice: dur must be a non-negative number of microseconds, "
     "got -0.5"),
    ("budget state", is_frame(0, 9), setter(["args", "budget"], "over"),
     'frame slice: args.budget must be one of "ok", "soft", "hard", '
     'got "over"'),
    ("category", is_frame(0, 10), setter(["cat"], "frames"),
     'frame slice: cat must be one of "frame", got "frames"'),
    ("peak below bytes", is_frame(0, 11),
     setter(["args", "frame_peak"], 10),
     "frame slice: args.frame_peak (10) is less than args.frame_bytes"),
    ("tags not an object", is_frame(0, 13), setter(["args", "tags"], []),
     "frame slice: args.tags must be an object, got []"),
    ("tag not an object", is_frame(0, 14),
     setter(["args", "tags", "physics"], 12),
     'frame slice: args.tags["physics"] must be an object, got 12'),
    ("tag tier a string", is_frame(0, 15),
     setter(["args", "tags", "render", "pool"], "12"),
     'frame slice: args.tags["render"].pool must be a non-negative integer,'
     ' got "12"'),
    ("tag tier missing", is_frame(1, 3),
     setter(["args", "tags", "audio", "task"], DEL),
     'frame slice: args.tags["audio"].task is missing'),
    ("missing args", is_frame(1, 4), setter(["args"], DEL),
     "frame slice: args is missing"),
    ("missing pid", is_frame(1, 5), setter(["pid"], DEL),
     "frame slice: pid is missing"),
    ("negative tid", is_frame(1, 6), setter(["tid"], -1),
     "frame slice: tid must be a non-negative integer, got -1"),
    ("other pid", is_counter("os bytes"), setter(["pid"], 77),
     "pid 77 differs from the trace's, 4242 (event 0)"),
    ("frame number repeated", is_frame(1, 8), setter(["args", "frame"], 7),
     "frame slice of thread 1 is frame 7, after frame 7: a thread's frame "
     "numbers increase"),
    ("version", is_meta("framealloc"), setter(["args", "version"], "1.0"),
     'framealloc metadata: args.version must look like \\d+\\.\\d+\\.\\d+, '
     'got "1.0"'),
    ("budgets not an array", is_meta("framealloc"),
     setter(["args", "budgets"], {}),
     "framealloc metadata: args.budgets must be an array, got {}"),
    ("budget soft missing", is_meta("framealloc"),
     setter(["args", "budgets", 0, "soft"], DEL),
     "framealloc metadata: args.budgets[0].soft is missing"),
    ("budget tag twice", is_meta("framealloc"),
     setter(["args", "budgets", 1, "tag"], "physics"),
     'framealloc metadata: args.budgets[1].tag: "physics" has two budgets'),
    ("budget tag empty", is_meta("framealloc"),
     setter(["args", "budgets", 1, "tag"], ""),
     "framealloc metadata: args.budgets[1].tag is empty"),
    ("frame budget", is_meta("framealloc"),
     setter(["args", "frame_budget"], None),
     "framealloc metadata: args.frame_budget must be a non-negative "
     "integer, got null"),
    ("history missing", is_meta("framealloc"),
     setter(["args", "history_frames"], DEL),
     "framealloc metadata: args.history_frames is missing"),
    ("thread name", is_meta("thread_name"), setter(["args", "name"], 1),
     "thread_name metadata: args.name must be a string, got 1"),
    ("process name", is_meta("process_name"), setter(["args"], "x"),
     'process_name metadata: args must be an object, got "x"'),
    ("trace_end dropped", is_meta("trace_end"),
     setter(["args", "dropped"], DEL),
     "trace_end metadata: args.dropped is missing"),
    ("counter id", is_counter("frame bytes"), setter(["id"], 7),
     "\"frame bytes\" counter: id (7) must be the thread index, tid (0)"),
    ("counter value", is_counter("frame bytes"),
     setter(["args", "frame"], -3),
     '"frame bytes" counter: args.frame must be a non-negative integer, '
     'got -3'),
    ("tier counter", is_counter("tier bytes"), setter(["args", "heap"], DEL),
     '"tier bytes" counter: args.heap is missing'),
    ("os counter", is_counter("os bytes"), setter(["ts"], DEL),
     '"os bytes" counter: ts is missing'),
    ("severity", is_diag, setter(["args", "severity"], "fatal"),
     'diagnostic: args.severity must be one of "warning", "error", '
     'got "fatal"'),
    ("code pattern", is_diag, setter(["args", "code"], "FA3"),
     'diagnostic: args.code must look like FA\\d{3}, got "FA3"'),
    ("code differs", is_diag, setter(["name"], "FA004"),
     'diagnostic: name ("FA004") differs from args.code ("FA003")'),
    ("scope", is_diag, setter(["s"], "g"),
     'diagnostic: s must be one of "t", got "g"'),
    ("site", is_diag, setter(["args", "site"], None),
     "diagnostic: args.site must be a string, got null"),
    ("message", is_diag, setter(["args", "message"], DEL),
     "diagnostic: args.message is missing"),
]


def check_one(c, name, events, index, message):
    """check fails with exactly one problem, message at event index."""
    path = c.write(name, as_trace(events))
    rc, out, err = c.check(path)
    expect_eq(rc, 1, "%s: exit status (stdout %s, stderr %s)"
              % (name, out, err))
    problems = [ln for ln in err.splitlines() if ln]
    want = "%s:%d: event %d: %s" % (path, index + 2, index, message)
    expect(len(problems) == 1 and problems[0].startswith(want),
           "%s: expected one problem\n  %s\ngot:\n  %s"
           % (name, want, "\n  ".join(problems)))


def test_schema_violations(c):
    """Each violation alone: exactly its message, at its event and line,
    from validate() and from one run of check over all the files (which
    exits 1); the first file also alone."""
    base = good_lines()
    paths, wants = [], []
    for k, (what, pred, fn, message) in enumerate(SCHEMA_CASES):
        events, i = mutate(base, pred, fn)
        path = c.write("schema%02d.json" % k, as_trace(events))
        want = "%s:%d: event %d: %s" % (path, i + 2, i, message)
        errors, _ = fa_trace.validate(fa_trace.load(path))
        got = [str(e) for e in errors]
        expect(len(got) == 1 and got[0].startswith(want),
               "%s: expected one problem\n  %s\ngot:\n  %s"
               % (what, want, "\n  ".join(got)))
        paths.append(path)
        wants.append(want)
    rc, out, err = c.check(*paths)
    expect_eq(rc, 1, "exit status of check")
    expect_eq(out, "", "no file is ok")
    problems = [ln for ln in err.splitlines() if ln]
    expect_eq(len(problems), len(wants), "problems:\n" + err)
    for want, got in zip(wants, problems):
        expect(got.startswith(want), "expected\n  %s\ngot\n  %s"
               % (want, got))
    events, i = mutate(base, SCHEMA_CASES[0][1], SCHEMA_CASES[0][2])
    check_one(c, "alone.json", events, i, SCHEMA_CASES[0][3])


def test_schema_structure(c):
    """Rules across events: each broken alone gives its own message."""
    base = good_lines()
    # Not an object; "ph" not a string.
    events = copy.deepcopy(base)
    events.insert(5, 42)
    check_one(c, "number.json", events, 5,
              "an event must be a JSON object, got 42")
    events = copy.deepcopy(base)
    events[6]["ph"] = None
    check_one(c, "ph.json", events, 6,
              '"ph" (the event type) must be a string, got null')
    # A second configuration.
    events = copy.deepcopy(base)
    events.insert(40, copy.deepcopy(events[find(events,
                                                is_meta("framealloc"))]))
    check_one(c, "config2.json", events, 40,
              "a second framealloc metadata event (the first is event 1)")
    # An event after trace_end.
    events = copy.deepcopy(base)
    end = find(events, is_meta("trace_end"))
    events.append(copy.deepcopy(events[0]))
    check_one(c, "after_end.json", events, end + 1,
              "an event after trace_end (event %d): trace_end must be the "
              "last" % end)
    # trace_end counts other frames than the trace holds.
    events = copy.deepcopy(base)
    end = find(events, is_meta("trace_end"))
    del events[find(events, is_frame(1, 7))]
    check_one(c, "count.json", events, end - 1,
              "trace_end counts 72 frame slices, the trace holds 71")
    # A frame before its thread's name.
    events = copy.deepcopy(base)
    named = find(events, lambda ev: is_meta("thread_name")(ev)
                 and ev["tid"] == 1)
    del events[named]
    first = find(events, is_frame(1))
    check_one(c, "unnamed.json", events, first,
              "frame slice of thread 1 before its thread_name event")
    # A frame that starts before the previous one of its thread.
    events = copy.deepcopy(base)
    i = find(events, is_frame(1, 9))
    prev = events[find(events, is_frame(1, 8))]["ts"]
    events[i]["ts"] = prev - 1
    check_one(c, "backwards.json", events, i,
              "frame slice of thread 1 starts at %s us, before the previous "
              "one (at %s us)" % (prev - 1, prev))


def test_schema_all_reported(c):
    """Every problem is reported, not only the first."""
    events = copy.deepcopy(good_lines())
    for k in (3, 4, 5):
        events[find(events, is_frame(0, k))]["args"]["budget"] = "?"
    rc, _, err = c.check(c.write("three.json", as_trace(events)))
    expect_eq(rc, 1, "exit status")
    expect_eq(err.count("args.budget must be one of"), 3,
              "problems reported:\n" + err)


def test_schema_tolerated(c):
    """Unknown event kinds and args keys, a frame without tags, other
    processes' events: all ignored."""
    events = copy.deepcopy(good_lines())
    events.insert(10, {"ph": "b", "name": "load", "cat": "asset", "id": 3,
                       "pid": 1, "tid": 99, "ts": 5})
    events.insert(11, {"ph": "X", "name": "render", "pid": 1, "tid": 0,
                       "ts": 1, "dur": 2})
    events.insert(12, {"ph": "C", "name": "fps", "pid": 1, "ts": 1,
                       "args": {"fps": 60}})
    events.insert(13, {"ph": "i", "name": "marker", "s": "g", "ts": 3})
    events.insert(14, {"ph": "M", "name": "thread_sort_index", "tid": 0,
                       "pid": 1, "args": {"sort_index": -1}})
    f = events[find(events, is_frame(0, 20))]
    f["args"]["future_key"] = {"nested": [1, 2]}
    f["extra"] = "x"
    del events[find(events, is_frame(0, 21))]["args"]["tags"]
    events[find(events, is_meta("framealloc"))]["args"]["new"] = 1
    rc, out, err = c.check(c.write("tolerant.json", as_trace(events)))
    expect_eq(rc, 0, "exit status; stderr:\n" + err)


def test_complete(c):
    """--complete: the trace must have been closed, with trace_end."""
    rc, _, err = c.check("--complete", c.fixture("two_threads.trace.json"))
    expect_eq(rc, 0, "closed fixture: " + err)
    rc, out, err = c.check(c.fixture("killed.trace.json"))
    expect_eq(rc, 0, "killed fixture without --complete: " + err)
    expect('note: %s: no closing "]"' % c.fixture("killed.trace.json")
           in out, "the note on stdout:\n" + out)
    rc, _, err = c.check("--complete", c.fixture("killed.trace.json"))
    expect_eq(rc, 1, "killed fixture with --complete")
    expect('no closing "]": the program ended without fa_trace_close' in err
           and "the last line was cut short" in err, err)
    events = [ev for ev in good_lines() if not is_meta("trace_end")(ev)]
    path = c.write("no_end.json", as_trace(events))
    rc, _, err = c.check("--complete", path)
    expect_eq(rc, 1, "closed without trace_end")
    expect_eq(err.strip(), "%s: no trace_end event" % path, "message")
    # A comma before "]"; another layout: fine, except with --complete.
    events = good_lines()
    for name, text, message in (
            ("comma.json", as_trace(events, closed=False) + "]\n",
             ':181: event 179: a comma after the last event, before "]": '
             "not strict JSON, as fa_trace_close leaves a trace"),
            ("pretty.json", json.dumps(events, indent=1),
             ": not one event per line, as framealloc writes a trace")):
        path = c.write(name, text)
        rc, _, err = c.check(path)
        expect_eq(rc, 0, name + " without --complete: " + err)
        rc, _, err = c.check("--complete", path)
        expect_eq(rc, 1, name + " with --complete")
        expect_eq(err.strip(), path + message, name + ": message")


def test_killed_option(c):
    """--killed: never closed (no "]", no trace_end), else exit 1."""
    rc, out, err = c.check("--killed", c.fixture("killed.trace.json"))
    expect_eq(rc, 0, "the killed fixture: " + err)
    path = c.fixture("two_threads.trace.json")
    rc, _, err = c.check("--killed", path)
    expect_eq(rc, 1, "the closed fixture")
    expect('%s: closed with "]": not the trace of a killed program' % path
           in err and "%s:181: event 179: trace_end: not the trace of a "
           "killed program" % path in err, err)
    # trace_end written, then killed before "]".
    events = good_lines()
    path = c.write("end_open.json", as_trace(events, closed=False))
    rc, _, err = c.check("--killed", path)
    expect_eq(rc, 1, "trace_end without ]")
    expect_eq(err.strip(), "%s:181: event 179: trace_end: not the trace of "
              "a killed program" % path, "message")
    rc, _, err = c.check("--killed", "--complete", path)
    expect_eq(rc, 2, "--killed with --complete")


def test_expectations(c):
    """--min-frames, --threads, --tag, --diag: what a test asks a trace
    to show; each one missed is named, exit 1."""
    path = c.fixture("two_threads.trace.json")
    rc, out, err = c.check("--complete", "--min-frames", "72", "--threads",
                           "2", "--tag", "physics", "--tag", "audio",
                           "--diag", "FA003", path)
    expect_eq(rc, 0, "what the fixture shows: " + err)
    rc, out, err = c.check("--min-frames", "73", "--threads", "3", "--tag",
                           "physics", "--tag", 'ai "x"', "--diag", "FA003",
                           "--diag", "FA001", path)
    expect_eq(rc, 1, "what it does not")
    expect_eq(err.splitlines(), [
        "%s: 72 frame slices, at least 73 expected" % path,
        "%s: frames of 2 threads, at least 3 expected" % path,
        '%s: no bytes of tag "ai \\"x\\""' % path,
        "%s: no FA001 event" % path], "messages")
    expect_eq(out, "", "no ok line")
    # A tag whose bytes are all 0 was not used.
    events = copy.deepcopy(good_lines())
    for ev in events:
        if is_frame()(ev):
            ev["args"]["tags"]["zero"] = {"frame": 0, "pool": 0, "task": 0}
    rc, _, err = c.check("--tag", "zero", c.write("z.json", as_trace(events)))
    expect_eq(rc, 1, "a tag with 0 bytes")
    expect('no bytes of tag "zero"' in err, err)


def test_repair(c):
    """repair: a killed trace written closed, strict JSON, same events."""
    out = os.path.join(c.tmp, "repaired.json")
    rc, stdout, err = c.run("fa_trace.py", "repair",
                            c.fixture("killed.trace.json"), out)
    expect_eq(rc, 0, "exit status: " + err)
    killed = fa_trace.load(c.fixture("killed.trace.json"))
    expect("%s: %d events (the cut line %d left out)"
           % (out, len(killed.events), killed.cut_line) in stdout, stdout)
    with open(out, encoding="utf-8") as f:
        expect_eq(json.load(f), killed.events, "the repaired events")
    rc, _, err = c.check("--complete", out)
    expect_eq(rc, 1, "no trace_end is made up")
    expect("no trace_end event" in err, err)
    rc, _, err = c.run("fa_trace.py", "repair", c.write("e.json", ""), out)
    expect_eq(rc, 1, "repair of an empty file")
    rc, _, err = c.run("fa_trace.py", "repair",
                       c.fixture("killed.trace.json"),
                       os.path.join(c.tmp, "no", "dir.json"))
    expect_eq(rc, 1, "unwritable output")
    expect("no%sdir.json: cannot write" % os.sep in err, err)


def test_cli(c):
    good = c.fixture("two_threads.trace.json")
    bad = c.write("bad.json", "[\n{\"ph\":\n{}\n")
    rc, out, err = c.check(good, bad)
    expect_eq(rc, 1, "one bad file of two")
    expect("two_threads.trace.json: ok" in out, out)
    expect("bad.json:2: not JSON" in err, err)
    rc, _, err = c.check(os.path.join(c.tmp, "absent.json"))
    expect_eq(rc, 1, "missing file")
    expect("absent.json: cannot read: No such file" in err, err)
    rc, _, err = c.run("fa_trace.py")
    expect_eq(rc, 2, "no command")
    rc, _, err = c.run("fa_trace.py", "frobnicate", good)
    expect_eq(rc, 2, "unknown command")
    rc, _, err = c.run("fa_trace.py", "summary", bad)
    expect_eq(rc, 1, "summary of an unreadable trace")
    events, _ = mutate(good_lines(), is_frame(0, 1),
                       setter(["args", "budget"], "x"))
    rc, _, err = c.run("fa_trace.py", "summary",
                       c.write("invalid.json", as_trace(events)))
    expect_eq(rc, 1, "summary of an invalid trace")
    expect("args.budget must be one of" in err, err)


# ------------------------------------------------------------ summary

def test_summary_planted(c):
    """The summary finds what the fixture was made to show."""
    P = make_fixtures.PLANTED
    rc, out, err = c.run("fa_trace.py", "summary", "--json",
                         c.fixture("two_threads.trace.json"))
    expect_eq(rc, 0, "exit status: " + err)
    s = json.loads(out)
    expect_eq({t["tid"]: t["frames"] for t in s["threads"]}, P["frames"],
              "frames per thread")
    expect_eq([t["name"] for t in s["threads"]], ["thread 0", "thread 1"],
              "thread names")
    peak = s["peak_bytes"]
    expect_eq(peak["frame"]["bytes"], P["frame_peak"], "frame peak")
    expect_eq((peak["frame"]["tid"], peak["frame"]["frame"]),
              P["frame_peak_at"], "where the frame peak is")
    expect_eq(peak["pool"]["bytes"], P["pool_peak"], "pool peak")
    expect_eq(peak["task"]["bytes"], P["task_peak"], "task peak")
    expect_eq(peak["heap"]["bytes"], P["heap_bytes"], "heap peak")
    expect_eq(peak["os"]["bytes"], P["os_peak"], "os peak")
    expect_eq((s["budget_soft"], s["budget_hard"]),
              (P["budget_soft"], P["budget_hard"]), "budget overruns")
    by_code = s["diagnostics"]["by_code"]
    expect_eq({k: v["count"] for k, v in by_code.items()},
              P["diagnostics"], "diagnostics")
    expect_eq(by_code["FA003"]["error"]["count"], P["diagnostic_errors"],
              "FA003 errors")
    expect_eq(s["diagnostics"]["counted_by_frames"],
              sum(P["diagnostics"].values()), "frames' count")
    expect_eq(sorted(s["tags"]), P["tags"], "tags")
    phys = s["tags"]["physics"]
    expect_eq(phys["peak"]["sum"], P["physics_peak"], "physics peak")
    expect_eq((phys["peak_at"]["tid"], phys["peak_at"]["frame"]),
              P["physics_peak_at"], "where the physics peak is")
    expect_eq(phys["over_soft"], P["physics_over_soft"], "physics overruns")
    expect_eq((phys["soft"], phys["hard"]), (16384, 32768), "its budget")
    expect_eq(s["tags"]["render"]["over_soft"], P["render_over_soft"],
              "render overruns")
    expect_eq(s["frame_budget"], make_fixtures.FRAME_BUDGET, "frame budget")
    expect_eq(s["end"], {"frames": 72, "dropped": 0}, "trace_end")
    diag = by_code["FA003"]["error"]["first"]
    expect_eq(diag["site"], "game\\physics.c:212", "escaped site")
    expect('"physics"' in diag["message"], "escaped quotes in the message")


def test_summary_text(c):
    rc, out, err = c.run("fa_trace.py", "summary",
                         c.fixture("two_threads.trace.json"))
    expect_eq(rc, 0, "exit status: " + err)
    for want in ("(180 events, closed)",
                 "framealloc 0.1.0, frame budget 64.0 KiB, history 120",
                 '0 "thread 0"      48 frames (1..48)',
                 "frame      60.0 KiB  (thread 0, frame 40)",
                 "budget overruns (frames): soft 2, hard 1",
                 "physics         72 frames, peak 30.0 KiB",
                 "budget soft 16.0 KiB: over it in 3 frames; hard 32.0 KiB: "
                 "peak at 93% of it",
                 "FA003 error x1, first on thread 0 at 672.777 ms "
                 "(game\\physics.c:212): tag \"physics\" over its hard",
                 "FA003 warning x3"):
        expect(want in out, "%r not in the summary:\n%s" % (want, out))
    rc, out, _ = c.run("fa_trace.py", "summary",
                       c.fixture("killed.trace.json"))
    expect_eq(rc, 0, "killed: exit status")
    expect("not closed, last line cut" in out and
           "note:" in out, "killed summary:\n" + out)


def test_summary_percentiles(c):
    """Nearest-rank percentiles of known frame times; a thread without
    frames is absent; an empty trace summarises to no frames."""
    events = copy.deepcopy(good_lines())
    head = events[:2] + [events[find(events, is_meta("thread_name"))]]
    frame = copy.deepcopy(events[find(events, is_frame(0, 1))])
    frames = []
    for k, dur in enumerate([7, 1, 100, 3] + list(range(4, 100)) + [2]):
        ev = copy.deepcopy(frame)
        ev["ts"], ev["dur"] = k * 1000.0, float(dur)
        ev["args"]["frame"] = k
        frames.append(ev)
    t = fa_trace.loads(as_trace(head + frames), "p")
    expect_eq(fa_trace.validate(t)[0], [], "valid")
    s = fa_trace.summarise(t)
    expect_eq(len(s["threads"]), 1, "threads")
    # 101 values: 1..100 and an extra 7; nearest rank of 50% is the 51st.
    ft = s["threads"][0]["frame_time_us"]
    expect_eq((ft["p50"], ft["p90"], ft["p99"], ft["max"]),
              (50.0, 90.0, 99.0, 100.0), "percentiles")
    s = fa_trace.summarise(fa_trace.loads("[\n", "empty"))
    expect_eq(s["threads"], [], "no frames")
    expect("no frames" in fa_trace.format_summary(s), "text of no frames")


# --------------------------------------------------------------- plot

def svg_ids(path):
    """{id: element} of an SVG, which must parse as XML."""
    root = ET.parse(path).getroot()
    expect(root.tag.endswith("svg"), "the root is <svg>")
    return {el.get("id"): el for el in root.iter() if el.get("id")}


SERIES = ["fa-tier-frame", "fa-tier-pool", "fa-tier-heap", "fa-tier-task",
          "fa-os-bytes", "fa-budget-frame", "fa-frame-bytes-thread-0",
          "fa-frame-bytes-thread-1", "fa-frame-time-thread-0",
          "fa-frame-time-thread-1", "fa-tag-audio", "fa-tag-physics",
          "fa-tag-render", "fa-budget-physics-soft",
          "fa-budget-physics-hard", "fa-budget-render-soft",
          "fa-overrun-soft-thread-0", "fa-overrun-hard-thread-0",
          "fa-diagnostics-thread-0"]


def plot(c, *args, python=None):
    rc, out, err = c.run("fa-plot", *args, python=python)
    return rc, out, err


def test_plot_fixture(c):
    """Every series of the fixture, by id, in an SVG that parses; then
    --thread 1: its series only, other values."""
    out = os.path.join(c.tmp, "two.svg")
    rc, stdout, err = plot(c, c.fixture("two_threads.trace.json"), "-o", out)
    expect_eq(rc, 0, "exit status: " + err)
    expect("wrote %s (48 frames, threads 0, 1)" % out in stdout, stdout)
    ids = svg_ids(out)
    for sid in SERIES:
        expect(sid in ids, "%s: no series %s" % (out, sid))
    expect("fa-budget-render-hard" not in ids, "render has no hard budget")
    # The stacked areas are filled paths, one per tier.
    for tier in ("frame", "pool", "heap", "task"):
        paths = ids["fa-tier-" + tier].findall(".//{*}path")
        expect(paths and paths[0].get("d"), "%s: an area" % tier)
    text = open(out, encoding="utf-8").read()
    for label in ("Memory by tier", "Frame time per thread",
                  "Bytes per tag", "frame budget 64 KiB",
                  "physics hard 32 KiB"):
        expect(label in text, "%r not in the SVG" % label)

    both, one = out, os.path.join(c.tmp, "one.svg")
    rc, out, err = plot(c, "--thread", "1", "-o", one,
                        c.fixture("two_threads.trace.json"))
    expect_eq(rc, 0, err)
    expect("(24 frames, thread 1)" in out, out)
    ids = svg_ids(one)
    expect("fa-frame-time-thread-1" in ids and
           "fa-frame-time-thread-0" not in ids, "thread 1's series only")

    def area(path):
        return svg_ids(path)["fa-tier-frame"].find(".//{*}path").get("d")
    expect(area(both) != area(one), "the frame area is thread 1's alone")
    rc, _, err = plot(c, "--thread", "5", c.fixture("two_threads.trace.json"),
                      "-o", os.path.join(c.tmp, "x.svg"))
    expect_eq(rc, 1, "unknown thread")
    expect("has no frames of thread 5 (threads: 0, 1)" in err, err)
    expect(not os.path.exists(os.path.join(c.tmp, "x.svg")), "no SVG")


def test_plot_killed_and_default_name(c):
    src = os.path.join(c.tmp, "game.trace.json")
    shutil.copy(c.fixture("killed.trace.json"), src)
    rc, out, err = plot(c, src)
    expect_eq(rc, 0, err)
    expect('no closing "]"' in err, "the note on stderr: " + err)
    svg = os.path.join(c.tmp, "game.svg")
    expect("wrote %s" % svg in out, out)
    svg_ids(svg)


def test_plot_untagged(c):
    """No tags and no budgets: three charts; OS bytes close to the rest
    share the left scale; a frame budget far above the data is left above
    the chart."""
    events = copy.deepcopy(good_lines())
    cfg = events[find(events, is_meta("framealloc"))]["args"]
    cfg["budgets"] = []
    cfg["frame_budget"] = 64 << 20
    for ev in events:
        if is_frame()(ev):
            del ev["args"]["tags"]
            ev["args"]["os_bytes"] = 512 * 1024
        if is_counter("os bytes")(ev):
            ev["args"]["os"] = 512 * 1024
    out = os.path.join(c.tmp, "plain.svg")
    rc, _, err = plot(c, c.write("plain.json", as_trace(events)), "-o", out)
    expect_eq(rc, 0, err)
    ids = svg_ids(out)
    expect(not [i for i in ids if i.startswith(("fa-tag", "fa-budget-p",
                                                "fa-budget-r"))],
           "no tag series")
    expect("fa-os-bytes" in ids and "fa-budget-frame" in ids, "the rest")
    text = open(out, encoding="utf-8").read()
    expect("Bytes per tag" not in text and "right scale" not in text,
           "three charts, one scale")
    expect("frame budget 64 MiB (above the chart)" in text, "budget label")


def test_plot_errors(c):
    events, _ = mutate(good_lines(), is_frame(0, 1),
                       setter(["args", "budget"], "x"))
    rc, _, err = plot(c, c.write("invalid.json", as_trace(events)))
    expect_eq(rc, 1, "invalid trace")
    expect("args.budget must be one of" in err and "is not a valid trace"
           in err, err)
    rc, _, err = plot(c, c.write("empty.json", ""))
    expect_eq(rc, 1, "empty trace")
    expect("empty: not even the trace's first lines" in err, err)
    no_frames = c.write("meta.json", as_trace(good_lines()[:2]))
    rc, _, err = plot(c, no_frames)
    expect_eq(rc, 1, "no frames")
    expect("has no frame slices: nothing to draw" in err, err)
    rc, _, err = plot(c, c.fixture("two_threads.trace.json"), "-o",
                      os.path.join(c.tmp, "no", "such", "dir.svg"))
    expect_eq(rc, 1, "unwritable output")
    expect("cannot write %s: no such directory" % os.path.join(
        c.tmp, "no", "such", "dir.svg") in err, err)
    rc, _, _ = plot(c)
    expect_eq(rc, 2, "usage")


def test_plot_reexec(c):
    """A python3 without matplotlib (here: the system one with -S, no
    site-packages) hands the run to /usr/bin/python3."""
    out = os.path.join(c.tmp, "reexec.svg")
    rc, _, err = plot(c, c.fixture("two_threads.trace.json"), "-o", out,
                      python=["/usr/bin/python3", "-S"])
    expect_eq(rc, 0, "exit status: " + err)
    expect("fa-tier-pool" in svg_ids(out), "the SVG")
    # Already run again, and still no matplotlib: a clear message.
    rc, _, err = c.run("fa-plot", c.fixture("two_threads.trace.json"),
                       "-o", out, python=["/usr/bin/python3", "-S"],
                       env={"FA_PLOT_REEXEC": "1"})
    expect_eq(rc, 1, "no matplotlib anywhere")
    expect("matplotlib is not installed" in err and
           "install python3-matplotlib" in err, err)


GROUPS = {
    "fixtures": [test_fixtures_current, test_fixtures_deterministic,
                 test_fixtures_check],
    "reader": [test_read_closed, test_read_killed,
               test_read_killed_everywhere,
               test_read_trailing_comma_and_no_bracket,
               test_read_bracket_on_last_line, test_read_crlf,
               test_read_other_layouts, test_read_cut_utf8,
               test_read_errors, test_read_only_open_bracket],
    "schema": [test_schema_violations, test_schema_structure,
               test_schema_all_reported, test_schema_tolerated,
               test_complete, test_killed_option, test_expectations,
               test_repair, test_cli],
    "summary": [test_summary_planted, test_summary_text,
                test_summary_percentiles],
    "plot": [test_plot_fixture,
             test_plot_killed_and_default_name, test_plot_untagged,
             test_plot_errors,
             test_plot_reexec],
}


def has_matplotlib(py):
    return os.access(py, os.X_OK) and subprocess.run(
        [py, "-c", "import matplotlib"], stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL).returncode == 0


def main():
    global fa_trace
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tools", required=True)
    p.add_argument("--fixtures", required=True)
    p.add_argument("group", choices=sorted(GROUPS))
    args = p.parse_args()
    args.tools = os.path.abspath(args.tools)
    args.fixtures = os.path.abspath(args.fixtures)
    sys.path.insert(0, args.tools)
    import fa_trace as module
    fa_trace = module
    tests = GROUPS[args.group]
    if args.group == "plot":
        system = has_matplotlib("/usr/bin/python3")
        if not system and not has_matplotlib(sys.executable):
            print("skipped: no matplotlib (scripts/deps.sh installs "
                  "python3-matplotlib)")
            return SKIP
        if not system:  # the re-run needs the system python3's
            print("test_plot_reexec left out: /usr/bin/python3 has no "
                  "matplotlib")
            tests = [t for t in tests if t is not test_plot_reexec]
    return pyharness.run(
        tests, lambda tmp: Ctx(args.tools, args.fixtures, tmp),
        "fa_trace_test_", Failure)


if __name__ == "__main__":
    sys.exit(main())
