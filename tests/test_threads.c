/* test_threads.c: pool and heap blocks crossing threads (freed on another
 * thread, outliving the thread that allocated them), and the allocator's
 * lifetime against its threads (retain/release from many threads, release
 * while a thread that used the allocator is still alive). */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>

#define N 2000

/* The blocks handed between threads, with their sizes. */
typedef struct batch_s {
  void *p[N];
  size_t size[N];
} batch_t;

static size_t size_of(int i) {
  return i % 50 == 0 ? 2000 + (size_t)i : (size_t)(i * 13) % 300;
}

static void fill_batch(fa_allocator_t *a, batch_t *b, uint64_t tag) {
  int i;
  for (i = 0; i < N; i++) {
    b->size[i] = size_of(i);
    b->p[i] = fa_pool_alloc(a, b->size[i]);
    ASSERT_NOT_NULL(b->p[i]);
    test_fill(b->p[i], b->size[i], tag + (uint64_t)i);
  }
}

static void free_batch(fa_allocator_t *a, batch_t *b, uint64_t tag) {
  int i;
  for (i = 0; i < N; i++) {
    ASSERT_EQ(test_check(b->p[i], b->size[i], tag + (uint64_t)i), b->size[i]);
    fa_pool_free(a, b->p[i]);
    b->p[i] = NULL;
  }
}

/* ---- Freed on another thread while the owner lives ------------------- */

typedef struct pair_s {
  test_env_t *e;
  batch_t batch;
  pthread_barrier_t step;
  uint64_t reserves_before, reserves_after;
} pair_t;

static void *owner(void *p) {
  pair_t *s = p;
  fa_allocator_t *a = s->e->a;
  int round;
  for (round = 0; round < 3; round++) {
    fill_batch(a, &s->batch, (uint64_t)round << 32);
    if (round == 1)
      s->reserves_before = test_source_reserves(&s->e->src);
    pthread_barrier_wait(&s->step); /* the other thread frees them */
    pthread_barrier_wait(&s->step);
  }
  /* The remote frees came back: taking them again costs no new memory
   * (the first round paid for the pages, heap fallbacks aside). */
  s->reserves_after = test_source_reserves(&s->e->src);
  return NULL;
}

static void *freer(void *p) {
  pair_t *s = p;
  int round;
  for (round = 0; round < 3; round++) {
    pthread_barrier_wait(&s->step);
    free_batch(s->e->a, &s->batch, (uint64_t)round << 32);
    pthread_barrier_wait(&s->step);
  }
  return NULL;
}

TEST(pool_free_on_other_thread) {
  test_env_t e;
  static pair_t s;
  pthread_t t1, t2;
  fa_stats_t st;
  int i, fallbacks = 0;
  test_env_open(&e, NULL);
  s.e = &e;
  ASSERT_EQ(pthread_barrier_init(&s.step, NULL, 2), 0);
  ASSERT_EQ(pthread_create(&t1, NULL, owner, &s), 0);
  ASSERT_EQ(pthread_create(&t2, NULL, freer, &s), 0);
  ASSERT_EQ(pthread_join(t1, NULL), 0);
  ASSERT_EQ(pthread_join(t2, NULL), 0);
  pthread_barrier_destroy(&s.step);
  for (i = 0; i < N; i++)
    fallbacks += size_of(i) > 1024;
  /* Only heap fallbacks may have asked the source for memory. */
  ASSERT_LE(s.reserves_after - s.reserves_before, (uint64_t)fallbacks);
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.pool_bytes, 0);
  test_env_close_quiet(&e);
}

/* ---- Blocks outliving their thread ------------------------------------ */

typedef struct solo_s {
  test_env_t *e;
  batch_t *batch;
  uint64_t tag;
  int free_own;
} solo_t;

static void *alloc_and_exit(void *p) {
  solo_t *s = p;
  fill_batch(s->e->a, s->batch, s->tag);
  if (s->free_own)
    free_batch(s->e->a, s->batch, s->tag);
  return NULL;
}

static void run_solo(test_env_t *e, batch_t *b, uint64_t tag, int free_own) {
  solo_t s;
  pthread_t t;
  s.e = e;
  s.batch = b;
  s.tag = tag;
  s.free_own = free_own;
  ASSERT_EQ(pthread_create(&t, NULL, alloc_and_exit, &s), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
}

TEST(pool_blocks_of_exited_thread) {
  test_env_t e;
  static batch_t b;
  fa_stats_t st;
  uint64_t reserves, peak;
  int i, fallbacks = 0;
  test_env_open(&e, NULL);
  for (i = 0; i < N; i++)
    fallbacks += size_of(i) > 1024;

  run_solo(&e, &b, 1, 0);
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_count, N); /* still live after the thread exited */
  free_batch(e.a, &b, 1);      /* main frees them */
  st = test_stats(e.a);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.pool_bytes, 0);
  ASSERT_EQ(diag_log_total(&e.log), 0);

  /* Their pages serve new blocks: main allocates the same again. */
  reserves = test_source_reserves(&e.src);
  fill_batch(e.a, &b, 2);
  ASSERT_LE(test_source_reserves(&e.src) - reserves, (uint64_t)fallbacks);
  free_batch(e.a, &b, 2);

  /* And returned by a trim once empty. */
  run_solo(&e, &b, 3, 0);
  free_batch(e.a, &b, 3);
  peak = test_source_outstanding(&e.src);
  fa_trim(e.a);
  ASSERT_LT(test_source_outstanding(&e.src), peak);
  ASSERT_EQ(test_stats(e.a).os_bytes, test_source_outstanding(&e.src));
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

static void *free_only(void *p) {
  solo_t *s = p;
  free_batch(s->e->a, s->batch, s->tag);
  return NULL;
}

TEST(pool_exited_thread_blocks_freed_by_another_thread) {
  test_env_t e;
  static batch_t b;
  solo_t s;
  pthread_t t;
  test_env_open(&e, NULL);
  run_solo(&e, &b, 10, 0);
  /* A third thread frees what an exited one allocated. */
  s.e = &e;
  s.batch = &b;
  s.tag = 10;
  s.free_own = 0;
  ASSERT_EQ(pthread_create(&t, NULL, free_only, &s), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  ASSERT_EQ(test_stats(e.a).pool_bytes, 0);
  test_env_close_quiet(&e);
}

/* ---- Heap blocks freed on another thread -------------------------------- */

typedef struct heap_pass_s {
  fa_allocator_t *a;
  void *p[64];
} heap_pass_t;

static void *heap_alloc_thread(void *p) {
  heap_pass_t *h = p;
  int i;
  for (i = 0; i < 64; i++) {
    h->p[i] = fa_heap_alloc(h->a, 100 + (size_t)i * 100, (size_t)1 << (i % 13));
    if (h->p[i])
      test_fill(h->p[i], 100 + (size_t)i * 100, (uint64_t)i);
  }
  return NULL;
}

static void *heap_free_thread(void *p) {
  heap_pass_t *h = p;
  int i;
  for (i = 0; i < 64; i++) {
    ASSERT_NOT_NULL(h->p[i]);
    ASSERT_EQ(test_check(h->p[i], 100 + (size_t)i * 100, (uint64_t)i),
              100 + (size_t)i * 100);
    fa_heap_free(h->a, h->p[i]);
  }
  return NULL;
}

TEST(heap_free_on_other_thread) {
  test_env_t e;
  heap_pass_t h;
  pthread_t t;
  test_env_open(&e, NULL);
  h.a = e.a;
  ASSERT_EQ(pthread_create(&t, NULL, heap_alloc_thread, &h), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(test_stats(e.a).heap_count, 64);
  ASSERT_EQ(pthread_create(&t, NULL, heap_free_thread, &h), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(test_stats(e.a).heap_count, 0);
  ASSERT_EQ(test_stats(e.a).heap_bytes, 0);
  test_env_close_quiet(&e);
}

/* ---- Allocator lifetime and threads ----------------------------------- */

static void *retain_release_loop(void *p) {
  fa_allocator_t *a = p;
  int i;
  for (i = 0; i < 2000; i++) {
    fa_allocator_t *r = fa_retain(a);
    ASSERT_PTR_EQ(r, a);
    if (i % 100 == 0) {
      void *b = fa_pool_alloc(r, 32);
      ASSERT_NOT_NULL(b);
      fa_pool_free(r, b);
    }
    fa_release(r);
  }
  return NULL;
}

TEST(retain_release_from_threads) {
  test_env_t e;
  pthread_t t[6];
  int i;
  test_env_open(&e, NULL);
  for (i = 0; i < 6; i++)
    ASSERT_EQ(pthread_create(&t[i], NULL, retain_release_loop, e.a), 0);
  for (i = 0; i < 6; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  /* The count is back to one: the allocator is alive and works. */
  ASSERT_GT(test_source_outstanding(&e.src), 0);
  fa_pool_free(e.a, fa_pool_alloc(e.a, 64));
  ASSERT_EQ(test_stats(e.a).pool_count, 0);
  test_env_close_quiet(&e);
}

typedef struct late_s {
  fa_allocator_t *a;
  pthread_barrier_t step;
} late_t;

static void *use_then_wait(void *p) {
  late_t *s = p;
  void *b;
  int i;
  fa_begin_frame(s->a);
  test_sink = fa_frame_alloc(s->a, 100, 0);
  fa_end_frame(s->a);
  b = fa_pool_alloc(s->a, 100);
  fa_pool_free(s->a, b);
  pthread_barrier_wait(&s->step); /* main releases the allocator */
  pthread_barrier_wait(&s->step);
  /* The thread goes on with new allocators, then exits; its state for the
   * released one is cleaned up, or was. */
  for (i = 0; i < 20; i++) {
    fa_allocator_t *other = fa_create(NULL);
    ASSERT_NOT_NULL(other);
    fa_begin_frame(other);
    ASSERT_NOT_NULL(fa_frame_alloc(other, 100, 0));
    fa_end_frame(other);
    b = fa_pool_alloc(other, 100);
    ASSERT_NOT_NULL(b);
    fa_pool_free(other, b);
    fa_release(other);
  }
  return NULL;
}

TEST(release_while_thread_alive) {
  test_env_t e;
  late_t s;
  pthread_t t;
  test_env_open(&e, NULL);
  s.a = e.a;
  ASSERT_EQ(pthread_barrier_init(&s.step, NULL, 2), 0);
  ASSERT_EQ(pthread_create(&t, NULL, use_then_wait, &s), 0);
  pthread_barrier_wait(&s.step);
  fa_release(e.a);
  ASSERT_EQ(test_source_outstanding(&e.src), 0);
  pthread_barrier_wait(&s.step);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  pthread_barrier_destroy(&s.step);
  ASSERT_EQ(diag_log_count(&e.log, 5), 0); /* nothing was live */
  ASSERT_EQ(test_source_bad(&e.src), 0);
  diag_log_destroy(&e.log);
  test_source_destroy(&e.src);
}
/* ---- A new allocator at the address of a released one ---------------- */

/* A memory source that hands a released block back to the next request of
 * the same size and alignment, so that a new allocator is made at the
 * address of the one released just before. */
#define RECYCLED 64
typedef struct recycle_s {
  pthread_mutex_t lock;
  void *block[RECYCLED];
  size_t size[RECYCLED];
  int count;
} recycle_t;

static void *recycle_reserve(size_t size, size_t align, void *user) {
  recycle_t *r = user;
  void *p = NULL;
  int i;
  pthread_mutex_lock(&r->lock);
  for (i = r->count - 1; i >= 0 && !p; i--) {
    if (r->size[i] == size && (uintptr_t)r->block[i] % align == 0) {
      p = r->block[i];
      r->block[i] = r->block[--r->count];
      r->size[i] = r->size[r->count];
    }
  }
  pthread_mutex_unlock(&r->lock);
  if (!p && test_block_alloc(
                &p, align < sizeof(void *) ? sizeof(void *) : align, size) != 0)
    return NULL;
  return p;
}

static void recycle_release(void *p, size_t size, void *user) {
  recycle_t *r = user;
  pthread_mutex_lock(&r->lock);
  if (r->count < RECYCLED) {
    r->block[r->count] = p;
    r->size[r->count++] = size;
    p = NULL;
  }
  pthread_mutex_unlock(&r->lock);
  test_block_free(p);
}

typedef struct reuse_s {
  fa_allocator_t *a;
  pthread_barrier_t step;
  uint64_t pool_count; /* of the new allocator, seen by the thread */
  int in_new;          /* frame allocations the thread saw succeed */
} reuse_t;

static void *use_old_then_new(void *p) {
  reuse_t *s = p;
  void *b;
  fa_begin_frame(s->a);
  test_sink = fa_frame_alloc(s->a, 64, 0);
  b = fa_pool_alloc(s->a, 64);
  fa_pool_free(s->a, b);
  fa_end_frame(s->a);             /* this thread's cache names the old one */
  pthread_barrier_wait(&s->step); /* main releases it, makes a new one */
  pthread_barrier_wait(&s->step);
  b = fa_pool_alloc(s->a, 64); /* s->a is the new allocator now */
  ASSERT_NOT_NULL(b);
  s->pool_count = test_stats(s->a).pool_count;
  fa_pool_free(s->a, b);
  fa_begin_frame(s->a);
  s->in_new = fa_frame_alloc(s->a, 32, 0) != NULL;
  fa_end_frame(s->a);
  return NULL;
}

TEST(new_allocator_at_released_address) {
  recycle_t r;
  fa_memory_source_t src = {recycle_reserve, recycle_release, &r};
  fa_config_t cfg = {0};
  fa_allocator_t *old;
  reuse_t s;
  pthread_t t;
  memset(&r, 0, sizeof(r));
  ASSERT_EQ(pthread_mutex_init(&r.lock, NULL), 0);
  cfg.memory_source = &src;
  old = s.a = fa_create(&cfg);
  ASSERT_NOT_NULL(s.a);
  ASSERT_EQ(pthread_barrier_init(&s.step, NULL, 2), 0);
  ASSERT_EQ(pthread_create(&t, NULL, use_old_then_new, &s), 0);
  pthread_barrier_wait(&s.step);
  fa_release(s.a);
  s.a = fa_create(&cfg);
  ASSERT_PTR_EQ(s.a, old); /* the case under test: the same address */
  pthread_barrier_wait(&s.step);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(s.pool_count, 1);
  ASSERT_EQ(s.in_new, 1);
  ASSERT_EQ(test_stats(s.a).pool_count, 0);
  ASSERT_EQ(test_stats(s.a).frames, 1);
  fa_release(s.a);
  pthread_barrier_destroy(&s.step);
  while (r.count > 0)
    test_block_free(r.block[--r.count]);
  pthread_mutex_destroy(&r.lock);
}

static const test_case_t tests[] = {
    TEST_ENTRY(pool_free_on_other_thread),
    TEST_ENTRY(pool_blocks_of_exited_thread),
    TEST_ENTRY(pool_exited_thread_blocks_freed_by_another_thread),
    TEST_ENTRY(heap_free_on_other_thread),
    TEST_ENTRY(retain_release_from_threads),
    TEST_ENTRY(release_while_thread_alive),
    TEST_ENTRY(new_allocator_at_released_address),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
