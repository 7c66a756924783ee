/* fa702_transitive.c: the suspension point is a call to a function that
 * awaits inside: it may suspend, so the call is one too (FA702). */
#include "agree.h"

static int fetch_score(int player) {
  int score = FA_AWAIT(agree_poll(player * 10));
  return score + 1;
}

int main(void) {
  fa_allocator_t *a = agree_start();
  int *scores = fa_frame_array(a, int, 4);
  agree_need(scores != NULL, "frame memory");
  scores[0] = fetch_score(1); // expect: FA702
  scores[1] = 0;
  return agree_not_stopped(scores[1]);
}
