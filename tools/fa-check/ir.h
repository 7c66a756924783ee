/* The analysis IR: the facts lower.c keeps of a translation unit once
 * libclang is gone, and the cross-file functions of the analysis.
 *
 * Each defined function becomes a control-flow graph of basic blocks whose
 * events are the few things the rules care about, in evaluation order:
 * reads of local variables (USE), assignments of values to access paths
 * (ASSIGN), calls (CALL) and returns (RET). A value is a list of sources
 * (a whole variable, one access path, or the result of a call). An access
 * path is a local variable or one level below it: `s.f`, `p->f`, or the
 * elements `p[...]` / `*p`. Everything lives in a few unit-wide arrays
 * indexed by offsets, so lowering a function costs no per-node malloc. */
#ifndef FC_IR_H
#define FC_IR_H

#include "check.h"

#include <stdint.h>

#define FC_NONE UINT32_MAX

/* A source of a value: the kind in the top two bits, an index below. */
enum { FC_SRC_VAR = 0u, FC_SRC_PATH = 1u, FC_SRC_CALL = 2u };
#define FC_SRC(kind, i) (((uint32_t)(kind) << 30) | (uint32_t)(i))
#define FC_SRC_KIND(s) ((s) >> 30)
#define FC_SRC_INDEX(s) ((s)&0x3fffffffu)

typedef enum fc_ev_kind_e {
  FC_EV_USE,    /* a = path read (or var with FC_EVF_WHOLE) */
  FC_EV_ASSIGN, /* path a := sources [b, b+n) (strong: FC_EVF_STRONG) */
  FC_EV_CALL, /* a = callee ref (FC_NONE: indirect); args [b, b+n); c = call */
  FC_EV_RET   /* returns sources [b, b+n) */
} fc_ev_kind_t;

enum { FC_EVF_WHOLE = 1, FC_EVF_STRONG = 2 };

typedef struct fc_ev_s {
  uint8_t kind, flags;
  uint32_t a, b, n, c;
  fc_loc_t loc;
} fc_ev_t;

/* An argument of a call whose arguments matter (spawners, libuv). */
typedef struct fc_arg_s {
  uint32_t src, nsrc; /* its value */
  uint32_t fnref;     /* a function designator's ref, or FC_NONE */
  fc_loc_t loc;
} fc_arg_t;

typedef struct fc_var_s {
  const char *name; /* interned */
  uint32_t path;    /* its whole-variable path; other paths chain from it */
  uint8_t is_ptr;   /* fields are reached through a pointer */
} fc_var_t;

typedef struct fc_path_s {
  uint32_t var;      /* function-local variable index */
  const char *field; /* interned field name, "[]" for elements, NULL: whole */
  uint32_t next;     /* next path of the same variable, FC_NONE at the end */
} fc_path_t;

typedef struct fc_bb_s {
  uint32_t ev, nev;     /* events, unit-wide indices */
  uint32_t succ, nsucc; /* successor block numbers (function-local) */
} fc_bb_t;

/* A function this unit calls, defines or refers to. */
enum { FC_REF_ASYNC_ATTR = 1, FC_REF_SUSPENDS_ATTR = 2 };
typedef struct fc_ref_s {
  const char *usr, *name; /* interned */
  unsigned flags;
  fc_loc_t attr_loc; /* where FA_ASYNC was written */
} fc_ref_t;

typedef struct fc_fn_s {
  uint32_t ref;
  fc_loc_t loc;
  uint32_t bb, nbb;   /* blocks; block 0 is the entry */
  uint32_t var, nvar; /* unit-wide offsets */
  uint32_t path, npath;
  uint32_t ev, nev;
  uint32_t ncall;
} fc_fn_t;

#define FC_VEC(T)                                                              \
  struct {                                                                     \
    T *v;                                                                      \
    size_t n, cap;                                                             \
  }

struct fc_unit_s {
  FC_VEC(fc_fn_t) fns;
  FC_VEC(fc_ref_t) refs;
  FC_VEC(fc_bb_t) bbs;
  FC_VEC(uint32_t) succs;
  FC_VEC(fc_ev_t) evs;
  FC_VEC(fc_arg_t) args;
  FC_VEC(uint32_t) srcs;
  FC_VEC(fc_var_t) vars;
  FC_VEC(fc_path_t) paths;
};

/* Grows a FC_VEC so that `extra` more elements fit. */
#define FC_VEC_RESERVE(vec, extra)                                             \
  fc_vec_reserve((void **)&(vec).v, &(vec).cap, (vec).n + (extra),             \
                 sizeof(*(vec).v))
void fc_vec_reserve(void **v, size_t *cap, size_t need, size_t elem);

/* ---- analyze.c: summaries and the dataflow the rules share ------------- */

/* What a function is, merged over every unit that names it. */
enum {
  FC_G_FRAME = 1u << 0,       /* returns frame memory (built in, config) */
  FC_G_RET_FRAME = 1u << 1,   /* returns frame memory (by summary) */
  FC_G_SUSPEND = 1u << 2,     /* a call to it is a suspension point */
  FC_G_MAY_SUSPEND = 1u << 3, /* contains one, transitively (summary) */
  FC_G_ASYNC = 1u << 4,       /* an async context */
  FC_G_CALLBACKS = 1u << 5,   /* function arguments become async contexts */
  FC_G_VEC = 1u << 6          /* the frame vector's reserve */
};
enum { FC_WHY_ATTR = 1, FC_WHY_PASSED, FC_WHY_CONFIG };

typedef struct fc_gfn_s {
  const char *usr, *name;
  unsigned flags;
  int ctx_arg;        /* 1-based context argument of a spawner, 0: none */
  int why;            /* FC_WHY_*: why it is async */
  fc_loc_t why_loc;   /* the attribute, or the call that passed it */
  const char *why_by; /* the function it was passed to */
  fc_loc_t def_loc;   /* a definition, if any unit has one */
} fc_gfn_t;

typedef struct fc_prog_s {
  fc_unit_t *const *units;
  size_t nunits;
  const fc_config_t *cfg;
  fc_gfn_t *g;
  size_t ng;
  uint32_t **gid; /* per unit: ref index -> global function index */
} fc_prog_t;

/* The forward frame-taint state of one function: for each access path,
 * the set of allocation sites (bits) whose memory it may hold. */
typedef struct fc_flow_s {
  const fc_unit_t *u;
  const fc_fn_t *fn;
  uint64_t *in;       /* nbb * npath: state at block entry */
  uint8_t *reached;   /* nbb */
  uint64_t *cur;      /* npath: the running state of a replay */
  uint64_t *callval;  /* ncall: frame bits of each call's result */
  uint64_t *callbit;  /* ncall: the allocation bit a call makes, 0: none */
  uint32_t *alloc_ev; /* allocation bit index -> its CALL event */
  uint32_t nalloc;
  uint64_t ret; /* bits that reach a return */
  size_t cap_in, cap_path, cap_call, cap_bb;
} fc_flow_t;

/* Runs the forward analysis of `fn` to its fixpoint. Returns 0 when the
 * function makes no frame allocation (nothing else is filled then). */
int fc_flow_run(const fc_prog_t *p, size_t unit, const fc_fn_t *fn,
                fc_flow_t *f);
/* Applies one event to f->cur (the replay of a block). */
void fc_flow_step(const fc_prog_t *p, size_t unit, fc_flow_t *f,
                  const fc_ev_t *e);
/* The frame bits of a value in the current state. */
uint64_t fc_flow_value(const fc_flow_t *f, uint32_t src, uint32_t nsrc);
void fc_flow_free(fc_flow_t *f);
/* The global function a CALL event calls, or NULL for an indirect call. */
const fc_gfn_t *fc_call_target(const fc_prog_t *p, size_t unit,
                               const fc_ev_t *e);
/* "p", "s.f", "p->f", "p[]": a path's name for messages (static buffer
 * of the caller). */
void fc_path_name(const fc_unit_t *u, const fc_fn_t *fn, uint32_t path,
                  char *buf, size_t size);

/* ---- rule_async.c: FA701 FA702 FA703 ----------------------------------- */

void fc_rule_async(const fc_prog_t *p, fc_flow_t *f, fc_diag_list_t *out);

#endif
