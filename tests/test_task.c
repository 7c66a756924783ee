/* test_task.c: task memory, pool guards and task scopes. Tasks: bumps with
 * alignment, large blocks and many pages; cleanups run newest first exactly
 * once; nothing is left after destroy and a create/destroy loop makes no
 * request to the memory source once warm; a task moves between threads.
 * Guards: eight threads allocate at once and each keeps its payload. Scopes:
 * frame allocations raise FA701 inside and only inside. Bad arguments give
 * FA006 and NULL or an error code. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <pthread.h>
#include <stdalign.h>

static uint64_t task_bytes(fa_allocator_t *a) {
  return test_stats(a).task_bytes;
}

TEST(task_alloc_basic) {
  test_env_t e;
  fa_task_t *t;
  void *p[64];
  size_t i;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_PTR_EQ(fa_task_allocator(t), e.a);
  for (i = 0; i < 64; i++) {
    size_t align = (size_t)1 << (i % 13); /* 1 .. 4096 */
    size_t size = (i * 37) % 300;
    p[i] = fa_task_alloc(t, size, align);
    ASSERT_NOT_NULL(p[i]);
    ASSERT(test_aligned(p[i], align));
    test_fill(p[i], size, i);
  }
  for (i = 0; i < 64; i++)
    ASSERT_EQ(test_check(p[i], (i * 37) % 300, i), (i * 37) % 300);
  /* Size 0 gives distinct pointers; align 0 means the default. */
  ASSERT_PTR_NE(fa_task_alloc(t, 0, 1), fa_task_alloc(t, 0, 1));
  ASSERT(test_aligned(fa_task_alloc(t, 1, 0), alignof(max_align_t)));
  ASSERT_GE(task_bytes(e.a), 64 * 100);
  ASSERT_EQ(task_bytes(e.a), fa_task_used(t));
  fa_task_destroy(t);
  ASSERT_EQ(task_bytes(e.a), 0);
  test_env_close_quiet(&e);
}

TEST(task_many_pages_and_large_blocks) {
  test_env_t e;
  fa_task_t *t;
  char *small[400], *big[4];
  size_t i, total = 0;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  for (i = 0; i < 400; i++) { /* about 20 pages */
    small[i] = fa_task_alloc(t, 3000, 8);
    ASSERT_NOT_NULL(small[i]);
    test_fill(small[i], 3000, i);
    total += 3000;
  }
  for (i = 0; i < 4; i++) { /* larger than a page, and one page-aligned */
    size_t size = 70000 + i * 100000;
    big[i] = fa_task_alloc(t, size, i == 3 ? 4096 : 16);
    ASSERT_NOT_NULL(big[i]);
    ASSERT(test_aligned(big[i], i == 3 ? 4096 : 16));
    test_fill(big[i], size, 1000 + i);
    total += size;
  }
  for (i = 0; i < 400; i++)
    ASSERT_EQ(test_check(small[i], 3000, i), 3000);
  for (i = 0; i < 4; i++)
    ASSERT_EQ(test_check(big[i], 70000 + i * 100000, 1000 + i),
              70000 + i * 100000);
  ASSERT_GE(task_bytes(e.a), total);
  ASSERT_EQ(task_bytes(e.a), fa_task_used(t));
  fa_task_destroy(t);
  ASSERT_EQ(task_bytes(e.a), 0);
  test_env_close_quiet(&e);
}

/* Cleanups record their order; one of them allocates and defers more. */
typedef struct trace_s {
  fa_task_t *t;
  int order[16];
  int n;
} trace_t;

typedef struct defer_arg_s {
  trace_t *tr;
  int id;
} defer_arg_t;

static void record(void *arg) {
  defer_arg_t *d = arg;
  d->tr->order[d->tr->n++] = d->id;
}

static void record_and_defer(void *arg) {
  defer_arg_t *d = arg;
  trace_t *tr = d->tr;
  defer_arg_t *late = fa_task_new(tr->t, defer_arg_t);
  record(arg);
  ASSERT_NOT_NULL(late); /* the memory is still there */
  late->tr = tr;
  late->id = 100 + d->id;
  ASSERT_EQ(fa_task_defer(tr->t, record, late), 0);
}

TEST(task_defer_lifo_once) {
  test_env_t e;
  trace_t tr = {0};
  int i;
  test_env_open(&e, NULL);
  tr.t = fa_task_create(e.a);
  ASSERT_NOT_NULL(tr.t);
  for (i = 0; i < 5; i++) {
    defer_arg_t *d = fa_task_box(tr.t, defer_arg_t, {&tr, i});
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(fa_task_defer(tr.t, i == 2 ? record_and_defer : record, d), 0);
  }
  ASSERT_EQ(tr.n, 0);
  fa_task_destroy(tr.t);
  /* 4 3 2, then the one 2 deferred while running, then 1 0. */
  ASSERT_EQ(tr.n, 6);
  ASSERT_EQ(tr.order[0], 4);
  ASSERT_EQ(tr.order[1], 3);
  ASSERT_EQ(tr.order[2], 2);
  ASSERT_EQ(tr.order[3], 102);
  ASSERT_EQ(tr.order[4], 1);
  ASSERT_EQ(tr.order[5], 0);
  ASSERT_EQ(task_bytes(e.a), 0);
  test_env_close_quiet(&e);
}

TEST(task_bad_input) {
  test_env_t e;
  fa_task_t *t;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  /* Bad alignment and huge sizes: NULL, FA006 for the alignment. */
  ASSERT_NULL(fa_task_alloc(t, 8, 3));
  ASSERT_NULL(fa_task_alloc(t, 8, 8192));
  ASSERT_EQ(diag_log_count(&e.log, 6), 2);
  ASSERT_NULL(fa_task_alloc(t, SIZE_MAX, 8));
  ASSERT_NULL(fa_task_alloc(t, (size_t)1 << 40, 8));
  {
    volatile size_t n = SIZE_MAX / 4; /* n * sizeof(double) overflows */
    ASSERT_NULL(fa_task_array(t, double, n));
  }
  ASSERT_NULL(fa_pool_guard_alloc(NULL, 8, 8));
  /* A task pointer is not a pool block. */
  {
    void *p = fa_task_alloc(t, 64, 16);
    ASSERT_NOT_NULL(p);
    fa_pool_free(e.a, p);
    ASSERT_EQ(diag_log_count(&e.log, 4), 1);
  }
  ASSERT_EQ(fa_task_defer(t, NULL, NULL), FA_EINVAL);
  fa_task_leave(t); /* not in a scope */
  ASSERT_EQ(diag_log_count(&e.log, 6), 4);
  fa_task_destroy(t);
  ASSERT_EQ(task_bytes(e.a), 0);
  fa_task_destroy(NULL);
  fa_pool_guard_destroy(NULL);
  ASSERT_EQ(fa_task_used(NULL), 0);
  ASSERT_NULL(fa_task_allocator(NULL));
  ASSERT_NULL(fa_task_current());
  test_env_close(&e);
}

TEST(task_null_arguments) {
  /* These go to the default diagnostic output (stderr): no allocator. */
  ASSERT_NULL(fa_task_create(NULL));
  ASSERT_NULL(fa_task_alloc(NULL, 8, 8));
  ASSERT_EQ(fa_task_defer(NULL, NULL, NULL), FA_EINVAL);
  ASSERT_EQ(fa_task_enter(NULL), FA_EINVAL);
  fa_task_leave(NULL);
  ASSERT_NULL(fa_pool_guard_create(NULL));
}

/* A loop of create / allocate / destroy reaches zero source requests. */
TEST(task_steady_state) {
  test_env_t e;
  uint64_t before = 0;
  int round, i;
  test_env_open(&e, NULL);
  for (round = 0; round < 1000; round++) {
    fa_task_t *t = fa_task_create(e.a);
    fa_pool_guard_t *g = fa_pool_guard_create(e.a);
    ASSERT_NOT_NULL(t);
    ASSERT_NOT_NULL(g);
    for (i = 0; i < 100; i++) {
      char *p = fa_task_alloc(t, 16 + (size_t)(i * 61 % 241), 8);
      char *q = fa_pool_guard_alloc(g, 64, 0);
      ASSERT_NOT_NULL(p);
      ASSERT_NOT_NULL(q);
      p[0] = q[0] = (char)i;
    }
    for (i = 0; i < 40; i++) /* a few more pages */
      ASSERT_NOT_NULL(fa_task_alloc(t, 4000, 8));
    fa_task_destroy(t);
    fa_pool_guard_destroy(g);
    if (round == 9)
      before = test_source_reserves(&e.src);
  }
  ASSERT_EQ(test_source_reserves(&e.src), before);
  ASSERT_EQ(task_bytes(e.a), 0);
  /* fa_trim gives the cached pages back. */
  {
    uint64_t held = test_stats(e.a).os_bytes;
    fa_trim(e.a);
    ASSERT_LT(test_stats(e.a).os_bytes, held);
  }
  test_env_close_quiet(&e);
}

/* ---- Scopes ------------------------------------------------------------ */

TEST(task_scope_fa701) {
  test_env_t e;
  fa_task_t *t, *u;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  u = fa_task_create(e.a);
  fa_begin_frame(e.a);
  test_sink = fa_frame_alloc(e.a, 32, 8); /* outside: fine */
  ASSERT_EQ(diag_log_count(&e.log, 701), 0);
  ASSERT_EQ(fa_task_enter(t), 0);
  ASSERT_PTR_EQ(fa_task_current(), t);
  test_sink = fa_frame_alloc(e.a, 32, 8);
  ASSERT_EQ(diag_log_count(&e.log, 701), 1);
  ASSERT_EQ(diag_log_level(&e.log, 701), FA_LEVEL_ERROR);
  test_sink = fa_frame_alloc(e.a, 32, 8); /* every time, not once */
  ASSERT_EQ(diag_log_count(&e.log, 701), 2);
  /* Pool memory is fine in a scope; scopes nest. */
  fa_pool_free(e.a, fa_pool_alloc(e.a, 48));
  ASSERT_EQ(fa_task_enter(u), 0);
  ASSERT_EQ(fa_task_enter(u), 0);
  ASSERT_EQ(fa_task_enter(t), FA_ESTATE); /* outer scope of this thread */
  ASSERT_PTR_EQ(fa_task_current(), u);
  fa_task_leave(t); /* not the innermost */
  ASSERT_EQ(diag_log_count(&e.log, 6), 2);
  fa_task_leave(u);
  fa_task_leave(u);
  ASSERT_PTR_EQ(fa_task_current(), t);
  test_sink = fa_frame_alloc(e.a, 32, 8);
  ASSERT_EQ(diag_log_count(&e.log, 701), 3);
  fa_task_leave(t);
  ASSERT_NULL(fa_task_current());
  /* A frame vector started outside and grown inside a scope. */
  {
    fa_frame_vec(int) v = {0};
    int i, n = diag_log_count(&e.log, 701);
    for (i = 0; i < 8; i++)
      ASSERT_EQ(fa_frame_vec_push(e.a, &v, i), 0);
    ASSERT_EQ(diag_log_count(&e.log, 701), n);
    ASSERT_EQ(fa_task_enter(t), 0);
    ASSERT_EQ(fa_frame_vec_push(e.a, &v, 8), 0); /* grows in place */
    fa_task_leave(t);
    ASSERT_EQ(diag_log_count(&e.log, 701), n + 1);
    ASSERT_EQ(v.data[8], 8);
  }
  test_sink = fa_frame_alloc(e.a, 32, 8); /* outside again */
  test_sink = fa_frame_alloc(e.a, 32, 8);
  ASSERT_EQ(diag_log_count(&e.log, 701), 4);
  /* Destroying a task inside its own scope leaves the scope. */
  ASSERT_EQ(fa_task_enter(u), 0);
  fa_task_destroy(u);
  ASSERT_NULL(fa_task_current());
  test_sink = fa_frame_alloc(e.a, 32, 8);
  ASSERT_EQ(diag_log_count(&e.log, 701), 4);
  fa_end_frame(e.a);
  fa_task_destroy(t);
  test_env_close(&e);
}

/* A scope covers every allocator of the thread. */
TEST(task_scope_other_allocator) {
  test_env_t e, f;
  fa_task_t *t;
  test_env_open(&e, NULL);
  test_env_open(&f, NULL);
  t = fa_task_create(e.a);
  fa_begin_frame(f.a);
  ASSERT_EQ(fa_task_enter(t), 0);
  test_sink = fa_frame_alloc(f.a, 16, 0);
  fa_task_leave(t);
  test_sink = fa_frame_alloc(f.a, 16, 0);
  fa_end_frame(f.a);
  ASSERT_EQ(diag_log_count(&f.log, 701), 1);
  fa_task_destroy(t);
  test_env_close_quiet(&e);
  test_env_close(&f);
}

typedef struct busy_s {
  fa_task_t *t;
  int rc;
} busy_t;

static void *enter_elsewhere(void *arg) {
  busy_t *b = arg;
  b->rc = fa_task_enter(b->t);
  return NULL;
}

/* Two threads in one task's scope at once: FA007, FA_EBUSY. */
TEST(task_scope_two_threads) {
  test_env_t e;
  busy_t b;
  pthread_t th;
  test_env_open(&e, NULL);
  b.t = fa_task_create(e.a);
  ASSERT_EQ(fa_task_enter(b.t), 0);
  ASSERT_EQ(pthread_create(&th, NULL, enter_elsewhere, &b), 0);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(b.rc, FA_EBUSY);
  ASSERT_EQ(diag_log_count(&e.log, 7), 1);
  fa_task_leave(b.t);
  /* Once left, another thread may enter (and leave). */
  ASSERT_EQ(pthread_create(&th, NULL, enter_elsewhere, &b), 0);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(b.rc, 0);
  /* That thread never left, but its exit ended the scope. */
  fa_task_destroy(b.t);
  ASSERT_EQ(diag_log_count(&e.log, 7), 1);
  test_env_close(&e);
}

/* A second destroy of a task is refused with FA006, also after its page
 * went to a new task, which stays intact; nothing crashes. */
TEST(task_destroy_twice_fa006) {
  test_env_t e;
  fa_task_t *t, *u;
  char *p;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_NOT_NULL(fa_task_alloc(t, 100, 0));
  fa_task_destroy(t);
  ASSERT_EQ(diag_log_total(&e.log), 0);
  fa_task_destroy(t);
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  ASSERT_EQ(diag_log_level(&e.log, 6), FA_LEVEL_ERROR);
  ASSERT_EQ(test_stats(e.a).task_bytes, 0);
  /* The next task takes the same page from the thread's cache. */
  u = fa_task_create(e.a);
  ASSERT_NOT_NULL(u);
  ASSERT_PTR_EQ((void *)((uintptr_t)u >> 16), (void *)((uintptr_t)t >> 16));
  p = fa_task_alloc(u, 64, 0);
  ASSERT_NOT_NULL(p);
  test_fill(p, 64, 9);
  fa_task_destroy(t);
  ASSERT_EQ(diag_log_count(&e.log, 6), 2);
  ASSERT_EQ(test_check(p, 64, 9), 64);
  ASSERT_GE(test_stats(e.a).task_bytes, 64);
  fa_task_destroy(u);
  ASSERT_EQ(diag_log_total(&e.log), 2);
  test_env_close(&e);
}

/* Handles that are not live tasks or guards: FA006 and nothing changes. A
 * guard destroyed twice; a pool block, a guard given as a task and a task
 * given as a guard. */
TEST(task_guard_bad_handles_fa006) {
  test_env_t e;
  fa_pool_guard_t *g;
  fa_task_t *t;
  void *block;
  test_env_open(&e, NULL);
  g = fa_pool_guard_create(e.a);
  t = fa_task_create(e.a);
  block = fa_pool_alloc(e.a, 64);
  ASSERT_NOT_NULL(g);
  ASSERT_NOT_NULL(t);
  ASSERT_NOT_NULL(block);
  ASSERT_NOT_NULL(fa_pool_guard_alloc(g, 100, 0));
  fa_task_destroy((fa_task_t *)block);
  fa_task_destroy((fa_task_t *)(void *)g);
  fa_pool_guard_destroy((fa_pool_guard_t *)(void *)t);
  ASSERT_EQ(diag_log_count(&e.log, 6), 3);
  ASSERT_EQ(test_stats(e.a).pool_count, 1);
  ASSERT_GE(test_stats(e.a).task_bytes, 100);
  fa_pool_guard_destroy(g);
  fa_pool_guard_destroy(g);
  ASSERT_EQ(diag_log_count(&e.log, 6), 4);
  ASSERT_EQ(diag_log_level(&e.log, 6), FA_LEVEL_ERROR);
  fa_task_destroy(t);
  fa_pool_free(e.a, block);
  ASSERT_EQ(diag_log_total(&e.log), 4);
  test_env_close(&e);
}

static void destroy_self(void *arg) { fa_task_destroy(arg); }

/* A destroy from the task's own cleanup: FA006, and the running destroy
 * finishes (memory back, the allocator free of it). */
TEST(task_destroy_from_own_cleanup_fa006) {
  test_env_t e;
  fa_task_t *t;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_EQ(fa_task_defer(t, destroy_self, t), 0);
  fa_task_destroy(t);
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  ASSERT_EQ(diag_log_total(&e.log), 1);
  ASSERT_EQ(test_stats(e.a).task_bytes, 0);
  test_env_close(&e);
}

typedef struct holder_s {
  fa_task_t *t;
  pthread_barrier_t step;
  int rc;
} holder_t;

/* Enters h->t, lets the main thread act, then leaves. */
static void *hold_scope(void *arg) {
  holder_t *h = arg;
  h->rc = fa_task_enter(h->t);
  pthread_barrier_wait(&h->step); /* main tries to destroy t */
  pthread_barrier_wait(&h->step);
  fa_task_leave(h->t);
  return NULL;
}

/* Destroying a task that another live thread holds in a scope: FA007 and
 * nothing changes; once that thread has left, the destroy goes through. */
TEST(task_destroy_busy_fa007) {
  test_env_t e;
  holder_t h;
  pthread_t th;
  test_env_open(&e, NULL);
  h.t = fa_task_create(e.a);
  ASSERT_NOT_NULL(fa_task_alloc(h.t, 32, 0));
  ASSERT_EQ(pthread_barrier_init(&h.step, NULL, 2), 0);
  ASSERT_EQ(pthread_create(&th, NULL, hold_scope, &h), 0);
  pthread_barrier_wait(&h.step);
  ASSERT_EQ(h.rc, 0);
  fa_task_destroy(h.t);
  ASSERT_EQ(diag_log_count(&e.log, 7), 1);
  ASSERT_GE(test_stats(e.a).task_bytes, 32); /* still there */
  pthread_barrier_wait(&h.step);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  fa_task_destroy(h.t);
  ASSERT_EQ(diag_log_total(&e.log), 1);
  pthread_barrier_destroy(&h.step);
  test_env_close(&e);
}

static void *enter_and_exit(void *arg) {
  fa_task_t *t = arg;
  if (fa_task_enter(t) != 0 || fa_task_enter(t) != 0)
    return arg; /* nested, then the thread exits inside both */
  return NULL;
}

/* A thread that exits inside fa_task_enter ends its scope: the task can be
 * entered by another thread and destroyed, with no diagnostic. */
TEST(task_scope_ends_at_thread_exit) {
  test_env_t e;
  fa_task_t *t;
  pthread_t th;
  void *rc = &rc;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_EQ(pthread_create(&th, NULL, enter_and_exit, t), 0);
  ASSERT_EQ(pthread_join(th, &rc), 0);
  ASSERT_NULL(rc);
  ASSERT_EQ(fa_task_enter(t), 0);
  ASSERT_PTR_EQ(fa_task_current(), t);
  fa_task_leave(t);
  ASSERT_NULL(fa_task_current());
  fa_task_destroy(t);
  ASSERT_EQ(diag_log_total(&e.log), 0);
  test_env_close_quiet(&e);
}

#if FA_DEBUG >= 1
static void *alloc_elsewhere(void *arg) {
  busy_t *b = arg;
  b->rc = fa_task_alloc(b->t, 16, 0) != NULL;
  return NULL;
}
#endif

/* Debug builds: an allocation from a task that another thread holds in
 * its scope is reported (FA007) and still served. */
TEST(task_debug_shared_use) {
#if FA_DEBUG >= 1
  test_env_t e;
  busy_t b;
  pthread_t th;
  test_env_open(&e, NULL);
  b.t = fa_task_create(e.a);
  ASSERT_EQ(fa_task_enter(b.t), 0);
  ASSERT_EQ(pthread_create(&th, NULL, alloc_elsewhere, &b), 0);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  ASSERT_EQ(b.rc, 1);
  ASSERT_EQ(diag_log_count(&e.log, 7), 1);
  ASSERT_EQ(diag_log_level(&e.log, 7), FA_LEVEL_ERROR);
  test_sink = fa_task_alloc(b.t, 16, 0); /* the scope's own thread: fine */
  ASSERT_EQ(diag_log_count(&e.log, 7), 1);
  fa_task_leave(b.t);
  fa_task_destroy(b.t);
  test_env_close(&e);
#else
  printf("  (release build: shared use is checked in debug builds)\n");
#endif
}

/* ---- Threads ----------------------------------------------------------- */

typedef struct migrate_s {
  fa_allocator_t *a;
  fa_task_t *t;
  char *p[100];
  int defers_run;
} migrate_t;

static void count_defer(void *arg) { ((migrate_t *)arg)->defers_run++; }

static void *migrate_create(void *arg) {
  migrate_t *m = arg;
  m->t = fa_task_create(m->a);
  return NULL;
}

static void *migrate_use(void *arg) {
  migrate_t *m = arg;
  int i;
  ASSERT_EQ(fa_task_enter(m->t), 0);
  for (i = 0; i < 100; i++) {
    m->p[i] = fa_task_alloc(m->t, 700, 16);
    ASSERT_NOT_NULL(m->p[i]);
    test_fill(m->p[i], 700, (uint64_t)i);
  }
  ASSERT_EQ(fa_task_defer(m->t, count_defer, m), 0);
  fa_task_leave(m->t);
  return NULL;
}

static void *migrate_destroy(void *arg) {
  migrate_t *m = arg;
  int i;
  for (i = 0; i < 100; i++)
    ASSERT_EQ(test_check(m->p[i], 700, (uint64_t)i), 700);
  fa_task_destroy(m->t);
  return NULL;
}

/* Created on A, used on B, destroyed on C: one thread at a time. */
TEST(task_thread_migration) {
  test_env_t e;
  migrate_t m = {0};
  void *(*step[3])(void *) = {migrate_create, migrate_use, migrate_destroy};
  int round, s;
  test_env_open(&e, NULL);
  m.a = e.a;
  for (round = 0; round < 20; round++) {
    for (s = 0; s < 3; s++) {
      pthread_t th;
      ASSERT_EQ(pthread_create(&th, NULL, step[s], &m), 0);
      ASSERT_EQ(pthread_join(th, NULL), 0);
      if (s == 1)
        ASSERT_GE(task_bytes(e.a), 70000);
    }
    ASSERT_EQ(m.defers_run, round + 1);
    ASSERT_EQ(task_bytes(e.a), 0);
  }
  test_env_close_quiet(&e);
}

#define GUARD_THREADS 8
#define GUARD_ALLOCS 20000

typedef struct guard_arg_s {
  fa_pool_guard_t *g;
  int id;
  uint64_t *ptrs[GUARD_ALLOCS];
} guard_arg_t;

static void *guard_worker(void *arg) {
  guard_arg_t *w = arg;
  int i;
  for (i = 0; i < GUARD_ALLOCS; i++) {
    size_t size = 8 + (size_t)(i % 13) * 8;
    uint64_t *p = fa_pool_guard_alloc(w->g, size, 8);
    ASSERT_NOT_NULL(p);
    p[0] = ((uint64_t)w->id << 32) | (uint64_t)i;
    w->ptrs[i] = p;
    if (i % 1000 == 999) /* someone else's memory is never touched */
      ASSERT_EQ(w->ptrs[i - 500][0], ((uint64_t)w->id << 32) | (i - 500));
  }
  return NULL;
}

TEST(guard_threads) {
  test_env_t e;
  static guard_arg_t w[GUARD_THREADS];
  pthread_t th[GUARD_THREADS];
  fa_pool_guard_t *g;
  int round, i, k;
  test_env_open(&e, NULL);
  for (round = 0; round < 3; round++) {
    g = fa_pool_guard_create(e.a);
    ASSERT_NOT_NULL(g);
    for (i = 0; i < GUARD_THREADS; i++) {
      w[i].g = g;
      w[i].id = i;
      ASSERT_EQ(pthread_create(&th[i], NULL, guard_worker, &w[i]), 0);
    }
    for (i = 0; i < GUARD_THREADS; i++)
      ASSERT_EQ(pthread_join(th[i], NULL), 0);
    for (i = 0; i < GUARD_THREADS; i++)
      for (k = 0; k < GUARD_ALLOCS; k++)
        ASSERT_EQ(w[i].ptrs[k][0], ((uint64_t)i << 32) | (uint64_t)k);
    ASSERT_GE(task_bytes(e.a), (uint64_t)GUARD_THREADS * GUARD_ALLOCS * 8);
    fa_pool_guard_destroy(g);
    ASSERT_EQ(task_bytes(e.a), 0);
  }
  test_env_close_quiet(&e);
}

/* One thread alternating between guards, and a guard outliving the
 * thread that made its regions. */
TEST(guard_switching) {
  test_env_t e;
  fa_pool_guard_t *g[6];
  int i, k;
  test_env_open(&e, NULL);
  for (i = 0; i < 6; i++)
    g[i] = fa_pool_guard_create(e.a);
  for (k = 0; k < 1000; k++)
    for (i = 0; i < 6; i++) {
      int *p = fa_pool_guard_alloc(g[i], sizeof(int), alignof(int));
      ASSERT_NOT_NULL(p);
      *p = k;
    }
  ASSERT_NULL(fa_pool_guard_alloc(g[0], 8, 24));          /* bad alignment */
  ASSERT_NOT_NULL(fa_pool_guard_alloc(g[0], 100000, 64)); /* large */
  ASSERT_NOT_NULL(fa_pool_guard_new(g[1], double));
  for (i = 0; i < 6; i++)
    fa_pool_guard_destroy(g[i]);
  ASSERT_EQ(diag_log_count(&e.log, 6), 1);
  ASSERT_EQ(task_bytes(e.a), 0);
  test_env_close(&e);
}

typedef struct churn_s {
  fa_allocator_t *a;
} churn_t;

static void *churn_worker(void *arg) {
  churn_t *c = arg;
  int round, i;
  for (round = 0; round < 2000; round++) {
    fa_task_t *t = fa_task_create(c->a);
    ASSERT_NOT_NULL(t);
    for (i = 0; i < 50; i++)
      ASSERT_NOT_NULL(fa_task_alloc(t, 1500, 8)); /* two pages */
    fa_task_destroy(t);
  }
  return NULL;
}

/* Stats read while other threads create, fill and destroy tasks (their
 * pages move between tasks, threads and the allocator's cache). */
TEST(task_stats_concurrent) {
  test_env_t e;
  churn_t c;
  pthread_t th[3];
  int i, reads = 0;
  test_env_open(&e, NULL);
  c.a = e.a;
  for (i = 0; i < 3; i++)
    ASSERT_EQ(pthread_create(&th[i], NULL, churn_worker, &c), 0);
  for (i = 0; i < 2000; i++, reads++)
    ASSERT_LE(task_bytes(e.a), 3 * 3 * 65536);
  for (i = 0; i < 3; i++)
    ASSERT_EQ(pthread_join(th[i], NULL), 0);
  ASSERT_EQ(task_bytes(e.a), 0);
  ASSERT_EQ(reads, 2000);
  test_env_close_quiet(&e);
}

static const test_case_t tests[] = {
    TEST_ENTRY(task_alloc_basic),
    TEST_ENTRY(task_many_pages_and_large_blocks),
    TEST_ENTRY(task_defer_lifo_once),
    TEST_ENTRY(task_bad_input),
    TEST_ENTRY(task_null_arguments),
    TEST_ENTRY(task_steady_state),
    TEST_ENTRY(task_scope_fa701),
    TEST_ENTRY(task_scope_other_allocator),
    TEST_ENTRY(task_scope_two_threads),
    TEST_ENTRY(task_debug_shared_use),
    TEST_ENTRY(task_thread_migration),
    TEST_ENTRY(guard_threads),
    TEST_ENTRY(guard_switching),
    TEST_ENTRY(task_stats_concurrent),
    TEST_ENTRY(task_destroy_twice_fa006),
    TEST_ENTRY(task_guard_bad_handles_fa006),
    TEST_ENTRY(task_destroy_from_own_cleanup_fa006),
    TEST_ENTRY(task_destroy_busy_fa007),
    TEST_ENTRY(task_scope_ends_at_thread_exit),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
