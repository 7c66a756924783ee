/* test_tracy.c: <framealloc/tracy.h> compiled with TRACY_ENABLE against a
 * stand-in TracyC.h (tests/tracy/) that records the calls: every
 * allocation reaches its tier's named pool once, every free once, frame
 * memory is freed exactly once at fa_end_frame (only the rewound part at
 * fa_frame_rewind), and a frame with more allocations than a thread
 * remembers is discarded by name. */
#define TRACY_ENABLE 1
#define FA_TRACY_TRACK 8
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/tracy.h>

#define CALLS_MAX 1024

typedef struct call_s {
  char kind; /* 'a', 'f', 'd' */
  const void *p;
  size_t size;
  const char *name;
} call_t;

static call_t calls[CALLS_MAX];
static int ncalls;

void fake_tracy_alloc(const void *ptr, size_t size, const char *name) {
  if (ncalls < CALLS_MAX)
    calls[ncalls++] = (call_t){'a', ptr, size, name};
}
void fake_tracy_free(const void *ptr, const char *name) {
  if (ncalls < CALLS_MAX)
    calls[ncalls++] = (call_t){'f', ptr, 0, name};
}
void fake_tracy_discard(const char *name) {
  if (ncalls < CALLS_MAX)
    calls[ncalls++] = (call_t){'d', NULL, 0, name};
}

int tracy_off_hooks_are_null(void);

/* Calls of kind on p (any pointer for a discard) in pool `name`. */
static int seen(char kind, const void *p, const char *name) {
  int n = 0;
  for (int i = 0; i < ncalls; i++)
    if (calls[i].kind == kind && (kind == 'd' || calls[i].p == p) &&
        strcmp(calls[i].name, name) == 0)
      n++;
  return n;
}

static fa_allocator_t *make(test_source_t *src) {
  fa_hooks_t hooks;
  fa_config_t cfg = {0};
  fa_tracy_hooks(&hooks);
  cfg.hooks = &hooks;
  ncalls = 0;
  return test_counted_create(src, &cfg);
}

TEST(tracy_tiers) {
  test_source_t src;
  fa_allocator_t *a = make(&src);
  void *p = fa_pool_alloc(a, 40);
  void *h = fa_heap_alloc(a, 4000, 0);
  fa_task_t *t = fa_task_create(a);
  void *k = fa_task_alloc(t, 10, 0);
  ASSERT_EQ(seen('a', p, "framealloc pool"), 1);
  ASSERT_EQ(seen('a', h, "framealloc heap"), 1);
  ASSERT_EQ(seen('a', k, "framealloc task"), 1);
  ASSERT_EQ(calls[0].size, 40);
  ASSERT_EQ(calls[1].size, 4000);
  fa_pool_free(a, p);
  fa_heap_free(a, h);
  fa_task_destroy(t);
  ASSERT_EQ(seen('f', p, "framealloc pool"), 1);
  ASSERT_EQ(seen('f', h, "framealloc heap"), 1);
  ASSERT_EQ(seen('f', k, "framealloc task"), 1);
  ASSERT_EQ(ncalls, 6);
  test_counted_release(a, &src);
}

TEST(tracy_frames) {
  test_source_t src;
  fa_allocator_t *a = make(&src);
  void *f[4];
  fa_begin_frame(a);
  for (int i = 0; i < 4; i++)
    ASSERT_NOT_NULL(f[i] = fa_frame_alloc(a, 32, 16));
  const char *name = calls[0].name;
  ASSERT(strncmp(name, "framealloc frame ", 17) == 0);
  fa_mark_t m = fa_frame_mark(a);
  void *g = fa_frame_alloc(a, 32, 16);
  fa_frame_rewind(a, m);
  ASSERT_EQ(seen('f', g, name), 1);
  for (int i = 0; i < 4; i++)
    ASSERT_EQ(seen('f', f[i], name), 0);
  fa_end_frame(a);
  for (int i = 0; i < 4; i++) {
    ASSERT_EQ(seen('a', f[i], name), 1);
    ASSERT_EQ(seen('f', f[i], name), 1);
  }
  ASSERT_EQ(seen('d', NULL, name), 0);
  ASSERT_EQ(ncalls, 5 + 5);
  /* More than FA_TRACY_TRACK (8) in one frame: the first 8 are freed one
   * by one, the rest with a discard of the thread's pool. */
  ncalls = 0;
  fa_begin_frame(a);
  for (int i = 0; i < 12; i++)
    ASSERT_NOT_NULL(fa_frame_alloc(a, 16, 16));
  fa_end_frame(a);
  int frees = 0;
  for (int i = 0; i < ncalls; i++)
    frees += calls[i].kind == 'f';
  ASSERT_EQ(frees, 8);
  ASSERT_EQ(seen('d', NULL, name), 1);
  ASSERT_EQ(calls[ncalls - 1].kind, 'd');
  test_counted_release(a, &src);
}

TEST(tracy_disabled) { ASSERT(tracy_off_hooks_are_null()); }

static const test_case_t tests[] = {
    TEST_ENTRY(tracy_tiers),
    TEST_ENTRY(tracy_frames),
    TEST_ENTRY(tracy_disabled),
};

int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
