/* fa702_loop.c: each iteration takes frame memory and then waits; the next
 * iteration reads the previous iteration's memory (FA702 through the loop's
 * back edge). The first use after the wait is the read itself: a NULL test
 * of the pointer would be the checker's "used here" but no memory access. */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  char *prev = NULL;
  int sum = 0;
  for (int i = 0; i < 2; i++) {
    sum += i > 0 ? prev[0] : 0;
    prev = fa_frame_alloc(a, 16, 0);
    agree_need(prev != NULL, "frame memory");
    prev[0] = (char)i;
    agree_next_tick(); // expect: FA702
  }
  return agree_not_stopped(sum);
}
