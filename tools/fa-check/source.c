/* Source text for carets and suppression comments: each file is read once,
 * split into lines, and kept until the end of the run. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

typedef struct source_s {
  const char *file; /* interned: compared by address */
  char *text;       /* NULL: unreadable */
  size_t *line_off; /* start of line i+1 */
  size_t nlines;
  struct source_s *next;
} source_t;

static source_t *sources;

char *fc_read_file(const char *file, size_t *len) {
  FILE *f = fopen(file, "rb");
  if (!f)
    return NULL;
  size_t cap = 4096, n = 0;
  char *buf = fc_xrealloc(NULL, cap);
  size_t got;
  while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0)
      buf = fc_xrealloc(buf, cap *= 2);
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(buf);
    return NULL;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

static source_t *source_get(const char *file) {
  for (source_t *s = sources; s; s = s->next)
    if (s->file == file)
      return s;
  source_t *s = fc_xrealloc(NULL, sizeof(*s));
  memset(s, 0, sizeof(*s));
  s->file = file;
  size_t len = 0;
  s->text = fc_read_file(file, &len);
  if (s->text) {
    size_t cap = 64;
    s->line_off = fc_xrealloc(NULL, cap * sizeof(size_t));
    s->line_off[s->nlines++] = 0;
    for (size_t i = 0; i < len; i++) {
      if (s->text[i] != '\n' || i + 1 == len)
        continue;
      if (s->nlines == cap)
        s->line_off = fc_xrealloc(s->line_off, (cap *= 2) * sizeof(size_t));
      s->line_off[s->nlines++] = i + 1;
    }
  }
  s->next = sources;
  sources = s;
  return s;
}

const char *fc_source_line(const char *file, unsigned line, size_t *len) {
  file = fc_intern(file);
  if (!file || line == 0)
    return NULL;
  source_t *s = source_get(file);
  if (!s->text || line > s->nlines)
    return NULL;
  const char *p = s->text + s->line_off[line - 1];
  size_t n = strcspn(p, "\n");
  if (n > 0 && p[n - 1] == '\r')
    n--;
  *len = n;
  return p;
}

const char *fc_source_text(const char *file, size_t *len) {
  file = fc_intern(file);
  if (!file)
    return NULL;
  source_t *s = source_get(file);
  if (!s->text)
    return NULL;
  *len = strlen(s->text);
  return s->text;
}

void fc_source_forget(const char *file) {
  file = fc_intern(file);
  for (source_t **p = &sources; *p; p = &(*p)->next) {
    if ((*p)->file != file)
      continue;
    source_t *s = *p;
    *p = s->next;
    free(s->text);
    free(s->line_off);
    free(s);
    return;
  }
}

void fc_source_free_all(void) {
  while (sources) {
    source_t *s = sources;
    sources = s->next;
    free(s->text);
    free(s->line_off);
    free(s);
  }
}
