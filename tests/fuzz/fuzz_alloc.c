/* fuzz_alloc.c: the allocator fuzzer (a libFuzzer target, also linked into
 * a plain replay driver).
 *
 * The input is decoded into a header (1-3 allocators with their settings,
 * 1-4 threads, whether blocks are left for the allocators' release) and a
 * sequence of operations: begin/end frame, frame allocation, mark and
 * rewind, frame-vector pushes, pool and heap allocation and free (a block
 * may be freed by any thread, and freed twice on purpose; a pointer inside
 * a pool block or to its page header is freed on purpose), task create,
 * allocate, defer and destroy, pool-guard create, allocate and destroy,
 * stats, trim, and "fail the next N requests" of an allocator's memory
 * source. Thread 0 is the calling thread; threads 1-3 are real threads that
 * run their operations one at a time, in lock-step with it (a semaphore
 * handshake), so a given input always runs the same way.
 *
 * A shadow model follows every operation. After each one the harness
 * checks, for every allocator: the payload pattern of every live block
 * (its first and last bytes; whole blocks when they are freed, rewound or
 * their frame ends), the alignment of every pointer, the diagnostics raised
 * (exactly the expected codes), and fa_get_stats against the model:
 *   pool_count, pool_bytes   live pool blocks: class size, or the size
 *                            asked for above pool_max_size
 *   heap_count, heap_bytes   live heap blocks, sizes asked for
 *   frames                   fa_end_frame calls
 *   frame_bytes, frame_peak  per (allocator, thread): the bytes from the
 *                            arena start to the bump pointer, padding
 *                            included, with the chunk geometry of the
 *                            design (a 64-byte chunk header; the chunk is
 *                            the memory-source block that holds the
 *                            pointer); every returned address is predicted
 *   task_bytes               bytes handed out by live tasks and guard
 *                            regions; exact, except that the first
 *                            allocation of a region (whose struct size the
 *                            model does not know) is checked against
 *                            [n, n + align - 1] and the observed value
 *                            then becomes the model's; fa_task_used agrees
 *   os_bytes, os_requests    what the memory source counted
 * An operation may fail (NULL, FA_ENOMEM) only if the memory source failed
 * a request during it. Any difference stops the run (abort). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_source.h"

#include <errno.h>
#include <framealloc.h>
#include <framealloc/task.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef FA_DEBUG
#define FA_DEBUG 0
#endif

#define MAX_ALLOCS 3
#define MAX_THREADS 4
#define MAX_OPS 1500
#define MAX_POOL 256
#define MAX_HEAP 64
#define MAX_FOBJS 128
#define MAX_MARKS 16
#define MAX_TASKS 8
#define MAX_TOBJS 32
#define MAX_DEFERS 8
#define MAX_GUARDS 4
#define MAX_GOBJS 64
#define MAX_VEC 4096
#define EDGE 16                /* bytes checked at each end after each op */
#define CHUNK_HDR 64           /* frame chunk header (design) */
#define REGION_PAGE_HDR 128    /* task/guard page header (design) */
#define REGION_LARGE_MIN 16384 /* larger requests get a block of their own */
#define LARGE_HDR 16           /* header in front of such a block */
#define DEFER_SIZE (3 * sizeof(void *))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- Input ------------------------------------------------------------ */

typedef struct reader_s {
  const uint8_t *p;
  size_t n;
} reader_t;

static unsigned rd8(reader_t *r) {
  if (!r->n)
    return 0;
  r->n--;
  return *r->p++;
}

static unsigned rd16(reader_t *r) {
  unsigned lo = rd8(r);
  return lo | rd8(r) << 8;
}

enum { K_FRAME, K_POOL, K_HEAP, K_REGION };

/* Sizes in four ranges, so that small inputs reach every size class, pool
 * fallbacks, new frame chunks and large region blocks. */
static size_t pick_size(reader_t *r, int kind) {
  unsigned v = rd16(r);
  unsigned low = v & 0x3fff;
  switch (v >> 14) {
  case 0:
    return low & 63;
  case 1:
    return low & 1023;
  case 2:
    return low;
  default:
    return kind == K_HEAP    ? (size_t)low * 16
           : kind == K_FRAME ? (size_t)low * 4
           : kind == K_POOL  ? low
                             : (size_t)low * 2;
  }
}

#define ALIGN_BAD 24 /* not a power of two */

/* 0 (the default), a power of two up to 2^max_shift, or ALIGN_BAD. */
static size_t pick_align(reader_t *r, unsigned max_shift) {
  unsigned b = rd8(r);
  if (b == 0xff)
    return ALIGN_BAD;
  b %= max_shift + 2;
  return b == max_shift + 1 ? 0 : (size_t)1 << b;
}

/* ---- Payload patterns ------------------------------------------------- */

typedef struct obj_s {
  unsigned char *p;
  size_t size;
  uint64_t key;
} obj_t;

static uint64_t next_key;

static unsigned char pattern(uint64_t key, size_t i) {
  return (unsigned char)((key >> ((i & 7) * 8)) ^ (i >> 3));
}

static void obj_fill(obj_t *o) {
  for (size_t i = 0; i < o->size; i++)
    o->p[i] = pattern(o->key, i);
}

/* A failure names the damaged bytes and shows what they hold now: the
 * debug fill, the memory source's garbage, a pointer or another block's
 * pattern each point at a different culprit. */
static void check_range(const obj_t *o, size_t from, size_t to,
                        const char *what) {
  for (size_t i = from; i < to; i++) {
    if (o->p[i] == pattern(o->key, i))
      continue;
    size_t last = i, n = 0;
    for (size_t j = i; j < o->size; j++)
      if (o->p[j] != pattern(o->key, j)) {
        last = j;
        n++;
      }
    char now[3 * 16 + 1] = "";
    for (size_t j = 0; j < 16 && i + j < o->size; j++)
      snprintf(now + 3 * j, 4, " %02x", o->p[i + j]);
    fz_fail("%s block %p (%zu bytes): byte %zu overwritten (%zu bytes "
            "differ, up to byte %zu; from byte %zu:%s)",
            what, (void *)o->p, o->size, i, n, last, i, now);
  }
}

/* The first and last EDGE bytes, or the whole block. */
static void obj_check(const obj_t *o, int whole, const char *what) {
  if (whole || o->size <= 2 * EDGE) {
    check_range(o, 0, o->size, what);
    return;
  }
  check_range(o, 0, EDGE, what);
  check_range(o, o->size - EDGE, o->size, what);
}

static obj_t obj_new(void *p, size_t size) {
  obj_t o = {p, size, 0};
  next_key = next_key * 6364136223846793005u + 1442695040888963407u;
  o.key = next_key;
  obj_fill(&o);
  return o;
}

static void check_aligned(const void *p, size_t align, const char *what) {
  if ((uintptr_t)p & (align - 1))
    fz_fail("%s %p is not aligned to %zu", what, p, align);
}

/* ---- The model -------------------------------------------------------- */

enum { FRAME_NONE, FRAME_OPEN, FRAME_IMPLICIT };

typedef struct mark_rec_s {
  fa_mark_t m;
  uint64_t usage;
  int known;
  uintptr_t cursor, end;
  int nobjs;
} mark_rec_t;

typedef fa_frame_vec(uint32_t) vec_t;

/* One (allocator, thread) frame arena. cursor is the bump pointer and end
 * the end of its chunk, when known (not at the start of a frame). */
typedef struct fstate_s {
  int in_frame;
  int has_chunk;
  int known;
  uintptr_t cursor, end;
  uint64_t usage, hwm, peak;
  obj_t objs[MAX_FOBJS];
  int nobjs;
  mark_rec_t marks[MAX_MARKS];
  int nmarks;
  fa_mark_t stale, dead;
  int has_stale, has_dead;
  vec_t vec;
  uint32_t vec_key;
} fstate_t;

/* A task or guard region: bytes handed out, and its bump pointer when
 * known. */
typedef struct region_s {
  int known;
  uintptr_t cursor;
  uint64_t used;
} region_t;

typedef struct pblock_s {
  obj_t o;
  int alloc;
  uint64_t charge;
} pblock_t;

typedef struct hblock_s {
  obj_t o;
  int alloc;
} hblock_t;

typedef struct task_rec_s {
  fa_task_t *t;
  int alloc;
  region_t r;
  obj_t objs[MAX_TOBJS];
  int nobjs;
  int defers[MAX_DEFERS];
  int ndefers;
} task_rec_t;

typedef struct guard_rec_s {
  fa_pool_guard_t *g;
  int alloc;
  region_t r[MAX_THREADS];
  obj_t objs[MAX_GOBJS];
  int nobjs;
} guard_rec_t;

/* Diagnostic codes the fuzzer can raise, and a slot for any other. */
static const int diag_codes[] = {1, 2, 3, 4, 5, 6, 7, 701};
#define NDIAG (sizeof(diag_codes) / sizeof(diag_codes[0]) + 1)

typedef struct amodel_s {
  fa_allocator_t *a;
  fz_source_t src;
  size_t pool_max;
  uint64_t pool_count, pool_bytes, heap_count, heap_bytes, frames;
  uint64_t task_bytes;
  int diag[NDIAG], expect[NDIAG];
  fstate_t f[MAX_THREADS];
  /* A region whose last change the model knows only as a range. */
  region_t *pending;
  uint64_t pend_lo, pend_hi;
} amodel_t;

typedef struct op_s op_t;
typedef void (*op_fn)(op_t *op);

struct op_s {
  op_fn fn;
  const char *name;
  int thread, alloc;
  unsigned sel;
  size_t size, align;
};

typedef struct worker_s {
  pthread_t th;
  sem_t go, done;
  op_t *op; /* NULL: exit */
} worker_t;

static struct {
  int nallocs, nthreads, leak;
  amodel_t m[MAX_ALLOCS];
  pblock_t pool[MAX_POOL];
  int npool;
  hblock_t heap[MAX_HEAP];
  int nheap;
  task_rec_t tasks[MAX_TASKS];
  int ntasks;
  guard_rec_t guards[MAX_GUARDS];
  int nguards;
  worker_t w[MAX_THREADS];
  int ran[MAX_DEFERS]; /* cleanups, in the order they ran */
  int nran;
  int next_defer;
  uint64_t failures_before[MAX_ALLOCS]; /* at the start of the op */
  int op_index;
  size_t page;
} S;

static int diag_slot(int code) {
  for (size_t i = 0; i + 1 < NDIAG; i++)
    if (diag_codes[i] == code)
      return (int)i;
  return (int)NDIAG - 1;
}

static void on_diag(const fa_diag_t *d, void *user) {
  amodel_t *m = user;
  if (!d->message || !*d->message || strchr(d->message, '\n'))
    fz_fail("diagnostic FA%03d has a malformed message", d->code);
  m->diag[diag_slot(d->code)]++;
}

static void expect_diag(amodel_t *m, int code) { m->expect[diag_slot(code)]++; }

/* Whether the memory source of m failed a request since the op began. */
static int source_failed(amodel_t *m) {
  return fz_source_failures(&m->src) != S.failures_before[m - S.m];
}

static void must_fail(amodel_t *m, const char *what) {
  if (!source_failed(m))
    fz_fail("%s failed with no memory-source failure", what);
}

static size_t pool_charge(const amodel_t *m, size_t size) {
  if (size > m->pool_max)
    return size;
  if (size <= 1024)
    return size ? (size + 15) & ~(size_t)15 : 16;
  size_t b = 1024;
  while (b * 2 < size)
    b *= 2;
  size_t step = b / 4;
  return (size + step - 1) / step * step;
}

/* The memory-source block holding p (a frame chunk, a region page, a large
 * region block); it must exist. */
static size_t block_of(amodel_t *m, const void *p, uintptr_t *start) {
  size_t n = fz_source_block_of(&m->src, p, start);
  if (!n)
    fz_fail("pointer %p is in no block of the memory source", p);
  return n;
}

/* ---- Frames ----------------------------------------------------------- */

static void frame_open_implicit(amodel_t *m, fstate_t *fs) {
  if (fs->in_frame == FRAME_NONE) {
    expect_diag(m, 1);
    fs->in_frame = FRAME_IMPLICIT;
  }
}

/* A frame allocation of n bytes (n >= 1) at p: where it must be, and what
 * it adds to the arena's usage. */
static void frame_account(amodel_t *m, fstate_t *fs, uintptr_t p, size_t n,
                          size_t align) {
  uintptr_t q =
      fs->known ? (fs->cursor + align - 1) & ~(uintptr_t)(align - 1) : 0;
  if (fs->known && q + n <= fs->end) {
    if (p != q)
      fz_fail("frame allocation at %#lx, expected %#lx", (unsigned long)p,
              (unsigned long)q);
    fs->usage += p + n - fs->cursor;
  } else {
    uintptr_t chunk;
    size_t csize = block_of(m, (void *)p, &chunk);
    uintptr_t start = chunk + CHUNK_HDR;
    if (p != ((start + align - 1) & ~(uintptr_t)(align - 1)))
      fz_fail("frame allocation at %#lx is not at the start of its chunk "
              "%#lx",
              (unsigned long)p, (unsigned long)chunk);
    if (p + n > chunk + csize)
      fz_fail("frame allocation at %#lx overruns its chunk", (unsigned long)p);
    fs->usage += p + n - start;
    fs->end = chunk + csize;
  }
  fs->known = 1;
  fs->cursor = p + n;
  fs->has_chunk = 1;
  if (fs->usage > fs->hwm)
    fs->hwm = fs->usage;
}

static void frame_check_all(fstate_t *fs, int whole) {
  for (int i = 0; i < fs->nobjs; i++)
    obj_check(&fs->objs[i], whole, "frame");
  for (size_t i = 0; i < fs->vec.len; i++)
    if (fs->vec.data[i] != (uint32_t)(fs->vec_key + i))
      fz_fail("frame vector element %zu overwritten", i);
}

static void vec_reset(fstate_t *fs) {
  memset(&fs->vec, 0, sizeof(fs->vec));
  fs->vec_key = (uint32_t)(next_key >> 7);
}

static void op_begin(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  if (fs->in_frame == FRAME_OPEN)
    expect_diag(m, 2);
  fa_begin_frame(m->a);
  fs->in_frame = FRAME_OPEN;
}

static void op_end(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  if (fs->in_frame == FRAME_NONE)
    expect_diag(m, 2);
  frame_check_all(fs, 1);
  fa_end_frame(m->a);
  m->frames++;
  if (fs->hwm > fs->peak)
    fs->peak = fs->hwm;
  fs->usage = fs->hwm = 0;
  fs->known = 0;
  fs->in_frame = FRAME_NONE;
  fs->nobjs = 0;
  if (fs->nmarks) {
    fs->stale = fs->marks[fs->nmarks - 1].m;
    fs->has_stale = 1;
  }
  fs->nmarks = 0;
  fs->has_dead = 0;
  vec_reset(fs);
}

static void op_frame_alloc(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  size_t align = op->align ? op->align : 16;
  if (align == ALIGN_BAD || align > S.page) {
    expect_diag(m, 6);
    if (fa_frame_alloc(m->a, op->size, op->align))
      fz_fail("frame allocation at alignment %zu succeeded", op->align);
    return;
  }
  frame_open_implicit(m, fs);
  unsigned char *p = fa_frame_alloc(m->a, op->size, op->align);
  if (!p) {
    must_fail(m, "fa_frame_alloc");
    return;
  }
  check_aligned(p, align, "frame allocation");
  frame_account(m, fs, (uintptr_t)p, op->size + (op->size == 0), align);
  if (fs->nobjs < MAX_FOBJS)
    fs->objs[fs->nobjs++] = obj_new(p, op->size);
}

static void op_mark(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  if (fs->nmarks == MAX_MARKS) {
    memmove(&fs->marks[0], &fs->marks[1],
            (MAX_MARKS - 1) * sizeof(fs->marks[0]));
    fs->nmarks--;
  }
  mark_rec_t *r = &fs->marks[fs->nmarks++];
  r->m = fa_frame_mark(m->a);
  r->usage = fs->usage;
  r->known = fs->known;
  r->cursor = fs->cursor;
  r->end = fs->end;
  r->nobjs = fs->nobjs;
}

/* A rewind that must be refused: FA006 and nothing changes. */
static void rewind_refused(amodel_t *m, fa_mark_t mk) {
  expect_diag(m, 6);
  fa_frame_rewind(m->a, mk);
}

static void op_rewind(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  unsigned kind = op->sel % 8;
  if (kind == 0 && fs->has_stale) {
    rewind_refused(m, fs->stale);
    return;
  }
  if (kind == 1 && fs->has_dead) {
    rewind_refused(m, fs->dead);
    return;
  }
  if (!fs->nmarks)
    return;
  int k = (int)((op->sel / 8) % (unsigned)fs->nmarks);
  mark_rec_t r = fs->marks[k];
  frame_check_all(fs, 1);
  fa_frame_rewind(m->a, r.m);
  fs->has_dead = 0;
  if (!fs->has_chunk)
    return; /* no arena yet: nothing to rewind, no mark dies */
  if (k + 1 < fs->nmarks) {
    fs->dead = fs->marks[fs->nmarks - 1].m;
    fs->has_dead = 1;
  }
  fs->nmarks = k + 1;
  fs->usage = r.usage;
  fs->known = r.known;
  fs->cursor = r.cursor;
  fs->end = r.end;
  if (fs->nobjs > r.nobjs)
    fs->nobjs = r.nobjs;
  vec_reset(fs);
}

static void op_vec(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  size_t count = 1 + op->sel % 64;
  for (size_t i = 0; i < count && fs->vec.len < MAX_VEC; i++) {
    vec_t old = fs->vec;
    uint32_t value = (uint32_t)(fs->vec_key + fs->vec.len);
    size_t want = old.cap * 2 > old.len + 1 ? old.cap * 2 : old.len + 1;
    if (want < 8)
      want = 8;
    uintptr_t d = (uintptr_t)old.data;
    int grows = old.len == old.cap;
    int in_place = grows && d && fs->in_frame != FRAME_NONE && fs->known &&
                   d + old.cap * 4 == fs->cursor && d + want * 4 <= fs->end;
    if (grows && !in_place)
      frame_open_implicit(m, fs);
    int rc = fa_frame_vec_push(m->a, &fs->vec, value);
    if (rc != 0) {
      must_fail(m, "fa_frame_vec_push");
      if (memcmp(&old, &fs->vec, sizeof(old)) != 0)
        fz_fail("a failed fa_frame_vec_push changed the vector");
      return;
    }
    if (!grows) {
      if (fs->vec.data != old.data || fs->vec.cap != old.cap)
        fz_fail("fa_frame_vec_push moved a vector that had room");
    } else if (fs->vec.cap != want) {
      fz_fail("frame vector grew to %zu elements, expected %zu", fs->vec.cap,
              want);
    } else if (in_place) {
      if ((uintptr_t)fs->vec.data != d)
        fz_fail("frame vector moved though it could grow in place");
      fs->usage += (want - old.cap) * 4;
      fs->cursor = d + want * 4;
      if (fs->usage > fs->hwm)
        fs->hwm = fs->usage;
    } else {
      if ((uintptr_t)fs->vec.data == d)
        fz_fail("frame vector grew in place where it could not");
      check_aligned(fs->vec.data, 4, "frame vector");
      frame_account(m, fs, (uintptr_t)fs->vec.data, want * 4, 4);
    }
  }
  frame_check_all(fs, 0);
}

/* ---- Pools and heap --------------------------------------------------- */

static void op_pool_alloc(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  if (S.npool == MAX_POOL)
    return;
  void *p = fa_pool_alloc(m->a, op->size);
  if (!p) {
    must_fail(m, "fa_pool_alloc");
    return;
  }
  check_aligned(p, 16, "pool block");
  pblock_t *b = &S.pool[S.npool++];
  b->o = obj_new(p, op->size);
  b->alloc = op->alloc;
  b->charge = pool_charge(m, op->size);
  m->pool_count++;
  m->pool_bytes += b->charge;
}

/* Frees pool block sel % npool, from this op's thread (which need not be
 * the thread that allocated it). First, with bit 9 of sel, a pointer inside
 * the block, and with bit 10 (blocks of a pool page) its page's header;
 * after, with bit 8, the block again: a double free, remote when this
 * thread is not the block's owner. Each of these must be refused with
 * FA004 and change nothing, in every build. */
static void op_pool_free(op_t *op) {
  if (!S.npool)
    return;
  int k = (int)(op->sel % (unsigned)S.npool);
  pblock_t b = S.pool[k];
  amodel_t *m = &S.m[b.alloc];
  obj_check(&b.o, 1, "pool");
  if ((op->sel & 0x200) && b.charge > 1) {
    expect_diag(m, 4);
    fa_pool_free(m->a, (char *)b.o.p + 1 + op->sel % (b.charge - 1));
  }
  if ((op->sel & 0x400) && b.o.size <= m->pool_max) {
    expect_diag(m, 4);
    fa_pool_free(m->a, (void *)((uintptr_t)b.o.p & ~(FA__PAGE_SIZE - 1)));
  }
  S.pool[k] = S.pool[--S.npool];
  fa_pool_free(m->a, b.o.p);
  m->pool_count--;
  m->pool_bytes -= b.charge;
  if (op->sel & 0x100) {
    expect_diag(m, 4);
    fa_pool_free(m->a, b.o.p);
  }
}

static void op_heap_alloc(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  if (S.nheap == MAX_HEAP)
    return;
  if (op->align == ALIGN_BAD) {
    expect_diag(m, 6);
    if (fa_heap_alloc(m->a, op->size, op->align))
      fz_fail("heap allocation at alignment %zu succeeded", op->align);
    return;
  }
  void *p = fa_heap_alloc(m->a, op->size, op->align);
  if (!p) {
    must_fail(m, "fa_heap_alloc");
    return;
  }
  check_aligned(p, op->align > 16 ? op->align : 16, "heap block");
  hblock_t *b = &S.heap[S.nheap++];
  b->o = obj_new(p, op->size);
  b->alloc = op->alloc;
  m->heap_count++;
  m->heap_bytes += op->size;
}

/* Frees heap block sel % nheap; with bit 8 set it is first handed to
 * fa_pool_free, with bit 9 freed twice: both must be refused. */
static void op_heap_free(op_t *op) {
  if (!S.nheap)
    return;
  int k = (int)(op->sel % (unsigned)S.nheap);
  hblock_t b = S.heap[k];
  amodel_t *m = &S.m[b.alloc];
  obj_check(&b.o, 1, "heap");
  S.heap[k] = S.heap[--S.nheap];
  if (op->sel & 0x100) {
    expect_diag(m, 4);
    fa_pool_free(m->a, b.o.p);
  }
  fa_heap_free(m->a, b.o.p);
  m->heap_count--;
  m->heap_bytes -= b.o.size;
  if (op->sel & 0x200) {
    expect_diag(m, 4);
    fa_heap_free(m->a, b.o.p);
  }
}

/* ---- Task and guard regions ------------------------------------------- */

/* n bytes at align handed out at p (0: not seen, for deferred cleanups)
 * by region r of m. */
static void region_account(amodel_t *m, region_t *r, uintptr_t p, size_t n,
                           size_t align) {
  uintptr_t start = 0;
  size_t bsize = p ? block_of(m, (void *)p, &start) : 0;
  int in_page = bsize == FA__PAGE_SIZE && start == (p & ~(FA__PAGE_SIZE - 1));
  if (!r->known) {
    /* Where the bump pointer stood is unknown: a range, pinned later. */
    m->pending = r;
    m->pend_lo = n;
    m->pend_hi = n + align - 1;
    if (in_page) {
      r->known = 1;
      r->cursor = p + n;
    }
    return;
  }
  uintptr_t q = (r->cursor + align - 1) & ~(uintptr_t)(align - 1);
  uintptr_t end = ((r->cursor - 1) | (FA__PAGE_SIZE - 1)) + 1;
  if (q + n <= end) {
    if (p && p != q)
      fz_fail("region allocation at %#lx, expected %#lx", (unsigned long)p,
              (unsigned long)q);
    r->used += q + n - r->cursor;
    m->task_bytes += q + n - r->cursor;
    r->cursor = q + n;
  } else if (n + align > REGION_LARGE_MIN) {
    size_t hdr = (LARGE_HDR + align - 1) & ~(align - 1);
    if (p && (bsize != hdr + n || p != start + hdr))
      fz_fail("large region block %#lx is not a block of its own",
              (unsigned long)p);
    r->used += n;
    m->task_bytes += n;
  } else if (!p) {
    r->used += n; /* a deferred record at the start of a new page */
    m->task_bytes += n;
    r->known = 0;
  } else {
    uintptr_t base = start + REGION_PAGE_HDR;
    if (!in_page || p != ((base + align - 1) & ~(uintptr_t)(align - 1)))
      fz_fail("region allocation at %#lx is not at the start of a new page",
              (unsigned long)p);
    r->used += p + n - base;
    m->task_bytes += p + n - base;
    r->cursor = p + n;
  }
}

static void region_objs_check(obj_t *objs, int n, int whole) {
  for (int i = 0; i < n; i++)
    obj_check(&objs[i], whole, "region");
}

static void op_task_create(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  if (S.ntasks == MAX_TASKS)
    return;
  fa_task_t *t = fa_task_create(m->a);
  if (!t) {
    must_fail(m, "fa_task_create");
    return;
  }
  task_rec_t *tr = &S.tasks[S.ntasks++];
  memset(tr, 0, sizeof(*tr));
  tr->t = t;
  tr->alloc = op->alloc;
  if (fa_task_allocator(t) != m->a)
    fz_fail("fa_task_allocator is not the task's allocator");
}

static void op_task_alloc(op_t *op) {
  if (!S.ntasks)
    return;
  task_rec_t *tr = &S.tasks[op->sel % (unsigned)S.ntasks];
  amodel_t *m = &S.m[tr->alloc];
  size_t align = op->align ? op->align : 16;
  if (align == ALIGN_BAD) {
    expect_diag(m, 6);
    if (fa_task_alloc(tr->t, op->size, op->align))
      fz_fail("task allocation at alignment %zu succeeded", op->align);
    return;
  }
  unsigned char *p = fa_task_alloc(tr->t, op->size, op->align);
  if (!p) {
    must_fail(m, "fa_task_alloc");
    return;
  }
  check_aligned(p, align, "task allocation");
  region_account(m, &tr->r, (uintptr_t)p, op->size + (op->size == 0), align);
  if (tr->nobjs < MAX_TOBJS)
    tr->objs[tr->nobjs++] = obj_new(p, op->size);
}

static void cleanup(void *arg) {
  if (S.nran == MAX_DEFERS)
    fz_fail("more cleanups ran than were registered");
  S.ran[S.nran++] = (int)(uintptr_t)arg;
}

static void op_task_defer(op_t *op) {
  if (!S.ntasks)
    return;
  task_rec_t *tr = &S.tasks[op->sel % (unsigned)S.ntasks];
  amodel_t *m = &S.m[tr->alloc];
  if (tr->ndefers == MAX_DEFERS)
    return;
  int id = ++S.next_defer;
  int rc = fa_task_defer(tr->t, cleanup, (void *)(uintptr_t)id);
  if (rc != 0) {
    if (rc != FA_ENOMEM)
      fz_fail("fa_task_defer returned %d", rc);
    must_fail(m, "fa_task_defer");
    return;
  }
  tr->defers[tr->ndefers++] = id;
  region_account(m, &tr->r, 0, DEFER_SIZE, _Alignof(void *));
}

static void op_task_destroy(op_t *op) {
  if (!S.ntasks)
    return;
  int k = (int)(op->sel % (unsigned)S.ntasks);
  task_rec_t tr = S.tasks[k];
  amodel_t *m = &S.m[tr.alloc];
  region_objs_check(tr.objs, tr.nobjs, 1);
  S.tasks[k] = S.tasks[--S.ntasks];
  S.nran = 0;
  fa_task_destroy(tr.t);
  if (S.nran != tr.ndefers)
    fz_fail("%d cleanups ran, %d were registered", S.nran, tr.ndefers);
  for (int i = 0; i < tr.ndefers; i++)
    if (S.ran[i] != tr.defers[tr.ndefers - 1 - i])
      fz_fail("cleanup %d ran out of order", S.ran[i]);
  m->task_bytes -= tr.r.used;
}

static void op_guard_create(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  if (S.nguards == MAX_GUARDS)
    return;
  fa_pool_guard_t *g = fa_pool_guard_create(m->a);
  if (!g) {
    must_fail(m, "fa_pool_guard_create");
    return;
  }
  guard_rec_t *gr = &S.guards[S.nguards++];
  memset(gr, 0, sizeof(*gr));
  gr->g = g;
  gr->alloc = op->alloc;
}

static void op_guard_alloc(op_t *op) {
  if (!S.nguards)
    return;
  guard_rec_t *gr = &S.guards[op->sel % (unsigned)S.nguards];
  amodel_t *m = &S.m[gr->alloc];
  size_t align = op->align ? op->align : 16;
  if (align == ALIGN_BAD) {
    expect_diag(m, 6);
    if (fa_pool_guard_alloc(gr->g, op->size, op->align))
      fz_fail("guard allocation at alignment %zu succeeded", op->align);
    return;
  }
  unsigned char *p = fa_pool_guard_alloc(gr->g, op->size, op->align);
  if (!p) {
    must_fail(m, "fa_pool_guard_alloc");
    return;
  }
  check_aligned(p, align, "guard allocation");
  region_account(m, &gr->r[op->thread], (uintptr_t)p,
                 op->size + (op->size == 0), align);
  if (gr->nobjs < MAX_GOBJS)
    gr->objs[gr->nobjs++] = obj_new(p, op->size);
}

static void op_guard_destroy(op_t *op) {
  if (!S.nguards)
    return;
  int k = (int)(op->sel % (unsigned)S.nguards);
  guard_rec_t gr = S.guards[k];
  amodel_t *m = &S.m[gr.alloc];
  region_objs_check(gr.objs, gr.nobjs, 1);
  S.guards[k] = S.guards[--S.nguards];
  fa_pool_guard_destroy(gr.g);
  for (int t = 0; t < MAX_THREADS; t++)
    m->task_bytes -= gr.r[t].used;
}

/* ---- Whole-allocator operations and checks ----------------------------- */

static void check_stats(amodel_t *m) {
  fa_stats_t st;
  if (fa_get_stats(m->a, &st) != 0)
    fz_fail("fa_get_stats failed");
  if (m->pending) {
    uint64_t d = st.task_bytes - m->task_bytes;
    if (st.task_bytes < m->task_bytes || d < m->pend_lo || d > m->pend_hi)
      fz_fail("task_bytes grew from %llu to %llu, expected a growth in "
              "[%llu, %llu]",
              (unsigned long long)m->task_bytes,
              (unsigned long long)st.task_bytes, (unsigned long long)m->pend_lo,
              (unsigned long long)m->pend_hi);
    m->pending->used += d;
    m->task_bytes += d;
    m->pending = NULL;
  }
  uint64_t frame_bytes = 0, frame_peak = 0;
  for (int t = 0; t < S.nthreads; t++) {
    const fstate_t *fs = &m->f[t];
    uint64_t now = fs->in_frame == FRAME_NONE ? 0 : fs->usage;
    frame_bytes += now;
    if (fs->peak > frame_peak)
      frame_peak = fs->peak;
    if (now > frame_peak)
      frame_peak = now;
  }
  struct {
    const char *name;
    uint64_t got, want;
  } f[] = {
      {"pool_count", st.pool_count, m->pool_count},
      {"pool_bytes", st.pool_bytes, m->pool_bytes},
      {"heap_count", st.heap_count, m->heap_count},
      {"heap_bytes", st.heap_bytes, m->heap_bytes},
      {"frames", st.frames, m->frames},
      {"frame_bytes", st.frame_bytes, frame_bytes},
      {"frame_peak", st.frame_peak, frame_peak},
      {"task_bytes", st.task_bytes, m->task_bytes},
      {"os_bytes", st.os_bytes, fz_source_outstanding(&m->src)},
      {"os_requests", st.os_requests, fz_source_reserves(&m->src)},
  };
  for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
    if (f[i].got != f[i].want)
      fz_fail("allocator %d: %s is %llu, the model says %llu", (int)(m - S.m),
              f[i].name, (unsigned long long)f[i].got,
              (unsigned long long)f[i].want);
}

static void check_diags(amodel_t *m) {
  for (size_t i = 0; i < NDIAG; i++)
    if (m->diag[i] != m->expect[i])
      fz_fail("allocator %d: %d diagnostics FA%03d, expected %d",
              (int)(m - S.m), m->diag[i], i + 1 < NDIAG ? diag_codes[i] : 0,
              m->expect[i]);
}

static void check_tasks(void) {
  for (int i = 0; i < S.ntasks; i++) {
    task_rec_t *tr = &S.tasks[i];
    if (fa_task_used(tr->t) != tr->r.used)
      fz_fail("fa_task_used is %zu, the model says %llu", fa_task_used(tr->t),
              (unsigned long long)tr->r.used);
    region_objs_check(tr->objs, tr->nobjs, 0);
  }
  for (int i = 0; i < S.nguards; i++)
    region_objs_check(S.guards[i].objs, S.guards[i].nobjs, 0);
}

static void check_all(void) {
  for (int i = 0; i < S.nallocs; i++) {
    check_stats(&S.m[i]);
    check_diags(&S.m[i]);
    for (int t = 0; t < S.nthreads; t++)
      frame_check_all(&S.m[i].f[t], 0);
  }
  for (int i = 0; i < S.npool; i++)
    obj_check(&S.pool[i].o, 0, "pool");
  for (int i = 0; i < S.nheap; i++)
    obj_check(&S.heap[i].o, 0, "heap");
  check_tasks();
}

static void op_stats(op_t *op) {
  (void)op;
  for (int i = 0; i < S.nallocs; i++)
    check_stats(&S.m[i]);
}

static void op_trim(op_t *op) {
  amodel_t *m = &S.m[op->alloc];
  fstate_t *fs = &m->f[op->thread];
  fa_trim(m->a);
  if (fs->in_frame == FRAME_NONE) {
    /* The arena's chunks are gone: its marks are forgotten (a new chunk at
     * the same address would make them look valid). */
    fs->has_chunk = 0;
    fs->nmarks = 0;
  }
}

static void op_fail(op_t *op) {
  fz_source_fail_next(&S.m[op->alloc].src, op->sel % 5);
}

/* ---- Threads ---------------------------------------------------------- */

/* sem_wait until the semaphore is taken. A signal handler installed
 * without SA_RESTART makes sem_wait return EINTR, and libFuzzer installs
 * its -timeout timer (SIGALRM every timeout/2 + 1 seconds) so: giving up
 * then would let the calling thread run on while the other one is still
 * inside its operation, two operations at once. */
static void sem_take(sem_t *s) {
  while (sem_wait(s) != 0)
    if (errno != EINTR)
      fz_fail("sem_wait failed: %s", strerror(errno));
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (;;) {
    sem_take(&w->go);
    if (!w->op)
      break;
    w->op->fn(w->op);
    sem_post(&w->done);
  }
  return NULL;
}

/* Runs op on its thread and waits for it: one operation at a time. */
static void run(op_t *op) {
  for (int i = 0; i < S.nallocs; i++)
    S.failures_before[i] = fz_source_failures(&S.m[i].src);
  if (op->thread == 0) {
    op->fn(op);
  } else {
    worker_t *w = &S.w[op->thread];
    w->op = op;
    sem_post(&w->go);
    sem_take(&w->done);
  }
}

static void workers_start(void) {
  for (int t = 1; t < S.nthreads; t++) {
    worker_t *w = &S.w[t];
    sem_init(&w->go, 0, 0);
    sem_init(&w->done, 0, 0);
    if (pthread_create(&w->th, NULL, worker_main, w) != 0)
      fz_fail("cannot start a thread");
  }
}

static void workers_stop(void) {
  for (int t = 1; t < S.nthreads; t++) {
    worker_t *w = &S.w[t];
    w->op = NULL;
    sem_post(&w->go);
    pthread_join(w->th, NULL);
    sem_destroy(&w->go);
    sem_destroy(&w->done);
  }
}

/* ---- Setup, the operation loop, teardown ------------------------------ */

static const op_fn ops[] = {
    op_begin,        op_end,          op_frame_alloc, op_frame_alloc,
    op_mark,         op_rewind,       op_vec,         op_pool_alloc,
    op_pool_alloc,   op_pool_free,    op_pool_free,   op_heap_alloc,
    op_heap_free,    op_task_create,  op_task_alloc,  op_task_defer,
    op_task_destroy, op_guard_create, op_guard_alloc, op_guard_destroy,
    op_stats,        op_trim,         op_fail,
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))
static const char *const op_names[] = {
    "begin",        "end",          "frame_alloc", "frame_alloc",
    "mark",         "rewind",       "vec_push",    "pool_alloc",
    "pool_alloc",   "pool_free",    "pool_free",   "heap_alloc",
    "heap_free",    "task_create",  "task_alloc",  "task_defer",
    "task_destroy", "guard_create", "guard_alloc", "guard_destroy",
    "stats",        "trim",         "fail",
};
_Static_assert(sizeof(op_names) / sizeof(op_names[0]) == NOPS, "names");

/* FUZZ_ALLOC_TRACE set: each decoded operation is printed before it runs,
 * to read what a failing input does. */
static int trace;

static void op_touch(op_t *op) { fa_trim(S.m[op->alloc].a); }

static void setup(reader_t *r) {
  static const size_t chunk[] = {4096, 8192, 16384, 0};
  static const size_t pool_max[] = {0, 256, 2048, 8192};
  static const size_t cache[] = {0, (size_t)64 << 10, (size_t)256 << 10, 1};
  static const unsigned trim[] = {0, 1, 2, 4};
  unsigned h = rd8(r);
  S.nallocs = 1 + (int)(h & 3) % MAX_ALLOCS;
  S.nthreads = 1 + (int)((h >> 2) & 3);
  S.leak = (h >> 4) & 1;
  S.page = (size_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < S.nallocs; i++) {
    amodel_t *m = &S.m[i];
    unsigned c = rd8(r);
    fa_config_t cfg = {0};
    fz_source_init(&m->src);
    cfg.memory_source = &m->src.src;
    cfg.on_diagnostic = on_diag;
    cfg.diagnostic_user = m;
    cfg.frame_chunk_size = chunk[c & 3];
    cfg.pool_max_size = pool_max[(c >> 2) & 3];
    cfg.cache_max_size = cache[(c >> 4) & 3];
    cfg.frame_trim_frames = trim[(c >> 6) & 3];
    m->pool_max = cfg.pool_max_size ? cfg.pool_max_size : 1024;
    m->a = fa_create(&cfg);
    if (!m->a)
      fz_fail("fa_create failed");
    for (int t = 0; t < MAX_THREADS; t++)
      vec_reset(&m->f[t]);
  }
  workers_start();
  /* Every thread's state on every allocator exists before faults can be
   * injected: a failure to make one is not modelled. */
  for (int i = 0; i < S.nallocs; i++) {
    for (int t = 0; t < S.nthreads; t++) {
      op_t op = {op_touch, "touch", t, i, 0, 0, 0};
      run(&op);
    }
  }
}

static void decode(reader_t *r, op_t *op) {
  unsigned code = rd8(r), sel = rd8(r);
  op->fn = ops[code % NOPS];
  op->name = op_names[code % NOPS];
  op->thread = (int)(sel & 3) % S.nthreads;
  op->alloc = (int)((sel >> 2) & 3) % S.nallocs;
  op->sel = sel >> 4 | rd8(r) << 4;
  op->size = 0;
  op->align = 0;
  if (op->fn == op_frame_alloc) {
    op->size = pick_size(r, K_FRAME);
    op->align = pick_align(r, 13);
  } else if (op->fn == op_pool_alloc) {
    op->size = pick_size(r, K_POOL);
  } else if (op->fn == op_heap_alloc) {
    op->size = pick_size(r, K_HEAP);
    op->align = pick_align(r, 16);
  } else if (op->fn == op_task_alloc || op->fn == op_guard_alloc) {
    op->size = pick_size(r, K_REGION);
    op->align = pick_align(r, 12);
  }
}

/* Ends open frames and frees what is left (pool and heap blocks stay for
 * the release when the input says so), stops the threads, then releases
 * every allocator: the memory source must get all its memory back. */
static void teardown(void) {
  op_t op = {0};
  for (int i = 0; i < S.nallocs; i++) {
    for (int t = 0; t < S.nthreads; t++) {
      if (S.m[i].f[t].in_frame == FRAME_NONE)
        continue;
      op = (op_t){op_end, "teardown", t, i, 0, 0, 0};
      run(&op);
    }
  }
  while (S.ntasks) {
    op = (op_t){op_task_destroy,
                "teardown",
                S.ntasks % S.nthreads,
                S.tasks[0].alloc,
                0,
                0,
                0};
    run(&op);
  }
  while (S.nguards) {
    op = (op_t){op_guard_destroy, "teardown", 0, S.guards[0].alloc, 0, 0, 0};
    run(&op);
  }
  while (!S.leak && S.npool) {
    op = (op_t){op_pool_free,
                "teardown",
                S.npool % S.nthreads,
                S.pool[0].alloc,
                0,
                0,
                0};
    run(&op);
  }
  while (!S.leak && S.nheap) {
    op = (op_t){op_heap_free, "teardown", 0, S.heap[0].alloc, 0, 0, 0};
    run(&op);
  }
  check_all();
  workers_stop();
  for (int i = 0; i < S.nallocs; i++) {
    amodel_t *m = &S.m[i];
    for (int t = 0; t < S.nthreads; t++)
      m->f[t].in_frame = FRAME_NONE;
    check_stats(m);
    if (m->pool_count || m->heap_count)
      expect_diag(m, 5);
    fa_release(m->a);
    check_diags(m);
    if (fz_source_outstanding(&m->src) != 0)
      fz_fail("allocator %d: %llu bytes not returned to the memory source", i,
              (unsigned long long)fz_source_outstanding(&m->src));
    fz_source_destroy(&m->src);
  }
}

/* Inputs and operations run by this process, printed at exit: the
 * figures of a long run (docs/reliability.md). */
static unsigned long long total_inputs, total_ops;

static void print_totals(void) {
  fprintf(stderr, "fuzz_alloc: %llu inputs, %llu operations\n", total_inputs,
          total_ops);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  reader_t r = {data, size};
  if (total_inputs++ == 0)
    atexit(print_totals);
  memset(&S, 0, sizeof(S));
  trace = getenv("FUZZ_ALLOC_TRACE") != NULL;
  next_key = 0x9e3779b97f4a7c15u;
  setup(&r);
  for (S.op_index = 0; r.n && S.op_index < MAX_OPS; S.op_index++) {
    op_t op;
    decode(&r, &op);
    if (trace)
      fprintf(stderr,
              "op %d: %s thread %d allocator %d sel %u size %zu "
              "align %zu\n",
              S.op_index, op.name, op.thread, op.alloc, op.sel, op.size,
              op.align);
    fz_context = op.name;
    fz_context_index = S.op_index;
    run(&op);
    check_all();
  }
  total_ops += (unsigned long long)S.op_index;
  fz_context = "teardown";
  teardown();
  fz_context = NULL;
  return 0;
}
