/* The consumer's program: one frame in which a level is loaded through a
 * task. */
#include <framealloc.h>
#include <framealloc/task.h>

#include <stdio.h>

int load_level(fa_allocator_t *a, fa_task_t *t, int id);

int main(void) {
  fa_allocator_t *a = fa_create(NULL);
  fa_task_t *t = a ? fa_task_create(a) : NULL;
  if (!t)
    return 1;
  fa_begin_frame(a);
  int rc = load_level(a, t, 7);
  fa_end_frame(a);
  fa_task_destroy(t);
  fa_release(a);
  printf("load_level: %d\n", rc);
  return rc == 7 ? 0 : 1;
}
