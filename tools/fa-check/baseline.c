/* Baselines: the findings of a code base on the day it adopted fa-check,
 * so that only new ones are reported (--write-baseline, --baseline,
 * --baseline-stale).
 *
 * A baseline is a JSON document listing findings by their line-independent
 * fingerprint (fc_fingerprints, the SARIF partialFingerprints value), with
 * the code, file, line and message for the reader:
 *
 *   {"version": 1, "tool": "fa-check",
 *    "findings": [{"fingerprint": "8a1f...:1", "code": "FA702",
 *                  "file": "src/net.c", "line": 42, "message": "..."}]}
 *
 * Only the fingerprint is matched, so a finding whose line moves (code
 * inserted above it) keeps its match, while one whose line changes, or
 * that moves to another file, is new. */
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void fc_baseline_free(fc_baseline_t *b) {
  for (size_t i = 0; i < b->n; i++) {
    free(b->v[i].fingerprint);
    free(b->v[i].code);
    free(b->v[i].file);
    free(b->v[i].message);
  }
  free(b->v);
  memset(b, 0, sizeof(*b));
}

static char *opt_string(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? fc_xstrdup(s) : NULL;
}

int fc_baseline_load(const char *file, fc_baseline_t *b) {
  memset(b, 0, sizeof(*b));
  json_error_t err;
  json_t *doc = json_load_file(file, 0, &err);
  if (!doc) {
    if (err.line > 0)
      fprintf(stderr, "fa-check: error: %s:%d:%d: not a baseline: %s\n", file,
              err.line, err.column, err.text);
    else
      fprintf(stderr, "fa-check: error: %s: not a baseline: %s\n", file,
              err.text);
    return -1;
  }
  json_t *findings = json_object_get(doc, "findings");
  const char *what = NULL;
  if (!json_is_object(doc))
    what = "expected a JSON object";
  else if (json_integer_value(json_object_get(doc, "version")) != 1)
    what = "\"version\" is not 1";
  else if (!json_is_array(findings))
    what = "no \"findings\" array";
  for (size_t i = 0; !what && i < json_array_size(findings); i++) {
    json_t *f = json_array_get(findings, i);
    if (!json_is_string(json_object_get(f, "fingerprint"))) {
      fprintf(stderr,
              "fa-check: error: %s: not a baseline: finding %zu has no "
              "\"fingerprint\" string\n",
              file, i + 1);
      json_decref(doc);
      fc_baseline_free(b);
      return -1;
    }
    b->v = fc_xrealloc(b->v, (b->n + 1) * sizeof(*b->v));
    fc_baseline_entry_t *e = &b->v[b->n++];
    e->fingerprint = opt_string(f, "fingerprint");
    e->code = opt_string(f, "code");
    e->file = opt_string(f, "file");
    e->message = opt_string(f, "message");
    e->line = (unsigned)json_integer_value(json_object_get(f, "line"));
    e->matched = 0;
  }
  json_decref(doc);
  if (what) {
    fprintf(stderr, "fa-check: error: %s: not a baseline: %s\n", file, what);
    fc_baseline_free(b);
    return -1;
  }
  return 0;
}

int fc_baseline_write(const char *file, const fc_diag_list_t *l,
                      char *const *fps, const char *root) {
  json_t *arr = json_array();
  for (size_t i = 0; i < l->n; i++) {
    const fc_diag_t *d = &l->v[i];
    char code[16];
    snprintf(code, sizeof(code), "FA%03d", d->code);
    json_t *o = json_object();
    json_object_set_new(o, "fingerprint", json_string(fps[i]));
    json_object_set_new(o, "code", json_string(code));
    json_object_set_new(o, "file",
                        fc_json_text(fc_show_path(d->loc.file, root)));
    json_object_set_new(o, "line", json_integer(d->loc.line));
    json_object_set_new(o, "message", fc_json_text(d->msg));
    json_array_append_new(arr, o);
  }
  json_t *doc = json_object();
  json_object_set_new(doc, "version", json_integer(1));
  json_object_set_new(doc, "tool", json_string("fa-check"));
  json_object_set_new(doc, "findings", arr);
  FILE *f = fopen(file, "w");
  if (!f) {
    fprintf(stderr, "fa-check: error: cannot write the baseline %s: %s\n", file,
            strerror(errno));
    json_decref(doc);
    return -1;
  }
  fc_json_write(doc, f);
  if (fclose(f) != 0) {
    fprintf(stderr, "fa-check: error: cannot write the baseline %s: %s\n", file,
            strerror(errno));
    return -1;
  }
  return 0;
}

void fc_baseline_filter(fc_diag_list_t *l, char **fps, fc_baseline_t *b) {
  size_t w = 0;
  for (size_t i = 0; i < l->n; i++) {
    int known = 0;
    for (size_t k = 0; k < b->n && !known; k++)
      if (!b->v[k].matched && !strcmp(b->v[k].fingerprint, fps[i]))
        known = b->v[k].matched = 1;
    if (known) {
      fc_diag_free(&l->v[i]);
      free(fps[i]);
      continue;
    }
    fps[w] = fps[i];
    l->v[w++] = l->v[i];
  }
  l->n = w;
}

size_t fc_baseline_print_stale(const fc_baseline_t *b, FILE *out) {
  size_t n = 0;
  for (size_t k = 0; k < b->n; k++) {
    const fc_baseline_entry_t *e = &b->v[k];
    if (e->matched)
      continue;
    n++;
    fprintf(out, "%s:%u: note: fixed since the baseline: %s [%s]\n",
            e->file ? e->file : "<unknown>", e->line,
            e->message ? e->message : "", e->code ? e->code : "?");
  }
  return n;
}
