/* What the output formats share: the tool's version, how a path is shown,
 * the count of findings by level, and safe JSON strings and writing for the
 * json and sarif formats. */
#include "check.h"

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
