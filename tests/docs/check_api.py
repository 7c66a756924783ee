#!/usr/bin/env python3
"""Checks docs/api.md against the public C headers, both ways.

    check_api.py --include DIR --doc FILE
    check_api.py --self-test

The public symbols are read from every DIR/**/*.h (the C headers; C++
headers, *.hpp, are not read). A public name starts with fa_ or FA_ but not
with fa__ or FA__ (those are internal). The symbols are:
  - every macro a header defines (#define NAME), and every public macro it
    only tests (#ifdef FA_STATIC: a macro the user may define);
  - every public identifier of the code outside the preprocessor lines:
    functions, types, enum constants (struct tags, NAME_s, are left out:
    the typedef names them);
  - the error codes of FA_ERRNO_MAP (XX(EINVAL, ...) gives FA_EINVAL) and
    the diagnostic codes of FA_DIAG_MAP (XX(701, ...) gives FA701);
  - the fields of every public struct, as TYPE.field (fa_config_t.strict);
    fields named fa__* are private.

The reference names its entries in Markdown:
  - the first cell of a table row: every `code span` in it, up to the first
    character that is not part of a name (`fa_frame_new(a, T)` is the entry
    fa_frame_new); a span `.field` is a field of the type named by the
    nearest heading above it (### `fa_config_t`);
  - the first `code span` of a heading.
Sections whose heading starts with "C++" (and the headings below them) are
outside the check: the C++ API has its own page.

Every public symbol must be an entry, and every entry a public symbol;
each failure names the symbol and says what to do. Exit status: 0 when the
reference and the headers agree, 1 otherwise, 2 on usage errors.
"""
import argparse
import os
import re
import sys
import tempfile

PUBLIC = re.compile(r"^(fa|FA)_[A-Za-z0-9]")


def is_public(name):
    return bool(PUBLIC.match(name))


def strip_comments(text):
    """Removes /* */ and // comments, keeping the line breaks."""
    def blank(m):
        return re.sub(r"[^\n]", " ", m.group(0))
    return re.sub(r"/\*.*?\*/|//[^\n]*|\"(\\.|[^\"\\\n])*\"", blank, text,
                  flags=re.S)


def logical_lines(text):
    """(line number, text) of each logical line: continuations joined."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        start, buf = i + 1, lines[i]
        while buf.endswith("\\") and i + 1 < len(lines):
            i += 1
            buf = buf[:-1] + " " + lines[i]
        out.append((start, buf))
        i += 1
    return out


def struct_fields(body):
    """The member names declared in a struct body."""
    names = []
    for decl in body.split(";"):
        decl = decl.strip()
        if not decl:
            continue
        fn = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
        if fn:
            names.append(fn.group(1))
            continue
        decl = re.sub(r"\[[^\]]*\]", "", decl)
        for part in decl.split(","):
            ids = re.findall(r"\w+", part)
            if ids:
                names.append(ids[-1])
    return names


def header_symbols(include):
    """{symbol: "file:line"} of the public symbols of include/**/*.h."""
    found = {}

    def add(name, where):
        found.setdefault(name, where)

    paths = []
    for root, _, files in os.walk(include):
        paths += [os.path.join(root, f) for f in files if f.endswith(".h")]
    for path in sorted(paths):
        rel = os.path.relpath(path, os.path.dirname(include.rstrip("/")))
        text = strip_comments(open(path, encoding="utf-8").read())
        code_lines = []
        for line, ltext in logical_lines(text):
            where = "%s:%d" % (rel, line)
            pp = re.match(r"\s*#\s*(\w+)(.*)", ltext)
            if not pp:
                code_lines.append((line, ltext))
                continue
            directive, rest = pp.group(1), pp.group(2)
            if directive == "define":
                name = re.match(r"\s*(\w+)", rest).group(1)
                if is_public(name):
                    add(name, where)
                if name == "FA_ERRNO_MAP":
                    for e in re.findall(r"XX\(\s*(\w+)\s*,", rest):
                        add("FA_" + e, where)
                if name == "FA_DIAG_MAP":
                    for c in re.findall(r"XX\(\s*(\d+)\s*,", rest):
                        add("FA%03d" % int(c), where)
            elif directive in ("if", "ifdef", "ifndef", "elif"):
                for name in re.findall(r"\w+", rest):
                    if is_public(name):
                        add(name, where)
        code = "\n".join(t for _, t in code_lines)
        line_of = [ln for ln, _ in code_lines]

        def where_at(pos):
            return "%s:%d" % (rel, line_of[code.count("\n", 0, pos)])

        tags = set(re.findall(r"\bstruct\s+(\w+)", code))
        for m in re.finditer(r"\b\w+\b", code):
            name = m.group(0)
            if is_public(name) and name not in tags:
                add(name, where_at(m.start()))
        # Struct tag -> typedef name, then the fields of each public one.
        typedef_of = {}
        for m in re.finditer(r"typedef\s+struct\s+(\w+)\s+(\w+)\s*;", code):
            typedef_of[m.group(1)] = m.group(2)
        for m in re.finditer(r"(typedef\s+)?struct\s+(\w+)\s*\{", code):
            depth, i = 1, m.end()
            while depth and i < len(code):
                depth += {"{": 1, "}": -1}.get(code[i], 0)
                i += 1
            body = code[m.end():i - 1]
            tname = typedef_of.get(m.group(2))
            if m.group(1):
                after = re.match(r"\s*(\w+)", code[i:])
                tname = after.group(1) if after else tname
            if not tname or not is_public(tname):
                continue
            for f in struct_fields(body):
                if not f.startswith("fa__"):
                    add("%s.%s" % (tname, f), where_at(m.start()))
    return found


def doc_entries(path):
    """{entry: line} of the reference's entries, and a list of errors."""
    entries, errors = {}, []
    heading_stack = []  # (level, name or None, is_cpp)
    in_code = False
    for n, line in enumerate(open(path, encoding="utf-8"), 1):
        if re.match(r"\s*```", line):
            in_code = not in_code
            continue
        if in_code:
            continue
        h = re.match(r"(#+)\s+(.*)", line)
        if h:
            level, title = len(h.group(1)), h.group(2).strip()
            while heading_stack and heading_stack[-1][0] >= level:
                heading_stack.pop()
            cpp = title.startswith("C++") or any(c for _, _, c in heading_stack)
            spans = re.findall(r"`([^`]+)`", title)
            name = None
            if spans:
                name = re.match(r"[\w.]*", spans[0]).group(0) or None
            heading_stack.append((level, name, cpp))
            if name and not cpp:
                entries.setdefault(name, n)
            continue
        if heading_stack and heading_stack[-1][2]:
            continue
        row = re.match(r"\s*\|([^|]*)\|", line)
        if not row or re.match(r"\s*\|\s*:?-", line):
            continue
        for span in re.findall(r"`([^`]+)`", row.group(1)):
            name = re.match(r"[\w.]*", span).group(0)
            if not name:
                continue
            if name.startswith("."):
                owner = next((nm for _, nm, _ in reversed(heading_stack)
                              if nm and not nm.startswith(".")), None)
                if not owner:
                    errors.append("%s:%d: field entry `%s` has no heading "
                                  "naming its type above it: put it under a "
                                  "heading such as ### `fa_config_t`"
                                  % (path, n, name))
                    continue
                name = owner + name
            entries.setdefault(name, n)
    return entries, errors


def check(include, doc):
    symbols = header_symbols(include)
    entries, errors = doc_entries(doc)
    for name in sorted(set(symbols) - set(entries)):
        errors.append(
            "%s: `%s` (%s) has no entry: add a row for it, with its contract "
            "in a few lines, to the section of its header%s"
            % (doc, name, symbols[name],
               " (under the heading of its type, as `.%s`)"
               % name.split(".", 1)[1] if "." in name else ""))
    for name in sorted(set(entries) - set(symbols)):
        if not (is_public(name) or re.match(r"FA\d{3}$", name)):
            continue  # prose in code spans: a CMake target, a file name
        errors.append(
            "%s:%d: `%s` is not a public symbol of %s (renamed, removed, or "
            "internal?): correct or remove its entry"
            % (doc, entries[name], name, include))
    return errors


def self_test():
    """The check fails, naming the symbol, on each kind of mismatch."""
    header = """#define FA_GOOD 1
#define FA__PRIVATE 2
#define FA_ERRNO_MAP(XX) XX(EINVAL, -1, "x")
#define FA_DIAG_MAP(XX) XX(7, ERROR, LIBRARY, "y")
#ifdef FA_USER_OPTION
#endif
typedef struct fa_thing_s { int size; void (*cb)(void); int fa__x; } fa_thing_t;
/* fa_in_a_comment */
int fa_do(fa_thing_t *t);
"""
    doc = """# API
| name | contract |
|---|---|
| `FA_GOOD`, `FA_ERRNO_MAP` | x |
| `FA_DIAG_MAP` | x |
| `FA_EINVAL`, `FA007` | x |
| `FA_USER_OPTION` | x |
| `fa_do(t)` | x |
### `fa_thing_t`
| `.size` | x |
| `.cb` | x |
## C++ API
| `fa_only_in_cpp` | not checked |
"""
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        inc = os.path.join(tmp, "include")
        os.makedirs(inc)
        with open(os.path.join(inc, "x.h"), "w") as f:
            f.write(header)
        docp = os.path.join(tmp, "api.md")
        cases = [
            ("agree", doc, None),
            ("missing function", doc.replace("| `fa_do(t)` | x |\n", ""),
             "`fa_do` (include/x.h:9) has no entry"),
            ("missing field", doc.replace("| `.cb` | x |\n", ""),
             "`fa_thing_t.cb`"),
            ("missing code", doc.replace(", `FA007`", ""), "`FA007`"),
            ("unknown name",
             doc.replace("## C++", "| `fa_gone` | x |\n## C++"),
             "`fa_gone` is not a public symbol"),
            ("unknown field", doc.replace("## C++", "| `.colour` | x |\n## C++"),
             "`fa_thing_t.colour` is not a public symbol"),
        ]
        for what, text, expect in cases:
            with open(docp, "w") as f:
                f.write(text)
            errors = check(inc, docp)
            ok = (not errors) if expect is None else \
                any(expect in e for e in errors)
            if not ok:
                failures += 1
                print("self-test FAILED (%s): expected %s, got:\n  %s"
                      % (what, "no error" if expect is None else repr(expect),
                         "\n  ".join(errors) or "no error"))
    print("%d passed, %d failed" % (len(cases) - failures, failures))
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--include")
    p.add_argument("--doc")
    p.add_argument("--self-test", action="store_true")
    args = p.parse_args()
    if args.self_test:
        return self_test()
    if not args.include or not args.doc:
        p.error("--include and --doc are needed")
    errors = check(args.include, args.doc)
    for e in errors:
        print(e)
    symbols = header_symbols(args.include)
    print("%d public symbols, %d missing or unknown in %s"
          % (len(symbols), len(errors), args.doc))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
