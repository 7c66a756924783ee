/* Which malloc this process really runs on. The malloc peers (mimalloc,
 * jemalloc, tcmalloc) replace glibc's through LD_PRELOAD; each exports a
 * symbol of its own that is looked up at run time, so a run whose preload
 * silently failed is caught instead of being reported under a wrong name. */
#ifndef BENCH_PEERS_H
#define BENCH_PEERS_H

#include <stddef.h>

/* The active malloc: "glibc", "mimalloc", "jemalloc" or "tcmalloc". */
const char *bench_malloc_name(void);

/* Writes the active malloc's own version string into buf. */
void bench_malloc_version(char *buf, size_t len);

#endif /* BENCH_PEERS_H */
