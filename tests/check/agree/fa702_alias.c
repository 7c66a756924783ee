/* fa702_alias.c: the frame pointer is copied to a second variable (and
 * offset) before the suspension point; the copy is read after it (FA702). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  char *p = fa_frame_alloc(a, 64, 0);
  agree_need(p != NULL, "frame memory");
  char *tail = p + 32;
  tail[0] = 5;
  agree_next_tick(); // expect: FA702
  return agree_not_stopped(tail[0]);
}
