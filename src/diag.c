/* Errors and diagnostics: the error-code table, the diagnostic catalogue
 * shared with fa-check, and fa__diag, the one choke point every run-time
 * diagnostic goes through. */
#include <stdio.h>

#include "internal.h"

const char *fa_strerror(int code) {
  switch (code) {
#define FA__ERR_CASE(name, val, msg)                                           \
  case val:                                                                    \
    return msg;
    FA_ERRNO_MAP(FA__ERR_CASE)
#undef FA__ERR_CASE
  case 0:
    return "success";
  default:
    return "unknown error";
  }
}

typedef struct diag_info_s {
  int code;
  int level;
  const char *name;
  const char *title;
} diag_info_t;

static const diag_info_t catalogue[] = {
#define FA__DIAG_ROW(num, lvl, by, title)                                      \
  {num, FA_LEVEL_##lvl, "FA" #num, title},
    FA_DIAG_MAP(FA__DIAG_ROW)
#undef FA__DIAG_ROW
};

static const diag_info_t *find(int code) {
  for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
    if (catalogue[i].code == code)
      return &catalogue[i];
  return NULL;
}

/* "FA" #num gives "FA1" for 1; the catalogue's names have three digits. */
const char *fa_diag_name(int code) {
  static const char *const names[] = {"FA001", "FA002", "FA003",
                                      "FA004", "FA005", "FA006",
                                      "FA007", "FA008", "FA009"};
  const diag_info_t *d = find(code);
  if (!d)
    return NULL;
  return code >= 1 && code <= 9 ? names[code - 1] : d->name;
}

const char *fa_diag_title(int code) {
  const diag_info_t *d = find(code);
  return d ? d->title : NULL;
}

int fa_diag_level(int code) {
  const diag_info_t *d = find(code);
  return d ? d->level : 0;
}

static void diag_v(fa_allocator_t *a, int code, int level, const char *fmt,
                   va_list ap) {
  char msg[256];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  fa_diag_t d = {code, level, msg};
  if (a && a->on_diag) {
    a->on_diag(&d, a->diag_user);
  } else {
    char line[320];
    snprintf(line, sizeof(line), "framealloc: %s[%s]: %s",
             d.level == FA_LEVEL_ERROR ? "error" : "warning",
             fa_diag_name(code), msg);
    fa__os_print_line(line);
  }
  if (a && __atomic_load_n(&a->tl, __ATOMIC_ACQUIRE))
    fa__tl_diag(a, &d); /* history and trace */
  if (a && a->strict && d.level == FA_LEVEL_ERROR)
    fa__os_abort();
}

void fa__diag(fa_allocator_t *a, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_v(a, code, fa_diag_level(code), fmt, ap);
  va_end(ap);
}

void fa__diag_at(fa_allocator_t *a, int code, int level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_v(a, code, level, fmt, ap);
  va_end(ap);
}

void fa__assert_fail(const char *cond, const char *file, int line) {
  char msg[320];
  snprintf(msg, sizeof(msg), "framealloc: assertion failed: %s (%s:%d)", cond,
           file, line);
  fa__os_print_line(msg);
  fa__os_abort();
}
