/* fa604_field.c: a frame buffer kept in a field of a struct on the stack,
 * read through the field after fa_end_frame (FA604). */
#include "agree.h"

typedef struct batch_s {
  int n;
  float *weights;
} batch_t;

int main(void) {
  fa_allocator_t *a = agree_start();
  batch_t b = {4, NULL};
  b.weights = fa_frame_array(a, float, 4);
  agree_need(b.weights != NULL, "frame memory");
  b.weights[0] = 0.5f;
  fa_end_frame(a);
  float w = b.weights[0]; // expect: FA604
  fa_begin_frame(a);
  return agree_not_stopped((int)w);
}
