/* W1, frame allocation: frames of 1,000 allocations of 64 B (or of sizes
 * mixed between 16 and 256 B), each block touched with one word, the whole
 * frame released at once. Opening and releasing the frame are timed.
 *
 * Variants: framealloc (align 16, and align 0 as the docs allow; with a
 * history of 256 frames, "fa-history"; writing a trace, "fa-trace"), the naive
 * bump pointer, malloc/free of every block (whichever malloc is loaded),
 * APR pools (apr_pool_clear), talloc (talloc_new/talloc_free) and obstack
 * (obstack_free back to a mark). */
#include "common.h"
#include "naive.h"
#include "peers.h"

#include <framealloc.h>
#include <framealloc/timeline.h>
#ifndef _WIN32
#include <obstack.h>
#include <unistd.h>
#define BENCH_HAVE_OBSTACK 1
#endif
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

#define W1_ALLOCS 1000
#define W1_FRAMES 10000
#define W1_FRAMES_QUICK 1000
#define W1_FRAMES_CALLGRIND 200
#define W1_BUMP_SIZE (1u << 20)   /* more than any frame of W1 needs */
#define W1_CHUNK_SIZE (64u << 10) /* obstack chunks, as fa's first chunk */

typedef struct w1_ctx_s {
  long frames;
  uint16_t sizes[W1_ALLOCS]; /* the mixed sizes, the same every frame */
  fa_allocator_t *fa;
  naive_bump_t bump;
  void *ptrs[W1_ALLOCS]; /* malloc: the frame's blocks, freed at its end */
  int nptrs;
#ifdef BENCH_HAVE_OBSTACK
  struct obstack ob;
  void *ob_mark;
#endif
#ifdef BENCH_HAVE_APR
  apr_pool_t *apr;
#endif
#ifdef BENCH_HAVE_TALLOC
  void *tctx;
#endif
} w1_ctx_t;

/* Each variant v provides a handle type v_h taken once before the loop (an
 * allocator pointer, as a caller would hold), and begin/alloc/end. */

typedef fa_allocator_t *frame_h;
static inline frame_h frame_handle(w1_ctx_t *c) { return c->fa; }
static inline void frame_begin(frame_h a) { fa_begin_frame(a); }
static inline void *frame_alloc(frame_h a, size_t n) {
  return fa_frame_alloc(a, n, 16);
}
static inline void frame_end(frame_h a) { fa_end_frame(a); }

typedef fa_allocator_t *frame0_h;
static inline frame0_h frame0_handle(w1_ctx_t *c) { return c->fa; }
static inline void frame0_begin(frame0_h a) { fa_begin_frame(a); }
static inline void *frame0_alloc(frame0_h a, size_t n) {
  return fa_frame_alloc(a, n, 0);
}
static inline void frame0_end(frame0_h a) { fa_end_frame(a); }

typedef naive_bump_t *bump_h;
static inline bump_h bump_handle(w1_ctx_t *c) { return &c->bump; }
static inline void bump_begin(bump_h b) { (void)b; }
static inline void *bump_alloc(bump_h b, size_t n) {
  return naive_bump_alloc(b, n);
}
static inline void bump_end(bump_h b) { naive_bump_reset(b); }

typedef w1_ctx_t *mal_h;
static inline mal_h mal_handle(w1_ctx_t *c) { return c; }
static inline void mal_begin(mal_h c) { c->nptrs = 0; }
static inline void *mal_alloc(mal_h c, size_t n) {
  void *p = malloc(n);
  c->ptrs[c->nptrs++] = p;
  return p;
}
static inline void mal_end(mal_h c) {
  for (int i = 0; i < c->nptrs; i++)
    free(c->ptrs[i]);
}

#ifdef BENCH_HAVE_OBSTACK
typedef w1_ctx_t *obs_h;
static inline obs_h obs_handle(w1_ctx_t *c) { return c; }
static inline void obs_begin(obs_h c) { c->ob_mark = obstack_alloc(&c->ob, 0); }
static inline void *obs_alloc(obs_h c, size_t n) {
  return obstack_alloc(&c->ob, n);
}
static inline void obs_end(obs_h c) { obstack_free(&c->ob, c->ob_mark); }
#endif

#ifdef BENCH_HAVE_APR
typedef apr_pool_t *aprp_h;
static inline aprp_h aprp_handle(w1_ctx_t *c) { return c->apr; }
static inline void aprp_begin(aprp_h p) { (void)p; }
static inline void *aprp_alloc(aprp_h p, size_t n) { return apr_palloc(p, n); }
static inline void aprp_end(aprp_h p) { apr_pool_clear(p); }
#endif

#ifdef BENCH_HAVE_TALLOC
typedef w1_ctx_t *tal_h;
static inline tal_h tal_handle(w1_ctx_t *c) { return c; }
static inline void tal_begin(tal_h c) { c->tctx = talloc_new(NULL); }
static inline void *tal_alloc(tal_h c, size_t n) {
  return talloc_size(c->tctx, n);
}
static inline void tal_end(tal_h c) { talloc_free(c->tctx); }
#endif

/* The measured loops of variant v, one per size mode. The 64 B size is a
 * constant, as in a caller allocating a known type; the mixed sizes come
 * from a table read by every variant alike. */
#define W1_DEFINE(v)                                                           \
  static void w1_##v##_64(void *arg) {                                         \
    w1_ctx_t *c = arg;                                                         \
    v##_h h = v##_handle(c);                                                   \
    for (long f = 0; f < c->frames; f++) {                                     \
      v##_begin(h);                                                            \
      for (uint64_t i = 0; i < W1_ALLOCS; i++) {                               \
        uint64_t *p = v##_alloc(h, 64);                                        \
        if (p == NULL)                                                         \
          bench_fail("W1: allocation failed");                                 \
        *p = i;                                                                \
        bench_clobber();                                                       \
      }                                                                        \
      v##_end(h);                                                              \
    }                                                                          \
  }                                                                            \
  static void w1_##v##_mixed(void *arg) {                                      \
    w1_ctx_t *c = arg;                                                         \
    v##_h h = v##_handle(c);                                                   \
    for (long f = 0; f < c->frames; f++) {                                     \
      v##_begin(h);                                                            \
      for (uint64_t i = 0; i < W1_ALLOCS; i++) {                               \
        uint64_t *p = v##_alloc(h, c->sizes[i]);                               \
        if (p == NULL)                                                         \
          bench_fail("W1: allocation failed");                                 \
        *p = i;                                                                \
        bench_clobber();                                                       \
      }                                                                        \
      v##_end(h);                                                              \
    }                                                                          \
  }

W1_DEFINE(frame)
W1_DEFINE(frame0)
W1_DEFINE(bump)
W1_DEFINE(mal)
#ifdef BENCH_HAVE_OBSTACK
W1_DEFINE(obs)
#endif
#ifdef BENCH_HAVE_APR
W1_DEFINE(aprp)
#endif
#ifdef BENCH_HAVE_TALLOC
W1_DEFINE(tal)
#endif

/* ---- Set-up of each variant -------------------------------------------- */

static void setup_fa(w1_ctx_t *c) {
  c->fa = fa_create(NULL);
  if (c->fa == NULL)
    bench_fail("fa_create failed");
}

/* History of 256 frames per thread (<framealloc/timeline.h>). */
static void setup_fa_history(w1_ctx_t *c) {
  fa_config_t cfg = {0};
  cfg.history_frames = 256;
  c->fa = fa_create(&cfg);
  if (c->fa == NULL)
    bench_fail("fa_create failed");
}

/* A trace written to a file: BENCH_TRACE_DIR (default /tmp), unlinked at
 * once (the writes still go to the disk's page cache, as a kept file's
 * would). */
static void setup_fa_trace(w1_ctx_t *c) {
  const char *dir = getenv("BENCH_TRACE_DIR");
  char path[4096];
#ifdef _WIN32
  snprintf(path, sizeof(path), "%s/fa-bench-trace.json",
           dir && *dir ? dir : ".");
#else
  snprintf(path, sizeof(path), "%s/fa-bench-trace-%ld.json",
           dir && *dir ? dir : "/tmp", (long)getpid());
#endif
  setup_fa(c);
  if (fa_trace_open(c->fa, path) != 0)
    bench_fail("fa_trace_open failed");
#ifndef _WIN32
  unlink(path);
#endif
}

static void setup_bump(w1_ctx_t *c) {
  void *buf = aligned_alloc(64, W1_BUMP_SIZE);
  if (buf == NULL)
    bench_fail("out of memory");
  memset(buf, 0, W1_BUMP_SIZE); /* fault the pages in, as a warm arena */
  c->bump.base = c->bump.ptr = (uintptr_t)buf;
  c->bump.end = (uintptr_t)buf + W1_BUMP_SIZE;
}

static void setup_none(w1_ctx_t *c) { (void)c; }

#ifdef BENCH_HAVE_OBSTACK
static void setup_obs(w1_ctx_t *c) {
  if (!obstack_begin(&c->ob, W1_CHUNK_SIZE))
    bench_fail("obstack_begin failed");
}
#endif

#ifdef BENCH_HAVE_APR
static void setup_apr(w1_ctx_t *c) {
  if (apr_initialize() != APR_SUCCESS ||
      apr_pool_create(&c->apr, NULL) != APR_SUCCESS)
    bench_fail("APR initialisation failed");
}
#endif

typedef struct w1_variant_s {
  const char *name;
  void (*setup)(w1_ctx_t *c);
  void (*run_64)(void *ctx);
  void (*run_mixed)(void *ctx);
} w1_variant_t;

static const w1_variant_t variants[] = {
    {"fa", setup_fa, w1_frame_64, w1_frame_mixed},
    {"fa-align0", setup_fa, w1_frame0_64, w1_frame0_mixed},
    {"fa-history", setup_fa_history, w1_frame_64, w1_frame_mixed},
    {"fa-trace", setup_fa_trace, w1_frame_64, w1_frame_mixed},
    {"bump", setup_bump, w1_bump_64, w1_bump_mixed},
    {"malloc", setup_none, w1_mal_64, w1_mal_mixed},
#ifdef BENCH_HAVE_OBSTACK
    {"obstack", setup_obs, w1_obs_64, w1_obs_mixed},
#endif
#ifdef BENCH_HAVE_APR
    {"apr", setup_apr, w1_aprp_64, w1_aprp_mixed},
#endif
#ifdef BENCH_HAVE_TALLOC
    {"talloc", setup_none, w1_tal_64, w1_tal_mixed},
#endif
};

int bench_w1(const bench_opts_t *o, const char *variant, const char *size) {
  const w1_variant_t *v = NULL;
  for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
    if (strcmp(variants[i].name, variant) == 0)
      v = &variants[i];
  int mixed = size != NULL && strcmp(size, "mixed") == 0;
  if (v == NULL || (size != NULL && !mixed && strcmp(size, "64") != 0))
    return 2;

  static w1_ctx_t ctx; /* large; static keeps it off the stack */
  w1_ctx_t *c = &ctx;
  c->frames = o->callgrind ? W1_FRAMES_CALLGRIND
              : o->quick   ? W1_FRAMES_QUICK
                           : W1_FRAMES;
  c->frames = bench_env_long("BENCH_W1_FRAMES", c->frames);
  uint64_t seed = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < W1_ALLOCS; i++)
    c->sizes[i] = (uint16_t)(16 + bench_rand_below(&seed, 256 - 16 + 1));
  v->setup(c);

  bench_result_t r = {0};
  r.workload = mixed ? "w1-mixed" : "w1-64";
  r.variant = strcmp(v->name, "malloc") == 0 ? bench_malloc_name() : v->name;
  r.ops = (uint64_t)c->frames * W1_ALLOCS;
  bench_measure(o, mixed ? v->run_mixed : v->run_64, c, &r);
  bench_print_result(&r);
  /* Everything is left to process exit: each variant runs in a process of
   * its own. */
  return 0;
}
