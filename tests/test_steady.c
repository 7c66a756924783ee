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

/* What the memory source holds; a steady loop leaves it as it was. */
typedef struct usage_s {
  uint64_t requests, bytes;
} usage_t;

/* Begins frame f and does its frame work; at the end of the warm-up,
 * first records the memory source usage in *warm. */
static void begin_frame(fa_allocator_t *a, int f, usage_t *warm) {
  if (f == WARMUP) {
    fa_stats_t st = test_stats(a);
    warm->requests = st.os_requests;
    warm->bytes = st.os_bytes;
  }
  fa_begin_frame(a);
  frame_work(a);
}

/* Gives the slot of frame f new pool blocks, freeing each old one just
 * before its replacement is taken when free_old is set. */
static void refill(fa_allocator_t *a, void **slot, int f, int free_old) {
  int i;
  for (i = 0; i < BLOCKS; i++) {
    if (free_old)
      fa_pool_free(a, slot[i]);
    slot[i] = fa_pool_alloc(a, pool_size(f + i));
    ASSERT_NOT_NULL(slot[i]);
    memset(slot[i], f, pool_size(f + i));
  }
}

/* The memory source holds what it held after the warm-up. */
static void check_usage(fa_allocator_t *a, usage_t warm) {
  ASSERT_EQ(test_stats(a).os_requests, warm.requests);
  ASSERT_EQ(test_stats(a).os_bytes, warm.bytes);
}

/* Frees the blocks left in the ring: then no pool block is live. */
static void free_ring(fa_allocator_t *a, void *ring[][BLOCKS]) {
  int f, i;
  for (f = 0; f < LIVE; f++)
    for (i = 0; i < BLOCKS; i++)
      fa_pool_free(a, ring[f][i]);
  ASSERT_EQ(test_stats(a).pool_count, 0);
}

TEST(steady_one_thread) {
  test_env_t e;
  static void *ring[LIVE][BLOCKS];
  usage_t warm = {0, 0};
  int f;
  test_env_open(&e, NULL);
  memset(ring, 0, sizeof(ring));
  for (f = 0; f < WARMUP + FRAMES; f++) {
    begin_frame(e.a, f, &warm);
    refill(e.a, ring[f % LIVE], f, 1); /* free the oldest, take new ones */
    fa_end_frame(e.a);
  }
  check_usage(e.a, warm);
  ASSERT_EQ(test_stats(e.a).frames, WARMUP + FRAMES);
  free_ring(e.a, ring);
  test_env_close_quiet(&e);
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
  test_env_t e;
  static handoff_t h;
  static void *ring[LIVE][BLOCKS];
  pthread_t t;
  usage_t warm = {0, 0};
  int f;
  test_env_open(&e, NULL);
  memset(ring, 0, sizeof(ring));
  h.a = e.a;
  h.pending = h.quit = 0;
  pthread_mutex_init(&h.lock, NULL);
  pthread_cond_init(&h.cond, NULL);
  ASSERT_EQ(pthread_create(&t, NULL, helper, &h), 0);
  for (f = 0; f < WARMUP + FRAMES; f++) {
    void **slot = ring[f % LIVE];
    begin_frame(e.a, f, &warm);
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
    refill(e.a, slot, f, 0);
    fa_end_frame(e.a);
  }
  pthread_mutex_lock(&h.lock);
  h.quit = 1;
  pthread_cond_broadcast(&h.cond);
  pthread_mutex_unlock(&h.lock);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  check_usage(e.a, warm);
  free_ring(e.a, ring);
  pthread_mutex_destroy(&h.lock);
  pthread_cond_destroy(&h.cond);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(steady_one_thread),
    TEST_ENTRY(steady_cross_thread_frees),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
