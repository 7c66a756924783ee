/* fa701_uv.c: a libuv work item. Its work callback, passed to
 * fa_uv_queue_work, is async code, and the library runs it on libuv's
 * thread pool inside the item's task scope. Frame memory there raises
 * FA701. */
#include "agree.h"

#include <framealloc/uv.h>

static int made;

static void work(fa_uv_work_t *w, fa_task_t *t) {
  char *line = fa_frame_alloc(fa_task_allocator(t), 80, 0); // expect: FA701
  (void)w;
  made = line != NULL;
}

static void after(fa_uv_work_t *w, fa_task_t *t, int status) {
  (void)t;
  (void)status;
  (void)w;
}

int main(void) {
  fa_allocator_t *a = agree_start();
  uv_loop_t loop;
  fa_uv_work_t w = {0};
  agree_need(uv_loop_init(&loop) == 0, "loop");
  agree_need(fa_uv_queue_work(&loop, a, &w, work, after) == 0, "queue");
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return agree_not_stopped(made);
}
