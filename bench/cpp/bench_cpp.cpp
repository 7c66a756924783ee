// bench_cpp.cpp: <framealloc.hpp>'s resources against the standard ones.
//
//   fa-bench-cpp frame|pool VARIANT THREADS [--callgrind]
//
// frame: per frame, a std::pmr::vector<int> grown by 1,000 push_backs and
//   1,000 strings of 16 to 40 characters (beyond the small-string buffer,
//   so each allocates) kept in a vector; FRAMES frames.
//   fa           fa::frame_resource in an fa::frame_scope (all threads
//                share one allocator and one resource)
//   monotonic    std::pmr::monotonic_buffer_resource over a 1 MiB buffer,
//                release() per frame (one per thread: it cannot be shared)
//   unsync       std::pmr::unsynchronized_pool_resource (one per thread)
//   sync         std::pmr::synchronized_pool_resource (shared)
//   std          std::vector / std::string with std::allocator (malloc:
//                glibc, or mimalloc when run.sh preloads it)
// pool: random insert/erase in an unordered_map<int, int> holding about
//   10,000 nodes (keys drawn from 20,000: present ones are erased, absent
//   ones inserted); POOL_OPS operations per thread, each thread with its
//   own map, all maps on one resource where the variant allows it.
//   fa           fa::pool_resource (shared)
//   unsync       std::pmr::unsynchronized_pool_resource (one per thread)
//   sync         std::pmr::synchronized_pool_resource (shared)
//   std          std::allocator
//
// Prints one line: workload, variant, threads, ns per operation (an
// allocating operation: a push_back, a string, an insert or erase), total
// ms, operations. BENCH_QUICK=1 makes the workloads 10 times smaller.
// --callgrind counts instructions around the timed part only (run it under
// valgrind --tool=callgrind --collect-atstart=no).
#include <framealloc.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

namespace {

long frames = 10000;
long pool_ops = 2000000;
constexpr int per_frame = 1000;
constexpr int live_keys = 10000;

std::uint32_t xorshift(std::uint32_t &s) {
  s ^= s << 13;
  s ^= s >> 17;
  s ^= s << 5;
  return s;
}

// The strings of one frame: 16 to 40 characters.
const char *const text = "entity-name-with-some-length-for-the-frame-strings";

// One frame of the frame workload on pmr containers; returns a checksum.
long frame_pmr(std::pmr::memory_resource *r, std::uint32_t &rng) {
  std::pmr::vector<int> v(r);
  for (int i = 0; i < per_frame; i++)
    v.push_back(i);
  std::pmr::vector<std::pmr::string> names(r);
  names.reserve(per_frame);
  for (int i = 0; i < per_frame; i++)
    names.emplace_back(text, 16 + xorshift(rng) % 25);
  return v.back() + long(names.back().size());
}

long frame_std(std::uint32_t &rng) {
  std::vector<int> v;
  for (int i = 0; i < per_frame; i++)
    v.push_back(i);
  std::vector<std::string> names;
  names.reserve(per_frame);
  for (int i = 0; i < per_frame; i++)
    names.emplace_back(text, 16 + xorshift(rng) % 25);
  return v.back() + long(names.back().size());
}

template <class Map> long churn(Map &m, std::uint32_t &rng, long ops) {
  long sum = 0;
  for (int i = 0; i < live_keys; i++)
    m.emplace(int(xorshift(rng) % (2 * live_keys)), i);
  for (long i = 0; i < ops; i++) {
    int k = int(xorshift(rng) % (2 * live_keys));
    auto it = m.find(k);
    if (it != m.end())
      m.erase(it);
    else
      m.emplace(k, int(i));
  }
  sum += long(m.size());
  return sum;
}

struct shared_state {
  fa::allocator alloc;
  fa::frame_resource frame_mem{alloc};
  fa::pool_resource pool_mem{alloc};
  std::pmr::synchronized_pool_resource sync;
};

// The work of one thread; returns a checksum.
long run_thread(const std::string &w, const std::string &v, shared_state &s,
                int id) {
  std::uint32_t rng = 2463534242u + std::uint32_t(id) * 7919u;
  long sum = 0;
  if (w == "frame") {
    if (v == "fa") {
      for (long f = 0; f < frames; f++) {
        fa::frame_scope scope(s.alloc);
        sum += frame_pmr(&s.frame_mem, rng);
      }
    } else if (v == "monotonic") {
      std::vector<std::byte> buf(1 << 20);
      std::pmr::monotonic_buffer_resource mono(buf.data(), buf.size());
      for (long f = 0; f < frames; f++) {
        sum += frame_pmr(&mono, rng);
        mono.release();
      }
    } else if (v == "unsync") {
      std::pmr::unsynchronized_pool_resource pool;
      for (long f = 0; f < frames; f++)
        sum += frame_pmr(&pool, rng);
    } else if (v == "sync") {
      for (long f = 0; f < frames; f++)
        sum += frame_pmr(&s.sync, rng);
    } else if (v == "std") {
      for (long f = 0; f < frames; f++)
        sum += frame_std(rng);
    }
  } else {
    if (v == "fa") {
      std::pmr::unordered_map<int, int> m(&s.pool_mem);
      sum = churn(m, rng, pool_ops);
    } else if (v == "unsync") {
      std::pmr::unsynchronized_pool_resource pool;
      std::pmr::unordered_map<int, int> m(&pool);
      sum = churn(m, rng, pool_ops);
    } else if (v == "sync") {
      std::pmr::unordered_map<int, int> m(&s.sync);
      sum = churn(m, rng, pool_ops);
    } else if (v == "std") {
      std::unordered_map<int, int> m;
      sum = churn(m, rng, pool_ops);
    }
  }
  return sum;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s frame|pool VARIANT THREADS [--callgrind]\n",
                 argv[0]);
    return 2;
  }
  std::string w = argv[1], v = argv[2];
  int threads = std::atoi(argv[3]);
  bool cg = argc > 4 && std::strcmp(argv[4], "--callgrind") == 0;
  const char *quick = std::getenv("BENCH_QUICK");
  if (quick && std::strcmp(quick, "1") == 0)
    frames /= 10, pool_ops /= 10;
  if (cg) // instruction counts need far fewer repetitions
    frames /= 10, pool_ops /= 10;
  bool known = (w == "frame" && (v == "fa" || v == "monotonic" ||
                                 v == "unsync" || v == "sync" || v == "std")) ||
               (w == "pool" &&
                (v == "fa" || v == "unsync" || v == "sync" || v == "std"));
  if (!known || threads < 1 || threads > 64) {
    std::fprintf(stderr, "fa-bench-cpp: unknown workload or variant\n");
    return 2;
  }
  shared_state s;
  // Warm-up: one tenth of the work, on this thread.
  long saved_frames = frames, saved_ops = pool_ops;
  frames /= 10, pool_ops /= 10;
  long sum = run_thread(w, v, s, 99);
  frames = saved_frames, pool_ops = saved_ops;

  std::vector<long> sums(std::size_t(threads), 0);
  if (cg)
    CALLGRIND_TOGGLE_COLLECT;
  auto t0 = std::chrono::steady_clock::now();
  if (threads == 1) {
    sums[0] = run_thread(w, v, s, 0);
  } else {
    std::vector<std::thread> ts;
    for (int i = 0; i < threads; i++)
      ts.emplace_back(
          [&, i] { sums[std::size_t(i)] = run_thread(w, v, s, i); });
    for (auto &t : ts)
      t.join();
  }
  auto t1 = std::chrono::steady_clock::now();
  if (cg)
    CALLGRIND_TOGGLE_COLLECT;
  for (long x : sums)
    sum += x;
  long ops = w == "frame" ? frames * 2 * per_frame : pool_ops;
  ops *= threads;
  double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
  // Per operation of one thread: the threads run at once.
  std::printf("%s\t%s\t%d\t%.2f\t%.1f\tops=%ld\tsum=%ld\n", w.c_str(),
              v.c_str(), threads, ns * threads / double(ops), ns / 1e6, ops,
              sum);
  return 0;
}
