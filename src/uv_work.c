/* uv_work.c: work items on libuv's thread pool, each owning a task.
 *
 * fa_uv_queue_work wraps uv_queue_work: the item's task is created on the
 * loop thread when the item is queued, handed to `work` on a pool thread
 * and to `after` on the loop thread, and destroyed on the loop thread once
 * `after` has returned. libuv's queue (a mutex-protected list) orders the
 * three steps, so the task is never used by two threads at once. Both
 * callbacks run inside the task's scope, which makes a frame allocation
 * there raise FA701.
 *
 * A cancelled item (uv_cancel before its work started) still gets its
 * `after`, with UV_ECANCELED, and so its task is destroyed on the same
 * path as any other. */
#include <framealloc/uv.h>

#include <stddef.h>

#define ITEM_OF(req)                                                           \
  ((fa_uv_work_t *)(void *)((char *)(req)-offsetof(fa_uv_work_t, fa__req)))

/* The pool thread's side: the user's work, inside the task's scope. The
 * scope is entered only if the task is free, which libuv guarantees; a
 * failed enter has raised FA007 already, and the work runs all the same
 * rather than leaving the item half done. */
static void on_work(uv_work_t *req) {
  fa_uv_work_t *w = ITEM_OF(req);
  fa_task_t *t = w->fa__task;
  int entered = fa_task_enter(t) == 0;
  w->fa__work(w, t);
  if (entered)
    fa_task_leave(t);
}

/* The loop thread's side. Everything needed is read from w first: after
 * may free w or queue it again. Destroying the task takes it out of this
 * thread's scopes wherever it is among them, so a callback that left its
 * own scopes unbalanced cannot leave the thread in task mode; were the
 * enter refused, the task is destroyed all the same. */
static void on_after(uv_work_t *req, int status) {
  fa_uv_work_t *w = ITEM_OF(req);
  fa_task_t *t = w->fa__task;
  fa_uv_after_cb after = w->fa__after;
  w->fa__task = NULL;
  (void)fa_task_enter(t);
  if (after)
    after(w, t, status);
  fa_task_destroy(t);
}

int fa_uv_queue_work(uv_loop_t *loop, fa_allocator_t *a, fa_uv_work_t *w,
                     fa_uv_work_cb work, fa_uv_after_cb after) {
  fa_task_t *t;
  int r;
  if (!loop || !a || !w || !work)
    return UV_EINVAL;
  t = fa_task_create(a);
  if (!t)
    return UV_ENOMEM;
  w->fa__task = t;
  w->fa__work = work;
  w->fa__after = after;
  r = uv_queue_work(loop, &w->fa__req, on_work, on_after);
  if (r != 0) {
    w->fa__task = NULL;
    fa_task_destroy(t);
  }
  return r;
}

int fa_uv_cancel(fa_uv_work_t *w) {
  if (!w)
    return UV_EINVAL;
  return uv_cancel((uv_req_t *)&w->fa__req);
}
