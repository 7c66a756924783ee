/* fa604_helper.c: frame memory from a helper that returns it, read after
 * fa_end_frame (FA604). */
#include "agree.h"

#include <string.h>

/* Scratch text for this frame. */
static char *scratch_text(fa_allocator_t *a, const char *s) {
  size_t n = strlen(s) + 1;
  char *p = fa_frame_alloc(a, n, 1);
  return p ? memcpy(p, s, n) : NULL;
}

int main(void) {
  fa_allocator_t *a = agree_start();
  char *name = scratch_text(a, "player");
  agree_need(name != NULL, "frame memory");
  fa_end_frame(a);
  int c = name[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped(c);
}
