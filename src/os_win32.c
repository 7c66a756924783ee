/* The Windows OS layer: VirtualAlloc for large reservations (64 KiB
 * allocation granularity, so pages come aligned), the C runtime's aligned
 * allocator for small ones, SRW locks, and a fiber-local slot whose
 * callback runs when a thread exits (freed when a DLL holding the library
 * is unloaded). There is no fork(). */
#include "os.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "framealloc.h"

/* Reservations from this size up are VirtualAlloc'd; smaller ones use the
 * C runtime. The choice depends on the size alone so that release can
 * make it again. */
#define OS_MAP_MIN ((size_t)64 << 10)

static SYSTEM_INFO sys_info(void) {
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  return si;
}

size_t fa__os_page_size(void) {
  static size_t page; /* benign race: every thread stores the same value */
  if (page == 0) {
    SYSTEM_INFO si = sys_info();
    page = si.dwPageSize ? (size_t)si.dwPageSize : 4096;
  }
  return page;
}

/* Reserves and commits size bytes aligned to align. VirtualAlloc returns
 * addresses aligned to the allocation granularity (64 KiB); a larger
 * alignment reserves size + align to find an aligned address, frees it and
 * reserves exactly there, which another thread may take first: retried. */
static void *virtual_aligned(size_t size, size_t align) {
  SYSTEM_INFO si = sys_info();
  if (align <= si.dwAllocationGranularity)
    return VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  if (size > SIZE_MAX - align)
    return NULL;
  for (int tries = 0; tries < 16; tries++) {
    char *raw = VirtualAlloc(NULL, size + align, MEM_RESERVE, PAGE_NOACCESS);
    if (!raw)
      return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    VirtualFree(raw, 0, MEM_RELEASE);
    void *p = VirtualAlloc((void *)start, size, MEM_RESERVE | MEM_COMMIT,
                           PAGE_READWRITE);
    if (p)
      return p;
  }
  return NULL;
}

void *fa__os_reserve(size_t size, size_t align, void *user) {
  (void)user;
  if (size >= OS_MAP_MIN)
    return virtual_aligned(size, align);
  if (align < sizeof(void *))
    align = sizeof(void *);
  return _aligned_malloc(size ? size : 1, align);
}

void fa__os_release(void *p, size_t size, void *user) {
  (void)user;
  if (size >= OS_MAP_MIN)
    VirtualFree(p, 0, MEM_RELEASE);
  else
    _aligned_free(p);
}

int fa__os_mutex_init(fa__mutex_t *m) {
  InitializeSRWLock(m);
  return 0;
}
void fa__os_mutex_destroy(fa__mutex_t *m) { (void)m; }
void fa__os_lock(fa__mutex_t *m) { AcquireSRWLockExclusive(m); }
void fa__os_unlock(fa__mutex_t *m) { ReleaseSRWLockExclusive(m); }

/* A fiber-local slot with a callback: Windows calls it when a thread that
 * set the slot exits (and for the process's last thread at exit, which is
 * harmless: its state is given back as for any other thread). */
static DWORD exit_slot = FLS_OUT_OF_INDEXES;
static INIT_ONCE exit_once = INIT_ONCE_STATIC_INIT;
static int unloading; /* atomic: set once the slot is being freed */

static void WINAPI on_exit_slot(void *value) {
  if (value && !__atomic_load_n(&unloading, __ATOMIC_RELAXED))
    fa__on_thread_exit();
}

/* The library linked into a DLL that is unloaded (FreeLibrary) while
 * threads that used it live on: at their exit Windows would call
 * on_exit_slot, unmapped by then, and crash. So the slot goes with the
 * DLL. FlsFree may call the callback for every thread that set the slot,
 * here on the unloading thread: unloading makes those calls do nothing
 * (the states of live threads are not given back; the DLL's allocators
 * must be released before it goes, as any memory it owns). In an
 * executable the slot stays to the end. */
extern IMAGE_DOS_HEADER __ImageBase;
__attribute__((destructor)) static void free_exit_slot(void) {
  if ((HMODULE)&__ImageBase == GetModuleHandleW(NULL) ||
      exit_slot == FLS_OUT_OF_INDEXES)
    return;
  __atomic_store_n(&unloading, 1, __ATOMIC_RELAXED);
  FlsFree(exit_slot);
}

static BOOL CALLBACK make_exit_slot(PINIT_ONCE once, void *param, void **ctx) {
  (void)once;
  (void)param;
  (void)ctx;
  exit_slot = FlsAlloc(on_exit_slot);
  return TRUE;
}

int fa__os_watch_thread(void) {
  InitOnceExecuteOnce(&exit_once, make_exit_slot, NULL, NULL);
  if (exit_slot == FLS_OUT_OF_INDEXES)
    return FA_ENOMEM;
  return FlsSetValue(exit_slot, (void *)1) ? 0 : FA_ENOMEM;
}

int fa__os_at_fork(void (*prepare)(void), void (*parent)(void),
                   void (*child)(void)) {
  (void)prepare;
  (void)parent;
  (void)child;
  return 0; /* no fork() on Windows */
}

unsigned long long fa__os_now_ns(void) {
  static LARGE_INTEGER freq; /* benign race: every thread stores the same */
  LARGE_INTEGER now;
  if (freq.QuadPart == 0)
    QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  unsigned long long t = (unsigned long long)now.QuadPart;
  unsigned long long f = (unsigned long long)freq.QuadPart;
  return t / f * 1000000000ull + t % f * 1000000000ull / f;
}

long fa__os_pid(void) { return (long)GetCurrentProcessId(); }

intptr_t fa__os_file_create(const char *path) {
  HANDLE h = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ, NULL,
                         CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  return h == INVALID_HANDLE_VALUE ? -1 : (intptr_t)h;
}

int fa__os_file_write(intptr_t fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    DWORD chunk = n > 0x40000000u ? 0x40000000u : (DWORD)n, done = 0;
    if (!WriteFile((HANDLE)(intptr_t)fd, p, chunk, &done, NULL) || !done)
      return -1;
    p += done;
    n -= done;
  }
  return 0;
}

void fa__os_file_close(intptr_t fd) { CloseHandle((HANDLE)(intptr_t)fd); }

void fa__os_print_line(const char *line) {
  fputs(line, stderr);
  fputc('\n', stderr);
  fflush(stderr);
}

void fa__os_abort(void) { abort(); }
