/* test.h: the test harness of the framealloc tests, with no framework.
 *
 *   TEST(name) { ASSERT_EQ(f(1), 2); ... }
 *   static const test_case_t tests[] = {TEST_ENTRY(name), ...};
 *   int main(int argc, char **argv) { return TEST_MAIN(tests, argc, argv); }
 *
 * Each test runs in turn; a failed assertion prints both operands and ends
 * the current test (longjmp back to the runner), and the next test runs. An
 * assertion that fails on another thread marks the running test failed and
 * ends that thread; one that fails in a forked child ends the child with
 * status TEST_CHILD_FAILED. The runner prints one line per test and, last,
 * the line "N passed, N failed"; the exit status is nonzero when a test
 * failed. Arguments name the tests to run (all when there are none).
 *
 * The integer assertions compare their operands by value, whatever their
 * types: -1 is less than 0u, and a uint64_t above INTMAX_MAX prints as such.
 * Do not assert while holding a lock on another thread: it never returns. */
#ifndef FA_TEST_H
#define FA_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __cplusplus
#include <type_traits>
#endif

/* The exit status of a forked child whose assertion failed. */
#define TEST_CHILD_FAILED 99

typedef struct test_case_s {
  const char *name;
  void (*fn)(void);
} test_case_t;

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name)                                                       \
  { #name, test_##name }
#define TEST_MAIN(tests, argc, argv)                                           \
  test_run((tests), sizeof(tests) / sizeof((tests)[0]), (argc), (argv))

/* An integer operand: its bits and whether its type is signed. */
typedef struct test_int_s {
  uintmax_t bits;
  int is_signed;
} test_int_t;

typedef struct test_state_s {
  jmp_buf jump;
  pid_t pid;           /* the runner's process */
  pthread_t runner;    /* the runner's thread */
  int thread_failed;   /* set (atomically) by a failure on another thread */
  const char *current; /* the running test */
  const char *at_file; /* the caller of a checking helper, see TEST_AT */
  int at_line;
} test_state_t;

static inline test_state_t *test__state(void) {
  static test_state_t state;
  return &state;
}

/* Reports a failure at file:line and leaves the current test. */
static inline void test__fail(const char *file, int line, const char *what) {
  test_state_t *st = test__state();
  if (st->at_file && pthread_equal(pthread_self(), st->runner))
    fprintf(stdout, "  %s:%d: %s (in a check called at %s:%d)\n", file, line,
            what, st->at_file, st->at_line);
  else
    fprintf(stdout, "  %s:%d: %s\n", file, line, what);
  fflush(stdout);
  if (getpid() != st->pid)
    _exit(TEST_CHILD_FAILED);
  if (!pthread_equal(pthread_self(), st->runner)) {
    __atomic_store_n(&st->thread_failed, 1, __ATOMIC_SEQ_CST);
    pthread_exit(NULL);
  }
  longjmp(st->jump, 1);
}

static inline test_int_t test__int(int is_signed, uintmax_t bits) {
  test_int_t v;
  v.bits = bits;
  v.is_signed = is_signed;
  return v;
}

static inline int test__negative(test_int_t v) {
  return v.is_signed && (intmax_t)v.bits < 0;
}

/* -1, 0 or 1 as a is less than, equal to or greater than b. */
static inline int test__cmp(test_int_t a, test_int_t b) {
  if (test__negative(a) != test__negative(b))
    return test__negative(a) ? -1 : 1;
  if (test__negative(a))
    return (intmax_t)a.bits < (intmax_t)b.bits
               ? -1
               : (intmax_t)a.bits > (intmax_t)b.bits;
  return a.bits < b.bits ? -1 : a.bits > b.bits;
}

static inline void test__int_str(char *buf, size_t n, test_int_t v) {
  if (v.is_signed)
    snprintf(buf, n, "%jd", (intmax_t)v.bits);
  else
    snprintf(buf, n, "%ju", v.bits);
}

static inline void test__fail_int(const char *file, int line, const char *op,
                                  const char *ea, const char *eb, test_int_t a,
                                  test_int_t b) {
  char what[512], sa[32], sb[32];
  test__int_str(sa, sizeof(sa), a);
  test__int_str(sb, sizeof(sb), b);
  snprintf(what, sizeof(what), "ASSERT_%s(%s, %s) failed: %s vs %s", op, ea, eb,
           sa, sb);
  test__fail(file, line, what);
}

static inline void test__fail_ptr(const char *file, int line, const char *op,
                                  const char *ea, const char *eb, const void *a,
                                  const void *b) {
  char what[512];
  snprintf(what, sizeof(what), "ASSERT_%s(%s, %s) failed: %p vs %p", op, ea, eb,
           a, b);
  test__fail(file, line, what);
}

static inline void test__fail_null(const char *file, int line, const char *op,
                                   const char *ea, const void *a) {
  char what[512];
  snprintf(what, sizeof(what), "ASSERT_%s(%s) failed: %p", op, ea, a);
  test__fail(file, line, what);
}

static inline void test__fail_str(const char *file, int line, const char *ea,
                                  const char *eb, const char *a,
                                  const char *b) {
  char what[768];
  snprintf(what, sizeof(what), "ASSERT_STR_EQ(%s, %s) failed: \"%s\" vs \"%s\"",
           ea, eb, a ? a : "(null)", b ? b : "(null)");
  test__fail(file, line, what);
}

#ifdef __cplusplus
#define TEST__SIGNED(x) (std::is_signed<decltype(+(x))>::value ? 1 : 0)
#else
/* Whether the promoted type of x is signed (x is not evaluated). */
#define TEST__SIGNED(x)                                                        \
  _Generic((x) + 0, unsigned int : 0, unsigned long : 0,                       \
           unsigned long long : 0, default : 1)
#endif

#define TEST__CMP(a, b, op, name)                                              \
  do {                                                                         \
    test_int_t test_a_ = test__int(TEST__SIGNED(a), (uintmax_t)(a));           \
    test_int_t test_b_ = test__int(TEST__SIGNED(b), (uintmax_t)(b));           \
    if (!(test__cmp(test_a_, test_b_) op 0))                                   \
      test__fail_int(__FILE__, __LINE__, name, #a, #b, test_a_, test_b_);      \
  } while (0)

#define ASSERT(cond)                                                           \
  do {                                                                         \
    if (!(cond))                                                               \
      test__fail(__FILE__, __LINE__, "ASSERT(" #cond ") failed");              \
  } while (0)

#define ASSERT_EQ(a, b) TEST__CMP(a, b, ==, "EQ")
#define ASSERT_NE(a, b) TEST__CMP(a, b, !=, "NE")
#define ASSERT_LT(a, b) TEST__CMP(a, b, <, "LT")
#define ASSERT_LE(a, b) TEST__CMP(a, b, <=, "LE")
#define ASSERT_GT(a, b) TEST__CMP(a, b, >, "GT")
#define ASSERT_GE(a, b) TEST__CMP(a, b, >=, "GE")

#define TEST__PTR(a, b, op, name)                                              \
  do {                                                                         \
    const void *test_a_ = (const void *)(a);                                   \
    const void *test_b_ = (const void *)(b);                                   \
    if (!(test_a_ op test_b_))                                                 \
      test__fail_ptr(__FILE__, __LINE__, name, #a, #b, test_a_, test_b_);      \
  } while (0)

#define ASSERT_PTR_EQ(a, b) TEST__PTR(a, b, ==, "PTR_EQ")
#define ASSERT_PTR_NE(a, b) TEST__PTR(a, b, !=, "PTR_NE")
#define TEST__NULL(a, want_null, name)                                         \
  do {                                                                         \
    const void *test_a_ = (const void *)(a);                                   \
    if ((test_a_ == NULL) != (want_null))                                      \
      test__fail_null(__FILE__, __LINE__, name, #a, test_a_);                  \
  } while (0)

#define ASSERT_NULL(a) TEST__NULL(a, 1, "NULL")
#define ASSERT_NOT_NULL(a) TEST__NULL(a, 0, "NOT_NULL")

#define ASSERT_STR_EQ(a, b)                                                    \
  do {                                                                         \
    const char *test_a_ = (a);                                                 \
    const char *test_b_ = (b);                                                 \
    if (!(test_a_ == test_b_ ||                                                \
          (test_a_ && test_b_ && strcmp(test_a_, test_b_) == 0)))              \
      test__fail_str(__FILE__, __LINE__, #a, #b, test_a_, test_b_);            \
  } while (0)

/* Runs a checking helper so that its failures also name the caller's line:
 *   #define CHECK_THING(x) TEST_AT(check_thing(x))
 */
#define TEST_AT(call)                                                          \
  do {                                                                         \
    test__state()->at_file = __FILE__;                                         \
    test__state()->at_line = __LINE__;                                         \
    call;                                                                      \
    test__state()->at_file = NULL;                                             \
  } while (0)

/* Runs one test; 1 when it passed. */
static inline int test__run_one(const test_case_t *t) {
  test_state_t *st = test__state();
  st->current = t->name;
  st->at_file = NULL;
  __atomic_store_n(&st->thread_failed, 0, __ATOMIC_SEQ_CST);
  if (setjmp(st->jump) != 0)
    return 0;
  t->fn();
  return !__atomic_load_n(&st->thread_failed, __ATOMIC_SEQ_CST);
}

static inline int test__selected(const char *name, int argc, char **argv) {
  int i;
  if (argc < 2)
    return 1;
  for (i = 1; i < argc; i++)
    if (strcmp(argv[i], name) == 0)
      return 1;
  return 0;
}

static inline int test_run(const test_case_t *tests, size_t n, int argc,
                           char **argv) {
  test_state_t *st = test__state();
  int passed = 0, failed = 0;
  size_t i;
  st->pid = getpid();
  st->runner = pthread_self();
  for (i = 0; i < n; i++) {
    int ok;
    if (!test__selected(tests[i].name, argc, argv))
      continue;
    fprintf(stdout, "-- %s\n", tests[i].name);
    fflush(stdout);
    ok = test__run_one(&tests[i]);
    fprintf(stdout, "%s %s\n", ok ? "ok  " : "FAIL", tests[i].name);
    fflush(stdout);
    if (ok)
      passed++;
    else
      failed++;
  }
  fprintf(stdout, "%d passed, %d failed\n", passed, failed);
  fflush(stdout);
  return failed ? 1 : 0;
}

#endif /* FA_TEST_H */
