/* Fixes: where the repair of a finding is mechanical, the finding carries
 * it as edits of the source, which --fix applies in place, --export-fixes
 * writes for clang-apply-replacements, the human format shows as a
 * suggestion and SARIF carries as fixes[].
 *
 *   FA701 in a function passed to fa_uv_queue_work (whose callbacks run in
 *         the work item's task scope) or after fa_task_enter in the same
 *         function: the frame allocation becomes the current task's,
 *         fa_frame_X(a, ...) -> fa_task_X(fa_task_current(), ...).
 *   FA702 where the frame data is filled before the suspension and a task
 *         is at hand (a fa_task_t * parameter or local of the function, or
 *         a task scope as above): the allocation becomes the task's, so the
 *         copy it holds outlives the suspension.
 *   FA603 with a path that leaves the frame open (a return, break, goto or
 *         the end of the body) and no fa_end_frame written between the
 *         fa_begin_frame(a) and that exit: fa_end_frame(a) on that path,
 *         before the jump (in braces, so a jump that is the body of an if
 *         stays one statement). Where paths that ended the frame join the
 *         open one, one more end would be wrong: no fix is offered.
 *
 * The fixes are found from the finding, its notes and the source text, so
 * they are offered only where that text has the expected shape (the
 * allocation written as a call of fa_frame_alloc, fa_frame_new,
 * fa_frame_array or fa_frame_box on one line); otherwise the finding has
 * no fix. */
#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- source text -------------------------------------------------------- */

/* The byte offset of loc in its file, or -1. */
static long offset_of(fc_loc_t loc, const char **text, size_t *tlen) {
  size_t len;
  const char *line = fc_source_line(loc.file, loc.line, &len);
  const char *all = fc_source_text(loc.file, tlen);
  if (!line || !all || loc.col == 0 || loc.col - 1 > len)
    return -1;
  *text = all;
  return (long)(line - all) + (long)loc.col - 1;
}

/* The end of the balanced parenthesis group opening at s[0] == '(' within
 * [s, end): the index just after its ')', or 0. Skips string and character
 * literals. */
static size_t paren_end(const char *s, const char *end) {
  int depth = 0;
  for (const char *p = s; p < end && *p != '\n'; p++) {
    if (*p == '"' || *p == '\'') {
      char q = *p;
      for (p++; p < end && *p != q && *p != '\n'; p++)
        if (*p == '\\')
          p++;
      continue;
    }
    if (*p == '(')
      depth++;
    else if (*p == ')' && --depth == 0)
      return (size_t)(p - s) + 1;
  }
  return 0;
}

/* The first argument of the call whose '(' is s[0]: its length (up to the
 * first comma at depth 1 or the closing parenthesis). */
static size_t first_arg_len(const char *s, size_t n) {
  int depth = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '(' || c == '[' || c == '{')
      depth++;
    else if (c == ')' || c == ']' || c == '}')
      depth--;
    if ((c == ',' && depth == 1) || (c == ')' && depth == 0))
      return i - 1;
  }
  return 0;
}

static void add_edit(fc_diag_t *d, fc_loc_t loc, size_t offset, size_t len,
                     const char *text) {
  d->edits = fc_xrealloc(d->edits, (d->nedits + 1) * sizeof(*d->edits));
  fc_edit_t *e = &d->edits[d->nedits++];
  e->loc = loc;
  e->offset = offset;
  e->len = len;
  e->text = fc_xstrdup(text);
}

static void drop_fix(fc_diag_t *d) {
  for (size_t i = 0; i < d->nedits; i++)
    free(d->edits[i].text);
  free(d->edits);
  free(d->fix);
  d->edits = NULL;
  d->nedits = 0;
  d->fix = NULL;
}

static const char *const frame_calls[] = {"fa_frame_alloc", "fa_frame_new",
                                          "fa_frame_array", "fa_frame_box"};

/* Rewrites the frame allocation at `loc` into the task `task`'s: one edit
 * for the name and one for the first argument. 0 when `loc` is not such a
 * call. */
static int task_allocation(fc_diag_t *d, fc_loc_t loc, const char *task) {
  const char *text;
  size_t tlen;
  long off = offset_of(loc, &text, &tlen);
  if (off < 0)
    return 0;
  const char *s = text + off, *end = text + tlen;
  for (size_t k = 0; k < sizeof(frame_calls) / sizeof(*frame_calls); k++) {
    size_t n = strlen(frame_calls[k]);
    if ((size_t)(end - s) <= n || strncmp(s, frame_calls[k], n) != 0 ||
        s[n] != '(')
      continue;
    size_t close = paren_end(s + n, end);
    size_t arg = close ? first_arg_len(s + n, close) : 0;
    if (!arg)
      return 0;
    char name[32];
    snprintf(name, sizeof(name), "fa_task_%s", frame_calls[k] + 9);
    add_edit(d, loc, (size_t)off, n, name);
    fc_loc_t aloc = {loc.file, loc.line, loc.col + (unsigned)n + 1};
    add_edit(d, aloc, (size_t)off + n + 1, arg, task);
    return 1;
  }
  return 0;
}

/* ---- where a task is ----------------------------------------------------- */

static int note_says(const fc_diag_t *d, const char *what) {
  for (size_t i = 0; i < d->nnotes; i++)
    if (strstr(d->notes[i].msg, what))
      return 1;
  return 0;
}

/* The first line of the function around `loc`: upwards to the line after
 * one that closes a body at column 1, or to the top. */
static unsigned function_start(fc_loc_t loc) {
  unsigned line = loc.line;
  while (line > 1) {
    size_t len;
    const char *t = fc_source_line(loc.file, line - 1, &len);
    if (!t || (len && t[0] == '}'))
      break;
    line--;
  }
  return line;
}

/* Whether `fa_task_enter(` appears in the function before loc. */
static int in_task_scope(fc_loc_t loc) {
  for (unsigned l = function_start(loc); l <= loc.line; l++) {
    size_t len;
    const char *t = fc_source_line(loc.file, l, &len);
    if (!t)
      return 0;
    char *line = fc_xrealloc(NULL, len + 1);
    memcpy(line, t, len);
    line[len] = 0;
    if (l == loc.line && loc.col - 1 <= len)
      line[loc.col - 1] = 0;
    int found = strstr(line, "fa_task_enter(") != NULL;
    free(line);
    if (found)
      return 1;
  }
  return 0;
}

/* The name of a `fa_task_t *NAME` parameter or local declared in the
 * function before loc, in buf; 0 if none. */
static int task_variable(fc_loc_t loc, char *buf, size_t size) {
  int found = 0;
  for (unsigned l = function_start(loc); l <= loc.line; l++) {
    size_t len;
    const char *t = fc_source_line(loc.file, l, &len);
    if (!t)
      break;
    for (const char *p = t; (p = strstr(p, "fa_task_t")) && p < t + len;) {
      p += 9;
      while (p < t + len && (*p == ' ' || *p == '*' || *p == '\t'))
        p++;
      const char *name = p;
      while (p < t + len && (isalnum((unsigned char)*p) || *p == '_'))
        p++;
      size_t n = (size_t)(p - name);
      if (n && n < size) {
        memcpy(buf, name, n);
        buf[n] = 0;
        found = 1;
      }
    }
  }
  return found;
}

/* ---- the fixes of each rule -----------------------------------------------
 */

static void fix_701(fc_diag_t *d) {
  if (strstr(d->msg, "(through"))
    return; /* a helper's frame memory: the helper is what must change */
  if (!note_says(d, "passed to fa_uv_queue_work") && !in_task_scope(d->loc))
    return;
  if (task_allocation(d, d->loc, "fa_task_current()"))
    d->fix = fc_xstrdup("allocate from the current task instead");
}

static void fix_702(fc_diag_t *d) {
  const fc_note_t *alloc = NULL;
  for (size_t i = 0; i < d->nnotes; i++)
    if (strstr(d->notes[i].msg, "allocated in frame memory here")) {
      if (alloc)
        return; /* several allocations: no single edit */
      alloc = &d->notes[i];
    }
  if (!alloc || alloc->loc.file != d->loc.file)
    return;
  char task[128];
  const char *t = NULL;
  if (task_variable(alloc->loc, task, sizeof(task)))
    t = task;
  else if (in_task_scope(alloc->loc))
    t = "fa_task_current()";
  if (t && task_allocation(d, alloc->loc, t)) {
    char what[200];
    snprintf(what, sizeof(what),
             "allocate it from the task (%s), which "
             "outlives the suspension",
             t);
    d->fix = fc_xstrdup(what);
  }
}

/* Whether `what` is written on lines [from, to] of `file`. */
static int written_between(const char *file, unsigned from, unsigned to,
                           const char *what) {
  for (unsigned l = from; l <= to; l++) {
    size_t len;
    const char *t = fc_source_line(file, l, &len);
    if (!t)
      return 0;
    char *line = fc_xrealloc(NULL, len + 1);
    memcpy(line, t, len);
    line[len] = 0;
    int found = strstr(line, what) != NULL;
    free(line);
    if (found)
      return 1;
  }
  return 0;
}

static void fix_603(fc_diag_t *d) {
  if (!strstr(d->msg, "is not ended on every path") || !d->nnotes)
    return;
  const fc_note_t *exit = &d->notes[0];
  if (exit->loc.file != d->loc.file || exit->loc.line < d->loc.line)
    return;
  /* Only a path that no fa_end_frame of that allocator precedes (see
   * below): where paths that ended the frame join this one (a conditional
   * end, a begin in a loop), one more end is not the fix. */
  /* The allocator, from the begin call at the finding. */
  const char *text;
  size_t tlen;
  long off = offset_of(d->loc, &text, &tlen);
  static const char begin[] = "fa_begin_frame(";
  if (off < 0 || strncmp(text + off, begin, sizeof(begin) - 1) != 0)
    return;
  size_t close = paren_end(text + off + sizeof(begin) - 2, text + tlen);
  if (close < 3 || close > 200)
    return;
  char call[300];
  snprintf(call, sizeof(call), "fa_end_frame%.*s;", (int)close,
           text + off + sizeof(begin) - 2);
  call[strlen(call) - 1] = 0; /* without the ';' to search for it */
  int ended = written_between(d->loc.file, d->loc.line, exit->loc.line, call);
  strcat(call, ";");
  if (ended)
    return;
  long at = offset_of(exit->loc, &text, &tlen);
  if (at < 0)
    return;
  const char *s = text + at;
  char ins[340];
  if (*s == '}') { /* the end of the body */
    size_t len;
    const char *line = fc_source_line(exit->loc.file, exit->loc.line, &len);
    size_t ind = 0;
    while (ind < len && line[ind] == ' ')
      ind++;
    if (ind == exit->loc.col - 1 && ind < 64) {
      /* A line of its own before the brace, indented one level deeper. */
      snprintf(ins, sizeof(ins), "%*s  %s\n", (int)ind, "", call);
      fc_loc_t start = {exit->loc.file, exit->loc.line, 1};
      add_edit(d, start, (size_t)at - ind, 0, ins);
    } else {
      snprintf(ins, sizeof(ins), "%s ", call);
      add_edit(d, exit->loc, (size_t)at, 0, ins);
    }
  } else {
    /* A jump statement: its end is the first ';' on the line. */
    const char *semi = s;
    while (semi < text + tlen && *semi != ';' && *semi != '\n')
      semi++;
    if (*semi != ';')
      return;
    snprintf(ins, sizeof(ins), "{ %s ", call);
    add_edit(d, exit->loc, (size_t)at, 0, ins);
    size_t len;
    const char *line = fc_source_line(exit->loc.file, exit->loc.line, &len);
    fc_loc_t eloc = {exit->loc.file, exit->loc.line,
                     (unsigned)(semi - line) + 2};
    add_edit(d, eloc, (size_t)(semi - text) + 1, 0, " }");
  }
  snprintf(ins, sizeof(ins), "end the frame on this path: %s", call);
  d->fix = fc_xstrdup(ins);
}

void fc_fixes_suggest(fc_diag_list_t *l) {
  for (size_t i = 0; i < l->n; i++) {
    fc_diag_t *d = &l->v[i];
    if (!d->loc.file || d->fix)
      continue;
    if (d->code == 701)
      fix_701(d);
    else if (d->code == 702)
      fix_702(d);
    else if (d->code == 603)
      fix_603(d);
    if (!d->fix || !d->nedits)
      drop_fix(d);
  }
}

/* ---- applying ------------------------------------------------------------ */

typedef struct pick_s {
  const fc_edit_t *e;
  size_t diag;
} pick_t;

static int cmp_pick(const void *pa, const void *pb) {
  const pick_t *a = pa, *b = pb;
  if (a->e->offset != b->e->offset)
    return a->e->offset < b->e->offset ? -1 : 1;
  return a->diag < b->diag ? -1 : a->diag > b->diag;
}

static int same_edit(const fc_edit_t *a, const fc_edit_t *b) {
  return a->offset == b->offset && a->len == b->len &&
         !strcmp(a->text, b->text);
}

/* Writes `text` to `file` through a temporary file and a rename, keeping
 * the file's mode. */
static int write_atomic(const char *file, const char *text, size_t len) {
  size_t n = strlen(file) + 32;
  char *tmp = fc_xrealloc(NULL, n);
  snprintf(tmp, n, "%s.fa-fix.%ld", file, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  int ok = f && fwrite(text, 1, len, f) == len;
  if (f && fclose(f) != 0)
    ok = 0;
  struct stat st;
  if (ok && stat(file, &st) == 0)
    chmod(tmp, st.st_mode & 07777);
  if (ok)
    ok = rename(tmp, file) == 0;
  if (!ok) {
    fprintf(stderr, "fa-check: error: cannot write %s: %s\n", file,
            strerror(errno));
    unlink(tmp);
  }
  free(tmp);
  return ok ? 0 : -1;
}

int fc_fixes_apply(fc_diag_list_t *l, size_t *applied, size_t *files) {
  *applied = *files = 0;
  int rc = 0;
  char *taken = fc_xcalloc(l->n ? l->n : 1, 1); /* 1 applied, 2 dropped */
  for (size_t i = 0; i < l->n; i++) {
    const char *file = l->v[i].loc.file;
    if (!l->v[i].fix || taken[i] || !file)
      continue;
    /* Every fix of this file, in offset order; a fix whose edits overlap
     * an earlier one's (other than the very same edit) is dropped whole. */
    size_t np = 0;
    pick_t *picks = NULL;
    for (size_t k = i; k < l->n; k++) {
      if (!l->v[k].fix || l->v[k].loc.file != file || taken[k])
        continue;
      int clash = 0;
      for (size_t e = 0; e < l->v[k].nedits && !clash; e++)
        for (size_t p = 0; p < np && !clash; p++) {
          const fc_edit_t *a = &l->v[k].edits[e], *b = picks[p].e;
          if (same_edit(a, b))
            continue;
          clash = a->offset < b->offset + b->len + (b->len == 0) &&
                  b->offset < a->offset + a->len + (a->len == 0);
        }
      taken[k] = clash ? 2 : 1;
      if (clash)
        continue;
      picks = fc_xrealloc(picks, (np + l->v[k].nedits) * sizeof(*picks));
      for (size_t e = 0; e < l->v[k].nedits; e++)
        picks[np++] = (pick_t){&l->v[k].edits[e], k};
    }
    qsort(picks, np, sizeof(*picks), cmp_pick);
    size_t tlen;
    const char *text = fc_source_text(file, &tlen);
    if (!text) {
      free(picks);
      continue;
    }
    size_t cap = tlen + 1, n = 0, pos = 0;
    for (size_t p = 0; p < np; p++)
      cap += strlen(picks[p].e->text);
    char *out = fc_xrealloc(NULL, cap);
    for (size_t p = 0; p < np; p++) {
      const fc_edit_t *e = picks[p].e;
      if (p && same_edit(e, picks[p - 1].e))
        continue;
      memcpy(out + n, text + pos, e->offset - pos);
      n += e->offset - pos;
      memcpy(out + n, e->text, strlen(e->text));
      n += strlen(e->text);
      pos = e->offset + e->len;
    }
    memcpy(out + n, text + pos, tlen - pos);
    n += tlen - pos;
    if (write_atomic(file, out, n) == 0) {
      (*files)++;
    } else {
      rc = -1;
      for (size_t k = i; k < l->n; k++)
        if (l->v[k].loc.file == file && taken[k] == 1)
          taken[k] = 2;
    }
    free(out);
    free(picks);
    fc_source_forget(file);
  }
  for (size_t i = 0; i < l->n; i++) {
    if (taken[i] == 1)
      (*applied)++;
    else
      drop_fix(&l->v[i]);
  }
  free(taken);
  return rc;
}

/* ---- clang-apply-replacements YAML ----------------------------------------
 */

/* A YAML single-quoted scalar: quotes doubled; a newline is written as an
 * empty line (the folding rule turns it back into one newline). */
static void yaml_quoted(FILE *f, const char *s) {
  fputc('\'', f);
  for (; *s; s++) {
    if (*s == '\'')
      fputs("''", f);
    else if (*s == '\n')
      fputs("\n\n", f);
    else
      fputc(*s, f);
  }
  fputc('\'', f);
}

int fc_fixes_export(const fc_diag_list_t *l, const char *file) {
  FILE *f = fopen(file, "w");
  if (!f) {
    fprintf(stderr, "fa-check: error: cannot write %s: %s\n", file,
            strerror(errno));
    return -1;
  }
  const char *main_file = NULL;
  for (size_t i = 0; i < l->n && !main_file; i++)
    main_file = l->v[i].loc.file;
  fputs("---\nMainSourceFile:  ", f);
  yaml_quoted(f, main_file ? main_file : "");
  fputs("\nDiagnostics:", f);
  size_t count = 0;
  for (size_t i = 0; i < l->n; i++) {
    const fc_diag_t *d = &l->v[i];
    if (!d->fix)
      continue;
    const char *text;
    size_t tlen;
    long off = offset_of(d->loc, &text, &tlen);
    fprintf(f,
            "\n  - DiagnosticName:  FA%03d\n    DiagnosticMessage:\n"
            "      Message:         ",
            d->code);
    yaml_quoted(f, d->msg);
    fputs("\n      FilePath:        ", f);
    yaml_quoted(f, d->loc.file);
    fprintf(f, "\n      FileOffset:      %ld\n      Replacements:",
            off < 0 ? 0 : off);
    for (size_t e = 0; e < d->nedits; e++) {
      fputs("\n        - FilePath:        ", f);
      yaml_quoted(f, d->edits[e].loc.file);
      fprintf(f,
              "\n          Offset:          %zu\n"
              "          Length:          %zu\n"
              "          ReplacementText: ",
              d->edits[e].offset, d->edits[e].len);
      yaml_quoted(f, d->edits[e].text);
    }
    fprintf(f, "\n    Level:           %s",
            d->level == FC_LEVEL_ERROR ? "Error" : "Warning");
    count++;
  }
  fputs(count ? "\n...\n" : " []\n...\n", f);
  if (fclose(f) != 0) {
    fprintf(stderr, "fa-check: error: cannot write %s: %s\n", file,
            strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- the preview of the human format --------------------------------------
 */

char *fc_fix_preview(const fc_diag_t *d, unsigned line) {
  size_t len;
  const char *t = fc_source_line(d->loc.file, line, &len);
  const char *all;
  size_t tlen;
  if (!t || !(all = fc_source_text(d->loc.file, &tlen)))
    return NULL;
  size_t start = (size_t)(t - all), end = start + len;
  size_t cap = len + 1, n = 0, pos = start;
  int any = 0;
  for (size_t e = 0; e < d->nedits; e++)
    cap += strlen(d->edits[e].text);
  char *out = fc_xrealloc(NULL, cap);
  for (size_t e = 0; e < d->nedits; e++) {
    const fc_edit_t *x = &d->edits[e];
    if (x->offset < start || x->offset + x->len > end || x->offset < pos)
      continue;
    memcpy(out + n, all + pos, x->offset - pos);
    n += x->offset - pos;
    memcpy(out + n, x->text, strlen(x->text));
    n += strlen(x->text);
    pos = x->offset + x->len;
    any = 1;
  }
  memcpy(out + n, all + pos, end - pos);
  n += end - pos;
  out[n] = 0;
  if (!any) {
    free(out);
    return NULL;
  }
  return out;
}
