/* The lowering context and the functions lower.c, lower_expr.c and
 * lower_stmt.c share (internal to the lowering). */
#ifndef FC_LOWER_H
#define FC_LOWER_H

#include "ir.h"

#include <stdlib.h>
#include <string.h>

#define PUSH(vec, x)                                                           \
  do {                                                                         \
    FC_VEC_RESERVE(vec, 1);                                                    \
    (vec).v[(vec).n++] = (x);                                                  \
  } while (0)

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
  /* C++: the open fa::frame_scope objects (allocator key, block depth),
   * the depth of compound statements, the depth a loop or switch starts
   * at, and the lambdas to lower once the enclosing function is done. */
  FC_VEC(uint32_t) scopes; /* (key, depth) pairs */
  uint32_t depth, loop_depth;
  FC_VEC(CXCursor) lambdas;
  FC_VEC(uint32_t) lambda_refs;
  int this_captured; /* a lambda read since this was cleared took `this` */
  /* Inside a try block: the block its handlers start from (FC_NONE
   * outside one) and the depth of the try statement. */
  uint32_t handler, try_depth;
} lower_t;

static inline fc_fn_t *lw_cur_fn(lower_t *l) { return &l->u->fns.v[l->fni]; }

/* ---- lower.c ----------------------------------------------------------- */

void lw_map_put(map_t *m, uintptr_t key, uintptr_t val);
fc_loc_t lw_loc_of(lower_t *l, CXSourceLocation sl);
fc_loc_t lw_cursor_loc(lower_t *l, CXCursor c);
const char *lw_text_at(lower_t *l, CXSourceLocation sl, int spelling,
                       CXFile *file, unsigned *off, size_t *size);
size_t lw_kids_push(lower_t *l, CXCursor c);
int lw_is_expr(CXCursor c);
/* The last expression among the children of c (null cursor: none). */
CXCursor lw_last_expr(lower_t *l, CXCursor c);
CXCursor lw_strip(lower_t *l, CXCursor c);
int lw_type_tracked(CXType t, int *is_ptr);
uint32_t lw_ref_of(lower_t *l, CXCursor decl);
uint32_t lw_path_get(lower_t *l, uint32_t var, const char *field);
uint32_t lw_var_add(lower_t *l, CXCursor decl);
uint32_t lw_var_of(lower_t *l, CXCursor ref);
/* Whether decl is a variable of the function being lowered (tracked or
 * not). */
int lw_var_known(lower_t *l, CXCursor decl);
const char *lw_field_of(lower_t *l, CXCursor member);
int lw_is_allocator(lower_t *l, CXType t);
int lw_key_text(lower_t *l, CXCursor c, char *buf, size_t size, size_t *len,
                int depth);
uint32_t lw_key_index(lower_t *l, const char *key);
uint32_t lw_key_of(lower_t *l, CXCursor c);
uint32_t lw_new_block(lower_t *l);
void lw_start_block(lower_t *l, uint32_t id);
void lw_edge(lower_t *l, uint32_t from, uint32_t to);
void lw_jump(lower_t *l, uint32_t to);
fc_ev_t *lw_emit(lower_t *l, uint8_t kind, uint32_t a, fc_loc_t loc);
/* A function the lowering makes up ("fa::frame_resource"), by name. */
uint32_t lw_synthetic_ref(lower_t *l, const char *name, unsigned flags);
/* Emits a call to ref (no arguments) and pushes its value. */
fc_ev_t *lw_emit_call(lower_t *l, uint32_t ref, uint32_t key, fc_loc_t loc);

void lw_emit_jump(lower_t *l, uint32_t what, fc_loc_t loc);
uint32_t lw_keep_vals(lower_t *l, size_t mark, uint32_t *n);
void lw_emit_use(lower_t *l, uint32_t a, int whole, CXCursor at);
void lw_emit_assign(lower_t *l, uint32_t path, size_t mark, int strong,
                    int tracked, fc_loc_t loc);

/* ---- lower_expr.c ------------------------------------------------------ */

void lw_read_discard(lower_t *l, CXCursor c);
void lw_read_cond(lower_t *l, CXCursor c);
void lw_read_children(lower_t *l, CXCursor c);
void lw_read_expr(lower_t *l, CXCursor c);

/* ---- lower_stmt.c ------------------------------------------------------ */

void lw_lower_stmt(lower_t *l, CXCursor c);
void lw_lower_loop(lower_t *l, CXCursor init, CXCursor cond, CXCursor inc,
                   CXCursor body, int is_do);

/* ---- lower_cxx.c --------------------------------------------------------- */

/* Function definitions and the scopes that hold them (namespaces, classes,
 * templates, linkage blocks). */
int lw_cxx_is_function(enum CXCursorKind k);
int lw_cxx_is_scope(enum CXCursorKind k);
/* The body of a coroutine definition (below its coroutine body statement),
 * null when c is not one. */
CXCursor lw_cxx_coroutine_body(lower_t *l, CXCursor c);
/* "ns::Class::method" for a C++ declaration outside the global namespace,
 * the class's name for a constructor; NULL for others (interned). */
const char *lw_cxx_name(lower_t *l, CXCursor decl);
/* Whether t is a frame-allocator handle of the C++ API. */
int lw_cxx_is_allocator(CXCursor record);
/* The C++ parts of a call: the object of a method call (read, its value
 * kept when the result can carry it, and kept as the call's first argument
 * when it has one: the number of arguments kept), what a constructor's
 * arguments give the object, a frame resource or allocator made. */
uint32_t lw_cxx_call(lower_t *l, CXCursor c, CXCursor callee, size_t *keep,
                     int *pass_arg0);
int lw_cxx_arg_flows(lower_t *l, CXCursor c, CXCursor callee, int i);
void lw_cxx_after_call(lower_t *l, CXCursor c, CXCursor callee, fc_loc_t loc);
/* A call that assigns its second argument to its first (operator=,
 * std::swap, which also assigns the first to the second; with
 * FC_ASSIGN_METHOD, `a.swap(b)` of a standard class, the object and the
 * argument): FC_ASSIGN_* bits, 0 for other calls. FC_ASSIGN_FLOWS when the
 * destination takes what the source holds (a view, a plain object,
 * storage that moves along). */
enum {
  FC_ASSIGN = 1,
  FC_ASSIGN_FLOWS = 2,
  FC_ASSIGN_SWAP = 4,
  FC_ASSIGN_METHOD = 8
};
int lw_cxx_assign_kind(lower_t *l, CXCursor c, CXCursor callee);
/* The object of a method call `obj.f()` / `p->f()`, null for a call on
 * *this or anything else. */
CXCursor lw_cxx_object(lower_t *l, CXCursor c);
/* Before a call of callee (null cursor: through a pointer, or a throw)
 * inside a try block: unless it cannot throw, the state before it (with
 * the frame scopes inside the try block ended) reaches the handlers. */
void lw_cxx_may_throw(lower_t *l, CXCursor callee, fc_loc_t loc);
/* Expressions and statements only C++ has: 1 when handled. */
int lw_cxx_expr(lower_t *l, CXCursor c);
int lw_cxx_stmt(lower_t *l, CXCursor c);
/* A declaration only C++ has (structured bindings): 1 when handled. */
int lw_cxx_decl(lower_t *l, CXCursor d);
/* A fa::frame_scope declaration begins a frame; returns 1 when d is one. */
int lw_cxx_scope_var(lower_t *l, CXCursor d);
/* Ends the frame scopes opened deeper than `depth` (at loc, without
 * popping them when `keep`). */
void lw_cxx_end_scopes(lower_t *l, uint32_t depth, fc_loc_t loc, int keep);
/* Whether lhs is a member of *this (`m`, `this->m`): "this->m" in buf. */
int lw_cxx_this_member(lower_t *l, CXCursor lhs, char *buf, size_t size);
/* The function a lambda or function object argument runs (a lambda's
 * synthetic ref, the object's operator()), FC_NONE otherwise. */
uint32_t lw_cxx_lambda_ref(lower_t *l, CXCursor c);

#endif
