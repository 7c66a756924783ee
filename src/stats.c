/* Statistics, merged on read so that no allocation path pays for them:
 * frame bytes from the bump pointers, pool blocks from the pages' used
 * counts, the rest from counters of the out-of-line paths. */
#include "internal.h"

static uint64_t clamp(int64_t v) { return v > 0 ? (uint64_t)v : 0; }

int fa_get_stats(fa_allocator_t *a, fa_stats_t *out) {
  if (!a || !out)
    return FA_EINVAL;
  memset(out, 0, sizeof(*out));
  /* Pool blocks: the used counts of all pages, less the blocks freed by
   * other threads that their owner has not collected yet. */
  uint64_t blocks, bytes;
  int64_t pending = (int64_t)FA__LOAD(&a->orphan_blocks);
  int64_t pending_bytes = (int64_t)FA__LOAD(&a->orphan_bytes);
  fa__os_lock(&a->lock);
  fa__page_count_used(a, &blocks, &bytes, &out->task_bytes);
  for (const fa__heap_t *h = a->heaps; h; h = h->next_in_alloc) {
    uint64_t now = fa__frame_in_use(h);
    uint64_t peak = FA__LOAD(&h->frame_peak);
    out->frame_bytes += now;
    if (now > peak)
      peak = now;
    if (peak > out->frame_peak)
      out->frame_peak = peak;
    out->frames += FA__LOAD(&h->frames);
    pending += (int64_t)(FA__LOAD(&h->sent_blocks) - FA__LOAD(&h->got_blocks));
    pending_bytes +=
        (int64_t)(FA__LOAD(&h->sent_bytes) - FA__LOAD(&h->got_bytes));
  }
  fa__os_unlock(&a->lock);
  out->pool_count = clamp((int64_t)blocks - pending) + FA__LOAD(&a->fb_count);
  out->pool_bytes =
      clamp((int64_t)bytes - pending_bytes) + FA__LOAD(&a->fb_bytes);
  out->heap_bytes = FA__LOAD(&a->heap_bytes);
  out->heap_count = FA__LOAD(&a->heap_count);
  out->os_bytes = FA__LOAD(&a->os_bytes);
  out->os_requests = FA__LOAD(&a->os_requests);
  return 0;
}
