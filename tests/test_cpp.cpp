// test_cpp.cpp: the C++ layer, <framealloc.hpp>: the allocator handle, the
// scopes, the std::pmr resources with every kind of pmr container on each,
// the STL allocators, the owning pointers and tasks, exceptions thrown in
// the middle of a construction (nothing may stay allocated, as fa_get_stats
// shows), equality across tiers, a task filled on a worker thread and
// destroyed on the main one, and the diagnostics of misuse seen from C++.
//
// Built as C++17 with the project's compiler in every build (Release,
// ASan+UBSan, TSan, FA_DEBUG=3), and by tests/cpp/compilers.sh as C++17 and
// C++20 with g++ and clang++. A failed assertion leaves a test through
// longjmp, which skips the destructors of the objects in between: after a
// failure, memory counts of that test are meaningless, the verdict is not.
#include <framealloc.hpp>

#include "test.h"

#include <atomic>
#include <cstring>
#include <list>
#include <map>
#include <memory_resource>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// Counts the diagnostics an allocator raises, by code.
struct diag_counter {
  std::atomic<int> by_code[1000] = {};
  std::atomic<int> total{0};
  fa::call_site last{nullptr, 0}; // of the last diagnostic (one thread)
  static void fn(const fa_diag_t *d, void *user) {
    auto *self = static_cast<diag_counter *>(user);
    if (d->code >= 0 && d->code < 1000)
      self->by_code[d->code]++;
    self->total++;
    self->last = fa::current_call_site();
  }
  // Whether the last diagnostic came from this file at line.
  bool last_at(int line) const {
    return last.file && std::strstr(last.file, "test_cpp.cpp") &&
           last.line == line;
  }
  int count(int code) const { return by_code[code].load(); }
  fa_config_t config() {
    fa_config_t cfg{};
    cfg.on_diagnostic = &diag_counter::fn;
    cfg.diagnostic_user = this;
    return cfg;
  }
};

#define ASSERT_THROWS(expr, type)                                              \
  do {                                                                         \
    bool test_caught_ = false;                                                 \
    try {                                                                      \
      (void)(expr);                                                            \
    } catch (const type &) {                                                   \
      test_caught_ = true;                                                     \
    }                                                                          \
    if (!test_caught_)                                                         \
      test__fail(__FILE__, __LINE__, #expr " did not throw " #type);           \
  } while (0)

// Nothing held in the pool, heap or task tiers.
#define ASSERT_NOTHING_HELD(alloc)                                             \
  do {                                                                         \
    fa_stats_t test_st_ = (alloc).stats();                                     \
    ASSERT_EQ(test_st_.pool_count, 0);                                         \
    ASSERT_EQ(test_st_.heap_count, 0);                                         \
    ASSERT_EQ(test_st_.task_bytes, 0);                                         \
  } while (0)

// Every pmr container kind on one resource: vector, string, unordered_map,
// and a monotonic_buffer_resource whose upstream is the resource. Checks
// the contents; returns how many bytes the containers held.
void fill_containers(std::pmr::memory_resource *r) {
  std::pmr::vector<int> v(r);
  for (int i = 0; i < 5000; i++)
    v.push_back(i);
  ASSERT_EQ(v.size(), 5000);
  ASSERT_EQ(v[4999], 4999);
  std::pmr::string s(r);
  for (int i = 0; i < 200; i++)
    s += "frame data ";
  ASSERT_EQ(s.size(), 200 * 11);
  std::pmr::unordered_map<int, std::pmr::string> m(r);
  for (int i = 0; i < 1000; i++)
    m.emplace(i, std::pmr::string(100, static_cast<char>('a' + i % 26)));
  for (int i = 0; i < 1000; i += 2)
    m.erase(i);
  ASSERT_EQ(m.size(), 500);
  ASSERT_EQ(m.at(999).size(), 100);
  ASSERT_EQ(m.at(999)[0], 'a' + 999 % 26);
  ASSERT(m.at(999).get_allocator().resource()->is_equal(*r));
  std::pmr::monotonic_buffer_resource mono(256, r);
  std::pmr::vector<std::pmr::string> words(&mono);
  for (int i = 0; i < 300; i++)
    words.emplace_back("a string longer than the small buffer " +
                       std::to_string(i));
  ASSERT_EQ(words.size(), 300);
  ASSERT_STR_EQ(words[299].c_str(),
                "a string longer than the small buffer 299");
}

// ---- Allocator ------------------------------------------------------------

TEST(allocator_handle) {
  fa::allocator a;
  ASSERT(a);
  ASSERT_NOT_NULL(a.get());
  fa::allocator b = a; // another reference
  ASSERT(a == b);
  fa::allocator c(std::move(b));
  ASSERT_NULL(b.get());
  ASSERT(c == a);
  {
    // The last reference of x goes with y: x's copy keeps it alive.
    fa::allocator x;
    fa::allocator y = x;
    fa_allocator_t *h = x.get();
    x = fa::allocator();
    ASSERT_PTR_EQ(y.get(), h);
    auto p = fa::make_pool<int>(y, 7);
    ASSERT_EQ(*p, 7);
  }
  fa::allocator r = fa::allocator::retain(a.get());
  ASSERT(r == a);
  fa::allocator adopted = fa::allocator::adopt(fa_create(nullptr));
  ASSERT(adopted);
  ASSERT(adopted != a);
  fa_allocator_t *raw = adopted.release();
  ASSERT(!adopted);
  fa_release(raw);
  fa_config_t cfg{};
  cfg.pool_max_size = 2048;
  fa::allocator d(cfg);
  ASSERT_EQ(d.pool_max_size(), 2048);
  ASSERT_EQ(a.stats().frames, 0);
  fa::allocator empty = fa::allocator::adopt(nullptr);
  ASSERT_EQ(empty.stats().pool_count, 0);
}

TEST(errors_map_to_system_error) {
  ASSERT_STR_EQ(fa::error_category().name(), "framealloc");
  ASSERT(fa::error_category().message(FA_ENOMEM) == "out of memory");
  ASSERT(fa::make_error_code(FA_ENOMEM) == std::errc::not_enough_memory);
  ASSERT(fa::make_error_code(FA_EINVAL) == std::errc::invalid_argument);
  ASSERT(fa::make_error_code(FA_EBUSY) == std::errc::device_or_resource_busy);
  diag_counter diags;
  fa::allocator a(diags.config());
  bool caught = false;
  try {
    fa::task t(static_cast<fa_allocator_t *>(nullptr));
  } catch (const std::system_error &e) {
    caught = true;
    ASSERT_EQ(e.code().value(), FA_EINVAL);
    ASSERT(e.code().category() == fa::error_category());
  }
  ASSERT(caught);
  ASSERT_THROWS(fa::pool_guard(static_cast<fa_allocator_t *>(nullptr)),
                std::system_error);
  ASSERT_THROWS(fa::task_scope(static_cast<fa_task_t *>(nullptr)),
                std::system_error);
  // A memory source that refuses everything: fa_create fails.
  fa_memory_source_t none{};
  none.reserve = [](size_t, size_t, void *) -> void * { return nullptr; };
  none.release = [](void *, size_t, void *) {};
  fa_config_t cfg{};
  cfg.memory_source = &none;
  fa_allocator_t *probe = fa_create(&cfg);
  if (probe) { // fa_create needs no OS memory: then allocations fail
    fa_release(probe);
    fa::allocator poor(cfg);
    fa::pool_resource pr(poor);
    ASSERT_THROWS(pr.allocate(64), std::bad_alloc);
  } else {
    ASSERT_THROWS(fa::allocator(cfg), std::system_error);
  }
  fa::task t(a);
  ASSERT_EQ(t.defer(nullptr, nullptr), FA_EINVAL);
}

// ---- Frames -----------------------------------------------------------------

TEST(frame_resource_containers) {
  diag_counter diags;
  fa::allocator a(diags.config());
  fa::frame_resource fr(a);
  for (int frame = 0; frame < 3; frame++) {
    fa::frame_scope scope(a);
    fill_containers(&fr);
    ASSERT_GT(a.stats().frame_bytes, 0);
  }
  ASSERT_EQ(a.stats().frame_bytes, 0);
  ASSERT_EQ(a.stats().frames, 3);
  ASSERT_NOTHING_HELD(a);
  ASSERT_EQ(diags.total.load(), 0);
}

// One frame_resource serves two threads at once: each allocates in its
// own frame of the shared allocator.
TEST(frame_resource_shared_by_threads) {
  diag_counter diags;
  fa::allocator a(diags.config());
  fa::frame_resource fr(a);
  std::vector<std::thread> threads;
  std::atomic<long> sum{0};
  for (int k = 0; k < 2; k++)
    threads.emplace_back([&] {
      for (int f = 0; f < 50; f++) {
        fa::frame_scope frame(a);
        std::pmr::vector<std::pmr::string> names(&fr);
        for (int i = 0; i < 100; i++)
          names.emplace_back("a name longer than the small buffer");
        sum += static_cast<long>(names.size());
      }
    });
  for (auto &th : threads)
    th.join();
  ASSERT_EQ(sum.load(), 2 * 50 * 100);
  ASSERT_EQ(a.stats().frames, 100);
  ASSERT_EQ(a.stats().frame_bytes, 0);
  ASSERT_EQ(diags.total.load(), 0);
}

TEST(frame_scope_and_marks) {
  diag_counter diags;
  fa::allocator a(diags.config()), b(diags.config());
  {
    fa::frame_scope fa_scope(a);
    fa::frame_scope fb_scope(b); // another allocator: no conflict
    int *keep = fa::make_frame<int>(a, 41);
    uint64_t before = a.stats().frame_bytes;
    {
      fa::frame_mark_scope mark(a);
      double *tmp = fa::make_frame_array<double>(a, 1000);
      ASSERT_EQ(tmp[999], 0.0);
      ASSERT_GE(a.stats().frame_bytes, before + 8000);
    }
    ASSERT_EQ(a.stats().frame_bytes, before);
    ASSERT_EQ(*keep, 41);
    struct point {
      int x, y;
    };
    point *p = fa::make_frame<point>(b, 1, 2); // an aggregate: T{...}
    ASSERT_EQ(p->y, 2);
    ASSERT_NOT_NULL(fa::make_frame_array<point>(b, 0));
  }
  ASSERT_EQ(a.stats().frames, 1);
  ASSERT_EQ(b.stats().frames, 1);
  ASSERT_EQ(diags.total.load(), 0);
}

TEST(frame_misuse_diagnostics) {
  diag_counter diags;
  fa::allocator a(diags.config());
  // FA001: frame memory outside any frame.
  int *loose = fa::make_frame<int>(a, 1);
  ASSERT_EQ(*loose, 1);
  ASSERT_EQ(diags.count(1), 1);
  fa_end_frame(a.get()); // ends the implicit frame
  // FA002: a frame_scope nested in a frame of the same allocator. The
  // inner begin is reported; the inner end ends the frame, so the outer
  // end is reported as an end without a begin.
  // Each is reported at the C++ line of the scope.
  int outer_line = 0;
  {
    outer_line = __LINE__ + 1;
    fa::frame_scope outer(a);
    {
      fa::frame_scope inner(a);
      ASSERT_EQ(diags.count(2), 1);
      ASSERT(diags.last_at(__LINE__ - 2));
    }
  }
  ASSERT_EQ(diags.count(2), 2);
  ASSERT(diags.last_at(outer_line));
  // FA701: frame memory inside a task scope.
  fa::task t(a);
  {
    fa::frame_scope frame(a);
    fa::task_scope scope(t);
    (void)fa::make_frame_array<int>(a, 4);
    ASSERT_EQ(diags.count(701), 1);
    ASSERT(diags.last_at(__LINE__ - 2));
  }
  // FA006: an alignment beyond the page size; the resource throws.
  {
    fa::frame_scope frame(a);
    fa::frame_resource fr(a);
    ASSERT_THROWS(fr.allocate(16, 1 << 20), std::bad_alloc);
    ASSERT_EQ(diags.count(6), 1);
  }
  ASSERT_EQ(diags.total.load(), 5);
}

TEST(frame_budget_throws_bad_alloc) {
  diag_counter diags;
  fa_config_t cfg = diags.config();
  cfg.frame_budget = 64 * 1024;
  fa::allocator a(cfg);
  fa::frame_resource fr(a);
  fa::frame_scope frame(a);
  std::pmr::vector<char> v(&fr);
  ASSERT_THROWS(v.resize(1 << 20), std::bad_alloc);
  ASSERT_EQ(diags.count(3), 1);
  ASSERT_THROWS(fa::make_frame_array<char>(a, 1 << 20), std::bad_alloc);
  ASSERT_THROWS(fa::make_frame_array<double>(a, SIZE_MAX / 4), std::bad_alloc);
  std::vector<int, fa::frame_allocator<int>> w{fa::frame_allocator<int>(a)};
  ASSERT_THROWS(w.reserve(1 << 20), std::bad_alloc);
  w.push_back(3); // small still fits
  ASSERT_EQ(w[0], 3);
}

// ---- Pools ------------------------------------------------------------------

TEST(pool_resource_containers) {
  fa::allocator a;
  fa::pool_resource pr(a);
  fill_containers(&pr);
  ASSERT_NOTHING_HELD(a);
  // Alignments beyond the pools' go to the heap tier and come back.
  void *p = pr.allocate(100, 256);
  ASSERT_EQ(reinterpret_cast<uintptr_t>(p) % 256, 0);
  ASSERT_EQ(a.stats().heap_count, 1);
  pr.deallocate(p, 100, 256);
  void *big = pr.allocate(1 << 20); // above the pools: the heap path
  ASSERT_GE(a.stats().pool_bytes, 1 << 20);
  pr.deallocate(big, 1 << 20);
  ASSERT_NOTHING_HELD(a);
}

struct counted {
  static std::atomic<int> alive;
  std::string name;
  explicit counted(std::string n) : name(std::move(n)) { alive++; }
  counted(const counted &o) : name(o.name) { alive++; }
  virtual ~counted() { alive--; }
};
std::atomic<int> counted::alive{0};

struct derived : counted {
  int extra;
  derived(std::string n, int e) : counted(std::move(n)), extra(e) {}
};

struct alignas(64) wide {
  char bytes[64];
};

TEST(pool_ptr_and_make_pool) {
  fa::allocator a;
  {
    fa::pool_ptr<counted> p = fa::make_pool<counted>(a, "one");
    ASSERT_EQ(counted::alive.load(), 1);
    ASSERT(p->name == "one");
    fa::pool_ptr<counted> base = fa::make_pool<derived>(a, "two", 2);
    ASSERT_EQ(counted::alive.load(), 2);
    auto w = fa::make_pool<wide>(a.get()); // aligned beyond 16: heap tier
    ASSERT_EQ(reinterpret_cast<uintptr_t>(w.get()) % 64, 0);
    ASSERT_EQ(a.stats().heap_count, 1);
    // Freed on another thread.
    std::thread([q = std::move(p)]() mutable { q.reset(); }).join();
    ASSERT_EQ(counted::alive.load(), 1);
  }
  ASSERT_EQ(counted::alive.load(), 0);
  ASSERT_NOTHING_HELD(a);
}

struct thrower {
  static std::atomic<int> alive;
  static std::atomic<int> countdown; // throws when it reaches zero
  int v;
  explicit thrower(int x) : v(x) {
    if (--countdown == 0)
      throw std::runtime_error("thrown mid-construction");
    alive++;
  }
  thrower(const thrower &o) : thrower(o.v) {}
  ~thrower() { alive--; }
};
std::atomic<int> thrower::alive{0};
std::atomic<int> thrower::countdown{0};

TEST(exceptions_leave_nothing_held) {
  fa::allocator a;
  fa::pool_resource pr(a);
  // make_pool: the block is freed when the constructor throws.
  thrower::countdown = 1;
  ASSERT_THROWS(fa::make_pool<thrower>(a, 1), std::runtime_error);
  ASSERT_NOTHING_HELD(a);
  // A vector copied element by element, throwing at the 500th.
  {
    std::pmr::vector<thrower> src(&pr);
    thrower::countdown = 1 << 30;
    for (int i = 0; i < 1000; i++)
      src.emplace_back(i);
    thrower::countdown = 500;
    ASSERT_THROWS(std::pmr::vector<thrower>(src, &pr), std::runtime_error);
    ASSERT_EQ(thrower::alive.load(), 1000);
  }
  // Nodes of an unordered_map whose value throws, and an STL container on
  // pool_allocator whose growth throws.
  {
    std::pmr::unordered_map<int, thrower> m(&pr);
    thrower::countdown = 300;
    bool threw = false;
    try {
      for (int i = 0; i < 1000; i++)
        m.emplace(std::piecewise_construct, std::forward_as_tuple(i),
                  std::forward_as_tuple(i));
    } catch (const std::runtime_error &) {
      threw = true;
    }
    ASSERT(threw);
    ASSERT_EQ(m.size(), 299);
    std::list<thrower, fa::pool_allocator<thrower>> l{
        fa::pool_allocator<thrower>(a)};
    thrower::countdown = 50;
    ASSERT_THROWS(l.assign(100, thrower(0)), std::runtime_error);
  }
  ASSERT_EQ(thrower::alive.load(), 0);
  ASSERT_NOTHING_HELD(a);
  // task.make: the task's memory goes with the task; no destructor is
  // registered for an object that was never made.
  {
    fa::task t(a);
    thrower::countdown = 3;
    ASSERT_NOT_NULL(t.make<thrower>(1));
    ASSERT_NOT_NULL(t.make<thrower>(2));
    ASSERT_THROWS(t.make<thrower>(3), std::runtime_error);
    ASSERT_EQ(thrower::alive.load(), 2);
  }
  ASSERT_EQ(thrower::alive.load(), 0);
  ASSERT_NOTHING_HELD(a);
}

TEST(stl_allocators) {
  fa::allocator a, b;
  {
    fa::frame_scope frame(a);
    std::map<int, std::string, std::less<int>,
             fa::frame_allocator<std::pair<const int, std::string>>>
        m{fa::frame_allocator<std::pair<const int, std::string>>(a)};
    for (int i = 0; i < 100; i++)
      m.emplace(i, "x"); // short strings: no heap memory to leak
    ASSERT_EQ(m.size(), 100);
    std::vector<double, fa::frame_allocator<double>> v(
        100, 1.5, fa::frame_allocator<double>(a));
    ASSERT_EQ(v[99], 1.5);
    ASSERT_EQ(reinterpret_cast<uintptr_t>(v.data()) % alignof(double), 0);
  }
  using pvec = std::vector<int, fa::pool_allocator<int>>;
  pvec x(1000, 7, fa::pool_allocator<int>(a));
  pvec y(10, 1, fa::pool_allocator<int>(b));
  ASSERT_EQ(a.stats().pool_count + a.stats().heap_count, 1);
  y = std::move(x); // propagates: y now holds a's block, in O(1)
  ASSERT(y.get_allocator() == fa::pool_allocator<long>(a));
  ASSERT_EQ(y.size(), 1000);
  ASSERT_EQ(b.stats().pool_count, 0);
  pvec z{fa::pool_allocator<int>(b)};
  z = y; // does not propagate: z copies into b
  ASSERT(z.get_allocator() == fa::pool_allocator<int>(b));
  ASSERT_EQ(z[999], 7);
  x.clear();
  y.clear();
  y.shrink_to_fit();
  z.clear();
  z.shrink_to_fit();
  ASSERT_NOTHING_HELD(a);
  ASSERT_NOTHING_HELD(b);
}

// ---- Equality ---------------------------------------------------------------

TEST(equality_across_tiers) {
  fa::allocator a, b;
  fa::frame_resource fa1(a), fa2(a), fb(b);
  fa::pool_resource pa1(a), pa2(a), pb(b);
  fa::task t1(a), t2(a);
  fa::task_resource ta1(t1), ta2(t1.get()), tb(t2);
  // The same tier of the same allocator (or task): equal.
  ASSERT(fa1.is_equal(fa2));
  ASSERT(pa1.is_equal(pa2));
  ASSERT(ta1.is_equal(ta2));
  ASSERT(fa1.is_equal(fa1));
  // Another allocator, task or tier: not equal.
  ASSERT(!fa1.is_equal(fb));
  ASSERT(!pa1.is_equal(pb));
  ASSERT(!ta1.is_equal(tb));
  ASSERT(!fa1.is_equal(pa1));
  ASSERT(!pa1.is_equal(fa1));
  ASSERT(!pa1.is_equal(ta1));
  ASSERT(!ta1.is_equal(fa1));
  ASSERT(!pa1.is_equal(*std::pmr::new_delete_resource()));
  std::pmr::synchronized_pool_resource peer;
  ASSERT(!peer.is_equal(pa1));
  // Containers see it: a move between equal resources steals the buffer.
  std::pmr::vector<int> v1({1, 2, 3}, &pa1);
  const int *data = v1.data();
  std::pmr::vector<int> v2(std::move(v1), &pa2);
  ASSERT_PTR_EQ(v2.data(), data);
  std::pmr::vector<int> v3(std::move(v2), &pb);
  ASSERT_PTR_NE(v3.data(), data);
  // The STL allocators.
  ASSERT(fa::frame_allocator<int>(a) == fa::frame_allocator<char>(a));
  ASSERT(fa::frame_allocator<int>(a) != fa::frame_allocator<int>(b));
  ASSERT(fa::pool_allocator<int>(a) == fa::pool_allocator<long>(a.get()));
  ASSERT(fa::pool_allocator<int>(a) != fa::pool_allocator<int>(b));
}

// ---- Tasks ------------------------------------------------------------------

struct asset {
  static std::atomic<int> alive;
  std::pmr::vector<std::pmr::string> lines;
  std::pmr::unordered_map<std::pmr::string, int> index;
  explicit asset(std::pmr::memory_resource *r) : lines(r), index(r) { alive++; }
  ~asset() { alive--; }
};
std::atomic<int> asset::alive{0};

TEST(task_resource_containers) {
  fa::allocator a;
  {
    fa::task t(a);
    fa::task_resource tr(t);
    fill_containers(&tr);
    ASSERT_GT(a.stats().task_bytes, 0);
  }
  ASSERT_NOTHING_HELD(a);
}

TEST(task_on_a_worker_destroyed_on_main) {
  diag_counter diags;
  fa::allocator a(diags.config());
  fa::task t(a);
  asset *made = nullptr;
  std::vector<int> order;
  std::thread worker([&, moved = std::move(t)]() mutable {
    fa::task_scope scope(moved);
    // The resource lives in the task, made first so that it is destroyed
    // last, after the containers that use it.
    fa::task_resource *tr = moved.make<fa::task_resource>(moved);
    made = moved.make<asset>(tr);
    for (int i = 0; i < 2000; i++) {
      made->lines.emplace_back("line " + std::to_string(i) +
                               " of an asset loaded on a worker");
      made->index.emplace(made->lines.back(), i);
    }
    // Cleanups run newest first: the int's after the asset's.
    moved.make<counted>("cleanup");
    auto note = [](void *v) {
      static_cast<std::vector<int> *>(v)->push_back(1);
    };
    int rc = moved.defer(note, &order);
    ASSERT_EQ(rc, 0);
    t = std::move(moved); // back to the main thread
  });
  worker.join();
  ASSERT(t);
  ASSERT_EQ(asset::alive.load(), 1);
  ASSERT_EQ(made->index.at(made->lines[1999]), 1999);
  ASSERT_GT(t.used(), 2000 * 40);
  ASSERT_PTR_EQ(t.allocator_handle(), a.get());
  t.reset(); // destroyed on the main thread
  ASSERT(!t);
  ASSERT_EQ(order.size(), 1);
  ASSERT_EQ(asset::alive.load(), 0);
  ASSERT_EQ(counted::alive.load(), 0);
  ASSERT_NOTHING_HELD(a);
  ASSERT_EQ(diags.total.load(), 0);
}

TEST(task_scope_busy_on_another_thread) {
  diag_counter diags;
  fa::allocator a(diags.config());
  fa::task t(a);
  fa::task_scope scope(t);
  int code = 0;
  std::thread([&] {
    try {
      fa::task_scope other(t);
    } catch (const std::system_error &e) {
      code = e.code().value();
    }
  }).join();
  ASSERT_EQ(code, FA_EBUSY);
  ASSERT_EQ(diags.count(7), 1);
}

TEST(pool_guard_from_threads) {
  fa::allocator a;
  {
    fa::pool_guard g(a);
    std::atomic<long> sum{0};
    std::vector<std::thread> threads;
    for (int k = 0; k < 2; k++)
      threads.emplace_back([&g, &sum, k] {
        for (int i = 0; i < 1000; i++)
          sum += *g.make<long>(k * 1000 + i);
      });
    for (auto &th : threads)
      th.join();
    ASSERT_EQ(sum.load(), 1999L * 2000 / 2);
    ASSERT_GT(a.stats().task_bytes, 0);
    fa::pool_guard moved(std::move(g));
    ASSERT_NULL(g.get());
    ASSERT_NOT_NULL(moved.allocate(100, 64));
  }
  ASSERT_NOTHING_HELD(a);
}

} // namespace

int main(int argc, char **argv) {
  static const test_case_t tests[] = {
      TEST_ENTRY(allocator_handle),
      TEST_ENTRY(errors_map_to_system_error),
      TEST_ENTRY(frame_resource_containers),
      TEST_ENTRY(frame_resource_shared_by_threads),
      TEST_ENTRY(frame_scope_and_marks),
      TEST_ENTRY(frame_misuse_diagnostics),
      TEST_ENTRY(frame_budget_throws_bad_alloc),
      TEST_ENTRY(pool_resource_containers),
      TEST_ENTRY(pool_ptr_and_make_pool),
      TEST_ENTRY(exceptions_leave_nothing_held),
      TEST_ENTRY(stl_allocators),
      TEST_ENTRY(equality_across_tiers),
      TEST_ENTRY(task_resource_containers),
      TEST_ENTRY(task_on_a_worker_destroyed_on_main),
      TEST_ENTRY(task_scope_busy_on_another_thread),
      TEST_ENTRY(pool_guard_from_threads),
  };
  return TEST_MAIN(tests, argc, argv);
}
