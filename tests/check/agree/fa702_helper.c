/* fa702_helper.c: frame memory that comes from a helper function returning
 * it; the result is read after a suspension point (FA702). */
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
  agree_next_tick(); // expect: FA702
  return agree_not_stopped(name[0]);
}
