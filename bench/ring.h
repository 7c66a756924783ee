/* A bounded single-producer single-consumer ring of object pointers, with
 * indices published in batches, and CPU pinning: the transport of the
 * cross-thread workloads (W3, W5). */
#ifndef BENCH_RING_H
#define BENCH_RING_H

#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>

#define RING_SIZE 4096 /* a power of two */
#define RING_BATCH 32  /* a power of two, well below RING_SIZE */
/* Pauses before a wait starts yielding: a few microseconds. A yield is a
 * system call, dear in a virtual machine; yielding early made the time of
 * one run swing by 3x on a 2-vCPU guest. */
#define RING_SPINS 2048

typedef struct ring_s {
  _Alignas(64) atomic_size_t head; /* next slot to fill; producer */
  _Alignas(64) atomic_size_t tail; /* next slot to empty; consumer */
  _Alignas(64) void *slot[RING_SIZE];
} ring_t;

/* Puts the calling thread on the n-th CPU it may run on, so that producer
 * and consumer always run on two cores at once (a scheduler that packs them
 * on one core turns the benchmark into a single-thread one). Does nothing
 * with fewer than two CPUs or fewer than n + 1. */
static inline void pin_to_cpu(int n) {
  cpu_set_t allowed, one;
  if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0 ||
      CPU_COUNT(&allowed) < 2)
    return;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &allowed) && n-- == 0) {
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
      return;
    }
  }
}

static inline void wait_a_bit(unsigned *spins) {
  if (++*spins < RING_SPINS)
    bench_cpu_relax();
  else
    sched_yield();
}

/* The producer's side. Indices are published every RING_BATCH entries, and
 * always before waiting, so that the two cores exchange the index cache
 * lines once per batch rather than once per object. */
static inline void ring_push(ring_t *r, size_t *head, size_t *tail_seen,
                             void *p) {
  if (*head - *tail_seen == RING_SIZE) {
    unsigned spins = 0;
    atomic_store_explicit(&r->head, *head, memory_order_release);
    while (*head - (*tail_seen =
                        atomic_load_explicit(&r->tail, memory_order_acquire)) ==
           RING_SIZE)
      wait_a_bit(&spins);
  }
  r->slot[*head & (RING_SIZE - 1)] = p;
  if ((++*head & (RING_BATCH - 1)) == 0)
    atomic_store_explicit(&r->head, *head, memory_order_release);
}

static inline void ring_flush(ring_t *r, size_t head) {
  atomic_store_explicit(&r->head, head, memory_order_release);
}

/* The consumer's side; see ring_push. */
static inline void *ring_pop(ring_t *r, size_t *tail, size_t *head_seen) {
  if (*tail == *head_seen) {
    unsigned spins = 0;
    atomic_store_explicit(&r->tail, *tail, memory_order_release);
    while (*tail ==
           (*head_seen = atomic_load_explicit(&r->head, memory_order_acquire)))
      wait_a_bit(&spins);
  }
  void *p = r->slot[*tail & (RING_SIZE - 1)];
  if ((++*tail & (RING_BATCH - 1)) == 0)
    atomic_store_explicit(&r->tail, *tail, memory_order_release);
  return p;
}

#endif /* BENCH_RING_H */
