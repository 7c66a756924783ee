/* trace_prog.c: programs whose traces tools/fa_trace.py checks.
 *
 *   trace_prog basic PATH    four threads, tags (one with a quote and a
 *                            backslash in its name), a soft and a hard tag
 *                            budget, pool, heap and task memory; the trace
 *                            is opened with fa_trace_open and closed with
 *                            fa_trace_close
 *   trace_prog exit PATH     opens a trace and calls exit() without closing
 *                            it or releasing the allocator (atexit closes it)
 *   trace_prog spin PATH     runs frames until it is killed; prints "ready"
 *                            once it has flushed some
 *   trace_prog unwritable    FA_TRACE names a file that cannot be created:
 *                            exactly one FA008, then the program runs on
 *
 * Exit status 0 when the program saw what it expected. */
#define _POSIX_C_SOURCE 200809L
#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/timeline.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int diags[1000];
static pthread_mutex_t diag_lock = PTHREAD_MUTEX_INITIALIZER;

static void on_diag(const fa_diag_t *d, void *user) {
  (void)user;
  pthread_mutex_lock(&diag_lock);
  if (d->code >= 0 && d->code < 1000)
    diags[d->code]++;
  pthread_mutex_unlock(&diag_lock);
}

static void frame_work(fa_allocator_t *a, int f) {
  fa_begin_frame(a);
  fa_tag_push(a, "physics");
  for (int i = 0; i < 4 + f % 3; i++) {
    char *p = fa_frame_alloc(a, 64, 16);
    if (p)
      memset(p, i, 64);
  }
  void *q = fa_pool_alloc(a, 48);
  fa_tag_push(a, "ai \"planner\" \\ v2");
  void *r = fa_frame_alloc(a, 32, 16);
  (void)r;
  fa_tag_pop(a);
  fa_tag_pop(a);
  fa_pool_free(a, q);
  fa_end_frame(a);
}

/* Every thread runs its first frame before any exits, so that none adopts
 * the state (and thread index) of another. */
static int started; /* atomic */

static void *worker(void *arg) {
  fa_allocator_t *a = arg;
  frame_work(a, 0);
  __atomic_fetch_add(&started, 1, __ATOMIC_ACQ_REL);
  while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < 4)
    sched_yield();
  for (int f = 1; f < 40; f++)
    frame_work(a, f);
  return NULL;
}

static fa_allocator_t *make(size_t history) {
  static fa_tag_budget_t budgets[] = {{"physics", 300, 100000},
                                      {"bounded", 0, 128}};
  fa_config_t cfg = {0};
  cfg.history_frames = history;
  cfg.tag_budgets = budgets;
  cfg.tag_budget_count = 2;
  cfg.on_diagnostic = on_diag;
  return fa_create(&cfg);
}

static int basic(const char *path) {
  fa_allocator_t *a = make(16);
  if (!a || fa_trace_open(a, path) != 0)
    return 1;
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&th[i], NULL, worker, a);
  worker(a);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  /* A hard budget refusal, a heap block and a task in one frame. */
  fa_begin_frame(a);
  fa_tag_push(a, "bounded");
  void *big = fa_frame_alloc(a, 256, 16); /* refused: FA003 error */
  fa_tag_pop(a);
  void *h = fa_heap_alloc(a, 3000, 0);
  fa_task_t *t = fa_task_create(a);
  void *tp = fa_task_alloc(t, 500, 16);
  fa_end_frame(a);
  fa_task_destroy(t);
  fa_heap_free(a, h);
  int ok = !big && tp && diags[3] >= 2 && diags[8] == 0;
  if (fa_trace_close(a) != 0)
    ok = 0;
  fa_release(a);
  return ok ? 0 : 1;
}

static int exit_without_close(const char *path) {
  fa_allocator_t *a = make(0);
  if (!a || fa_trace_open(a, path) != 0)
    return 1;
  for (int f = 0; f < 30; f++)
    frame_work(a, f);
  exit(0); /* neither fa_trace_close nor fa_release: atexit closes it */
}

static int spin(const char *path) {
  fa_allocator_t *a = make(0);
  if (!a || fa_trace_open(a, path) != 0)
    return 1;
  struct timespec ms = {0, 1000 * 1000};
  for (long f = 0;; f++) {
    frame_work(a, (int)f);
    nanosleep(&ms, NULL);
    if (f == 200) {
      printf("ready\n");
      fflush(stdout);
    }
  }
}

static int unwritable(void) {
  fa_allocator_t *a = make(4);
  if (!a)
    return 1;
  for (int f = 0; f < 10; f++)
    frame_work(a, f);
  fa_frame_record_t r[4];
  int n = fa_frame_history(a, 0, r, 4);
  fa_release(a);
  /* One FA008, and the allocator worked on. */
  printf("FA008 raised %d times, %d records\n", diags[8], n);
  return diags[8] == 1 && n == 4 ? 0 : 1;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  const char *path = argc > 2 ? argv[2] : NULL;
  if (strcmp(mode, "basic") == 0 && path)
    return basic(path);
  if (strcmp(mode, "exit") == 0 && path)
    return exit_without_close(path);
  if (strcmp(mode, "spin") == 0 && path)
    return spin(path);
  if (strcmp(mode, "unwritable") == 0)
    return unwritable();
  fprintf(stderr, "usage: trace_prog basic|exit|spin PATH | unwritable\n");
  return 2;
}
