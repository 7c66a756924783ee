/* Guard, a batch shared by threads: 1,000,000 allocations of 64 B in all,
 * made by 4 threads (or 1, for reference) into ONE batch, each block
 * written once, then the whole batch freed at once. A repetition is timed
 * from the creation of the batch to its destruction, starting and joining
 * the threads included; the threads start their allocations together at a
 * barrier. The figure is the time per allocation.
 *
 * Variants: framealloc's pool guard (fa_pool_guard_create/alloc/destroy),
 * where each thread allocates in a region of its own, and "tracker", the
 * Rust crate's design: malloc each block and record its pointer in one
 * growable vector under one mutex shared by all threads, free every
 * recorded pointer at the end. */
#include "common.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD_SIZE 64
#define GUARD_ALLOCS 1000000L
#define GUARD_ALLOCS_QUICK 100000L
#define GUARD_MAX_THREADS 64

/* The Rust crate's batch: every pointer recorded under one lock. */
typedef struct tracker_s {
  pthread_mutex_t lock;
  void **ptrs;
  size_t n, cap;
} tracker_t;

static int tracker_init(tracker_t *t) {
  t->ptrs = NULL;
  t->n = t->cap = 0;
  return pthread_mutex_init(&t->lock, NULL);
}

static void *tracker_alloc(tracker_t *t, size_t size) {
  void *p = malloc(size);
  if (p == NULL)
    return NULL;
  pthread_mutex_lock(&t->lock);
  if (t->n == t->cap) {
    /* Doubling growth, as a Rust Vec does. */
    size_t cap = t->cap ? 2 * t->cap : 16;
    void **v = realloc(t->ptrs, cap * sizeof(*v));
    if (v == NULL) {
      pthread_mutex_unlock(&t->lock);
      free(p);
      return NULL;
    }
    t->ptrs = v;
    t->cap = cap;
  }
  t->ptrs[t->n++] = p;
  pthread_mutex_unlock(&t->lock);
  return p;
}

static void tracker_destroy(tracker_t *t) {
  for (size_t i = 0; i < t->n; i++)
    free(t->ptrs[i]);
  free(t->ptrs);
  pthread_mutex_destroy(&t->lock);
}

typedef struct guard_ctx_s {
  long allocs; /* in all, shared out between the threads */
  int threads;
  int use_fa; /* 1: fa_pool_guard_t, 0: tracker */
  fa_allocator_t *fa;
  fa_pool_guard_t *g;
  tracker_t tr;
  pthread_barrier_t start;
} guard_ctx_t;

typedef struct guard_worker_s {
  guard_ctx_t *c;
  long n; /* allocations this thread makes */
} guard_worker_t;

static void *guard_worker(void *arg) {
  guard_worker_t *w = arg;
  guard_ctx_t *c = w->c;
  pthread_barrier_wait(&c->start);
  if (c->use_fa) {
    fa_pool_guard_t *g = c->g;
    for (long i = 0; i < w->n; i++) {
      uint64_t *p = fa_pool_guard_alloc(g, GUARD_SIZE, 16);
      if (p == NULL)
        bench_fail("guard: allocation failed");
      *p = (uint64_t)i;
      bench_clobber();
    }
  } else {
    tracker_t *t = &c->tr;
    for (long i = 0; i < w->n; i++) {
      uint64_t *p = tracker_alloc(t, GUARD_SIZE);
      if (p == NULL)
        bench_fail("guard: allocation failed");
      *p = (uint64_t)i;
      bench_clobber();
    }
  }
  return NULL;
}

/* One repetition: create the batch, fill it from every thread, free it. */
static void guard_rep(void *arg) {
  guard_ctx_t *c = arg;
  pthread_t tid[GUARD_MAX_THREADS];
  guard_worker_t w[GUARD_MAX_THREADS];

  if (c->use_fa) {
    if ((c->g = fa_pool_guard_create(c->fa)) == NULL)
      bench_fail("fa_pool_guard_create failed");
  } else if (tracker_init(&c->tr) != 0) {
    bench_fail("pthread_mutex_init failed");
  }
  if (pthread_barrier_init(&c->start, NULL, (unsigned)c->threads) != 0)
    bench_fail("pthread_barrier_init failed");
  for (int i = 0; i < c->threads; i++) {
    w[i].c = c;
    /* The remainder goes to the first thread. */
    w[i].n = c->allocs / c->threads + (i == 0 ? c->allocs % c->threads : 0);
    if (pthread_create(&tid[i], NULL, guard_worker, &w[i]) != 0)
      bench_fail("pthread_create failed");
  }
  for (int i = 0; i < c->threads; i++)
    pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&c->start);
  if (c->use_fa)
    fa_pool_guard_destroy(c->g);
  else
    tracker_destroy(&c->tr);
}

int bench_guard(const bench_opts_t *o, const char *variant,
                const char *threads) {
  static guard_ctx_t ctx;
  guard_ctx_t *c = &ctx;
  if (strcmp(variant, "fa") == 0)
    c->use_fa = 1;
  else if (strcmp(variant, "tracker") == 0)
    c->use_fa = 0;
  else
    return 2;
  char *end;
  long n = strtol(threads, &end, 10);
  if (*end != '\0' || n < 1 || n > GUARD_MAX_THREADS)
    return 2;
  c->threads = (int)n;
  c->allocs = o->quick ? GUARD_ALLOCS_QUICK : GUARD_ALLOCS;
  c->allocs = bench_env_long("BENCH_GUARD_ALLOCS", c->allocs);
  if (c->allocs < c->threads)
    c->allocs = c->threads;
  if (c->use_fa && (c->fa = fa_create(NULL)) == NULL)
    bench_fail("fa_create failed");

  bench_result_t r = {0};
  /* The workload name carries the thread count: one table row per
   * (workload, variant) in the report. */
  static char name[24];
  snprintf(name, sizeof(name), "guard-%dt", c->threads);
  r.workload = name;
  r.variant = variant;
  r.ops = (uint64_t)c->allocs;
  bench_measure(o, guard_rep, c, &r);
  bench_print_result(&r);
  return 0;
}
