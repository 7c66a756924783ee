/* replay.c: runs fuzz inputs through a fuzz target without libFuzzer, so
 * that the checked-in corpus and regression inputs are tests of every
 * build (gcc, Release, TSan...). Each argument is a file or a directory of
 * files; every input is run once, in name order within a directory. A
 * broken invariant aborts inside the target; a run that gets to the end
 * prints "N passed, 0 failed".
 *
 * While an input runs, a no-op SIGALRM handler installed without
 * SA_RESTART fires every millisecond, as libFuzzer's -timeout timer does
 * every few seconds: a blocking call of a target that gives up on EINTR
 * (the allocator fuzzer's lock-step handshake once did) then fails on
 * nearly every input instead of once in thousands. FUZZ_REPLAY_SIGNALS=0
 * turns the timer off. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SIGNAL_USEC 1000

static int use_signals;

static void on_alarm(int sig) { (void)sig; }

/* Starts (usec > 0) or stops (0) the SIGALRM timer. */
static void alarm_every(long usec) {
  struct itimerval it = {{0, usec}, {0, usec}};
  if (use_signals && setitimer(ITIMER_REAL, &it, NULL) != 0) {
    perror("replay: setitimer");
    exit(1);
  }
}

static void signals_init(void) {
  const char *env = getenv("FUZZ_REPLAY_SIGNALS");
  struct sigaction sa;
  use_signals = !env || strcmp(env, "0") != 0;
  if (!use_signals)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; /* no SA_RESTART, like libFuzzer's handler */
  if (sigaction(SIGALRM, &sa, NULL) != 0) {
    perror("replay: sigaction");
    exit(1);
  }
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return -1;
  }
  size_t cap = 4096, n = 0, got;
  uint8_t *buf = malloc(cap);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      uint8_t *more = realloc(buf, cap * 2);
      if (!more) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = more;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) {
    fprintf(stderr, "replay: out of memory reading %s\n", path);
    return -1;
  }
  printf("replay: %s (%zu bytes)\n", path, n);
  fflush(stdout);
  alarm_every(SIGNAL_USEC);
  LLVMFuzzerTestOneInput(buf, n);
  alarm_every(0);
  free(buf);
  return 0;
}

static int by_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file of dir; returns how many, or -1. */
static int run_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0;
  int count = 0;
  if (!d) {
    fprintf(stderr, "replay: cannot open directory %s\n", dir);
    return -1;
  }
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **more = realloc(names, cap * sizeof(*names));
      if (!more)
        break;
      names = more;
    }
    size_t len = strlen(dir) + strlen(e->d_name) + 2;
    names[n] = malloc(len);
    if (!names[n])
      break;
    snprintf(names[n], len, "%s/%s", dir, e->d_name);
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof(*names), by_name);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (count >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
      count = run_file(names[i]) == 0 ? count + 1 : -1;
    free(names[i]);
  }
  free(names);
  return count;
}

int main(int argc, char **argv) {
  int total = 0;
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  signals_init();
  for (int i = 1; i < argc; i++) {
    struct stat st;
    int n;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 1;
    }
    n = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]) == 0;
    if (n < 0)
      return 1;
    total += n;
  }
  printf("%d passed, 0 failed\n", total);
  return 0;
}
