/* test_uaf.c: reads of freed memory must be stopped by AddressSanitizer
 * with a use-after-poison report at the line of the read: frame memory
 * after fa_end_frame (no argument), and a pool block after fa_pool_free
 * (argument "pool"; the read is past the first 16 bytes, which the library
 * may keep for its free list), and task memory after fa_task_destroy
 * (argument "task"). CMake finds each line by the marker on it
 * and passes it in; the tests pass when the report names it. */
#include <framealloc.h>
#include <framealloc/task.h>
#include <stdio.h>
#include <string.h>

static int frame_use_after_end(fa_allocator_t *a) {
  volatile char *p;
  int v;
  fa_begin_frame(a);
  p = fa_frame_alloc(a, 64, 0);
  if (!p)
    return 2;
  p[0] = 42;
  fa_end_frame(a);
  printf("reading frame memory after fa_end_frame at test_uaf.c:%d\n",
         FA_UAF_FRAME_LINE);
  fflush(stdout);
  enum { frame_line = __LINE__ + 1 };
  v = p[0]; /* UAF-FRAME-LINE */
  _Static_assert(frame_line == FA_UAF_FRAME_LINE,
                 "FA_UAF_FRAME_LINE is not the line of the read");
  printf("not stopped: read %d\n", v);
  return 1;
}

static int pool_use_after_free(fa_allocator_t *a) {
  volatile char *p = fa_pool_alloc(a, 64);
  int v;
  if (!p)
    return 2;
  p[32] = 42;
  fa_pool_free(a, (void *)p);
  printf("reading a pool block after fa_pool_free at test_uaf.c:%d\n",
         FA_UAF_POOL_LINE);
  fflush(stdout);
  enum { pool_line = __LINE__ + 1 };
  v = p[32]; /* UAF-POOL-LINE */
  _Static_assert(pool_line == FA_UAF_POOL_LINE,
                 "FA_UAF_POOL_LINE is not the line of the read");
  printf("not stopped: read %d\n", v);
  return 1;
}

static int task_use_after_destroy(fa_allocator_t *a) {
  fa_task_t *t = fa_task_create(a);
  volatile char *p;
  int v;
  if (!t || !(p = fa_task_alloc(t, 64, 0)))
    return 2;
  p[8] = 42;
  fa_task_destroy(t);
  printf("reading task memory after fa_task_destroy at test_uaf.c:%d\n",
         FA_UAF_TASK_LINE);
  fflush(stdout);
  enum { task_line = __LINE__ + 1 };
  v = p[8]; /* UAF-TASK-LINE */
  _Static_assert(task_line == FA_UAF_TASK_LINE,
                 "FA_UAF_TASK_LINE is not the line of the read");
  printf("not stopped: read %d\n", v);
  return 1;
}

int main(int argc, char **argv) {
  fa_allocator_t *a = fa_create(NULL);
  int rc;
  if (!a)
    return 2;
  if (argc > 1 && strcmp(argv[1], "pool") == 0)
    rc = pool_use_after_free(a);
  else if (argc > 1 && strcmp(argv[1], "task") == 0)
    rc = task_use_after_destroy(a);
  else
    rc = frame_use_after_end(a);
  fa_release(a);
  return rc;
}
