/* fa702_struct.c: the Rust guide's mistake in C: a request built in frame
 * memory, a wait for the disk, then the request's fields read (FA702). */
#include "agree.h"

#include <string.h>

typedef struct request_s {
  int id;
  char path[64];
} request_t;

/* Suspends until the read of id completes. */
static int wait_for_disk(int id) { return agree_poll(id); }

int main(void) {
  fa_allocator_t *a = agree_start();
  request_t *r = fa_frame_new(a, request_t);
  agree_need(r != NULL, "frame memory");
  r->id = 42;
  strcpy(r->path, "assets/level.bin");
  int got = FA_AWAIT(wait_for_disk(r->id)); // expect: FA702
  return agree_not_stopped(got + r->id);
}
