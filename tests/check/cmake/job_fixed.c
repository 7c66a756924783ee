/* job.c fixed: the request lives in the task's memory, as long as the
 * task. */
#include <framealloc.h>
#include <framealloc/task.h>

typedef struct request_s {
  int id;
} request_t;

int load_level(fa_allocator_t *a, fa_task_t *t, int id);

static int wait_for_disk(int id) { return id; }

int load_level(fa_allocator_t *a, fa_task_t *t, int id) {
  (void)a;
  request_t *r = fa_task_new(t, request_t);
  if (!r)
    return -1;
  r->id = id;
  FA_AWAIT(wait_for_disk(r->id));
  return r->id;
}
