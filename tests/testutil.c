/* testutil.c: the diagnostic collector, the counting and fault-injecting
 * memory source and the payload patterns shared by the tests. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef _WIN32
#include <malloc.h>
#include <windows.h>
#endif

/* Windows has no posix_memalign; its aligned blocks need _aligned_free. */
int test_block_alloc(void **p, size_t align, size_t size) {
#ifdef _WIN32
  *p = _aligned_malloc(size, align);
  return *p ? 0 : -1;
#else
  return posix_memalign(p, align, size);
#endif
}

void test_block_free(void *p) {
#ifdef _WIN32
  _aligned_free(p);
#else
  free(p);
#endif
}

/* ---- Diagnostics ------------------------------------------------------ */

void diag_log_init(diag_log_t *log) {
  memset(log, 0, sizeof(*log));
  pthread_mutex_init(&log->lock, NULL);
}

void diag_log_destroy(diag_log_t *log) { pthread_mutex_destroy(&log->lock); }

void diag_log_clear(diag_log_t *log) {
  pthread_mutex_lock(&log->lock);
  log->total = 0;
  log->bad = 0;
  log->nrecs = 0;
  memset(log->by_code, 0, sizeof(log->by_code));
  memset(log->levels, 0, sizeof(log->levels));
  pthread_mutex_unlock(&log->lock);
}

void diag_log_fn(const fa_diag_t *d, void *user) {
  diag_log_t *log = user;
  pthread_mutex_lock(&log->lock);
  log->total++;
  if (!d->message || !d->message[0] || strchr(d->message, '\n'))
    log->bad++;
  if (d->code >= 0 && d->code < DIAG_LOG_CODES) {
    log->by_code[d->code]++;
    log->levels[d->code] = d->level;
  }
  if (log->nrecs < DIAG_LOG_RECORDS) {
    diag_rec_t *r = &log->recs[log->nrecs++];
    r->code = d->code;
    r->level = d->level;
    snprintf(r->message, sizeof(r->message), "%s",
             d->message ? d->message : "");
  }
  pthread_mutex_unlock(&log->lock);
}

int diag_log_count(diag_log_t *log, int code) {
  int n = 0;
  if (code < 0 || code >= DIAG_LOG_CODES)
    return 0;
  pthread_mutex_lock(&log->lock);
  n = log->by_code[code];
  pthread_mutex_unlock(&log->lock);
  return n;
}

int diag_log_total(diag_log_t *log) {
  int n;
  pthread_mutex_lock(&log->lock);
  n = log->total;
  pthread_mutex_unlock(&log->lock);
  return n;
}

int diag_log_level(diag_log_t *log, int code) {
  int n = 0;
  if (code < 0 || code >= DIAG_LOG_CODES)
    return 0;
  pthread_mutex_lock(&log->lock);
  n = log->levels[code];
  pthread_mutex_unlock(&log->lock);
  return n;
}

void diag_log_config(diag_log_t *log, fa_config_t *cfg) {
  cfg->on_diagnostic = diag_log_fn;
  cfg->diagnostic_user = log;
}

/* ---- Counting, fault-injecting memory source --------------------------- */

/* New memory is filled with this byte, at most this many bytes of it. */
#define GARBAGE 0xA5
#define GARBAGE_MAX ((size_t)4 << 20)

static int add_block(test_source_t *s, void *p, size_t size) {
  if (s->nblocks == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 64;
    test_block_t *b = realloc(s->blocks, cap * sizeof(*b));
    if (!b)
      return -1;
    s->blocks = b;
    s->cap = cap;
  }
  s->blocks[s->nblocks].p = p;
  s->blocks[s->nblocks].size = size;
  s->nblocks++;
  return 0;
}

static void *source_reserve(size_t size, size_t align, void *user) {
  test_source_t *s = user;
  void *p = NULL;
  int64_t index;
  int fail;

  pthread_mutex_lock(&s->lock);
  index = (int64_t)s->reserves++;
  fail = s->fail_at >= 0 && index >= s->fail_at &&
         (uint64_t)(index - s->fail_at) < s->fail_count;
  if (size == 0 || align == 0 || (align & (align - 1)) != 0) {
    s->bad_requests++;
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  if (fail) {
    s->failures++;
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  if (size > TEST_SOURCE_MAX || align > TEST_SOURCE_MAX) {
    s->refused++;
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  if (test_block_alloc(&p, align < sizeof(void *) ? sizeof(void *) : align,
                       size) != 0)
    p = NULL;
  if (p && add_block(s, p, size) != 0) {
    test_block_free(p);
    p = NULL;
  }
  if (p) {
    s->outstanding += size;
    if (s->outstanding > s->peak)
      s->peak = s->outstanding;
  }
  pthread_mutex_unlock(&s->lock);
  if (p)
    memset(p, GARBAGE, size < GARBAGE_MAX ? size : GARBAGE_MAX);
  return p;
}

static void source_release(void *p, size_t size, void *user) {
  test_source_t *s = user;
  size_t i;

  pthread_mutex_lock(&s->lock);
  s->releases++;
  for (i = s->nblocks; i-- > 0;) {
    if (s->blocks[i].p == p)
      break;
  }
  if (i == (size_t)-1 || s->blocks[i].size != size) {
    /* Unknown, or the wrong size: keep the block, so that its memory is
     * still accounted for, and let the test see the count. */
    s->bad_releases++;
    pthread_mutex_unlock(&s->lock);
    return;
  }
  s->outstanding -= size;
  s->blocks[i] = s->blocks[--s->nblocks];
  pthread_mutex_unlock(&s->lock);
  test_block_free(p);
}

void test_source_init(test_source_t *s) {
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  s->src.reserve = source_reserve;
  s->src.release = source_release;
  s->src.user = s;
  s->fail_at = -1;
}

void test_source_destroy(test_source_t *s) {
  size_t i;
  for (i = 0; i < s->nblocks; i++)
    test_block_free(s->blocks[i].p);
  free(s->blocks);
  s->blocks = NULL;
  s->nblocks = s->cap = 0;
  pthread_mutex_destroy(&s->lock);
}

void test_source_arm(test_source_t *s, int64_t n, uint64_t count) {
  pthread_mutex_lock(&s->lock);
  s->fail_at = n < 0 ? -1 : n;
  s->fail_count = count;
  pthread_mutex_unlock(&s->lock);
}

static uint64_t read_counter(test_source_t *s, const uint64_t *c) {
  uint64_t v;
  pthread_mutex_lock(&s->lock);
  v = *c;
  pthread_mutex_unlock(&s->lock);
  return v;
}

uint64_t test_source_outstanding(test_source_t *s) {
  return read_counter(s, &s->outstanding);
}

uint64_t test_source_reserves(test_source_t *s) {
  return read_counter(s, &s->reserves);
}

uint64_t test_source_failures(test_source_t *s) {
  return read_counter(s, &s->failures);
}

uint64_t test_source_bad(test_source_t *s) {
  uint64_t v;
  pthread_mutex_lock(&s->lock);
  v = s->bad_requests + s->bad_releases;
  pthread_mutex_unlock(&s->lock);
  return v;
}

/* ---- Small helpers ---------------------------------------------------- */

void *volatile test_sink;

uint64_t test_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15u;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

static unsigned char pattern_byte(uint64_t key, size_t i) {
  return (unsigned char)((key >> (8 * (i & 7))) + (i >> 3) * 131u);
}

void test_fill(void *p, size_t n, uint64_t key) {
  unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++)
    b[i] = pattern_byte(key, i);
}

size_t test_check(const void *p, size_t n, uint64_t key) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i] != pattern_byte(key, i))
      return i;
  return n;
}

int test_aligned(const void *p, size_t align) {
  return align != 0 && ((uintptr_t)p & (align - 1)) == 0;
}

size_t test_page_size(void) {
#ifdef _WIN32
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  size_t page = si.dwPageSize ? (size_t)si.dwPageSize : 4096;
#else
  long v = sysconf(_SC_PAGESIZE);
  size_t page = v > 0 ? (size_t)v : 4096;
#endif
#ifdef FA_PAGE_SIZE_OVERRIDE
  const char *env = getenv("FA_TEST_PAGE_SIZE");
  if (env && *env) {
    char *end;
    unsigned long want = strtoul(env, &end, 0);
    if (*end == '\0' && want >= page && want <= ((size_t)1 << 20) &&
        (want & (want - 1)) == 0)
      page = (size_t)want;
  }
#endif
  return page;
}
