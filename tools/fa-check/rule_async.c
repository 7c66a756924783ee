/* The async-safety rules:
 *   FA701 a frame allocation in an async context;
 *   FA702 a frame pointer live across a suspension point;
 *   FA703 frame data reaching a spawned task or thread.
 * They read the summaries of analyze.c and replay its forward frame-taint
 * dataflow block by block; FA702 then searches forward from the suspension
 * point for a use of the frame pointer that no assignment kills first. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

typedef struct search_s {
  uint32_t *stamp; /* by block: visited in this search */
  uint32_t *queue;
  size_t cap;
  uint32_t gen;
} search_t;

static void note_allocs(const fc_flow_t *f, fc_diag_t *d, uint64_t bits) {
  for (uint32_t b = 0; b < f->nalloc; b++)
    if (bits & ((uint64_t)1 << b))
      fc_diag_note(d, f->u->evs.v[f->alloc_ev[b]].loc,
                   "allocated in frame memory here");
}

static void note_async(fc_diag_t *d, const fc_gfn_t *g, const fc_fn_t *fn) {
  const char *name = g->name ? g->name : "?";
  switch (g->why) {
  case FC_WHY_ATTR:
    fc_diag_note(d, g->why_loc, "'%s' is async: annotated FA_ASYNC here", name);
    break;
  case FC_WHY_COROUTINE:
    fc_diag_note(d, g->why_loc, "'%s' is async: a coroutine (suspends here)",
                 name);
    break;
  case FC_WHY_PASSED:
    fc_diag_note(d, g->why_loc, "'%s' is async: passed to %s here", name,
                 g->why_by ? g->why_by : "?");
    break;
  default:
    fc_diag_note(d, g->def_loc.file ? g->def_loc : fn->loc,
                 "'%s' is async: named in the [async] configuration", name);
    break;
  }
}

/* FA701: every frame allocation in an async function, direct or through a
 * helper that returns frame memory. */
static void rule_701(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                     const fc_gfn_t *g, fc_diag_list_t *out) {
  const fc_unit_t *u = p->units[ui];
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (e->kind != FC_EV_CALL)
      continue;
    const fc_gfn_t *t = fc_call_target(p, ui, e);
    if (!t || !(t->flags & (FC_G_FRAME | FC_G_RET_FRAME)))
      continue;
    fc_diag_t *d;
    if (t->flags & FC_G_FRAME)
      d = fc_diag_add(out, 701, e->loc,
                      "frame allocation in async function '%s'", g->name);
    else
      d = fc_diag_add(out, 701, e->loc,
                      "frame allocation in async function '%s' (through "
                      "'%s', which returns frame memory)",
                      g->name, t->name);
    note_async(d, g, fn);
  }
}

/* Does event e read path q? A read of `s.f` covers `s.f` and `s`; a read
 * of the whole variable covers all its paths. */
static int uses(const fc_flow_t *f, const fc_ev_t *e, uint32_t q) {
  const fc_path_t *paths = f->u->paths.v + f->fn->path;
  const fc_var_t *vars = f->u->vars.v + f->fn->var;
  uint32_t v = paths[q].var;
  if (e->flags & FC_EVF_WHOLE)
    return e->a == v;
  return e->a == q || (paths[e->a].var == v && q == vars[v].path);
}

/* Does event e overwrite path q (so its old value is dead)? */
static int kills(const fc_flow_t *f, const fc_ev_t *e, uint32_t q) {
  if (!(e->flags & FC_EVF_STRONG))
    return 0;
  const fc_path_t *paths = f->u->paths.v + f->fn->path;
  return e->a == q || (!paths[e->a].field && paths[e->a].var == paths[q].var);
}

/* Scans block b from event `from`: 1 a use of q, -1 q killed, 0 neither. */
static int scan(const fc_flow_t *f, uint32_t b, uint32_t from, uint32_t q,
                fc_loc_t *at) {
  const fc_bb_t *bb = &f->u->bbs.v[f->fn->bb + b];
  for (uint32_t i = from; i < bb->nev; i++) {
    const fc_ev_t *e = &f->u->evs.v[bb->ev + i];
    if (e->kind == FC_EV_USE && uses(f, e, q)) {
      *at = e->loc;
      return 1;
    }
    if (e->kind == FC_EV_ASSIGN && kills(f, e, q))
      return -1;
  }
  return 0;
}

/* A use of q reachable from event `from` of block b without a kill:
 * breadth first, so the use reported is a near one. */
static int find_use(const fc_flow_t *f, search_t *s, uint32_t b, uint32_t from,
                    uint32_t q, fc_loc_t *at) {
  int r = scan(f, b, from, q, at);
  if (r)
    return r > 0;
  size_t nbb = f->fn->nbb;
  if (s->cap < nbb) {
    free(s->stamp);
    free(s->queue);
    s->cap = nbb * 2;
    s->stamp = fc_xcalloc(s->cap, sizeof(uint32_t));
    s->queue = fc_xrealloc(NULL, s->cap * sizeof(uint32_t));
    s->gen = 0;
  }
  if (++s->gen == 0) {
    memset(s->stamp, 0, s->cap * sizeof(uint32_t));
    s->gen = 1;
  }
  size_t head = 0, tail = 0;
  const fc_bb_t *bb = &f->u->bbs.v[f->fn->bb + b];
  for (;;) {
    for (uint32_t k = 0; k < bb->nsucc; k++) {
      uint32_t to = f->u->succs.v[bb->succ + k];
      if (s->stamp[to] != s->gen) {
        s->stamp[to] = s->gen;
        s->queue[tail++] = to;
      }
    }
    if (head == tail)
      return 0;
    uint32_t next = s->queue[head++];
    r = scan(f, next, 0, q, at);
    if (r > 0)
      return 1;
    bb = &f->u->bbs.v[f->fn->bb + next];
    if (r < 0) {
      static const fc_bb_t none = {0, 0, 0, 0};
      bb = &none; /* killed: do not follow this block's successors */
    }
  }
}

/* FA702 at suspension event e (block b, index i): every frame pointer
 * allocated earlier and used afterwards on some path. */
static void check_suspend(const fc_flow_t *f, search_t *s, uint32_t b,
                          uint32_t i, const fc_ev_t *e, fc_diag_list_t *out) {
  uint64_t reported = 0;
  for (uint32_t q = 0; q < f->fn->npath; q++) {
    uint64_t bits = f->cur[q] & ~reported;
    fc_loc_t at;
    if (!bits || !find_use(f, s, b, i + 1, q, &at))
      continue;
    char name[256];
    fc_path_name(f->u, f->fn, q, name, sizeof(name));
    fc_diag_t *d = fc_diag_add(
        out, 702, e->loc,
        "frame pointer '%s' is live across this suspension point", name);
    note_allocs(f, d, bits);
    fc_diag_note(d, at, "used here after the suspension point");
    reported |= bits;
  }
}

/* The name of what carries frame memory in a value: a variable or field,
 * or the call that made it. */
static void value_name(const fc_prog_t *p, size_t ui, const fc_flow_t *f,
                       const fc_arg_t *a, char *buf, size_t size) {
  const fc_unit_t *u = f->u;
  const fc_path_t *paths = u->paths.v + f->fn->path;
  const fc_var_t *vars = u->vars.v + f->fn->var;
  for (uint32_t i = 0; i < a->nsrc; i++) {
    uint32_t src = u->srcs.v[a->src + i], x = FC_SRC_INDEX(src);
    if (FC_SRC_KIND(src) == FC_SRC_VAR) {
      for (uint32_t q = vars[x].path; q != FC_NONE; q = paths[q].next)
        if (f->cur[q]) {
          fc_path_name(u, f->fn, q, buf, size);
          return;
        }
    } else if (FC_SRC_KIND(src) == FC_SRC_PATH) {
      if (f->cur[x] || f->cur[vars[paths[x].var].path]) {
        fc_path_name(u, f->fn, f->cur[x] ? x : vars[paths[x].var].path, buf,
                     size);
        return;
      }
    } else if (f->callval[x] && fc_call_label(p, ui, f->fn, x, buf, size)) {
      return;
    }
  }
  snprintf(buf, size, "?");
}

/* FA703 at spawn event e: frame data in the task's context argument. */
static void check_spawn(const fc_prog_t *p, size_t ui, const fc_flow_t *f,
                        const fc_ev_t *e, const fc_gfn_t *t,
                        fc_diag_list_t *out) {
  uint32_t k = (uint32_t)t->ctx_arg - 1;
  uint32_t last = t->flags & FC_G_SPAWN_ALL ? e->n - 1 : k;
  for (; k < last; k++) /* std::thread: the first argument that has some */
    if (fc_flow_value(f, f->u->args.v[e->b + k].src,
                      f->u->args.v[e->b + k].nsrc))
      break;
  const fc_arg_t *a = &f->u->args.v[e->b + k];
  uint64_t bits = fc_flow_value(f, a->src, a->nsrc);
  if (!bits)
    return;
  char name[256];
  value_name(p, ui, f, a, name, sizeof(name));
  fc_diag_t *d =
      fc_diag_add(out, 703, e->loc,
                  "frame data '%s' is captured by the task spawned here (%s)",
                  name, t->name);
  note_allocs(f, d, bits);
  if (t->flags & FC_G_SPAWN_ALL)
    fc_diag_note(d, a->loc, "captured here");
}

void fc_rule_async(const fc_prog_t *p, fc_flow_t *f, fc_diag_list_t *out) {
  search_t s;
  memset(&s, 0, sizeof(s));
  for (size_t ui = 0; ui < p->nunits; ui++) {
    const fc_unit_t *u = p->units[ui];
    for (size_t fi = 0; fi < u->fns.n; fi++) {
      const fc_fn_t *fn = &u->fns.v[fi];
      const fc_gfn_t *g = &p->g[p->gid[ui][fn->ref]];
      if (g->flags & FC_G_ASYNC)
        rule_701(p, ui, fn, g, out);
      int interesting = 0;
      for (uint32_t i = 0; i < fn->nev && !interesting; i++) {
        const fc_ev_t *e = &u->evs.v[fn->ev + i];
        const fc_gfn_t *t;
        if (e->kind == FC_EV_CALL && (t = fc_call_target(p, ui, e)) &&
            ((t->flags & (FC_G_SUSPEND | FC_G_MAY_SUSPEND)) ||
             (t->ctx_arg > 0 && e->n >= (uint32_t)t->ctx_arg)))
          interesting = 1;
      }
      if (!interesting || !fc_flow_run(p, ui, fn, f))
        continue;
      size_t np = fn->npath ? fn->npath : 1;
      for (uint32_t b = 0; b < fn->nbb; b++) {
        if (!(f->reached[b] & 1))
          continue;
        const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
        memcpy(f->cur, f->in + (size_t)b * np, np * sizeof(uint64_t));
        for (uint32_t i = 0; i < bb->nev; i++) {
          const fc_ev_t *e = &u->evs.v[bb->ev + i];
          const fc_gfn_t *t =
              e->kind == FC_EV_CALL ? fc_call_target(p, ui, e) : NULL;
          if (t && (t->flags & (FC_G_SUSPEND | FC_G_MAY_SUSPEND)))
            check_suspend(f, &s, b, i, e, out);
          if (t && t->ctx_arg > 0 && e->n >= (uint32_t)t->ctx_arg)
            check_spawn(p, ui, f, e, t, out);
          fc_flow_step(p, ui, f, e);
        }
      }
    }
  }
  free(s.stamp);
  free(s.queue);
}
