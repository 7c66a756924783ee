/* Suppression comments: `// fa-check: allow(FA702)` (or the same inside
 * a block comment, with several codes: `allow(FA702, FA703)`) on the line
 * of a finding or on the line above silences that code there. */
#include "check.h"

#include <ctype.h>
#include <string.h>

static const char marker[] = "fa-check:";

/* Whether a comment opens before position `at` of the line. */
static int in_comment(const char *line, size_t at) {
  for (size_t i = 0; i + 1 < at; i++)
    if (line[i] == '/' && (line[i + 1] == '/' || line[i + 1] == '*'))
      return 1;
  return 0;
}

/* Whether `allow(...)` starting at line[i] lists `code`. */
static int allow_lists(const char *line, size_t len, size_t i, int code) {
  while (i < len && isspace((unsigned char)line[i]))
    i++;
  if (len - i < 5 || memcmp(line + i, "allow", 5) != 0)
    return 0;
  i += 5;
  while (i < len && isspace((unsigned char)line[i]))
    i++;
  if (i >= len || line[i] != '(')
    return 0;
  i++;
  for (;;) {
    while (i < len && (isspace((unsigned char)line[i]) || line[i] == ','))
      i++;
    if (i >= len || line[i] == ')')
      return 0;
    char tok[16];
    size_t n = 0;
    while (i < len && isalnum((unsigned char)line[i])) {
      if (n + 1 < sizeof(tok))
        tok[n++] = line[i];
      i++;
    }
    if (n == 0)
      return 0; /* not a code: the list is malformed */
    tok[n] = 0;
    if (fc_parse_code(tok) == code)
      return 1;
  }
}

static int line_allows(const char *file, unsigned line, int code) {
  size_t len;
  const char *s = fc_source_line(file, line, &len);
  if (!s)
    return 0;
  size_t m = sizeof(marker) - 1;
  for (size_t i = 0; i + m <= len; i++) {
    if (memcmp(s + i, marker, m) != 0)
      continue;
    if (in_comment(s, i) && allow_lists(s, len, i + m, code))
      return 1;
  }
  return 0;
}

int fc_suppressed(const fc_diag_t *d) {
  if (!d->loc.file || d->loc.line == 0)
    return 0;
  if (line_allows(d->loc.file, d->loc.line, d->code))
    return 1;
  return d->loc.line > 1 && line_allows(d->loc.file, d->loc.line - 1, d->code);
}
