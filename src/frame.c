/* Frame arenas: one per (allocator, thread), a bump pointer over a list of
 * chunks.
 *
 * The inline path in framealloc.h bumps h.frame_ptr up to h.frame_lim; this
 * file keeps that window right (closed outside a frame, in tracking builds
 * and past the budget) and does everything else: the first chunk, growth,
 * the frame boundary, marks and the frame vector. A frame that needed more
 * than one chunk is coalesced at its end into one chunk big enough for it,
 * so a steady loop settles on one chunk and makes no memory-source request
 * per frame. */
#include "internal.h"

#define POISON_BYTE 0xdd

static uintptr_t chunk_start(const fa__chunk_t *c) {
  return (uintptr_t)c + FA__CHUNK_HDR;
}
static uintptr_t chunk_limit(const fa__chunk_t *c) {
  return (uintptr_t)c + c->size;
}

/* The chunk header keeps where the bump pointer stood when the arena moved
 * on to the next chunk, so that the bytes of earlier chunks can be summed. */
typedef struct chunk_top_s {
  fa__chunk_t c;
  uintptr_t top;
} chunk_top_t;

static uintptr_t *top_of(fa__chunk_t *c) { return &((chunk_top_t *)c)->top; }

static uint64_t usage(const fa__heap_t *h) {
  if (!h->cur)
    return 0;
  return h->frame_base + (h->h.frame_ptr - h->chunk_base);
}

uint64_t fa__frame_in_use(const fa__heap_t *h) {
  if (FA__LOAD(&h->in_frame) == FRAME_NONE)
    return 0;
  uint64_t base = FA__LOAD(&h->frame_base);
  uintptr_t start = FA__LOAD(&h->chunk_base);
  uintptr_t p = FA__LOAD(&h->h.frame_ptr);
  /* A snapshot taken while the owner switches chunks may mix the two. */
  if (p < start || p - start > ((uintptr_t)1 << 40))
    return base;
  return base + (p - start);
}

uint64_t fa__frame_chunks(const fa__heap_t *h) {
  uint64_t n = 0;
  for (const fa__chunk_t *c = h->chunks; h->cur && c; c = c->next) {
    n++;
    if (c == h->cur)
      break;
  }
  return n;
}

#if FA_DEBUG >= 3
/* The arena's invariants: cur is in the chunk list, every chunk before it
 * has its top inside it, the bump pointer is inside cur, and the frame
 * base is the sum of what the chunks before cur used. */
static void arena_validate(const fa__heap_t *h) {
  uint64_t base = 0;
  const fa__chunk_t *c = h->chunks;
  if (!h->cur) {
    fa__assert(!h->chunks && h->h.frame_ptr == 0);
    return;
  }
  for (; c && c != h->cur; c = c->next) {
    uintptr_t top = ((const chunk_top_t *)c)->top;
    fa__assert(top >= chunk_start(c) && top <= chunk_limit(c));
    base += top - chunk_start(c);
  }
  fa__assert(c == h->cur);
  fa__assert(base == h->frame_base);
}
#else
#define arena_validate(h) ((void)0)
#endif

/* Opens the inline window where it is allowed, up to the chunk end or the
 * budget, whichever comes first. */
static void set_window(fa__heap_t *h) {
  fa_allocator_t *a = h->alloc;
  uintptr_t lim = 0;
  fa__assert(!h->cur || (h->h.frame_ptr >= h->chunk_base &&
                         h->h.frame_ptr <= h->chunk_end));
  arena_validate(h);
  if (a->fast && h->cur && h->in_frame != FRAME_NONE) {
    lim = h->chunk_end;
    if (a->frame_budget) {
      uint64_t left =
          a->frame_budget > h->frame_base ? a->frame_budget - h->frame_base : 0;
      if (left < lim - h->chunk_base)
        lim = h->chunk_base + (uintptr_t)left;
    }
  }
  h->h.frame_lim = lim;
}

static void use_chunk(fa__heap_t *h, fa__chunk_t *c) {
  h->cur = c;
  h->chunk_end = c ? chunk_limit(c) : 0;
  FA__STORE(&h->chunk_base, c ? chunk_start(c) : 0);
  FA__STORE(&h->h.frame_ptr, c ? chunk_start(c) : 0);
}

static void set_base(fa__heap_t *h, uint64_t base) {
  FA__STORE(&h->frame_base, base);
}

/* Marks [from, to) dead: a fill pattern in debug builds, and poisoned for
 * ASan and Valgrind. */
static void kill(uintptr_t from, uintptr_t to) {
  if (to <= from)
    return;
#if FA_DEBUG >= 1
  fa__track_live((void *)from, to - from); /* padding was never live */
  memset((void *)from, POISON_BYTE, to - from);
#endif
  fa__track_dead((void *)from, to - from);
}

/* Kills everything from position pos in chunk c up to the bump pointer,
 * and tells the discard hook, one range per chunk. */
static void kill_from(fa__heap_t *h, fa__chunk_t *c, uintptr_t pos) {
  const fa_hooks_t *hk = &h->alloc->hooks;
  for (; c; c = c->next) {
    int last = c == h->cur;
    uintptr_t end = last ? h->h.frame_ptr : *top_of(c);
    if (FA_UNLIKELY(hk->on_frame_discard != NULL) && end > pos)
      hk->on_frame_discard((void *)pos, end - pos, hk->user);
    kill(pos, end);
    if (last)
      break;
    if (c->next)
      pos = chunk_start(c->next);
  }
}

static fa__chunk_t *chunk_new(fa_allocator_t *a, size_t size) {
  fa__chunk_t *c = fa__reserve(a, size, a->page_size);
  if (!c)
    return NULL;
  c->next = NULL;
  c->size = size;
  *top_of(c) = chunk_start(c);
  fa__track_dead((void *)chunk_start(c), size - FA__CHUNK_HDR);
  return c;
}

static void chunk_free(fa_allocator_t *a, fa__chunk_t *c) {
  fa__release(a, c, c->size);
}

static size_t pow2_at_least(uint64_t n) {
  size_t s = 1;
  while (s < n)
    s <<= 1;
  return s;
}

void fa__frame_init(fa__heap_t *h) {
  h->marks = h->marks_inline;
  h->mark_cap = FA__MARKS_INLINE;
  h->mark_count = 0;
  use_chunk(h, NULL);
  set_window(h);
}

static void release_all(fa__heap_t *h) {
  fa__chunk_t *c = h->chunks;
  while (c) {
    fa__chunk_t *next = c->next;
    chunk_free(h->alloc, c);
    c = next;
  }
  h->chunks = NULL;
  use_chunk(h, NULL);
}

/* Gives the spilled mark stack back; the inline one serves again. */
static void marks_shrink(fa__heap_t *h) {
  if (h->marks != h->marks_inline)
    fa__release(h->alloc, h->marks, h->mark_cap * sizeof(uint64_t));
  h->marks = h->marks_inline;
  h->mark_cap = FA__MARKS_INLINE;
  h->mark_count = 0;
}

void fa__frame_destroy(fa__heap_t *h) {
  release_all(h);
  marks_shrink(h);
}

/* Moves to a chunk with room for n bytes at align: the next spare if it is
 * big enough, else a new one at least twice the size of the current. */
static int grow(fa__heap_t *h, size_t n, size_t align) {
  fa_allocator_t *a = h->alloc;
  size_t need = n + align + FA__CHUNK_HDR;
  fa__chunk_t *prev = h->cur;
  fa__chunk_t *next = prev ? prev->next : h->chunks;
  if (!next || next->size < need) {
    size_t size = prev ? prev->size * 2 : a->chunk_size;
    if (size < need)
      size = (need + a->page_size - 1) & ~(a->page_size - 1);
    fa__chunk_t *c = chunk_new(a, size);
    if (!c)
      return FA_ENOMEM;
    c->next = next;
    if (prev)
      prev->next = c;
    else
      h->chunks = c;
    next = c;
  }
  if (prev) {
    uint64_t used = usage(h);
    if (used > h->frame_hwm)
      h->frame_hwm = used;
    *top_of(prev) = h->h.frame_ptr;
    set_base(h, used);
  }
  use_chunk(h, next);
  *top_of(next) = chunk_start(next);
  return 0;
}

void *fa__frame_alloc_slow(fa_allocator_t *a, size_t size, size_t align) {
  if (!a)
    return NULL;
  if (align == 0)
    align = FA__DEFAULT_ALIGNMENT;
  if ((align & (align - 1)) != 0 || align > a->page_size) {
    fa__diag(a, 6,
             "fa_frame_alloc: alignment %zu is not a power of two up to "
             "the page size (%zu)",
             align, a->page_size);
    return NULL;
  }
  if (size >= ((size_t)1 << 40))
    return NULL;
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return NULL;
  if (fa__in_task())
    fa__diag(a, 701,
             "fa_frame_alloc inside a task scope: frame memory must not be "
             "used by async work; use task, pool or heap memory");
  if (h->in_frame == FRAME_NONE) {
    if (FA__LOAD(&a->tl))
      fa__tl_frame_begin(h);
    fa__diag(a, 1,
             "fa_frame_alloc outside fa_begin_frame/fa_end_frame; the "
             "memory lives until the next fa_end_frame");
    FA__STORE(&h->in_frame, FRAME_IMPLICIT);
  }
  size_t n = size + (size == 0);
  uintptr_t mask = ~(uintptr_t)(align - 1);
  uintptr_t p = (h->h.frame_ptr + align - 1) & mask;
  if (!h->cur || p + n > h->chunk_end) {
    if (grow(h, n, align) != 0)
      return NULL;
    p = (h->h.frame_ptr + align - 1) & mask;
  }
  if (a->frame_budget &&
      h->frame_base + (p + n - h->chunk_base) > (uint64_t)a->frame_budget) {
    fa__diag(a, 3,
             "frame budget of %zu bytes exceeded by a request of %zu bytes",
             a->frame_budget, size);
    set_window(h);
    return NULL;
  }
  size_t bytes = (size_t)(p + n - h->h.frame_ptr); /* padding included */
  int observe = FA__LOAD(&a->observe);
  if (FA_UNLIKELY(observe) && fa__tl_admit(a, h, bytes) != 0) {
    set_window(h);
    return NULL;
  }
  FA__STORE(&h->h.frame_ptr, p + n);
  fa__track_live((void *)p, size);
  set_window(h);
  if (FA_UNLIKELY(observe))
    fa__tl_note(a, h, FA_TIER_FRAME, (void *)p, size, bytes);
  return (void *)p;
}

void fa_begin_frame(fa_allocator_t *a) {
  if (!a)
    return;
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return;
  if (h->in_frame == FRAME_OPEN)
    fa__diag(a, 2, "fa_begin_frame inside a frame; the frame goes on");
  FA__STORE(&h->in_frame, FRAME_OPEN);
  set_window(h);
  if (FA_UNLIKELY(FA__LOAD(&a->tl) != NULL))
    fa__tl_frame_begin(h);
}

/* Replaces the chunk list by one chunk of at least `size` bytes; keeps the
 * old list if the source has no memory. */
static void replace_chunks(fa__heap_t *h, size_t size) {
  fa__chunk_t *c = chunk_new(h->alloc, size);
  if (!c)
    return;
  release_all(h);
  h->chunks = c;
}

/* At a frame end: one chunk for a frame that needed several; a smaller one
 * when frame_trim_frames frames in a row used at most half of it. */
static void resize_arena(fa__heap_t *h, uint64_t hwm) {
  fa_allocator_t *a = h->alloc;
  size_t min = a->chunk_size;
  if (h->chunks && h->chunks->next) {
    size_t size = pow2_at_least(hwm + FA__CHUNK_HDR);
    replace_chunks(h, size > min ? size : min);
    h->trim_seen = 0;
    h->trim_max = 0;
    return;
  }
  if (!a->trim_frames || !h->chunks)
    return;
  if (hwm > h->trim_max)
    h->trim_max = hwm;
  if (++h->trim_seen < a->trim_frames)
    return;
  size_t want = pow2_at_least(h->trim_max + FA__CHUNK_HDR);
  if (want < min)
    want = min;
  if (h->trim_max + FA__CHUNK_HDR <= h->chunks->size / 2 &&
      want < h->chunks->size)
    replace_chunks(h, want);
  h->trim_seen = 0;
  h->trim_max = 0;
}

/* Ends the thread's frame: everything dies, the arena rewinds to its
 * start. counted: an fa_end_frame call (not a thread exit). */
static void reset(fa__heap_t *h, int counted) {
  uint64_t used = usage(h);
  if (used > h->frame_hwm)
    h->frame_hwm = used;
  if (counted) {
    if (h->frame_hwm > h->frame_peak)
      FA__STORE(&h->frame_peak, h->frame_hwm);
    FA__STORE(&h->frames, h->frames + 1);
  }
  if (h->chunks)
    kill_from(h, h->chunks, chunk_start(h->chunks));
  if (counted)
    resize_arena(h, h->frame_hwm);
  set_base(h, 0); /* before the pointer moves, for readers of the stats */
  use_chunk(h, h->chunks);
  h->frame_hwm = 0;
  h->epoch++;
  h->mark_count = 0; /* every mark of the frame dies with it */
  FA__STORE(&h->in_frame, FRAME_NONE);
  set_window(h);
}

void fa_end_frame(fa_allocator_t *a) {
  if (!a)
    return;
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return;
  if (h->in_frame == FRAME_NONE)
    fa__diag(a, 2,
             "fa_end_frame without fa_begin_frame; frame memory is "
             "reset all the same");
  if (FA_UNLIKELY(FA__LOAD(&a->tl) != NULL))
    fa__tl_frame_end(h); /* its record, before the reset */
  reset(h, 1);
  /* Pool upkeep at a boundary: send gathered remote frees, take back the
   * blocks other threads returned. */
  fa__pool_flush(h);
  /* A relaxed peek; fa__pool_collect acquires the list. */
  if (__atomic_load_n(&h->remote, __ATOMIC_RELAXED))
    fa__pool_collect(h);
}

void fa__frame_abandon(fa__heap_t *h) { reset(h, 0); }

void fa__frame_trim(fa__heap_t *h) {
  if (h->in_frame == FRAME_NONE) {
    release_all(h);
    marks_shrink(h);
  }
  set_window(h);
}

/* Marks nest, so the live ones form a stack: a rewind to m keeps m and the
 * marks before it and kills every later one. The stack holds their seqs,
 * which increase from bottom to top, so a mark is live exactly when its
 * seq is still in it; that stays exact however many marks and rewinds the
 * frame sees, at 8 bytes per live mark. Returns 0, or FA_ENOMEM when the
 * stack cannot grow. */
static int marks_push(fa__heap_t *h, uint64_t seq) {
  if (h->mark_count == h->mark_cap) {
    size_t cap = h->mark_cap * 2;
    uint64_t *fresh = fa__reserve(h->alloc, cap * sizeof(uint64_t), 64);
    if (!fresh)
      return FA_ENOMEM;
    memcpy(fresh, h->marks, h->mark_count * sizeof(uint64_t));
    if (h->marks != h->marks_inline)
      fa__release(h->alloc, h->marks, h->mark_cap * sizeof(uint64_t));
    h->marks = fresh;
    h->mark_cap = cap;
  }
  h->marks[h->mark_count++] = seq;
  return 0;
}

/* The index of seq in the live-mark stack, or -1 when it is not live. */
static ptrdiff_t marks_find(const fa__heap_t *h, uint64_t seq) {
  size_t lo = 0, hi = h->mark_count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (h->marks[mid] < seq)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < h->mark_count && h->marks[lo] == seq ? (ptrdiff_t)lo : -1;
}

fa_mark_t fa_frame_mark(fa_allocator_t *a) {
  fa_mark_t m = {NULL, 0, 0, 0};
  fa__heap_t *h = a ? fa__heap_get(a) : NULL;
  if (!h)
    return m;
  m.chunk = h->cur;
  m.pos = h->h.frame_ptr;
  m.epoch = h->epoch;
  /* seq 0 is never live: a mark the stack had no room for is refused by
   * fa_frame_rewind. */
  m.seq = ++h->mark_seq;
  if (marks_push(h, m.seq) != 0)
    m.seq = 0;
  return m;
}

static void bad_mark(fa_allocator_t *a, const char *why) {
  fa__diag(a, 6, "fa_frame_rewind: the mark %s; nothing rewound", why);
}

void fa_frame_rewind(fa_allocator_t *a, fa_mark_t m) {
  if (!a)
    return;
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return;
  if (m.epoch != h->epoch) {
    bad_mark(a, "is from another frame, thread or allocator");
    return;
  }
  if (m.seq == 0) {
    bad_mark(a, "was not recorded (memory was short when it was taken)");
    return;
  }
  ptrdiff_t live = marks_find(h, m.seq);
  if (live < 0) {
    bad_mark(a, "was rewound past by an earlier rewind");
    return;
  }
  if (!h->cur) { /* no arena yet: nothing to rewind, no mark dies */
    if (m.chunk)
      bad_mark(a, "is not in this thread's arena");
    return;
  }
  fa__chunk_t *c = m.chunk ? (fa__chunk_t *)m.chunk : h->chunks;
  uintptr_t pos = m.chunk ? m.pos : chunk_start(h->chunks);
  /* The mark must lie between the arena start and the bump pointer. */
  uint64_t base = 0;
  fa__chunk_t *it = h->chunks;
  for (; it && it != c && it != h->cur; it = it->next)
    base += *top_of(it) - chunk_start(it);
  if (it != c || pos < chunk_start(c) ||
      pos > (c == h->cur ? h->h.frame_ptr : *top_of(c))) {
    bad_mark(a, "is not behind the current position of this frame");
    return;
  }
  uint64_t used = usage(h);
  if (used > h->frame_hwm)
    h->frame_hwm = used;
  kill_from(h, c, pos);
  h->cur = c;
  h->chunk_end = chunk_limit(c);
  FA__STORE(&h->chunk_base, chunk_start(c));
  FA__STORE(&h->h.frame_ptr, pos);
  set_base(h, base);
  set_window(h);
  h->mark_count = (size_t)live + 1; /* the later marks die */
}

/* Layout shared by every fa_frame_vec(T). */
typedef struct vec_s {
  void *data;
  size_t len, cap;
} vec_t;

int fa__frame_vec_reserve(fa_allocator_t *a, void *vec, size_t n,
                          size_t elem_size, size_t elem_align) {
  if (!a || !vec || !elem_size)
    return FA_EINVAL;
  vec_t v;
  memcpy(&v, vec, sizeof(v));
  if (v.len > v.cap || (v.cap && !v.data))
    return FA_EINVAL;
  if (n <= v.cap - v.len)
    return 0;
  if (n > SIZE_MAX - v.len)
    return FA_ENOMEM;
  size_t cap = v.cap * 2 > v.len + n ? v.cap * 2 : v.len + n;
  if (cap < 8)
    cap = 8;
  size_t bytes = fa__mul(cap, elem_size);
  if (bytes >= ((size_t)1 << 40))
    return FA_ENOMEM;
  fa__heap_t *h = fa__heap_get(a);
  if (!h)
    return FA_ENOMEM;
  /* In place: the vector is the newest allocation of this frame and its
   * chunk has room. */
  uintptr_t d = (uintptr_t)v.data;
  uintptr_t old_end = d + v.cap * elem_size;
  if (v.data && h->cur && h->in_frame != FRAME_NONE &&
      !FA__LOAD(&a->observe) && /* hooks and tags see every block */
      old_end == h->h.frame_ptr && d >= h->chunk_base &&
      bytes <= h->chunk_end - d &&
      (!a->frame_budget || h->frame_base + (d + bytes - h->chunk_base) <=
                               (uint64_t)a->frame_budget)) {
    if (fa__in_task()) /* the other path raises it in fa_frame_alloc */
      fa__diag(a, 701,
               "fa_frame_vec growth inside a task scope: frame memory must "
               "not be used by async work; use task, pool or heap memory");
    FA__STORE(&h->h.frame_ptr, d + bytes);
    fa__track_live((void *)old_end, bytes - v.cap * elem_size);
    v.cap = cap;
    memcpy(vec, &v, sizeof(v));
    return 0;
  }
  void *p = fa_frame_alloc(a, bytes, elem_align);
  if (!p)
    return FA_ENOMEM;
  if (v.len)
    memcpy(p, v.data, v.len * elem_size);
  v.data = p;
  v.cap = cap;
  memcpy(vec, &v, sizeof(v));
  return 0;
}
