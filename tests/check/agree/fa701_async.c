/* fa701_async.c: an FA_ASYNC function, run inside a task scope, takes frame
 * memory (FA701 at run time and in the checker). */
#include "agree.h"

FA_ASYNC static int job(fa_allocator_t *a) {
  char *p = fa_frame_alloc(a, 64, 0); // expect: FA701
  return p ? 0 : 1;
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
