/* Expression lowering: reads of variables and access paths, assignments,
 * calls and their arguments, in evaluation order, onto the value stack of
 * the lowering context (lower.h). */
#include "lower.h"

/* ---- operators the AST does not name ------------------------------------ */

/* A fallback of is_assignment: the text after the left operand (a macro
 * argument such as `x` in `SET(x, y)`), skipping a simple lvalue. 1 an
 * assignment, 0 another operator, -1 cannot tell. */
static int assignment_after(lower_t *l, CXSourceLocation a) {
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = lw_text_at(l, a, 1, &f, &off, &size);
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
    const char *ta = lw_text_at(l, a, spelling, &fa, &oa, &sa);
    const char *buf = lw_text_at(l, b, spelling, &fb, &ob, &sb);
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
  const char *buf = lw_text_at(l, sl, 1, &f, &off, &size);
  if (!buf)
    return 0;
  return buf[off];
}

/* The variable at the root of an lvalue (`g` of `g.f`, `g->f[i]`, `*g`),
 * when it is a variable of static storage that lowering does not track:
 * a global. Null cursor otherwise. */
static CXCursor global_root(lower_t *l, CXCursor c) {
  for (int depth = 0; depth < 16; depth++) {
    c = lw_strip(l, c);
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
    size_t base = lw_kids_push(l, c);
    CXCursor b = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (lw_is_expr(l->kids.v[i])) {
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
 * STORE when it is rooted in a global or is a member of *this, for FA601. */
static void emit_store(lower_t *l, CXCursor lhs, size_t mark, fc_loc_t loc) {
  if (l->vals.n == mark)
    return; /* nothing that can carry frame memory */
  CXCursor g = global_root(l, lhs);
  char buf[256];
  size_t len = 0;
  buf[0] = 0;
  if (clang_Cursor_isNull(g)) {
    /* C++: a member of the object a method runs on, which outlives it */
    if (!lw_cxx_this_member(l, lhs, buf, sizeof(buf)))
      return;
  } else if (!lw_key_text(l, lhs, buf, sizeof(buf), &len, 0)) {
    CXString s = clang_getCursorSpelling(g);
    snprintf(buf, sizeof(buf), "%s", clang_getCString(s));
    clang_disposeString(s);
  }
  uint32_t n;
  uint32_t off = lw_keep_vals(l, mark, &n);
  fc_ev_t *e = lw_emit(l, FC_EV_STORE, 0, loc);
  e->b = off;
  e->n = n;
  e->key = lw_key_index(l, fc_intern(buf));
}

/* ---- expressions -------------------------------------------------------- */

void lw_read_discard(lower_t *l, CXCursor c) {
  size_t mark = l->vals.n;
  lw_read_expr(l, c);
  l->vals.n = mark;
}

static uint32_t resolve(lower_t *l, CXCursor c, int reading, int *strong,
                        CXCursor *root);

/* Reads an operand; when `test` and it is a variable, only its value is
 * looked at (a null test or a comparison), which FA604 does not count as a
 * use of the memory. */
static void read_operand(lower_t *l, CXCursor c, int test) {
  enum CXCursorKind k = test ? clang_getCursorKind(lw_strip(l, c)) : 0;
  if (k == CXCursor_DeclRefExpr) {
    l->test = 1;
    lw_read_expr(l, c);
    l->test = 0;
  } else if (k == CXCursor_BinaryOperator) {
    l->arith = 1; /* `p + 1 - q`: the pointer arithmetic is tested too */
    lw_read_expr(l, c);
    l->arith = 0;
  } else
    lw_read_expr(l, c);
}

/* A condition: `if (p)` tests the value of p. */
void lw_read_cond(lower_t *l, CXCursor c) {
  size_t mark = l->vals.n;
  read_operand(l, c, 1);
  l->vals.n = mark;
}

/* The path `field` below `base` (the object base designates or points to).
 * Uses of pointers that are dereferenced are emitted unless `reading` (the
 * caller then emits one use covering them). */
static uint32_t sub_path(lower_t *l, CXCursor base, const char *field,
                         int reading, int *strong, CXCursor *root) {
  CXCursor b = lw_strip(l, base);
  if (clang_getCursorKind(b) == CXCursor_DeclRefExpr) {
    uint32_t v = lw_var_of(l, b);
    if (v == FC_NONE)
      return FC_NONE;
    *root = b;
    if (l->u->vars.v[lw_cur_fn(l)->var + v].is_ptr && !reading)
      lw_emit_use(l, l->u->vars.v[lw_cur_fn(l)->var + v].path, 0, b);
    *strong = field != l->s_elems;
    return lw_path_get(l, v, field);
  }
  int s2;
  uint32_t q = resolve(l, b, reading, &s2, root);
  if (q == FC_NONE)
    return FC_NONE;
  *strong = 0;
  const fc_path_t *p = &l->u->paths.v[lw_cur_fn(l)->path + q];
  return p->field ? q : lw_path_get(l, p->var, field);
}

/* The access path an lvalue designates, or FC_NONE (its subexpressions
 * are read then). */
static uint32_t resolve(lower_t *l, CXCursor c, int reading, int *strong,
                        CXCursor *root) {
  c = lw_strip(l, c);
  *strong = 0;
  uint32_t r = FC_NONE;
  switch (clang_getCursorKind(c)) {
  case CXCursor_DeclRefExpr: {
    uint32_t v = lw_var_of(l, c);
    if (v == FC_NONE)
      return FC_NONE;
    *strong = 1;
    *root = c;
    return l->u->vars.v[lw_cur_fn(l)->var + v].path;
  }
  case CXCursor_MemberRefExpr: {
    CXCursor b = lw_last_expr(l, c);
    if (clang_Cursor_isNull(b))
      return FC_NONE;
    return sub_path(l, b, lw_field_of(l, c), reading, strong, root);
  }
  case CXCursor_ArraySubscriptExpr: {
    size_t base = lw_kids_push(l, c);
    if (l->kids.n - base != 2) {
      l->kids.n = base;
      break;
    }
    CXCursor b = l->kids.v[base], idx = l->kids.v[base + 1];
    l->kids.n = base;
    lw_read_discard(l, idx);
    return sub_path(l, b, l->s_elems, reading, strong, root);
  }
  case CXCursor_UnaryOperator:
    if (unary_op(l, c) == '*') {
      size_t base = lw_kids_push(l, c);
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
  lw_read_discard(l, c);
  return r;
}

/* lhs := the values from `mark` (left on the stack: the value of the
 * assignment): an access path, or a STORE when lhs outlives the function.
 * `strong` kills what lhs held. */
static void assign_to(lower_t *l, CXCursor lhs, size_t mark, int strong,
                      fc_loc_t loc) {
  int path_strong;
  CXCursor root = lhs;
  uint32_t q = resolve(l, lhs, 0, &path_strong, &root);
  int tracked = lw_type_tracked(clang_getCursorType(lhs), NULL);
  if (q != FC_NONE)
    lw_emit_assign(l, q, mark, strong && path_strong, tracked, loc);
  else if (tracked)
    emit_store(l, lhs, mark, loc);
}

/* C++ `a = b` through operator=, std::swap(a, b) and a.swap(b) (kind:
 * FC_ASSIGN_*).
 * A swap adds each side's values to the other's without killing any (the
 * values are read before either side changes). */
static void lower_assign_call(lower_t *l, CXCursor c, int kind) {
  CXCursor lhs = clang_Cursor_getArgument(c, 0),
           rhs = clang_Cursor_getArgument(c, 1);
  if (kind & FC_ASSIGN_METHOD) {
    rhs = lhs;
    lhs = lw_cxx_object(l, c);
  }
  fc_loc_t loc = lw_cursor_loc(l, c);
  size_t mark = l->vals.n;
  if (!(kind & FC_ASSIGN_FLOWS)) {
    /* the destination keeps its own memory: both sides are only read */
    lw_read_discard(l, rhs);
    lw_read_discard(l, lhs);
    return;
  }
  if (!(kind & FC_ASSIGN_SWAP)) {
    lw_read_expr(l, rhs);
    assign_to(l, lhs, mark, 1, loc);
    return;
  }
  lw_read_expr(l, lhs);
  size_t mid = l->vals.n;
  lw_read_expr(l, rhs);
  size_t end = l->vals.n;
  FC_VEC_RESERVE(l->vals, mid - mark);
  memcpy(l->vals.v + end, l->vals.v + mark, (mid - mark) * sizeof(uint32_t));
  l->vals.n = end + (mid - mark);
  assign_to(l, rhs, end, 0, loc);
  l->vals.n = end;
  assign_to(l, lhs, mid, 0, loc);
  l->vals.n = mark;
}

/* A function designator argument (`cb`, `&cb`, `(uv_work_cb)cb`). */
static uint32_t fn_designator(lower_t *l, CXCursor c) {
  for (;;) {
    c = lw_strip(l, c);
    if (clang_getCursorKind(c) == CXCursor_UnaryOperator &&
        unary_op(l, c) == '&') {
      size_t base = lw_kids_push(l, c);
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
    return lw_cxx_lambda_ref(l, c); /* C++: a lambda or function object */
  CXCursor d = clang_getCursorReferenced(c);
  if (!lw_cxx_is_function(clang_getCursorKind(d)))
    return lw_cxx_lambda_ref(l, c); /* a function object in a variable */
  return lw_ref_of(l, d);
}

/* The path of field `field` of the object `c` points to: `&v` -> v.field,
 * `pv` -> pv->field, `&s.v` -> s.v. No events are emitted. */
static uint32_t pointee_path(lower_t *l, CXCursor c, const char *field,
                             int *strong) {
  c = lw_strip(l, c);
  *strong = 1;
  if (clang_getCursorKind(c) == CXCursor_DeclRefExpr) {
    uint32_t v = lw_var_of(l, c);
    return v == FC_NONE ? FC_NONE : lw_path_get(l, v, field);
  }
  if (clang_getCursorKind(c) != CXCursor_UnaryOperator || unary_op(l, c) != '&')
    return FC_NONE;
  size_t base = lw_kids_push(l, c);
  CXCursor o = lw_strip(l, l->kids.v[l->kids.n - 1]);
  l->kids.n = base;
  enum CXCursorKind k = clang_getCursorKind(o);
  if (k == CXCursor_DeclRefExpr) {
    uint32_t v = lw_var_of(l, o);
    return v == FC_NONE ? FC_NONE : lw_path_get(l, v, field);
  }
  if (k == CXCursor_MemberRefExpr) {
    base = lw_kids_push(l, o);
    CXCursor b = lw_strip(l, l->kids.v[l->kids.n - 1]);
    l->kids.n = base;
    if (clang_getCursorKind(b) != CXCursor_DeclRefExpr)
      return FC_NONE;
    uint32_t v = lw_var_of(l, b);
    *strong = 0;
    return v == FC_NONE ? FC_NONE : lw_path_get(l, v, lw_field_of(l, o));
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
  if (lw_cxx_is_function(clang_getCursorKind(callee))) {
    ref = lw_ref_of(l, callee);
    role = l->role.v[ref];
    int kind = lw_cxx_assign_kind(l, c, callee);
    if (kind) {
      lower_assign_call(l, c, kind);
      return;
    }
  } else {
    size_t base = lw_kids_push(l, c); /* a call through a pointer: read it */
    CXCursor fexpr = l->kids.n > base ? l->kids.v[base] : c;
    int has = l->kids.n > base;
    l->kids.n = base;
    if (has)
      lw_read_discard(l, fexpr);
  }
  int nargs = clang_Cursor_getNumArguments(c);
  uint32_t arg_off = (uint32_t)l->u->args.n, nkept = 0;
  size_t mark0 = l->vals.n, keep = mark0;
  int pass0 = (role & ROLE_PASS) != 0;
  if (ref != FC_NONE)
    nkept += lw_cxx_call(l, c, callee, &keep, &pass0);
  CXCursor arg0 = clang_getNullCursor();
  uint32_t alloc_key = FC_NONE;
  int keyed = ref == FC_NONE; /* indirect calls are never frame calls */
  for (int i = 0; i < nargs; i++) {
    CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);
    if (i == 0)
      arg0 = a;
    if (!keyed && lw_is_allocator(l, clang_getCursorType(a))) {
      keyed = 1;
      alloc_key = lw_key_of(l, a);
    }
    size_t mark = l->vals.n;
    l->this_captured = 0;
    lw_read_expr(l, a);
    if ((role & ROLE_ARGS) && l->this_captured) /* a task gets `this` */
      l->u->refs.v[lw_cur_fn(l)->ref].flags |= FC_REF_SPAWNS_THIS;
    if (role & ROLE_ARGS) {
      fc_arg_t arg;
      arg.src = lw_keep_vals(l, mark, &arg.nsrc);
      arg.fnref = fn_designator(l, a);
      arg.loc = lw_cursor_loc(l, a);
      PUSH(l->u->args, arg);
      nkept++;
    }
    if ((i == 0 && pass0) || lw_cxx_arg_flows(l, c, callee, i))
      keep = l->vals.n;
    else
      l->vals.n = mark;
  }
  if (l->handler != FC_NONE)
    lw_cxx_may_throw(l, ref == FC_NONE ? clang_getNullCursor() : callee,
                     lw_cursor_loc(l, c));
  fc_fn_t *fn = lw_cur_fn(l);
  uint32_t call = fn->ncall++;
  fc_ev_t *e = lw_emit(l, FC_EV_CALL, ref, lw_cursor_loc(l, c));
  e->b = arg_off;
  e->n = nkept;
  e->c = call;
  e->key = alloc_key;
  l->vals.n = keep;
  PUSH(l->vals, FC_SRC(FC_SRC_CALL, call));
  int strong;
  if ((role & ROLE_VEC) && nargs >= 2) {
    uint32_t q =
        pointee_path(l, clang_Cursor_getArgument(c, 1), l->s_data, &strong);
    if (q != FC_NONE) {
      size_t mark = l->vals.n - 1;
      lw_emit_assign(l, q, mark, strong, 1, e->loc);
      l->u->evs.v[l->u->evs.n - 1].flags |= FC_EVF_VEC;
    }
  }
  if ((role & ROLE_SETDATA) && nkept == 2 && !clang_Cursor_isNull(arg0)) {
    uint32_t q = pointee_path(l, arg0, l->s_data, &strong);
    if (q != FC_NONE) {
      fc_ev_t *a = lw_emit(l, FC_EV_ASSIGN, q, e->loc);
      a->b = l->u->args.v[arg_off + 1].src;
      a->n = l->u->args.v[arg_off + 1].nsrc;
      a->flags = strong && !l->weak ? FC_EVF_STRONG : 0;
    }
  }
  if (ref != FC_NONE)
    lw_cxx_after_call(l, c, callee, lw_cursor_loc(l, c));
}

void lw_read_children(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c), end = l->kids.n;
  for (size_t i = base; i < end; i++) {
    CXCursor k = l->kids.v[i];
    if (lw_is_expr(k))
      lw_read_expr(l, k);
    else if (clang_isStatement(clang_getCursorKind(k)))
      lw_lower_stmt(l, k);
  }
  l->kids.n = base;
}

static void lower_stmt_expr(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  CXCursor body = l->kids.n > base ? l->kids.v[l->kids.n - 1] : c;
  int has = l->kids.n > base;
  l->kids.n = base;
  if (!has)
    return;
  base = lw_kids_push(l, body);
  size_t end = l->kids.n;
  for (size_t i = base; i < end; i++) {
    CXCursor k = l->kids.v[i];
    if (i + 1 == end && lw_is_expr(k))
      lw_read_expr(l, k); /* the value of ({ ...; x; }) */
    else
      lw_lower_stmt(l, k);
  }
  l->kids.n = base;
}

/* Reads expression c: emits its events and pushes its value's sources. */
void lw_read_expr(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  switch (k) {
  case CXCursor_DeclRefExpr: {
    uint32_t v = lw_var_of(l, c);
    if (v != FC_NONE) {
      lw_emit_use(l, v, 1, c);
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
      lw_emit_use(l, q, 0, root);
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
        lw_emit_use(l, q, 0, root);
        PUSH(l->vals, FC_SRC(FC_SRC_PATH, q));
      }
      return;
    }
    if (op == '&') {
      /* &x, &s.f, &p[i]: a pointer into the object, derived from it. Taking
       * the address of a variable does not read its value. */
      size_t mark = l->vals.n;
      size_t base = lw_kids_push(l, c);
      int whole = l->kids.n - base == 1 &&
                  clang_getCursorKind(lw_strip(l, l->kids.v[base])) ==
                      CXCursor_DeclRefExpr;
      l->kids.n = base;
      l->test = whole;
      lw_read_children(l, c);
      l->test = 0;
      size_t end = l->vals.n;
      for (size_t i = mark; i < end; i++) {
        uint32_t s = l->vals.v[i];
        if (FC_SRC_KIND(s) == FC_SRC_PATH)
          l->vals.v[i] =
              FC_SRC(FC_SRC_VAR,
                     l->u->paths.v[lw_cur_fn(l)->path + FC_SRC_INDEX(s)].var);
      }
      return;
    }
    if (op == '!') {
      size_t base = lw_kids_push(l, c);
      CXCursor o = l->kids.v[l->kids.n - 1];
      int one = l->kids.n - base == 1;
      l->kids.n = base;
      if (one) {
        read_operand(l, o, 1);
        return;
      }
    }
    lw_read_children(l, c);
    return;
  }
  case CXCursor_BinaryOperator: {
    int arith = l->arith;
    l->arith = 0;
    size_t base = lw_kids_push(l, c);
    if (l->kids.n - base != 2) {
      l->kids.n = base;
      lw_read_children(l, c);
      return;
    }
    CXCursor lhs = l->kids.v[base], rhs = l->kids.v[base + 1];
    l->kids.n = base;
    if (is_assignment(l, c, lhs, rhs)) {
      size_t mark = l->vals.n;
      lw_read_expr(l, rhs);
      assign_to(l, lhs, mark, 1, lw_cursor_loc(l, c));
      return;
    }
    /* FA_AWAIT(expr) is (fa__await(), (expr)): the awaited expression and
     * its arguments are evaluated before the task suspends, so the marker
     * is lowered after them. */
    if (is_await_marker(lhs)) {
      lw_read_expr(l, rhs);
      lw_read_expr(l, lhs);
      return;
    }
    /* A comparison or a logical operator (an integer result) reads its
     * pointer operands' values only. */
    int test = arith || !lw_type_tracked(clang_getCursorType(c), NULL);
    read_operand(l, lhs, test);
    read_operand(l, rhs, test);
    return;
  }
  case CXCursor_CompoundAssignOperator: {
    size_t base = lw_kids_push(l, c);
    size_t n = l->kids.n - base;
    CXCursor lhs = l->kids.v[base], rhs = l->kids.v[l->kids.n - 1];
    l->kids.n = base;
    if (n != 2)
      return;
    lw_read_discard(l, rhs);
    lw_read_expr(l, lhs);
    return;
  }
  case CXCursor_ConditionalOperator: {
    size_t base = lw_kids_push(l, c), end = l->kids.n;
    for (size_t i = base; i < end; i++) {
      if (i == base + 1)
        l->weak++;
      if (i == base)
        lw_read_cond(l, l->kids.v[i]);
      else
        lw_read_expr(l, l->kids.v[i]);
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
    if (!lw_cxx_expr(l, c))
      lw_read_children(l, c);
    return;
  }
}
