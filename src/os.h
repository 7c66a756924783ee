/* The OS layer: the only place that knows which operating system this is.
 * Everything else calls these few functions, never mmap or pthreads. */
#ifndef FA_OS_H
#define FA_OS_H

#include <stddef.h>
#include <stdint.h>

#ifdef _WIN32
#include <windows.h>
typedef SRWLOCK fa__mutex_t;
#define FA__MUTEX_INIT SRWLOCK_INIT
#else
#include <pthread.h>
typedef pthread_mutex_t fa__mutex_t;
#define FA__MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#endif

/* printf-style checking of the library's own format strings (MinGW builds
 * use the C99 formats of its ANSI stdio, as %zu needs). */
#ifdef __MINGW32__
#define FA__PRINTF(f, a) __attribute__((format(gnu_printf, f, a)))
#else
#define FA__PRINTF(f, a) __attribute__((format(printf, f, a)))
#endif

/* os_posix.c, os_win32.c */
size_t fa__os_page_size(void);
void *fa__os_reserve(size_t size, size_t align, void *user);
void fa__os_release(void *p, size_t size, void *user);
int fa__os_mutex_init(fa__mutex_t *m);
void fa__os_mutex_destroy(fa__mutex_t *m);
void fa__os_lock(fa__mutex_t *m);
void fa__os_unlock(fa__mutex_t *m);
/* Makes the calling thread call fa__on_thread_exit (alloc.c) when it exits
 * (not the main thread when it leaves through exit()). 0 or FA_ENOMEM. */
int fa__os_watch_thread(void);
void fa__on_thread_exit(void);
/* Registers handlers run around fork() (pthread_atfork): 0 or FA_ENOMEM. */
int fa__os_at_fork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void));
/* The monotonic clock, in nanoseconds from an arbitrary start. */
unsigned long long fa__os_now_ns(void);
/* The process id. */
long fa__os_pid(void);
/* Files written by traces: create (or truncate) path for writing, a handle
 * >= 0 or -1; write all n bytes in one system call where the OS allows
 * (0, or -1 on error); close. */
intptr_t fa__os_file_create(const char *path);
int fa__os_file_write(intptr_t fd, const void *buf, size_t n);
void fa__os_file_close(intptr_t fd);
/* Writes one line to stderr without allocating. */
void fa__os_print_line(const char *line);
void fa__os_abort(void);

#endif /* FA_OS_H */
