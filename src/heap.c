/* The heap tier: one memory-source request per block, a small header in
 * front of it for accounting. It also serves pool requests above
 * pool_max_size (fallbacks), which count as pool memory and may only be
 * freed by fa_pool_free. A set of live blocks, under its own lock, lets a
 * free recognise an invalid or double free without reading the pointer,
 * and lets the allocator's destruction free blocks still live. */
#include "internal.h"

typedef struct hdr_s {
  uintptr_t magic; /* HEAP_MAGIC ^ block address ^ allocator key */
  size_t size;     /* requested */
  size_t total;    /* reserved, from base */
  uint32_t offset; /* block address - base */
  uint32_t fallback;
} hdr_t;

#define HEAP_MAGIC ((uintptr_t)0x6a09e667f3bcc908u)

static uintptr_t magic_of(fa_allocator_t *a, const void *p) {
  return HEAP_MAGIC ^ (uintptr_t)p ^ (uintptr_t)a->key;
}

/* The live set: open addressing over pointers, tombstones for removals. */
#define TOMB ((void *)1)

static size_t slot_of(const void *p, size_t cap) {
  uintptr_t x = (uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdu;
  x ^= x >> 33;
  return (size_t)x & (cap - 1);
}

static int set_grow(fa_allocator_t *a) {
  size_t cap = a->live_cap ? a->live_cap * 2 : 1024;
  void **fresh = fa__reserve(a, cap * sizeof(void *), 64);
  if (!fresh)
    return FA_ENOMEM;
  memset(fresh, 0, cap * sizeof(void *));
  for (size_t i = 0; i < a->live_cap; i++) {
    void *p = a->live_set[i];
    if (!p || p == TOMB)
      continue;
    size_t j = slot_of(p, cap);
    while (fresh[j])
      j = (j + 1) & (cap - 1);
    fresh[j] = p;
  }
  if (a->live_set)
    fa__release(a, a->live_set, a->live_cap * sizeof(void *));
  a->live_set = fresh;
  a->live_cap = cap;
  a->live_dead = 0;
  return 0;
}

/* Returns the slot holding p, or NULL. Called with a->lock held. */
static void **set_find(fa_allocator_t *a, const void *p) {
  if (!a->live_cap)
    return NULL;
  for (size_t j = slot_of(p, a->live_cap);; j = (j + 1) & (a->live_cap - 1)) {
    if (!a->live_set[j])
      return NULL;
    if (a->live_set[j] == p)
      return &a->live_set[j];
  }
}

static int set_add(fa_allocator_t *a, void *p) {
  if ((a->live_used + a->live_dead + 1) * 2 > a->live_cap && set_grow(a) != 0)
    return FA_ENOMEM;
  size_t j = slot_of(p, a->live_cap);
  while (a->live_set[j] && a->live_set[j] != TOMB)
    j = (j + 1) & (a->live_cap - 1);
  if (a->live_set[j] == TOMB)
    a->live_dead--;
  a->live_set[j] = p;
  a->live_used++;
  return 0;
}

static void account(fa_allocator_t *a, const hdr_t *h, int sign) {
  uint64_t *bytes = h->fallback ? &a->fb_bytes : &a->heap_bytes;
  uint64_t *n = h->fallback ? &a->fb_count : &a->heap_count;
  if (sign > 0) {
    FA__ATOMIC_ADD(bytes, h->size);
    FA__ATOMIC_ADD(n, 1);
  } else {
    FA__ATOMIC_SUB(bytes, h->size);
    FA__ATOMIC_SUB(n, 1);
  }
}

void *fa__heap_alloc_tier(fa_allocator_t *a, size_t size, size_t align,
                          int fallback) {
  if (!a)
    return NULL;
  if (align == 0)
    align = FA__DEFAULT_ALIGNMENT;
  if ((align & (align - 1)) != 0 || align > ((size_t)1 << 30)) {
    fa__diag(a, 6,
             "fa_heap_alloc: alignment %zu is not a power of two up "
             "to 1 GiB",
             align);
    return NULL;
  }
  if (align < FA__DEFAULT_ALIGNMENT)
    align = FA__DEFAULT_ALIGNMENT;
  /* The block starts one alignment unit (at least a header) into the
   * reservation, so the header always fits in front of it. */
  size_t lead = align > sizeof(hdr_t) ? align : sizeof(hdr_t);
  if (size > ((size_t)1 << 46))
    return NULL;
  /* Tag budgets cover pool requests only (fallbacks). */
  int observe = FA__LOAD(&a->observe);
  if (FA_UNLIKELY(observe) && fallback &&
      fa__tl_admit(a, fa__heap_find(a), size) != 0)
    return NULL;
  size_t total = lead + size;
  char *base = fa__reserve(a, total, align);
  if (!base)
    return NULL;
  char *p = base + lead;
  hdr_t *h = (hdr_t *)p - 1;
  h->magic = magic_of(a, p);
  h->size = size;
  h->total = total;
  h->offset = (uint32_t)lead;
  h->fallback = (uint32_t)fallback;
  fa__os_lock(&a->heap_lock);
  int rc = set_add(a, p);
  fa__os_unlock(&a->heap_lock);
  if (rc != 0) {
    fa__release(a, base, total);
    return NULL;
  }
  account(a, h, 1);
  if (FA_UNLIKELY(observe))
    fa__tl_note(a, NULL, fallback ? FA_TIER_POOL : FA_TIER_HEAP, p, size,
                fallback ? size : 0);
  return p;
}

void fa__heap_free_tier(fa_allocator_t *a, void *p, int fallback) {
  const char *fn = fallback ? "fa_pool_free" : "fa_heap_free";
  if (!p)
    return;
  if (!a) {
    fa__diag(NULL, 6, "%s: NULL allocator; block not freed", fn);
    return;
  }
  /* Finding p, checking its header and removing it is one critical
   * section: of two frees of one block, only the first finds it. The
   * header is read only once p is known live, so never after its release. */
  fa__os_lock(&a->heap_lock);
  void **slot = set_find(a, p);
  hdr_t *h = (hdr_t *)p - 1;
  int tier_ok =
      slot && h->magic == magic_of(a, p) && h->fallback == (uint32_t)fallback;
  if (tier_ok) {
    *slot = TOMB;
    a->live_used--;
    a->live_dead++;
  }
  fa__os_unlock(&a->heap_lock);
  if (!slot) {
    fa__diag(a, 4,
             "%s(%p): not a live block of this allocator (double free or "
             "foreign pointer); ignored",
             fn, p);
    return;
  }
  if (!tier_ok) {
    fa__diag(a, 4, "%s(%p): not a %s block of this allocator; ignored", fn, p,
             fallback ? "pool" : "heap");
    return;
  }
  if (FA_UNLIKELY(a->hooks.on_free != NULL))
    fa__tl_free(a, fallback ? FA_TIER_POOL : FA_TIER_HEAP, p);
  account(a, h, -1);
  h->magic = 0;
  fa__release(a, (char *)p - h->offset, h->total);
}

void *fa_heap_alloc(fa_allocator_t *a, size_t size, size_t align) {
  return fa__heap_alloc_tier(a, size, align, 0);
}

void fa_heap_free(fa_allocator_t *a, void *p) { fa__heap_free_tier(a, p, 0); }

void fa__heap_destroy(fa_allocator_t *a) {
  for (size_t i = 0; i < a->live_cap; i++) {
    void *p = a->live_set[i];
    if (p && p != TOMB) {
      hdr_t *h = (hdr_t *)p - 1;
      fa__release(a, (char *)p - h->offset, h->total);
    }
  }
  if (a->live_set)
    fa__release(a, a->live_set, a->live_cap * sizeof(void *));
  a->live_set = NULL;
  a->live_cap = a->live_used = a->live_dead = 0;
}

/* Copies n bytes at p into out when p is a live block of a of at least n
 * bytes: 0, or FA_EINVAL (nothing read). Under the lock that a free takes
 * to take the block out of the set, so the block cannot go meanwhile. */
int fa__heap_peek(fa_allocator_t *a, const void *p, void *out, size_t n) {
  int rc = FA_EINVAL;
  fa__os_lock(&a->heap_lock);
  if (set_find(a, p) && ((const hdr_t *)p - 1)->size >= n) {
    memcpy(out, p, n);
    rc = 0;
  }
  fa__os_unlock(&a->heap_lock);
  return rc;
}
