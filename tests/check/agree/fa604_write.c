/* fa604_write.c: frame memory written after fa_end_frame: a store is a use
 * too (FA604). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  int *totals = fa_frame_array(a, int, 8);
  agree_need(totals != NULL, "frame memory");
  fa_end_frame(a);
  totals[2] = 9; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped(0);
}
