/* fa604_callee.c: the frame ends inside a function the program calls with
 * the same allocator; frame memory is read after that call (FA604). */
#include "agree.h"

/* Presents what the frame drew, and ends it. */
static void present(fa_allocator_t *a, const int *hits) {
  printf("%d hits\n", hits[0]);
  fa_end_frame(a);
}

int main(void) {
  fa_allocator_t *a = agree_start();
  int *hits = fa_frame_array(a, int, 4);
  agree_need(hits != NULL, "frame memory");
  hits[0] = 1;
  present(a, hits);
  int v = hits[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped(v);
}
