/* FA702 with a task at hand: the fix allocates the request, which is
 * filled before the task waits, from the task. */
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
  FA_AWAIT(wait_for_disk(r->id));
  return r->id;
}
