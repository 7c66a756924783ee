/* The internal header: the library's data structures and every function
 * shared between its files, grouped by the file that defines it. Reading
 * the groups top to bottom shows the module graph. */
#ifndef FA_INTERNAL_H
#define FA_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "framealloc.h"
#include "framealloc/task.h"
#include "framealloc/timeline.h"
#include "os.h"
#include "track.h"

#ifndef FA_DEBUG
#define FA_DEBUG 0
#endif

#if FA_DEBUG >= 1
#define fa__assert(c) ((c) ? (void)0 : fa__assert_fail(#c, __FILE__, __LINE__))
#else
#define fa__assert(c) ((void)0)
#endif
#if FA_DEBUG >= 3
#define fa__assert_expensive(c) fa__assert(c)
#else
#define fa__assert_expensive(c) ((void)0)
#endif

#define FA__CHUNK_HDR 64 /* frame chunk header, a cache line */
#define FA__PAGE_HDR 128 /* page header; task regions start after it */
/* Pool blocks start after the header and its two bitmaps (framealloc.h). */
#define FA__POOL_FIRST (FA__PAGE_REMOTE + (FA__PAGE_SIZE >> 7))
#define FA__BATCH_MAX 64    /* remote frees gathered before one push */
#define FA__MARKS_INLINE 16 /* live marks kept in the heap itself */

/* Counters (statistics, hints): relaxed, they publish nothing. Every
 * other atomic says its order, and each acquire names its release. */
#define FA__ATOMIC_ADD(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define FA__ATOMIC_SUB(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)

/* A frame chunk: a header, then bump space up to base + size. */
typedef struct fa__chunk_s {
  struct fa__chunk_s *next;
  size_t size; /* bytes reserved, header included */
} fa__chunk_t;

struct fa__heap_s;

/* A pool page of one size class, 64 KiB at a 64 KiB boundary. */
typedef struct fa__page_s {
  fa__page_head_t h;       /* free, used, cls, fast_owner (inline paths) */
  struct fa__heap_s *heap; /* owner; NULL while cached (atomic) */
  struct fa__page_s *prev, *next; /* circular, in avail[cls] or full[cls] */
  uint32_t block_size;
  uint32_t capacity;
  size_t reg_index; /* in alloc->pages */
  int full;         /* in full[cls]: it ran out of blocks once */
  uint32_t reuse;   /* task and guard pages: uses so far, which place the
                       region's struct (task.c) */
  struct fa__arena_s *arena; /* the task or guard region whose struct is in
                                this page, for fa_get_stats (atomic) */
} fa__page_t;
_Static_assert(sizeof(fa__page_t) <= FA__PAGE_LIVE,
               "the page header ends where the bitmaps start");

/* The state of one (allocator, thread) pair: frame arena and pools. It
 * lives until the allocator is destroyed; when its thread exits it is
 * abandoned, and a new thread adopts it. */
typedef struct fa__heap_s {
  fa__heap_head_t h; /* first: the inline paths read it */
  fa_allocator_t *alloc;
  struct fa__heap_s *next_in_alloc; /* every heap of the allocator */
  fa__tls_t *owner_tls; /* the owning thread's cache; NULL when abandoned
                           (under alloc->lock) */
  int abandoned;        /* under alloc->lock: 0 owned, 1 waiting for a
                           thread, 2 being reclaimed, 3 set aside in a
                           child after fork (never used again) */

  /* Frame arena. Chunks: the ones used this frame up to cur, then spares.
   * Fields read by fa_get_stats on other threads are relaxed atomics. */
  fa__chunk_t *chunks;
  fa__chunk_t *cur;
  uintptr_t chunk_base; /* first usable byte of cur (atomic) */
  uintptr_t chunk_end;
  uint64_t frame_base; /* frame bytes in the chunks before cur (atomic) */
  uint64_t frame_hwm;  /* most bytes used at once in this frame */
  uint64_t frame_peak; /* most bytes used in one frame (atomic) */
  uint64_t frames;     /* end_frame calls completed (atomic) */
  uint64_t epoch;      /* frame number, for marks; unique per heap */
  uint64_t mark_seq;   /* ticks at every mark; never 0 once taken */
  /* The live marks of this frame, oldest first: their seqs, increasing.
   * The first FA__MARKS_INLINE live here, more in a reservation. */
  uint64_t *marks; /* marks_inline or the reservation */
  size_t mark_count, mark_cap;
  uint64_t marks_inline[FA__MARKS_INLINE];
  int in_frame;       /* FRAME_* (atomic) */
  unsigned trim_seen; /* frames counted toward frame_trim_frames */
  uint64_t trim_max;  /* most bytes used by those frames */

  /* Pools, per size class: avail[c], the pages to allocate from (the
   * head is the one the inline path pops from; h.direct[c] mirrors it),
   * and full[c], pages that ran out of blocks. Frees into a full page stay
   * inline; the page goes back to avail once an eighth of it is free. Both
   * lists are circular. */
  fa__page_t *avail[FA__CLASSES + 1];
  fa__page_t *full[FA__CLASSES + 1];
  fa__block_t *remote;    /* blocks other threads freed here (atomic) */
  fa__page_t *task_cache; /* pages kept for tasks and guards, by next */
  unsigned task_cache_count;
  struct fa__heap_s *batch_owner; /* remote frees gathered for one heap */
  fa__block_t *batch_head, *batch_tail;
  unsigned batch_count;

  unsigned index;           /* fa_thread_index; under alloc->lock */
  struct fa__tl_heap_s *tl; /* timeline state, NULL until used (atomic) */
} fa__heap_t;

enum { FRAME_NONE = 0, FRAME_OPEN = 1, FRAME_IMPLICIT = 2 };

/* A block of a task or guard region too large for a page of its own. */
typedef struct fa__large_s {
  struct fa__large_s *next;
  size_t size; /* bytes reserved, this header included */
} fa__large_t;

/* A bump region made of pages from the page cache, plus large blocks: the
 * memory of a task, or of one thread's part of a pool guard. Its struct
 * lives in its first page, whose header points back to it. Fields read by
 * fa_get_stats on other threads are relaxed atomics. */
typedef struct fa__arena_s {
  fa__task_head_t h; /* first: fa_task_alloc's inline path reads it */
  uintptr_t end;     /* end of the current chunk */
  uintptr_t base;    /* first byte handed out in it (atomic) */
  uint64_t settled;  /* bytes handed out before it (atomic) */
  fa_allocator_t *alloc;
  fa__page_t *first; /* the page holding this struct */
  fa__page_t *more;  /* later pages, linked by next */
  fa__large_t *large;
  struct fa__arena_s *next; /* guard regions: the guard's list */
  uintptr_t owner;          /* guard regions: the thread using it (atomic) */
  uintptr_t tag; /* a live task or guard: TASK_LIVE or GUARD_LIVE ^ its
                    address, 0 once its destroy began (under the
                    allocator's lock); other regions: 0 (task.c) */
  struct fa__hooked_s *hooked; /* with hooks: the allocations to report
                                  freed at the destroy, newest first */
} fa__arena_t;

struct fa_allocator_s {
  uint64_t key; /* unique for the process lifetime, never 0 */
  size_t pool_fast_max;
  fa_memory_source_t src;
  fa_diag_fn on_diag;
  void *diag_user;
  int strict;
  int fast;       /* inline paths allowed: no debug checks, no tracking */
  int src_zeroed; /* the source hands out zeroed large blocks */
  int refs;       /* every reference: users' and holds (atomic) */
  int users;      /* references of fa_create and fa_retain (atomic) */
  int holds;      /* live tasks and pool guards (atomic) */
  size_t page_size;
  size_t chunk_size;
  size_t frame_budget;
  size_t pool_max;
  size_t cache_max; /* pages */
  unsigned trim_frames;
  size_t self_size; /* bytes reserved for this struct and the map top */

  fa__mutex_t lock; /* heaps list, abandonment, page cache, registry */
  fa__heap_t *heaps;
  unsigned abandoned; /* heaps waiting for a thread (atomic) */
  fa__page_t *cache;  /* empty pages kept for reuse */
  size_t cache_count;

  uint64_t heap_bytes, heap_count;        /* atomic */
  uint64_t fb_bytes, fb_count;            /* pool fallbacks to the heap path */
  uint64_t os_bytes, os_requests;         /* atomic */
  uint64_t orphan_frees[FA__CLASSES + 1]; /* pool frees by threads with no
                                             heap of their own (atomic) */
  fa__page_t **pages; /* every page reserved, for fa_get_stats; under lock */
  size_t page_count, page_cap;

  struct fa_allocator_s *reg_next; /* the process-wide list, under reg lock */
  fa__mutex_t heap_lock;           /* the live set of heap blocks */
  void **live_set;                 /* open addressing, tombstones */
  size_t live_cap, live_used, live_dead;
  unsigned char **map; /* page map top level, right after this struct */

  /* <framealloc/timeline.h> (timeline.c, trace.c) */
  fa_hooks_t hooks;     /* copied from the config; all NULL: none */
  int observe;          /* out-of-line paths report to timeline.c: hooks
                           set or timeline state present (atomic) */
  int tagged;           /* a tag was pushed once: task allocations go out
                           of line (atomic) */
  unsigned heap_serial; /* thread indexes given so far; under lock */
  struct fa__tl_s *tl;  /* timeline state, NULL until used (atomic) */
};

/* The timeline state of an allocator (timeline.c), made by fa_create when
 * the config asks for history or tag budgets, else by the first tag push
 * or trace. */
typedef struct fa__tl_s {
  size_t history;     /* records kept per thread */
  fa__mutex_t lock;   /* tag names, the trace's creation */
  uint32_t tag_count; /* names interned (atomic) */
  char names[FA_TAG_MAX + 1][FA_TAG_NAME_MAX + 1];
  uint64_t soft[FA_TAG_MAX + 1], hard[FA_TAG_MAX + 1];
  uint64_t sample_ns;              /* when the two below were read (atomic) */
  uint64_t pool_bytes, task_bytes; /* the last sample (atomic) */
  int sampling;                    /* a thread is sampling (atomic) */
  struct fa__trace_s *trace; /* made by the first fa_trace_open (atomic) */
} fa__tl_t;

/* The timeline state of one (allocator, thread); the thread's own, except
 * the ring (read by fa_frame_history) and the trace buffer (locked). */
typedef struct fa__tl_heap_s {
  uint64_t *ring;   /* per record: a sequence word, then the record */
  size_t cap;       /* records in the ring */
  uint64_t written; /* records written so far (atomic) */
  int open;         /* the frame's begin was seen */
  uint64_t begin_ns, last_end_ns;
  uint64_t allocs; /* out-of-line allocations this frame */
  uint32_t diags, budget;
  fa_tag_t stack[FA_TAG_DEPTH];
  unsigned depth;    /* tags on the stack (0 for a refused name) */
  unsigned overflow; /* pushes beyond FA_TAG_DEPTH, popped first */
  uint64_t bytes[FA_TAG_MAX + 1][3];  /* this frame: frame, pool, task */
  unsigned char seen[FA_TAG_MAX + 1]; /* 1: in order; 2: soft warned */
  fa_tag_t order[FA_TAG_MAX];         /* tags with bytes, first use first */
  unsigned norder;
  struct fa__trace_buf_s *tbuf; /* trace.c; NULL until traced */
} fa__tl_heap_t;

/* Task and guard allocations may take the inline path of task.h. */
#define fa__task_inline(a) ((a)->fast && !FA__LOAD(&(a)->tagged))

/* alloc.c */
fa__heap_t *fa__heap_find(fa_allocator_t *a);
void *fa__reserve(fa_allocator_t *a, size_t size, size_t align);
void fa__release(fa_allocator_t *a, void *p, size_t size);
fa__heap_t *fa__heap_get(fa_allocator_t *a);
void fa__reclaim_abandoned(fa_allocator_t *a, int all);
void fa__tls_frame_reopen(void);
int fa__watch_thread(void);
void fa__hold(fa_allocator_t *a);
void fa__unhold(fa_allocator_t *a);
/* The live allocator whose page map holds p's 64 KiB page (a pool, task,
 * guard or empty cached page), or NULL; p is not read. Takes the registry
 * lock. (fa__read_owned, for the libuv layer, is in framealloc.h.) */
fa_allocator_t *fa__page_owner(const void *p);

/* diag.c */
void fa__diag(fa_allocator_t *a, int code, const char *fmt, ...)
#if defined(__GNUC__)
    FA__PRINTF(3, 4)
#endif
        ;
/* The same at an explicit level (FA003 of a soft budget is a warning). */
void fa__diag_at(fa_allocator_t *a, int code, int level, const char *fmt, ...)
#if defined(__GNUC__)
    FA__PRINTF(4, 5)
#endif
        ;
void fa__assert_fail(const char *cond, const char *file, int line);

/* frame.c */
void fa__frame_init(fa__heap_t *h);
void fa__frame_abandon(fa__heap_t *h);
void fa__frame_destroy(fa__heap_t *h);
void fa__frame_trim(fa__heap_t *h);
uint64_t fa__frame_in_use(const fa__heap_t *h);
/* Arena chunks the current frame has used, the current one included. */
uint64_t fa__frame_chunks(const fa__heap_t *h);

/* page.c */
fa__page_t *fa__page_acquire(fa_allocator_t *a);
void fa__page_retire(fa_allocator_t *a, fa__page_t *pg);
void fa__page_cache_trim(fa_allocator_t *a);
uint64_t fa__page_task_bytes(fa_allocator_t *a);
fa__page_t *fa__page_lookup(fa_allocator_t *a, const void *p);
void fa__map_destroy(fa_allocator_t *a);

/* pool.c */
extern const uint32_t fa__class_size[FA__CLASSES + 1];
void fa__pool_init(fa__heap_t *h);
void fa__pool_collect(fa__heap_t *h);
void fa__pool_flush(fa__heap_t *h);
void fa__pool_drop_empty(fa__heap_t *h);
void fa__pool_destroy(fa__heap_t *h);

/* task.c */
int fa__in_task(void);
void fa__task_thread_exit(void);
void fa__task_after_fork(fa_allocator_t *a);
void fa__task_cache_flush(fa__heap_t *h);

/* heap.c */
void *fa__heap_alloc_tier(fa_allocator_t *a, size_t size, size_t align,
                          int fallback);
void fa__heap_free_tier(fa_allocator_t *a, void *p, int fallback);
void fa__heap_destroy(fa_allocator_t *a);
int fa__heap_peek(fa_allocator_t *a, const void *p, void *out, size_t n);

/* timeline.c: history, tags and the hooks' entry points. The allocation
 * paths call admit before an allocation (0, or nonzero when a hard tag
 * budget refuses it: FA003 raised) and note after it, only when
 * a->observe is set; h may be NULL (no state for the thread). */
int fa__tl_create(fa_allocator_t *a, const fa_config_t *cfg);
/* a's timeline state, made on first use; NULL when memory is short. */
fa__tl_t *fa__tl_get(fa_allocator_t *a);
struct fa__tl_heap_s *fa__tl_heap(fa__heap_t *h);
void fa__tl_frame_begin(fa__heap_t *h);
void fa__tl_frame_end(fa__heap_t *h);
int fa__tl_admit(fa_allocator_t *a, fa__heap_t *h, size_t bytes);
void fa__tl_note(fa_allocator_t *a, fa__heap_t *h, fa_tier_t tier, void *p,
                 size_t size, size_t bytes);
void fa__tl_free(fa_allocator_t *a, fa_tier_t tier, void *p);
void fa__tl_diag(fa_allocator_t *a, const fa_diag_t *d);
/* A new thread adopts h (left by a thread that exited). */
void fa__tl_heap_adopt(fa__heap_t *h);
void fa__tl_heap_destroy(fa__heap_t *h);
void fa__tl_destroy(fa_allocator_t *a);
/* Whether the thread's inline paths must stay closed (a tag is pushed). */
int fa__tl_closed(const fa__heap_t *h);

/* trace.c */
void fa__trace_from_env(fa_allocator_t *a);
/* Appends the frame's events to the thread's buffer; writes the batch
 * when it is full or old. rec is the frame's record. */
void fa__trace_frame(fa__heap_t *h, const fa_frame_record_t *rec);
void fa__trace_diag(fa_allocator_t *a, fa__heap_t *h, const fa_diag_t *d);
void fa__trace_destroy(fa_allocator_t *a);
void fa__trace_heap_destroy(fa__heap_t *h);

#endif /* FA_INTERNAL_H */
