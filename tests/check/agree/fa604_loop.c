/* fa604_loop.c: one frame per iteration; the next iteration reads the
 * memory of the previous one, whose frame has ended (FA604 through the
 * loop's back edge). */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_end_frame(a);
  char *last = NULL;
  int sum = 0;
  for (int i = 0; i < 2; i++) {
    fa_begin_frame(a);
    sum += i > 0 ? last[0] : 0; // expect: FA604
    last = fa_frame_alloc(a, 16, 0);
    if (last)
      last[0] = (char)i;
    fa_end_frame(a);
  }
  fa_begin_frame(a);
  return agree_not_stopped(sum);
}
