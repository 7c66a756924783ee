/* test_fork.c: fork() while another thread uses the allocator. The child
 * must find every allocator usable (no lock left held by a thread it does
 * not have): it allocates and frees in every tier, ends frames, makes and
 * destroys tasks and guards, reads the stats, trims, and exits 0. A child
 * that deadlocks is ended by its own alarm, which the parent sees through
 * waitpid as a signal instead of exit status 0: the time bound is a
 * watchdog, not a measure of speed.
 *
 * The allocators take their memory from mappings made here: the default
 * source serves small reservations from libc, which glibc makes safe
 * across fork(), but the sanitizers' replacements for malloc are not
 * (a child may find their lock held by the other thread). */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>

#define FORKS 50
#define WATCHDOG_SECONDS 60 /* far above any run, even under sanitizers */

/* A memory source of anonymous mappings, aligned by trimming a larger one;
 * no lock and no malloc. */
static size_t map_len(size_t size) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (size + page - 1) & ~(page - 1);
}

static void *map_reserve(size_t size, size_t align, void *user) {
  size_t len = map_len(size), page = (size_t)sysconf(_SC_PAGESIZE);
  size_t span = len + (align > page ? align : 0);
  char *raw;
  uintptr_t start;
  (void)user;
  raw = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  if (start > (uintptr_t)raw)
    munmap(raw, start - (uintptr_t)raw);
  if ((uintptr_t)raw + span > start + len)
    munmap((char *)start + len, (uintptr_t)raw + span - (start + len));
  return (void *)start;
}

static void map_release(void *p, size_t size, void *user) {
  (void)user;
  munmap(p, map_len(size));
}

static const fa_memory_source_t map_source = {map_reserve, map_release, NULL};

static fa_allocator_t *map_create(void) {
  fa_config_t cfg = {0};
  cfg.memory_source = &map_source;
  return fa_create(&cfg);
}

typedef struct churn_s {
  fa_allocator_t *a;
  fa_task_t *busy; /* entered by the churn thread and never left */
  int stop;        /* atomic */
  int started;     /* atomic */
} churn_t;

/* The second thread: every path that takes a lock of the library, in a
 * loop, until told to stop. */
static void *churn(void *arg) {
  churn_t *c = arg;
  void *keep[64] = {0};
  uint64_t i = 0;
  if (fa_task_enter(c->busy) != 0)
    return arg;
  __atomic_store_n(&c->started, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
    size_t k = (size_t)(i % 64);
    size_t size = (size_t)(test_mix64(i) % 3000); /* some heap fallbacks */
    fa_pool_free(c->a, keep[k]);
    keep[k] = fa_pool_alloc(c->a, size);
    fa_heap_free(c->a, fa_heap_alloc(c->a, 100 + size, 0));
    if (i % 16 == 0) {
      fa_task_t *t = fa_task_create(c->a);
      test_sink = fa_task_alloc(t, 200, 0);
      fa_task_destroy(t);
      fa_pool_guard_t *g = fa_pool_guard_create(c->a);
      test_sink = fa_pool_guard_alloc(g, 100, 0);
      fa_pool_guard_destroy(g);
    }
    if (i % 64 == 0) {
      fa_stats_t st;
      fa_get_stats(c->a, &st);
      fa_trim(c->a);
      fa_release(map_create()); /* the registry lock */
    }
    i++;
  }
  for (size_t k = 0; k < 64; k++)
    fa_pool_free(c->a, keep[k]);
  return NULL;
}

/* What the child does; any failure is a nonzero exit status. */
static int child_body(fa_allocator_t *a, void *parent_block, fa_task_t *busy) {
  fa_stats_t st;
  fa_allocator_t *b;
  fa_task_t *t;
  fa_pool_guard_t *g;
  for (int f = 0; f < 3; f++) {
    fa_begin_frame(a);
    char *p = fa_frame_alloc(a, 1000, 0);
    if (!p)
      return 1;
    memset(p, f, 1000);
    fa_end_frame(a);
  }
  for (int i = 0; i < 200; i++) {
    void *p = fa_pool_alloc(a, (size_t)i * 20);
    void *q = fa_heap_alloc(a, (size_t)i * 30 + 1, 0);
    if (!p || !q)
      return 2;
    fa_pool_free(a, p);
    fa_heap_free(a, q);
  }
  fa_pool_free(a, parent_block); /* the forking thread's block */
  t = fa_task_create(a);
  g = fa_pool_guard_create(a);
  if (!t || !g || !fa_task_alloc(t, 5000, 0) || !fa_pool_guard_alloc(g, 64, 0))
    return 3;
  fa_task_destroy(t);
  fa_pool_guard_destroy(g);
  /* The task the other thread was in a scope with is free here. */
  if (fa_task_enter(busy) != 0)
    return 4;
  fa_task_leave(busy);
  if (fa_get_stats(a, &st) != 0)
    return 5;
  fa_trim(a);
  b = map_create();
  void *p = b ? fa_pool_alloc(b, 10) : NULL;
  if (!p)
    return 6;
  fa_pool_free(b, p);
  fa_release(b);
  return 0;
}

TEST(fork_while_another_thread_allocates) {
  diag_log_t log;
  fa_config_t cfg = {0};
  churn_t c;
  pthread_t th;
  diag_log_init(&log);
  diag_log_config(&log, &cfg);
  memset(&c, 0, sizeof(c));
  cfg.memory_source = &map_source;
  c.a = fa_create(&cfg);
  ASSERT_NOT_NULL(c.a);
  c.busy = fa_task_create(c.a);
  ASSERT_NOT_NULL(c.busy);
  ASSERT_EQ(pthread_create(&th, NULL, churn, &c), 0);
  while (!__atomic_load_n(&c.started, __ATOMIC_ACQUIRE))
    sched_yield();
  for (int i = 0; i < FORKS; i++) {
    void *block = fa_pool_alloc(c.a, 48);
    int status = 0;
    pid_t pid;
    ASSERT_NOT_NULL(block);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      alarm(WATCHDOG_SECONDS); /* a deadlock ends the child by SIGALRM */
      _exit(child_body(c.a, block, c.busy));
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
      fprintf(stderr, "fork %d: child killed by signal %d\n", i,
              WTERMSIG(status));
    ASSERT_NE(WIFEXITED(status), 0); /* not ended by the watchdog */
    ASSERT_EQ(WEXITSTATUS(status), 0);
    fa_pool_free(c.a, block);
  }
  __atomic_store_n(&c.stop, 1, __ATOMIC_RELEASE);
  ASSERT_EQ(pthread_join(th, NULL), 0);
  fa_task_destroy(c.busy); /* the churn thread's exit ended its scope */
  ASSERT_EQ(diag_log_total(&log), 0);
  fa_release(c.a);
  ASSERT_EQ(diag_log_total(&log), 0);
  diag_log_destroy(&log);
}

static const test_case_t tests[] = {
    TEST_ENTRY(fork_while_another_thread_allocates),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
