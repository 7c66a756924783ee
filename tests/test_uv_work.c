/* test_uv_work.c: work items of framealloc::uv on libuv's real thread pool.
 * 10,000 items, at most 256 in flight (each new one queued from the after
 * callback of a finished one), each checking its payload in task memory;
 * every task destroyed at the end. Cancellation: the pool's four threads
 * blocked, more items queued and cancelled, after runs with UV_ECANCELED
 * and the tasks are destroyed. Both callbacks run in their task's scope:
 * FA701 for a frame allocation in either. Task creation failing at each
 * memory-source request in turn gives UV_ENOMEM and nothing queued, with no
 * leak. Bad arguments give UV_EINVAL.
 *
 * Work callbacks run on pool threads, where an assertion would end a libuv
 * thread: they record what they saw, and the loop thread asserts. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/uv.h>
#include <stdlib.h>

#define POOL_THREADS 4 /* UV_THREADPOOL_SIZE, set in main */

static uint64_t task_bytes(fa_allocator_t *a) {
  return test_stats(a).task_bytes;
}

/* ---- Many items ------------------------------------------------------- */

#define MANY_TOTAL 10000
#define MANY_WINDOW 256

typedef struct many_s {
  uv_loop_t *loop;
  fa_allocator_t *a;
  int queued, done; /* loop thread only */
  int bad;          /* results or scopes not as expected (loop thread) */
  int queue_errors;
} many_t;

typedef struct job_s {
  fa_uv_work_t w;
  many_t *m;
  uint64_t key;
  size_t size;
  /* Written by work, read by after: libuv orders the two. */
  uint64_t result;
  int work_ok;
} job_t;

static void many_work(fa_uv_work_t *w, fa_task_t *t) {
  job_t *j = w->data;
  unsigned char *p = fa_task_alloc(t, j->size, 0);
  j->work_ok =
      p != NULL && fa_task_current() == t && fa_task_allocator(t) == j->m->a;
  if (p) {
    test_fill(p, j->size, j->key);
    j->work_ok = j->work_ok && test_check(p, j->size, j->key) == j->size;
  }
  j->result = test_mix64(j->key);
}

static void many_after(fa_uv_work_t *w, fa_task_t *t, int status);

static void many_queue(many_t *m, job_t *j) {
  j->m = m;
  j->key = (uint64_t)m->queued;
  /* Mostly small bumps; every 64th item a block larger than a page. */
  j->size = (size_t)(test_mix64(j->key) % 4096);
  if (j->key % 64 == 0)
    j->size += 100000;
  j->result = 0;
  j->work_ok = 0;
  j->w.data = j;
  if (fa_uv_queue_work(m->loop, m->a, &j->w, many_work, many_after) != 0)
    m->queue_errors++;
  else
    m->queued++;
}

static void many_after(fa_uv_work_t *w, fa_task_t *t, int status) {
  job_t *j = w->data;
  many_t *m = j->m;
  if (status != 0 || !j->work_ok || j->result != test_mix64(j->key) ||
      fa_task_current() != t || fa_task_used(t) < j->size)
    m->bad++;
  m->done++;
  /* Reuse the item: it is the caller's again once after runs. */
  if (m->queued < MANY_TOTAL)
    many_queue(m, j);
}

TEST(work_many_items) {
  test_env_t e;
  uv_loop_t loop;
  many_t m;
  job_t *jobs = calloc(MANY_WINDOW, sizeof(*jobs));
  int i;
  ASSERT_NOT_NULL(jobs);
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&m, 0, sizeof(m));
  m.loop = &loop;
  m.a = e.a;
  for (i = 0; i < MANY_WINDOW; i++)
    many_queue(&m, &jobs[i]);
  ASSERT_EQ(m.queued, MANY_WINDOW);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(m.queue_errors, 0);
  ASSERT_EQ(m.queued, MANY_TOTAL);
  ASSERT_EQ(m.done, MANY_TOTAL);
  ASSERT_EQ(m.bad, 0);
  ASSERT_PTR_EQ(fa_task_current(), NULL);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&e);
  free(jobs);
}

/* ---- Cancellation ----------------------------------------------------- */

#define CANCEL_MORE 20

typedef struct cancel_s {
  uv_sem_t started; /* posted by each blocker once it runs */
  uv_sem_t release; /* posted once per blocker to let it finish */
  int work_ran;     /* cancelled items whose work ran (atomic) */
  int after_ok, after_cancelled, after_bad; /* loop thread */
  int destroyed;                            /* tasks destroyed (loop thread) */
} cancel_t;

typedef struct citem_s {
  fa_uv_work_t w;
  cancel_t *c;
  int blocker;
} citem_t;

static void cancel_work(fa_uv_work_t *w, fa_task_t *t) {
  citem_t *it = w->data;
  (void)t;
  if (it->blocker) {
    uv_sem_post(&it->c->started);
    uv_sem_wait(&it->c->release);
  } else {
    __atomic_fetch_add(&it->c->work_ran, 1, __ATOMIC_RELAXED);
  }
}

static void count_destroyed(void *arg) {
  cancel_t *c = arg;
  c->destroyed++;
}

/* Checks the status, and counts the item's task when it is destroyed. */
static void cancel_after(fa_uv_work_t *w, fa_task_t *t, int status) {
  citem_t *it = w->data;
  cancel_t *c = it->c;
  if (t == NULL || fa_task_current() != t ||
      fa_task_defer(t, count_destroyed, c) != 0)
    c->after_bad++;
  else if (it->blocker && status == 0)
    c->after_ok++;
  else if (!it->blocker && status == UV_ECANCELED)
    c->after_cancelled++;
  else
    c->after_bad++;
}

TEST(work_cancel) {
  test_env_t e;
  uv_loop_t loop;
  cancel_t c;
  citem_t blockers[POOL_THREADS], more[CANCEL_MORE];
  int i, blocking = 0, queued = 0, cancelled = 0, busy;
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&c, 0, sizeof(c));
  memset(blockers, 0, sizeof(blockers));
  memset(more, 0, sizeof(more));
  ASSERT_EQ(uv_sem_init(&c.started, 0), 0);
  ASSERT_EQ(uv_sem_init(&c.release, 0), 0);
  /* Every pool thread busy, so the next items wait in the queue. Nothing
   * asserts until the blockers are released: a failure would leave the
   * pool blocked for the tests after this one. */
  for (i = 0; i < POOL_THREADS; i++) {
    blockers[i].c = &c;
    blockers[i].blocker = 1;
    blockers[i].w.data = &blockers[i];
    blocking += fa_uv_queue_work(&loop, e.a, &blockers[i].w, cancel_work,
                                 cancel_after) == 0;
  }
  for (i = 0; i < blocking; i++)
    uv_sem_wait(&c.started);
  for (i = 0; i < CANCEL_MORE; i++) {
    more[i].c = &c;
    more[i].w.data = &more[i];
    queued += fa_uv_queue_work(&loop, e.a, &more[i].w, cancel_work,
                               cancel_after) == 0;
  }
  for (i = 0; i < CANCEL_MORE; i++)
    cancelled += fa_uv_cancel(&more[i].w) == 0;
  busy = fa_uv_cancel(&blockers[0].w); /* running: cannot be cancelled */
  for (i = 0; i < blocking; i++)
    uv_sem_post(&c.release);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);

  ASSERT_EQ(blocking, POOL_THREADS);
  ASSERT_EQ(queued, CANCEL_MORE);
  ASSERT_EQ(cancelled, CANCEL_MORE);
  ASSERT_EQ(busy, UV_EBUSY);
  ASSERT_EQ(__atomic_load_n(&c.work_ran, __ATOMIC_RELAXED), 0);
  ASSERT_EQ(c.after_ok, POOL_THREADS);
  ASSERT_EQ(c.after_cancelled, CANCEL_MORE);
  ASSERT_EQ(c.after_bad, 0);
  ASSERT_EQ(c.destroyed, POOL_THREADS + CANCEL_MORE);
  ASSERT_EQ(task_bytes(e.a), 0);
  uv_sem_destroy(&c.started);
  uv_sem_destroy(&c.release);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&e);
}

/* ---- Task scopes ------------------------------------------------------ */

typedef struct scope_s {
  fa_allocator_t *a;
  int work_701; /* FA701 count right after the frame allocation in work */
  diag_log_t *log;
  int after_701;
} scope_t;

static void scope_work(fa_uv_work_t *w, fa_task_t *t) {
  scope_t *s = w->data;
  (void)t;
  test_sink = fa_frame_alloc(s->a, 32, 0);
  s->work_701 = diag_log_count(s->log, 701);
}

static void scope_after(fa_uv_work_t *w, fa_task_t *t, int status) {
  scope_t *s = w->data;
  (void)t;
  (void)status;
  test_sink = fa_frame_alloc(s->a, 32, 0);
  s->after_701 = diag_log_count(s->log, 701);
}

TEST(work_frame_alloc_raises_fa701) {
  test_env_t e;
  uv_loop_t loop;
  fa_uv_work_t w;
  scope_t s;
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&s, 0, sizeof(s));
  s.a = e.a;
  s.log = &e.log;
  memset(&w, 0, sizeof(w));
  w.data = &s;
  /* The loop thread is inside a frame, as a game loop would be: its own
   * frame allocations stay quiet, and only the callbacks' raise FA701. */
  fa_begin_frame(e.a);
  test_sink = fa_frame_alloc(e.a, 16, 0);
  ASSERT_EQ(fa_uv_queue_work(&loop, e.a, &w, scope_work, scope_after), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(s.work_701, 1);
  ASSERT_EQ(s.after_701, 2);
  ASSERT_EQ(diag_log_level(&e.log, 701), FA_LEVEL_ERROR);
  /* Out of the callbacks the loop thread is not in a task scope. */
  ASSERT_PTR_EQ(fa_task_current(), NULL);
  test_sink = fa_frame_alloc(e.a, 16, 0);
  ASSERT_EQ(diag_log_count(&e.log, 701), 2);
  fa_end_frame(e.a);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close(&e);
}

/* No after callback: the task is destroyed all the same; and deferred
 * cleanups registered by work run once, on the loop thread. */
static int cleanups;

static void count_cleanup(void *arg) {
  (void)arg;
  cleanups++;
}

static void defer_work(fa_uv_work_t *w, fa_task_t *t) {
  (void)w;
  test_sink = fa_task_alloc(t, 200000, 0); /* a large block */
  if (fa_task_defer(t, count_cleanup, NULL) != 0)
    test_sink = NULL;
}

TEST(work_without_after) {
  test_env_t e;
  uv_loop_t loop;
  fa_uv_work_t w;
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&w, 0, sizeof(w));
  cleanups = 0;
  ASSERT_EQ(fa_uv_queue_work(&loop, e.a, &w, defer_work, NULL), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_NOT_NULL(test_sink);
  ASSERT_EQ(cleanups, 1);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&e);
}

/* ---- Memory faults ---------------------------------------------------- */

#define FAULT_ITEMS 8

typedef struct fault_s {
  int works, afters; /* works: atomic */
} fault_t;

static void fault_work(fa_uv_work_t *w, fa_task_t *t) {
  fault_t *f = w->data;
  void *p = fa_task_alloc(t, 100, 0);
  if (p) /* several pool threads at once: no shared sink */
    memset(p, 0, 100);
  __atomic_fetch_add(&f->works, 1, __ATOMIC_RELAXED);
}

static void fault_after(fa_uv_work_t *w, fa_task_t *t, int status) {
  fault_t *f = w->data;
  (void)t;
  if (status == 0)
    f->afters++;
}

/* The n-th request to the memory source and all after it fail, for n =
 * 0, 1, 2, ... until a round sees no failure: every queue call gives 0 or
 * UV_ENOMEM, exactly the queued items run, and nothing leaks. */
TEST(work_queue_memory_faults) {
  int64_t n;
  int done = 0;
  for (n = 0; !done && n < 100; n++) {
    test_env_t e;
    uv_loop_t loop;
    fa_uv_work_t w[FAULT_ITEMS];
    fault_t f = {0, 0};
    int i, queued = 0, nomem = 0;
    test_env_open(&e, NULL);
    ASSERT_EQ(uv_loop_init(&loop), 0);
    memset(w, 0, sizeof(w));
    test_source_arm(&e.src, (int64_t)test_source_reserves(&e.src) + n,
                    UINT64_MAX);
    for (i = 0; i < FAULT_ITEMS; i++) {
      int r;
      w[i].data = &f;
      r = fa_uv_queue_work(&loop, e.a, &w[i], fault_work, fault_after);
      if (r == 0)
        queued++;
      else if (r == UV_ENOMEM)
        nomem++;
      else
        ASSERT_EQ(r, 0);
    }
    ASSERT_EQ(queued + nomem, FAULT_ITEMS);
    if (nomem == FAULT_ITEMS)
      ASSERT_EQ(uv_loop_alive(&loop), 0); /* nothing was queued */
    ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
    ASSERT_EQ(__atomic_load_n(&f.works, __ATOMIC_RELAXED), queued);
    ASSERT_EQ(f.afters, queued);
    ASSERT_EQ(task_bytes(e.a), 0);
    done = test_source_failures(&e.src) == 0;
    test_source_arm(&e.src, -1, 0);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    test_env_close(&e);
  }
  ASSERT(done);
  ASSERT_GT(n, 1); /* the first round failed every request */
}

/* The first task creation on a fresh allocator needs memory: with the
 * source failing, the call gives UV_ENOMEM and nothing runs. */
TEST(work_task_creation_fails) {
  test_env_t e;
  uv_loop_t loop;
  fa_uv_work_t w;
  fault_t f = {0, 0};
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&w, 0, sizeof(w));
  w.data = &f;
  test_source_arm(&e.src, (int64_t)test_source_reserves(&e.src), UINT64_MAX);
  ASSERT_EQ(fa_uv_queue_work(&loop, e.a, &w, fault_work, fault_after),
            UV_ENOMEM);
  ASSERT_GT(test_source_failures(&e.src), 0);
  ASSERT_EQ(uv_loop_alive(&loop), 0);
  ASSERT_EQ(uv_run(&loop, UV_RUN_DEFAULT), 0);
  ASSERT_EQ(__atomic_load_n(&f.works, __ATOMIC_RELAXED), 0);
  ASSERT_EQ(f.afters, 0);
  test_source_arm(&e.src, -1, 0);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close(&e);
}

/* ---- Bad arguments ---------------------------------------------------- */

static void noop_work(fa_uv_work_t *w, fa_task_t *t) {
  (void)w;
  (void)t;
}

TEST(work_bad_arguments) {
  test_env_t e;
  uv_loop_t loop;
  fa_uv_work_t w;
  test_env_open(&e, NULL);
  ASSERT_EQ(uv_loop_init(&loop), 0);
  memset(&w, 0, sizeof(w));
  ASSERT_EQ(fa_uv_queue_work(NULL, e.a, &w, noop_work, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_queue_work(&loop, NULL, &w, noop_work, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_queue_work(&loop, e.a, NULL, noop_work, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_queue_work(&loop, e.a, &w, NULL, NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_cancel(NULL), UV_EINVAL);
  ASSERT_EQ(fa_uv_cancel(&w), UV_EINVAL); /* zeroed, never queued */
  ASSERT_EQ(uv_loop_alive(&loop), 0);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(uv_loop_close(&loop), 0);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(work_many_items),
    TEST_ENTRY(work_cancel),
    TEST_ENTRY(work_frame_alloc_raises_fa701),
    TEST_ENTRY(work_without_after),
    TEST_ENTRY(work_queue_memory_faults),
    TEST_ENTRY(work_task_creation_fails),
    TEST_ENTRY(work_bad_arguments),
};

int main(int argc, char **argv) {
  /* Before the pool starts (at the first queued item): the cancellation
   * test blocks exactly this many threads. */
  setenv("UV_THREADPOOL_SIZE", "4", 1);
  return TEST_MAIN(tests, argc, argv);
}
