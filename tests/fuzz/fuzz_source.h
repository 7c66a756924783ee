/* fuzz_source.h: the memory source of the allocator fuzzer.
 *
 * Each allocator under test gets one. It serves requests from the C
 * library, keeps every outstanding block so that a release of an unknown
 * pointer or of a wrong size stops the run, counts what the allocator
 * holds (to compare with os_bytes and os_requests of fa_get_stats) and
 * fails the next N requests when the fuzz input asks for it. New memory is
 * filled with garbage: the contract does not promise zeroed memory. */
#ifndef FA_FUZZ_SOURCE_H
#define FA_FUZZ_SOURCE_H

#include <framealloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fz_block_s {
  uintptr_t p;
  size_t size;
} fz_block_t;

typedef struct fz_source_s {
  fa_memory_source_t src; /* what fa_config_t.memory_source points to */
  pthread_mutex_t lock;
  uint64_t reserves;    /* reserve calls, failed ones included */
  uint64_t failures;    /* reserve calls failed on purpose */
  uint64_t fail_next;   /* how many of the next calls fail */
  uint64_t outstanding; /* bytes reserved and not yet released */
  fz_block_t *blocks;   /* the outstanding blocks */
  size_t nblocks, cap;
} fz_source_t;

void fz_source_init(fz_source_t *s);
/* Frees what is still outstanding and the bookkeeping. */
void fz_source_destroy(fz_source_t *s);
/* The next n reserve calls fail. */
void fz_source_fail_next(fz_source_t *s, uint64_t n);
/* Consistent reads of the counters. */
uint64_t fz_source_reserves(fz_source_t *s);
uint64_t fz_source_failures(fz_source_t *s);
uint64_t fz_source_outstanding(fz_source_t *s);
/* The outstanding block that holds p: its size, and its start in *start;
 * 0 when p is in none. */
size_t fz_source_block_of(fz_source_t *s, const void *p, uintptr_t *start);

/* What the harness is doing, printed by fz_fail; NULL: nothing to say. */
extern const char *fz_context;
extern int fz_context_index;

/* Stops the run with a message naming the broken invariant: libFuzzer
 * keeps the input that led here. */
void fz_fail(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2), noreturn))
#endif
    ;

#endif /* FA_FUZZ_SOURCE_H */
