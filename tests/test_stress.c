/* test_stress.c: a seeded multi-threaded stress test. Eight threads run
 * frames of scratch allocations and pool allocations on two allocators;
 * about half the pool blocks go through a shared exchange array and are
 * freed by whichever thread takes them out. Every block carries a payload
 * pattern derived from (seed, thread, index), verified before it is freed.
 * At the end every pool block is freed and the stats say so.
 *
 * Arguments: [SEED [SECONDS]]; the environment variables FA_STRESS_SEED and
 * FA_STRESS_SECONDS stand for missing arguments, FA_STRESS_ITERATIONS sets
 * the iterations per thread. The seed ("random" draws one) is printed
 * first. With SECONDS 0 (the default, what CTest runs) one round runs;
 * otherwise rounds run until SECONDS have passed, each on its own seed,
 * printed before it starts: `test_stress ROUND_SEED` repeats a failed
 * round's operations (the thread interleaving is the scheduler's). The
 * work shrinks under sanitizers and FA_DEBUG >= 3 to keep the run short. */
#include "test.h"
#include "testutil.h"

#include <framealloc.h>
#include <time.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif

#ifndef FA_DEBUG
#define FA_DEBUG 0
#endif

/* Sanitizers and the expensive debug checks slow every operation. */
#if defined(UNDER_SANITIZER) || FA_DEBUG >= 3
#define ITERATIONS 1000
#else
#define ITERATIONS 8000
#endif

static long iterations = ITERATIONS;

#define THREADS 8
#define SLOTS 256
#define LOCAL 32
#define DEFAULT_SEED 20240611u

typedef struct block_s {
  void *p;
  size_t size;
  uint64_t key;
  int alloc; /* which allocator */
} block_t;

typedef struct slot_s {
  pthread_mutex_t lock;
  block_t b;
} slot_t;

static uint64_t seed;
static fa_allocator_t *allocs[2];
static slot_t slots[SLOTS];

typedef struct worker_s {
  int id;
  uint64_t rng;
  uint64_t next_index;
  block_t local[LOCAL];
  int nlocal;
} worker_t;

static uint64_t next_rand(worker_t *w) {
  w->rng = test_mix64(w->rng);
  return w->rng;
}

static uint64_t block_key(int thread, uint64_t index) {
  return test_mix64(seed ^ ((uint64_t)thread << 48) ^ index);
}

static void release_block(block_t *b) {
  if (!b->p)
    return;
  ASSERT_EQ(test_check(b->p, b->size, b->key), b->size);
  fa_pool_free(allocs[b->alloc], b->p);
  b->p = NULL;
}

static void pool_step(worker_t *w) {
  block_t b;
  uint64_t r = next_rand(w);
  size_t size = (r >> 8) % 16 == 0 ? 1025 + (size_t)(r >> 20) % 3000
                                   : (size_t)(r >> 20) % 1025;
  b.alloc = (int)(r & 1);
  b.size = size;
  b.key = block_key(w->id, w->next_index++);
  b.p = fa_pool_alloc(allocs[b.alloc], size);
  ASSERT_NOT_NULL(b.p);
  ASSERT(test_aligned(b.p, 16));
  test_fill(b.p, b.size, b.key);
  if (r & 2) {
    /* Through the exchange: put ours in, free what was there. */
    slot_t *s = &slots[(r >> 40) % SLOTS];
    block_t old;
    pthread_mutex_lock(&s->lock);
    old = s->b;
    s->b = b;
    pthread_mutex_unlock(&s->lock);
    release_block(&old);
  } else {
    /* Kept a while by this thread. */
    int k = w->nlocal < LOCAL ? w->nlocal++ : (int)((r >> 32) % LOCAL);
    release_block(&w->local[k]);
    w->local[k] = b;
  }
}

static void frame_step(worker_t *w, fa_allocator_t *a) {
  char *p[16];
  size_t size[16];
  uint64_t key[16];
  int i, n = (int)(next_rand(w) % 16);
  fa_begin_frame(a);
  for (i = 0; i < n; i++) {
    uint64_t r = next_rand(w);
    size[i] = (size_t)(r % 3000);
    key[i] = block_key(w->id, w->next_index++);
    p[i] = fa_frame_alloc(a, size[i], (size_t)1 << ((r >> 16) % 8));
    ASSERT_NOT_NULL(p[i]);
    test_fill(p[i], size[i], key[i]);
    pool_step(w);
  }
  for (i = 0; i < n; i++)
    ASSERT_EQ(test_check(p[i], size[i], key[i]), size[i]);
  fa_end_frame(a);
}

static void *worker(void *arg) {
  worker_t *w = arg;
  int it, k;
  for (it = 0; it < iterations; it++) {
    frame_step(w, allocs[it & 1]);
    pool_step(w);
  }
  for (k = 0; k < w->nlocal; k++)
    release_block(&w->local[k]);
  return NULL;
}

TEST(stress) {
  static worker_t w[THREADS];
  pthread_t t[THREADS];
  fa_stats_t st;
  diag_log_t log;
  fa_config_t cfg = {0};
  int i, k;
  diag_log_init(&log);
  diag_log_config(&log, &cfg);
  cfg.frame_chunk_size = 8192;
  allocs[0] = fa_create(&cfg);
  cfg.pool_max_size = 2048;
  allocs[1] = fa_create(&cfg);
  ASSERT_NOT_NULL(allocs[0]);
  ASSERT_NOT_NULL(allocs[1]);
  for (i = 0; i < SLOTS; i++) {
    pthread_mutex_init(&slots[i].lock, NULL);
    slots[i].b.p = NULL;
  }
  for (i = 0; i < THREADS; i++) {
    w[i].id = i;
    w[i].rng = test_mix64(seed + (uint64_t)i);
    w[i].next_index = 0;
    w[i].nlocal = 0;
    ASSERT_EQ(pthread_create(&t[i], NULL, worker, &w[i]), 0);
  }
  for (i = 0; i < THREADS; i++)
    ASSERT_EQ(pthread_join(t[i], NULL), 0);
  /* What is left in the exchange belongs to exited threads. */
  for (i = 0; i < SLOTS; i++) {
    release_block(&slots[i].b);
    pthread_mutex_destroy(&slots[i].lock);
  }
  for (k = 0; k < 2; k++) {
    ASSERT_EQ(fa_get_stats(allocs[k], &st), 0);
    ASSERT_EQ(st.pool_bytes, 0);
    ASSERT_EQ(st.pool_count, 0);
    ASSERT_EQ(st.frame_bytes, 0);
    ASSERT_EQ(st.frames, THREADS * (uint64_t)iterations / 2);
    fa_release(allocs[k]);
  }
  ASSERT_EQ(diag_log_total(&log), 0);
  diag_log_destroy(&log);
}

/* The argument, else the environment variable, else def; "random" gives a
 * seed from the clock and the process id. Bad text gives def. */
static uint64_t parse_num(const char *arg, const char *env, uint64_t def) {
  const char *s = arg ? arg : getenv(env);
  char *end;
  unsigned long long v;
  if (!s || !*s)
    return def;
  if (strcmp(s, "random") == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return test_mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^
                      ((uint64_t)getpid() << 20));
  }
  v = strtoull(s, &end, 0);
  if (*end) {
    fprintf(stderr, "test_stress: %s is not a number; using %llu\n", s,
            (unsigned long long)def);
    return def;
  }
  return (uint64_t)v;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const test_case_t tests[] = {
    TEST_ENTRY(stress),
};

int main(int argc, char **argv) {
  char *no_args[] = {argv[0], NULL};
  uint64_t first =
      parse_num(argc > 1 ? argv[1] : NULL, "FA_STRESS_SEED", DEFAULT_SEED);
  uint64_t seconds =
      parse_num(argc > 2 ? argv[2] : NULL, "FA_STRESS_SECONDS", 0);
  uint64_t rounds = 0;
  double deadline = now_seconds() + (double)seconds;
  int rc = 0;
  iterations = (long)parse_num(NULL, "FA_STRESS_ITERATIONS", ITERATIONS);
  if (iterations < 2)
    iterations = 2;
  printf("seed: %llu (the first argument or FA_STRESS_SEED sets it), "
         "%llu seconds, %ld iterations per thread\n",
         (unsigned long long)first, (unsigned long long)seconds, iterations);
  seed = first;
  do {
    if (seconds) {
      seed = rounds ? test_mix64(first + rounds) : first;
      printf("round %llu: seed %llu\n", (unsigned long long)rounds,
             (unsigned long long)seed);
      fflush(stdout);
    }
    rc = TEST_MAIN(tests, 1, no_args);
    rounds++;
  } while (rc == 0 && seconds && now_seconds() < deadline);
  if (seconds)
    printf("%llu rounds in %llu seconds: %s\n", (unsigned long long)rounds,
           (unsigned long long)seconds, rc == 0 ? "all passed" : "FAILED");
  return rc;
}
