/* Pools: size classes served from per-thread pages.
 *
 * Each heap keeps, per class, the pages it allocates from (avail; the
 * inline path in framealloc.h pops from the head) and the pages that ran
 * out of blocks (full). A block freed by its owner thread goes back on its
 * page's free list, inline, whichever list the page is in; a full page
 * returns to avail once an eighth of it is free again, so a page hovering
 * near full does not bounce between the lists. A block freed by another
 * thread is gathered in that thread's batch and pushed, a batch at a time,
 * onto the owner heap's lock-free remote list, which the owner collects
 * when it runs out of blocks or ends a frame. Pages that become empty go to
 * the allocator's page cache, and from there back to the memory source. */
#include "internal.h"

const uint32_t fa__class_size[FA__CLASSES + 1] = {
    0,    16,   32,   48,   64,   80,   96,   112,  128,  144,  160,
    176,  192,  208,  224,  240,  256,  272,  288,  304,  320,  336,
    352,  368,  384,  400,  416,  432,  448,  464,  480,  496,  512,
    528,  544,  560,  576,  592,  608,  624,  640,  656,  672,  688,
    704,  720,  736,  752,  768,  784,  800,  816,  832,  848,  864,
    880,  896,  912,  928,  944,  960,  976,  992,  1008, 1024, 1280,
    1536, 1792, 2048, 2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
};

/* Free blocks keep their first word readable (the list link); the rest is
 * poisoned in tracking builds. */
#define KEEP sizeof(void *)

/* What the inline path sees for a class with no page: no free block. */
static fa__page_head_t empty_page;

static unsigned size_class(size_t size) {
  if (size <= FA__SMALL_MAX)
    return size ? (unsigned)((size + 15) >> 4) : 1;
  unsigned c = FA__SMALL_CLASSES + 1;
  while (fa__class_size[c] < size)
    c++;
  return c;
}

static fa__page_t *page_of(const void *p) {
  return (fa__page_t *)((uintptr_t)p & ~(FA__PAGE_SIZE - 1));
}

/* The page's LIVE and REMOTE bitmap words that hold the bit of block b. */
static uint64_t *live_word(const fa__page_t *pg, const void *b) {
  return FA__BITMAP_WORD((uintptr_t)pg, FA__PAGE_LIVE,
                         (uintptr_t)b & (FA__PAGE_SIZE - 1));
}
static uint64_t *remote_word(const fa__page_t *pg, const void *b) {
  return FA__BITMAP_WORD((uintptr_t)pg, FA__PAGE_REMOTE,
                         (uintptr_t)b & (FA__PAGE_SIZE - 1));
}
static uint64_t bit_of(const void *b) {
  return FA__BITMAP_BIT((uintptr_t)b & (FA__PAGE_SIZE - 1));
}

/* Sets or clears b's LIVE bit; only the page's owner writes LIVE. */
static void set_live(const fa__page_t *pg, const void *b) {
  uint64_t *w = live_word(pg, b);
  FA__STORE(w, FA__LOAD(w) | bit_of(b));
}
static void clear_live(const fa__page_t *pg, const void *b) {
  uint64_t *w = live_word(pg, b);
  FA__STORE(w, FA__LOAD(w) & ~bit_of(b));
}

/* Adds to a counter that only this thread writes and fa_get_stats reads. */
static void bump(uint64_t *counter, uint64_t n) {
  FA__STORE(counter, *counter + n);
}

static void sync_direct(fa__heap_t *h, unsigned c) {
  h->h.direct[c] = h->avail[c] ? &h->avail[c]->h : &empty_page;
}

/* Circular doubly linked lists of pages, by head pointer. */
static void list_remove(fa__page_t **head, fa__page_t *pg) {
  if (pg->next == pg) {
    *head = NULL;
  } else {
    pg->prev->next = pg->next;
    pg->next->prev = pg->prev;
    if (*head == pg)
      *head = pg->next;
  }
  pg->prev = pg->next = NULL;
}

enum { AT_HEAD, AFTER_HEAD, AT_TAIL };

/* Inserts pg at the head, right after it (the page the inline path is
 * using stays first) or at the tail. */
static void list_insert(fa__page_t **head, fa__page_t *pg, int where) {
  fa__page_t *at = *head;
  if (!at) {
    pg->prev = pg->next = pg;
    *head = pg;
    return;
  }
  fa__page_t *before = where == AFTER_HEAD ? at : at->prev;
  pg->prev = before;
  pg->next = before->next;
  before->next->prev = pg;
  before->next = pg;
  if (where == AT_HEAD)
    *head = pg;
}

static void set_fast_owner(fa__heap_t *h, fa__page_t *pg) {
  FA__STORE(&pg->h.fast_owner, h->alloc->fast ? h : NULL);
}

static void page_init(fa__heap_t *h, fa__page_t *pg, unsigned c) {
  uint32_t bs = fa__class_size[c];
  uint32_t cap = (uint32_t)((FA__PAGE_SIZE - FA__POOL_FIRST) / bs);
  char *first = (char *)pg + FA__POOL_FIRST;
  /* No block live, none on its way back (a task may have used the page). */
  fa__track_live((char *)pg + FA__PAGE_LIVE, FA__POOL_FIRST - FA__PAGE_LIVE);
  memset((char *)pg + FA__PAGE_LIVE, 0, FA__POOL_FIRST - FA__PAGE_LIVE);
  fa__track_live(first, (size_t)cap * bs);
  for (uint32_t i = 0; i < cap; i++) {
    fa__block_t *b = (fa__block_t *)(first + (size_t)i * bs);
    b->next =
        i + 1 < cap ? (fa__block_t *)(first + (size_t)(i + 1) * bs) : NULL;
    fa__track_dead((char *)b + KEEP, bs - KEEP);
  }
  pg->h.free = (fa__block_t *)first;
  FA__STORE(&pg->h.used, 0);
  pg->h.cls = c;
  FA__STORE(&pg->block_size, bs);
  pg->capacity = cap;
  pg->full = 0;
  pg->prev = pg->next = NULL;
  /* Relaxed: a thread reads pg->heap (free_in_page) only for a block it
   * was handed through its own synchronization, after this store. */
  __atomic_store_n(&pg->heap, h, __ATOMIC_RELAXED);
  set_fast_owner(h, pg);
}

void fa__pool_init(fa__heap_t *h) {
  for (unsigned c = 0; c <= FA__CLASSES; c++)
    h->h.direct[c] = &empty_page;
}

static void *page_pop(fa__page_t *pg) {
  fa__block_t *b = pg->h.free;
  if (!b)
    return NULL;
  pg->h.free = b->next;
  FA__STORE(&pg->h.used, pg->h.used + 1);
  set_live(pg, b);
  fa__track_live(b, pg->block_size);
  return b;
}

/* Moves an exhausted head page to the tail of the full list. */
static void make_full(fa__heap_t *h, fa__page_t *pg) {
  unsigned c = pg->h.cls;
  list_remove(&h->avail[c], pg);
  pg->full = 1;
  list_insert(&h->full[c], pg, AT_TAIL);
  sync_direct(h, c);
}

/* Looks at a few full pages, oldest first, for one that is an eighth free
 * again and moves it to avail; the others go to the tail. */
static int unfull(fa__heap_t *h, unsigned c) {
  for (int i = 0; i < 8 && h->full[c]; i++) {
    fa__page_t *pg = h->full[c];
    list_remove(&h->full[c], pg);
    if (pg->capacity - pg->h.used >= pg->capacity / 8 && pg->h.free) {
      pg->full = 0;
      list_insert(&h->avail[c], pg, AT_HEAD);
      sync_direct(h, c);
      return 1;
    }
    list_insert(&h->full[c], pg, AT_TAIL);
  }
  return 0;
}

#if FA_DEBUG >= 3
/* Walks a page's free list: every block inside the page, on a block
 * boundary, not live, and free + used == capacity (blocks in remote lists
 * and batches count as used until their owner collects them); the LIVE
 * bitmap has one bit per used block, all on block boundaries. */
static void page_validate(const fa__heap_t *h, const fa__page_t *pg) {
  uintptr_t first = (uintptr_t)pg + FA__POOL_FIRST;
  uint32_t n = 0;
  for (const fa__block_t *b = pg->h.free; b; b = b->next) {
    uintptr_t off = (uintptr_t)b - first;
    fa__assert((uintptr_t)b >= first && off % pg->block_size == 0 &&
               off / pg->block_size < pg->capacity);
    fa__assert((FA__LOAD(live_word(pg, b)) & bit_of(b)) == 0);
    fa__assert(++n <= pg->capacity);
  }
  fa__assert(n + pg->h.used == pg->capacity);
  uint32_t live = 0;
  const uint64_t *map = (const uint64_t *)((uintptr_t)pg + FA__PAGE_LIVE);
  for (uint32_t w = 0; w < (FA__PAGE_SIZE >> 10); w++) {
    for (uint64_t bits = FA__LOAD(&map[w]); bits; bits &= bits - 1) {
      uintptr_t off =
          ((uintptr_t)w << 10 | (uintptr_t)__builtin_ctzll(bits) << 4) -
          FA__POOL_FIRST;
      fa__assert(off % pg->block_size == 0 &&
                 off / pg->block_size < pg->capacity);
      live++;
    }
  }
  fa__assert(live == pg->h.used);
  fa__assert(__atomic_load_n(&pg->heap, __ATOMIC_RELAXED) == h);
}

static void list_validate(const fa__heap_t *h, const fa__page_t *head,
                          unsigned c, int full) {
  const fa__page_t *pg = head;
  if (!pg)
    return;
  do {
    fa__assert(pg->h.cls == c && pg->full == full);
    fa__assert(pg->next->prev == pg);
    page_validate(h, pg);
    pg = pg->next;
  } while (pg != head);
}

static void heap_validate(const fa__heap_t *h) {
  for (unsigned c = 0; c <= FA__CLASSES; c++) {
    list_validate(h, h->avail[c], c, 0);
    list_validate(h, h->full[c], c, 1);
  }
}
#define fa__pool_validate(h) heap_validate(h)
#else
#define fa__pool_validate(h) ((void)0)
#endif

void *fa__pool_alloc_slow(fa_allocator_t *a, size_t size) {
  if (!a)
    return NULL;
  if (size > a->pool_max)
    return fa__heap_alloc_tier(a, size, 0, 1);
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return NULL;
  unsigned c = size_class(size);
  int observe = FA__LOAD(&a->observe);
  if (FA_UNLIKELY(observe) && fa__tl_admit(a, h, fa__class_size[c]) != 0)
    return NULL;
  for (;;) {
    fa__page_t *pg = h->avail[c];
    if (pg) {
      void *b = page_pop(pg);
      if (b) {
        bump(&h->h.pool_allocs[c], 1);
        fa__pool_validate(h);
        if (FA_UNLIKELY(observe))
          fa__tl_note(a, h, FA_TIER_POOL, b, size, fa__class_size[c]);
        return b;
      }
      make_full(h, pg);
      continue;
    }
    fa__pool_flush(h);
    /* A relaxed peek; fa__pool_collect acquires the list. */
    if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED))
      fa__pool_collect(h);
    if (unfull(h, c))
      continue;
    fa__reclaim_abandoned(a, 0);
    pg = fa__page_acquire(a);
    if (!pg)
      return NULL;
    page_init(h, pg, c);
    list_insert(&h->avail[c], pg, AT_HEAD);
    sync_direct(h, c);
  }
}

/* Puts b, no longer live, back on its page; the caller is the page's
 * owner. */
static void free_local(fa__heap_t *h, fa__page_t *pg, fa__block_t *b) {
  unsigned c = pg->h.cls;
  fa__assert(pg->h.used > 0);
  fa__assert((FA__LOAD(live_word(pg, b)) & bit_of(b)) == 0);
  fa__track_live(b, pg->block_size);
#if FA_DEBUG >= 2
  memset((char *)b + KEEP, 0xdf, pg->block_size - KEEP);
#endif
  b->next = pg->h.free;
  fa__track_dead((char *)b + KEEP, pg->block_size - KEEP);
  pg->h.free = b;
  FA__STORE(&pg->h.used, pg->h.used - 1);
  if (pg->h.used != 0)
    return;
  /* Empty: back to the cache, unless it is the only page to allocate
   * from, which is kept to avoid a round trip per block. */
  if (pg->full) {
    list_remove(&h->full[c], pg);
  } else {
    if (pg->next == pg)
      return;
    list_remove(&h->avail[c], pg);
    sync_direct(h, c);
  }
  fa__page_retire(h->alloc, pg);
}

static void push_remote(fa__heap_t *owner, fa__block_t *head,
                        fa__block_t *tail) {
  /* Release: publishes the blocks' next links, and whatever the freeing
   * threads wrote in the blocks, to the acquire exchange of
   * fa__pool_collect. A failed CAS publishes nothing: relaxed. */
  fa__block_t *old = __atomic_load_n(&owner->remote, __ATOMIC_RELAXED);
  do {
    tail->next = old;
  } while (!__atomic_compare_exchange_n(&owner->remote, &old, head, 1,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void fa__pool_flush(fa__heap_t *h) {
  if (!h->batch_head)
    return;
  push_remote(h->batch_owner, h->batch_head, h->batch_tail);
  h->batch_owner = NULL;
  h->batch_head = h->batch_tail = NULL;
  h->batch_count = 0;
}

/* Takes the blocks other threads freed for h. Each one's LIVE bit is
 * cleared before its REMOTE bit, with release order: a thread that frees
 * the block again and sees the REMOTE bit clear also sees it not live.
 * Blocks that follow each other in the list and share a REMOTE word (often:
 * a thread tends to free blocks in the order they were allocated) have
 * their bits cleared by one atomic AND; they go back on their page after
 * it, since the last one back may retire the page. */
void fa__pool_collect(fa__heap_t *h) {
  /* Acquire: pairs with the release CAS of push_remote (the links). The
   * release fetch_and below pairs with the acquire fetch_or of
   * claim_remote. */
  fa__block_t *b = __atomic_exchange_n(&h->remote, NULL, __ATOMIC_ACQUIRE);
  fa__block_t *group[64];
  while (b) {
    uint64_t *word = remote_word(page_of(b), b), mask = 0;
    unsigned n = 0;
    do {
      fa__block_t *next = b->next;
      clear_live(page_of(b), b);
      mask |= bit_of(b);
      group[n++] = b;
      b = next;
    } while (b && n < 64 && remote_word(page_of(b), b) == word);
    __atomic_fetch_and(word, ~mask, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < n; i++)
      free_local(h, page_of(group[i]), group[i]);
  }
}

/* Gathers b for its owner heap; one push per batch. */
static void free_remote(fa__heap_t *h, fa__heap_t *owner, fa__page_t *pg,
                        fa__block_t *b) {
  bump(&h->h.pool_frees[pg->h.cls], 1);
  if (h->batch_owner != owner) {
    fa__pool_flush(h);
    h->batch_owner = owner;
  }
  b->next = h->batch_head;
  h->batch_head = b;
  if (!h->batch_tail)
    h->batch_tail = b;
  if (++h->batch_count >= FA__BATCH_MAX)
    fa__pool_flush(h);
}

/* Claims the free of live block b of pg for a thread that does not own
 * pg: sets its REMOTE bit, which only one free can do until the owner
 * collects the block. The LIVE bit is read after that RMW, which acquires
 * the collection that last cleared the REMOTE bit, so a block the owner
 * already took back is seen not live: the claim is then undone. */
static int claim_remote(const fa__page_t *pg, const void *b) {
  uint64_t bit = bit_of(b);
  uint64_t *rw = remote_word(pg, b);
  /* Acquire only: nothing reads data through a REMOTE bit this sets (the
   * block reaches its owner through push_remote's release). Undoing the
   * claim publishes nothing either: relaxed. */
  if (__atomic_fetch_or(rw, bit, __ATOMIC_ACQUIRE) & bit)
    return 0;
  if (FA__LOAD(live_word(pg, b)) & bit)
    return 1;
  __atomic_fetch_and(rw, ~bit, __ATOMIC_RELAXED);
  return 0;
}

static void refuse(fa_allocator_t *a, const void *p, const char *why) {
  fa__diag(a, 4, "fa_pool_free(%p): %s; ignored", p, why);
}

/* Frees p, found in page pg of a, for the calling thread's heap h (NULL
 * when the thread could not get one). Every check comes before any change:
 * a refused free changes nothing. */
static void free_in_page(fa_allocator_t *a, fa__heap_t *h, fa__page_t *pg,
                         void *p) {
  /* Relaxed: see page_init. */
  fa__heap_t *owner = __atomic_load_n(&pg->heap, __ATOMIC_RELAXED);
  uintptr_t off = (uintptr_t)p - (uintptr_t)pg;
  if (!owner || off < FA__POOL_FIRST || (off & 15) != 0) {
    refuse(a, p, "not a pool block of this allocator");
    return;
  }
  if (!(FA__LOAD(live_word(pg, p)) & bit_of(p))) {
    refuse(a, p, "not a live block (double free, or not a block start)");
    return;
  }
  if (h == owner) {
    if (FA__LOAD(remote_word(pg, p)) & bit_of(p)) {
      refuse(a, p, "double free (already freed on another thread)");
      return;
    }
    if (FA_UNLIKELY(a->hooks.on_free != NULL)) /* before it can be reused */
      fa__tl_free(a, FA_TIER_POOL, p);
    clear_live(pg, p);
    bump(&h->h.pool_frees[pg->h.cls], 1);
    free_local(h, pg, p);
    fa__pool_validate(h);
    return;
  }
  if (!claim_remote(pg, p)) {
    refuse(a, p, "double free (already freed on another thread)");
    return;
  }
  if (FA_UNLIKELY(a->hooks.on_free != NULL))
    fa__tl_free(a, FA_TIER_POOL, p);
  if (FA_UNLIKELY(!h)) {
    /* No state for this thread (out of memory): send the block alone. */
    FA__ATOMIC_ADD(&a->orphan_frees[pg->h.cls], 1);
    ((fa__block_t *)p)->next = NULL;
    push_remote(owner, p, p);
    return;
  }
  free_remote(h, owner, pg, p);
}

void fa__pool_free_slow(fa_allocator_t *a, void *p) {
  if (!p)
    return;
  if (!a) {
    fa__diag(NULL, 6, "fa_pool_free: NULL allocator; block not freed");
    return;
  }
  fa__page_t *pg = fa__page_lookup(a, p);
  if (!pg)
    fa__heap_free_tier(a, p, 1);
  else
    free_in_page(a, fa__heap_get(a), pg, p);
}

void fa__pool_free_page(fa__heap_head_t *hh, fa__page_head_t *pg, void *p) {
  fa__heap_t *h = (fa__heap_t *)hh;
  free_in_page(h->alloc, h, (fa__page_t *)pg, p);
}

/* Calls fn on every page of list *head; fn may take the page off. */
static void each_page(fa__heap_t *h, fa__page_t **head,
                      void (*fn)(fa__heap_t *, fa__page_t **, fa__page_t *)) {
  fa__page_t *pg = *head;
  if (!pg)
    return;
  fa__page_t *last = pg->prev;
  for (;;) {
    fa__page_t *next = pg->next;
    int done = pg == last;
    fn(h, head, pg);
    if (done)
      break;
    pg = next;
  }
}

static void retire(fa__heap_t *h, fa__page_t **head, fa__page_t *pg) {
  list_remove(head, pg);
  fa__page_retire(h->alloc, pg);
}

static void retire_if_empty(fa__heap_t *h, fa__page_t **head, fa__page_t *pg) {
  if (pg->h.used == 0)
    retire(h, head, pg);
}

void fa__pool_drop_empty(fa__heap_t *h) {
  for (unsigned c = 0; c <= FA__CLASSES; c++) {
    each_page(h, &h->avail[c], retire_if_empty);
    sync_direct(h, c);
  }
}

void fa__pool_destroy(fa__heap_t *h) {
  for (unsigned c = 0; c <= FA__CLASSES; c++) {
    each_page(h, &h->avail[c], retire);
    each_page(h, &h->full[c], retire);
    sync_direct(h, c);
  }
}
