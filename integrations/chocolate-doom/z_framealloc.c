/* z_framealloc.c: chocolate-doom's zone memory (z_zone.h) on framealloc.
 *
 * Written from the interface in z_zone.h and from how the game uses it;
 * it replaces z_zone.c (a fixed heap with a roving first-fit search) at
 * build time (integrations/chocolate-doom/CMakeLists.txt).
 *
 * The contract kept:
 *   - Z_Malloc(size, tag, user) returns a block with that purge tag; when
 *     user is not NULL, *user is set to the block ("the owner pointer").
 *     Purgeable tags (>= PU_PURGELEVEL) need an owner.
 *   - Z_Free, and every free done by Z_FreeTags or by a purge, sets the
 *     owner pointer to NULL: that is how the game learns that a cached
 *     lump is gone and must be read again.
 *   - Purgeable blocks disappear only inside Z_Malloc (the game may use a
 *     PU_CACHE pointer until its next allocation, as with the stock zone).
 *   - Z_ChangeTag moves a block between tags, in any direction (the WAD
 *     code turns cached lumps into level blocks and back).
 *
 * Where the tags live:
 *   PU_STATIC, PU_SOUND, PU_MUSIC   pools (small) and the heap (large);
 *   PU_LEVEL, PU_LEVSPEC            small blocks on pools, because the game
 *                                   frees map objects and thinkers one by
 *                                   one all through a level (P_RunThinkers);
 *                                   large ones (the map's arrays, loaded once
 *                                   per level, never freed one by one) in a
 *                                   level region, an fa_task_t destroyed
 *                                   when its last block is gone, which
 *                                   Z_FreeTags(PU_LEVEL, PU_LEVSPEC) brings
 *                                   about at each level change;
 *   PU_PURGELEVEL, PU_CACHE         wherever they were allocated, on a list
 *                                   in the order they became purgeable; the
 *                                   oldest are purged when purgeable bytes
 *                                   exceed a budget (FA_DOOM_CACHE_KB, KiB;
 *                                   default below), except that a block
 *                                   asked for again since gets a second
 *                                   chance at the newest end.
 *
 * Build-time defines:
 *   FA_DOOM_BROKEN_PURGE  a purge that forgets the owner pointer: a broken
 *                         zone that the playback test must catch.
 *
 * Environment:
 *   FA_DOOM_CACHE_KB  the purgeable budget in KiB;
 *   FA_DOOM_STATS     a file that receives, at exit, the zone's counts per
 *                     tag and framealloc's statistics at each level change.
 *
 * At exit every block still held is returned and the allocator released,
 * so framealloc's leak check (FA005) sees whether the zone lost a block. */
#include <framealloc.h>
#include <framealloc/task.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "d_loop.h"
#include "i_system.h"
#include "z_zone.h"

#define ZMAGIC 0x2f1du
#define DEFAULT_CACHE_KB 4096
#define MAX_LEVELS 64

enum { IN_POOL = 1, IN_HEAP, IN_REGION };

typedef struct region_s region_t;

/* The header before every block: 48 bytes, so the block keeps the 16-byte
 * alignment of the memory under it. */
typedef struct zblock_s {
  struct zblock_s *prev, *next; /* the list of its tag */
  void **user;                  /* the owner pointer, or NULL */
  region_t *region;             /* the level region holding it, or NULL */
  uint32_t size;                /* bytes asked for */
  int32_t tic;                  /* gametic of the allocation */
  uint16_t magic;
  uint8_t tag;
  uint8_t where;       /* IN_POOL, IN_HEAP or IN_REGION */
  uint32_t referenced; /* a purgeable block asked for again since queued */
} zblock_t;

_Static_assert(sizeof(zblock_t) % 16 == 0, "header keeps 16-byte alignment");

/* A level region: large level blocks, freed all at once with the task. */
struct region_s {
  fa_task_t *task;
  size_t live; /* its blocks not freed yet */
};

/* play_allocs: allocations during play (gametic > 0); same_tic_frees:
 * Z_Free of a block allocated in the same tic of play, what the frame tier
 * would serve. */
typedef struct tagstats_s {
  uint64_t allocs, frees, purges, play_allocs, same_tic_frees;
  uint64_t bytes, count, peak_bytes;
} tagstats_t;

typedef struct levelstats_s {
  int tic;
  uint64_t level_peak, static_bytes, cache_bytes;
  fa_stats_t fa;
  long rss_kb;
} levelstats_t;

static fa_allocator_t *zone;
static zblock_t lists[PU_NUM_TAGS]; /* sentinels of circular lists */
static tagstats_t tags[PU_NUM_TAGS];
static region_t *level_region; /* where large level blocks go now */
static uint64_t cache_budget;
static uint64_t region_bytes; /* bytes handed out of level regions */
static uint64_t level_peak;   /* largest PU_LEVEL + PU_LEVSPEC this level */
static unsigned diagnostics;
static levelstats_t levels[MAX_LEVELS];
static int nlevels;

static void on_diagnostic(const fa_diag_t *d, void *user) {
  (void)user;
  diagnostics++;
  fprintf(stderr, "z_framealloc: %s: %s\n", fa_diag_name(d->code), d->message);
}

static int purgeable(int tag) { return tag >= PU_PURGELEVEL; }
static int level_tag(int tag) { return tag == PU_LEVEL || tag == PU_LEVSPEC; }

static uint64_t purgeable_bytes(void) {
  return tags[PU_PURGELEVEL].bytes + tags[PU_CACHE].bytes;
}

static void link_tail(zblock_t *b, int tag) {
  zblock_t *head = &lists[tag];
  tagstats_t *s = &tags[tag];
  b->tag = (uint8_t)tag;
  b->referenced = 0;
  b->next = head;
  b->prev = head->prev;
  head->prev->next = b;
  head->prev = b;
  s->bytes += b->size;
  s->count++;
  if (s->bytes > s->peak_bytes)
    s->peak_bytes = s->bytes;
  if (level_tag(tag)) {
    uint64_t lv = tags[PU_LEVEL].bytes + tags[PU_LEVSPEC].bytes;
    if (lv > level_peak)
      level_peak = lv;
  }
}

static void unlink_block(zblock_t *b) {
  b->prev->next = b->next;
  b->next->prev = b->prev;
  tags[b->tag].bytes -= b->size;
  tags[b->tag].count--;
}

static zblock_t *header_of(void *ptr, const char *what) {
  zblock_t *b;
  if (ptr == NULL)
    I_Error("%s: NULL pointer", what);
  b = (zblock_t *)ptr - 1;
  if (b->magic != ZMAGIC)
    I_Error("%s: pointer without a zone header (%p)", what, ptr);
  return b;
}

static void region_release(region_t *r) {
  fa_task_destroy(r->task);
  fa_heap_free(zone, r);
}

/* Returns the memory of b (already unlinked) to where it came from. */
static void release_block(zblock_t *b) {
  region_t *r = b->region;
  b->magic = 0;
  switch (b->where) {
  case IN_POOL:
    fa_pool_free(zone, b);
    break;
  case IN_HEAP:
    fa_heap_free(zone, b);
    break;
  default: /* a region's memory goes with the whole region */
    if (--r->live == 0 && r != level_region)
      region_release(r);
    break;
  }
}

/* Frees b for the game: clears the owner pointer, unless `forget_owner`
 * (only the deliberately broken purge does that). */
static void free_block(zblock_t *b, int forget_owner) {
  if (b->user != NULL && !forget_owner)
    *b->user = NULL;
  tags[b->tag].frees++;
  unlink_block(b);
  release_block(b);
}

/* Purges the oldest purgeable block not used since it was queued (a used
 * one loses its mark and goes to the newest end: the "second chance" clock
 * order); returns 0 when there is none. */
static int purge_one(void) {
  int tag;
  for (tag = PU_PURGELEVEL; tag < PU_NUM_TAGS; tag++) {
    zblock_t *b = lists[tag].next;
    while (b != &lists[tag] && b->referenced) {
      zblock_t *next = b->next;
      b->referenced = 0;
      b->prev->next = next;
      next->prev = b->prev;
      b->next = &lists[tag];
      b->prev = lists[tag].prev;
      lists[tag].prev->next = b;
      lists[tag].prev = b;
      b = lists[tag].next;
    }
    if (b == &lists[tag])
      continue;
    tags[tag].purges++;
#ifdef FA_DOOM_BROKEN_PURGE
    free_block(b, 1);
#else
    free_block(b, 0);
#endif
    return 1;
  }
  return 0;
}

static void *alloc_memory(size_t total, int tag, zblock_t **out) {
  zblock_t *b;
  int where = IN_HEAP;
  if (total <= fa_pool_max_size(zone)) {
    b = fa_pool_alloc(zone, total);
    where = IN_POOL;
  } else if (level_tag(tag)) {
    if (level_region == NULL) {
      level_region = fa_heap_alloc(zone, sizeof(*level_region), 16);
      if (level_region == NULL)
        return NULL;
      level_region->live = 0;
      level_region->task = fa_task_create(zone);
      if (level_region->task == NULL) {
        fa_heap_free(zone, level_region);
        level_region = NULL;
        return NULL;
      }
    }
    b = fa_task_alloc(level_region->task, total, 16);
    where = IN_REGION;
  } else {
    b = fa_heap_alloc(zone, total, 16);
  }
  if (b == NULL)
    return NULL;
  b->where = (uint8_t)where;
  b->region = where == IN_REGION ? level_region : NULL;
  if (where == IN_REGION) {
    level_region->live++;
    region_bytes += total;
  }
  *out = b;
  return b + 1;
}

static void shutdown(void);

void Z_Init(void) {
  fa_config_t cfg = {0};
  const char *kb = getenv("FA_DOOM_CACHE_KB");
  int tag;
  cfg.on_diagnostic = on_diagnostic;
  zone = fa_create(&cfg);
  if (zone == NULL)
    I_Error("Z_Init: framealloc could not create an allocator");
  for (tag = 0; tag < PU_NUM_TAGS; tag++)
    lists[tag].next = lists[tag].prev = &lists[tag];
  cache_budget =
      (uint64_t)(kb != NULL ? strtoul(kb, NULL, 10) : DEFAULT_CACHE_KB) * 1024;
  printf("zone memory: framealloc %s, purgeable budget %lu KiB\n",
         fa_version_string(), (unsigned long)(cache_budget / 1024));
  atexit(shutdown);
}

void *Z_Malloc(int size, int tag, void *user) {
  zblock_t *b = NULL;
  void *p;
  size_t total;
  if (tag < PU_STATIC || tag >= PU_NUM_TAGS || tag == PU_FREE)
    I_Error("Z_Malloc: bad tag %i", tag);
  if (size < 0)
    I_Error("Z_Malloc: bad size %i", size);
  if (user == NULL && purgeable(tag))
    I_Error("Z_Malloc: an owner is required for purgable blocks");
  /* Keep the purgeable bytes, this block included, within the budget. */
  while (purgeable_bytes() + (purgeable(tag) ? (uint64_t)size : 0) >
             cache_budget &&
         purge_one())
    ;
  total = sizeof(zblock_t) + (size_t)size;
  while ((p = alloc_memory(total, tag, &b)) == NULL)
    if (!purge_one())
      I_Error("Z_Malloc: failed on allocation of %i bytes", size);
  b->user = user;
  b->size = (uint32_t)size;
  b->tic = gametic;
  b->magic = ZMAGIC;
  link_tail(b, tag);
  tags[tag].allocs++;
  if (gametic > 0)
    tags[tag].play_allocs++;
  if (user != NULL)
    *(void **)user = p;
  return p;
}

void Z_Free(void *ptr) {
  zblock_t *b = header_of(ptr, "Z_Free");
  if (gametic > 0 && b->tic == gametic)
    tags[b->tag].same_tic_frees++;
  free_block(b, 0);
}

/* The figures of the level now ending (at a level change or at exit). */
static void level_snapshot(void) {
  if (nlevels < MAX_LEVELS) {
    levelstats_t *l = &levels[nlevels++];
    l->tic = gametic;
    l->level_peak = level_peak;
    l->static_bytes =
        tags[PU_STATIC].bytes + tags[PU_SOUND].bytes + tags[PU_MUSIC].bytes;
    l->cache_bytes = purgeable_bytes();
    fa_get_stats(zone, &l->fa);
    l->rss_kb = -1;
    {
      FILE *f = fopen("/proc/self/statm", "r");
      long pages, rss;
      if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &rss) == 2)
          l->rss_kb = rss * (sysconf(_SC_PAGESIZE) / 1024);
        fclose(f);
      }
    }
  }
}

void Z_FreeTags(int lowtag, int hightag) {
  int tag;
  if (lowtag <= PU_LEVEL && hightag >= PU_LEVSPEC)
    level_snapshot();
  if (lowtag < PU_STATIC)
    lowtag = PU_STATIC;
  if (hightag >= PU_NUM_TAGS)
    hightag = PU_NUM_TAGS - 1;
  for (tag = lowtag; tag <= hightag; tag++)
    while (lists[tag].next != &lists[tag])
      free_block(lists[tag].next, 0);
  /* The level is over: its region goes once its last block does (a block
   * moved to a longer-lived tag keeps it alive until then). */
  if (lowtag <= PU_LEVEL && hightag >= PU_LEVSPEC && level_region != NULL) {
    region_t *r = level_region;
    level_region = NULL;
    if (r->live == 0)
      region_release(r);
    level_peak = tags[PU_LEVEL].bytes + tags[PU_LEVSPEC].bytes;
  }
}

void Z_ChangeTag2(void *ptr, int tag, const char *file, int line) {
  zblock_t *b = (zblock_t *)ptr - 1;
  if (ptr == NULL || b->magic != ZMAGIC)
    I_Error("%s:%i: Z_ChangeTag: block without a zone header!", file, line);
  if (b->tag == tag) {
    /* The WAD code does this each time it hands out a cached lump (the
     * renderer: column after column). One store marks it used; the purge
     * gives a marked block a second chance instead of keeping the list in
     * recency order here. The tag was checked when the block got it. */
    b->referenced = 1;
    return;
  }
  if (tag < PU_STATIC || tag >= PU_NUM_TAGS || tag == PU_FREE)
    I_Error("%s:%i: Z_ChangeTag: bad tag %i", file, line, tag);
  if (purgeable(tag) && b->user == NULL)
    I_Error("%s:%i: Z_ChangeTag: an owner is required for purgable blocks",
            file, line);
  unlink_block(b);
  link_tail(b, tag);
}

void Z_ChangeUser(void *ptr, void **user) {
  zblock_t *b = header_of(ptr, "Z_ChangeUser");
  b->user = user;
  *user = ptr;
}

void Z_CheckHeap(void) {
  int tag;
  for (tag = PU_STATIC; tag < PU_NUM_TAGS; tag++) {
    const zblock_t *head = &lists[tag], *b;
    uint64_t bytes = 0, count = 0;
    for (b = head->next; b != head; b = b->next) {
      if (b->magic != ZMAGIC)
        I_Error("Z_CheckHeap: block without a zone header in tag %i", tag);
      if (b->next->prev != b || b->prev->next != b)
        I_Error("Z_CheckHeap: doubly-linked list corrupted in tag %i", tag);
      if (b->tag != tag)
        I_Error("Z_CheckHeap: block of tag %i on the list of tag %i", b->tag,
                tag);
      if (purgeable(tag) && (b->user == NULL || *b->user != b + 1))
        I_Error("Z_CheckHeap: purgeable block whose owner does not point "
                "at it");
      if ((b->where == IN_REGION) != (b->region != NULL))
        I_Error("Z_CheckHeap: block with a wrong level region");
      bytes += b->size;
      count++;
    }
    if (bytes != tags[tag].bytes || count != tags[tag].count)
      I_Error("Z_CheckHeap: tag %i holds %lu blocks (%lu bytes), counted "
              "%lu (%lu)",
              tag, (unsigned long)count, (unsigned long)bytes,
              (unsigned long)tags[tag].count, (unsigned long)tags[tag].bytes);
  }
}

/* What the zone could hand out without asking for more memory: the
 * purgeable blocks (the stock zone also counts its free space). */
int Z_FreeMemory(void) {
  uint64_t n = purgeable_bytes();
  return n > INT_MAX ? INT_MAX : (int)n;
}

/* The memory the zone holds from the system now. */
unsigned int Z_ZoneSize(void) {
  fa_stats_t s;
  if (fa_get_stats(zone, &s) != 0)
    return 0;
  return s.os_bytes > UINT_MAX ? UINT_MAX : (unsigned int)s.os_bytes;
}

static void dump(FILE *f, int lowtag, int hightag) {
  int tag;
  for (tag = lowtag < PU_STATIC ? PU_STATIC : lowtag;
       tag <= hightag && tag < PU_NUM_TAGS; tag++) {
    const zblock_t *b;
    fprintf(f, "tag %i: %lu blocks, %lu bytes\n", tag,
            (unsigned long)tags[tag].count, (unsigned long)tags[tag].bytes);
    for (b = lists[tag].next; b != &lists[tag]; b = b->next)
      fprintf(f, "block:%p    size:%7u    user:%p    tag:%3i\n",
              (const void *)(b + 1), b->size, (void *)b->user, b->tag);
  }
}

void Z_DumpHeap(int lowtag, int hightag) { dump(stdout, lowtag, hightag); }

void Z_FileDumpHeap(FILE *f) { dump(f, PU_STATIC, PU_NUM_TAGS - 1); }

static void write_stats(const char *path) {
  static const char *names[PU_NUM_TAGS] = {
      "",         "PU_STATIC",  "PU_SOUND",      "PU_MUSIC", "PU_FREE",
      "PU_LEVEL", "PU_LEVSPEC", "PU_PURGELEVEL", "PU_CACHE"};
  FILE *f = fopen(path, "w");
  int i;
  if (f == NULL)
    return;
  fprintf(f, "tag allocs frees purges play_allocs same_tic_frees live_bytes "
             "peak_bytes\n");
  for (i = PU_STATIC; i < PU_NUM_TAGS; i++)
    if (i != PU_FREE)
      fprintf(f, "%s %lu %lu %lu %lu %lu %lu %lu\n", names[i],
              (unsigned long)tags[i].allocs, (unsigned long)tags[i].frees,
              (unsigned long)tags[i].purges, (unsigned long)tags[i].play_allocs,
              (unsigned long)tags[i].same_tic_frees,
              (unsigned long)tags[i].bytes, (unsigned long)tags[i].peak_bytes);
  fprintf(f, "region_bytes %lu\n", (unsigned long)region_bytes);
  fprintf(f, "level tic level_peak static cache pool heap task os rss_kb\n");
  for (i = 0; i < nlevels; i++) {
    const levelstats_t *l = &levels[i];
    fprintf(f, "level %d %lu %lu %lu %lu %lu %lu %lu %ld\n", l->tic,
            (unsigned long)l->level_peak, (unsigned long)l->static_bytes,
            (unsigned long)l->cache_bytes, (unsigned long)l->fa.pool_bytes,
            (unsigned long)l->fa.heap_bytes, (unsigned long)l->fa.task_bytes,
            (unsigned long)l->fa.os_bytes, l->rss_kb);
  }
  fclose(f);
}

/* At exit: every block goes back without touching owner pointers (an owner
 * may live in a block already returned), then the allocator is released,
 * which reports FA005 if anything is still held. */
static void shutdown(void) {
  const char *stats = getenv("FA_DOOM_STATS");
  int tag;
  if (stats != NULL) {
    level_snapshot();
    write_stats(stats);
  }
  for (tag = PU_STATIC; tag < PU_NUM_TAGS; tag++)
    while (lists[tag].next != &lists[tag]) {
      zblock_t *b = lists[tag].next;
      unlink_block(b);
      release_block(b);
    }
  if (level_region != NULL) {
    region_t *r = level_region;
    level_region = NULL;
    if (r->live == 0)
      region_release(r);
  }
  fa_release(zone);
  zone = NULL;
  if (diagnostics != 0)
    fprintf(stderr, "z_framealloc: %u diagnostic(s)\n", diagnostics);
}
