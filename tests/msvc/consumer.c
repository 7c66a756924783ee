/* A C consumer of <framealloc.h> and <framealloc/task.h> that uses every
 * public macro and inline function, compiled (not linked) by check.sh in
 * MSVC mode. */
#include <framealloc.h>
#include <framealloc/task.h>
#include <framealloc/timeline.h>
#include <framealloc/tracy.h>

typedef struct vec3_s {
  float x, y, z;
} vec3_t;
typedef struct big_s {
  double d[3];
  char c;
} big_t;

/* The alignment fa_frame_vec_reserve passes is valid for its element. */
#define ALIGN_OK(T, e)                                                         \
  _Static_assert(FA__ELEM_ALIGN(e) >= _Alignof(T) &&                           \
                     FA__ELEM_ALIGN(e) % _Alignof(T) == 0 &&                   \
                     FA__ELEM_ALIGN(e) <= 4096,                                \
                 "element alignment of " #T)
extern char c1;
extern short s1;
extern vec3_t v1;
extern big_t b1;
extern char page[8192];
ALIGN_OK(char, c1);
ALIGN_OK(short, s1);
ALIGN_OK(vec3_t, v1);
ALIGN_OK(big_t, b1);
ALIGN_OK(char[8192], page);

_Static_assert(FA_VERSION_HEX >= 0, "version");

extern const char *const err_names[];
const char *const err_names[] = {
#define NAME(name, val, msg) #name,
    FA_ERRNO_MAP(NAME)
#undef NAME
};
extern const int diag_codes[];
const int diag_codes[] = {
#define CODE(num, level, by, title) num,
    FA_DIAG_MAP(CODE)
#undef CODE
};

FA_SUSPENDS static int wait_io(void) { return 0; }

FA_ASYNC static int job(fa_task_t *t) {
  vec3_t *v = fa_task_new(t, vec3_t);
  int *n = fa_task_array(t, int, 16);
  vec3_t *w = fa_task_box(t, vec3_t, {1, 2, 3});
  void *raw = fa_task_alloc(t, 24, 8);
  int r = FA_AWAIT(wait_io());
  FA_AWAIT((void)0);
  return r + (v && n && w && raw);
}

FA_BEGINS_FRAME static void begin(fa_allocator_t *a) { fa_begin_frame(a); }
FA_ENDS_FRAME static void end(fa_allocator_t *a) { fa_end_frame(a); }

int fa_msvc_consumer(void);
int fa_msvc_consumer(void) {
  fa_config_t cfg = {0};
  fa_allocator_t *a = fa_create(&cfg);
  if (FA_UNLIKELY(!a))
    return (int)sizeof(err_names) + (int)sizeof(diag_codes);
  begin(a);
  void *f = fa_frame_alloc(a, 100, 0);
  vec3_t *fv = fa_frame_new(a, vec3_t);
  float *fa = fa_frame_array(a, float, 8);
  vec3_t *fb = fa_frame_box(a, vec3_t, {1, 2, 3});
  fa_frame_vec(vec3_t) vs = {0};
  fa_frame_vec(char) cs = {0};
  int rc = fa_frame_vec_reserve(a, &vs, 4);
  rc |= fa_frame_vec_push(a, &vs, (vec3_t){4, 5, 6});
  rc |= fa_frame_vec_push(a, &cs, 'x');
  fa_mark_t m = fa_frame_mark(a);
  fa_frame_rewind(a, m);
  end(a);

  void *p = fa_pool_alloc(a, 48);
  vec3_t *pv = fa_pool_new(a, vec3_t);
  vec3_t *pb = fa_pool_box(a, vec3_t, {7, 8, 9});
  fa_pool_free(a, p);
  fa_pool_free(a, pv);
  fa_pool_free(a, pb);
  vec3_t *hv = fa_heap_new(a, vec3_t);
  big_t *hb = fa_heap_box(a, big_t, {{1, 2, 3}, 'c'});
  fa_heap_free(a, hv);
  fa_heap_free(a, hb);

  fa_task_t *t = fa_task_create(a);
  rc |= job(t);
  fa_task_destroy(t);
  fa_pool_guard_t *g = fa_pool_guard_create(a);
  vec3_t *gv = fa_pool_guard_new(g, vec3_t);
  vec3_t *gb = fa_pool_guard_box(g, vec3_t, {0, 0, 1});
  fa_pool_guard_destroy(g);

  fa_release(a);
  return rc + (FA_LIKELY(f && fv && fa && fb) ? 0 : 1) + (gv && gb);
}
