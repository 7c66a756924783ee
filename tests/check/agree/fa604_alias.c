/* fa604_alias.c: a copy of a frame pointer, offset, read after
 * fa_end_frame (FA604). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  char *p = fa_frame_alloc(a, 64, 0);
  agree_need(p != NULL, "frame memory");
  char *tail = p + 32;
  tail[0] = 4;
  fa_end_frame(a);
  int v = tail[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped(v);
}
