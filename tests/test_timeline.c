/* test_timeline.c: <framealloc/timeline.h> without traces: the frame
 * history (record contents against known frames, ordering, the ring's
 * wrap-around, reads from other threads while four threads run frames),
 * thread indexes, tags and their budgets, the profiler hooks (every
 * allocation and free seen once, per tier, with its tag; each discard
 * exactly the frame's range), and bad input to each function. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/timeline.h>
#include <sched.h>
#include <time.h>

/* Longer than the interval at which pool and task bytes are resampled. */
static void sleep_past_sample(void) {
  struct timespec ts = {0, 1500 * 1000};
  nanosleep(&ts, NULL);
}

static void open_history(test_env_t *e, size_t n) {
  fa_config_t cfg = {0};
  cfg.history_frames = n;
  test_env_open(e, &cfg);
}

/* Allocates n blocks of 64 bytes of frame memory. */
static void frame_blocks(fa_allocator_t *a, int n) {
  for (int i = 0; i < n; i++) {
    void *p = fa_frame_alloc(a, 64, 16);
    ASSERT_NOT_NULL(p);
    memset(p, i, 64);
  }
}

/* ---- History ---------------------------------------------------------- */

TEST(history_off_by_default) {
  test_env_t e;
  fa_frame_record_t r[4];
  test_env_open(&e, NULL);
  fa_begin_frame(e.a);
  frame_blocks(e.a, 3);
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 4), 0);
  ASSERT_EQ(fa_frame_history(e.a, FA_ALL_THREADS, r, 4), 0);
  test_env_close_quiet(&e);
}

TEST(history_known_frames) {
  test_env_t e;
  fa_frame_record_t r[8];
  uint64_t os_at_end[5];
  open_history(&e, 8);
  ASSERT_EQ(fa_thread_index(e.a), 0);
  for (int f = 1; f <= 5; f++) {
    fa_begin_frame(e.a);
    frame_blocks(e.a, f);
    void *h = f == 3 ? fa_heap_alloc(e.a, 1000, 0) : NULL;
    os_at_end[f - 1] = test_stats(e.a).os_bytes;
    fa_end_frame(e.a);
    fa_heap_free(e.a, h);
  }
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 8), 5);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(r[i].frame, i + 1);
    ASSERT_EQ(r[i].thread, 0);
    ASSERT_EQ(r[i].frame_bytes, 64 * (i + 1));
    ASSERT_EQ(r[i].frame_peak, 64 * (i + 1));
    ASSERT_EQ(r[i].chunks, 1);
    ASSERT_EQ(r[i].heap_bytes, i == 2 ? 1000 : 0);
    ASSERT_EQ(r[i].os_bytes, os_at_end[i]);
    ASSERT_EQ(r[i].diagnostics, 0);
    ASSERT_EQ(r[i].budget, FA_BUDGET_OK);
    ASSERT_EQ(r[i].tag_count, 0);
    ASSERT_LE(r[i].begin_ns, r[i].end_ns);
    if (i > 0)
      ASSERT_LE(r[i - 1].end_ns, r[i].begin_ns);
    if (r[i].flags & FA_RECORD_ALL_ALLOCS)
      ASSERT_EQ(r[i].allocs, i + 1 + (i == 2));
    else
      ASSERT_LE(r[i].allocs, i + 1 + (i == 2));
  }
  /* All threads: the same five, the newest max of them. */
  ASSERT_EQ(fa_frame_history(e.a, FA_ALL_THREADS, r, 8), 5);
  ASSERT_EQ(r[4].frame, 5);
  ASSERT_EQ(fa_frame_history(e.a, FA_ALL_THREADS, r, 2), 2);
  ASSERT_EQ(r[0].frame, 4);
  ASSERT_EQ(r[1].frame, 5);
  test_env_close_quiet(&e);
}

TEST(history_ring_wraps) {
  test_env_t e;
  fa_frame_record_t r[8];
  open_history(&e, 4);
  for (int f = 1; f <= 10; f++) {
    fa_begin_frame(e.a);
    frame_blocks(e.a, f);
    fa_end_frame(e.a);
  }
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 8), 4);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(r[i].frame, 7 + i);
    ASSERT_EQ(r[i].frame_bytes, 64 * (7 + i));
  }
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 2), 2);
  ASSERT_EQ(r[0].frame, 9);
  ASSERT_EQ(r[1].frame, 10);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 0), 0);
  ASSERT_EQ(fa_frame_history(e.a, 7, r, 8), 0); /* no such thread */
  test_env_close_quiet(&e);
}

TEST(history_peak_after_rewind_and_chunks) {
  test_env_t e;
  fa_frame_record_t r[2];
  fa_config_t cfg = {0};
  cfg.history_frames = 2;
  cfg.frame_chunk_size = 64 << 10;
  test_env_open(&e, &cfg);
  fa_begin_frame(e.a);
  frame_blocks(e.a, 2);
  fa_mark_t m = fa_frame_mark(e.a);
  frame_blocks(e.a, 10);
  fa_frame_rewind(e.a, m);
  fa_end_frame(e.a);
  /* A frame larger than the first chunk uses two. */
  fa_begin_frame(e.a);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 40 << 10, 16));
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 40 << 10, 16));
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 2), 2);
  ASSERT_EQ(r[0].frame_bytes, 128);
  ASSERT_EQ(r[0].frame_peak, 64 * 12);
  ASSERT_EQ(r[0].chunks, 1);
  ASSERT_EQ(r[1].chunks, 2);
  ASSERT_GE(r[1].frame_bytes, 80 << 10);
  test_env_close_quiet(&e);
}

TEST(history_pool_and_task_bytes) {
  test_env_t e;
  fa_frame_record_t r[4];
  open_history(&e, 4);
  fa_begin_frame(e.a);
  void *p[3];
  for (int i = 0; i < 3; i++)
    ASSERT_NOT_NULL(p[i] = fa_pool_alloc(e.a, 64));
  fa_task_t *t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_NOT_NULL(fa_task_alloc(t, 256, 16));
  size_t used = fa_task_used(t);
  sleep_past_sample();
  fa_end_frame(e.a);
  fa_begin_frame(e.a);
  for (int i = 0; i < 3; i++)
    fa_pool_free(e.a, p[i]);
  fa_task_destroy(t);
  sleep_past_sample();
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 4), 2);
  ASSERT_EQ(r[0].pool_bytes, 192);
  ASSERT_EQ(r[0].task_bytes, used);
  ASSERT_GE(used, 256);
  ASSERT_EQ(r[1].pool_bytes, 0);
  ASSERT_EQ(r[1].task_bytes, 0);
  test_env_close_quiet(&e);
}

TEST(history_diagnostics_and_budget) {
  test_env_t e;
  fa_frame_record_t r[4];
  fa_config_t cfg = {0};
  cfg.history_frames = 4;
  cfg.frame_budget = 1024;
  test_env_open(&e, &cfg);
  fa_begin_frame(e.a);
  ASSERT_NULL(fa_frame_alloc(e.a, 2048, 16));
  fa_begin_frame(e.a); /* FA002 */
  fa_end_frame(e.a);
  fa_begin_frame(e.a);
  frame_blocks(e.a, 1);
  fa_end_frame(e.a);
  /* An implicit frame: FA001 opens it, its end closes it. */
  frame_blocks(e.a, 1);
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 4), 3);
  ASSERT_EQ(r[0].diagnostics, 2);
  ASSERT_EQ(r[0].budget, FA_BUDGET_HARD);
  ASSERT_EQ(r[1].diagnostics, 0);
  ASSERT_EQ(r[1].budget, FA_BUDGET_OK);
  ASSERT_EQ(r[2].diagnostics, 1);
  ASSERT_EQ(r[2].frame_bytes, 64);
  ASSERT_EQ(diag_log_count(&e.log, 1), 1);
  ASSERT_EQ(diag_log_count(&e.log, 2), 1);
  ASSERT_EQ(diag_log_count(&e.log, 3), 1);
  test_env_close(&e);
}

TEST(history_bad_input) {
  test_env_t e;
  fa_frame_record_t r[2];
  open_history(&e, 2);
  ASSERT_EQ(fa_frame_history(NULL, 0, r, 2), FA_EINVAL);
  ASSERT_EQ(fa_frame_history(e.a, -2, r, 2), FA_EINVAL);
  ASSERT_EQ(fa_frame_history(e.a, 0, NULL, 2), FA_EINVAL);
  ASSERT_EQ(fa_frame_history(e.a, 0, NULL, 0), 0);
  ASSERT_EQ(diag_log_count(&e.log, 6), 2); /* the NULL allocator's: stderr */
  ASSERT_EQ(fa_thread_index(NULL), FA_EINVAL);
  test_env_close(&e);
}

/* ---- Threads ---------------------------------------------------------- */

#define THREADS 4
#define THREAD_FRAMES 300
#define THREAD_HISTORY 16

typedef struct worker_s {
  fa_allocator_t *a;
  int index;
  int done; /* atomic */
} worker_t;

static int started; /* workers that have their index (atomic) */

/* Frame f of every thread holds (f % 5 + 1) blocks of 64 bytes. Each
 * thread takes its index before any exits, so that none adopts the state
 * (and index) of another. */
static void *worker(void *arg) {
  worker_t *w = arg;
  w->index = fa_thread_index(w->a);
  __atomic_fetch_add(&started, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < THREADS)
    sched_yield();
  for (int f = 1; f <= THREAD_FRAMES; f++) {
    fa_begin_frame(w->a);
    frame_blocks(w->a, f % 5 + 1);
    fa_end_frame(w->a);
  }
  __atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
  return NULL;
}

static int all_done(worker_t *w) {
  for (int i = 0; i < THREADS; i++)
    if (!__atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE))
      return 0;
  return 1;
}

TEST(history_four_threads) {
  test_env_t e;
  worker_t w[THREADS];
  pthread_t th[THREADS];
  static fa_frame_record_t r[THREADS * THREAD_HISTORY];
  open_history(&e, THREAD_HISTORY);
  started = 0;
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker_t){e.a, -1, 0};
    ASSERT_EQ(pthread_create(&th[i], NULL, worker, &w[i]), 0);
  }
  /* Every record read while the threads write is whole. */
  long reads = 0;
  do {
    int n = fa_frame_history(e.a, FA_ALL_THREADS, r, THREADS * THREAD_HISTORY);
    ASSERT_GE(n, 0);
    for (int i = 0; i < n; i++) {
      ASSERT_EQ(r[i].frame_bytes, 64 * (r[i].frame % 5 + 1));
      ASSERT_EQ(r[i].frame_peak, r[i].frame_bytes);
      ASSERT_LT(r[i].thread, THREADS);
      if (i > 0)
        ASSERT_LE(r[i - 1].end_ns, r[i].end_ns);
    }
    reads++;
  } while (!all_done(w));
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  ASSERT_GT(reads, 0);
  int seen[THREADS] = {0};
  for (int i = 0; i < THREADS; i++) {
    ASSERT_GE(w[i].index, 0);
    ASSERT_LT(w[i].index, THREADS);
    ASSERT_EQ(seen[w[i].index]++, 0); /* distinct while they all ran */
    int n = fa_frame_history(e.a, w[i].index, r, THREAD_HISTORY);
    ASSERT_EQ(n, THREAD_HISTORY);
    for (int k = 0; k < n; k++)
      ASSERT_EQ(r[k].frame, THREAD_FRAMES - THREAD_HISTORY + 1 + k);
  }
  ASSERT_EQ(fa_frame_history(e.a, FA_ALL_THREADS, r, THREADS * THREAD_HISTORY),
            THREADS * THREAD_HISTORY);
  test_env_close_quiet(&e);
}

/* ---- Tags ------------------------------------------------------------- */

TEST(tags_attribute_bytes) {
  test_env_t e;
  fa_frame_record_t r[2];
  open_history(&e, 2);
  fa_begin_frame(e.a);
  fa_tag_t phys = fa_tag_push(e.a, "physics");
  ASSERT_NE(phys, 0);
  ASSERT_EQ(fa_tag_current(e.a), phys);
  ASSERT(strcmp(fa_tag_name(e.a, phys), "physics") == 0);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 128, 16));
  void *p = fa_pool_alloc(e.a, 64);
  ASSERT_NOT_NULL(p);
  fa_tag_t ai = fa_tag_push(e.a, "ai");
  ASSERT_NE(ai, phys);
  ASSERT_EQ(fa_tag_current(e.a), ai);
  fa_task_t *t = fa_task_create(e.a);
  ASSERT_NOT_NULL(fa_task_alloc(t, 100, 4));
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 32, 16));
  fa_tag_pop(e.a);
  ASSERT_EQ(fa_tag_current(e.a), phys);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 16, 16));
  fa_tag_pop(e.a);
  ASSERT_EQ(fa_tag_current(e.a), 0);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 64, 16)); /* untagged */
  ASSERT_EQ(fa_tag_push(e.a, "physics"), phys); /* one id per name */
  fa_tag_pop(e.a);
  fa_end_frame(e.a);
  fa_begin_frame(e.a);
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 2), 2);
  ASSERT_EQ(r[0].tag_count, 2);
  ASSERT_EQ(r[0].tags[0].tag, phys);
  ASSERT_EQ(r[0].tags[0].frame, 144);
  ASSERT_EQ(r[0].tags[0].pool, 64);
  ASSERT_EQ(r[0].tags[0].task, 0);
  ASSERT_EQ(r[0].tags[1].tag, ai);
  ASSERT_EQ(r[0].tags[1].frame, 32);
  ASSERT_EQ(r[0].tags[1].task, 100);
  ASSERT_EQ(r[0].frame_bytes, 128 + 32 + 16 + 64);
  ASSERT_EQ(r[1].tag_count, 0); /* a frame without tagged bytes */
  ASSERT_NULL(fa_tag_name(e.a, 0));
  ASSERT_NULL(fa_tag_name(e.a, 99));
  ASSERT_NULL(fa_tag_name(NULL, phys));
  fa_pool_free(e.a, p);
  fa_task_destroy(t);
  test_env_close_quiet(&e);
}

TEST(tag_budgets_soft_and_hard) {
  test_env_t e;
  fa_frame_record_t r[2];
  fa_tag_budget_t b[] = {{"physics", 100, 300}, {"audio", 0, 0}};
  fa_config_t cfg = {0};
  cfg.history_frames = 2;
  cfg.tag_budgets = b;
  cfg.tag_budget_count = 2;
  test_env_open(&e, &cfg);
  for (int f = 0; f < 2; f++) {
    fa_begin_frame(e.a);
    fa_tag_push(e.a, "physics");
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 64, 16));
    ASSERT_EQ(diag_log_count(&e.log, 3), 2 * f);
    ASSERT_NOT_NULL(fa_pool_alloc(e.a, 64)); /* 128 > soft: a warning */
    ASSERT_EQ(diag_log_count(&e.log, 3), 2 * f + 1);
    ASSERT_EQ(diag_log_level(&e.log, 3), FA_LEVEL_WARNING);
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 64, 16)); /* warned once a frame */
    ASSERT_EQ(diag_log_count(&e.log, 3), 2 * f + 1);
    ASSERT_NULL(fa_frame_alloc(e.a, 200, 16)); /* 392 > hard */
    ASSERT_EQ(diag_log_count(&e.log, 3), 2 * f + 2);
    ASSERT_EQ(diag_log_level(&e.log, 3), FA_LEVEL_ERROR);
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 100, 16)); /* 292: fits */
    fa_tag_pop(e.a);
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 4096, 16)); /* untagged */
    fa_end_frame(e.a);
  }
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 2), 2);
  ASSERT_EQ(r[1].budget, FA_BUDGET_HARD);
  ASSERT_EQ(r[1].diagnostics, 2);
  ASSERT_EQ(r[1].tags[0].frame, 64 + 64 + 100);
  ASSERT_EQ(r[1].tags[0].pool, 64);
  /* The pool block of each frame is still live: freed with the allocator. */
  diag_log_clear(&e.log);
  test_env_close(&e);
}

TEST(tag_soft_budget_only) {
  test_env_t e;
  fa_frame_record_t r[1];
  fa_tag_budget_t b[] = {{"ui", 64, 0}};
  fa_config_t cfg = {0};
  cfg.history_frames = 1;
  cfg.tag_budgets = b;
  cfg.tag_budget_count = 1;
  test_env_open(&e, &cfg);
  fa_begin_frame(e.a);
  fa_tag_push(e.a, "ui");
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 1 << 20, 16));
  fa_tag_pop(e.a);
  fa_end_frame(e.a);
  ASSERT_EQ(fa_frame_history(e.a, 0, r, 1), 1);
  ASSERT_EQ(r[0].budget, FA_BUDGET_SOFT);
  ASSERT_EQ(diag_log_count(&e.log, 3), 1);
  test_env_close(&e);
}

TEST(tags_bad_input) {
  test_env_t e;
  char longname[FA_TAG_NAME_MAX + 2];
  test_env_open(&e, NULL);
  fa_tag_pop(e.a); /* without a push */
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  ASSERT_EQ(fa_tag_push(e.a, NULL), 0);
  ASSERT_EQ(fa_tag_push(e.a, ""), 0);
  memset(longname, 'x', sizeof(longname) - 1);
  longname[sizeof(longname) - 1] = '\0';
  ASSERT_EQ(fa_tag_push(e.a, longname), 0);
  ASSERT_EQ(diag_log_count(&e.log, 6), 4);
  longname[FA_TAG_NAME_MAX] = '\0'; /* the longest valid name */
  ASSERT_NE(fa_tag_push(e.a, longname), 0);
  for (int i = 0; i < 4; i++) /* their pops are balanced */
    fa_tag_pop(e.a);
  ASSERT_EQ(diag_log_count(&e.log, 6), 4);
  /* Too deep: the 17th push is refused, its pop still balanced. */
  for (int i = 0; i <= FA_TAG_DEPTH; i++)
    fa_tag_push(e.a, "deep");
  ASSERT_EQ(diag_log_count(&e.log, 6), 5);
  ASSERT_EQ(fa_tag_current(e.a), 0); /* the innermost push was refused */
  fa_tag_pop(e.a);
  ASSERT_NE(fa_tag_current(e.a), 0);
  for (int i = 0; i < FA_TAG_DEPTH; i++)
    fa_tag_pop(e.a);
  ASSERT_EQ(diag_log_count(&e.log, 6), 5);
  fa_tag_pop(e.a);
  ASSERT_EQ(diag_log_count(&e.log, 6), 6);
  /* The table of names is full at FA_TAG_MAX. */
  char name[16];
  for (int i = 0; i < FA_TAG_MAX; i++) {
    snprintf(name, sizeof(name), "t%d", i);
    fa_tag_push(e.a, name);
    fa_tag_pop(e.a);
  }
  ASSERT_EQ(diag_log_count(&e.log, 6), 8); /* xx..x, "deep" and 62 more */
  ASSERT_EQ(fa_tag_push(NULL, "x"), 0);
  fa_tag_pop(NULL);
  ASSERT_EQ(fa_tag_current(NULL), 0);
  test_env_close(&e);
}

TEST(tag_budget_bad_names) {
  test_env_t e;
  fa_tag_budget_t b[] = {{NULL, 1, 2}, {"ok", 10, 0}};
  fa_config_t cfg = {0};
  cfg.tag_budgets = b;
  cfg.tag_budget_count = 2;
  test_env_open(&e, &cfg);
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  ASSERT(strcmp(fa_tag_name(e.a, 1), "ok") == 0);
  test_env_close(&e);
}

static void *push_and_exit(void *arg) {
  fa_tag_push(arg, "left");
  return (void *)(intptr_t)fa_thread_index(arg);
}

static void *tag_after_adopt(void *arg) {
  fa_allocator_t *a = arg;
  intptr_t r = fa_tag_current(a) == 0 ? fa_thread_index(a) : -100;
  fa_tag_pop(a); /* nothing to pop: FA006 */
  return (void *)r;
}

/* A thread that exits with a tag pushed does not hand it to the next
 * thread, which takes over its state and index. */
TEST(tags_end_with_their_thread) {
  test_env_t e;
  pthread_t th;
  void *first, *second;
  test_env_open(&e, NULL);
  ASSERT_EQ(pthread_create(&th, NULL, push_and_exit, e.a), 0);
  ASSERT_EQ(pthread_join(th, &first), 0);
  ASSERT_EQ(pthread_create(&th, NULL, tag_after_adopt, e.a), 0);
  ASSERT_EQ(pthread_join(th, &second), 0);
  ASSERT_EQ((intptr_t)second, (intptr_t)first);
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  test_env_close(&e);
}

/* ---- Hooks ------------------------------------------------------------ */

#define REC_MAX 4096

typedef struct event_s {
  int kind; /* 'a' alloc, 'f' free, 'd' discard */
  fa_tier_t tier;
  void *p;
  size_t size;
  fa_tag_t tag;
} event_t;

typedef struct recorder_s {
  pthread_mutex_t lock;
  int n;
  event_t ev[REC_MAX];
} recorder_t;

static void rec_add(recorder_t *r, event_t e) {
  pthread_mutex_lock(&r->lock);
  if (r->n < REC_MAX)
    r->ev[r->n++] = e;
  pthread_mutex_unlock(&r->lock);
}

static void on_alloc(fa_tier_t tier, void *p, size_t size, fa_tag_t tag,
                     void *user) {
  rec_add(user, (event_t){'a', tier, p, size, tag});
}
static void on_free(fa_tier_t tier, void *p, void *user) {
  rec_add(user, (event_t){'f', tier, p, 0, 0});
}
static void on_discard(void *begin, size_t size, void *user) {
  rec_add(user, (event_t){'d', FA_TIER_FRAME, begin, size, 0});
}

/* How many events of kind and tier name p (for a discard: contain it). */
static int count(const recorder_t *r, int kind, fa_tier_t tier, void *p) {
  int n = 0;
  for (int i = 0; i < r->n; i++) {
    const event_t *e = &r->ev[i];
    if (e->kind != kind || e->tier != tier)
      continue;
    if (kind == 'd'
            ? (char *)p >= (char *)e->p && (char *)p < (char *)e->p + e->size
            : e->p == p)
      n++;
  }
  return n;
}

static const event_t *find_alloc(const recorder_t *r, void *p) {
  for (int i = 0; i < r->n; i++)
    if (r->ev[i].kind == 'a' && r->ev[i].p == p)
      return &r->ev[i];
  return NULL;
}

static recorder_t rec;

static void open_hooked(test_env_t *e, fa_config_t *cfg) {
  static fa_hooks_t hooks = {on_alloc, on_free, on_discard, &rec};
  memset(&rec, 0, sizeof(rec));
  pthread_mutex_init(&rec.lock, NULL);
  cfg->hooks = &hooks;
  test_env_open(e, cfg);
}

TEST(hooks_every_tier_once) {
  test_env_t e;
  fa_config_t cfg = {0};
  void *fr[5], *pl[4], *hp, *tk[3], *gd[2];
  open_hooked(&e, &cfg);
  fa_begin_frame(e.a);
  fa_tag_t tag = fa_tag_push(e.a, "render");
  for (int i = 0; i < 5; i++)
    ASSERT_NOT_NULL(fr[i] = fa_frame_alloc(e.a, 48, 16));
  fa_tag_pop(e.a);
  for (int i = 0; i < 3; i++)
    ASSERT_NOT_NULL(pl[i] = fa_pool_alloc(e.a, 24 + 100 * (size_t)i));
  ASSERT_NOT_NULL(pl[3] = fa_pool_alloc(e.a, 100000)); /* heap fallback */
  ASSERT_NOT_NULL(hp = fa_heap_alloc(e.a, 5000, 64));
  fa_task_t *t = fa_task_create(e.a);
  for (int i = 0; i < 3; i++)
    ASSERT_NOT_NULL(tk[i] = fa_task_alloc(t, 40, 8));
  fa_pool_guard_t *g = fa_pool_guard_create(e.a);
  for (int i = 0; i < 2; i++)
    ASSERT_NOT_NULL(gd[i] = fa_pool_guard_alloc(g, 40, 8));
  /* Every allocation seen once, with its tier, size and tag. */
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(count(&rec, 'a', FA_TIER_FRAME, fr[i]), 1);
    ASSERT_EQ(find_alloc(&rec, fr[i])->size, 48);
    ASSERT_EQ(find_alloc(&rec, fr[i])->tag, tag);
  }
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(count(&rec, 'a', FA_TIER_POOL, pl[i]), 1);
    ASSERT_EQ(find_alloc(&rec, pl[i])->tag, 0);
  }
  ASSERT_EQ(find_alloc(&rec, pl[3])->size, 100000);
  ASSERT_EQ(count(&rec, 'a', FA_TIER_HEAP, hp), 1);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(count(&rec, 'a', FA_TIER_TASK, tk[i]), 1);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ(count(&rec, 'a', FA_TIER_TASK, gd[i]), 1);
  ASSERT_EQ(rec.n, 5 + 4 + 1 + 3 + 2);
  /* Frees: pool and heap at their free, task and guard at the destroy. */
  for (int i = 0; i < 4; i++)
    fa_pool_free(e.a, pl[i]);
  fa_heap_free(e.a, hp);
  fa_task_destroy(t);
  fa_pool_guard_destroy(g);
  fa_pool_free(e.a, pl[0]); /* refused (FA004): no hook */
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(count(&rec, 'f', FA_TIER_POOL, pl[i]), 1);
  ASSERT_EQ(count(&rec, 'f', FA_TIER_HEAP, hp), 1);
  for (int i = 0; i < 3; i++)
    ASSERT_EQ(count(&rec, 'f', FA_TIER_TASK, tk[i]), 1);
  for (int i = 0; i < 2; i++)
    ASSERT_EQ(count(&rec, 'f', FA_TIER_TASK, gd[i]), 1);
  ASSERT_EQ(rec.n, 2 * (5 + 4 + 1 + 3 + 2) - 5);
  /* The frame's end: one discard, exactly its range. */
  fa_end_frame(e.a);
  int d = 0;
  for (int i = 0; i < rec.n; i++)
    if (rec.ev[i].kind == 'd') {
      d++;
      ASSERT_PTR_EQ(rec.ev[i].p, fr[0]);
      ASSERT_EQ(rec.ev[i].size, 5 * 48);
    }
  ASSERT_EQ(d, 1);
  for (int i = 0; i < 5; i++)
    ASSERT_EQ(count(&rec, 'd', FA_TIER_FRAME, fr[i]), 1);
  ASSERT_EQ(diag_log_count(&e.log, 4), 1);
  test_env_close(&e);
}

TEST(hooks_discard_rewind_and_chunks) {
  test_env_t e;
  fa_config_t cfg = {0};
  cfg.frame_chunk_size = 64 << 10;
  open_hooked(&e, &cfg);
  fa_begin_frame(e.a);
  char *a0 = fa_frame_alloc(e.a, 64, 16);
  fa_mark_t m = fa_frame_mark(e.a);
  char *a1 = fa_frame_alloc(e.a, 100, 16);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 30, 16));
  fa_frame_rewind(e.a, m);
  ASSERT_EQ(rec.n, 4);
  ASSERT_EQ(rec.ev[3].kind, 'd');
  ASSERT_PTR_EQ(rec.ev[3].p, a1);
  ASSERT_EQ(rec.ev[3].size, 112 + 30); /* the rewound range, padding in */
  ASSERT_PTR_EQ(a0 + 64, a1);
  /* Two chunks: one range each. */
  char *b0 = fa_frame_alloc(e.a, 60 << 10, 16);
  char *b1 = fa_frame_alloc(e.a, 10 << 10, 16);
  ASSERT_NOT_NULL(b0);
  ASSERT_NOT_NULL(b1);
  int before = rec.n;
  fa_end_frame(e.a);
  ASSERT_EQ(rec.n, before + 2);
  ASSERT_PTR_EQ(rec.ev[before].p, a0);
  ASSERT_EQ(rec.ev[before].size, 64 + (60 << 10));
  ASSERT_PTR_EQ(rec.ev[before + 1].p, b1);
  ASSERT_EQ(rec.ev[before + 1].size, 10 << 10);
  /* An empty frame discards nothing. */
  fa_begin_frame(e.a);
  fa_end_frame(e.a);
  ASSERT_EQ(rec.n, before + 2);
  test_env_close_quiet(&e);
}

static void *hooked_thread(void *arg) {
  fa_allocator_t *a = arg;
  for (int f = 0; f < 50; f++) {
    fa_begin_frame(a);
    void *p = fa_frame_alloc(a, 32, 16);
    void *q = fa_pool_alloc(a, 32);
    test_sink = p;
    fa_pool_free(a, q);
    fa_end_frame(a);
  }
  return NULL;
}

TEST(hooks_threads) {
  test_env_t e;
  fa_config_t cfg = {0};
  pthread_t th[THREADS];
  open_hooked(&e, &cfg);
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, hooked_thread, e.a), 0);
  for (int i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  int allocs = 0, frees = 0, discards = 0;
  for (int i = 0; i < rec.n; i++) {
    allocs += rec.ev[i].kind == 'a';
    frees += rec.ev[i].kind == 'f';
    discards += rec.ev[i].kind == 'd';
  }
  ASSERT_EQ(allocs, THREADS * 50 * 2);
  ASSERT_EQ(frees, THREADS * 50);
  ASSERT_EQ(discards, THREADS * 50);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(history_off_by_default),
    TEST_ENTRY(history_known_frames),
    TEST_ENTRY(history_ring_wraps),
    TEST_ENTRY(history_peak_after_rewind_and_chunks),
    TEST_ENTRY(history_pool_and_task_bytes),
    TEST_ENTRY(history_diagnostics_and_budget),
    TEST_ENTRY(history_bad_input),
    TEST_ENTRY(history_four_threads),
    TEST_ENTRY(tags_attribute_bytes),
    TEST_ENTRY(tag_budgets_soft_and_hard),
    TEST_ENTRY(tag_soft_budget_only),
    TEST_ENTRY(tags_bad_input),
    TEST_ENTRY(tag_budget_bad_names),
    TEST_ENTRY(tags_end_with_their_thread),
    TEST_ENTRY(hooks_every_tier_once),
    TEST_ENTRY(hooks_discard_rewind_and_chunks),
    TEST_ENTRY(hooks_threads),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
