/* test_heap.c: the heap tier: fa_heap_alloc and fa_heap_free, alignments up
 * to 1 MiB, size 0, overflowing sizes, exact heap_bytes/heap_count, the
 * typed macros, and FA004 for invalid frees (debug builds). */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <stdalign.h>
#include <stddef.h>

#ifndef FA_DEBUG
#define FA_DEBUG 0
#endif

#define MAX_ALIGN alignof(max_align_t)

TEST(heap_basic) {
  test_env_t e;
  enum { N = 200 };
  static char *p[N];
  int i;
  test_env_open(&e, NULL);
  for (i = 0; i < N; i++) {
    size_t size = (size_t)i * 97 + 1;
    p[i] = fa_heap_alloc(e.a, size, 0);
    ASSERT_NOT_NULL(p[i]);
    ASSERT(test_aligned(p[i], MAX_ALIGN));
    test_fill(p[i], size, (uint64_t)i);
  }
  for (i = 0; i < N; i++) {
    size_t size = (size_t)i * 97 + 1;
    ASSERT_EQ(test_check(p[i], size, (uint64_t)i), size);
    if (i % 2)
      fa_heap_free(e.a, p[i]);
  }
  for (i = 0; i < N; i += 2)
    fa_heap_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  test_env_close_quiet(&e);
}

TEST(heap_alignments) {
  test_env_t e;
  char *p[21 * 2];
  size_t align;
  int n = 0, i;
  test_env_open(&e, NULL);
  for (align = 1; align <= ((size_t)1 << 20); align *= 2) {
    /* A small block, and one larger than its alignment. */
    p[n] = fa_heap_alloc(e.a, 24, align);
    ASSERT_NOT_NULL(p[n]);
    ASSERT(test_aligned(p[n], align));
    memset(p[n], 0x11, 24);
    n++;
    p[n] = fa_heap_alloc(e.a, align + 100, align);
    ASSERT_NOT_NULL(p[n]);
    ASSERT(test_aligned(p[n], align));
    test_fill(p[n], align + 100, align);
    n++;
  }
  for (i = 0, align = 1; i < n; i += 2, align *= 2) {
    ASSERT_EQ(test_check(p[i + 1], align + 100, align), align + 100);
    fa_heap_free(e.a, p[i]);
    fa_heap_free(e.a, p[i + 1]);
  }
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(heap_alignments_default_source) {
  fa_allocator_t *a = fa_create(NULL);
  void *p;
  ASSERT_NOT_NULL(a);
  p = fa_heap_alloc(a, 3 << 20, (size_t)1 << 20);
  ASSERT_NOT_NULL(p);
  ASSERT(test_aligned(p, (size_t)1 << 20));
  memset(p, 0x22, 3 << 20);
  fa_heap_free(a, p);
  p = fa_heap_alloc(a, 10, 8192);
  ASSERT_NOT_NULL(p);
  ASSERT(test_aligned(p, 8192));
  fa_heap_free(a, p);
  fa_release(a);
}

TEST(heap_invalid_align) {
  static const size_t bad[] = {3, 6, 24, 100, 4097, SIZE_MAX, SIZE_MAX / 2 + 3};
  test_env_t e;
  size_t i;
  test_env_open(&e, NULL);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    ASSERT_NULL(fa_heap_alloc(e.a, 64, bad[i]));
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 0);
  test_env_close(&e);
}

TEST(heap_size_zero) {
  test_env_t e;
  void *p[32];
  int i, j;
  test_env_open(&e, NULL);
  for (i = 0; i < 32; i++) {
    p[i] = fa_heap_alloc(e.a, 0, i % 2 ? 64 : 0);
    ASSERT_NOT_NULL(p[i]);
    ASSERT(test_aligned(p[i], i % 2 ? 64 : MAX_ALIGN));
    for (j = 0; j < i; j++)
      ASSERT_PTR_NE(p[i], p[j]);
  }
  ASSERT_EQ(test_stats(e.a).heap_count, 32);
  for (i = 0; i < 32; i++)
    fa_heap_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(heap_overflow) {
  static const size_t huge[] = {
      SIZE_MAX,         SIZE_MAX - 1,     SIZE_MAX - 63,  SIZE_MAX - 4095,
      SIZE_MAX - 65535, SIZE_MAX / 2 + 1, (size_t)1 << 62};
  static const size_t aligns[] = {0, 1, 16, 4096, (size_t)1 << 20};
  test_env_t e;
  size_t i, k;
  void *p;
  test_env_open(&e, NULL);
  for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
    for (k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++)
      ASSERT_NULL(fa_heap_alloc(e.a, huge[i], aligns[k]));
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 0);
  p = fa_heap_alloc(e.a, 100, 0);
  ASSERT_NOT_NULL(p);
  fa_heap_free(e.a, p);
  test_env_close(&e);
}

TEST(heap_overflow_default_source) {
  fa_allocator_t *a = fa_create(NULL);
  ASSERT_NOT_NULL(a);
  ASSERT_NULL(fa_heap_alloc(a, SIZE_MAX, 0));
  ASSERT_NULL(fa_heap_alloc(a, SIZE_MAX - 4095, 4096));
  ASSERT_NULL(fa_heap_alloc(a, SIZE_MAX / 2 + 1, 0));
  ASSERT_EQ(test_stats(a).heap_count, 0);
  fa_release(a);
}

TEST(heap_accounting) {
  test_env_t e;
  static const size_t sizes[] = {1, 7, 16, 100, 1000, 4096, 12345, 1 << 20};
  void *p[8];
  uint64_t bytes = 0;
  fa_stats_t st;
  size_t i, n = sizeof(sizes) / sizeof(sizes[0]);
  test_env_open(&e, NULL);
  for (i = 0; i < n; i++) {
    p[i] = fa_heap_alloc(e.a, sizes[i], i % 2 ? 64 : 0);
    ASSERT_NOT_NULL(p[i]);
    bytes += sizes[i];
    st = test_stats(e.a);
    ASSERT_EQ(st.heap_count, i + 1);
    ASSERT_EQ(st.heap_bytes, bytes);
    ASSERT_EQ(st.pool_count, 0); /* the heap is not the pool */
    ASSERT_EQ(st.os_bytes, test_source_outstanding(&e.src));
  }
  for (i = 0; i < n; i++) {
    fa_heap_free(e.a, p[i]);
    bytes -= sizes[i];
    st = test_stats(e.a);
    ASSERT_EQ(st.heap_count, n - i - 1);
    ASSERT_EQ(st.heap_bytes, bytes);
    ASSERT_EQ(st.os_bytes, test_source_outstanding(&e.src));
  }
  test_env_close_quiet(&e);
}

TEST(heap_free_null) {
  test_env_t e;
  void *p;
  test_env_open(&e, NULL);
  p = fa_heap_alloc(e.a, 10, 0);
  ASSERT_NOT_NULL(p);
  fa_heap_free(e.a, NULL);
  ASSERT_EQ(test_stats(e.a).heap_count, 1);
  ASSERT_EQ(diag_log_total(&e.log), 0);
  fa_heap_free(e.a, p);
  test_env_close(&e);
}

TEST(heap_null_allocator) {
  ASSERT_NULL(fa_heap_alloc(NULL, 16, 0));
  ASSERT_NULL(fa_heap_alloc(NULL, 0, 0));
  ASSERT_NULL(fa_heap_new(NULL, long));
  fa_heap_free(NULL, NULL);
}

typedef struct rec_s {
  alignas(32) double v[3];
  int tag;
} rec_t;

TEST(heap_typed_macros) {
  test_env_t e;
  rec_t *r;
  test_env_open(&e, NULL);
  r = fa_heap_new(e.a, rec_t);
  ASSERT_NOT_NULL(r);
  ASSERT(test_aligned(r, alignof(rec_t)));
  ASSERT(r->v[0] == 0.0 && r->v[2] == 0.0);
  ASSERT_EQ(r->tag, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, sizeof(rec_t));
  fa_heap_free(e.a, r);
  r = fa_heap_box(e.a, rec_t, {{1.0, 2.0, 3.0}, 9});
  ASSERT_NOT_NULL(r);
  ASSERT(test_aligned(r, alignof(rec_t)));
  ASSERT(r->v[1] == 2.0);
  ASSERT_EQ(r->tag, 9);
  fa_heap_free(e.a, r);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  test_env_close(&e);
}

/* Frees p, which must be refused: one FA004, stats unchanged. */
#define EXPECT_BAD_FREE(e, p)                                                  \
  TEST_AT(test_expect_bad_free(e, TEST_TIER_HEAP, p))

TEST(heap_invalid_free_fa004) {
  test_env_t e, other;
  void *mine, *freed, *theirs, *pooled, *fallback, *from_malloc, *from_frame;
  long on_stack = 0;
  test_env_open(&e, NULL);
  test_env_open(&other, NULL);
  mine = fa_heap_alloc(e.a, 256, 0);
  freed = fa_heap_alloc(e.a, 256, 0);
  theirs = fa_heap_alloc(other.a, 256, 0);
  pooled = fa_pool_alloc(e.a, 64);
  fallback = fa_pool_alloc(e.a, 5000);
  from_malloc = malloc(256);
  ASSERT_NOT_NULL(mine);
  ASSERT_NOT_NULL(freed);
  ASSERT_NOT_NULL(theirs);
  ASSERT_NOT_NULL(pooled);
  ASSERT_NOT_NULL(fallback);
  ASSERT_NOT_NULL(from_malloc);
  test_fill(theirs, 256, 3);
  test_fill(mine, 256, 4);
  fa_begin_frame(e.a);
  from_frame = fa_frame_alloc(e.a, 64, 0);
  ASSERT_NOT_NULL(from_frame);
  fa_heap_free(e.a, freed);

  EXPECT_BAD_FREE(&e, freed); /* double free */
  EXPECT_BAD_FREE(&e, theirs);
  EXPECT_BAD_FREE(&e, pooled);
  EXPECT_BAD_FREE(&e, fallback); /* fa_pool_alloc's, even from the heap */
  EXPECT_BAD_FREE(&e, from_malloc);
  EXPECT_BAD_FREE(&e, from_frame);
  EXPECT_BAD_FREE(&e, (char *)mine + 16);
  EXPECT_BAD_FREE(&e, &on_stack);
  ASSERT_EQ(diag_log_total(&e.log), 8);
  fa_end_frame(e.a);

  ASSERT_EQ(test_check(theirs, 256, 3), 256);
  ASSERT_EQ(test_check(mine, 256, 4), 256);
  fa_heap_free(other.a, theirs);
  fa_heap_free(e.a, mine);
  fa_pool_free(e.a, pooled);
  fa_pool_free(e.a, fallback);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(diag_log_total(&e.log), 8);
  ASSERT_EQ(diag_log_total(&other.log), 0);
  free(from_malloc);
  test_env_close(&other);
  test_env_close(&e);
}


static const test_case_t tests[] = {
    TEST_ENTRY(heap_basic),
    TEST_ENTRY(heap_alignments),
    TEST_ENTRY(heap_alignments_default_source),
    TEST_ENTRY(heap_invalid_align),
    TEST_ENTRY(heap_size_zero),
    TEST_ENTRY(heap_overflow),
    TEST_ENTRY(heap_overflow_default_source),
    TEST_ENTRY(heap_accounting),
    TEST_ENTRY(heap_free_null),
    TEST_ENTRY(heap_null_allocator),
    TEST_ENTRY(heap_typed_macros),
    TEST_ENTRY(heap_invalid_free_fa004),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
