/* Telling ASan and Valgrind what the allocator knows: which bytes are
 * handed out and which are dead. Tracking builds take the out-of-line path
 * for every operation so these calls see all of them; release builds
 * without a tool compile them to nothing. */
#ifndef FA_TRACK_H
#define FA_TRACK_H

#include <stddef.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FA_TRACK_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(FA_TRACK_ASAN)
#define FA_TRACK_ASAN 1
#endif

#if defined(FA_TRACK_ASAN)
#include <sanitizer/asan_interface.h>
#define fa__track_dead(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define fa__track_live(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define fa__track_always() 1
#elif defined(FA_VALGRIND)
#include <valgrind/memcheck.h>
#define fa__track_dead(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS((p), (n)))
#define fa__track_live(p, n) ((void)VALGRIND_MAKE_MEM_UNDEFINED((p), (n)))
#define fa__track_always() (RUNNING_ON_VALGRIND != 0)
#else
#define fa__track_dead(p, n) ((void)(p), (void)(n))
#define fa__track_live(p, n) ((void)(p), (void)(n))
#define fa__track_always() 0
#endif

#endif /* FA_TRACK_H */
