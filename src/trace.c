/* Traces: Chrome Trace Event Format JSON, one event per line, written as
 * the program runs (the format is pinned in docs/profiling.md).
 *
 * Each thread formats its events into a buffer of its own (no lock shared
 * with other threads on the way) and writes the buffer in one call at a
 * frame end once it is half full or 50 ms old, under the trace's lock, so
 * batches never interleave and only the file's last line can be cut short
 * by a kill. fa_trace_close, the allocator's destruction and an atexit
 * handler write what is left, the closing event and the closing bracket.
 *
 * Lock order: the list of open traces, then the allocator's lock, then a
 * thread's buffer, then the trace's lock. Nothing here raises a
 * diagnostic or asks the memory source for memory while holding a buffer
 * or the trace's lock. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define BUF_SIZE ((size_t)64 << 10)
#define BUF_FLUSH (BUF_SIZE / 2)       /* write a batch from this much on */
#define FRAME_ROOM ((size_t)16 << 10)  /* the most one frame's events take */
#define DIAG_ROOM ((size_t)2 << 10)    /* the most one diagnostic takes */
#define FLUSH_NS (50ull * 1000 * 1000) /* or when the batch is this old */
#define NO_VALUE UINT64_MAX

typedef struct fa__trace_s {
  fa__mutex_t lock; /* the file and every field below */
  fa_allocator_t *alloc;
  intptr_t fd;
  int on;            /* open (atomic: frame ends test it without the lock) */
  int closing;       /* a close is writing the buffers out */
  int failed;        /* a write failed; FA008 was raised */
  uint64_t gen;      /* opens so far (atomic): a buffer of an older open is
                        dropped */
  uint64_t start_ns; /* ts 0 (atomic) */
  long pid;          /* (atomic) */
  uint64_t frames, dropped;        /* frame slices written, dropped */
  uint64_t last_tiers[3], last_os; /* counters last written (atomic) */
  struct fa__trace_s *next_open;   /* the list of open traces */
} trace_t;

typedef struct fa__trace_buf_s {
  fa__mutex_t lock;
  uint64_t gen;       /* the open the contents belong to */
  uint64_t named_gen; /* the open its thread_name event was written for */
  uint64_t batch_ns;  /* when the first event of the batch was added */
  uint64_t frames;    /* frame slices in the batch */
  size_t len;
  char data[]; /* BUF_SIZE bytes */
} trace_buf_t;

static fa__mutex_t open_lock = FA__MUTEX_INIT;
static trace_t *open_list;  /* under open_lock */
static int exit_registered; /* under open_lock */

/* ---- JSON ------------------------------------------------------------ */

/* An output cursor; every writer checks the room it has. */
typedef struct out_s {
  char *p, *end;
} out_t;

static void put_n(out_t *o, const char *s, size_t n) {
  if ((size_t)(o->end - o->p) < n)
    n = (size_t)(o->end - o->p);
  memcpy(o->p, s, n);
  o->p += n;
}

static void put(out_t *o, const char *s) { put_n(o, s, strlen(s)); }
/* A string literal: its length is known at compile time. */
#define PUT(o, lit) put_n((o), (lit), sizeof(lit) - 1)

static void put_u64(out_t *o, uint64_t v) {
  static const char pairs[] =
      "00010203040506070809101112131415161718192021222324"
      "25262728293031323334353637383940414243444546474849"
      "50515253545556575859606162636465666768697071727374"
      "75767778798081828384858687888990919293949596979899";
  char tmp[24];
  char *q = tmp + sizeof(tmp);
  while (v >= 100) {
    q -= 2;
    memcpy(q, pairs + (v % 100) * 2, 2);
    v /= 100;
  }
  if (v >= 10) {
    q -= 2;
    memcpy(q, pairs + v * 2, 2);
  } else {
    *--q = (char)('0' + v);
  }
  put_n(o, q, (size_t)(tmp + sizeof(tmp) - q));
}

/* Nanoseconds as microseconds with three decimals. */
static void put_us(out_t *o, uint64_t ns) {
  char frac[5] = {'.', (char)('0' + ns / 100 % 10), (char)('0' + ns / 10 % 10),
                  (char)('0' + ns % 10), 0};
  put_u64(o, ns / 1000);
  put_n(o, frac, 4);
}

/* A JSON string: quotes, backslashes and control characters escaped; the
 * runs between them copied whole. */
static void put_str(out_t *o, const char *s) {
  static const char hex[] = "0123456789abcdef";
  PUT(o, "\"");
  for (;;) {
    const char *run = s;
    while (*s && *s != '"' && *s != '\\' && (unsigned char)*s >= 0x20)
      s++;
    put_n(o, run, (size_t)(s - run));
    unsigned char c = (unsigned char)*s;
    if (!c)
      break;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put_n(o, e, 2);
    } else {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      put_n(o, e, 6);
    }
    s++;
  }
  PUT(o, "\"");
}

/* The common head of an event, {"ph":PH,"name":NAME,"pid":P,"tid":T, for
 * a literal PH and NAME that need no escaping. */
#define HEAD(o, ph, name, pid, tid)                                            \
  (PUT((o), "{\"ph\":\"" ph "\",\"name\":\"" name "\",\"pid\":"),              \
   put_u64((o), (uint64_t)(pid)), PUT((o), ",\"tid\":"), put_u64((o), (tid)))

/* A key (a literal) and a number. */
#define KEY_U64(o, key, v) (PUT((o), key), put_u64((o), (v)))

/* ---- Writing --------------------------------------------------------- */

/* Writes n bytes in one call; the trace's lock is held. Returns 0, or -1
 * after the first failure (the trace stops writing). */
static int write_locked(trace_t *tr, const char *p, size_t n) {
  if (tr->failed || tr->fd < 0)
    return -1;
  if (fa__os_file_write(tr->fd, p, n) != 0) {
    tr->failed = 1;
    return -1;
  }
  return 0;
}

static void report_failure(fa_allocator_t *a) {
  fa__diag(a, 8,
           "trace: a write to the trace file failed; the trace stops "
           "here (the file holds what was written before)");
}

/* Writes b's batch if it belongs to the open trace, else drops it; b's
 * lock is held. Returns -1 when this write failed first. */
static int flush_locked(trace_t *tr, trace_buf_t *b) {
  int first_failure = 0;
  if (!b->len)
    return 0;
  fa__os_lock(&tr->lock);
  if (FA__LOAD(&tr->on) && b->gen == FA__LOAD(&tr->gen) && !tr->failed) {
    if (write_locked(tr, b->data, b->len) == 0)
      tr->frames += b->frames;
    else
      first_failure = 1;
  }
  if (b->gen == FA__LOAD(&tr->gen) && (first_failure || tr->failed))
    tr->dropped += b->frames;
  fa__os_unlock(&tr->lock);
  b->len = 0;
  b->frames = 0;
  return first_failure ? -1 : 0;
}

static trace_buf_t *buf_get(fa__heap_t *h) {
  fa__tl_heap_t *t = h->tl;
  if (t->tbuf)
    return t->tbuf;
  trace_buf_t *b = fa__reserve(h->alloc, sizeof(*b) + BUF_SIZE, 64);
  if (!b)
    return NULL;
  memset(b, 0, sizeof(*b));
  if (fa__os_mutex_init(&b->lock) != 0) {
    fa__release(h->alloc, b, sizeof(*b) + BUF_SIZE);
    return NULL;
  }
  /* Published with release: a close reads the buffer through it. */
  __atomic_store_n(&t->tbuf, b, __ATOMIC_RELEASE);
  return b;
}

/* Makes b hold events of the open trace (an older open's are dropped) and
 * room for `need` bytes more. b's lock is held. Returns -1 on a write
 * failure. */
static int buf_ready(trace_t *tr, trace_buf_t *b, size_t need, uint64_t now) {
  uint64_t gen = FA__LOAD(&tr->gen);
  if (b->gen != gen) {
    b->len = 0;
    b->frames = 0;
    b->gen = gen;
  }
  if (!b->len)
    b->batch_ns = now;
  if (BUF_SIZE - b->len < need)
    return flush_locked(tr, b);
  return 0;
}

void fa__trace_frame(fa__heap_t *h, const fa_frame_record_t *r) {
  trace_t *tr = h->alloc->tl->trace;
  if (!FA__LOAD(&tr->on))
    return;
  trace_buf_t *b = buf_get(h);
  if (!b)
    return;
  const fa__tl_heap_t *t = h->tl;
  const fa__tl_t *tl = h->alloc->tl;
  int failed = 0;
  fa__os_lock(&b->lock);
  if (buf_ready(tr, b, FRAME_ROOM, r->end_ns) != 0)
    failed = 1;
  uint64_t start = FA__LOAD(&tr->start_ns);
  long pid = FA__LOAD(&tr->pid);
  unsigned tid = r->thread;
  uint64_t begin = r->begin_ns > start ? r->begin_ns - start : 0;
  uint64_t end = r->end_ns > start ? r->end_ns - start : 0;
  out_t o = {b->data + b->len, b->data + BUF_SIZE};
  if (b->named_gen != b->gen) {
    char name[32];
    snprintf(name, sizeof(name), "thread %u", tid);
    HEAD(&o, "M", "thread_name", pid, tid);
    PUT(&o, ",\"args\":{\"name\":");
    put_str(&o, name);
    PUT(&o, "}},\n");
    b->named_gen = b->gen;
  }
  static const char *const budget[] = {"ok", "soft", "hard"};
  HEAD(&o, "X", "frame", pid, tid);
  PUT(&o, ",\"cat\":\"frame\",\"ts\":");
  put_us(&o, begin);
  PUT(&o, ",\"dur\":");
  put_us(&o, end - begin);
  KEY_U64(&o, ",\"args\":{\"frame\":", r->frame);
  KEY_U64(&o, ",\"frame_bytes\":", r->frame_bytes);
  KEY_U64(&o, ",\"frame_peak\":", r->frame_peak);
  KEY_U64(&o, ",\"chunks\":", r->chunks);
  KEY_U64(&o, ",\"allocs\":", r->allocs);
  KEY_U64(&o, ",\"pool_bytes\":", r->pool_bytes);
  KEY_U64(&o, ",\"heap_bytes\":", r->heap_bytes);
  KEY_U64(&o, ",\"task_bytes\":", r->task_bytes);
  KEY_U64(&o, ",\"os_bytes\":", r->os_bytes);
  KEY_U64(&o, ",\"diagnostics\":", r->diagnostics);
  PUT(&o, ",\"budget\":\"");
  put(&o, budget[r->budget <= FA_BUDGET_HARD ? r->budget : FA_BUDGET_HARD]);
  PUT(&o, "\",\"tags\":{");
  for (unsigned i = 0; i < t->norder; i++) {
    fa_tag_t tag = t->order[i];
    if (i)
      PUT(&o, ",");
    put_str(&o, tl->names[tag]);
    KEY_U64(&o, ":{\"frame\":", t->bytes[tag][0]);
    KEY_U64(&o, ",\"pool\":", t->bytes[tag][1]);
    KEY_U64(&o, ",\"task\":", t->bytes[tag][2]);
    PUT(&o, "}");
  }
  PUT(&o, "}}},\n");
  HEAD(&o, "C", "frame bytes", pid, tid);
  KEY_U64(&o, ",\"id\":", tid);
  PUT(&o, ",\"ts\":");
  put_us(&o, end);
  KEY_U64(&o, ",\"args\":{\"frame\":", r->frame_bytes);
  PUT(&o, "}},\n");
  /* Allocator-wide counters, when they changed since the last written. */
  uint64_t tiers[3] = {r->pool_bytes, r->heap_bytes, r->task_bytes};
  int changed = 0;
  for (int i = 0; i < 3; i++)
    if (FA__LOAD(&tr->last_tiers[i]) != tiers[i]) {
      FA__STORE(&tr->last_tiers[i], tiers[i]);
      changed = 1;
    }
  if (changed) {
    HEAD(&o, "C", "tier bytes", pid, tid);
    PUT(&o, ",\"ts\":");
    put_us(&o, end);
    KEY_U64(&o, ",\"args\":{\"pool\":", tiers[0]);
    KEY_U64(&o, ",\"heap\":", tiers[1]);
    KEY_U64(&o, ",\"task\":", tiers[2]);
    PUT(&o, "}},\n");
  }
  if (__atomic_exchange_n(&tr->last_os, r->os_bytes, __ATOMIC_RELAXED) !=
      r->os_bytes) {
    HEAD(&o, "C", "os bytes", pid, tid);
    PUT(&o, ",\"ts\":");
    put_us(&o, end);
    KEY_U64(&o, ",\"args\":{\"os\":", r->os_bytes);
    PUT(&o, "}},\n");
  }
  b->len = (size_t)(o.p - b->data);
  b->frames++;
  if (b->len >= BUF_FLUSH || r->end_ns - b->batch_ns >= FLUSH_NS)
    failed |= flush_locked(tr, b) != 0;
  fa__os_unlock(&b->lock);
  if (failed)
    report_failure(h->alloc);
}

/* One instant event; into the thread's batch when it has one, else
 * written at once. */
void fa__trace_diag(fa_allocator_t *a, fa__heap_t *h, const fa_diag_t *d) {
  fa__tl_t *tl = __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE);
  trace_t *tr = tl ? __atomic_load_n(&tl->trace, __ATOMIC_ACQUIRE) : NULL;
  if (!tr || !FA__LOAD(&tr->on))
    return;
  char line[DIAG_ROOM];
  out_t o = {line, line + sizeof(line)};
  uint64_t now = fa__os_now_ns(), start = FA__LOAD(&tr->start_ns);
  const char *name = fa_diag_name(d->code);
  unsigned tid = h ? h->index : 0;
  if (!name)
    name = "FA000";
  PUT(&o, "{\"ph\":\"i\",\"s\":\"t\"");
  PUT(&o, ",\"name\":");
  put_str(&o, name);
  PUT(&o, ",\"cat\":\"diagnostic\"");
  KEY_U64(&o, ",\"pid\":", (uint64_t)FA__LOAD(&tr->pid));
  KEY_U64(&o, ",\"tid\":", tid);
  PUT(&o, ",\"ts\":");
  put_us(&o, now > start ? now - start : 0);
  PUT(&o, ",\"args\":{\"code\":");
  put_str(&o, name);
  PUT(&o, ",\"severity\":");
  put_str(&o, d->level == FA_LEVEL_ERROR ? "error" : "warning");
  PUT(&o, ",\"message\":");
  put_str(&o, d->message);
  PUT(&o, ",\"site\":\"\"}},\n");
  size_t n = (size_t)(o.p - line);
  int failed = 0;
  fa__tl_heap_t *t = h ? FA__LOAD(&h->tl) : NULL;
  trace_buf_t *b = t ? __atomic_load_n(&t->tbuf, __ATOMIC_ACQUIRE) : NULL;
  if (b) {
    fa__os_lock(&b->lock);
    if (buf_ready(tr, b, n, now) != 0)
      failed = 1;
    memcpy(b->data + b->len, line, n);
    b->len += n;
    fa__os_unlock(&b->lock);
  } else {
    fa__os_lock(&tr->lock);
    failed = FA__LOAD(&tr->on) && !tr->failed && write_locked(tr, line, n);
    fa__os_unlock(&tr->lock);
  }
  if (failed)
    report_failure(a);
}

/* ---- Open and close -------------------------------------------------- */

static trace_t *trace_get(fa_allocator_t *a, fa__tl_t *tl) {
  trace_t *tr = __atomic_load_n(&tl->trace, __ATOMIC_ACQUIRE);
  if (tr)
    return tr;
  trace_t *fresh = fa__reserve(a, sizeof(*fresh), 64);
  if (!fresh)
    return NULL;
  memset(fresh, 0, sizeof(*fresh));
  fresh->fd = -1;
  fresh->alloc = a;
  if (fa__os_mutex_init(&fresh->lock) != 0) {
    fa__release(a, fresh, sizeof(*fresh));
    return NULL;
  }
  fa__os_lock(&tl->lock);
  tr = tl->trace;
  if (!tr)
    __atomic_store_n(&tl->trace, tr = fresh, __ATOMIC_RELEASE);
  fa__os_unlock(&tl->lock);
  if (tr != fresh) {
    fa__os_mutex_destroy(&fresh->lock);
    fa__release(a, fresh, sizeof(*fresh));
  }
  return tr;
}

static void close_all_at_exit(void);

/* The first lines: the opening bracket, the process name, the
 * configuration. */
static size_t preamble(fa_allocator_t *a, fa__tl_t *tl, long pid, char *buf,
                       size_t size) {
  out_t o = {buf, buf + size};
  PUT(&o, "[\n");
  HEAD(&o, "M", "process_name", pid, 0);
  PUT(&o, ",\"args\":{\"name\":\"framealloc\"}},\n");
  HEAD(&o, "M", "framealloc", pid, 0);
  PUT(&o, ",\"args\":{\"version\":");
  put_str(&o, fa_version_string());
  KEY_U64(&o, ",\"frame_budget\":", a->frame_budget);
  KEY_U64(&o, ",\"history_frames\":", tl->history);
  PUT(&o, ",\"budgets\":[");
  int first = 1;
  uint32_t n = __atomic_load_n(&tl->tag_count, __ATOMIC_ACQUIRE);
  for (uint32_t i = 1; i <= n; i++) {
    if (!tl->soft[i] && !tl->hard[i])
      continue;
    put(&o, first ? "{\"tag\":" : ",{\"tag\":");
    first = 0;
    put_str(&o, tl->names[i]);
    KEY_U64(&o, ",\"soft\":", tl->soft[i]);
    KEY_U64(&o, ",\"hard\":", tl->hard[i]);
    PUT(&o, "}");
  }
  PUT(&o, "]}},\n");
  return (size_t)(o.p - buf);
}

static int trace_open(fa_allocator_t *a, const char *path, int from_env) {
  fa__tl_t *tl = fa__tl_get(a);
  trace_t *tr = tl ? trace_get(a, tl) : NULL;
  if (!tr)
    return FA_ENOMEM;
  /* The opening thread's state first, so that its frames are recorded. */
  fa__heap_t *h = fa__heap_get(a);
  if (h)
    fa__tl_heap(h);
  char pre[FA_TAG_MAX * 96 + 512];
  long pid = fa__os_pid();
  size_t n = preamble(a, tl, pid, pre, sizeof(pre));
  fa__os_lock(&tr->lock);
  if (FA__LOAD(&tr->on)) {
    fa__os_unlock(&tr->lock);
    fa__diag(a, 6,
             "fa_trace_open: a trace of this allocator is open "
             "already; close it first");
    return FA_ESTATE;
  }
  intptr_t fd = fa__os_file_create(path);
  if (fd < 0) {
    fa__os_unlock(&tr->lock);
    fa__diag(a, 8,
             "%s: cannot create the trace file \"%s\"; the program runs on "
             "without a trace",
             from_env ? "FA_TRACE" : "fa_trace_open", path);
    return FA_EIO;
  }
  tr->fd = fd;
  tr->failed = 0;
  tr->closing = 0;
  tr->frames = tr->dropped = 0;
  for (int i = 0; i < 3; i++)
    FA__STORE(&tr->last_tiers[i], NO_VALUE);
  FA__STORE(&tr->last_os, NO_VALUE);
  FA__STORE(&tr->pid, pid);
  FA__STORE(&tr->start_ns, fa__os_now_ns());
  FA__STORE(&tr->gen, tr->gen + 1);
  int rc = write_locked(tr, pre, n);
  if (rc == 0)
    FA__STORE(&tr->on, 1);
  else
    fa__os_file_close(fd), tr->fd = -1;
  fa__os_unlock(&tr->lock);
  if (rc != 0) {
    report_failure(a);
    return FA_EIO;
  }
  fa__os_lock(&open_lock);
  tr->next_open = open_list;
  open_list = tr;
  if (!exit_registered)
    exit_registered = atexit(close_all_at_exit) == 0;
  fa__os_unlock(&open_lock);
  return 0;
}

int fa_trace_open(fa_allocator_t *a, const char *path) {
  if (!a || !path || !*path) {
    fa__diag(a, 6, "fa_trace_open: %s",
             !a      ? "NULL allocator"
             : !path ? "NULL path"
                     : "empty path");
    return FA_EINVAL;
  }
  return trace_open(a, path, 0);
}

/* Closes tr: every thread's batch, the last event, the bracket. Returns
 * 0, FA_ESTATE (not open, or being closed) or FA_EIO. */
static int trace_close(trace_t *tr) {
  fa_allocator_t *a = tr->alloc;
  fa__os_lock(&tr->lock);
  if (!FA__LOAD(&tr->on) || tr->closing) {
    fa__os_unlock(&tr->lock);
    return FA_ESTATE;
  }
  tr->closing = 1;
  fa__os_unlock(&tr->lock);
  fa__os_lock(&open_lock);
  for (trace_t **pp = &open_list; *pp; pp = &(*pp)->next_open)
    if (*pp == tr) {
      *pp = tr->next_open;
      break;
    }
  fa__os_unlock(&open_lock);
  fa__os_lock(&a->lock);
  for (fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
    fa__tl_heap_t *t = __atomic_load_n(&h->tl, __ATOMIC_ACQUIRE);
    trace_buf_t *b = t ? __atomic_load_n(&t->tbuf, __ATOMIC_ACQUIRE) : NULL;
    if (!b)
      continue;
    fa__os_lock(&b->lock);
    if (b->gen == FA__LOAD(&tr->gen))
      flush_locked(tr, b);
    fa__os_unlock(&b->lock);
  }
  fa__os_unlock(&a->lock);
  char end[256];
  out_t o = {end, end + sizeof(end)};
  fa__os_lock(&tr->lock);
  HEAD(&o, "M", "trace_end", FA__LOAD(&tr->pid), 0);
  KEY_U64(&o, ",\"args\":{\"frames\":", tr->frames);
  KEY_U64(&o, ",\"dropped\":", tr->dropped);
  PUT(&o, "}}\n]\n");
  int rc = tr->failed ? -1 : write_locked(tr, end, (size_t)(o.p - end));
  int failed_now = rc != 0 && !tr->failed;
  fa__os_file_close(tr->fd);
  tr->fd = -1;
  FA__STORE(&tr->on, 0);
  tr->closing = 0;
  fa__os_unlock(&tr->lock);
  if (failed_now)
    report_failure(a);
  return rc ? FA_EIO : 0;
}

int fa_trace_close(fa_allocator_t *a) {
  if (!a) {
    fa__diag(NULL, 6, "fa_trace_close: NULL allocator");
    return FA_EINVAL;
  }
  fa__tl_t *tl = __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE);
  trace_t *tr = tl ? __atomic_load_n(&tl->trace, __ATOMIC_ACQUIRE) : NULL;
  int rc = tr ? trace_close(tr) : FA_ESTATE;
  if (rc == FA_ESTATE)
    fa__diag(a, 6, "fa_trace_close: no trace of this allocator is open");
  return rc;
}

/* Every trace still open at exit is closed, so that its file is whole. */
static void close_all_at_exit(void) {
  for (;;) {
    fa__os_lock(&open_lock);
    trace_t *tr = open_list;
    if (tr)
      open_list = tr->next_open;
    fa__os_unlock(&open_lock);
    if (!tr)
      break;
    trace_close(tr);
  }
}

void fa__trace_from_env(fa_allocator_t *a) {
  static unsigned traced; /* allocators traced through FA_TRACE (atomic) */
  const char *env = getenv("FA_TRACE");
  if (!env || !*env)
    return;
  unsigned k = __atomic_fetch_add(&traced, 1, __ATOMIC_RELAXED);
  char path[4096];
  if (k == 0)
    snprintf(path, sizeof(path), "%s", env);
  else
    snprintf(path, sizeof(path), "%s.%u", env, k + 1);
  trace_open(a, path, 1);
}

void fa__trace_heap_destroy(fa__heap_t *h) {
  trace_buf_t *b = h->tl ? h->tl->tbuf : NULL;
  if (!b)
    return;
  fa__os_mutex_destroy(&b->lock);
  fa__release(h->alloc, b, sizeof(*b) + BUF_SIZE);
  h->tl->tbuf = NULL;
}

void fa__trace_destroy(fa_allocator_t *a) {
  trace_t *tr = a->tl->trace;
  if (!tr)
    return;
  trace_close(tr);
  fa__os_mutex_destroy(&tr->lock);
  fa__release(a, tr, sizeof(*tr));
  a->tl->trace = NULL;
}
