/* fa701_vec.c: a frame vector grown inside an FA_ASYNC function run in a
 * task scope: the push takes frame memory (FA701). */
#include "agree.h"

FA_ASYNC static int collect(fa_allocator_t *a) {
  fa_frame_vec(int) ids = {0};
  if (fa_frame_vec_push(a, &ids, 7) != 0) // expect: FA701
    return 1;
  return ids.data[0];
}

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_task_t *t = fa_task_create(a);
  agree_need(t != NULL && fa_task_enter(t) == 0, "task scope");
  int v = collect(a);
  fa_task_leave(t);
  fa_task_destroy(t);
  return agree_not_stopped(v);
}
