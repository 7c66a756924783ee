/* async_bad.c: a deliberately wrong async pattern, kept so that fa-check
 * has something to catch (`make demo` runs it over examples/). It builds,
 * and it is never run: the bug is a frame pointer used after the task
 * waited, by which time the main loop may have ended the frame.
 *
 * The fix, in async_fixed below: copy what the task needs into task memory
 * (or pool memory) before it waits. */
#include <framealloc.h>
#include <framealloc/task.h>

#include <string.h>

typedef struct request_s {
  int id;
  char path[64];
} request_t;

int wait_for_disk(int id); /* suspends until the read completes */
void submit(const request_t *r);
int async_bad(fa_allocator_t *a, int id);
int async_fixed(fa_task_t *t, int id);

int async_bad(fa_allocator_t *a, int id) {
  request_t *r = fa_frame_new(a, request_t); /* scratch of this frame */
  if (!r)
    return -1;
  r->id = id;
  strcpy(r->path, "assets/level.bin");
  FA_AWAIT(wait_for_disk(r->id)); /* the frame may end while we wait */
  submit(r);                      /* FA702: r may dangle here */
  return 0;
}

int async_fixed(fa_task_t *t, int id) {
  request_t *r = fa_task_new(t, request_t); /* lives as long as the task */
  if (!r)
    return -1;
  r->id = id;
  strcpy(r->path, "assets/level.bin");
  FA_AWAIT(wait_for_disk(r->id));
  submit(r);
  return 0;
}
