/* Fuzz target of fa-check's analysis on C sources, in process: the text is
 * handed to libclang as an unsaved file, parsed with the arguments the
 * fixtures use, lowered (fc_unit_lower) and analysed (fc_analyze) as the
 * driver does for one translation unit, on a thread with the driver's
 * stack size; the findings then go through every output format.
 *
 * The first byte chooses the mode:
 *
 * - text (a printable ASCII byte or white space): the input is a C file.
 *   Only "never a crash, a hang or a leak" is checked. Includes of the
 *   headers the fixtures use are kept (as -include options); an input that
 *   could name any other file (include, import, line splices, universal
 *   character names) is refused, so that no input reads a device or the
 *   fuzzer's own files, and clang's debug pragmas are disabled.
 * - grammar (any other byte): the rest drives fc_gen.c, which writes a
 *   program over the allocator API and the FA702 (and FA604, once the
 *   checker has it) findings it must get. The program must parse, and the
 *   (code, line) set of those findings must be exactly the expected one. */
#include "check.h"
#include "fc_gen.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef FC_FUZZ_INCLUDE
#error "FC_FUZZ_INCLUDE must name the directory of <framealloc.h>"
#endif

#define MAX_TEXT (8u << 10)      /* raw C text */
#define MAX_CHOICES (1u << 10)   /* grammar bytes */
#define WORKER_STACK (32u << 20) /* as the driver's parser threads */
#define MAIN_FILE "/fuzz-check/input.c"

/* ---- one translation unit, as the driver checks it ------------------------
 */

typedef struct job_s {
  const char *text;
  size_t len;
  const char **args;
  int nargs;
  int analysed;         /* parsed without error, lowered and analysed */
  char *error;          /* else why not (malloc'd) */
  fc_diag_list_t diags; /* the findings, sorted */
} job_t;

static CXIndex the_index;

static char *first_error(CXTranslationUnit tu) {
  unsigned n = clang_getNumDiagnostics(tu);
  for (unsigned i = 0; i < n; i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    char *text = NULL;
    if (clang_getDiagnosticSeverity(d) >= CXDiagnostic_Error) {
      CXString s =
          clang_formatDiagnostic(d, clang_defaultDiagnosticDisplayOptions());
      text = fc_xstrdup(clang_getCString(s) ? clang_getCString(s) : "error");
      clang_disposeString(s);
    }
    clang_disposeDiagnostic(d);
    if (text)
      return text;
  }
  return NULL;
}

static void *run_job(void *arg) {
  job_t *j = arg;
  struct CXUnsavedFile file = {MAIN_FILE, j->text, (unsigned long)j->len};
  CXTranslationUnit tu = NULL;
  enum CXErrorCode ec =
      clang_parseTranslationUnit2(the_index, MAIN_FILE, j->args, j->nargs,
                                  &file, 1, CXTranslationUnit_None, &tu);
  if (ec != CXError_Success || !tu) {
    j->error = fc_xstrdup("clang could not parse it");
    return NULL;
  }
  j->error = first_error(tu);
  if (j->error) {
    clang_disposeTranslationUnit(tu);
    return NULL;
  }
  fc_config_t cfg;
  fc_config_init(&cfg);
  fc_failure_list_t fail = {0};
  fc_unit_t *unit = fc_unit_lower(tu, &cfg, &fail);
  clang_disposeTranslationUnit(tu);
  fc_analyze(&unit, 1, &cfg, fc_families_available(), &j->diags);
  fc_diag_sort_unique(&j->diags);
  fc_unit_free(unit);
  fc_failure_list_free(&fail);
  j->analysed = 1;
  return NULL;
}

static void run(job_t *j) {
  if (!the_index)
    the_index = clang_createIndex(0, 0);
  pthread_attr_t attr;
  pthread_t th;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, WORKER_STACK);
  if (pthread_create(&th, &attr, run_job, j) != 0) {
    run_job(j);
  } else {
    pthread_join(th, NULL);
  }
  pthread_attr_destroy(&attr);
}

/* Every output format over the findings, into /dev/null: they must cope
 * with whatever names and messages the analysis made. */
static void emit_all(const fc_diag_list_t *l) {
  static FILE *sink;
  if (!sink && !(sink = fopen("/dev/null", "w")))
    return;
  fc_failure_list_t none = {0};
  fc_emit_t e = {sink, 1, "/fuzz-check", &none};
  fc_emit_human(l, &e);
  fc_emit_compact(l, &e);
  fc_emit_json(l, &e);
  fc_emit_sarif(l, &e);
  fflush(sink);
  fc_source_free_all();
}

/* ---- text mode -------------------------------------------------------------
 */

/* Headers the fixtures include; an input may include these and no other. */
static const char *const allowed[] = {
    "framealloc.h", "framealloc/task.h", "framealloc/uv.h",
    "pthread.h",    "threads.h",         "ucontext.h",
    "uv.h",         "stddef.h",          "stdint.h",
    "stdlib.h",     "string.h",          "stdio.h"};
#define NALLOWED (sizeof(allowed) / sizeof(allowed[0]))

/* Blanks the lines "#include <allowed>" of `s` (keeping line numbers) and
 * lists their headers, in order, once each. */
static size_t take_includes(char *s, size_t n, const char **inc) {
  size_t ninc = 0;
  for (size_t i = 0; i < n;) {
    size_t e = i;
    while (e < n && s[e] != '\n')
      e++;
    size_t k = i;
    while (k < e && (s[k] == ' ' || s[k] == '\t'))
      k++;
    static const char dir[] = "#include <";
    if (e - k > sizeof(dir) && !memcmp(s + k, dir, sizeof(dir) - 1)) {
      size_t h = k + sizeof(dir) - 1, close = h;
      while (close < e && s[close] != '>')
        close++;
      size_t tail = close + 1;
      while (tail < e && (s[tail] == ' ' || s[tail] == '\t' || s[tail] == '\r'))
        tail++;
      for (size_t a = 0; close < e && tail == e && a < NALLOWED; a++) {
        if (strlen(allowed[a]) != close - h ||
            memcmp(s + h, allowed[a], close - h) != 0)
          continue;
        size_t seen = 0;
        while (seen < ninc && inc[seen] != allowed[a])
          seen++;
        if (seen == ninc)
          inc[ninc++] = allowed[a];
        memset(s + i, ' ', e - i);
        break;
      }
    }
    i = e + 1;
  }
  return ninc;
}

/* Could the text name a file, or build such a name? Looks at the text with
 * its line splices removed. */
static int names_files(const char *s, size_t n) {
  char *t = fc_xrealloc(NULL, n + 1);
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\\') {
      size_t k = i + 1;
      while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\v' ||
                       s[k] == '\f' || s[k] == '\r'))
        k++;
      if (k < n && s[k] == '\n') {
        i = k;
        continue;
      }
      if (k < n && (s[k] == 'u' || s[k] == 'U')) {
        free(t);
        return 1;
      }
    }
    t[w++] = s[i] ? s[i] : ' ';
  }
  t[w] = 0;
  static const char *const words[] = {"include", "import", "__debug"};
  int bad = 0;
  for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
    if (strstr(t, words[k]))
      bad = 1;
  free(t);
  return bad;
}

/* FUZZ_CHECK_VERBOSE=1 prints what became of each input. */
static void verbose(const char *mode, const job_t *j) {
  static int on = -1;
  if (on < 0)
    on = getenv("FUZZ_CHECK_VERBOSE") != NULL;
  if (!on)
    return;
  if (!j)
    fprintf(stderr, "%s: refused\n", mode);
  else if (j->analysed)
    fprintf(stderr, "%s: analysed, %zu findings\n", mode, j->diags.n);
  else
    fprintf(stderr, "%s: not analysed: %s\n", mode, j->error);
}

static int text_mode(const uint8_t *data, size_t size) {
  if (size > MAX_TEXT)
    return -1;
  char *text = fc_xrealloc(NULL, size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  const char *inc[NALLOWED];
  size_t ninc = take_includes(text, size, inc);
  if (names_files(text, size)) {
    verbose("text", NULL);
    free(text);
    return -1;
  }
  const char *args[8 + 2 * NALLOWED];
  int nargs = 0;
  args[nargs++] = "-xc";
  args[nargs++] = "-std=gnu11"; /* no trigraphs */
  args[nargs++] = "-D_GNU_SOURCE";
  args[nargs++] = "-I" FC_FUZZ_INCLUDE;
  args[nargs++] = "-Xclang";
  args[nargs++] = "-disable-pragma-debug-crash";
  args[nargs++] = "-w";
  for (size_t i = 0; i < ninc; i++) {
    args[nargs++] = "-include";
    args[nargs++] = inc[i];
  }
  job_t j;
  memset(&j, 0, sizeof(j));
  j.text = text;
  j.len = size;
  j.args = args;
  j.nargs = nargs;
  run(&j);
  verbose("text", &j);
  if (j.analysed)
    emit_all(&j.diags);
  fc_diag_list_free(&j.diags);
  free(j.error);
  free(text);
  return 0;
}

/* ---- grammar mode ----------------------------------------------------------
 */

static void print_lines(const char *what, const gen_lines_t *l) {
  fprintf(stderr, "%s:", what);
  for (size_t i = 0; i < l->n; i++)
    fprintf(stderr, " %u", l->v[i]);
  fputc('\n', stderr);
}

static void print_program(const gen_t *g) {
  unsigned line = 1;
  fprintf(stderr, "%4u  ", line);
  for (size_t i = 0; i < g->len; i++) {
    fputc(g->text[i], stderr);
    if (g->text[i] == '\n' && i + 1 < g->len)
      fprintf(stderr, "%4u  ", ++line);
  }
}

static int lines_eq(const gen_lines_t *a, const gen_lines_t *b) {
  if (a->n != b->n)
    return 0;
  for (size_t i = 0; i < a->n; i++)
    if (a->v[i] != b->v[i])
      return 0;
  return 1;
}

/* One FA604 finding against the candidates: it must be at a candidate
 * read, name its variable, list exactly the ended sites the read reaches
 * (its "allocated in frame memory here" notes), and be the only finding
 * at that read. The sites it covers are added to the candidate's `seen`. */
static int check_604(gen_t *g, const fc_diag_t *d) {
  const char *q = strchr(d->msg, '\'');
  int var = -1;
  if (!q || sscanf(q, "'v%d'", &var) != 1)
    return 0;
  gen_use_t *u = NULL;
  for (size_t i = 0; i < g->nuses; i++)
    if (g->uses[i].line == d->loc.line && g->uses[i].var == var)
      u = &g->uses[i];
  if (!u || u->reported)
    return 0;
  u->reported = 1;
  uint64_t sites = 0;
  for (size_t k = 0; k < d->nnotes; k++) {
    const fc_note_t *n = &d->notes[k];
    if (strcmp(n->msg, "allocated in frame memory here") != 0)
      continue;
    int found = 0;
    for (int s = 0; s < GEN_MAX_SITES; s++)
      if (g->site_line[u->fn][s] == n->loc.line) {
        sites |= (uint64_t)1 << s;
        found = 1;
      }
    if (!found)
      return 0;
  }
  return sites == u->ended;
}

/* Every (variable, ended site) pair of the candidates is reported by some
 * finding on that variable. */
static int check_604_cover(const gen_t *g) {
  for (size_t i = 0; i < g->nuses; i++) {
    const gen_use_t *u = &g->uses[i];
    uint64_t want = 0, got = 0;
    for (size_t k = 0; k < g->nuses; k++) {
      const gen_use_t *w = &g->uses[k];
      if (w->fn != u->fn || w->var != u->var)
        continue;
      want |= w->ended;
      if (w->reported)
        got |= w->ended;
    }
    if (want != got)
      return 0;
  }
  return 1;
}

static int grammar_mode(const uint8_t *data, size_t size) {
  if (size > MAX_CHOICES)
    return -1;
  const fc_rule_t *r604 = fc_rule_find(604);
  int with_604 = r604 && r604->available;
  gen_t g;
  gen_build(data, size, with_604, &g);
  static const char *const args[] = {"-xc",
                                     "-std=c11",
                                     "-D_GNU_SOURCE",
                                     ("-I" FC_FUZZ_INCLUDE),
                                     "-Wno-unused-variable",
                                     "-Wno-unused-but-set-variable"};
  job_t j;
  memset(&j, 0, sizeof(j));
  j.text = g.text;
  j.len = g.len;
  j.args = (const char **)args;
  j.nargs = (int)(sizeof(args) / sizeof(args[0]));
  run(&j);
  verbose("grammar", &j);
  if (!j.analysed) {
    print_program(&g);
    fprintf(stderr,
            "fuzz_check_source: the generated program does not "
            "parse: %s\n",
            j.error ? j.error : "?");
    abort();
  }
  gen_lines_t got702 = {0};
  const char *main_file = fc_intern(MAIN_FILE);
  int ok = 1;
  for (size_t i = 0; i < j.diags.n; i++) {
    const fc_diag_t *d = &j.diags.v[i];
    if (d->loc.file != main_file)
      continue;
    if (d->code == 702)
      gen_lines_add(&got702, d->loc.line);
    else if (d->code == 604 && with_604 && !check_604(&g, d))
      ok = 0;
  }
  if (with_604 && !check_604_cover(&g))
    ok = 0;
  if (!lines_eq(&got702, &g.fa702) || !ok) {
    print_program(&g);
    print_lines("expected FA702 at lines", &g.fa702);
    print_lines("reported FA702 at lines", &got702);
    if (with_604) {
      fputs("FA604 candidates (line variable sites):", stderr);
      for (size_t i = 0; i < g.nuses; i++)
        fprintf(stderr, " %u:v%d:%#llx", g.uses[i].line, g.uses[i].var,
                (unsigned long long)g.uses[i].ended);
      fputs("\nreported FA604:", stderr);
      for (size_t i = 0; i < j.diags.n; i++)
        if (j.diags.v[i].code == 604)
          fprintf(stderr, " %u (%s)", j.diags.v[i].loc.line, j.diags.v[i].msg);
      fputc('\n', stderr);
    }
    fputs("fuzz_check_source: the findings differ from the oracle\n", stderr);
    abort();
  }
  emit_all(&j.diags);
  free(got702.v);
  fc_diag_list_free(&j.diags);
  free(j.error);
  gen_free(&g);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  int c = data[0];
  if ((c >= 0x20 && c < 0x7f) || c == '\t' || c == '\n' || c == '\r')
    return text_mode(data, size);
  return grammar_mode(data + 1, size - 1);
}
