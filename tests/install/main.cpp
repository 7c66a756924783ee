// A C++ consumer of the installed framealloc: <framealloc.hpp> with a pmr
// container on each resource, an owning pool pointer and a task object,
// then nothing left held. Built by run.sh through find_package (linking
// framealloc::cpp) and with the flags of pkg-config framealloc.
#include <framealloc.hpp>

#include <cstdio>
#include <memory_resource>
#include <string>
#include <unordered_map>
#include <vector>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,    \
                   #cond);                                                     \
      return 1;                                                                \
    }                                                                          \
  } while (0)

int main() {
  CHECK(fa_version() == FA_VERSION_HEX);
  fa::allocator alloc;
  fa::frame_resource frame_mem(alloc);
  fa::pool_resource pool_mem(alloc);
  for (int f = 0; f < 10; f++) {
    fa::frame_scope frame(alloc);
    std::pmr::vector<int> v(&frame_mem);
    for (int i = 0; i < 1000; i++)
      v.push_back(i);
    CHECK(v[999] == 999);
  }
  {
    std::pmr::unordered_map<int, std::pmr::string> m(&pool_mem);
    m.emplace(1, "a string too long for the small-string buffer");
    auto p = fa::make_pool<std::string>(alloc, "owned");
    fa::task t(alloc);
    auto *s = t.make<std::string>("destroyed with the task");
    CHECK(m.at(1).size() > 40 && *p == "owned" && s->size() > 10);
  }
  fa_stats_t st = alloc.stats();
  CHECK(st.frames == 10 && st.pool_count == 0 && st.task_bytes == 0);
  std::printf("C++ consumer (framealloc %s): ok\n", fa_version_string());
  return 0;
}
