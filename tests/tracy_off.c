/* tracy_off.c: <framealloc/tracy.h> without TRACY_ENABLE (part of
 * test_tracy). */
#include <framealloc/tracy.h>

int tracy_off_hooks_are_null(void);

int tracy_off_hooks_are_null(void) {
  fa_hooks_t h;
  fa_tracy_hooks(&h);
  return !h.on_alloc && !h.on_free && !h.on_frame_discard && !h.user;
}
