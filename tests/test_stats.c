/* test_stats.c: fa_get_stats, field by field: frame_bytes (alignment
 * padding included, size 0 counted as one byte), frame_peak, frames across
 * threads, pool_bytes/pool_count (size-class block sizes, heap fallbacks at
 * their requested size), heap_bytes/heap_count, task_bytes, and
 * os_bytes/os_requests against what a counting memory source saw. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>

/* os_bytes and os_requests are what the source saw. */
static void check_os(test_env_t *e) {
  fa_stats_t st = test_stats(e->a);
  ASSERT_EQ(st.os_bytes, test_source_outstanding(&e->src));
  ASSERT_EQ(st.os_requests, test_source_reserves(&e->src));
}

TEST(stats_null_arguments) {
  fa_allocator_t *a = fa_create(NULL);
  fa_stats_t st;
  ASSERT_NOT_NULL(a);
  ASSERT_EQ(fa_get_stats(NULL, &st), FA_EINVAL);
  ASSERT_EQ(fa_get_stats(a, NULL), FA_EINVAL);
  ASSERT_EQ(fa_get_stats(NULL, NULL), FA_EINVAL);
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  fa_release(a);
}

TEST(stats_fresh_allocator) {
  test_env_t e;
  fa_stats_t st;
  test_env_open(&e, NULL);
  st = test_stats(e.a);
  ASSERT_EQ(st.frame_bytes, 0);
  ASSERT_EQ(st.frame_peak, 0);
  ASSERT_EQ(st.frames, 0);
  ASSERT_EQ(st.pool_bytes, 0);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.heap_bytes, 0);
  ASSERT_EQ(st.heap_count, 0);
  ASSERT_EQ(st.task_bytes, 0);
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_frame_bytes_exact) {
  test_env_t e;
  char *p0, *p1, *p2, *p3, *p4;
  fa_stats_t st;
  test_env_open(&e, NULL);
  fa_begin_frame(e.a);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 0);
  p0 = fa_frame_alloc(e.a, 1, 1);
  ASSERT_NOT_NULL(p0);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 1);
  p1 = fa_frame_alloc(e.a, 1, 16); /* padding to 16 counts */
  ASSERT_NOT_NULL(p1);
  ASSERT_EQ(test_stats(e.a).frame_bytes, (uint64_t)(p1 + 1 - p0));
  p2 = fa_frame_alloc(e.a, 0, 1); /* size 0 counts one byte */
  ASSERT_NOT_NULL(p2);
  ASSERT_PTR_EQ(p2, p1 + 1);
  ASSERT_EQ(test_stats(e.a).frame_bytes, (uint64_t)(p2 + 1 - p0));
  p3 = fa_frame_alloc(e.a, 100, 256);
  ASSERT_NOT_NULL(p3);
  ASSERT_EQ(test_stats(e.a).frame_bytes, (uint64_t)(p3 + 100 - p0));
  p4 = fa_frame_alloc(e.a, 0, 4096);
  ASSERT_NOT_NULL(p4);
  st = test_stats(e.a);
  ASSERT_EQ(st.frame_bytes, (uint64_t)(p4 + 1 - p0));
  ASSERT_EQ(st.frames, 0);
  fa_end_frame(e.a);
  st = test_stats(e.a);
  ASSERT_EQ(st.frame_bytes, 0);
  ASSERT_EQ(st.frames, 1);
  ASSERT_EQ(st.frame_peak, (uint64_t)(p4 + 1 - p0));
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_frame_peak) {
  static const size_t use[] = {100, 300, 50, 299, 0, 1};
  test_env_t e;
  uint64_t peak = 0;
  size_t i;
  test_env_open(&e, NULL);
  for (i = 0; i < sizeof(use) / sizeof(use[0]); i++) {
    fa_begin_frame(e.a);
    if (use[i])
      ASSERT_NOT_NULL(fa_frame_alloc(e.a, use[i], 1));
    fa_end_frame(e.a);
    if (use[i] > peak)
      peak = use[i];
    ASSERT_EQ(test_stats(e.a).frame_peak, peak);
    ASSERT_EQ(test_stats(e.a).frames, i + 1);
  }
  test_env_close_quiet(&e);
}

typedef struct frames_arg_s {
  fa_allocator_t *a;
  int frames;
  size_t bytes;
} frames_arg_t;

static void *run_frames(void *p) {
  frames_arg_t *arg = p;
  int i;
  for (i = 0; i < arg->frames; i++) {
    fa_begin_frame(arg->a);
    ASSERT_NOT_NULL(fa_frame_alloc(arg->a, arg->bytes, 1));
    fa_end_frame(arg->a);
  }
  return NULL;
}

TEST(stats_frames_and_peak_across_threads) {
  test_env_t e;
  pthread_t t[4];
  frames_arg_t arg[4];
  fa_stats_t st;
  int i;
  test_env_open(&e, NULL);
  for (i = 0; i < 3; i++) {
    fa_begin_frame(e.a);
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 100, 1));
    fa_end_frame(e.a);
  }
  for (i = 0; i < 4; i++) {
    arg[i].a = e.a;
    arg[i].frames = 5;
    arg[i].bytes = 1000 * ((size_t)i + 1); /* thread 3: 4000 */
    ASSERT_EQ(pthread_create(&t[i], NULL, run_frames, &arg[i]), 0);
  }
  for (i = 0; i < 4; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  st = test_stats(e.a);
  ASSERT_EQ(st.frames, 3 + 4 * 5);
  ASSERT_EQ(st.frame_peak, 4000);
  ASSERT_EQ(st.frame_bytes, 0);
  check_os(&e);
  test_env_close_quiet(&e);
}

typedef struct holder_s {
  fa_allocator_t *a;
  pthread_barrier_t step;
} holder_t;

static void *hold_frame(void *p) {
  holder_t *h = p;
  fa_begin_frame(h->a);
  test_sink = fa_frame_alloc(h->a, 300, 1);
  pthread_barrier_wait(&h->step); /* main reads the stats */
  pthread_barrier_wait(&h->step);
  fa_end_frame(h->a);
  return NULL;
}

TEST(stats_frame_bytes_all_threads) {
  test_env_t e;
  holder_t h;
  pthread_t t;
  test_env_open(&e, NULL);
  h.a = e.a;
  ASSERT_EQ(pthread_barrier_init(&h.step, NULL, 2), 0);
  ASSERT_EQ(pthread_create(&t, NULL, hold_frame, &h), 0);
  fa_begin_frame(e.a);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 20, 1));
  pthread_barrier_wait(&h.step);
  ASSERT_NOT_NULL(test_sink);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 320);
  pthread_barrier_wait(&h.step);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  pthread_barrier_destroy(&h.step);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 20);
  fa_end_frame(e.a);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 0);
  ASSERT_EQ(test_stats(e.a).frames, 2);
  test_env_close_quiet(&e);
}

TEST(stats_pool_block_sizes) {
  static const size_t sizes[] = {0,   1,    15,   16,   17,   31,
                                 32,  33,   100,  255,  256,  257,
                                 512, 1000, 1008, 1009, 1023, 1024};
  static const uint64_t blocks[] = {16,  16,   16,   16,   32,   32,
                                    32,  48,   112,  256,  256,  272,
                                    512, 1008, 1008, 1024, 1024, 1024};
  test_env_t e;
  void *p[18];
  uint64_t bytes = 0;
  fa_stats_t st;
  size_t i, n = sizeof(sizes) / sizeof(sizes[0]);
  test_env_open(&e, NULL);
  for (i = 0; i < n; i++) {
    p[i] = fa_pool_alloc(e.a, sizes[i]);
    ASSERT_NOT_NULL(p[i]);
    bytes += blocks[i];
    st = test_stats(e.a);
    ASSERT_EQ(st.pool_bytes, bytes);
    ASSERT_EQ(st.pool_count, i + 1);
  }
  for (i = 0; i < n; i++) {
    fa_pool_free(e.a, p[i]);
    bytes -= blocks[i];
    st = test_stats(e.a);
    ASSERT_EQ(st.pool_bytes, bytes);
    ASSERT_EQ(st.pool_count, n - i - 1);
  }
  ASSERT_EQ(st.heap_count, 0);
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_pool_fallback_requested_size) {
  test_env_t e;
  void *p, *q;
  fa_stats_t st;
  test_env_open(&e, NULL);
  p = fa_pool_alloc(e.a, 1025);
  q = fa_pool_alloc(e.a, 100000);
  ASSERT_NOT_NULL(p);
  ASSERT_NOT_NULL(q);
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_bytes, 1025 + 100000);
  ASSERT_EQ(st.pool_count, 2);
  ASSERT_EQ(st.heap_bytes, 0); /* counted as pool memory only */
  ASSERT_EQ(st.heap_count, 0);
  check_os(&e);
  fa_pool_free(e.a, p);
  fa_pool_free(e.a, q);
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_bytes, 0);
  ASSERT_EQ(st.pool_count, 0);
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_pool_classes_above_1k) {
  static const size_t sizes[] = {1025, 1280, 1281, 1600, 2000, 2048,
                                 2049, 3000, 4000, 5000, 7000, 8192};
  static const uint64_t blocks[] = {1280, 1280, 1536, 1792, 2048, 2048,
                                    2560, 3072, 4096, 5120, 7168, 8192};
  test_env_t e;
  fa_config_t cfg = {0};
  void *p[12];
  uint64_t bytes = 0;
  size_t i, n = sizeof(sizes) / sizeof(sizes[0]);
  cfg.pool_max_size = FA_POOL_MAX_LIMIT;
  test_env_open(&e, &cfg);
  for (i = 0; i < n; i++) {
    p[i] = fa_pool_alloc(e.a, sizes[i]);
    ASSERT_NOT_NULL(p[i]);
    bytes += blocks[i];
    ASSERT_EQ(test_stats(e.a).pool_bytes, bytes);
  }
  for (i = 0; i < n; i++)
    fa_pool_free(e.a, p[i]);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

static void *alloc_pool_and_exit(void *p) {
  void **blocks = p;
  fa_allocator_t *a = blocks[0];
  int i;
  for (i = 1; i <= 10; i++)
    blocks[i] = fa_pool_alloc(a, 40);
  return NULL;
}

TEST(stats_pool_live_after_thread_exit) {
  test_env_t e;
  void *blocks[11];
  pthread_t t;
  int i;
  test_env_open(&e, NULL);
  blocks[0] = e.a;
  ASSERT_EQ(pthread_create(&t, NULL, alloc_pool_and_exit, blocks), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 10);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 10 * 48);
  for (i = 1; i <= 10; i++) {
    ASSERT_NOT_NULL(blocks[i]);
    fa_pool_free(e.a, blocks[i]);
    ASSERT_EQ(test_stats(e.a).pool_count, 10 - i);
  }
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(stats_heap_exact) {
  test_env_t e;
  void *p, *q, *r;
  fa_stats_t st;
  test_env_open(&e, NULL);
  p = fa_heap_alloc(e.a, 123, 0);
  q = fa_heap_alloc(e.a, 4567, 4096);
  r = fa_heap_alloc(e.a, 0, 0);
  ASSERT_NOT_NULL(p);
  ASSERT_NOT_NULL(q);
  ASSERT_NOT_NULL(r);
  st = test_stats(e.a);
  ASSERT_EQ(st.heap_count, 3);
  ASSERT_GE(st.heap_bytes, 123 + 4567);
  ASSERT_LE(st.heap_bytes, 123 + 4567 + 1); /* size 0: 0 or 1 byte */
  ASSERT_EQ(st.pool_count, 0);
  check_os(&e);
  fa_heap_free(e.a, r);
  st = test_stats(e.a);
  ASSERT_EQ(st.heap_count, 2);
  ASSERT_EQ(st.heap_bytes, 123 + 4567);
  fa_heap_free(e.a, p);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 4567);
  fa_heap_free(e.a, q);
  st = test_stats(e.a);
  ASSERT_EQ(st.heap_count, 0);
  ASSERT_EQ(st.heap_bytes, 0);
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_os_matches_source) {
  test_env_t e;
  fa_config_t cfg = {0};
  void *p[300];
  int i;
  cfg.frame_chunk_size = 4096;
  test_env_open(&e, &cfg);
  check_os(&e);
  ASSERT_GT(test_stats(e.a).os_requests, 0); /* the allocator itself */
  fa_begin_frame(e.a);
  for (i = 0; i < 100; i++)
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 3000, 8));
  check_os(&e);
  fa_end_frame(e.a);
  check_os(&e);
  for (i = 0; i < 300; i++) {
    p[i] = fa_pool_alloc(e.a, (size_t)i * 7);
    ASSERT_NOT_NULL(p[i]);
  }
  check_os(&e);
  for (i = 0; i < 300; i++)
    fa_pool_free(e.a, p[i]);
  check_os(&e);
  for (i = 0; i < 20; i++) {
    p[i] = fa_heap_alloc(e.a, 10000 + (size_t)i, 64);
    ASSERT_NOT_NULL(p[i]);
  }
  check_os(&e);
  for (i = 0; i < 20; i++)
    fa_heap_free(e.a, p[i]);
  check_os(&e);
  fa_trim(e.a);
  check_os(&e);
  test_env_close_quiet(&e);
}

TEST(stats_task_bytes_zero) {
  test_env_t e;
  test_env_open(&e, NULL);
  fa_begin_frame(e.a);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 100, 0));
  fa_pool_free(e.a, fa_pool_alloc(e.a, 100));
  ASSERT_EQ(test_stats(e.a).task_bytes, 0); /* no task exists */
  fa_end_frame(e.a);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(stats_null_arguments),
    TEST_ENTRY(stats_fresh_allocator),
    TEST_ENTRY(stats_frame_bytes_exact),
    TEST_ENTRY(stats_frame_peak),
    TEST_ENTRY(stats_frames_and_peak_across_threads),
    TEST_ENTRY(stats_frame_bytes_all_threads),
    TEST_ENTRY(stats_pool_block_sizes),
    TEST_ENTRY(stats_pool_fallback_requested_size),
    TEST_ENTRY(stats_pool_classes_above_1k),
    TEST_ENTRY(stats_pool_live_after_thread_exit),
    TEST_ENTRY(stats_heap_exact),
    TEST_ENTRY(stats_os_matches_source),
    TEST_ENTRY(stats_task_bytes_zero),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
