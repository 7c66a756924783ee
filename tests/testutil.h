/* testutil.h: helpers shared by the framealloc tests.
 *
 * diag_log_t records the diagnostics an allocator raises (install it with
 * diag_log_config), so that a test can assert "FA001 raised once".
 *
 * test_source_t is a memory source for fa_config_t.memory_source that counts
 * what the library obtains (outstanding bytes, reserve calls), checks that
 * every release matches a reserve, fills new memory with garbage (the
 * contract does not promise zeroed memory) and, when armed, fails chosen
 * reserve calls, for fault injection. Both are safe to use from any
 * thread.
 *
 * test_env_t is an allocator on its own counting source with its own
 * diagnostic log, opened and closed with the checks most tests share. */
#ifndef FA_TESTUTIL_H
#define FA_TESTUTIL_H

#include "test.h"

#include <framealloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- Diagnostics ------------------------------------------------------ */

#define DIAG_LOG_RECORDS 64
#define DIAG_LOG_CODES 1000

typedef struct diag_rec_s {
  int code;
  int level;
  char message[240];
} diag_rec_t;

typedef struct diag_log_s {
  pthread_mutex_t lock;
  int total;                   /* diagnostics received */
  int bad;                     /* NULL, empty or multi-line messages */
  int by_code[DIAG_LOG_CODES]; /* count per code (out of range: ignored) */
  int levels[DIAG_LOG_CODES];  /* the last level seen per code */
  int nrecs;                   /* records kept: the first DIAG_LOG_RECORDS */
  diag_rec_t recs[DIAG_LOG_RECORDS];
} diag_log_t;

void diag_log_init(diag_log_t *log);
void diag_log_destroy(diag_log_t *log);
void diag_log_clear(diag_log_t *log);
/* The fa_diag_fn; user is the diag_log_t. */
void diag_log_fn(const fa_diag_t *d, void *user);
/* How many diagnostics with this code were received. */
int diag_log_count(diag_log_t *log, int code);
/* How many diagnostics were received in all. */
int diag_log_total(diag_log_t *log);
/* The level of the last diagnostic with this code; 0 if none. */
int diag_log_level(diag_log_t *log, int code);
/* Sets cfg's callback to this log. */
void diag_log_config(diag_log_t *log, fa_config_t *cfg);

/* ---- Counting, fault-injecting memory source --------------------------- */

/* Larger reserves are refused, as a machine without that much memory
 * would (and a sanitizer would abort on them instead of returning NULL). */
#define TEST_SOURCE_MAX ((size_t)1 << 31)

typedef struct test_block_s {
  void *p;
  size_t size;
} test_block_t;

typedef struct test_source_s {
  fa_memory_source_t src; /* give &s->src to fa_config_t.memory_source */
  pthread_mutex_t lock;
  uint64_t reserves;     /* reserve calls, failed ones included */
  uint64_t releases;     /* release calls */
  uint64_t outstanding;  /* bytes reserved and not yet released */
  uint64_t peak;         /* the largest outstanding */
  uint64_t failures;     /* reserve calls failed on purpose */
  uint64_t refused;      /* reserve calls above TEST_SOURCE_MAX */
  uint64_t bad_requests; /* size 0 or an align that is not a power of 2 */
  uint64_t bad_releases; /* unknown pointer or a size that does not match */
  int64_t fail_at;       /* index of the first reserve call to fail; -1 */
  uint64_t fail_count;   /* how many calls fail from fail_at on */
  test_block_t *blocks;  /* what is outstanding */
  size_t nblocks, cap;
} test_source_t;

void test_source_init(test_source_t *s);
/* Frees what the library did not release (so that leak checkers only see
 * the test's own failure) and the bookkeeping. */
void test_source_destroy(test_source_t *s);
/* From now on, reserve call number n (0-based, counted from the creation of
 * the source) and the count-1 calls after it fail. n < 0 disarms. */
void test_source_arm(test_source_t *s, int64_t n, uint64_t count);

/* Consistent reads of the counters. */
uint64_t test_source_outstanding(test_source_t *s);
uint64_t test_source_reserves(test_source_t *s);
uint64_t test_source_failures(test_source_t *s);
uint64_t test_source_bad(test_source_t *s); /* bad requests + releases */

/* ---- Small helpers ---------------------------------------------------- */

/* A 64-bit mix of x (splitmix64). */
uint64_t test_mix64(uint64_t x);
/* Fills n bytes at p with a pattern derived from key, and checks them:
 * test_check returns the index of the first wrong byte, or n. */
void test_fill(void *p, size_t n, uint64_t key);
size_t test_check(const void *p, size_t n, uint64_t key);
/* Where tests store results they do not look at (the allocation functions
 * warn when their result is ignored). */
extern void *volatile test_sink;
/* Whether p is a multiple of align. */
int test_aligned(const void *p, size_t align);
/* The page size the library believes in (frame alignments and chunk sizes
 * follow it): FA_TEST_PAGE_SIZE when the library honours it (a build with
 * FA_PAGE_SIZE_OVERRIDE; the same checks as src/os_posix.c), otherwise the
 * system's. */
size_t test_page_size(void);
/* posix_memalign and free, or their Windows equivalents: align is a power
 * of two, a multiple of sizeof(void *); 0 on success. */
int test_block_alloc(void **p, size_t align, size_t size);
void test_block_free(void *p);

/* ---- Checked setup and teardown --------------------------------------- */

/* What follows asserts, so it is defined here, static inline, and not in
 * testutil.c: test.h keeps the state of the running test per translation
 * unit, and a failed assertion must reach the one of the test file. */

/* The stats of a. They start as all ones, so a field that fa_get_stats
 * leaves unwritten shows. */
static inline fa_stats_t test_stats(fa_allocator_t *a) {
  fa_stats_t st;
  memset(&st, 0xff, sizeof(st));
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  return st;
}

/* Initializes s and creates an allocator on it, with base's other settings
 * (NULL: the defaults); diagnostics go where base says. */
static inline fa_allocator_t *test_counted_create(test_source_t *s,
                                                  const fa_config_t *base) {
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  if (base)
    cfg = *base;
  test_source_init(s);
  cfg.memory_source = &s->src;
  a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  return a;
}

/* Releases a, checks that s got all its memory back and saw no bad call,
 * and frees s. */
static inline void test_counted_release(fa_allocator_t *a, test_source_t *s) {
  fa_release(a);
  ASSERT_EQ(test_source_outstanding(s), 0);
  ASSERT_EQ(test_source_bad(s), 0);
  test_source_destroy(s);
}

/* An allocator on its own counting source, its diagnostics going to log. */
typedef struct test_env_s {
  test_source_t src;
  diag_log_t log;
  fa_allocator_t *a;
} test_env_t;

/* Opens e: e->a gets base's settings (NULL: the defaults) but e's source
 * and log. */
static inline void test_env_open(test_env_t *e, const fa_config_t *base) {
  fa_config_t cfg = {0};
  if (base)
    cfg = *base;
  diag_log_init(&e->log);
  diag_log_config(&e->log, &cfg);
  e->a = test_counted_create(&e->src, &cfg);
}

/* Closes e once every diagnostic it received was well formed: releases
 * e->a as test_counted_release does and frees the log. */
static inline void test_env_close(test_env_t *e) {
  ASSERT_EQ(e->log.bad, 0);
  test_counted_release(e->a, &e->src);
  diag_log_destroy(&e->log);
}

/* Closes e, as test_env_close does, once it received no diagnostic. */
static inline void test_env_close_quiet(test_env_t *e) {
  ASSERT_EQ(diag_log_total(&e->log), 0);
  test_counted_release(e->a, &e->src);
  diag_log_destroy(&e->log);
}

/* The free function that test_expect_bad_free calls. */
typedef enum test_tier_e { TEST_TIER_POOL, TEST_TIER_HEAP } test_tier_t;

/* Frees p with the tier's free function, which must refuse it: one FA004,
 * an error, and the pool and heap counts and the tier's bytes unchanged.
 * Call it through TEST_AT, so that a failure also names the caller. */
static inline void test_expect_bad_free(test_env_t *e, test_tier_t tier,
                                        void *p) {
  fa_stats_t before = test_stats(e->a), after;
  int n = diag_log_count(&e->log, 4);
  if (tier == TEST_TIER_HEAP)
    fa_heap_free(e->a, p);
  else
    fa_pool_free(e->a, p);
  ASSERT_EQ(diag_log_count(&e->log, 4), n + 1);
  ASSERT_EQ(diag_log_level(&e->log, 4), FA_LEVEL_ERROR);
  after = test_stats(e->a);
  ASSERT_EQ(after.pool_count, before.pool_count);
  ASSERT_EQ(after.heap_count, before.heap_count);
  if (tier == TEST_TIER_HEAP)
    ASSERT_EQ(after.heap_bytes, before.heap_bytes);
  else
    ASSERT_EQ(after.pool_bytes, before.pool_bytes);
}

#endif /* FA_TESTUTIL_H */
