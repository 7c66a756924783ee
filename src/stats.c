/* Statistics: per-thread counters and bump pointers merged on read, so
 * that no allocation path pays for them. */
#include "internal.h"

static uint64_t clamp(int64_t v) { return v > 0 ? (uint64_t)v : 0; }

int fa_get_stats(fa_allocator_t *a, fa_stats_t *out) {
  if (!a || !out)
    return FA_EINVAL;
  memset(out, 0, sizeof(*out));
  int64_t blocks = 0, bytes = 0;
  fa__os_lock(&a->lock);
  for (const fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
    uint64_t now = fa__frame_in_use(h);
    uint64_t peak = FA__LOAD(&h->frame_peak);
    out->frame_bytes += now;
    if (now > peak)
      peak = now;
    if (peak > out->frame_peak)
      out->frame_peak = peak;
    out->frames += FA__LOAD(&h->frames);
    for (unsigned c = 1; c <= FA__CLASSES; c++) {
      int64_t n = FA__LOAD(&h->h.live[c]);
      blocks += n;
      bytes += n * (int64_t)fa__class_size[c];
    }
  }
  fa__os_unlock(&a->lock);
  for (unsigned c = 1; c <= FA__CLASSES; c++) {
    int64_t n = (int64_t)FA__LOAD(&a->orphan_frees[c]);
    blocks -= n;
    bytes -= n * (int64_t)fa__class_size[c];
  }
  out->pool_count = clamp(blocks) + FA__LOAD(&a->fb_count);
  out->pool_bytes = clamp(bytes) + FA__LOAD(&a->fb_bytes);
  out->heap_bytes = FA__LOAD(&a->heap_bytes);
  out->heap_count = FA__LOAD(&a->heap_count);
  out->task_bytes = FA__LOAD(&a->task_bytes);
  out->os_bytes = FA__LOAD(&a->os_bytes);
  out->os_requests = FA__LOAD(&a->os_requests);
  return 0;
}
