/* Identifies the malloc in use by the symbols it exports (mi_version,
 * mallctl, tc_version), found with dlsym over the whole process. */
#include "peers.h"

#ifndef _WIN32
#include <dlfcn.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef int (*mi_version_fn)(void);
typedef int (*mallctl_fn)(const char *name, void *oldp, size_t *oldlenp,
                          void *newp, size_t newlen);
typedef const char *(*tc_version_fn)(int *major, int *minor,
                                     const char **patch);
typedef const char *(*libc_version_fn)(void);

/* dlsym returns void *; the cast to a function pointer goes through an
 * integer so that -Wpedantic accepts it (POSIX guarantees it works). */
#ifdef _WIN32
static void *lookup(const char *sym) { /* the C runtime's malloc only */
  (void)sym;
  return NULL;
}
#else
static void *lookup(const char *sym) { return dlsym(RTLD_DEFAULT, sym); }
#endif
#define LOOKUP(T, sym) ((T)(uintptr_t)lookup(sym))

const char *bench_malloc_name(void) {
  if (lookup("mi_version"))
    return "mimalloc";
  if (lookup("mallctl"))
    return "jemalloc";
  if (lookup("tc_version"))
    return "tcmalloc";
#ifdef _WIN32
  return "msvcrt";
#else
  return "glibc";
#endif
}

void bench_malloc_version(char *buf, size_t len) {
  const char *name = bench_malloc_name();
  if (strcmp(name, "mimalloc") == 0) {
    int v = LOOKUP(mi_version_fn, "mi_version")();
    snprintf(buf, len, "%d.%d.%d", v / 100, v / 10 % 10, v % 10);
  } else if (strcmp(name, "jemalloc") == 0) {
    const char *v = "?";
    size_t sz = sizeof(v);
    LOOKUP(mallctl_fn, "mallctl")("version", &v, &sz, NULL, 0);
    snprintf(buf, len, "%.*s", (int)strcspn(v, "-"), v);
  } else if (strcmp(name, "tcmalloc") == 0) {
    int major = 0, minor = 0;
    const char *patch = "";
    LOOKUP(tc_version_fn, "tc_version")(&major, &minor, &patch);
    snprintf(buf, len, "%d.%d%s", major, minor, patch ? patch : "");
  } else {
    libc_version_fn f = LOOKUP(libc_version_fn, "gnu_get_libc_version");
    snprintf(buf, len, "%s", f ? f() : "?");
  }
}
