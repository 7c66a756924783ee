


/* Input of the output-format tests: the findings the test makes up point
 * at these lines. It is never compiled. */
#include <framealloc.h>

FA_ASYNC static void on_read(fa_allocator_t *a) {
	char *buf = fa_frame_alloc(a, 64, 8);	/* indented with a tab */
  fill(buf);
  FA_AWAIT(fiber_yield());
  send(buf);
}

static void step(fa_allocator_t *a) {
  int *counts = fa_frame_array(a, int, 8);
  FA_AWAIT(fiber_yield());
  print(counts);
  print(counts);
}
