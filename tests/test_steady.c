/* test_steady.c: a steady loop makes no memory-source requests. After a
 * warm-up, 1,000 frames of the same frame and pool workload leave
 * os_requests and os_bytes unchanged; once on one thread, once with a
 * second thread freeing pool blocks of the first every frame. The heap tier
 * is left out: it asks the source for every allocation by design. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>

#define WARMUP 50
#define FRAMES 1000
#define LIVE 3    /* frames a pool block lives */
#define BLOCKS 64 /* pool blocks per frame */

static fa_stats_t get_stats(fa_allocator_t *a) {
  fa_stats_t st;
  memset(&st, 0xff, sizeof(st));
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  return st;
}

typedef struct env_s {
  test_source_t src;
  diag_log_t log;
  fa_allocator_t *a;
} env_t;

static void env_open(env_t *e) {
  fa_config_t cfg = {0};
  test_source_init(&e->src);
  diag_log_init(&e->log);
  diag_log_config(&e->log, &cfg);
  cfg.memory_source = &e->src.src;
  e->a = fa_create(&cfg);
  ASSERT_NOT_NULL(e->a);
}

static void env_close(env_t *e) {
  ASSERT_EQ(diag_log_total(&e->log), 0);
  fa_release(e->a);
  ASSERT_EQ(test_source_outstanding(&e->src), 0);
  ASSERT_EQ(test_source_bad(&e->src), 0);
  diag_log_destroy(&e->log);
  test_source_destroy(&e->src);
}

static size_t pool_size(int i) { return (size_t)(i * 29) % 1025; }

/* The frame part of one frame: scratch of varied sizes (the arena grows
 * past its first chunk), a vector, a mark and rewind. */
static void frame_work(fa_allocator_t *a) {
  fa_frame_vec(int) v = {0};
  fa_mark_t m;
  int i;
  for (i = 0; i < 40; i++) {
    char *p =
        fa_frame_alloc(a, (size_t)(i * 97) % 3000 + 1, (size_t)1 << (i % 7));
    ASSERT_NOT_NULL(p);
    p[0] = (char)i;
  }
  for (i = 0; i < 500; i++)
    ASSERT_EQ(fa_frame_vec_push(a, &v, i), 0);
  m = fa_frame_mark(a);
  for (i = 0; i < 10; i++)
    ASSERT_NOT_NULL(fa_frame_alloc(a, 4000, 64));
  fa_frame_rewind(a, m);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 100000, 16)); /* beyond a chunk */
}

TEST(steady_one_thread) {
  env_t e;
  static void *ring[LIVE][BLOCKS];
  uint64_t requests = 0, bytes = 0;
  int f, i;
  env_open(&e);
  memset(ring, 0, sizeof(ring));
  for (f = 0; f < WARMUP + FRAMES; f++) {
    void **slot = ring[f % LIVE];
    if (f == WARMUP) {
      fa_stats_t st = get_stats(e.a);
      requests = st.os_requests;
      bytes = st.os_bytes;
    }
    fa_begin_frame(e.a);
    frame_work(e.a);
    for (i = 0; i < BLOCKS; i++) { /* free the oldest, take new ones */
      fa_pool_free(e.a, slot[i]);
      slot[i] = fa_pool_alloc(e.a, pool_size(f + i));
      ASSERT_NOT_NULL(slot[i]);
      memset(slot[i], f, pool_size(f + i));
    }
    fa_end_frame(e.a);
  }
  ASSERT_EQ(get_stats(e.a).os_requests, requests);
  ASSERT_EQ(get_stats(e.a).os_bytes, bytes);
  ASSERT_EQ(get_stats(e.a).frames, WARMUP + FRAMES);
  for (f = 0; f < LIVE; f++)
    for (i = 0; i < BLOCKS; i++)
      fa_pool_free(e.a, ring[f][i]);
  ASSERT_EQ(get_stats(e.a).pool_count, 0);
  env_close(&e);
}

/* A helper thread frees, each frame, the blocks main hands it. */
typedef struct handoff_s {
  fa_allocator_t *a;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  void *blocks[BLOCKS];
  int pending; /* blocks are waiting for the helper */
  int quit;
} handoff_t;

static void *helper(void *p) {
  handoff_t *h = p;
  int i;
  pthread_mutex_lock(&h->lock);
  for (;;) {
    while (!h->pending && !h->quit)
      pthread_cond_wait(&h->cond, &h->lock);
    if (h->pending) {
      for (i = 0; i < BLOCKS; i++)
        fa_pool_free(h->a, h->blocks[i]);
      h->pending = 0;
      pthread_cond_broadcast(&h->cond);
    } else if (h->quit) {
      break;
    }
  }
  pthread_mutex_unlock(&h->lock);
  return NULL;
}

TEST(steady_cross_thread_frees) {
  env_t e;
  static handoff_t h;
  static void *ring[LIVE][BLOCKS];
  pthread_t t;
  uint64_t requests = 0, bytes = 0;
  int f, i;
  env_open(&e);
  memset(ring, 0, sizeof(ring));
  h.a = e.a;
  h.pending = h.quit = 0;
  pthread_mutex_init(&h.lock, NULL);
  pthread_cond_init(&h.cond, NULL);
  ASSERT_EQ(pthread_create(&t, NULL, helper, &h), 0);
  for (f = 0; f < WARMUP + FRAMES; f++) {
    void **slot = ring[f % LIVE];
    if (f == WARMUP) {
      fa_stats_t st = get_stats(e.a);
      requests = st.os_requests;
      bytes = st.os_bytes;
    }
    fa_begin_frame(e.a);
    frame_work(e.a);
    /* The oldest blocks go to the helper, which frees them remotely. */
    pthread_mutex_lock(&h.lock);
    while (h.pending)
      pthread_cond_wait(&h.cond, &h.lock);
    memcpy(h.blocks, slot, sizeof(h.blocks));
    h.pending = f >= LIVE;
    pthread_cond_broadcast(&h.cond);
    while (h.pending) /* keep the run deterministic */
      pthread_cond_wait(&h.cond, &h.lock);
    pthread_mutex_unlock(&h.lock);
    for (i = 0; i < BLOCKS; i++) {
      slot[i] = fa_pool_alloc(e.a, pool_size(f + i));
      ASSERT_NOT_NULL(slot[i]);
      memset(slot[i], f, pool_size(f + i));
    }
    fa_end_frame(e.a);
  }
  pthread_mutex_lock(&h.lock);
  h.quit = 1;
  pthread_cond_broadcast(&h.cond);
  pthread_mutex_unlock(&h.lock);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(get_stats(e.a).os_requests, requests);
  ASSERT_EQ(get_stats(e.a).os_bytes, bytes);
  for (f = 0; f < LIVE; f++)
    for (i = 0; i < BLOCKS; i++)
      fa_pool_free(e.a, ring[f][i]);
  ASSERT_EQ(get_stats(e.a).pool_count, 0);
  pthread_mutex_destroy(&h.lock);
  pthread_cond_destroy(&h.cond);
  env_close(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(steady_one_thread),
    TEST_ENTRY(steady_cross_thread_frees),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
