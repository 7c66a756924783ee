/* fa701_helper.c: an async function, run inside a task scope, calls a
 * helper that returns frame memory. The checker reports the call in the
 * async function; at run time that call is the async function's frame on
 * the stack of the FA701 abort. */
#include "agree.h"

/* Scratch for this frame: a helper returning frame memory. */
static float *scratch_floats(fa_allocator_t *a, size_t n) {
  return fa_frame_array(a, float, n);
}

FA_ASYNC static int job(fa_allocator_t *a) {
  float *v = scratch_floats(a, 8); // expect: FA701
  return v ? 0 : 1;
}

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_task_t *t = fa_task_create(a);
  agree_need(t != NULL && fa_task_enter(t) == 0, "task scope");
  int v = job(a);
  fa_task_leave(t);
  fa_task_destroy(t);
  return agree_not_stopped(v);
}
