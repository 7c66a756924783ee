/* W4, task memory: 100,000 task scopes, each of which creates an allocator
 * for one piece of asynchronous work, makes 100 allocations of sizes mixed
 * between 16 and 256 B (one seeded sequence, the same in every scope and
 * for every variant), writes one word into each block, and destroys the
 * allocator, freeing everything at once. The whole scope is timed, creation
 * and destruction included; the figure is the time per scope.
 *
 * Variants: framealloc tasks (fa_task_create/fa_task_alloc/fa_task_destroy);
 * the naive bump pointer over one reused buffer, reset per scope (the cost
 * floor); APR pools created and destroyed per scope, and one APR pool
 * cleared per scope; talloc (talloc_new, talloc_size children, talloc_free
 * of the parent); obstack initialised and freed whole per scope
 * (obstack_free(NULL)), and one obstack freed back to the scope's first
 * object; mimalloc heaps (mi_heap_new/mi_heap_malloc/mi_heap_destroy, run
 * with mimalloc preloaded and found by dlsym, so the other variants keep
 * glibc's malloc); and malloc/free of every block (whichever malloc is
 * loaded). */
#include "common.h"
#include "naive.h"
#include "peers.h"

#include <dlfcn.h>
#include <framealloc.h>
#include <framealloc/task.h>
#include <obstack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef BENCH_HAVE_APR
#include <apr_general.h>
#include <apr_pools.h>
#endif
#ifdef BENCH_HAVE_TALLOC
#include <talloc.h>
#endif

#define obstack_chunk_alloc malloc
#define obstack_chunk_free free

#define W4_ALLOCS 100
#define W4_SCOPES 100000
#define W4_SCOPES_QUICK 10000
#define W4_SCOPES_CALLGRIND 2000
#define W4_BUMP_SIZE (64u << 10) /* more than any scope of W4 needs */

/* The mimalloc heap API, looked up at run time (see peers.h). */
typedef void *(*mi_heap_new_fn)(void);
typedef void *(*mi_heap_malloc_fn)(void *heap, size_t size);
typedef void (*mi_heap_destroy_fn)(void *heap);

typedef struct w4_ctx_s {
  long scopes;
  uint16_t sizes[W4_ALLOCS]; /* the mixed sizes, the same every scope */
  fa_allocator_t *fa;
  naive_bump_t bump;
  void *ptrs[W4_ALLOCS]; /* malloc: the scope's blocks, freed at its end */
  int nptrs;
  struct obstack ob;
  void *ob_first; /* obstack-first: the scope's first object */
  mi_heap_new_fn mi_new;
  mi_heap_destroy_fn mi_destroy;
  struct w4_mih_s {
    void *heap;               /* the scope's heap */
    mi_heap_malloc_fn malloc; /* mi_heap_malloc */
  } mih;
#ifdef BENCH_HAVE_APR
  apr_pool_t *apr_root; /* parent of the per-scope pools */
  apr_pool_t *apr;      /* apr-clear: the one pool */
#endif
} w4_ctx_t;

/* Each variant v provides a handle type v_h made by v_create at the start
 * of a scope, and alloc and destroy. */

typedef fa_task_t *task_h;
static inline task_h task_create(w4_ctx_t *c) { return fa_task_create(c->fa); }
static inline void *task_alloc(task_h t, size_t n) {
  return fa_task_alloc(t, n, 16);
}
static inline void task_destroy(w4_ctx_t *c, task_h t) {
  (void)c;
  fa_task_destroy(t);
}

typedef naive_bump_t *bump_h;
static inline bump_h bump_create(w4_ctx_t *c) { return &c->bump; }
static inline void *bump_alloc(bump_h b, size_t n) {
  return naive_bump_alloc(b, n);
}
static inline void bump_destroy(w4_ctx_t *c, bump_h b) {
  (void)c;
  naive_bump_reset(b);
}

typedef w4_ctx_t *mal_h;
static inline mal_h mal_create(w4_ctx_t *c) {
  c->nptrs = 0;
  return c;
}
static inline void *mal_alloc(mal_h c, size_t n) {
  void *p = malloc(n);
  c->ptrs[c->nptrs++] = p;
  return p;
}
static inline void mal_destroy(w4_ctx_t *c, mal_h h) {
  (void)h;
  for (int i = 0; i < c->nptrs; i++)
    free(c->ptrs[i]);
}

typedef struct obstack *obs_h;
static inline obs_h obs_create(w4_ctx_t *c) {
  if (!obstack_init(&c->ob))
    return NULL;
  return &c->ob;
}
static inline void *obs_alloc(obs_h ob, size_t n) {
  return obstack_alloc(ob, n);
}
static inline void obs_destroy(w4_ctx_t *c, obs_h ob) {
  (void)c;
  obstack_free(ob, NULL);
}

/* One obstack for all scopes: the scope's first object is remembered, and
 * the scope ends by freeing back to it, which keeps the chunk holding it
 * and frees the chunks the scope added after it. */
typedef w4_ctx_t *obsf_h;
static inline obsf_h obsf_create(w4_ctx_t *c) {
  c->ob_first = NULL;
  return c;
}
static inline void *obsf_alloc(obsf_h c, size_t n) {
  void *p = obstack_alloc(&c->ob, n);
  if (c->ob_first == NULL)
    c->ob_first = p;
  return p;
}
static inline void obsf_destroy(w4_ctx_t *c, obsf_h h) {
  (void)h;
  obstack_free(&c->ob, c->ob_first);
}

/* mimalloc: the heap and the allocation function travel together. */
typedef struct w4_mih_s *mih_h;
static inline mih_h mih_create(w4_ctx_t *c) {
  c->mih.heap = c->mi_new();
  return c->mih.heap != NULL ? &c->mih : NULL;
}
static inline void *mih_alloc(mih_h h, size_t n) {
  return h->malloc(h->heap, n);
}
static inline void mih_destroy(w4_ctx_t *c, mih_h h) { c->mi_destroy(h->heap); }

#ifdef BENCH_HAVE_APR
typedef apr_pool_t *aprp_h;
static inline aprp_h aprp_create(w4_ctx_t *c) {
  apr_pool_t *p;
  return apr_pool_create(&p, c->apr_root) == APR_SUCCESS ? p : NULL;
}
static inline void *aprp_alloc(aprp_h p, size_t n) { return apr_palloc(p, n); }
static inline void aprp_destroy(w4_ctx_t *c, aprp_h p) {
  (void)c;
  apr_pool_destroy(p);
}

typedef apr_pool_t *aprc_h;
static inline aprc_h aprc_create(w4_ctx_t *c) { return c->apr; }
static inline void *aprc_alloc(aprc_h p, size_t n) { return apr_palloc(p, n); }
static inline void aprc_destroy(w4_ctx_t *c, aprc_h p) {
  (void)c;
  apr_pool_clear(p);
}
#endif

#ifdef BENCH_HAVE_TALLOC
typedef void *tal_h;
static inline tal_h tal_create(w4_ctx_t *c) {
  (void)c;
  return talloc_new(NULL);
}
static inline void *tal_alloc(tal_h t, size_t n) { return talloc_size(t, n); }
static inline void tal_destroy(w4_ctx_t *c, tal_h t) {
  (void)c;
  talloc_free(t);
}
#endif

/* The measured loop of variant v. A NULL handle or block fails the run. */
#define W4_DEFINE(v)                                                           \
  static void w4_##v(void *arg) {                                              \
    w4_ctx_t *c = arg;                                                         \
    for (long s = 0; s < c->scopes; s++) {                                     \
      v##_h h = v##_create(c);                                                 \
      if (h == NULL)                                                           \
        bench_fail("W4: creating the scope's allocator failed");               \
      for (uint64_t i = 0; i < W4_ALLOCS; i++) {                               \
        uint64_t *p = v##_alloc(h, c->sizes[i]);                               \
        if (p == NULL)                                                         \
          bench_fail("W4: allocation failed");                                 \
        *p = i;                                                                \
        bench_clobber();                                                       \
      }                                                                        \
      v##_destroy(c, h);                                                       \
    }                                                                          \
  }

W4_DEFINE(task)
W4_DEFINE(bump)
W4_DEFINE(mal)
W4_DEFINE(obs)
W4_DEFINE(obsf)
W4_DEFINE(mih)
#ifdef BENCH_HAVE_APR
W4_DEFINE(aprp)
W4_DEFINE(aprc)
#endif
#ifdef BENCH_HAVE_TALLOC
W4_DEFINE(tal)
#endif

/* ---- Set-up of each variant -------------------------------------------- */

static int setup_fa(w4_ctx_t *c) {
  c->fa = fa_create(NULL);
  if (c->fa == NULL)
    bench_fail("fa_create failed");
  return 0;
}

static int setup_bump(w4_ctx_t *c) {
  void *buf = aligned_alloc(64, W4_BUMP_SIZE);
  if (buf == NULL)
    bench_fail("out of memory");
  memset(buf, 0, W4_BUMP_SIZE); /* fault the pages in, as a warm arena */
  c->bump.base = c->bump.ptr = (uintptr_t)buf;
  c->bump.end = (uintptr_t)buf + W4_BUMP_SIZE;
  return 0;
}

static int setup_none(w4_ctx_t *c) {
  (void)c;
  return 0;
}

static int setup_obsf(w4_ctx_t *c) {
  if (!obstack_init(&c->ob))
    bench_fail("obstack_init failed");
  return 0;
}

/* dlsym returns void *; the cast to a function pointer goes through an
 * integer so that -Wpedantic accepts it (POSIX guarantees it works). */
#define W4_LOOKUP(T, sym) ((T)(uintptr_t)dlsym(RTLD_DEFAULT, sym))

static int setup_mih(w4_ctx_t *c) {
  c->mi_new = W4_LOOKUP(mi_heap_new_fn, "mi_heap_new");
  c->mih.malloc = W4_LOOKUP(mi_heap_malloc_fn, "mi_heap_malloc");
  c->mi_destroy = W4_LOOKUP(mi_heap_destroy_fn, "mi_heap_destroy");
  if (c->mi_new == NULL || c->mih.malloc == NULL || c->mi_destroy == NULL) {
    fprintf(stderr, "fa-bench: W4 mi-heap needs mimalloc loaded "
                    "(LD_PRELOAD=libmimalloc.so)\n");
    return 1;
  }
  return 0;
}

#ifdef BENCH_HAVE_APR
static int setup_apr(w4_ctx_t *c) {
  if (apr_initialize() != APR_SUCCESS ||
      apr_pool_create(&c->apr_root, NULL) != APR_SUCCESS ||
      apr_pool_create(&c->apr, c->apr_root) != APR_SUCCESS)
    bench_fail("APR initialisation failed");
  return 0;
}
#endif

typedef struct w4_variant_s {
  const char *name;
  int (*setup)(w4_ctx_t *c);
  void (*run)(void *ctx);
} w4_variant_t;

static const w4_variant_t variants[] = {
    {"fa", setup_fa, w4_task},
    {"bump", setup_bump, w4_bump},
    {"malloc", setup_none, w4_mal},
    {"obstack", setup_none, w4_obs},
    {"obstack-first", setup_obsf, w4_obsf},
    {"mi-heap", setup_mih, w4_mih},
#ifdef BENCH_HAVE_APR
    {"apr", setup_apr, w4_aprp},
    {"apr-clear", setup_apr, w4_aprc},
#endif
#ifdef BENCH_HAVE_TALLOC
    {"talloc", setup_none, w4_tal},
#endif
};

int bench_w4(const bench_opts_t *o, const char *variant) {
  const w4_variant_t *v = NULL;
  for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
    if (strcmp(variants[i].name, variant) == 0)
      v = &variants[i];
  if (v == NULL)
    return 2;

  static w4_ctx_t ctx;
  w4_ctx_t *c = &ctx;
  c->scopes = o->callgrind ? W4_SCOPES_CALLGRIND
              : o->quick   ? W4_SCOPES_QUICK
                           : W4_SCOPES;
  c->scopes = bench_env_long("BENCH_W4_SCOPES", c->scopes);
  uint64_t seed = 0x6a09e667f3bcc909u;
  for (int i = 0; i < W4_ALLOCS; i++)
    c->sizes[i] = (uint16_t)(16 + bench_rand_below(&seed, 256 - 16 + 1));
  if (v->setup(c) != 0)
    return 1;

  bench_result_t r = {0};
  r.workload = "w4";
  r.variant = strcmp(v->name, "malloc") == 0 ? bench_malloc_name() : v->name;
  r.ops = (uint64_t)c->scopes;
  bench_measure(o, v->run, c, &r);
  bench_print_result(&r);
  return 0;
}
