/* The command line: options into an fc_options_t, and the commands that do
 * not check anything (explain, list, init, --help, --version).
 *
 * Options take their value as `--opt value` or `--opt=value` (`-p DIR`,
 * `-pDIR`, `-j N`, `-jN`); everything after `--` goes to clang. A command
 * name (explain, list, init) is recognised only as the first argument, so a
 * file of that name can still be checked as ./list. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <framealloc.h>

static int usage_error(const char *fmt, ...) FC_PRINTF(1, 2);

/* Prints "fa-check: error: ..." and a pointer to --help; returns 2. */
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fa-check: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputs("\nTry 'fa-check --help' for more information.\n", stderr);
  return FC_EXIT_FAILURE;
}

void fc_cli_usage(FILE *f) {
  fputs(
      "Usage: fa-check [OPTIONS] [FILES...] [-- CLANG_ARGS...]\n"
      "       fa-check explain CODE\n"
      "       fa-check list [--check FAMILY]\n"
      "       fa-check init\n"
      "\n"
      "Checks C code that uses framealloc: frame memory in async code\n"
      "(FA701), frame pointers live across suspension points (FA702),\n"
      "frame data handed to spawned tasks (FA703), frame pointers stored\n"
      "where they outlive the frame (FA601), unbalanced begin/end frame\n"
      "(FA603) and frame pointers used after fa_end_frame (FA604).\n"
      "\n"
      "Inputs:\n"
      "  -p BUILD_DIR          read BUILD_DIR/compile_commands.json; with "
      "FILES,\n"
      "                        check only those files of it\n"
      "  FILES -- CLANG_ARGS   check FILES, compiled with CLANG_ARGS\n"
      "  SOURCE -- CC ARGS...  check SOURCE as compiled by the command CC\n"
      "                        ARGS (CMake's <LANG>_CLANG_TIDY shape);\n"
      "                        the format is then compact by default\n"
      "\n"
      "Options:\n"
      "  --all                 run every available family (the default)\n"
      "  --check FAMILY        run one family (async-safety, lifetime);\n"
      "                        repeatable\n"
      "  --format FORMAT       human (default), compact, json, sarif or\n"
      "                        codequality (GitLab Code Quality)\n"
      "  --deny CODE|FAMILY    report as errors\n"
      "  --warn CODE|FAMILY    report as warnings\n"
      "  --allow CODE|FAMILY   do not report\n"
      "  --deny-warnings       exit 1 on warnings too\n"
      "  --write-baseline FILE record today's findings in FILE (exit 0)\n"
      "  --baseline FILE       report only findings not recorded in FILE\n"
      "  --baseline-stale      with --baseline: list instead the recorded\n"
      "                        findings that are gone (exit 1 if any)\n"
      "  --config FILE         read FILE instead of the nearest fa-check.toml\n"
      "  --fix                 apply the mechanical fixes in place\n"
      "  --export-fixes FILE   write them as clang-apply-replacements YAML\n"
      "  --changed-since REV   check only the files whose source or included\n"
      "                        headers changed since the git revision REV\n"
      "  --cache DIR           keep the facts of each file in DIR and reuse\n"
      "                        them while nothing it reads changes (default:\n"
      "                        $FA_CHECK_CACHE)\n"
      "  -j N                  parse N files at a time (0: one per core)\n"
      "  --extra-arg ARG       add ARG to every file's clang arguments\n"
      "  --extra-arg-before ARG  the same, before the others\n"
      "  --color WHEN          auto (default), always or never\n"
      "  -h, --help            show this help\n"
      "  --version             show the version\n"
      "\n"
      "Levels: rule default < fa-check.toml [lints] < [lints.FAxxx] < the\n"
      "--allow/--warn/--deny options, in the order given. A comment\n"
      "'// fa-check: allow(FA702)' on a line or the line above silences it.\n"
      "\n"
      "Exit status: 0 no error-level finding; 1 error-level findings (or\n"
      "warnings with --deny-warnings); 2 usage, configuration or parse\n"
      "failure.\n",
      f);
}

void fc_cli_version(FILE *f) {
  CXString v = clang_getClangVersion();
  fprintf(f, "fa-check %d.%d.%d (%s)\n", FA_VERSION_MAJOR, FA_VERSION_MINOR,
          FA_VERSION_PATCH, clang_getCString(v));
  clang_disposeString(v);
}

/* The options that take a value. */
static const char *const valued[] = {"--check",          "-p",
                                     "--format",         "--deny",
                                     "--warn",           "--allow",
                                     "--config",         "-j",
                                     "--color",          "--extra-arg-before",
                                     "--extra-arg",      "--baseline",
                                     "--write-baseline", "--cache",
                                     "--changed-since",  "--export-fixes"};

/* Splits argv[*i] into an option name and its value. Returns the option's
 * canonical name (from `valued` or the flag itself) in *name and the value
 * in *value (NULL for flags); advances *i past a separate value. */
static int split_option(int argc, char **argv, int *i, const char **name,
                        const char **value) {
  const char *a = argv[*i];
  *value = NULL;
  for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++) {
    const char *o = valued[k];
    size_t n = strlen(o);
    if (strncmp(a, o, n) != 0)
      continue;
    if (a[n] == 0) {
      if (*i + 1 >= argc)
        return usage_error("option '%s' needs a value", o);
      *name = o;
      *value = argv[++*i];
      return 0;
    }
    if (a[n] == '=') {
      *name = o;
      *value = a + n + 1;
      return 0;
    }
    if (n == 2) { /* -pDIR, -j4 */
      *name = o;
      *value = a + n;
      return 0;
    }
  }
  *name = a;
  if (!strncmp(a, "--", 2) && strchr(a, '=')) {
    static const char *const flags[] = {
        "--all",     "--deny-warnings",  "--help",
        "--version", "--baseline-stale", "--fix"};
    for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++)
      if (!strncmp(a, flags[k], strlen(flags[k])) && a[strlen(flags[k])] == '=')
        return usage_error("option '%s' takes no value", flags[k]);
  }
  return 0;
}

static int add_family(fc_options_t *o, const char *v) {
  int f = fc_parse_family(v);
  if (f < 0)
    return usage_error("unknown check family '%s' (known: async-safety, "
                       "lifetime)",
                       v);
  if (!(fc_families_available() & (unsigned)f)) {
    fprintf(stderr,
            "fa-check: error: the %s checks are not available in this "
            "version\n",
            v);
    return FC_EXIT_FAILURE;
  }
  o->families |= (unsigned)f;
  return 0;
}

static int add_override(fc_options_t *o, const char *v, fc_level_t level) {
  int code;
  int fam = fc_parse_family(v);
  if (fam > 0) {
    code = -fam;
  } else {
    code = fc_parse_code(v);
    if (code < 0 || !fc_rule_find(code))
      return usage_error("unknown code or family '%s' (see 'fa-check list')",
                         v);
  }
  o->overrides =
      fc_xrealloc(o->overrides, (o->noverrides + 1) * sizeof(*o->overrides));
  o->overrides[o->noverrides].code = code;
  o->overrides[o->noverrides].level = level;
  o->noverrides++;
  return 0;
}

static int parse_jobs(fc_options_t *o, const char *v) {
  char *end;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (!*v || *end || errno || n < 0 || n > 1024)
    return usage_error("-j needs a number from 0 to 1024, not '%s'", v);
  o->jobs = (int)n;
  return 0;
}

static int parse_value_option(fc_options_t *o, const char *name,
                              const char *v) {
  if (!strcmp(name, "--check"))
    return add_family(o, v);
  if (!strcmp(name, "-p")) {
    if (!*v)
      return usage_error("%s", "-p needs a build directory");
    o->build_dir = v;
    return 0;
  }
  if (!strcmp(name, "--format")) {
    static const char *const fmts[] = {"human", "compact", "json", "sarif",
                                       "codequality"};
    for (int k = 0; k < 5; k++)
      if (!strcmp(v, fmts[k])) {
        o->format = (fc_format_t)k;
        o->format_given = 1;
        return 0;
      }
    return usage_error("unknown format '%s' (human, compact, json, sarif, "
                       "codequality)",
                       v);
  }
  if (!strcmp(name, "--deny"))
    return add_override(o, v, FC_LEVEL_ERROR);
  if (!strcmp(name, "--warn"))
    return add_override(o, v, FC_LEVEL_WARN);
  if (!strcmp(name, "--allow"))
    return add_override(o, v, FC_LEVEL_ALLOW);
  if (!strcmp(name, "--config")) {
    if (!*v)
      return usage_error("%s", "--config needs a file name");
    o->config_file = v;
    return 0;
  }
  if (!strcmp(name, "-j"))
    return parse_jobs(o, v);
  if (!strcmp(name, "--baseline") || !strcmp(name, "--write-baseline")) {
    if (!*v)
      return usage_error("%s needs a file name", name);
    *(name[2] == 'b' ? &o->baseline : &o->write_baseline) = v;
    return 0;
  }
  if (!strcmp(name, "--export-fixes")) {
    if (!*v)
      return usage_error("%s", "--export-fixes needs a file name");
    o->export_fixes = v;
    return 0;
  }
  if (!strcmp(name, "--changed-since")) {
    if (!*v)
      return usage_error("%s", "--changed-since needs a git revision");
    o->changed_since = v;
    return 0;
  }
  if (!strcmp(name, "--cache")) {
    if (!*v)
      return usage_error("%s", "--cache needs a directory");
    o->cache_dir = v;
    return 0;
  }
  if (!strncmp(name, "--extra-arg", 11)) {
    o->extra = fc_xrealloc(o->extra, (o->nextra + 1) * sizeof(*o->extra));
    o->extra[o->nextra].arg = v;
    o->extra[o->nextra++].before = !strcmp(name, "--extra-arg-before");
    return 0;
  }
  /* --color */
  if (!strcmp(v, "auto"))
    o->color = -1;
  else if (!strcmp(v, "always"))
    o->color = 1;
  else if (!strcmp(v, "never"))
    o->color = 0;
  else
    return usage_error("--color takes auto, always or never, not '%s'", v);
  return 0;
}

int fc_cli_parse(int argc, char **argv, fc_command_t *cmd, fc_options_t *o,
                 const char **arg) {
  memset(o, 0, sizeof(*o));
  o->format = FC_FORMAT_HUMAN;
  o->color = -1;
  o->jobs = 0;
  *cmd = FC_CMD_CHECK;
  *arg = NULL;
  o->files = fc_xrealloc(NULL, (size_t)(argc + 1) * sizeof(*o->files));

  int i = 1;
  if (argc > 1) {
    if (!strcmp(argv[1], "explain"))
      *cmd = FC_CMD_EXPLAIN, i = 2;
    else if (!strcmp(argv[1], "list"))
      *cmd = FC_CMD_LIST, i = 2;
    else if (!strcmp(argv[1], "init"))
      *cmd = FC_CMD_INIT, i = 2;
  }
  int all = 0;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      o->clang_args = (const char **)argv + i + 1;
      o->nclang_args = (size_t)(argc - i - 1);
      break;
    }
    if (a[0] != '-' || a[1] == 0) {
      if (*cmd == FC_CMD_EXPLAIN && !*arg) {
        *arg = a;
        continue;
      }
      if (*cmd != FC_CMD_CHECK)
        return usage_error("unexpected argument '%s'", a);
      o->files[o->nfiles++] = a;
      continue;
    }
    const char *name = a, *value = NULL;
    if (split_option(argc, argv, &i, &name, &value))
      return FC_EXIT_FAILURE;
    if (value) {
      if (parse_value_option(o, name, value))
        return FC_EXIT_FAILURE;
    } else if (!strcmp(name, "--all")) {
      all = 1;
    } else if (!strcmp(name, "--deny-warnings")) {
      o->deny_warnings = 1;
    } else if (!strcmp(name, "--baseline-stale")) {
      o->baseline_stale = 1;
    } else if (!strcmp(name, "--fix")) {
      o->fix = 1;
    } else if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
      *cmd = FC_CMD_HELP;
      return 0;
    } else if (!strcmp(name, "--version")) {
      *cmd = FC_CMD_VERSION;
      return 0;
    } else {
      return usage_error("unknown option '%s'", name);
    }
  }
  if (all)
    o->families |= fc_families_available();
  /* Run in a compiler's place, findings read like the compiler's. */
  if (!o->format_given && fc_is_compiler_call(o))
    o->format = FC_FORMAT_COMPACT;
  if (*cmd == FC_CMD_EXPLAIN && !*arg)
    return usage_error("%s", "explain needs a code, e.g. 'fa-check explain "
                             "FA701'");
  if (*cmd != FC_CMD_CHECK && o->nclang_args)
    return usage_error("%s", "'--' is only used when checking files");
  if (o->baseline_stale && !o->baseline)
    return usage_error("%s", "--baseline-stale needs --baseline FILE");
  if (o->baseline && o->write_baseline)
    return usage_error("%s", "--baseline and --write-baseline do not go "
                             "together");
  if (*cmd == FC_CMD_CHECK && !o->build_dir && !o->nfiles)
    return usage_error("%s", "no input: give FILES [-- CLANG_ARGS] or -p "
                             "BUILD_DIR");
  return 0;
}

void fc_cli_free(fc_options_t *o) {
  free(o->files);
  free(o->overrides);
  free(o->extra);
  o->extra = NULL;
  o->files = NULL;
  o->overrides = NULL;
}

/* ---- explain, list, init ----------------------------------------------- */

int fc_cmd_explain(const char *code) {
  int c = fc_parse_code(code);
  const fc_rule_t *r = c < 0 ? NULL : fc_rule_find(c);
  if (!r && c >= 0 && fc_explain_runtime(c))
    return FC_EXIT_OK;
  if (!r) {
    fprintf(stderr,
            "fa-check: error: unknown code '%s' (see 'fa-check list')\n", code);
    return FC_EXIT_FAILURE;
  }
  printf("%s: %s\n", r->name, r->title);
  if (!r->available) {
    printf("\nThis rule belongs to the %s checks, which are not available "
           "in this version yet.\n",
           fc_family_name(r->family));
    return FC_EXIT_OK;
  }
  printf("family: %s, default level: %s, precision: %s\n\n",
         fc_family_name(r->family), fc_level_name(r->default_level),
         r->precision);
  fputs(r->explain, stdout);
  if (r->explain_cxx)
    printf("\nIn C++:\n\n%s", r->explain_cxx);
  printf("\nhelp: %s\n", r->help);
  return FC_EXIT_OK;
}

int fc_cmd_list(unsigned families) {
  size_t n;
  const fc_rule_t *rules = fc_rules(&n);
  printf("%-7s %-8s %-13s %-10s %s\n", "code", "level", "family", "precision",
         "title");
  for (size_t i = 0; i < n; i++) {
    const fc_rule_t *r = &rules[i];
    if (!r->available || (families && !(families & r->family)))
      continue;
    printf("%-7s %-8s %-13s %-10s %s\n", r->name,
           fc_level_name(r->default_level), fc_family_name(r->family),
           r->precision, r->title);
  }
  return FC_EXIT_OK;
}

int fc_cmd_init(void) {
  const char *name = "fa-check.toml";
  int fd = open(name, O_WRONLY | O_CREAT | O_EXCL, 0666);
  if (fd < 0) {
    if (errno == EEXIST)
      fprintf(stderr,
              "fa-check: error: %s already exists; not overwriting it\n", name);
    else
      fprintf(stderr, "fa-check: error: cannot create %s: %s\n", name,
              strerror(errno));
    return FC_EXIT_FAILURE;
  }
  const char *text = fc_config_default_text();
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t w = write(fd, text + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      fprintf(stderr, "fa-check: error: cannot write %s: %s\n", name,
              strerror(errno));
      close(fd);
      return FC_EXIT_FAILURE;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0) {
    fprintf(stderr, "fa-check: error: cannot write %s: %s\n", name,
            strerror(errno));
    return FC_EXIT_FAILURE;
  }
  printf("wrote %s\n", name);
  return FC_EXIT_OK;
}
