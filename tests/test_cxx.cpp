// test_cxx.cpp: the public headers compile as C++ (C++11) and their
// functions and typed helpers, the *_box macros included, work when called
// from C++.
#include <framealloc.h>
#include <framealloc/task.h>

#include "test.h"

namespace {

struct vec3 {
  float x, y, z;
};

void test_frame_from_cxx() {
  fa_allocator_t *a = fa_create(nullptr);
  ASSERT_NOT_NULL(a);
  fa_begin_frame(a);
  vec3 *v = fa_frame_new(a, vec3);
  ASSERT_NOT_NULL(v);
  ASSERT(v->x == 0.0f && v->z == 0.0f);
  double *d = fa_frame_array(a, double, 100);
  ASSERT_NOT_NULL(d);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(d) % alignof(double), 0);
  fa_frame_vec(int) iv = {};
  for (int i = 0; i < 1000; i++)
    ASSERT_EQ(fa_frame_vec_push(a, &iv, i * 2), 0);
  ASSERT_EQ(iv.len, 1000u);
  ASSERT_EQ(iv.data[999], 1998);
  vec3 *b = fa_frame_box(a, vec3, {1.0f, 2.0f, 3.0f});
  ASSERT_NOT_NULL(b);
  ASSERT(b->x == 1.0f && b->y == 2.0f && b->z == 3.0f);
  fa_mark_t m = fa_frame_mark(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 64, 64));
  fa_frame_rewind(a, m);
  fa_end_frame(a);
  fa_stats_t st;
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  ASSERT_EQ(st.frames, 1u);
  fa_release(a);
}

void test_pool_heap_from_cxx() {
  fa_config_t cfg = {};
  cfg.pool_max_size = 2048;
  fa_allocator_t *a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  ASSERT_PTR_EQ(fa_retain(a), a);
  fa_release(a);
  vec3 *p = fa_pool_new(a, vec3);
  ASSERT_NOT_NULL(p);
  fa_pool_free(a, p);
  vec3 *pb = fa_pool_box(a, vec3, {4.0f, 5.0f, 6.0f});
  ASSERT_NOT_NULL(pb);
  ASSERT(pb->z == 6.0f);
  fa_pool_free(a, pb);
  vec3 *hb = fa_heap_box(a, vec3, {7.0f, 8.0f, 9.0f});
  ASSERT_NOT_NULL(hb);
  ASSERT(hb->x == 7.0f);
  fa_heap_free(a, hb);
  long *h = fa_heap_new(a, long);
  ASSERT_NOT_NULL(h);
  ASSERT_EQ(*h, 0);
  fa_heap_free(a, h);
  void *big = fa_heap_alloc(a, 100, 4096);
  ASSERT_NOT_NULL(big);
  fa_heap_free(a, big);
  fa_stats_t st;
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  ASSERT_EQ(st.pool_count, 0u);
  ASSERT_EQ(st.heap_count, 0u);
  fa_release(a);
}

void close_it(void *arg) { *static_cast<int *>(arg) += 1; }

void test_task_from_cxx() {
  fa_allocator_t *a = fa_create(nullptr);
  ASSERT_NOT_NULL(a);
  fa_task_t *t = fa_task_create(a);
  ASSERT_NOT_NULL(t);
  vec3 *v = fa_task_box(t, vec3, {1.0f, 2.0f, 3.0f});
  ASSERT_NOT_NULL(v);
  ASSERT(v->y == 2.0f);
  ASSERT_NOT_NULL(fa_task_new(t, vec3));
  ASSERT_NOT_NULL(fa_task_array(t, double, 10));
  int closed = 0;
  ASSERT_EQ(fa_task_defer(t, close_it, &closed), 0);
  ASSERT_EQ(fa_task_enter(t), 0);
  ASSERT_PTR_EQ(fa_task_current(), t);
  fa_task_leave(t);
  fa_task_destroy(t);
  ASSERT_EQ(closed, 1);
  fa_pool_guard_t *g = fa_pool_guard_create(a);
  ASSERT_NOT_NULL(g);
  vec3 *w = fa_pool_guard_box(g, vec3, {4.0f, 5.0f, 6.0f});
  ASSERT_NOT_NULL(w);
  ASSERT(w->z == 6.0f);
  ASSERT_NOT_NULL(fa_pool_guard_new(g, long));
  fa_pool_guard_destroy(g);
  fa_stats_t st;
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  ASSERT_EQ(st.task_bytes, 0u);
  fa_release(a);
}

void test_misc_from_cxx() {
  ASSERT_EQ(fa_version(), static_cast<unsigned>(FA_VERSION_HEX));
  ASSERT_STR_EQ(fa_strerror(FA_ENOMEM), "out of memory");
  ASSERT_STR_EQ(fa_diag_name(701), "FA701");
  ASSERT_EQ(fa_diag_level(1), FA_LEVEL_WARNING);
  ASSERT_EQ(FA_AWAIT(41 + 1), 42);
}

} // namespace

int main(int argc, char **argv) {
  static const test_case_t tests[] = {
      {"frame_from_cxx", test_frame_from_cxx},
      {"pool_heap_from_cxx", test_pool_heap_from_cxx},
      {"task_from_cxx", test_task_from_cxx},
      {"misc_from_cxx", test_misc_from_cxx},
  };
  return TEST_MAIN(tests, argc, argv);
}
