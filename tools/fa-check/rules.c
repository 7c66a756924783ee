/* The checker's rule catalogue. Codes, default levels and titles come from
 * FA_DIAG_MAP in <framealloc.h>, the table the library shares; this file
 * adds what only the checker needs: the family, the precision, a help line
 * and the text `fa-check explain` prints. */
#include "check.h"

#include <ctype.h>
#include <string.h>

#include <framealloc.h>

/* What the checker adds to a catalogue entry, by code. */
typedef struct rule_extra_s {
  int code;
  fc_family_t family;
  const char *precision;
  int available;
  const char *help;
  const char *explain;
} rule_extra_t;

static const rule_extra_t extras[] = {
    {601, FC_FAMILY_LIFETIME, "medium", 1,
     "keep frame pointers in frame memory or locals; copy the data to pool, "
     "heap or task memory when it must outlive the frame",
     "A frame pointer is stored where it outlives the frame: in a global or\n"
     "a static, in memory from fa_pool_alloc, fa_heap_alloc, fa_task_alloc\n"
     "or malloc, or in an object reached through a pointer parameter. At\n"
     "the next fa_end_frame the pointer dangles while the place that holds\n"
     "it lives on. Storing a frame pointer in frame memory or in a local is\n"
     "fine, and so is returning it: a function that returns frame memory is\n"
     "a helper whose callers are checked instead.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    static const char *last_name;\n"
     "\n"
     "    void name_player(fa_allocator_t *a, int id) {\n"
     "      char *name = fa_frame_array(a, char, 32);\n"
     "      if (!name)\n"
     "        return;\n"
     "      format_name(name, 32, id);\n"
     "      last_name = name; /* FA601 */\n"
     "    }\n"
     "\n"
     "Fixed: copy what must outlive the frame into memory that does:\n"
     "\n"
     "    static char last_name[32];\n"
     "\n"
     "    void name_player(fa_allocator_t *a, int id) {\n"
     "      char *name = fa_frame_array(a, char, 32);\n"
     "      if (!name)\n"
     "        return;\n"
     "      format_name(name, 32, id);\n"
     "      memcpy(last_name, name, 32);\n"
     "    }\n"},
    {603, FC_FAMILY_LIFETIME, "medium", 1,
     "end the frame on every path that leaves it (early returns, break, "
     "goto), or mark a helper FA_BEGINS_FRAME / FA_ENDS_FRAME",
     "Some path of a function begins a frame and leaves without ending it\n"
     "(an early return, a break out of the loop, a goto past the end), or\n"
     "ends a frame it did not begin on every path. The library reports the\n"
     "mismatch at run time (FA002) when the path runs; the checker finds it\n"
     "on paths the tests never take. Frames of different allocators are\n"
     "counted apart. A function whose every path begins a frame, or every\n"
     "path ends one, is a frame helper: it is not reported, and its callers\n"
     "are checked through it.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    int update(fa_allocator_t *a) {\n"
     "      fa_begin_frame(a); /* FA603 */\n"
     "      if (poll_input() < 0)\n"
     "        return -1; /* leaves with the frame open */\n"
     "      simulate(a);\n"
     "      fa_end_frame(a);\n"
     "      return 0;\n"
     "    }\n"
     "\n"
     "Fixed: leave through one exit that ends the frame:\n"
     "\n"
     "    int update(fa_allocator_t *a) {\n"
     "      int rc = 0;\n"
     "      fa_begin_frame(a);\n"
     "      if (poll_input() < 0) {\n"
     "        rc = -1;\n"
     "        goto out_end_frame;\n"
     "      }\n"
     "      simulate(a);\n"
     "    out_end_frame:\n"
     "      fa_end_frame(a);\n"
     "      return rc;\n"
     "    }\n"},
    {604, FC_FAMILY_LIFETIME, "high", 1,
     "finish with frame data before fa_end_frame, or copy what you need to "
     "pool, heap or task memory",
     "A frame pointer is used after fa_end_frame on its allocator, in the\n"
     "same function or after a call to a helper that ends the frame. The\n"
     "memory was reset: the next frame reuses it. The classic case is a\n"
     "pointer kept from the previous iteration of a frame loop. A pointer\n"
     "assigned again after the end is fine, and so is testing it against\n"
     "NULL. Built with AddressSanitizer (FA_SANITIZE=address) or for\n"
     "Valgrind (FA_VALGRIND=ON), the library poisons the memory at\n"
     "fa_end_frame, so ASan and memcheck report the same use when the path\n"
     "runs.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    void run(fa_allocator_t *a) {\n"
     "      const char *prev = NULL;\n"
     "      while (running()) {\n"
     "        fa_begin_frame(a);\n"
     "        char *line = fa_frame_array(a, char, 80);\n"
     "        if (line && prev)\n"
     "          draw_diff(prev, line); /* FA604: prev is last frame's */\n"
     "        prev = line;\n"
     "        fa_end_frame(a);\n"
     "      }\n"
     "    }\n"
     "\n"
     "Fixed: keep what must survive the frame outside it:\n"
     "\n"
     "    void run(fa_allocator_t *a) {\n"
     "      char prev[80] = \"\";\n"
     "      while (running()) {\n"
     "        fa_begin_frame(a);\n"
     "        char *line = fa_frame_array(a, char, 80);\n"
     "        if (line) {\n"
     "          draw_diff(prev, line);\n"
     "          memcpy(prev, line, 80);\n"
     "        }\n"
     "        fa_end_frame(a);\n"
     "      }\n"
     "    }\n"},
    {701, FC_FAMILY_ASYNC, "high", 1,
     "allocate from a pool, the heap or the task (fa_task_alloc) instead",
     "Frame memory belongs to the thread that allocated it and lives until\n"
     "that thread's next fa_end_frame. Async code (a function marked\n"
     "FA_ASYNC, a task body given to a spawner, a libuv callback, or a name\n"
     "listed in [async] async of fa-check.toml) may run on another thread or\n"
     "after the frame has ended, so memory it takes from the frame can be\n"
     "reset under it. The library reports the same code at run time when a\n"
     "task calls a frame allocation.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    FA_ASYNC void load_asset(fa_allocator_t *a) {\n"
     "      char *buf = fa_frame_alloc(a, 4096, 16); /* FA701 */\n"
     "      read_file_into(buf, 4096);\n"
     "    }\n"
     "\n"
     "Fixed: take memory that is safe across threads and frames, and give\n"
     "it back when the task is done:\n"
     "\n"
     "    FA_ASYNC void load_asset(fa_allocator_t *a) {\n"
     "      char *buf = fa_pool_alloc(a, 4096);\n"
     "      if (!buf)\n"
     "        return;\n"
     "      read_file_into(buf, 4096);\n"
     "      fa_pool_free(a, buf);\n"
     "    }\n"},
    {702, FC_FAMILY_ASYNC, "high", 1,
     "finish with the frame data before the suspension point, or copy it to "
     "pool, heap or task memory",
     "A frame pointer is live across a suspension point (FA_AWAIT(...), a\n"
     "call to a function marked FA_SUSPENDS, a coroutine switch such as\n"
     "swapcontext or mco_yield, or a name listed in [async] await of\n"
     "fa-check.toml) and used after it. While the code is suspended the\n"
     "owning thread may end the frame, so the pointer may point at memory\n"
     "that has been reset or reused. A pointer that is dead at the\n"
     "suspension point (not used after it) is not reported.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    void step(fa_allocator_t *a) {\n"
     "      int *counts = fa_frame_array(a, int, 64);\n"
     "      fill_counts(counts, 64);\n"
     "      FA_AWAIT(fiber_yield());\n"
     "      print_counts(counts, 64); /* FA702: used after the yield */\n"
     "    }\n"
     "\n"
     "Fixed: finish with the frame data before the suspension point, or\n"
     "keep what must survive it in pool, heap or task memory:\n"
     "\n"
     "    void step(fa_allocator_t *a) {\n"
     "      int *counts = fa_frame_array(a, int, 64);\n"
     "      fill_counts(counts, 64);\n"
     "      print_counts(counts, 64);\n"
     "      FA_AWAIT(fiber_yield()); /* counts is dead here */\n"
     "    }\n"
     "\n"
     "    void step_across(fa_allocator_t *a) {\n"
     "      int *counts = fa_pool_alloc(a, 64 * sizeof(int));\n"
     "      if (!counts)\n"
     "        return;\n"
     "      fill_counts(counts, 64);\n"
     "      FA_AWAIT(fiber_yield());\n"
     "      print_counts(counts, 64);\n"
     "      fa_pool_free(a, counts);\n"
     "    }\n"},
    {703, FC_FAMILY_ASYNC, "medium", 1,
     "give the task pool, heap or task memory, which it frees when done",
     "Frame data is handed to a spawned task or thread: the context\n"
     "argument of pthread_create, thrd_create, uv_thread_create,\n"
     "uv_queue_work (through req->data), fa_uv_queue_work, or a spawner\n"
     "listed in [async] spawn of fa-check.toml. The task runs on another\n"
     "thread, where the frame that owns the data may end at any moment.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    int start(fa_allocator_t *a, pthread_t *t) {\n"
     "      job_t *job = fa_frame_new(a, job_t);\n"
     "      if (!job)\n"
     "        return -1;\n"
     "      job->a = a;\n"
     "      return pthread_create(t, NULL, worker, job); /* FA703 */\n"
     "    }\n"
     "\n"
     "Fixed: give the task pool memory; the task frees it when it is done:\n"
     "\n"
     "    void *worker(void *arg) {\n"
     "      job_t *job = arg;\n"
     "      /* ... the work ... */\n"
     "      fa_pool_free(job->a, job);\n"
     "      return NULL;\n"
     "    }\n"
     "\n"
     "    int start(fa_allocator_t *a, pthread_t *t) {\n"
     "      job_t *job = fa_pool_new(a, job_t);\n"
     "      if (!job)\n"
     "        return -1;\n"
     "      job->a = a;\n"
     "      return pthread_create(t, NULL, worker, job);\n"
     "    }\n"},
};

/* What both FA702 examples start with: a coroutine type and an awaitable. */
#define CXX_COROUTINE_PREAMBLE                                                 \
  "    #include <framealloc.hpp>\n"                                            \
  "\n"                                                                         \
  "    #include <coroutine>\n"                                                 \
  "    #include <memory_resource>\n"                                           \
  "    #include <string>\n"                                                    \
  "\n"                                                                         \
  "    struct job { // a coroutine the main loop resumes\n"                    \
  "      struct promise_type {\n"                                              \
  "        job get_return_object() { return {}; }\n"                           \
  "        std::suspend_never initial_suspend() noexcept { return {}; }\n"     \
  "        std::suspend_never final_suspend() noexcept { return {}; }\n"       \
  "        void return_void() {}\n"                                            \
  "        void unhandled_exception() {}\n"                                    \
  "      };\n"                                                                 \
  "    };\n"                                                                   \
  "\n"                                                                         \
  "    std::suspend_always next_tick();\n"                                     \
  "    void send(const char *msg);\n"

/* The C++ example of each rule, which `fa-check explain` prints after the
 * C one (the same as in docs/fa-check.md, whose test checks both). */
static const struct {
  int code;
  const char *text;
} cxx_examples[] = {
    {701,
     "Bad:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    #include <cstddef>\n"
     "    #include <thread>\n"
     "\n"
     "    void read_file_into(char *buf, std::size_t size);\n"
     "\n"
     "    void load_asset(fa::allocator &a) {\n"
     "      std::thread loader([&a] {\n"
     "        char *buf = fa::make_frame_array<char>(a, 4096); /* FA701 */\n"
     "        read_file_into(buf, 4096);\n"
     "      });\n"
     "      loader.join();\n"
     "    }\n"
     "\n"
     "Fixed: a container on pool memory, freed when the task is done:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    #include <cstddef>\n"
     "    #include <memory_resource>\n"
     "    #include <thread>\n"
     "    #include <vector>\n"
     "\n"
     "    void read_file_into(char *buf, std::size_t size);\n"
     "\n"
     "    void load_asset(fa::allocator &a) {\n"
     "      std::thread loader([&a] {\n"
     "        fa::pool_resource pool(a);\n"
     "        std::pmr::vector<char> buf(4096, &pool);\n"
     "        read_file_into(buf.data(), buf.size());\n"
     "      });\n"
     "      loader.join();\n"
     "    }\n"},
    {702,
     "Bad:\n"
     "\n" CXX_COROUTINE_PREAMBLE "\n"
     "    job greet(fa::frame_resource &frame) {\n"
     "      std::pmr::string msg(\"hello\", &frame); /* FA701: a coroutine is "
     "async */\n"
     "      const char *text = msg.c_str();\n"
     "      co_await next_tick(); /* FA702 */\n"
     "      send(text);\n"
     "    }\n"
     "\n"
     "Fixed: what the coroutine keeps across co_await lives in the task's "
     "memory:\n"
     "\n" CXX_COROUTINE_PREAMBLE "\n"
     "    job greet(fa::task &t) {\n"
     "      fa::task_resource mem(t);\n"
     "      std::pmr::string msg(\"hello\", &mem);\n"
     "      co_await next_tick();\n"
     "      send(msg.c_str());\n"
     "    }\n"},
    {703, "Bad:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <cstring>\n"
          "    #include <thread>\n"
          "\n"
          "    void parse(const char *text);\n"
          "\n"
          "    void start_parse(fa::allocator &a, const char *src) {\n"
          "      char *copy = fa::make_frame_array<char>(a, 256);\n"
          "      std::strncpy(copy, src, 255);\n"
          "      copy[255] = 0;\n"
          "      std::thread worker([copy] { parse(copy); }); /* FA703 */\n"
          "      worker.detach();\n"
          "    }\n"
          "\n"
          "Fixed: the task owns a copy that is not in the frame:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <string>\n"
          "    #include <thread>\n"
          "\n"
          "    void parse(const char *text);\n"
          "\n"
          "    void start_parse(fa::allocator &a, const char *src) {\n"
          "      (void)a;\n"
          "      std::thread worker([text = std::string(src)] { "
          "parse(text.c_str()); });\n"
          "      worker.detach();\n"
          "    }\n"},
    {601, "Bad:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <memory_resource>\n"
          "    #include <string>\n"
          "\n"
          "    static const char *last_name;\n"
          "\n"
          "    void name_player(fa::frame_resource &frame, int id) {\n"
          "      std::pmr::string name(&frame);\n"
          "      name = \"player \" + std::to_string(id);\n"
          "      last_name = name.c_str(); /* FA601 */\n"
          "    }\n"
          "\n"
          "Fixed: keep a copy that outlives the frame:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <memory_resource>\n"
          "    #include <string>\n"
          "\n"
          "    static std::string last_name;\n"
          "\n"
          "    void name_player(fa::frame_resource &frame, int id) {\n"
          "      std::pmr::string name(&frame);\n"
          "      name = \"player \" + std::to_string(id);\n"
          "      last_name.assign(name.data(), name.size());\n"
          "    }\n"
          "\n"
          "A lambda, or a `std::function` made from one, holds its captures: "
          "storing it stores them.\n"
          "\n"
          "Bad:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <functional>\n"
          "\n"
          "    void draw_marker(const float *pos);\n"
          "\n"
          "    static std::function<void()> on_next_draw;\n"
          "\n"
          "    void mark(fa::allocator &a, float x, float y) {\n"
          "      float *pos = fa::make_frame_array<float>(a, 2);\n"
          "      pos[0] = x;\n"
          "      pos[1] = y;\n"
          "      on_next_draw = [pos] { draw_marker(pos); }; /* FA601 */\n"
          "    }\n"
          "\n"
          "Fixed: capture the values, not the frame pointer:\n"
          "\n"
          "    #include <framealloc.hpp>\n"
          "\n"
          "    #include <functional>\n"
          "\n"
          "    void draw_marker(const float *pos);\n"
          "\n"
          "    static std::function<void()> on_next_draw;\n"
          "\n"
          "    void mark(fa::allocator &a, float x, float y) {\n"
          "      (void)a;\n"
          "      on_next_draw = [x, y] {\n"
          "        const float pos[2] = {x, y};\n"
          "        draw_marker(pos);\n"
          "      };\n"
          "    }\n"},
    {603,
     "Bad:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    int poll_input();\n"
     "    void simulate(fa::allocator &a);\n"
     "\n"
     "    int update(fa::allocator &a) {\n"
     "      fa_begin_frame(a.get()); /* FA603 */\n"
     "      if (poll_input() < 0)\n"
     "        return -1; // leaves with the frame open\n"
     "      simulate(a);\n"
     "      fa_end_frame(a.get());\n"
     "      return 0;\n"
     "    }\n"
     "\n"
     "Fixed: a fa::frame_scope ends the frame on every way out of its block:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    int poll_input();\n"
     "    void simulate(fa::allocator &a);\n"
     "\n"
     "    int update(fa::allocator &a) {\n"
     "      fa::frame_scope frame(a);\n"
     "      if (poll_input() < 0)\n"
     "        return -1;\n"
     "      simulate(a);\n"
     "      return 0;\n"
     "    }\n"},
    {604,
     "Bad:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    void log_line(const char *s);\n"
     "\n"
     "    void report(fa::allocator &a, int score) {\n"
     "      int *kept;\n"
     "      {\n"
     "        fa::frame_scope frame(a);\n"
     "        kept = fa::make_frame<int>(a, score);\n"
     "      }\n"
     "      log_line(*kept > 0 ? \"won\" : \"lost\"); /* FA604 */\n"
     "    }\n"
     "\n"
     "Fixed: use frame data inside its frame_scope:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    void log_line(const char *s);\n"
     "\n"
     "    void report(fa::allocator &a, int score) {\n"
     "      fa::frame_scope frame(a);\n"
     "      int *kept = fa::make_frame<int>(a, score);\n"
     "      log_line(*kept > 0 ? \"won\" : \"lost\");\n"
     "    }\n"
     "\n"
     "A lambda called after the frame ended uses what it captured.\n"
     "\n"
     "Bad:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    #include <functional>\n"
     "\n"
     "    void log_line(const char *s);\n"
     "\n"
     "    void report_later(fa::allocator &a, int score) {\n"
     "      std::function<void()> report;\n"
     "      {\n"
     "        fa::frame_scope frame(a);\n"
     "        int *kept = fa::make_frame<int>(a, score);\n"
     "        report = [kept] { log_line(*kept > 0 ? \"won\" : \"lost\"); };\n"
     "      }\n"
     "      report(); /* FA604 */\n"
     "    }\n"
     "\n"
     "Fixed: capture the value the lambda needs:\n"
     "\n"
     "    #include <framealloc.hpp>\n"
     "\n"
     "    #include <functional>\n"
     "\n"
     "    void log_line(const char *s);\n"
     "\n"
     "    void report_later(fa::allocator &a, int score) {\n"
     "      std::function<void()> report;\n"
     "      {\n"
     "        fa::frame_scope frame(a);\n"
     "        int *kept = fa::make_frame<int>(a, score);\n"
     "        report = [won = *kept > 0] { log_line(won ? \"won\" : \"lost\"); "
     "};\n"
     "      }\n"
     "      report();\n"
     "    }\n"},
};

#define NEXTRAS (sizeof(extras) / sizeof(extras[0]))

/* FA_DIAG_MAP expanded: every code of the shared catalogue. */
typedef struct map_entry_s {
  int code;
  int level;  /* FA_LEVEL_WARNING or FA_LEVEL_ERROR */
  int origin; /* ORIGIN_* below */
  const char *title;
} map_entry_t;

enum { ORIGIN_LIBRARY, ORIGIN_CHECKER, ORIGIN_BOTH };

static const map_entry_t catalogue[] = {
#define FC__MAP(num, lvl, origin, title)                                       \
  {num, FA_LEVEL_##lvl, ORIGIN_##origin, title},
    FA_DIAG_MAP(FC__MAP)
#undef FC__MAP
};

#define NCATALOGUE (sizeof(catalogue) / sizeof(catalogue[0]))

static fc_rule_t rules[NCATALOGUE];
static char names[NCATALOGUE][16];
static size_t nrules;

/* Built by a constructor so that lookups from worker threads only read. */
__attribute__((constructor)) static void rules_build(void) {
  for (size_t i = 0; i < NCATALOGUE; i++) {
    const map_entry_t *m = &catalogue[i];
    if (m->origin == ORIGIN_LIBRARY)
      continue;
    const rule_extra_t *x = NULL;
    for (size_t j = 0; j < NEXTRAS; j++)
      if (extras[j].code == m->code)
        x = &extras[j];
    if (!x)
      continue; /* a checker code without text here is not offered */
    fc_rule_t *r = &rules[nrules++];
    r->code = m->code;
    r->family = x->family;
    r->default_level =
        m->level == FA_LEVEL_ERROR ? FC_LEVEL_ERROR : FC_LEVEL_WARN;
    r->precision = x->precision;
    r->title = m->title;
    r->help = x->help;
    r->explain = x->explain;
    r->explain_cxx = NULL;
    for (size_t k = 0; k < sizeof(cxx_examples) / sizeof(*cxx_examples); k++)
      if (cxx_examples[k].code == m->code)
        r->explain_cxx = cxx_examples[k].text;
    r->available = x->available;
  }
  /* Insertion sort by code: the table is tiny. */
  for (size_t i = 1; i < nrules; i++) {
    for (size_t j = i; j > 0 && rules[j - 1].code > rules[j].code; j--) {
      fc_rule_t t = rules[j];
      rules[j] = rules[j - 1];
      rules[j - 1] = t;
    }
  }
  for (size_t i = 0; i < nrules; i++) {
    snprintf(names[i], sizeof(names[i]), "FA%03d", rules[i].code);
    rules[i].name = names[i];
  }
}

const fc_rule_t *fc_rules(size_t *count) {
  *count = nrules;
  return rules;
}

const fc_rule_t *fc_rule_find(int code) {
  for (size_t i = 0; i < nrules; i++)
    if (rules[i].code == code)
      return &rules[i];
  return NULL;
}

/* ---- Run-time codes ------------------------------------------------------
 * The codes only the library raises (FA001 to FA008): `fa-check explain`
 * describes them as run-time diagnostics, since the checker never reports
 * them. */
static const struct {
  int code;
  const char *explain;
} runtime_texts[] = {
    {1, "A frame allocation (fa_frame_alloc and the fa_frame_* helpers) on a\n"
        "thread that has no frame open on that allocator. The library opens\n"
        "an implicit frame, which the next fa_end_frame closes, and raises\n"
        "FA001 once for it. Fix: wrap the work in fa_begin_frame /\n"
        "fa_end_frame, or use pool, heap or task memory outside frames.\n"},
    {2, "fa_begin_frame on a thread whose frame is already open on that\n"
        "allocator (the frame goes on), or fa_end_frame without a begin (the\n"
        "frame memory is reset all the same). Fix: one begin and one end per\n"
        "frame on every path; fa-check's FA603 finds the paths that miss\n"
        "one before they run.\n"},
    {3, "A frame allocation would take the thread's frame beyond the\n"
        "configured frame_budget (fa_config_t): the allocation returns NULL.\n"
        "Fix: raise frame_budget, allocate less per frame, or move large\n"
        "buffers to the heap tier.\n"},
    {4, "fa_pool_free or fa_heap_free of a pointer that is not a live block\n"
        "of that allocator and tier: a double free, a pointer from another\n"
        "allocator or tier, or an interior pointer. The pointer is left\n"
        "alone. Always detected in debug builds (FA_DEBUG >= 1), best effort\n"
        "in release builds.\n"},
    {5,
     "The last fa_release of an allocator while pool, heap or task memory\n"
     "(tasks, pool guards) is still live. That memory is freed with the\n"
     "allocator, so any pointer to it now dangles. Fix: free or destroy\n"
     "everything first, or keep a reference (fa_retain) while it is used.\n"},
    {6, "An invalid argument: an alignment that is not a power of two (or\n"
        "too large), a NULL allocator, task or guard, a frame mark from\n"
        "another frame, thread or allocator, or fa_task_leave of a task that\n"
        "is not the thread's innermost scope. The call returns NULL or an\n"
        "error code and changes nothing.\n"},
    {7, "A task used by two threads at once: fa_task_enter of a task that is\n"
        "in a scope on another thread (it returns FA_EBUSY and changes\n"
        "nothing), fa_task_destroy of such a task, and, in debug builds\n"
        "(FA_DEBUG >= 1), any two calls on one task that overlap. A task\n"
        "may move between threads, but one thread uses it at a time.\n"},
    {8, "A trace file (fa_trace_open, or FA_TRACE=path in the environment)\n"
        "cannot be created, or a write to it failed (a full disk). The\n"
        "program runs on without the trace; a file that was being written\n"
        "keeps what was written before. Fix: a path in a directory that\n"
        "exists and is writable, and room on its disk.\n"},
};

int fc_explain_runtime(int code) {
  const map_entry_t *m = NULL;
  for (size_t i = 0; i < NCATALOGUE; i++)
    if (catalogue[i].code == code && catalogue[i].origin == ORIGIN_LIBRARY)
      m = &catalogue[i];
  if (!m)
    return 0;
  const char *text = NULL;
  for (size_t i = 0; i < sizeof(runtime_texts) / sizeof(runtime_texts[0]); i++)
    if (runtime_texts[i].code == code)
      text = runtime_texts[i].explain;
  printf("FA%03d: %s\n", code, m->title);
  printf("raised by: the library at run time (fa-check does not report it), "
         "default level: %s\n\n",
         m->level == FA_LEVEL_ERROR ? "error" : "warning");
  if (text)
    fputs(text, stdout);
  fputs("\nIt reaches the allocator's on_diagnostic callback (by default one\n"
        "line on stderr); with strict set, an error-level one aborts.\n",
        stdout);
  return 1;
}

int fc_parse_code(const char *s) {
  if (!s)
    return -1;
  if ((s[0] == 'F' || s[0] == 'f') && (s[1] == 'A' || s[1] == 'a'))
    s += 2;
  size_t n = strlen(s);
  if (n == 0 || n > 4)
    return -1;
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isdigit((unsigned char)s[i]))
      return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static const struct {
  fc_family_t family;
  const char *name;
} families[] = {
    {FC_FAMILY_ASYNC, "async-safety"},
    {FC_FAMILY_LIFETIME, "lifetime"},
};

const char *fc_family_name(fc_family_t f) {
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
    if (families[i].family == f)
      return families[i].name;
  return "unknown";
}

int fc_parse_family(const char *s) {
  for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
    if (!strcmp(families[i].name, s))
      return (int)families[i].family;
  return -1;
}

unsigned fc_families_available(void) {
  unsigned bits = 0;
  for (size_t i = 0; i < nrules; i++)
    if (rules[i].available)
      bits |= rules[i].family;
  return bits;
}

const char *fc_level_name(fc_level_t l) {
  switch (l) {
  case FC_LEVEL_ALLOW:
    return "allow";
  case FC_LEVEL_WARN:
    return "warning";
  case FC_LEVEL_ERROR:
    return "error";
  }
  return "unknown";
}

int fc_parse_level(const char *s) {
  if (!strcmp(s, "allow"))
    return FC_LEVEL_ALLOW;
  if (!strcmp(s, "warn"))
    return FC_LEVEL_WARN;
  if (!strcmp(s, "error") || !strcmp(s, "deny"))
    return FC_LEVEL_ERROR;
  return -1;
}
