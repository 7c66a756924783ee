/* test_hostile.c: misuse of the pool and heap tiers that every build,
 * Release included, must survive: double frees and invalid frees on the
 * owner thread or another one (FA004, and nothing changes), two threads
 * freeing one heap block at once, fa_trim after the owner of the blocks
 * exited, a memory source that breaks its alignment contract (FA006), and
 * pool statistics read while threads allocate and free across threads. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <sched.h>
#include <stdlib.h>

#define PAGE ((uintptr_t)64 << 10)

/* Rounds of the free races: fewer where a sanitizer slows the spinning. */
#if defined(__SANITIZE_THREAD__)
#define RACE_ROUNDS 500
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RACE_ROUNDS 500
#endif
#endif
#ifndef RACE_ROUNDS
#define RACE_ROUNDS 5000
#endif

/* Frees p, which must be refused: one FA004, stats unchanged. */
#define EXPECT_BAD_FREE(e, p)                                                  \
  TEST_AT(test_expect_bad_free(e, TEST_TIER_POOL, p))

static int cmp_ptr(const void *x, const void *y) {
  uintptr_t a = *(const uintptr_t *)x, b = *(const uintptr_t *)y;
  return a < b ? -1 : a > b;
}

/* Allocates n blocks of size bytes, fills each, and checks that no two
 * overlap (a free list with a block twice, or a cycle, would give one block
 * twice); then frees them all. */
static void expect_distinct_blocks(test_env_t *e, size_t size, int n) {
  void **p = calloc((size_t)n, sizeof(*p));
  int i;
  ASSERT_NOT_NULL(p);
  for (i = 0; i < n; i++) {
    p[i] = fa_pool_alloc(e->a, size);
    ASSERT_NOT_NULL(p[i]);
    test_fill(p[i], size, (uint64_t)i);
  }
  for (i = 0; i < n; i++)
    ASSERT_EQ(test_check(p[i], size, (uint64_t)i), size);
  qsort(p, (size_t)n, sizeof(*p), cmp_ptr);
  for (i = 1; i < n; i++)
    ASSERT_GE((uintptr_t)p[i] - (uintptr_t)p[i - 1], size);
  for (i = 0; i < n; i++)
    fa_pool_free(e->a, p[i]);
  free(p);
}

/* ---- Row 1: double free on the owner thread --------------------------- */

TEST(pool_double_free_owner) {
  test_env_t e;
  void *keep[4], *p, *only;
  int i;
  test_env_open(&e, NULL);
  /* The only block of its page: a second free must not wrap the count. */
  only = fa_pool_alloc(e.a, 200);
  ASSERT_NOT_NULL(only);
  fa_pool_free(e.a, only);
  EXPECT_BAD_FREE(&e, only);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);

  for (i = 0; i < 4; i++) {
    keep[i] = fa_pool_alloc(e.a, 48);
    ASSERT_NOT_NULL(keep[i]);
  }
  p = fa_pool_alloc(e.a, 48);
  ASSERT_NOT_NULL(p);
  fa_pool_free(e.a, p);
  EXPECT_BAD_FREE(&e, p);
  EXPECT_BAD_FREE(&e, p);
  ASSERT_EQ(test_stats(e.a).pool_count, 4);
  /* The block is on the free list once: never handed out twice. */
  expect_distinct_blocks(&e, 48, 3000);
  for (i = 0; i < 4; i++)
    fa_pool_free(e.a, keep[i]);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_count(&e.log, 4), 3);
  ASSERT_EQ(diag_log_total(&e.log), 3);
  test_env_close(&e);
}

/* ---- Row 2: interior, header and misfit pointers ---------------------- */

TEST(pool_invalid_pointers_in_pages) {
  test_env_t e;
  char *p, *q, *page;
  int bad = 0;
  test_env_open(&e, NULL);
  p = fa_pool_alloc(e.a, 64);
  q = fa_pool_alloc(e.a, 64);
  ASSERT_NOT_NULL(p);
  ASSERT_NOT_NULL(q);
  test_fill(p, 64, 1);
  test_fill(q, 64, 2);
  page = (char *)((uintptr_t)p & ~(PAGE - 1));
  EXPECT_BAD_FREE(&e, p + 8); /* inside the block, not 16-aligned */
  EXPECT_BAD_FREE(&e, p + 16);
  EXPECT_BAD_FREE(&e, p + 48); /* a block start of the 48-byte class */
  EXPECT_BAD_FREE(&e, p + 1);
  EXPECT_BAD_FREE(&e, page); /* the page header */
  EXPECT_BAD_FREE(&e, page + 128);
  EXPECT_BAD_FREE(&e, page + 1024);
  EXPECT_BAD_FREE(&e, page + PAGE - 16); /* past the last block or free */
  bad += 8;
  ASSERT_EQ(diag_log_count(&e.log, 4), bad);
  /* Nothing changed: the blocks keep their data, new blocks overlap
   * nothing, and both frees are accepted once. */
  expect_distinct_blocks(&e, 64, 2000);
  ASSERT_EQ(test_check(p, 64, 1), 64);
  ASSERT_EQ(test_check(q, 64, 2), 64);
  ASSERT_EQ(test_stats(e.a).pool_count, 2);
  fa_pool_free(e.a, p);
  fa_pool_free(e.a, q);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), bad);
  test_env_close(&e);
}

/* ---- Row 3: double frees on another thread ----------------------------- */

typedef struct remote_s {
  fa_allocator_t *a;
  void *b, *c, *d, *e, *freed_by_owner;
} remote_t;

/* b,b then c,d,e,d: one FA004 each; a block the owner freed: FA004. */
static void *remote_double_frees(void *arg) {
  remote_t *r = arg;
  fa_pool_free(r->a, r->b);
  fa_pool_free(r->a, r->b);
  fa_pool_free(r->a, r->c);
  fa_pool_free(r->a, r->d);
  fa_pool_free(r->a, r->e);
  fa_pool_free(r->a, r->d);
  fa_pool_free(r->a, r->freed_by_owner);
  return NULL;
}

TEST(pool_double_free_remote) {
  test_env_t e;
  remote_t r;
  pthread_t t;
  void *keep;
  test_env_open(&e, NULL);
  r.a = e.a;
  keep = fa_pool_alloc(e.a, 32);
  r.b = fa_pool_alloc(e.a, 32);
  r.c = fa_pool_alloc(e.a, 32);
  r.d = fa_pool_alloc(e.a, 32);
  r.e = fa_pool_alloc(e.a, 32);
  r.freed_by_owner = fa_pool_alloc(e.a, 32);
  ASSERT_NOT_NULL(keep);
  ASSERT_NOT_NULL(r.freed_by_owner);
  fa_pool_free(e.a, r.freed_by_owner);
  ASSERT_EQ(pthread_create(&t, NULL, remote_double_frees, &r), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(diag_log_count(&e.log, 4), 3);
  ASSERT_EQ(test_stats(e.a).pool_count, 1);
  /* The owner frees a block whose remote free is still on its way. */
  EXPECT_BAD_FREE(&e, r.b);
  EXPECT_BAD_FREE(&e, r.d);
  /* The remote list and the page's free list hold each block once. */
  expect_distinct_blocks(&e, 32, 5000);
  ASSERT_EQ(test_stats(e.a).pool_count, 1);
  fa_pool_free(e.a, keep);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), 5);
  test_env_close(&e);
}

/* ---- Row 5: fa_trim and the pages of exited threads -------------------- */

#define EXITED_BLOCKS 64

static void *alloc_and_exit(void *arg) {
  void **p = arg;
  fa_allocator_t *a = p[EXITED_BLOCKS];
  int i;
  for (i = 0; i < EXITED_BLOCKS; i++)
    p[i] = fa_pool_alloc(a, 256);
  return NULL;
}

TEST(trim_returns_only_page_of_exited_thread) {
  test_env_t e;
  void *p[EXITED_BLOCKS + 1];
  pthread_t t;
  uint64_t before, after;
  int i;
  test_env_open(&e, NULL);
  fa_trim(e.a); /* this thread's state exists before the count */
  p[EXITED_BLOCKS] = e.a;
  ASSERT_EQ(pthread_create(&t, NULL, alloc_and_exit, p), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  for (i = 0; i < EXITED_BLOCKS; i++) {
    ASSERT_NOT_NULL(p[i]);
    fa_pool_free(e.a, p[i]); /* remote: its owner has exited */
  }
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  before = test_stats(e.a).os_bytes;
  fa_trim(e.a); /* no new thread adopts the exited one's state */
  after = test_stats(e.a).os_bytes;
  ASSERT_GE(before - after, PAGE);
  ASSERT_EQ(test_source_outstanding(&e.src), after);
  fa_trim(e.a);
  ASSERT_EQ(test_stats(e.a).os_bytes, after);
  test_env_close_quiet(&e);
}

/* ---- Row 6: two threads free one heap block at once -------------------- */

typedef struct race_s {
  test_env_t *e;
  void *block;
  int pool; /* fa_pool_free of a large pool block instead of fa_heap_free */
  int rounds;
  int wrong;   /* rounds where not exactly one free was refused */
  int arrived; /* the spin barrier: threads arrived, and its phase */
  int phase;
} race_t;

/* A barrier for the two racing threads that spins, so that both leave it
 * within a few nanoseconds of each other (yielding now and then, for a
 * busy machine). */
static void race_barrier(race_t *r) {
  int phase = __atomic_load_n(&r->phase, __ATOMIC_ACQUIRE);
  unsigned spins = 0;
  if (__atomic_add_fetch(&r->arrived, 1, __ATOMIC_ACQ_REL) == 2) {
    __atomic_store_n(&r->arrived, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&r->phase, phase + 1, __ATOMIC_RELEASE);
    return;
  }
  while (__atomic_load_n(&r->phase, __ATOMIC_ACQUIRE) == phase)
    if (++spins % 65536 == 0)
      sched_yield();
}

/* Thread 0 of the pair allocates the block of each round; both free it
 * at once; thread 0 counts the rounds where not exactly one free was
 * refused (no assertion here: the other thread would wait for ever). */
static void race_round(race_t *r, int first) {
  test_env_t *e = r->e;
  int i, refused = 0;
  for (i = 1; i <= r->rounds; i++) {
    if (first)
      r->block = r->pool ? fa_pool_alloc(e->a, 4096 + 100)
                         : fa_heap_alloc(e->a, 96, 0);
    race_barrier(r);
    if (r->block) {
      if (r->pool)
        fa_pool_free(e->a, r->block);
      else
        fa_heap_free(e->a, r->block);
    }
    race_barrier(r);
    if (first) {
      int now = diag_log_count(&e->log, 4);
      r->wrong += !r->block || now != refused + 1;
      refused = now;
    }
  }
}

static void *race_first(void *arg) {
  race_round(arg, 1);
  return NULL;
}

static void *race_second(void *arg) {
  race_round(arg, 0);
  return NULL;
}

static void run_free_race(int pool) {
  test_env_t e;
  static race_t r;
  pthread_t t1, t2;
  test_env_open(&e, NULL);
  memset(&r, 0, sizeof(r));
  r.e = &e;
  r.pool = pool;
  r.rounds = RACE_ROUNDS;
  ASSERT_EQ(pthread_create(&t1, NULL, race_first, &r), 0);
  ASSERT_EQ(pthread_create(&t2, NULL, race_second, &r), 0);
  ASSERT_EQ(pthread_join(t1, NULL), 0);
  ASSERT_EQ(pthread_join(t2, NULL), 0);
  ASSERT_EQ(r.wrong, 0);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), r.rounds);
  test_env_close(&e); /* no block went back to the source twice */
}

TEST(heap_free_race) { run_free_race(0); }
TEST(pool_large_free_race) { run_free_race(1); }

/* ---- Row 12: a source that returns misaligned memory ------------------- */

typedef struct skew_s {
  fa_memory_source_t src;
  test_source_t *inner;
  int skew; /* nonzero: return memory 8 bytes past an aligned address */
} skew_t;

/* Skewed blocks are 16 bytes larger inside the counting source; their
 * address is 8 modulo 16, which an aligned one never is. */
static void *skew_reserve(size_t size, size_t align, void *user) {
  skew_t *s = user;
  if (!s->skew)
    return s->inner->src.reserve(size, align, s->inner->src.user);
  char *p = s->inner->src.reserve(size + 16, align < 16 ? 16 : align,
                                  s->inner->src.user);
  return p ? p + 8 : NULL;
}

static void skew_release(void *p, size_t size, void *user) {
  skew_t *s = user;
  if (((uintptr_t)p & 15) == 8)
    s->inner->src.release((char *)p - 8, size + 16, s->inner->src.user);
  else
    s->inner->src.release(p, size, s->inner->src.user);
}

TEST(source_misaligned_memory_fa006) {
  test_source_t inner;
  diag_log_t log;
  skew_t s;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  void *p;
  test_source_init(&inner);
  diag_log_init(&log);
  diag_log_config(&log, &cfg);
  s.src.reserve = skew_reserve;
  s.src.release = skew_release;
  s.src.user = &s;
  s.inner = &inner;
  s.skew = 0;
  cfg.memory_source = &s.src;
  a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  s.skew = 1;
  ASSERT_NULL(fa_heap_alloc(a, 100, 0));
  ASSERT_EQ(diag_log_count(&log, 6), 1);
  ASSERT_NULL(fa_heap_alloc(a, 100, 256));
  ASSERT_EQ(diag_log_count(&log, 6), 2);
  ASSERT_NULL(fa_pool_alloc(a, 5000)); /* the pool's heap fallback */
  ASSERT_EQ(diag_log_count(&log, 6), 3);
  test_sink = fa_pool_alloc(a, 64); /* a page, or the thread's state */
  ASSERT_NULL(test_sink);
  ASSERT_GE(diag_log_count(&log, 6), 4);
  ASSERT_EQ(diag_log_level(&log, 6), FA_LEVEL_ERROR);
  ASSERT_EQ(diag_log_count(&log, 6), diag_log_total(&log));
  ASSERT_EQ(test_stats(a).heap_count, 0);
  ASSERT_EQ(test_stats(a).pool_count, 0);
  /* Every misaligned block went back: the source holds what stats say. */
  ASSERT_EQ(test_source_outstanding(&inner), test_stats(a).os_bytes);
  s.skew = 0;
  p = fa_heap_alloc(a, 100, 0);
  ASSERT_NOT_NULL(p);
  fa_heap_free(a, p);
  p = fa_pool_alloc(a, 64);
  ASSERT_NOT_NULL(p);
  ASSERT_EQ(test_aligned(p, 16), 1);
  fa_pool_free(a, p);
  fa_release(a);
  ASSERT_EQ(test_source_outstanding(&inner), 0);
  ASSERT_EQ(test_source_bad(&inner), 0);
  test_source_destroy(&inner);
  diag_log_destroy(&log);
}

/* ---- Row 13: pool_count while threads free across threads --------------- */

#define SLOTS 256
#define WORKERS 4
/* A size class of 64 blocks per page: pages run out, and their owners
 * collect the blocks other threads freed, often. */
#define CHURN_SIZE 1008

typedef struct churn_s {
  fa_allocator_t *a;
  void *slot[SLOTS];
  int stop;   /* set when the reads are done */
  int rounds; /* at least this many swaps per worker */
  pthread_barrier_t start;
} churn_t;

/* Swaps a new block into a random slot and frees what was there, most
 * often a block another thread allocated. A thread holds at most one
 * block outside the slots, so at most SLOTS + WORKERS blocks are live. */
static void *churn(void *arg) {
  churn_t *c = arg;
  uint64_t s = (uint64_t)(uintptr_t)&s;
  int i;
  pthread_barrier_wait(&c->start);
  for (i = 0; i < c->rounds || !__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE);
       i++) {
    s = test_mix64(s);
    void *p = fa_pool_alloc(c->a, CHURN_SIZE);
    ASSERT_NOT_NULL(p);
    void *old = __atomic_exchange_n(&c->slot[s % SLOTS], p, __ATOMIC_ACQ_REL);
    if (old)
      fa_pool_free(c->a, old);
  }
  return NULL;
}

TEST(stats_pool_count_bounded_under_churn) {
  test_env_t e;
  static churn_t c;
  pthread_t t[WORKERS];
  int i, reads, live = 0;
  test_env_open(&e, NULL);
  memset(&c, 0, sizeof(c));
  c.a = e.a;
  c.rounds = 1000;
  ASSERT_EQ(pthread_barrier_init(&c.start, NULL, WORKERS + 1), 0);
  for (i = 0; i < WORKERS; i++)
    ASSERT_EQ(pthread_create(&t[i], NULL, churn, &c), 0);
  pthread_barrier_wait(&c.start);
  /* Read while the workers run; they stop once the reads are done. */
  while (test_stats(e.a).pool_count == 0)
    sched_yield();
  for (reads = 0; reads < 50000; reads++) {
    fa_stats_t st = test_stats(e.a);
    ASSERT_LE(st.pool_count, SLOTS + WORKERS);
    ASSERT_LE(st.pool_bytes, (uint64_t)(SLOTS + WORKERS) * CHURN_SIZE);
  }
  __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
  for (i = 0; i < WORKERS; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&c.start);
  for (i = 0; i < SLOTS; i++)
    live += c.slot[i] != NULL;
  ASSERT_EQ(test_stats(e.a).pool_count, live);
  for (i = 0; i < SLOTS; i++)
    fa_pool_free(e.a, c.slot[i]);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(pool_double_free_owner),
    TEST_ENTRY(pool_invalid_pointers_in_pages),
    TEST_ENTRY(pool_double_free_remote),
    TEST_ENTRY(trim_returns_only_page_of_exited_thread),
    TEST_ENTRY(heap_free_race),
    TEST_ENTRY(pool_large_free_race),
    TEST_ENTRY(source_misaligned_memory_fa006),
    TEST_ENTRY(stats_pool_count_bounded_under_churn),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
