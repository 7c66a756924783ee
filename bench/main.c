/* fa-bench: runs one variant of one workload and prints its result line.
 * run.sh starts one process per variant, so that the malloc peers can be
 * loaded with LD_PRELOAD and every peak RSS belongs to one variant.
 *
 *   fa-bench w1 VARIANT 64|mixed [--expect MALLOC] [--callgrind]
 *   fa-bench w2 VARIANT          [--expect MALLOC] [--callgrind]
 *   fa-bench w3 VARIANT          [--expect MALLOC]
 *   fa-bench w4 VARIANT          [--expect MALLOC] [--callgrind]
 *   fa-bench w5 VARIANT          [--expect MALLOC]
 *   fa-bench guard VARIANT THREADS
 *   fa-bench info                the active malloc and framealloc versions
 *
 * --expect fails the run unless the named malloc (glibc, mimalloc, jemalloc,
 * tcmalloc) is the one in use. Options from the environment: BENCH_REPS,
 * BENCH_QUICK, and BENCH_W1_FRAMES, BENCH_W2_OPS, BENCH_W3_OBJECTS,
 * BENCH_W4_SCOPES, BENCH_GUARD_ALLOCS. */
#include "common.h"
#include "peers.h"

#include <framealloc.h>
#include <stdio.h>
#include <string.h>

static int usage(void) {
  fprintf(
      stderr,
      "usage: fa-bench w1 VARIANT 64|mixed [--expect MALLOC] "
      "[--callgrind]\n"
      "       fa-bench w2|w3|w4|w5 VARIANT [--expect MALLOC] [--callgrind]\n"
      "       fa-bench guard VARIANT THREADS\n"
      "       fa-bench info\n"
      "W1 variants: fa fa-align0 bump malloc obstack apr talloc\n"
      "W2 variants: fa list malloc talloc\n"
      "W3 variants: fa malloc none\n"
      "W4 variants: fa bump malloc obstack obstack-first mi-heap apr "
      "apr-clear talloc\n"
      "guard variants: fa tracker\n");
  return 2;
}

int main(int argc, char **argv) {
  bench_opts_t o;
  bench_opts_from_env(&o);

  if (argc == 2 && strcmp(argv[1], "info") == 0) {
    char v[64];
    bench_malloc_version(v, sizeof(v));
    printf("malloc\t%s\t%s\nframealloc\t%s\n", bench_malloc_name(), v,
           fa_version_string());
    return 0;
  }

  const char *pos[3] = {NULL, NULL, NULL};
  const char *expect = NULL;
  int npos = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
      expect = argv[++i];
    else if (strcmp(argv[i], "--callgrind") == 0)
      o.callgrind = 1;
    else if (argv[i][0] != '-' && npos < 3)
      pos[npos++] = argv[i];
    else
      return usage();
  }
  if (npos < 2)
    return usage();

  if (expect != NULL && strcmp(expect, bench_malloc_name()) != 0) {
    fprintf(stderr, "fa-bench: expected malloc %s but %s is active\n", expect,
            bench_malloc_name());
    return 1;
  }

  int rc;
  if (strcmp(pos[0], "w1") == 0 && npos == 3)
    rc = bench_w1(&o, pos[1], pos[2]);
  else if (strcmp(pos[0], "w2") == 0 && npos == 2)
    rc = bench_w2(&o, pos[1]);
#ifndef BENCH_W1_W2_ONLY /* Windows: W1 and W2 only (bench/windows.sh) */
  else if (strcmp(pos[0], "w3") == 0 && npos == 2 && !o.callgrind)
    rc = bench_w3(&o, pos[1]);
  else if (strcmp(pos[0], "w4") == 0 && npos == 2)
    rc = bench_w4(&o, pos[1]);
  else if (strcmp(pos[0], "w5") == 0 && npos == 2 && !o.callgrind)
    rc = bench_w5(&o, pos[1]);
  else if (strcmp(pos[0], "guard") == 0 && npos == 3 && !o.callgrind)
    rc = bench_guard(&o, pos[1], pos[2]);
#endif
  else
    return usage();
  return rc == 2 ? usage() : rc;
}
