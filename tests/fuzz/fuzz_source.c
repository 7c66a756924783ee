/* fuzz_source.c: the counting, fault-injecting memory source of the
 * allocator fuzzer (see fuzz_source.h). */
#define _POSIX_C_SOURCE 200809L
#include "fuzz_source.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GARBAGE_BYTE 0xa5

const char *fz_context;
int fz_context_index;

void fz_fail(const char *fmt, ...) {
  va_list ap;
  sigset_t sigs;
  /* The replay driver's SIGALRM timer must not cut the message short (a
   * write to a full pipe gives up on EINTR). */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGALRM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  va_start(ap, fmt);
  fprintf(stderr, "fuzz_alloc: invariant broken");
  if (fz_context)
    fprintf(stderr, " after op %d (%s)", fz_context_index, fz_context);
  fprintf(stderr, ": ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

static void *src_reserve(size_t size, size_t align, void *user) {
  fz_source_t *s = user;
  void *p = NULL;
  if (size == 0 || (align & (align - 1)) != 0)
    fz_fail("memory source: bad request of %zu bytes at alignment %zu", size,
            align);
  pthread_mutex_lock(&s->lock);
  s->reserves++;
  if (s->fail_next) {
    s->fail_next--;
    s->failures++;
    pthread_mutex_unlock(&s->lock);
    return NULL;
  }
  if (s->nblocks == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    fz_block_t *b = realloc(s->blocks, cap * sizeof(*b));
    if (!b)
      fz_fail("memory source: out of host memory");
    s->blocks = b;
    s->cap = cap;
  }
  if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                     size) != 0)
    fz_fail("memory source: host refused %zu bytes", size);
  memset(p, GARBAGE_BYTE, size);
  s->blocks[s->nblocks].p = (uintptr_t)p;
  s->blocks[s->nblocks].size = size;
  s->nblocks++;
  s->outstanding += size;
  pthread_mutex_unlock(&s->lock);
  return p;
}

static void src_release(void *p, size_t size, void *user) {
  fz_source_t *s = user;
  size_t i;
  pthread_mutex_lock(&s->lock);
  for (i = 0; i < s->nblocks; i++)
    if (s->blocks[i].p == (uintptr_t)p)
      break;
  if (i == s->nblocks || s->blocks[i].size != size)
    fz_fail("memory source: release of %p (%zu bytes) that was not reserved "
            "so",
            p, size);
  s->outstanding -= size;
  s->blocks[i] = s->blocks[--s->nblocks];
  pthread_mutex_unlock(&s->lock);
  free(p);
}

void fz_source_init(fz_source_t *s) {
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  s->src.reserve = src_reserve;
  s->src.release = src_release;
  s->src.user = s;
}

void fz_source_destroy(fz_source_t *s) {
  for (size_t i = 0; i < s->nblocks; i++)
    free((void *)s->blocks[i].p);
  free(s->blocks);
  pthread_mutex_destroy(&s->lock);
}

void fz_source_fail_next(fz_source_t *s, uint64_t n) {
  pthread_mutex_lock(&s->lock);
  s->fail_next = n;
  pthread_mutex_unlock(&s->lock);
}

static uint64_t read_locked(fz_source_t *s, const uint64_t *field) {
  pthread_mutex_lock(&s->lock);
  uint64_t v = *field;
  pthread_mutex_unlock(&s->lock);
  return v;
}

uint64_t fz_source_reserves(fz_source_t *s) {
  return read_locked(s, &s->reserves);
}
uint64_t fz_source_failures(fz_source_t *s) {
  return read_locked(s, &s->failures);
}
uint64_t fz_source_outstanding(fz_source_t *s) {
  return read_locked(s, &s->outstanding);
}

size_t fz_source_block_of(fz_source_t *s, const void *p, uintptr_t *start) {
  size_t size = 0;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->nblocks; i++) {
    if ((uintptr_t)p >= s->blocks[i].p &&
        (uintptr_t)p - s->blocks[i].p < s->blocks[i].size) {
      *start = s->blocks[i].p;
      size = s->blocks[i].size;
      break;
    }
  }
  pthread_mutex_unlock(&s->lock);
  return size;
}
