/* fa701_thread.c: a worker thread runs a task: its body, given to
 * pthread_create, is async code, and it enters the task's scope before it
 * works. Frame memory there raises FA701. */
#include "agree.h"

#include <pthread.h>

static void *worker(void *arg) {
  fa_task_t *t = arg;
  agree_need(fa_task_enter(t) == 0, "task scope");
  char *line = fa_frame_alloc(fa_task_allocator(t), 80, 0); // expect: FA701
  fa_task_leave(t);
  return line ? arg : NULL;
}

int main(void) {
  fa_allocator_t *a = agree_start();
  fa_task_t *t = fa_task_create(a);
  pthread_t th;
  void *out = NULL;
  agree_need(t != NULL && pthread_create(&th, NULL, worker, t) == 0,
             "worker thread");
  pthread_join(th, &out);
  fa_task_destroy(t);
  return agree_not_stopped(out != NULL);
}
