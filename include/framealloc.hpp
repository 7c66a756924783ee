// framealloc.hpp: the C++17 layer over <framealloc.h> and
// <framealloc/task.h>. Header-only; link framealloc as for C.
//
//   fa::allocator a;                        // owns an fa_allocator_t
//   fa::frame_resource fr(a);               // std::pmr over the frame tier
//   for (;;) {
//     fa::frame_scope frame(a);             // fa_begin_frame ... fa_end_frame
//     std::pmr::vector<int> v(&fr);         // gone at the end of the scope
//   }
//
// What is here, tier by tier:
//   allocator                 a reference to a C allocator (copy: fa_retain)
//   frame_scope               RAII fa_begin_frame / fa_end_frame
//   frame_mark_scope          RAII fa_frame_mark / fa_frame_rewind
//   frame_resource            std::pmr::memory_resource over the frame tier
//   pool_resource             ... over the pool tier (heap fallback)
//   task_resource             ... over one fa_task_t
//   frame_allocator<T>        standard allocators for containers that are
//   pool_allocator<T>         not pmr
//   pool_ptr<T>, make_pool    std::unique_ptr whose deleter runs ~T and
//                             frees the block, from any thread
//   make_frame, make_frame_array  frame objects (trivially destructible)
//   task, task_scope          an fa_task_t and its scope; task.make<T> runs
//                             ~T at destroy through fa_task_defer
//   pool_guard                an fa_pool_guard_t; make<T>
//   current_call_site         the C++ line behind a diagnostic
//
// Every class and function that needs an allocator takes an allocator_ref:
// an fa::allocator & or an fa_allocator_t *. The resources keep a reference
// (fa_retain) to their allocator; the STL allocators, deleters and scopes do
// not (they are copied often or live briefly): their allocator must outlive
// them, as a std::pmr resource must outlive its containers.
//
// Errors. A function whose job is to hand out memory (the resources, the
// STL allocators, make_pool, make_frame, make_frame_array, task::allocate,
// task::make, pool_guard::allocate, pool_guard::make) throws std::bad_alloc
// when the C call returns NULL; the C library has then already raised its
// diagnostic where there is one (FA003 budget, FA006 bad alignment). The
// constructors of allocator, task and pool_guard throw std::system_error with
// fa::error_category() when the C object cannot be made, and so does task_scope
// when fa_task_enter fails; task::defer returns the C code. Built without
// exceptions (-fno-exceptions), each of these prints one line "framealloc:
// error[C++]: ..." to stderr, naming the function and, where the function takes
// it, the caller's file and line, then calls std::abort().
#ifndef FRAMEALLOC_HPP
#define FRAMEALLOC_HPP

#include "framealloc.h"
#include "framealloc/task.h"

#if defined(_MSVC_LANG) ? _MSVC_LANG < 201703L : __cplusplus < 201703L
#error "<framealloc.hpp> needs C++17 or later"
#endif

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS) || defined(_CPPUNWIND)
#define FA_CXX_EXCEPTIONS 1
#else
#define FA_CXX_EXCEPTIONS 0
#endif

#if defined(__cpp_rtti) || defined(__GXX_RTTI) || defined(_CPPRTTI)
#define FA_CXX_RTTI 1
#else
#define FA_CXX_RTTI 0
#endif

// The caller's file and line as default arguments (GCC, Clang, MSVC 19.26
// and later).
#if defined(__GNUC__) || defined(__clang__) ||                                 \
    (defined(_MSC_VER) && _MSC_VER >= 1926)
#define FA_CXX_FILE __builtin_FILE()
#define FA_CXX_LINE __builtin_LINE()
#else
#define FA_CXX_FILE "?"
#define FA_CXX_LINE 0
#endif

namespace fa {

// ---- Errors ---------------------------------------------------------------

// The category of the FA_E* codes: message() is fa_strerror, and each code
// is equivalent to the closest std::errc.
class error_category_t final : public std::error_category {
public:
  const char *name() const noexcept override { return "framealloc"; }
  std::string message(int code) const override { return fa_strerror(code); }
  std::error_condition
  default_error_condition(int code) const noexcept override {
    switch (code) {
    case FA_EINVAL:
      return std::make_error_condition(std::errc::invalid_argument);
    case FA_ENOMEM:
      return std::make_error_condition(std::errc::not_enough_memory);
    case FA_EBUSY:
      return std::make_error_condition(std::errc::device_or_resource_busy);
    case FA_ESTATE:
      return std::make_error_condition(std::errc::operation_not_permitted);
    default:
      return std::error_condition(code, *this);
    }
  }
};

inline const std::error_category &error_category() noexcept {
  static const error_category_t category;
  return category;
}

// An FA_E* code (negative) as a std::error_code.
inline std::error_code make_error_code(int code) noexcept {
  return std::error_code(code, error_category());
}

namespace detail {

// Without exceptions: one line on stderr, then abort.
[[noreturn]] inline void fail(const char *what, const char *reason,
                              const char *file, int line) noexcept {
  if (file)
    std::fprintf(stderr, "framealloc: error[C++]: %s: %s (called at %s:%d)\n",
                 what, reason, file, line);
  else
    std::fprintf(stderr, "framealloc: error[C++]: %s: %s\n", what, reason);
  std::fflush(stderr);
  std::abort();
}

[[noreturn]] inline void
throw_bad_alloc(const char *what, const char *file = nullptr, int line = 0) {
#if FA_CXX_EXCEPTIONS
  (void)what, (void)file, (void)line;
  throw std::bad_alloc();
#else
  fail(what, "out of memory", file, line);
#endif
}

[[noreturn]] inline void throw_error(int code, const char *what,
                                     const char *file = nullptr, int line = 0) {
#if FA_CXX_EXCEPTIONS
  (void)file, (void)line;
  throw std::system_error(make_error_code(code), what);
#else
  fail(what, fa_strerror(code), file, line);
#endif
}

// n objects of size bytes, or SIZE_MAX when that overflows (every tier
// fails on SIZE_MAX).
constexpr std::size_t array_bytes(std::size_t n, std::size_t size) noexcept {
  return size && n > std::numeric_limits<std::size_t>::max() / size
             ? std::numeric_limits<std::size_t>::max()
             : n * size;
}

// Pool blocks are aligned to this; stricter alignments use the heap tier.
constexpr std::size_t pool_align = alignof(std::max_align_t);

inline void *pool_allocate(fa_allocator_t *a, std::size_t bytes,
                           std::size_t align) noexcept {
  return align <= pool_align ? fa_pool_alloc(a, bytes)
                             : fa_heap_alloc(a, bytes, align);
}

inline void pool_deallocate(fa_allocator_t *a, void *p,
                            std::size_t align) noexcept {
  if (align <= pool_align)
    fa_pool_free(a, p);
  else
    fa_heap_free(a, p);
}

// The C++ call site of the C call the calling thread is making, set by the
// wrappers that take one (see fa::current_call_site).
struct site_slot {
  const char *file;
  int line;
};
inline site_slot &current_site() noexcept {
  static thread_local site_slot slot{nullptr, 0};
  return slot;
}

// Names file:line as the call site while it lives.
class site_guard {
public:
  site_guard(const char *file, int line) noexcept : saved_(current_site()) {
    current_site() = {file, line};
  }
  ~site_guard() { current_site() = saved_; }
  site_guard(const site_guard &) = delete;
  site_guard &operator=(const site_guard &) = delete;

private:
  site_slot saved_;
};

// The default diagnostic sink of allocators made by fa::allocator: the C
// library's line, plus the C++ call site when there is one.
inline void print_diagnostic(const fa_diag_t *d, void *) {
  const site_slot &at = current_site();
  const char *level = d->level == FA_LEVEL_ERROR ? "error" : "warning";
  const char *name = fa_diag_name(d->code);
  if (at.file)
    std::fprintf(stderr, "framealloc: %s[%s]: %s (at %s:%d)\n", level,
                 name ? name : "FA???", d->message, at.file, at.line);
  else
    std::fprintf(stderr, "framealloc: %s[%s]: %s\n", level,
                 name ? name : "FA???", d->message);
  std::fflush(stderr);
}

// cfg, with print_diagnostic when it names no callback.
inline fa_config_t with_sink(fa_config_t cfg) noexcept {
  if (!cfg.on_diagnostic)
    cfg.on_diagnostic = print_diagnostic;
  return cfg;
}

// Constructs T in p from args: T(args...) when that is valid, else
// T{args...} (aggregates).
template <class T, class... Args> T *construct(void *p, Args &&...args) {
  if constexpr (std::is_constructible_v<T, Args...>)
    return ::new (p) T(std::forward<Args>(args)...);
  else
    return ::new (p) T{std::forward<Args>(args)...};
}

} // namespace detail

// The file and line of the C++ code whose C call raised the diagnostic
// being reported, for an fa_config_t.on_diagnostic callback to print; file
// is NULL when the call came from elsewhere (a resource, C code, a wrapper
// that takes no call site). frame_scope, frame_mark_scope, task_scope and
// make_frame_array take their caller's file and line (GCC and Clang), and
// the scopes' destructors report the place of construction.
struct call_site {
  const char *file;
  int line;
};
inline call_site current_call_site() noexcept {
  return {detail::current_site().file, detail::current_site().line};
}

// ---- Allocator ------------------------------------------------------------

// One reference to a C allocator. Default-constructed: fa_create with the
// defaults; from a config: fa_create(&cfg) (throws std::system_error,
// FA_ENOMEM, when fa_create fails). When the config names no
// on_diagnostic, diagnostics go to stderr as the C library writes them,
// with the C++ call site added (see current_call_site). Copying takes
// another reference
// (fa_retain), destruction drops one (fa_release): the last one destroys
// the allocator. A moved-from allocator is empty (get() == nullptr).
class allocator {
public:
  allocator() : allocator(fa_config_t{}, nullptr, 0) {}
  explicit allocator(const fa_config_t &cfg, const char *file = FA_CXX_FILE,
                     int line = FA_CXX_LINE) {
    fa_config_t c = detail::with_sink(cfg);
    a_ = fa_create(&c);
    if (!a_)
      detail::throw_error(FA_ENOMEM, "fa::allocator: fa_create", file, line);
  }
  // Takes over the caller's reference to a (no fa_retain); a may be NULL.
  static allocator adopt(fa_allocator_t *a) noexcept { return allocator(a); }
  // Another reference to a (fa_retain); a may be NULL.
  static allocator retain(fa_allocator_t *a) noexcept {
    return allocator(fa_retain(a));
  }

  allocator(const allocator &o) noexcept : a_(fa_retain(o.a_)) {}
  allocator(allocator &&o) noexcept : a_(o.a_) { o.a_ = nullptr; }
  allocator &operator=(allocator o) noexcept {
    std::swap(a_, o.a_);
    return *this;
  }
  ~allocator() { fa_release(a_); }

  fa_allocator_t *get() const noexcept { return a_; }
  explicit operator bool() const noexcept { return a_ != nullptr; }
  // Gives up the reference without releasing it.
  fa_allocator_t *release() noexcept { return std::exchange(a_, nullptr); }

  // fa_get_stats; all zero for an empty allocator.
  fa_stats_t stats() const noexcept {
    fa_stats_t s{};
    fa_get_stats(a_, &s);
    return s;
  }
  void trim() noexcept { fa_trim(a_); }
  std::size_t pool_max_size() const noexcept { return fa_pool_max_size(a_); }

  friend bool operator==(const allocator &x, const allocator &y) noexcept {
    return x.a_ == y.a_;
  }
  friend bool operator!=(const allocator &x, const allocator &y) noexcept {
    return x.a_ != y.a_;
  }

private:
  explicit allocator(fa_allocator_t *a) noexcept : a_(a) {}
  fa_allocator_t *a_;
};

// A non-owning view of an allocator, so that every function takes either an
// fa::allocator or the C handle. It cannot be made from a temporary
// fa::allocator, which would be gone before the view is used.
class allocator_ref {
public:
  allocator_ref(allocator &a) noexcept : a_(a.get()) {}
  allocator_ref(const allocator &a) noexcept : a_(a.get()) {}
  allocator_ref(allocator &&) = delete;
  allocator_ref(fa_allocator_t *a) noexcept : a_(a) {}
  fa_allocator_t *get() const noexcept { return a_; }

private:
  fa_allocator_t *a_;
};

// ---- Frames -----------------------------------------------------------------

// fa_begin_frame at construction, fa_end_frame at destruction, on the
// calling thread. Misuse is diagnosed by the C library: a frame_scope
// inside a frame of the same allocator raises FA002 (and its end ends the
// outer frame too, so the outer scope's end raises FA002 again).
class frame_scope {
public:
  explicit frame_scope(allocator_ref a, const char *file = FA_CXX_FILE,
                       int line = FA_CXX_LINE) noexcept
      : a_(a.get()), file_(file), line_(line) {
    detail::site_guard at(file_, line_);
    fa_begin_frame(a_);
  }
  ~frame_scope() {
    detail::site_guard at(file_, line_);
    fa_end_frame(a_);
  }
  frame_scope(const frame_scope &) = delete;
  frame_scope &operator=(const frame_scope &) = delete;

private:
  fa_allocator_t *a_;
  const char *file_;
  int line_;
};

// fa_frame_mark at construction, fa_frame_rewind to it at destruction:
// the frame memory allocated inside the scope is freed, the rest stays.
class frame_mark_scope {
public:
  explicit frame_mark_scope(allocator_ref a, const char *file = FA_CXX_FILE,
                            int line = FA_CXX_LINE) noexcept
      : a_(a.get()), mark_(fa_frame_mark(a_)), file_(file), line_(line) {}
  ~frame_mark_scope() {
    detail::site_guard at(file_, line_);
    fa_frame_rewind(a_, mark_);
  }
  frame_mark_scope(const frame_mark_scope &) = delete;
  frame_mark_scope &operator=(const frame_mark_scope &) = delete;
  const fa_mark_t &mark() const noexcept { return mark_; }

private:
  fa_allocator_t *a_;
  fa_mark_t mark_;
  const char *file_;
  int line_;
};

// A T constructed in frame memory from args (T(args...), or T{args...} for
// an aggregate). No destructor ever runs, hence the static_assert. Throws
// std::bad_alloc when fa_frame_alloc returns NULL, and whatever T's
// constructor throws (the memory then goes at the end of the frame).
template <class T, class... Args>
T *make_frame(allocator_ref a, Args &&...args) {
  static_assert(std::is_trivially_destructible_v<T>,
                "fa::make_frame: frame memory is reset at fa_end_frame "
                "without running destructors, so T must be trivially "
                "destructible (use fa::make_pool or fa::task::make)");
  void *p = fa_frame_alloc(a.get(), sizeof(T), alignof(T));
  if (!p)
    detail::throw_bad_alloc("fa::make_frame");
  return detail::construct<T>(p, std::forward<Args>(args)...);
}

// n value-initialized Ts in frame memory (zeroed for scalars and PODs),
// with the same rule and errors as make_frame; n == 0 gives a unique
// pointer.
template <class T>
T *make_frame_array(allocator_ref a, std::size_t n,
                    const char *file = FA_CXX_FILE, int line = FA_CXX_LINE) {
  static_assert(std::is_trivially_destructible_v<T>,
                "fa::make_frame_array: frame memory is reset at "
                "fa_end_frame without running destructors, so T must be "
                "trivially destructible (use fa::pool_allocator or a "
                "std::pmr container on fa::frame_resource)");
  detail::site_guard at(file, line);
  void *p = n <= std::numeric_limits<std::size_t>::max() / sizeof(T)
                ? fa_frame_alloc(a.get(), n * sizeof(T), alignof(T))
                : nullptr;
  if (!p)
    detail::throw_bad_alloc("fa::make_frame_array", file, line);
  if constexpr (std::is_trivially_default_constructible_v<T>) {
    return static_cast<T *>(std::memset(p, 0, n * sizeof(T)));
  } else {
    T *first = static_cast<T *>(p);
    for (std::size_t i = 0; i < n; i++)
      ::new (static_cast<void *>(first + i)) T();
    return first;
  }
}

// ---- Pool objects -----------------------------------------------------------

// The deleter of pool_ptr: runs ~T and frees the block (fa_pool_free, or
// fa_heap_free for types aligned beyond alignof(std::max_align_t)). Any thread
// may run it.
template <class T> struct pool_delete {
  fa_allocator_t *alloc = nullptr;
  pool_delete() noexcept = default;
  explicit pool_delete(fa_allocator_t *a) noexcept : alloc(a) {}
  // A pool_ptr<Derived> converts to pool_ptr<Base>; Base needs a virtual
  // destructor, as for std::unique_ptr, and the same alignment class.
  template <class U, class = std::enable_if_t<std::is_convertible_v<U *, T *>>>
  pool_delete(const pool_delete<U> &o) noexcept : alloc(o.alloc) {
    static_assert((alignof(U) <= detail::pool_align) ==
                      (alignof(T) <= detail::pool_align),
                  "fa::pool_ptr: the conversion would free through the "
                  "wrong tier");
  }
  void operator()(T *p) const noexcept {
    p->~T();
    detail::pool_deallocate(alloc, const_cast<std::remove_cv_t<T> *>(p),
                            alignof(T));
  }
};

template <class T> using pool_ptr = std::unique_ptr<T, pool_delete<T>>;

// A T made in pool memory from args (T(args...) or T{args...}), owned by
// the pointer it returns. Throws std::bad_alloc when the pool returns NULL;
// if T's constructor throws, the block is freed and the exception goes on.
template <class T, class... Args>
pool_ptr<T> make_pool(allocator_ref a, Args &&...args) {
  static_assert(!std::is_array_v<T>, "fa::make_pool: use a container on "
                                     "fa::pool_resource for arrays");
  fa_allocator_t *h = a.get();
  void *p = detail::pool_allocate(h, sizeof(T), alignof(T));
  if (!p)
    detail::throw_bad_alloc("fa::make_pool");
#if FA_CXX_EXCEPTIONS
  try {
    return pool_ptr<T>(detail::construct<T>(p, std::forward<Args>(args)...),
                       pool_delete<T>(h));
  } catch (...) {
    detail::pool_deallocate(h, p, alignof(T));
    throw;
  }
#else
  return pool_ptr<T>(detail::construct<T>(p, std::forward<Args>(args)...),
                     pool_delete<T>(h));
#endif
}

// ---- Tasks and pool guards ----------------------------------------------

// Owns an fa_task_t: memory that lives until the task is destroyed, used by
// one thread at a time; the task may be moved to another thread between
// uses (the object itself, or by moving it). Construction throws
// std::system_error (FA_EINVAL for a NULL allocator, FA_ENOMEM) when
// fa_task_create fails. Destruction runs the cleanups (newest first), the
// destructors of make<T> objects among them, then frees everything.
class task {
public:
  explicit task(allocator_ref a, const char *file = FA_CXX_FILE,
                int line = FA_CXX_LINE)
      : t_(fa_task_create(a.get())) {
    if (!t_)
      detail::throw_error(a.get() ? FA_ENOMEM : FA_EINVAL,
                          "fa::task: fa_task_create", file, line);
  }
  // Takes over t (may be NULL).
  static task adopt(fa_task_t *t) noexcept { return task(t); }
  task(task &&o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  task &operator=(task &&o) noexcept {
    if (this != &o) {
      fa_task_destroy(t_);
      t_ = std::exchange(o.t_, nullptr);
    }
    return *this;
  }
  task(const task &) = delete;
  task &operator=(const task &) = delete;
  ~task() { fa_task_destroy(t_); }

  fa_task_t *get() const noexcept { return t_; }
  explicit operator bool() const noexcept { return t_ != nullptr; }
  // Gives up ownership: the caller destroys the task.
  fa_task_t *release() noexcept { return std::exchange(t_, nullptr); }
  // Destroys the task now (runs its cleanups); the object becomes empty.
  void reset() noexcept { fa_task_destroy(std::exchange(t_, nullptr)); }

  fa_allocator_t *allocator_handle() const noexcept {
    return t_ ? fa_task_allocator(t_) : nullptr;
  }
  std::size_t used() const noexcept { return t_ ? fa_task_used(t_) : 0; }

  // fa_task_alloc; throws std::bad_alloc on NULL.
  void *allocate(std::size_t bytes,
                 std::size_t align = alignof(std::max_align_t)) {
    void *p = fa_task_alloc(t_, bytes, align);
    if (!p)
      detail::throw_bad_alloc("fa::task::allocate");
    return p;
  }

  // fa_task_defer: fn(arg) runs at destruction, newest first. Returns the C
  // code: 0, FA_EINVAL or FA_ENOMEM (fn then never runs).
  int defer(void (*fn)(void *), void *arg) noexcept {
    return fa_task_defer(t_, fn, arg);
  }

  // A T constructed in task memory (T(args...) or T{args...}); unless T is
  // trivially destructible, ~T is registered to run when the task is
  // destroyed. Throws std::bad_alloc when memory is short (the object is
  // then destroyed at once if it was made), and whatever T's constructor
  // throws (its memory goes with the task).
  template <class T, class... Args> T *make(Args &&...args) {
    T *obj = detail::construct<T>(allocate(sizeof(T), alignof(T)),
                                  std::forward<Args>(args)...);
    if constexpr (!std::is_trivially_destructible_v<T>) {
      if (fa_task_defer(t_, &destroy<T>, obj) != 0) {
        obj->~T();
        detail::throw_bad_alloc("fa::task::make");
      }
    }
    return obj;
  }

private:
  explicit task(fa_task_t *t) noexcept : t_(t) {}
  template <class T> static void destroy(void *p) noexcept {
    static_cast<T *>(p)->~T();
  }
  fa_task_t *t_;
};

// fa_task_enter at construction, fa_task_leave at destruction: the calling
// thread runs the task's code, so frame allocations in between raise FA701.
// Throws std::system_error with FA_EBUSY when the task is in a scope on
// another thread (FA007), FA_ESTATE when it is in an outer, not innermost,
// scope of this thread (FA006), FA_EINVAL for a NULL task. Scopes nest
// last-in first-out, as C++ scopes do.
class task_scope {
public:
  explicit task_scope(task &t, const char *file = FA_CXX_FILE,
                      int line = FA_CXX_LINE)
      : task_scope(t.get(), file, line) {}
  explicit task_scope(fa_task_t *t, const char *file = FA_CXX_FILE,
                      int line = FA_CXX_LINE)
      : t_(t), file_(file), line_(line) {
    detail::site_guard at(file_, line_);
    int rc = fa_task_enter(t_);
    if (rc != 0)
      detail::throw_error(rc, "fa::task_scope: fa_task_enter", file, line);
  }
  ~task_scope() {
    detail::site_guard at(file_, line_);
    fa_task_leave(t_);
  }
  task_scope(const task_scope &) = delete;
  task_scope &operator=(const task_scope &) = delete;

private:
  fa_task_t *t_;
  const char *file_;
  int line_;
};

// Owns an fa_pool_guard_t: a batch that many threads allocate from at once,
// freed whole at destruction, where no destructor runs. Construction throws
// std::system_error as task's does.
class pool_guard {
public:
  explicit pool_guard(allocator_ref a, const char *file = FA_CXX_FILE,
                      int line = FA_CXX_LINE)
      : g_(fa_pool_guard_create(a.get())) {
    if (!g_)
      detail::throw_error(a.get() ? FA_ENOMEM : FA_EINVAL,
                          "fa::pool_guard: fa_pool_guard_create", file, line);
  }
  pool_guard(pool_guard &&o) noexcept : g_(std::exchange(o.g_, nullptr)) {}
  pool_guard &operator=(pool_guard &&o) noexcept {
    if (this != &o) {
      fa_pool_guard_destroy(g_);
      g_ = std::exchange(o.g_, nullptr);
    }
    return *this;
  }
  pool_guard(const pool_guard &) = delete;
  pool_guard &operator=(const pool_guard &) = delete;
  ~pool_guard() { fa_pool_guard_destroy(g_); }

  fa_pool_guard_t *get() const noexcept { return g_; }

  // fa_pool_guard_alloc, from any thread; throws std::bad_alloc on NULL.
  void *allocate(std::size_t bytes,
                 std::size_t align = alignof(std::max_align_t)) {
    void *p = fa_pool_guard_alloc(g_, bytes, align);
    if (!p)
      detail::throw_bad_alloc("fa::pool_guard::allocate");
    return p;
  }

  // A T constructed in the batch; T must be trivially destructible, since
  // the batch is freed without running destructors.
  template <class T, class... Args> T *make(Args &&...args) {
    static_assert(std::is_trivially_destructible_v<T>,
                  "fa::pool_guard::make: the batch is freed without "
                  "running destructors, so T must be trivially "
                  "destructible (use fa::task::make)");
    return detail::construct<T>(allocate(sizeof(T), alignof(T)),
                                std::forward<Args>(args)...);
  }

private:
  fa_pool_guard_t *g_;
};

// ---- std::pmr resources ---------------------------------------------------

namespace detail {

// What the three resources share: the handle compared by do_is_equal.
// Without RTTI only a resource is equal to itself.
template <class Self> class tier_resource : public std::pmr::memory_resource {
protected:
  bool do_is_equal(const std::pmr::memory_resource &o) const noexcept final {
    if (this == &o)
      return true;
#if FA_CXX_RTTI
    const Self *s = dynamic_cast<const Self *>(&o);
    return s && s->handle() == static_cast<const Self *>(this)->handle();
#else
    return false;
#endif
  }
};

} // namespace detail

// The frame tier as a std::pmr::memory_resource: allocation is
// fa_frame_alloc on the calling thread's frame (a bump), deallocation does
// nothing (the memory goes at fa_end_frame or a rewind). One resource may
// serve several threads: each allocates in its own frame. Throws
// std::bad_alloc when fa_frame_alloc returns NULL (frame budget, alignment
// above 4096, memory source failure). Keeps a reference to its allocator.
class frame_resource final : public detail::tier_resource<frame_resource> {
public:
  explicit frame_resource(allocator_ref a) noexcept
      : a_(allocator::retain(a.get())) {}
  fa_allocator_t *handle() const noexcept { return a_.get(); }

private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    void *p = fa_frame_alloc(a_.get(), bytes, align);
    if (FA_UNLIKELY(!p))
      detail::throw_bad_alloc("fa::frame_resource");
    return p;
  }
  void do_deallocate(void *, std::size_t, std::size_t) noexcept override {}
  allocator a_;
};

// The pool tier: fa_pool_alloc / fa_pool_free (sizes above the pools'
// largest class go to the heap path transparently; alignments above
// alignof(max_align_t) to fa_heap_alloc). Any thread may allocate, and any
// thread may free. Throws std::bad_alloc on NULL. Keeps a reference to its
// allocator.
class pool_resource final : public detail::tier_resource<pool_resource> {
public:
  explicit pool_resource(allocator_ref a) noexcept
      : a_(allocator::retain(a.get())) {}
  fa_allocator_t *handle() const noexcept { return a_.get(); }

private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    void *p = detail::pool_allocate(a_.get(), bytes, align);
    if (FA_UNLIKELY(!p))
      detail::throw_bad_alloc("fa::pool_resource");
    return p;
  }
  void do_deallocate(void *p, std::size_t,
                     std::size_t align) noexcept override {
    detail::pool_deallocate(a_.get(), p, align);
  }
  allocator a_;
};

// One task's memory: fa_task_alloc, deallocation does nothing (everything
// goes when the task is destroyed). Used by one thread at a time, like the
// task. Throws std::bad_alloc on NULL. Does not own the task: destroy the
// containers that use it before the task, or make them with task::make so
// the task destroys them first.
class task_resource final : public detail::tier_resource<task_resource> {
public:
  explicit task_resource(task &t) noexcept : t_(t.get()) {}
  explicit task_resource(fa_task_t *t) noexcept : t_(t) {}
  fa_task_t *handle() const noexcept { return t_; }

private:
  void *do_allocate(std::size_t bytes, std::size_t align) override {
    void *p = fa_task_alloc(t_, bytes, align);
    if (FA_UNLIKELY(!p))
      detail::throw_bad_alloc("fa::task_resource");
    return p;
  }
  void do_deallocate(void *, std::size_t, std::size_t) noexcept override {}
  fa_task_t *t_;
};

// ---- Standard allocators --------------------------------------------------

// Allocators for containers that are not pmr, holding the C handle only
// (the allocator must outlive the container). Two are equal when they are
// the same tier and name the same allocator. They propagate on move
// assignment and swap (so those stay O(1) and never throw) but not on copy
// assignment (a copy keeps the memory of its destination). Rebinding keeps
// the tier (std::allocator_traits does it from the template).
namespace detail {

template <template <class> class Tier, class T> class tier_allocator {
public:
  using value_type = T;
  using propagate_on_container_copy_assignment = std::false_type;
  using propagate_on_container_move_assignment = std::true_type;
  using propagate_on_container_swap = std::true_type;
  using is_always_equal = std::false_type;

  tier_allocator(allocator_ref a) noexcept : a_(a.get()) {}
  fa_allocator_t *handle() const noexcept { return a_; }

protected:
  fa_allocator_t *a_;
};

template <template <class> class Tier, class T, class U>
bool operator==(const tier_allocator<Tier, T> &x,
                const tier_allocator<Tier, U> &y) noexcept {
  return x.handle() == y.handle();
}
template <template <class> class Tier, class T, class U>
bool operator!=(const tier_allocator<Tier, T> &x,
                const tier_allocator<Tier, U> &y) noexcept {
  return x.handle() != y.handle();
}

} // namespace detail

// Frame memory for n Ts; throws std::bad_alloc on NULL or overflow.
// deallocate does nothing: frame memory goes at fa_end_frame.
template <class T>
class frame_allocator : public detail::tier_allocator<frame_allocator, T> {
public:
  using detail::tier_allocator<frame_allocator, T>::tier_allocator;
  template <class U>
  frame_allocator(const frame_allocator<U> &o) noexcept
      : frame_allocator(o.handle()) {}

  T *allocate(std::size_t n) {
    void *p =
        fa_frame_alloc(this->a_, detail::array_bytes(n, sizeof(T)), alignof(T));
    if (FA_UNLIKELY(!p))
      detail::throw_bad_alloc("fa::frame_allocator");
    return static_cast<T *>(p);
  }
  void deallocate(T *, std::size_t) noexcept {}
};

// Pool memory for n Ts (fa_pool_alloc, or fa_heap_alloc for types aligned
// beyond alignof(max_align_t)); deallocate frees it, from any thread. Throws
// std::bad_alloc on NULL or overflow.
template <class T>
class pool_allocator : public detail::tier_allocator<pool_allocator, T> {
public:
  using detail::tier_allocator<pool_allocator, T>::tier_allocator;
  template <class U>
  pool_allocator(const pool_allocator<U> &o) noexcept
      : pool_allocator(o.handle()) {}

  T *allocate(std::size_t n) {
    void *p = detail::pool_allocate(this->a_, detail::array_bytes(n, sizeof(T)),
                                    alignof(T));
    if (FA_UNLIKELY(!p))
      detail::throw_bad_alloc("fa::pool_allocator");
    return static_cast<T *>(p);
  }
  void deallocate(T *p, std::size_t) noexcept {
    detail::pool_deallocate(this->a_, p, alignof(T));
  }
};

} // namespace fa

#endif // FRAMEALLOC_HPP
