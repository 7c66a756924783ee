/* Pool pages: 64 KiB blocks at 64 KiB boundaries from the memory source,
 * the per-allocator page map that says which 64 KiB regions are pages of
 * this allocator, and the cache of empty pages kept for reuse.
 *
 * The map has two levels: a top array of 2^16 leaf pointers (placed right
 * after the allocator struct) and leaves of 2^16 bytes, one per page, so it
 * covers 48-bit addresses. A leaf is published with a release store and
 * read with an acquire load, so the inline free path in framealloc.h can
 * read it from any thread without a lock. */
#include "internal.h"

#define MAP_ENTRIES ((size_t)1 << FA__MAP_SHIFT)

fa__page_t *fa__page_lookup(fa_allocator_t *a, const void *p) {
  uintptr_t pn = (uintptr_t)p >> FA__PAGE_SHIFT;
  if (pn >> (2 * FA__MAP_SHIFT))
    return NULL;
  /* Acquire: pairs with the release store of map_set (the zeroed leaf). */
  unsigned char *leaf =
      __atomic_load_n(&a->map[pn >> FA__MAP_SHIFT], __ATOMIC_ACQUIRE);
  if (!leaf || !FA__LOAD(&leaf[pn & (MAP_ENTRIES - 1)]))
    return NULL;
  return (fa__page_t *)(pn << FA__PAGE_SHIFT);
}

/* Sets the map entry of pg; called with a->lock held. */
static int map_set(fa_allocator_t *a, fa__page_t *pg, unsigned char value) {
  uintptr_t pn = (uintptr_t)pg >> FA__PAGE_SHIFT;
  unsigned char **slot = &a->map[pn >> FA__MAP_SHIFT];
  unsigned char *leaf = *slot;
  if (!leaf) {
    if (!value)
      return 0;
    leaf = fa__reserve(a, MAP_ENTRIES, 64);
    if (!leaf)
      return FA_ENOMEM;
    if (!a->src_zeroed)
      memset(leaf, 0, MAP_ENTRIES);
    /* Release: publishes the zeroed leaf to the lock-free readers, the
     * acquire loads of fa__page_lookup and of fa_pool_free's inline path.
     * Its entries are relaxed bytes: a reader learns from one that p's
     * page is a pool page, and reads the header only for a block it was
     * handed (see page_init in pool.c). */
    __atomic_store_n(slot, leaf, __ATOMIC_RELEASE);
  }
  FA__STORE(&leaf[pn & (MAP_ENTRIES - 1)], value);
  return 0;
}

void fa__map_destroy(fa_allocator_t *a) {
  if (a->pages)
    fa__release(a, a->pages, a->page_cap * sizeof(*a->pages));
  a->pages = NULL;
  a->page_count = a->page_cap = 0;
  for (size_t i = 0; i < MAP_ENTRIES; i++) {
    if (a->map[i]) {
      fa__release(a, a->map[i], MAP_ENTRIES);
      a->map[i] = NULL;
    }
  }
}

/* The registry of every page reserved, for fa_get_stats. Called with
 * a->lock held. */
static int reg_add(fa_allocator_t *a, fa__page_t *pg) {
  if (a->page_count == a->page_cap) {
    size_t cap = a->page_cap ? a->page_cap * 2 : 64;
    fa__page_t **fresh = fa__reserve(a, cap * sizeof(*fresh), 64);
    if (!fresh)
      return FA_ENOMEM;
    if (a->page_count)
      memcpy(fresh, a->pages, a->page_count * sizeof(*fresh));
    if (a->pages)
      fa__release(a, a->pages, a->page_cap * sizeof(*fresh));
    a->pages = fresh;
    a->page_cap = cap;
  }
  pg->reg_index = a->page_count;
  a->pages[a->page_count++] = pg;
  return 0;
}

static void reg_remove(fa_allocator_t *a, fa__page_t *pg) {
  fa__page_t *last = a->pages[--a->page_count];
  a->pages[pg->reg_index] = last;
  last->reg_index = pg->reg_index;
}

/* Forgets pg (map and registry); a->lock held. */
static void page_forget(fa_allocator_t *a, fa__page_t *pg) {
  map_set(a, pg, 0);
  reg_remove(a, pg);
}

/* Called under a->lock, which a page needs to leave the registry, and a
 * task or guard region needs to change chunks or to end: so each page read
 * here is mapped, a region named by a page header is live, and its settled
 * count and base agree (only its bump pointer moves meanwhile). */
uint64_t fa__page_task_bytes(fa_allocator_t *a) {
  uint64_t t = 0;
  for (size_t i = 0; i < a->page_count; i++) {
    const fa__page_t *pg = a->pages[i];
    /* Acquire: pairs with the release store of arena_new in task.c
     * (the region's fields). */
    fa__arena_t *ar = __atomic_load_n(&pg->arena, __ATOMIC_ACQUIRE);
    if (ar)
      t += FA__LOAD(&ar->settled) + FA__LOAD(&ar->h.ptr) - FA__LOAD(&ar->base);
  }
  return t;
}

fa__page_t *fa__page_acquire(fa_allocator_t *a) {
  fa__os_lock(&a->lock);
  fa__page_t *pg = a->cache;
  if (pg) {
    a->cache = pg->next;
    a->cache_count--;
  }
  fa__os_unlock(&a->lock);
  if (pg)
    return pg;

  pg = fa__reserve(a, FA__PAGE_SIZE, FA__PAGE_SIZE);
  if (!pg)
    return NULL;
  if (((uintptr_t)pg >> (FA__PAGE_SHIFT + 2 * FA__MAP_SHIFT)) != 0 ||
      ((uintptr_t)pg & (FA__PAGE_SIZE - 1)) != 0) {
    fa__release(a, pg, FA__PAGE_SIZE); /* beyond the map, or misaligned */
    return NULL;
  }
  FA__STORE(&pg->h.used, 0);
  FA__STORE(&pg->arena, NULL);
  fa__os_lock(&a->lock);
  int rc = map_set(a, pg, 1);
  if (rc == 0 && reg_add(a, pg) != 0) {
    map_set(a, pg, 0);
    rc = FA_ENOMEM;
  }
  fa__os_unlock(&a->lock);
  if (rc != 0) {
    fa__release(a, pg, FA__PAGE_SIZE);
    return NULL;
  }
  return pg;
}

void fa__page_retire(fa_allocator_t *a, fa__page_t *pg) {
  /* Relaxed: a free of a block of this page now is already invalid. */
  __atomic_store_n(&pg->heap, NULL, __ATOMIC_RELAXED);
  FA__STORE(&pg->h.fast_owner, NULL);
  fa__os_lock(&a->lock);
  if (a->cache_count < a->cache_max) {
    pg->next = a->cache;
    a->cache = pg;
    a->cache_count++;
    fa__os_unlock(&a->lock);
    return;
  }
  page_forget(a, pg);
  fa__os_unlock(&a->lock);
  fa__release(a, pg, FA__PAGE_SIZE);
}

void fa__page_cache_trim(fa_allocator_t *a) {
  fa__os_lock(&a->lock);
  fa__page_t *pg = a->cache;
  a->cache = NULL;
  a->cache_count = 0;
  for (fa__page_t *it = pg; it; it = it->next)
    page_forget(a, it);
  fa__os_unlock(&a->lock);
  while (pg) {
    fa__page_t *next = pg->next;
    fa__release(a, pg, FA__PAGE_SIZE);
    pg = next;
  }
}
