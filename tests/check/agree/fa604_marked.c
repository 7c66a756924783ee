/* fa604_marked.c: the frame ends in an engine function the checker cannot
 * see into (it ends the frame through a hook); FA_ENDS_FRAME tells it that
 * a call ends the frame of its allocator argument. Frame memory read after
 * the call: FA604. */
#include "agree.h"

/* The engine's hook that finishes a frame, set at start-up. */
static void (*volatile end_hook)(fa_allocator_t *) = fa_end_frame;

/* Shows the frame on screen and ends it. */
FA_ENDS_FRAME static void engine_present(fa_allocator_t *a) { end_hook(a); }

int main(void) {
  fa_allocator_t *a = agree_start();
  double *xs = fa_frame_array(a, double, 8);
  agree_need(xs != NULL, "frame memory");
  xs[0] = 1.0;
  engine_present(a);
  double x = xs[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped((int)x);
}
