/* silent_task_copy.c: the fix of the FA702 programs: what the code needs
 * after the wait is copied from frame memory into task memory first. The
 * main loop ends the frame during the wait, the task memory lives on: the
 * checker says nothing and the program runs to the end under ASan. */
#include "agree.h"

#include <string.h>

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_task_t *t = fa_task_create(a);
  agree_need(t != NULL, "task");
  char *scratch = fa_frame_alloc(a, 32, 1);
  agree_need(scratch != NULL, "frame memory");
  strcpy(scratch, "level-2");
  char *name = fa_task_alloc(t, strlen(scratch) + 1, 1);
  agree_need(name != NULL, "task memory");
  strcpy(name, scratch);
  int ready = FA_AWAIT(agree_poll(1)); // silent: only task memory is used
  int ok = ready && strcmp(name, "level-2") == 0;
  fa_task_destroy(t);
  fa_end_frame(a);
  fa_release(a);
  return ok ? 0 : 1;
}
