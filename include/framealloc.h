/* framealloc: frame, pool and heap memory for real-time C programs.
 *
 * Four lifetimes, chosen explicitly by the caller:
 *   frame  until the calling thread's next fa_end_frame on that allocator;
 *          a pointer bump inlined into the caller, no lock, no atomic RMW.
 *   pool   until fa_pool_free, which any thread may call; small blocks come
 *          from a per-thread free list, larger ones from the heap path.
 *   heap   until fa_heap_free; the memory source plus accounting.
 *   task   until fa_task_destroy (see <framealloc/task.h>).
 *
 * Every function is thread-safe unless stated otherwise. Frame memory belongs
 * to the (allocator, thread) pair that made it: it is scratch for the
 * synchronous code of that thread and must never cross to another thread or
 * survive a suspension point. Allocation functions return NULL on failure;
 * other functions return 0 or a negative FA_E* code (see fa_strerror). */
#ifndef FRAMEALLOC_H
#define FRAMEALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ---------------------------------------------------------- */

#define FA_VERSION_MAJOR 0
#define FA_VERSION_MINOR 1
#define FA_VERSION_PATCH 0
#define FA_VERSION_HEX                                                         \
  ((FA_VERSION_MAJOR << 16) | (FA_VERSION_MINOR << 8) | FA_VERSION_PATCH)

/* ---- Export and compiler helpers -------------------------------------- */

#if defined(FA_STATIC)
#define FA_EXTERN
#elif defined(__GNUC__)
#define FA_EXTERN __attribute__((visibility("default")))
#else
#define FA_EXTERN
#endif

/* GCC and Clang (MinGW included) get the inlined fast paths below; MSVC
 * gets __forceinline functions that call into the library (the fast paths
 * need __thread and __atomic builtins); other compilers plain inline ones. */
#if defined(__GNUC__)
#define FA_LIKELY(x) __builtin_expect(!!(x), 1)
#define FA_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FA__INLINE static inline __attribute__((always_inline))
#define FA__MALLOC __attribute__((malloc, warn_unused_result))
#elif defined(_MSC_VER)
#define FA_LIKELY(x) (x)
#define FA_UNLIKELY(x) (x)
#define FA__INLINE static __forceinline
#define FA__MALLOC __declspec(restrict)
#else
#define FA_LIKELY(x) (x)
#define FA_UNLIKELY(x) (x)
#define FA__INLINE static inline
#define FA__MALLOC
#endif

#ifdef __cplusplus
#define FA__ALIGNOF(T) alignof(T)
#else
#define FA__ALIGNOF(T) _Alignof(T)
#endif

/* Returns FA_VERSION_HEX of the library actually linked. */
FA_EXTERN unsigned fa_version(void);
/* Returns "MAJOR.MINOR.PATCH" of the library actually linked. */
FA_EXTERN const char *fa_version_string(void);

/* ---- Error codes ------------------------------------------------------ */

/* One table gives the enum and fa_strerror. */
#define FA_ERRNO_MAP(XX)                                                       \
  XX(EINVAL, -1, "invalid argument")                                           \
  XX(ENOMEM, -2, "out of memory")                                              \
  XX(ESTATE, -3, "operation not valid in the current state")                   \
  XX(EBUSY, -4, "resource still in use")                                       \
  XX(EIO, -5, "input/output error")

typedef enum {
#define FA__ERR_ENUM(name, val, msg) FA_##name = (val),
  FA_ERRNO_MAP(FA__ERR_ENUM)
#undef FA__ERR_ENUM
      FA_OK = 0
} fa_errno_t;

/* A static string for any code; "unknown error" for codes not in the map. */
FA_EXTERN const char *fa_strerror(int code);

/* ---- Diagnostics ------------------------------------------------------ */

#define FA_LEVEL_WARNING 1
#define FA_LEVEL_ERROR 2

/* The catalogue shared by the library and fa-check:
 * XX(number, default level, raised by, short title). */
#define FA_DIAG_MAP(XX)                                                        \
  XX(1, WARNING, LIBRARY, "frame allocation outside begin/end")                \
  XX(2, WARNING, LIBRARY, "unbalanced fa_begin_frame / fa_end_frame")          \
  XX(3, ERROR, LIBRARY, "frame budget exceeded")                               \
  XX(4, ERROR, LIBRARY, "invalid free")                                        \
  XX(5, ERROR, LIBRARY, "allocator released while memory is still held")       \
  XX(6, ERROR, LIBRARY, "invalid argument")                                    \
  XX(7, ERROR, LIBRARY, "task used by two threads at once")                    \
  XX(8, WARNING, LIBRARY, "trace file cannot be written")                      \
  XX(701, ERROR, BOTH, "frame allocation in an async context")                 \
  XX(702, ERROR, CHECKER, "frame pointer used across a suspension point")      \
  XX(703, ERROR, CHECKER, "frame data captured by a spawned task")             \
  XX(601, WARNING, CHECKER,                                                    \
     "frame pointer stored where it outlives the frame")                       \
  XX(603, WARNING, CHECKER, "unbalanced begin/end frame on some path")         \
  XX(604, ERROR, CHECKER, "frame pointer used after fa_end_frame")

typedef struct fa_diag_s {
  int code;            /* numeric part: FA001 -> 1, FA701 -> 701 */
  int level;           /* FA_LEVEL_WARNING or FA_LEVEL_ERROR */
  const char *message; /* one line, no trailing newline */
} fa_diag_t;

typedef void (*fa_diag_fn)(const fa_diag_t *d, void *user);

/* 701 -> "FA701"; NULL for a code not in the catalogue. */
FA_EXTERN const char *fa_diag_name(int code);
/* The catalogue's short title of a code; NULL for an unknown code. */
FA_EXTERN const char *fa_diag_title(int code);
/* The catalogue's default level; 0 for an unknown code. */
FA_EXTERN int fa_diag_level(int code);

/* ---- Configuration ---------------------------------------------------- */

/* Where all OS memory comes from. reserve returns memory aligned to `align`
 * (a power of two) or NULL; release gets back exactly the size reserved.
 * Both may be called from any thread at once. Every reservation is checked:
 * memory not aligned as asked raises FA006 and is released at once, and
 * the request fails as if reserve had returned NULL. */
typedef struct fa_memory_source_s {
  void *(*reserve)(size_t size, size_t align, void *user);
  void (*release)(void *p, size_t size, void *user);
  void *user;
} fa_memory_source_t;

/* Fills *src with a source that serves every reservation from the caller's
 * range [base, base + size) and makes no OS call: the allocator (its own
 * struct and page map too) lives inside the range. The first 64 bytes
 * (after base is rounded up to 64) hold the source's bookkeeping; blocks
 * are multiples of 64 bytes at any power-of-two alignment, first fit;
 * released ranges are merged with their free neighbours and reused. A
 * request the free ranges cannot hold gets NULL (the allocator reports it
 * as out of memory). Thread-safe; any number of allocators may share one
 * region. The range must outlive every allocator using it; one allocator
 * needs about 600 KiB before its first block (the page map's top level).
 * 0, or FA_EINVAL when src or base is NULL or the range holds less than
 * 128 bytes. */
FA_EXTERN int fa_memory_source_fixed(fa_memory_source_t *src, void *base,
                                     size_t size);
/* Bytes of the region of a source from fa_memory_source_fixed free now; 0
 * for any other source and for NULL. */
FA_EXTERN size_t fa_memory_source_fixed_free(const fa_memory_source_t *src);

/* <framealloc/timeline.h> */
struct fa_hooks_s;
struct fa_tag_budget_s;

/* Zero means default for every field: `fa_config_t cfg = {0};`. */
typedef struct fa_config_s {
  size_t frame_chunk_size;  /* first frame chunk per thread; 0: 64 KiB.
                               Rounded up to a multiple of the page size. */
  size_t frame_budget;      /* max frame bytes per thread per frame;
                               0: unlimited. Exceeding it raises FA003 and
                               the allocation returns NULL. */
  size_t pool_max_size;     /* largest size served by pools; 0: 1 KiB.
                               Clamped to FA_POOL_MAX_LIMIT. */
  fa_diag_fn on_diagnostic; /* NULL: one line to stderr */
  void *diagnostic_user;    /* passed to on_diagnostic */
  int strict;               /* nonzero: abort on error-level diagnostics */
  const fa_memory_source_t *memory_source; /* NULL: the OS; copied */
  size_t cache_max_size;      /* empty pool pages kept for reuse before they
                                 go back to the memory source; 0: 4 MiB */
  unsigned frame_trim_frames; /* nonzero: when this many frames in a row
                                 used at most half of a thread's arena, the
                                 arena shrinks to what they used; 0: never */
  /* <framealloc/timeline.h>: */
  size_t history_frames;          /* frame records kept per thread; 0: none */
  const struct fa_hooks_s *hooks; /* profiler hooks (copied); NULL: none.
                                     Set, they close the inline paths. */
  const struct fa_tag_budget_s *tag_budgets; /* per-tag frame budgets
                                                (copied); NULL: none */
  size_t tag_budget_count;                   /* entries of tag_budgets */
} fa_config_t;

#define FA_POOL_MAX_LIMIT 8192

/* ---- Allocators ------------------------------------------------------- */

typedef struct fa_allocator_s fa_allocator_t;

/* Creates an allocator with one reference. cfg may be NULL (defaults); the
 * config and memory source are copied. NULL if memory cannot be had. */
FA_EXTERN fa_allocator_t *fa_create(const fa_config_t *cfg);
/* Another reference to a (Rust's clone); returns a. NULL-safe. */
FA_EXTERN fa_allocator_t *fa_retain(fa_allocator_t *a);
/* Drops a reference; the last one destroys the allocator and returns all
 * its memory to the source. Live pool or heap blocks at that point are
 * reported as FA005 and freed with it. Live tasks and pool guards
 * (<framealloc/task.h>) hold the allocator without being references: the
 * last fa_release with any of them alive raises FA005 with their number
 * and live bytes, and the allocator is destroyed when the last of them is.
 * NULL is a no-op.
 *
 * fork(): the library holds its locks across fork(), so a child can use
 * every allocator of the parent (see docs/design.md, "fork()"). */
FA_EXTERN void fa_release(fa_allocator_t *a);

/* The largest size a serves from its pools (its pool_max_size after
 * defaults and clamping); larger requests to fa_pool_alloc go to the heap
 * path. 0 when a is NULL. */
FA_EXTERN size_t fa_pool_max_size(const fa_allocator_t *a);

/* Returns memory the calling thread's state no longer needs: the frame
 * arena beyond its first chunk (outside a frame only), cached empty pool
 * and task pages, and the empty pages of threads that have exited (after
 * taking the blocks other threads freed for them), the only page of a size
 * class included. */
FA_EXTERN void fa_trim(fa_allocator_t *a);

/* ---- Frames ----------------------------------------------------------- */

/* Opens a frame on the calling thread for a. Inside a frame already: FA002,
 * and the frame goes on. */
FA_EXTERN void fa_begin_frame(fa_allocator_t *a);
/* Ends the calling thread's frame on a and invalidates all frame memory the
 * thread got from a since the last end (and only that). Without a begin:
 * FA002, and the memory is reset all the same. */
FA_EXTERN void fa_end_frame(fa_allocator_t *a);

/* size bytes aligned to align (a power of two up to the page size; 0 means
 * alignof(max_align_t)), valid until the thread's next fa_end_frame on a.
 * Size 0 gives a unique valid pointer. NULL when the frame budget is
 * exceeded (FA003), the memory source fails, align is not valid (FA006) or
 * a is NULL. Outside a frame it raises FA001 once and opens an implicit
 * frame. Inside a task scope it raises FA701. Inlined; see below. */
FA__INLINE FA__MALLOC void *fa_frame_alloc(fa_allocator_t *a, size_t size,
                                           size_t align);

/* A checkpoint of the calling thread's frame on a. */
typedef struct fa_mark_s {
  void *chunk;    /* the arena chunk it points into; NULL: the start */
  uintptr_t pos;  /* the bump position in that chunk */
  uint64_t epoch; /* the (allocator, thread) state's frame number */
  uint64_t seq;   /* when it was taken, among marks and rewinds */
} fa_mark_t;

/* Takes a checkpoint. The frame keeps the live marks (8 bytes each; the
 * first 16 in the thread's state, more in memory from the source, kept
 * until fa_trim or the allocator's end). If that memory cannot be had the
 * mark is returned all the same and a rewind to it raises FA006. */
FA_EXTERN fa_mark_t fa_frame_mark(fa_allocator_t *a);
/* Frees every frame allocation made since m. Marks nest: rewinding to m
 * also invalidates the marks taken after m (m itself stays valid). A mark
 * from another frame, thread or allocator, or one invalidated that way,
 * raises FA006 and changes nothing, however many marks and rewinds came
 * in between: the check is exact, in every build. */
FA_EXTERN void fa_frame_rewind(fa_allocator_t *a, fa_mark_t m);

/* ---- Pools and heap --------------------------------------------------- */

/* size bytes, aligned to alignof(max_align_t), until fa_pool_free. Sizes up
 * to pool_max_size come from per-thread size-class pools; larger ones from
 * the heap path. Size 0 gives a unique pointer. Inlined; see below. */
FA__INLINE FA__MALLOC void *fa_pool_alloc(fa_allocator_t *a, size_t size);
/* Frees a block of fa_pool_alloc on a, from any thread. NULL is a no-op.
 * A pointer that is not a live pool block of a raises FA004 and changes
 * nothing, in every build, Release included: a double free (on the owner
 * thread or another), a pointer inside a block or to a page header, a
 * block of another allocator or tier. Of two frees of one block racing on
 * two threads that do not own it, exactly one succeeds; a free racing with
 * one on the owner thread is detected in most interleavings. Inlined. */
FA__INLINE void fa_pool_free(fa_allocator_t *a, void *p);

/* size bytes aligned to align (a power of two; 0 means
 * alignof(max_align_t)) until fa_heap_free; counted in the stats. NULL when
 * the memory source fails or breaks its contract (FA006). */
FA_EXTERN FA__MALLOC void *fa_heap_alloc(fa_allocator_t *a, size_t size,
                                         size_t align);
/* Frees a block of fa_heap_alloc on a, from any thread; NULL is a no-op.
 * Invalid pointers raise FA004 as for fa_pool_free. Atomic against itself:
 * of two threads freeing one block at once, exactly one succeeds and the
 * other gets FA004; the block goes back to the memory source once. */
FA_EXTERN void fa_heap_free(fa_allocator_t *a, void *p);

/* ---- Statistics ------------------------------------------------------- */

typedef struct fa_stats_s { /* all threads merged; "live": not yet freed */
  uint64_t frame_bytes;     /* frame bytes in use now, all threads */
  uint64_t frame_peak;      /* largest frame_bytes of one thread in one frame */
  uint64_t frames;          /* end_frame calls completed, all threads */
  uint64_t pool_bytes, pool_count; /* live pool blocks (block sizes), heap
                                      fallbacks included (requested sizes) */
  uint64_t heap_bytes, heap_count; /* live heap allocations */
  uint64_t task_bytes;             /* live bytes in tasks and pool guards */
  uint64_t os_bytes;    /* bytes currently obtained from the memory source */
  uint64_t os_requests; /* reserve calls made so far */
} fa_stats_t;

/* Fills out; exact once every operation on a has returned. Read while other
 * threads work, pool_count and pool_bytes never exceed what was live at one
 * moment of the read. 0, or FA_EINVAL for a NULL argument. */
FA_EXTERN int fa_get_stats(fa_allocator_t *a, fa_stats_t *out);

/* ---- Typed helpers ---------------------------------------------------- */

/* n * size, or SIZE_MAX when it overflows (every allocator fails then). */
FA__INLINE size_t fa__mul(size_t n, size_t size) {
  return (size && n > SIZE_MAX / size) ? SIZE_MAX : n * size;
}
FA__INLINE void *fa__zero(void *p, size_t n) {
  return p && n != SIZE_MAX ? memset(p, 0, n) : p;
}
FA__INLINE void *fa__copy(void *p, const void *src, size_t n) {
  return p ? memcpy(p, src, n) : p;
}

/* One zeroed T, or n zeroed Ts (overflow-checked), or a copy of (T){...}. */
#define fa_frame_new(a, T)                                                     \
  ((T *)fa__zero(fa_frame_alloc((a), sizeof(T), FA__ALIGNOF(T)), sizeof(T)))
#define fa_frame_array(a, T, n)                                                \
  ((T *)fa__zero(fa_frame_alloc((a), fa__mul((n), sizeof(T)), FA__ALIGNOF(T)), \
                 fa__mul((n), sizeof(T))))
#define fa_frame_box(a, T, ...)                                                \
  FA__BOX(T, fa_frame_alloc((a), sizeof(T), FA__ALIGNOF(T)), __VA_ARGS__)
#define fa_pool_new(a, T)                                                      \
  ((T *)fa__zero(fa_pool_alloc((a), sizeof(T)), sizeof(T)))
#define fa_pool_box(a, T, ...)                                                 \
  FA__BOX(T, fa_pool_alloc((a), sizeof(T)), __VA_ARGS__)
#define fa_heap_new(a, T)                                                      \
  ((T *)fa__zero(fa_heap_alloc((a), sizeof(T), FA__ALIGNOF(T)), sizeof(T)))
#define fa_heap_box(a, T, ...)                                                 \
  FA__BOX(T, fa_heap_alloc((a), sizeof(T), FA__ALIGNOF(T)), __VA_ARGS__)

/* A copy of the initializer in fresh memory p, or NULL: through a compound
 * literal in C, a braced temporary in C++. */
#ifdef __cplusplus
#define FA__BOX(T, p, ...)                                                     \
  (static_cast<T *>(fa__copy((p), &fa__ref(T __VA_ARGS__), sizeof(T))))
#else
#define FA__BOX(T, p, ...) ((T *)fa__copy((p), &(T)__VA_ARGS__, sizeof(T)))
#endif

/* A growable vector in frame memory (Rust frame_vec):
 *   fa_frame_vec(float) v = {0};
 *   fa_frame_vec_push(a, &v, 1.5f);   // 0, or FA_ENOMEM (v unchanged)
 *   v.data[0], v.len
 * It grows in place while it is the newest frame allocation of the thread,
 * otherwise it moves to a new, larger block. Valid until fa_end_frame. */
#define fa_frame_vec(T)                                                        \
  struct {                                                                     \
    T *data;                                                                   \
    size_t len, cap;                                                           \
  }
/* Makes room for n more elements: 0 or FA_ENOMEM. */
#define fa_frame_vec_reserve(a, v, n)                                          \
  fa__frame_vec_reserve((a), (void *)(v), (n), sizeof(*(v)->data),             \
                        FA__ELEM_ALIGN(*(v)->data))
/* The alignment of the type of expression e. C without __typeof__ (MSVC)
 * takes the largest power of two dividing sizeof(e), at most 4096: a
 * multiple of its alignment, since a type's size is, and so valid. */
#if defined(__cplusplus)
#define FA__ELEM_ALIGN(e) alignof(decltype(e))
#elif defined(__GNUC__)
#define FA__ELEM_ALIGN(e) _Alignof(__typeof__(e))
#else
#define FA__ELEM_ALIGN(e)                                                      \
  ((sizeof(e) & (0 - sizeof(e))) < 4096 ? (sizeof(e) & (0 - sizeof(e))) : 4096)
#endif
/* Appends one element: 0, or FA_ENOMEM (v unchanged). v is evaluated more
 * than once, and the element expression must not read v->len. */
#define fa_frame_vec_push(a, v, ...)                                           \
  (fa_frame_vec_reserve((a), (v), 1) == 0                                      \
       ? ((v)->data[(v)->len++] = (__VA_ARGS__), 0)                            \
       : FA_ENOMEM)

/* For the libuv layer's check of foreign buffers: copies the n bytes at p
 * into out when they lie in memory a live allocator owns (one of its
 * pool, task or cached pages, or a live heap block starting at p) and
 * names it in *owner; otherwise reads nothing. 0 or FA_EINVAL. */
FA_EXTERN int fa__read_owned(const void *p, void *out, size_t n,
                             fa_allocator_t **owner);

/* Layout shared by every fa_frame_vec(T): data, len, cap. */
FA_EXTERN int fa__frame_vec_reserve(fa_allocator_t *a, void *vec, size_t n,
                                    size_t elem_size, size_t elem_align);

/* ---- Markers for fa-check (no run-time cost) --------------------------- */

/* FA_ASYNC marks a function as async/task code: frame memory is forbidden
 * in it. FA_SUSPENDS marks a function whose calls are suspension points (it
 * may switch to another coroutine or wait for the event loop before it
 * returns). FA_BEGINS_FRAME and FA_ENDS_FRAME mark a function that begins
 * (ends) a frame of its fa_allocator_t * argument for its caller, so the
 * checker counts a call to it as fa_begin_frame (fa_end_frame). All are
 * annotations for fa-check, which parses as clang; other compilers see
 * nothing. */
#if defined(__clang__)
#define FA_ASYNC __attribute__((annotate("fa_async")))
#define FA_SUSPENDS __attribute__((annotate("fa_suspends")))
#define FA_BEGINS_FRAME __attribute__((annotate("fa_begins_frame")))
#define FA_ENDS_FRAME __attribute__((annotate("fa_ends_frame")))
#else
#define FA_ASYNC
#define FA_SUSPENDS
#define FA_BEGINS_FRAME
#define FA_ENDS_FRAME
#endif
FA__INLINE void fa__await(void) {}
/* Marks a suspension point; evaluates expr (which may be void). */
#define FA_AWAIT(expr) (fa__await(), (expr))

/* ---- Internal: the inline fast paths (not API; may change) ------------- */

/* Size classes: 16-byte steps up to 1 KiB (classes 1..64, inlined), then
 * four per power of two up to FA_POOL_MAX_LIMIT (slow path only). */
#define FA__DEFAULT_ALIGNMENT 16 /* alignof(max_align_t) on 64-bit */
#define FA__SMALL_MAX 1024
#define FA__SMALL_CLASSES 64
#define FA__CLASSES 77
#define FA__PAGE_SHIFT 16 /* pool pages: 64 KiB, aligned to their size */
#define FA__PAGE_SIZE ((uintptr_t)1 << FA__PAGE_SHIFT)
#define FA__MAP_SHIFT 16 /* page map: 2^16 leaves of 2^16 pages each */
/* Two bitmaps in every pool page header, one bit per 16-byte granule of
 * the page: LIVE has the bit of each block's first granule set while the
 * block is handed out (written by the owner thread only); REMOTE has it
 * set while another thread's free of the block is on its way back to the
 * owner (set by atomic OR). A free is valid only for a 16-byte aligned
 * pointer whose LIVE bit is set and REMOTE bit clear: this one test
 * refuses double frees, interior pointers and header pointers. */
#define FA__PAGE_LIVE 128
#define FA__PAGE_REMOTE (FA__PAGE_LIVE + (FA__PAGE_SIZE >> 7))

/* The word of a bitmap of the page at base holding the bit of offset off,
 * that bit's index in the word, and the bit. */
#define FA__BITMAP_WORD(base, map, off)                                        \
  ((uint64_t *)((base) + (map)) + ((off) >> 10))
#define FA__BITMAP_INDEX(off) ((unsigned)((off) >> 4) & 63)
#define FA__BITMAP_BIT(off) ((uint64_t)1 << FA__BITMAP_INDEX(off))

typedef struct fa__block_s {
  struct fa__block_s *next;
} fa__block_t;

struct fa__heap_s;

/* The first fields of a pool page; the page starts at a FA__PAGE_SIZE
 * boundary, so a block's page is its address rounded down. */
typedef struct fa__page_head_s {
  fa__block_t *free;             /* owner thread only */
  uint32_t used;                 /* blocks handed out; written by the owner
                                    (relaxed atomic: stats read it) */
  uint32_t cls;                  /* size class */
  struct fa__heap_s *fast_owner; /* heap that frees inline; NULL: slow path */
} fa__page_head_t;

/* The first fields of an (allocator, thread) state. */
typedef struct fa__heap_head_s {
  uintptr_t frame_ptr; /* bump pointer (relaxed atomic: stats read it) */
  uintptr_t frame_lim; /* inline path limit; equal to frame_ptr: closed */
  unsigned char **map; /* page map of the allocator */
  fa__page_head_t *direct[FA__CLASSES + 1]; /* page to allocate from */
  /* Pool blocks of each class this thread allocated and freed, for
   * fa_get_stats (relaxed atomics, only this thread writes them). */
  uint64_t pool_allocs[FA__CLASSES + 1];
  uint64_t pool_frees[FA__CLASSES + 1];
} fa__heap_head_t;

/* One-entry cache: the allocator the calling thread used last. An
 * allocator being destroyed clears the entries that name it, in every
 * thread, so a new allocator at the same address never matches a stale
 * entry; that is why alloc is a relaxed atomic. */
typedef struct fa__tls_s {
  fa_allocator_t *alloc; /* FA__TLS_EMPTY when empty (never NULL, so that a
                            NULL allocator never matches) */
  fa_allocator_t *frame_alloc; /* alloc, or FA__TLS_EMPTY inside a task
                                  scope: frame calls then go out of line,
                                  where FA701 is raised */
  fa__heap_head_t *heap;       /* its state for this thread */
  size_t pool_fast_max;        /* min(pool_max_size, FA__SMALL_MAX) */
} fa__tls_t;
#define FA__TLS_EMPTY ((fa_allocator_t *)(uintptr_t)1)

#if defined(__GNUC__) && !defined(FA_NO_INLINE_TLS)
extern FA_EXTERN __thread fa__tls_t fa__tls
    __attribute__((tls_model("initial-exec")));
#define FA__HAVE_TLS 1
#endif

FA_EXTERN void *fa__frame_alloc_slow(fa_allocator_t *a, size_t size,
                                     size_t align);
FA_EXTERN void *fa__pool_alloc_slow(fa_allocator_t *a, size_t size);
FA_EXTERN void fa__pool_free_slow(fa_allocator_t *a, void *p);
/* The rest of a free whose page the inline path has found in the map. */
FA_EXTERN void fa__pool_free_page(fa__heap_head_t *h, fa__page_head_t *pg,
                                  void *p);

#if defined(__GNUC__)
#define FA__LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define FA__STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#endif

FA__INLINE void *fa_frame_alloc(fa_allocator_t *a, size_t size, size_t align) {
#ifdef FA__HAVE_TLS
  /* A valid align is a power of two in [1, 4096]; size 0 takes one byte so
   * that every pointer is unique; the size bound keeps p + n from wrapping. */
  if (align == 0) /* folds away for a constant align */
    align = FA__DEFAULT_ALIGNMENT;
  if (FA_LIKELY(FA__LOAD(&fa__tls.frame_alloc) == a && align - 1 < 4096 &&
                (align & (align - 1)) == 0 && size < ((size_t)1 << 40))) {
    fa__heap_head_t *h = fa__tls.heap;
    uintptr_t p = (h->frame_ptr + align - 1) & ~(uintptr_t)(align - 1);
    uintptr_t q = p + size + (size == 0);
    if (FA_LIKELY(q <= h->frame_lim)) {
      FA__STORE(&h->frame_ptr, q);
      return (void *)p;
    }
  }
#endif
  return fa__frame_alloc_slow(a, size, align);
}

FA__INLINE void *fa_pool_alloc(fa_allocator_t *a, size_t size) {
#ifdef FA__HAVE_TLS
  if (FA_LIKELY(FA__LOAD(&fa__tls.alloc) == a && size <= FA__SMALL_MAX &&
                size <= fa__tls.pool_fast_max)) {
    fa__heap_head_t *h = fa__tls.heap;
    size_t c = size ? (size + 15) >> 4 : 1;
    fa__page_head_t *pg = h->direct[c];
    fa__block_t *b = pg->free;
    if (FA_LIKELY(b != NULL)) {
      uintptr_t off = (uintptr_t)b & (FA__PAGE_SIZE - 1);
      uint64_t *live = FA__BITMAP_WORD((uintptr_t)pg, FA__PAGE_LIVE, off);
      pg->free = b->next;
      FA__STORE(&pg->used, pg->used + 1);
      /* Set the block's LIVE bit; frees on other threads read the word. */
      FA__STORE(live, FA__LOAD(live) | ((uint64_t)1 << FA__BITMAP_INDEX(off)));
      FA__STORE(&h->pool_allocs[c], h->pool_allocs[c] + 1); /* stats read it */
      return b;
    }
  }
#endif
  return fa__pool_alloc_slow(a, size);
}

FA__INLINE void fa_pool_free(fa_allocator_t *a, void *p) {
#ifdef FA__HAVE_TLS
  /* The page map says whether p's 64 KiB page is a pool page of a before
   * its header is read; addresses beyond 48 bits are not in the map. */
  uintptr_t top = (uintptr_t)p >> (FA__PAGE_SHIFT + FA__MAP_SHIFT);
  if (FA_LIKELY(FA__LOAD(&fa__tls.alloc) == a &&
                top < ((uintptr_t)1 << FA__MAP_SHIFT))) {
    fa__heap_head_t *h = fa__tls.heap;
    /* Acquire: the leaf's zeroed contents (map_set's release store). */
    unsigned char *leaf = __atomic_load_n(&h->map[top], __ATOMIC_ACQUIRE);
    uintptr_t idx = ((uintptr_t)p >> FA__PAGE_SHIFT) & 0xffff;
    if (FA_LIKELY(leaf && FA__LOAD(&leaf[idx]))) {
      uintptr_t base = (uintptr_t)p & ~(FA__PAGE_SIZE - 1);
#if defined(__GNUC__)
      __asm__("" : "+r"(base)); /* no constant folding of a bad pointer */
#endif
      fa__page_head_t *pg = (fa__page_head_t *)base;
      /* A live block of a page this thread owns, not its page's last. */
      uintptr_t off = (uintptr_t)p & (FA__PAGE_SIZE - 1);
      uint64_t *live = FA__BITMAP_WORD(base, FA__PAGE_LIVE, off);
      uint64_t *remote = FA__BITMAP_WORD(base, FA__PAGE_REMOTE, off);
      unsigned i = FA__BITMAP_INDEX(off);
      uint64_t w = FA__LOAD(live);
      if (FA_LIKELY(FA__LOAD(&pg->fast_owner) == (struct fa__heap_s *)h &&
                    pg->used > 1 && (off & 15) == 0 && ((w >> i) & 1) &&
                    !((FA__LOAD(remote) >> i) & 1))) {
        fa__block_t *b = (fa__block_t *)p;
        b->next = pg->free;
        pg->free = b;
        FA__STORE(&pg->used, pg->used - 1);
        FA__STORE(live, w ^ ((uint64_t)1 << i)); /* the bit was set */
        FA__STORE(&h->pool_frees[pg->cls], h->pool_frees[pg->cls] + 1);
        return;
      }
      fa__pool_free_page(h, pg, p);
      return;
    }
  }
#endif
  fa__pool_free_slow(a, p);
}

#ifdef __cplusplus
}
/* Gives FA__BOX the address of a braced temporary, which lives to the end
 * of the full expression and so outlasts the copy. */
template <class T> static inline const T &fa__ref(const T &v) { return v; }
#endif
#endif /* FRAMEALLOC_H */
