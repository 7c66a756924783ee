/* The pipeline of a check: inputs, parsing and lowering on N threads, the
 * analysis, levels and suppressions, output, and the exit status.
 *
 * Worker threads take translation units in order from a shared counter and
 * store each result at the unit's index, so the output does not depend on
 * the number of threads or on timing. A unit that does not parse is a
 * failure (reported, not analysed); the others are still checked. */
#include "check.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parser threads get a large stack: clang and the AST walk recurse deeply
 * on big expressions, more so under AddressSanitizer. */
#define WORKER_STACK (32u << 20)
/* Options clang reports as unknown or invalid are dropped and the parse
 * retried, at most this many times per unit. */
#define MAX_RETRIES 32

typedef struct result_s {
  fc_unit_t *unit;        /* NULL if the unit could not be analysed */
  int selected;           /* its findings are reported */
  fc_failure_list_t fail; /* its failures, in order */
} result_t;

typedef struct work_s {
  const fc_inputs_t *in;
  const fc_config_t *cfg;
  fc_cache_t *cache;           /* NULL: no cache */
  const fc_changed_t *changed; /* --changed-since; NULL: every unit */
  result_t *res;
  const char *root;
  pthread_mutex_t lock; /* guards next, started and the progress line */
  size_t next, started;
  int progress;
} work_t;

/* The index in `args` of the option a driver error is about ("unknown
 * argument: '-fconserve-stack'", "unsupported argument 'bounds-strict' to
 * option 'fsanitize='", "invalid value 'x' in '-std=x'", "unknown target CPU
 * 'znver9'"), or -1 when the error is not about an option. */
static int bad_option(const char *msg, const char *const *args, int nargs) {
  static const char *const starts[] = {
      "unknown argument",      "unsupported option", "unsupported argument",
      "invalid value",         "unknown target CPU", "unknown target ABI",
      "unknown warning option"};
  int match = 0;
  for (size_t i = 0; i < sizeof(starts) / sizeof(*starts); i++)
    if (!strncmp(msg, starts[i], strlen(starts[i])))
      match = 1;
  if (!match)
    return -1;
  /* The quoted words of the message, at most two. */
  const char *q[2];
  size_t qn[2], nq = 0;
  for (const char *p = msg; nq < 2 && (p = strchr(p, '\'')) != NULL;) {
    const char *e = strchr(p + 1, '\'');
    if (!e)
      break;
    q[nq] = p + 1;
    qn[nq++] = (size_t)(e - p - 1);
    p = e + 1;
  }
  for (size_t k = 0; k < nq; k++) /* the option itself */
    for (int i = 0; i < nargs; i++)
      if (strlen(args[i]) == qn[k] && !strncmp(args[i], q[k], qn[k]))
        return i;
  for (size_t k = 0; k < nq; k++) /* -opt=VALUE, or -fsanitize=... */
    for (int i = 0; i < nargs; i++) {
      const char *eq = strchr(args[i], '=');
      if (args[i][0] != '-' || !eq || qn[k] == 0)
        continue;
      if ((strlen(eq + 1) == qn[k] && !strncmp(eq + 1, q[k], qn[k])) ||
          (k == 1 && !strncmp(args[i] + 1, q[k], qn[k])))
        return i;
    }
  return -1;
}

/* The first error of a parsed unit as "file:line:col: message" (relative
 * to root), or NULL when it has none; *drop is the index of an argument
 * clang did not know, or -1. */
static char *first_error(CXTranslationUnit tu, const char *root,
                         const char *const *args, int nargs, int *drop) {
  *drop = -1;
  unsigned n = clang_getNumDiagnostics(tu);
  for (unsigned i = 0; i < n; i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    if (clang_getDiagnosticSeverity(d) < CXDiagnostic_Error) {
      clang_disposeDiagnostic(d);
      continue;
    }
    CXString s = clang_getDiagnosticSpelling(d);
    const char *msg = clang_getCString(s);
    msg = msg ? msg : "error";
    fc_loc_t loc = fc_loc_of(clang_getDiagnosticLocation(d));
    char *text;
    *drop = bad_option(msg, args, nargs);
    size_t size =
        strlen(msg) + 64 + (loc.file ? strlen(fc_relpath(loc.file, root)) : 0);
    text = fc_xrealloc(NULL, size);
    if (text && loc.file)
      snprintf(text, size, "%s:%u:%u: %s", fc_relpath(loc.file, root), loc.line,
               loc.col, msg);
    else if (text)
      snprintf(text, size, "%s", msg);
    clang_disposeString(s);
    clang_disposeDiagnostic(d);
    return text;
  }
  return NULL;
}

static const char *error_name(enum CXErrorCode ec) {
  switch (ec) {
  case CXError_Crashed:
    return "clang crashed while parsing it";
  case CXError_InvalidArguments:
    return "clang rejected the arguments";
  case CXError_ASTReadError:
    return "clang could not read it";
  default:
    return "clang could not parse it";
  }
}

/* Keeps, in place, only the arguments that say how to preprocess and which
 * target to parse for; returns the new count. This is the last resort when
 * clang refuses the whole command line without saying which option it
 * rejects (an unknown -march, a -std value it does not know). */
static int essential_args(const char **args, int nargs) {
  static const char *const with_value[] = {
      "-I",      "-D",         "-U",        "-include",  "-imacros", "-isystem",
      "-iquote", "-idirafter", "-isysroot", "--sysroot", "-target",  "-x"};
  static const char *const prefixes[] = {"-I",
                                         "-D",
                                         "-U",
                                         "-include",
                                         "-imacros",
                                         "-isystem",
                                         "-iquote",
                                         "-idirafter",
                                         "-isysroot",
                                         "--sysroot",
                                         "--target=",
                                         "-nostdinc",
                                         "-working-directory",
                                         "-m32",
                                         "-m64"};
  int w = 0;
  for (int i = 0; i < nargs; i++) {
    int keep = 0, value = 0;
    for (size_t k = 0; k < sizeof(with_value) / sizeof(*with_value); k++)
      if (!strcmp(args[i], with_value[k]))
        keep = value = 1;
    for (size_t k = 0; !keep && k < sizeof(prefixes) / sizeof(*prefixes); k++)
      if (!strncmp(args[i], prefixes[k], strlen(prefixes[k])))
        keep = 1;
    if (!keep)
      continue;
    args[w++] = args[i];
    if (value && i + 1 < nargs)
      args[w++] = args[++i];
  }
  return w;
}

/* Parses one unit, lowers it and disposes of it. */
static void check_unit(CXIndex idx, const fc_input_t *t, const work_t *w,
                       result_t *r) {
  r->selected = 1;
  if (w->changed) {
    /* A unit that reads no changed file is not reported; its facts still
     * count for the summaries when the cache has them. */
    int reads = 0;
    if (w->cache &&
        (r->unit = fc_cache_get(w->cache, t, w->changed, &reads)) != NULL) {
      r->selected = reads;
      return;
    }
    if (!fc_changed_unit(idx, t, w->changed)) {
      r->selected = 0;
      return;
    }
  }
  if (w->cache && (r->unit = fc_cache_get(w->cache, t, NULL, NULL)) != NULL)
    return;
  int nargs = (int)t->nargs;
  const char **args = fc_xrealloc(NULL, (t->nargs + 1) * sizeof(*args));
  for (int i = 0; i < nargs; i++)
    args[i] = t->args[i];
  int essential = 0;
  for (int attempt = 0;; attempt++) {
    CXTranslationUnit tu = NULL;
    enum CXErrorCode ec = clang_parseTranslationUnit2(
        idx, t->file, args, nargs, NULL, 0, CXTranslationUnit_None, &tu);
    if ((ec != CXError_Success || !tu) && !essential && ec != CXError_Crashed) {
      /* Refused without a diagnostic: once more with the essentials. */
      essential = 1;
      int n = essential_args(args, nargs);
      if (n != nargs) {
        nargs = n;
        continue;
      }
    }
    if (ec != CXError_Success || !tu) {
      fc_failure_add(&r->fail, t->file, "%s", error_name(ec));
      break;
    }
    int drop;
    char *err = first_error(tu, w->root, args, nargs, &drop);
    if (err && drop >= 0 && attempt < MAX_RETRIES) {
      /* A compiler option clang does not know: parse again without it. */
      memmove(args + drop, args + drop + 1,
              (size_t)(nargs - drop - 1) * sizeof(*args));
      nargs--;
      free(err);
      clang_disposeTranslationUnit(tu);
      continue;
    }
    if (err) {
      fc_failure_add(&r->fail, t->file, "does not parse: %s", err);
      free(err);
    } else {
      size_t nfail = r->fail.n;
      r->unit = fc_unit_lower(tu, w->cfg, &r->fail);
      if (w->cache && r->unit && r->fail.n == nfail)
        fc_cache_put(w->cache, t, tu, r->unit);
    }
    clang_disposeTranslationUnit(tu);
    break;
  }
  free(args);
}

static void *worker(void *arg) {
  work_t *w = arg;
  CXIndex idx = clang_createIndex(0, 0);
  for (;;) {
    pthread_mutex_lock(&w->lock);
    size_t i = w->next++;
    if (i < w->in->n && w->progress) {
      w->started++;
      fprintf(stderr, "\r\033[K[%zu/%zu] %s", w->started, w->in->n,
              fc_relpath(w->in->v[i].file, w->root));
      fflush(stderr);
    }
    pthread_mutex_unlock(&w->lock);
    if (i >= w->in->n)
      break;
    check_unit(idx, &w->in->v[i], w, &w->res[i]);
  }
  clang_disposeIndex(idx);
  return NULL;
}

static size_t thread_count(int jobs, size_t units) {
  long n = jobs;
  if (n <= 0)
    n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  if ((size_t)n > units)
    n = (long)units;
  return n < 1 ? 1 : (size_t)n;
}

/* Runs the workers; falls back to fewer threads if some cannot start. */
static void parse_all(work_t *w, int jobs) {
  size_t n = thread_count(jobs, w->in->n);
  pthread_t *th = fc_xrealloc(NULL, n * sizeof(*th));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WORKER_STACK);
  size_t started = 0;
  for (size_t i = 0; i < n; i++) {
    if (pthread_create(&th[i], &attr, worker, w) != 0)
      break;
    started++;
  }
  pthread_attr_destroy(&attr);
  if (started == 0)
    worker(w); /* no thread at all: do the work here */
  for (size_t i = 0; i < started; i++)
    pthread_join(th[i], NULL);
  free(th);
  if (w->progress) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
  }
}

fc_level_t fc_level_of(int code, const fc_config_t *cfg,
                       const fc_options_t *o) {
  const fc_rule_t *r = fc_rule_find(code);
  if (!r)
    return FC_LEVEL_ERROR;
  fc_level_t level = r->default_level;
  int bit = 0;
  while (bit < 31 && !((unsigned)r->family & (1u << bit)))
    bit++;
  if (cfg && bit < 2 && cfg->family_level[bit] >= 0)
    level = (fc_level_t)cfg->family_level[bit];
  if (cfg && code >= 0 && code < 1000 && cfg->code_level[code] >= 0)
    level = (fc_level_t)cfg->code_level[code];
  for (size_t i = 0; o && i < o->noverrides; i++)
    if (o->overrides[i].code == code || o->overrides[i].code == -(int)r->family)
      level = o->overrides[i].level;
  return level;
}

/* Sets levels and removes what is allowed, suppressed or not selected. */
static void apply_levels(fc_diag_list_t *l, const fc_config_t *cfg,
                         const fc_options_t *o, unsigned families) {
  size_t w = 0;
  for (size_t i = 0; i < l->n; i++) {
    fc_diag_t *d = &l->v[i];
    const fc_rule_t *r = fc_rule_find(d->code);
    d->level = fc_level_of(d->code, cfg, o);
    if ((r && !(r->family & families)) || d->level == FC_LEVEL_ALLOW ||
        fc_suppressed(d)) {
      fc_diag_free(d);
      continue;
    }
    l->v[w++] = *d;
  }
  l->n = w;
}

/* --changed-since: keeps the findings in the sources of the units that
 * read a changed file, or in a changed file. */
static void keep_changed(fc_diag_list_t *l, const fc_inputs_t *in,
                         const result_t *res, const fc_changed_t *changed) {
  size_t w = 0;
  for (size_t i = 0; i < l->n; i++) {
    fc_diag_t *d = &l->v[i];
    int keep = d->loc.file && fc_changed_has(changed, d->loc.file);
    for (size_t k = 0; !keep && k < in->n; k++)
      keep =
          res[k].selected && d->loc.file && !strcmp(in->v[k].file, d->loc.file);
    if (!keep) {
      fc_diag_free(d);
      continue;
    }
    l->v[w++] = *d;
  }
  l->n = w;
}

static void move_failures(fc_failure_list_t *dst, fc_failure_list_t *src) {
  for (size_t i = 0; i < src->n; i++) {
    fc_failure_add(dst, src->v[i].file, "%s", src->v[i].msg);
  }
  fc_failure_list_free(src);
}

static int use_color(const fc_options_t *o) {
  if (o->format != FC_FORMAT_HUMAN)
    return 0;
  if (o->color >= 0)
    return o->color;
  const char *no = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  if ((no && *no) || (term && !strcmp(term, "dumb")))
    return 0;
  return isatty(STDOUT_FILENO);
}

static void emit(const fc_diag_list_t *l, const fc_options_t *o,
                 const fc_emit_t *e) {
  switch (o->format) {
  case FC_FORMAT_HUMAN:
    fc_emit_human(l, e);
    break;
  case FC_FORMAT_COMPACT:
    fc_emit_compact(l, e);
    break;
  case FC_FORMAT_JSON:
    fc_emit_json(l, e);
    break;
  case FC_FORMAT_SARIF:
    fc_emit_sarif(l, e);
    break;
  case FC_FORMAT_CODEQUALITY:
    fc_emit_codequality(l, e);
    break;
  }
  fflush(e->out);
}

/* `p` made absolute against `dir` (malloc'd); NULL for NULL. */
static char *abs_path(const char *dir, const char *p) {
  if (!p)
    return NULL;
  if (p[0] == '/')
    return fc_xstrdup(p);
  size_t n = strlen(dir) + strlen(p) + 2;
  char *r = fc_xrealloc(NULL, n);
  snprintf(r, n, "%s/%s", dir, p);
  return r;
}

static int run_in(const fc_options_t *o, const fc_config_t *cfg,
                  const char *root, unsigned families, const char *baseline,
                  const char *write_baseline, const char *cache_dir,
                  const char *export_fixes);

int fc_run(const fc_options_t *o, const fc_config_t *cfg) {
  char root[PATH_MAX];
  if (!getcwd(root, sizeof(root)))
    strcpy(root, "/");
  unsigned families = o->families ? o->families : fc_families_available();
  /* Parsing a command with -working-directory may change the process's
   * directory (libclang does), so the files named on the command line are
   * made absolute first, and the directory is restored after parsing. */
  char *baseline = abs_path(root, o->baseline);
  char *write_baseline = abs_path(root, o->write_baseline);
  const char *cache_dir =
      o->cache_dir ? o->cache_dir : getenv("FA_CHECK_CACHE");
  char *cache_abs = abs_path(root, cache_dir && *cache_dir ? cache_dir : NULL);
  char *export_fixes = abs_path(root, o->export_fixes);
  int rc = run_in(o, cfg, root, families, baseline, write_baseline, cache_abs,
                  export_fixes);
  free(export_fixes);
  free(baseline);
  free(write_baseline);
  free(cache_abs);
  return rc;
}

static int run_in(const fc_options_t *o, const fc_config_t *cfg,
                  const char *root, unsigned families, const char *baseline,
                  const char *write_baseline, const char *cache_dir,
                  const char *export_fixes) {

  fc_baseline_t base = {0};
  if (baseline && fc_baseline_load(baseline, &base) != 0)
    return FC_EXIT_FAILURE;

  fc_cache_t *cache = NULL;
  if (cache_dir && !(cache = fc_cache_open(cache_dir, cfg))) {
    fc_baseline_free(&base);
    return FC_EXIT_FAILURE;
  }

  fc_changed_t changed = {0};
  if (o->changed_since && fc_changed_load(o->changed_since, &changed) != 0) {
    fc_cache_close(cache);
    fc_baseline_free(&base);
    return FC_EXIT_FAILURE;
  }

  fc_failure_list_t fail = {0};
  fc_inputs_t in;
  if (fc_inputs_collect(o, &in, &fail) != 0) {
    fc_changed_free(&changed);
    fc_cache_close(cache);
    fc_baseline_free(&base);
    fc_failure_list_free(&fail);
    fc_inputs_free(&in);
    return FC_EXIT_FAILURE;
  }

  work_t w;
  memset(&w, 0, sizeof(w));
  w.in = &in;
  w.cfg = cfg;
  w.cache = cache;
  w.changed = o->changed_since ? &changed : NULL;
  w.root = root;
  w.res = fc_xcalloc(in.n ? in.n : 1, sizeof(*w.res));
  w.progress = isatty(STDERR_FILENO) && in.n >= 8;
  pthread_mutex_init(&w.lock, NULL);
  if (in.n)
    parse_all(&w, o->jobs);
  if (chdir(root) != 0)
    fprintf(stderr, "fa-check: warning: cannot return to %s\n", root);
  pthread_mutex_destroy(&w.lock);

  /* Units and failures in input order. */
  fc_unit_t **units = fc_xcalloc(in.n ? in.n : 1, sizeof(*units));
  size_t nunits = 0;
  for (size_t i = 0; i < in.n; i++) {
    if (w.res[i].unit)
      units[nunits++] = w.res[i].unit;
    move_failures(&fail, &w.res[i].fail);
  }

  fc_diag_list_t diags = {0};
  fc_analyze(units, nunits, cfg, families, &diags);
  apply_levels(&diags, cfg, o, families);
  if (o->changed_since)
    keep_changed(&diags, &in, w.res, &changed);
  fc_diag_sort_unique(&diags);

  int rc = FC_EXIT_OK;
  if (o->baseline || o->write_baseline) {
    char **fps = fc_fingerprints(&diags, root);
    if (o->write_baseline &&
        fc_baseline_write(write_baseline, &diags, fps, root) != 0)
      rc = FC_EXIT_FAILURE;
    if (o->baseline)
      fc_baseline_filter(&diags, fps, &base);
    fc_fingerprints_free(fps, diags.n);
  }

  fc_fixes_suggest(&diags);
  if (export_fixes && fc_fixes_export(&diags, export_fixes) != 0)
    rc = FC_EXIT_FAILURE;

  fc_emit_t e = {stdout, use_color(o), root, &fail};
  if (o->baseline_stale) {
    if (fc_baseline_print_stale(&base, stdout))
      rc = FC_EXIT_FINDINGS;
  } else {
    emit(&diags, o, &e);
  }
  size_t fixed = 0;
  if (o->fix) {
    size_t files;
    if (fc_fixes_apply(&diags, &fixed, &files) != 0)
      rc = FC_EXIT_FAILURE;
    fprintf(stderr, "fa-check: fixed %zu finding%s in %zu file%s\n", fixed,
            fixed == 1 ? "" : "s", files, files == 1 ? "" : "s");
  }
  for (size_t i = 0; i < fail.n; i++) {
    if (fail.v[i].file)
      fprintf(stderr, "fa-check: error: %s: %s\n",
              fc_relpath(fail.v[i].file, root), fail.v[i].msg);
    else
      fprintf(stderr, "fa-check: error: %s\n", fail.v[i].msg);
  }

  for (size_t i = 0; !o->write_baseline && !o->baseline_stale && i < diags.n;
       i++) {
    if (fixed && diags.v[i].fix)
      continue; /* fixed in place */
    if ((diags.v[i].level == FC_LEVEL_ERROR ||
         (o->deny_warnings && diags.v[i].level == FC_LEVEL_WARN)) &&
        rc == FC_EXIT_OK)
      rc = FC_EXIT_FINDINGS;
  }
  if (fail.n)
    rc = FC_EXIT_FAILURE;

  for (size_t i = 0; i < nunits; i++)
    fc_unit_free(units[i]);
  free(units);
  free(w.res);
  fc_diag_list_free(&diags);
  fc_failure_list_free(&fail);
  fc_inputs_free(&in);
  fc_baseline_free(&base);
  fc_cache_close(cache);
  fc_changed_free(&changed);
  fc_source_free_all();
  return rc;
}
