/* --changed-since REV: the files git reports as changed since a revision
 * (committed, staged, in the work tree, or new and not ignored), and
 * whether a translation unit reads one of them.
 *
 * git runs as a child process (no shell), in the current directory. A unit
 * reads a changed file when its source is one, or any header it includes:
 * the include list comes from the result cache when it holds the unit, and
 * otherwise from a parse without function bodies, much cheaper than the
 * full one. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs git with `argv` (argv[0] is "git"); its standard output, NUL
 * terminated, in *out (malloc'd). Returns git's exit status, or -1 when it
 * could not run. Its standard error goes to ours. */
static int run_git(char *const argv[], char **out, size_t *len) {
  int fd[2];
  *out = NULL;
  *len = 0;
  if (pipe(fd) != 0)
    return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&fa, fd[0]);
  pid_t pid;
  int rc = posix_spawnp(&pid, "git", &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd[1]);
  if (rc != 0) {
    close(fd[0]);
    return -1;
  }
  size_t cap = 4096, n = 0;
  char *buf = fc_xrealloc(NULL, cap);
  for (;;) {
    if (cap - n < 2)
      buf = fc_xrealloc(buf, cap *= 2);
    ssize_t got = read(fd[0], buf + n, cap - n - 1);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    n += (size_t)got;
  }
  close(fd[0]);
  buf[n] = 0;
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  *out = buf;
  *len = n;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void add_path(fc_changed_t *c, const char *top, const char *name) {
  size_t n = strlen(top) + strlen(name) + 2;
  char *abs = fc_xrealloc(NULL, n);
  snprintf(abs, n, "%s/%s", top, name);
  char *real = realpath(abs, NULL);
  if (!real)
    fc_path_normalise(abs);
  c->v = fc_xrealloc(c->v, (c->n + 1) * sizeof(*c->v));
  c->v[c->n++] = fc_intern(real ? real : abs);
  free(real);
  free(abs);
}

/* Adds the NUL-separated names of `list` (relative to `top`). */
static void add_list(fc_changed_t *c, const char *top, const char *list,
                     size_t len) {
  for (size_t i = 0; i < len;) {
    size_t k = strlen(list + i);
    if (k)
      add_path(c, top, list + i);
    i += k + 1;
  }
}

int fc_changed_load(const char *rev, fc_changed_t *c) {
  memset(c, 0, sizeof(*c));
  char *out = NULL, *top = NULL;
  size_t len;
  int rc = -1;
  char *toplevel[] = {"git", "rev-parse", "--show-toplevel", NULL};
  if (run_git(toplevel, &top, &len) != 0 || !len) {
    fprintf(stderr, "fa-check: error: --changed-since needs a git work tree "
                    "(git rev-parse --show-toplevel failed)\n");
    goto out;
  }
  while (len && (top[len - 1] == '\n' || top[len - 1] == '\r'))
    top[--len] = 0;
  size_t n = strlen(rev) + sizeof("^{commit}");
  char *spec = fc_xrealloc(NULL, n);
  snprintf(spec, n, "%s^{commit}", rev);
  char *verify[] = {"git", "rev-parse", "--verify", "--quiet", spec, NULL};
  int st = run_git(verify, &out, &len);
  free(spec);
  free(out);
  out = NULL;
  if (st != 0) {
    fprintf(stderr,
            "fa-check: error: --changed-since: '%s' is not a "
            "revision of this repository\n",
            rev);
    goto out;
  }
  char *diff[] = {"git", "-C",           top,         "diff", "--name-only",
                  "-z",  "--no-renames", (char *)rev, "--",   NULL};
  if (run_git(diff, &out, &len) != 0) {
    fprintf(stderr, "fa-check: error: --changed-since: git diff %s failed\n",
            rev);
    goto out;
  }
  add_list(c, top, out, len);
  free(out);
  out = NULL;
  char *untracked[] = {"git",      "-C",       top,
                       "ls-files", "--others", "--exclude-standard",
                       "-z",       NULL};
  if (run_git(untracked, &out, &len) != 0) {
    fprintf(stderr, "fa-check: error: --changed-since: git ls-files failed\n");
    goto out;
  }
  add_list(c, top, out, len);
  rc = 0;
out:
  free(out);
  free(top);
  if (rc)
    fc_changed_free(c);
  return rc;
}

void fc_changed_free(fc_changed_t *c) {
  free(c->v);
  memset(c, 0, sizeof(*c));
}

int fc_changed_has(const fc_changed_t *c, const char *file) {
  for (size_t i = 0; i < c->n; i++)
    if (c->v[i] == file)
      return 1;
  return 0;
}

typedef struct visit_s {
  const fc_changed_t *c;
  int hit;
} visit_t;

static void visit(CXFile file, CXSourceLocation *stack, unsigned n,
                  CXClientData data) {
  (void)stack;
  (void)n;
  visit_t *v = data;
  const char *path = v->hit ? NULL : fc_file_path(file);
  if (path)
    v->hit = fc_changed_has(v->c, path);
}

int fc_changed_unit(CXIndex idx, const fc_input_t *in, const fc_changed_t *c) {
  if (fc_changed_has(c, fc_intern(in->file)))
    return 1;
  CXTranslationUnit tu = NULL;
  enum CXErrorCode ec = clang_parseTranslationUnit2(
      idx, in->file, (const char *const *)in->args, (int)in->nargs, NULL, 0,
      CXTranslationUnit_SkipFunctionBodies | CXTranslationUnit_Incomplete, &tu);
  if (ec != CXError_Success || !tu)
    return 1; /* unknown: the full check will say what is wrong */
  visit_t v = {c, 0};
  clang_getInclusions(tu, visit, &v);
  clang_disposeTranslationUnit(tu);
  return v.hit;
}
