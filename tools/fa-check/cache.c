/* The result cache (--cache DIR, FA_CHECK_CACHE): the facts of each
 * translation unit (its fc_unit_t, what lower.c keeps of the AST), saved
 * after a parse and loaded instead of parsing when nothing the parse read
 * has changed.
 *
 * What is cached is the unit's facts, not its findings: the summaries
 * across units and the rules run again on every run, over the facts of
 * every unit, cached or not. So a unit whose own text is unchanged is
 * still checked against the current summaries of the others (a helper
 * edited in another file changes the findings of its callers), and the
 * rule set, levels and suppressions chosen for a run apply to it.
 *
 * An entry is found by a key over the checker (a hash of its own
 * executable and the libclang version), the effective configuration (which
 * names lowering treats as frame allocators, spawners, suspension points),
 * the file and its arguments. The entry lists every file the preprocessor
 * read for that unit (the main file and each included header) with a hash
 * of its content: it is used only when all of them still hash the same,
 * so the entry stands for exactly one preprocessed text. A header that is
 * added where the preprocessor would find it before the one it read is not
 * noticed (as with ccache's direct mode); clear the cache after such a
 * change to the include paths.
 *
 * The file format is private to one build of the checker (host byte
 * order). Entries are written to a temporary file and renamed, so runs may
 * share a directory; each carries a checksum, and a damaged one is a miss. */
#include "ir.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "FACACHE1"

struct fc_cache_s {
  char *dir;
  uint64_t base; /* the checker and the configuration */
  pthread_mutex_t lock;
  size_t hits, misses, stores;
  unsigned tmp_seq;
};

/* ---- hashing ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 1099511628211u;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
  return fnv(h, s ? s : "", s ? strlen(s) + 1 : 1);
}

static uint64_t fnv_u64(uint64_t h, uint64_t v) { return fnv(h, &v, sizeof v); }

static uint64_t hash_names(uint64_t h, const fc_names_t *n) {
  h = fnv_u64(h, n->n);
  for (size_t i = 0; i < n->n; i++)
    h = fnv_str(h, n->v[i]);
  return h;
}

static uint64_t hash_config(uint64_t h, const fc_config_t *cfg) {
  for (int i = 0; i < 2; i++)
    h = fnv_u64(h, (uint64_t)(int64_t)cfg->family_level[i]);
  for (int i = 0; i < 1000; i++)
    h = fnv_u64(h, (uint64_t)(int64_t)cfg->code_level[i]);
  h = fnv_u64(h, cfg->nspawn);
  for (size_t i = 0; i < cfg->nspawn; i++) {
    h = fnv_str(h, cfg->spawn[i].name);
    h = fnv_u64(h, (uint64_t)cfg->spawn[i].arg);
  }
  h = hash_names(h, &cfg->await);
  h = hash_names(h, &cfg->frame);
  h = hash_names(h, &cfg->async);
  h = hash_names(h, &cfg->begin);
  return hash_names(h, &cfg->end);
}

/* The hashes of the files read in this run, by interned path: a header
 * shared by many units is read once. */
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static struct memo_s {
  const char *path;
  uint64_t hash;
  int ok;
} * memo;
static size_t memo_n, memo_cap;

static size_t memo_slot(const char *path) {
  size_t j =
      (size_t)(((uintptr_t)path * 0x9e3779b97f4a7c15u) >> 7) & (memo_cap - 1);
  while (memo[j].path && memo[j].path != path)
    j = (j + 1) & (memo_cap - 1);
  return j;
}

/* The content hash of `path` (interned) in *out; returns 0 when the file
 * cannot be read. */
static int file_hash(const char *path, uint64_t *out) {
  pthread_mutex_lock(&memo_lock);
  if (memo_cap) {
    size_t j = memo_slot(path);
    if (memo[j].path) {
      *out = memo[j].hash;
      int ok = memo[j].ok;
      pthread_mutex_unlock(&memo_lock);
      return ok;
    }
  }
  pthread_mutex_unlock(&memo_lock);
  size_t len;
  char *text = fc_read_file(path, &len);
  uint64_t h = text ? fnv(1469598103934665603u, text, len) : 0;
  free(text);
  pthread_mutex_lock(&memo_lock);
  if ((memo_n + 1) * 2 > memo_cap) {
    struct memo_s *old = memo;
    size_t ocap = memo_cap;
    memo_cap = memo_cap ? memo_cap * 2 : 1024;
    memo = fc_xcalloc(memo_cap, sizeof(*memo));
    for (size_t i = 0; i < ocap; i++)
      if (old[i].path)
        memo[memo_slot(old[i].path)] = old[i];
    free(old);
  }
  size_t j = memo_slot(path);
  if (!memo[j].path) {
    memo[j].path = path;
    memo[j].hash = h;
    memo[j].ok = text != NULL;
    memo_n++;
  }
  pthread_mutex_unlock(&memo_lock);
  *out = h;
  return text != NULL;
}

/* ---- a byte buffer and the unit's encoding ------------------------------- */

typedef struct buf_s {
  unsigned char *p;
  size_t n, cap;
} buf_t;

static void put(buf_t *b, const void *p, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 256;
    b->p = fc_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put32(buf_t *b, uint32_t v) { put(b, &v, sizeof v); }
static void put64(buf_t *b, uint64_t v) { put(b, &v, sizeof v); }

/* Strings of a unit: interned pointers, numbered from 1 (0 is NULL). */
typedef struct strtab_s {
  const char **slot;
  uint32_t *index;
  size_t cap, n;
  const char **order;
} strtab_t;

static uint32_t str_id(strtab_t *t, const char *s) {
  if (!s)
    return 0;
  if ((t->n + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    const char **slot = fc_xcalloc(cap, sizeof(*slot));
    uint32_t *index = fc_xcalloc(cap, sizeof(*index));
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->slot[i])
        continue;
      size_t j = ((uintptr_t)t->slot[i] >> 4) & (cap - 1);
      while (slot[j])
        j = (j + 1) & (cap - 1);
      slot[j] = t->slot[i];
      index[j] = t->index[i];
    }
    free(t->slot);
    free(t->index);
    t->slot = slot;
    t->index = index;
    t->cap = cap;
  }
  size_t j = ((uintptr_t)s >> 4) & (t->cap - 1);
  while (t->slot[j] && t->slot[j] != s)
    j = (j + 1) & (t->cap - 1);
  if (!t->slot[j]) {
    t->slot[j] = s;
    t->index[j] = (uint32_t)++t->n;
    t->order = fc_xrealloc(t->order, t->n * sizeof(*t->order));
    t->order[t->n - 1] = s;
  }
  return t->index[j];
}

static void put_loc(buf_t *b, strtab_t *t, fc_loc_t l) {
  put32(b, str_id(t, l.file));
  put32(b, l.line);
  put32(b, l.col);
}

/* The unit's arrays into `body`, their strings into `t`. */
static void encode_unit(const fc_unit_t *u, buf_t *b, strtab_t *t) {
  put32(b, (uint32_t)u->fns.n);
  for (size_t i = 0; i < u->fns.n; i++) {
    const fc_fn_t *f = &u->fns.v[i];
    uint32_t v[] = {f->ref,  f->bb,    f->nbb, f->var, f->nvar,
                    f->path, f->npath, f->ev,  f->nev, f->ncall};
    put(b, v, sizeof v);
    put_loc(b, t, f->loc);
  }
  put32(b, (uint32_t)u->refs.n);
  for (size_t i = 0; i < u->refs.n; i++) {
    const fc_ref_t *r = &u->refs.v[i];
    put32(b, str_id(t, r->usr));
    put32(b, str_id(t, r->name));
    put32(b, r->flags);
    put_loc(b, t, r->attr_loc);
  }
  put32(b, (uint32_t)u->bbs.n);
  for (size_t i = 0; i < u->bbs.n; i++) {
    const fc_bb_t *x = &u->bbs.v[i];
    uint32_t v[] = {x->ev, x->nev, x->succ, x->nsucc};
    put(b, v, sizeof v);
  }
  put32(b, (uint32_t)u->succs.n);
  put(b, u->succs.v, u->succs.n * sizeof(uint32_t));
  put32(b, (uint32_t)u->evs.n);
  for (size_t i = 0; i < u->evs.n; i++) {
    const fc_ev_t *e = &u->evs.v[i];
    uint32_t v[] = {e->kind, e->flags, e->a, e->b, e->n, e->c, e->key};
    put(b, v, sizeof v);
    put_loc(b, t, e->loc);
  }
  put32(b, (uint32_t)u->args.n);
  for (size_t i = 0; i < u->args.n; i++) {
    const fc_arg_t *a = &u->args.v[i];
    uint32_t v[] = {a->src, a->nsrc, a->fnref};
    put(b, v, sizeof v);
    put_loc(b, t, a->loc);
  }
  put32(b, (uint32_t)u->srcs.n);
  put(b, u->srcs.v, u->srcs.n * sizeof(uint32_t));
  put32(b, (uint32_t)u->vars.n);
  for (size_t i = 0; i < u->vars.n; i++) {
    const fc_var_t *x = &u->vars.v[i];
    uint32_t v[] = {str_id(t, x->name), x->path, x->is_ptr, x->storage};
    put(b, v, sizeof v);
  }
  put32(b, (uint32_t)u->paths.n);
  for (size_t i = 0; i < u->paths.n; i++) {
    const fc_path_t *x = &u->paths.v[i];
    uint32_t v[] = {x->var, str_id(t, x->field), x->next};
    put(b, v, sizeof v);
  }
  put32(b, (uint32_t)u->keys.n);
  for (size_t i = 0; i < u->keys.n; i++)
    put32(b, str_id(t, u->keys.v[i]));
}

/* ---- reading ------------------------------------------------------------ */

typedef struct rd_s {
  const unsigned char *p, *end;
  int bad;
  const char **strs; /* interned, [0] NULL */
  uint32_t nstrs;
} rd_t;

static void take(rd_t *r, void *out, size_t n) {
  if (r->bad || (size_t)(r->end - r->p) < n) {
    r->bad = 1;
    memset(out, 0, n);
    return;
  }
  memcpy(out, r->p, n);
  r->p += n;
}

static uint32_t get32(rd_t *r) {
  uint32_t v;
  take(r, &v, sizeof v);
  return v;
}

static uint64_t get64(rd_t *r) {
  uint64_t v;
  take(r, &v, sizeof v);
  return v;
}

static const char *get_str(rd_t *r) {
  uint32_t i = get32(r);
  if (i > r->nstrs) {
    r->bad = 1;
    return NULL;
  }
  return r->strs[i];
}

static fc_loc_t get_loc(rd_t *r) {
  fc_loc_t l;
  l.file = get_str(r);
  l.line = get32(r);
  l.col = get32(r);
  return l;
}

/* A count of elements of `size` bytes each that fits in what is left. */
static uint32_t get_count(rd_t *r, size_t size) {
  uint32_t n = get32(r);
  if ((size_t)(r->end - r->p) / (size ? size : 1) < n)
    r->bad = 1;
  return r->bad ? 0 : n;
}

#define GET_VEC(r, vec, n)                                                     \
  do {                                                                         \
    FC_VEC_RESERVE(vec, (n) ? (n) : 1);                                        \
    (vec).n = (n);                                                             \
  } while (0)

static fc_unit_t *decode_unit(rd_t *r) {
  fc_unit_t *u = fc_xcalloc(1, sizeof(*u));
  uint32_t n = get_count(r, 13 * 4);
  GET_VEC(r, u->fns, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_fn_t *f = &u->fns.v[i];
    uint32_t v[10];
    take(r, v, sizeof v);
    f->ref = v[0], f->bb = v[1], f->nbb = v[2], f->var = v[3], f->nvar = v[4];
    f->path = v[5], f->npath = v[6], f->ev = v[7], f->nev = v[8];
    f->ncall = v[9];
    f->loc = get_loc(r);
  }
  n = get_count(r, 6 * 4);
  GET_VEC(r, u->refs, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_ref_t *x = &u->refs.v[i];
    x->usr = get_str(r);
    x->name = get_str(r);
    x->flags = get32(r);
    x->attr_loc = get_loc(r);
  }
  n = get_count(r, 4 * 4);
  GET_VEC(r, u->bbs, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_bb_t *x = &u->bbs.v[i];
    x->ev = get32(r), x->nev = get32(r), x->succ = get32(r);
    x->nsucc = get32(r);
  }
  n = get_count(r, 4);
  GET_VEC(r, u->succs, n);
  take(r, u->succs.v, n * sizeof(uint32_t));
  n = get_count(r, 10 * 4);
  GET_VEC(r, u->evs, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_ev_t *e = &u->evs.v[i];
    uint32_t v[7];
    take(r, v, sizeof v);
    e->kind = (uint8_t)v[0], e->flags = (uint8_t)v[1], e->a = v[2];
    e->b = v[3], e->n = v[4], e->c = v[5], e->key = v[6];
    e->loc = get_loc(r);
  }
  n = get_count(r, 6 * 4);
  GET_VEC(r, u->args, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_arg_t *a = &u->args.v[i];
    a->src = get32(r), a->nsrc = get32(r), a->fnref = get32(r);
    a->loc = get_loc(r);
  }
  n = get_count(r, 4);
  GET_VEC(r, u->srcs, n);
  take(r, u->srcs.v, n * sizeof(uint32_t));
  n = get_count(r, 4 * 4);
  GET_VEC(r, u->vars, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_var_t *x = &u->vars.v[i];
    x->name = get_str(r);
    x->path = get32(r);
    x->is_ptr = (uint8_t)get32(r);
    x->storage = (uint8_t)get32(r);
  }
  n = get_count(r, 3 * 4);
  GET_VEC(r, u->paths, n);
  for (uint32_t i = 0; i < n; i++) {
    fc_path_t *x = &u->paths.v[i];
    x->var = get32(r);
    x->field = get_str(r);
    x->next = get32(r);
  }
  n = get_count(r, 4);
  GET_VEC(r, u->keys, n);
  for (uint32_t i = 0; i < n; i++)
    u->keys.v[i] = get_str(r);
  if (r->bad || r->p != r->end) {
    fc_unit_free(u);
    return NULL;
  }
  return u;
}

/* ---- the cache ------------------------------------------------------------
 */

/* The checker's identity: its own executable (any rebuild changes it) and
 * the libclang it parses with. */
static uint64_t checker_hash(void) {
  uint64_t h = fnv_str(1469598103934665603u, MAGIC);
  h = fnv_str(h, fc_tool_version());
  CXString v = clang_getClangVersion();
  h = fnv_str(h, clang_getCString(v));
  clang_disposeString(v);
  size_t len;
  char *exe = fc_read_file("/proc/self/exe", &len);
  if (exe)
    h = fnv(h, exe, len);
  free(exe);
  return h;
}

/* mkdir -p */
static int make_dirs(const char *dir) {
  char *p = fc_xstrdup(dir);
  int rc = 0;
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s)
      continue;
    char c = *s;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST)
      rc = -1;
    *s = c;
    if (!c || rc)
      break;
  }
  struct stat st;
  if (!rc && (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)))
    rc = -1;
  free(p);
  return rc;
}

fc_cache_t *fc_cache_open(const char *dir, const fc_config_t *cfg) {
  if (make_dirs(dir) != 0 || access(dir, W_OK) != 0) {
    fprintf(stderr, "fa-check: error: cannot use the cache directory %s: %s\n",
            dir, strerror(errno ? errno : EACCES));
    return NULL;
  }
  fc_cache_t *c = fc_xcalloc(1, sizeof(*c));
  c->dir = fc_xstrdup(dir);
  c->base = hash_config(checker_hash(), cfg);
  pthread_mutex_init(&c->lock, NULL);
  return c;
}

void fc_cache_close(fc_cache_t *c) {
  if (!c)
    return;
  const char *stats = getenv("FA_CHECK_CACHE_STATS");
  if (stats && *stats && strcmp(stats, "0") != 0)
    fprintf(stderr, "fa-check: cache: %zu hit%s, %zu miss%s, %zu stored\n",
            c->hits, c->hits == 1 ? "" : "s", c->misses,
            c->misses == 1 ? "" : "es", c->stores);
  pthread_mutex_destroy(&c->lock);
  free(c->dir);
  free(c);
}

static uint64_t input_key(const fc_cache_t *c, const fc_input_t *in) {
  uint64_t h = fnv_str(c->base, in->file);
  h = fnv_u64(h, in->nargs);
  for (size_t i = 0; i < in->nargs; i++)
    h = fnv_str(h, in->args[i]);
  return h;
}

static char *entry_path(const fc_cache_t *c, uint64_t key) {
  size_t n = strlen(c->dir) + 32;
  char *p = fc_xrealloc(NULL, n);
  snprintf(p, n, "%s/%016llx.fcu", c->dir, (unsigned long long)key);
  return p;
}

static void count(fc_cache_t *c, size_t *what) {
  pthread_mutex_lock(&c->lock);
  (*what)++;
  pthread_mutex_unlock(&c->lock);
}

fc_unit_t *fc_cache_get(fc_cache_t *c, const fc_input_t *in,
                        const fc_changed_t *changed, int *reads_changed) {
  int reads = 0;
  uint64_t key = input_key(c, in);
  char *path = entry_path(c, key);
  size_t len = 0;
  char *data = fc_read_file(path, &len);
  free(path);
  fc_unit_t *u = NULL;
  rd_t r = {(const unsigned char *)data, (const unsigned char *)data + len, 0,
            NULL, 0};
  char magic[8];
  if (!data || len < 24)
    goto out;
  take(&r, magic, 8);
  if (memcmp(magic, MAGIC, 8) != 0 || get64(&r) != key)
    goto out;
  /* A damaged entry (a crash while writing, a bad disk) is a miss. */
  uint64_t sum = get64(&r);
  if (r.bad || fnv(1469598103934665603u, r.p, (size_t)(r.end - r.p)) != sum)
    goto out;
  /* The files the preprocessor read, each still as it was. */
  uint32_t ndeps = get_count(&r, 12);
  for (uint32_t i = 0; i < ndeps && !r.bad; i++) {
    uint32_t n = get_count(&r, 1);
    char *name = fc_xrealloc(NULL, n + 1);
    take(&r, name, n);
    name[n] = 0;
    uint64_t want = get64(&r), got;
    const char *file = fc_intern(name);
    int ok = !r.bad && file_hash(file, &got) && got == want;
    if (changed && ok && !reads)
      reads = fc_changed_has(changed, file);
    free(name);
    if (!ok)
      goto out;
  }
  /* The strings, interned, then the unit. */
  r.nstrs = get_count(&r, 4);
  r.strs = fc_xcalloc((size_t)r.nstrs + 1, sizeof(*r.strs));
  for (uint32_t i = 1; i <= r.nstrs && !r.bad; i++) {
    uint32_t n = get_count(&r, 1);
    char *s = fc_xrealloc(NULL, n + 1);
    take(&r, s, n);
    s[n] = 0;
    r.strs[i] = fc_intern(s);
    free(s);
  }
  if (!r.bad)
    u = decode_unit(&r);
out:
  free(r.strs);
  free(data);
  count(c, u ? &c->hits : &c->misses);
  if (reads_changed)
    *reads_changed = reads;
  return u;
}

typedef struct deps_s {
  const char **v;
  size_t n;
  int relative; /* a file whose absolute name is unknown */
} deps_t;

static void add_dep(deps_t *d, CXFile file) {
  const char *p = fc_file_path(file);
  if (!p || p[0] != '/') {
    d->relative = 1;
    return;
  }
  for (size_t i = 0; i < d->n; i++)
    if (d->v[i] == p)
      return;
  d->v = fc_xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
  d->v[d->n++] = p;
}

static void visit_inclusion(CXFile file, CXSourceLocation *stack, unsigned n,
                            CXClientData data) {
  (void)stack;
  (void)n;
  add_dep(data, file);
}

void fc_cache_put(fc_cache_t *c, const fc_input_t *in, CXTranslationUnit tu,
                  const fc_unit_t *u) {
  deps_t deps = {NULL, 0, 0};
  CXFile main_file = clang_getFile(tu, in->file);
  if (main_file)
    add_dep(&deps, main_file);
  clang_getInclusions(tu, visit_inclusion, &deps);
  buf_t head = {0}, body = {0};
  strtab_t t = {0};
  if (deps.relative || !deps.n)
    goto out;
  uint64_t key = input_key(c, in);
  put(&head, MAGIC, 8);
  put64(&head, key);
  put64(&head, 0); /* the checksum of what follows, set below */
  put32(&head, (uint32_t)deps.n);
  for (size_t i = 0; i < deps.n; i++) {
    uint64_t h;
    if (!file_hash(deps.v[i], &h))
      goto out;
    put32(&head, (uint32_t)strlen(deps.v[i]));
    put(&head, deps.v[i], strlen(deps.v[i]));
    put64(&head, h);
  }
  encode_unit(u, &body, &t);
  put32(&head, (uint32_t)t.n);
  for (size_t i = 0; i < t.n; i++) {
    put32(&head, (uint32_t)strlen(t.order[i]));
    put(&head, t.order[i], strlen(t.order[i]));
  }
  put(&head, body.p, body.n);
  uint64_t sum = fnv(1469598103934665603u, head.p + 24, head.n - 24);
  memcpy(head.p + 16, &sum, sizeof sum);

  /* A temporary name of this process and call, then the entry's name. */
  char *path = entry_path(c, key);
  pthread_mutex_lock(&c->lock);
  unsigned seq = c->tmp_seq++;
  pthread_mutex_unlock(&c->lock);
  size_t tn = strlen(c->dir) + 64;
  char *tmp = fc_xrealloc(NULL, tn);
  snprintf(tmp, tn, "%s/.tmp.%ld.%u", c->dir, (long)getpid(), seq);
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(head.p, 1, head.n, f) == head.n;
  if (f && fclose(f) != 0)
    ok = 0;
  if (ok && rename(tmp, path) == 0)
    count(c, &c->stores);
  else
    unlink(tmp);
  free(tmp);
  free(path);
out:
  free(deps.v);
  free(head.p);
  free(body.p);
  free(t.slot);
  free(t.index);
  free(t.order);
}
