/* framealloc/tracy.h: the profiler hooks (<framealloc/timeline.h>) mapped
 * to the Tracy profiler's C API.
 *
 *   #include <framealloc/tracy.h>     // in one source file
 *   fa_hooks_t hooks;
 *   fa_tracy_hooks(&hooks);
 *   fa_config_t cfg = {0};
 *   cfg.hooks = &hooks;               // copied by fa_create
 *
 * Built with TRACY_ENABLE defined and Tracy's TracyC.h on the include path
 * (as <tracy/TracyC.h> or <TracyC.h>), every allocation is reported to a
 * named memory pool per tier, "framealloc pool", "framealloc heap" and
 * "framealloc task" (TracyCAllocN / TracyCFreeN), and frame memory to a
 * pool per thread, "framealloc frame N". Each thread remembers its live
 * frame allocations (the newest FA_TRACY_TRACK of them, a thread-local
 * array), so that a discard (fa_end_frame, fa_frame_rewind) frees exactly
 * those in the discarded range; when a frame made more than that, the
 * rest is released with TracyCMemoryDiscard on the thread's pool, where
 * the Tracy version has it, once the whole frame is discarded. Tags are
 * not shown in Tracy (fa_tag_name gives the names; traces show them).
 *
 * Without TRACY_ENABLE, fa_tracy_hooks sets every hook to NULL: the
 * allocator keeps its inline paths and this header costs nothing. */
#ifndef FRAMEALLOC_TRACY_H
#define FRAMEALLOC_TRACY_H

#include "timeline.h"

#if defined(TRACY_ENABLE)
#if defined(__has_include)
#if __has_include(<tracy/TracyC.h>)
#include <tracy/TracyC.h>
#else
#include <TracyC.h>
#endif
#else
#include <TracyC.h>
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifndef FA_TRACY_TRACK
#define FA_TRACY_TRACK 1024 /* live frame allocations remembered per thread */
#endif
#define FA_TRACY_THREADS 64 /* threads with a frame pool name of their own */

#if defined(TRACY_ENABLE)

#if defined(__cplusplus)
#define FA__TRACY_TLS thread_local
#elif defined(__GNUC__)
#define FA__TRACY_TLS __thread
#else
#define FA__TRACY_TLS _Thread_local
#endif

/* A thread's frame pool and the frame allocations it still holds. */
typedef struct fa__tracy_thread_s {
  int index;    /* into fa__tracy_names; -1 before the first frame allocation */
  int overflow; /* allocations made beyond FA_TRACY_TRACK */
  size_t n;
  void *live[FA_TRACY_TRACK];
} fa__tracy_thread_t;

static FA__TRACY_TLS fa__tracy_thread_t fa__tracy_self = {-1, 0, 0, {0}};
static char fa__tracy_names[FA_TRACY_THREADS][32];
static int fa__tracy_next; /* names handed out (atomic) */

static const char *const fa__tracy_tiers[] = {
    "framealloc frame", "framealloc pool", "framealloc heap",
    "framealloc task"};

/* The name of the calling thread's frame pool; Tracy keys pools by the
 * name's address, which stays valid for the program's life. */
static inline const char *fa__tracy_frame_name(void) {
  fa__tracy_thread_t *t = &fa__tracy_self;
  if (t->index < 0) {
    int i = __atomic_fetch_add(&fa__tracy_next, 1, __ATOMIC_RELAXED);
    t->index = i < FA_TRACY_THREADS ? i : FA_TRACY_THREADS - 1;
    if (i < FA_TRACY_THREADS) {
      char *s = fa__tracy_names[i];
      const char *pre = "framealloc frame ";
      size_t k = 0;
      while (*pre)
        s[k++] = *pre++;
      if (i >= 10)
        s[k++] = (char)('0' + i / 10);
      s[k++] = (char)('0' + i % 10);
      s[k] = '\0';
    }
  }
  return fa__tracy_names[t->index];
}

static inline void fa__tracy_alloc(fa_tier_t tier, void *p, size_t size,
                                   fa_tag_t tag, void *user) {
  (void)tag;
  (void)user;
  if (tier == FA_TIER_FRAME) {
    fa__tracy_thread_t *t = &fa__tracy_self;
    TracyCAllocN(p, size, fa__tracy_frame_name());
    if (t->n < FA_TRACY_TRACK)
      t->live[t->n++] = p;
    else
      t->overflow++;
    return;
  }
  TracyCAllocN(p, size, fa__tracy_tiers[tier]);
}

static inline void fa__tracy_free(fa_tier_t tier, void *p, void *user) {
  (void)user;
  TracyCFreeN(p, fa__tracy_tiers[tier]);
}

static inline void fa__tracy_discard(void *begin, size_t size, void *user) {
  fa__tracy_thread_t *t = &fa__tracy_self;
  const char *b = (const char *)begin, *e = b + size;
  const char *name = fa__tracy_frame_name();
  size_t keep = 0;
  (void)user;
  for (size_t i = 0; i < t->n; i++) {
    const char *p = (const char *)t->live[i];
    if (p >= b && p < e)
      TracyCFreeN(t->live[i], name);
    else
      t->live[keep++] = t->live[i];
  }
  t->n = keep;
  if (t->overflow && keep == 0) {
#if defined(TracyCMemoryDiscard)
    if (__atomic_load_n(&fa__tracy_next, __ATOMIC_RELAXED) <= FA_TRACY_THREADS)
      TracyCMemoryDiscard(name);
#endif
    t->overflow = 0;
  }
}

/* Fills *hooks with the Tracy adapter. */
static inline void fa_tracy_hooks(fa_hooks_t *hooks) {
  hooks->on_alloc = fa__tracy_alloc;
  hooks->on_free = fa__tracy_free;
  hooks->on_frame_discard = fa__tracy_discard;
  hooks->user = 0;
}

#else /* !TRACY_ENABLE */

/* Without Tracy: no hooks. */
static inline void fa_tracy_hooks(fa_hooks_t *hooks) {
  hooks->on_alloc = 0;
  hooks->on_free = 0;
  hooks->on_frame_discard = 0;
  hooks->user = 0;
}

#endif

#ifdef __cplusplus
}
#endif
#endif /* FRAMEALLOC_TRACY_H */
