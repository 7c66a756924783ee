/* The program generator of the fa-check source fuzz target: turns fuzz
 * bytes into a C file that uses the allocator API (frames, allocations,
 * aliases, awaits, spawns, loops, branches) and knows the answer the
 * checker must give on it: the lines of the FA702 (and, when asked, FA604)
 * findings, computed on the generator's own control-flow graph under the
 * semantics of docs/fa-check.md. */
#ifndef FC_GEN_H
#define FC_GEN_H

#include <stddef.h>
#include <stdint.h>

/* The text every fuzzed file starts with (both modes): the includes and the
 * declarations the generated functions call. */
extern const char gen_prelude[];

typedef struct gen_lines_s {
  unsigned *v;
  size_t n, cap;
} gen_lines_t;

#define GEN_MAX_FNS 3
#define GEN_MAX_SITES 32 /* frame allocation sites per function */

/* A read of a variable that may hold frame memory whose frame has ended:
 * where FA604 may be reported. The checker reports each (variable, site)
 * pair once, at the first such read it meets, listing every ended site the
 * read reaches; which read comes first is its own business, so the oracle
 * checks what does not depend on it (see fuzz_check_source.c). */
typedef struct gen_use_s {
  unsigned line;
  int fn, var;
  uint64_t ended; /* the sites, by index in the function */
  int reported;   /* set by the target: a finding was made here */
} gen_use_t;

typedef struct gen_s {
  char *text; /* the whole C file, NUL-terminated */
  size_t len;
  gen_lines_t fa702; /* expected lines, sorted, each once */
  gen_use_t *uses;   /* FA604 candidates, when asked */
  size_t nuses, capuses;
  int nfn;
  unsigned site_line[GEN_MAX_FNS][GEN_MAX_SITES];
} gen_t;

/* Builds a program from `data`. `with_604` adds fa_end_frame /
 * fa_begin_frame statements and the FA604 candidates. */
void gen_build(const uint8_t *data, size_t size, int with_604, gen_t *g);
void gen_free(gen_t *g);

/* Adds a line to a sorted set (no duplicates). */
void gen_lines_add(gen_lines_t *l, unsigned line);

#endif
