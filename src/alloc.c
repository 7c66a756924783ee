/* Allocators and their per-thread states.
 *
 * An allocator owns one heap (fa__heap_t) per thread that uses it, made on
 * the thread's first call. A thread finds its heap through a one-entry
 * cache (fa__tls, read by the inline paths, which compare the allocator
 * pointer only) backed by a small table of (allocator key, heap) pairs.
 * Keys are unique for the life of the process, so a table entry of a
 * destroyed allocator never matches a new one at the same address; the
 * cache entries naming a destroyed allocator are cleared by its destruction
 * in every thread. When a thread exits its heaps are abandoned (pages,
 * counters and arena stay with the allocator) and the next new thread
 * adopts one instead of making its own. */
#include <stdlib.h>

#include "internal.h"

__thread fa__tls_t fa__tls __attribute__((tls_model("initial-exec"))) = {
    FA__TLS_EMPTY, FA__TLS_EMPTY, NULL, 0};

/* Live allocators, for thread exit: only heaps of live ones are touched. */
static fa__mutex_t reg_lock = FA__MUTEX_INIT;
static fa_allocator_t *reg_head;
static uint64_t next_key = 1; /* under reg_lock */

/* This thread's (key, heap) pairs. Most threads use one or two allocators;
 * the rest spill to a libc-allocated table. */
typedef struct entry_s {
  uint64_t key;
  fa_allocator_t *alloc;
  fa__heap_t *heap;
} entry_t;

#define ENTRIES_INLINE 8
static __thread entry_t entries[ENTRIES_INLINE];
static __thread entry_t *more;
static __thread size_t more_len, more_cap;
static __thread int watched; /* thread-exit hook installed */

unsigned fa_version(void) { return FA_VERSION_HEX; }

const char *fa_version_string(void) {
#define FA__STR2(x) #x
#define FA__STR(x) FA__STR2(x)
  return FA__STR(FA_VERSION_MAJOR) "." FA__STR(FA_VERSION_MINOR) "." FA__STR(
      FA_VERSION_PATCH);
}

/* Every request to the source goes through here, where its contract is
 * checked: memory that is not aligned as asked is given back (FA006). */
void *fa__reserve(fa_allocator_t *a, size_t size, size_t align) {
  FA__ATOMIC_ADD(&a->os_requests, 1);
  void *p = a->src.reserve(size, align, a->src.user);
  if (p && ((uintptr_t)p & (align - 1)) != 0) {
    fa__diag(a, 6,
             "memory source returned %p for %zu bytes aligned to %zu; "
             "returned to the source",
             p, size, align);
    a->src.release(p, size, a->src.user);
    return NULL;
  }
  if (p)
    FA__ATOMIC_ADD(&a->os_bytes, size);
  return p;
}

void fa__release(fa_allocator_t *a, void *p, size_t size) {
  fa__track_live(p, size); /* the source may hand it out again */
  FA__ATOMIC_SUB(&a->os_bytes, size);
  a->src.release(p, size, a->src.user);
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) & ~(to - 1); }

/* ---- fork() --------------------------------------------------------- */

/* Across fork() every lock of the library is held by the forking thread:
 * the registry's, then each live allocator's (its main lock, then its heap
 * lock), the order every other path takes them in. So the child starts
 * with every structure under a lock consistent, and unlocks them. What
 * the parent's other threads owned without a lock (their heaps: frame
 * arenas, pool pages, remote lists) may be half-updated; the child never
 * touches it again: those heaps are set aside (abandoned == 3) and freed
 * only with their allocator. Their task scopes and guard regions are let
 * go, so the child can use those tasks and guards. */
static void fork_prepare(void) {
  fa__os_lock(&reg_lock);
  for (fa_allocator_t *a = reg_head; a; a = a->reg_next) {
    fa__os_lock(&a->lock);
    fa__os_lock(&a->heap_lock);
  }
}

static void fork_parent(void) {
  for (fa_allocator_t *a = reg_head; a; a = a->reg_next) {
    fa__os_unlock(&a->heap_lock);
    fa__os_unlock(&a->lock);
  }
  fa__os_unlock(&reg_lock);
}

static void fork_child(void) {
  for (fa_allocator_t *a = reg_head; a; a = a->reg_next) {
    for (fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
      int mine = h->owner_tls == &fa__tls && h->abandoned == 0;
      if (!mine && h->abandoned != 1) { /* another thread's, or claimed */
        h->owner_tls = NULL;
        h->abandoned = 3;
      }
    }
    fa__task_after_fork(a);
    fa__os_unlock(&a->heap_lock);
    fa__os_unlock(&a->lock);
  }
  fa__os_unlock(&reg_lock);
}

/* Once per process, at the first fa_create. Without the handlers (no
 * memory for them) fork() is as unsafe as before; nothing else changes. */
static void fork_register(void) {
  static int done; /* atomic */
  /* Relaxed: the exchange picks the one caller that registers; nothing is
   * published through done (a loser may run ahead of the registration,
   * whatever the order). */
  if (!__atomic_exchange_n(&done, 1, __ATOMIC_RELAXED))
    (void)fa__os_at_fork(fork_prepare, fork_parent, fork_child);
}

fa_allocator_t *fa_create(const fa_config_t *cfg) {
  static const fa_config_t defaults;
  static const fa_memory_source_t os_source = {fa__os_reserve, fa__os_release,
                                               NULL};
  if (!cfg)
    cfg = &defaults;
  const fa_memory_source_t *src =
      cfg->memory_source ? cfg->memory_source : &os_source;
  if (!src->reserve || !src->release)
    return NULL;

  size_t map_bytes = sizeof(unsigned char *) << FA__MAP_SHIFT;
  size_t self = round_up(sizeof(fa_allocator_t), 64) + map_bytes;
  fa_allocator_t *a = src->reserve(self, 64, src->user);
  if (!a)
    return NULL;
  if (((uintptr_t)a & 63) != 0) {
    fa__diag(NULL, 6,
             "memory source returned %p aligned below 64; "
             "returned to the source, no allocator",
             (void *)a);
    src->release(a, self, src->user);
    return NULL;
  }
  int zeroed = src == &os_source; /* mappings are zero-filled */
  memset(a, 0, sizeof(*a));
  a->map = (unsigned char **)((char *)a + round_up(sizeof(*a), 64));
  if (!zeroed)
    memset(a->map, 0, map_bytes);
  a->src = *src;
  a->src_zeroed = zeroed;
  a->self_size = self;
  a->os_requests = 1;
  a->os_bytes = self;
  a->refs = 1;
  a->users = 1;
  a->on_diag = cfg->on_diagnostic;
  a->diag_user = cfg->diagnostic_user;
  a->strict = cfg->strict;
  a->page_size = fa__os_page_size();
  a->chunk_size =
      round_up(cfg->frame_chunk_size ? cfg->frame_chunk_size : (size_t)64 << 10,
               a->page_size);
  if (a->chunk_size < a->page_size || a->chunk_size > ((size_t)1 << 40))
    a->chunk_size = (size_t)64 << 10;
  a->frame_budget = cfg->frame_budget;
  a->pool_max = cfg->pool_max_size ? cfg->pool_max_size : FA__SMALL_MAX;
  if (a->pool_max > FA_POOL_MAX_LIMIT)
    a->pool_max = FA_POOL_MAX_LIMIT;
  a->cache_max = (cfg->cache_max_size ? cfg->cache_max_size : (size_t)4 << 20) /
                 FA__PAGE_SIZE;
  a->trim_frames = cfg->frame_trim_frames;
  /* Debug checks and ASan/Valgrind annotations live on the out-of-line
   * paths, so they keep the inline ones closed. */
  a->fast = !fa__track_always() && FA_DEBUG == 0;
  if (cfg->hooks) { /* every allocation must reach them */
    a->hooks = *cfg->hooks;
    a->fast = 0;
    a->observe = 1;
  }
  a->pool_fast_max = a->pool_max < FA__SMALL_MAX ? a->pool_max : FA__SMALL_MAX;
  if (fa__os_mutex_init(&a->lock) != 0)
    goto out_release_self;
  if (fa__os_mutex_init(&a->heap_lock) != 0)
    goto out_destroy_lock;
  if (fa__tl_create(a, cfg) != 0)
    goto out_destroy_heap_lock;

  fork_register();
  fa__os_lock(&reg_lock);
  a->key = next_key++;
  a->reg_next = reg_head;
  reg_head = a;
  fa__os_unlock(&reg_lock);
  fa__trace_from_env(a);
  return a;

out_destroy_heap_lock:
  fa__os_mutex_destroy(&a->heap_lock);
out_destroy_lock:
  fa__os_mutex_destroy(&a->lock);
out_release_self:
  src->release(a, self, src->user);
  return NULL;
}

/* Reference counts: increments are relaxed (the caller already holds a
 * reference, so the allocator is alive and nothing is published); the
 * decrements are acq_rel (release_ref, fa_release). */
fa_allocator_t *fa_retain(fa_allocator_t *a) {
  if (a) {
    __atomic_fetch_add(&a->refs, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&a->users, 1, __ATOMIC_RELAXED);
  }
  return a;
}

/* Tasks and pool guards keep their allocator alive, so that one ending
 * after the last user reference never touches freed memory; but they are
 * not users: the last fa_release reports them (FA005) instead of waiting
 * for them in silence. */
void fa__hold(fa_allocator_t *a) {
  __atomic_fetch_add(&a->refs, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&a->holds, 1, __ATOMIC_RELAXED);
}

size_t fa_pool_max_size(const fa_allocator_t *a) { return a ? a->pool_max : 0; }

static void destroy(fa_allocator_t *a) {
  fa__os_lock(&reg_lock);
  for (fa_allocator_t **pp = &reg_head; *pp; pp = &(*pp)->reg_next) {
    if (*pp == a) {
      *pp = a->reg_next;
      break;
    }
  }
  /* Clear every thread's cache entry for a: the inline paths compare the
   * allocator pointer only, and a new allocator may get this address.
   * Exiting threads abandon their heaps under reg_lock, so each owner_tls
   * seen here belongs to a live thread. */
  fa__os_lock(&a->lock);
  for (fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
    if (!h->owner_tls)
      continue;
    /* A CAS, not a store, so as not to undo a store of the owner thread
     * to its own entry. Publishing the cleared entries needs no release:
     * fa_create takes reg_lock, so whoever gets a new allocator at this
     * address, and the threads it hands it to, see them cleared. But both
     * are seq_cst: with fa__tls_frame_reopen's CAS and load they form a
     * store-buffering pattern (see there), which acquire and release do
     * not order. */
    fa_allocator_t *expected = a;
    __atomic_compare_exchange_n(&h->owner_tls->alloc, &expected, FA__TLS_EMPTY,
                                0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    expected = a;
    __atomic_compare_exchange_n(&h->owner_tls->frame_alloc, &expected,
                                FA__TLS_EMPTY, 0, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
  }
  fa__os_unlock(&a->lock);
  fa__os_unlock(&reg_lock);

  fa_stats_t st;
  fa_get_stats(a, &st);
  if (st.pool_count || st.heap_count || st.task_bytes)
    fa__diag(a, 5,
             "allocator released with %llu pool blocks, %llu heap blocks "
             "and %llu task bytes still live; they are freed with it",
             (unsigned long long)st.pool_count,
             (unsigned long long)st.heap_count,
             (unsigned long long)st.task_bytes);

  fa__tl_destroy(a); /* the trace is closed while the heaps are there */
  fa__heap_t *h = a->heaps;
  while (h) {
    fa__heap_t *next = h->next_in_alloc;
    fa__frame_destroy(h);
    fa__pool_destroy(h);
    fa__task_cache_flush(h);
    fa__release(a, h, sizeof(*h));
    h = next;
  }
  fa__heap_destroy(a);
  a->cache_max = 0;
  fa__page_cache_trim(a);
  fa__map_destroy(a);
  fa__os_mutex_destroy(&a->heap_lock);
  fa__os_mutex_destroy(&a->lock);
  fa_memory_source_t src = a->src;
  src.release(a, a->self_size, src.user);
}

static void release_ref(fa_allocator_t *a) {
  /* Release: each holder's last writes to the allocator come before its
   * decrement; acquire: the last decrement sees all of them (they form one
   * release sequence on refs) before destroy reads and frees the state. */
  if (__atomic_sub_fetch(&a->refs, 1, __ATOMIC_ACQ_REL) == 0)
    destroy(a);
}

void fa__unhold(fa_allocator_t *a) {
  __atomic_fetch_sub(&a->holds, 1, __ATOMIC_RELAXED);
  release_ref(a);
}

void fa_release(fa_allocator_t *a) {
  if (!a)
    return;
  /* acq_rel as for refs: the last user's diagnostic below reads state the
   * other users wrote. holds is only counted for the message (its RMWs are
   * relaxed and publish nothing), so it is read relaxed. */
  if (__atomic_sub_fetch(&a->users, 1, __ATOMIC_ACQ_REL) == 0) {
    int holds = __atomic_load_n(&a->holds, __ATOMIC_RELAXED);
    if (holds > 0) {
      fa_stats_t st;
      fa_get_stats(a, &st);
      fa__diag(a, 5,
               "allocator released while %d tasks or pool guards still "
               "hold %llu task bytes; it is destroyed when the last of "
               "them is",
               holds, (unsigned long long)st.task_bytes);
    }
  }
  release_ref(a);
}

/* Gives a heap to no thread: the arena is reset (its frame is over), the
 * gathered remote frees are sent, empty pages are returned, the others stay
 * for the next owner. */
static void abandon(fa__heap_t *h) {
  fa_allocator_t *a = h->alloc;
  fa__pool_flush(h);
  fa__pool_collect(h);
  fa__pool_drop_empty(h);
  fa__task_cache_flush(h);
  fa__frame_abandon(h);
  fa__os_lock(&a->lock);
  h->owner_tls = NULL;
  h->abandoned = 1;
  __atomic_fetch_add(&a->abandoned, 1, __ATOMIC_RELAXED); /* a hint */
  fa__os_unlock(&a->lock);
}

/* Lets frame calls inline again once the thread leaves its last task
 * scope. An allocator destroyed meanwhile clears alloc and then
 * frame_alloc; re-reading alloc after the store catches the one order in
 * which that clearing would be undone here. That is store buffering:
 * destroy writes alloc then reads frame_alloc (its CAS), this writes
 * frame_alloc then reads alloc, and one of the two must see the other's
 * write. Only seq_cst on all four guarantees it (relaxed, both could read
 * the old values on a weakly ordered CPU and leave frame_alloc naming a
 * destroyed allocator); on x86-64 the CASes are full barriers anyway. */
void fa__tls_frame_reopen(void) {
  fa_allocator_t *a = FA__LOAD(&fa__tls.alloc);
  fa_allocator_t *expected = FA__TLS_EMPTY;
  if (a == FA__TLS_EMPTY ||
      !__atomic_compare_exchange_n(&fa__tls.frame_alloc, &expected, a, 0,
                                   __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
    return;
  if (__atomic_load_n(&fa__tls.alloc, __ATOMIC_SEQ_CST) != a)
    __atomic_compare_exchange_n(&fa__tls.frame_alloc, &a, FA__TLS_EMPTY, 0,
                                __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

void fa__on_thread_exit(void) {
  fa__task_thread_exit(); /* the scopes it never left end with it */
  FA__STORE(&fa__tls.alloc, FA__TLS_EMPTY);
  FA__STORE(&fa__tls.frame_alloc, FA__TLS_EMPTY);
  fa__os_lock(&reg_lock);
  size_t n = more_len + ENTRIES_INLINE;
  for (size_t i = 0; i < n; i++) {
    entry_t *e = i < ENTRIES_INLINE ? &entries[i] : &more[i - ENTRIES_INLINE];
    if (!e->key)
      continue;
    for (fa_allocator_t *a = reg_head; a; a = a->reg_next) {
      if (a == e->alloc && a->key == e->key) {
        abandon(e->heap);
        break;
      }
    }
    e->key = 0;
  }
  fa__os_unlock(&reg_lock);
  free(more);
  more = NULL;
  more_len = more_cap = 0;
  /* A later destructor that uses an allocator installs the hook again, so
   * this runs again for the heap it makes. */
  watched = 0;
}

/* Each heap numbers its frames from its own base, 2^32 apart, so the
 * marks of one heap are never valid in another, whatever the allocator. */
static uint64_t next_epoch_base(void) {
  static uint64_t serial;
  /* Relaxed: only uniqueness is needed. */
  return __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED) << 32;
}

/* A heap for the calling thread: an abandoned one, or a new one. */
static fa__heap_t *heap_make(fa_allocator_t *a) {
  fa__heap_t *h = NULL;
  /* abandoned is a relaxed hint: the heaps are read under a->lock. */
  if (__atomic_load_n(&a->abandoned, __ATOMIC_RELAXED)) {
    fa__os_lock(&a->lock);
    for (h = a->heaps; h && h->abandoned != 1; h = h->next_in_alloc)
      ;
    if (h) {
      h->abandoned = 0;
      __atomic_fetch_sub(&a->abandoned, 1, __ATOMIC_RELAXED);
    }
    fa__os_unlock(&a->lock);
    if (h) {
      fa__pool_collect(h);
      fa__tl_heap_adopt(h);
      return h;
    }
  }
  h = fa__reserve(a, sizeof(*h), 64);
  if (!h)
    return NULL;
  memset(h, 0, sizeof(*h));
  h->alloc = a;
  h->h.map = a->map;
  fa__frame_init(h);
  fa__pool_init(h);
  fa__os_lock(&a->lock);
  h->epoch = next_epoch_base(); /* marks of other heaps never match */
  h->index = a->heap_serial++;
  h->next_in_alloc = a->heaps;
  a->heaps = h;
  fa__os_unlock(&a->lock);
  return h;
}

static entry_t *entry_slot(void) {
  for (size_t i = 0; i < ENTRIES_INLINE; i++)
    if (!entries[i].key)
      return &entries[i];
  for (size_t i = 0; i < more_len; i++)
    if (!more[i].key)
      return &more[i];
  /* Drop the pairs of destroyed allocators before growing. */
  fa__os_lock(&reg_lock);
  entry_t *free_slot = NULL;
  for (size_t i = 0; i < ENTRIES_INLINE + more_len; i++) {
    entry_t *e = i < ENTRIES_INLINE ? &entries[i] : &more[i - ENTRIES_INLINE];
    fa_allocator_t *a = reg_head;
    while (a && !(a == e->alloc && a->key == e->key))
      a = a->reg_next;
    if (!a) {
      e->key = 0;
      if (!free_slot)
        free_slot = e;
    }
  }
  fa__os_unlock(&reg_lock);
  if (free_slot)
    return free_slot;
  if (more_len == more_cap) {
    size_t cap = more_cap ? more_cap * 2 : 8;
    entry_t *m = realloc(more, cap * sizeof(*m));
    if (!m)
      return NULL;
    more = m;
    more_cap = cap;
  }
  more[more_len] = (entry_t){0, NULL, NULL};
  return &more[more_len++];
}

/* Makes sure fa__on_thread_exit runs when the calling thread exits: 0, or
 * FA_ENOMEM. */
int fa__watch_thread(void) {
  if (watched)
    return 0;
  if (fa__os_watch_thread() != 0)
    return FA_ENOMEM;
  watched = 1;
  return 0;
}

/* The calling thread's heap of a, or NULL: none is made. */
fa__heap_t *fa__heap_find(fa_allocator_t *a) {
  if (FA__LOAD(&fa__tls.alloc) == a)
    return (fa__heap_t *)fa__tls.heap;
  uint64_t key = a->key;
  for (size_t i = 0; i < ENTRIES_INLINE; i++)
    if (entries[i].key == key && entries[i].alloc == a)
      return entries[i].heap;
  for (size_t i = 0; i < more_len; i++)
    if (more[i].key == key && more[i].alloc == a)
      return more[i].heap;
  return NULL;
}

fa__heap_t *fa__heap_get(fa_allocator_t *a) {
  if (FA__LOAD(&fa__tls.alloc) == a)
    return (fa__heap_t *)fa__tls.heap;
  uint64_t key = a->key;
  fa__heap_t *h = fa__heap_find(a);
  if (!h) {
    if (fa__watch_thread() != 0)
      return NULL;
    entry_t *e = entry_slot();
    if (!e)
      return NULL;
    h = heap_make(a);
    if (!h)
      return NULL;
    *e = (entry_t){key, a, h};
    fa__os_lock(&a->lock);
    h->owner_tls = &fa__tls;
    fa__os_unlock(&a->lock);
  }
  /* While a tag is pushed the thread's calls stay out of line. */
  if (a->fast && !fa__tl_closed(h)) {
    fa__tls.heap = &h->h;
    fa__tls.pool_fast_max = a->pool_fast_max;
    FA__STORE(&fa__tls.alloc, a);
    /* Inside a task scope frame calls stay out of line, to raise FA701. */
    FA__STORE(&fa__tls.frame_alloc, fa__in_task() ? FA__TLS_EMPTY : a);
  }
  return h;
}

/* Heaps of exited threads: each is claimed like an adoption (heap_make
 * passes it by), collected, which returns its empty pages, and abandoned
 * again. With all set, every one is visited and gives back all its empty
 * pages, the only page of a size class included (fa_trim). */
void fa__reclaim_abandoned(fa_allocator_t *a, int all) {
  /* Relaxed peeks at hints; the heaps are read under a->lock. */
  if (!__atomic_load_n(&a->abandoned, __ATOMIC_RELAXED))
    return;
  fa__os_lock(&a->lock);
  for (fa__heap_t *o = a->heaps; o; o = o->next_in_alloc) {
    if (o->abandoned != 1 ||
        (!all && !__atomic_load_n(&o->remote, __ATOMIC_RELAXED)))
      continue;
    o->abandoned = 2;
    fa__os_unlock(&a->lock);
    fa__pool_collect(o);
    if (all)
      fa__pool_drop_empty(o);
    fa__os_lock(&a->lock);
    o->abandoned = 1;
  }
  fa__os_unlock(&a->lock);
}

void fa_trim(fa_allocator_t *a) {
  if (!a)
    return;
  fa__heap_t *h = fa__heap_get(a);
  if (h) {
    fa__pool_flush(h);
    fa__pool_collect(h);
    fa__pool_drop_empty(h);
    fa__task_cache_flush(h);
    fa__frame_trim(h);
  }
  fa__reclaim_abandoned(a, 1);
  fa__page_cache_trim(a);
}

/* ---- Ownership: what a pointer's memory belongs to, without reading it */

fa_allocator_t *fa__page_owner(const void *p) {
  fa__os_lock(&reg_lock);
  fa_allocator_t *a = reg_head;
  while (a && !fa__page_lookup(a, p))
    a = a->reg_next;
  fa__os_unlock(&reg_lock);
  return a;
}

/* A byte copy that tracking tools do not check: the bytes may be the kept
 * words of a free block, or a task page's unused space, which the owner
 * may read but the tools call dead. */
#if defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static void
copy_owned(void *out, const void *p, size_t n) {
  const volatile unsigned char *from = p;
  unsigned char *to = out;
  for (size_t i = 0; i < n; i++)
    to[i] = from[i];
}

int fa__read_owned(const void *p, void *out, size_t n, fa_allocator_t **owner) {
  int rc = FA_EINVAL;
  uintptr_t page_end = ((uintptr_t)p | (FA__PAGE_SIZE - 1)) + 1;
  fa__os_lock(&reg_lock);
  for (fa_allocator_t *a = reg_head; a && rc != 0; a = a->reg_next) {
    /* The map is a's while a is registered, so it can be read first; a
     * page leaves it under a->lock before it goes back to the source, so
     * the page stays mapped while the lock is held. */
    if (fa__page_lookup(a, p) && n <= page_end - (uintptr_t)p) {
      fa__os_lock(&a->lock);
      if (fa__page_lookup(a, p)) {
        copy_owned(out, p, n);
        rc = 0;
      }
      fa__os_unlock(&a->lock);
    }
    if (rc != 0)
      rc = fa__heap_peek(a, p, out, n);
    if (rc == 0)
      *owner = a;
  }
  fa__os_unlock(&reg_lock);
  return rc;
}
