/* Helpers shared by the benchmark workloads: options from the environment,
 * a monotonic clock, a seeded xorshift generator, compiler barriers that
 * keep the measured work from being optimized away, and the measurement
 * loop that times repetitions and reports their median.
 *
 * Every workload file exposes one entry point, bench_wN(), that runs one
 * variant in the current process; main.c picks it from the command line. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* The C runtime of Windows has no aligned_alloc; the benchmark never frees
 * those blocks. */
#ifdef _WIN32
#include <malloc.h>
#define aligned_alloc(align, size) _aligned_malloc((size), (align))
#endif

/* ---- Options ----------------------------------------------------------- */

typedef struct bench_opts_s {
  int reps;      /* timed repetitions; BENCH_REPS, default 5 */
  int quick;     /* BENCH_QUICK=1: smaller workloads for a smoke run */
  int callgrind; /* --callgrind: one rep, collection toggled around it */
} bench_opts_t;

/* Reads BENCH_REPS and BENCH_QUICK. */
void bench_opts_from_env(bench_opts_t *o);

/* The integer in environment variable name, or def when unset or invalid. */
long bench_env_long(const char *name, long def);

/* ---- Results ----------------------------------------------------------- */

#define BENCH_MAX_REPS 64

/* What one variant produced; printed by bench_print_result. */
typedef struct bench_result_s {
  const char
      *workload; /* "w1-64", "w1-mixed", "w2", "w3", "w4", "w5", "guard-4t" */
  const char *variant; /* "fa", "bump", "glibc", ... */
  uint64_t ops;        /* operations in one repetition */
  int reps;
  uint64_t ns[BENCH_MAX_REPS]; /* wall time of each repetition */
  uint64_t check;              /* checksum of the work, printed */
} bench_result_t;

/* Runs rep(ctx) once untimed (warm-up), then o->reps times timed. With
 * o->callgrind the timed repetition is the only one whose instructions
 * callgrind collects. Fills r->ns and r->reps. */
void bench_measure(const bench_opts_t *o, void (*rep)(void *ctx), void *ctx,
                   bench_result_t *r);

/* Prints one tab-separated "result" line: workload, variant, median ns per
 * repetition, ns per operation, min and max, peak RSS in KiB, ops. */
void bench_print_result(const bench_result_t *r);

/* Peak resident set of this process so far, in KiB (getrusage). */
long bench_maxrss_kib(void);

/* Prints "fa-bench: msg" and exits with status 1; for allocation failures
 * and broken invariants inside a measured loop. */
_Noreturn void bench_fail(const char *msg);

/* ---- Inline helpers ---------------------------------------------------- */

/* Nanoseconds from CLOCK_MONOTONIC. */
uint64_t bench_now_ns(void);

/* xorshift64 (Marsaglia): fast, seedable, never returns 0 for seed != 0. */
static inline uint64_t bench_rand(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

/* A value in [0, n) without a division (Lemire's multiply-shift). */
static inline uint32_t bench_rand_below(uint64_t *s, uint32_t n) {
  return (uint32_t)(((bench_rand(s) >> 32) * (uint64_t)n) >> 32);
}

/* Tells the compiler that memory may be read and written here: stores to
 * the blocks happen, and allocator state kept in memory is reloaded. This
 * stands for "the caller does some work with the block" and is applied to
 * every variant alike. */
static inline void bench_clobber(void) {
  __asm__ __volatile__("" ::: "memory");
}

/* Like bench_clobber, and makes the compiler believe p is used. */
static inline void bench_escape(const void *p) {
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

/* A short pause inside a spin-wait loop. */
static inline void bench_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- Workloads --------------------------------------------------------- */

/* Each runs one variant and prints its result line; 0 on success, 2 for
 * an unknown variant or size, 1 when the variant cannot run here. */
int bench_w1(const bench_opts_t *o, const char *variant, const char *size);
int bench_w2(const bench_opts_t *o, const char *variant);
int bench_w3(const bench_opts_t *o, const char *variant);
int bench_w4(const bench_opts_t *o, const char *variant);
int bench_w5(const bench_opts_t *o, const char *variant);
/* threads: the number of threads filling the one batch, "1" to "64". */
int bench_guard(const bench_opts_t *o, const char *variant,
                const char *threads);

#endif /* BENCH_COMMON_H */
