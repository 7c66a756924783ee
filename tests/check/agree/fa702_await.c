/* fa702_await.c: a frame pointer read after FA_AWAIT, while the main loop
 * ended the frame (FA702). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  char *p = fa_frame_alloc(a, 64, 0);
  agree_need(p != NULL, "frame memory");
  p[0] = 7;
  int ready = FA_AWAIT(agree_poll(1)); // expect: FA702
  return agree_not_stopped(ready + p[0]);
}
