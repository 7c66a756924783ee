#!/usr/bin/env python3
"""fa-check's command line, configuration and inputs, run by CTest.

  test_cli.py --bin FA_CHECK --include DIR [--docs FA_CHECK_MD] GROUP

GROUP is one of the names in GROUPS below. Each test runs the real binary in
a fresh temporary directory; every run must end with one of the documented
exit statuses (never a signal) and print no sanitizer report. The last line
is "N passed, N failed".
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", ".."))
import pyharness  # noqa: E402

SANITIZER = re.compile(
    r"ERROR: (Address|Thread|Leak)Sanitizer|WARNING: ThreadSanitizer|"
    r"runtime error:")

# A file with one obvious FA701 on line 4 (a frame allocation in FA_ASYNC
# code) and a clean one.
BAD_ASYNC = """#include <framealloc.h>

FA_ASYNC void job(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 16, 8);
  (void)p;
}
"""
CLEAN = """#include <framealloc.h>

void *scratch(fa_allocator_t *a) { return fa_frame_alloc(a, 16, 8); }
"""
BROKEN = """int main(void) {
  return 0
}
"""


class Failure(Exception):
    pass


class Ctx:
    def __init__(self, binary, include, tmp):
        self.bin = binary
        self.include = include
        self.tmp = tmp

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, text):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        return p

    def write_bytes(self, name, data):
        p = self.path(name)
        with open(p, "wb") as f:
            f.write(data)
        return p

    def run(self, *args, cwd=None, env=None):
        e = dict(os.environ)
        e.pop("NO_COLOR", None)
        if env:
            e.update(env)
        p = subprocess.run([self.bin] + list(args), cwd=cwd or self.tmp,
                           env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode not in (0, 1, 2):
            raise Failure("fa-check %s: exit status %d\n%s" %
                          (" ".join(args), p.returncode, err))
        if SANITIZER.search(err):
            raise Failure("fa-check %s: sanitizer report\n%s" %
                          (" ".join(args), err))
        return p.returncode, out, err

    def check(self, *args, **kw):
        """Runs a check of files with the framealloc headers."""
        return self.run(*(list(args) + ["--", "-I" + self.include]), **kw)


def expect(cond, msg, *extra):
    if not cond:
        raise Failure(msg + "".join("\n--- " + str(x) for x in extra))


def expect_status(res, status, what):
    rc, out, err = res
    expect(rc == status, "%s: exit status %d, expected %d" % (what, rc, status),
           "stdout:\n" + out, "stderr:\n" + err)


# ---- usage ---------------------------------------------------------------

def test_help_version(c):
    rc, out, _ = c.run("--help")
    expect(rc == 0 and "Usage: fa-check" in out and "--deny-warnings" in out,
           "--help", out)
    rc, out, _ = c.run("--version")
    expect(rc == 0 and out.startswith("fa-check "), "--version", out)


def test_unknown_option(c):
    for args in (["--bogus", "x.c"], ["-z"], ["--all=1", "x.c"]):
        rc, _, err = c.run(*args)
        expect(rc == 2 and "fa-check: error:" in err, "%s" % args, err)


def test_values(c):
    cases = [
        (["--format", "xml", "x.c"], "unknown format 'xml'"),
        (["--format=xml", "x.c"], "unknown format 'xml'"),
        (["--color=sometimes", "x.c"], "--color"),
        (["-j", "many", "x.c"], "-j needs a number"),
        (["-j-1", "x.c"], "-j needs a number"),
        (["--deny", "FA999", "x.c"], "unknown code or family 'FA999'"),
        (["--warn=FA001", "x.c"], "unknown code or family 'FA001'"),
        (["--allow", "async", "x.c"], "unknown code or family 'async'"),
        (["--check", "speed", "x.c"], "unknown check family 'speed'"),
        (["--deny"], "option '--deny' needs a value"),
        ([], "no input"),
    ]
    for args, msg in cases:
        rc, out, err = c.run(*args)
        expect(rc == 2 and msg in err, "%s: expected exit 2 and %r" %
               (args, msg), err)


def test_code_forms(c):
    f = c.write("clean.c", CLEAN)
    for code in ("FA702", "fa702", "702", "async-safety", "FA604",
                 "lifetime"):
        for opt in ("--deny", "--warn", "--allow"):
            res = c.check(opt, code, f)
            expect_status(res, 0, "%s %s" % (opt, code))
            res = c.check(opt + "=" + code, f)
            expect_status(res, 0, "%s=%s" % (opt, code))
    res = c.check("--all", "--check", "async-safety", "-j2", "-j", "1",
                  "--format=json", "--color", "never", f)
    expect_status(res, 0, "options together")


# One finding of each family: --check selects which are reported.
TWO_FAMILIES = """#include <framealloc.h>
void use(const void *p);
FA_ASYNC void job(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 8, 1);
  use(p);
}
void step(fa_allocator_t *a) {
  fa_begin_frame(a);
  char *q = fa_frame_alloc(a, 8, 1);
  fa_end_frame(a);
  use(q);
}
"""


def test_families(c):
    f = c.write("two.c", TWO_FAMILIES)
    for args, want in ((["--all"], ["FA604", "FA701"]),
                       ([], ["FA604", "FA701"]),
                       (["--check", "async-safety"], ["FA701"]),
                       (["--check=lifetime"], ["FA604"]),
                       (["--check", "lifetime", "--check", "async-safety"],
                        ["FA604", "FA701"])):
        rc, out, err = c.check("--format", "compact", *(args + [f]))
        got = sorted(re.findall(r"\[(FA\d{3})\]$", out, re.M))
        expect(rc == 1 and got == want, "%s: %s, expected %s" %
               (args, got, want), out, err)


LOOP_BREAK = """#include <framealloc.h>
int more(void);
void run(fa_allocator_t *a) {
  while (more()) {
    fa_begin_frame(a);
    if (more())
      break;
    fa_end_frame(a);
  }
}
"""


def test_lifetime_notes(c):
    """FA603 is reported at the begin, with a note at the path's exit."""
    f = c.write("loop.c", LOOP_BREAK)
    rc, out, err = c.check("--format", "compact", f)
    expect(rc == 0 and re.search(
        r"loop\.c:5:5: warning: frame begun by fa_begin_frame\(a\) is not "
        r"ended on every path of 'run' \[FA603\]\n.*loop\.c:7:7: note: this "
        r"break leaves the loop with the frame still open", out),
        "FA603 with its note", out, err)


def test_explain_cxx(c):
    """`fa-check explain` shows each rule's C++ example of docs/fa-check.md
    (its bad and fixed blocks) after the C one."""
    text = open(os.path.join(os.path.dirname(c.docs), "fa-check.md"),
                encoding="utf-8").read()
    for code in ("FA701", "FA702", "FA703", "FA601", "FA603", "FA604"):
        m = re.search(r"^### %s in C\+\+.*?(?=^### |^## )" % code, text,
                      re.M | re.S)
        expect(m is not None, "no C++ section for %s" % code)
        rc, out, _ = c.run("explain", code)
        expect(rc == 0 and "\nIn C++:\n" in out, "explain %s: no C++" % code,
               out)
        expect(out.index("In C++:") > out.index("Bad:"),
               "explain %s: C++ after C" % code, out)
        for block in re.findall(r"^```cpp\n(.*?)^```$", m.group(0),
                                re.M | re.S):
            shown = "".join("    " + ln if ln.strip() else "\n"
                            for ln in block.splitlines(True))
            expect(shown in out, "explain %s lacks the C++ example" % code,
                   block, out)


def test_explain(c):
    for code in ("FA701", "fa702", "703", "FA601", "fa603", "604"):
        rc, out, _ = c.run("explain", code)
        expect(rc == 0, "explain %s: exit status %d" % (code, rc))
        num = re.sub(r"\D", "", code)
        expect(out.startswith("FA%s: " % num), "explain %s title" % code, out)
        for word in ("precision:", "Bad:", "Fixed:", "help:"):
            expect(word in out, "explain %s lacks %r" % (code, word), out)
    # The codes only the library raises are explained as run-time ones.
    for num in range(1, 9):
        code = "FA%03d" % num
        rc, out, err = c.run("explain", code.lower() if num == 3 else code)
        expect(rc == 0, "explain %s: exit status %d" % (code, rc), err)
        expect(out.startswith(code + ": "), "explain %s title" % code, out)
        expect("the library at run time" in out and "on_diagnostic" in out,
               "explain %s is not described as a run-time code" % code, out)
        expect("Bad:" not in out, "explain %s offers checker text" % code, out)
    rc, _, err = c.run("explain", "FA999")
    expect(rc == 2 and "unknown code" in err, "explain FA999", err)
    rc, _, err = c.run("explain")
    expect(rc == 2 and "explain needs a code" in err, "explain alone", err)


def test_list(c):
    rc, out, _ = c.run("list")
    expect(rc == 0, "list status")
    for code in ("FA701", "FA702", "FA703"):
        expect(re.search(r"^%s\s+error\s+async-safety\s+(high|medium)" % code,
                         out, re.M), "list lacks %s" % code, out)
    for code, level in (("FA601", "warning"), ("FA603", "warning"),
                        ("FA604", "error")):
        expect(re.search(r"^%s\s+%s\s+lifetime\s+(high|medium)" %
                         (code, level), out, re.M), "list lacks %s" % code, out)
    rc, out2, _ = c.run("list", "--check", "async-safety")
    expect(rc == 0 and "FA702" in out2 and "FA60" not in out2,
           "list --check async-safety", out2)
    rc, out3, _ = c.run("list", "--check", "lifetime")
    expect(rc == 0 and "FA604" in out3 and "FA70" not in out3,
           "list --check lifetime", out3)


# ---- inputs --------------------------------------------------------------

def test_missing_file(c):
    f = c.write("clean.c", CLEAN)
    rc, _, err = c.check(f, "nothere.c")
    expect(rc == 2 and "fa-check: error: nothere.c:" in err,
           "missing file: exit 2 naming it", err)
    rc, _, err = c.check("nothere.c")
    expect(rc == 2 and "nothere.c" in err, "only a missing file", err)
    os.mkdir(c.path("adir"))
    rc, _, err = c.check("adir")
    expect(rc == 2 and "adir" in err, "a directory as input", err)


def test_parse_failure(c):
    c.write("good.c", BAD_ASYNC)
    c.write("broken.c", BROKEN)
    rc, out, err = c.check("--format", "compact", "good.c", "broken.c")
    expect(rc == 2, "a file that does not parse: exit 2", out, err)
    expect(re.search(r"fa-check: error: broken\.c: .*broken\.c:2:\d+: "
                     r"expected ';'", err), "message names the bad file", err)
    expect("good.c" not in err, "the good file is not a failure", err)
    expect("good.c:4:" in out and "[FA701]" in out,
           "the good file is still analysed", out)


def make_compdb(c, name, entries):
    import json
    d = c.path(name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "compile_commands.json"), "w") as f:
        json.dump(entries, f)
    return d


def test_compdb_broken(c):
    rc, _, err = c.run("-p", c.path("nobuild"))
    expect(rc == 2 and "no such build directory" in err, "no build dir", err)
    os.mkdir(c.path("empty"))
    rc, _, err = c.run("-p", "empty")
    expect(rc == 2 and "no compile_commands.json in empty" in err,
           "no database", err)
    c.write("bad/compile_commands.json", '[{"directory": "/", "file": "a.c",')
    rc, _, err = c.run("-p", "bad")
    expect(rc == 2 and re.search(r"bad/compile_commands\.json:\d+:\d+: not a "
                                 r"valid compile database", err),
           "invalid JSON", err)
    c.write("shape/compile_commands.json", '[{"directory": "/", "file": 3}]')
    rc, _, err = c.run("-p", "shape")
    expect(rc == 2 and "entry 1 has no \"file\" string" in err, "bad entry",
           err)
    c.write("obj/compile_commands.json", '{"a": 1}')
    rc, _, err = c.run("-p", "obj")
    expect(rc == 2 and "expected an array" in err, "not an array", err)
    c.write("none/compile_commands.json", '[]')
    rc, _, err = c.run("-p", "none")
    expect(rc == 2 and "lists no C source file" in err, "empty database", err)


def test_compdb_relative_gcc_flags(c):
    c.write("src/job.c", BAD_ASYNC)
    c.write("src/ok.c", CLEAN)
    c.write("src/inc/extra.h", "#define EXTRA 1\n")
    gcc_flags = ("-fconserve-stack -fno-tree-loop-distribute-patterns "
                 "-fno-ipa-sra -mno-fp-ret-in-387 -fno-var-tracking-assignments "
                 "-fno-allow-store-data-races -fzero-call-used-regs=used-gpr "
                 "-mindirect-branch=thunk-extern -fanalyzer "
                 "-fmystery-gcc-only-option --param=ssp-buffer-size=4 "
                 "-flto=auto -Wall -Wextra -Werror -Wno-gnu-bogus -pedantic-errors "
                 "-fsanitize=address,bounds-strict")
    inc = os.path.relpath(c.include, c.path("build"))
    entries = [
        {"directory": c.path("build"), "file": "../src/job.c",
         "command": "gcc -I%s -I../src/inc -include extra.h %s -MD -MF "
                    "job.d -MT job.o -c -o job.o ../src/job.c" %
                    (inc, gcc_flags)},
        {"directory": c.path("build"), "file": "../src/ok.c",
         "arguments": ["cc", "-I" + inc, "-DEXTRA=2", "-c", "../src/ok.c",
                       "-o", "ok.o", "-fconserve-stack", "-std=gnu23",
                       "-march=znver9"]},
        {"directory": c.path("build"), "file": "../src/start.S",
         "command": "gcc -c ../src/start.S"},
    ]
    make_compdb(c, "build", entries)
    rc, out, err = c.run("--format", "compact", "-p", "build")
    expect(rc == 1, "compile database with GCC flags: exit 1", out, err)
    expect("src/job.c:4:" in out and "[FA701]" in out, "finding in job.c",
           out, err)
    expect(err == "", "no failure", err)
    # -p with FILES: only those files.
    rc, out, err = c.run("--format", "compact", "-p", "build", "src/ok.c")
    expect(rc == 0 and out == "" and err == "", "-p with FILES", out, err)
    rc, out, err = c.run("-p", "build", "src/other.c")
    expect(rc == 2 and "not in" in err, "a file not in the database", err)


CXX_BAD = """#include <framealloc.hpp>

#include <thread>

void use(const void *p);

namespace game {
void step(fa::allocator &a) {
  int *p = fa::make_frame<int>(a);
  std::thread t([p] { use(p); });
  t.join();
}
} // namespace game
"""


def test_compdb_cxx(c):
    """C++ translation units of a compile database (.cc, .cpp, .cxx; C++17
    and C++20; g++ flags) are checked; one that does not parse is reported
    as a C one is (exit 2), the others still checked."""
    c.write("src/step.cc", CXX_BAD)
    c.write("src/ok.cpp", "#include <framealloc.hpp>\nint ok() { return 0; }\n")
    c.write("src/broken.cxx", "#include <framealloc.hpp>\nvoid f( {\n")
    inc = os.path.relpath(c.include, c.path("build"))
    entries = [
        {"directory": c.path("build"), "file": "../src/step.cc",
         "command": "/usr/bin/g++ -I%s -std=c++17 -O2 -fno-plt "
                    "-fconcepts-diagnostics-depth=2 -Wall -c -o step.o "
                    "../src/step.cc" % inc},
        {"directory": c.path("build"), "file": "../src/ok.cpp",
         "arguments": ["c++", "-I" + inc, "-std=gnu++20", "-c",
                       "../src/ok.cpp", "-o", "ok.o"]},
    ]
    make_compdb(c, "build", entries)
    rc, out, err = c.run("--format", "compact", "-p", "build")
    expect(rc == 1 and err == "", "C++ compile database: exit 1", out, err)
    expect(re.search(r"src/step\.cc:10:\d+: error: .*\(std::thread\) "
                     r"\[FA703\]$", out, re.M), "FA703 in step.cc", out)
    entries.append(
        {"directory": c.path("build"), "file": "../src/broken.cxx",
         "command": "g++ -I%s -std=c++20 -c ../src/broken.cxx" % inc})
    make_compdb(c, "build", entries)
    rc, out, err = c.run("--format", "compact", "-p", "build")
    expect(rc == 2 and "broken.cxx: does not parse" in err and
           "[FA703]" in out, "a C++ file that does not parse", out, err)


def several_units(c, n=6):
    files = []
    for i in range(n):
        body = BAD_ASYNC.replace("job(", "job%d(" % i)
        files.append(c.write("u%d.c" % i, body))
    files.append(c.write("zbroken.c", BROKEN))
    files.append(c.write("clean.c", CLEAN))
    return [os.path.basename(f) for f in files]


def test_jobs_deterministic(c):
    files = several_units(c)
    for fmt in ("compact", "json", "sarif"):
        ref = c.check("--format", fmt, "-j", "1", *files)
        expect(ref[0] == 2, "-j 1: exit 2 (one unit does not parse)", ref[2])
        for j in ("2", "4", "0"):
            res = c.check("--format", fmt, "-j", j, *files)
            expect(res == ref, "-j %s differs from -j 1 (%s)" % (j, fmt),
                   res[1], ref[1], res[2], ref[2])
    rc, out, _ = c.check("--format", "compact", "-j", "3", *files)
    expect(out.count("[FA701]") == 6, "six findings", out)


def test_progress(c):
    """A progress line only when stderr is a terminal, erased at the end."""
    import pty
    files = several_units(c, 8)
    args = [c.bin, "--format", "compact", "-j", "2"] + files + [
        "--", "-I" + c.include]
    try:
        master, slave = pty.openpty()
    except OSError:
        print("     (no pseudo-terminal here: progress line not tested)")
        return
    try:
        p = subprocess.run(args, cwd=c.tmp, stdout=subprocess.PIPE,
                           stderr=slave, timeout=300)
        os.close(slave)
        slave = -1
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    text = err.decode("utf-8", "replace")
    expect(p.returncode == 2, "progress run: exit %d" % p.returncode, text)
    expect(not SANITIZER.search(text), "sanitizer report", text)
    expect("[1/10] " in text and "[10/10] " in text, "no progress line", text)
    last = text.rfind("[10/10]")
    expect("\r\x1b[K" in text[last:], "progress line not erased", text)
    rc, _, err2 = c.check("--format", "compact", "-j", "2", *files)
    expect("[1/10]" not in err2, "progress line on a pipe", err2)


# ---- configuration ---------------------------------------------------------

BAD_CONFIGS = [
    # (text, line, message)
    ('[lints]\nasync-safety = "loud"\n', 2, 'must be "allow", "warn"'),
    ('[lints]\nasync-safety = 1\n', 2, 'must be "allow", "warn"'),
    ('[lints]\nspeed = "warn"\n', 2, "unknown key 'speed' in [lints]"),
    ('[lints]\nFA702 = "warn"\n', 2, "[lints.FA702] level"),
    ('\n[lints.FA999]\nlevel = "warn"\n', 2, "unknown code 'FA999'"),
    ('[lints.FA702]\nlevel = "loud"\n', 2, 'must be "allow", "warn" or "error"'),
    ('[lints.FA702]\nlevl = "warn"\n', 2, "unknown key 'levl'"),
    ('[lints.FA702]\nlevel = "warn"\nlevel = "error"\n', 3, "duplicate key"),
    ('[lints]\n[lints]\n', 2, "defined twice"),
    ('[linter]\n', 1, "unknown table [linter]"),
    ('[[lints]]\n', 1, "arrays of tables"),
    ('top = 1\n', 1, "unknown key 'top'"),
    ('[async]\nspawn = ["job_submit:x"]\n', 2, "bad spawner"),
    ('[async]\nspawn = ["job_submit:0"]\n', 2, "bad spawner"),
    ('[async]\nspawn = ["9lives:1"]\n', 2, "bad spawner"),
    ('[async]\nspawn = "job_submit"\n', 2, "array of strings"),
    ('[async]\nawait = [\n  "a",\n  3,\n]\n', 4, "array of strings"),
    ('[async]\nawait = ["not a name"]\n', 2, "not a function name"),
    ('[async]\nyield = []\n', 2, "unknown key 'yield' in [async]"),
    ('[lifetime]\nstart = []\n', 2, "unknown key 'start' in [lifetime]"),
    ('[lifetime]\nbegin = "go"\n', 2, "array of strings"),
    ('[lifetime]\nend = ["a b"]\n', 2, "not a function name"),
    ('[lifetime.x]\n', 1, "unknown table [lifetime.x]"),
    ('[async]\nawait = ["a", ["b"]]\n', 2, "nested arrays"),
    ('[async]\nawait = ["a"\n', 2, "unterminated array"),
    ('[async]\nawait = ["a" "b"]\n', 2, "expected ',' or ']'"),
    ('[lints]\nasync-safety = "warn\n', 2, "unterminated string"),
    ('[lints]\nasync-safety = "w\\qarn"\n', 2, "invalid escape"),
    ('[lints]\nasync-safety = """warn"""\n', 2, "multi-line strings"),
    ('[lints]\nasync-safety = warn\n', 2, "invalid value"),
    ('[lints]\nasync-safety = { a = 1 }\n', 2, "inline tables"),
    ('[lints]\nasync-safety = "warn" extra\n', 2, "after the value"),
    ('[lints]\nasync-safety\n', 2, "expected '='"),
    ('[lints\n', 1, "expected ']'"),
    ('[lints]\n= "warn"\n', 2, "expected a key"),
    ('[lints]\nasync-safety = \n', 2, "expected a value"),
    ('[lints]\nasync-safety = 1.5\n', 2, "unsupported value"),
    ('# ok\n[lints]\nasync-safety = "warn" # fine\n\x01\n', 4, "expected a key"),
    ('[lints]\nasync-safety = "w\x00"\n', 2, "NUL byte"),
]


def test_config_errors(c):
    f = c.write("clean.c", CLEAN)
    for i, (text, line, msg) in enumerate(BAD_CONFIGS):
        cfg = c.write("bad%d.toml" % i, text)
        rc, _, err = c.check("--config", cfg, f)
        want = "%s:%d: error: " % (cfg, line)
        expect(rc == 2 and err.startswith(want) and msg in err,
               "config %r: expected exit 2 and %r ... %r" % (text, want, msg),
               "exit %d" % rc, err)
    cfg = c.write_bytes("utf8.toml", b"[lints]\n# caf\xc3\n")
    rc, _, err = c.check("--config", cfg, f)
    expect(rc == 2 and "utf8.toml:2: error: invalid UTF-8" in err,
           "invalid UTF-8", err)
    rc, _, err = c.check("--config", c.path("none.toml"), f)
    expect(rc == 2 and "cannot read" in err, "missing --config file", err)


def test_config_good(c):
    f = c.write("clean.c", CLEAN)
    cfg = c.write("fa-check.toml", """\
# every construct the file may use
[lints]
async-safety = 'deny'
"lifetime" = "allow"

[lints.FA702]
level = "warn"

[lints.fa703]   # codes in any case
level = "deny"

[async]
spawn = ["job_submit:2", "go",]
await = [
  "fiber_yield",  # a comment inside the array
  'co_yield'
]
frame = []
async = ["on_\\u0061sset"]

[lifetime]
begin = ["engine_frame_start"]
end = [
  "engine_frame_stop",
]
""")
    res = c.check("--config", cfg, f)
    expect_status(res, 0, "a valid configuration")


def test_config_upward(c):
    f = c.write("clean.c", CLEAN)
    os.makedirs(c.path("a", "b", "c"))
    c.write("a/fa-check.toml", "[lints]\nspeed = 1\n")
    rc, _, err = c.check(f, cwd=c.path("a", "b", "c"))
    cfg = os.path.realpath(c.path("a", "fa-check.toml"))
    expect(rc == 2 and ("%s:2: error:" % cfg) in err.replace(
        c.tmp, os.path.realpath(c.tmp)), "config found upward", err)
    # The nearest one wins.
    c.write("a/b/fa-check.toml", "[lints]\n")
    res = c.check(f, cwd=c.path("a", "b", "c"))
    expect_status(res, 0, "the nearest config")


def test_config_fuzz(c):
    """Mutated configurations: exit 0 or 2, never a crash or a hang."""
    f = c.write("tiny.c", "int x;\n")
    seed = bytearray(open(os.path.join(os.path.dirname(__file__),
                                       "full.toml"), "rb").read())
    rng = random.Random(1234)
    alphabet = b'[]."\'=#,\\:\n \t{}0123456789aeFAlinstu\x00\xff\xc3\r'
    for i in range(120):
        data = bytearray(seed)
        for _ in range(rng.randint(1, 6)):
            op = rng.randrange(3)
            pos = rng.randrange(len(data) + 1)
            if op == 0 and data:
                del data[min(pos, len(data) - 1)]
            elif op == 1:
                data[pos:pos] = bytes([rng.choice(alphabet)])
            else:
                data = data[:pos]
        cfg = c.write_bytes("fuzz.toml", bytes(data))
        rc, _, err = c.run("--config", cfg, f)
        expect(rc in (0, 2), "fuzz %d: exit %d" % (i, rc), err)
        if rc == 2:
            expect(err.startswith(cfg + ":") or "cannot read" in err,
                   "fuzz %d: message without FILE:LINE" % i, err)


# ---- init ------------------------------------------------------------------

def test_init(c):
    rc, out, err = c.run("init")
    expect(rc == 0 and os.path.exists(c.path("fa-check.toml")), "init", err)
    text = open(c.path("fa-check.toml")).read()
    expect("[lints]" in text and "[async]" in text, "init text", text)
    f = c.write("clean.c", CLEAN)
    expect_status(c.check(f), 0, "the file init wrote is valid")
    rc, _, err = c.run("init")
    expect(rc == 2 and "already exists" in err, "init refuses", err)
    expect(open(c.path("fa-check.toml")).read() == text, "init overwrote")


# ---- levels and suppression (need the analysis) ----------------------------

def finding(out, level):
    return re.search(r"job\.c:4:\d+: %s: .*\[FA701\]" % level, out)


def test_levels(c):
    c.write("job.c", BAD_ASYNC)
    rc, out, err = c.check("--format", "compact", "job.c")
    expect(rc == 1 and finding(out, "error"), "default: error, exit 1", out,
           err)
    cases = [
        # (options, config, expected level or None, exit status)
        (["--warn", "FA701"], None, "warning", 0),
        (["--warn", "701", "--deny-warnings"], None, "warning", 1),
        (["--allow", "fa701"], None, None, 0),
        (["--allow", "async-safety"], None, None, 0),
        (["--allow", "FA701", "--deny", "async-safety"], None, "error", 1),
        (["--deny", "async-safety", "--allow", "FA701"], None, None, 0),
        ([], '[lints]\nasync-safety = "allow"\n', None, 0),
        ([], '[lints]\nasync-safety = "warn"\n', "warning", 0),
        ([], '[lints]\nasync-safety = "allow"\n[lints.FA701]\n'
             'level = "warn"\n', "warning", 0),
        ([], '[lints.FA701]\nlevel = "allow"\n', None, 0),
        (["--deny", "FA701"], '[lints.FA701]\nlevel = "allow"\n', "error", 1),
        (["--deny-warnings"], '[lints.FA701]\nlevel = "warn"\n', "warning",
         1),
    ]
    for opts, cfg, level, status in cases:
        args = ["--format", "compact"] + opts
        if cfg is not None:
            args += ["--config", c.write("levels.toml", cfg)]
        rc, out, err = c.check(*(args + ["job.c"]))
        what = "%s %r" % (opts, cfg)
        expect(rc == status, what + ": exit %d, expected %d" % (rc, status),
               out, err)
        if level:
            expect(finding(out, level), what + ": expected a " + level, out)
        else:
            expect(out == "", what + ": expected no finding", out)


def test_suppression(c):
    lines = BAD_ASYNC.split("\n")
    alloc = lines[3]
    variants = [
        (alloc + " // fa-check: allow(FA701)", True),
        (alloc + " /* fa-check: allow(FA702, fa701) */", True),
        ("  // fa-check: allow(701)\n" + alloc, True),
        (alloc + " // fa-check: allow(FA702)", False),
        ("  // fa-check: allow(FA701)\n\n" + alloc, False),
        (alloc + ' /* "fa-check: deny(FA701)" */', False),
    ]
    for text, quiet in variants:
        src = "\n".join(lines[:3] + [text] + lines[4:])
        c.write("job.c", src)
        rc, out, err = c.check("--format", "compact", "job.c")
        if quiet:
            expect(rc == 0 and out == "", "%r suppresses" % text, out, err)
        else:
            expect(rc == 1 and "[FA701]" in out, "%r does not suppress" % text,
                   out, err)


def test_color(c):
    c.write("job.c", BAD_ASYNC)
    _, plain, _ = c.check("job.c")
    expect("error[FA701]" in plain and "\x1b[" not in plain,
           "no colour on a pipe", plain)
    _, colored, _ = c.check("--color=always", "job.c")
    expect("\x1b[" in colored, "--color=always", colored)
    _, colored2, _ = c.check("--color", "always", "job.c",
                             env={"NO_COLOR": "1"})
    expect(colored2 == colored, "--color=always wins over NO_COLOR", colored2)
    _, compact, _ = c.check("--color=always", "--format", "compact", "job.c")
    expect("\x1b[" not in compact, "colour only in the human format",
           compact)


# ---- the examples of docs/fa-check.md ---------------------------------------

def test_doc_examples(c):
    """Each C block of the reference gives the finding its comment names
    (/* FA701 ... */) and nothing else; blocks without one are clean. The
    exit status is 1 exactly when one of them is an error."""
    text = open(c.docs, encoding="utf-8").read()
    blocks = re.findall(r"^```c\n(.*?)^```$", text, re.M | re.S)
    expect(len(blocks) >= 6, "too few C blocks in %s" % c.docs)
    cxx = re.findall(r"^```cpp\n(.*?)^```$", text, re.M | re.S)
    if os.path.basename(c.docs) == "fa-check.md":  # a rule's bad and fixed
        expect(len(cxx) >= 12, "too few C++ blocks in %s" % c.docs)
    for i, block in enumerate(blocks + cxx):
        if i < len(blocks):
            f = c.write("doc%02d.c" % i, block)
            rc, out, err = c.check("--format", "compact", f)
        else:
            f = c.write("doc%02d.cpp" % i, block)
            rc, out, err = c.run("--format", "compact", f, "--",
                                 "-I" + c.include, "-x", "c++", "-std=c++20")
        want = sorted(set(re.findall(r"/\* (FA\d{3})", block)))
        got = sorted(set(re.findall(r"\[(FA\d{3})\]$", out, re.M)))
        expect(got == want, "block %d: findings %s, expected %s" %
               (i + 1, got, want), block, out, err)
        errors = re.findall(r": error: .*\[(FA\d{3})\]$", out, re.M)
        expect(rc == (1 if errors else 0), "block %d: exit %d" % (i + 1, rc),
               err)


# ---- CMake's <LANG>_CLANG_TIDY shape ----------------------------------------

def test_compiler_shape(c):
    """SOURCE -- COMPILER ARGS: the compile command is filtered, the format
    is compact, clang-tidy's --extra-arg options are taken."""
    c.write("src/job.c", BAD_ASYNC)
    os.makedirs(c.path("build"))
    cmd = ["--extra-arg-before=--driver-mode=gcc", c.path("src/job.c"), "--",
           "/usr/bin/cc", "-I" + c.include, "-DX=1", "-O2", "-Wall",
           "-Werror", "-MD", "-MT", "job.o", "-MF", "job.o.d", "-o", "job.o",
           "-c", c.path("src/job.c")]
    rc, out, err = c.run(*cmd, cwd=c.path("build"))
    expect(rc == 1 and re.match(r"^%s:4:\d+: error: .*\[FA701\]$" %
                                re.escape(c.path("src/job.c")), out, re.M),
           "compiler shape: compact finding with the absolute path", out, err)
    rc, out, err = c.run("--format", "human", *cmd, cwd=c.path("build"))
    expect(rc == 1 and "error[FA701]" in out, "--format wins", out, err)
    c.write("src/opt.c", "#ifndef SKIP\n" + BAD_ASYNC + "#endif\n")
    opt = [c.path("src/opt.c"), "--", "cc", "-I" + c.include, "-c",
           c.path("src/opt.c")]
    expect_status(c.run(*opt), 1, "without --extra-arg")
    rc, out, err = c.run("--extra-arg=-DSKIP", *opt)
    expect(rc == 0 and out == "", "--extra-arg reaches clang", out, err)
    expect_status(c.run("--extra-arg-before", "-DSKIP", *opt), 0,
                  "--extra-arg-before reaches clang")
    c.write("src/clean.c", CLEAN)
    rc, out, err = c.run(c.path("src/clean.c"), "--", "cc", "-I" + c.include,
                         "-c", "../src/clean.c", cwd=c.path("build"))
    expect(rc == 0 and out == "", "a clean file in the compiler shape", out,
           err)


# ---- baselines --------------------------------------------------------------

TWO_FINDINGS = """#include <framealloc.h>

int wait_io(int);

FA_ASYNC void job(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 16, 8);
  (void)p;
}

void step(fa_allocator_t *a) {
  int *n = fa_frame_new(a, int);
  FA_AWAIT(wait_io(1));
  *n = 1;
}
"""


def codes(out):
    return re.findall(r"\[(FA\d{3})\]$", out, re.M)


def test_baseline_round_trip(c):
    c.write("job.c", TWO_FINDINGS)
    rc, out, err = c.check("--format", "compact", "--write-baseline",
                           "base.json", "job.c")
    expect(rc == 0 and sorted(codes(out)) == ["FA701", "FA702"],
           "--write-baseline shows the findings and exits 0", out, err)
    import json
    base = json.load(open(c.path("base.json")))
    expect(base["version"] == 1 and len(base["findings"]) == 2 and
           all(re.match(r"^[0-9a-f]{16}:\d+$", f["fingerprint"])
               for f in base["findings"]), "baseline shape", base)
    rc, sarif, _ = c.check("--format", "sarif", "job.c")
    fps = sorted(r["partialFingerprints"]["faCheckLineHash/v1"]
                 for r in json.loads(sarif)["runs"][0]["results"])
    expect(fps == sorted(f["fingerprint"] for f in base["findings"]),
           "the baseline's fingerprints are SARIF's", fps, base)
    expect_status(c.check("--format", "compact", "--baseline", "base.json",
                          "job.c"), 0, "everything is in the baseline")
    # Lines inserted above keep the match; the SARIF fingerprint too.
    c.write("job.c", "/* a new comment */\n\n" + TWO_FINDINGS)
    rc, out, err = c.check("--format", "compact", "--baseline", "base.json",
                           "job.c")
    expect(rc == 0 and out == "", "moved lines keep their match", out, err)
    # A new finding is reported, the old ones are not.
    c.write("job.c", TWO_FINDINGS + """
FA_ASYNC void job2(fa_allocator_t *a) {
  char *q = fa_frame_alloc(a, 32, 8);
  (void)q;
}
""")
    rc, out, err = c.check("--format", "compact", "--baseline", "base.json",
                           "job.c")
    expect(rc == 1 and codes(out) == ["FA701"] and ":17:" in out,
           "only the new finding", out, err)
    # Fixed findings are stale.
    c.write("job.c", TWO_FINDINGS.replace("fa_frame_alloc(a, 16, 8)",
                                          "fa_pool_alloc(a, 16)"))
    rc, out, err = c.check("--baseline", "base.json", "--baseline-stale",
                           "job.c")
    expect(rc == 1 and len(out.splitlines()) == 1 and
           re.match(r"^job.c:6: note: fixed since the baseline: .*\[FA701\]$",
                    out), "one stale entry", out, err)
    c.write("job.c", TWO_FINDINGS)
    expect_status(c.check("--baseline", "base.json", "--baseline-stale",
                          "job.c"), 0, "nothing stale")


def test_baseline_identical_lines(c):
    """Two findings on identical lines are told apart by their order: fixing
    one leaves one match, not two."""
    twice = TWO_FINDINGS + """
FA_ASYNC void job2(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 16, 8);
  (void)p;
}
"""
    c.write("job.c", twice)
    expect_status(c.check("--write-baseline", "b.json", "job.c"), 0, "write")
    c.write("job.c", twice + twice.replace("job", "job3").replace(
        "step", "step3").replace("#include <framealloc.h>", "").replace(
        "int wait_io(int);", ""))
    rc, out, err = c.check("--format", "compact", "--baseline", "b.json",
                           "job.c")
    expect(rc == 1 and sorted(codes(out)) == ["FA701", "FA701", "FA702"],
           "copies of baselined lines are new findings", out, err)


def test_baseline_errors(c):
    c.write("job.c", TWO_FINDINGS)
    for text, what in [("{", "not a baseline"), ("[]", "expected a JSON"),
                       ('{"version": 2, "findings": []}', '"version"'),
                       ('{"version": 1}', "no \"findings\""),
                       ('{"version": 1, "findings": [{}]}', "fingerprint")]:
        c.write("bad.json", text)
        rc, out, err = c.check("--baseline", "bad.json", "job.c")
        expect(rc == 2 and what in err, "bad baseline %r" % text, err)
    rc, _, err = c.check("--baseline", "missing.json", "job.c")
    expect(rc == 2 and "missing.json" in err, "missing baseline", err)
    expect_status(c.check("--baseline-stale", "job.c"), 2, "stale alone")
    expect_status(c.check("--baseline", "a", "--write-baseline", "b",
                          "job.c"), 2, "both")
    expect_status(c.check("--baseline-stale=1", "job.c"), 2, "flag value")
    rc, _, err = c.check("--write-baseline", c.path("no/such/dir/b.json"),
                         "job.c")
    expect(rc == 2 and "cannot write the baseline" in err, "unwritable", err)


# ---- the result cache ---------------------------------------------------------

CACHE_HEADER = """#include <framealloc.h>
void *helper(fa_allocator_t *a);
int wait_io(int n);
"""
CACHE_CALLER = """#include "h.h"

void step(fa_allocator_t *a) {
  char *p = helper(a);
  FA_AWAIT(wait_io(1));
  p[0] = 1;
}
"""
CACHE_HELPER = """#include "h.h"

void *helper(fa_allocator_t *a) { return fa_pool_alloc(a, 16); }
"""


def cache_stats(err):
    m = re.search(r"cache: (\d+) hits?, (\d+) miss(?:es)?, (\d+) stored", err)
    expect(m, "no cache statistics", err)
    return tuple(int(x) for x in m.groups())


def test_cache_cross_tu(c):
    """A unit's facts are reused, its findings are not: editing a helper in
    another file changes the findings of the unchanged caller."""
    c.write("h.h", CACHE_HEADER)
    c.write("a.c", CACHE_CALLER)
    c.write("b.c", CACHE_HELPER)
    env = {"FA_CHECK_CACHE_STATS": "1"}
    args = ["--format", "compact", "--cache", "cache", "a.c", "b.c"]
    rc, out, err = c.check(*args, env=env)
    expect(rc == 0 and out == "" and cache_stats(err) == (0, 2, 2),
           "cold run: two misses, no finding", out, err)
    rc, out, err = c.check(*args, env=env)
    expect(rc == 0 and out == "" and cache_stats(err) == (2, 0, 0),
           "warm run: two hits", out, err)
    c.write("b.c", CACHE_HELPER.replace("fa_pool_alloc(a, 16)",
                                        "fa_frame_alloc(a, 16, 1)"))
    rc, out, err = c.check(*args, env=env)
    expect(rc == 1 and cache_stats(err) == (1, 1, 1) and
           re.search(r"^a.c:5:\d+: error: .*\[FA702\]$", out, re.M),
           "the edited helper: b.c missed, a.c hit and now reported", out,
           err)
    _, fresh, _ = c.check("--format", "compact", "a.c", "b.c")
    expect(out == fresh, "the same findings as without the cache", out, fresh)
    # A header both include: both miss.
    c.write("h.h", CACHE_HEADER + "int unused_decl(void);\n")
    rc, out2, err = c.check(*args, env=env)
    expect(cache_stats(err) == (0, 2, 2) and out2 == fresh,
           "a header change misses both", out2, err)
    # The configuration is part of the key.
    c.write("fa-check.toml", '[async]\nawait = ["other_wait"]\n')
    rc, _, err = c.check(*args, env=env)
    expect(cache_stats(err) == (0, 2, 2), "a config change misses", err)
    # FA_CHECK_CACHE names the directory when --cache does not.
    rc, out3, err = c.check("--format", "compact", "a.c", "b.c",
                            env={"FA_CHECK_CACHE_STATS": "1",
                                 "FA_CHECK_CACHE": c.path("cache")})
    expect(cache_stats(err) == (2, 0, 0) and out3 == fresh,
           "FA_CHECK_CACHE", out3, err)


def test_cache_damaged(c):
    """Damaged entries are misses, never a crash; an unusable directory is
    an error."""
    c.write("h.h", CACHE_HEADER)
    c.write("a.c", CACHE_CALLER)
    c.write("b.c", CACHE_HELPER.replace("fa_pool_alloc(a, 16)",
                                        "fa_frame_alloc(a, 16, 1)"))
    env = {"FA_CHECK_CACHE_STATS": "1"}
    args = ["--format", "compact", "--cache", "cache", "a.c", "b.c"]
    _, want, _ = c.check(*args, env=env)
    names = sorted(os.listdir(c.path("cache")))
    expect(len(names) == 2, "two entries", names)
    rng = random.Random(7)
    for trial in range(12):
        for n in names:
            data = bytearray(open(c.path("cache", n), "rb").read())
            if trial % 3 == 0:
                data = data[:rng.randrange(len(data))]
            else:
                for _ in range(4):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            c.write_bytes(os.path.join("cache", n), bytes(data))
        rc, out, err = c.check(*args, env=env)
        expect(rc == 1 and out == want, "damaged entries: same findings",
               out, err)
    c.write("file", "")
    rc, _, err = c.check("--cache", "file", "a.c")
    expect(rc == 2 and "cannot use the cache directory" in err,
           "a file as the cache", err)
    expect_status(c.check("--cache=", "a.c"), 2, "empty --cache")


# ---- --changed-since -----------------------------------------------------------

def git(c, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "-c", "init.defaultBranch=main"] + list(args), cwd=c.tmp,
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def test_changed_since(c):
    """Only the units whose source or included headers changed since REV
    are reported; with the cache, unchanged units still give their
    summaries."""
    c.write("h.h", CACHE_HEADER)
    frame_helper = CACHE_HELPER.replace("fa_pool_alloc(a, 16)",
                                        "fa_frame_alloc(a, 16, 1)")
    c.write("a.c", CACHE_CALLER)          # FA702 through b.c's helper
    c.write("b.c", frame_helper)
    c.write("d.c", BAD_ASYNC)             # FA701, includes no h.h
    git(c, "init", "-q")
    git(c, "add", ".")
    git(c, "commit", "-q", "-m", "one")
    files = ["a.c", "b.c", "d.c"]
    rc, full, err = c.check("--format", "compact", *files)
    expect(rc == 1 and sorted(codes(full)) == ["FA701", "FA702"], "full run",
           full, err)
    rc, out, err = c.check("--format", "compact", "--changed-since", "HEAD",
                           *files)
    expect(rc == 0 and out == "", "nothing changed", out, err)
    # A header: the units that include it.
    c.write("h.h", CACHE_HEADER + "int more(void);\n")
    rc, out, err = c.check("--format", "compact", "--changed-since", "HEAD",
                           "--cache", "cache", *files)
    expect(rc == 1 and codes(out) == ["FA702"] and out.startswith("a.c:"),
           "h.h changed: a.c and b.c, not d.c", out, err)
    git(c, "commit", "-q", "-a", "-m", "two")
    # One source; the helper's summary still comes from the cache.
    c.write("a.c", CACHE_CALLER + "/* edited */\n")
    rc, out, err = c.check("--format", "compact", "--changed-since", "HEAD",
                           "--cache", "cache", *files,
                           env={"FA_CHECK_CACHE_STATS": "1"})
    expect(rc == 1 and codes(out) == ["FA702"] and out.startswith("a.c:"),
           "a.c changed, b.c's helper from the cache", out, err)
    # A new file is a change; revisions further back work too.
    c.write("e.c", BAD_ASYNC)
    rc, out, err = c.check("--format", "compact", "--changed-since", "HEAD~1",
                           "e.c", "d.c")
    expect(rc == 1 and codes(out) == ["FA701"] and out.startswith("e.c:"),
           "an untracked file", out, err)
    rc, _, err = c.check("--changed-since", "no-such-rev", "a.c")
    expect(rc == 2 and "not a revision" in err, "bad revision", err)
    expect_status(c.check("--changed-since=", "a.c"), 2, "empty revision")
    os.makedirs(c.path("outside"))
    shutil.rmtree(c.path(".git"))
    rc, _, err = c.check("--changed-since", "HEAD", "a.c")
    expect(rc == 2 and "git work tree" in err, "not in a git work tree", err)


# ---- docs/ci.md -----------------------------------------------------------------

def test_ci_jobs(c):
    """The CI jobs of docs/ci.md parse as YAML, publish what the platforms
    read, and each fa-check command in them runs on a small project."""
    import json
    import yaml
    text = open(c.docs, encoding="utf-8").read()
    blocks = [yaml.safe_load(b) for b in
              re.findall(r"^```yaml\n(.*?)^```$", text, re.M | re.S)]
    expect(len(blocks) == 2, "two YAML jobs in %s" % c.docs)
    gh, gl = blocks
    steps = gh["jobs"]["fa-check"]["steps"]
    upload = [st for st in steps if "upload-sarif" in st.get("uses", "")]
    expect(upload and upload[0]["with"]["sarif_file"] == "fa-check.sarif",
           "the GitHub job uploads fa-check.sarif", steps)
    job = gl["fa-check"]
    expect(job["artifacts"]["reports"]["codequality"] ==
           "gl-code-quality.json", "the GitLab job publishes Code Quality",
           job)
    lines = [st["run"] for st in steps if "run" in st] + job["script"]
    cmds = []
    for ln in "\n".join(lines).replace("\\\n", " ").split("\n"):
        if ln.strip().startswith("fa-check "):
            cmds.append(ln.strip())
    expect(len(cmds) == 4, "four fa-check commands", cmds)
    # The project: one file with one finding, its compile database, and a
    # baseline written as the text says.
    src = c.write("src/job.c", BAD_ASYNC)
    c.write("build/compile_commands.json", json.dumps([{
        "directory": c.path("build"), "file": src,
        "arguments": ["cc", "-I" + c.include, "-c", src]}]))
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(c.bin) + os.pathsep + env["PATH"]
    subprocess.run(["fa-check", "-p", "build", "--write-baseline",
                    "fa-check-baseline.json"], cwd=c.tmp, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    for cmd in cmds:
        p = subprocess.run(["sh", "-c", cmd], cwd=c.tmp, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        err = p.stderr.decode()
        expect(p.returncode == 0 and not SANITIZER.search(err),
               "%s: status %d" % (cmd, p.returncode), err)
    # Relative names stay relative to where fa-check started, although
    # parsing a -p command may change the process's directory.
    expect(os.path.isdir(c.path(".fa-check-cache")) and
           not os.path.exists(c.path("build", ".fa-check-cache")),
           "the cache directory is where the command names it")
    sarif = json.load(open(c.path("fa-check.sarif")))
    expect(len(sarif["runs"][0]["results"]) == 1, "one SARIF result")
    cq = json.load(open(c.path("gl-code-quality.json")))
    expect(len(cq) == 1 and cq[0]["location"]["path"] == "src/job.c",
           "one Code Quality issue at src/job.c", cq)


def test_editor_matchers(c):
    """The VS Code problem matcher and the Vim errorformat of
    docs/fa-check.md read fa-check's compact output."""
    import json
    text = open(os.path.join(os.path.dirname(c.docs), "fa-check.md"),
                encoding="utf-8").read()
    tasks = json.loads(re.findall(r"^```json\n(.*?)^```$", text,
                                  re.M | re.S)[0])
    pat = tasks["tasks"][0]["problemMatcher"]["pattern"]
    c.write("src/job.c", TWO_FINDINGS)
    rc, out, err = c.check("--format", "compact", "src/job.c")
    expect(rc == 1, "two findings", out, err)
    found = []
    for line in out.splitlines():
        m = re.match(pat["regexp"], line)
        if m:
            found.append((m.group(pat["file"]), int(m.group(pat["line"])),
                          m.group(pat["severity"]), m.group(pat["code"])))
    expect(found == [("src/job.c", 6, "error", "FA701"),
                     ("src/job.c", 12, "error", "FA702")],
           "the problem matcher reads the findings", found, out)
    efm = re.search(r"^set errorformat=(.*)$", text, re.M).group(1)
    # Each errorformat entry as a regular expression (%f %l %c %t %m).
    entries = []
    for e in efm.replace("\\ ", " ").split(","):
        rx = re.escape(e).replace("%f", "(?P<f>[^:]+)").replace(
            "%l", "(?P<l>\\d+)").replace("%c", "(?P<c>\\d+)").replace(
            "%t", "(?P<t>.)").replace("%m", "(?P<m>.*)")
        entries.append(re.compile("^" + rx + "$"))
    for line in out.splitlines():
        m = next((m for m in (e.match(line) for e in entries) if m), None)
        expect(m and m.group("f") == "src/job.c", "errorformat reads %r" %
               line)


# ---- fixes --------------------------------------------------------------------

CHECK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def apply_replacements():
    for name in ("clang-apply-replacements-14", "clang-apply-replacements"):
        path = shutil.which(name)
        if path:
            return path
    raise Failure("clang-apply-replacements is not installed "
                  "(scripts/deps.sh installs clang-tools-14)")


def compiles(c, files):
    for f in files:
        p = subprocess.run(["cc", "-std=gnu11", "-Wall", "-Werror",
                            "-fsyntax-only", "-I" + c.include, f],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        expect(p.returncode == 0, "%s does not compile after the fix" % f,
               p.stderr.decode())


def test_fix_round_trip(c):
    """The fixtures of tests/check/fixes: the human format suggests each
    fix, SARIF carries them, --export-fixes applied by
    clang-apply-replacements and --fix give the same files, which the
    checker accepts and which compile."""
    import json
    src = os.path.join(CHECK_DIR, "fixes")
    names = sorted(f for f in os.listdir(src) if f.endswith(".c"))
    expect(len(names) >= 3, "fixtures in tests/check/fixes", names)
    for d in ("a", "b"):
        os.makedirs(c.path(d))
        for n in names:
            shutil.copy(os.path.join(src, n), c.path(d, n))
    rc, human, err = c.check(*names, cwd=c.path("a"))
    expect(rc == 1, "findings before the fix", human, err)
    nfind = len(re.findall(r"^(error|warning)\[FA", human, re.M))
    expect(human.count("= suggestion: ") == nfind,
           "every finding suggests its fix", human)
    expect("+ |   request_t *r = fa_task_new(t, request_t);" in human and
           "+ |     { fa_end_frame(a); return -1; }" in human and
           "fa_task_alloc(fa_task_current(), 64, 8)" in human,
           "the suggestions show the fixed lines", human)
    rc, sarif, _ = c.check("--format", "sarif", *names, cwd=c.path("a"))
    results = json.loads(sarif)["runs"][0]["results"]
    expect(all(r.get("fixes") and r["fixes"][0]["artifactChanges"][0]
               ["replacements"] for r in results), "SARIF fixes[]", sarif)
    c.write("a/sarif.json", sarif)
    p = subprocess.run([sys.executable,
                        os.path.join(CHECK_DIR, "formats", "check_output.py"),
                        "sarif", os.path.join(CHECK_DIR,
                                              "sarif-schema-2.1.0.json"),
                        c.path("a", "sarif.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect(p.returncode == 0, "the SARIF with fixes is valid",
           p.stdout.decode())
    os.remove(c.path("a", "sarif.json"))
    rc, _, err = c.check("--export-fixes", c.path("a", "fixes.yaml"), *names,
                         cwd=c.path("a"))
    expect(rc == 1 and os.path.exists(c.path("a", "fixes.yaml")),
           "--export-fixes", err)
    p = subprocess.run([apply_replacements(), c.path("a")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    expect(p.returncode == 0, "clang-apply-replacements",
           p.stdout.decode(), open(c.path("a", "fixes.yaml")).read())
    rc, out, err = c.check("--fix", *names, cwd=c.path("b"))
    expect(rc == 0 and re.search(r"fixed %d findings in %d files" %
                                 (nfind, len(names)), err),
           "--fix fixes every finding (status 0)", out, err)
    for n in names:
        a = open(c.path("a", n)).read()
        b = open(c.path("b", n)).read()
        expect(a == b, "%s: clang-apply-replacements and --fix differ" % n,
               a, b)
        expect(a != open(os.path.join(src, n)).read(), "%s unchanged" % n)
    rc, out, err = c.check("--format", "compact", *names, cwd=c.path("b"))
    expect(rc == 0 and out == "", "the fixed files are silent", out, err)
    compiles(c, [c.path("b", n) for n in names])


def test_fix_corpus(c):
    """Over the fixture corpus, checked in one run: each fix removes its
    finding and nothing else changes, and every fixed file compiles."""
    src = os.path.join(CHECK_DIR, "fixtures")
    names = sorted(f for f in os.listdir(src) if f.endswith(".c"))
    for n in names:
        shutil.copy(os.path.join(src, n), c.path(n))

    def per_file(out):
        counts = {}
        for m in re.finditer(r"^([^:\n]+):\d+:\d+: (?:error|warning): .*"
                             r"\[FA\d{3}\]$", out, re.M):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        return counts
    _, before, _ = c.check("--format", "compact", *names)
    rc, _, err = c.check("--format", "compact", "--fix", *names)
    m = re.search(r"fixed (\d+) findings? in (\d+) files?", err)
    expect(m, "no summary of --fix", err)
    fixed, nfiles = int(m.group(1)), int(m.group(2))
    _, after, _ = c.check("--format", "compact", *names)
    b, a = per_file(before), per_file(after)
    expect(sum(a.values()) == sum(b.values()) - fixed,
           "%d fixed, but %d findings before and %d after" %
           (fixed, sum(b.values()), sum(a.values())), before, after)
    changed = [n for n in names
               if open(c.path(n)).read() != open(os.path.join(src, n)).read()]
    expect(len(changed) == nfiles and all(a.get(n, 0) < b[n] for n in changed)
           and all(a.get(n, 0) == b.get(n, 0) for n in names
                   if n not in changed),
           "the fixed files lose findings, the others keep theirs", b, a)
    compiles(c, [c.path(n) for n in changed])
    expect(fixed >= 8, "only %d fixes over the corpus" % fixed)


def test_fix_errors(c):
    c.write("job.c", TWO_FINDINGS)
    rc, _, err = c.check("--export-fixes", c.path("no/dir/f.yaml"), "job.c")
    expect(rc == 2 and "cannot write" in err, "unwritable --export-fixes",
           err)
    expect_status(c.check("--fix=1", "job.c"), 2, "--fix takes no value")
    expect_status(c.check("--export-fixes=", "job.c"), 2, "empty name")
    # Findings without a fix stay, and keep the exit status.
    rc, out, err = c.check("--format", "compact", "--fix", "job.c")
    expect(rc == 1 and "fixed 0 findings in 0 files" in err and
           open(c.path("job.c")).read() == TWO_FINDINGS,
           "nothing to fix", out, err)


GROUPS = {
    "usage": [test_help_version, test_unknown_option, test_values,
              test_code_forms, test_families, test_lifetime_notes,
              test_explain, test_list],
    "inputs": [test_missing_file, test_compdb_broken, test_parse_failure,
               test_compdb_relative_gcc_flags, test_compdb_cxx,
               test_compiler_shape],
    "baseline": [test_baseline_round_trip, test_baseline_identical_lines,
                 test_baseline_errors],
    "cache": [test_cache_cross_tu, test_cache_damaged, test_changed_since],
    "parallel": [test_jobs_deterministic, test_progress],
    "config": [test_config_errors, test_config_good, test_config_upward,
               test_init],
    "config_fuzz": [test_config_fuzz],
    "levels": [test_levels, test_suppression, test_color],
    "docs": [test_doc_examples, test_explain_cxx],
    "docs_ci": [test_ci_jobs, test_editor_matchers],
    "fixes": [test_fix_round_trip, test_fix_corpus, test_fix_errors],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--docs", help="docs/fa-check.md, for the docs group")
    ap.add_argument("group", choices=sorted(GROUPS))
    a = ap.parse_args()

    def make_ctx(tmp):
        ctx = Ctx(os.path.abspath(a.bin), os.path.abspath(a.include), tmp)
        ctx.docs = a.docs
        return ctx
    return pyharness.run(GROUPS[a.group], make_ctx, "fc-cli-",
                         (Failure, subprocess.TimeoutExpired))


if __name__ == "__main__":
    sys.exit(main())
