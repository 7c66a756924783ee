// A C++ consumer of the C headers (their C++ paths: decltype, braced
// temporaries) and, when check.sh has a standard library for the MSVC
// target, of <framealloc.hpp>; compiled (not linked) by check.sh.
#include <framealloc.h>
#include <framealloc/task.h>

struct vec3 {
  float x, y, z;
};
struct alignas(32) wide {
  char c;
};

static_assert(FA__ELEM_ALIGN(*(vec3 *)nullptr) == alignof(vec3), "vec3");
static_assert(FA__ELEM_ALIGN(*(wide *)nullptr) == 32, "wide");

FA_SUSPENDS static int wait_io() { return 0; }

FA_ASYNC static int job(fa_task_t *t) {
  vec3 *v = fa_task_new(t, vec3);
  int *n = fa_task_array(t, int, 16);
  vec3 *w = fa_task_box(t, vec3, {1, 2, 3});
  void *raw = fa_task_alloc(t, 24, 8);
  int r = FA_AWAIT(wait_io());
  return r + (v && n && w && raw);
}

int fa_msvc_consumer_cpp();
int fa_msvc_consumer_cpp() {
  fa_allocator_t *a = fa_create(nullptr);
  if (FA_UNLIKELY(!a))
    return 1;
  fa_begin_frame(a);
  void *f = fa_frame_alloc(a, 100, 0);
  vec3 *fv = fa_frame_new(a, vec3);
  float *fl = fa_frame_array(a, float, 8);
  vec3 *fb = fa_frame_box(a, vec3, {1, 2, 3});
  fa_frame_vec(wide) ws = {};
  int rc = fa_frame_vec_reserve(a, &ws, 4);
  rc |= fa_frame_vec_push(a, &ws, wide{'x'});
  fa_end_frame(a);
  void *p = fa_pool_alloc(a, 48);
  vec3 *pb = fa_pool_box(a, vec3, {7, 8, 9});
  fa_pool_free(a, p);
  fa_pool_free(a, fa_pool_new(a, vec3));
  fa_pool_free(a, pb);
  fa_heap_free(a, fa_heap_new(a, vec3));
  fa_heap_free(a, fa_heap_box(a, vec3, {0, 1, 0}));
  fa_task_t *t = fa_task_create(a);
  rc |= job(t);
  fa_task_destroy(t);
  fa_pool_guard_t *g = fa_pool_guard_create(a);
  rc |= !fa_pool_guard_new(g, vec3) || !fa_pool_guard_box(g, vec3, {0, 0, 1});
  fa_pool_guard_destroy(g);
  fa_release(a);
  return rc + (FA_LIKELY(f && fv && fl && fb) ? 0 : 1);
}

#ifdef FA_MSVC_CHECK_HPP
#include <framealloc.hpp>

#include <vector>

int fa_msvc_consumer_hpp();
int fa_msvc_consumer_hpp() {
  fa::allocator a;
  fa::frame_resource fr(a);
  fa::pool_resource pr(a);
  {
    fa::frame_scope frame(a);
    fa::frame_mark_scope mark(a);
    std::pmr::vector<int> v(&fr);
    v.push_back(1);
    std::vector<int, fa::frame_allocator<int>> fv{fa::frame_allocator<int>(a)};
    fv.push_back(2);
    vec3 *o = fa::make_frame<vec3>(a, vec3{1, 2, 3});
    vec3 *arr = fa::make_frame_array<vec3>(a, 4);
    (void)o;
    (void)arr;
  }
  std::vector<int, fa::pool_allocator<int>> pv{fa::pool_allocator<int>(a)};
  pv.push_back(3);
  fa::pool_ptr<vec3> pp = fa::make_pool<vec3>(a, vec3{4, 5, 6});
  fa::task t(a);
  {
    fa::task_scope scope(t);
    fa::task_resource tr(t);
    std::pmr::vector<int> tv(&tr);
    tv.push_back(4);
    vec3 *tm = t.make<vec3>(vec3{7, 8, 9});
    (void)tm;
  }
  fa::pool_guard g(a);
  vec3 *gm = g.make<vec3>(vec3{0, 0, 0});
  fa::call_site site = fa::current_call_site();
  std::error_code ec = fa::make_error_code(FA_ENOMEM);
  fa_stats_t st = a.stats();
  return (gm != nullptr) + (site.line > 0) + ec.value() + (int)st.frames +
         (pp != nullptr) + (fa::error_category().name() != nullptr);
}
#endif
