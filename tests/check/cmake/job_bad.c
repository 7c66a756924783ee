/* job.c with a planted FA702: the request lives in frame memory and is
 * read after the task waited, when the frame may have ended. */
#include <framealloc.h>
#include <framealloc/task.h>

typedef struct request_s {
  int id;
} request_t;

int load_level(fa_allocator_t *a, fa_task_t *t, int id);

static int wait_for_disk(int id) { return id; }

int load_level(fa_allocator_t *a, fa_task_t *t, int id) {
  (void)t;
  request_t *r = fa_frame_new(a, request_t);
  if (!r)
    return -1;
  r->id = id;
  FA_AWAIT(wait_for_disk(r->id)); /* planted: FA702 */
  return r->id;
}
