/* framealloc/timeline.h: memory over time.
 *
 * Four instruments, all off by default and each paid for only when on:
 *
 *   history  fa_config_t.history_frames = N keeps, per (allocator, thread),
 *            the records of its last N frames (fa_frame_record_t), which
 *            fa_frame_history copies out from any thread. A frame end then
 *            costs two clock reads and a few stores.
 *   traces   fa_trace_open (or FA_TRACE=path in the environment, read by
 *            fa_create) streams Chrome Trace Event Format JSON: one slice
 *            per frame per thread, counter tracks, an instant event per
 *            diagnostic. Perfetto and chrome://tracing open it.
 *   tags     fa_tag_push / fa_tag_pop name what the calling thread is
 *            doing ("physics"); frame, pool and task bytes allocated under
 *            a tag are attributed to it in the history and the trace, and
 *            fa_config_t.tag_budgets puts soft and hard per-frame budgets
 *            on tags.
 *   hooks    fa_config_t.hooks: a profiler sees every allocation, free and
 *            frame discard (<framealloc/tracy.h> maps them to Tracy).
 *
 * Cost: history and traces work at frame boundaries only; the inline
 * allocation paths stay inline. Hooks close every inline path of the
 * allocator (each call goes out of line, roughly 2-4x the inline cost of a
 * frame or pool allocation); a tag closes the inline paths of its thread
 * while it is pushed. */
#ifndef FRAMEALLOC_TIMELINE_H
#define FRAMEALLOC_TIMELINE_H

#include "../framealloc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Tiers and tags --------------------------------------------------- */

/* The tier of an allocation, as hooks see it. Pool requests above
 * pool_max_size are FA_TIER_POOL (they are freed by fa_pool_free); pool
 * guard allocations are FA_TIER_TASK. */
typedef enum {
  FA_TIER_FRAME = 0,
  FA_TIER_POOL = 1,
  FA_TIER_HEAP = 2,
  FA_TIER_TASK = 3
} fa_tier_t;

/* A tag of an allocator: 1..FA_TAG_MAX, 0 for none. Each distinct name
 * pushed on an allocator (or named in its tag_budgets) gets one id, the
 * same on every thread, for the allocator's life. */
typedef uint32_t fa_tag_t;

#define FA_TAG_MAX 64      /* distinct tag names per allocator */
#define FA_TAG_NAME_MAX 31 /* bytes of a name, without its NUL */
#define FA_TAG_DEPTH 16    /* pushed tags per (allocator, thread) */

/* Pushes tag `name` on the calling thread's tag stack for a: until the
 * matching fa_tag_pop, the thread's frame, pool and task allocations on a
 * are attributed to it (to the innermost tag only). Returns its id, or 0
 * when name is NULL, empty or longer than FA_TAG_NAME_MAX, when the stack
 * already holds FA_TAG_DEPTH tags or a already has FA_TAG_MAX names: FA006
 * is raised and nothing is attributed, but the push still counts, so that
 * its fa_tag_pop stays balanced. NULL a: 0 and FA006. While a tag is pushed
 * the thread's allocations on a go out of line. */
FA_EXTERN fa_tag_t fa_tag_push(fa_allocator_t *a, const char *name);
/* Pops the calling thread's innermost tag on a. Without a push: FA006,
 * nothing changes. */
FA_EXTERN void fa_tag_pop(fa_allocator_t *a);
/* The calling thread's innermost tag on a, or 0. */
FA_EXTERN fa_tag_t fa_tag_current(fa_allocator_t *a);
/* The name of tag t of a ("physics"), valid for a's life; NULL for 0 or an
 * unknown id. */
FA_EXTERN const char *fa_tag_name(const fa_allocator_t *a, fa_tag_t t);

/* A budget on what one thread allocates under one tag in one frame (frame,
 * pool and task bytes together), in fa_config_t.tag_budgets. Beyond soft:
 * FA003 at warning level, once per tag and frame, the allocation succeeds.
 * Beyond hard: FA003 (error), the allocation returns NULL. 0: none. */
typedef struct fa_tag_budget_s {
  const char *tag; /* the tag's name (copied) */
  size_t soft;
  size_t hard;
} fa_tag_budget_t;

/* ---- Hooks ------------------------------------------------------------ */

/* Called by the thread that allocates or frees, after the fact, for every
 * allocation of every tier (on_alloc), every pool, heap and task block
 * freed (on_free: pool and heap blocks at their free, task and guard
 * allocations when their task or guard is destroyed), and every range of
 * frame memory that dies (on_frame_discard: at fa_end_frame, fa_frame_rewind
 * and a thread's exit, once per arena chunk, exactly the bytes from the
 * chunk's start, or the rewind's mark, to the bump pointer). Any member may
 * be NULL. Hooks must not call the allocator that calls them. With hooks
 * set, every allocation of the allocator goes out of line, and task and
 * guard allocations carry 16 bytes more (the record of what to free). */
typedef struct fa_hooks_s {
  void (*on_alloc)(fa_tier_t tier, void *ptr, size_t size, fa_tag_t tag,
                   void *user);
  void (*on_free)(fa_tier_t tier, void *ptr, void *user);
  void (*on_frame_discard)(void *begin, size_t size, void *user);
  void *user;
} fa_hooks_t;

/* ---- History ---------------------------------------------------------- */

/* What one thread allocated under one tag in one frame. */
typedef struct fa_tag_bytes_s {
  fa_tag_t tag;
  uint32_t reserved;
  uint64_t frame, pool, task;
} fa_tag_bytes_t;

#define FA_RECORD_TAGS 8 /* tags kept in one record */

/* fa_frame_record_t.budget */
#define FA_BUDGET_OK 0
#define FA_BUDGET_SOFT 1 /* a soft tag budget was passed */
#define FA_BUDGET_HARD 2 /* an allocation was refused (FA003 error) */

/* fa_frame_record_t.flags. FA_RECORD_ALL_ALLOCS: allocs counts every
 * allocation, because every one went out of line (hooks are set, or a
 * debug or tracking build); without it, allocs counts the ones that did.
 * FA_RECORD_MORE_TAGS: the frame had more tags than FA_RECORD_TAGS. */
#define FA_RECORD_ALL_ALLOCS 1u
#define FA_RECORD_MORE_TAGS 2u

/* One frame of one (allocator, thread). */
typedef struct fa_frame_record_s {
  uint64_t frame;       /* the thread's frame number on a, from 1 */
  uint32_t thread;      /* fa_thread_index of the thread */
  uint32_t flags;       /* FA_RECORD_* */
  uint64_t begin_ns;    /* fa_begin_frame (or the first allocation of an
                           implicit frame), monotonic clock */
  uint64_t end_ns;      /* fa_end_frame */
  uint64_t frame_bytes; /* frame bytes in use at the end, before the reset */
  uint64_t frame_peak;  /* the most in use at once (after a rewind, more
                           than frame_bytes) */
  uint64_t chunks;      /* arena chunks the frame used */
  uint64_t allocs;      /* allocations of every tier made by the thread in
                           the frame: all of them with FA_RECORD_ALL_ALLOCS,
                           else those that went out of line (a tag pushed,
                           a new chunk, the heap tier, ...) */
  /* Allocator-wide live bytes at the frame's end, as fa_get_stats gives
   * them. heap_bytes and os_bytes are exact; pool_bytes and task_bytes
   * are sampled at most once per millisecond per allocator, so they may
   * be up to 1 ms older than end_ns. */
  uint64_t pool_bytes, heap_bytes, task_bytes, os_bytes;
  uint32_t diagnostics; /* diagnostics raised on the thread in the frame */
  uint32_t budget;      /* FA_BUDGET_*: the worst budget state reached */
  uint32_t tag_count;   /* entries of tags in use */
  uint32_t reserved;
  fa_tag_bytes_t tags[FA_RECORD_TAGS]; /* the tags that got bytes in the
                                          frame, in order of first use */
} fa_frame_record_t;

/* For fa_frame_history: the records of every thread. */
#define FA_ALL_THREADS (-1)

/* The calling thread's index on a: a small integer, 0 for the first thread
 * that used a, unique among the threads using a at once (a thread that
 * exits leaves its state, index included, to the next new thread). Makes
 * the thread's state if it has none. FA_EINVAL for NULL a, FA_ENOMEM when
 * the state cannot be made. */
FA_EXTERN int fa_thread_index(fa_allocator_t *a);

/* Copies the kept frame records of thread `thread` (an fa_thread_index), or
 * of every thread with FA_ALL_THREADS, into out: the newest `max` of them,
 * oldest first (all threads: by end time). Any thread may call it while
 * others run; each record is copied whole (a record being written is
 * skipped). Returns the number copied, 0 when history_frames is 0, or
 * FA_EINVAL (a NULL, out NULL with max > 0, thread < -1). */
FA_EXTERN int fa_frame_history(fa_allocator_t *a, int thread,
                               fa_frame_record_t *out, size_t max);

/* ---- Traces ----------------------------------------------------------- */

/* Starts writing a's trace to path (created or truncated): Chrome Trace
 * Event Format, JSON array, one event per line. Each thread's events are
 * buffered and written a batch at a time at its frame ends (one write per
 * batch), so the file stays readable if the program dies: a reader drops
 * an incomplete last line and closes the array. 0; FA_EINVAL (a or path
 * NULL); FA_ESTATE (a trace is open already); FA_EIO (the file cannot be
 * created: FA008 is raised as well); FA_ENOMEM. The environment variable
 * FA_TRACE=path makes fa_create open one for every allocator it creates
 * (the second and later get path.2, path.3, ...). */
FA_EXTERN int fa_trace_open(fa_allocator_t *a, const char *path);
/* Writes what the threads have buffered, closes the array and the file.
 * Also done at exit (atexit) and by the allocator's destruction. 0, or
 * FA_EINVAL (a NULL), FA_ESTATE (no trace open), FA_EIO (a write failed;
 * FA008). */
FA_EXTERN int fa_trace_close(fa_allocator_t *a);

#ifdef __cplusplus
}
#endif
#endif /* FRAMEALLOC_TIMELINE_H */
