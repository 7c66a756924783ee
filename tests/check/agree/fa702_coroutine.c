/* fa702_coroutine.c: a real coroutine (ucontext). It takes frame memory,
 * switches back to the main loop, which ends the frame and begins the next,
 * and reads the memory when it is resumed (FA702 at the switch). */
#include "agree.h"

#include <ucontext.h>

static ucontext_t loop_ctx, co_ctx;
static int co_result;

static void coroutine(void) {
  char *msg = fa_frame_alloc(agree_alloc, 32, 0);
  agree_need(msg != NULL, "frame memory");
  msg[0] = 'h';
  swapcontext(&co_ctx, &loop_ctx); // expect: FA702
  co_result = msg[0];
}

int main(void) {
  static char stack[256 * 1024];
  agree_start();
  agree_need(getcontext(&co_ctx) == 0, "coroutine context");
  co_ctx.uc_stack.ss_sp = stack;
  co_ctx.uc_stack.ss_size = sizeof(stack);
  co_ctx.uc_link = &loop_ctx;
  makecontext(&co_ctx, coroutine, 0);
  swapcontext(&loop_ctx, &co_ctx); /* runs until the coroutine suspends */
  agree_loop_step();               /* the main loop's next frame */
  swapcontext(&loop_ctx, &co_ctx); /* resumes it */
  return agree_not_stopped(co_result);
}
