/* The program generator of the fa-check source fuzz target, and its oracle.
 *
 * The fuzz bytes are read one at a time as choices (an exhausted input
 * chooses 0, which ends every block), giving one to three functions
 *
 *   void gN(fa_allocator_t *a) { char *v0 = NULL; ... pthread_t t; ... }
 *
 * made of one-line statements over up to four pointer variables: frame
 * allocations (direct, or through scratch(), which returns frame memory),
 * pool allocations and NULL, aliases (copy, pointer arithmetic, casts),
 * uses, suspension points (FA_AWAIT, an FA_SUSPENDS function, a helper that
 * may suspend, FA_AWAIT with a pointer as the awaited call's argument),
 * spawns (pthread_create with a pointer as the task's context), and the
 * compound statements if/else, while and do/while (their condition a call
 * or an FA_AWAIT), with conditional break, continue and return. With FA604
 * on, fa_end_frame(a) and fa_begin_frame(a) join them.
 *
 * While printing, the generator builds the control-flow graph of each
 * function with one node per event, in evaluation order: reads of a
 * variable, assignments to it (a new frame allocation site, no frame
 * memory, or a copy of another variable) and suspension points. The
 * expected findings follow docs/fa-check.md on that graph:
 *
 *   FA702 at a suspension point S when some variable may hold frame memory
 *         at S (a forward may-analysis over the graph) and a read of it is
 *         reachable from S without an assignment to it in between;
 *   FA604 candidates: the reads of a variable that may hold a site whose
 *         frame has ended (fa_end_frame(a) after the allocation on some
 *         path, the pointer carried along by copies), with those sites;
 *         the checker reports each (variable, site) pair once, at one of
 *         these reads, and the target checks exactly that.
 *
 * Only constructs whose meaning the documentation states precisely are
 * generated: no conditional operator, no assignment inside && or ||, no
 * correlated conditions (every condition is an opaque call), no calls
 * through pointers, no out-parameters, at most 32 allocation sites per
 * function (the analysis tells 64 apart). */
#include "fc_gen.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char gen_prelude[] =
    "#include <framealloc.h>\n"
    "#include <pthread.h>\n"
    "#include <stddef.h>\n"
    "void use(const void *p);\n"
    "int work(void);\n"
    "int more(void);\n"
    "int cond(void);\n"
    "int send_buf(const void *p);\n"
    "FA_SUSPENDS void fiber_wait(int ms);\n"
    "static int maybe_suspend(void) { return FA_AWAIT(work()); }\n"
    "static char *scratch(fa_allocator_t *a) {\n"
    "  return fa_frame_array(a, char, 32);\n"
    "}\n"
    "static void *task_body(void *arg) {\n"
    "  use(arg);\n"
    "  return NULL;\n"
    "}\n";

#define MAX_FNS GEN_MAX_FNS
#define MAX_VARS 4
#define MAX_DEPTH 3
#define MAX_STMTS 48 /* per function */
#define MAX_SITES GEN_MAX_SITES

/* ---- the output text ---------------------------------------------------- */

typedef struct out_s {
  char *s;
  size_t n, cap;
  unsigned line; /* the line the next put() writes */
} out_t;

static void *xrealloc(void *p, size_t size) {
  p = realloc(p, size);
  if (!p) {
    fputs("fc_gen: out of memory\n", stderr);
    abort();
  }
  return p;
}

static void out_raw(out_t *o, const char *s, size_t n) {
  if (o->n + n + 1 > o->cap) {
    o->cap = (o->n + n + 1) * 2;
    o->s = xrealloc(o->s, o->cap);
  }
  memcpy(o->s + o->n, s, n);
  o->n += n;
  o->s[o->n] = 0;
  for (size_t i = 0; i < n; i++)
    o->line += s[i] == '\n';
}

static unsigned put(out_t *o, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes one indented line; returns its number. */
static unsigned put(out_t *o, int depth, const char *fmt, ...) {
  char buf[256];
  unsigned line = o->line;
  int w = 2 * depth;
  memset(buf, ' ', (size_t)w);
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(buf + w, sizeof(buf) - (size_t)w - 1, fmt, ap);
  va_end(ap);
  if (k < 0 || (size_t)k >= sizeof(buf) - (size_t)w - 1)
    abort(); /* every statement is short */
  w += k;
  buf[w++] = '\n';
  out_raw(o, buf, (size_t)w);
  return line;
}

/* ---- the choices ----------------------------------------------------------
 */

typedef struct rd_s {
  const uint8_t *p, *end;
} rd_t;

static unsigned pick(rd_t *r, unsigned n) {
  if (r->p >= r->end)
    return 0;
  return *r->p++ % n;
}

/* ---- the control-flow graph ---------------------------------------------- */

enum {
  N_NOP,     /* a branch point, a loop head, the entry or the exit */
  N_USE,     /* reads var */
  N_SITE,    /* var := a new frame allocation (site) */
  N_CLEAR,   /* var := no frame memory */
  N_COPY,    /* var := the frame memory of src */
  N_SUSPEND, /* a suspension point */
  N_END,     /* fa_end_frame(a) */
  N_BEGIN    /* fa_begin_frame(a) */
};

typedef struct node_s {
  int op, var, src, site;
  unsigned line;
} node_t;

typedef struct ids_s {
  int *v;
  size_t n, cap;
} ids_t;

static void ids_push(ids_t *s, int id) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
  }
  s->v[s->n++] = id;
}

static void ids_append(ids_t *dst, const ids_t *src) {
  for (size_t i = 0; i < src->n; i++)
    ids_push(dst, src->v[i]);
}

typedef struct fn_s {
  node_t *nodes;
  size_t nn, capn;
  ids_t efrom, eto; /* edges */
  ids_t open;       /* nodes whose next node is the next one made */
  ids_t returns;
  int nvar, nsite, nstmt;
} fn_t;

typedef struct loop_s {
  ids_t brk, cont;
} loop_t;

typedef struct ctx_s {
  rd_t rd;
  out_t out;
  int with_604;
  gen_t *g;
  int fn; /* the function being made */
} ctx_t;

static void edge(fn_t *f, int from, int to) {
  ids_push(&f->efrom, from);
  ids_push(&f->eto, to);
}

/* Makes a node, reached from every open node; it is then the only one. */
static int node(fn_t *f, int op, int var, int src, unsigned line) {
  if (f->nn == f->capn) {
    f->capn = f->capn ? f->capn * 2 : 64;
    f->nodes = xrealloc(f->nodes, f->capn * sizeof(*f->nodes));
  }
  int id = (int)f->nn++;
  node_t *n = &f->nodes[id];
  n->op = op;
  n->var = var;
  n->src = src;
  n->site = -1;
  n->line = line;
  for (size_t i = 0; i < f->open.n; i++)
    edge(f, f->open.v[i], id);
  f->open.n = 0;
  ids_push(&f->open, id);
  return id;
}

/* ---- the statements -------------------------------------------------------
 */

static void block(ctx_t *c, fn_t *f, int depth, loop_t *loop);

static void stmt_frame(ctx_t *c, fn_t *f, int depth) {
  int v = (int)pick(&c->rd, (unsigned)f->nvar);
  unsigned form = pick(&c->rd, 3);
  if (f->nsite >= MAX_SITES) {
    node(f, N_CLEAR, v, -1,
         put(&c->out, depth, "v%d = fa_pool_alloc(a, 16);", v));
    return;
  }
  unsigned line =
      form == 0   ? put(&c->out, depth, "v%d = fa_frame_array(a, char, 16);", v)
      : form == 1 ? put(&c->out, depth, "v%d = fa_frame_alloc(a, 16, 8);", v)
                  : put(&c->out, depth, "v%d = scratch(a);", v);
  int id = node(f, N_SITE, v, -1, line);
  c->g->site_line[c->fn][f->nsite] = line;
  f->nodes[id].site = f->nsite++;
}

static void stmt_clear(ctx_t *c, fn_t *f, int depth) {
  int v = (int)pick(&c->rd, (unsigned)f->nvar);
  unsigned line = pick(&c->rd, 2)
                      ? put(&c->out, depth, "v%d = NULL;", v)
                      : put(&c->out, depth, "v%d = fa_pool_alloc(a, 16);", v);
  node(f, N_CLEAR, v, -1, line);
}

static void stmt_alias(ctx_t *c, fn_t *f, int depth) {
  int v = (int)pick(&c->rd, (unsigned)f->nvar);
  int s = (int)pick(&c->rd, (unsigned)f->nvar);
  unsigned form = pick(&c->rd, 3);
  unsigned line = form == 0 ? put(&c->out, depth, "v%d = v%d;", v, s)
                  : form == 1
                      ? put(&c->out, depth, "v%d = v%d + 1;", v, s)
                      : put(&c->out, depth, "v%d = (char *)(void *)v%d;", v, s);
  node(f, N_USE, s, -1, line);
  node(f, N_COPY, v, s, line);
}

static void stmt_use(ctx_t *c, fn_t *f, int depth) {
  int v = (int)pick(&c->rd, (unsigned)f->nvar);
  unsigned form = pick(&c->rd, 4);
  unsigned line =
      form == 0   ? put(&c->out, depth, "use(v%d);", v)
      : form == 1 ? put(&c->out, depth, "send_buf(v%d);", v)
      : form == 2
          ? put(&c->out, depth, "use(v%d + 2);", v)
          : put(&c->out, depth, "pthread_create(&t, NULL, task_body, v%d);", v);
  node(f, N_USE, v, -1, line);
}

static void stmt_await(ctx_t *c, fn_t *f, int depth) {
  unsigned form = pick(&c->rd, 4);
  unsigned line;
  if (form == 3) {
    int v = (int)pick(&c->rd, (unsigned)f->nvar);
    line = put(&c->out, depth, "FA_AWAIT(send_buf(v%d));", v);
    node(f, N_USE, v, -1, line); /* read before the task suspends */
  } else {
    line = form == 0   ? put(&c->out, depth, "FA_AWAIT(work());")
           : form == 1 ? put(&c->out, depth, "fiber_wait(1);")
                       : put(&c->out, depth, "maybe_suspend();");
  }
  node(f, N_SUSPEND, -1, -1, line);
}

/* The condition of a compound statement: an opaque call, or an await. */
static const char *condition(ctx_t *c, const char *call, int *op) {
  if (pick(&c->rd, 3) == 2) {
    *op = N_SUSPEND;
    return "FA_AWAIT(work())";
  }
  *op = N_NOP;
  return call;
}

static void stmt_if(ctx_t *c, fn_t *f, int depth, loop_t *loop) {
  int op;
  const char *cond = condition(c, "cond()", &op);
  int has_else = (int)pick(&c->rd, 2);
  int at = node(f, op, -1, -1, put(&c->out, depth, "if (%s) {", cond));
  block(c, f, depth + 1, loop);
  ids_t then_open = {0};
  ids_append(&then_open, &f->open);
  f->open.n = 0;
  ids_push(&f->open, at);
  if (has_else) {
    put(&c->out, depth, "} else {");
    block(c, f, depth + 1, loop);
  }
  put(&c->out, depth, "}");
  ids_append(&f->open, &then_open);
  free(then_open.v);
}

static void close_loop(fn_t *f, int head, loop_t *inner) {
  for (size_t i = 0; i < inner->cont.n; i++)
    edge(f, inner->cont.v[i], head);
  ids_append(&f->open, &inner->brk);
  free(inner->brk.v);
  free(inner->cont.v);
}

static void stmt_while(ctx_t *c, fn_t *f, int depth) {
  int op;
  const char *cond = condition(c, "more()", &op);
  int head = node(f, op, -1, -1, put(&c->out, depth, "while (%s) {", cond));
  loop_t inner = {{0}, {0}};
  block(c, f, depth + 1, &inner);
  put(&c->out, depth, "}");
  for (size_t i = 0; i < f->open.n; i++) /* the back edge */
    edge(f, f->open.v[i], head);
  f->open.n = 0;
  ids_push(&f->open, head);
  close_loop(f, head, &inner);
}

static void stmt_do(ctx_t *c, fn_t *f, int depth) {
  int entry = node(f, N_NOP, -1, -1, put(&c->out, depth, "do {"));
  loop_t inner = {{0}, {0}};
  block(c, f, depth + 1, &inner);
  int op;
  const char *cond = condition(c, "more()", &op);
  /* continue goes to the condition: link it before making the node. */
  ids_append(&f->open, &inner.cont);
  inner.cont.n = 0;
  int test = node(f, op, -1, -1, put(&c->out, depth, "} while (%s);", cond));
  edge(f, test, entry);
  close_loop(f, test, &inner);
}

static void stmt_jump(ctx_t *c, fn_t *f, int depth, loop_t *loop) {
  unsigned form = loop ? pick(&c->rd, 3) : 2;
  const char *what = form == 0 ? "break" : form == 1 ? "continue" : "return";
  int at = node(f, N_NOP, -1, -1, put(&c->out, depth, "if (cond()) %s;", what));
  ids_push(form == 0 ? &loop->brk : form == 1 ? &loop->cont : &f->returns, at);
}

static void stmt_frame_bound(ctx_t *c, fn_t *f, int depth) {
  if (pick(&c->rd, 2))
    node(f, N_END, -1, -1, put(&c->out, depth, "fa_end_frame(a);"));
  else
    node(f, N_BEGIN, -1, -1, put(&c->out, depth, "fa_begin_frame(a);"));
}

static void block(ctx_t *c, fn_t *f, int depth, loop_t *loop) {
  for (;;) {
    if (depth > MAX_DEPTH + 1 || f->nstmt >= MAX_STMTS)
      return;
    unsigned k = pick(&c->rd, c->with_604 ? 11 : 10);
    if (k == 0)
      return;
    f->nstmt++;
    switch (k) {
    case 1:
      stmt_frame(c, f, depth);
      break;
    case 2:
      stmt_clear(c, f, depth);
      break;
    case 3:
      stmt_alias(c, f, depth);
      break;
    case 4:
      stmt_use(c, f, depth);
      break;
    case 5:
      stmt_await(c, f, depth);
      break;
    case 6:
      if (depth <= MAX_DEPTH)
        stmt_if(c, f, depth, loop);
      break;
    case 7:
      if (depth <= MAX_DEPTH)
        stmt_while(c, f, depth);
      break;
    case 8:
      if (depth <= MAX_DEPTH)
        stmt_do(c, f, depth);
      break;
    case 9:
      stmt_jump(c, f, depth, loop);
      break;
    default:
      stmt_frame_bound(c, f, depth);
      break;
    }
  }
}

/* ---- the oracle -----------------------------------------------------------
 */

typedef struct graph_s {
  size_t *first; /* successors of node i: succ[first[i] .. first[i+1]) */
  int *succ;
} graph_t;

static void graph_make(const fn_t *f, graph_t *g) {
  g->first = calloc(f->nn + 1, sizeof(*g->first));
  g->succ = xrealloc(NULL, (f->efrom.n + 1) * sizeof(*g->succ));
  if (!g->first)
    abort();
  for (size_t i = 0; i < f->efrom.n; i++)
    g->first[f->efrom.v[i] + 1]++;
  for (size_t i = 0; i < f->nn; i++)
    g->first[i + 1] += g->first[i];
  size_t *fill = xrealloc(NULL, (f->nn + 1) * sizeof(*fill));
  memcpy(fill, g->first, (f->nn + 1) * sizeof(*fill));
  for (size_t i = 0; i < f->efrom.n; i++)
    g->succ[fill[f->efrom.v[i]]++] = f->eto.v[i];
  free(fill);
}

static int defines(const node_t *n, int v) {
  return (n->op == N_SITE || n->op == N_CLEAR || n->op == N_COPY) &&
         n->var == v;
}

/* The state after node n: per variable, the sites it may hold. */
static void transfer(const node_t *n, const uint64_t *in, uint64_t *out) {
  memcpy(out, in, MAX_VARS * sizeof(*out));
  if (n->op == N_SITE)
    out[n->var] = (uint64_t)1 << n->site;
  else if (n->op == N_CLEAR)
    out[n->var] = 0;
  else if (n->op == N_COPY)
    out[n->var] = in[n->src];
}

/* Forward may-analysis to the fixpoint: the sites each variable may hold
 * at the entry of each node; reached[i] when node i is reachable. */
static void taint(const fn_t *f, const graph_t *g, uint64_t *in,
                  uint8_t *reached) {
  int *work = xrealloc(NULL, (f->nn + 1) * sizeof(*work));
  uint8_t *queued = calloc(f->nn + 1, 1);
  if (!queued)
    abort();
  size_t nw = 0;
  reached[0] = 1;
  work[nw++] = 0;
  queued[0] = 1;
  while (nw) {
    int i = work[--nw];
    queued[i] = 0;
    uint64_t out[MAX_VARS];
    transfer(&f->nodes[i], in + (size_t)i * MAX_VARS, out);
    for (size_t k = g->first[i]; k < g->first[i + 1]; k++) {
      int s = g->succ[k];
      uint64_t *sin = in + (size_t)s * MAX_VARS;
      int changed = !reached[s];
      reached[s] = 1;
      for (int v = 0; v < MAX_VARS; v++) {
        if ((sin[v] | out[v]) != sin[v])
          changed = 1;
        sin[v] |= out[v];
      }
      if (changed && !queued[s]) {
        queued[s] = 1;
        work[nw++] = s;
      }
    }
  }
  free(work);
  free(queued);
}

/* Is a read of v reachable from the successors of node `from` without an
 * assignment to v first? */
static int used_later(const fn_t *f, const graph_t *g, int from, int v,
                      uint8_t *seen) {
  memset(seen, 0, f->nn);
  int *queue = xrealloc(NULL, (f->nn + 1) * sizeof(*queue));
  size_t head = 0, tail = 0;
  for (size_t k = g->first[from]; k < g->first[from + 1]; k++)
    if (!seen[g->succ[k]]) {
      seen[g->succ[k]] = 1;
      queue[tail++] = g->succ[k];
    }
  int found = 0;
  while (head < tail && !found) {
    int i = queue[head++];
    const node_t *n = &f->nodes[i];
    if (n->op == N_USE && n->var == v) {
      found = 1;
      break;
    }
    if (defines(n, v))
      continue;
    for (size_t k = g->first[i]; k < g->first[i + 1]; k++)
      if (!seen[g->succ[k]]) {
        seen[g->succ[k]] = 1;
        queue[tail++] = g->succ[k];
      }
  }
  free(queue);
  return found;
}

/* FA604: per variable, the sites it may hold that are live and those
 * whose frame has ended, at each node's entry (a forward may-analysis, as
 * for FA702, with fa_end_frame(a) moving every live site to ended). */
static void transfer_ended(const node_t *n, const uint64_t *in, uint64_t *out) {
  memcpy(out, in, 2 * MAX_VARS * sizeof(*out));
  if (n->op == N_SITE) {
    out[2 * n->var] = (uint64_t)1 << n->site;
    out[2 * n->var + 1] = 0;
  } else if (n->op == N_CLEAR) {
    out[2 * n->var] = out[2 * n->var + 1] = 0;
  } else if (n->op == N_COPY) {
    out[2 * n->var] = in[2 * n->src];
    out[2 * n->var + 1] = in[2 * n->src + 1];
  } else if (n->op == N_END) {
    for (int v = 0; v < MAX_VARS; v++) {
      out[2 * v + 1] |= out[2 * v];
      out[2 * v] = 0;
    }
  }
}

static void lifetime(const fn_t *f, const graph_t *g, const uint8_t *reached,
                     uint64_t *in) {
  int changed = 1;
  while (changed) {
    changed = 0;
    for (size_t i = 0; i < f->nn; i++) {
      if (!reached[i])
        continue;
      uint64_t out[2 * MAX_VARS];
      transfer_ended(&f->nodes[i], in + i * 2 * MAX_VARS, out);
      for (size_t k = g->first[i]; k < g->first[i + 1]; k++) {
        uint64_t *sin = in + (size_t)g->succ[k] * 2 * MAX_VARS;
        for (int v = 0; v < 2 * MAX_VARS; v++)
          if ((sin[v] | out[v]) != sin[v]) {
            sin[v] |= out[v];
            changed = 1;
          }
      }
    }
  }
}

static void add_use(gen_t *g, unsigned line, int fn, int var, uint64_t ended) {
  if (g->nuses == g->capuses) {
    g->capuses = g->capuses ? g->capuses * 2 : 16;
    g->uses = xrealloc(g->uses, g->capuses * sizeof(*g->uses));
  }
  gen_use_t *u = &g->uses[g->nuses++];
  u->line = line;
  u->fn = fn;
  u->var = var;
  u->ended = ended;
  u->reported = 0;
}

static void oracle(const fn_t *f, int fn, int with_604, gen_t *out) {
  graph_t g;
  graph_make(f, &g);
  uint64_t *in = calloc(f->nn * MAX_VARS + 1, sizeof(*in));
  uint8_t *reached = calloc(f->nn + 1, 1);
  uint8_t *seen = calloc(f->nn + 1, 1);
  if (!in || !reached || !seen)
    abort();
  taint(f, &g, in, reached);
  for (size_t i = 0; i < f->nn; i++) {
    const node_t *n = &f->nodes[i];
    if (!reached[i] || n->op != N_SUSPEND)
      continue;
    for (int v = 0; v < f->nvar; v++)
      if (in[i * MAX_VARS + (size_t)v] && used_later(f, &g, (int)i, v, seen)) {
        gen_lines_add(&out->fa702, n->line);
        break;
      }
  }
  if (with_604) {
    uint64_t *lin = calloc(f->nn * 2 * MAX_VARS + 1, sizeof(*lin));
    if (!lin)
      abort();
    lifetime(f, &g, reached, lin);
    for (size_t i = 0; i < f->nn; i++) {
      const node_t *n = &f->nodes[i];
      uint64_t e = reached[i] && n->op == N_USE
                       ? lin[i * 2 * MAX_VARS + 2 * (size_t)n->var + 1]
                       : 0;
      if (e)
        add_use(out, n->line, fn, n->var, e);
    }
    free(lin);
  }
  free(in);
  free(reached);
  free(seen);
  free(g.first);
  free(g.succ);
}

/* ---- the program ------------------------------------------------------------
 */

void gen_lines_add(gen_lines_t *l, unsigned line) {
  size_t i = 0;
  while (i < l->n && l->v[i] < line)
    i++;
  if (i < l->n && l->v[i] == line)
    return;
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 8;
    l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  memmove(l->v + i + 1, l->v + i, (l->n - i) * sizeof(*l->v));
  l->v[i] = line;
  l->n++;
}

static void function(ctx_t *c, int index) {
  fn_t f;
  memset(&f, 0, sizeof(f));
  f.nvar = 1 + (int)pick(&c->rd, MAX_VARS);
  put(&c->out, 0, "void g%d(fa_allocator_t *a) {", index);
  node(&f, N_NOP, -1, -1, 0); /* the entry */
  for (int v = 0; v < f.nvar; v++)
    node(&f, N_CLEAR, v, -1, put(&c->out, 1, "char *v%d = NULL;", v));
  put(&c->out, 1, "pthread_t t;");
  block(c, &f, 1, NULL);
  put(&c->out, 1, "(void)a;");
  ids_append(&f.open, &f.returns);
  node(&f, N_NOP, -1, -1, put(&c->out, 0, "}")); /* the exit */
  oracle(&f, index, c->with_604, c->g);
  free(f.nodes);
  free(f.efrom.v);
  free(f.eto.v);
  free(f.open.v);
  free(f.returns.v);
}

void gen_build(const uint8_t *data, size_t size, int with_604, gen_t *g) {
  memset(g, 0, sizeof(*g));
  ctx_t c;
  memset(&c, 0, sizeof(c));
  c.rd.p = data;
  c.rd.end = data + size;
  c.out.line = 1;
  c.with_604 = with_604;
  c.g = g;
  out_raw(&c.out, gen_prelude, strlen(gen_prelude));
  int nfn = 1 + (int)pick(&c.rd, MAX_FNS);
  for (int i = 0; i < nfn; i++) {
    c.fn = i;
    function(&c, i);
  }
  g->nfn = nfn;
  g->text = c.out.s;
  g->len = c.out.n;
}

void gen_free(gen_t *g) {
  free(g->text);
  free(g->fa702.v);
  free(g->uses);
  memset(g, 0, sizeof(*g));
}
