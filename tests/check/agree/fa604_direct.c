/* fa604_direct.c: frame memory read after fa_end_frame on the same
 * allocator, in the same function (FA604). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  char *p = fa_frame_alloc(a, 64, 0);
  agree_need(p != NULL, "frame memory");
  p[0] = 3;
  fa_end_frame(a);
  int v = p[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped(v);
}
