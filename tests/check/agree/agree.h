/* agree.h: the small world the run-time/static agreement programs run in.
 *
 * One allocator plays the main loop's. A program opens a frame with
 * agree_start, makes its one mistake, and should never come back from it:
 * the debug library poisons frame memory at fa_end_frame, so AddressSanitizer
 * stops the program at the use of a dead frame pointer, and a strict
 * allocator aborts at a frame allocation inside a task scope (FA701).
 * The silent_*.c programs make none and run to the end.
 *
 * A suspension point lets the main loop run one step, which ends the frame
 * and begins the next one, as an event loop does while a task waits. The
 * step is reached through a function pointer, as a scheduler would be: the
 * checker sees the suspension point and nothing else, so the finding under
 * test is FA702 alone. The step allocates nothing, so the old frame's memory
 * stays poisoned when the program resumes. */
#ifndef AGREE_H
#define AGREE_H

#include <framealloc.h>
#include <framealloc/task.h>

#include <stdio.h>
#include <stdlib.h>

static fa_allocator_t *agree_alloc;

static void agree_loop_step(void) {
  fa_end_frame(agree_alloc);
  fa_begin_frame(agree_alloc);
}

/* What a suspension resumes: the main loop, through the scheduler. */
static void (*volatile agree_scheduler)(void) = agree_loop_step;

/* Waits for the next tick of the main loop: a suspension point for the
 * checker, one step of the main loop at run time. */
FA_SUSPENDS static inline void agree_next_tick(void) { agree_scheduler(); }

/* A value to await with FA_AWAIT: the loop steps once before it is ready. */
static inline int agree_poll(int v) {
  agree_scheduler();
  return v;
}

/* Stops the program when a step of its set-up failed: exit status 2, which
 * is not the mistake under test. */
static inline void agree_need(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "set-up failed: %s\n", what);
    exit(2);
  }
}

/* The allocator, in strict mode (error-level diagnostics abort), with a
 * frame open. */
static inline fa_allocator_t *agree_start(void) {
  fa_config_t cfg = {0};
  cfg.strict = 1;
  agree_alloc = fa_create(&cfg);
  agree_need(agree_alloc != NULL, "allocator");
  fa_begin_frame(agree_alloc);
  return agree_alloc;
}

/* Reached only when the run-time tool missed the mistake. */
static inline int agree_not_stopped(int v) {
  fprintf(stderr, "not stopped: the program ran past its mistake (%d)\n", v);
  fa_end_frame(agree_alloc);
  fa_release(agree_alloc);
  return 1;
}

#endif /* AGREE_H */
