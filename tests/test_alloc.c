/* test_alloc.c: allocator lifetime (fa_create, fa_retain, fa_release), the
 * configuration, the version, error strings, the diagnostic catalogue, the
 * default diagnostic printer and strict mode. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <framealloc/task.h>
#include <limits.h>
#include <signal.h>
#include <sys/types.h>
#ifdef _WIN32
#include <fcntl.h>
#include <io.h>
#include <windows.h>
#else
#include <sys/wait.h>
#endif

/* Uses every tier once and frees what it took. */
static void use_allocator(fa_allocator_t *a) {
  char *f, *p, *h;
  fa_begin_frame(a);
  f = fa_frame_alloc(a, 100, 0);
  ASSERT_NOT_NULL(f);
  memset(f, 1, 100);
  p = fa_pool_alloc(a, 48);
  ASSERT_NOT_NULL(p);
  memset(p, 2, 48);
  h = fa_heap_alloc(a, 300, 0);
  ASSERT_NOT_NULL(h);
  memset(h, 3, 300);
  ASSERT_EQ(f[99], 1);
  ASSERT_EQ(p[47], 2);
  fa_pool_free(a, p);
  fa_heap_free(a, h);
  fa_end_frame(a);
}

TEST(create_null_config) {
  fa_allocator_t *a = fa_create(NULL);
  ASSERT_NOT_NULL(a);
  use_allocator(a);
  fa_release(a);
}

TEST(create_zero_config) {
  fa_config_t cfg = {0};
  fa_allocator_t *a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  use_allocator(a);
  fa_release(a);
}

TEST(retain_release) {
  test_source_t src;
  fa_allocator_t *a, *b;
  a = test_counted_create(&src, NULL);
  b = fa_retain(a);
  ASSERT_PTR_EQ(b, a);
  use_allocator(a);
  fa_release(a);
  /* One reference is left: the allocator still works. */
  use_allocator(b);
  ASSERT_GT(test_source_outstanding(&src), 0);
  test_counted_release(b, &src);
}

TEST(retain_release_null) {
  ASSERT_NULL(fa_retain(NULL));
  fa_release(NULL);
}

TEST(create_release_cycle) {
  /* A new allocator may reuse the address of a released one: nothing of
   * the old one may be used through a per-thread cache. */
  int i;
  for (i = 0; i < 200; i++) {
    fa_allocator_t *a = fa_create(NULL);
    ASSERT_NOT_NULL(a);
    use_allocator(a);
    fa_release(a);
  }
}

TEST(release_with_live_memory_fa005) {
  test_env_t e;
  test_env_open(&e, NULL);
  ASSERT_NOT_NULL(fa_pool_alloc(e.a, 64));
  ASSERT_NOT_NULL(fa_pool_alloc(e.a, 5000));
  ASSERT_NOT_NULL(fa_heap_alloc(e.a, 1000, 0));
  fa_release(e.a);
  ASSERT_GE(diag_log_count(&e.log, 5), 1);
  ASSERT_EQ(diag_log_level(&e.log, 5), FA_LEVEL_ERROR);
  ASSERT_EQ(e.log.bad, 0);
  /* The live memory went back with the allocator. */
  ASSERT_EQ(test_source_outstanding(&e.src), 0);
  ASSERT_EQ(test_source_bad(&e.src), 0);
  diag_log_destroy(&e.log);
  test_source_destroy(&e.src);
}

/* The last fa_release with a live task and a live pool guard: one FA005
 * naming their bytes; the allocator lives on until the last of them is
 * destroyed, and then everything goes back to the source. */
TEST(release_with_live_task_and_guard_fa005) {
  test_env_t e;
  fa_task_t *t;
  fa_pool_guard_t *g;
  char want[64];
  uint64_t bytes;
  test_env_open(&e, NULL);
  t = fa_task_create(e.a);
  g = fa_pool_guard_create(e.a);
  ASSERT_NOT_NULL(t);
  ASSERT_NOT_NULL(g);
  ASSERT_NOT_NULL(fa_task_alloc(t, 1000, 0));
  ASSERT_NOT_NULL(fa_pool_guard_alloc(g, 500, 0));
  bytes = test_stats(e.a).task_bytes;
  ASSERT_GE(bytes, 1500);
  fa_release(e.a);
  ASSERT_EQ(diag_log_count(&e.log, 5), 1);
  ASSERT_EQ(diag_log_level(&e.log, 5), FA_LEVEL_ERROR);
  ASSERT_EQ(e.log.nrecs, 1);
  snprintf(want, sizeof(want), "%llu task bytes", (unsigned long long)bytes);
  ASSERT_NOT_NULL(strstr(e.log.recs[0].message, want));
  ASSERT_NOT_NULL(strstr(e.log.recs[0].message, "2 tasks or pool guards"));
  /* Both still work, and the last one to go takes the allocator along. */
  ASSERT_NOT_NULL(fa_task_alloc(t, 64, 0));
  fa_task_destroy(t);
  ASSERT_GT(test_source_outstanding(&e.src), 0);
  fa_pool_guard_destroy(g);
  ASSERT_EQ(diag_log_total(&e.log), 1);
  ASSERT_EQ(test_source_outstanding(&e.src), 0);
  ASSERT_EQ(test_source_bad(&e.src), 0);
  ASSERT_EQ(e.log.bad, 0);
  diag_log_destroy(&e.log);
  test_source_destroy(&e.src);
}

TEST(release_clean_no_fa005) {
  diag_log_t log;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  diag_log_init(&log);
  diag_log_config(&log, &cfg);
  a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  use_allocator(a);
  fa_release(a);
  ASSERT_EQ(diag_log_total(&log), 0);
  diag_log_destroy(&log);
}

TEST(config_memory_source_used) {
  test_source_t src;
  fa_allocator_t *a;
  fa_stats_t st;
  a = test_counted_create(&src, NULL);
  use_allocator(a);
  ASSERT_GT(test_source_reserves(&src), 0);
  ASSERT_EQ(fa_get_stats(a, &st), 0);
  ASSERT_EQ(st.os_bytes, test_source_outstanding(&src));
  ASSERT_EQ(st.os_requests, test_source_reserves(&src));
  test_counted_release(a, &src);
}

TEST(config_is_copied) {
  test_source_t src;
  diag_log_t log;
  fa_memory_source_t *copy = malloc(sizeof(*copy));
  fa_config_t *cfg = calloc(1, sizeof(*cfg));
  fa_allocator_t *a;
  uint64_t before;
  void *h;
  ASSERT_NOT_NULL(copy);
  ASSERT_NOT_NULL(cfg);
  test_source_init(&src);
  diag_log_init(&log);
  *copy = src.src;
  cfg->memory_source = copy;
  cfg->frame_budget = 1000;
  diag_log_config(&log, cfg);
  a = fa_create(cfg);
  ASSERT_NOT_NULL(a);
  /* Neither the config nor the memory source struct is needed any more. */
  memset(copy, 0, sizeof(*copy));
  free(copy);
  memset(cfg, 0, sizeof(*cfg));
  free(cfg);
  before = test_source_reserves(&src);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 900, 1));
  ASSERT_NULL(fa_frame_alloc(a, 200, 1)); /* the budget was kept */
  ASSERT_EQ(diag_log_count(&log, 3), 1);  /* and the callback */
  fa_end_frame(a);
  h = fa_heap_alloc(a, 100, 0);
  ASSERT_NOT_NULL(h);
  ASSERT_GT(test_source_reserves(&src), before); /* and the source */
  fa_heap_free(a, h);
  fa_release(a);
  ASSERT_EQ(test_source_outstanding(&src), 0);
  diag_log_destroy(&log);
  test_source_destroy(&src);
}

/* The bytes the memory source holds once an allocator was created with this
 * chunk size and made its first frame allocation. */
static uint64_t first_frame_bytes(size_t chunk_size) {
  test_source_t src;
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  uint64_t bytes;
  cfg.frame_chunk_size = chunk_size;
  a = test_counted_create(&src, &cfg);
  fa_begin_frame(a);
  ASSERT_NOT_NULL(fa_frame_alloc(a, 1, 1));
  bytes = test_source_outstanding(&src);
  fa_end_frame(a);
  fa_release(a);
  test_source_destroy(&src);
  return bytes;
}

TEST(config_frame_chunk_size) {
  uint64_t dflt = first_frame_bytes(0);
  uint64_t big = first_frame_bytes((size_t)1 << 20);
  uint64_t one = first_frame_bytes(1);
  uint64_t odd = first_frame_bytes(100);
  /* Everything but the first chunk is the same in the four cases. */
  ASSERT_GE(big, dflt + 900 * 1024); /* 1 MiB honoured, 0 is 64 KiB */
  /* 100 is a page, 0 is 64 KiB: the same with 64 KiB pages. */
  if (test_page_size() < ((size_t)64 << 10))
    ASSERT_GE(dflt + test_page_size() + 4096, odd + 64 * 1024);
  else
    ASSERT_EQ(dflt, odd);
  ASSERT_EQ(one, odd); /* both round up to one page */
}

TEST(config_extreme_values) {
  /* Any size_t in any field: the allocator is NULL or works. */
  static const size_t chunks[] = {SIZE_MAX, SIZE_MAX - 100, (size_t)1 << 40,
                                  (size_t)1 << 33};
  size_t i;
  for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
    test_source_t src;
    diag_log_t log;
    fa_config_t cfg = {0};
    fa_allocator_t *a;
    test_source_init(&src);
    diag_log_init(&log);
    diag_log_config(&log, &cfg);
    cfg.memory_source = &src.src;
    cfg.frame_chunk_size = chunks[i];
    cfg.frame_budget = SIZE_MAX;
    cfg.pool_max_size = SIZE_MAX;
    cfg.cache_max_size = SIZE_MAX;
    cfg.frame_trim_frames = ~0u;
    a = fa_create(&cfg);
    if (a) {
      char *p;
      void *q;
      fa_begin_frame(a);
      p = fa_frame_alloc(a, 100, 0);
      if (p)
        memset(p, 1, 100);
      fa_end_frame(a);
      q = fa_pool_alloc(a, FA_POOL_MAX_LIMIT);
      ASSERT_NOT_NULL(q);
      memset(q, 2, FA_POOL_MAX_LIMIT);
      fa_pool_free(a, q);
      q = fa_pool_alloc(a, 100);
      ASSERT_NOT_NULL(q);
      fa_pool_free(a, q);
      fa_trim(a);
      fa_release(a);
    }
    ASSERT_EQ(diag_log_count(&log, 4), 0);
    ASSERT_EQ(diag_log_count(&log, 5), 0);
    ASSERT_EQ(test_source_outstanding(&src), 0);
    ASSERT_EQ(test_source_bad(&src), 0);
    diag_log_destroy(&log);
    test_source_destroy(&src);
  }
}

TEST(config_huge_budget_is_unlimited) {
  static const size_t budgets[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX / 2 + 1,
                                   (size_t)1 << 48};
  size_t i;
  for (i = 0; i < sizeof(budgets) / sizeof(budgets[0]); i++) {
    diag_log_t log;
    fa_config_t cfg = {0};
    fa_allocator_t *a;
    char *p;
    int k;
    diag_log_init(&log);
    diag_log_config(&log, &cfg);
    cfg.frame_budget = budgets[i];
    a = fa_create(&cfg);
    ASSERT_NOT_NULL(a);
    fa_begin_frame(a);
    for (k = 0; k < 10; k++) {
      p = fa_frame_alloc(a, 50000, 16);
      ASSERT_NOT_NULL(p);
      memset(p, k, 50000);
    }
    fa_end_frame(a);
    ASSERT_EQ(diag_log_total(&log), 0);
    fa_release(a);
    diag_log_destroy(&log);
  }
}

typedef struct user_check_s {
  int calls;
} user_check_t;

static void check_user(const fa_diag_t *d, void *user) {
  user_check_t *u = user;
  (void)d;
  u->calls++;
}

TEST(config_diagnostic_user) {
  user_check_t u = {0};
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  cfg.on_diagnostic = check_user;
  cfg.diagnostic_user = &u;
  a = fa_create(&cfg);
  ASSERT_NOT_NULL(a);
  fa_end_frame(a); /* FA002 */
  ASSERT_EQ(u.calls, 1);
  fa_release(a);
}

TEST(diagnostics_stay_with_their_allocator) {
  diag_log_t la, lb;
  fa_config_t ca = {0}, cb = {0};
  fa_allocator_t *a, *b;
  diag_log_init(&la);
  diag_log_init(&lb);
  diag_log_config(&la, &ca);
  diag_log_config(&lb, &cb);
  a = fa_create(&ca);
  b = fa_create(&cb);
  ASSERT_NOT_NULL(a);
  ASSERT_NOT_NULL(b);
  fa_begin_frame(b);
  ASSERT_NOT_NULL(fa_frame_alloc(b, 8, 0));
  ASSERT_NOT_NULL(fa_frame_alloc(a, 8, 0)); /* FA001 on a only */
  ASSERT_EQ(diag_log_count(&la, 1), 1);
  ASSERT_EQ(diag_log_level(&la, 1), FA_LEVEL_WARNING);
  ASSERT_EQ(diag_log_total(&lb), 0);
  fa_end_frame(a);
  fa_end_frame(b);
  ASSERT_EQ(diag_log_total(&lb), 0);
  ASSERT_EQ(la.bad, 0);
  fa_release(a);
  fa_release(b);
  diag_log_destroy(&la);
  diag_log_destroy(&lb);
}

TEST(version) {
  char expect[32];
  ASSERT_EQ(fa_version(), FA_VERSION_HEX);
  ASSERT_EQ(FA_VERSION_HEX, (FA_VERSION_MAJOR << 16) | (FA_VERSION_MINOR << 8) |
                                FA_VERSION_PATCH);
  snprintf(expect, sizeof(expect), "%d.%d.%d", FA_VERSION_MAJOR,
           FA_VERSION_MINOR, FA_VERSION_PATCH);
  ASSERT_STR_EQ(fa_version_string(), expect);
}

TEST(strerror_codes) {
#define CHECK_ERR(name, val, msg)                                              \
  ASSERT_EQ(FA_##name, val);                                                   \
  ASSERT_STR_EQ(fa_strerror(FA_##name), msg);
  FA_ERRNO_MAP(CHECK_ERR)
#undef CHECK_ERR
  ASSERT_EQ(FA_OK, 0);
  ASSERT_NOT_NULL(fa_strerror(0));
}

TEST(strerror_unknown) {
  static const int codes[] = {-6, -100, 1, 2, 701, INT_MIN, INT_MAX};
  size_t i;
  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    ASSERT_STR_EQ(fa_strerror(codes[i]), "unknown error");
}

TEST(diag_catalogue) {
  int n = 0;
#define CHECK_DIAG(num, lvl, by, title)                                        \
  do {                                                                         \
    char name[16];                                                             \
    snprintf(name, sizeof(name), "FA%03d", num);                               \
    ASSERT_STR_EQ(fa_diag_name(num), name);                                    \
    ASSERT_STR_EQ(fa_diag_title(num), title);                                  \
    ASSERT_EQ(fa_diag_level(num), FA_LEVEL_##lvl);                             \
    n++;                                                                       \
  } while (0);
  FA_DIAG_MAP(CHECK_DIAG)
#undef CHECK_DIAG
  ASSERT_EQ(n, 14);
  ASSERT_STR_EQ(fa_diag_name(701), "FA701");
  ASSERT_STR_EQ(fa_diag_name(1), "FA001");
  ASSERT_EQ(fa_diag_level(3), FA_LEVEL_ERROR);
  ASSERT_EQ(fa_diag_level(2), FA_LEVEL_WARNING);
}

TEST(diag_unknown_codes) {
  static const int codes[] = {0,   9,   100, 600,  602,     700,
                              704, 999, -1,  -701, INT_MIN, INT_MAX};
  size_t i;
  for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
    ASSERT_NULL(fa_diag_name(codes[i]));
    ASSERT_NULL(fa_diag_title(codes[i]));
    ASSERT_EQ(fa_diag_level(codes[i]), 0);
  }
}

/* ---- The default printer --------------------------------------------- */

static fa_allocator_t *stderr_alloc;

static void raise_fa001(void) {
  test_sink = fa_frame_alloc(stderr_alloc, 16, 0);
  fa_end_frame(stderr_alloc);
}

static void raise_nothing(void) {
  void *p;
  fa_begin_frame(stderr_alloc);
  test_sink = fa_frame_alloc(stderr_alloc, 16, 0);
  p = fa_pool_alloc(stderr_alloc, 16);
  fa_pool_free(stderr_alloc, p);
  fa_end_frame(stderr_alloc);
}

/* Runs fn with stderr going to a temporary file; returns what it wrote.
 * fn must not assert. */
static void capture_stderr(void (*fn)(void), char *buf, size_t n) {
  FILE *tmp = tmpfile();
  int saved;
  size_t len = 0;
  ASSERT_NOT_NULL(tmp);
  fflush(stderr);
  saved = dup(2);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(fileno(tmp), 2), 0);
  fn();
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  len = fread(buf, 1, n - 1, tmp);
  buf[len] = '\0';
  fclose(tmp);
}

static int count_char(const char *s, char c) {
  int n = 0;
  for (; *s; s++)
    n += *s == c;
  return n;
}

TEST(default_diag_prints_one_line) {
  char out[1024];
  stderr_alloc = fa_create(NULL);
  ASSERT_NOT_NULL(stderr_alloc);
  capture_stderr(raise_fa001, out, sizeof(out));
  ASSERT_EQ(count_char(out, '\n'), 1);
  ASSERT_EQ(out[strlen(out) - 1], '\n');
  ASSERT_NOT_NULL(strstr(out, "FA001"));
  capture_stderr(raise_nothing, out, sizeof(out));
  ASSERT_STR_EQ(out, ""); /* nothing is printed when nothing is wrong */
  fa_release(stderr_alloc);
  stderr_alloc = NULL;
}

/* ---- Strict mode ------------------------------------------------------ */

static void write_code(const fa_diag_t *d, void *user) {
  int fd = *(int *)user;
  char line[32];
  int n = snprintf(line, sizeof(line), "%d\n", d->code);
  if (write(fd, line, (size_t)n) != n)
    _exit(3);
}

/* Runs a program in a child with stderr and the diagnostic callback going
 * to pipes; returns how it ended and what they received. POSIX forks; on
 * Windows the test binary runs again as `--child NAME HANDLE` (see main),
 * where a SIGABRT handler turns abort() into exit status CHILD_ABORT. */
typedef struct child_out_s {
  int status; /* the wait status; on Windows, the exit code */
  char diag[256];
  char err[1024];
} child_out_t;

#define CHILD_ABORT 134 /* 128 + SIGABRT, as a shell reports it */
#ifdef _WIN32
#define CHILD_ABORTED(st) ((st) == CHILD_ABORT)
#define CHILD_EXIT_CODE(st) (st)
#else
#define CHILD_ABORTED(st) (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT)
#define CHILD_EXIT_CODE(st) (WIFEXITED(st) ? WEXITSTATUS(st) : -1)
#endif

static void read_all(int fd, char *buf, size_t n) {
  size_t len = 0;
  ssize_t r;
  while (len + 1 < n && (r = read(fd, buf + len, n - 1 - len)) > 0)
    len += (size_t)r;
  buf[len] = '\0';
}

typedef void (*child_body_t)(int diag_fd);

#ifdef _WIN32
/* The child's end of a pipe, inherited; the parent's end, not inherited. */
static void child_pipe(HANDLE *parent_read, HANDLE *child_write) {
  SECURITY_ATTRIBUTES sa = {sizeof(sa), NULL, TRUE};
  ASSERT(CreatePipe(parent_read, child_write, &sa, 0));
  ASSERT(SetHandleInformation(*parent_read, HANDLE_FLAG_INHERIT, 0));
}

static void run_child_named(const char *name, child_out_t *out) {
  HANDLE dr, dw, er, ew;
  char exe[MAX_PATH], cmd[MAX_PATH + 128];
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  DWORD code;
  DWORD len = GetModuleFileNameA(NULL, exe, sizeof(exe));
  ASSERT(len > 0 && len < sizeof(exe));
  child_pipe(&dr, &dw);
  child_pipe(&er, &ew);
  snprintf(cmd, sizeof(cmd), "\"%s\" --child %s %llu", exe, name,
           (unsigned long long)(uintptr_t)dw);
  memset(&si, 0, sizeof(si));
  si.cb = sizeof(si);
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = ew;
  si.hStdError = ew;
  fflush(stdout);
  fflush(stderr);
  ASSERT(CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
  CloseHandle(dw); /* the child holds the write ends now */
  CloseHandle(ew);
  int dfd = _open_osfhandle((intptr_t)dr, _O_RDONLY);
  int efd = _open_osfhandle((intptr_t)er, _O_RDONLY);
  ASSERT(dfd >= 0 && efd >= 0);
  read_all(dfd, out->diag, sizeof(out->diag));
  read_all(efd, out->err, sizeof(out->err));
  close(dfd);
  close(efd);
  ASSERT_EQ(WaitForSingleObject(pi.hProcess, INFINITE), WAIT_OBJECT_0);
  ASSERT(GetExitCodeProcess(pi.hProcess, &code));
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
  out->status = (int)code;
}

static void on_abort(int sig) {
  (void)sig;
  _exit(CHILD_ABORT);
}

/* `--child NAME HANDLE`: runs the body NAME with the diagnostic pipe
 * HANDLE, in the process run_child_named started. */
static int child_main(const char *name, const char *handle);
#else
static void run_child_body(child_body_t body, child_out_t *out) {
  int dp[2], ep[2];
  pid_t pid;
  ASSERT_EQ(pipe(dp), 0);
  ASSERT_EQ(pipe(ep), 0);
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(dp[0]);
    close(ep[0]);
    dup2(ep[1], 2);
    body(dp[1]);
    _exit(0);
  }
  close(dp[1]);
  close(ep[1]);
  read_all(dp[0], out->diag, sizeof(out->diag));
  read_all(ep[0], out->err, sizeof(out->err));
  close(dp[0]);
  close(ep[0]);
  ASSERT_EQ(waitpid(pid, &out->status, 0), pid);
}
#endif

/* In a child: a strict allocator with this frame budget (0: none) whose
 * diagnostics are written to diag_fd as codes (diag_fd < 0: printed by the
 * default printer); the child exits with status 2 if there is none. */
static fa_allocator_t *strict_create(int diag_fd, size_t budget) {
  static int fd; /* the callback's user pointer must stay valid */
  fa_config_t cfg = {0};
  fa_allocator_t *a;
  fd = diag_fd;
  cfg.strict = 1;
  cfg.frame_budget = budget;
  if (diag_fd >= 0) {
    cfg.on_diagnostic = write_code;
    cfg.diagnostic_user = &fd;
  }
  a = fa_create(&cfg);
  if (!a)
    _exit(2);
  return a;
}

static void strict_budget_with_callback(int fd) {
  fa_allocator_t *a = strict_create(fd, 64);
  fa_begin_frame(a);
  test_sink = fa_frame_alloc(a, 128, 0); /* FA003, an error: abort */
  _exit(0);
}

static void strict_budget_default_printer(int fd) {
  fa_allocator_t *a;
  (void)fd;
  a = strict_create(-1, 64);
  fa_begin_frame(a);
  test_sink = fa_frame_alloc(a, 128, 0);
  _exit(0);
}

static void strict_bad_align(int fd) {
  fa_allocator_t *a = strict_create(fd, 0);
  fa_begin_frame(a);
  test_sink = fa_frame_alloc(a, 8, 3); /* FA006, an error: abort */
  _exit(0);
}

static void strict_frame_in_task(int fd) {
  fa_allocator_t *a = strict_create(fd, 0);
  fa_task_t *t = fa_task_create(a);
  if (!t || fa_task_enter(t) != 0)
    _exit(3);
  fa_begin_frame(a);
  test_sink = fa_frame_alloc(a, 8, 0); /* FA701, an error: abort */
  _exit(0);
}

static void strict_warning_only(int fd) {
  fa_allocator_t *a = strict_create(fd, 0);
  char *p;
  p = fa_frame_alloc(a, 8, 0); /* FA001, a warning: goes on */
  if (!p)
    _exit(4);
  p[7] = 1;
  fa_end_frame(a);
  fa_end_frame(a); /* FA002, a warning */
  fa_release(a);
  _exit(0);
}

/* The bodies a child may run, by name. */
static const struct {
  const char *name;
  child_body_t body;
} child_bodies[] = {
    {"strict_budget_with_callback", strict_budget_with_callback},
    {"strict_budget_default_printer", strict_budget_default_printer},
    {"strict_bad_align", strict_bad_align},
    {"strict_frame_in_task", strict_frame_in_task},
    {"strict_warning_only", strict_warning_only},
};

#ifdef _WIN32
#define run_child(body, out) run_child_named(#body, (out))

static int child_main(const char *name, const char *handle) {
  char *end;
  unsigned long long h = strtoull(handle, &end, 10);
  int fd = *end ? -1 : _open_osfhandle((intptr_t)h, _O_WRONLY);
  if (fd < 0)
    return 5;
  signal(SIGABRT, on_abort);
  for (size_t i = 0; i < sizeof(child_bodies) / sizeof(child_bodies[0]); i++)
    if (strcmp(child_bodies[i].name, name) == 0) {
      child_bodies[i].body(fd);
      return 0;
    }
  return 6;
}
#else
#define run_child(body, out) ((void)child_bodies, run_child_body(body, (out)))
#endif

TEST(strict_aborts_on_error) {
  child_out_t out;
  run_child(strict_budget_with_callback, &out);
  ASSERT(CHILD_ABORTED(out.status));
  ASSERT_STR_EQ(out.diag, "3\n"); /* reported before the abort */

  run_child(strict_bad_align, &out);
  ASSERT(CHILD_ABORTED(out.status));
  ASSERT_STR_EQ(out.diag, "6\n");

  run_child(strict_frame_in_task, &out);
  ASSERT(CHILD_ABORTED(out.status));
  ASSERT_STR_EQ(out.diag, "701\n");
}

TEST(strict_aborts_with_default_printer) {
  child_out_t out;
  run_child(strict_budget_default_printer, &out);
  ASSERT(CHILD_ABORTED(out.status));
  ASSERT_NOT_NULL(strstr(out.err, "FA003"));
}

TEST(strict_warnings_do_not_abort) {
  child_out_t out;
  run_child(strict_warning_only, &out);
  ASSERT_EQ(CHILD_EXIT_CODE(out.status), 0);
  ASSERT_STR_EQ(out.diag, "1\n2\n");
}

static const test_case_t tests[] = {
    TEST_ENTRY(create_null_config),
    TEST_ENTRY(create_zero_config),
    TEST_ENTRY(retain_release),
    TEST_ENTRY(retain_release_null),
    TEST_ENTRY(create_release_cycle),
    TEST_ENTRY(release_with_live_memory_fa005),
    TEST_ENTRY(release_with_live_task_and_guard_fa005),
    TEST_ENTRY(release_clean_no_fa005),
    TEST_ENTRY(config_memory_source_used),
    TEST_ENTRY(config_is_copied),
    TEST_ENTRY(config_frame_chunk_size),
    TEST_ENTRY(config_extreme_values),
    TEST_ENTRY(config_huge_budget_is_unlimited),
    TEST_ENTRY(config_diagnostic_user),
    TEST_ENTRY(diagnostics_stay_with_their_allocator),
    TEST_ENTRY(version),
    TEST_ENTRY(strerror_codes),
    TEST_ENTRY(strerror_unknown),
    TEST_ENTRY(diag_catalogue),
    TEST_ENTRY(diag_unknown_codes),
    TEST_ENTRY(default_diag_prints_one_line),
    TEST_ENTRY(strict_aborts_on_error),
    TEST_ENTRY(strict_aborts_with_default_printer),
    TEST_ENTRY(strict_warnings_do_not_abort),
};

int main(int argc, char **argv) {
#ifdef _WIN32
  if (argc == 4 && strcmp(argv[1], "--child") == 0)
    return child_main(argv[2], argv[3]);
#endif
  return TEST_MAIN(tests, argc, argv);
}
