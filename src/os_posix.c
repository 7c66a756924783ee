/* The POSIX OS layer: anonymous mappings for large reservations, the libc
 * allocator for small ones, pthread mutexes and the thread-exit hook. */
#define _GNU_SOURCE
#include "os.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "framealloc.h"

/* Reservations from this size up are mappings; smaller ones use libc. The
 * choice depends on the size alone so that release can make it again. */
#define OS_MAP_MIN ((size_t)64 << 10)

/* The page size of the system. */
static size_t real_page_size(void) {
  static size_t page; /* benign race: every thread stores the same value */
  if (page == 0) {
    long v = sysconf(_SC_PAGESIZE);
    page = v > 0 ? (size_t)v : 4096;
  }
  return page;
}

/* The page size the library believes in: the system's, or, in a build with
 * FA_PAGE_SIZE_OVERRIDE (tests only), FA_TEST_PAGE_SIZE from the
 * environment when it is a power of two from the system's page size up to
 * 1 MiB, so that 16 KiB and 64 KiB pages (AArch64) are tested on any host.
 * The mappings below then honour it: sizes are multiples of it and
 * reservations aligned to it are aligned to it. */
size_t fa__os_page_size(void) {
#ifdef FA_PAGE_SIZE_OVERRIDE
  static size_t believed;
  if (believed == 0) {
    size_t page = real_page_size();
    const char *env = getenv("FA_TEST_PAGE_SIZE");
    if (env && *env) {
      char *end;
      unsigned long v = strtoul(env, &end, 0);
      if (*end == '\0' && v >= page && v <= ((size_t)1 << 20) &&
          (v & (v - 1)) == 0)
        page = (size_t)v;
    }
    believed = page;
  }
  return believed;
#else
  return real_page_size();
#endif
}

/* Maps size bytes aligned to align by mapping more and unmapping the
 * misaligned head and tail. */
static void *map_aligned(size_t size, size_t align) {
  size_t page = fa__os_page_size();
  size = (size + page - 1) & ~(page - 1);
  if (align <= real_page_size()) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
  }
  if (size > SIZE_MAX - align)
    return NULL;
  size_t span = size + align;
  char *raw = mmap(NULL, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
  size_t head = start - (uintptr_t)raw;
  size_t tail = span - head - size;
  if (head)
    munmap(raw, head);
  if (tail)
    munmap((char *)start + size, tail);
  return (void *)start;
}

void *fa__os_reserve(size_t size, size_t align, void *user) {
  (void)user;
  if (size >= OS_MAP_MIN)
    return map_aligned(size, align);
  void *p = NULL;
  if (align < sizeof(void *))
    align = sizeof(void *);
  return posix_memalign(&p, align, size ? size : 1) == 0 ? p : NULL;
}

void fa__os_release(void *p, size_t size, void *user) {
  (void)user;
  if (size >= OS_MAP_MIN) {
    size_t page = fa__os_page_size();
    munmap(p, (size + page - 1) & ~(page - 1));
  } else {
    free(p);
  }
}

int fa__os_mutex_init(fa__mutex_t *m) {
  return pthread_mutex_init(m, NULL) == 0 ? 0 : FA_ENOMEM;
}
void fa__os_mutex_destroy(fa__mutex_t *m) { pthread_mutex_destroy(m); }
void fa__os_lock(fa__mutex_t *m) { pthread_mutex_lock(m); }
void fa__os_unlock(fa__mutex_t *m) { pthread_mutex_unlock(m); }

static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static int exit_key_ok;
static void on_exit_key(void *value) {
  (void)value;
  fa__on_thread_exit();
}

static void make_exit_key(void) {
  exit_key_ok = pthread_key_create(&exit_key, on_exit_key) == 0;
}

int fa__os_watch_thread(void) {
  pthread_once(&exit_once, make_exit_key);
  if (!exit_key_ok)
    return FA_ENOMEM;
  return pthread_setspecific(exit_key, (void *)1) == 0 ? 0 : FA_ENOMEM;
}

int fa__os_at_fork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void)) {
  return pthread_atfork(prepare, parent, child) == 0 ? 0 : FA_ENOMEM;
}

unsigned long long fa__os_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000000ull +
         (unsigned long long)ts.tv_nsec;
}

long fa__os_pid(void) { return (long)getpid(); }

intptr_t fa__os_file_create(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  return fd < 0 ? -1 : (intptr_t)fd;
}

int fa__os_file_write(intptr_t fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write((int)fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

void fa__os_file_close(intptr_t fd) { close((int)fd); }

void fa__os_print_line(const char *line) {
  fputs(line, stderr);
  fputc('\n', stderr);
  fflush(stderr);
}

void fa__os_abort(void) { abort(); }
