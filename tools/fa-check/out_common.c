/* What the output formats share: the tool's version, how a path is shown,
 * the count of findings by level, and safe JSON strings and writing for the
 * json and sarif formats. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <framealloc.h>
#include <jansson.h>

#define FC_STR2(x) #x
#define FC_STR(x) FC_STR2(x)

const char *fc_tool_version(void) {
  return FC_STR(FA_VERSION_MAJOR) "." FC_STR(FA_VERSION_MINOR) "." FC_STR(
      FA_VERSION_PATCH);
}

const char *fc_show_path(const char *file, const char *root) {
  return file ? fc_relpath(file, root) : "<unknown>";
}

void fc_count_levels(const fc_diag_list_t *l, size_t *errors,
                     size_t *warnings) {
  *errors = *warnings = 0;
  for (size_t i = 0; i < l->n; i++) {
    if (l->v[i].level == FC_LEVEL_ERROR)
      (*errors)++;
    else if (l->v[i].level == FC_LEVEL_WARN)
      (*warnings)++;
  }
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. A NUL terminator ends a truncated sequence safely. */
size_t fc_utf8_len(const char *s) {
  const unsigned char *u = (const unsigned char *)s;
  unsigned c = u[0], cp;
  size_t n;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((u[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (u[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

struct json_t *fc_json_text(const char *s) {
  if (!s)
    return json_null();
  size_t bad = 0, len = 0;
  for (const char *p = s; *p;) {
    size_t k = fc_utf8_len(p);
    bad += k == 0;
    len += k ? k : 1;
    p += k ? k : 1;
  }
  if (!bad)
    return json_stringn(s, len);
  /* Each stray byte becomes the three bytes of U+FFFD. */
  char *buf = fc_xrealloc(NULL, len + 2 * bad + 1);
  char *w = buf;
  for (const char *p = s; *p;) {
    size_t k = fc_utf8_len(p);
    if (k) {
      memcpy(w, p, k);
      w += k;
      p += k;
    } else {
      memcpy(w, "\xEF\xBF\xBD", 3);
      w += 3;
      p++;
    }
  }
  json_t *j = json_stringn(buf, (size_t)(w - buf));
  free(buf);
  return j;
}

void fc_json_write(struct json_t *doc, FILE *out) {
  if (!doc || json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
    fputs("fa-check: cannot write the JSON output\n", stderr);
  else
    fputc('\n', out);
  json_decref(doc);
}

/* ---- fingerprints ----------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 1099511628211u;
  return h;
}

/* Hash of the code, the shown path and the line's text without its
 * indentation and trailing blanks (the message when the line cannot be
 * read): what identifies a finding when unrelated lines move. */
static uint64_t line_hash(const fc_diag_t *d, const char *root) {
  uint64_t h = 1469598103934665603u;
  const char *path = fc_show_path(d->loc.file, root);
  char id[16];
  snprintf(id, sizeof(id), "FA%03d", d->code);
  h = fnv(h, id, strlen(id) + 1);
  h = fnv(h, path, strlen(path) + 1);
  size_t len = 0;
  const char *text =
      d->loc.file ? fc_source_line(d->loc.file, d->loc.line, &len) : NULL;
  if (!text) {
    text = d->msg;
    len = strlen(text);
  }
  while (len && (*text == ' ' || *text == '\t')) {
    text++;
    len--;
  }
  while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
    len--;
  return fnv(h, text, len);
}

char **fc_fingerprints(const fc_diag_list_t *l, const char *root) {
  char **fps = fc_xcalloc(l->n ? l->n : 1, sizeof(*fps));
  uint64_t *hashes = fc_xrealloc(NULL, (l->n ? l->n : 1) * sizeof(*hashes));
  for (size_t i = 0; i < l->n; i++) {
    /* Identical lines of one file are told apart by their order. */
    hashes[i] = line_hash(&l->v[i], root);
    unsigned occurrence = 1;
    for (size_t k = 0; k < i; k++)
      occurrence += hashes[k] == hashes[i];
    char fp[40];
    snprintf(fp, sizeof(fp), "%016llx:%u", (unsigned long long)hashes[i],
             occurrence);
    fps[i] = fc_xstrdup(fp);
  }
  free(hashes);
  return fps;
}

void fc_fingerprints_free(char **fps, size_t n) {
  for (size_t i = 0; fps && i < n; i++)
    free(fps[i]);
  free(fps);
}
