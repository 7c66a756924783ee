/* test_fixed.c: the fixed-region memory source. The source alone: bad
 * arguments give FA_EINVAL, every block is aligned as asked and inside the
 * region, exhaustion gives NULL, released ranges merge and are reused, and
 * releases that are not the source's are ignored. An allocator inside a
 * region: every tier (frame, pool, heap, task, pool guard) serves memory
 * from the region only, running out gives NULL and no crash, freed memory
 * is reused, and destroying the allocator gives the whole region back;
 * threads share one region. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <pthread.h>
#include <stdalign.h>

#define REGION_SIZE ((size_t)8 << 20)
#define SMALL_REGION ((size_t)1 << 20)

/* Static, so that no test depends on an allocator to have its region. */
static alignas(64) unsigned char region[REGION_SIZE];

#define ASSERT_INSIDE(args) ASSERT_EQ(inside args, 1)

static int inside(const void *p, size_t n) {
  uintptr_t at = (uintptr_t)p;
  return at >= (uintptr_t)region && n <= REGION_SIZE &&
         at - (uintptr_t)region <= REGION_SIZE - n;
}

TEST(fixed_bad_arguments) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(NULL, region, REGION_SIZE), FA_EINVAL);
  ASSERT_EQ(fa_memory_source_fixed(&src, NULL, REGION_SIZE), FA_EINVAL);
  ASSERT_EQ(fa_memory_source_fixed(&src, region, 127), FA_EINVAL);
  /* 128 bytes past a misaligned base hold less than two grains. */
  ASSERT_EQ(fa_memory_source_fixed(&src, region + 1, 128), FA_EINVAL);
  ASSERT_EQ(fa_memory_source_fixed(&src, (void *)(UINTPTR_MAX - 100), 4096),
            FA_EINVAL);
  ASSERT_EQ(fa_memory_source_fixed_free(NULL), 0);
  fa_memory_source_t other = {0};
  ASSERT_EQ(fa_memory_source_fixed_free(&other), 0);
  ASSERT_EQ(fa_memory_source_fixed(&src, region, 128), 0);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), 64);
  ASSERT_NOT_NULL(src.reserve(1, 1, src.user));
  ASSERT_NULL(src.reserve(1, 1, src.user));
}

TEST(fixed_alignment_and_bounds) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region + 8, REGION_SIZE - 8), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  ASSERT_GT(total, REGION_SIZE - 256);
  ASSERT_EQ(total % 64, 0);
  ASSERT_NULL(src.reserve(64, 3, src.user)); /* not a power of two */
  ASSERT_NULL(src.reserve(64, 0, src.user));
  ASSERT_NULL(src.reserve(SIZE_MAX - 10, 64, src.user));
  void *p[16];
  for (int i = 0; i < 16; i++) {
    size_t align = (size_t)1 << (i + 1); /* 2 .. 64 KiB */
    size_t size = 100 + (size_t)i * 1000;
    p[i] = src.reserve(size, align, src.user);
    ASSERT_NOT_NULL(p[i]);
    ASSERT_EQ((uintptr_t)p[i] % align, 0);
    ASSERT_INSIDE((p[i], size));
    memset(p[i], 0xa5, size); /* ASan: each block is really there */
  }
  for (int i = 0; i < 16; i++)
    src.release(p[i], 100 + (size_t)i * 1000, src.user);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
}

TEST(fixed_exhaustion_release_reuse) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region, SMALL_REGION), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  ASSERT_EQ(total, SMALL_REGION - 64);
  enum { N = 4096 };
  static void *blocks[N];
  int n = 0;
  while (n < N && (blocks[n] = src.reserve(200, 64, src.user)) != NULL)
    n++;
  ASSERT_EQ(n, (int)(total / 256)); /* 200 rounds up to 256 */
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total % 256);
  ASSERT_NULL(src.reserve(256, 64, src.user));
  /* Every other block back: the holes take small requests, not big ones. */
  for (int i = 0; i < n; i += 2)
    src.release(blocks[i], 200, src.user);
  ASSERT_NULL(src.reserve(512, 64, src.user));
  void *again = src.reserve(256, 64, src.user);
  ASSERT_PTR_EQ(again, blocks[0]); /* first fit: the lowest hole */
  src.release(again, 256, src.user);
  /* The rest back, from the top down: everything merges into one range. */
  for (int i = n - 1; i > 0; i--)
    if (i % 2)
      src.release(blocks[i], 200, src.user);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
  void *all = src.reserve(total, 64, src.user);
  ASSERT_NOT_NULL(all);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), 0);
  src.release(all, total, src.user);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
}

TEST(fixed_foreign_release_ignored) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region, SMALL_REGION), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  unsigned char *p = src.reserve(4096, 64, src.user);
  ASSERT_NOT_NULL(p);
  src.release(region + SMALL_REGION, 64, src.user); /* past the region */
  src.release(region, 64, src.user);                /* the bookkeeping */
  src.release(p + 1, 64, src.user);                 /* misaligned */
  src.release(NULL, 64, src.user);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total - 4096);
  src.release(p, 4096, src.user);
  src.release(p, 4096, src.user); /* twice: overlaps free memory */
  src.release(p + 64, 64, src.user);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
}

/* An allocator on src whose diagnostics go to log. */
static fa_allocator_t *region_allocator(const fa_memory_source_t *src,
                                        diag_log_t *log) {
  fa_config_t cfg = {0};
  diag_log_init(log);
  diag_log_config(log, &cfg);
  cfg.memory_source = src;
  fa_allocator_t *a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  return a;
}

/* Every tier of an allocator living in the region; the whole region comes
 * back when it is destroyed. */
TEST(fixed_allocator_every_tier) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region, REGION_SIZE), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  diag_log_t log;
  fa_allocator_t *a = region_allocator(&src, &log);
  ASSERT_INSIDE((a, 64));
  for (int frame = 0; frame < 3; frame++) {
    fa_begin_frame(a);
    for (int i = 0; i < 100; i++) {
      char *f = fa_frame_alloc(a, 1000, 16);
      ASSERT_NOT_NULL(f);
      ASSERT_INSIDE((f, 1000));
      memset(f, i, 1000);
    }
    fa_end_frame(a);
  }
  void *pool[200];
  for (int i = 0; i < 200; i++) {
    pool[i] = fa_pool_alloc(a, 8 + (size_t)i * 5);
    ASSERT_NOT_NULL(pool[i]);
    ASSERT_INSIDE((pool[i], 8 + (size_t)i * 5));
  }
  void *big = fa_heap_alloc(a, (size_t)1 << 20, 4096);
  ASSERT_NOT_NULL(big);
  ASSERT_INSIDE((big, (size_t)1 << 20));
  ASSERT_EQ((uintptr_t)big % 4096, 0);
  memset(big, 1, (size_t)1 << 20);
  fa_task_t *t = fa_task_create(a);
  ASSERT_NOT_NULL(t);
  for (int i = 0; i < 50; i++) {
    void *q = fa_task_alloc(t, 3000, 64);
    ASSERT_NOT_NULL(q);
    ASSERT_INSIDE((q, 3000));
  }
  void *large = fa_task_alloc(t, (size_t)100 << 10, 16); /* a block */
  ASSERT_NOT_NULL(large);
  ASSERT_INSIDE((large, (size_t)100 << 10));
  fa_task_destroy(t);
  fa_pool_guard_t *g = fa_pool_guard_create(a);
  ASSERT_NOT_NULL(g);
  void *gp = fa_pool_guard_alloc(g, 48, 16);
  ASSERT_NOT_NULL(gp);
  ASSERT_INSIDE((gp, 48));
  fa_pool_guard_destroy(g);
  for (int i = 0; i < 200; i++)
    fa_pool_free(a, pool[i]);
  fa_heap_free(a, big);
  ASSERT_LT(fa_memory_source_fixed_free(&src), total);
  fa_release(a);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
  ASSERT_EQ(diag_log_total(&log), 0);
  diag_log_destroy(&log);
}

/* A region too small for what is asked: NULL and FA_ENOMEM-like failure,
 * never a crash; freeing makes room that is used again. */
TEST(fixed_allocator_exhaustion) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region, (size_t)64 << 10), 0);
  ASSERT_NULL(fa_create(&(fa_config_t){.memory_source = &src}));
  ASSERT_EQ(fa_memory_source_fixed_free(&src), ((size_t)64 << 10) - 64);

  ASSERT_EQ(fa_memory_source_fixed(&src, region, (size_t)2 << 20), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  diag_log_t log;
  fa_allocator_t *a = region_allocator(&src, &log);
  ASSERT_NULL(fa_heap_alloc(a, (size_t)4 << 20, 16)); /* beyond the region */
  void *h[64];
  int n = 0;
  while (n < 64 && (h[n] = fa_heap_alloc(a, (size_t)100 << 10, 16)) != NULL)
    n++;
  ASSERT_GT(n, 2);
  ASSERT_LT(n, 64); /* the region ran out */
  /* Pool blocks until the region holds no more pages. */
  enum { PMAX = 4096 };
  static void *pb[PMAX];
  int np = 0;
  while (np < PMAX && (pb[np] = fa_pool_alloc(a, 1024)) != NULL)
    np++;
  ASSERT_LT(np, PMAX);
  for (int i = 0; i < np; i++)
    fa_pool_free(a, pb[i]);
  fa_trim(a);
  fa_heap_free(a, h[0]);
  fa_heap_free(a, h[1]);
  void *again = fa_heap_alloc(a, (size_t)100 << 10, 16);
  ASSERT_NOT_NULL(again); /* freed room is reused */
  fa_heap_free(a, again);
  for (int i = 2; i < n; i++)
    fa_heap_free(a, h[i]);
  fa_release(a);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
  diag_log_destroy(&log);
}

typedef struct worker_s {
  fa_allocator_t *a;
  int ok;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  void *p[300];
  w->ok = 1;
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 300; i++) {
      p[i] = fa_pool_alloc(w->a, 16 + (size_t)(i % 7) * 24);
      if (!p[i] || !inside(p[i], 16))
        w->ok = 0;
    }
    fa_begin_frame(w->a);
    if (!inside(fa_frame_alloc(w->a, 5000, 8), 5000))
      w->ok = 0;
    fa_end_frame(w->a);
    for (int i = 0; i < 300; i++)
      fa_pool_free(w->a, p[i]);
  }
  return NULL;
}

/* Four threads on two allocators that share one region. */
TEST(fixed_threads_share_region) {
  fa_memory_source_t src;
  ASSERT_EQ(fa_memory_source_fixed(&src, region, REGION_SIZE), 0);
  size_t total = fa_memory_source_fixed_free(&src);
  fa_config_t cfg = {.memory_source = &src};
  fa_allocator_t *a[2] = {fa_create(&cfg), fa_create(&cfg)};
  ASSERT_NOT_NULL(a[0]);
  ASSERT_NOT_NULL(a[1]);
  pthread_t th[4];
  worker_t w[4];
  for (int i = 0; i < 4; i++) {
    w[i].a = a[i % 2];
    ASSERT_EQ(pthread_create(&th[i], NULL, worker, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    ASSERT_EQ(w[i].ok, 1);
  }
  fa_release(a[0]);
  fa_release(a[1]);
  ASSERT_EQ(fa_memory_source_fixed_free(&src), total);
}

static const test_case_t tests[] = {
    TEST_ENTRY(fixed_bad_arguments),
    TEST_ENTRY(fixed_alignment_and_bounds),
    TEST_ENTRY(fixed_exhaustion_release_reuse),
    TEST_ENTRY(fixed_foreign_release_ignored),
    TEST_ENTRY(fixed_allocator_every_tier),
    TEST_ENTRY(fixed_allocator_exhaustion),
    TEST_ENTRY(fixed_threads_share_region),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
