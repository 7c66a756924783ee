/* Lowering: turns the AST of one translation unit into the analysis IR of
 * ir.h (a control-flow graph of events per defined function), so that the
 * translation unit can be disposed right after.
 *
 * Only bodies of functions defined in non-system files are visited, once.
 * The public framealloc headers are skipped: their inline functions are the
 * primitives the rules know by name. Every cursor libclang hands out is
 * looked up in small hash maps keyed by its declaration, so spellings and
 * USRs are computed once per declaration, not once per use. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ---- small utilities shared with the rest of the analysis ------------- */

void fc_vec_reserve(void **v, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return;
  size_t c = *cap ? *cap : 16;
  while (c < need)
    c *= 2;
  *v = fc_xrealloc(*v, c * elem);
  *cap = c;
}

#define PUSH(vec, x)                                                           \
  do {                                                                         \
    FC_VEC_RESERVE(vec, 1);                                                    \
    (vec).v[(vec).n++] = (x);                                                  \
  } while (0)

/* ---- a map from pointers to integers, cleared in O(1) ----------------- */

typedef struct map_ent_s {
  uintptr_t key;
  uintptr_t val;
  uint32_t gen;
} map_ent_t;

typedef struct map_s {
  map_ent_t *v;
  size_t cap, n;
  uint32_t gen;
} map_t;

static size_t map_hash(uintptr_t k) {
  uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15u;
  return (size_t)(h ^ (h >> 29));
}

static void map_clear(map_t *m) {
  m->gen++;
  m->n = 0;
}

static map_ent_t *map_slot(map_t *m, uintptr_t key) {
  size_t mask = m->cap - 1;
  for (size_t i = map_hash(key) & mask;; i = (i + 1) & mask)
    if (m->v[i].gen != m->gen || m->v[i].key == key)
      return &m->v[i];
}

static int map_get(map_t *m, uintptr_t key, uintptr_t *val) {
  if (!m->cap)
    return 0;
  map_ent_t *e = map_slot(m, key);
  if (e->gen != m->gen)
    return 0;
  *val = e->val;
  return 1;
}

static void map_put(map_t *m, uintptr_t key, uintptr_t val) {
  if ((m->n + 1) * 2 > m->cap) {
    map_t old = *m;
    m->cap = old.cap ? old.cap * 2 : 64;
    m->v = fc_xrealloc(NULL, m->cap * sizeof(*m->v));
    memset(m->v, 0, m->cap * sizeof(*m->v));
    m->gen = 1;
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.v[i].gen == old.gen) {
        map_ent_t *e = map_slot(m, old.v[i].key);
        *e = old.v[i];
        e->gen = m->gen;
        m->n++;
      }
    free(old.v);
  }
  map_ent_t *e = map_slot(m, key);
  if (e->gen != m->gen)
    m->n++;
  e->key = key;
  e->val = val;
  e->gen = m->gen;
}

/* ---- the lowering context ---------------------------------------------- */

/* What a call's callee is, as far as lowering must know. */
enum {
  ROLE_ARGS = 1,     /* keep the arguments (spawners, libuv, set_data) */
  ROLE_PASS = 2,     /* returns its first argument (memcpy, fa__zero) */
  ROLE_VEC = 4,      /* fa__frame_vec_reserve: the vector's data field */
  ROLE_SETDATA = 8,  /* uv_req_set_data(req, x): req->data = x */
  ROLE_NORETURN = 16 /* exit, abort, functions declared noreturn */
};

typedef struct file_ent_s {
  CXFile file;
  const char *name; /* interned */
  const char *buf;  /* contents, NULL until asked */
  size_t size;
  int skip; /* a public framealloc header */
} file_ent_t;

#define NFILES 16
#define UNTRACKED ((uintptr_t)FC_NONE)

typedef struct lower_s {
  CXTranslationUnit tu;
  const fc_config_t *cfg;
  fc_unit_t *u;
  size_t fni;   /* the function being lowered */
  uint32_t cur; /* current block, function-local */
  int weak;     /* inside a conditional operand: assignments do not kill */
  int test;     /* reading a tested value: uses get FC_EVF_TEST */
  int arith;    /* the next binary operator's value is only tested */
  uint32_t brk, cont, sw_head;
  int brk_sw; /* `break` leaves a switch, not a loop */
  int sw_default;
  int ret_tracked;
  FC_VEC(uint32_t) vals;     /* the value stack */
  FC_VEC(CXCursor) kids;     /* the children stack */
  FC_VEC(uint32_t) edges;    /* (from, to) pairs of the function */
  FC_VEC(uintptr_t) gotos;   /* (block, label key) pairs */
  FC_VEC(uint32_t) labels;   /* label blocks, for computed gotos */
  FC_VEC(uint32_t) indirect; /* blocks ending in a computed goto */
  FC_VEC(uint8_t) role;      /* by ref */
  map_t refmap, varmap, labelmap, fieldmap;
  map_t allocmap; /* record declaration -> 1 for fa_allocator_s, else 2 */
  map_t keymap;   /* interned key text -> index in u->keys */
  file_ent_t files[NFILES];
  unsigned nextfile;
  const char *s_elems, *s_data;
} lower_t;

static void lower_stmt(lower_t *l, CXCursor c);
static void read_expr(lower_t *l, CXCursor c);

static fc_fn_t *cur_fn(lower_t *l) { return &l->u->fns.v[l->fni]; }

/* ---- locations and source text ----------------------------------------- */

static file_ent_t *file_get(lower_t *l, CXFile f, CXSourceLocation sl) {
  for (unsigned i = 0; i < NFILES; i++)
    if (l->files[i].file == f && f)
      return &l->files[i];
  file_ent_t *e = &l->files[l->nextfile++ % NFILES];
  memset(e, 0, sizeof(*e));
  e->file = f;
  e->name = fc_loc_of(sl).file;
  if (e->name) {
    const char *n = e->name;
    size_t len = strlen(n);
    e->skip = (len >= 12 && !strcmp(n + len - 12, "/framealloc.h")) ||
              strstr(n, "/include/framealloc/") != NULL;
    if (len == 12 && !strcmp(n, "framealloc.h"))
      e->skip = 1;
  }
  return e;
}

/* The expansion location: a finding inside a macro use is reported at the
 * macro use in the user's file. */
static fc_loc_t loc_of(lower_t *l, CXSourceLocation sl) {
  CXFile f;
  unsigned line, col;
  clang_getExpansionLocation(sl, &f, &line, &col, NULL);
  fc_loc_t loc = {NULL, line, col};
  if (f)
    loc.file = file_get(l, f, sl)->name;
  return loc;
}

static fc_loc_t cursor_loc(lower_t *l, CXCursor c) {
  return loc_of(l, clang_getCursorLocation(c));
}

/* The source text at a location, spelled (`spelling`) or expanded. */
static const char *text_at(lower_t *l, CXSourceLocation sl, int spelling,
                           CXFile *file, unsigned *off, size_t *size) {
  unsigned line, col;
  if (spelling)
    clang_getSpellingLocation(sl, file, &line, &col, off);
  else
    clang_getExpansionLocation(sl, file, &line, &col, off);
  if (!*file)
    return NULL;
  file_ent_t *e = file_get(l, *file, sl);
  if (!e->buf)
    e->buf = clang_getFileContents(l->tu, *file, &e->size);
  *size = e->size;
  return e->buf && *off < e->size ? e->buf : NULL;
}

/* A fallback of is_assignment: the text after the left operand (a macro
 * argument such as `x` in `SET(x, y)`), skipping a simple lvalue. 1 an
 * assignment, 0 another operator, -1 cannot tell. */
static int assignment_after(lower_t *l, CXSourceLocation a) {
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = text_at(l, a, 1, &f, &off, &size);
  if (!buf)
    return -1;
  size_t i = off;
  while (i < size && buf[i] == '*')
    i++;
  for (;;) {
    while (i < size && buf[i] && strchr(" \t\r\n\\", buf[i]))
      i++;
    if (i >= size)
      return -1;
    char ch = buf[i];
    if (ch == '_' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9')) {
      while (i < size && (buf[i] == '_' || (buf[i] >= 'a' && buf[i] <= 'z') ||
                          (buf[i] >= 'A' && buf[i] <= 'Z') ||
                          (buf[i] >= '0' && buf[i] <= '9')))
        i++;
    } else if (ch == '(' || ch == '[') {
      int depth = 0;
      for (; i < size; i++) {
        if (buf[i] == '(' || buf[i] == '[')
          depth++;
        else if ((buf[i] == ')' || buf[i] == ']') && --depth == 0) {
          i++;
          break;
        }
      }
    } else if (ch == '.')
      i++;
    else if (ch == '-' && i + 1 < size && buf[i + 1] == '>')
      i += 2;
    else if (ch == '=')
      return i + 1 >= size || buf[i + 1] != '=';
    else
      return strchr("+-*/%<>&|^!", ch) && ch ? 0 : -1;
  }
}

/* The semantic fallback: only assignments to pointers and structs matter,
 * and `a = b` is then the operator whose both operands and result have
 * the type of a (`p + n`, `p - q` and comparisons do not). */
static int assignment_by_type(CXCursor c, CXCursor lhs, CXCursor rhs) {
  CXType tl = clang_getCanonicalType(clang_getCursorType(lhs));
  if (tl.kind != CXType_Pointer && tl.kind != CXType_Record)
    return 0;
  return clang_equalTypes(tl,
                          clang_getCanonicalType(clang_getCursorType(rhs))) &&
         clang_equalTypes(tl, clang_getCanonicalType(clang_getCursorType(c)));
}

/* libclang 14 does not expose operator kinds: the one operator we must
 * know, the plain assignment, is read from the source text between the
 * operands (as spelled for macro arguments, else as expanded) when that
 * text is in one file and in order; inside macro bodies, where libclang
 * gives no spelling, the operand types decide. */
static int is_assignment(lower_t *l, CXCursor c, CXCursor lhs, CXCursor rhs) {
  CXSourceLocation a = clang_getRangeStart(clang_getCursorExtent(lhs));
  CXSourceLocation b = clang_getRangeStart(clang_getCursorExtent(rhs));
  for (int spelling = 1; spelling >= 0; spelling--) {
    CXFile fa, fb;
    unsigned oa, ob;
    size_t sa, sb;
    const char *ta = text_at(l, a, spelling, &fa, &oa, &sa);
    const char *buf = text_at(l, b, spelling, &fb, &ob, &sb);
    if (!ta || !buf || !clang_File_isEqual(fa, fb) || oa >= ob)
      continue;
    size_t i = ob;
    while (i > oa) {
      char ch = buf[i - 1];
      if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\\')
        i--;
      else if (ch == '/' && i - 1 > oa && buf[i - 2] == '*') {
        i -= 2; /* skip a block comment backwards */
        while (i > oa + 1 && !(buf[i - 2] == '/' && buf[i - 1] == '*'))
          i--;
        i = i > oa + 1 ? i - 2 : oa;
      } else
        break;
    }
    if (i <= oa)
      continue;
    char ch = buf[i - 1];
    if (ch == '=') {
      char prev = i >= 2 ? buf[i - 2] : 0;
      return !strchr("=!<>", prev) || prev == 0;
    }
    if (strchr("+-*/%<>&|^", ch))
      return 0;
  }
  int r = assignment_after(l, a);
  return r >= 0 ? r : assignment_by_type(c, lhs, rhs);
}

/* The first character of a unary operator cursor: '&', '*', or another. */
static char unary_op(lower_t *l, CXCursor c) {
  CXFile f;
  unsigned off;
  size_t size;
  CXSourceLocation sl = clang_getRangeStart(clang_getCursorExtent(c));
  const char *buf = text_at(l, sl, 1, &f, &off, &size);
  if (!buf)
    return 0;
  return buf[off];
}

/* ---- children ----------------------------------------------------------- */

static enum CXChildVisitResult collect(CXCursor c, CXCursor parent,
                                       CXClientData data) {
  (void)parent;
  lower_t *l = data;
  PUSH(l->kids, c);
  return CXChildVisit_Continue;
}

/* Pushes the children of c on the children stack; returns the first. */
static size_t kids_push(lower_t *l, CXCursor c) {
  size_t base = l->kids.n;
  clang_visitChildren(c, collect, l);
  return base;
}

static int is_expr(CXCursor c) {
  return clang_isExpression(clang_getCursorKind(c));
}

/* Through parentheses, casts and implicit conversions. */
static CXCursor strip(lower_t *l, CXCursor c) {
  for (;;) {
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k != CXCursor_ParenExpr && k != CXCursor_CStyleCastExpr &&
        k != CXCursor_UnexposedExpr)
      return c;
    size_t base = kids_push(l, c);
    CXCursor inner = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (is_expr(l->kids.v[i]))
        inner = l->kids.v[i];
    l->kids.n = base;
    if (clang_Cursor_isNull(inner))
      return c;
    c = inner;
  }
}

/* ---- types -------------------------------------------------------------- */

/* Types that can carry a frame pointer: pointers, structs, arrays. */
static int type_tracked(CXType t, int *is_ptr) {
  t = clang_getCanonicalType(t);
  if (is_ptr)
    *is_ptr = t.kind == CXType_Pointer;
  switch (t.kind) {
  case CXType_Pointer:
  case CXType_Record:
  case CXType_ConstantArray:
  case CXType_IncompleteArray:
  case CXType_VariableArray:
  case CXType_DependentSizedArray:
    return 1;
  default:
    return 0;
  }
}

/* ---- functions, variables, paths --------------------------------------- */

static unsigned role_of(const lower_t *l, const char *name) {
  static const char *const pass[] = {"fa__zero", "fa__copy", "memset",
                                     "memcpy",   "memmove",  "strcpy",
                                     "strncpy",  "strcat",   "strncat"};
  for (size_t i = 0; i < sizeof(pass) / sizeof(*pass); i++)
    if (!strcmp(name, pass[i]))
      return ROLE_PASS;
  if (!strcmp(name, "fa__frame_vec_reserve"))
    return ROLE_VEC;
  if (!strcmp(name, "uv_req_set_data"))
    return ROLE_ARGS | ROLE_SETDATA;
  if (!strncmp(name, "uv_", 3) || !strncmp(name, "fa_uv_", 6) ||
      !strcmp(name, "pthread_create") || !strcmp(name, "thrd_create"))
    return ROLE_ARGS;
  for (size_t i = 0; l->cfg && i < l->cfg->nspawn; i++)
    if (!strcmp(name, l->cfg->spawn[i].name))
      return ROLE_ARGS;
  return 0;
}

static enum CXChildVisitResult scan_attr(CXCursor c, CXCursor parent,
                                         CXClientData data) {
  (void)parent;
  fc_ref_t *r = data;
  if (clang_getCursorKind(c) != CXCursor_AnnotateAttr)
    return CXChildVisit_Continue;
  CXString s = clang_getCursorSpelling(c);
  const char *t = clang_getCString(s);
  if (t && !strcmp(t, "fa_async")) {
    r->flags |= FC_REF_ASYNC_ATTR;
    r->attr_loc = fc_loc_of(clang_getCursorLocation(c));
  } else if (t && !strcmp(t, "fa_suspends"))
    r->flags |= FC_REF_SUSPENDS_ATTR;
  else if (t && !strcmp(t, "fa_begins_frame"))
    r->flags |= FC_REF_BEGINS_ATTR;
  else if (t && !strcmp(t, "fa_ends_frame"))
    r->flags |= FC_REF_ENDS_ATTR;
  clang_disposeString(s);
  return CXChildVisit_Continue;
}

typedef struct noreturn_scan_s {
  lower_t *l;
  int yes;
} noreturn_scan_t;

/* C11 _Noreturn (or the noreturn macro of <stdnoreturn.h>) is an attribute
 * libclang does not name: its spelling tells. */
static enum CXChildVisitResult scan_noreturn(CXCursor c, CXCursor parent,
                                             CXClientData data) {
  (void)parent;
  noreturn_scan_t *ns = data;
  if (clang_getCursorKind(c) != CXCursor_UnexposedAttr)
    return CXChildVisit_Continue;
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = text_at(
      ns->l, clang_getRangeStart(clang_getCursorExtent(c)), 1, &f, &off, &size);
  if (buf && size - off >= 9 && !strncmp(buf + off, "_Noreturn", 9)) {
    ns->yes = 1;
    return CXChildVisit_Break;
  }
  return CXChildVisit_Continue;
}

/* Functions that never return: a path through a call to one does not
 * reach the end of the caller. The attribute shows in the type's spelling
 * (`void (int) __attribute__((noreturn))`), _Noreturn as an attribute of
 * its own; the usual ones are also known by name. */
static int is_noreturn(lower_t *l, CXCursor decl, const char *name) {
  static const char *const names[] = {"exit",
                                      "_exit",
                                      "_Exit",
                                      "abort",
                                      "quick_exit",
                                      "longjmp",
                                      "siglongjmp",
                                      "__assert_fail",
                                      "pthread_exit",
                                      "thrd_exit",
                                      "err",
                                      "errx",
                                      "verr",
                                      "verrx",
                                      "__builtin_trap",
                                      "__builtin_unreachable"};
  for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
    if (!strcmp(name, names[i]))
      return 1;
  CXString s = clang_getTypeSpelling(clang_getCursorType(decl));
  const char *t = clang_getCString(s);
  int yes = t && strstr(t, "noreturn") != NULL;
  clang_disposeString(s);
  if (!yes) {
    noreturn_scan_t ns = {l, 0};
    clang_visitChildren(decl, scan_noreturn, &ns);
    yes = ns.yes;
  }
  return yes;
}

/* The ref index of a function declaration, made on first sight. */
static uint32_t ref_of(lower_t *l, CXCursor decl) {
  uintptr_t key = (uintptr_t)decl.data[0], val;
  if (map_get(&l->refmap, key, &val))
    return (uint32_t)val;
  fc_ref_t r;
  memset(&r, 0, sizeof(r));
  CXString s = clang_getCursorSpelling(decl);
  r.name = fc_intern(clang_getCString(s));
  clang_disposeString(s);
  s = clang_getCursorUSR(decl);
  const char *usr = clang_getCString(s);
  r.usr = fc_intern(usr && *usr ? usr : r.name);
  clang_disposeString(s);
  clang_visitChildren(decl, scan_attr, &r);
  uint32_t id = (uint32_t)l->u->refs.n;
  PUSH(l->u->refs, r);
  unsigned role = role_of(l, r.name ? r.name : "");
  if (is_noreturn(l, decl, r.name ? r.name : ""))
    role |= ROLE_NORETURN;
  PUSH(l->role, (uint8_t)role);
  map_put(&l->refmap, key, id);
  return id;
}

static uint32_t new_path(lower_t *l, uint32_t var, const char *field) {
  fc_fn_t *fn = cur_fn(l);
  fc_path_t p = {var, field, FC_NONE};
  uint32_t id = (uint32_t)(l->u->paths.n - fn->path);
  PUSH(l->u->paths, p);
  return id;
}

/* The path `var.field` (field NULL: the variable), made on first use. */
static uint32_t path_get(lower_t *l, uint32_t var, const char *field) {
  fc_fn_t *fn = cur_fn(l);
  fc_path_t *paths = l->u->paths.v + fn->path;
  uint32_t base = l->u->vars.v[fn->var + var].path;
  if (!field)
    return base;
  for (uint32_t p = paths[base].next; p != FC_NONE; p = paths[p].next)
    if (paths[p].field == field)
      return p;
  uint32_t id = new_path(l, var, field);
  paths = l->u->paths.v + fn->path;
  paths[id].next = paths[base].next;
  paths[base].next = id;
  return id;
}

/* Registers a local variable or parameter; FC_NONE when it cannot carry a
 * frame pointer (integers and the like are not tracked). */
static uint32_t var_add(lower_t *l, CXCursor decl) {
  int is_ptr;
  uintptr_t key = (uintptr_t)decl.data[0];
  if (!type_tracked(clang_getCursorType(decl), &is_ptr)) {
    map_put(&l->varmap, key, UNTRACKED);
    return FC_NONE;
  }
  fc_fn_t *fn = cur_fn(l);
  uint32_t id = (uint32_t)(l->u->vars.n - fn->var);
  CXString s = clang_getCursorSpelling(decl);
  fc_var_t v = {fc_intern(clang_getCString(s)), 0, (uint8_t)is_ptr,
                FC_VAR_LOCAL};
  if (clang_getCursorKind(decl) == CXCursor_VarDecl &&
      clang_Cursor_getStorageClass(decl) == CX_SC_Static)
    v.storage = FC_VAR_STATIC;
  clang_disposeString(s);
  PUSH(l->u->vars, v);
  l->u->vars.v[fn->var + id].path = new_path(l, id, NULL);
  map_put(&l->varmap, key, id);
  return id;
}

/* The local variable a DeclRefExpr names, FC_NONE otherwise. */
static uint32_t var_of(lower_t *l, CXCursor ref) {
  CXCursor d = clang_getCursorReferenced(ref);
  uintptr_t v;
  if (clang_Cursor_isNull(d) ||
      !map_get(&l->varmap, (uintptr_t)d.data[0], &v) || v == UNTRACKED)
    return FC_NONE;
  return (uint32_t)v;
}

static const char *field_of(lower_t *l, CXCursor member) {
  CXCursor d = clang_getCursorReferenced(member);
  uintptr_t key = (uintptr_t)d.data[0], val;
  if (!clang_Cursor_isNull(d) && map_get(&l->fieldmap, key, &val))
    return (const char *)val;
  CXString s = clang_getCursorSpelling(member);
  const char *name = fc_intern(clang_getCString(s));
  clang_disposeString(s);
  if (!clang_Cursor_isNull(d))
    map_put(&l->fieldmap, key, (uintptr_t)name);
  return name;
}

/* ---- allocators and keys ------------------------------------------------ */

/* Whether t is `fa_allocator_t *`: the argument that names the allocator
 * of a frame call. Answers are cached by record declaration. */
static int is_allocator(lower_t *l, CXType t) {
  t = clang_getCanonicalType(t);
  if (t.kind != CXType_Pointer)
    return 0;
  CXType r = clang_getCanonicalType(clang_getPointeeType(t));
  if (r.kind != CXType_Record)
    return 0;
  CXCursor d = clang_getTypeDeclaration(r);
  if (clang_Cursor_isNull(d))
    return 0;
  uintptr_t key = (uintptr_t)d.data[0], val;
  if (!map_get(&l->allocmap, key, &val)) {
    CXString s = clang_getCursorSpelling(d);
    const char *n = clang_getCString(s);
    val = n && !strcmp(n, "fa_allocator_s") ? 1 : 2;
    clang_disposeString(s);
    map_put(&l->allocmap, key, val);
  }
  return val == 1;
}

/* Appends the text of a simple object designator (`a`, `app->alloc`,
 * `g.frames.a`) to buf; 0 when c is anything else (a call, an index). */
static int key_text(lower_t *l, CXCursor c, char *buf, size_t size, size_t *len,
                    int depth) {
  c = strip(l, c);
  enum CXCursorKind k = clang_getCursorKind(c);
  const char *part, *sep = "";
  CXString s;
  if (k == CXCursor_DeclRefExpr) {
    s = clang_getCursorSpelling(c);
    part = clang_getCString(s);
  } else if (k == CXCursor_MemberRefExpr && depth < 8) {
    size_t base = kids_push(l, c);
    CXCursor b = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (is_expr(l->kids.v[i]))
        b = l->kids.v[i];
    l->kids.n = base;
    if (clang_Cursor_isNull(b) || !key_text(l, b, buf, size, len, depth + 1))
      return 0;
    CXType bt = clang_getCanonicalType(clang_getCursorType(b));
    sep = bt.kind == CXType_Pointer ? "->" : ".";
    s = clang_getCursorSpelling(c);
    part = clang_getCString(s);
  } else
    return 0;
  int ok = part && *part && *len + strlen(sep) + strlen(part) + 1 < size;
  if (ok)
    *len += (size_t)snprintf(buf + *len, size - *len, "%s%s", sep, part);
  clang_disposeString(s);
  return ok;
}

/* The unit's index of an interned key. */
static uint32_t key_index(lower_t *l, const char *key) {
  uintptr_t val;
  if (map_get(&l->keymap, (uintptr_t)key, &val))
    return (uint32_t)val;
  uint32_t id = (uint32_t)l->u->keys.n;
  PUSH(l->u->keys, key);
  map_put(&l->keymap, (uintptr_t)key, id);
  return id;
}

/* The key of an allocator argument, FC_NONE when it is not a simple
 * designator (then it matches every allocator). */
static uint32_t key_of(lower_t *l, CXCursor c) {
  char buf[256];
  size_t len = 0;
  buf[0] = 0;
  if (!key_text(l, c, buf, sizeof(buf), &len, 0))
    return FC_NONE;
  return key_index(l, fc_intern(buf));
}

/* Where a function body ends: its closing brace. */
static fc_loc_t body_end(lower_t *l, CXCursor body) {
  fc_loc_t loc = loc_of(l, clang_getRangeEnd(clang_getCursorExtent(body)));
  if (loc.col > 1)
    loc.col--;
  return loc;
}

/* ---- blocks and events ------------------------------------------------- */

static uint32_t new_block(lower_t *l) {
  fc_bb_t b = {FC_NONE, 0, 0, 0};
  uint32_t id = (uint32_t)(l->u->bbs.n - cur_fn(l)->bb);
  PUSH(l->u->bbs, b);
  return id;
}

static void close_block(lower_t *l) {
  if (l->cur == FC_NONE)
    return;
  fc_bb_t *b = &l->u->bbs.v[cur_fn(l)->bb + l->cur];
  b->nev = (uint32_t)(l->u->evs.n - b->ev);
}

static void start_block(lower_t *l, uint32_t id) {
  close_block(l);
  l->u->bbs.v[cur_fn(l)->bb + id].ev = (uint32_t)l->u->evs.n;
  l->cur = id;
}

static void edge(lower_t *l, uint32_t from, uint32_t to) {
  FC_VEC_RESERVE(l->edges, 2);
  l->edges.v[l->edges.n++] = from;
  l->edges.v[l->edges.n++] = to;
}

/* Ends the current block with a jump: what follows is unreachable until a
 * label or case starts a new block. */
static void jump(lower_t *l, uint32_t to) {
  if (to != FC_NONE)
    edge(l, l->cur, to);
  start_block(l, new_block(l));
}

static fc_ev_t *emit(lower_t *l, uint8_t kind, uint32_t a, fc_loc_t loc) {
  FC_VEC_RESERVE(l->u->evs, 1);
  fc_ev_t *e = &l->u->evs.v[l->u->evs.n++];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->a = a;
  e->key = FC_NONE;
  e->loc = loc;
  return e;
}

static void emit_jump(lower_t *l, uint32_t what, fc_loc_t loc) {
  emit(l, FC_EV_JUMP, what, loc);
}

/* Copies the value stack from `mark` into the unit's source pool. */
static uint32_t keep_vals(lower_t *l, size_t mark, uint32_t *n) {
  uint32_t off = (uint32_t)l->u->srcs.n;
  *n = (uint32_t)(l->vals.n - mark);
  FC_VEC_RESERVE(l->u->srcs, *n);
  if (*n) /* srcs.v may still be NULL */
    memcpy(l->u->srcs.v + off, l->vals.v + mark, *n * sizeof(uint32_t));
  l->u->srcs.n += *n;
  return off;
}

static void emit_use(lower_t *l, uint32_t a, int whole, CXCursor at) {
  fc_ev_t *e = emit(l, FC_EV_USE, a, cursor_loc(l, at));
  e->flags = whole ? FC_EVF_WHOLE : 0;
}

static void emit_assign(lower_t *l, uint32_t path, size_t mark, int strong,
                        int tracked, fc_loc_t loc) {
  uint32_t n = 0, off = 0;
  if (tracked)
    off = keep_vals(l, mark, &n);
  fc_ev_t *e = emit(l, FC_EV_ASSIGN, path, loc);
  e->b = off;
  e->n = n;
  e->flags = strong && !l->weak ? FC_EVF_STRONG : 0;
}

/* The variable at the root of an lvalue (`g` of `g.f`, `g->f[i]`, `*g`),
 * when it is a variable of static storage that lowering does not track:
 * a global. Null cursor otherwise. */
static CXCursor global_root(lower_t *l, CXCursor c) {
  for (int depth = 0; depth < 16; depth++) {
    c = strip(l, c);
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_DeclRefExpr) {
      CXCursor d = clang_getCursorReferenced(c);
      if (clang_getCursorKind(d) != CXCursor_VarDecl)
        break;
      enum CX_StorageClass sc = clang_Cursor_getStorageClass(d);
      CXCursor parent = clang_getCursorSemanticParent(d);
      if (sc == CX_SC_Static || sc == CX_SC_Extern ||
          clang_getCursorKind(parent) == CXCursor_TranslationUnit)
        return d;
      break;
    }
    if (k != CXCursor_MemberRefExpr && k != CXCursor_ArraySubscriptExpr &&
        !(k == CXCursor_UnaryOperator && unary_op(l, c) == '*'))
      break;
    size_t base = kids_push(l, c);
    CXCursor b = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (is_expr(l->kids.v[i])) {
        b = l->kids.v[i];
        if (k == CXCursor_ArraySubscriptExpr)
          break; /* the base, not the index */
      }
    l->kids.n = base;
    if (clang_Cursor_isNull(b))
      break;
    c = b;
  }
  return clang_getNullCursor();
}

/* An assignment to an lvalue that is not a local access path: kept as a
 * STORE when it is rooted in a global, for FA601. */
static void emit_store(lower_t *l, CXCursor lhs, size_t mark, fc_loc_t loc) {
  if (l->vals.n == mark)
    return; /* nothing that can carry frame memory */
  CXCursor g = global_root(l, lhs);
  if (clang_Cursor_isNull(g))
    return;
  char buf[256];
  size_t len = 0;
  buf[0] = 0;
  if (!key_text(l, lhs, buf, sizeof(buf), &len, 0)) {
    CXString s = clang_getCursorSpelling(g);
    snprintf(buf, sizeof(buf), "%s", clang_getCString(s));
    clang_disposeString(s);
  }
  uint32_t n;
  uint32_t off = keep_vals(l, mark, &n);
  fc_ev_t *e = emit(l, FC_EV_STORE, 0, loc);
  e->b = off;
  e->n = n;
  e->key = key_index(l, fc_intern(buf));
}

/* ---- expressions -------------------------------------------------------- */

static void read_discard(lower_t *l, CXCursor c) {
  size_t mark = l->vals.n;
  read_expr(l, c);
  l->vals.n = mark;
}

static uint32_t resolve(lower_t *l, CXCursor c, int reading, int *strong,
                        CXCursor *root);

/* Reads an operand; when `test` and it is a variable, only its value is
 * looked at (a null test or a comparison), which FA604 does not count as a
 * use of the memory. */
static void read_operand(lower_t *l, CXCursor c, int test) {
  enum CXCursorKind k = test ? clang_getCursorKind(strip(l, c)) : 0;
  if (k == CXCursor_DeclRefExpr) {
    l->test = 1;
    read_expr(l, c);
    l->test = 0;
  } else if (k == CXCursor_BinaryOperator) {
    l->arith = 1; /* `p + 1 - q`: the pointer arithmetic is tested too */
    read_expr(l, c);
    l->arith = 0;
  } else
    read_expr(l, c);
}

/* A condition: `if (p)` tests the value of p. */
static void read_cond(lower_t *l, CXCursor c) {
  size_t mark = l->vals.n;
  read_operand(l, c, 1);
  l->vals.n = mark;
}

/* The path `field` below `base` (the object base designates or points to).
 * Uses of pointers that are dereferenced are emitted unless `reading` (the
 * caller then emits one use covering them). */
static uint32_t sub_path(lower_t *l, CXCursor base, const char *field,
                         int reading, int *strong, CXCursor *root) {
  CXCursor b = strip(l, base);
  if (clang_getCursorKind(b) == CXCursor_DeclRefExpr) {
    uint32_t v = var_of(l, b);
    if (v == FC_NONE)
      return FC_NONE;
    *root = b;
    if (l->u->vars.v[cur_fn(l)->var + v].is_ptr && !reading)
      emit_use(l, l->u->vars.v[cur_fn(l)->var + v].path, 0, b);
    *strong = field != l->s_elems;
    return path_get(l, v, field);
  }
  int s2;
  uint32_t q = resolve(l, b, reading, &s2, root);
  if (q == FC_NONE)
    return FC_NONE;
  *strong = 0;
  const fc_path_t *p = &l->u->paths.v[cur_fn(l)->path + q];
  return p->field ? q : path_get(l, p->var, field);
}

/* The access path an lvalue designates, or FC_NONE (its subexpressions
 * are read then). */
static uint32_t resolve(lower_t *l, CXCursor c, int reading, int *strong,
                        CXCursor *root) {
  c = strip(l, c);
  *strong = 0;
  uint32_t r = FC_NONE;
  switch (clang_getCursorKind(c)) {
  case CXCursor_DeclRefExpr: {
    uint32_t v = var_of(l, c);
    if (v == FC_NONE)
      return FC_NONE;
    *strong = 1;
    *root = c;
    return l->u->vars.v[cur_fn(l)->var + v].path;
  }
  case CXCursor_MemberRefExpr: {
    size_t base = kids_push(l, c);
    CXCursor b = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (is_expr(l->kids.v[i]))
        b = l->kids.v[i];
    l->kids.n = base;
    if (clang_Cursor_isNull(b))
      return FC_NONE;
    return sub_path(l, b, field_of(l, c), reading, strong, root);
  }
  case CXCursor_ArraySubscriptExpr: {
    size_t base = kids_push(l, c);
    if (l->kids.n - base != 2) {
      l->kids.n = base;
      break;
    }
    CXCursor b = l->kids.v[base], idx = l->kids.v[base + 1];
    l->kids.n = base;
    read_discard(l, idx);
    return sub_path(l, b, l->s_elems, reading, strong, root);
  }
  case CXCursor_UnaryOperator:
    if (unary_op(l, c) == '*') {
      size_t base = kids_push(l, c);
      CXCursor o = l->kids.v[l->kids.n - 1];
      int one = l->kids.n - base == 1;
      l->kids.n = base;
      if (one)
        return sub_path(l, o, l->s_elems, reading, strong, root);
    }
    break;
  default:
    break;
  }
  read_discard(l, c);
  return r;
}

/* A function designator argument (`cb`, `&cb`, `(uv_work_cb)cb`). */
static uint32_t fn_designator(lower_t *l, CXCursor c) {
  for (;;) {
    c = strip(l, c);
    if (clang_getCursorKind(c) == CXCursor_UnaryOperator &&
        unary_op(l, c) == '&') {
      size_t base = kids_push(l, c);
      CXCursor o = l->kids.v[l->kids.n - 1];
      int one = l->kids.n - base == 1;
      l->kids.n = base;
      if (!one)
        return FC_NONE;
      c = o;
      continue;
    }
    break;
  }
  if (clang_getCursorKind(c) != CXCursor_DeclRefExpr)
    return FC_NONE;
  CXCursor d = clang_getCursorReferenced(c);
  if (clang_getCursorKind(d) != CXCursor_FunctionDecl)
    return FC_NONE;
  return ref_of(l, d);
}

/* The path of field `field` of the object `c` points to: `&v` -> v.field,
 * `pv` -> pv->field, `&s.v` -> s.v. No events are emitted. */
static uint32_t pointee_path(lower_t *l, CXCursor c, const char *field,
                             int *strong) {
  c = strip(l, c);
  *strong = 1;
  if (clang_getCursorKind(c) == CXCursor_DeclRefExpr) {
    uint32_t v = var_of(l, c);
    return v == FC_NONE ? FC_NONE : path_get(l, v, field);
  }
  if (clang_getCursorKind(c) != CXCursor_UnaryOperator || unary_op(l, c) != '&')
    return FC_NONE;
  size_t base = kids_push(l, c);
  CXCursor o = strip(l, l->kids.v[l->kids.n - 1]);
  l->kids.n = base;
  enum CXCursorKind k = clang_getCursorKind(o);
  if (k == CXCursor_DeclRefExpr) {
    uint32_t v = var_of(l, o);
    return v == FC_NONE ? FC_NONE : path_get(l, v, field);
  }
  if (k == CXCursor_MemberRefExpr) {
    base = kids_push(l, o);
    CXCursor b = strip(l, l->kids.v[l->kids.n - 1]);
    l->kids.n = base;
    if (clang_getCursorKind(b) != CXCursor_DeclRefExpr)
      return FC_NONE;
    uint32_t v = var_of(l, b);
    *strong = 0;
    return v == FC_NONE ? FC_NONE : path_get(l, v, field_of(l, o));
  }
  return FC_NONE;
}

static enum CXChildVisitResult first_child(CXCursor c, CXCursor parent,
                                           void *data) {
  (void)parent;
  *(CXCursor *)data = c;
  return CXChildVisit_Break;
}

/* Whether c is the call to fa__await that FA_AWAIT puts first. */
static int is_await_marker(CXCursor c) {
  while (clang_getCursorKind(c) == CXCursor_UnexposedExpr ||
         clang_getCursorKind(c) == CXCursor_ParenExpr) {
    CXCursor only = clang_getNullCursor();
    clang_visitChildren(c, first_child, &only);
    if (clang_Cursor_isNull(only))
      return 0;
    c = only;
  }
  if (clang_getCursorKind(c) != CXCursor_CallExpr)
    return 0;
  CXString name = clang_getCursorSpelling(c);
  int yes = strcmp(clang_getCString(name), "fa__await") == 0;
  clang_disposeString(name);
  return yes;
}

static void lower_call(lower_t *l, CXCursor c) {
  CXCursor callee = clang_getCursorReferenced(c);
  uint32_t ref = FC_NONE;
  unsigned role = 0;
  if (clang_getCursorKind(callee) == CXCursor_FunctionDecl) {
    ref = ref_of(l, callee);
    role = l->role.v[ref];
  } else {
    size_t base = kids_push(l, c); /* a call through a pointer: read it */
    CXCursor fexpr = l->kids.n > base ? l->kids.v[base] : c;
    int has = l->kids.n > base;
    l->kids.n = base;
    if (has)
      read_discard(l, fexpr);
  }
  int nargs = clang_Cursor_getNumArguments(c);
  uint32_t arg_off = (uint32_t)l->u->args.n, nkept = 0;
  size_t mark0 = l->vals.n;
  CXCursor arg0 = clang_getNullCursor();
  uint32_t alloc_key = FC_NONE;
  int keyed = ref == FC_NONE; /* indirect calls are never frame calls */
  for (int i = 0; i < nargs; i++) {
    CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);
    if (i == 0)
      arg0 = a;
    if (!keyed && is_allocator(l, clang_getCursorType(a))) {
      keyed = 1;
      alloc_key = key_of(l, a);
    }
    size_t mark = l->vals.n;
    read_expr(l, a);
    if (role & ROLE_ARGS) {
      fc_arg_t arg;
      arg.src = keep_vals(l, mark, &arg.nsrc);
      arg.fnref = fn_designator(l, a);
      arg.loc = cursor_loc(l, a);
      PUSH(l->u->args, arg);
      nkept++;
    }
    if (!(i == 0 && (role & ROLE_PASS)))
      l->vals.n = mark;
  }
  fc_fn_t *fn = cur_fn(l);
  uint32_t call = fn->ncall++;
  fc_ev_t *e = emit(l, FC_EV_CALL, ref, cursor_loc(l, c));
  e->b = arg_off;
  e->n = nkept;
  e->c = call;
  e->key = alloc_key;
  if (!(role & ROLE_PASS))
    l->vals.n = mark0;
  PUSH(l->vals, FC_SRC(FC_SRC_CALL, call));
  int strong;
  if ((role & ROLE_VEC) && nargs >= 2) {
    uint32_t q =
        pointee_path(l, clang_Cursor_getArgument(c, 1), l->s_data, &strong);
    if (q != FC_NONE) {
      size_t mark = l->vals.n - 1;
      emit_assign(l, q, mark, strong, 1, e->loc);
      l->u->evs.v[l->u->evs.n - 1].flags |= FC_EVF_VEC;
    }
  }
  if ((role & ROLE_SETDATA) && nkept == 2 && !clang_Cursor_isNull(arg0)) {
    uint32_t q = pointee_path(l, arg0, l->s_data, &strong);
    if (q != FC_NONE) {
      fc_ev_t *a = emit(l, FC_EV_ASSIGN, q, e->loc);
      a->b = l->u->args.v[arg_off + 1].src;
      a->n = l->u->args.v[arg_off + 1].nsrc;
      a->flags = strong && !l->weak ? FC_EVF_STRONG : 0;
    }
  }
}

static void read_children(lower_t *l, CXCursor c) {
  size_t base = kids_push(l, c), end = l->kids.n;
  for (size_t i = base; i < end; i++) {
    CXCursor k = l->kids.v[i];
    if (is_expr(k))
      read_expr(l, k);
    else if (clang_isStatement(clang_getCursorKind(k)))
      lower_stmt(l, k);
  }
  l->kids.n = base;
}

static void lower_stmt_expr(lower_t *l, CXCursor c) {
  size_t base = kids_push(l, c);
  CXCursor body = l->kids.n > base ? l->kids.v[l->kids.n - 1] : c;
  int has = l->kids.n > base;
  l->kids.n = base;
  if (!has)
    return;
  base = kids_push(l, body);
  size_t end = l->kids.n;
  for (size_t i = base; i < end; i++) {
    CXCursor k = l->kids.v[i];
    if (i + 1 == end && is_expr(k))
      read_expr(l, k); /* the value of ({ ...; x; }) */
    else
      lower_stmt(l, k);
  }
  l->kids.n = base;
}

/* Reads expression c: emits its events and pushes its value's sources. */
static void read_expr(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  switch (k) {
  case CXCursor_DeclRefExpr: {
    uint32_t v = var_of(l, c);
    if (v != FC_NONE) {
      emit_use(l, v, 1, c);
      if (l->test)
        l->u->evs.v[l->u->evs.n - 1].flags |= FC_EVF_TEST;
      PUSH(l->vals, FC_SRC(FC_SRC_VAR, v));
    }
    return;
  }
  case CXCursor_MemberRefExpr:
  case CXCursor_ArraySubscriptExpr: {
    int strong;
    CXCursor root = c;
    uint32_t q = resolve(l, c, 1, &strong, &root);
    if (q != FC_NONE) {
      emit_use(l, q, 0, root);
      PUSH(l->vals, FC_SRC(FC_SRC_PATH, q));
    }
    return;
  }
  case CXCursor_UnaryOperator: {
    char op = unary_op(l, c);
    if (op == '*') {
      int strong;
      CXCursor root = c;
      uint32_t q = resolve(l, c, 1, &strong, &root);
      if (q != FC_NONE) {
        emit_use(l, q, 0, root);
        PUSH(l->vals, FC_SRC(FC_SRC_PATH, q));
      }
      return;
    }
    if (op == '&') {
      /* &x, &s.f, &p[i]: a pointer into the object, derived from it. Taking
       * the address of a variable does not read its value. */
      size_t mark = l->vals.n;
      size_t base = kids_push(l, c);
      int whole = l->kids.n - base == 1 &&
                  clang_getCursorKind(strip(l, l->kids.v[base])) ==
                      CXCursor_DeclRefExpr;
      l->kids.n = base;
      l->test = whole;
      read_children(l, c);
      l->test = 0;
      size_t end = l->vals.n;
      for (size_t i = mark; i < end; i++) {
        uint32_t s = l->vals.v[i];
        if (FC_SRC_KIND(s) == FC_SRC_PATH)
          l->vals.v[i] = FC_SRC(
              FC_SRC_VAR, l->u->paths.v[cur_fn(l)->path + FC_SRC_INDEX(s)].var);
      }
      return;
    }
    if (op == '!') {
      size_t base = kids_push(l, c);
      CXCursor o = l->kids.v[l->kids.n - 1];
      int one = l->kids.n - base == 1;
      l->kids.n = base;
      if (one) {
        read_operand(l, o, 1);
        return;
      }
    }
    read_children(l, c);
    return;
  }
  case CXCursor_BinaryOperator: {
    int arith = l->arith;
    l->arith = 0;
    size_t base = kids_push(l, c);
    if (l->kids.n - base != 2) {
      l->kids.n = base;
      read_children(l, c);
      return;
    }
    CXCursor lhs = l->kids.v[base], rhs = l->kids.v[base + 1];
    l->kids.n = base;
    if (is_assignment(l, c, lhs, rhs)) {
      size_t mark = l->vals.n;
      read_expr(l, rhs);
      int strong;
      CXCursor root = c;
      uint32_t q = resolve(l, lhs, 0, &strong, &root);
      if (q != FC_NONE)
        emit_assign(l, q, mark, strong,
                    type_tracked(clang_getCursorType(lhs), NULL),
                    cursor_loc(l, c));
      else if (type_tracked(clang_getCursorType(lhs), NULL))
        emit_store(l, lhs, mark, cursor_loc(l, c));
      return;
    }
    /* FA_AWAIT(expr) is (fa__await(), (expr)): the awaited expression and
     * its arguments are evaluated before the task suspends, so the marker
     * is lowered after them. */
    if (is_await_marker(lhs)) {
      read_expr(l, rhs);
      read_expr(l, lhs);
      return;
    }
    /* A comparison or a logical operator (an integer result) reads its
     * pointer operands' values only. */
    int test = arith || !type_tracked(clang_getCursorType(c), NULL);
    read_operand(l, lhs, test);
    read_operand(l, rhs, test);
    return;
  }
  case CXCursor_CompoundAssignOperator: {
    size_t base = kids_push(l, c);
    size_t n = l->kids.n - base;
    CXCursor lhs = l->kids.v[base], rhs = l->kids.v[l->kids.n - 1];
    l->kids.n = base;
    if (n != 2)
      return;
    read_discard(l, rhs);
    read_expr(l, lhs);
    return;
  }
  case CXCursor_ConditionalOperator: {
    size_t base = kids_push(l, c), end = l->kids.n;
    for (size_t i = base; i < end; i++) {
      if (i == base + 1)
        l->weak++;
      if (i == base)
        read_cond(l, l->kids.v[i]);
      else
        read_expr(l, l->kids.v[i]);
    }
    if (end - base > 1)
      l->weak--;
    l->kids.n = base;
    return;
  }
  case CXCursor_CallExpr:
    lower_call(l, c);
    return;
  case CXCursor_UnaryExpr: /* sizeof, _Alignof: not evaluated */
    return;
  case CXCursor_StmtExpr:
    lower_stmt_expr(l, c);
    return;
  default:
    read_children(l, c);
    return;
  }
}

/* ---- statements --------------------------------------------------------- */

static void lower_var(lower_t *l, CXCursor d) {
  uint32_t v = var_add(l, d);
  CXCursor init = clang_Cursor_getVarDeclInitializer(d);
  int has = !clang_Cursor_isNull(init) &&
            clang_getCursorKind(init) != CXCursor_InvalidFile;
  size_t mark = l->vals.n;
  if (has)
    read_expr(l, init);
  if (v != FC_NONE) {
    uint32_t path = l->u->vars.v[cur_fn(l)->var + v].path;
    int weak = l->weak;
    l->weak = 0; /* a declaration always starts a fresh object */
    emit_assign(l, path, mark, 1, 1, cursor_loc(l, d));
    l->weak = weak;
  }
  l->vals.n = mark;
}

/* Splits a for statement's children into init, cond, inc and body: absent
 * parts are not visited, so the header text tells which is which. */
static void for_parts(lower_t *l, CXCursor c, size_t base, size_t n,
                      CXCursor part[4]) {
  for (int i = 0; i < 4; i++)
    part[i] = clang_getNullCursor();
  part[3] = l->kids.v[base + n - 1];
  size_t nh = n - 1;
  if (nh == 3) {
    for (int i = 0; i < 3; i++)
      part[i] = l->kids.v[base + (size_t)i];
    return;
  }
  if (nh == 0)
    return;
  /* Find the two ';' of the header in the expanded text. */
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = text_at(l, clang_getRangeStart(clang_getCursorExtent(c)), 0,
                            &f, &off, &size);
  unsigned semi[2] = {0, 0};
  int nsemi = 0;
  if (buf && off + 3 < size && !strncmp(buf + off, "for", 3)) {
    size_t i = off + 3;
    int depth = 0;
    for (; i < size && nsemi < 2; i++) {
      char ch = buf[i];
      if (ch == '(')
        depth++;
      else if (ch == ')') {
        if (--depth <= 0)
          break;
      } else if (ch == ';' && depth == 1)
        semi[nsemi++] = (unsigned)i;
      else if (ch == '"' || ch == '\'') {
        for (i++; i < size && buf[i] != ch; i++)
          if (buf[i] == '\\')
            i++;
      }
    }
  }
  for (size_t k = 0; k < nh; k++) {
    CXCursor kid = l->kids.v[base + k];
    int slot = -1;
    if (nsemi == 2) {
      CXFile kf;
      unsigned ko;
      size_t ks;
      if (text_at(l, clang_getRangeStart(clang_getCursorExtent(kid)), 0, &kf,
                  &ko, &ks) &&
          clang_File_isEqual(kf, f))
        slot = ko < semi[0] ? 0 : ko < semi[1] ? 1 : 2;
    }
    if (slot < 0) /* fall back on the order: init, cond, inc */
      slot = clang_getCursorKind(kid) == CXCursor_DeclStmt ? 0
             : nh == 1                                     ? 1
                                                           : (int)k;
    part[slot] = kid;
  }
}

static void lower_part(lower_t *l, CXCursor c) {
  if (clang_Cursor_isNull(c))
    return;
  if (is_expr(c))
    read_discard(l, c);
  else
    lower_stmt(l, c);
}

static void lower_cond(lower_t *l, CXCursor c) {
  if (!clang_Cursor_isNull(c) && is_expr(c))
    read_cond(l, c);
  else
    lower_part(l, c);
}

static void lower_loop(lower_t *l, CXCursor init, CXCursor cond, CXCursor inc,
                       CXCursor body, int is_do) {
  uint32_t head = new_block(l), bodyb = new_block(l), next = new_block(l),
           exit = new_block(l);
  uint32_t brk = l->brk, cont = l->cont;
  int brk_sw = l->brk_sw;
  lower_part(l, init);
  if (is_do) {
    edge(l, l->cur, bodyb);
  } else {
    edge(l, l->cur, head);
    start_block(l, head);
    lower_cond(l, cond);
    edge(l, l->cur, bodyb);
    if (!clang_Cursor_isNull(cond))
      edge(l, l->cur, exit);
  }
  l->brk = exit;
  l->brk_sw = 0;
  l->cont = next;
  start_block(l, bodyb);
  lower_part(l, body);
  edge(l, l->cur, next);
  start_block(l, next);
  if (is_do) {
    lower_cond(l, cond);
    edge(l, l->cur, bodyb);
    edge(l, l->cur, exit);
  } else {
    lower_part(l, inc);
    edge(l, l->cur, head);
  }
  l->brk = brk;
  l->brk_sw = brk_sw;
  l->cont = cont;
  start_block(l, exit);
}

/* Whether expression statement c is a call that never returns. */
static int ends_path(lower_t *l, CXCursor c) {
  c = strip(l, c);
  if (clang_getCursorKind(c) != CXCursor_CallExpr)
    return 0;
  CXCursor callee = clang_getCursorReferenced(c);
  if (clang_getCursorKind(callee) != CXCursor_FunctionDecl)
    return 0;
  return (l->role.v[ref_of(l, callee)] & ROLE_NORETURN) != 0;
}

static void lower_stmt(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  size_t base, n;
  switch (k) {
  case CXCursor_CompoundStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    for (size_t i = 0; i < n; i++)
      lower_stmt(l, l->kids.v[base + i]);
    l->kids.n = base;
    return;
  }
  case CXCursor_DeclStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    for (size_t i = 0; i < n; i++)
      if (clang_getCursorKind(l->kids.v[base + i]) == CXCursor_VarDecl)
        lower_var(l, l->kids.v[base + i]);
    l->kids.n = base;
    return;
  }
  case CXCursor_IfStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    if (n < 2) {
      l->kids.n = base;
      return;
    }
    read_cond(l, l->kids.v[base]);
    uint32_t thenb = new_block(l), join = new_block(l);
    uint32_t elseb = n > 2 ? new_block(l) : join;
    edge(l, l->cur, thenb);
    edge(l, l->cur, elseb);
    start_block(l, thenb);
    lower_stmt(l, l->kids.v[base + 1]);
    edge(l, l->cur, join);
    if (n > 2) {
      start_block(l, elseb);
      lower_stmt(l, l->kids.v[base + 2]);
      edge(l, l->cur, join);
    }
    l->kids.n = base;
    start_block(l, join);
    return;
  }
  case CXCursor_WhileStmt:
  case CXCursor_DoStmt:
  case CXCursor_ForStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    CXCursor part[4];
    if (n == 0) {
      l->kids.n = base;
      return;
    }
    if (k == CXCursor_ForStmt)
      for_parts(l, c, base, n, part);
    else {
      for (int i = 0; i < 4; i++)
        part[i] = clang_getNullCursor();
      part[1] = l->kids.v[base + (k == CXCursor_DoStmt ? n - 1 : 0)];
      part[3] = l->kids.v[base + (k == CXCursor_DoStmt ? 0 : n - 1)];
    }
    lower_loop(l, part[0], part[1], part[2], part[3], k == CXCursor_DoStmt);
    l->kids.n = base;
    return;
  }
  case CXCursor_SwitchStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    if (n < 2) {
      l->kids.n = base;
      return;
    }
    read_discard(l, l->kids.v[base]);
    uint32_t head = l->cur, exit = new_block(l);
    uint32_t brk = l->brk, sw = l->sw_head;
    int brk_sw = l->brk_sw;
    int dflt = l->sw_default;
    l->brk = exit;
    l->brk_sw = 1;
    l->sw_head = head;
    l->sw_default = 0;
    start_block(l, new_block(l));
    lower_stmt(l, l->kids.v[base + n - 1]);
    edge(l, l->cur, exit);
    if (!l->sw_default)
      edge(l, head, exit);
    l->brk = brk;
    l->brk_sw = brk_sw;
    l->sw_head = sw;
    l->sw_default = dflt;
    l->kids.n = base;
    start_block(l, exit);
    return;
  }
  case CXCursor_CaseStmt:
  case CXCursor_DefaultStmt:
  case CXCursor_LabelStmt: {
    uint32_t b = new_block(l);
    edge(l, l->cur, b);
    if (k == CXCursor_LabelStmt) {
      map_put(&l->labelmap, (uintptr_t)c.data[1], b);
      PUSH(l->labels, b);
    } else if (l->sw_head != FC_NONE) {
      edge(l, l->sw_head, b);
      if (k == CXCursor_DefaultStmt)
        l->sw_default = 1;
    }
    start_block(l, b);
    base = kids_push(l, c);
    n = l->kids.n - base;
    CXCursor sub = n ? l->kids.v[base + n - 1] : c;
    l->kids.n = base;
    if (n && !(k == CXCursor_CaseStmt && n == 1))
      lower_stmt(l, sub);
    return;
  }
  case CXCursor_BreakStmt:
    emit_jump(l, FC_JUMP_BREAK, cursor_loc(l, c));
    l->u->evs.v[l->u->evs.n - 1].b = (uint32_t)l->brk_sw;
    jump(l, l->brk);
    return;
  case CXCursor_ContinueStmt:
    emit_jump(l, FC_JUMP_CONTINUE, cursor_loc(l, c));
    jump(l, l->cont);
    return;
  case CXCursor_ReturnStmt: {
    base = kids_push(l, c);
    n = l->kids.n - base;
    CXCursor v = n ? l->kids.v[base] : c;
    l->kids.n = base;
    if (n) {
      size_t mark = l->vals.n;
      read_expr(l, v);
      if (l->ret_tracked) {
        uint32_t cnt;
        uint32_t off = keep_vals(l, mark, &cnt);
        fc_ev_t *e = emit(l, FC_EV_RET, 0, cursor_loc(l, c));
        e->b = off;
        e->n = cnt;
      }
      l->vals.n = mark;
    }
    emit_jump(l, FC_JUMP_RETURN, cursor_loc(l, c));
    jump(l, 1);
    return;
  }
  case CXCursor_GotoStmt: {
    base = kids_push(l, c);
    CXCursor target = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (clang_getCursorKind(l->kids.v[i]) == CXCursor_LabelRef)
        target = clang_getCursorReferenced(l->kids.v[i]);
    l->kids.n = base;
    emit_jump(l, FC_JUMP_GOTO, cursor_loc(l, c));
    if (!clang_Cursor_isNull(target)) {
      FC_VEC_RESERVE(l->gotos, 2);
      l->gotos.v[l->gotos.n++] = l->cur;
      l->gotos.v[l->gotos.n++] = (uintptr_t)target.data[1];
    } else
      PUSH(l->indirect, l->cur);
    jump(l, FC_NONE);
    return;
  }
  case CXCursor_IndirectGotoStmt:
    read_children(l, c);
    emit_jump(l, FC_JUMP_GOTO, cursor_loc(l, c));
    PUSH(l->indirect, l->cur);
    jump(l, FC_NONE);
    return;
  case CXCursor_NullStmt:
  case CXCursor_AsmStmt:
  case CXCursor_MSAsmStmt:
    return;
  default:
    if (is_expr(c)) {
      read_discard(l, c);
      if (ends_path(l, c))
        jump(l, FC_NONE);
    } else if (clang_isStatement(k))
      read_children(l, c);
    return;
  }
}

/* ---- functions ---------------------------------------------------------- */

static void finish_edges(lower_t *l, fc_fn_t *fn) {
  /* gotos: to their label; computed gotos: to every label */
  for (size_t i = 0; i < l->gotos.n; i += 2) {
    uintptr_t to;
    if (map_get(&l->labelmap, l->gotos.v[i + 1], &to))
      edge(l, (uint32_t)l->gotos.v[i], (uint32_t)to);
  }
  for (size_t i = 0; i < l->indirect.n; i++)
    for (size_t j = 0; j < l->labels.n; j++)
      edge(l, l->indirect.v[i], l->labels.v[j]);
  fc_bb_t *bbs = l->u->bbs.v + fn->bb;
  for (uint32_t b = 0; b < fn->nbb; b++) {
    if (bbs[b].ev == FC_NONE) {
      bbs[b].ev = (uint32_t)l->u->evs.n;
      bbs[b].nev = 0;
    }
    bbs[b].nsucc = 0;
  }
  for (size_t i = 0; i < l->edges.n; i += 2)
    bbs[l->edges.v[i]].nsucc++;
  uint32_t off = (uint32_t)l->u->succs.n;
  FC_VEC_RESERVE(l->u->succs, l->edges.n / 2);
  for (uint32_t b = 0; b < fn->nbb; b++) {
    bbs[b].succ = off;
    off += bbs[b].nsucc;
    bbs[b].nsucc = 0;
  }
  for (size_t i = 0; i < l->edges.n; i += 2) {
    fc_bb_t *b = &bbs[l->edges.v[i]];
    l->u->succs.v[b->succ + b->nsucc++] = l->edges.v[i + 1];
  }
  l->u->succs.n = off;
}

static void lower_fn(lower_t *l, CXCursor c, CXCursor body) {
  fc_fn_t fn;
  memset(&fn, 0, sizeof(fn));
  fn.ref = ref_of(l, c);
  fn.loc = cursor_loc(l, c);
  fn.bb = (uint32_t)l->u->bbs.n;
  fn.var = (uint32_t)l->u->vars.n;
  fn.path = (uint32_t)l->u->paths.n;
  fn.ev = (uint32_t)l->u->evs.n;
  l->fni = l->u->fns.n;
  PUSH(l->u->fns, fn);
  map_clear(&l->varmap);
  map_clear(&l->labelmap);
  l->edges.n = l->gotos.n = l->labels.n = l->indirect.n = 0;
  l->brk = l->cont = l->sw_head = FC_NONE;
  l->cur = FC_NONE;
  l->weak = 0;
  l->ret_tracked = type_tracked(clang_getCursorResultType(c), NULL);
  new_block(l); /* 0: entry */
  new_block(l); /* 1: exit */
  start_block(l, 0);
  int nparams = clang_Cursor_getNumArguments(c);
  for (int i = 0; i < nparams; i++) {
    uint32_t v = var_add(l, clang_Cursor_getArgument(c, (unsigned)i));
    if (v != FC_NONE)
      l->u->vars.v[cur_fn(l)->var + v].storage = FC_VAR_PARAM;
  }
  lower_stmt(l, body);
  emit_jump(l, FC_JUMP_END, body_end(l, body));
  edge(l, l->cur, 1);
  start_block(l, 1);
  close_block(l);
  fc_fn_t *f = cur_fn(l);
  f->nbb = (uint32_t)(l->u->bbs.n - f->bb);
  f->nvar = (uint32_t)(l->u->vars.n - f->var);
  f->npath = (uint32_t)(l->u->paths.n - f->path);
  f->nev = (uint32_t)(l->u->evs.n - f->ev);
  finish_edges(l, f);
}

static enum CXChildVisitResult find_body(CXCursor c, CXCursor parent,
                                         CXClientData data) {
  (void)parent;
  if (clang_getCursorKind(c) == CXCursor_CompoundStmt)
    *(CXCursor *)data = c;
  return CXChildVisit_Continue;
}

static enum CXChildVisitResult top_level(CXCursor c, CXCursor parent,
                                         CXClientData data) {
  (void)parent;
  lower_t *l = data;
  if (clang_getCursorKind(c) != CXCursor_FunctionDecl ||
      !clang_isCursorDefinition(c))
    return CXChildVisit_Continue;
  CXSourceLocation sl = clang_getCursorLocation(c);
  if (clang_Location_isInSystemHeader(sl))
    return CXChildVisit_Continue;
  CXFile f;
  clang_getExpansionLocation(sl, &f, NULL, NULL, NULL);
  if (!f || file_get(l, f, sl)->skip)
    return CXChildVisit_Continue;
  CXCursor body = clang_getNullCursor();
  clang_visitChildren(c, find_body, &body);
  if (!clang_Cursor_isNull(body))
    lower_fn(l, c, body);
  return CXChildVisit_Continue;
}

fc_unit_t *fc_unit_lower(CXTranslationUnit tu, const fc_config_t *cfg,
                         fc_failure_list_t *fail) {
  (void)fail;
  lower_t l;
  memset(&l, 0, sizeof(l));
  l.tu = tu;
  l.cfg = cfg;
  l.u = fc_xrealloc(NULL, sizeof(fc_unit_t));
  memset(l.u, 0, sizeof(fc_unit_t));
  l.s_elems = fc_intern("[]");
  l.s_data = fc_intern("data");
  clang_visitChildren(clang_getTranslationUnitCursor(tu), top_level, &l);
  free(l.vals.v);
  free(l.kids.v);
  free(l.edges.v);
  free(l.gotos.v);
  free(l.labels.v);
  free(l.indirect.v);
  free(l.role.v);
  free(l.refmap.v);
  free(l.varmap.v);
  free(l.labelmap.v);
  free(l.fieldmap.v);
  free(l.allocmap.v);
  free(l.keymap.v);
  return l.u;
}

void fc_unit_free(fc_unit_t *u) {
  if (!u)
    return;
  free(u->fns.v);
  free(u->refs.v);
  free(u->bbs.v);
  free(u->succs.v);
  free(u->evs.v);
  free(u->args.v);
  free(u->srcs.v);
  free(u->vars.v);
  free(u->paths.v);
  free(u->keys.v);
  free(u);
}
