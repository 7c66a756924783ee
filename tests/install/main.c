/* A consumer of the installed framealloc: checks that the header and the
 * library it was linked with agree, and that every tier works through them.
 * Built three ways by run.sh: against the shared and the static library of
 * the CMake package, and with the flags from pkg-config. EXPECT_STATIC says
 * which linkage the build meant, so that a package that forgets to define
 * FA_STATIC for static consumers is caught. */
#include <framealloc.h>
#include <framealloc/task.h>

#include <stdio.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

typedef struct point_s {
  int x, y;
} point_t;

typedef fa_frame_vec(point_t) point_vec_t;

int main(void) {
#ifdef EXPECT_STATIC
  const char *linkage = "static";
#ifndef FA_STATIC
  CHECK(!"the static target does not define FA_STATIC");
#endif
#else
  const char *linkage = "shared";
#ifdef FA_STATIC
  CHECK(!"the shared target defines FA_STATIC");
#endif
#endif
  CHECK(fa_version() == FA_VERSION_HEX);
  char version[32];
  snprintf(version, sizeof(version), "%d.%d.%d", FA_VERSION_MAJOR,
           FA_VERSION_MINOR, FA_VERSION_PATCH);
  CHECK(strcmp(fa_version_string(), version) == 0);
  CHECK(strcmp(fa_strerror(FA_ENOMEM), "out of memory") == 0);
  CHECK(strcmp(fa_diag_name(701), "FA701") == 0);

  fa_allocator_t *a = fa_create(NULL);
  CHECK(a != NULL);

  for (int frame = 0; frame < 10; frame++) {
    fa_begin_frame(a);
    point_t *p = fa_frame_box(a, point_t, {frame, -frame});
    CHECK(p != NULL && p->x == frame && p->y == -frame);
    point_vec_t v = {0};
    for (int i = 0; i < 100; i++)
      CHECK(fa_frame_vec_push(a, &v, (point_t){i, i}) == 0);
    CHECK(v.len == 100 && v.data[99].x == 99);
    fa_end_frame(a);
  }

  point_t *q = fa_pool_box(a, point_t, {1, 2});
  double *big = fa_heap_alloc(a, 1 << 20, 64);
  CHECK(q != NULL && q->y == 2 && big != NULL);
  fa_pool_free(a, q);
  fa_heap_free(a, big);

  fa_task_t *t = fa_task_create(a);
  point_t *tp = fa_task_box(t, point_t, {3, 4});
  CHECK(t != NULL && tp != NULL && tp->x == 3);
  fa_task_destroy(t);

  fa_stats_t st;
  CHECK(fa_get_stats(a, &st) == 0);
  CHECK(st.frames == 10 && st.pool_count == 0 && st.heap_count == 0 &&
        st.task_bytes == 0);
  fa_release(a);

  printf("consumer (%s, framealloc %s): ok\n", linkage, fa_version_string());
  return 0;
}
