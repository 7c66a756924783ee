/* Memory over time: the frame records each (allocator, thread) keeps in a
 * ring, tags and their budgets, and the entry points through which the
 * out-of-line allocation paths report to hooks, history and traces.
 *
 * Nothing here runs unless the allocator asked for it: frame boundaries
 * test one pointer (a->tl), the out-of-line paths one flag (a->observe),
 * the inline paths nothing. A frame end with history on reads the clock
 * and stores one record: the allocator-wide bytes that are cheap to read
 * (heap, OS) come from their atomic counters, the ones that need a merge
 * over every thread (pool, task) from a sample taken at most once per
 * millisecond per allocator, by whichever thread finds it stale.
 *
 * A record is published under a sequence word (a seqlock per record):
 * odd while the owner writes it, 2k + 2 once record k is whole, so a
 * reader on another thread copies it and keeps the copy only if the word
 * was 2k + 2 before and after. */
#include <stdlib.h>

#include "internal.h"

#define SAMPLE_NS 1000000ull /* pool and task bytes: resampled after 1 ms */
#define REC_WORDS (sizeof(fa_frame_record_t) / sizeof(uint64_t))
#define SLOT_WORDS (REC_WORDS + 1)
_Static_assert(sizeof(fa_frame_record_t) % sizeof(uint64_t) == 0,
               "a record is copied a word at a time");

enum { SEEN = 1, WARNED = 2 };

/* ---- State ---------------------------------------------------------- */

static fa__tl_t *tl_make(fa_allocator_t *a, size_t history) {
  fa__tl_t *tl = fa__reserve(a, sizeof(*tl), 64);
  if (!tl)
    return NULL;
  memset(tl, 0, sizeof(*tl));
  tl->history = history;
  if (fa__os_mutex_init(&tl->lock) != 0) {
    fa__release(a, tl, sizeof(*tl));
    return NULL;
  }
  return tl;
}

static void tl_free(fa_allocator_t *a, fa__tl_t *tl) {
  fa__os_mutex_destroy(&tl->lock);
  fa__release(a, tl, sizeof(*tl));
}

fa__tl_t *fa__tl_get(fa_allocator_t *a) {
  fa__tl_t *tl = __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE);
  if (tl)
    return tl;
  fa__tl_t *fresh = tl_make(a, 0);
  if (!fresh)
    return NULL;
  if (!__atomic_compare_exchange_n(&a->tl, &tl, fresh, 0, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    tl_free(a, fresh);
    return tl;
  }
  FA__STORE(&a->observe, 1);
  return fresh;
}

/* The id of name (len bytes, valid), interned; 0 when the table is full. */
static fa_tag_t intern(fa__tl_t *tl, const char *name, size_t len) {
  fa_tag_t id = 0;
  fa__os_lock(&tl->lock);
  uint32_t n = tl->tag_count;
  for (uint32_t i = 1; i <= n && !id; i++)
    if (strncmp(tl->names[i], name, len) == 0 && tl->names[i][len] == '\0')
      id = i;
  if (!id && n < FA_TAG_MAX) {
    id = n + 1;
    memcpy(tl->names[id], name, len);
    tl->names[id][len] = '\0';
    __atomic_store_n(&tl->tag_count, id, __ATOMIC_RELEASE);
  }
  fa__os_unlock(&tl->lock);
  return id;
}

/* Checks a tag name: its length, or 0 when it is not valid (FA006). */
static size_t name_ok(fa_allocator_t *a, const char *fn, const char *name) {
  size_t len = 0;
  if (name)
    while (len <= FA_TAG_NAME_MAX && name[len])
      len++;
  if (!name || len == 0)
    fa__diag(a, 6, "%s: %s tag name", fn, name ? "empty" : "NULL");
  else if (len > FA_TAG_NAME_MAX)
    fa__diag(a, 6, "%s: tag name \"%.*s...\" is longer than %d bytes", fn,
             FA_TAG_NAME_MAX, name, FA_TAG_NAME_MAX);
  else
    return len;
  return 0;
}

int fa__tl_create(fa_allocator_t *a, const fa_config_t *cfg) {
  if (!cfg->history_frames && !cfg->tag_budget_count)
    return 0;
  fa__tl_t *tl = tl_make(a, cfg->history_frames);
  if (!tl)
    return FA_ENOMEM;
  const fa_tag_budget_t *b = cfg->tag_budgets;
  for (size_t i = 0; b && i < cfg->tag_budget_count; i++) {
    size_t len = name_ok(a, "fa_create: tag_budgets", b[i].tag);
    fa_tag_t id = len ? intern(tl, b[i].tag, len) : 0;
    if (len && !id)
      fa__diag(a, 6, "fa_create: more than %d tags in tag_budgets", FA_TAG_MAX);
    if (id) {
      tl->soft[id] = b[i].soft;
      tl->hard[id] = b[i].hard;
    }
  }
  a->tl = tl;
  a->observe = 1;
  return 0;
}

fa__tl_heap_t *fa__tl_heap(fa__heap_t *h) {
  fa__tl_heap_t *t = FA__LOAD(&h->tl);
  if (t)
    return t;
  fa_allocator_t *a = h->alloc;
  fa__tl_t *tl = fa__tl_get(a);
  if (!tl)
    return NULL;
  t = fa__reserve(a, sizeof(*t), 64);
  if (!t)
    return NULL;
  memset(t, 0, sizeof(*t));
  if (tl->history) {
    size_t bytes = tl->history * SLOT_WORDS * sizeof(uint64_t);
    if (tl->history <= SIZE_MAX / (SLOT_WORDS * sizeof(uint64_t)) &&
        (t->ring = fa__reserve(a, bytes, 64)) != NULL) {
      memset(t->ring, 0, bytes);
      t->cap = tl->history;
    }
  }
  /* Published with release: fa_frame_history reads the ring through it. */
  __atomic_store_n(&h->tl, t, __ATOMIC_RELEASE);
  return t;
}

void fa__tl_heap_destroy(fa__heap_t *h) {
  fa__tl_heap_t *t = h->tl;
  if (!t)
    return;
  fa__trace_heap_destroy(h);
  if (t->ring)
    fa__release(h->alloc, t->ring, t->cap * SLOT_WORDS * sizeof(uint64_t));
  fa__release(h->alloc, t, sizeof(*t));
  h->tl = NULL;
}

void fa__tl_destroy(fa_allocator_t *a) {
  if (!a->tl)
    return;
  fa__trace_destroy(a);
  for (fa__heap_t *h = a->heaps; h; h = h->next_in_alloc)
    fa__tl_heap_destroy(h);
  tl_free(a, a->tl);
  a->tl = NULL;
}

void fa__tl_heap_adopt(fa__heap_t *h) {
  fa__tl_heap_t *t = h->tl;
  if (!t)
    return;
  /* The exited thread's tags and its unfinished frame end with it. */
  t->depth = t->overflow = 0;
  for (unsigned i = 0; i < t->norder; i++) {
    memset(t->bytes[t->order[i]], 0, sizeof(t->bytes[0]));
    t->seen[t->order[i]] = 0;
  }
  t->norder = 0;
  t->allocs = 0;
  t->diags = 0;
  t->budget = FA_BUDGET_OK;
  t->open = 0;
}

int fa__tl_closed(const fa__heap_t *h) {
  const fa__tl_heap_t *t = FA__LOAD(&h->tl);
  return t && (t->depth || t->overflow);
}

/* ---- Thread index ---------------------------------------------------- */

int fa_thread_index(fa_allocator_t *a) {
  if (!a) {
    fa__diag(NULL, 6, "fa_thread_index: NULL allocator");
    return FA_EINVAL;
  }
  fa__heap_t *h = fa__heap_get(a);
  return h ? (int)h->index : FA_ENOMEM;
}

/* ---- Tags ------------------------------------------------------------ */

/* The tag allocations of the thread are attributed to, or 0. */
static fa_tag_t top(const fa__tl_heap_t *t) {
  return t && t->depth && !t->overflow ? t->stack[t->depth - 1] : 0;
}

/* Closes the calling thread's inline paths while a tag is pushed: they
 * reopen at the next out-of-line call after the last pop. */
static void close_inline(fa_allocator_t *a) {
  if (FA__LOAD(&fa__tls.alloc) == a) {
    FA__STORE(&fa__tls.alloc, FA__TLS_EMPTY);
    FA__STORE(&fa__tls.frame_alloc, FA__TLS_EMPTY);
  }
}

fa_tag_t fa_tag_push(fa_allocator_t *a, const char *name) {
  if (!a) {
    fa__diag(NULL, 6, "fa_tag_push: NULL allocator");
    return 0;
  }
  fa__heap_t *h = fa__heap_get(a);
  fa__tl_heap_t *t = h ? fa__tl_heap(h) : NULL;
  if (!t)
    return 0;
  fa__tl_t *tl = a->tl;
  size_t len = name_ok(a, "fa_tag_push", name);
  fa_tag_t id = len ? intern(tl, name, len) : 0;
  if (len && !id)
    fa__diag(a, 6, "fa_tag_push: more than %d tag names on this allocator",
             FA_TAG_MAX);
  if (t->depth == FA_TAG_DEPTH || t->overflow) {
    fa__diag(a, 6,
             "fa_tag_push: more than %d tags pushed on this thread; "
             "\"%s\" is not attributed",
             FA_TAG_DEPTH, id ? tl->names[id] : "(invalid)");
    t->overflow++;
    id = 0;
  } else {
    t->stack[t->depth++] = id;
  }
  FA__STORE(&a->tagged, 1);
  close_inline(a);
  return id;
}

void fa_tag_pop(fa_allocator_t *a) {
  if (!a) {
    fa__diag(NULL, 6, "fa_tag_pop: NULL allocator");
    return;
  }
  fa__heap_t *h = fa__heap_get(a);
  fa__tl_heap_t *t = h ? FA__LOAD(&h->tl) : NULL;
  if (!t || (!t->depth && !t->overflow)) {
    fa__diag(a, 6, "fa_tag_pop without fa_tag_push on this thread; ignored");
    return;
  }
  if (t->overflow)
    t->overflow--;
  else
    t->depth--;
}

fa_tag_t fa_tag_current(fa_allocator_t *a) {
  fa__heap_t *h = a ? fa__heap_find(a) : NULL;
  return h ? top(FA__LOAD(&h->tl)) : 0;
}

const char *fa_tag_name(const fa_allocator_t *a, fa_tag_t t) {
  fa__tl_t *tl = a ? __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE) : NULL;
  if (!tl || t == 0 || t > __atomic_load_n(&tl->tag_count, __ATOMIC_ACQUIRE))
    return NULL;
  return tl->names[t];
}

/* ---- Reports of the out-of-line paths --------------------------------- */

static uint64_t tag_total(const fa__tl_heap_t *t, fa_tag_t tag) {
  return t->bytes[tag][0] + t->bytes[tag][1] + t->bytes[tag][2];
}

int fa__tl_admit(fa_allocator_t *a, fa__heap_t *h, size_t bytes) {
  fa__tl_heap_t *t = h ? FA__LOAD(&h->tl) : NULL;
  fa_tag_t tag = top(t);
  if (!tag)
    return 0;
  fa__tl_t *tl = a->tl;
  uint64_t hard = tl->hard[tag];
  if (!hard || tag_total(t, tag) + bytes <= hard)
    return 0;
  fa__diag(a, 3,
           "tag \"%s\": hard frame budget of %llu bytes exceeded by a "
           "request of %zu bytes (%llu used this frame)",
           tl->names[tag], (unsigned long long)hard, bytes,
           (unsigned long long)tag_total(t, tag));
  return 1;
}

void fa__tl_note(fa_allocator_t *a, fa__heap_t *h, fa_tier_t tier, void *p,
                 size_t size, size_t bytes) {
  if (!h)
    h = fa__heap_find(a);
  fa__tl_heap_t *t = h && a->tl ? fa__tl_heap(h) : NULL;
  fa_tag_t tag = top(t);
  if (a->hooks.on_alloc)
    a->hooks.on_alloc(tier, p, size, tag, a->hooks.user);
  if (!t)
    return;
  t->allocs++;
  if (!tag || !bytes || tier == FA_TIER_HEAP)
    return;
  if (!(t->seen[tag] & SEEN)) {
    t->seen[tag] |= SEEN;
    t->order[t->norder++] = tag;
  }
  t->bytes[tag][tier == FA_TIER_FRAME  ? 0
                : tier == FA_TIER_POOL ? 1
                                       : 2] += bytes;
  fa__tl_t *tl = a->tl;
  uint64_t soft = tl->soft[tag];
  if (soft && !(t->seen[tag] & WARNED) && tag_total(t, tag) > soft) {
    t->seen[tag] |= WARNED;
    fa__diag_at(a, 3, FA_LEVEL_WARNING,
                "tag \"%s\": soft frame budget of %llu bytes exceeded "
                "(%llu used this frame)",
                tl->names[tag], (unsigned long long)soft,
                (unsigned long long)tag_total(t, tag));
  }
}

void fa__tl_free(fa_allocator_t *a, fa_tier_t tier, void *p) {
  if (a->hooks.on_free)
    a->hooks.on_free(tier, p, a->hooks.user);
}

/* Diagnostics raised while this thread is already reporting one (a trace
 * write that raises FA008, a reservation that raises FA006) are not
 * reported again. */
static __thread int in_diag;

void fa__tl_diag(fa_allocator_t *a, const fa_diag_t *d) {
  if (in_diag)
    return;
  in_diag = 1;
  fa__heap_t *h = fa__heap_find(a);
  fa__tl_heap_t *t = h ? FA__LOAD(&h->tl) : NULL;
  if (t) {
    t->diags++;
    uint32_t b = d->code != 3                 ? FA_BUDGET_OK
                 : d->level == FA_LEVEL_ERROR ? FA_BUDGET_HARD
                                              : FA_BUDGET_SOFT;
    if (b > t->budget)
      t->budget = b;
  }
  fa__trace_diag(a, h, d);
  in_diag = 0;
}

/* ---- Frames ---------------------------------------------------------- */

void fa__tl_frame_begin(fa__heap_t *h) {
  fa__tl_heap_t *t = fa__tl_heap(h);
  if (t && !t->open) {
    t->open = 1;
    t->begin_ns = fa__os_now_ns();
  }
}

/* Pool and task bytes of the allocator: merged over every thread, so read
 * at most once per SAMPLE_NS, by one thread at a time. */
static void sample(fa_allocator_t *a, fa__tl_t *tl, uint64_t now,
                   fa_frame_record_t *r) {
  uint64_t at = __atomic_load_n(&tl->sample_ns, __ATOMIC_ACQUIRE);
  if ((at == 0 || now - at >= SAMPLE_NS) &&
      !__atomic_exchange_n(&tl->sampling, 1, __ATOMIC_ACQUIRE)) {
    fa_stats_t st;
    fa_get_stats(a, &st);
    FA__STORE(&tl->pool_bytes, st.pool_bytes);
    FA__STORE(&tl->task_bytes, st.task_bytes);
    __atomic_store_n(&tl->sample_ns, now, __ATOMIC_RELEASE);
    __atomic_store_n(&tl->sampling, 0, __ATOMIC_RELEASE);
  }
  r->pool_bytes = FA__LOAD(&tl->pool_bytes);
  r->task_bytes = FA__LOAD(&tl->task_bytes);
}

/* The words of a record up to its tags, and those of one tag entry: only
 * the entries in use are written (a reader clears the others). */
#define HEAD_WORDS (offsetof(fa_frame_record_t, tags) / sizeof(uint64_t))
#define TAG_WORDS (sizeof(fa_tag_bytes_t) / sizeof(uint64_t))
_Static_assert(offsetof(fa_frame_record_t, tags) % sizeof(uint64_t) == 0 &&
                   sizeof(fa_tag_bytes_t) % sizeof(uint64_t) == 0,
               "records are copied a word at a time");

static void ring_write(fa__tl_heap_t *t, const fa_frame_record_t *r) {
  uint64_t k = t->written;
  uint64_t *slot = t->ring + (size_t)(k % t->cap) * SLOT_WORDS;
  uint64_t w[REC_WORDS];
  size_t words = HEAD_WORDS + r->tag_count * TAG_WORDS;
  memcpy(w, r, words * sizeof(uint64_t));
  /* Release stores, not fences (which ThreadSanitizer does not model):
   * each word is ordered after the odd sequence word. */
  FA__STORE(&slot[0], 2 * k + 1);
  for (size_t i = 0; i < words; i++)
    __atomic_store_n(&slot[1 + i], w[i], __ATOMIC_RELEASE);
  __atomic_store_n(&slot[0], 2 * k + 2, __ATOMIC_RELEASE);
  __atomic_store_n(&t->written, k + 1, __ATOMIC_RELEASE);
}

/* Copies record k of t into out if it is whole and still there: 1, or 0. */
static int ring_read(const fa__tl_heap_t *t, uint64_t k,
                     fa_frame_record_t *out) {
  const uint64_t *slot = t->ring + (size_t)(k % t->cap) * SLOT_WORDS;
  uint64_t w[REC_WORDS];
  if (__atomic_load_n(&slot[0], __ATOMIC_ACQUIRE) != 2 * k + 2)
    return 0;
  /* A word of a newer record, read with acquire, makes the sequence word
   * read after it show the change. */
  for (size_t i = 0; i < REC_WORDS; i++)
    w[i] = __atomic_load_n(&slot[1 + i], __ATOMIC_ACQUIRE);
  if (FA__LOAD(&slot[0]) != 2 * k + 2)
    return 0;
  memcpy(out, w, sizeof(w));
  if (out->tag_count > FA_RECORD_TAGS)
    return 0;
  memset(&out->tags[out->tag_count], 0,
         (FA_RECORD_TAGS - out->tag_count) * sizeof(out->tags[0]));
  return 1;
}

void fa__tl_frame_end(fa__heap_t *h) {
  fa_allocator_t *a = h->alloc;
  fa__tl_t *tl = a->tl;
  fa__tl_heap_t *t = fa__tl_heap(h);
  if (!t)
    return;
  struct fa__trace_s *tr = __atomic_load_n(&tl->trace, __ATOMIC_ACQUIRE);
  if (t->ring || tr) {
    uint64_t now = fa__os_now_ns();
    fa_frame_record_t r; /* the tags beyond tag_count stay unwritten */
    memset(&r, 0, offsetof(fa_frame_record_t, tags));
    r.frame = h->frames + 1;
    r.thread = h->index;
    r.flags = a->fast ? 0 : FA_RECORD_ALL_ALLOCS;
    r.begin_ns = t->open ? t->begin_ns : t->last_end_ns ? t->last_end_ns : now;
    r.end_ns = now;
    uint64_t used = fa__frame_in_use(h);
    r.frame_bytes = used;
    r.frame_peak = h->frame_hwm > used ? h->frame_hwm : used;
    r.chunks = fa__frame_chunks(h);
    r.allocs = t->allocs;
    sample(a, tl, now, &r);
    r.heap_bytes = FA__LOAD(&a->heap_bytes);
    r.os_bytes = FA__LOAD(&a->os_bytes);
    r.diagnostics = t->diags;
    r.budget = t->budget;
    for (unsigned i = 0; i < t->norder; i++) {
      fa_tag_t tag = t->order[i];
      if (i == FA_RECORD_TAGS) {
        r.flags |= FA_RECORD_MORE_TAGS;
        break;
      }
      r.tags[i].tag = tag;
      r.tags[i].frame = t->bytes[tag][0];
      r.tags[i].pool = t->bytes[tag][1];
      r.tags[i].task = t->bytes[tag][2];
      r.tag_count = i + 1;
    }
    if (t->ring)
      ring_write(t, &r);
    if (tr)
      fa__trace_frame(h, &r);
    t->last_end_ns = now;
  }
  for (unsigned i = 0; i < t->norder; i++) {
    fa_tag_t tag = t->order[i];
    memset(t->bytes[tag], 0, sizeof(t->bytes[tag]));
    t->seen[tag] = 0;
  }
  t->norder = 0;
  t->allocs = 0;
  t->diags = 0;
  t->budget = FA_BUDGET_OK;
  t->open = 0;
}

/* ---- Reading the history --------------------------------------------- */

/* Appends to out (room for max) the newest max whole records of t, oldest
 * first; returns how many. */
static size_t read_heap(const fa__tl_heap_t *t, fa_frame_record_t *out,
                        size_t max) {
  if (!t || !t->ring)
    return 0;
  uint64_t end = __atomic_load_n(&t->written, __ATOMIC_ACQUIRE);
  uint64_t first = end > t->cap ? end - t->cap : 0;
  if (end - first > max)
    first = end - max;
  size_t n = 0;
  for (uint64_t k = first; k < end; k++)
    n += (size_t)ring_read(t, k, &out[n]);
  return n;
}

static int by_end(const void *x, const void *y) {
  const fa_frame_record_t *p = x, *q = y;
  if (p->end_ns != q->end_ns)
    return p->end_ns < q->end_ns ? -1 : 1;
  return p->thread < q->thread ? -1 : p->thread > q->thread;
}

int fa_frame_history(fa_allocator_t *a, int thread, fa_frame_record_t *out,
                     size_t max) {
  if (!a || thread < FA_ALL_THREADS || (!out && max)) {
    fa__diag(a, 6, "fa_frame_history: %s",
             !a            ? "NULL allocator"
             : thread < -1 ? "thread index below FA_ALL_THREADS"
                           : "NULL output with max > 0");
    return FA_EINVAL;
  }
  fa__tl_t *tl = __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE);
  if (!tl || !tl->history || !max)
    return 0;
  if (thread >= 0) {
    const fa__tl_heap_t *t = NULL;
    fa__os_lock(&a->lock);
    for (fa__heap_t *h = a->heaps; h && !t; h = h->next_in_alloc)
      if (h->index == (unsigned)thread)
        t = __atomic_load_n(&h->tl, __ATOMIC_ACQUIRE);
    fa__os_unlock(&a->lock);
    /* Heaps and their rings live as long as the allocator. */
    return (int)read_heap(t, out, max > INT32_MAX ? INT32_MAX : max);
  }
  /* Every thread: gather all kept records, sort them by end time and keep
   * the newest max. */
  fa__os_lock(&a->lock);
  unsigned threads = a->heap_serial;
  fa__os_unlock(&a->lock);
  size_t room = (size_t)threads * tl->history;
  if (!threads || room / tl->history != threads ||
      room > SIZE_MAX / sizeof(fa_frame_record_t))
    return 0;
  fa_frame_record_t *all = fa__reserve(a, room * sizeof(*all), 64);
  if (!all)
    return FA_ENOMEM;
  size_t n = 0;
  fa__os_lock(&a->lock);
  for (fa__heap_t *h = a->heaps; h; h = h->next_in_alloc)
    if (h->index < threads)
      n += read_heap(__atomic_load_n(&h->tl, __ATOMIC_ACQUIRE), all + n,
                     tl->history);
  fa__os_unlock(&a->lock);
  qsort(all, n, sizeof(*all), by_end);
  size_t keep = n < max ? n : max;
  if (keep > INT32_MAX)
    keep = INT32_MAX;
  memcpy(out, all + (n - keep), keep * sizeof(*out));
  fa__release(a, all, room * sizeof(*all));
  return (int)keep;
}
