/* The two functions of <string.h> that <framealloc.h> uses, for the header
 * check in MSVC mode, which runs without the Windows SDK (see check.sh). */
#ifndef FA_MSVC_STUB_STRING_H
#define FA_MSVC_STUB_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
#ifdef __cplusplus
}
#endif
#endif
