/* Findings, tool-level failures and the string intern table they point
 * into. Findings are collected per translation unit on worker threads and
 * merged by the driver; only fc_intern is shared between threads. */
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *fc_xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q) {
    fputs("fa-check: out of memory\n", stderr);
    abort();
  }
  return q;
}

void *fc_xcalloc(size_t n, size_t size) {
  void *q = calloc(n ? n : 1, size ? size : 1);
  if (!q) {
    fputs("fa-check: out of memory\n", stderr);
    abort();
  }
  return q;
}

char *fc_xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(fc_xrealloc(NULL, n), s, n);
}

char *fc_vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return fc_xstrdup(fmt);
  char *s = fc_xrealloc(NULL, (size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

/* ---- interned strings: an open-addressing set behind one mutex -------- */

static pthread_mutex_t intern_lock = PTHREAD_MUTEX_INITIALIZER;
static char **intern_v;
static size_t intern_n, intern_cap;

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static void intern_grow(void) {
  size_t cap = intern_cap ? intern_cap * 2 : 256;
  char **v = fc_xrealloc(NULL, cap * sizeof(*v));
  memset(v, 0, cap * sizeof(*v));
  for (size_t i = 0; i < intern_cap; i++) {
    if (!intern_v[i])
      continue;
    size_t j = hash_str(intern_v[i]) & (cap - 1);
    while (v[j])
      j = (j + 1) & (cap - 1);
    v[j] = intern_v[i];
  }
  free(intern_v);
  intern_v = v;
  intern_cap = cap;
}

const char *fc_intern(const char *s) {
  if (!s)
    return NULL;
  pthread_mutex_lock(&intern_lock);
  if ((intern_n + 1) * 2 > intern_cap)
    intern_grow();
  size_t j = hash_str(s) & (intern_cap - 1);
  while (intern_v[j] && strcmp(intern_v[j], s) != 0)
    j = (j + 1) & (intern_cap - 1);
  if (!intern_v[j]) {
    intern_v[j] = fc_xstrdup(s);
    intern_n++;
  }
  const char *r = intern_v[j];
  pthread_mutex_unlock(&intern_lock);
  return r;
}

/* ---- findings --------------------------------------------------------- */

fc_diag_t *fc_diag_add(fc_diag_list_t *l, int code, fc_loc_t loc,
                       const char *fmt, ...) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 16;
    l->v = fc_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  fc_diag_t *d = &l->v[l->n++];
  memset(d, 0, sizeof(*d));
  d->code = code;
  d->loc = loc;
  va_list ap;
  va_start(ap, fmt);
  d->msg = fc_vformat(fmt, ap);
  va_end(ap);
  return d;
}

void fc_diag_note(fc_diag_t *d, fc_loc_t loc, const char *fmt, ...) {
  d->notes = fc_xrealloc(d->notes, (d->nnotes + 1) * sizeof(*d->notes));
  fc_note_t *n = &d->notes[d->nnotes++];
  n->loc = loc;
  va_list ap;
  va_start(ap, fmt);
  n->msg = fc_vformat(fmt, ap);
  va_end(ap);
}

void fc_diag_move(fc_diag_list_t *dst, fc_diag_list_t *src) {
  if (dst->n + src->n > dst->cap) {
    dst->cap = dst->n + src->n;
    dst->v = fc_xrealloc(dst->v, dst->cap * sizeof(*dst->v));
  }
  if (src->n)
    memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
  dst->n += src->n;
  free(src->v);
  memset(src, 0, sizeof(*src));
}

static int cmp_str(const char *a, const char *b) {
  if (a == b)
    return 0;
  if (!a)
    return -1;
  if (!b)
    return 1;
  return strcmp(a, b);
}

static int cmp_loc(const fc_loc_t *a, const fc_loc_t *b) {
  int c = cmp_str(a->file, b->file);
  if (c)
    return c;
  if (a->line != b->line)
    return a->line < b->line ? -1 : 1;
  if (a->col != b->col)
    return a->col < b->col ? -1 : 1;
  return 0;
}

static int cmp_diag(const void *pa, const void *pb) {
  const fc_diag_t *a = pa, *b = pb;
  int c = cmp_loc(&a->loc, &b->loc);
  if (c)
    return c;
  if (a->code != b->code)
    return a->code < b->code ? -1 : 1;
  c = strcmp(a->msg, b->msg);
  if (c)
    return c;
  /* Equal findings may carry notes in a different order; the first in
   * note order wins, so the result does not depend on thread timing. */
  for (size_t i = 0; i < a->nnotes && i < b->nnotes; i++) {
    c = cmp_loc(&a->notes[i].loc, &b->notes[i].loc);
    if (!c)
      c = strcmp(a->notes[i].msg, b->notes[i].msg);
    if (c)
      return c;
  }
  return a->nnotes < b->nnotes ? -1 : a->nnotes > b->nnotes;
}

void fc_diag_free(fc_diag_t *d) {
  for (size_t i = 0; i < d->nnotes; i++)
    free(d->notes[i].msg);
  free(d->notes);
  free(d->msg);
  for (size_t i = 0; i < d->nedits; i++)
    free(d->edits[i].text);
  free(d->edits);
  free(d->fix);
}

void fc_diag_sort_unique(fc_diag_list_t *l) {
  if (l->n < 2)
    return;
  qsort(l->v, l->n, sizeof(*l->v), cmp_diag);
  size_t w = 1;
  for (size_t r = 1; r < l->n; r++) {
    fc_diag_t *prev = &l->v[w - 1], *d = &l->v[r];
    /* One finding per (position, code, message): the same header analysed
     * in two units gives the same finding twice. */
    if (!cmp_loc(&prev->loc, &d->loc) && prev->code == d->code &&
        !strcmp(prev->msg, d->msg)) {
      fc_diag_free(d);
      continue;
    }
    l->v[w++] = *d;
  }
  l->n = w;
}

void fc_diag_list_free(fc_diag_list_t *l) {
  for (size_t i = 0; i < l->n; i++)
    fc_diag_free(&l->v[i]);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

void fc_failure_add(fc_failure_list_t *l, const char *file, const char *fmt,
                    ...) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = fc_xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  fc_failure_t *f = &l->v[l->n++];
  f->file = fc_intern(file);
  va_list ap;
  va_start(ap, fmt);
  f->msg = fc_vformat(fmt, ap);
  va_end(ap);
}

void fc_failure_list_free(fc_failure_list_t *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i].msg);
  free(l->v);
  memset(l, 0, sizeof(*l));
}

/* ---- locations -------------------------------------------------------- */

/* Removes "." and ".." components and doubled slashes of an absolute path,
 * in place, without touching the file system (symbolic links are kept). */
void fc_path_normalise(char *p) {
  char *w = p;
  for (char *r = p; *r;) {
    while (*r == '/')
      r++;
    char *seg = r;
    while (*r && *r != '/')
      r++;
    size_t n = (size_t)(r - seg);
    if (n == 0 || (n == 1 && seg[0] == '.'))
      continue;
    if (n == 2 && seg[0] == '.' && seg[1] == '.') {
      while (w > p && *--w != '/')
        ;
      continue;
    }
    *w++ = '/';
    memmove(w, seg, n);
    w += n;
  }
  if (w == p)
    *w++ = '/';
  *w = 0;
}

const char *fc_file_path(CXFile file) {
  CXString name = clang_File_tryGetRealPathName(file);
  const char *s = clang_getCString(name);
  if (!s || !*s) {
    clang_disposeString(name);
    name = clang_getFileName(file);
    s = clang_getCString(name);
  }
  const char *r = NULL;
  if (s && *s) {
    char *buf = fc_xstrdup(s);
    if (buf[0] == '/')
      fc_path_normalise(buf);
    r = fc_intern(buf);
    free(buf);
  }
  clang_disposeString(name);
  return r;
}

fc_loc_t fc_loc_of(CXSourceLocation sl) {
  fc_loc_t loc = {NULL, 0, 0};
  CXFile file;
  unsigned line, col;
  clang_getExpansionLocation(sl, &file, &line, &col, NULL);
  if (!file)
    return loc;
  loc.file = fc_file_path(file);
  loc.line = line;
  loc.col = col;
  return loc;
}

const char *fc_relpath(const char *path, const char *root) {
  if (!path || !root || !*root)
    return path;
  size_t n = strlen(root);
  while (n > 1 && root[n - 1] == '/')
    n--;
  if (n == 1 && root[0] == '/')
    return path[0] == '/' ? path + 1 : path;
  if (strncmp(path, root, n) == 0 && path[n] == '/')
    return path + n + 1;
  return path;
}
