/* The json format: the findings as one JSON document, for scripts. Keys come
 * in the fixed order below and findings in the order the driver sorted them
 * (file, line, column, code), so the same input always gives the same bytes.
 *
 *   {
 *     "version": 1,                       the shape of this document
 *     "tool": {"name": "fa-check", "version": "0.1.0"},
 *     "diagnostics": [
 *       {
 *         "code": "FA702",
 *         "level": "error",               "error" or "warning"
 *         "file": "src/net.c",            relative to the root when inside it
 *         "line": 42,                     from 1
 *         "column": 11,                   from 1, in bytes as compilers count
 *         "message": "...",
 *         "help": "...",                  how to fix it; null if unknown
 *         "notes": [{"file": ..., "line": ..., "column": ..., "message": ...}]
 *       }
 *     ],
 *     "failures": [{"file": "src/bad.c", "message": "..."}],
 *                                         what could not be analysed; file
 *                                         null when not about one file
 *     "summary": {"errors": 1, "warnings": 0}
 *   }
 *
 * A file whose location is unknown is null. Text that is not valid UTF-8
 * has its stray bytes replaced by U+FFFD. */
#include "check.h"

#include <jansson.h>

static json_t *path_json(const char *file, const char *root) {
  return file ? fc_json_text(fc_relpath(file, root)) : json_null();
}

static void put_loc(json_t *o, const fc_loc_t *loc, const char *root) {
  json_object_set_new(o, "file", path_json(loc->file, root));
  json_object_set_new(o, "line", json_integer(loc->line));
  json_object_set_new(o, "column", json_integer(loc->col));
}

static json_t *diag_json(const fc_diag_t *d, const char *root) {
  const fc_rule_t *r = fc_rule_find(d->code);
  char code[16];
  snprintf(code, sizeof(code), "FA%03d", d->code);
  json_t *o = json_object();
  json_object_set_new(o, "code", json_string(code));
  json_object_set_new(o, "level", json_string(fc_level_name(d->level)));
  put_loc(o, &d->loc, root);
  json_object_set_new(o, "message", fc_json_text(d->msg));
  json_object_set_new(o, "help", fc_json_text(r ? r->help : NULL));
  json_t *notes = json_array();
  for (size_t k = 0; k < d->nnotes; k++) {
    json_t *n = json_object();
    put_loc(n, &d->notes[k].loc, root);
    json_object_set_new(n, "message", fc_json_text(d->notes[k].msg));
    json_array_append_new(notes, n);
  }
  json_object_set_new(o, "notes", notes);
  return o;
}

void fc_emit_json(const fc_diag_list_t *l, const fc_emit_t *e) {
  json_t *doc = json_object();
  json_object_set_new(doc, "version", json_integer(1));
  json_t *tool = json_object();
  json_object_set_new(tool, "name", json_string("fa-check"));
  json_object_set_new(tool, "version", json_string(fc_tool_version()));
  json_object_set_new(doc, "tool", tool);

  json_t *diags = json_array();
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(diags, diag_json(&l->v[i], e->root));
  json_object_set_new(doc, "diagnostics", diags);

  json_t *fails = json_array();
  for (size_t i = 0; e->failures && i < e->failures->n; i++) {
    const fc_failure_t *f = &e->failures->v[i];
    json_t *o = json_object();
    json_object_set_new(o, "file", path_json(f->file, e->root));
    json_object_set_new(o, "message", fc_json_text(f->msg));
    json_array_append_new(fails, o);
  }
  json_object_set_new(doc, "failures", fails);

  size_t errors, warnings;
  fc_count_levels(l, &errors, &warnings);
  json_t *sum = json_object();
  json_object_set_new(sum, "errors", json_integer((json_int_t)errors));
  json_object_set_new(sum, "warnings", json_integer((json_int_t)warnings));
  json_object_set_new(doc, "summary", sum);
  fc_json_write(doc, e->out);
}
