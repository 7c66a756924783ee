/* W2, pool allocation: 10 million random allocations and frees of 64 B.
 * A seeded xorshift picks one of 20,000 slots per operation: a full slot
 * is freed, an empty one gets a new block, so about 10,000 blocks are live
 * in the steady state. Each new block is written; each block is read back
 * before it is freed, and the values read go into a checksum.
 *
 * Variants: framealloc pools, the naive free list, malloc/free (whichever
 * malloc is loaded) and talloc (children of one context, freed one by
 * one). State carries over from one repetition to the next, so every timed
 * repetition starts from the steady state the warm-up reached. */
#include "common.h"
#include "naive.h"
#include "peers.h"

#include <framealloc.h>
#include <stdlib.h>
#include <string.h>

#ifdef BENCH_HAVE_TALLOC
#include <talloc.h>
#endif

#define W2_SLOTS 20000
#define W2_SIZE 64
#define W2_OPS 10000000L
#define W2_OPS_QUICK 1000000L
#define W2_OPS_CALLGRIND 1000000L

typedef struct w2_ctx_s {
  long ops;
  uint64_t rng;
  uint64_t check;
  fa_allocator_t *fa;
  naive_list_t list;
  void *tctx;
  void *slot[W2_SLOTS];
} w2_ctx_t;

/* Each variant v provides a handle type v_h and alloc/free, as in W1. */

typedef fa_allocator_t *pool_h;
static inline pool_h pool_handle(w2_ctx_t *c) { return c->fa; }
static inline void *pool_alloc(pool_h a) { return fa_pool_alloc(a, W2_SIZE); }
static inline void pool_free(pool_h a, void *p) { fa_pool_free(a, p); }

typedef naive_list_t *list_h;
static inline list_h list_handle(w2_ctx_t *c) { return &c->list; }
static inline void *list_alloc(list_h l) { return naive_list_alloc(l); }
static inline void list_free(list_h l, void *p) { naive_list_free(l, p); }

typedef void *mal_h;
static inline mal_h mal_handle(w2_ctx_t *c) { return c; }
static inline void *mal_alloc(mal_h c) {
  (void)c;
  return malloc(W2_SIZE);
}
static inline void mal_free(mal_h c, void *p) {
  (void)c;
  free(p);
}

#ifdef BENCH_HAVE_TALLOC
typedef void *tal_h;
static inline tal_h tal_handle(w2_ctx_t *c) { return c->tctx; }
static inline void *tal_alloc(tal_h t) { return talloc_size(t, W2_SIZE); }
static inline void tal_free(tal_h t, void *p) {
  (void)t;
  talloc_free(p);
}
#endif

/* The measured loop of variant v. The branch on the slot state is random
 * and costs every variant the same mispredictions. */
#define W2_DEFINE(v)                                                           \
  static void w2_##v(void *arg) {                                              \
    w2_ctx_t *c = arg;                                                         \
    v##_h h = v##_handle(c);                                                   \
    uint64_t s = c->rng, sum = 0;                                              \
    for (long i = 0; i < c->ops; i++) {                                        \
      uint32_t k = bench_rand_below(&s, W2_SLOTS);                             \
      uint64_t *p = c->slot[k];                                                \
      if (p != NULL) {                                                         \
        sum += *p;                                                             \
        v##_free(h, p);                                                        \
        c->slot[k] = NULL;                                                     \
      } else {                                                                 \
        p = v##_alloc(h);                                                      \
        if (p == NULL)                                                         \
          bench_fail("W2: allocation failed");                                 \
        *p = (uint64_t)i;                                                      \
        c->slot[k] = p;                                                        \
      }                                                                        \
      bench_clobber();                                                         \
    }                                                                          \
    c->rng = s;                                                                \
    c->check += sum;                                                           \
  }

W2_DEFINE(pool)
W2_DEFINE(list)
W2_DEFINE(mal)
#ifdef BENCH_HAVE_TALLOC
W2_DEFINE(tal)
#endif

static void setup_fa(w2_ctx_t *c) {
  c->fa = fa_create(NULL);
  if (c->fa == NULL)
    bench_fail("fa_create failed");
}

static void setup_list(w2_ctx_t *c) {
  /* Never more blocks live than slots: the slab cannot run out. */
  size_t bytes = (size_t)W2_SLOTS * W2_SIZE;
  char *slab = aligned_alloc(64, bytes);
  if (slab == NULL)
    bench_fail("out of memory");
  c->list.free = NULL;
  c->list.next = slab;
  c->list.end = slab + bytes;
  c->list.size = W2_SIZE;
}

static void setup_none(w2_ctx_t *c) { (void)c; }

#ifdef BENCH_HAVE_TALLOC
static void setup_tal(w2_ctx_t *c) {
  c->tctx = talloc_new(NULL);
  if (c->tctx == NULL)
    bench_fail("talloc_new failed");
}
#endif

typedef struct w2_variant_s {
  const char *name;
  void (*setup)(w2_ctx_t *c);
  void (*run)(void *ctx);
} w2_variant_t;

static const w2_variant_t variants[] = {
    {"fa", setup_fa, w2_pool},
    {"list", setup_list, w2_list},
    {"malloc", setup_none, w2_mal},
#ifdef BENCH_HAVE_TALLOC
    {"talloc", setup_tal, w2_tal},
#endif
};

int bench_w2(const bench_opts_t *o, const char *variant) {
  const w2_variant_t *v = NULL;
  for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
    if (strcmp(variants[i].name, variant) == 0)
      v = &variants[i];
  if (v == NULL)
    return 2;

  static w2_ctx_t ctx; /* the slot array is large; keep it off the stack */
  w2_ctx_t *c = &ctx;
  c->ops = o->callgrind ? W2_OPS_CALLGRIND : o->quick ? W2_OPS_QUICK : W2_OPS;
  c->ops = bench_env_long("BENCH_W2_OPS", c->ops);
  c->rng = 0x2545f4914f6cdd1du;
  v->setup(c);

  bench_result_t r = {0};
  r.workload = "w2";
  r.variant = strcmp(v->name, "malloc") == 0 ? bench_malloc_name() : v->name;
  r.ops = (uint64_t)c->ops;
  bench_measure(o, v->run, c, &r);
  r.check = c->check;
  bench_print_result(&r);
  return 0;
}
