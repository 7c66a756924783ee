/* test_fault.c: out-of-memory paths. Each scenario (frame, pool, heap, and
 * a second thread) runs again and again with the memory source armed to
 * fail its n-th reserve call, for n = 0, 1, 2, ... until a run no longer
 * reaches a failure; then once more with every call from the n-th on
 * failing. In every run, each allocation gives NULL or a valid block,
 * nothing crashes, no invalid free is reported, and once the allocator is
 * released the source has nothing outstanding. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <stdalign.h>
#include <stddef.h>

/* A scenario uses a (which the caller creates and releases). */
typedef void (*scenario_fn)(fa_allocator_t *a, test_source_t *src);

/* Allocation results are NULL or valid: aligned, writable, not clobbered. */
static void check_block(void *p, size_t size, size_t align, uint64_t key) {
  if (!p)
    return;
  ASSERT(test_aligned(p, align));
  test_fill(p, size, key);
}

static void verify_block(void *p, size_t size, uint64_t key) {
  if (p)
    ASSERT_EQ(test_check(p, size, key), size);
}

static void scenario_frame(fa_allocator_t *a, test_source_t *src) {
  static const size_t sizes[] = {16, 0, 3000, 100, 9000, 1, 70000, 500};
  void *p[24];
  size_t sz[24];
  fa_frame_vec(int) v = {0};
  fa_mark_t m;
  int f, i, k;
  (void)src;
  for (f = 0; f < 3; f++) {
    fa_begin_frame(a);
    m = fa_frame_mark(a);
    for (i = 0; i < 24; i++) {
      size_t align = (size_t)1 << (i % 13);
      sz[i] = sizes[i % 8];
      p[i] = fa_frame_alloc(a, sz[i], align);
      check_block(p[i], sz[i], align, (uint64_t)(f * 100 + i));
      if (i == 11) {
        fa_frame_rewind(a, m);
        for (k = 0; k <= i; k++)
          p[k] = NULL;
      }
    }
    for (i = 0; i < 24; i++)
      verify_block(p[i], sz[i], (uint64_t)(f * 100 + i));
    v.data = NULL;
    v.len = v.cap = 0;
    for (i = 0; i < 3000; i++) {
      size_t len = v.len;
      if (fa_frame_vec_push(a, &v, i) != 0) {
        ASSERT_EQ(v.len, len); /* unchanged on failure */
        break;
      }
    }
    for (k = 0; k < (int)v.len; k++)
      ASSERT_EQ(v.data[k], k);
    fa_end_frame(a);
  }
  fa_trim(a);
}

static void scenario_pool(fa_allocator_t *a, test_source_t *src) {
  enum { N = 600 };
  static void *p[N];
  size_t i;
  (void)src;
  for (i = 0; i < N; i++) {
    size_t size = i % 97 == 0 ? 3000 + i : (i * 37) % 1024;
    p[i] = fa_pool_alloc(a, size);
    check_block(p[i], size, alignof(max_align_t), i);
  }
  for (i = 0; i < N; i += 2) {
    size_t size = i % 97 == 0 ? 3000 + i : (i * 37) % 1024;
    verify_block(p[i], size, i);
    fa_pool_free(a, p[i]);
    p[i] = fa_pool_alloc(a, 8);
    check_block(p[i], 8, alignof(max_align_t), i);
  }
  for (i = 0; i < N; i++)
    fa_pool_free(a, p[i]);
  fa_trim(a);
  for (i = 0; i < 100; i++) {
    p[i] = fa_pool_alloc(a, 64);
    check_block(p[i], 64, alignof(max_align_t), i);
  }
  for (i = 0; i < 100; i++)
    fa_pool_free(a, p[i]);
}

static void scenario_heap(fa_allocator_t *a, test_source_t *src) {
  void *p[32];
  size_t i;
  (void)src;
  for (i = 0; i < 32; i++) {
    size_t size = 100 + i * 333, align = (size_t)1 << (i % 17);
    p[i] = fa_heap_alloc(a, size, align);
    check_block(p[i], size, align, i);
  }
  for (i = 0; i < 32; i += 3) {
    fa_heap_free(a, p[i]);
    p[i] = NULL;
  }
  for (i = 0; i < 32; i++) {
    verify_block(p[i], 100 + i * 333, i);
    fa_heap_free(a, p[i]);
  }
}

typedef struct thread_arg_s {
  fa_allocator_t *a;
  void *blocks[200];
} thread_arg_t;

static void *fault_thread(void *p) {
  thread_arg_t *arg = p;
  int i;
  fa_begin_frame(arg->a);
  for (i = 0; i < 20; i++)
    check_block(fa_frame_alloc(arg->a, 2000, 16), 2000, 16, (uint64_t)i);
  fa_end_frame(arg->a);
  for (i = 0; i < 200; i++) {
    arg->blocks[i] = fa_pool_alloc(arg->a, (size_t)(i % 20) * 50);
    check_block(arg->blocks[i], (size_t)(i % 20) * 50, 16, (uint64_t)i);
  }
  for (i = 0; i < 200; i += 2) {
    fa_pool_free(arg->a, arg->blocks[i]);
    arg->blocks[i] = NULL;
  }
  return NULL;
}

static void scenario_thread(fa_allocator_t *a, test_source_t *src) {
  thread_arg_t arg;
  pthread_t t;
  int i;
  (void)src;
  arg.a = a;
  ASSERT_EQ(pthread_create(&t, NULL, fault_thread, &arg), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  for (i = 0; i < 200; i++) { /* the rest, freed by main */
    verify_block(arg.blocks[i], (size_t)(i % 20) * 50, (uint64_t)i);
    fa_pool_free(a, arg.blocks[i]);
  }
}

/* Each registered cleanup must run exactly once, whatever failed. */
static int task_cleanups[40];

static void task_cleanup(void *arg) { (*(int *)arg)++; }

static void scenario_task(fa_allocator_t *a, test_source_t *src) {
  static const size_t sizes[] = {16, 0, 3000, 100, 90000, 1, 20000, 500};
  fa_task_t *t;
  fa_pool_guard_t *g;
  void *p[40];
  int registered[40];
  int i;
  (void)src;
  memset(task_cleanups, 0, sizeof(task_cleanups));
  t = fa_task_create(a);
  g = fa_pool_guard_create(a);
  for (i = 0; i < 40; i++) {
    size_t align = (size_t)1 << (i % 13);
    p[i] = fa_task_alloc(t, sizes[i % 8], align);
    check_block(p[i], sizes[i % 8], align, (uint64_t)i);
    registered[i] = fa_task_defer(t, task_cleanup, &task_cleanups[i]) == 0;
    check_block(fa_pool_guard_alloc(g, sizes[(i + 3) % 8], 16),
                sizes[(i + 3) % 8], 16, (uint64_t)i);
  }
  for (i = 0; i < 40; i++)
    verify_block(p[i], sizes[i % 8], (uint64_t)i);
  fa_task_destroy(t);
  fa_pool_guard_destroy(g);
  for (i = 0; i < 40; i++)
    ASSERT_EQ(task_cleanups[i], t ? registered[i] : 0);
}

/* Runs the scenario with reserve call n (and count-1 more) failing;
 * returns whether a failure was injected. */
static int run_armed(scenario_fn fn, int64_t n, uint64_t count) {
  test_source_t src;
  diag_log_t log;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  fa_stats_t st;
  int hit;
  test_source_init(&src);
  diag_log_init(&log);
  diag_log_config(&log, &cfg);
  cfg.memory_source = &src.src;
  cfg.frame_chunk_size = 4096;
  cfg.cache_max_size = 2 * 65536;
  test_source_arm(&src, n, count);
  a = fa_create(&cfg);
  if (a) {
    fn(a, &src);
    ASSERT_EQ(fa_get_stats(a, &st), 0);
    ASSERT_EQ(st.os_bytes, test_source_outstanding(&src));
    ASSERT_EQ(st.pool_count, 0);
    ASSERT_EQ(st.heap_count, 0);
    ASSERT_EQ(st.task_bytes, 0);
    fa_release(a);
  }
  hit = test_source_failures(&src) > 0;
  ASSERT_EQ(test_source_outstanding(&src), 0);
  ASSERT_EQ(test_source_bad(&src), 0);
  ASSERT_EQ(diag_log_count(&log, 4), 0); /* no invalid free */
  ASSERT_EQ(diag_log_count(&log, 5), 0); /* nothing left live */
  ASSERT_EQ(log.bad, 0);
  diag_log_destroy(&log);
  test_source_destroy(&src);
  return hit;
}

/* The two runs of one n need not reach the same number of reserve calls:
 * the page map takes a leaf for each 4 GiB region that holds a page, so
 * where the source places blocks (a sanitizer's quarantine moves them on
 * from run to run) adds or removes a call. The sweep ends once neither
 * run reaches call n. */
static void run_all_faults(scenario_fn fn) {
  int64_t n;
  int runs = 0;
  for (n = 0; n < 100000; n++) {
    int single = run_armed(fn, n, 1);
    int from_here = run_armed(fn, n, UINT64_MAX);
    runs++;
    if (!single && !from_here)
      break;
  }
  ASSERT_LT(n, 100000);
  ASSERT_GT(runs, 1); /* the scenario does reach the memory source */
  printf("  %d runs\n", runs);
}

TEST(fault_frame) { run_all_faults(scenario_frame); }
TEST(fault_pool) { run_all_faults(scenario_pool); }
TEST(fault_heap) { run_all_faults(scenario_heap); }
TEST(fault_thread) { run_all_faults(scenario_thread); }
TEST(fault_task) { run_all_faults(scenario_task); }

static const test_case_t tests[] = {
    TEST_ENTRY(fault_frame),
    TEST_ENTRY(fault_pool),
    TEST_ENTRY(fault_heap),
    TEST_ENTRY(fault_thread),
    TEST_ENTRY(fault_task),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
