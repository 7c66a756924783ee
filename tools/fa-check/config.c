/* fa-check.toml: finding it, reading it, and what `fa-check init` writes.
 *
 * Debian has no C TOML library, so this is a small strict parser for the
 * part of TOML the file needs: comments, bare and quoted keys, dotted keys
 * and table headers, basic strings (with escapes) and literal strings,
 * booleans, integers and arrays (over several lines, trailing comma
 * allowed). Multi-line strings, inline tables, arrays of tables, floats and
 * dates are refused with a message, as is anything outside the schema:
 *
 *   [lints]          async-safety / lifetime = "allow" | "warn" | "deny"
 *   [lints.FA702]    level = "allow" | "warn" | "error" ("deny" accepted)
 *   [async]          spawn = ["name:N", ...], await / frame / async = [...]
 *   [lifetime]       begin / end = [...]
 *
 * Every problem is printed as FILE:LINE: error: MESSAGE and stops the read.
 * Input may be any bytes: every read is bounded by the end of the buffer. */
#include "check.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- the configuration object ----------------------------------------- */

void fc_config_init(fc_config_t *c) {
  memset(c, 0, sizeof(*c));
  for (size_t i = 0; i < sizeof(c->family_level) / sizeof(c->family_level[0]);
       i++)
    c->family_level[i] = -1;
  for (size_t i = 0; i < sizeof(c->code_level) / sizeof(c->code_level[0]); i++)
    c->code_level[i] = -1;
}

static void names_free(fc_names_t *n) {
  for (size_t i = 0; i < n->n; i++)
    free(n->v[i]);
  free(n->v);
  memset(n, 0, sizeof(*n));
}

static void names_add(fc_names_t *n, const char *s) {
  if (n->n == n->cap) {
    n->cap = n->cap ? n->cap * 2 : 8;
    n->v = fc_xrealloc(n->v, n->cap * sizeof(*n->v));
  }
  n->v[n->n++] = fc_xstrdup(s);
}

void fc_config_free(fc_config_t *c) {
  free(c->path);
  for (size_t i = 0; i < c->nspawn; i++)
    free(c->spawn[i].name);
  free(c->spawn);
  names_free(&c->await);
  names_free(&c->frame);
  names_free(&c->async);
  names_free(&c->begin);
  names_free(&c->end);
  fc_config_init(c);
}

char *fc_config_find(const char *dir) {
  if (!dir || dir[0] != '/')
    return NULL;
  static const char leaf[] = "/fa-check.toml";
  size_t n = strlen(dir);
  char *path = fc_xrealloc(NULL, n + sizeof(leaf));
  memcpy(path, dir, n);
  for (;;) {
    while (n > 0 && path[n - 1] == '/') /* "/" becomes "" */
      n--;
    memcpy(path + n, leaf, sizeof(leaf));
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      return path;
    if (n == 0)
      break;
    while (n > 0 && path[n - 1] != '/') /* up one directory */
      n--;
  }
  free(path);
  return NULL;
}

const char *fc_config_default_text(void) {
  return "# fa-check.toml: configuration of the fa-check static checker.\n"
         "# fa-check reads the nearest fa-check.toml from the current\n"
         "# directory upwards, or the file given with --config.\n"
         "\n"
         "[lints]\n"
         "# The level of a whole family: \"allow\", \"warn\" or \"deny\".\n"
         "# async-safety = \"deny\"\n"
         "\n"
         "# The level of one rule (\"allow\", \"warn\" or \"error\"); it\n"
         "# overrides the family. See `fa-check list` for the codes.\n"
         "# [lints.FA702]\n"
         "# level = \"warn\"\n"
         "\n"
         "[async]\n"
         "# Functions that start a task: \"name\" or \"name:N\", N being the\n"
         "# position (from 1) of the argument handed to the task.\n"
         "spawn = []\n"
         "# Functions whose calls are suspension points.\n"
         "await = []\n"
         "# Functions that return frame memory.\n"
         "frame = []\n"
         "# Functions that run as async code (like FA_ASYNC).\n"
         "async = []\n"
         "\n"
         "[lifetime]\n"
         "# Functions that begin (end) a frame for their caller, like\n"
         "# FA_BEGINS_FRAME (FA_ENDS_FRAME).\n"
         "begin = []\n"
         "end = []\n";
}

/* ---- the parser -------------------------------------------------------- */

enum { V_STRING, V_BOOL, V_INT, V_ARRAY };

typedef struct value_s {
  int type;
  unsigned line;
  char *str;         /* V_STRING */
  long long num;     /* V_BOOL, V_INT */
  struct value_s *v; /* V_ARRAY items */
  size_t n;
} value_t;

typedef struct path_s {
  char **v;
  size_t n;
} path_t;

typedef struct parser_s {
  const char *file;
  const char *p, *end;
  unsigned line;
  fc_config_t *cfg;
  path_t table; /* the current [table] */
  path_t *seen; /* keys and table headers defined so far */
  size_t nseen;
} parser_t;

static int perr(parser_t *ps, unsigned line, const char *fmt, ...)
    FC_PRINTF(3, 4);

static int perr(parser_t *ps, unsigned line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s:%u: error: ", ps->file, line);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return -1;
}

static void path_free(path_t *p) {
  for (size_t i = 0; i < p->n; i++)
    free(p->v[i]);
  free(p->v);
  p->v = NULL;
  p->n = 0;
}

static void path_push(path_t *p, char *s) {
  p->v = fc_xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
  p->v[p->n++] = s;
}

static void value_free(value_t *v) {
  free(v->str);
  for (size_t i = 0; i < v->n; i++)
    value_free(&v->v[i]);
  free(v->v);
  memset(v, 0, sizeof(*v));
}

/* Path display for messages: a.b.c (bounded). */
static const char *path_str(const path_t *p, char *buf, size_t size) {
  size_t w = 0;
  buf[0] = 0;
  for (size_t i = 0; i < p->n && w + 1 < size; i++) {
    int k = snprintf(buf + w, size - w, "%s%s", i ? "." : "", p->v[i]);
    if (k < 0)
      break;
    w += (size_t)k;
  }
  return buf;
}

static int peek(const parser_t *ps) {
  return ps->p < ps->end ? (unsigned char)*ps->p : -1;
}

static int peek_at(const parser_t *ps, size_t k) {
  return ps->end - ps->p > (ptrdiff_t)k ? (unsigned char)ps->p[k] : -1;
}

static void skip_blank(parser_t *ps) {
  while (peek(ps) == ' ' || peek(ps) == '\t')
    ps->p++;
}

/* Skips a comment to the end of its line (the newline is left). */
static int skip_comment(parser_t *ps) {
  if (peek(ps) != '#')
    return 0;
  while (ps->p < ps->end && *ps->p != '\n') {
    unsigned char c = (unsigned char)*ps->p;
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
      return perr(ps, ps->line, "control character in a comment");
    ps->p++;
  }
  return 0;
}

/* Consumes the end of a line (a newline, CRLF or the end of the file). */
static int end_of_line(parser_t *ps) {
  skip_blank(ps);
  if (skip_comment(ps))
    return -1;
  int c = peek(ps);
  if (c == -1)
    return 0;
  if (c == '\r' && peek_at(ps, 1) == '\n')
    ps->p++, c = '\n';
  if (c == '\n') {
    ps->p++;
    ps->line++;
    return 0;
  }
  if (c == '\r')
    return perr(ps, ps->line, "carriage return without a line feed");
  return perr(ps, ps->line, "unexpected '%c' after the value; one key per line",
              c >= 0x20 && c < 0x7f ? c : '?');
}

/* Skips blanks, comments and newlines (inside arrays). */
static int skip_space_lines(parser_t *ps) {
  for (;;) {
    skip_blank(ps);
    if (skip_comment(ps))
      return -1;
    int c = peek(ps);
    if (c == '\r' && peek_at(ps, 1) == '\n') {
      ps->p += 2;
      ps->line++;
    } else if (c == '\n') {
      ps->p++;
      ps->line++;
    } else {
      return 0;
    }
  }
}

/* A growable byte buffer for strings. */
typedef struct buf_s {
  char *s;
  size_t n, cap;
} buf_t;

static void buf_put(buf_t *b, char c) {
  if (b->n + 2 > b->cap) {
    b->cap = b->cap ? b->cap * 2 : 32;
    b->s = fc_xrealloc(b->s, b->cap);
  }
  b->s[b->n++] = c;
  b->s[b->n] = 0;
}

static void buf_utf8(buf_t *b, uint32_t cp) {
  if (cp < 0x80) {
    buf_put(b, (char)cp);
  } else if (cp < 0x800) {
    buf_put(b, (char)(0xc0 | (cp >> 6)));
    buf_put(b, (char)(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    buf_put(b, (char)(0xe0 | (cp >> 12)));
    buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
    buf_put(b, (char)(0x80 | (cp & 0x3f)));
  } else {
    buf_put(b, (char)(0xf0 | (cp >> 18)));
    buf_put(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
    buf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
    buf_put(b, (char)(0x80 | (cp & 0x3f)));
  }
}

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* A basic "..." or literal '...' string on one line; *out is malloc'd. */
static int parse_string(parser_t *ps, char **out) {
  int quote = peek(ps);
  if (peek_at(ps, 1) == quote && peek_at(ps, 2) == quote)
    return perr(ps, ps->line,
                "multi-line strings are not used in fa-check.toml");
  ps->p++;
  buf_t b = {0};
  buf_put(&b, 0);
  b.n = 0;
  for (;;) {
    int c = peek(ps);
    if (c == -1 || c == '\n' || c == '\r') {
      free(b.s);
      return perr(ps, ps->line, "unterminated string");
    }
    ps->p++;
    if (c == quote)
      break;
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      free(b.s);
      return perr(ps, ps->line, "control character in a string");
    }
    if (c != '\\' || quote == '\'') {
      buf_put(&b, (char)c);
      continue;
    }
    int e = peek(ps);
    ps->p++;
    switch (e) {
    case 'b':
      buf_put(&b, '\b');
      break;
    case 't':
      buf_put(&b, '\t');
      break;
    case 'n':
      buf_put(&b, '\n');
      break;
    case 'f':
      buf_put(&b, '\f');
      break;
    case 'r':
      buf_put(&b, '\r');
      break;
    case '"':
      buf_put(&b, '"');
      break;
    case '\\':
      buf_put(&b, '\\');
      break;
    case 'u':
    case 'U': {
      int digits = e == 'u' ? 4 : 8;
      uint32_t cp = 0;
      for (int k = 0; k < digits; k++) {
        int h = hexval(peek(ps));
        if (h < 0) {
          free(b.s);
          return perr(ps, ps->line, "\\%c needs %d hexadecimal digits", e,
                      digits);
        }
        cp = cp * 16 + (uint32_t)h;
        ps->p++;
      }
      if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        free(b.s);
        return perr(ps, ps->line, "invalid Unicode escape");
      }
      buf_utf8(&b, cp);
      break;
    }
    default:
      free(b.s);
      if (e == -1)
        return perr(ps, ps->line, "unterminated string");
      return perr(ps, ps->line, "invalid escape '\\%c' in a string",
                  e >= 0x20 && e < 0x7f ? e : '?');
    }
  }
  *out = b.s;
  return 0;
}

static int is_bare(int c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* One key part: bare or quoted. */
static int parse_key_part(parser_t *ps, char **out) {
  int c = peek(ps);
  if (c == '"' || c == '\'') {
    if (parse_string(ps, out))
      return -1;
    for (const char *s = *out; *s; s++)
      if ((unsigned char)*s < 0x20) {
        free(*out);
        *out = NULL;
        return perr(ps, ps->line, "control character in a key");
      }
    return 0;
  }
  const char *start = ps->p;
  while (is_bare(peek(ps)))
    ps->p++;
  if (ps->p == start) {
    if (c == -1 || c == '\n' || c == '\r')
      return perr(ps, ps->line, "expected a key");
    return perr(ps, ps->line, "expected a key, found '%c'",
                c >= 0x20 && c < 0x7f ? c : '?');
  }
  size_t n = (size_t)(ps->p - start);
  *out = fc_xrealloc(NULL, n + 1);
  memcpy(*out, start, n);
  (*out)[n] = 0;
  return 0;
}

/* A dotted key: part (. part)*. */
static int parse_key(parser_t *ps, path_t *key) {
  for (;;) {
    skip_blank(ps);
    char *part;
    if (parse_key_part(ps, &part))
      return -1;
    path_push(key, part);
    skip_blank(ps);
    if (peek(ps) != '.')
      return 0;
    ps->p++;
  }
}

static int parse_value(parser_t *ps, value_t *v, int in_array);

static int parse_array(parser_t *ps, value_t *v) {
  v->type = V_ARRAY;
  ps->p++; /* [ */
  for (;;) {
    if (skip_space_lines(ps))
      return -1;
    if (peek(ps) == ']') {
      ps->p++;
      return 0;
    }
    v->v = fc_xrealloc(v->v, (v->n + 1) * sizeof(*v->v));
    value_t *item = &v->v[v->n];
    memset(item, 0, sizeof(*item));
    v->n++;
    if (parse_value(ps, item, 1))
      return -1;
    if (skip_space_lines(ps))
      return -1;
    int c = peek(ps);
    if (c == ',') {
      ps->p++;
      continue;
    }
    if (c == ']') {
      ps->p++;
      return 0;
    }
    if (c == -1)
      return perr(ps, v->line, "unterminated array");
    return perr(ps, ps->line, "expected ',' or ']' in the array");
  }
}

static int parse_int(parser_t *ps, value_t *v) {
  const char *s = ps->p;
  int neg = 0;
  if (*s == '+' || *s == '-')
    neg = *s++ == '-';
  long long n = 0;
  int digits = 0, prev_digit = 0;
  while (s < ps->end &&
         (is_bare((unsigned char)*s) || *s == '.' || *s == ':' || *s == '+')) {
    if (*s >= '0' && *s <= '9') {
      if (n > (LLONG_MAX - 9) / 10)
        return perr(ps, ps->line, "integer out of range");
      n = n * 10 + (*s - '0');
      digits++;
      prev_digit = 1;
    } else if (*s == '_' && prev_digit && s + 1 < ps->end && s[1] >= '0' &&
               s[1] <= '9') {
      prev_digit = 0;
    } else {
      return perr(ps, ps->line,
                  "unsupported value: only strings, arrays of strings, "
                  "integers and booleans are used in fa-check.toml");
    }
    s++;
  }
  if (!digits)
    return perr(ps, ps->line, "expected a value");
  if (digits > 1 && ps->p[neg || ps->p[0] == '+'] == '0')
    return perr(ps, ps->line, "leading zeros are not allowed in integers");
  v->type = V_INT;
  v->num = neg ? -n : n;
  ps->p = s;
  return 0;
}

static int parse_value(parser_t *ps, value_t *v, int in_array) {
  v->line = ps->line;
  int c = peek(ps);
  if (c == '"' || c == '\'') {
    v->type = V_STRING;
    return parse_string(ps, &v->str);
  }
  if (c == '[') {
    if (in_array)
      return perr(ps, ps->line, "nested arrays are not used in fa-check.toml");
    return parse_array(ps, v);
  }
  if (c == '{')
    return perr(ps, ps->line,
                "inline tables are not used in fa-check.toml; write a "
                "[table] header");
  static const char *const words[] = {"true", "false"};
  for (int k = 0; k < 2; k++) {
    size_t n = strlen(words[k]);
    if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, words[k], n) &&
        !is_bare(peek_at(ps, n))) {
      v->type = V_BOOL;
      v->num = k == 0;
      ps->p += n;
      return 0;
    }
  }
  if ((c >= '0' && c <= '9') || c == '+' || c == '-')
    return parse_int(ps, v);
  if (c == -1 || c == '\n' || c == '\r' || c == '#')
    return perr(ps, ps->line, "expected a value after '='");
  return perr(ps, ps->line,
              "invalid value: strings are written in double quotes");
}

/* ---- the schema ---------------------------------------------------------- */

static const char *type_name(int t) {
  switch (t) {
  case V_STRING:
    return "a string";
  case V_BOOL:
    return "a boolean";
  case V_INT:
    return "an integer";
  default:
    return "an array";
  }
}

/* A value as shown in a message: control characters become '?' and long
 * values are cut, so that a message stays on one line. */
static const char *shown(const char *s, char *buf, size_t size) {
  size_t w = 0;
  for (; *s && w + 4 < size; s++)
    buf[w++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
  if (*s) {
    memcpy(buf + w, "...", 3);
    w += 3;
  }
  buf[w] = 0;
  return buf;
}

/* A C identifier, or a qualified C++ name ("jobs::submit"). */
static int is_identifier(const char *s) {
  for (;;) {
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
      return 0;
    for (s++; *s && *s != ':'; s++)
      if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
            (*s >= '0' && *s <= '9') || *s == '_'))
        return 0;
    if (!*s)
      return 1;
    if (s[1] != ':')
      return 0;
    s += 2;
  }
}

/* A code as a table name under [lints]; -1 after reporting. */
static int lint_code(parser_t *ps, unsigned line, const char *name) {
  int code = fc_parse_code(name);
  if (code < 0 || !fc_rule_find(code))
    return perr(ps, line,
                "unknown code '%s' in [lints.%s] (see 'fa-check "
                "list')",
                name, name);
  return code;
}

/* Checks a table header against the schema. */
static int check_table(parser_t *ps, const path_t *t) {
  char buf[256];
  if (t->n == 1 && (!strcmp(t->v[0], "lints") || !strcmp(t->v[0], "async") ||
                    !strcmp(t->v[0], "lifetime")))
    return 0;
  if (t->n == 2 && !strcmp(t->v[0], "lints"))
    return lint_code(ps, ps->line, t->v[1]) < 0 ? -1 : 0;
  return perr(ps, ps->line,
              "unknown table [%s] (fa-check.toml has [lints], "
              "[lints.FAxxx], [async] and [lifetime])",
              path_str(t, buf, sizeof(buf)));
}

static int set_family_level(parser_t *ps, const char *fam, const value_t *v) {
  int f = fc_parse_family(fam);
  if (f < 0) {
    if (fc_parse_code(fam) >= 0)
      return perr(ps, v->line,
                  "set the level of one code in its own table: "
                  "[lints.%s] level = \"...\"",
                  fam);
    return perr(ps, v->line,
                "unknown key '%s' in [lints] (expected async-safety or "
                "lifetime)",
                fam);
  }
  int level = v->type == V_STRING ? fc_parse_level(v->str) : -1;
  if (level < 0)
    return perr(ps, v->line,
                "the level of %s must be \"allow\", \"warn\" or \"deny\"", fam);
  int bit = 0;
  while (!((unsigned)f & (1u << bit)))
    bit++;
  ps->cfg->family_level[bit] = level;
  return 0;
}

static int set_code_level(parser_t *ps, const char *name, const char *key,
                          const value_t *v) {
  int code = lint_code(ps, v->line, name);
  if (code < 0)
    return -1;
  if (strcmp(key, "level") != 0)
    return perr(ps, v->line, "unknown key '%s' in [lints.%s] (expected level)",
                key, name);
  int level = v->type == V_STRING ? fc_parse_level(v->str) : -1;
  if (level < 0)
    return perr(ps, v->line,
                "the level of %s must be \"allow\", \"warn\" or \"error\"",
                name);
  ps->cfg->code_level[code] = level;
  return 0;
}

static int add_spawner(parser_t *ps, const value_t *item) {
  const char *s = item->str;
  /* the last ':' that is not part of a "::" separates the position */
  const char *colon = strrchr(s, ':');
  if (colon && colon > s && colon[-1] == ':')
    colon = NULL;
  size_t n = colon ? (size_t)(colon - s) : strlen(s);
  char *name = fc_xrealloc(NULL, n + 1);
  memcpy(name, s, n);
  name[n] = 0;
  int arg = 0;
  int ok = is_identifier(name);
  if (ok && colon) {
    const char *d = colon + 1;
    ok = *d >= '1' && *d <= '9';
    for (; ok && *d; d++) {
      if (*d < '0' || *d > '9' || arg > 100) {
        ok = 0;
        break;
      }
      arg = arg * 10 + (*d - '0');
    }
    if (arg > 100)
      ok = 0;
  }
  if (!ok) {
    char buf[80];
    free(name);
    return perr(ps, item->line,
                "bad spawner \"%s\": expected \"name\" or \"name:N\" with N "
                "the position (1 to 100) of the task's context argument",
                shown(s, buf, sizeof(buf)));
  }
  fc_config_t *c = ps->cfg;
  c->spawn = fc_xrealloc(c->spawn, (c->nspawn + 1) * sizeof(*c->spawn));
  c->spawn[c->nspawn].name = name;
  c->spawn[c->nspawn].arg = arg;
  c->nspawn++;
  return 0;
}

static int set_async(parser_t *ps, const char *key, const value_t *v) {
  static const char *const keys[] = {"spawn", "await", "frame", "async"};
  int k = 0;
  while (k < 4 && strcmp(key, keys[k]) != 0)
    k++;
  if (k == 4)
    return perr(ps, v->line,
                "unknown key '%s' in [async] (expected spawn, await, frame "
                "or async)",
                key);
  if (v->type != V_ARRAY)
    return perr(ps, v->line, "%s must be an array of strings, not %s", key,
                type_name(v->type));
  for (size_t i = 0; i < v->n; i++) {
    const value_t *it = &v->v[i];
    if (it->type != V_STRING)
      return perr(ps, it->line, "%s must be an array of strings; found %s", key,
                  type_name(it->type));
    if (k == 0) {
      if (add_spawner(ps, it))
        return -1;
      continue;
    }
    char buf[80];
    if (!is_identifier(it->str))
      return perr(ps, it->line, "\"%s\" in %s is not a function name",
                  shown(it->str, buf, sizeof(buf)), key);
    names_add(k == 1   ? &ps->cfg->await
              : k == 2 ? &ps->cfg->frame
                       : &ps->cfg->async,
              it->str);
  }
  return 0;
}

/* [lifetime] begin / end: names of frame helpers. */
static int set_lifetime(parser_t *ps, const char *key, const value_t *v) {
  int k = !strcmp(key, "begin") ? 0 : !strcmp(key, "end") ? 1 : -1;
  if (k < 0)
    return perr(ps, v->line,
                "unknown key '%s' in [lifetime] (expected begin or end)", key);
  if (v->type != V_ARRAY)
    return perr(ps, v->line, "%s must be an array of strings, not %s", key,
                type_name(v->type));
  for (size_t i = 0; i < v->n; i++) {
    const value_t *it = &v->v[i];
    char buf[80];
    if (it->type != V_STRING)
      return perr(ps, it->line, "%s must be an array of strings; found %s", key,
                  type_name(it->type));
    if (!is_identifier(it->str))
      return perr(ps, it->line, "\"%s\" in %s is not a function name",
                  shown(it->str, buf, sizeof(buf)), key);
    names_add(k == 0 ? &ps->cfg->begin : &ps->cfg->end, it->str);
  }
  return 0;
}

/* Applies `full = v` (the table path and the key joined). */
static int apply(parser_t *ps, const path_t *full, const value_t *v) {
  char buf[256];
  const char *t0 = full->v[0];
  if (!strcmp(t0, "lints")) {
    if (full->n == 2)
      return set_family_level(ps, full->v[1], v);
    if (full->n == 3)
      return set_code_level(ps, full->v[1], full->v[2], v);
    return perr(ps, v->line, "unknown key '%s'",
                path_str(full, buf, sizeof(buf)));
  }
  if (!strcmp(t0, "async") && full->n == 2)
    return set_async(ps, full->v[1], v);
  if (!strcmp(t0, "lifetime") && full->n == 2)
    return set_lifetime(ps, full->v[1], v);
  if (full->n == 1)
    return perr(ps, v->line,
                "unknown key '%s' (keys belong in [lints], [async] or "
                "[lifetime])",
                t0);
  return perr(ps, v->line, "unknown key '%s'",
              path_str(full, buf, sizeof(buf)));
}

static int path_eq(const path_t *a, const path_t *b) {
  if (a->n != b->n)
    return 0;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->v[i], b->v[i]) != 0)
      return 0;
  return 1;
}

/* Records a defined key or table (a table is kept with a trailing ""
 * part so that [a] and a key a do not collide). Returns 1 if seen before. */
static int seen_before(parser_t *ps, const path_t *p, int table) {
  path_t copy = {0};
  for (size_t i = 0; i < p->n; i++)
    path_push(&copy, fc_xstrdup(p->v[i]));
  if (table)
    path_push(&copy, fc_xstrdup(""));
  for (size_t i = 0; i < ps->nseen; i++)
    if (path_eq(&ps->seen[i], &copy)) {
      path_free(&copy);
      return 1;
    }
  ps->seen = fc_xrealloc(ps->seen, (ps->nseen + 1) * sizeof(*ps->seen));
  ps->seen[ps->nseen++] = copy;
  return 0;
}

static int parse_table_header(parser_t *ps) {
  char buf[256];
  ps->p++; /* [ */
  if (peek(ps) == '[')
    return perr(ps, ps->line, "arrays of tables are not used in fa-check.toml");
  path_free(&ps->table);
  if (parse_key(ps, &ps->table))
    return -1;
  if (peek(ps) != ']')
    return perr(ps, ps->line, "expected ']' to close the table header");
  ps->p++;
  if (check_table(ps, &ps->table))
    return -1;
  if (seen_before(ps, &ps->table, 1))
    return perr(ps, ps->line, "table [%s] is defined twice",
                path_str(&ps->table, buf, sizeof(buf)));
  return end_of_line(ps);
}

static int parse_key_value(parser_t *ps) {
  char buf[256];
  path_t full = {0};
  value_t v;
  memset(&v, 0, sizeof(v));
  unsigned line = ps->line;
  for (size_t i = 0; i < ps->table.n; i++)
    path_push(&full, fc_xstrdup(ps->table.v[i]));
  int rc = -1;
  if (parse_key(ps, &full))
    goto out;
  if (peek(ps) != '=') {
    perr(ps, line, "expected '=' after the key '%s'",
         path_str(&full, buf, sizeof(buf)));
    goto out;
  }
  ps->p++;
  skip_blank(ps);
  if (parse_value(ps, &v, 0))
    goto out;
  v.line = line;
  if (seen_before(ps, &full, 0)) {
    perr(ps, line, "duplicate key '%s'", path_str(&full, buf, sizeof(buf)));
    goto out;
  }
  if (apply(ps, &full, &v))
    goto out;
  rc = end_of_line(ps);
out:
  value_free(&v);
  path_free(&full);
  return rc;
}

/* Checks that the text is UTF-8 without NUL bytes; reports the line. */
static int check_encoding(parser_t *ps) {
  unsigned line = 1;
  const unsigned char *s = (const unsigned char *)ps->p;
  const unsigned char *e = (const unsigned char *)ps->end;
  while (s < e) {
    unsigned char c = *s;
    if (c == '\n')
      line++;
    if (c == 0)
      return perr(ps, line, "NUL byte in the file");
    if (c < 0x80) {
      s++;
      continue;
    }
    int n = c >= 0xf0 && c <= 0xf4 ? 3 : c >= 0xe0 ? 2 : c >= 0xc2 ? 1 : -1;
    if (c > 0xf4)
      n = -1;
    if (n < 0 || e - s <= n)
      return perr(ps, line, "invalid UTF-8");
    uint32_t cp = c & (0x3f >> n);
    for (int k = 1; k <= n; k++) {
      if ((s[k] & 0xc0) != 0x80)
        return perr(ps, line, "invalid UTF-8");
      cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return perr(ps, line, "invalid UTF-8");
    s += n + 1;
  }
  return 0;
}

static int parse_document(parser_t *ps) {
  if (check_encoding(ps))
    return -1;
  /* A UTF-8 byte order mark is allowed at the very start. */
  if (ps->end - ps->p >= 3 && !memcmp(ps->p, "\xef\xbb\xbf", 3))
    ps->p += 3;
  for (;;) {
    if (skip_space_lines(ps))
      return -1;
    int c = peek(ps);
    if (c == -1)
      return 0;
    if (c == '[') {
      if (parse_table_header(ps))
        return -1;
    } else if (parse_key_value(ps)) {
      return -1;
    }
  }
}

int fc_config_load(fc_config_t *c, const char *file) {
  fc_config_free(c);
  struct stat st;
  if (stat(file, &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "fa-check: error: %s: is a directory, not a fa-check.toml\n", file);
    return -1;
  }
  size_t len = 0;
  char *text = fc_read_file(file, &len);
  if (!text) {
    fprintf(stderr, "fa-check: error: cannot read %s: %s\n", file,
            strerror(errno));
    return -1;
  }
  parser_t ps;
  memset(&ps, 0, sizeof(ps));
  ps.file = file;
  ps.p = text;
  ps.end = text + len;
  ps.line = 1;
  ps.cfg = c;
  int rc = parse_document(&ps);
  path_free(&ps.table);
  for (size_t i = 0; i < ps.nseen; i++)
    path_free(&ps.seen[i]);
  free(ps.seen);
  free(text);
  if (rc) {
    fc_config_free(c);
    return -1;
  }
  c->path = fc_xstrdup(file);
  return 0;
}
