/* test_dll: framealloc inside a DLL (fa_plugin.dll, loaded at run time),
 * used by native Windows threads that exit. The thread-exit guarantees
 * must hold with the DLL's own thread locals and FLS callback: an exited
 * thread's frame is over, its pool blocks stay valid and are freed by
 * another thread, the scope it died in is left, its state is taken over
 * by the next thread, and its empty pages go back at fa_trim. */
#include "test.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <windows.h>

#define THREADS 4
#define BLOCKS 48

static struct {
  HMODULE dll;
  fa_allocator_t *(*create)(void);
  long (*diags)(void);
  fa_task_t *(*thread_work)(fa_allocator_t *, void **, int);
  void (*pool_free)(fa_allocator_t *, void *);
  int (*task_destroy)(fa_task_t *);
  int (*stats)(fa_allocator_t *, fa_stats_t *);
  void (*trim)(fa_allocator_t *);
  void (*release)(fa_allocator_t *);
} plug;

/* GetProcAddress gives a FARPROC; it is copied into the typed pointer. */
#define LOAD(field, name)                                                      \
  do {                                                                         \
    FARPROC p_ = GetProcAddress(plug.dll, name);                               \
    ASSERT(p_ != NULL);                                                        \
    memcpy(&plug.field, &p_, sizeof(p_));                                      \
  } while (0)

static void plugin_load(void) {
  plug.dll = LoadLibraryA("fa_plugin.dll");
  ASSERT_NOT_NULL(plug.dll);
  LOAD(create, "plugin_create");
  LOAD(diags, "plugin_diags");
  LOAD(thread_work, "plugin_thread_work");
  LOAD(pool_free, "plugin_pool_free");
  LOAD(task_destroy, "plugin_task_destroy");
  LOAD(stats, "plugin_stats");
  LOAD(trim, "plugin_trim");
  LOAD(release, "plugin_release");
}

static fa_stats_t stats(fa_allocator_t *a) {
  fa_stats_t st;
  memset(&st, 0xff, sizeof(st));
  ASSERT_EQ(plug.stats(a, &st), 0);
  return st;
}

typedef struct worker_s {
  fa_allocator_t *a;
  void *keep[BLOCKS];
  fa_task_t *task;
} worker_t;

static DWORD WINAPI worker(void *p) {
  worker_t *w = p;
  w->task = plug.thread_work(w->a, w->keep, BLOCKS);
  return 0; /* exits inside its frame and its task scope */
}

/* THREADS native threads do their work through the DLL and exit. */
static void run_workers(fa_allocator_t *a, worker_t *w) {
  HANDLE h[THREADS];
  for (int i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].a = a;
    h[i] = CreateThread(NULL, 0, worker, &w[i], 0, NULL);
    ASSERT_NOT_NULL(h[i]);
  }
  ASSERT_EQ(WaitForMultipleObjects(THREADS, h, TRUE, INFINITE), WAIT_OBJECT_0);
  for (int i = 0; i < THREADS; i++) {
    CloseHandle(h[i]);
    ASSERT_NOT_NULL(w[i].task);
  }
}

/* Blocks of exited threads are intact; this thread frees them and
 * destroys their tasks, whose scopes ended with the threads. */
static void finish_workers(fa_allocator_t *a, worker_t *w) {
  for (int i = 0; i < THREADS; i++) {
    for (int j = 0; j < BLOCKS; j++) {
      unsigned char *b = w[i].keep[j];
      ASSERT_NOT_NULL(b);
      ASSERT_EQ(b[0], (unsigned)(j & 0xff));
      plug.pool_free(a, b);
    }
    ASSERT_EQ(plug.task_destroy(w[i].task), 0);
  }
}

TEST(threads_exit_through_dll) {
  static worker_t w[THREADS];
  fa_allocator_t *a;
  fa_stats_t st;
  plugin_load();
  a = plug.create();
  ASSERT_NOT_NULL(a);

  run_workers(a, w);
  st = stats(a);
  ASSERT_EQ(st.frame_bytes, 0); /* their frames ended with them */
  ASSERT_EQ(st.pool_count, THREADS * BLOCKS);
  ASSERT(st.task_bytes > 0);
  uint64_t first_round = st.os_requests;

  finish_workers(a, w);
  st = stats(a);
  ASSERT_EQ(st.pool_count, 0);
  ASSERT_EQ(st.task_bytes, 0);

  /* New threads take over the exited threads' states: far fewer
   * requests to the memory source than the first round made. */
  run_workers(a, w);
  st = stats(a);
  ASSERT_EQ(st.frame_bytes, 0);
  ASSERT_EQ(st.pool_count, THREADS * BLOCKS);
  ASSERT_LT(st.os_requests - first_round, first_round / 2);
  finish_workers(a, w);

  /* fa_trim gives back the exited threads' empty pages. */
  uint64_t before = stats(a).os_bytes;
  plug.trim(a);
  st = stats(a);
  ASSERT_LT(st.os_bytes, before);
  ASSERT_EQ(st.pool_count, 0);

  ASSERT_EQ(plug.diags(), 0);
  plug.release(a);
  ASSERT_EQ(plug.diags(), 0);
  ASSERT(FreeLibrary(plug.dll));
}

static const test_case_t tests[] = {
    TEST_ENTRY(threads_exit_through_dll),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
