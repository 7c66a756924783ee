/* The analysis IR: the facts lower.c keeps of a translation unit once
 * libclang is gone, and the cross-file functions of the analysis.
 *
 * Each defined function becomes a control-flow graph of basic blocks whose
 * events are the few things the rules care about, in evaluation order:
 * reads of local variables (USE), assignments of values to access paths
 * (ASSIGN), assignments to globals (STORE), calls (CALL), returns (RET)
 * and the statements that leave the straight line (JUMP: return, break,
 * continue, goto, the end of the body). A value is a list of sources
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
  FC_EV_CALL,   /* a = callee ref (FC_NONE: indirect); args [b, b+n); c = call;
                 * key = its first fa_allocator_t * argument, FC_NONE if none */
  FC_EV_RET,    /* returns sources [b, b+n) */
  FC_EV_STORE,  /* a global (or what one points to) := sources [b, b+n);
                 * key = the destination's name */
  FC_EV_JUMP    /* control leaves the statement: a = FC_JUMP_*; b = 1 for a
                 * break out of a switch */
} fc_ev_kind_t;

/* What an FC_EV_JUMP is: the statement, or the end of the body. */
enum {
  FC_JUMP_RETURN,
  FC_JUMP_BREAK,
  FC_JUMP_CONTINUE,
  FC_JUMP_GOTO,
  FC_JUMP_END
};

/* FC_EVF_VEC: the data field a frame vector's reserve sets. FC_EVF_TEST:
 * a read of a variable's value only (a condition, a comparison). */
enum { FC_EVF_WHOLE = 1, FC_EVF_STRONG = 2, FC_EVF_VEC = 4, FC_EVF_TEST = 8 };

typedef struct fc_ev_s {
  uint8_t kind, flags;
  uint32_t a, b, n, c;
  uint32_t key; /* an index into the unit's keys, or FC_NONE */
  fc_loc_t loc;
} fc_ev_t;

/* An argument of a call whose arguments matter (spawners, libuv). */
typedef struct fc_arg_s {
  uint32_t src, nsrc; /* its value */
  uint32_t fnref;     /* a function designator's ref, or FC_NONE */
  fc_loc_t loc;
} fc_arg_t;

/* Where a variable lives: its storage decides whether what is stored
 * through it outlives the frame (FA601). */
enum { FC_VAR_LOCAL = 0, FC_VAR_PARAM = 1, FC_VAR_STATIC = 2 };

typedef struct fc_var_s {
  const char *name; /* interned */
  uint32_t path;    /* its whole-variable path; other paths chain from it */
  uint8_t is_ptr;   /* fields are reached through a pointer */
  uint8_t storage;  /* FC_VAR_* */
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
enum {
  FC_REF_ASYNC_ATTR = 1,
  FC_REF_SUSPENDS_ATTR = 2,
  FC_REF_BEGINS_ATTR = 4, /* FA_BEGINS_FRAME */
  FC_REF_ENDS_ATTR = 8,   /* FA_ENDS_FRAME, the end of a fa::frame_scope */
  FC_REF_COROUTINE = 16,  /* a C++ coroutine: attr_loc is its first co_ */
  FC_REF_FRAME = 32,      /* makes frame memory (a frame resource) */
  FC_REF_SPAWNS_THIS = 64 /* a method that hands `this` to a task */
};
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
  FC_VEC(const char *) keys; /* interned: allocator expressions, globals */
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
  FC_G_VEC = 1u << 6,         /* the frame vector's reserve */
  FC_G_BEGIN = 1u << 7,       /* fa_begin_frame, FA_BEGINS_FRAME, config */
  FC_G_END = 1u << 8,         /* fa_end_frame, FA_ENDS_FRAME, config */
  FC_G_BEGINS = 1u << 9,      /* every path begins a frame (summary) */
  FC_G_ENDS = 1u << 10,       /* every path ends a frame (summary) */
  FC_G_LONG = 1u << 11,       /* returns memory that outlives frames */
  FC_G_SPAWN_ALL = 1u << 12 /* every argument reaches the task (std::thread) */
};
/* A call that begins or ends a frame, directly or through a helper. */
#define FC_G_BEGINNING (FC_G_BEGIN | FC_G_BEGINS)
#define FC_G_ENDING (FC_G_END | FC_G_ENDS)
enum { FC_WHY_ATTR = 1, FC_WHY_COROUTINE, FC_WHY_PASSED, FC_WHY_CONFIG };

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
/* The forward fixpoint both flows share: from block 0 of fn, each block's
 * entry state in[b * w .. +w) (zeroed by the caller) is replayed into cur
 * by step(ctx, event) and or-ed into its successors' until nothing
 * changes. reached (fn->nbb bytes, zeroed) ends with bit 0 set for every
 * block reached. */
void fc_fixpoint(const fc_unit_t *u, const fc_fn_t *fn, size_t w, uint64_t *in,
                 uint64_t *cur, uint8_t *reached,
                 void (*step)(void *ctx, const fc_ev_t *e), void *ctx);
/* The frame bits of a value in the current state. */
uint64_t fc_flow_value(const fc_flow_t *f, uint32_t src, uint32_t nsrc);
void fc_flow_free(fc_flow_t *f);
/* The global function a CALL event calls, or NULL for an indirect call. */
const fc_gfn_t *fc_call_target(const fc_prog_t *p, size_t unit,
                               const fc_ev_t *e);
/* "name()" for call number c of fn, in buf; 0 when the call is indirect
 * (buf unchanged). */
int fc_call_label(const fc_prog_t *p, size_t unit, const fc_fn_t *fn,
                  uint32_t c, char *buf, size_t size);
/* "p", "s.f", "p->f", "p[]": a path's name for messages (static buffer
 * of the caller). */
void fc_path_name(const fc_unit_t *u, const fc_fn_t *fn, uint32_t path,
                  char *buf, size_t size);

/* ---- rule_async.c: FA701 FA702 FA703 ----------------------------------- */

void fc_rule_async(const fc_prog_t *p, fc_flow_t *f, fc_diag_list_t *out);

/* ---- rule_lifetime.c: FA601 FA603 FA604 -------------------------------- */

/* The frame-helper summaries: FC_G_BEGINS / FC_G_ENDS for functions whose
 * every path begins (ends) one frame more than it ends (begins), to a
 * fixpoint over the call graph. Needs only the flags of classify(). */
void fc_frame_helpers(fc_prog_t *p);
void fc_rule_lifetime(const fc_prog_t *p, fc_diag_list_t *out);

#endif
