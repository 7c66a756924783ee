/* FA603 on the paths that leave a frame open: an early return, a goto and
 * a break; the fix ends the frame on that path. */
#include <framealloc.h>

int poll_input(void);
void simulate(fa_allocator_t *a);
int frame_with_early_return(fa_allocator_t *a);
int frame_with_goto(fa_allocator_t *a);
void frames_in_loop(fa_allocator_t *a);

int frame_with_early_return(fa_allocator_t *a) {
  fa_begin_frame(a);
  if (poll_input() < 0)
    return -1;
  simulate(a);
  fa_end_frame(a);
  return 0;
}

int frame_with_goto(fa_allocator_t *a) {
  fa_begin_frame(a);
  if (poll_input() < 0)
    goto fail;
  fa_end_frame(a);
  return 0;
fail:
  return -1;
}

void frames_in_loop(fa_allocator_t *a) {
  while (poll_input() > 0) {
    fa_begin_frame(a);
    if (poll_input() == 2)
      break;
    simulate(a);
    fa_end_frame(a);
  }
}
