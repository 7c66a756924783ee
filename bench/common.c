/* The measurement loop and the small helpers of common.h: environment
 * options, the clock, the median and the result line that run.sh parses. */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif
#include <time.h>

#ifdef BENCH_HAVE_CALLGRIND
#include <valgrind/callgrind.h>
#define BENCH_TOGGLE_COLLECT() CALLGRIND_TOGGLE_COLLECT
#else
#define BENCH_TOGGLE_COLLECT() ((void)0)
#endif

long bench_env_long(const char *name, long def) {
  const char *s = getenv(name);
  if (s == NULL || *s == '\0')
    return def;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0')
    return def;
  return v;
}

void bench_opts_from_env(bench_opts_t *o) {
  o->quick = bench_env_long("BENCH_QUICK", 0) != 0;
  long reps = bench_env_long("BENCH_REPS", o->quick ? 3 : 5);
  if (reps < 1)
    reps = 1;
  if (reps > BENCH_MAX_REPS)
    reps = BENCH_MAX_REPS;
  o->reps = (int)reps;
  o->callgrind = 0;
}

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long bench_maxrss_kib(void) {
#ifdef _WIN32
  return -1; /* not measured on Windows */
#else
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return -1;
  return ru.ru_maxrss; /* KiB on Linux */
#endif
}

_Noreturn void bench_fail(const char *msg) {
  fprintf(stderr, "fa-bench: %s\n", msg);
  exit(1);
}

void bench_measure(const bench_opts_t *o, void (*rep)(void *ctx), void *ctx,
                   bench_result_t *r) {
  /* The warm-up brings every variant to its steady state: arenas at their
   * high-water mark, caches filled, lazy per-thread state created. */
  rep(ctx);
  if (o->callgrind) {
    BENCH_TOGGLE_COLLECT();
    uint64_t t0 = bench_now_ns();
    rep(ctx);
    r->ns[0] = bench_now_ns() - t0;
    BENCH_TOGGLE_COLLECT();
    r->reps = 1;
    return;
  }
  for (int i = 0; i < o->reps; i++) {
    uint64_t t0 = bench_now_ns();
    rep(ctx);
    r->ns[i] = bench_now_ns() - t0;
  }
  r->reps = o->reps;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

void bench_print_result(const bench_result_t *r) {
  uint64_t s[BENCH_MAX_REPS];
  int n = r->reps;
  for (int i = 0; i < n; i++)
    s[i] = r->ns[i];
  qsort(s, (size_t)n, sizeof(s[0]), cmp_u64);
  /* Median; the mean of the middle two for an even count. */
  double med = n % 2 ? (double)s[n / 2]
                     : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2.0;
  printf("result\t%s\t%s\tmedian_ns=%.0f\tns_per_op=%.4f\tmin_ns=%llu"
         "\tmax_ns=%llu\tmaxrss_kib=%ld\tops=%llu\treps=%d\tcheck=%llu\n",
         r->workload, r->variant, med, med / (double)r->ops,
         (unsigned long long)s[0], (unsigned long long)s[n - 1],
         bench_maxrss_kib(), (unsigned long long)r->ops, n,
         (unsigned long long)r->check);
  fflush(stdout);
}
