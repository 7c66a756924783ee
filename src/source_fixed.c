/* The fixed-region memory source: every reservation is carved out of one
 * range the caller gives, so an allocator using it makes no OS memory call
 * at all (consoles, WebAssembly, a budget carved from a bigger arena).
 *
 * The bookkeeping lives in the first 64 bytes of the range: a spin lock,
 * the free list and the free byte count. The free list holds every free
 * range in address order, each one starting with its node (size, next);
 * reserve takes the first range that holds the request at its alignment
 * (first fit), and release puts a range back and merges it with its free
 * neighbours, so freed memory is reused and the region never fragments
 * into pieces smaller than what was freed together. Every address and size
 * is a multiple of 64 (GRAIN), so the head and tail a split leaves always
 * have room for a node. */
#include <stdint.h>
#include <string.h>

#include "framealloc.h"

#define GRAIN ((size_t)64)
#define FIXED_MAGIC ((uintptr_t)0x66612d6669786564u) /* "fa-fixed" */

typedef struct free_node_s {
  size_t size; /* bytes of this free range, a multiple of GRAIN */
  struct free_node_s *next;
} free_node_t;

typedef struct fixed_s {
  int lock;          /* 0 free, 1 held: see fixed_lock */
  uintptr_t magic;   /* FIXED_MAGIC: this is a live fixed region */
  uintptr_t lo, hi;  /* the range served: [lo, hi) */
  size_t free_bytes; /* sum of the free list's sizes */
  free_node_t *head; /* free ranges, in address order */
} fixed_t;

_Static_assert(sizeof(fixed_t) <= GRAIN, "the header fits one grain");

/* A test-and-test-and-set lock: no OS call, so none after creation. The
 * acquire exchange pairs with the release store of fixed_unlock, which
 * publishes the free list the holder changed. Reservations are rare (pages
 * of 64 KiB, frame chunks, big blocks), so the lock is seldom contended. */
static void fixed_lock(fixed_t *f) {
  while (__atomic_exchange_n(&f->lock, 1, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&f->lock, __ATOMIC_RELAXED))
      ;
  }
}

static void fixed_unlock(fixed_t *f) {
  __atomic_store_n(&f->lock, 0, __ATOMIC_RELEASE);
}

/* Rounds n up to a multiple of GRAIN; 0 on overflow. */
static size_t grains(size_t n) {
  if (n > SIZE_MAX - (GRAIN - 1))
    return 0;
  return (n + GRAIN - 1) & ~(GRAIN - 1);
}

static void *fixed_reserve(size_t size, size_t align, void *user) {
  fixed_t *f = user;
  size = grains(size ? size : 1);
  if (size == 0 || align == 0 || (align & (align - 1)) != 0)
    return NULL;
  if (align < GRAIN)
    align = GRAIN;
  void *got = NULL;
  fixed_lock(f);
  for (free_node_t **link = &f->head; *link; link = &(*link)->next) {
    free_node_t *n = *link;
    uintptr_t at = (uintptr_t)n;
    uintptr_t start = (at + (align - 1)) & ~(uintptr_t)(align - 1);
    if (start < at) /* the alignment wraps around the address space */
      break;
    size_t head = start - at;
    if (head > n->size || size > n->size - head)
      continue;
    size_t tail = n->size - head - size;
    free_node_t *next = n->next;
    if (tail) { /* the rest after the block stays free */
      free_node_t *t = (free_node_t *)(start + size);
      t->size = tail;
      t->next = next;
      next = t;
    }
    if (head) { /* the part before the block stays free, in n */
      n->size = head;
      n->next = next;
    } else {
      *link = next;
    }
    f->free_bytes -= size;
    got = (void *)start;
    break;
  }
  fixed_unlock(f);
  return got;
}

/* Puts [p, p + size) back in address order and merges it with free
 * neighbours. A range outside the region, misaligned, or overlapping free
 * memory (a double release) is not the source's: it is ignored, so the
 * free list stays sound. */
static void fixed_release(void *p, size_t size, void *user) {
  fixed_t *f = user;
  uintptr_t at = (uintptr_t)p;
  size = grains(size ? size : 1);
  if (!p || size == 0 || (at & (GRAIN - 1)) != 0 || at < f->lo || at > f->hi ||
      size > f->hi - at)
    return;
  fixed_lock(f);
  free_node_t *prev = NULL;
  free_node_t *next = f->head;
  while (next && (uintptr_t)next < at) {
    prev = next;
    next = next->next;
  }
  int overlaps = (prev && (uintptr_t)prev + prev->size > at) ||
                 (next && at + size > (uintptr_t)next);
  if (!overlaps) {
    free_node_t *n = (free_node_t *)p;
    n->size = size;
    n->next = next;
    if (next && at + size == (uintptr_t)next) {
      n->size += next->size;
      n->next = next->next;
    }
    if (prev && (uintptr_t)prev + prev->size == at) {
      prev->size += n->size;
      prev->next = n->next;
    } else if (prev) {
      prev->next = n;
    } else {
      f->head = n;
    }
    f->free_bytes += size;
  }
  fixed_unlock(f);
}

int fa_memory_source_fixed(fa_memory_source_t *src, void *base, size_t size) {
  if (!src || !base)
    return FA_EINVAL;
  uintptr_t lo = (uintptr_t)base;
  uintptr_t first = (lo + GRAIN - 1) & ~(uintptr_t)(GRAIN - 1);
  if (first < lo || size < first - lo)
    return FA_EINVAL;
  uintptr_t end = lo + (size - (first - lo));
  if (end < first) /* the range wraps around the address space */
    return FA_EINVAL;
  end = first + ((end - first) & ~(uintptr_t)(GRAIN - 1));
  if (end - first < 2 * GRAIN) /* the header and one grain at least */
    return FA_EINVAL;
  fixed_t *f = (fixed_t *)first;
  memset(f, 0, sizeof(*f));
  f->magic = FIXED_MAGIC;
  f->lo = first + GRAIN;
  f->hi = end;
  f->free_bytes = end - f->lo;
  f->head = (free_node_t *)f->lo;
  f->head->size = f->free_bytes;
  f->head->next = NULL;
  src->reserve = fixed_reserve;
  src->release = fixed_release;
  src->user = f;
  return 0;
}

size_t fa_memory_source_fixed_free(const fa_memory_source_t *src) {
  if (!src || src->reserve != fixed_reserve || !src->user)
    return 0;
  fixed_t *f = src->user;
  if (f->magic != FIXED_MAGIC)
    return 0;
  fixed_lock(f);
  size_t n = f->free_bytes;
  fixed_unlock(f);
  return n;
}
