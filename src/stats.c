/* Statistics, merged on read so that no allocation path pays for them:
 * frame bytes from the bump pointers, pool blocks from per-thread counts,
 * the rest from counters of the out-of-line paths. */
#include "internal.h"

static uint64_t clamp(int64_t v) { return v > 0 ? (uint64_t)v : 0; }

int fa_get_stats(fa_allocator_t *a, fa_stats_t *out) {
  if (!a || !out)
    return FA_EINVAL;
  memset(out, 0, sizeof(*out));
  /* Pool blocks: the allocations counted by every thread, less the
   * frees. Every allocation count is read before any free count, and
   * counts only grow, so the difference never exceeds the blocks live at
   * one moment between the two passes, while threads run. */
  int64_t blocks = 0, bytes = 0;
  fa__os_lock(&a->lock);
  for (const fa__heap_t *h = a->heaps; h; h = h->next_in_alloc)
    for (unsigned c = 1; c <= FA__CLASSES; c++) {
      /* Acquire, though the owner's stores are relaxed (no pair): it keeps
       * the loads of the free counts below from moving above this one, on
       * every CPU the library targets. */
      uint64_t n = __atomic_load_n(&h->h.pool_allocs[c], __ATOMIC_ACQUIRE);
      blocks += (int64_t)n;
      bytes += (int64_t)(n * fa__class_size[c]);
    }
  for (const fa__heap_t *h = a->heaps; h; h = h->next_in_alloc)
    for (unsigned c = 1; c <= FA__CLASSES; c++) {
      uint64_t n = FA__LOAD(&h->h.pool_frees[c]);
      blocks -= (int64_t)n;
      bytes -= (int64_t)(n * fa__class_size[c]);
    }
  for (unsigned c = 1; c <= FA__CLASSES; c++) {
    uint64_t n = FA__LOAD(&a->orphan_frees[c]);
    blocks -= (int64_t)n;
    bytes -= (int64_t)(n * fa__class_size[c]);
  }
  out->task_bytes = fa__page_task_bytes(a);
  for (const fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
    uint64_t now = fa__frame_in_use(h);
    uint64_t peak = FA__LOAD(&h->frame_peak);
    out->frame_bytes += now;
    if (now > peak)
      peak = now;
    if (peak > out->frame_peak)
      out->frame_peak = peak;
    out->frames += FA__LOAD(&h->frames);
  }
  fa__os_unlock(&a->lock);
  out->pool_count = clamp(blocks) + FA__LOAD(&a->fb_count);
  out->pool_bytes = clamp(bytes) + FA__LOAD(&a->fb_bytes);
  out->heap_bytes = FA__LOAD(&a->heap_bytes);
  out->heap_count = FA__LOAD(&a->heap_count);
  out->os_bytes = FA__LOAD(&a->os_bytes);
  out->os_requests = FA__LOAD(&a->os_requests);
  return 0;
}
