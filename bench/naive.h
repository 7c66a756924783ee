/* The physical references: the simplest correct inline bump pointer (W1)
 * and fixed-size free list (W2) one would write by hand for one thread.
 * They do what a frame or pool fast path must do and nothing more; their
 * state lives in memory like any allocator's, so the benchmark barriers
 * make them reload it as they make every other variant reload its own. */
#ifndef BENCH_NAIVE_H
#define BENCH_NAIVE_H

#include <stddef.h>
#include <stdint.h>

/* A bump pointer over one fixed buffer; reset by moving ptr back. */
typedef struct naive_bump_s {
  uintptr_t ptr;  /* next free byte */
  uintptr_t end;  /* one past the buffer */
  uintptr_t base; /* start of the buffer, where a reset goes back to */
} naive_bump_t;

/* size bytes aligned to 16 (what malloc and fa give), NULL when full. */
static inline void *naive_bump_alloc(naive_bump_t *b, size_t size) {
  uintptr_t p = (b->ptr + 15) & ~(uintptr_t)15;
  if (size > b->end - p)
    return NULL;
  b->ptr = p + size;
  return (void *)p;
}

static inline void naive_bump_reset(naive_bump_t *b) { b->ptr = b->base; }

/* Blocks of one size: a LIFO free list, refilled from a slab. */
typedef struct naive_list_s {
  void *free;  /* first free block; each holds the next one */
  char *next;  /* untouched part of the slab */
  char *end;   /* one past the slab */
  size_t size; /* block size, at least sizeof(void *) */
} naive_list_t;

static inline void *naive_list_alloc(naive_list_t *l) {
  void *b = l->free;
  if (b != NULL) {
    l->free = *(void **)b;
    return b;
  }
  if ((size_t)(l->end - l->next) < l->size)
    return NULL;
  b = l->next;
  l->next += l->size;
  return b;
}

static inline void naive_list_free(naive_list_t *l, void *b) {
  *(void **)b = l->free;
  l->free = b;
}

#endif /* BENCH_NAIVE_H */
