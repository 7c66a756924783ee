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
 * thread. */
#ifndef FA_TESTUTIL_H
#define FA_TESTUTIL_H

#include <framealloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

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

#endif /* FA_TESTUTIL_H */
