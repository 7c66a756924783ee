/* fa702_field.c: a frame buffer kept in a field of a request on the stack;
 * the field is read after FA_AWAIT (FA702). */
#include "agree.h"

typedef struct request_s {
  int id;
  char *buf;
} request_t;

int main(void) {
  fa_allocator_t *a = agree_start();
  request_t req = {1, NULL};
  req.buf = fa_frame_array(a, char, 128);
  agree_need(req.buf != NULL, "frame memory");
  req.buf[0] = 'x';
  int done = FA_AWAIT(agree_poll(req.id)); // expect: FA702
  return agree_not_stopped(done + req.buf[0]);
}
