/* Task memory and pool guards: bump regions for asynchronous work.
 *
 * A region (fa__arena_t) is a chain of 64 KiB pages from the allocator's
 * page cache, plus large blocks from the memory source for requests that
 * do not fit a page. A task is one region whose struct sits at the start
 * of its first page; a pool guard is a list of regions, one per thread
 * that allocates from it, so threads never share a bump pointer or a lock
 * on the allocation path. Destroying either walks its pages, large blocks
 * and deferred cleanups, never its allocations.
 *
 * Pages freed by tasks go to a small cache in the destroying thread's heap,
 * so a thread that creates and destroys tasks in a loop makes no
 * memory-source request once warm. Creating takes no lock; moving to a new
 * page and ending take the allocator's lock for a few stores, because
 * fa_get_stats reads the region under it.
 *
 * A task scope marks the thread as running task code: the thread's frame
 * key in fa__tls is emptied, so frame allocations go out of line, where
 * fa__in_task() makes them raise FA701. */
#include "internal.h"

#define TASK_CACHE_MAX 8              /* pages kept per thread */
#define LARGE_MIN (FA__PAGE_SIZE / 4) /* larger requests get a block */
#define DEAD_BYTE 0xdd                /* debug fill of destroyed memory */
/* A region's struct moves by one cache line at each use of its page, over
 * SLOTS places, so a handle to a destroyed task does not name the next
 * task made in the same page (which a LIFO page cache makes likely). */
#define SLOTS 16
#define SLOT_STEP 64
#define TASK_LIVE ((uintptr_t)0x7461736b6c697665u)  /* "tasklive" */
#define GUARD_LIVE ((uintptr_t)0x6775617264757021u) /* "guardup!" */

typedef struct defer_s {
  void (*fn)(void *);
  void *arg;
  struct defer_s *next;
} defer_t;

struct fa_task_s {
  fa__arena_t ar;  /* first: its fa__task_head_t is the task's inline head */
  defer_t *defers; /* newest first */
  fa_task_t *scope_prev; /* the scope this one is nested in */
  unsigned scope_depth;  /* enters not yet left, on the scope's thread */
  uintptr_t user;        /* the thread in a scope with it, or in a call
                            (debug builds); 0: none (atomic) */
};

struct fa_pool_guard_s {
  fa__arena_t first; /* the region in the guard's own page; the list of
                        regions (first.next) is under the allocator's lock,
                        which the fork handlers hold across fork() */
  uint64_t id;       /* unique for the process: keys the thread caches */
};

/* arena_new places both structs at the start of a region's page. */
_Static_assert(offsetof(struct fa_task_s, ar) == 0, "region first");
_Static_assert(offsetof(struct fa_pool_guard_s, first) == 0, "region first");

/* The innermost task scope of this thread, and a token naming the thread
 * (the address of a thread-local, unique among live threads). */
static __thread fa_task_t *scope_top;
static __thread char thread_token;
#define SELF ((uintptr_t)&thread_token)

int fa__in_task(void) { return scope_top != NULL; }

/* The exiting thread's scopes end with it, innermost first, so that their
 * tasks can be entered and destroyed by other threads. */
void fa__task_thread_exit(void) {
  while (scope_top) {
    fa_task_t *t = scope_top;
    scope_top = t->scope_prev;
    t->scope_prev = NULL;
    t->scope_depth = 0;
    /* Release: hands the task, and what this thread wrote in it, to the
     * next claim (acquire CAS of fa_task_enter or use_begin). */
    __atomic_store_n(&t->user, 0, __ATOMIC_RELEASE);
  }
}

/* In a child after fork(), with a->lock held: the scopes and guard regions
 * of the parent's other threads, which do not exist here, are let go, so
 * the child can enter, use and destroy those tasks and guards. */
void fa__task_after_fork(fa_allocator_t *a) {
  for (size_t i = 0; i < a->page_count; i++) {
    fa__arena_t *ar = FA__LOAD(&a->pages[i]->arena);
    if (!ar)
      continue;
    fa_task_t *t = (fa_task_t *)ar;
    if (ar->tag == (TASK_LIVE ^ (uintptr_t)ar)) {
      if (t->user != 0 && t->user != SELF) {
        t->user = 0;
        t->scope_depth = 0;
        t->scope_prev = NULL;
      }
    } else if (ar->owner != 0 && ar->owner != SELF) {
      ar->owner = 0; /* a guard region: free for the next thread */
    }
  }
}

/* ---- Pages ------------------------------------------------------------ */

static fa__page_t *page_get(fa_allocator_t *a) {
  fa__heap_t *h = fa__heap_get(a);
  fa__page_t *pg = h ? h->task_cache : NULL;
  if (pg) {
    h->task_cache = pg->next;
    h->task_cache_count--;
  } else if (!(pg = fa__page_acquire(a))) {
    return NULL;
  }
  /* Not a pool page: frees of pointers into it are refused (FA004). */
  FA__STORE(&pg->heap, NULL);
  FA__STORE(&pg->h.fast_owner, NULL);
  /* Nothing is handed out yet: tracking tools see the page as dead. */
  fa__track_dead((char *)pg + FA__PAGE_HDR, FA__PAGE_SIZE - FA__PAGE_HDR);
  return pg;
}

static void page_put(fa_allocator_t *a, fa__page_t *pg) {
  char *dead = (char *)pg + FA__PAGE_HDR;
  size_t n = FA__PAGE_SIZE - FA__PAGE_HDR;
#if FA_DEBUG >= 1
  fa__track_live(dead, n);
  memset(dead, DEAD_BYTE, n);
#endif
  fa__track_dead(dead, n);
  fa__heap_t *h = fa__heap_get(a);
  if (h && h->task_cache_count < TASK_CACHE_MAX) {
    pg->next = h->task_cache;
    h->task_cache = pg;
    h->task_cache_count++;
    return;
  }
  fa__page_retire(a, pg);
}

void fa__task_cache_flush(fa__heap_t *h) {
  while (h->task_cache) {
    fa__page_t *pg = h->task_cache;
    h->task_cache = pg->next;
    fa__page_retire(h->alloc, pg);
  }
  h->task_cache_count = 0;
}

/* ---- Regions ---------------------------------------------------------- */

/* A new region in a page of its own. Its owner's struct, `size` bytes
 * that start with the fa__arena_t, opens the page's space; allocations
 * follow it. Returns the struct, or NULL when memory is short. */
static void *arena_new(fa_allocator_t *a, size_t size) {
  fa__page_t *pg = page_get(a);
  if (!pg)
    return NULL;
  size_t slot = pg->reuse++ % SLOTS;
  fa__arena_t *ar =
      (fa__arena_t *)((char *)pg + FA__PAGE_HDR + slot * SLOT_STEP);
  fa__track_live(ar, size);
  uintptr_t base = ((uintptr_t)ar + size + 15) & ~(uintptr_t)15;
  ar->end = (uintptr_t)pg + FA__PAGE_SIZE;
  FA__STORE(&ar->base, base);
  FA__STORE(&ar->settled, 0);
  FA__STORE(&ar->h.ptr, base);
  ar->h.lim = fa__task_inline(a) ? ar->end : base;
  ar->alloc = a;
  ar->first = pg;
  ar->more = NULL;
  ar->large = NULL;
  ar->next = NULL;
  ar->tag = 0;
  ar->hooked = NULL;
  FA__STORE(&ar->owner, 0);
  /* Published last (release): fa_get_stats (fa__page_task_bytes) and
   * region_claim read the fields once their acquire load sees it. */
  __atomic_store_n(&pg->arena, ar, __ATOMIC_RELEASE);
  return ar;
}

static void *large_alloc(fa__arena_t *ar, size_t n, size_t align) {
  fa_allocator_t *a = ar->alloc;
  size_t hdr = (sizeof(fa__large_t) + align - 1) & ~(align - 1);
  if (n > SIZE_MAX - hdr)
    return NULL;
  fa__large_t *b = fa__reserve(a, hdr + n, align > 16 ? align : 16);
  if (!b)
    return NULL;
  b->size = hdr + n;
  b->next = ar->large;
  ar->large = b;
  FA__STORE(&ar->settled, FA__LOAD(&ar->settled) + n);
  return (char *)b + hdr;
}

/* The out-of-line bump: the current chunk, a new page, or a large block.
 * align is a valid power of two, size < 2^40. */
static void *arena_alloc(fa__arena_t *ar, size_t size, size_t align) {
  size_t n = size + (size == 0);
  uintptr_t mask = ~(uintptr_t)(align - 1);
  uintptr_t p = (ar->h.ptr + align - 1) & mask;
  if (p + n > ar->end) {
    if (n + align > LARGE_MIN)
      return large_alloc(ar, n, align);
    fa__page_t *pg = page_get(ar->alloc);
    if (!pg)
      return NULL;
    pg->next = ar->more;
    ar->more = pg;
    uintptr_t base = (uintptr_t)pg + FA__PAGE_HDR;
    /* Under the lock fa_get_stats holds, so that it never sees the new
     * base with the old settled count (once per 64 KiB). */
    fa__os_lock(&ar->alloc->lock);
    FA__STORE(&ar->settled,
              FA__LOAD(&ar->settled) + (ar->h.ptr - FA__LOAD(&ar->base)));
    FA__STORE(&ar->h.ptr, base);
    FA__STORE(&ar->base, base);
    fa__os_unlock(&ar->alloc->lock);
    ar->end = (uintptr_t)pg + FA__PAGE_SIZE;
    p = (base + align - 1) & mask;
  }
  FA__STORE(&ar->h.ptr, p + n);
  ar->h.lim = fa__task_inline(ar->alloc) ? ar->end : p + n;
  fa__track_live((void *)p, size);
  return (void *)p;
}

/* What the on_free hook is told at the destroy: one allocation of the
 * region, in the region itself. */
typedef struct fa__hooked_s {
  void *p;
  struct fa__hooked_s *next;
} hooked_t;

/* An allocation of the region reported to timeline.c (tag budget, tag
 * bytes, hooks), remembered for on_free when that hook is set. */
static void *observed_alloc(fa__arena_t *ar, size_t size, size_t align) {
  fa_allocator_t *a = ar->alloc;
  fa__heap_t *h = fa__heap_find(a);
  size_t bytes = size + (size == 0);
  if (fa__tl_admit(a, h, bytes) != 0)
    return NULL;
  hooked_t *rec = NULL;
  if (a->hooks.on_free &&
      !(rec = arena_alloc(ar, sizeof(*rec), _Alignof(hooked_t))))
    return NULL;
  void *p = arena_alloc(ar, size, align);
  if (!p)
    return NULL;
  if (rec) {
    rec->p = p;
    rec->next = ar->hooked;
    ar->hooked = rec;
  }
  fa__tl_note(a, h, FA_TIER_TASK, p, size, bytes);
  return p;
}

/* Returns every page and block of the region; the first page (which holds
 * the struct) last, so the caller must read what it needs before. */
static void arena_free(fa__arena_t *ar) {
  fa_allocator_t *a = ar->alloc;
  for (hooked_t *r = ar->hooked; r; r = r->next)
    a->hooks.on_free(FA_TIER_TASK, r->p, a->hooks.user);
  fa__page_t *first = ar->first;
  fa__large_t *b = ar->large;
  fa__page_t *pg = ar->more;
  /* Under the lock fa_get_stats holds: once it is released, no reader
   * looks at the struct any more, and the pages may be reused. */
  fa__os_lock(&a->lock);
  FA__STORE(&first->arena, NULL);
  fa__os_unlock(&a->lock);
  while (b) {
    fa__large_t *next = b->next;
#if FA_DEBUG >= 1
    memset(b + 1, DEAD_BYTE, b->size - sizeof(*b));
#endif
    fa__release(a, b, b->size);
    b = next;
  }
  while (pg) {
    fa__page_t *next = pg->next;
    page_put(a, pg);
    pg = next;
  }
  page_put(a, first);
}

static int align_ok(fa_allocator_t *a, const char *fn, size_t align) {
  if (align - 1 < 4096 && (align & (align - 1)) == 0)
    return 1;
  fa__diag(a, 6, "%s: alignment %zu is not a power of two up to 4096", fn,
           align);
  return 0;
}

/* ---- Tasks ------------------------------------------------------------ */

/* Debug builds claim the task for the length of each call, so that two
 * threads using it at once are reported (FA007); a scope claims it for
 * its whole length in every build. Returns 1 if this call claimed it. */
static int use_begin(fa_task_t *t, const char *fn) {
#if FA_DEBUG >= 1
  /* t->user works as a lock: the acquire CAS here and in fa_task_enter
   * pairs with the release stores that give the task up (use_end,
   * fa_task_leave, fa_task_destroy, fa__task_thread_exit), so each user
   * sees what the previous one wrote. A failed CAS reads nothing:
   * relaxed. */
  uintptr_t expected = 0;
  if (__atomic_compare_exchange_n(&t->user, &expected, SELF, 0,
                                  __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
    return 1;
  if (expected != SELF)
    fa__diag(t->ar.alloc, 7,
             "%s: task %p is used by another thread at the same time", fn,
             (void *)t);
#else
  (void)t, (void)fn;
#endif
  return 0;
}

static void use_end(fa_task_t *t, int claimed) {
  if (claimed)
    __atomic_store_n(&t->user, 0, __ATOMIC_RELEASE);
}

fa_task_t *fa_task_create(fa_allocator_t *a) {
  if (!a) {
    fa__diag(NULL, 6, "fa_task_create: NULL allocator");
    return NULL;
  }
  fa_task_t *t = arena_new(a, sizeof(*t));
  if (!t)
    return NULL;
  t->defers = NULL;
  t->scope_prev = NULL;
  t->scope_depth = 0;
  t->user = 0;
  t->ar.tag = TASK_LIVE ^ (uintptr_t)t;
  fa__hold(a);
  return t;
}

void *fa__task_alloc_slow(fa_task_t *t, size_t size, size_t align) {
  if (!t) {
    fa__diag(NULL, 6, "fa_task_alloc: NULL task");
    return NULL;
  }
  if (!align_ok(t->ar.alloc, "fa_task_alloc", align) ||
      size >= ((size_t)1 << 40))
    return NULL;
  int claimed = use_begin(t, "fa_task_alloc");
  void *p = FA_UNLIKELY(FA__LOAD(&t->ar.alloc->observe))
                ? observed_alloc(&t->ar, size, align)
                : arena_alloc(&t->ar, size, align);
  use_end(t, claimed);
  return p;
}

int fa_task_defer(fa_task_t *t, void (*fn)(void *), void *arg) {
  if (!t || !fn) {
    fa__diag(t ? t->ar.alloc : NULL, 6, "fa_task_defer: NULL %s",
             t ? "function" : "task");
    return FA_EINVAL;
  }
  int claimed = use_begin(t, "fa_task_defer");
  defer_t *d = arena_alloc(&t->ar, sizeof(*d), _Alignof(defer_t));
  if (d) {
    d->fn = fn;
    d->arg = arg;
    d->next = t->defers;
    t->defers = d;
  }
  use_end(t, claimed);
  return d ? 0 : FA_ENOMEM;
}

/* Takes t out of this thread's scope stack, wherever it is in it. */
static void scope_unlink(fa_task_t *t) {
  for (fa_task_t **pp = &scope_top; *pp; pp = &(*pp)->scope_prev) {
    if (*pp == t) {
      *pp = t->scope_prev;
      break;
    }
  }
}

/* Claims the region ar, a live task or guard (tag live ^ its address), for
 * its destruction: 0, or the diagnostic code refusing it (6: not such a
 * live region, 7: a task in a scope on another thread). ar is read only
 * once its page is known to be memory of a live allocator, and under that
 * allocator's lock, which arena_free takes to unpublish a region: so a
 * second destroy, or one from a task's own cleanups, is refused for as
 * long as the page is the allocator's, and two at once claim it once. */
static int region_claim(fa__arena_t *ar, uintptr_t live, fa_task_t *t,
                        fa_allocator_t **owner) {
  fa_allocator_t *a = fa__page_owner(ar);
  fa__page_t *pg = (fa__page_t *)((uintptr_t)ar & ~(FA__PAGE_SIZE - 1));
  int code = 6;
  *owner = a;
  if (!a)
    return 6;
  fa__os_lock(&a->lock);
  /* Acquire: the arena's fields (arena_new's release store), and the
   * task's last user's writes (the release stores of t->user), before
   * the region is claimed for destruction. */
  if (__atomic_load_n(&pg->arena, __ATOMIC_ACQUIRE) == ar &&
      ar->tag == (live ^ (uintptr_t)ar)) {
    uintptr_t user = t ? __atomic_load_n(&t->user, __ATOMIC_ACQUIRE) : 0;
    code = user == 0 || user == SELF ? 0 : 7;
    if (code == 0)
      ar->tag = 0;
  }
  fa__os_unlock(&a->lock);
  return code;
}

void fa_task_destroy(fa_task_t *t) {
  if (!t)
    return;
  fa_allocator_t *a = NULL;
  int code = region_claim(&t->ar, TASK_LIVE, t, &a);
  if (code == 7) {
    fa__diag(a, 7,
             "fa_task_destroy: task %p is in a scope on another thread; "
             "not destroyed",
             (void *)t);
    return;
  }
  if (code != 0) {
    fa__diag(a, 6,
             "fa_task_destroy(%p): not a live task (destroyed already, being "
             "destroyed, or never a task); ignored",
             (void *)t);
    return;
  }
  /* Relaxed: only this thread stores SELF, and region_claim acquired. */
  if (__atomic_load_n(&t->user, __ATOMIC_RELAXED) == SELF) {
    scope_unlink(t);
    t->scope_depth = 0;
    __atomic_store_n(&t->user, 0, __ATOMIC_RELEASE);
    if (!scope_top)
      fa__tls_frame_reopen();
  }
  /* Cleanups may allocate from the task or defer more: all of them run,
   * newest first, while the memory is still there. */
  while (t->defers) {
    defer_t *d = t->defers;
    t->defers = d->next;
    d->fn(d->arg);
  }
  arena_free(&t->ar);
  fa__unhold(a);
}

fa_allocator_t *fa_task_allocator(const fa_task_t *t) {
  return t ? t->ar.alloc : NULL;
}

size_t fa_task_used(const fa_task_t *t) {
  if (!t)
    return 0;
  return (size_t)(t->ar.settled + (t->ar.h.ptr - t->ar.base));
}

int fa_task_enter(fa_task_t *t) {
  if (!t) {
    fa__diag(NULL, 6, "fa_task_enter: NULL task");
    return FA_EINVAL;
  }
  /* The thread's exit must end the scope (fa__task_thread_exit). */
  if (fa__watch_thread() != 0)
    return FA_ENOMEM;
  uintptr_t expected = 0;
  if (!__atomic_compare_exchange_n(&t->user, &expected, SELF, 0,
                                   __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) &&
      expected != SELF) {
    fa__diag(t->ar.alloc, 7,
             "fa_task_enter: task %p is in a scope on another thread",
             (void *)t);
    return FA_EBUSY;
  }
  if (t->scope_depth > 0 && scope_top != t) {
    fa__diag(t->ar.alloc, 6,
             "fa_task_enter: task %p is already in an outer scope of this "
             "thread",
             (void *)t);
    return FA_ESTATE;
  }
  if (t->scope_depth++ == 0) {
    t->scope_prev = scope_top;
    scope_top = t;
  }
  FA__STORE(&fa__tls.frame_alloc, FA__TLS_EMPTY);
  return 0;
}

void fa_task_leave(fa_task_t *t) {
  if (!t) {
    fa__diag(NULL, 6, "fa_task_leave: NULL task");
    return;
  }
  if (t != scope_top) {
    fa__diag(t->ar.alloc, 6,
             "fa_task_leave: task %p is not the innermost scope of this "
             "thread",
             (void *)t);
    return;
  }
  if (--t->scope_depth > 0)
    return;
  scope_top = t->scope_prev;
  t->scope_prev = NULL;
  __atomic_store_n(&t->user, 0, __ATOMIC_RELEASE);
  if (!scope_top)
    fa__tls_frame_reopen();
}

fa_task_t *fa_task_current(void) { return scope_top; }

/* ---- Pool guards ------------------------------------------------------ */

/* This thread's regions of the guards it used last, keyed by guard id
 * (ids are never reused, so an entry of a destroyed guard never matches). */
#define GUARD_CACHE 4
static __thread struct {
  uint64_t id;
  fa__arena_t *ar;
} guard_cache[GUARD_CACHE];
static __thread unsigned guard_cache_next;
static uint64_t guard_next_id = 1; /* atomic */

fa_pool_guard_t *fa_pool_guard_create(fa_allocator_t *a) {
  if (!a) {
    fa__diag(NULL, 6, "fa_pool_guard_create: NULL allocator");
    return NULL;
  }
  fa_pool_guard_t *g = arena_new(a, sizeof(*g));
  if (!g)
    return NULL;
  g->id = __atomic_fetch_add(&guard_next_id, 1, __ATOMIC_RELAXED);
  g->first.tag = GUARD_LIVE ^ (uintptr_t)g;
  fa__hold(a);
  return g;
}

/* The calling thread's region of g: its own from an earlier call, a free
 * one (the guard's first region, or one of an exited thread), or a new
 * one. Only this path takes the allocator's lock, once per thread and
 * guard; a new region is made outside it (arena_new takes it too). */
static fa__arena_t *guard_region(fa_pool_guard_t *g) {
  for (unsigned i = 0; i < GUARD_CACHE; i++)
    if (guard_cache[i].id == g->id)
      return guard_cache[i].ar;
  fa_allocator_t *a = g->first.alloc;
  fa__arena_t *ar, *spare = NULL;
  fa__os_lock(&a->lock);
  for (ar = &g->first; ar; ar = ar->next) {
    uintptr_t owner = FA__LOAD(&ar->owner);
    if (owner == SELF)
      break;
    if (owner == 0 && !spare)
      spare = ar;
  }
  if (!ar && spare) {
    ar = spare;
    FA__STORE(&ar->owner, SELF);
  }
  fa__os_unlock(&a->lock);
  if (!ar && (ar = arena_new(a, sizeof(*ar)))) {
    FA__STORE(&ar->owner, SELF);
    fa__os_lock(&a->lock);
    ar->next = g->first.next;
    g->first.next = ar;
    fa__os_unlock(&a->lock);
  }
  if (ar) {
    unsigned i = guard_cache_next++ % GUARD_CACHE;
    guard_cache[i].id = g->id;
    guard_cache[i].ar = ar;
  }
  return ar;
}

void *fa_pool_guard_alloc(fa_pool_guard_t *g, size_t size, size_t align) {
  if (!g) {
    fa__diag(NULL, 6, "fa_pool_guard_alloc: NULL guard");
    return NULL;
  }
  if (align == 0)
    align = FA__DEFAULT_ALIGNMENT;
  if (!align_ok(g->first.alloc, "fa_pool_guard_alloc", align) ||
      size >= ((size_t)1 << 40))
    return NULL;
  fa__arena_t *ar = guard_region(g);
  if (!ar)
    return NULL;
  uintptr_t p = (ar->h.ptr + align - 1) & ~(uintptr_t)(align - 1);
  uintptr_t q = p + size + (size == 0);
  if (FA_LIKELY(q <= ar->h.lim)) {
    FA__STORE(&ar->h.ptr, q);
    return (void *)p;
  }
  if (FA_UNLIKELY(FA__LOAD(&ar->alloc->observe)))
    return observed_alloc(ar, size, align);
  return arena_alloc(ar, size, align);
}

void fa_pool_guard_destroy(fa_pool_guard_t *g) {
  if (!g)
    return;
  fa_allocator_t *a = NULL;
  if (region_claim(&g->first, GUARD_LIVE, NULL, &a) != 0) {
    fa__diag(a, 6,
             "fa_pool_guard_destroy(%p): not a live guard (destroyed "
             "already, or never a guard); ignored",
             (void *)g);
    return;
  }
  /* Forget this thread's cache entry; other threads' entries name an id
   * that no guard will have again. */
  for (unsigned i = 0; i < GUARD_CACHE; i++)
    if (guard_cache[i].id == g->id)
      guard_cache[i].id = 0;
  fa__arena_t *ar = g->first.next;
  while (ar) {
    fa__arena_t *next = ar->next;
    arena_free(ar);
    ar = next;
  }
  arena_free(&g->first);
  fa__unhold(a);
}
