/* Lowering: turns the AST of one translation unit into the analysis IR of
 * ir.h (a control-flow graph of events per defined function), so that the
 * translation unit can be disposed right after. This file holds the
 * context: source locations, declarations, paths, blocks and events, and
 * the walk over functions; lower_stmt.c lowers statements, lower_expr.c
 * expressions.
 *
 * Only bodies of functions defined in non-system files are visited, once.
 * The public framealloc headers are skipped: their inline functions are the
 * primitives the rules know by name. Every cursor libclang hands out is
 * looked up in small hash maps keyed by its declaration, so spellings and
 * USRs are computed once per declaration, not once per use. */
#include "lower.h"

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

/* ---- a map from pointers to integers, cleared in O(1) ----------------- */

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

void lw_map_put(map_t *m, uintptr_t key, uintptr_t val) {
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
    e->skip = (len >= 13 && !strcmp(n + len - 13, "/framealloc.h")) ||
              (len >= 15 && !strcmp(n + len - 15, "/framealloc.hpp")) ||
              strstr(n, "/include/framealloc/") != NULL;
    if (!strcmp(n, "framealloc.h") || !strcmp(n, "framealloc.hpp"))
      e->skip = 1;
  }
  return e;
}

/* The expansion location: a finding inside a macro use is reported at the
 * macro use in the user's file. */
fc_loc_t lw_loc_of(lower_t *l, CXSourceLocation sl) {
  CXFile f;
  unsigned line, col;
  clang_getExpansionLocation(sl, &f, &line, &col, NULL);
  fc_loc_t loc = {NULL, line, col};
  if (f)
    loc.file = file_get(l, f, sl)->name;
  return loc;
}

fc_loc_t lw_cursor_loc(lower_t *l, CXCursor c) {
  return lw_loc_of(l, clang_getCursorLocation(c));
}

/* The source text at a location, spelled (`spelling`) or expanded. */
const char *lw_text_at(lower_t *l, CXSourceLocation sl, int spelling,
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

/* ---- children ----------------------------------------------------------- */

static enum CXChildVisitResult collect(CXCursor c, CXCursor parent,
                                       CXClientData data) {
  (void)parent;
  lower_t *l = data;
  PUSH(l->kids, c);
  return CXChildVisit_Continue;
}

/* Pushes the children of c on the children stack; returns the first. */
size_t lw_kids_push(lower_t *l, CXCursor c) {
  size_t base = l->kids.n;
  clang_visitChildren(c, collect, l);
  return base;
}

int lw_is_expr(CXCursor c) {
  return clang_isExpression(clang_getCursorKind(c));
}

CXCursor lw_last_expr(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  CXCursor e = clang_getNullCursor();
  for (size_t i = base; i < l->kids.n; i++)
    if (lw_is_expr(l->kids.v[i]))
      e = l->kids.v[i];
  l->kids.n = base;
  return e;
}

/* Through parentheses, casts and implicit conversions. */
CXCursor lw_strip(lower_t *l, CXCursor c) {
  for (;;) {
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k != CXCursor_ParenExpr && k != CXCursor_CStyleCastExpr &&
        k != CXCursor_UnexposedExpr)
      return c;
    CXCursor inner = lw_last_expr(l, c);
    if (clang_Cursor_isNull(inner))
      return c;
    c = inner;
  }
}

/* ---- types -------------------------------------------------------------- */

/* Types that can carry a frame pointer: pointers, references, structs and
 * classes, arrays. */
int lw_type_tracked(CXType t, int *is_ptr) {
  t = clang_getCanonicalType(t);
  if (is_ptr)
    *is_ptr = t.kind == CXType_Pointer;
  switch (t.kind) {
  case CXType_Pointer:
  case CXType_LValueReference:
  case CXType_RValueReference:
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
  static const char *const pass[] = {
      "fa__zero",     "fa__copy", "memset",   "memcpy",  "memmove",
      "strcpy",       "strncpy",  "strcat",   "strncat", "std::move",
      "std::forward", "std::ref", "std::cref"};
  for (size_t i = 0; i < sizeof(pass) / sizeof(*pass); i++)
    if (!strcmp(name, pass[i]))
      return ROLE_PASS;
  if (!strcmp(name, "fa__frame_vec_reserve"))
    return ROLE_VEC;
  if (!strcmp(name, "uv_req_set_data"))
    return ROLE_ARGS | ROLE_SETDATA;
  if (!strncmp(name, "uv_", 3) || !strncmp(name, "fa_uv_", 6) ||
      !strcmp(name, "pthread_create") || !strcmp(name, "thrd_create") ||
      !strcmp(name, "std::thread") || !strcmp(name, "std::jthread") ||
      !strcmp(name, "std::async"))
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
  const char *buf = lw_text_at(
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
uint32_t lw_ref_of(lower_t *l, CXCursor decl) {
  uintptr_t key = (uintptr_t)decl.data[0], val;
  if (map_get(&l->refmap, key, &val))
    return (uint32_t)val;
  fc_ref_t r;
  memset(&r, 0, sizeof(r));
  r.name = lw_cxx_name(l, decl);
  CXString s;
  if (!r.name) {
    s = clang_getCursorSpelling(decl);
    r.name = fc_intern(clang_getCString(s));
    clang_disposeString(s);
  }
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
  lw_map_put(&l->refmap, key, id);
  return id;
}

static uint32_t new_path(lower_t *l, uint32_t var, const char *field) {
  fc_fn_t *fn = lw_cur_fn(l);
  fc_path_t p = {var, field, FC_NONE};
  uint32_t id = (uint32_t)(l->u->paths.n - fn->path);
  PUSH(l->u->paths, p);
  return id;
}

/* The path `var.field` (field NULL: the variable), made on first use. */
uint32_t lw_path_get(lower_t *l, uint32_t var, const char *field) {
  fc_fn_t *fn = lw_cur_fn(l);
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
uint32_t lw_var_add(lower_t *l, CXCursor decl) {
  int is_ptr;
  uintptr_t key = (uintptr_t)decl.data[0];
  if (!lw_type_tracked(clang_getCursorType(decl), &is_ptr)) {
    lw_map_put(&l->varmap, key, UNTRACKED);
    return FC_NONE;
  }
  fc_fn_t *fn = lw_cur_fn(l);
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
  lw_map_put(&l->varmap, key, id);
  return id;
}

int lw_var_known(lower_t *l, CXCursor decl) {
  uintptr_t v;
  return map_get(&l->varmap, (uintptr_t)decl.data[0], &v);
}

/* The local variable a DeclRefExpr names, FC_NONE otherwise. */
uint32_t lw_var_of(lower_t *l, CXCursor ref) {
  CXCursor d = clang_getCursorReferenced(ref);
  uintptr_t v;
  if (clang_Cursor_isNull(d) ||
      !map_get(&l->varmap, (uintptr_t)d.data[0], &v) || v == UNTRACKED)
    return FC_NONE;
  return (uint32_t)v;
}

const char *lw_field_of(lower_t *l, CXCursor member) {
  CXCursor d = clang_getCursorReferenced(member);
  uintptr_t key = (uintptr_t)d.data[0], val;
  if (!clang_Cursor_isNull(d) && map_get(&l->fieldmap, key, &val))
    return (const char *)val;
  CXString s = clang_getCursorSpelling(member);
  const char *name = fc_intern(clang_getCString(s));
  clang_disposeString(s);
  if (!clang_Cursor_isNull(d))
    lw_map_put(&l->fieldmap, key, (uintptr_t)name);
  return name;
}

/* ---- allocators and keys ------------------------------------------------ */

/* Whether t is `fa_allocator_t *`: the argument that names the allocator
 * of a frame call. Answers are cached by record declaration. */
int lw_is_allocator(lower_t *l, CXType t) {
  t = clang_getCanonicalType(t);
  if (t.kind == CXType_Record) /* fa::allocator, fa::allocator_ref */
    return lw_cxx_is_allocator(clang_getTypeDeclaration(t));
  if (t.kind != CXType_Pointer && t.kind != CXType_LValueReference)
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
    val = (n && !strcmp(n, "fa_allocator_s")) || lw_cxx_is_allocator(d) ? 1 : 2;
    clang_disposeString(s);
    lw_map_put(&l->allocmap, key, val);
  }
  return val == 1;
}

/* Appends the text of a simple object designator (`a`, `app->alloc`,
 * `g.frames.a`) to buf; 0 when c is anything else (a call, an index). */
int lw_key_text(lower_t *l, CXCursor c, char *buf, size_t size, size_t *len,
                int depth) {
  c = lw_strip(l, c);
  enum CXCursorKind k = clang_getCursorKind(c);
  const char *part, *sep = "";
  CXString s;
  if (k == CXCursor_DeclRefExpr) {
    s = clang_getCursorSpelling(c);
    part = clang_getCString(s);
  } else if (k == CXCursor_MemberRefExpr && depth < 8) {
    CXCursor b = lw_last_expr(l, c);
    if (clang_Cursor_isNull(b) || !lw_key_text(l, b, buf, size, len, depth + 1))
      return 0;
    CXType bt = clang_getCanonicalType(clang_getCursorType(b));
    sep = bt.kind == CXType_Pointer ? "->" : ".";
    s = clang_getCursorSpelling(c);
    part = clang_getCString(s);
  } else if (k == CXCursor_CallExpr && depth < 8 &&
             clang_Cursor_getNumArguments(c) == 1 &&
             clang_getCursorKind(clang_getCursorReferenced(c)) ==
                 CXCursor_Constructor) {
    /* fa::allocator_ref(a): the allocator converted */
    return lw_key_text(l, clang_Cursor_getArgument(c, 0), buf, size, len,
                       depth + 1);
  } else
    return 0;
  int ok = part && *part && *len + strlen(sep) + strlen(part) + 1 < size;
  if (ok)
    *len += (size_t)snprintf(buf + *len, size - *len, "%s%s", sep, part);
  clang_disposeString(s);
  return ok;
}

/* The unit's index of an interned key. */
uint32_t lw_key_index(lower_t *l, const char *key) {
  uintptr_t val;
  if (map_get(&l->keymap, (uintptr_t)key, &val))
    return (uint32_t)val;
  uint32_t id = (uint32_t)l->u->keys.n;
  PUSH(l->u->keys, key);
  lw_map_put(&l->keymap, (uintptr_t)key, id);
  return id;
}

/* The key of an allocator argument, FC_NONE when it is not a simple
 * designator (then it matches every allocator). */
uint32_t lw_key_of(lower_t *l, CXCursor c) {
  char buf[256];
  size_t len = 0;
  buf[0] = 0;
  if (!lw_key_text(l, c, buf, sizeof(buf), &len, 0))
    return FC_NONE;
  return lw_key_index(l, fc_intern(buf));
}

/* Where a function body ends: its closing brace. */
static fc_loc_t body_end(lower_t *l, CXCursor body) {
  fc_loc_t loc = lw_loc_of(l, clang_getRangeEnd(clang_getCursorExtent(body)));
  if (loc.col > 1)
    loc.col--;
  return loc;
}

/* ---- blocks and events ------------------------------------------------- */

uint32_t lw_new_block(lower_t *l) {
  fc_bb_t b = {FC_NONE, 0, 0, 0};
  uint32_t id = (uint32_t)(l->u->bbs.n - lw_cur_fn(l)->bb);
  PUSH(l->u->bbs, b);
  return id;
}

static void close_block(lower_t *l) {
  if (l->cur == FC_NONE)
    return;
  fc_bb_t *b = &l->u->bbs.v[lw_cur_fn(l)->bb + l->cur];
  b->nev = (uint32_t)(l->u->evs.n - b->ev);
}

void lw_start_block(lower_t *l, uint32_t id) {
  close_block(l);
  l->u->bbs.v[lw_cur_fn(l)->bb + id].ev = (uint32_t)l->u->evs.n;
  l->cur = id;
}

void lw_edge(lower_t *l, uint32_t from, uint32_t to) {
  FC_VEC_RESERVE(l->edges, 2);
  l->edges.v[l->edges.n++] = from;
  l->edges.v[l->edges.n++] = to;
}

/* Ends the current block with a jump: what follows is unreachable until a
 * label or case starts a new block. */
void lw_jump(lower_t *l, uint32_t to) {
  if (to != FC_NONE)
    lw_edge(l, l->cur, to);
  lw_start_block(l, lw_new_block(l));
}

fc_ev_t *lw_emit(lower_t *l, uint8_t kind, uint32_t a, fc_loc_t loc) {
  FC_VEC_RESERVE(l->u->evs, 1);
  fc_ev_t *e = &l->u->evs.v[l->u->evs.n++];
  memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->a = a;
  e->key = FC_NONE;
  e->loc = loc;
  return e;
}

void lw_emit_jump(lower_t *l, uint32_t what, fc_loc_t loc) {
  lw_emit(l, FC_EV_JUMP, what, loc);
}

uint32_t lw_synthetic_ref(lower_t *l, const char *name, unsigned flags) {
  const char *n = fc_intern(name);
  uintptr_t key = (uintptr_t)n, val;
  if (map_get(&l->refmap, key, &val))
    return (uint32_t)val;
  char usr[300];
  snprintf(usr, sizeof(usr), "fa-check:%s", name);
  fc_ref_t r;
  memset(&r, 0, sizeof(r));
  r.name = n;
  r.usr = fc_intern(usr);
  r.flags = flags;
  uint32_t id = (uint32_t)l->u->refs.n;
  PUSH(l->u->refs, r);
  PUSH(l->role, 0);
  lw_map_put(&l->refmap, key, id);
  return id;
}

fc_ev_t *lw_emit_call(lower_t *l, uint32_t ref, uint32_t key, fc_loc_t loc) {
  uint32_t call = lw_cur_fn(l)->ncall++;
  fc_ev_t *e = lw_emit(l, FC_EV_CALL, ref, loc);
  e->b = (uint32_t)l->u->args.n;
  e->c = call;
  e->key = key;
  PUSH(l->vals, FC_SRC(FC_SRC_CALL, call));
  return e;
}

/* Copies the value stack from `mark` into the unit's source pool. */
uint32_t lw_keep_vals(lower_t *l, size_t mark, uint32_t *n) {
  uint32_t off = (uint32_t)l->u->srcs.n;
  *n = (uint32_t)(l->vals.n - mark);
  FC_VEC_RESERVE(l->u->srcs, *n);
  if (*n) /* srcs.v may still be NULL */
    memcpy(l->u->srcs.v + off, l->vals.v + mark, *n * sizeof(uint32_t));
  l->u->srcs.n += *n;
  return off;
}

void lw_emit_use(lower_t *l, uint32_t a, int whole, CXCursor at) {
  fc_ev_t *e = lw_emit(l, FC_EV_USE, a, lw_cursor_loc(l, at));
  e->flags = whole ? FC_EVF_WHOLE : 0;
}

void lw_emit_assign(lower_t *l, uint32_t path, size_t mark, int strong,
                    int tracked, fc_loc_t loc) {
  uint32_t n = 0, off = 0;
  if (tracked)
    off = lw_keep_vals(l, mark, &n);
  fc_ev_t *e = lw_emit(l, FC_EV_ASSIGN, path, loc);
  e->b = off;
  e->n = n;
  e->flags = strong && !l->weak ? FC_EVF_STRONG : 0;
}

/* ---- functions ---------------------------------------------------------- */

static void finish_edges(lower_t *l, fc_fn_t *fn) {
  /* gotos: to their label; computed gotos: to every label */
  for (size_t i = 0; i < l->gotos.n; i += 2) {
    uintptr_t to;
    if (map_get(&l->labelmap, l->gotos.v[i + 1], &to))
      lw_edge(l, (uint32_t)l->gotos.v[i], (uint32_t)to);
  }
  for (size_t i = 0; i < l->indirect.n; i++)
    for (size_t j = 0; j < l->labels.n; j++)
      lw_edge(l, l->indirect.v[i], l->labels.v[j]);
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

static void lower_fn(lower_t *l, CXCursor c, CXCursor body, uint32_t ref) {
  fc_fn_t fn;
  memset(&fn, 0, sizeof(fn));
  fn.ref = ref;
  fn.loc = lw_cursor_loc(l, c);
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
  l->depth = l->loop_depth = 0;
  l->scopes.n = 0;
  l->handler = FC_NONE;
  l->ret_tracked = lw_type_tracked(clang_getCursorResultType(c), NULL);
  lw_new_block(l); /* 0: entry */
  lw_new_block(l); /* 1: exit */
  lw_start_block(l, 0);
  int nparams = clang_Cursor_getNumArguments(c);
  for (int i = 0; i < nparams; i++) {
    uint32_t v = lw_var_add(l, clang_Cursor_getArgument(c, (unsigned)i));
    if (v != FC_NONE)
      l->u->vars.v[lw_cur_fn(l)->var + v].storage = FC_VAR_PARAM;
  }
  lw_lower_stmt(l, body);
  lw_emit_jump(l, FC_JUMP_END, body_end(l, body));
  lw_edge(l, l->cur, 1);
  lw_start_block(l, 1);
  close_block(l);
  fc_fn_t *f = lw_cur_fn(l);
  f->nbb = (uint32_t)(l->u->bbs.n - f->bb);
  f->nvar = (uint32_t)(l->u->vars.n - f->var);
  f->npath = (uint32_t)(l->u->paths.n - f->path);
  f->nev = (uint32_t)(l->u->evs.n - f->ev);
  finish_edges(l, f);
}

typedef struct body_scan_s {
  lower_t *l;
  CXCursor body;
} body_scan_t;

static enum CXChildVisitResult find_body(CXCursor c, CXCursor parent,
                                         CXClientData data) {
  (void)parent;
  body_scan_t *bs = data;
  if (clang_getCursorKind(c) == CXCursor_CompoundStmt)
    bs->body = c;
  else if (clang_getCursorKind(c) == CXCursor_UnexposedStmt) {
    CXCursor co = lw_cxx_coroutine_body(bs->l, c);
    if (!clang_Cursor_isNull(co))
      bs->body = co;
  }
  return CXChildVisit_Continue;
}

/* Lowers a function body, then the lambdas it handed on (each a function
 * of its own, named by a synthetic ref). */
static void lower_with_lambdas(lower_t *l, CXCursor c, CXCursor body) {
  l->lambdas.n = l->lambda_refs.n = 0;
  lower_fn(l, c, body, lw_ref_of(l, c));
  for (size_t i = 0; i < l->lambdas.n && i < 256; i++) {
    CXCursor lam = l->lambdas.v[i];
    body_scan_t bs = {l, clang_getNullCursor()};
    clang_visitChildren(lam, find_body, &bs);
    if (!clang_Cursor_isNull(bs.body))
      lower_fn(l, lam, bs.body, l->lambda_refs.v[i]);
  }
}

static enum CXChildVisitResult top_level(CXCursor c, CXCursor parent,
                                         CXClientData data) {
  (void)parent;
  lower_t *l = data;
  enum CXCursorKind k = clang_getCursorKind(c);
  int scope = lw_cxx_is_scope(k);
  if (!scope && (!lw_cxx_is_function(k) || !clang_isCursorDefinition(c)))
    return CXChildVisit_Continue;
  CXSourceLocation sl = clang_getCursorLocation(c);
  if (clang_Location_isInSystemHeader(sl))
    return CXChildVisit_Continue;
  CXFile f;
  clang_getExpansionLocation(sl, &f, NULL, NULL, NULL);
  if (!f || file_get(l, f, sl)->skip)
    return CXChildVisit_Continue;
  if (scope) {
    clang_visitChildren(c, top_level, l);
    return CXChildVisit_Continue;
  }
  body_scan_t bs = {l, clang_getNullCursor()};
  clang_visitChildren(c, find_body, &bs);
  if (!clang_Cursor_isNull(bs.body))
    lower_with_lambdas(l, c, bs.body);
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
  free(l.scopes.v);
  free(l.lambdas.v);
  free(l.lambda_refs.v);
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
