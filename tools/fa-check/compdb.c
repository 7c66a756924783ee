/* The translation units to check: from compile_commands.json (-p BUILD_DIR,
 * read through libclang's compilation-database API) or from FILES given on
 * the command line with the clang arguments after `--`.
 *
 * A compile command is turned into arguments for libclang: the compiler,
 * the output, dependency-file options, the source file itself and every
 * warning option are dropped (only parse errors matter here), and so are
 * the GCC options clang rejects or does not know (the list below; the driver
 * also drops any other option clang reports as unknown, and falls back to
 * the preprocessor options alone when clang refuses a command line). Relative
 * paths stay relative to the command's directory through -working-directory.
 */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <clang-c/CXCompilationDatabase.h>
#include <jansson.h>

/* ---- which arguments are dropped --------------------------------------- */

/* Options that take the next argument with them when written alone. */
static const char *const drop_with_value[] = {"-o",  "-MF", "-MT",
                                              "-MQ", "-MJ", "--param"};

/* Dropped when the argument is exactly one of these. */
static const char *const drop_exact[] = {
    "-c", "-S", "-E", "-pedantic", "-pedantic-errors", "-pipe",
};

/* Dropped when the argument starts with one of these. */
static const char *const drop_prefix[] = {
    /* Every warning option, -Werror, -Wp,-MD,file and -Wl,... */
    "-W",
    /* -ofile; dependency files: -MD, -MMD, -MFfile, -MTtarget... */
    "-o", "-M",
    /* GCC options that clang 14 rejects as unknown or reports as unused or
     * unsupported; they change code generation only. */
    "--param=", "-fno-tree-", "-ftree-", "-fno-ipa-", "-fipa-",
    "-fconserve-stack", "-fno-conserve-stack", "-fvar-tracking",
    "-fno-var-tracking", "-fallow-store-data-races",
    "-fno-allow-store-data-races", "-fcompare-debug", "-fzero-call-used-regs",
    "-fcallgraph-info", "-fcode-hoisting", "-fno-code-hoisting",
    "-fpartial-inlining", "-fno-partial-inlining", "-flifetime-dse",
    "-fno-lifetime-dse", "-fearly-inlining", "-fno-early-inlining",
    "-fcrossjumping", "-fno-crossjumping", "-finline-functions-called-once",
    "-fno-inline-functions-called-once", "-freorder-blocks",
    "-fno-reorder-blocks", "-fmerge-constants", "-fgcse", "-fno-gcse",
    "-fschedule-insns", "-fno-schedule-insns", "-flive-patching", "-fhardened",
    "-fanalyzer", "-fplugin", "-fmax-errors=", "-flto", "-fsave-temps",
    "-save-temps", "-specs=", "-mrecord-mcount", "-mindirect-branch",
    "-mfunction-return", "-mpreferred-stack-boundary=", "-mno-fp-ret-in-387",
    "-mskip-rax-setup"};

/* Nonzero when a compile-command argument is dropped; *skip is the number
 * of following arguments it takes with it. */
static int drop_arg(const char *arg, int *skip) {
  *skip = 0;
  for (size_t i = 0; i < sizeof(drop_with_value) / sizeof(*drop_with_value);
       i++)
    if (!strcmp(arg, drop_with_value[i])) {
      *skip = 1;
      return 1;
    }
  for (size_t i = 0; i < sizeof(drop_exact) / sizeof(*drop_exact); i++)
    if (!strcmp(arg, drop_exact[i]))
      return 1;
  for (size_t i = 0; i < sizeof(drop_prefix) / sizeof(*drop_prefix); i++)
    if (!strncmp(arg, drop_prefix[i], strlen(drop_prefix[i])))
      return 1;
  return 0;
}

/* ---- paths ------------------------------------------------------------- */

/* `path` made absolute against `dir` and normalised (malloc'd). */
static char *absolute(const char *dir, const char *path) {
  char *r;
  if (path[0] == '/' || !dir || !*dir) {
    r = fc_xstrdup(path);
  } else {
    size_t a = strlen(dir), b = strlen(path);
    r = fc_xrealloc(NULL, a + b + 2);
    memcpy(r, dir, a);
    r[a] = '/';
    memcpy(r + a + 1, path, b + 1);
  }
  if (r[0] == '/')
    fc_path_normalise(r);
  return r;
}

/* The canonical name of an existing file (symbolic links resolved), or the
 * normalised absolute name when it cannot be resolved (malloc'd). */
static char *canonical(const char *dir, const char *path) {
  char *abs = absolute(dir, path);
  char *real = realpath(abs, NULL);
  if (!real)
    return abs;
  free(abs);
  return real;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* C and C++ sources and headers; assembler and other languages in a compile
 * database are left out. */
static int is_c_family(const char *file) {
  static const char *const exts[] = {".c",   ".h",   ".cc",  ".cpp",
                                     ".cxx", ".c++", ".hpp", ".hh",
                                     ".C",   ".i",   ".m"};
  const char *dot = strrchr(base_name(file), '.');
  if (!dot)
    return 0;
  for (size_t i = 0; i < sizeof(exts) / sizeof(*exts); i++)
    if (!strcmp(dot, exts[i]))
      return 1;
  return 0;
}

/* ---- the input list ----------------------------------------------------- */

static fc_input_t *input_add(fc_inputs_t *in, char *file) {
  if (in->n == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 16;
    in->v = fc_xrealloc(in->v, in->cap * sizeof(*in->v));
  }
  fc_input_t *t = &in->v[in->n++];
  memset(t, 0, sizeof(*t));
  t->file = file;
  return t;
}

static void arg_add(fc_input_t *t, const char *a) {
  t->args = fc_xrealloc(t->args, (t->nargs + 1) * sizeof(*t->args));
  t->args[t->nargs++] = fc_xstrdup(a);
}

void fc_inputs_free(fc_inputs_t *in) {
  for (size_t i = 0; i < in->n; i++) {
    for (size_t j = 0; j < in->v[i].nargs; j++)
      free(in->v[i].args[j]);
    free(in->v[i].args);
    free(in->v[i].file);
  }
  free(in->v);
  memset(in, 0, sizeof(*in));
}

static int have_input(const fc_inputs_t *in, const char *file) {
  for (size_t i = 0; i < in->n; i++)
    if (!strcmp(in->v[i].file, file))
      return 1;
  return 0;
}

/* --extra-arg-before (before) or --extra-arg values, as clang-tidy takes
 * them. A driver mode is left out: libclang parses as the GCC driver. */
static void extra_args(fc_input_t *t, const fc_options_t *o, int before) {
  for (size_t i = 0; i < o->nextra; i++)
    if (o->extra[i].before == before &&
        strncmp(o->extra[i].arg, "--driver-mode=", 14) != 0)
      arg_add(t, o->extra[i].arg);
}

int fc_is_compiler_call(const fc_options_t *o) {
  return o->nclang_args > 0 && o->clang_args[0][0] != '-';
}

/* SOURCE -- COMPILER ARGS..., the shape of CMake's <LANG>_CLANG_TIDY: the
 * compile command is filtered as a compile-database command is (the
 * compiler, the output, dependency files, warnings, GCC-only options and
 * the source file go). Relative paths keep the current directory, where
 * the build runs the compiler. */
static void compiler_args(fc_input_t *t, const char *const *args, size_t n) {
  for (size_t i = 1; i < n; i++) {
    int skip = 0, drop = drop_arg(args[i], &skip);
    if (!drop && args[i][0] != '-' && is_c_family(args[i])) {
      char *real = canonical(NULL, args[i]);
      drop = !strcmp(real, t->file);
      free(real);
    }
    if (!drop)
      arg_add(t, args[i]);
    i += (size_t)skip;
  }
}

/* FILES -- ARGS: each file with the same arguments. */
static void collect_files(const fc_options_t *o, fc_inputs_t *in,
                          fc_failure_list_t *fail) {
  for (size_t i = 0; i < o->nfiles; i++) {
    struct stat st;
    if (stat(o->files[i], &st) != 0) {
      fc_failure_add(fail, o->files[i], "cannot read: %s", strerror(errno));
      continue;
    }
    if (!S_ISREG(st.st_mode)) {
      fc_failure_add(fail, o->files[i], "not a regular file");
      continue;
    }
    char *file = canonical(NULL, o->files[i]);
    if (file[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd))) {
        char *abs = absolute(cwd, file);
        free(file);
        file = abs;
      }
    }
    if (have_input(in, file)) {
      free(file);
      continue;
    }
    fc_input_t *t = input_add(in, file);
    extra_args(t, o, 1);
    if (fc_is_compiler_call(o))
      compiler_args(t, o->clang_args, o->nclang_args);
    else
      for (size_t j = 0; j < o->nclang_args; j++)
        arg_add(t, o->clang_args[j]);
    extra_args(t, o, 0);
  }
}

/* Checks the shape of compile_commands.json with Jansson first, so that a
 * broken file gets a message with a line and column. */
static int validate_json(const char *path) {
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) {
    if (err.line > 0)
      fprintf(stderr,
              "fa-check: error: %s:%d:%d: not a valid compile database: %s\n",
              path, err.line, err.column, err.text);
    else
      fprintf(stderr, "fa-check: error: %s: not a valid compile database: %s\n",
              path, err.text);
    return -1;
  }
  int rc = 0;
  if (!json_is_array(root)) {
    fprintf(stderr,
            "fa-check: error: %s: not a valid compile database: expected an "
            "array of commands\n",
            path);
    rc = -1;
  }
  for (size_t i = 0; !rc && i < json_array_size(root); i++) {
    json_t *e = json_array_get(root, i);
    json_t *args = json_object_get(e, "arguments");
    const char *what = NULL;
    if (!json_is_object(e))
      what = "is not an object";
    else if (!json_is_string(json_object_get(e, "directory")))
      what = "has no \"directory\" string";
    else if (!json_is_string(json_object_get(e, "file")))
      what = "has no \"file\" string";
    else if (!json_is_string(json_object_get(e, "command")) &&
             !(json_is_array(args) && json_array_size(args) > 0))
      what = "has neither a \"command\" string nor an \"arguments\" array";
    for (size_t k = 0;
         !what && json_is_array(args) && k < json_array_size(args); k++)
      if (!json_is_string(json_array_get(args, k)))
        what = "has an argument that is not a string";
    if (what) {
      fprintf(stderr,
              "fa-check: error: %s: not a valid compile database: entry %zu "
              "%s\n",
              path, i + 1, what);
      rc = -1;
    }
  }
  json_decref(root);
  return rc;
}

/* One compile command into `t`'s arguments. */
static void command_args(fc_input_t *t, CXCompileCommand cmd, const char *dir,
                         const char *file, const fc_options_t *o) {
  CXString fname = clang_CompileCommand_getFilename(cmd);
  const char *raw = clang_getCString(fname);
  char *raw_abs = absolute(dir, raw ? raw : "");
  const char *base = base_name(file);
  size_t wdlen = strlen(dir) + sizeof("-working-directory=");
  char *wd = fc_xrealloc(NULL, wdlen);
  snprintf(wd, wdlen, "-working-directory=%s", dir);
  arg_add(t, wd);
  free(wd);
  extra_args(t, o, 1);
  unsigned n = clang_CompileCommand_getNumArgs(cmd);
  for (unsigned i = 1; i < n; i++) { /* 0 is the compiler */
    CXString s = clang_CompileCommand_getArg(cmd, i);
    const char *a = clang_getCString(s);
    int skip = 0, drop = !a || drop_arg(a, &skip);
    if (!drop && raw && !strcmp(a, raw))
      drop = 1;
    if (!drop && a[0] != '-' && !strcmp(base_name(a), base)) {
      char *abs = absolute(dir, a);
      char *real = canonical(dir, a);
      drop = !strcmp(abs, raw_abs) || !strcmp(real, file);
      free(abs);
      free(real);
    }
    if (!drop)
      arg_add(t, a);
    clang_disposeString(s);
    i += (unsigned)skip;
  }
  for (size_t j = 0; j < o->nclang_args; j++)
    arg_add(t, o->clang_args[j]);
  extra_args(t, o, 0);
  free(raw_abs);
  clang_disposeString(fname);
}

static int collect_compdb(const fc_options_t *o, fc_inputs_t *in,
                          fc_failure_list_t *fail) {
  struct stat st;
  if (stat(o->build_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "fa-check: error: %s: no such build directory\n",
            o->build_dir);
    return -1;
  }
  size_t dlen = strlen(o->build_dir);
  char *path = fc_xrealloc(NULL, dlen + sizeof("/compile_commands.json"));
  memcpy(path, o->build_dir, dlen);
  strcpy(path + dlen, "/compile_commands.json");
  if (stat(path, &st) != 0) {
    fprintf(stderr,
            "fa-check: error: no compile_commands.json in %s (CMake writes "
            "one with -DCMAKE_EXPORT_COMPILE_COMMANDS=ON)\n",
            o->build_dir);
    free(path);
    return -1;
  }
  if (validate_json(path)) {
    free(path);
    return -1;
  }
  CXCompilationDatabase_Error err;
  CXCompilationDatabase db =
      clang_CompilationDatabase_fromDirectory(o->build_dir, &err);
  if (err != CXCompilationDatabase_NoError || !db) {
    fprintf(stderr, "fa-check: error: %s: cannot load the compile database\n",
            path);
    if (db)
      clang_CompilationDatabase_dispose(db);
    free(path);
    return -1;
  }
  CXCompileCommands cmds = clang_CompilationDatabase_getAllCompileCommands(db);
  unsigned n = cmds ? clang_CompileCommands_getSize(cmds) : 0;

  /* The files asked for, canonical, and whether each was found. */
  char **want = fc_xrealloc(NULL, (o->nfiles + 1) * sizeof(*want));
  char *found = fc_xrealloc(NULL, o->nfiles + 1);
  for (size_t i = 0; i < o->nfiles; i++) {
    want[i] = canonical(NULL, o->files[i]);
    found[i] = 0;
  }
  size_t considered = 0;
  for (unsigned k = 0; k < n; k++) {
    CXCompileCommand cmd = clang_CompileCommands_getCommand(cmds, k);
    CXString dirs = clang_CompileCommand_getDirectory(cmd);
    CXString fname = clang_CompileCommand_getFilename(cmd);
    const char *dir = clang_getCString(dirs);
    const char *raw = clang_getCString(fname);
    char *file = canonical(dir, raw ? raw : "");
    int keep = is_c_family(file);
    if (keep && o->nfiles) {
      keep = 0;
      for (size_t i = 0; i < o->nfiles; i++)
        if (!strcmp(want[i], file))
          keep = found[i] = 1;
    }
    if (keep)
      considered++;
    if (keep && have_input(in, file)) /* a file built twice: once is enough */
      keep = 0;
    if (keep && stat(file, &st) != 0) {
      fc_failure_add(fail, file, "cannot read: %s (listed in %s)",
                     strerror(errno), path);
      keep = 0;
    } else if (keep && !S_ISREG(st.st_mode)) {
      fc_failure_add(fail, file, "not a regular file (listed in %s)", path);
      keep = 0;
    }
    if (keep) {
      fc_input_t *t = input_add(in, file);
      command_args(t, cmd, dir ? dir : "", file, o);
    } else {
      free(file);
    }
    clang_disposeString(dirs);
    clang_disposeString(fname);
  }
  for (size_t i = 0; i < o->nfiles; i++) {
    if (!found[i])
      fc_failure_add(fail, o->files[i], "not in %s", path);
    free(want[i]);
  }
  free(want);
  free(found);
  if (cmds)
    clang_CompileCommands_dispose(cmds);
  clang_CompilationDatabase_dispose(db);
  int rc = 0;
  if (!o->nfiles && !considered) {
    fprintf(stderr, "fa-check: error: %s lists no C source file\n", path);
    rc = -1;
  }
  free(path);
  return rc;
}

int fc_inputs_collect(const fc_options_t *o, fc_inputs_t *in,
                      fc_failure_list_t *fail) {
  memset(in, 0, sizeof(*in));
  if (o->build_dir)
    return collect_compdb(o, in, fail);
  collect_files(o, in, fail);
  return 0;
}
