/* silent_other_allocator.c: the frame that ends belongs to another
 * allocator, which never touches this one's memory: the read is valid. The
 * checker says nothing (FA604 is about the same allocator) and the program
 * runs to the end under ASan. */
#include "agree.h"

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_allocator_t *b = fa_create(NULL);
  agree_need(b != NULL, "second allocator");
  char *p = fa_frame_alloc(a, 64, 0);
  agree_need(p != NULL, "frame memory");
  p[0] = 'a';
  fa_begin_frame(b);
  fa_end_frame(b);
  int v = p[0]; // silent: b's frame is not a's
  fa_release(b);
  fa_end_frame(a);
  fa_release(a);
  return v == 'a' ? 0 : 1;
}
