/* test_frame.c: the frame tier: fa_begin_frame, fa_end_frame,
 * fa_frame_alloc and its alignment, size and budget rules, the typed macros,
 * the frame vector, marks and rewinds, the FA001/FA002/FA003/FA006
 * diagnostics, chunk growth and trimming, and the independence of
 * allocators and threads. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <stdalign.h>
#include <stddef.h>

#define MAX_ALIGN alignof(max_align_t)

/* An allocator whose diagnostics go to log, with a chunk size and budget. */
static fa_allocator_t *make(diag_log_t *log, size_t chunk, size_t budget) {
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  diag_log_init(log);
  diag_log_config(log, &cfg);
  cfg.frame_chunk_size = chunk;
  cfg.frame_budget = budget;
  a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  return a;
}

static void done(fa_allocator_t *a, diag_log_t *log) {
  ASSERT_EQ(log->bad, 0);
  fa_release(a);
  diag_log_destroy(log);
}

TEST(frame_basic) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  char *p[100];
  int i, f;
  for (f = 0; f < 3; f++) {
    fa_begin_frame(a);
    for (i = 0; i < 100; i++) {
      p[i] = fa_frame_alloc(a, (size_t)i + 1, 0);
      ASSERT_NOT_NULL(p[i]);
      test_fill(p[i], (size_t)i + 1, (uint64_t)(f * 1000 + i));
    }
    for (i = 0; i < 100; i++)
      ASSERT_EQ(test_check(p[i], (size_t)i + 1, (uint64_t)(f * 1000 + i)),
                (size_t)i + 1);
    fa_end_frame(a);
  }
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_alignment) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  size_t align;
  int round;
  fa_begin_frame(a);
  for (round = 0; round < 3; round++) {
    for (align = 1; align <= 4096; align *= 2) {
      char *odd = fa_frame_alloc(a, 1, 1); /* misalign the bump pointer */
      char *p = fa_frame_alloc(a, (size_t)round * 7 + 1, align);
      ASSERT_NOT_NULL(odd);
      ASSERT_NOT_NULL(p);
      ASSERT(test_aligned(p, align));
      ASSERT(p != odd);
      memset(p, 0x5a, (size_t)round * 7 + 1);
    }
  }
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_alignment_beyond_chunk) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 4096, 0);
  size_t align;
  fa_begin_frame(a);
  for (align = 1; align <= 4096; align *= 2) {
    char *odd = fa_frame_alloc(a, 3, 1);
    char *p = fa_frame_alloc(a, 3 * 4096 + 5, align);
    ASSERT_NOT_NULL(odd);
    ASSERT_NOT_NULL(p);
    ASSERT(test_aligned(p, align));
    memset(p, 0x3c, 3 * 4096 + 5);
  }
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_align_zero_is_max_align) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  int i;
  fa_begin_frame(a);
  for (i = 0; i < 50; i++) {
    char *odd = fa_frame_alloc(a, (size_t)i % 5 + 1, 1);
    void *p = fa_frame_alloc(a, (size_t)i, 0);
    ASSERT_NOT_NULL(odd);
    ASSERT_NOT_NULL(p);
    ASSERT(test_aligned(p, MAX_ALIGN));
  }
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

/* The page size is the largest frame alignment: it is served and twice it
 * is refused. FA_EXPECT_PAGE_SIZE, when set, names the page size this run
 * must see (the page-size runs under qemu and the override set it). */
TEST(frame_align_page_size) {
  size_t page = test_page_size();
  const char *expect = getenv("FA_EXPECT_PAGE_SIZE");
  if (expect && *expect)
    ASSERT_EQ(page, strtoul(expect, NULL, 0));
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_begin_frame(a);
  char *p = fa_frame_alloc(a, 100, page);
  ASSERT_NOT_NULL(p);
  ASSERT(test_aligned(p, page));
  memset(p, 1, 100);
  ASSERT_NULL(fa_frame_alloc(a, 100, 2 * page));
  ASSERT_EQ(diag_log_count(&log, 6), 1);
  diag_log_clear(&log);
  fa_end_frame(a);
  done(a, &log);
}

TEST(frame_invalid_align_fa006) {
  /* Past the page size (the largest alignment there is): 2 and 16 pages. */
  const size_t bad[] = {3,
                        5,
                        6,
                        7,
                        12,
                        4095,
                        4097,
                        2 * test_page_size(),
                        16 * test_page_size(),
                        SIZE_MAX,
                        SIZE_MAX / 2 + 1};
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  size_t i, n = sizeof(bad) / sizeof(bad[0]);
  uint64_t before;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 10, 1));
  before = test_stats(a).frame_bytes;
  for (i = 0; i < n; i++) {
    ASSERT_NULL(fa_frame_alloc(a, 16, bad[i]));
    ASSERT_EQ(diag_log_count(&log, 6), (int)i + 1);
  }
  ASSERT_EQ(diag_log_level(&log, 6), FA_LEVEL_ERROR);
  ASSERT_EQ(diag_log_total(&log), (int)n);
  ASSERT_EQ(test_stats(a).frame_bytes, before); /* nothing was taken */
  ASSERT_NOT_NULL(fa_frame_alloc(a, 16, 16));   /* and the frame goes on */
  fa_end_frame(a);
  done(a, &log);
}

TEST(frame_size_zero_unique) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  void *p[64];
  int i, j;
  fa_begin_frame(a);
  for (i = 0; i < 64; i++) {
    size_t align = (size_t)1 << (i % 13);
    p[i] = fa_frame_alloc(a, 0, i % 2 ? align : 0);
    ASSERT_NOT_NULL(p[i]);
    ASSERT(test_aligned(p[i], i % 2 ? align : MAX_ALIGN));
    for (j = 0; j < i; j++)
      ASSERT_PTR_NE(p[i], p[j]);
  }
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_huge_sizes) {
  static const size_t huge[] = {
      SIZE_MAX,         SIZE_MAX - 1,     SIZE_MAX - 15,  SIZE_MAX - 4095,
      SIZE_MAX - 65535, SIZE_MAX / 2 + 1, (size_t)1 << 62};
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  size_t i, k;
  static const size_t aligns[] = {0, 1, 16, 4096};
  char *p;
  fa_begin_frame(a);
  for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++)
    for (k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++)
      ASSERT_NULL(fa_frame_alloc(a, huge[i], aligns[k]));
  /* The frame is still usable. */
  p = fa_frame_alloc(a, 1000, 0);
  ASSERT_NOT_NULL(p);
  memset(p, 1, 1000);
  fa_end_frame(a);
  done(a, &log);
}

typedef struct point_s {
  int x, y;
  double w;
} point_t;

typedef struct wide_s {
  alignas(64) unsigned char bytes[96];
} wide_t;

static volatile size_t zero_count = 0;
static volatile size_t max_count = SIZE_MAX;

TEST(frame_typed_macros) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  point_t *pt, *arr;
  wide_t *w;
  unsigned char *dirty;
  fa_mark_t m;
  size_t i;
  fa_begin_frame(a);
  /* Dirty some frame memory, then get it back through the macros. */
  m = fa_frame_mark(a);
  dirty = fa_frame_alloc(a, 4096, 64);
  ASSERT_NOT_NULL(dirty);
  memset(dirty, 0xee, 4096);
  fa_frame_rewind(a, m);

  pt = fa_frame_new(a, point_t);
  ASSERT_NOT_NULL(pt);
  ASSERT(test_aligned(pt, alignof(point_t)));
  ASSERT_EQ(pt->x, 0);
  ASSERT_EQ(pt->y, 0);
  ASSERT(pt->w == 0.0);

  arr = fa_frame_array(a, point_t, 20);
  ASSERT_NOT_NULL(arr);
  for (i = 0; i < 20; i++) {
    ASSERT_EQ(arr[i].x, 0);
    ASSERT_EQ(arr[i].y, 0);
  }
  w = fa_frame_array(a, wide_t, 3);
  ASSERT_NOT_NULL(w);
  ASSERT(test_aligned(w, 64));
  for (i = 0; i < sizeof(w[2].bytes); i++)
    ASSERT_EQ(w[2].bytes[i], 0);

  pt = fa_frame_box(a, point_t, {3, -4, 1.5});
  ASSERT_NOT_NULL(pt);
  ASSERT_EQ(pt->x, 3);
  ASSERT_EQ(pt->y, -4);
  ASSERT(pt->w == 1.5);

  /* n = 0 is a valid, unique pointer; overflowing counts give NULL. The
   * counts are not constants, or the compiler warns about the memset that
   * the macro skips for NULL. */
  arr = fa_frame_array(a, point_t, zero_count);
  ASSERT_NOT_NULL(arr);
  ASSERT_NULL(fa_frame_array(a, point_t, max_count / sizeof(point_t) + 1));
  ASSERT_NULL(fa_frame_array(a, point_t, max_count));
  ASSERT_NULL(fa_frame_array(a, wide_t, max_count / 2));
  ASSERT_NOT_NULL(fa_frame_new(a, int)); /* still usable */
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

typedef fa_frame_vec(int) int_vec_t;
typedef fa_frame_vec(wide_t) wide_vec_t;

TEST(frame_vec_push) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  int_vec_t v = {0};
  int i;
  fa_begin_frame(a);
  for (i = 0; i < 10000; i++) {
    ASSERT_EQ(fa_frame_vec_push(a, &v, i * 3), 0);
    ASSERT_EQ(v.len, (size_t)i + 1);
    ASSERT_GE(v.cap, v.len);
  }
  ASSERT(test_aligned(v.data, alignof(int)));
  for (i = 0; i < 10000; i++)
    ASSERT_EQ(v.data[i], i * 3);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_vec_grows_in_place_when_newest) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  int_vec_t v = {0};
  int *first, *moved;
  unsigned char *other;
  size_t i, n;
  fa_begin_frame(a);
  ASSERT_EQ(fa_frame_vec_push(a, &v, 7), 0);
  first = v.data;
  ASSERT_NOT_NULL(first);
  ASSERT_GE(v.cap, 1);
  /* Newest allocation: room for 100 more past the capacity, in place. */
  n = v.cap - v.len + 100;
  ASSERT_EQ(fa_frame_vec_reserve(a, &v, n), 0);
  ASSERT_PTR_EQ(v.data, first);
  ASSERT_GE(v.cap, 1 + n);
  ASSERT_EQ(v.len, 1);
  ASSERT_EQ(v.data[0], 7);
  while (v.len < v.cap) {
    int next = (int)v.len; /* not v.len inside the push: it increments it */
    ASSERT_EQ(fa_frame_vec_push(a, &v, next), 0);
  }
  ASSERT_PTR_EQ(v.data, first);

  /* Room for 0 more: nothing changes. */
  n = v.cap;
  ASSERT_EQ(fa_frame_vec_reserve(a, &v, 0), 0);
  ASSERT_PTR_EQ(v.data, first);
  ASSERT_EQ(v.cap, n);

  /* No longer the newest: growing moves it, contents and neighbour kept. */
  other = fa_frame_alloc(a, 64, 1);
  ASSERT_NOT_NULL(other);
  test_fill(other, 64, 99);
  n = v.len;
  ASSERT_EQ(fa_frame_vec_push(a, &v, -1), 0);
  moved = v.data;
  ASSERT_PTR_NE(moved, first);
  ASSERT_EQ(v.len, n + 1);
  ASSERT_EQ(v.data[0], 7);
  for (i = 1; i < n; i++)
    ASSERT_EQ(v.data[i], (int)i);
  ASSERT_EQ(v.data[n], -1);
  ASSERT_EQ(test_check(other, 64, 99), 64);

  /* Newest again: in place again. */
  n = v.cap - v.len + 10;
  ASSERT_EQ(fa_frame_vec_reserve(a, &v, n), 0);
  ASSERT_PTR_EQ(v.data, moved);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_vec_element_alignment) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  wide_vec_t v = {0};
  wide_t w;
  int i;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 1, 1));
  for (i = 0; i < 100; i++) {
    memset(&w, i, sizeof(w));
    ASSERT_EQ(fa_frame_vec_push(a, &v, w), 0);
    ASSERT(test_aligned(v.data, 64));
    if (i % 10 == 0) /* make it move now and then */
      ASSERT_NOT_NULL(fa_frame_alloc(a, 3, 1));
  }
  for (i = 0; i < 100; i++)
    ASSERT_EQ(v.data[i].bytes[95], (unsigned char)i);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_vec_failure_leaves_vec_unchanged) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 4096);
  int_vec_t v = {0}, saved;
  int i, rc = 0;
  fa_begin_frame(a);
  for (i = 0; i < 100000; i++) {
    saved = v;
    rc = fa_frame_vec_push(a, &v, i);
    if (rc != 0)
      break;
  }
  ASSERT_EQ(rc, FA_ENOMEM); /* the budget stops it */
  ASSERT_GT(saved.len, 0);
  ASSERT_PTR_EQ(v.data, saved.data);
  ASSERT_EQ(v.len, saved.len);
  ASSERT_EQ(v.cap, saved.cap);
  for (i = 0; i < (int)v.len; i++)
    ASSERT_EQ(v.data[i], i);
  ASSERT_GE(diag_log_count(&log, 3), 1);

  /* Overflowing requests. */
  saved = v;
  ASSERT_NE(fa_frame_vec_reserve(a, &v, SIZE_MAX), 0);
  ASSERT_NE(fa_frame_vec_reserve(a, &v, SIZE_MAX / sizeof(int)), 0);
  ASSERT_PTR_EQ(v.data, saved.data);
  ASSERT_EQ(v.len, saved.len);
  ASSERT_EQ(v.cap, saved.cap);
  fa_end_frame(a);

  /* A NULL allocator. */
  memset(&v, 0, sizeof(v));
  ASSERT_EQ(fa_frame_vec_push(NULL, &v, 1), FA_ENOMEM);
  ASSERT_NE(fa_frame_vec_reserve(NULL, &v, 4), 0);
  ASSERT_NULL(v.data);
  ASSERT_EQ(v.len, 0);
  ASSERT_EQ(v.cap, 0);
  done(a, &log);
}

TEST(frame_mark_rewind) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  char *keep, *p, *q;
  fa_mark_t m;
  uint64_t bytes;
  int i;
  fa_begin_frame(a);
  keep = fa_frame_alloc(a, 100, 0);
  ASSERT_NOT_NULL(keep);
  test_fill(keep, 100, 1);
  m = fa_frame_mark(a);
  bytes = test_stats(a).frame_bytes;
  p = fa_frame_alloc(a, 256, 16);
  ASSERT_NOT_NULL(p);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 1000, 8));
  ASSERT_GT(test_stats(a).frame_bytes, bytes);
  fa_frame_rewind(a, m);
  ASSERT_EQ(test_stats(a).frame_bytes, bytes);
  q = fa_frame_alloc(a, 256, 16);
  ASSERT_PTR_EQ(q, p); /* the space is handed out again */
  memset(q, 0, 256);
  ASSERT_EQ(test_check(keep, 100, 1), 100);

  /* The same mark serves any number of rewinds. */
  for (i = 0; i < 10; i++) {
    fa_frame_rewind(a, m);
    q = fa_frame_alloc(a, 256, 16);
    ASSERT_PTR_EQ(q, p);
  }
  /* Nested marks, rewound innermost first. */
  {
    fa_mark_t outer = fa_frame_mark(a), inner;
    uint64_t at_outer = test_stats(a).frame_bytes, at_inner;
    ASSERT_NOT_NULL(fa_frame_alloc(a, 40, 1));
    inner = fa_frame_mark(a);
    at_inner = test_stats(a).frame_bytes;
    ASSERT_NOT_NULL(fa_frame_alloc(a, 40, 1));
    fa_frame_rewind(a, inner);
    ASSERT_EQ(test_stats(a).frame_bytes, at_inner);
    fa_frame_rewind(a, outer);
    ASSERT_EQ(test_stats(a).frame_bytes, at_outer);
  }
  /* A rewind to the current position changes nothing. */
  m = fa_frame_mark(a);
  bytes = test_stats(a).frame_bytes;
  fa_frame_rewind(a, m);
  ASSERT_EQ(test_stats(a).frame_bytes, bytes);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_rewind_across_chunks) {
  test_env_t e;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  char *keep, *first, *p[60];
  fa_mark_t m;
  uint64_t bytes, reserves;
  int i, round;
  cfg.frame_chunk_size = 4096;
  test_env_open(&e, &cfg);
  a = e.a;
  fa_begin_frame(a);
  keep = fa_frame_alloc(a, 100, 1);
  ASSERT_NOT_NULL(keep);
  test_fill(keep, 100, 5);
  m = fa_frame_mark(a);
  bytes = test_stats(a).frame_bytes;
  first = fa_frame_alloc(a, 1000, 1);
  ASSERT_NOT_NULL(first);
  for (round = 0; round < 3; round++) {
    reserves = test_source_reserves(&e.src);
    for (i = 0; i < 60; i++) { /* about 15 chunks */
      p[i] = fa_frame_alloc(a, 1000, 1);
      ASSERT_NOT_NULL(p[i]);
      test_fill(p[i], 1000, (uint64_t)(round * 100 + i));
    }
    for (i = 0; i < 60; i++)
      ASSERT_EQ(test_check(p[i], 1000, (uint64_t)(round * 100 + i)), 1000);
    if (round > 0) /* the chunks were kept */
      ASSERT_EQ(test_source_reserves(&e.src), reserves);
    fa_frame_rewind(a, m);
    ASSERT_EQ(test_stats(a).frame_bytes, bytes);
    ASSERT_PTR_EQ(fa_frame_alloc(a, 1000, 1), first);
  }
  ASSERT_EQ(test_check(keep, 100, 5), 100);
  fa_end_frame(a);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  test_env_close_quiet(&e);
}

/* Rewinds to m, which must be refused: FA006 and no change. */
#define EXPECT_BAD_REWIND(a, log, m) TEST_AT(expect_bad_rewind(a, log, m))
static void expect_bad_rewind(fa_allocator_t *a, diag_log_t *log, fa_mark_t m) {
  int before = diag_log_count(log, 6);
  uint64_t bytes = test_stats(a).frame_bytes;
  char *probe = fa_frame_alloc(a, 8, 1), *next;
  ASSERT_NOT_NULL(probe);
  bytes += 8;
  fa_frame_rewind(a, m);
  ASSERT_EQ(diag_log_count(log, 6), before + 1);
  ASSERT_EQ(test_stats(a).frame_bytes, bytes);
  next = fa_frame_alloc(a, 8, 1);
  ASSERT_PTR_EQ(next, probe + 8); /* the frame went on where it was */
}

TEST(frame_stale_mark_previous_frame) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_mark_t m;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 0));
  m = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 0));
  fa_end_frame(a);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 200, 0));
  EXPECT_BAD_REWIND(a, &log, m);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_stale_mark_rewound_past) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_mark_t m1, m2;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  m1 = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  m2 = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  fa_frame_rewind(a, m1);
  ASSERT_EQ(diag_log_count(&log, 6), 0);
  EXPECT_BAD_REWIND(a, &log, m2);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_stale_mark_rewound_past_then_reached) {
  /* m2 stays invalid even when the frame grows past its position again. */
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_mark_t m1, m2;
  fa_begin_frame(a);
  m1 = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  m2 = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  fa_frame_rewind(a, m1);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 200, 1));
  EXPECT_BAD_REWIND(a, &log, m2);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

/* A mark invalidated by a rewind stays invalid after any number of later
 * mark/rewind pairs (here 100, and 1000 nested marks that spill the inline
 * stack): FA006, and the frame and its live data are left as they were. */
TEST(frame_stale_mark_after_many_rewinds) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_mark_t m1, dead, deep[1000];
  unsigned char *live;
  uint64_t bytes;
  fa_begin_frame(a);
  m1 = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  dead = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  fa_frame_rewind(a, m1); /* kills dead */
  live = fa_frame_alloc(a, 256, 1);
  ASSERT_NOT_NULL(live);
  test_fill(live, 256, 4);
  for (int i = 0; i < 100; i++) {
    fa_mark_t m = fa_frame_mark(a);
    ASSERT_NOT_NULL(fa_frame_alloc(a, 32, 1));
    fa_frame_rewind(a, m);
  }
  for (int i = 0; i < 1000; i++) {
    deep[i] = fa_frame_mark(a);
    ASSERT_NOT_NULL(fa_frame_alloc(a, 8, 1));
  }
  fa_frame_rewind(a, deep[500]);
  bytes = test_stats(a).frame_bytes;
  ASSERT_EQ(diag_log_total(&log), 0);
  EXPECT_BAD_REWIND(a, &log, dead);
  EXPECT_BAD_REWIND(a, &log, deep[501]); /* killed by the rewind to 500 */
  EXPECT_BAD_REWIND(a, &log, deep[999]);
  ASSERT_EQ(test_stats(a).frame_bytes, bytes + 6 * 8); /* their probes */
  ASSERT_EQ(test_check(live, 256, 4), 256);
  fa_frame_rewind(a, deep[10]); /* still live */
  ASSERT_EQ(diag_log_count(&log, 6), 3);
  EXPECT_BAD_REWIND(a, &log, deep[500]);
  fa_frame_rewind(a, m1);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 4);
  ASSERT_EQ(diag_log_level(&log, 6), FA_LEVEL_ERROR);
  done(a, &log);
}

/* The 17th live mark needs memory from the source; when the source fails
 * it, that mark is refused at its rewind (FA006), and the others work. */
TEST(frame_mark_without_memory) {
  test_env_t e;
  fa_mark_t m[17];
  test_env_open(&e, NULL);
  fa_begin_frame(e.a);
  for (int i = 0; i < 16; i++) {
    m[i] = fa_frame_mark(e.a);
    ASSERT_NOT_NULL(fa_frame_alloc(e.a, 8, 1));
  }
  test_source_arm(&e.src, (int64_t)test_source_reserves(&e.src), 1);
  m[16] = fa_frame_mark(e.a);
  test_source_arm(&e.src, -1, 0);
  ASSERT_EQ(test_source_failures(&e.src), 1);
  ASSERT_NOT_NULL(fa_frame_alloc(e.a, 8, 1));
  EXPECT_BAD_REWIND(e.a, &e.log, m[16]);
  fa_frame_rewind(e.a, m[15]);
  fa_frame_rewind(e.a, m[0]);
  ASSERT_EQ(test_stats(e.a).frame_bytes, 0);
  fa_end_frame(e.a);
  ASSERT_EQ(diag_log_total(&e.log), 1);
  test_env_close(&e);
}

TEST(frame_bad_marks) {
  diag_log_t log, logb;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_allocator_t *b = make(&logb, 0, 0);
  fa_mark_t zero, mb;
  memset(&zero, 0, sizeof(zero));
  fa_begin_frame(b);
  ASSERT_NOT_NULL(fa_frame_alloc(b, 64, 0));
  mb = fa_frame_mark(b);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 0));
  EXPECT_BAD_REWIND(a, &log, zero);
  EXPECT_BAD_REWIND(a, &log, mb); /* a mark of another allocator */
  fa_end_frame(a);
  fa_end_frame(b);
  ASSERT_EQ(diag_log_total(&log), 2);
  ASSERT_EQ(diag_log_total(&logb), 0);
  done(a, &log);
  done(b, &logb);
}

typedef struct rewind_arg_s {
  fa_allocator_t *a;
  fa_mark_t m;
} rewind_arg_t;

static void *rewind_elsewhere(void *p) {
  rewind_arg_t *arg = p;
  fa_frame_rewind(arg->a, arg->m);
  return NULL;
}

TEST(frame_stale_mark_other_thread) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  rewind_arg_t arg;
  pthread_t t;
  char *p, *q;
  uint64_t bytes;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 1));
  arg.a = a;
  arg.m = fa_frame_mark(a);
  p = fa_frame_alloc(a, 64, 1);
  ASSERT_NOT_NULL(p);
  bytes = test_stats(a).frame_bytes;
  ASSERT_EQ(pthread_create(&t, NULL, rewind_elsewhere, &arg), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(diag_log_count(&log, 6), 1);
  ASSERT_EQ(test_stats(a).frame_bytes, bytes);
  q = fa_frame_alloc(a, 8, 1);
  ASSERT_PTR_EQ(q, p + 64);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_outside_frame_fa001) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  char *p, *q;
  p = fa_frame_alloc(a, 32, 0);
  ASSERT_NOT_NULL(p);
  ASSERT_EQ(diag_log_count(&log, 1), 1);
  ASSERT_EQ(diag_log_level(&log, 1), FA_LEVEL_WARNING);
  q = fa_frame_alloc(a, 32, 0); /* inside the implicit frame now */
  ASSERT_NOT_NULL(q);
  ASSERT_EQ(diag_log_count(&log, 1), 1);
  memset(p, 1, 32);
  memset(q, 2, 32);
  ASSERT_EQ(p[31], 1);
  ASSERT_EQ(q[0], 2);
  fa_end_frame(a); /* ends the implicit frame: balanced */
  ASSERT_EQ(diag_log_count(&log, 2), 0);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_begin_twice_fa002) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  char *p, *q;
  fa_begin_frame(a);
  p = fa_frame_alloc(a, 64, 0);
  ASSERT_NOT_NULL(p);
  test_fill(p, 64, 7);
  fa_begin_frame(a);
  ASSERT_EQ(diag_log_count(&log, 2), 1);
  ASSERT_EQ(diag_log_level(&log, 2), FA_LEVEL_WARNING);
  /* The frame goes on: p is still valid and not handed out again. */
  q = fa_frame_alloc(a, 64, 0);
  ASSERT_NOT_NULL(q);
  ASSERT_PTR_NE(q, p);
  memset(q, 0, 64);
  ASSERT_EQ(test_check(p, 64, 7), 64);
  ASSERT_GE(test_stats(a).frame_bytes, 128);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_count(&log, 2), 1);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_end_without_begin_fa002) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_end_frame(a); /* never began */
  ASSERT_EQ(diag_log_count(&log, 2), 1);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 0));
  fa_end_frame(a);
  ASSERT_EQ(diag_log_count(&log, 2), 1);
  fa_end_frame(a); /* again: no frame open */
  ASSERT_EQ(diag_log_count(&log, 2), 2);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  /* Frames work normally afterwards. */
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 0));
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 2);
  ASSERT_EQ(log.bad, 0);
  done(a, &log);
}

TEST(frame_budget_fa003) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 4096);
  char *p, *q;
  fa_begin_frame(a);
  p = fa_frame_alloc(a, 4000, 1);
  q = fa_frame_alloc(a, 96, 1); /* exactly the budget */
  ASSERT_NOT_NULL(p);
  ASSERT_NOT_NULL(q);
  memset(p, 1, 4000);
  memset(q, 2, 96);
  ASSERT_EQ(diag_log_total(&log), 0);
  ASSERT_NULL(fa_frame_alloc(a, 1, 1));
  ASSERT_EQ(diag_log_count(&log, 3), 1);
  ASSERT_EQ(diag_log_level(&log, 3), FA_LEVEL_ERROR);
  ASSERT_NULL(fa_frame_alloc(a, 0, 1)); /* size 0 takes a byte too */
  ASSERT_EQ(diag_log_count(&log, 3), 2);
  ASSERT_EQ(test_stats(a).frame_bytes, 4096);
  fa_end_frame(a);

  /* The budget is per frame. */
  fa_begin_frame(a);
  p = fa_frame_alloc(a, 4096, 1);
  ASSERT_NOT_NULL(p);
  memset(p, 3, 4096);
  fa_end_frame(a);
  fa_begin_frame(a);
  ASSERT_NULL(fa_frame_alloc(a, 4097, 1));
  ASSERT_NULL(fa_frame_alloc(a, 100000, 16));
  ASSERT_EQ(diag_log_count(&log, 3), 4);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 2000, 1));
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 4);
  done(a, &log);
}

TEST(frame_budget_counts_padding) {
  /* The budget is measured like frame_bytes: alignment padding counts. */
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 4096);
  char *p0, *p1;
  uint64_t used;
  fa_begin_frame(a);
  p0 = fa_frame_alloc(a, 1, 1);
  p1 = fa_frame_alloc(a, 100, 1024);
  ASSERT_NOT_NULL(p0);
  ASSERT_NOT_NULL(p1);
  used = (uint64_t)(p1 + 100 - p0);
  ASSERT_EQ(test_stats(a).frame_bytes, used);
  ASSERT_NOT_NULL(fa_frame_alloc(a, (size_t)(4096 - used), 1));
  ASSERT_EQ(test_stats(a).frame_bytes, 4096);
  ASSERT_EQ(diag_log_total(&log), 0);
  ASSERT_NULL(fa_frame_alloc(a, 1, 1));
  ASSERT_EQ(diag_log_count(&log, 3), 1);
  fa_end_frame(a);
  done(a, &log);
}

typedef struct budget_arg_s {
  fa_allocator_t *a;
  int ok;
} budget_arg_t;

static void *use_whole_budget(void *p) {
  budget_arg_t *arg = p;
  char *m;
  fa_begin_frame(arg->a);
  m = fa_frame_alloc(arg->a, 4096, 1);
  if (m)
    memset(m, 1, 4096);
  arg->ok = m != NULL;
  fa_end_frame(arg->a);
  return NULL;
}

TEST(frame_budget_per_thread) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 4096);
  budget_arg_t arg;
  pthread_t t;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 4096, 1));
  arg.a = a;
  arg.ok = 0;
  ASSERT_EQ(pthread_create(&t, NULL, use_whole_budget, &arg), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(arg.ok, 1);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_chunk_growth) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 4096, 0);
  char *big, *aligned, *p[200];
  int i, f;
  for (f = 0; f < 2; f++) {
    fa_begin_frame(a);
    big = fa_frame_alloc(a, 100000, 16); /* far beyond the chunk */
    ASSERT_NOT_NULL(big);
    test_fill(big, 100000, 1);
    aligned = fa_frame_alloc(a, 5000, 4096);
    ASSERT_NOT_NULL(aligned);
    ASSERT(test_aligned(aligned, 4096));
    test_fill(aligned, 5000, 2);
    for (i = 0; i < 200; i++) {
      p[i] = fa_frame_alloc(a, 1000 + (size_t)i, 8);
      ASSERT_NOT_NULL(p[i]);
      test_fill(p[i], 1000 + (size_t)i, (uint64_t)i + 10);
    }
    ASSERT_EQ(test_check(big, 100000, 1), 100000);
    ASSERT_EQ(test_check(aligned, 5000, 2), 5000);
    for (i = 0; i < 200; i++)
      ASSERT_EQ(test_check(p[i], 1000 + (size_t)i, (uint64_t)i + 10),
                1000 + (size_t)i);
    fa_end_frame(a);
  }
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_keeps_high_water_mark) {
  test_source_t src;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  uint64_t reserves = 0, bytes = 0;
  int f, i;
  cfg.frame_chunk_size = 4096;
  a = test_counted_create(&src, &cfg);
  for (f = 0; f < 6; f++) {
    fa_begin_frame(a);
    for (i = 0; i < 50; i++)
      ASSERT_NOT_NULL(fa_frame_alloc(a, 3000, 8));
    ASSERT_NOT_NULL(fa_frame_alloc(a, 50000, 64));
    fa_end_frame(a);
    if (f == 0) {
      reserves = test_source_reserves(&src);
      bytes = test_source_outstanding(&src);
    }
  }
  ASSERT_EQ(test_source_reserves(&src), reserves);
  ASSERT_EQ(test_source_outstanding(&src), bytes);
  test_counted_release(a, &src);
}

TEST(frame_two_allocators_one_thread) {
  diag_log_t la, lb;
  fa_allocator_t *a = make(&la, 0, 0);
  fa_allocator_t *b = make(&lb, 4096, 0);
  char *pa[300], *pb[300];
  uint64_t bytes_b;
  int i, f;
  fa_begin_frame(b);
  for (f = 0; f < 3; f++) {
    fa_begin_frame(a);
    for (i = 0; i < 100; i++) {
      int k = f * 100 + i;
      pa[k] = fa_frame_alloc(a, 24 + (size_t)i, 8);
      pb[k] = fa_frame_alloc(b, 40 + (size_t)i, 16);
      ASSERT_NOT_NULL(pa[k]);
      ASSERT_NOT_NULL(pb[k]);
      test_fill(pa[k], 24 + (size_t)i, 1000 + (uint64_t)k);
      test_fill(pb[k], 40 + (size_t)i, 2000 + (uint64_t)k);
    }
    for (i = 0; i < 100; i++)
      ASSERT_EQ(test_check(pa[f * 100 + i], 24 + (size_t)i,
                           1000 + (uint64_t)(f * 100 + i)),
                24 + (size_t)i);
    bytes_b = test_stats(b).frame_bytes;
    fa_end_frame(a);
    /* b's frame, still open, lost nothing. */
    ASSERT_EQ(test_stats(a).frame_bytes, 0);
    ASSERT_EQ(test_stats(b).frame_bytes, bytes_b);
    for (i = 0; i < (f + 1) * 100; i++)
      ASSERT_EQ(test_check(pb[i], 40 + (size_t)(i % 100), 2000 + (uint64_t)i),
                40 + (size_t)(i % 100));
  }
  fa_end_frame(b);
  ASSERT_EQ(test_stats(a).frames, 3);
  ASSERT_EQ(test_stats(b).frames, 1);
  ASSERT_EQ(diag_log_total(&la), 0);
  ASSERT_EQ(diag_log_total(&lb), 0);
  done(a, &la);
  done(b, &lb);
}

#define THREADS 8
#define THREAD_FRAMES 10
#define THREAD_ALLOCS 100

typedef struct thread_arg_s {
  fa_allocator_t *a;
  pthread_barrier_t *barrier;
  int id;
} thread_arg_t;

static void *thread_frames(void *p) {
  thread_arg_t *arg = p;
  char *blocks[THREAD_ALLOCS];
  int f, i;
  for (f = 0; f < THREAD_FRAMES; f++) {
    fa_begin_frame(arg->a);
    for (i = 0; i < THREAD_ALLOCS; i++) {
      size_t size = (size_t)(i * 37 + arg->id * 11) % 700 + 1;
      uint64_t key = ((uint64_t)arg->id << 32) | (uint64_t)(f * 1000 + i);
      blocks[i] = fa_frame_alloc(arg->a, size, (size_t)1 << (i % 7));
      ASSERT_NOT_NULL(blocks[i]);
      ASSERT(test_aligned(blocks[i], (size_t)1 << (i % 7)));
      test_fill(blocks[i], size, key);
    }
    /* Every thread has written; none may have touched another's memory. */
    pthread_barrier_wait(arg->barrier);
    for (i = 0; i < THREAD_ALLOCS; i++) {
      size_t size = (size_t)(i * 37 + arg->id * 11) % 700 + 1;
      uint64_t key = ((uint64_t)arg->id << 32) | (uint64_t)(f * 1000 + i);
      ASSERT_EQ(test_check(blocks[i], size, key), size);
    }
    pthread_barrier_wait(arg->barrier);
    fa_end_frame(arg->a);
  }
  return NULL;
}

TEST(frame_many_threads) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 8192, 0);
  pthread_barrier_t barrier;
  pthread_t t[THREADS];
  thread_arg_t arg[THREADS];
  fa_stats_t st;
  int i;
  ASSERT_EQ(pthread_barrier_init(&barrier, NULL, THREADS), 0);
  for (i = 0; i < THREADS; i++) {
    arg[i].a = a;
    arg[i].barrier = &barrier;
    arg[i].id = i;
    ASSERT_EQ(pthread_create(&t[i], NULL, thread_frames, &arg[i]), 0);
  }
  for (i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  pthread_barrier_destroy(&barrier);
  st = test_stats(a);
  ASSERT_EQ(st.frames, THREADS * THREAD_FRAMES);
  ASSERT_EQ(st.frame_bytes, 0);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

static void *exit_inside_frame(void *p) {
  fa_allocator_t *a = p;
  char *m;
  fa_begin_frame(a);
  m = fa_frame_alloc(a, 1000, 1);
  if (m)
    memset(m, 1, 1000);
  return m;
}

TEST(frame_thread_exit_inside_frame) {
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  pthread_t t;
  void *res = NULL;
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 10, 1));
  ASSERT_EQ(pthread_create(&t, NULL, exit_inside_frame, a), 0);
  ASSERT_EQ(pthread_join(t, &res), 0);
  ASSERT_NOT_NULL(res);
  /* The exited thread's frame memory is gone; main's frame is intact. */
  ASSERT_EQ(test_stats(a).frame_bytes, 10);
  fa_end_frame(a);
  ASSERT_EQ(test_stats(a).frame_bytes, 0);
  ASSERT_EQ(test_stats(a).frames, 1);
  done(a, &log);
}

static void *end_elsewhere(void *p) {
  fa_end_frame(p);
  return NULL;
}

TEST(frame_end_on_other_thread) {
  /* Another thread's fa_end_frame is that thread's unbalanced end: FA002
   * there, and this thread's frame is untouched. */
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  pthread_t t;
  char *p;
  fa_begin_frame(a);
  p = fa_frame_alloc(a, 500, 1);
  ASSERT_NOT_NULL(p);
  test_fill(p, 500, 77);
  ASSERT_EQ(pthread_create(&t, NULL, end_elsewhere, a), 0);
  ASSERT_EQ(pthread_join(t, NULL), 0);
  ASSERT_EQ(diag_log_count(&log, 2), 1);
  ASSERT_EQ(test_stats(a).frame_bytes, 500);
  ASSERT_EQ(test_check(p, 500, 77), 500);
  ASSERT_PTR_EQ(fa_frame_alloc(a, 1, 1), p + 500);
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 1);
  done(a, &log);
}

TEST(frame_many_allocators_one_thread) {
  /* More allocators than any small per-thread table, used in turn, some
   * released and replaced on the way. */
  enum { N = 40, ROUNDS = 4 };
  fa_allocator_t *a[N];
  char *p[N];
  void *q[N];
  int frames[N];
  int i, r;
  for (i = 0; i < N; i++) {
    a[i] = fa_create(NULL);
    ASSERT_NOT_NULL(a[i]);
    frames[i] = 0;
  }
  for (r = 0; r < ROUNDS; r++) {
    for (i = 0; i < N; i++) {
      fa_begin_frame(a[i]);
      p[i] = fa_frame_alloc(a[i], 64 + (size_t)i, 8);
      ASSERT_NOT_NULL(p[i]);
      test_fill(p[i], 64 + (size_t)i, (uint64_t)(r * N + i));
      q[i] = fa_pool_alloc(a[i], (size_t)i * 8);
      ASSERT_NOT_NULL(q[i]);
      test_fill(q[i], (size_t)i * 8, (uint64_t)(r * N + i) + 5000);
    }
    for (i = 0; i < N; i++) {
      ASSERT_EQ(test_check(p[i], 64 + (size_t)i, (uint64_t)(r * N + i)),
                64 + (size_t)i);
      ASSERT_EQ(test_check(q[i], (size_t)i * 8, (uint64_t)(r * N + i) + 5000),
                (size_t)i * 8);
      ASSERT_EQ(test_stats(a[i]).frame_bytes, 64 + (size_t)i);
      ASSERT_EQ(test_stats(a[i]).pool_count, 1);
      fa_pool_free(a[i], q[i]);
      fa_end_frame(a[i]);
      ASSERT_EQ(test_stats(a[i]).frames, ++frames[i]);
    }
    for (i = r % 3; i < N; i += 3) { /* replace a third of them */
      fa_release(a[i]);
      a[i] = fa_create(NULL);
      ASSERT_NOT_NULL(a[i]);
      frames[i] = 0;
    }
  }
  for (i = 0; i < N; i++)
    fa_release(a[i]);
}

TEST(frame_null_allocator) {
  fa_mark_t m;
  int_vec_t v = {0};
  fa_begin_frame(NULL);
  ASSERT_NULL(fa_frame_alloc(NULL, 8, 0));
  ASSERT_NULL(fa_frame_alloc(NULL, 0, 0));
  ASSERT_NULL(fa_frame_alloc(NULL, 8, 64));
  ASSERT_NULL(fa_frame_alloc(NULL, 8, 3));
  ASSERT_NULL(fa_frame_new(NULL, int));
  ASSERT_NULL(fa_frame_array(NULL, int, 10));
  ASSERT_NULL(fa_frame_box(NULL, point_t, {1, 2, 3.0}));
  m = fa_frame_mark(NULL);
  fa_frame_rewind(NULL, m);
  ASSERT_EQ(fa_frame_vec_push(NULL, &v, 1), FA_ENOMEM);
  fa_end_frame(NULL);
  fa_trim(NULL);
}

TEST(frame_null_allocator_after_use) {
  /* A NULL allocator after a real one was used on this thread. */
  diag_log_t log;
  fa_allocator_t *a = make(&log, 0, 0);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 8, 0));
  ASSERT_NULL(fa_frame_alloc(NULL, 8, 0));
  ASSERT_NOT_NULL(fa_frame_alloc(a, 8, 0));
  fa_end_frame(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  done(a, &log);
}

TEST(frame_trim) {
  test_source_t src;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  char *p[100];
  uint64_t grown, trimmed;
  int i;
  cfg.frame_chunk_size = 4096;
  a = test_counted_create(&src, &cfg);
  fa_begin_frame(a);
  for (i = 0; i < 100; i++) {
    p[i] = fa_frame_alloc(a, 2000, 1);
    ASSERT_NOT_NULL(p[i]);
    test_fill(p[i], 2000, (uint64_t)i);
  }
  /* Inside a frame the arena is kept. */
  fa_trim(a);
  for (i = 0; i < 100; i++)
    ASSERT_EQ(test_check(p[i], 2000, (uint64_t)i), 2000);
  fa_end_frame(a);
  grown = test_source_outstanding(&src);
  fa_trim(a);
  trimmed = test_source_outstanding(&src);
  ASSERT_LE(trimmed + 150000, grown); /* most of the 200 KB went back */
  ASSERT_EQ(test_stats(a).os_bytes, trimmed);
  /* Still works, and grows again. */
  fa_begin_frame(a);
  for (i = 0; i < 100; i++) {
    p[i] = fa_frame_alloc(a, 2000, 1);
    ASSERT_NOT_NULL(p[i]);
    test_fill(p[i], 2000, (uint64_t)i);
  }
  for (i = 0; i < 100; i++)
    ASSERT_EQ(test_check(p[i], 2000, (uint64_t)i), 2000);
  fa_end_frame(a);
  test_counted_release(a, &src);
}

/* Bytes held after one big frame and then `small` frames of 100 bytes. */
static void auto_trim(unsigned trim_frames, uint64_t *after_big,
                      uint64_t *after_small) {
  test_source_t src;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  int i;
  cfg.frame_chunk_size = 4096;
  cfg.frame_trim_frames = trim_frames;
  a = test_counted_create(&src, &cfg);
  fa_begin_frame(a);
  for (i = 0; i < 100; i++)
    ASSERT_NOT_NULL(fa_frame_alloc(a, 2000, 1));
  fa_end_frame(a);
  *after_big = test_source_outstanding(&src);
  for (i = 0; i < 20; i++) {
    fa_begin_frame(a);
    ASSERT_NOT_NULL(fa_frame_alloc(a, 100, 1));
    fa_end_frame(a);
  }
  *after_small = test_source_outstanding(&src);
  fa_release(a);
  ASSERT_EQ(test_source_outstanding(&src), 0);
  test_source_destroy(&src);
}

TEST(frame_trim_frames_config) {
  uint64_t big, small;
  auto_trim(0, &big, &small); /* 0: never */
  ASSERT_EQ(small, big);
  auto_trim(4, &big, &small);
  ASSERT_LE(small + 150000, big);
}

static const test_case_t tests[] = {
    TEST_ENTRY(frame_basic),
    TEST_ENTRY(frame_alignment),
    TEST_ENTRY(frame_alignment_beyond_chunk),
    TEST_ENTRY(frame_align_zero_is_max_align),
    TEST_ENTRY(frame_align_page_size),
    TEST_ENTRY(frame_invalid_align_fa006),
    TEST_ENTRY(frame_size_zero_unique),
    TEST_ENTRY(frame_huge_sizes),
    TEST_ENTRY(frame_typed_macros),
    TEST_ENTRY(frame_vec_push),
    TEST_ENTRY(frame_vec_grows_in_place_when_newest),
    TEST_ENTRY(frame_vec_element_alignment),
    TEST_ENTRY(frame_vec_failure_leaves_vec_unchanged),
    TEST_ENTRY(frame_mark_rewind),
    TEST_ENTRY(frame_rewind_across_chunks),
    TEST_ENTRY(frame_stale_mark_previous_frame),
    TEST_ENTRY(frame_stale_mark_rewound_past),
    TEST_ENTRY(frame_stale_mark_rewound_past_then_reached),
    TEST_ENTRY(frame_stale_mark_after_many_rewinds),
    TEST_ENTRY(frame_mark_without_memory),
    TEST_ENTRY(frame_bad_marks),
    TEST_ENTRY(frame_stale_mark_other_thread),
    TEST_ENTRY(frame_outside_frame_fa001),
    TEST_ENTRY(frame_begin_twice_fa002),
    TEST_ENTRY(frame_end_without_begin_fa002),
    TEST_ENTRY(frame_budget_fa003),
    TEST_ENTRY(frame_budget_counts_padding),
    TEST_ENTRY(frame_budget_per_thread),
    TEST_ENTRY(frame_chunk_growth),
    TEST_ENTRY(frame_keeps_high_water_mark),
    TEST_ENTRY(frame_two_allocators_one_thread),
    TEST_ENTRY(frame_many_threads),
    TEST_ENTRY(frame_thread_exit_inside_frame),
    TEST_ENTRY(frame_end_on_other_thread),
    TEST_ENTRY(frame_many_allocators_one_thread),
    TEST_ENTRY(frame_null_allocator),
    TEST_ENTRY(frame_null_allocator_after_use),
    TEST_ENTRY(frame_trim),
    TEST_ENTRY(frame_trim_frames_config),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
