/* Forced in before the headers under check: the standard headers they
 * include come first, then every GNU-only construct is poisoned, so a GNU
 * token that the preprocessor paths of MSVC reach is a compile error. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#ifdef FA_MSVC_CHECK_HPP
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>
/* MinGW-w64's headers define some of them away outside GCC. */
#undef __attribute__
#undef __extension__
#undef __typeof__
#undef __asm__
#endif

#pragma GCC poison __attribute__ __typeof__ __typeof typeof __thread
#pragma GCC poison __builtin_expect __atomic_load_n __atomic_store_n
#pragma GCC poison __atomic_fetch_add __atomic_fetch_or __atomic_exchange_n
#pragma GCC poison __atomic_compare_exchange_n __sync_synchronize
#pragma GCC poison __asm__ __asm __extension__
