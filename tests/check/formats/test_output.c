/* Tests of fa-check's output formats (human, compact, json, sarif): lists of
 * findings made by hand over the small sources under src/ are written in
 * each format and compared with the files under golden/.
 *
 * Paths are shown relative to the root (src/), so the goldens do not depend
 * on where the tree is; the one absolute thing, SARIF's file URI of the
 * root, is replaced by file:///SRCROOT/ before comparing. Every output is
 * also written to the current directory, for the schema and JSON checks
 * that run after this test.
 *
 * The goldens include the rule table's help texts. After an intended change
 * of a format or of those texts, rewrite them with
 *   FC_UPDATE_GOLDEN=1 ./test_output
 * and review the difference. */
#include "check.h"
#include "test.h"

#include <jansson.h>

#ifndef FC_FORMATS_DIR
#error "FC_FORMATS_DIR must name the directory of this file"
#endif

#define SRC_ROOT FC_FORMATS_DIR "/src"
#define UNICODE_FILE                                                           \
  SRC_ROOT "/dir with space/\xC3\xBCn\xC3\xAF"                                 \
           "code.c"
#define TASKS_FILE SRC_ROOT "/tasks.c"

typedef void (*emit_fn)(const fc_diag_list_t *, const fc_emit_t *);

static fc_loc_t at(const char *file, unsigned line, unsigned col) {
  fc_loc_t l = {fc_intern(file), line, col};
  return l;
}

static fc_diag_t *add(fc_diag_list_t *l, int code, fc_level_t level,
                      fc_loc_t loc, const char *msg) {
  fc_diag_t *d = fc_diag_add(l, code, loc, "%s", msg);
  d->level = level;
  return d;
}

/* The findings of the goldens: warnings and errors, with and without notes,
 * in three files (one that does not exist), a line indented with a tab, a
 * path with a space and non-ASCII characters, and two findings on lines of
 * identical text. Sorted as the driver sorts them. */
static void sample(fc_diag_list_t *l, fc_failure_list_t *f) {
  fc_diag_t *d;
  d = add(l, 703, FC_LEVEL_WARN, at(UNICODE_FILE, 5, 51),
          "frame data \"msg\" captured by a spawned task");
  fc_diag_note(d, at(UNICODE_FILE, 4, 15), "'msg' is allocated here");
  add(l, 701, FC_LEVEL_ERROR, at(SRC_ROOT "/gone.c", 7, 3),
      "frame allocation in async function 'gone'");
  d = add(l, 701, FC_LEVEL_ERROR, at(TASKS_FILE, 6, 14),
          "frame allocation in async function 'on_read'");
  fc_diag_note(d, at(TASKS_FILE, 5, 1),
               "'on_read' is async: it is marked FA_ASYNC");
  d = add(l, 702, FC_LEVEL_ERROR, at(TASKS_FILE, 9, 8),
          "frame pointer 'buf' used across a suspension point");
  fc_diag_note(d, at(TASKS_FILE, 6, 14), "'buf' is allocated here");
  fc_diag_note(d, at(TASKS_FILE, 8, 3), "the task may suspend here");
  for (unsigned line = 15; line <= 16; line++) {
    d = add(l, 702, FC_LEVEL_WARN, at(TASKS_FILE, line, 9),
            "frame pointer 'counts' used across a suspension point");
    fc_diag_note(d, at(TASKS_FILE, 13, 17), "'counts' is allocated here");
    fc_diag_note(d, at(TASKS_FILE, 14, 3), "the task may suspend here");
  }
  fc_failure_add(f, SRC_ROOT "/broken.c",
                 "cannot parse: expected ';' after expression");
  fc_failure_add(f, NULL, "compile_commands.json: 2 entries skipped");
}

/* The output of one format, malloc'd. */
static char *render(emit_fn fn, const fc_diag_list_t *l,
                    const fc_failure_list_t *f, const char *root, int color) {
  char *buf = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buf, &size);
  ASSERT_NOT_NULL(out);
  fc_emit_t e = {out, color, root, f};
  fn(l, &e);
  ASSERT_EQ(fclose(out), 0);
  return buf;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t size = 0;
  FILE *out = open_memstream(&buf, &size);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    fwrite(chunk, 1, n, out);
  fclose(f);
  fclose(out);
  return buf;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  ASSERT_NOT_NULL(f);
  fputs(text, f);
  ASSERT_EQ(fclose(f), 0);
}

/* Replaces every occurrence of `from` in `s` (malloc'd) with `to`. */
static char *replace_all(char *s, const char *from, const char *to) {
  size_t nf = strlen(from), nt = strlen(to), count = 0;
  for (const char *p = s; (p = strstr(p, from)); p += nf)
    count++;
  if (!count)
    return s;
  char *r = malloc(strlen(s) + count * nt + 1), *w = r;
  ASSERT_NOT_NULL(r);
  const char *p = s, *q;
  while ((q = strstr(p, from))) {
    memcpy(w, p, (size_t)(q - p));
    w += q - p;
    memcpy(w, to, nt);
    w += nt;
    p = q + nf;
  }
  strcpy(w, p);
  free(s);
  return r;
}

/* The file URI of `dir`, as the SARIF writer spells it. */
static char *file_uri(const char *dir) {
  static const char hex[] = "0123456789ABCDEF";
  char *s = malloc(strlen(dir) * 3 + 16), *w = s;
  ASSERT_NOT_NULL(s);
  w += sprintf(w, "file://");
  for (const unsigned char *p = (const unsigned char *)dir; *p; p++) {
    if (strchr("-._~/", *p) || (*p >= '0' && *p <= '9') ||
        (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
      *w++ = (char)*p;
    } else {
      *w++ = '%';
      *w++ = hex[*p >> 4];
      *w++ = hex[*p & 15];
    }
  }
  strcpy(w, "/");
  return s;
}

static char *sarif_normalised(char *text, const char *root) {
  char *uri = file_uri(root);
  text = replace_all(text, uri, "file:///SRCROOT/");
  free(uri);
  return text;
}

/* Compares `actual` with golden/NAME (or rewrites it in update mode), and
 * leaves a copy in the current directory. Takes `actual`. */
static void check_golden(const char *name, char *actual) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/golden/%s", FC_FORMATS_DIR, name);
  write_file(name, actual);
  const char *update = getenv("FC_UPDATE_GOLDEN");
  if (update && strcmp(update, "0") != 0) {
    write_file(path, actual);
    free(actual);
    return;
  }
  char *want = read_file(path);
  if (!want || strcmp(want, actual) != 0) {
    /* Name the first line that differs, to start the review. */
    unsigned line = 1;
    for (size_t i = 0; want && want[i] && want[i] == actual[i]; i++)
      line += want[i] == '\n';
    printf("  %s differs from %s from line %u (FC_UPDATE_GOLDEN=1 rewrites "
           "it)\n",
           name, path, line);
  }
  int same = want && strcmp(want, actual) == 0;
  free(want);
  free(actual);
  ASSERT(same);
}

static void check_format(const char *name, emit_fn fn, int color,
                         int is_sarif) {
  fc_diag_list_t l = {0};
  fc_failure_list_t f = {0};
  sample(&l, &f);
  char *text = render(fn, &l, &f, SRC_ROOT, color);
  if (is_sarif)
    text = sarif_normalised(text, SRC_ROOT);
  fc_diag_list_free(&l);
  fc_failure_list_free(&f);
  check_golden(name, text);
}

TEST(human) { check_format("sample.human", fc_emit_human, 0, 0); }
TEST(human_color) { check_format("sample-color.human", fc_emit_human, 1, 0); }
TEST(compact) { check_format("sample.compact", fc_emit_compact, 0, 0); }
TEST(json) { check_format("sample.json", fc_emit_json, 0, 0); }
TEST(sarif) { check_format("sample.sarif", fc_emit_sarif, 0, 1); }
TEST(codequality) {
  check_format("sample.codequality", fc_emit_codequality, 0, 0);
}

/* No findings: nothing at all in human and compact, empty lists in json,
 * a successful run with no results in SARIF. */
TEST(empty) {
  fc_diag_list_t l = {0};
  fc_failure_list_t f = {0};
  char *text = render(fc_emit_human, &l, &f, SRC_ROOT, 1);
  ASSERT_STR_EQ(text, "");
  free(text);
  text = render(fc_emit_compact, &l, &f, SRC_ROOT, 0);
  ASSERT_STR_EQ(text, "");
  free(text);
  check_golden("empty.json", render(fc_emit_json, &l, &f, SRC_ROOT, 0));
  check_golden(
      "empty.sarif",
      sarif_normalised(render(fc_emit_sarif, &l, &f, SRC_ROOT, 0), SRC_ROOT));
  text = render(fc_emit_codequality, &l, &f, SRC_ROOT, 0);
  ASSERT_STR_EQ(text, "[]\n");
  free(text);
}

/* The fingerprint of a finding, from the SARIF text; malloc'd. */
static char *fingerprint(const char *sarif) {
  json_error_t err;
  json_t *doc = json_loads(sarif, 0, &err);
  ASSERT_NOT_NULL(doc);
  json_t *res = json_object_get(json_array_get(json_object_get(doc, "runs"), 0),
                                "results");
  json_t *fp = json_object_get(
      json_object_get(json_array_get(res, 0), "partialFingerprints"),
      "faCheckLineHash/v1");
  ASSERT(json_is_string(fp));
  char *s = strdup(json_string_value(fp));
  json_decref(doc);
  return s;
}

/* A finding keeps its fingerprint when lines are added above it (src-moved
 * is src/tasks.c with three more lines at the top), and findings on other
 * text get other fingerprints. */
TEST(fingerprint_ignores_line_numbers) {
  const char *moved_root = FC_FORMATS_DIR "/src-moved";
  fc_diag_list_t a = {0}, b = {0}, c = {0};
  fc_failure_list_t none = {0};
  add(&a, 702, FC_LEVEL_ERROR, at(TASKS_FILE, 9, 8), "used across");
  add(&b, 702, FC_LEVEL_ERROR, at(FC_FORMATS_DIR "/src-moved/tasks.c", 12, 8),
      "used across");
  add(&c, 702, FC_LEVEL_ERROR, at(TASKS_FILE, 7, 8), "used across");
  char *ta = render(fc_emit_sarif, &a, &none, SRC_ROOT, 0);
  char *tb = render(fc_emit_sarif, &b, &none, moved_root, 0);
  char *tc = render(fc_emit_sarif, &c, &none, SRC_ROOT, 0);
  char *fa = fingerprint(ta), *fb = fingerprint(tb), *fcp = fingerprint(tc);
  int same = strcmp(fa, fb) == 0, other = strcmp(fa, fcp) != 0;
  free(ta);
  free(tb);
  free(tc);
  free(fa);
  free(fb);
  free(fcp);
  fc_diag_list_free(&a);
  fc_diag_list_free(&b);
  fc_diag_list_free(&c);
  ASSERT(same);
  ASSERT(other);
}

/* Bytes that are not UTF-8 in a message still give valid JSON, a code the
 * rule table does not know prints without help, and a file outside the
 * root keeps its absolute path. */
TEST(odd_input) {
  fc_diag_list_t l = {0};
  fc_failure_list_t f = {0};
  fc_diag_t *d = add(&l, 999, FC_LEVEL_ERROR, at("/nonexistent/x.c", 1, 400),
                     "bad \xFF byte \xC3");
  fc_diag_note(d, at(TASKS_FILE, 6, 200), "past the end of the line");
  fc_failure_add(&f, "/nonexistent/y.c", "odd \xE0\x80 text");

  char *text = render(fc_emit_json, &l, &f, SRC_ROOT, 0);
  json_error_t err;
  json_t *doc = json_loads(text, 0, &err);
  ASSERT_NOT_NULL(doc);
  json_t *diag = json_array_get(json_object_get(doc, "diagnostics"), 0);
  ASSERT_STR_EQ(json_string_value(json_object_get(diag, "message")),
                "bad \xEF\xBF\xBD byte \xEF\xBF\xBD");
  ASSERT(json_is_null(json_object_get(diag, "help")));
  ASSERT_STR_EQ(json_string_value(json_object_get(diag, "file")),
                "/nonexistent/x.c");
  json_decref(doc);
  free(text);

  text = render(fc_emit_sarif, &l, &f, SRC_ROOT, 0);
  doc = json_loads(text, 0, &err);
  ASSERT_NOT_NULL(doc);
  ASSERT(strstr(text, "\"uri\": \"file:///nonexistent/x.c\"") != NULL);
  ASSERT(strstr(text, "\"ruleId\": \"FA999\"") != NULL);
  ASSERT(strstr(text, "\"ruleIndex\"") == NULL);
  json_decref(doc);
  free(text);

  text = render(fc_emit_human, &l, &f, SRC_ROOT, 0);
  ASSERT(strstr(text, "error[FA999]: bad \xFF byte") == text);
  ASSERT(strstr(text, "help:") == NULL);
  free(text);
  fc_diag_list_free(&l);
  fc_failure_list_free(&f);
}

static const test_case_t tests[] = {
    TEST_ENTRY(human),     TEST_ENTRY(human_color),
    TEST_ENTRY(compact),   TEST_ENTRY(json),
    TEST_ENTRY(sarif),     TEST_ENTRY(codequality),
    TEST_ENTRY(empty),     TEST_ENTRY(fingerprint_ignores_line_numbers),
    TEST_ENTRY(odd_input),
};

int main(int argc, char **argv) {
  int rc = TEST_MAIN(tests, argc, argv);
  fc_source_free_all();
  return rc;
}
