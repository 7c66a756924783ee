/* framealloc/task.h: memory for asynchronous work.
 *
 * Async work (a libuv job, a thread-pool item, a coroutine) must never hold
 * frame memory: the owning thread can end its frame while the work waits.
 * Two replacements live exactly as long as the work does:
 *
 *   fa_task_t        a bump allocator owned by one task. One thread uses it
 *                    at a time, and it may move between threads between
 *                    uses (created on one, used on a second, destroyed on a
 *                    third). fa_task_destroy runs the deferred cleanups, last
 *                    registered first, then frees everything at once.
 *   fa_pool_guard_t  a batch that many threads allocate from at once, each
 *                    in its own region (no lock shared by all of them on
 *                    the allocation path); fa_pool_guard_destroy frees it.
 *
 * Both take their memory from the allocator's page cache, never from a
 * frame arena, so creating and destroying them in a loop makes no request
 * to the memory source once warm. Their live bytes are task_bytes in
 * fa_get_stats.
 *
 * A task scope (fa_task_enter / fa_task_leave) marks the calling thread as
 * running task code: a frame allocation there raises FA701. The libuv
 * integration enters the scope around its callbacks. */
#ifndef FRAMEALLOC_TASK_H
#define FRAMEALLOC_TASK_H

#include "../framealloc.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fa_task_s fa_task_t;
typedef struct fa_pool_guard_s fa_pool_guard_t;

/* ---- Tasks ------------------------------------------------------------ */

/* A new task on a, which it keeps alive until fa_task_destroy. The hold is
 * not a user reference: the last fa_release with the task alive raises
 * FA005 (with the live task bytes), and a is destroyed when its last task
 * or guard is. NULL when a is NULL (FA006) or memory is short. */
FA_EXTERN fa_task_t *fa_task_create(fa_allocator_t *a);

/* size bytes aligned to align (a power of two up to 4096; 0 means
 * alignof(max_align_t)), valid until fa_task_destroy. Size 0 gives a unique
 * pointer. NULL when t is NULL or align is not valid (FA006), or memory is
 * short. Inlined; see below. */
FA__INLINE FA__MALLOC void *fa_task_alloc(fa_task_t *t, size_t size,
                                          size_t align);

/* Registers fn(arg) to run at fa_task_destroy, before the memory is freed;
 * cleanups run last registered first, exactly once. 0, FA_EINVAL (t or fn
 * NULL) or FA_ENOMEM; on error fn is not registered and will not run. */
FA_EXTERN int fa_task_defer(fa_task_t *t, void (*fn)(void *), void *arg);

/* Runs the deferred cleanups, frees all the task's memory and drops its
 * hold on the allocator. Cost: the number of chunks plus the number of
 * cleanups, plus two short locks (the process-wide registry, to find the
 * allocator whose page t is in without reading t, then the allocator's).
 * NULL is a no-op. Called inside the task's own scope, it leaves the
 * scope. Refused, changing nothing: a task destroyed already, or being
 * destroyed (a call from its own cleanup), or a pointer that is not a
 * task, raises FA006, in every build, for as long as t's page is still the
 * allocator's; a task in a scope on another thread raises FA007. */
FA_EXTERN void fa_task_destroy(fa_task_t *t);

/* The allocator t was created on. */
FA_EXTERN fa_allocator_t *fa_task_allocator(const fa_task_t *t);

/* Bytes handed out by t so far (alignment padding included). */
FA_EXTERN size_t fa_task_used(const fa_task_t *t);

/* Task scope. Between fa_task_enter(t) and fa_task_leave(t) the calling
 * thread runs t's code: frame allocations raise FA701 (strict mode aborts),
 * and debug builds report another thread using t at the same time (FA007).
 * Scopes nest, on one thread, in last-in first-out order. enter returns 0,
 * FA_EINVAL (t NULL), FA_ENOMEM (the thread-exit hook could not be set) or
 * FA_EBUSY (t is in a scope on another thread: FA007 is raised and nothing
 * changes); leave with a t that is not the innermost scope of the thread
 * raises FA006 and changes nothing. A thread that exits inside scopes
 * leaves them all, so their tasks can be entered and destroyed elsewhere;
 * a child after fork() is let out of the scopes of the parent's other
 * threads. */
FA_EXTERN int fa_task_enter(fa_task_t *t);
FA_EXTERN void fa_task_leave(fa_task_t *t);

/* The task of the calling thread's innermost scope, or NULL. */
FA_EXTERN fa_task_t *fa_task_current(void);

/* One zeroed T, n zeroed Ts (overflow-checked), or a copy of (T){...}. */
#define fa_task_new(t, T)                                                      \
  ((T *)fa__zero(fa_task_alloc((t), sizeof(T), FA__ALIGNOF(T)), sizeof(T)))
#define fa_task_array(t, T, n)                                                 \
  ((T *)fa__zero(fa_task_alloc((t), fa__mul((n), sizeof(T)), FA__ALIGNOF(T)),  \
                 fa__mul((n), sizeof(T))))
#define fa_task_box(t, T, ...)                                                 \
  FA__BOX(T, fa_task_alloc((t), sizeof(T), FA__ALIGNOF(T)), __VA_ARGS__)

/* ---- Pool guards ------------------------------------------------------ */

/* A new guard on a, which it keeps alive until fa_pool_guard_destroy, as
 * fa_task_create does (the last fa_release reports it with FA005). NULL
 * when a is NULL (FA006) or memory is short. */
FA_EXTERN fa_pool_guard_t *fa_pool_guard_create(fa_allocator_t *a);

/* size bytes aligned to align (as fa_task_alloc), valid until the guard is
 * destroyed. Any number of threads may call it at once: each allocates in a
 * region of its own. NULL on bad arguments (FA006) or when memory is short. */
FA_EXTERN FA__MALLOC void *fa_pool_guard_alloc(fa_pool_guard_t *g, size_t size,
                                               size_t align);

/* Frees everything allocated from g and drops its hold on the allocator.
 * No thread may be allocating from g any more. NULL is a no-op. A guard
 * destroyed already, or a pointer that is not a guard, raises FA006 and
 * changes nothing, as fa_task_destroy does. */
FA_EXTERN void fa_pool_guard_destroy(fa_pool_guard_t *g);

#define fa_pool_guard_new(g, T)                                                \
  ((T *)fa__zero(fa_pool_guard_alloc((g), sizeof(T), FA__ALIGNOF(T)),          \
                 sizeof(T)))
#define fa_pool_guard_box(g, T, ...)                                           \
  FA__BOX(T, fa_pool_guard_alloc((g), sizeof(T), FA__ALIGNOF(T)), __VA_ARGS__)

/* ---- Internal: the inline task path (not API; may change) -------------- */

/* The first fields of a task. lim equals ptr while the inline path is
 * closed (debug and tracking builds), so every call goes out of line. */
typedef struct fa__task_head_s {
  uintptr_t ptr; /* bump pointer (relaxed atomic: stats read it) */
  uintptr_t lim; /* inline path limit */
} fa__task_head_t;

FA_EXTERN void *fa__task_alloc_slow(fa_task_t *t, size_t size, size_t align);

FA__INLINE void *fa_task_alloc(fa_task_t *t, size_t size, size_t align) {
#ifdef FA__STORE /* GCC and Clang: the bump is inlined */
  if (align == 0)
    align = FA__DEFAULT_ALIGNMENT;
  if (FA_LIKELY(t != NULL && align - 1 < 4096 && (align & (align - 1)) == 0 &&
                size < ((size_t)1 << 40))) {
    fa__task_head_t *h = (fa__task_head_t *)(void *)t;
    uintptr_t p = (h->ptr + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t q = p + size + (size == 0);
    if (FA_LIKELY(q <= h->lim)) {
      FA__STORE(&h->ptr, q);
      return (void *)p;
    }
  }
#endif
  return fa__task_alloc_slow(t, size, align);
}

#ifdef __cplusplus
}
#endif
#endif /* FRAMEALLOC_TASK_H */
