// test_cpp_noexcept.cpp: <framealloc.hpp> built with -fno-exceptions. Where
// the C++ layer would throw, it prints one line naming the function (and,
// where the function takes it, the caller's file and line) and aborts. Each
// case runs in a forked child whose stderr is read back.
#include <framealloc.hpp>

#include "test.h"

#include <memory_resource>
#include <string>
#include <sys/wait.h>
#include <vector>

namespace {

// Runs fn in a child; returns its stderr and sets *sig to the signal that
// ended it (0 when it exited).
template <class Fn> std::string run_child(Fn fn, int *sig) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    fn();
    _exit(0);
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof(buf))) > 0)
    err.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  *sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  return err;
}

bool contains(const std::string &s, const char *what) {
  return s.find(what) != std::string::npos;
}

TEST(resource_failure_aborts) {
  int sig = 0;
  std::string err = run_child(
      [] {
        fa_config_t cfg{};
        cfg.frame_budget = 4096;
        fa::allocator a(cfg);
        fa::frame_resource fr(a);
        fa::frame_scope frame(a);
        std::pmr::vector<char> v(&fr);
        v.resize(1 << 20);
      },
      &sig);
  ASSERT_EQ(sig, SIGABRT);
  // The C library's diagnostic, then the C++ layer's line.
  ASSERT(contains(err, "[FA003]"));
  ASSERT(contains(err, "framealloc: error[C++]: fa::frame_resource: out of "
                       "memory"));
}

// Makes a task on no allocator, at the line bad_task_line names.
void make_bad_task() { fa::task t(static_cast<fa_allocator_t *>(nullptr)); }
constexpr int bad_task_line = __LINE__ - 1;

TEST(error_aborts_with_call_site) {
  int sig = 0;
  std::string err = run_child(make_bad_task, &sig);
  ASSERT_EQ(sig, SIGABRT);
  ASSERT(contains(err, "framealloc: error[C++]: fa::task: fa_task_create: "
                       "invalid argument (called at "));
  std::string at =
      "test_cpp_noexcept.cpp:" + std::to_string(bad_task_line) + ")";
  if (!contains(err, at.c_str()))
    fprintf(stdout, "  stderr: %s\n", err.c_str());
  ASSERT(contains(err, at.c_str()));
}

// The default sink of fa::allocator: the C library's line and the C++
// call site of the scope.
void nest_frames() {
  fa::allocator a;
  fa::frame_scope outer(a);
  fa::frame_scope inner(a);
}
constexpr int inner_line = __LINE__ - 2;

TEST(default_sink_names_call_site) {
  int sig = 0;
  std::string err = run_child(nest_frames, &sig);
  ASSERT_EQ(sig, 0);
  std::string at = "test_cpp_noexcept.cpp:" + std::to_string(inner_line) + ")";
  std::string want = "framealloc: warning[FA002]: ";
  if (!contains(err, want.c_str()) || !contains(err, at.c_str()))
    fprintf(stdout, "  stderr: %s\n", err.c_str());
  ASSERT(contains(err, want.c_str()));
  ASSERT(contains(err, at.c_str()));
}

TEST(success_does_not_abort) {
  int sig = 0;
  std::string err = run_child(
      [] {
        fa::allocator a;
        fa::pool_resource pr(a);
        std::pmr::vector<int> v(1000, 1, &pr);
        auto p = fa::make_pool<int>(a, 3);
        if (*p + v[999] != 4)
          std::abort();
      },
      &sig);
  ASSERT_EQ(sig, 0);
  ASSERT(err.empty());
}

} // namespace

int main(int argc, char **argv) {
  static const test_case_t tests[] = {
      TEST_ENTRY(resource_failure_aborts),
      TEST_ENTRY(error_aborts_with_call_site),
      TEST_ENTRY(default_sink_names_call_site),
      TEST_ENTRY(success_does_not_abort),
  };
  return TEST_MAIN(tests, argc, argv);
}
