#!/usr/bin/env python3
"""Checks of fa-check's machine-readable output, run by CTest.

  check_output.py sarif SCHEMA FILE...   each FILE is valid against the
                                         SARIF 2.1.0 JSON schema
  check_output.py json FILE...           each FILE parses, has the documented
                                         shape and is sorted
  check_output.py codequality SCHEMA FILE...
                                         each FILE is a valid GitLab Code
                                         Quality report (SCHEMA), with unique
                                         fingerprints
  check_output.py e2e --bin FC --format F --golden G --cwd DIR
                      [--schema S] [--expect-status N] -- ARGS...
      runs `FC --format F ARGS...` in DIR and compares its output with the
      golden file G, after replacing the file URI of DIR with
      file:///SRCROOT/; FC_UPDATE_GOLDEN=1 rewrites G instead. The exit
      status must be N (1: findings). json and sarif outputs are then
      checked as above.
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.parse


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check_sarif(schema_path, doc, name):
    import jsonschema

    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print("%s: %s: %s" % (name, "/".join(map(str, e.path)), e.message))
    if errors:
        fail("%s is not valid SARIF 2.1.0" % name)
    # What the schema cannot say: URIs are percent-encoded, each ruleIndex
    # names its ruleId, the run states how columns count.
    run = doc["runs"][0]
    rules = run["tool"]["driver"].get("rules", [])
    allowed = set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
        "-._~/:%")

    def uris(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "uri":
                    yield v
                else:
                    yield from uris(v)
        elif isinstance(node, list):
            for v in node:
                yield from uris(v)

    for uri in uris(doc["runs"]):
        if not set(uri) <= allowed:
            fail("%s: URI %r is not percent-encoded" % (name, uri))
    check_code_scanning(run, name)
    for r in run.get("results", []):
        if "ruleIndex" in r and rules[r["ruleIndex"]]["id"] != r["ruleId"]:
            fail("%s: ruleIndex of %s names another rule" % (name, r["ruleId"]))
    if run.get("columnKind") not in ("unicodeCodePoints", "utf16CodeUnits"):
        fail("%s: the run does not state its columnKind" % name)
    print("%s: valid SARIF 2.1.0, %d results" % (name, len(run.get("results", []))))


def check_code_scanning(run, name):
    """What GitHub code scanning reads beyond the schema: a category, a
    security-severity score as a string and Markdown help on each rule, and
    a partial fingerprint on each result."""
    if not run.get("automationDetails", {}).get("id"):
        fail("%s: no automationDetails.id" % name)
    for rule in run["tool"]["driver"].get("rules", []):
        sev = rule.get("properties", {}).get("security-severity")
        if not isinstance(sev, str) or not 0.0 < float(sev) <= 10.0:
            fail("%s: rule %s: security-severity %r is not a string from "
                 "0.1 to 10" % (name, rule["id"], sev))
        if "security" not in rule["properties"].get("tags", []):
            fail("%s: rule %s is not tagged security" % (name, rule["id"]))
        md = rule.get("help", {}).get("markdown", "")
        if rule.get("fullDescription") and not md.startswith("**"):
            fail("%s: rule %s has no Markdown help" % (name, rule["id"]))
        if md.count("```") % 2:
            fail("%s: rule %s: unbalanced code fences" % (name, rule["id"]))
    for r in run.get("results", []):
        if not r.get("partialFingerprints"):
            fail("%s: a result has no partialFingerprints" % name)


def validate(schema_path, doc, name, what):
    import jsonschema
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
    for e in errors:
        print("%s: %s: %s" % (name, "/".join(map(str, e.path)), e.message))
    if errors:
        fail("%s is not a valid %s" % (name, what))
    return cls(schema)


def check_codequality(schema_path, doc, name):
    v = validate(schema_path, doc, name, "GitLab Code Quality report")
    fps = [i["fingerprint"] for i in doc]
    if len(set(fps)) != len(fps):
        fail("%s: fingerprints are not unique" % name)
    # The validator is live: an issue without a path or with a severity
    # GitLab does not know is rejected.
    bad = [{"description": "x", "check_name": "FA702", "fingerprint": "f",
            "severity": "fatal", "location": {"lines": {"begin": 1}}}]
    if not {"required", "enum"} <= {e.validator for e in v.iter_errors(bad)}:
        fail("the Code Quality schema accepts an invalid report")
    print("%s: valid Code Quality report, %d issues" % (name, len(doc)))


def sarif_rejects_bad(schema_path):
    """The validator is live: a log with a level SARIF does not have and
    without its version must be rejected."""
    import jsonschema

    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    bad = {"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
           "runs": [{"tool": {"driver": {"name": "fa-check"}},
                     "results": [{"level": "fatal",
                                  "message": {"text": "x"}}]}]}
    cls = jsonschema.validators.validator_for(schema)
    found = {e.validator for e in cls(schema).iter_errors(bad)}
    if not {"required", "enum"} <= found:
        fail("the schema check accepts an invalid log (%s)" % found)


def check_json(doc, name):
    keys = ["version", "tool", "diagnostics", "failures", "summary"]
    if list(doc) != keys:
        fail("%s: top-level keys %s, want %s" % (name, list(doc), keys))
    dkeys = ["code", "level", "file", "line", "column", "message", "help",
             "notes"]
    order = []
    for d in doc["diagnostics"]:
        if list(d) != dkeys:
            fail("%s: diagnostic keys %s, want %s" % (name, list(d), dkeys))
        for n in d["notes"]:
            if list(n) != ["file", "line", "column", "message"]:
                fail("%s: note keys %s" % (name, list(n)))
        order.append((d["file"] or "", d["line"], d["column"], d["code"]))
    if order != sorted(order):
        fail("%s: diagnostics are not sorted by file, line, column, code" % name)
    levels = [d["level"] for d in doc["diagnostics"]]
    want = {"errors": levels.count("error"), "warnings": levels.count("warning")}
    if doc["summary"] != want:
        fail("%s: summary %s, counted %s" % (name, doc["summary"], want))
    print("%s: valid, %d diagnostics, sorted" % (name, len(order)))


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def e2e(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True)
    p.add_argument("--format", required=True)
    p.add_argument("--golden", required=True)
    p.add_argument("--schema")
    p.add_argument("--expect-status", type=int, default=1)
    p.add_argument("--cwd", required=True)
    if "--" not in argv:
        fail("e2e: no -- before the arguments of fa-check")
    cut = argv.index("--")
    a = p.parse_args(argv[:cut])
    a.args = argv[cut + 1:]
    cwd = os.path.realpath(a.cwd)
    proc = subprocess.run([a.bin, "--format", a.format] + a.args, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    sys.stderr.write(err)
    uri = "file://" + urllib.parse.quote(cwd, safe="/-._~") + "/"
    out = out.replace(uri, "file:///SRCROOT/")
    if os.environ.get("FC_UPDATE_GOLDEN", "0") != "0":
        with open(a.golden, "w", encoding="utf-8") as f:
            f.write(out)
    else:
        if not os.path.exists(a.golden):
            print(out)
            fail("no golden file %s yet: FC_UPDATE_GOLDEN=1 writes this "
                 "output there, to review" % a.golden)
        with open(a.golden, encoding="utf-8") as f:
            want = f.read()
        if out != want:
            print("--- output of fa-check --format %s:" % a.format)
            print(out)
            fail("the output differs from %s (FC_UPDATE_GOLDEN=1 rewrites it)"
                 % a.golden)
    if proc.returncode != a.expect_status:
        fail("exit status %d, want %d" % (proc.returncode, a.expect_status))
    if a.format == "json":
        check_json(json.loads(out), "output")
    elif a.format == "sarif":
        check_sarif(a.schema, json.loads(out), "output")
    elif a.format == "codequality":
        check_codequality(a.schema, json.loads(out), "output")
    print("ok: %s output matches %s" % (a.format, os.path.basename(a.golden)))


def main():
    if len(sys.argv) < 2:
        fail(__doc__)
    cmd, rest = sys.argv[1], sys.argv[2:]
    if cmd == "sarif":
        for path in rest[1:]:
            check_sarif(rest[0], load(path), path)
        sarif_rejects_bad(rest[0])
    elif cmd == "json":
        for path in rest:
            check_json(load(path), path)
    elif cmd == "codequality":
        for path in rest[1:]:
            check_codequality(rest[0], load(path), path)
    elif cmd == "e2e":
        e2e(rest)
    else:
        fail("unknown command %s" % cmd)


if __name__ == "__main__":
    main()
