/* The sarif format: SARIF 2.1.0, the OASIS interchange format that code
 * scanning services (GitHub, Azure DevOps, IDE viewers) import.
 *
 * One run, with automationDetails (the category "fa-check/"). tool.driver
 * lists every rule this version checks, with its precision, family, a
 * security-severity score (a string, as GitHub code scanning reads it) and
 * CWE tags as rule properties, and its help as text and as Markdown. Each
 * result points at its rule (ruleId, ruleIndex), carries its notes as
 * relatedLocations, and a partial fingerprint that does not depend on line
 * numbers, so that a result keeps its identity when unrelated lines move. Paths
 * are URIs relative to the SRCROOT base (the root directory), whose absolute
 * file URI is given in originalUriBaseIds. Columns count Unicode code points
 * (columnKind), not the bytes compilers count. Files that could not be analysed
 * become tool execution notifications and make executionSuccessful false. No
 * time stamp or other varying data: the same input gives the same bytes. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define FINGERPRINT_KEY FC_FINGERPRINT_KEY

static json_t *text_obj(const char *s) {
  json_t *o = json_object();
  json_object_set_new(o, "text", fc_json_text(s));
  return o;
}

/* ---- URIs ------------------------------------------------------------- */

/* `prefix` then `path` percent-encoded (RFC 3986): every byte but the
 * unreserved characters and "/" becomes %XX, so spaces and non-ASCII names
 * make valid URIs. `slash` adds a final "/" when there is none. */
static char *uri_encode(const char *prefix, const char *path, int slash) {
  static const char hex[] = "0123456789ABCDEF";
  size_t np = strlen(prefix), n = strlen(path);
  char *s = fc_xrealloc(NULL, np + 3 * n + 2), *w = s;
  memcpy(w, prefix, np);
  w += np;
  for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
    unsigned c = *p;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~' || c == '/') {
      *w++ = (char)c;
    } else {
      *w++ = '%';
      *w++ = hex[c >> 4];
      *w++ = hex[c & 15];
    }
  }
  if (slash && (w == s + np || w[-1] != '/'))
    *w++ = '/';
  *w = 0;
  return s;
}

/* Relative to SRCROOT when inside the root, else an absolute file URI. */
static json_t *artifact_location(const char *file, const char *root) {
  json_t *a = json_object();
  const char *rel = fc_relpath(file, root);
  char *uri = rel != file      ? uri_encode("", rel, 0)
              : file[0] == '/' ? uri_encode("file://", file, 0)
                               : uri_encode("", file, 0);
  json_object_set_new(a, "uri", json_string(uri));
  if (rel != file)
    json_object_set_new(a, "uriBaseId", json_string("SRCROOT"));
  free(uri);
  return a;
}

/* ---- locations -------------------------------------------------------- */

/* The code-point column of byte column `col` of a line; unchanged when the
 * line cannot be read. A byte that is not UTF-8 counts as one. */
static unsigned cp_column(const fc_loc_t *loc) {
  size_t len;
  const char *text = fc_source_line(loc->file, loc->line, &len);
  if (!text || loc->col == 0)
    return loc->col;
  size_t off = loc->col - 1, i = 0;
  unsigned cp = 1;
  while (i < off && i < len) {
    size_t k = fc_utf8_len(text + i);
    i += k ? k : 1;
    cp++;
  }
  return cp + (unsigned)(off > len ? off - len : 0);
}

/* A location object; NULL-file locations have no physical part. */
static json_t *location(const fc_loc_t *loc, const char *root) {
  json_t *l = json_object();
  if (!loc->file)
    return l;
  json_t *pl = json_object();
  json_object_set_new(pl, "artifactLocation",
                      artifact_location(loc->file, root));
  if (loc->line) {
    json_t *region = json_object();
    json_object_set_new(region, "startLine", json_integer(loc->line));
    if (loc->col)
      json_object_set_new(region, "startColumn", json_integer(cp_column(loc)));
    json_object_set_new(pl, "region", region);
  }
  json_object_set_new(l, "physicalLocation", pl);
  return l;
}

/* ---- rules ------------------------------------------------------------ */

/* SARIF's level names: what fa-check calls "allow" is "none" there. */
static const char *level_name(fc_level_t l) {
  return l == FC_LEVEL_ALLOW ? "none" : fc_level_name(l);
}

/* "frame allocation in an async context" -> "FrameAllocationInAnAsyncContext"
 */
static char *pascal_case(const char *title) {
  char *s = fc_xrealloc(NULL, strlen(title) + 1), *w = s;
  int start = 1;
  for (const char *p = title; *p; p++) {
    char c = *p;
    int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                (c >= '0' && c <= '9');
    if (!alnum) {
      start = 1;
      continue;
    }
    *w++ = start && c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    start = 0;
  }
  *w = 0;
  return s;
}

/* The first paragraph of the explanation, as one line. */
static char *first_paragraph(const char *explain) {
  const char *end = strstr(explain, "\n\n");
  size_t n = end ? (size_t)(end - explain) : strlen(explain);
  while (n && explain[n - 1] == '\n')
    n--;
  char *s = fc_xrealloc(NULL, n + 1);
  for (size_t i = 0; i < n; i++)
    s[i] = explain[i] == '\n' ? ' ' : explain[i];
  s[n] = 0;
  return s;
}

/* The explanation as Markdown: the help line in bold, then the text, its
 * indented examples as fenced C blocks. */
static char *help_markdown(const char *help, const char *explain) {
  size_t n = strlen(help) + strlen(explain) * 2 + 64;
  char *md = fc_xrealloc(NULL, n), *w = md;
  w += sprintf(w, "**%s**\n\n", help);
  int in_code = 0;
  for (const char *p = explain; *p;) {
    const char *e = strchr(p, '\n');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    int code = len >= 4 && !strncmp(p, "    ", 4);
    int blank = len == 0;
    if (code && !in_code) {
      w += sprintf(w, "```c\n");
      in_code = 1;
    } else if (in_code && !code && !blank) {
      w += sprintf(w, "```\n\n");
      in_code = 0;
    }
    if (in_code && blank) {
      /* A blank line inside an example, unless the example ends here. */
      const char *q = e ? e + 1 : p + len;
      if (strncmp(q, "    ", 4) != 0) {
        w += sprintf(w, "```\n");
        in_code = 0;
      }
    }
    if (in_code && code) {
      memcpy(w, p + 4, len - 4);
      w += len - 4;
    } else {
      memcpy(w, p, len);
      w += len;
    }
    *w++ = '\n';
    p = e ? e + 1 : p + len;
  }
  if (in_code)
    w += sprintf(w, "```\n");
  *w = 0;
  return md;
}

/* GitHub code scanning ranks findings of rules tagged "security" by this
 * score (0.1 to 10, a string): error rules are use-after-free defects
 * (high), warnings may become one (medium). */
static const char *security_severity(const fc_rule_t *r) {
  return r->default_level == FC_LEVEL_ERROR ? "8.0" : "5.0";
}

/* The CWE a rule's defect leads to. */
static const char *cwe_tag(int code) {
  switch (code) {
  case 601:
    return "external/cwe/cwe-825"; /* expired pointer dereference */
  case 603:
    return "external/cwe/cwe-404"; /* improper resource shutdown */
  default:
    return "external/cwe/cwe-416"; /* use after free */
  }
}

static json_t *rule_json(const fc_rule_t *r) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_string(r->name));
  char *name = pascal_case(r->title);
  json_object_set_new(o, "name", json_string(name));
  free(name);
  json_object_set_new(o, "shortDescription", text_obj(r->title));
  char *full = r->explain && *r->explain ? first_paragraph(r->explain) : NULL;
  json_object_set_new(o, "fullDescription", text_obj(full ? full : r->title));
  free(full);
  const char *help = r->help ? r->help : r->title;
  if (r->explain && *r->explain) {
    size_t n = strlen(help) + strlen(r->explain) + 3;
    char *h = fc_xrealloc(NULL, n);
    snprintf(h, n, "%s\n\n%s", help, r->explain);
    json_t *ho = text_obj(h);
    char *md = help_markdown(help, r->explain);
    json_object_set_new(ho, "markdown", fc_json_text(md));
    free(md);
    json_object_set_new(o, "help", ho);
    free(h);
  } else {
    json_object_set_new(o, "help", text_obj(help));
  }
  json_t *cfg = json_object();
  json_object_set_new(cfg, "level", json_string(level_name(r->default_level)));
  json_object_set_new(o, "defaultConfiguration", cfg);
  json_t *props = json_object();
  json_object_set_new(props, "precision",
                      json_string(r->precision ? r->precision : "medium"));
  json_object_set_new(props, "security-severity",
                      json_string(security_severity(r)));
  json_t *tags = json_array();
  json_array_append_new(tags, json_string(fc_family_name(r->family)));
  json_array_append_new(tags, json_string("security"));
  json_array_append_new(tags, json_string("memory-safety"));
  json_array_append_new(tags, json_string(cwe_tag(r->code)));
  json_object_set_new(props, "tags", tags);
  json_object_set_new(o, "properties", props);
  return o;
}

/* The rules listed in the driver: those this version checks, and any other
 * that a result refers to. `index[i]` is the position of rule i of the
 * catalogue in that list, -1 when it is not listed. */
static json_t *rules_json(const fc_diag_list_t *l, int *index) {
  size_t n;
  const fc_rule_t *all = fc_rules(&n);
  json_t *arr = json_array();
  int next = 0;
  for (size_t i = 0; i < n; i++) {
    int used = all[i].available;
    for (size_t k = 0; !used && k < l->n; k++)
      used = l->v[k].code == all[i].code;
    index[i] = used ? next++ : -1;
    if (used)
      json_array_append_new(arr, rule_json(&all[i]));
  }
  return arr;
}

/* ---- results ---------------------------------------------------------- */

/* The finding's fix: one change of its file, a replacement per edit, the
 * regions in code-point columns as everywhere in this log. */
static json_t *fixes_json(const fc_diag_t *d, const char *root) {
  json_t *reps = json_array();
  for (size_t k = 0; k < d->nedits; k++) {
    const fc_edit_t *x = &d->edits[k];
    fc_loc_t end = {x->loc.file, x->loc.line, x->loc.col + (unsigned)x->len};
    json_t *region = json_object();
    json_object_set_new(region, "startLine", json_integer(x->loc.line));
    json_object_set_new(region, "startColumn",
                        json_integer(cp_column(&x->loc)));
    json_object_set_new(region, "endLine", json_integer(x->loc.line));
    json_object_set_new(region, "endColumn", json_integer(cp_column(&end)));
    json_t *rep = json_object();
    json_object_set_new(rep, "deletedRegion", region);
    json_object_set_new(rep, "insertedContent", text_obj(x->text));
    json_array_append_new(reps, rep);
  }
  json_t *change = json_object();
  json_object_set_new(change, "artifactLocation",
                      artifact_location(d->loc.file, root));
  json_object_set_new(change, "replacements", reps);
  json_t *changes = json_array();
  json_array_append_new(changes, change);
  json_t *fix = json_object();
  json_object_set_new(fix, "description", text_obj(d->fix));
  json_object_set_new(fix, "artifactChanges", changes);
  json_t *arr = json_array();
  json_array_append_new(arr, fix);
  return arr;
}

static json_t *result_json(const fc_diag_t *d, const char *root,
                           const int *index, const char *fp) {
  size_t n;
  const fc_rule_t *all = fc_rules(&n);
  json_t *o = json_object();
  char id[16];
  snprintf(id, sizeof(id), "FA%03d", d->code);
  json_object_set_new(o, "ruleId", json_string(id));
  for (size_t i = 0; i < n; i++)
    if (all[i].code == d->code && index[i] >= 0)
      json_object_set_new(o, "ruleIndex", json_integer(index[i]));
  json_object_set_new(o, "level", json_string(level_name(d->level)));
  json_object_set_new(o, "message", text_obj(d->msg));
  if (d->loc.file) {
    json_t *locs = json_array();
    json_array_append_new(locs, location(&d->loc, root));
    json_object_set_new(o, "locations", locs);
  }
  if (d->nnotes) {
    json_t *rel = json_array();
    for (size_t k = 0; k < d->nnotes; k++) {
      json_t *l = json_object(), *where = location(&d->notes[k].loc, root);
      json_object_set_new(l, "id", json_integer((json_int_t)k));
      json_object_update(l, where);
      json_decref(where);
      json_object_set_new(l, "message", text_obj(d->notes[k].msg));
      json_array_append_new(rel, l);
    }
    json_object_set_new(o, "relatedLocations", rel);
  }
  if (d->fix)
    json_object_set_new(o, "fixes", fixes_json(d, root));
  json_t *fps = json_object();
  json_object_set_new(fps, FINGERPRINT_KEY, json_string(fp));
  json_object_set_new(o, "partialFingerprints", fps);
  return o;
}

static json_t *results_json(const fc_diag_list_t *l, const char *root,
                            const int *index) {
  json_t *arr = json_array();
  char **fps = fc_fingerprints(l, root);
  for (size_t i = 0; i < l->n; i++)
    json_array_append_new(arr, result_json(&l->v[i], root, index, fps[i]));
  fc_fingerprints_free(fps, l->n);
  return arr;
}

static json_t *invocation_json(const fc_emit_t *e) {
  json_t *inv = json_object();
  size_t nfail = e->failures ? e->failures->n : 0;
  json_object_set_new(inv, "executionSuccessful", json_boolean(nfail == 0));
  if (nfail) {
    json_t *arr = json_array();
    for (size_t i = 0; i < nfail; i++) {
      const fc_failure_t *f = &e->failures->v[i];
      json_t *n = json_object();
      json_object_set_new(n, "level", json_string("error"));
      json_object_set_new(n, "message", text_obj(f->msg));
      if (f->file) {
        fc_loc_t loc = {f->file, 0, 0};
        json_t *locs = json_array();
        json_array_append_new(locs, location(&loc, e->root));
        json_object_set_new(n, "locations", locs);
      }
      json_array_append_new(arr, n);
    }
    json_object_set_new(inv, "toolExecutionNotifications", arr);
  }
  json_t *invs = json_array();
  json_array_append_new(invs, inv);
  return invs;
}

void fc_emit_sarif(const fc_diag_list_t *l, const fc_emit_t *e) {
  size_t nrules;
  fc_rules(&nrules);
  int *index = fc_xrealloc(NULL, (nrules ? nrules : 1) * sizeof(*index));

  json_t *driver = json_object();
  json_object_set_new(driver, "name", json_string("fa-check"));
  json_object_set_new(driver, "version", json_string(fc_tool_version()));
  json_object_set_new(driver, "semanticVersion",
                      json_string(fc_tool_version()));
  json_object_set_new(driver, "rules", rules_json(l, index));
  json_t *tool = json_object();
  json_object_set_new(tool, "driver", driver);

  json_t *run = json_object();
  json_object_set_new(run, "tool", tool);
  /* The category code scanning files the results under. */
  json_t *auto_id = json_object();
  json_object_set_new(auto_id, "id", json_string("fa-check/"));
  json_object_set_new(run, "automationDetails", auto_id);
  json_object_set_new(run, "invocations", invocation_json(e));
  if (e->root && e->root[0] == '/') {
    char *uri = uri_encode("file://", e->root, 1);
    json_t *base = json_object();
    json_object_set_new(base, "uri", json_string(uri));
    free(uri);
    json_t *bases = json_object();
    json_object_set_new(bases, "SRCROOT", base);
    json_object_set_new(run, "originalUriBaseIds", bases);
  }
  json_object_set_new(run, "results", results_json(l, e->root, index));
  json_object_set_new(run, "columnKind", json_string("unicodeCodePoints"));
  free(index);

  json_t *runs = json_array();
  json_array_append_new(runs, run);
  json_t *doc = json_object();
  json_object_set_new(doc, "$schema", json_string(SARIF_SCHEMA));
  json_object_set_new(doc, "version", json_string("2.1.0"));
  json_object_set_new(doc, "runs", runs);
  fc_json_write(doc, e->out);
}
