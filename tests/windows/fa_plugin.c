/* fa_plugin.dll: a DLL with framealloc linked in statically, as a game
 * module or plugin would ship it. test_dll loads it with LoadLibrary and
 * calls it from threads that then exit, so the thread-exit hook (the FLS
 * callback) and the thread locals are the DLL's own. */
#include <framealloc.h>
#include <framealloc/task.h>
#include <string.h>

#define PLUGIN_API __declspec(dllexport)

static volatile long diags; /* diagnostics raised, all allocators */

static void count_diag(const fa_diag_t *d, void *user) {
  (void)d;
  (void)user;
  __atomic_fetch_add(&diags, 1, __ATOMIC_RELAXED);
}

PLUGIN_API fa_allocator_t *plugin_create(void);
PLUGIN_API fa_allocator_t *plugin_create(void) {
  fa_config_t cfg = {0};
  cfg.on_diagnostic = count_diag;
  return fa_create(&cfg);
}

PLUGIN_API long plugin_diags(void);
PLUGIN_API long plugin_diags(void) {
  return __atomic_load_n(&diags, __ATOMIC_RELAXED);
}

/* A thread's work: a frame bigger than the first chunk, n pool blocks kept
 * in keep (sizes 16 to 1024 and one over the pool limit), and a task whose
 * scope it enters and never leaves. Returns the task, NULL on failure. The
 * caller's thread then exits inside the frame and the scope. */
PLUGIN_API fa_task_t *plugin_thread_work(fa_allocator_t *a, void **keep, int n);
PLUGIN_API fa_task_t *plugin_thread_work(fa_allocator_t *a, void **keep,
                                         int n) {
  fa_begin_frame(a);
  char *f = fa_frame_alloc(a, 256 << 10, 64);
  if (!f)
    return NULL;
  memset(f, 0x5a, 256 << 10);
  for (int i = 0; i < n; i++) {
    size_t size = i == n - 1 ? 4096 : 16 + (size_t)(i * 48) % 1009;
    keep[i] = fa_pool_alloc(a, size);
    if (!keep[i])
      return NULL;
    memset(keep[i], i & 0xff, size);
  }
  fa_task_t *t = fa_task_create(a);
  if (!t || !fa_task_alloc(t, 100, 0) || fa_task_enter(t) != 0)
    return NULL;
  return t;
}

PLUGIN_API void plugin_pool_free(fa_allocator_t *a, void *p);
PLUGIN_API void plugin_pool_free(fa_allocator_t *a, void *p) {
  fa_pool_free(a, p);
}

PLUGIN_API int plugin_task_destroy(fa_task_t *t);
PLUGIN_API int plugin_task_destroy(fa_task_t *t) {
  /* 0 when the task could be entered here, i.e. its scope ended with its
   * thread; the destroy then succeeds. */
  int rc = fa_task_enter(t);
  if (rc == 0)
    fa_task_leave(t);
  fa_task_destroy(t);
  return rc;
}

PLUGIN_API int plugin_stats(fa_allocator_t *a, fa_stats_t *out);
PLUGIN_API int plugin_stats(fa_allocator_t *a, fa_stats_t *out) {
  return fa_get_stats(a, out);
}

PLUGIN_API void plugin_trim(fa_allocator_t *a);
PLUGIN_API void plugin_trim(fa_allocator_t *a) { fa_trim(a); }

PLUGIN_API void plugin_release(fa_allocator_t *a);
PLUGIN_API void plugin_release(fa_allocator_t *a) { fa_release(a); }
