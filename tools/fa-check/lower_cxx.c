/* C++ lowering: what a C++ translation unit adds to the IR of a C one.
 *
 * Functions live in namespaces and classes and are named by their
 * qualified names ("jobs::submit", "std::thread" for its constructors).
 * Frame memory comes from fa::make_frame, fa::make_frame_array and from
 * objects built on a fa::frame_resource or fa::frame_allocator: a
 * container constructed with one holds frame memory, and its data(),
 * elements, iterators and views (method calls and operators on it) carry
 * it on. A coroutine is an async context whose co_await and co_yield are
 * suspension points; a lambda passed to a spawner is a function of its
 * own, and its captures are the value handed to the task. A
 * fa::frame_scope begins a frame at its declaration and ends it on every
 * way out of its block. */
#include "lower.h"

#include <ctype.h>

/* ---- declarations -------------------------------------------------------- */

int lw_cxx_is_function(enum CXCursorKind k) {
  return k == CXCursor_FunctionDecl || k == CXCursor_CXXMethod ||
         k == CXCursor_Constructor || k == CXCursor_Destructor ||
         k == CXCursor_ConversionFunction || k == CXCursor_FunctionTemplate;
}

int lw_cxx_is_scope(enum CXCursorKind k) {
  return k == CXCursor_Namespace || k == CXCursor_ClassDecl ||
         k == CXCursor_StructDecl || k == CXCursor_UnionDecl ||
         k == CXCursor_ClassTemplate ||
         k == CXCursor_ClassTemplatePartialSpecialization ||
         k == CXCursor_LinkageSpec;
}

/* Appends the qualified name of scope c ("a::b") to buf; 0 if too long. */
static int scope_name(CXCursor c, char *buf, size_t size, size_t *len,
                      int depth) {
  enum CXCursorKind k = clang_getCursorKind(c);
  if (k == CXCursor_TranslationUnit || clang_Cursor_isNull(c) || depth > 16 ||
      !lw_cxx_is_scope(k))
    return 1;
  if (!scope_name(clang_getCursorSemanticParent(c), buf, size, len, depth + 1))
    return 0;
  if (k == CXCursor_Namespace && clang_Cursor_isInlineNamespace(c))
    return 1; /* std::__cxx11:: is std:: */
  CXString s = clang_getCursorSpelling(c);
  const char *n = clang_getCString(s);
  int ok = 1;
  if (n && *n) {
    int w = snprintf(buf + *len, size - *len, "%s::", n);
    ok = w > 0 && (size_t)w < size - *len;
    if (ok)
      *len += (size_t)w;
  }
  clang_disposeString(s);
  return ok;
}

const char *lw_cxx_name(lower_t *l, CXCursor decl) {
  (void)l;
  CXCursor parent = clang_getCursorSemanticParent(decl);
  enum CXCursorKind pk = clang_getCursorKind(parent);
  if (pk == CXCursor_TranslationUnit || !lw_cxx_is_scope(pk))
    return NULL;
  char buf[512];
  size_t len = 0;
  buf[0] = 0;
  if (clang_getCursorKind(decl) == CXCursor_Constructor) {
    /* a constructor is named by its class: "std::thread" */
    if (!scope_name(parent, buf, sizeof(buf), &len, 0) || len < 2)
      return NULL;
    buf[len - 2] = 0;
    return fc_intern(buf);
  }
  if (!scope_name(parent, buf, sizeof(buf), &len, 0))
    return NULL;
  CXString s = clang_getCursorSpelling(decl);
  snprintf(buf + len, sizeof(buf) - len, "%s", clang_getCString(s));
  clang_disposeString(s);
  return fc_intern(buf);
}

/* The qualified name of a class type in buf ("" when it is none). */
static void class_name(CXType t, char *buf, size_t size) {
  buf[0] = 0;
  t = clang_getCanonicalType(t);
  if (t.kind == CXType_LValueReference || t.kind == CXType_RValueReference ||
      t.kind == CXType_Pointer)
    t = clang_getCanonicalType(clang_getPointeeType(t));
  if (t.kind != CXType_Record)
    return;
  CXCursor d = clang_getTypeDeclaration(t);
  size_t len = 0;
  if (!scope_name(clang_getCursorSemanticParent(d), buf, size, &len, 0))
    return;
  CXString s = clang_getCursorSpelling(d);
  snprintf(buf + len, size - len, "%s", clang_getCString(s));
  clang_disposeString(s);
}

int lw_cxx_is_allocator(CXCursor record) {
  if (clang_Cursor_isNull(record))
    return 0;
  char buf[256];
  class_name(clang_getCursorType(record), buf, sizeof(buf));
  return !strcmp(buf, "fa::allocator") || !strcmp(buf, "fa::allocator_ref");
}

/* ---- calls ----------------------------------------------------------------
 */

/* Classes whose objects are views of the memory they are made from, or
 * hold what they are made from (a callable, a pair). */
static int is_view(const char *cls) {
  static const char *const views[] = {"std::span",
                                      "std::basic_string_view",
                                      "std::function",
                                      "std::move_only_function",
                                      "std::reference_wrapper",
                                      "std::pair",
                                      "std::tuple",
                                      "std::optional"};
  for (size_t i = 0; i < sizeof(views) / sizeof(*views); i++)
    if (!strcmp(cls, views[i]))
      return 1;
  return 0;
}

/* Arguments that give a container its memory: a memory resource, an
 * allocator. */
static int is_memory_arg(CXCursor a) {
  char buf[256];
  class_name(clang_getCursorType(a), buf, sizeof(buf));
  return strstr(buf, "resource") || strstr(buf, "allocator");
}

/* Whether a is `std::move(x)`. */
static int is_move(lower_t *l, CXCursor a) {
  a = lw_strip(l, a);
  if (clang_getCursorKind(a) != CXCursor_CallExpr)
    return 0;
  CXCursor d = clang_getCursorReferenced(a);
  if (!lw_cxx_is_function(clang_getCursorKind(d)))
    return 0;
  const char *n = l->u->refs.v[lw_ref_of(l, d)].name;
  return n && !strcmp(n, "std::move");
}

uint32_t lw_cxx_call(lower_t *l, CXCursor c, CXCursor callee, size_t *keep,
                     int *pass_arg0) {
  enum CXCursorKind ck = clang_getCursorKind(callee);
  if ((ck != CXCursor_CXXMethod && ck != CXCursor_ConversionFunction) ||
      clang_CXXMethod_isStatic(callee))
    return 0;
  int tracked = lw_type_tracked(clang_getCursorResultType(callee), NULL);
  size_t base = lw_kids_push(l, c);
  CXCursor first = l->kids.n > base ? l->kids.v[base] : c;
  int has = l->kids.n > base;
  l->kids.n = base;
  if (!has)
    return 0;
  if (clang_getCursorKind(first) != CXCursor_MemberRefExpr) {
    /* an operator: the object is its first argument */
    *pass_arg0 = tracked;
    return 0;
  }
  CXCursor obj = lw_last_expr(l, first);
  if (clang_Cursor_isNull(obj))
    return 0; /* a member of *this */
  size_t mark = l->vals.n;
  lw_read_expr(l, obj);
  uint32_t kept = 0;
  if (l->vals.n > mark && !(l->role.v[lw_ref_of(l, callee)] & ROLE_ARGS)) {
    /* the object, for a method that hands `this` to a task */
    fc_arg_t arg;
    arg.src = lw_keep_vals(l, mark, &arg.nsrc);
    arg.fnref = FC_NONE;
    arg.loc = lw_cursor_loc(l, obj);
    PUSH(l->u->args, arg);
    kept = 1;
  }
  if (tracked)
    *keep = l->vals.n;
  else
    l->vals.n = *keep;
  return kept;
}

int lw_cxx_arg_flows(lower_t *l, CXCursor c, CXCursor callee, int i) {
  if (clang_getCursorKind(callee) != CXCursor_Constructor)
    return 0;
  char cls[256];
  class_name(clang_getCursorType(c), cls, sizeof(cls));
  if (!strncmp(cls, "fa::", 4)) /* the C++ API's own objects */
    return 0;
  if (is_view(cls))
    return 1;
  /* a copy of a plain object copies its pointers; the standard library's
   * containers copy their elements into memory of their own */
  if ((clang_CXXConstructor_isCopyConstructor(callee) ||
       clang_CXXConstructor_isMoveConstructor(callee)) &&
      strncmp(cls, "std::", 5))
    return 1;
  CXCursor a = clang_Cursor_getArgument(c, (unsigned)i);
  if (is_memory_arg(a))
    return 1;
  /* a moved container keeps its memory unless it is given other memory */
  if (!is_move(l, a))
    return 0;
  int n = clang_Cursor_getNumArguments(c);
  for (int k = 0; k < n; k++)
    if (k != i && is_memory_arg(clang_Cursor_getArgument(c, (unsigned)k)))
      return 0;
  return 1;
}

/* Whether class type t takes a fa::frame_allocator as a template argument
 * (a container whose allocator propagates on move and swap). */
static int has_frame_allocator(CXType t) {
  t = clang_getCanonicalType(t);
  if (t.kind == CXType_LValueReference || t.kind == CXType_RValueReference)
    t = clang_getCanonicalType(clang_getPointeeType(t));
  int n = clang_Type_getNumTemplateArguments(t);
  for (int i = 0; i < n; i++) {
    char cls[256];
    class_name(clang_Type_getTemplateArgumentAsType(t, (unsigned)i), cls,
               sizeof(cls));
    if (!strcmp(cls, "fa::frame_allocator"))
      return 1;
  }
  return 0;
}

CXCursor lw_cxx_object(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  CXCursor first = l->kids.n > base ? l->kids.v[base] : clang_getNullCursor();
  l->kids.n = base;
  if (clang_getCursorKind(first) != CXCursor_MemberRefExpr)
    return clang_getNullCursor();
  return lw_last_expr(l, first);
}

int lw_cxx_assign_kind(lower_t *l, CXCursor c, CXCursor callee) {
  const char *name = l->u->refs.v[lw_ref_of(l, callee)].name;
  size_t len = name ? strlen(name) : 0;
  int nargs = clang_Cursor_getNumArguments(c);
  if (nargs == 1 && len > 11 && !strncmp(name, "std::", 5) &&
      !strcmp(name + len - 6, "::swap") &&
      clang_getCursorKind(callee) == CXCursor_CXXMethod &&
      !clang_Cursor_isNull(lw_cxx_object(l, c)))
    return FC_ASSIGN | FC_ASSIGN_FLOWS | FC_ASSIGN_SWAP | FC_ASSIGN_METHOD;
  if (nargs != 2)
    return 0;
  int swap = name && !strcmp(name, "std::swap");
  if (!swap && (len < 9 || strcmp(name + len - 9, "operator=") ||
                clang_getCursorKind(callee) == CXCursor_FunctionDecl))
    return 0;
  CXType t = clang_getCursorType(clang_Cursor_getArgument(c, 0));
  char cls[256];
  class_name(t, cls, sizeof(cls));
  int how = FC_ASSIGN | (swap ? FC_ASSIGN_SWAP : 0);
  if (!cls[0] || is_view(cls) || strncmp(cls, "std::", 5))
    return strncmp(cls, "fa::", 4) ? how | FC_ASSIGN_FLOWS : how;
  /* A standard container copies the elements into its own memory, unless
   * its allocator comes along: a swap exchanges the storage (the
   * allocators propagate or must be equal), a move assignment takes it
   * when the allocator propagates on move (fa::frame_allocator does, a
   * std::pmr::polymorphic_allocator does not). */
  CXType param = clang_getCursorType(clang_Cursor_getArgument(callee, 0));
  int move = clang_getCanonicalType(param).kind == CXType_RValueReference;
  if (swap || (move && has_frame_allocator(t)))
    how |= FC_ASSIGN_FLOWS;
  return how;
}

/* Whether argument a is a frame resource or frame allocator, or made from
 * one (`&res` as a memory_resource *, a polymorphic_allocator of it). */
static int from_frame(lower_t *l, CXCursor a, int depth) {
  char cls[256];
  a = lw_strip(l, a);
  class_name(clang_getCursorType(a), cls, sizeof(cls));
  if (!strcmp(cls, "fa::frame_resource") || !strcmp(cls, "fa::frame_allocator"))
    return 1;
  if (depth > 3)
    return 0;
  enum CXCursorKind k = clang_getCursorKind(a);
  if (k == CXCursor_UnaryOperator) {
    size_t base = lw_kids_push(l, a);
    CXCursor o = l->kids.v[l->kids.n - 1];
    int one = l->kids.n - base == 1;
    l->kids.n = base;
    return one && from_frame(l, o, depth + 1);
  }
  if (k != CXCursor_CallExpr ||
      clang_getCursorKind(clang_getCursorReferenced(a)) != CXCursor_Constructor)
    return 0;
  int n = clang_Cursor_getNumArguments(a);
  for (int i = 0; i < n; i++)
    if (from_frame(l, clang_Cursor_getArgument(a, (unsigned)i), depth + 1))
      return 1;
  return 0;
}

void lw_cxx_after_call(lower_t *l, CXCursor c, CXCursor callee, fc_loc_t loc) {
  if (clang_getCursorKind(callee) != CXCursor_Constructor)
    return;
  /* An object given a frame resource or allocator allocates from the
   * frame; the resource or allocator itself is a handle, not frame data
   * (one made before a loop serves every frame of it). */
  char cls[256];
  class_name(clang_getCursorType(c), cls, sizeof(cls));
  if (!strncmp(cls, "fa::", 4) || is_view(cls))
    return;
  int n = clang_Cursor_getNumArguments(c);
  for (int i = 0; i < n; i++)
    if (from_frame(l, clang_Cursor_getArgument(c, (unsigned)i), 0)) {
      uint32_t ref = lw_synthetic_ref(l, "fa::frame_resource", FC_REF_FRAME);
      lw_emit_call(l, ref, FC_NONE, loc);
      return;
    }
}

int lw_cxx_this_member(lower_t *l, CXCursor lhs, char *buf, size_t size) {
  lhs = lw_strip(l, lhs);
  if (clang_getCursorKind(lhs) != CXCursor_MemberRefExpr)
    return 0;
  CXCursor obj = lw_last_expr(l, lhs);
  if (!clang_Cursor_isNull(obj) &&
      clang_getCursorKind(lw_strip(l, obj)) != CXCursor_CXXThisExpr)
    return 0;
  CXCursor fn = clang_getCursorSemanticParent(clang_getCursorReferenced(lhs));
  if (clang_Cursor_isNull(fn))
    return 0;
  CXString s = clang_getCursorSpelling(lhs);
  snprintf(buf, size, "this->%s", clang_getCString(s));
  clang_disposeString(s);
  return 1;
}

/* ---- lambdas --------------------------------------------------------------
 */

static enum CXChildVisitResult find_call_op(CXCursor c, CXCursor parent,
                                            CXClientData data) {
  (void)parent;
  if (clang_getCursorKind(c) != CXCursor_CXXMethod)
    return CXChildVisit_Continue;
  CXString s = clang_getCursorSpelling(c);
  int yes = !strcmp(clang_getCString(s), "operator()");
  clang_disposeString(s);
  if (yes)
    *(CXCursor *)data = c;
  return yes ? CXChildVisit_Break : CXChildVisit_Continue;
}

/* A function object of the program's own (not a system header's): its
 * operator() is what the task runs. */
static uint32_t functor_ref(lower_t *l, CXCursor c) {
  CXType t = clang_getCanonicalType(clang_getCursorType(c));
  if (t.kind != CXType_Record)
    return FC_NONE;
  CXCursor cls = clang_getTypeDeclaration(t);
  if (clang_Cursor_isNull(cls) ||
      clang_Location_isInSystemHeader(clang_getCursorLocation(cls)))
    return FC_NONE;
  CXCursor op = clang_getNullCursor();
  clang_visitChildren(cls, find_call_op, &op);
  return clang_Cursor_isNull(op) ? FC_NONE : lw_ref_of(l, op);
}

uint32_t lw_cxx_lambda_ref(lower_t *l, CXCursor c) {
  for (int depth = 0; depth < 4; depth++) { /* std::function(lambda) */
    c = lw_strip(l, c);
    if (clang_getCursorKind(c) != CXCursor_CallExpr ||
        clang_Cursor_getNumArguments(c) != 1 ||
        clang_getCursorKind(clang_getCursorReferenced(c)) !=
            CXCursor_Constructor)
      break;
    c = clang_Cursor_getArgument(c, 0);
  }
  if (clang_getCursorKind(c) != CXCursor_LambdaExpr)
    return functor_ref(l, c);
  for (size_t i = 0; i < l->lambdas.n; i++)
    if (clang_equalCursors(l->lambdas.v[i], c))
      return l->lambda_refs.v[i];
  fc_loc_t at = lw_cursor_loc(l, c);
  char name[300];
  const char *file = at.file ? strrchr(at.file, '/') : NULL;
  snprintf(name, sizeof(name), "lambda at %s:%u:%u",
           file      ? file + 1
           : at.file ? at.file
                     : "?",
           at.line, at.col);
  uint32_t ref = lw_synthetic_ref(l, name, 0);
  PUSH(l->lambdas, c);
  PUSH(l->lambda_refs, ref);
  return ref;
}

typedef struct capture_scan_s {
  lower_t *l;
  CXCursor at;
  int this_used;
  unsigned body_off; /* where the lambda's body starts */
} capture_scan_t;

static unsigned offset_of(CXCursor c) {
  unsigned off;
  clang_getExpansionLocation(clang_getCursorLocation(c), NULL, NULL, NULL,
                             &off);
  return off;
}

/* Pushes the enclosing function's variables a lambda refers to: what it
 * captures, by copy or by reference, and the values of its init-captures
 * (the capture list names each, its initializers are skipped). A use of `this`,
 * written or implicit (a member under `[=]` or `[&]`), captures the object. */
static enum CXChildVisitResult capture(CXCursor c, CXCursor parent,
                                       CXClientData data) {
  (void)parent;
  capture_scan_t *cs = data;
  lower_t *l = cs->l;
  enum CXCursorKind k = clang_getCursorKind(c);
  if (k == CXCursor_CXXThisExpr) {
    cs->this_used = 1;
    return CXChildVisit_Continue;
  }
  if (k == CXCursor_MemberRefExpr && !cs->this_used &&
      clang_Cursor_isNull(lw_last_expr(l, c))) {
    CXCursor m = clang_getCursorReferenced(c);
    enum CXCursorKind mk = clang_getCursorKind(m);
    if (mk == CXCursor_FieldDecl ||
        (mk == CXCursor_CXXMethod && !clang_CXXMethod_isStatic(m)))
      cs->this_used = 1;
  }
  if (k != CXCursor_VariableRef && lw_is_expr(c) && offset_of(c) < cs->body_off)
    return CXChildVisit_Continue; /* an initializer of a capture, below */
  if (k == CXCursor_VariableRef && lw_var_of(l, c) == FC_NONE) {
    /* an init-capture ([q = p]): the value of its initializer */
    CXCursor d = clang_getCursorReferenced(c);
    CXCursor init = clang_Cursor_getVarDeclInitializer(d);
    if (clang_getCursorKind(d) != CXCursor_VarDecl || lw_var_known(l, d) ||
        clang_Cursor_isNull(init))
      return CXChildVisit_Continue;
    if (lw_type_tracked(clang_getCursorType(d), NULL))
      lw_read_expr(l, init);
    else
      lw_read_discard(l, init); /* a number or a flag computed from it */
    return CXChildVisit_Continue;
  }
  if (k == CXCursor_DeclRefExpr || k == CXCursor_VariableRef) {
    uint32_t v = lw_var_of(l, c);
    if (v != FC_NONE) {
      for (size_t i = 0; i < l->vals.n; i++)
        if (l->vals.v[i] == FC_SRC(FC_SRC_VAR, v))
          return CXChildVisit_Continue;
      lw_emit_use(l, v, 1, cs->at);
      PUSH(l->vals, FC_SRC(FC_SRC_VAR, v));
    }
    return CXChildVisit_Continue;
  }
  return CXChildVisit_Recurse;
}

/* Whether a lambda's capture list names `this` or `*this`. */
static int captures_this(lower_t *l, CXCursor c) {
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = lw_text_at(l, clang_getRangeStart(clang_getCursorExtent(c)),
                               0, &f, &off, &size);
  if (!buf || buf[off] != '[')
    return 0;
  for (size_t i = off + 1; i + 4 <= size && buf[i] != ']'; i++)
    if (!strncmp(buf + i, "this", 4) &&
        (i + 4 == size ||
         !(buf[i + 4] == '_' || isalnum((unsigned char)buf[i + 4]))) &&
        !(buf[i - 1] == '_' || isalnum((unsigned char)buf[i - 1])))
      return 1;
  return 0;
}

static void read_lambda(lower_t *l, CXCursor c) {
  capture_scan_t cs = {l, c, 0, 0};
  size_t base = lw_kids_push(l, c);
  for (size_t i = base; i < l->kids.n; i++)
    if (clang_getCursorKind(l->kids.v[i]) == CXCursor_CompoundStmt)
      cs.body_off = offset_of(l->kids.v[i]);
  l->kids.n = base;
  clang_visitChildren(c, capture, &cs);
  if (cs.this_used || captures_this(l, c))
    l->this_captured = 1;
  lw_cxx_lambda_ref(l, c);
}

/* ---- coroutines -----------------------------------------------------------
 */

/* The co_ keyword c starts with: 'a' co_await, 'y' co_yield, 'r' co_return,
 * 0 none. */
static char co_keyword(lower_t *l, CXCursor c) {
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = lw_text_at(l, clang_getRangeStart(clang_getCursorExtent(c)),
                               0, &f, &off, &size);
  if (!buf || size - off < 8 || strncmp(buf + off, "co_", 3))
    return 0;
  if (!strncmp(buf + off, "co_await", 8))
    return 'a';
  if (!strncmp(buf + off, "co_yield", 8))
    return 'y';
  if (size - off >= 9 && !strncmp(buf + off, "co_return", 9))
    return 'r';
  return 0;
}

static void mark_coroutine(lower_t *l, CXCursor at) {
  fc_ref_t *r = &l->u->refs.v[lw_cur_fn(l)->ref];
  if (!(r->flags & FC_REF_COROUTINE)) {
    r->flags |= FC_REF_COROUTINE;
    r->attr_loc = lw_cursor_loc(l, at);
  }
}

CXCursor lw_cxx_coroutine_body(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  CXCursor body = clang_getNullCursor();
  if (l->kids.n > base &&
      clang_getCursorKind(l->kids.v[base]) == CXCursor_CompoundStmt)
    body = l->kids.v[base];
  l->kids.n = base;
  return body;
}

/* co_await x / co_yield x: x is evaluated, then the coroutine suspends. */
static void read_await(lower_t *l, CXCursor c) {
  mark_coroutine(l, c);
  /* Down to the await expression: the operand, then await_ready,
   * await_suspend and await_resume. */
  for (int depth = 0; depth < 8; depth++) {
    size_t base = lw_kids_push(l, c);
    size_t n = l->kids.n - base;
    CXCursor first = n ? l->kids.v[base] : c;
    l->kids.n = base;
    if (n == 0)
      break;
    if (n > 1) {
      size_t mark = l->vals.n;
      lw_read_expr(l, first);
      l->vals.n = mark;
      break;
    }
    c = first;
  }
  uint32_t ref = lw_synthetic_ref(l, "co_await", FC_REF_SUSPENDS_ATTR);
  lw_emit_call(l, ref, FC_NONE, lw_cursor_loc(l, c));
  l->vals.n--;
}

int lw_cxx_expr(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  if (k == CXCursor_LambdaExpr) {
    read_lambda(l, c);
    return 1;
  }
  if (k == CXCursor_UnexposedExpr) {
    char co = co_keyword(l, c);
    if (co == 'a' || co == 'y') {
      read_await(l, c);
      return 1;
    }
  }
  return 0;
}

/* ---- statements -----------------------------------------------------------
 */

/* for (decl : range) body: decl takes the range's elements. */
static void lower_range_for(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  size_t n = l->kids.n - base;
  if (n < 3) {
    l->kids.n = base;
    return;
  }
  CXCursor var = l->kids.v[base], range = l->kids.v[base + n - 2],
           body = l->kids.v[base + n - 1];
  l->kids.n = base;
  size_t mark = l->vals.n;
  lw_read_expr(l, range);
  uint32_t head = lw_new_block(l), bodyb = lw_new_block(l),
           exit = lw_new_block(l);
  uint32_t brk = l->brk, cont = l->cont, loop_depth = l->loop_depth;
  int brk_sw = l->brk_sw;
  lw_edge(l, l->cur, head);
  lw_start_block(l, head);
  uint32_t v = clang_getCursorKind(var) == CXCursor_VarDecl ? lw_var_add(l, var)
                                                            : FC_NONE;
  if (v != FC_NONE)
    lw_emit_assign(l, l->u->vars.v[lw_cur_fn(l)->var + v].path, mark, 1, 1,
                   lw_cursor_loc(l, var));
  l->vals.n = mark;
  lw_edge(l, l->cur, bodyb);
  lw_edge(l, l->cur, exit);
  l->brk = exit;
  l->cont = head;
  l->brk_sw = 0;
  l->loop_depth = l->depth;
  lw_start_block(l, bodyb);
  lw_lower_stmt(l, body);
  lw_edge(l, l->cur, head);
  l->brk = brk;
  l->cont = cont;
  l->brk_sw = brk_sw;
  l->loop_depth = loop_depth;
  lw_start_block(l, exit);
}

/* Whether a call of callee (null: through a pointer) may throw: not when
 * it is declared noexcept or throw(), or in an extern "C" block. */
static int may_throw(CXCursor callee) {
  if (clang_Cursor_isNull(callee))
    return 1;
  switch (clang_getCursorExceptionSpecificationType(callee)) {
  case CXCursor_ExceptionSpecificationKind_DynamicNone:
  case CXCursor_ExceptionSpecificationKind_BasicNoexcept:
  case CXCursor_ExceptionSpecificationKind_NoThrow:
    return 0;
  default:
    break;
  }
  /* an extern "C" block (older libclang shows it as an unexposed one) */
  enum CXCursorKind k = clang_getCursorKind(
      clang_getCursorLexicalParent(clang_getCanonicalCursor(callee)));
  return k != CXCursor_LinkageSpec && k != CXCursor_UnexposedDecl;
}

void lw_cxx_may_throw(lower_t *l, CXCursor callee, fc_loc_t loc) {
  if (!may_throw(callee))
    return;
  uint32_t next = lw_new_block(l);
  lw_edge(l, l->cur, next);
  size_t n = l->scopes.n;
  if (n >= 2 && l->scopes.v[n - 1] > l->try_depth) {
    /* unwinding ends the frame scopes opened inside the try block */
    uint32_t unwind = lw_new_block(l);
    lw_edge(l, l->cur, unwind);
    lw_start_block(l, unwind);
    lw_cxx_end_scopes(l, l->try_depth, loc, 1);
  }
  lw_edge(l, l->cur, l->handler);
  lw_start_block(l, next);
}

/* try { body } catch (...) { handler } ...: each handler starts from the
 * states before the calls of the body (any of them may throw) and from
 * its throw expressions; the body's end skips the handlers. */
static void lower_try(lower_t *l, CXCursor c) {
  size_t base = lw_kids_push(l, c);
  size_t n = l->kids.n - base;
  if (n < 1) {
    l->kids.n = base;
    return;
  }
  uint32_t handler = l->handler, try_depth = l->try_depth;
  uint32_t handlers = lw_new_block(l), after = lw_new_block(l);
  l->handler = handlers;
  l->try_depth = l->depth;
  lw_lower_stmt(l, l->kids.v[base]);
  l->handler = handler;
  l->try_depth = try_depth;
  lw_edge(l, l->cur, after);
  for (size_t i = base + 1; i < base + n; i++) {
    uint32_t start = lw_new_block(l);
    lw_edge(l, handlers, start);
    lw_start_block(l, start);
    /* the handler's statement (its exception declaration holds nothing
     * the frame rules follow) */
    size_t hb = lw_kids_push(l, l->kids.v[i]);
    if (l->kids.n > hb)
      lw_lower_stmt(l, l->kids.v[l->kids.n - 1]);
    l->kids.n = hb;
    lw_edge(l, l->cur, after);
  }
  l->kids.n = base;
  lw_start_block(l, after);
}

/* throw x: x is evaluated, then control goes to the handlers of the
 * enclosing try block, or leaves the function like a call that does not
 * return. */
static void lower_throw(lower_t *l, CXCursor c) {
  lw_read_discard(l, c);
  if (l->handler != FC_NONE)
    lw_cxx_may_throw(l, clang_getNullCursor(), lw_cursor_loc(l, c));
  lw_jump(l, FC_NONE);
}

int lw_cxx_stmt(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  if (k == CXCursor_CXXForRangeStmt) {
    lower_range_for(l, c);
    return 1;
  }
  if (k == CXCursor_CXXTryStmt) {
    lower_try(l, c);
    return 1;
  }
  if (k == CXCursor_CXXThrowExpr ||
      (k == CXCursor_UnexposedExpr &&
       clang_getCursorKind(lw_strip(l, c)) == CXCursor_CXXThrowExpr)) {
    lower_throw(l, c);
    return 1;
  }
  if (k == CXCursor_UnexposedStmt && co_keyword(l, c) == 'r') {
    mark_coroutine(l, c);
    lw_read_children(l, c);
    lw_emit_jump(l, FC_JUMP_RETURN, lw_cursor_loc(l, c));
    lw_jump(l, 1);
    return 1;
  }
  return 0;
}

/* auto [x, y] = init: each name takes what init holds (the whole object's
 * frame data: the names are not told apart). */
static void lower_bindings(lower_t *l, CXCursor d) {
  size_t base = lw_kids_push(l, d), end = l->kids.n;
  CXCursor init = clang_getNullCursor();
  for (size_t i = base; i < end; i++)
    if (lw_is_expr(l->kids.v[i]))
      init = l->kids.v[i];
  size_t mark = l->vals.n;
  if (!clang_Cursor_isNull(init))
    lw_read_expr(l, init);
  for (size_t i = base; i < end; i++) {
    CXCursor b = l->kids.v[i];
    if (clang_getCursorKind(b) != CXCursor_UnexposedDecl)
      continue;
    uint32_t v = lw_var_add(l, b);
    if (v != FC_NONE)
      lw_emit_assign(l, l->u->vars.v[lw_cur_fn(l)->var + v].path, mark, 1, 1,
                     lw_cursor_loc(l, b));
  }
  l->vals.n = mark;
  l->kids.n = base;
}

int lw_cxx_decl(lower_t *l, CXCursor d) {
  if (clang_getCursorKind(d) != CXCursor_UnexposedDecl)
    return 0;
  lower_bindings(l, d);
  return 1;
}

/* ---- frame scopes ---------------------------------------------------------
 */

int lw_cxx_scope_var(lower_t *l, CXCursor d) {
  char cls[256];
  CXType t = clang_getCanonicalType(clang_getCursorType(d));
  if (t.kind != CXType_Record)
    return 0;
  class_name(t, cls, sizeof(cls));
  if (strcmp(cls, "fa::frame_scope"))
    return 0;
  uint32_t key = FC_NONE;
  CXCursor init = clang_Cursor_getVarDeclInitializer(d);
  init = lw_strip(l, init);
  if (clang_getCursorKind(init) == CXCursor_CallExpr &&
      clang_Cursor_getNumArguments(init) >= 1)
    key = lw_key_of(l, clang_Cursor_getArgument(init, 0));
  uint32_t ref = lw_synthetic_ref(l, "fa::frame_scope", FC_REF_BEGINS_ATTR);
  lw_emit_call(l, ref, key, lw_cursor_loc(l, d));
  l->vals.n--;
  FC_VEC_RESERVE(l->scopes, 2);
  l->scopes.v[l->scopes.n++] = key;
  l->scopes.v[l->scopes.n++] = l->depth;
  return 1;
}

void lw_cxx_end_scopes(lower_t *l, uint32_t depth, fc_loc_t loc, int keep) {
  uint32_t ref = FC_NONE;
  size_t n = l->scopes.n;
  while (n >= 2 && l->scopes.v[n - 1] > depth) {
    if (ref == FC_NONE) /* at its closing brace, or a jump out of it */
      ref = lw_synthetic_ref(
          l, keep ? "fa::frame_scope::~frame_scope" : "~fa::frame_scope",
          FC_REF_ENDS_ATTR);
    lw_emit_call(l, ref, l->scopes.v[n - 2], loc);
    l->vals.n--;
    n -= 2;
  }
  if (!keep)
    l->scopes.n = n;
}
