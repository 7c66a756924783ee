// fa604_frame_scope.cpp: a fa::frame_scope ends its frame at its closing
// brace; the frame memory taken inside it is read after (FA604 at the read).
#include <framealloc.hpp>

#include <cstdio>

int main() {
  fa_config_t cfg{};
  cfg.strict = 1;
  fa::allocator a(cfg);
  char *msg;
  {
    fa::frame_scope frame(a);
    msg = fa::make_frame_array<char>(a, 32);
    msg[0] = 'h';
  }
  int c = msg[0]; // expect: FA604
  std::fprintf(stderr, "not stopped: the program ran past its mistake\n");
  return c == 'h' ? 1 : 2;
}
