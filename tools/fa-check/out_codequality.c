/* The codequality format: GitLab's Code Quality report (a subset of the
 * Code Climate issue format), which GitLab shows in merge requests when a
 * CI job publishes it as artifacts:reports:codequality. One JSON array,
 * one object per finding, in the driver's order:
 *
 *   [
 *     {
 *       "type": "issue",
 *       "check_name": "FA702",
 *       "description": "FA702: frame pointer 'r' is live across ...",
 *       "categories": ["Bug Risk"],
 *       "severity": "critical",        errors; warnings are "minor"
 *       "fingerprint": "8a1f...:1",    the SARIF partialFingerprints value
 *       "location": {"path": "src/net.c", "lines": {"begin": 42}}
 *     }
 *   ]
 *
 * Paths are relative to the current directory (the repository's root in
 * CI), as GitLab expects. Failures to analyse a file are not findings: they
 * go to standard error and the exit status, as in every format. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void fc_emit_codequality(const fc_diag_list_t *l, const fc_emit_t *e) {
  char **fps = fc_fingerprints(l, e->root);
  json_t *arr = json_array();
  for (size_t i = 0; i < l->n; i++) {
    const fc_diag_t *d = &l->v[i];
    char code[16];
    snprintf(code, sizeof(code), "FA%03d", d->code);
    json_t *o = json_object();
    json_object_set_new(o, "type", json_string("issue"));
    json_object_set_new(o, "check_name", json_string(code));
    size_t n = strlen(code) + strlen(d->msg) + 3;
    char *desc = fc_xrealloc(NULL, n);
    snprintf(desc, n, "%s: %s", code, d->msg);
    json_object_set_new(o, "description", fc_json_text(desc));
    free(desc);
    json_t *cat = json_array();
    json_array_append_new(cat, json_string("Bug Risk"));
    json_object_set_new(o, "categories", cat);
    json_object_set_new(
        o, "severity",
        json_string(d->level == FC_LEVEL_ERROR ? "critical" : "minor"));
    json_object_set_new(o, "fingerprint", json_string(fps[i]));
    json_t *loc = json_object(), *lines = json_object();
    json_object_set_new(loc, "path",
                        fc_json_text(fc_show_path(d->loc.file, e->root)));
    json_object_set_new(lines, "begin", json_integer(d->loc.line));
    json_object_set_new(loc, "lines", lines);
    json_object_set_new(o, "location", loc);
    json_array_append_new(arr, o);
  }
  fc_fingerprints_free(fps, l->n);
  fc_json_write(arr, e->out);
}
