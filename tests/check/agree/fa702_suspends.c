/* fa702_suspends.c: a frame pointer read after a call to an FA_SUSPENDS
 * function, during which the main loop ended the frame (FA702). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  int *counts = fa_frame_array(a, int, 16);
  agree_need(counts != NULL, "frame memory");
  counts[3] = 1;
  agree_next_tick(); // expect: FA702
  return agree_not_stopped(counts[3]);
}
