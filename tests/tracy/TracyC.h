/* A stand-in for Tracy's TracyC.h, for test_tracy only: the memory macros
 * with the signatures of Tracy's documented C API (TracyCAllocN(ptr, size,
 * name), TracyCFreeN(ptr, name), TracyCMemoryDiscard(name)), each
 * recording the call instead of sending it to a profiler. */
#ifndef FA_TEST_TRACYC_H
#define FA_TEST_TRACYC_H

#include <stddef.h>

void fake_tracy_alloc(const void *ptr, size_t size, const char *name);
void fake_tracy_free(const void *ptr, const char *name);
void fake_tracy_discard(const char *name);

#define TracyCAllocN(ptr, size, name) fake_tracy_alloc((ptr), (size), (name))
#define TracyCFreeN(ptr, name) fake_tracy_free((ptr), (name))
#define TracyCMemoryDiscard(name) fake_tracy_discard((name))

#endif
