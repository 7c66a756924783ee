/* For the <framealloc.hpp> check only: MinGW-w64's C headers give the
 * MinGW C++ standard library its C layer, but in MSVC mode a few of their
 * attribute macros expand to a __declspec after the declarator, which MSVC
 * syntax does not allow. They are emptied once _mingw.h has set them. */
#include <_mingw.h>
#undef __MINGW_NOTHROW
#define __MINGW_NOTHROW
#undef __MINGW_ATTRIB_NORETURN
#define __MINGW_ATTRIB_NORETURN
#undef __MINGW_ATTRIB_DEPRECATED
#define __MINGW_ATTRIB_DEPRECATED
