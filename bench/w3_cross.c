/* W3, cross-thread frees: the main thread allocates 10 million 64 B
 * objects, writes each one and passes it through a bounded single-producer
 * single-consumer ring of 4,096 entries to a consumer thread, which reads
 * it and frees it. Both sides spin briefly, then yield, when the ring is
 * full or empty; each publishes its index every 32 entries. The two threads
 * are pinned to two different CPUs when there are two. The time covers
 * starting and joining the consumer; the process's peak RSS (one variant
 * per process) is reported with it.
 *
 * Variants: framealloc pools (fa_pool_free on the consumer, the remote-free
 * path), malloc/free (whichever malloc is loaded), and "none": objects
 * recycled from a fixed array, no allocator at all, the floor that the
 * ring and the moving of each object between cores put under every
 * variant. */
#include "common.h"
#include "peers.h"
#include "ring.h"

#include <framealloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define W3_SIZE 64
#define W3_OBJECTS 10000000L
#define W3_OBJECTS_QUICK 1000000L
/* Objects of the "none" variant: twice the ring, so the producer can only
 * reuse an object the consumer finished reading long ago. */
#define W3_RECYCLED (2 * RING_SIZE)

typedef struct w3_ctx_s {
  long objects;
  fa_allocator_t *fa;
  char *recycled; /* "none": W3_RECYCLED objects */
  uint64_t sum;   /* what the consumer read; checked against the expected */
  ring_t ring;
  /* "none": the next object to hand out; written by the producer only, on
   * a cache line of its own so the consumer's reads above don't share it */
  _Alignas(64) size_t recycled_at;
} w3_ctx_t;

/* Each variant v provides alloc (producer side) and free (consumer side). */

static inline void *pool_alloc(w3_ctx_t *c) {
  return fa_pool_alloc(c->fa, W3_SIZE);
}
static inline void pool_free(w3_ctx_t *c, void *p) { fa_pool_free(c->fa, p); }

static inline void *mal_alloc(w3_ctx_t *c) {
  (void)c;
  return malloc(W3_SIZE);
}
static inline void mal_free(w3_ctx_t *c, void *p) {
  (void)c;
  free(p);
}

static inline void *none_alloc(w3_ctx_t *c) {
  void *p = c->recycled + c->recycled_at * W3_SIZE;
  c->recycled_at = (c->recycled_at + 1) % W3_RECYCLED;
  return p;
}
static inline void none_free(w3_ctx_t *c, void *p) {
  (void)c;
  (void)p;
}

/* The consumer thread and the measured repetition of variant v. */
#define W3_DEFINE(v)                                                           \
  static void *w3_##v##_consumer(void *arg) {                                  \
    w3_ctx_t *c = arg;                                                         \
    size_t tail = 0, head_seen = 0;                                            \
    uint64_t sum = 0;                                                          \
    pin_to_cpu(1);                                                             \
    for (long i = 0; i < c->objects; i++) {                                    \
      uint64_t *p = ring_pop(&c->ring, &tail, &head_seen);                     \
      sum += *p;                                                               \
      v##_free(c, p);                                                          \
    }                                                                          \
    c->sum = sum;                                                              \
    return NULL;                                                               \
  }                                                                            \
  static void w3_##v(void *arg) {                                              \
    w3_ctx_t *c = arg;                                                         \
    atomic_store(&c->ring.head, 0);                                            \
    atomic_store(&c->ring.tail, 0);                                            \
    pthread_t consumer;                                                        \
    if (pthread_create(&consumer, NULL, w3_##v##_consumer, c) != 0)            \
      bench_fail("pthread_create failed");                                     \
    size_t head = 0, tail_seen = 0;                                            \
    for (long i = 0; i < c->objects; i++) {                                    \
      uint64_t *p = v##_alloc(c);                                              \
      if (p == NULL)                                                           \
        bench_fail("W3: allocation failed");                                   \
      *p = (uint64_t)i;                                                        \
      ring_push(&c->ring, &head, &tail_seen, p);                               \
    }                                                                          \
    ring_flush(&c->ring, head);                                                \
    pthread_join(consumer, NULL);                                              \
    uint64_t n = (uint64_t)c->objects;                                         \
    if (c->sum != n * (n - 1) / 2)                                             \
      bench_fail("W3: the consumer read wrong values");                        \
  }

W3_DEFINE(pool)
W3_DEFINE(mal)
W3_DEFINE(none)

int bench_w3(const bench_opts_t *o, const char *variant) {
  void (*run)(void *ctx);
  if (strcmp(variant, "fa") == 0)
    run = w3_pool;
  else if (strcmp(variant, "malloc") == 0)
    run = w3_mal;
  else if (strcmp(variant, "none") == 0)
    run = w3_none;
  else
    return 2;

  static w3_ctx_t ctx;
  w3_ctx_t *c = &ctx;
  c->objects = o->quick ? W3_OBJECTS_QUICK : W3_OBJECTS;
  c->objects = bench_env_long("BENCH_W3_OBJECTS", c->objects);
  pin_to_cpu(0);
  if (run == w3_pool && (c->fa = fa_create(NULL)) == NULL)
    bench_fail("fa_create failed");
  if (run == w3_none &&
      (c->recycled = aligned_alloc(64, W3_RECYCLED * W3_SIZE)) == NULL)
    bench_fail("out of memory");

  bench_result_t r = {0};
  r.workload = "w3";
  r.variant = run == w3_mal ? bench_malloc_name() : variant;
  r.ops = (uint64_t)c->objects;
  bench_measure(o, run, c, &r);
  r.check = c->sum;
  bench_print_result(&r);
  return 0;
}
