// fa702_co_await.cpp: a real C++20 coroutine with a tiny awaitable. It
// takes frame memory, suspends at co_await while the main loop ends the
// frame and begins the next, and reads the memory when it is resumed
// (FA702 at the co_await).
#include <framealloc.hpp>

#include <coroutine>
#include <cstdio>

static fa::allocator *loop_alloc;
static std::coroutine_handle<> waiting;
static int result;

// Waits for the next tick of the main loop.
struct next_tick {
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { waiting = h; }
  void await_resume() const noexcept {}
};

struct job {
  struct promise_type {
    job get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {}
  };
};

job reader() {
  // The allocation is deliberate: the mistake under test is the pointer
  // kept across the suspension point.
  // fa-check: allow(FA701)
  char *msg = fa::make_frame_array<char>(*loop_alloc, 32);
  msg[0] = 'h';
  co_await next_tick{}; // expect: FA702
  result = msg[0];
}

int main() {
  fa_config_t cfg{};
  cfg.strict = 1;
  fa::allocator a(cfg);
  loop_alloc = &a;
  fa_begin_frame(a.get());
  reader(); // runs until it suspends
  fa_end_frame(a.get()); // the main loop's next frame
  fa_begin_frame(a.get());
  waiting.resume();
  std::fprintf(stderr, "not stopped: the program ran past its mistake (%d)\n",
               result);
  fa_end_frame(a.get());
  return 1;
}
