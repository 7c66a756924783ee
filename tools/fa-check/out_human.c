/* The human format, in the style of clang and rustc:
 *
 *   error[FA701]: frame allocation in async function 'on_read'
 *     --> src/net.c:12:15
 *      |
 *   12 |   char *buf = fa_frame_alloc(a, 64, 8);
 *      |               ^
 *   note: 'on_read' is async: it is marked FA_ASYNC
 *     --> src/net.c:10:1
 *      |
 *   10 | FA_ASYNC static void on_read(fa_allocator_t *a) {
 *      | ^
 *      = help: allocate from a pool, the heap or the task instead
 *
 * then, after all findings, "fa-check: 2 errors, 1 warning". Tabs in source
 * lines are expanded so that the caret lines up; a line that cannot be read
 * shows the location alone. Colours only when asked for. */
#include "check.h"

#include <stdlib.h>
#include <string.h>

enum { TAB_STOP = 8 };

typedef struct style_s {
  const char *error, *warning, *note, *gutter, *bold, *reset;
} style_t;

static const style_t plain = {"", "", "", "", "", ""};
static const style_t ansi = {"\033[1;31m", "\033[1;33m", "\033[1;32m",
                             "\033[1;34m", "\033[1m",    "\033[0m"};

static unsigned digits(unsigned v) {
  unsigned n = 1;
  while (v >= 10) {
    v /= 10;
    n++;
  }
  return n;
}

/* The display column (from 0) of byte offset `off` of a line: tabs go to
 * the next tab stop and a UTF-8 sequence takes one column. */
static size_t display_col(const char *s, size_t len, size_t off) {
  size_t col = 0;
  for (size_t i = 0; i < off && i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\t')
      col = (col / TAB_STOP + 1) * TAB_STOP;
    else if ((c & 0xC0) != 0x80)
      col++;
  }
  return col;
}

/* The line with tabs expanded and other control characters (which could
 * drive the terminal) shown as spaces. */
static void put_expanded(FILE *out, const char *s, size_t len) {
  size_t col = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\t') {
      do
        fputc(' ', out);
      while (++col % TAB_STOP);
      continue;
    }
    fputc(c < 0x20 || c == 0x7F ? ' ' : c, out);
    if ((c & 0xC0) != 0x80)
      col++;
  }
}

/* " --> file:line:col", then the source line and a caret under the column
 * when the line can be read. `w` is the width of the line-number gutter. */
static void snippet(FILE *out, const style_t *st, unsigned w,
                    const fc_loc_t *loc, const char *root,
                    const char *caret_style) {
  fprintf(out, "%*s%s-->%s %s:%u:%u\n", (int)w, "", st->gutter, st->reset,
          fc_show_path(loc->file, root), loc->line, loc->col);
  size_t len = 0;
  const char *text =
      loc->file ? fc_source_line(loc->file, loc->line, &len) : NULL;
  if (!text)
    return;
  fprintf(out, "%*s %s|%s\n", (int)w, "", st->gutter, st->reset);
  fprintf(out, "%s%*u |%s", st->gutter, (int)w, loc->line, st->reset);
  if (len) {
    fputc(' ', out);
    put_expanded(out, text, len);
  }
  fputc('\n', out);
  /* Column 0 (unknown) points at the start; past the end, just after it. */
  size_t off = loc->col ? loc->col - 1 : 0;
  fprintf(out, "%*s %s|%s %*s%s^%s\n", (int)w, "", st->gutter, st->reset,
          (int)display_col(text, len, off), "", caret_style, st->reset);
}

static void finding(FILE *out, const style_t *st, const fc_diag_t *d,
                    const char *root) {
  const char *lvl_style = d->level == FC_LEVEL_ERROR ? st->error : st->warning;
  unsigned maxline = d->loc.line;
  for (size_t k = 0; k < d->nnotes; k++)
    if (d->notes[k].loc.line > maxline)
      maxline = d->notes[k].loc.line;
  unsigned w = digits(maxline);

  fprintf(out, "%s%s[FA%03d]%s%s: %s%s\n", lvl_style, fc_level_name(d->level),
          d->code, st->reset, st->bold, d->msg, st->reset);
  snippet(out, st, w, &d->loc, root, lvl_style);
  for (size_t k = 0; k < d->nnotes; k++) {
    fprintf(out, "%snote%s: %s\n", st->note, st->reset, d->notes[k].msg);
    snippet(out, st, w, &d->notes[k].loc, root, st->note);
  }
  const fc_rule_t *r = fc_rule_find(d->code);
  if (r && r->help)
    fprintf(out, "%*s %s=%s %shelp%s: %s\n", (int)w, "", st->gutter, st->reset,
            st->bold, st->reset, r->help);
  if (!d->fix)
    return;
  /* The fix as a suggestion: each line it changes, changed. */
  fprintf(out, "%*s %s=%s %ssuggestion%s: %s\n", (int)w, "", st->gutter,
          st->reset, st->bold, st->reset, d->fix);
  unsigned last = 0;
  for (size_t k = 0; k < d->nedits; k++) {
    unsigned line = d->edits[k].loc.line;
    if (line == last)
      continue;
    last = line;
    char *fixed = fc_fix_preview(d, line);
    if (!fixed)
      continue;
    /* An edit may add lines: each gets the gutter. */
    for (char *p = fixed, *nl;; p = nl + 1) {
      nl = strchr(p, '\n');
      fprintf(out, "%s%*s |%s %.*s\n", st->gutter, (int)w, "+", st->reset,
              (int)(nl ? nl - p : (long)strlen(p)), p);
      if (!nl)
        break;
    }
    free(fixed);
  }
}

void fc_emit_human(const fc_diag_list_t *l, const fc_emit_t *e) {
  const style_t *st = e->color ? &ansi : &plain;
  for (size_t i = 0; i < l->n; i++) {
    finding(e->out, st, &l->v[i], e->root);
    fputc('\n', e->out);
  }
  size_t errors, warnings;
  fc_count_levels(l, &errors, &warnings);
  if (!errors && !warnings)
    return;
  fputs("fa-check: ", e->out);
  if (errors)
    fprintf(e->out, "%zu error%s", errors, errors == 1 ? "" : "s");
  if (errors && warnings)
    fputs(", ", e->out);
  if (warnings)
    fprintf(e->out, "%zu warning%s", warnings, warnings == 1 ? "" : "s");
  fputc('\n', e->out);
}
