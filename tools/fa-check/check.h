/* fa-check's internal header: the types every part of the checker shares,
 * and the cross-file functions grouped by the file that defines them.
 *
 * The pipeline: the command line and fa-check.toml make an fc_options_t
 * (cli.c, config.c); the driver turns a compile database or a file list into
 * translation units (compdb.c), parses them on N threads and lowers each to
 * an fc_unit_t of facts (lower.c); the analysis computes summaries across
 * all units, then runs the rule families (analyze.c, rule_*.c); the driver
 * applies levels and suppression comments, sorts, de-duplicates and hands
 * the list to one output format (out_*.c). */
#ifndef FA_CHECK_H
#define FA_CHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <clang-c/Index.h>

#if defined(__GNUC__)
#define FC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FC_PRINTF(f, a)
#endif

/* Exit status (DESIGN §4). */
enum { FC_EXIT_OK = 0, FC_EXIT_FINDINGS = 1, FC_EXIT_FAILURE = 2 };

/* Levels, in increasing severity. Rule defaults, fa-check.toml and the
 * command line all speak these. */
typedef enum fc_level_e {
  FC_LEVEL_ALLOW = 0,
  FC_LEVEL_WARN = 1,
  FC_LEVEL_ERROR = 2
} fc_level_t;

/* Rule families, selected with --check NAME or --all. */
typedef enum fc_family_e {
  FC_FAMILY_ASYNC = 1u << 0,   /* "async-safety": FA701 FA702 FA703 */
  FC_FAMILY_LIFETIME = 1u << 1 /* "lifetime": FA601 FA603 FA604 */
} fc_family_t;

/* A source position. `file` is an absolute, normalised path interned with
 * fc_intern (it lives for the whole run); line and col count from 1. */
typedef struct fc_loc_s {
  const char *file;
  unsigned line, col;
} fc_loc_t;

typedef struct fc_note_s {
  fc_loc_t loc;
  char *msg;
} fc_note_t;

/* One finding. The analysis fills code, loc, msg and notes; the driver sets
 * level from the rule table, fa-check.toml and the command line. */
/* One edit of a fix: `len` bytes at byte `offset` of `file` (from 0),
 * replaced by `text`; `loc` is where the edit starts, for the reader. */
typedef struct fc_edit_s {
  fc_loc_t loc;
  size_t offset, len;
  char *text;
} fc_edit_t;

typedef struct fc_diag_s {
  int code; /* 702 for FA702 */
  fc_level_t level;
  fc_loc_t loc;
  char *msg; /* one line, no trailing newline */
  fc_note_t *notes;
  size_t nnotes;
  char *fix;        /* what the fix does, NULL when there is none */
  fc_edit_t *edits; /* its edits, in one file, sorted, not overlapping */
  size_t nedits;
} fc_diag_t;

typedef struct fc_diag_list_s {
  fc_diag_t *v;
  size_t n, cap;
} fc_diag_list_t;

/* A translation unit that could not be analysed, or another tool-level
 * problem worth showing next to the findings (SARIF notifications). */
typedef struct fc_failure_s {
  const char *file; /* interned; NULL when not about a file */
  char *msg;
} fc_failure_t;

typedef struct fc_failure_list_s {
  fc_failure_t *v;
  size_t n, cap;
} fc_failure_list_t;

/* ---- rules.c: the catalogue ------------------------------------------ */

/* One checker rule. Code, default level and title come from FA_DIAG_MAP in
 * <framealloc.h>, the table the library shares; the rest is the checker's. */
typedef struct fc_rule_s {
  int code;
  const char *name; /* "FA702" */
  fc_family_t family;
  fc_level_t default_level;
  const char *precision; /* "high" or "medium" */
  const char *title;     /* the catalogue's one-line meaning */
  const char *help;      /* one line: how to fix it */
  const char *explain;   /* several paragraphs with a bad and a fixed example */
  const char *explain_cxx; /* the same examples in C++, NULL if none */
  int available; /* 0: in the catalogue, not checked in this version */
} fc_rule_t;

const fc_rule_t *fc_rules(size_t *count); /* sorted by code */
const fc_rule_t *fc_rule_find(int code);  /* NULL if not a checker rule */
int fc_parse_code(const char *s); /* "FA702"/"fa702"/"702" -> 702, else -1 */
/* Prints the explanation of a code only the library raises (FA001...);
 * 0 when code is not one. */
int fc_explain_runtime(int code);
const char *fc_family_name(fc_family_t f); /* "async-safety" */
int fc_parse_family(const char *s);        /* the fc_family_t bit, or -1 */
const char *fc_level_name(fc_level_t l);   /* "allow", "warning", "error" */
unsigned fc_families_available(void);      /* fc_family_t bits with rules */
/* "allow" -> FC_LEVEL_ALLOW, "warn" -> FC_LEVEL_WARN, "error" and "deny" ->
 * FC_LEVEL_ERROR; -1 for anything else. */
int fc_parse_level(const char *s);

/* ---- config.c: fa-check.toml ----------------------------------------- */

/* A name from [async] spawn = ["name:N"]: N is the 1-based position of the
 * context argument, 0 when none was given. */
typedef struct fc_spawner_s {
  char *name;
  int arg;
} fc_spawner_t;

typedef struct fc_names_s {
  char **v;
  size_t n, cap;
} fc_names_t;

typedef struct fc_config_s {
  char *path;           /* the file it was read from, NULL if none */
  int family_level[2];  /* by family bit index; -1: not set */
  int code_level[1000]; /* by code; -1: not set */
  fc_spawner_t *spawn;  /* [async] spawn */
  size_t nspawn;
  fc_names_t await; /* [async] await: extra suspension points */
  fc_names_t frame; /* [async] frame: extra frame allocators */
  fc_names_t async; /* [async] async: extra async contexts */
  fc_names_t begin; /* [lifetime] begin: frame helpers that begin */
  fc_names_t end;   /* [lifetime] end: frame helpers that end */
} fc_config_t;

void fc_config_init(fc_config_t *c); /* empty: every level unset */
/* Reads and validates FILE. On error prints "FILE:LINE: error: ..." to
 * stderr and returns -1; `c` is then left empty. */
int fc_config_load(fc_config_t *c, const char *file);
/* The nearest fa-check.toml from `dir` upwards (malloc'd), or NULL. */
char *fc_config_find(const char *dir);
void fc_config_free(fc_config_t *c);
const char *fc_config_default_text(void); /* what `fa-check init` writes */

/* ---- cli.c: the command line ----------------------------------------- */

typedef enum fc_format_e {
  FC_FORMAT_HUMAN,
  FC_FORMAT_COMPACT,
  FC_FORMAT_JSON,
  FC_FORMAT_SARIF,
  FC_FORMAT_CODEQUALITY
} fc_format_t;

typedef struct fc_level_override_s {
  int code; /* a code, or -(family bit) for a whole family */
  fc_level_t level;
} fc_level_override_t;

typedef struct fc_extra_arg_s { /* --extra-arg[-before] */
  const char *arg;
  int before;
} fc_extra_arg_t;

typedef struct fc_options_s {
  unsigned families;     /* fc_family_t bits; 0: not chosen (all) */
  const char *build_dir; /* -p */
  const char **files;    /* positional files */
  size_t nfiles;
  const char **clang_args; /* after -- */
  size_t nclang_args;
  fc_extra_arg_t *extra; /* added to every unit's arguments */
  size_t nextra;
  fc_format_t format;
  int format_given;               /* --format was given */
  fc_level_override_t *overrides; /* --deny/--warn/--allow, in order */
  size_t noverrides;
  int deny_warnings;
  const char *config_file;    /* --config */
  int jobs;                   /* -j; 0: one per core */
  const char *baseline;       /* --baseline: report only what is new */
  const char *write_baseline; /* --write-baseline */
  int baseline_stale;         /* --baseline-stale: list fixed entries */
  const char *cache_dir;      /* --cache; NULL: FA_CHECK_CACHE or none */
  const char *changed_since;  /* --changed-since REV */
  int fix;                    /* --fix: apply the fixes in place */
  const char *export_fixes;   /* --export-fixes FILE */
  int color;                  /* -1 auto (a terminal), 0 never, 1 always */
} fc_options_t;

typedef enum fc_command_e {
  FC_CMD_CHECK,   /* the default: check files */
  FC_CMD_EXPLAIN, /* fa-check explain CODE */
  FC_CMD_LIST,    /* fa-check list [--check FAMILY] */
  FC_CMD_INIT,    /* fa-check init */
  FC_CMD_HELP,
  FC_CMD_VERSION
} fc_command_t;

/* Parses the command line into `o` (strings point into argv; the arrays are
 * malloc'd) and the command; `*arg` is explain's code. Returns 0, or prints
 * a message and returns FC_EXIT_FAILURE. */
int fc_cli_parse(int argc, char **argv, fc_command_t *cmd, fc_options_t *o,
                 const char **arg);
void fc_cli_free(fc_options_t *o);
void fc_cli_usage(FILE *f);
void fc_cli_version(FILE *f);
/* fa-check explain / list / init; each returns the exit status. */
int fc_cmd_explain(const char *code);
int fc_cmd_list(unsigned families);
int fc_cmd_init(void);

/* ---- compdb.c: the translation units to parse ------------------------- */

/* One translation unit: an absolute file name and the clang arguments
 * (without the compiler, the output and the file itself). */
typedef struct fc_input_s {
  char *file;
  char **args;
  size_t nargs;
} fc_input_t;

typedef struct fc_inputs_s {
  fc_input_t *v;
  size_t n, cap;
} fc_inputs_t;

/* From -p BUILD_DIR and/or FILES -- ARGS. Unusable inputs (a missing file, a
 * file not in the database) go to `fail`; a missing or broken database is
 * printed and returns -1. */
int fc_inputs_collect(const fc_options_t *o, fc_inputs_t *in,
                      fc_failure_list_t *fail);
void fc_inputs_free(fc_inputs_t *in);
/* Nonzero when the arguments after `--` are a compiler's command line
 * (`SOURCE -- cc -I... -c SOURCE`, as CMake's <LANG>_CLANG_TIDY runs it)
 * rather than clang options. */
int fc_is_compiler_call(const fc_options_t *o);

/* ---- driver.c: the pipeline ------------------------------------------- */

/* Parses, lowers and analyses every input on o->jobs threads, applies levels
 * and suppressions, prints the findings; returns the exit status. */
int fc_run(const fc_options_t *o, const fc_config_t *cfg);
/* The level of `code` after the rule default, fa-check.toml and the command
 * line, in that order of precedence. */
fc_level_t fc_level_of(int code, const fc_config_t *cfg, const fc_options_t *o);

/* ---- baseline.c: findings recorded to be ignored --------------------- */

typedef struct fc_baseline_entry_s {
  char *fingerprint;           /* as fc_fingerprints gives it */
  char *code, *file, *message; /* for the reader; NULL if absent */
  unsigned line;
  int matched; /* a finding of this run has this fingerprint */
} fc_baseline_entry_t;

typedef struct fc_baseline_s {
  fc_baseline_entry_t *v;
  size_t n;
} fc_baseline_t;

/* Reads a baseline; on error prints a message and returns -1. */
int fc_baseline_load(const char *file, fc_baseline_t *b);
void fc_baseline_free(fc_baseline_t *b);
/* Writes the findings of `l` (fingerprints `fps`) as a baseline. */
int fc_baseline_write(const char *file, const fc_diag_list_t *l,
                      char *const *fps, const char *root);
/* Removes from `l` (and `fps`, kept parallel) each finding that matches an
 * entry not matched yet, and marks that entry. */
void fc_baseline_filter(fc_diag_list_t *l, char **fps, fc_baseline_t *b);
/* Prints the entries no finding matched, one line each
 * ("FILE:LINE: note: fixed since the baseline: MESSAGE [FA702]"); returns
 * how many. */
size_t fc_baseline_print_stale(const fc_baseline_t *b, FILE *out);

/* ---- suppress.c: "// fa-check: allow(FA702)" comments ------------------- */

/* Nonzero when a comment on the finding's line or the line above allows its
 * code. Reads sources: call after analysis, on one thread. */
int fc_suppressed(const fc_diag_t *d);

/* ---- diag.c: findings, failures and interned strings ------------------ */

void *fc_xrealloc(void *p, size_t size); /* these abort when memory is out */
void *fc_xcalloc(size_t n, size_t size);
char *fc_xstrdup(const char *s);
/* Removes "." and ".." components and doubled slashes of an absolute path,
 * in place, without touching the file system (symbolic links are kept). */
void fc_path_normalise(char *p);
const char *fc_intern(const char *s); /* thread-safe; lives for the run */
fc_diag_t *fc_diag_add(fc_diag_list_t *l, int code, fc_loc_t loc,
                       const char *fmt, ...) FC_PRINTF(4, 5);
void fc_diag_note(fc_diag_t *d, fc_loc_t loc, const char *fmt, ...)
    FC_PRINTF(3, 4);
void fc_diag_move(fc_diag_list_t *dst,
                  fc_diag_list_t *src); /* appends, empties src */
/* Sorts by file, line, column, code, message and drops exact duplicates
 * (a header seen by several translation units). */
void fc_diag_sort_unique(fc_diag_list_t *l);
void fc_diag_list_free(fc_diag_list_t *l);
void fc_diag_free(fc_diag_t *d); /* its message and notes */
void fc_failure_add(fc_failure_list_t *l, const char *file, const char *fmt,
                    ...) FC_PRINTF(3, 4);
void fc_failure_list_free(fc_failure_list_t *l);
char *fc_vformat(const char *fmt, va_list ap); /* malloc'd */
/* The name of a libclang file: its real path when known, else the name it
 * was opened by; normalised when absolute, interned; NULL if it has none. */
const char *fc_file_path(CXFile file);
/* The location of a libclang source location (expansion location), with
 * the file interned; file NULL when it has none. */
fc_loc_t fc_loc_of(CXSourceLocation sl);
/* `path` relative to `root` when it is inside it, else `path` itself. */
const char *fc_relpath(const char *path, const char *root);

/* ---- source.c: source text, for carets and suppression comments ------- */

/* Line `line` of `file` without its newline, in *len; NULL if unreadable.
 * Files are read once and cached; not thread-safe (used after analysis). */
const char *fc_source_line(const char *file, unsigned line, size_t *len);
void fc_source_free_all(void);
/* The whole text of `file` as cached (NUL-terminated), its length in
 * *len; NULL if unreadable. */
const char *fc_source_text(const char *file, size_t *len);
/* Drops the cached text of `file` (after it was rewritten). */
void fc_source_forget(const char *file);
/* The whole of `file`, NUL-terminated, its length in *len (malloc'd); NULL
 * with errno set when it cannot be read. */
char *fc_read_file(const char *file, size_t *len);

/* ---- lower.c / analyze.c: the analysis -------------------------------- */

/* The facts of one translation unit, lowered from its AST: what the rules
 * and the summaries need, nothing that refers to libclang any more. */
typedef struct fc_unit_s fc_unit_t;

/* Thread-safe: called on the driver's worker threads, one TU each. Problems
 * of the unit itself (not findings) go to `fail`. */
fc_unit_t *fc_unit_lower(CXTranslationUnit tu, const fc_config_t *cfg,
                         fc_failure_list_t *fail);
void fc_unit_free(fc_unit_t *u);
/* Computes the summaries across all units (functions that return frame
 * memory, functions that are async because some unit spawns them, frame
 * helpers that begin or end a frame for their caller) and runs the
 * families selected in `families` (fc_family_t bits). */
void fc_analyze(fc_unit_t *const *units, size_t n, const fc_config_t *cfg,
                unsigned families, fc_diag_list_t *out);

/* ---- changed.c: --changed-since REV ------------------------------------ */

typedef struct fc_changed_s {
  const char **v; /* interned absolute paths */
  size_t n;
} fc_changed_t;

/* The files changed since `rev` in the git work tree of the current
 * directory, new files included; on error prints a message, returns -1. */
int fc_changed_load(const char *rev, fc_changed_t *c);
void fc_changed_free(fc_changed_t *c);
int fc_changed_has(const fc_changed_t *c, const char *file); /* interned */
/* Thread-safe: whether the unit's source or a header it includes changed,
 * by a parse without function bodies (1 when it does not parse). */
int fc_changed_unit(CXIndex idx, const fc_input_t *in, const fc_changed_t *c);

/* ---- fixes.c: mechanical fixes ------------------------------------------ */

/* Attaches a fix to each finding that has a mechanical one: FA701 in a
 * fa_uv_queue_work callback or a task scope, FA702 where a task is at hand
 * (both: the frame allocation becomes the task's), FA603 (the missing
 * fa_end_frame on the path its note names). Reads sources. */
void fc_fixes_suggest(fc_diag_list_t *l);
/* --fix: applies the fixes in place, file by file; *applied counts the
 * findings fixed (their `fix` stays set), the others get fix = NULL.
 * Returns -1 when a file could not be written (a message is printed). */
int fc_fixes_apply(fc_diag_list_t *l, size_t *applied, size_t *files);
/* --export-fixes FILE: clang-apply-replacements YAML. */
int fc_fixes_export(const fc_diag_list_t *l, const char *file);
/* `line` of `file` with the edits of `d` on that line applied (malloc'd),
 * or NULL when none falls on it. */
char *fc_fix_preview(const fc_diag_t *d, unsigned line);

/* ---- cache.c: the facts of translation units, kept between runs ------- */

typedef struct fc_cache_s fc_cache_t;
/* Opens (creates) the cache directory; prints a message and returns NULL
 * when it cannot be used. The key covers the checker and `cfg`. */
fc_cache_t *fc_cache_open(const char *dir, const fc_config_t *cfg);
/* Prints the counts when FA_CHECK_CACHE_STATS is set, and frees `c`. */
void fc_cache_close(fc_cache_t *c);
/* Thread-safe. The unit saved for `in`, when every file its parse read is
 * unchanged; NULL otherwise. With `changed`, *reads_changed tells whether
 * one of those files is in it. */
fc_unit_t *fc_cache_get(fc_cache_t *c, const fc_input_t *in,
                        const fc_changed_t *changed, int *reads_changed);
/* Thread-safe. Saves the unit lowered from `tu` for `in`. */
void fc_cache_put(fc_cache_t *c, const fc_input_t *in, CXTranslationUnit tu,
                  const fc_unit_t *u);

/* ---- out_*.c: output formats ------------------------------------------ */

typedef struct fc_emit_s {
  FILE *out;
  int color;        /* ANSI colours (human only) */
  const char *root; /* paths are shown relative to this directory */
  const fc_failure_list_t *failures;
} fc_emit_t;

void fc_emit_human(const fc_diag_list_t *l, const fc_emit_t *e);
void fc_emit_compact(const fc_diag_list_t *l, const fc_emit_t *e);
void fc_emit_json(const fc_diag_list_t *l, const fc_emit_t *e);
void fc_emit_sarif(const fc_diag_list_t *l, const fc_emit_t *e);
void fc_emit_codequality(const fc_diag_list_t *l, const fc_emit_t *e);

/* out_common.c: what the formats share. */
struct json_t;
const char *fc_tool_version(void); /* "MAJOR.MINOR.PATCH" of <framealloc.h> */
/* `file` as shown to the user: relative to `root` when inside it. */
const char *fc_show_path(const char *file, const char *root);
void fc_count_levels(const fc_diag_list_t *l, size_t *errors, size_t *warnings);
/* Length of the valid UTF-8 sequence at `s`, 0 if it is not one. */
size_t fc_utf8_len(const char *s);
/* A JSON string of `s` (JSON null for NULL); bytes that are not UTF-8 become
 * U+FFFD, since JSON text must be Unicode. */
struct json_t *fc_json_text(const char *s);
/* Writes `doc` indented, keys in insertion order, and releases it. */
void fc_json_write(struct json_t *doc, FILE *out);
/* The line-independent identity of each finding of a sorted list, as
 * "HASH:N": a hash of the code, the shown path and the text of the line
 * (trimmed), and N, the finding's rank among those with the same hash. It
 * is SARIF's partialFingerprints value and the key of baselines. Free with
 * fc_fingerprints_free. */
#define FC_FINGERPRINT_KEY "faCheckLineHash/v1"
char **fc_fingerprints(const fc_diag_list_t *l, const char *root);
void fc_fingerprints_free(char **fps, size_t n);

#endif
