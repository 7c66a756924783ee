/* test_pool.c: the pool tier on one thread: fa_pool_alloc and fa_pool_free
 * for every size up to pool_max_size and beyond (the heap fallback), block
 * alignment, payload integrity, reuse, the typed macros, pool_max_size and
 * cache_max_size, and FA004 for invalid frees (debug builds). Cross-thread
 * frees are in test_threads.c. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <stdalign.h>
#include <stddef.h>

#ifndef FA_DEBUG
#define FA_DEBUG 0
#endif

#define MAX_ALIGN alignof(max_align_t)

/* What pool_bytes counts for a pooled block of size s: 16-byte classes up
 * to 1 KiB, then four classes per power of two. */
static uint64_t block_size(size_t s) {
  uint64_t c;
  if (s <= 1024)
    return s ? (s + 15) & ~(uint64_t)15 : 16;
  for (c = 1024;; c *= 2) {
    uint64_t step = c / 4, k;
    for (k = 1; k <= 4; k++)
      if (s <= c + k * step)
        return c + k * step;
  }
}

/* An environment whose allocator has these pool_max_size and
 * cache_max_size. */
static void env_open(test_env_t *e, size_t pool_max, size_t cache_max) {
  fa_config_t cfg = {0};
  cfg.pool_max_size = pool_max;
  cfg.cache_max_size = cache_max;
  test_env_open(e, &cfg);
}

#define MAX_SIZE 1200
static const size_t big_sizes[] = {1500,  2048,      4096,   8192,
                                   10000, 65536 + 1, 1 << 20};
#define NBIG (sizeof(big_sizes) / sizeof(big_sizes[0]))

TEST(pool_every_size) {
  test_env_t e;
  static void *p[MAX_SIZE + 1];
  void *q[NBIG];
  uint64_t bytes = 0;
  size_t s, i;
  fa_stats_t st;
  env_open(&e, 0, 0);
  for (s = 0; s <= MAX_SIZE; s++) {
    p[s] = fa_pool_alloc(e.a, s);
    ASSERT_NOT_NULL(p[s]);
    ASSERT(test_aligned(p[s], MAX_ALIGN));
    test_fill(p[s], s, s);
    bytes += s <= 1024 ? block_size(s) : s;
  }
  for (i = 0; i < NBIG; i++) {
    q[i] = fa_pool_alloc(e.a, big_sizes[i]);
    ASSERT_NOT_NULL(q[i]);
    ASSERT(test_aligned(q[i], MAX_ALIGN));
    test_fill(q[i], big_sizes[i], 7 * i);
    bytes += big_sizes[i];
  }
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_count, MAX_SIZE + 1 + NBIG);
  ASSERT_EQ(st.pool_bytes, bytes);
  for (s = 0; s <= MAX_SIZE; s++) {
    ASSERT_EQ(test_check(p[s], s, s), s);
    fa_pool_free(e.a, p[s]);
  }
  for (i = 0; i < NBIG; i++) {
    ASSERT_EQ(test_check(q[i], big_sizes[i], 7 * i), big_sizes[i]);
    fa_pool_free(e.a, q[i]);
  }
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.pool_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(pool_payload_integrity) {
  /* Interleaved allocs and frees in a few classes: a free block's link
   * must never land in a live block. */
  test_env_t e;
  enum { N = 3000 };
  static void *p[N];
  static size_t size[N];
  uint64_t rng = 12345;
  int i, round;
  env_open(&e, 0, 0);
  memset(p, 0, sizeof(p));
  for (round = 0; round < 20; round++) {
    for (i = 0; i < N; i++) {
      rng = test_mix64(rng);
      if (p[i] && (rng & 1)) {
        ASSERT_EQ(test_check(p[i], size[i], (uint64_t)i), size[i]);
        fa_pool_free(e.a, p[i]);
        p[i] = NULL;
      } else if (!p[i]) {
        size[i] = (size_t)(rng >> 8) % 200;
        p[i] = fa_pool_alloc(e.a, size[i]);
        ASSERT_NOT_NULL(p[i]);
        test_fill(p[i], size[i], (uint64_t)i);
      }
    }
  }
  for (i = 0; i < N; i++) {
    if (!p[i])
      continue;
    ASSERT_EQ(test_check(p[i], size[i], (uint64_t)i), size[i]);
    fa_pool_free(e.a, p[i]);
  }
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

TEST(pool_unique_blocks) {
  test_env_t e;
  enum { N = 500 };
  static char *p[N];
  int i, j;
  env_open(&e, 0, 0);
  for (i = 0; i < N; i++) {
    p[i] = fa_pool_alloc(e.a, (size_t)(i % 3)); /* sizes 0..2: one class */
    ASSERT_NOT_NULL(p[i]);
  }
  /* Blocks of one class never overlap: 16 bytes apart at least. */
  for (i = 0; i < N; i++)
    for (j = 0; j < i; j++) {
      uintptr_t d =
          p[i] > p[j] ? (uintptr_t)(p[i] - p[j]) : (uintptr_t)(p[j] - p[i]);
      ASSERT_GE(d, 16);
    }
  for (i = 0; i < N; i++)
    fa_pool_free(e.a, p[i]);
  test_env_close_quiet(&e);
}

TEST(pool_reuse_after_free) {
  test_env_t e;
  enum { N = 2000 };
  static void *p[N];
  uint64_t reserves, bytes = 0;
  int i, round;
  env_open(&e, 0, 0);
  /* The same block size allocated and freed again and again. */
  fa_pool_free(e.a, fa_pool_alloc(e.a, 48));
  reserves = test_source_reserves(&e.src);
  for (i = 0; i < 100000; i++) {
    void *q = fa_pool_alloc(e.a, 48);
    ASSERT_NOT_NULL(q);
    fa_pool_free(e.a, q);
  }
  ASSERT_EQ(test_source_reserves(&e.src), reserves);
  /* Many blocks, freed and taken again. */
  for (round = 0; round < 5; round++) {
    for (i = 0; i < N; i++) {
      p[i] = fa_pool_alloc(e.a, (size_t)(i % 64) * 16);
      ASSERT_NOT_NULL(p[i]);
    }
    for (i = 0; i < N; i++)
      fa_pool_free(e.a, p[i]);
    if (round == 0) {
      reserves = test_source_reserves(&e.src);
      bytes = test_source_outstanding(&e.src);
    }
  }
  ASSERT_EQ(test_source_reserves(&e.src), reserves);
  ASSERT_EQ(test_source_outstanding(&e.src), bytes);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

TEST(pool_free_null) {
  test_env_t e;
  fa_stats_t before, after;
  void *p;
  env_open(&e, 0, 0);
  p = fa_pool_alloc(e.a, 10);
  ASSERT_NOT_NULL(p);
  before = test_stats(e.a);
  fa_pool_free(e.a, NULL);
  after = test_stats(e.a);
  ASSERT_EQ(after.pool_count, before.pool_count);
  ASSERT_EQ(after.pool_bytes, before.pool_bytes);
  ASSERT_EQ(diag_log_total(&e.log), 0);
  fa_pool_free(e.a, p);
  test_env_close(&e);
}

TEST(pool_size_zero_unique) {
  test_env_t e;
  void *p[100];
  int i, j;
  env_open(&e, 0, 0);
  for (i = 0; i < 100; i++) {
    p[i] = fa_pool_alloc(e.a, 0);
    ASSERT_NOT_NULL(p[i]);
    for (j = 0; j < i; j++)
      ASSERT_PTR_NE(p[i], p[j]);
  }
  ASSERT_EQ(test_stats(e.a).pool_bytes, 100 * 16);
  for (i = 0; i < 100; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close(&e);
}

TEST(pool_huge_sizes) {
  static const size_t huge[] = {SIZE_MAX,         SIZE_MAX - 1,
                                SIZE_MAX - 4095,  SIZE_MAX - 65535,
                                SIZE_MAX / 2 + 1, (size_t)1 << 62};
  test_env_t e;
  size_t i;
  void *p;
  env_open(&e, 0, 0);
  for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
    ASSERT_NULL(fa_pool_alloc(e.a, huge[i]));
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  p = fa_pool_alloc(e.a, 100);
  ASSERT_NOT_NULL(p);
  fa_pool_free(e.a, p);
  test_env_close(&e);
}

typedef struct item_s {
  long id;
  double weight;
  char name[40];
} item_t;

TEST(pool_typed_macros) {
  test_env_t e;
  item_t *it;
  void *dirty;
  size_t i;
  env_open(&e, 0, 0);
  dirty = fa_pool_alloc(e.a, sizeof(item_t));
  ASSERT_NOT_NULL(dirty);
  memset(dirty, 0xee, sizeof(item_t));
  fa_pool_free(e.a, dirty);
  it = fa_pool_new(e.a, item_t);
  ASSERT_NOT_NULL(it);
  ASSERT(test_aligned(it, alignof(item_t)));
  ASSERT_EQ(it->id, 0);
  ASSERT(it->weight == 0.0);
  for (i = 0; i < sizeof(it->name); i++)
    ASSERT_EQ(it->name[i], 0);
  fa_pool_free(e.a, it);
  it = fa_pool_box(e.a, item_t, {42, 2.5, "box"});
  ASSERT_NOT_NULL(it);
  ASSERT_EQ(it->id, 42);
  ASSERT(it->weight == 2.5);
  ASSERT_STR_EQ(it->name, "box");
  ASSERT_EQ(test_stats(e.a).pool_bytes, block_size(sizeof(item_t)));
  fa_pool_free(e.a, it);
  ASSERT_NULL(fa_pool_new(NULL, item_t));
  ASSERT_NULL(fa_pool_box(NULL, item_t, {1, 1.0, "x"}));
  test_env_close(&e);
}

TEST(pool_null_allocator) {
  ASSERT_NULL(fa_pool_alloc(NULL, 0));
  ASSERT_NULL(fa_pool_alloc(NULL, 16));
  ASSERT_NULL(fa_pool_alloc(NULL, 5000));
  fa_pool_free(NULL, NULL);
  ASSERT_EQ(fa_pool_max_size(NULL), 0);
}

/* Allocates size, checks what pool_bytes gained and returns the block. */
static void *alloc_counted(test_env_t *e, size_t size, uint64_t expect) {
  uint64_t before = test_stats(e->a).pool_bytes;
  void *p = fa_pool_alloc(e->a, size);
  ASSERT_NOT_NULL(p);
  ASSERT(test_aligned(p, MAX_ALIGN));
  test_fill(p, size, size);
  ASSERT_EQ(test_stats(e->a).pool_bytes - before, expect);
  return p;
}

TEST(pool_max_size_default) {
  test_env_t e;
  void *p[4];
  int i;
  env_open(&e, 0, 0);
  ASSERT_EQ(fa_pool_max_size(e.a), 1024);
  p[0] = alloc_counted(&e, 1024, 1024); /* pooled */
  p[1] = alloc_counted(&e, 1025, 1025); /* heap fallback: requested size */
  p[2] = alloc_counted(&e, 1100, 1100);
  p[3] = alloc_counted(&e, 1009, 1024);
  for (i = 0; i < 4; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

TEST(pool_max_size_config) {
  test_env_t e;
  void *p[8];
  int i;
  env_open(&e, 1500, 0);
  ASSERT_EQ(fa_pool_max_size(e.a), 1500);
  p[0] = alloc_counted(&e, 1500, 1536); /* a class above 1 KiB */
  p[1] = alloc_counted(&e, 1501, 1501); /* just above: heap fallback */
  p[2] = alloc_counted(&e, 1100, 1280);
  p[3] = alloc_counted(&e, 1025, 1280);
  p[4] = alloc_counted(&e, 1024, 1024);
  p[5] = alloc_counted(&e, 1530, 1530); /* above the max: fallback */
  for (i = 0; i < 6; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close_quiet(&e);

  env_open(&e, 100, 0); /* below 1 KiB, not a multiple of 16 */
  p[0] = alloc_counted(&e, 100, 112);
  p[1] = alloc_counted(&e, 101, 101);
  p[2] = alloc_counted(&e, 105, 105);
  p[3] = alloc_counted(&e, 1000, 1000);
  p[4] = alloc_counted(&e, 0, 16);
  for (i = 0; i < 5; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close_quiet(&e);

  env_open(&e, 4096, 0);
  p[0] = alloc_counted(&e, 2049, 2560);
  p[1] = alloc_counted(&e, 3000, 3072);
  p[2] = alloc_counted(&e, 4096, 4096);
  p[3] = alloc_counted(&e, 4097, 4097);
  for (i = 0; i < 4; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close(&e);
}

TEST(pool_max_size_clamped) {
  test_env_t e;
  void *p[3];
  uint64_t reserves;
  int i;
  env_open(&e, 1 << 20, 0); /* clamped to FA_POOL_MAX_LIMIT */
  ASSERT_EQ(fa_pool_max_size(e.a), FA_POOL_MAX_LIMIT);
  p[0] = alloc_counted(&e, FA_POOL_MAX_LIMIT, FA_POOL_MAX_LIMIT);
  reserves = test_source_reserves(&e.src);
  /* Pooled: the second block of the class comes from the same page. */
  p[1] = alloc_counted(&e, FA_POOL_MAX_LIMIT, FA_POOL_MAX_LIMIT);
  ASSERT_EQ(test_source_reserves(&e.src), reserves);
  p[2] = alloc_counted(&e, FA_POOL_MAX_LIMIT + 1, FA_POOL_MAX_LIMIT + 1);
  for (i = 0; i < 3; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(pool_trim_returns_pages) {
  test_env_t e;
  enum { N = 2000 };
  static void *p[N];
  uint64_t peak;
  int i;
  env_open(&e, 0, 0);
  for (i = 0; i < N; i++) {
    p[i] = fa_pool_alloc(e.a, 512);
    ASSERT_NOT_NULL(p[i]);
  }
  peak = test_source_outstanding(&e.src); /* 1 MB of blocks at least */
  ASSERT_GE(peak, N * 512);
  for (i = 0; i < N; i++)
    fa_pool_free(e.a, p[i]);
  fa_trim(e.a);
  ASSERT_LE(test_source_outstanding(&e.src) + N * 512 / 2, peak);
  ASSERT_EQ(test_stats(e.a).os_bytes, test_source_outstanding(&e.src));
  /* And the pool still works. */
  p[0] = fa_pool_alloc(e.a, 512);
  ASSERT_NOT_NULL(p[0]);
  fa_pool_free(e.a, p[0]);
  test_env_close_quiet(&e);
}

TEST(pool_cache_max_size) {
  /* With a tiny page cache, empty pages go back to the source without a
   * trim. */
  test_env_t e;
  enum { N = 2000 };
  static void *p[N];
  uint64_t peak;
  int i;
  env_open(&e, 0, 1);
  for (i = 0; i < N; i++) {
    p[i] = fa_pool_alloc(e.a, 512);
    ASSERT_NOT_NULL(p[i]);
  }
  peak = test_source_outstanding(&e.src);
  for (i = 0; i < N; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_LE(test_source_outstanding(&e.src) + N * 512 / 2, peak);
  test_env_close_quiet(&e);
}

TEST(pool_two_allocators_one_thread) {
  test_env_t e1, e2;
  enum { N = 300 };
  static void *p1[N], *p2[N];
  int i;
  env_open(&e1, 0, 0);
  env_open(&e2, 0, 0);
  for (i = 0; i < N; i++) {
    p1[i] = fa_pool_alloc(e1.a, (size_t)i % 100);
    p2[i] = fa_pool_alloc(e2.a, (size_t)i % 100 + 1);
    ASSERT_NOT_NULL(p1[i]);
    ASSERT_NOT_NULL(p2[i]);
    test_fill(p1[i], (size_t)i % 100, (uint64_t)i);
    test_fill(p2[i], (size_t)i % 100 + 1, (uint64_t)i + N);
  }
  ASSERT_EQ(test_stats(e1.a).pool_count, N);
  ASSERT_EQ(test_stats(e2.a).pool_count, N);
  for (i = 0; i < N; i++) {
    ASSERT_EQ(test_check(p1[i], (size_t)i % 100, (uint64_t)i), (size_t)i % 100);
    fa_pool_free(e1.a, p1[i]);
    ASSERT_EQ(test_check(p2[i], (size_t)i % 100 + 1, (uint64_t)i + N),
              (size_t)i % 100 + 1);
  }
  ASSERT_EQ(test_stats(e1.a).pool_count, 0);
  ASSERT_EQ(test_stats(e2.a).pool_count, N);
  for (i = 0; i < N; i++)
    fa_pool_free(e2.a, p2[i]);
  ASSERT_EQ(test_stats(e2.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e1.log), 0);
  ASSERT_EQ(diag_log_total(&e2.log), 0);
  test_env_close(&e1);
  test_env_close(&e2);
}

/* Frees p, which must be refused: one FA004, stats unchanged. */
#define EXPECT_BAD_FREE(e, p)                                                  \
  TEST_AT(test_expect_bad_free(e, TEST_TIER_POOL, p))

TEST(pool_double_free_fa004) {
  test_env_t e;
  void *keep[4], *p, *q, *r, *big;
  int i;
  env_open(&e, 0, 0);
  for (i = 0; i < 4; i++) { /* the page holds other live blocks */
    keep[i] = fa_pool_alloc(e.a, 32);
    ASSERT_NOT_NULL(keep[i]);
  }
  p = fa_pool_alloc(e.a, 32);
  ASSERT_NOT_NULL(p);
  fa_pool_free(e.a, p);
  EXPECT_BAD_FREE(&e, p);
  /* The free list is intact: two allocations give two blocks. */
  q = fa_pool_alloc(e.a, 32);
  r = fa_pool_alloc(e.a, 32);
  ASSERT_NOT_NULL(q);
  ASSERT_NOT_NULL(r);
  ASSERT_PTR_NE(q, r);
  fa_pool_free(e.a, q);
  fa_pool_free(e.a, r);
  /* A heap fallback block freed twice. */
  big = fa_pool_alloc(e.a, 5000);
  ASSERT_NOT_NULL(big);
  fa_pool_free(e.a, big);
  EXPECT_BAD_FREE(&e, big);
  for (i = 0; i < 4; i++)
    fa_pool_free(e.a, keep[i]);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), 2);
  test_env_close(&e);
}

TEST(pool_foreign_pointers_fa004) {
  test_env_t e, other;
  void *mine, *theirs, *theirs_big, *from_malloc, *from_frame, *from_heap;
  char *interior;
  long on_stack = 0;
  env_open(&e, 0, 0);
  env_open(&other, 0, 0);
  mine = fa_pool_alloc(e.a, 64);
  theirs = fa_pool_alloc(other.a, 64);
  theirs_big = fa_pool_alloc(other.a, 3000);
  from_malloc = malloc(64);
  from_heap = fa_heap_alloc(e.a, 64, 0);
  ASSERT_NOT_NULL(mine);
  ASSERT_NOT_NULL(theirs);
  ASSERT_NOT_NULL(theirs_big);
  ASSERT_NOT_NULL(from_malloc);
  ASSERT_NOT_NULL(from_heap);
  test_fill(theirs, 64, 1);
  fa_begin_frame(e.a);
  from_frame = fa_frame_alloc(e.a, 64, 0);
  ASSERT_NOT_NULL(from_frame);
  interior = (char *)mine + 16;

  EXPECT_BAD_FREE(&e, theirs);     /* another allocator's block */
  EXPECT_BAD_FREE(&e, theirs_big); /* and its heap fallback */
  EXPECT_BAD_FREE(&e, from_malloc);
  EXPECT_BAD_FREE(&e, from_frame);
  EXPECT_BAD_FREE(&e, from_heap); /* fa_heap_alloc is another tier */
  EXPECT_BAD_FREE(&e, interior);
  EXPECT_BAD_FREE(&e, &on_stack);
  ASSERT_EQ(diag_log_total(&e.log), 7);
  fa_end_frame(e.a);

  /* Nothing was harmed. */
  ASSERT_EQ(test_check(theirs, 64, 1), 64);
  fa_pool_free(other.a, theirs);
  fa_pool_free(other.a, theirs_big);
  ASSERT_EQ(diag_log_total(&other.log), 0);
  ASSERT_EQ(test_stats(other.a).pool_count, 0);
  fa_pool_free(e.a, mine);
  fa_heap_free(e.a, from_heap);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), 7);
  free(from_malloc);
  test_env_close(&other);
  test_env_close(&e);
}


static const test_case_t tests[] = {
    TEST_ENTRY(pool_every_size),
    TEST_ENTRY(pool_payload_integrity),
    TEST_ENTRY(pool_unique_blocks),
    TEST_ENTRY(pool_reuse_after_free),
    TEST_ENTRY(pool_free_null),
    TEST_ENTRY(pool_size_zero_unique),
    TEST_ENTRY(pool_huge_sizes),
    TEST_ENTRY(pool_typed_macros),
    TEST_ENTRY(pool_null_allocator),
    TEST_ENTRY(pool_max_size_default),
    TEST_ENTRY(pool_max_size_config),
    TEST_ENTRY(pool_max_size_clamped),
    TEST_ENTRY(pool_trim_returns_pages),
    TEST_ENTRY(pool_cache_max_size),
    TEST_ENTRY(pool_two_allocators_one_thread),
    TEST_ENTRY(pool_double_free_fa004),
    TEST_ENTRY(pool_foreign_pointers_fa004),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
