/* The end-to-end input of the output-format tests: a function marked
 * FA_ASYNC takes memory from the frame, which FA701 reports. */
#include <framealloc.h>

FA_ASYNC void on_request(fa_allocator_t *a) {
  char *reply = fa_frame_alloc(a, 256, 8);
  reply[0] = 0;
}
