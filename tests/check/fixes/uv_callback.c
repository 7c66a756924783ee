/* FA701 in a fa_uv_queue_work callback and in a task scope: the fix
 * allocates from the current task. */
#include <framealloc.h>
#include <framealloc/uv.h>

void start(uv_loop_t *loop, fa_allocator_t *a, fa_uv_work_t *w);

static void work(fa_uv_work_t *w, fa_task_t *t) {
  (void)w;
  char *scratch = fa_frame_alloc(fa_task_allocator(t), 64, 8);
  scratch[0] = 0;
}

void start(uv_loop_t *loop, fa_allocator_t *a, fa_uv_work_t *w) {
  fa_uv_queue_work(loop, a, w, work, NULL);
}

FA_ASYNC void scoped(fa_allocator_t *a, fa_task_t *t) {
  fa_task_enter(t);
  int *ids = fa_frame_array(a, int, 8);
  ids[0] = 1;
  fa_task_leave(t);
}
