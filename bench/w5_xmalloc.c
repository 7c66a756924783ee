/* W5, one thread allocates, N threads free: the shape of mimalloc-bench's
 * xmalloc-test (run there as `xmalloc-test -w N -s 64`). The main thread
 * allocates 4 million 64 B objects, writes each one and deals them, in runs
 * of 64, to W5_FREERS threads (default 2, BENCH_W5_THREADS) through one
 * single-producer single-consumer ring each (bench/ring.h); every freeing
 * thread reads and frees what it gets. Every free is a remote free, and
 * the blocks of one page come back from several threads at once. The time
 * covers starting and joining the freeing threads.
 *
 * The producer runs on the first CPU and the freeing threads share the
 * others (on a 2-core machine, one core for all of them).
 *
 * Variants: framealloc pools, malloc/free (whichever malloc is loaded), and
 * "none": objects recycled from a fixed array, no allocator, the floor of
 * the transport. */
#include "common.h"
#include "peers.h"
#include "ring.h"

#include <framealloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define W5_SIZE 64
#define W5_OBJECTS 4000000L
#define W5_OBJECTS_QUICK 400000L
#define W5_RUN 64 /* objects dealt to one thread before the next */
#define W5_MAX_FREERS 8
/* "none": objects to recycle from; more than all rings hold at once. */
#define W5_RECYCLED (4 * RING_SIZE * W5_MAX_FREERS)

typedef struct w5_ctx_s w5_ctx_t;

typedef struct w5_freer_s {
  w5_ctx_t *c;
  int index;
  long objects; /* how many this thread frees */
  uint64_t sum;
  ring_t ring;
} w5_freer_t;

struct w5_ctx_s {
  long objects;
  int freers;
  fa_allocator_t *fa;
  char *recycled;
  size_t recycled_at;
  w5_freer_t f[W5_MAX_FREERS];
};

static inline void *pool_alloc(w5_ctx_t *c) {
  return fa_pool_alloc(c->fa, W5_SIZE);
}
static inline void pool_free(w5_ctx_t *c, void *p) { fa_pool_free(c->fa, p); }

static inline void *mal_alloc(w5_ctx_t *c) {
  (void)c;
  return malloc(W5_SIZE);
}
static inline void mal_free(w5_ctx_t *c, void *p) {
  (void)c;
  free(p);
}

static inline void *none_alloc(w5_ctx_t *c) {
  void *p = c->recycled + c->recycled_at * W5_SIZE;
  c->recycled_at = (c->recycled_at + 1) % W5_RECYCLED;
  return p;
}
static inline void none_free(w5_ctx_t *c, void *p) {
  (void)c;
  (void)p;
}

/* How many of n objects, dealt in runs of W5_RUN to k threads in turn,
 * thread i gets. */
static long share_of(long n, int k, int i) {
  long runs = n / W5_RUN, rest = n % W5_RUN;
  long got = runs / k * W5_RUN;
  long extra = runs % k;
  if (i < extra)
    got += W5_RUN;
  else if (i == extra)
    got += rest;
  return got;
}

#define W5_DEFINE(v)                                                           \
  static void *w5_##v##_freer(void *arg) {                                     \
    w5_freer_t *f = arg;                                                       \
    size_t tail = 0, head_seen = 0;                                            \
    uint64_t sum = 0;                                                          \
    pin_to_cpu(1);                                                             \
    for (long i = 0; i < f->objects; i++) {                                    \
      uint64_t *p = ring_pop(&f->ring, &tail, &head_seen);                     \
      sum += *p;                                                               \
      v##_free(f->c, p);                                                       \
    }                                                                          \
    f->sum = sum;                                                              \
    return NULL;                                                               \
  }                                                                            \
  static void w5_##v(void *arg) {                                              \
    w5_ctx_t *c = arg;                                                         \
    pthread_t th[W5_MAX_FREERS];                                               \
    size_t head[W5_MAX_FREERS] = {0}, tail_seen[W5_MAX_FREERS] = {0};          \
    for (int k = 0; k < c->freers; k++) {                                      \
      w5_freer_t *f = &c->f[k];                                                \
      f->c = c;                                                                \
      f->index = k;                                                            \
      f->objects = share_of(c->objects, c->freers, k);                         \
      atomic_store(&f->ring.head, 0);                                          \
      atomic_store(&f->ring.tail, 0);                                          \
      if (pthread_create(&th[k], NULL, w5_##v##_freer, f) != 0)                \
        bench_fail("pthread_create failed");                                   \
    }                                                                          \
    int k = 0;                                                                 \
    for (long i = 0; i < c->objects; i++) {                                    \
      uint64_t *p = v##_alloc(c);                                              \
      if (p == NULL)                                                           \
        bench_fail("W5: allocation failed");                                   \
      *p = (uint64_t)i;                                                        \
      ring_push(&c->f[k].ring, &head[k], &tail_seen[k], p);                    \
      if ((i + 1) % W5_RUN == 0)                                               \
        k = (k + 1) % c->freers;                                               \
    }                                                                          \
    uint64_t sum = 0;                                                          \
    for (int j = 0; j < c->freers; j++) {                                      \
      ring_flush(&c->f[j].ring, head[j]);                                      \
      pthread_join(th[j], NULL);                                               \
      sum += c->f[j].sum;                                                      \
    }                                                                          \
    uint64_t n = (uint64_t)c->objects;                                         \
    if (sum != n * (n - 1) / 2)                                                \
      bench_fail("W5: the freeing threads read wrong values");                 \
  }

W5_DEFINE(pool)
W5_DEFINE(mal)
W5_DEFINE(none)

int bench_w5(const bench_opts_t *o, const char *variant) {
  void (*run)(void *ctx);
  if (strcmp(variant, "fa") == 0)
    run = w5_pool;
  else if (strcmp(variant, "malloc") == 0)
    run = w5_mal;
  else if (strcmp(variant, "none") == 0)
    run = w5_none;
  else
    return 2;

  static w5_ctx_t ctx;
  w5_ctx_t *c = &ctx;
  c->objects = o->quick ? W5_OBJECTS_QUICK : W5_OBJECTS;
  c->objects = bench_env_long("BENCH_W5_OBJECTS", c->objects);
  c->freers = (int)bench_env_long("BENCH_W5_THREADS", 2);
  if (c->freers < 1 || c->freers > W5_MAX_FREERS)
    bench_fail("BENCH_W5_THREADS must be 1 to 8");
  pin_to_cpu(0);
  if (run == w5_pool && (c->fa = fa_create(NULL)) == NULL)
    bench_fail("fa_create failed");
  if (run == w5_none &&
      (c->recycled = aligned_alloc(64, (size_t)W5_RECYCLED * W5_SIZE)) == NULL)
    bench_fail("out of memory");

  bench_result_t r = {0};
  r.workload = "w5";
  r.variant = run == w5_mal ? bench_malloc_name() : variant;
  r.ops = (uint64_t)c->objects;
  bench_measure(o, run, c, &r);
  r.check = (uint64_t)c->objects;
  bench_print_result(&r);
  return 0;
}
