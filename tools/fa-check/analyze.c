/* The analysis across all units: one table of functions merged by USR,
 * what each one is (built-in names, fa-check.toml, attributes), the
 * summaries computed to a fixpoint (functions that may suspend, functions
 * that return frame memory, functions that are async contexts), and the
 * forward frame-taint dataflow the rules share. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* Known suspension points: FA_AWAIT's marker and the coroutine switches of
 * ucontext, minicoro (mco_), libco (co_switch), libaco (aco_) and PCL
 * (co_call, co_resume). */
static const char *const builtin_suspend[] = {
    "fa__await", "swapcontext", "mco_yield", "mco_resume", "co_switch",
    "aco_yield", "aco_resume",  "co_call",   "co_resume"};

/* Allocators whose memory outlives frames: a frame pointer stored in it
 * escapes the frame (FA601). */
static const char *const builtin_long[] = {
    "fa_pool_alloc", "fa_heap_alloc", "fa_task_alloc", "fa_pool_guard_alloc",
    "malloc",        "calloc",        "realloc",       "reallocarray",
    "aligned_alloc", "strdup",        "strndup"};

/* Spawners and the position of the task's context argument. */
static const struct {
  const char *name;
  int arg;
} builtin_spawn[] = {{"pthread_create", 4},   {"thrd_create", 3},
                     {"uv_thread_create", 3}, {"uv_queue_work", 2},
                     {"fa_uv_queue_work", 3}, {"std::thread", 1},
                     {"std::jthread", 1},     {"std::async", 1}};

static int name_in(const fc_names_t *names, const char *s) {
  for (size_t i = 0; names && i < names->n; i++)
    if (!strcmp(names->v[i], s))
      return 1;
  return 0;
}

static int loc_before(fc_loc_t a, fc_loc_t b) {
  if (a.file != b.file) {
    if (!a.file || !b.file)
      return a.file != NULL;
    return strcmp(a.file, b.file) < 0;
  }
  return a.line != b.line ? a.line < b.line : a.col < b.col;
}

/* Records why g is async, keeping the strongest and then earliest reason
 * so that the result does not depend on the order of the units. */
static void set_async(fc_gfn_t *g, int why, fc_loc_t loc, const char *by) {
  if ((g->flags & FC_G_ASYNC) &&
      (g->why < why || (g->why == why && !loc_before(loc, g->why_loc))))
    return;
  g->flags |= FC_G_ASYNC;
  g->why = why;
  g->why_loc = loc;
  g->why_by = by;
}

static void classify(fc_gfn_t *g, const fc_config_t *cfg) {
  const char *n = g->name ? g->name : "";
  if (!strcmp(n, "fa_frame_alloc") || !strcmp(n, "fa::make_frame") ||
      !strcmp(n, "fa::make_frame_array") || (cfg && name_in(&cfg->frame, n)))
    g->flags |= FC_G_FRAME;
  if (!strcmp(n, "fa__frame_vec_reserve"))
    g->flags |= FC_G_FRAME | FC_G_VEC;
  if (!strcmp(n, "fa_begin_frame") || (cfg && name_in(&cfg->begin, n)))
    g->flags |= FC_G_BEGIN;
  if (!strcmp(n, "fa_end_frame") || (cfg && name_in(&cfg->end, n)))
    g->flags |= FC_G_END;
  for (size_t i = 0; i < sizeof(builtin_long) / sizeof(*builtin_long); i++)
    if (!strcmp(n, builtin_long[i]))
      g->flags |= FC_G_LONG;
  for (size_t i = 0; i < sizeof(builtin_suspend) / sizeof(*builtin_suspend);
       i++)
    if (!strcmp(n, builtin_suspend[i]))
      g->flags |= FC_G_SUSPEND;
  if (cfg && name_in(&cfg->await, n))
    g->flags |= FC_G_SUSPEND;
  for (size_t i = 0; i < sizeof(builtin_spawn) / sizeof(*builtin_spawn); i++)
    if (!strcmp(n, builtin_spawn[i].name)) {
      g->ctx_arg = builtin_spawn[i].arg;
      g->flags |= FC_G_CALLBACKS;
      if (!strncmp(n, "std::", 5)) /* the callable and its bound arguments */
        g->flags |= FC_G_SPAWN_ALL;
    }
  for (size_t i = 0; cfg && i < cfg->nspawn; i++)
    if (!strcmp(n, cfg->spawn[i].name)) {
      g->ctx_arg = cfg->spawn[i].arg;
      g->flags |= FC_G_CALLBACKS;
    }
  if (!strncmp(n, "uv_", 3) || !strncmp(n, "fa_uv_", 6))
    g->flags |= FC_G_CALLBACKS;
  if (cfg && name_in(&cfg->async, n))
    set_async(g, FC_WHY_CONFIG, g->def_loc, NULL);
}

/* ---- the function table ------------------------------------------------- */

typedef struct table_s {
  uint32_t *slot; /* gid + 1, 0: empty */
  size_t cap;
} table_t;

static size_t hash_ptr(const void *p) {
  uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15u;
  return (size_t)(h ^ (h >> 31));
}

static uint32_t table_gid(fc_prog_t *p, table_t *t, const fc_ref_t *r) {
  if ((p->ng + 1) * 2 > t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 256;
    uint32_t *slot = fc_xcalloc(cap, sizeof(*slot));
    for (size_t i = 0; i < t->cap; i++)
      if (t->slot[i]) {
        size_t j = hash_ptr(p->g[t->slot[i] - 1].usr) & (cap - 1);
        while (slot[j])
          j = (j + 1) & (cap - 1);
        slot[j] = t->slot[i];
      }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
  }
  size_t j = hash_ptr(r->usr) & (t->cap - 1);
  while (t->slot[j] && p->g[t->slot[j] - 1].usr != r->usr)
    j = (j + 1) & (t->cap - 1);
  if (t->slot[j])
    return t->slot[j] - 1;
  p->g = fc_xrealloc(p->g, (p->ng + 1) * sizeof(*p->g));
  fc_gfn_t *g = &p->g[p->ng];
  memset(g, 0, sizeof(*g));
  g->usr = r->usr;
  g->name = r->name;
  t->slot[j] = (uint32_t)++p->ng;
  return (uint32_t)(p->ng - 1);
}

const fc_gfn_t *fc_call_target(const fc_prog_t *p, size_t unit,
                               const fc_ev_t *e) {
  return e->a == FC_NONE ? NULL : &p->g[p->gid[unit][e->a]];
}

int fc_call_label(const fc_prog_t *p, size_t unit, const fc_fn_t *fn,
                  uint32_t c, char *buf, size_t size) {
  const fc_unit_t *u = p->units[unit];
  for (uint32_t k = 0; k < fn->nev; k++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + k];
    const fc_gfn_t *t;
    if (e->kind == FC_EV_CALL && e->c == c &&
        (t = fc_call_target(p, unit, e)) != NULL) {
      snprintf(buf, size, "%s()", t->name);
      return 1;
    }
  }
  return 0;
}

void fc_path_name(const fc_unit_t *u, const fc_fn_t *fn, uint32_t path,
                  char *buf, size_t size) {
  const fc_path_t *q = &u->paths.v[fn->path + path];
  const fc_var_t *v = &u->vars.v[fn->var + q->var];
  const char *name = v->name ? v->name : "?";
  if (!q->field)
    snprintf(buf, size, "%s", name);
  else if (!strcmp(q->field, "[]"))
    snprintf(buf, size, "%s[]", name);
  else
    snprintf(buf, size, "%s%s%s", name, v->is_ptr ? "->" : ".", q->field);
}

/* ---- the forward frame-taint dataflow ----------------------------------- */

static void *grow(void *p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return p;
  *cap = need * 2;
  return fc_xrealloc(p, *cap * elem);
}

uint64_t fc_flow_value(const fc_flow_t *f, uint32_t src, uint32_t nsrc) {
  const fc_unit_t *u = f->u;
  const fc_fn_t *fn = f->fn;
  const fc_path_t *paths = u->paths.v + fn->path;
  const fc_var_t *vars = u->vars.v + fn->var;
  uint64_t t = 0;
  for (uint32_t i = 0; i < nsrc; i++) {
    uint32_t s = u->srcs.v[src + i], x = FC_SRC_INDEX(s);
    switch (FC_SRC_KIND(s)) {
    case FC_SRC_VAR:
      for (uint32_t q = vars[x].path; q != FC_NONE; q = paths[q].next)
        t |= f->cur[q];
      break;
    case FC_SRC_PATH:
      t |= f->cur[x];
      /* a field of a struct (not through a pointer): a copy of the whole
       * struct carries it too */
      if (!vars[paths[x].var].is_ptr)
        t |= f->cur[vars[paths[x].var].path];
      break;
    default:
      t |= f->callval[x];
      break;
    }
  }
  return t;
}

void fc_flow_step(const fc_prog_t *p, size_t unit, fc_flow_t *f,
                  const fc_ev_t *e) {
  (void)p, (void)unit;
  const fc_unit_t *u = f->u;
  const fc_fn_t *fn = f->fn;
  switch (e->kind) {
  case FC_EV_ASSIGN: {
    uint64_t t = fc_flow_value(f, e->b, e->n);
    if (e->flags & FC_EVF_STRONG) {
      const fc_path_t *paths = u->paths.v + fn->path;
      if (!paths[e->a].field)
        for (uint32_t q = e->a; q != FC_NONE; q = paths[q].next)
          f->cur[q] = 0;
      f->cur[e->a] = t;
    } else
      f->cur[e->a] |= t;
    break;
  }
  case FC_EV_CALL:
    f->callval[e->c] = f->callbit[e->c];
    break;
  case FC_EV_RET:
    f->ret |= fc_flow_value(f, e->b, e->n);
    break;
  default:
    break;
  }
}

void fc_fixpoint(const fc_unit_t *u, const fc_fn_t *fn, size_t w, uint64_t *in,
                 uint64_t *cur, uint8_t *reached,
                 void (*step)(void *ctx, const fc_ev_t *e), void *ctx) {
  /* The work list: a stack of blocks; reached[b] & 2 means queued. */
  uint32_t *work = fc_xrealloc(NULL, (fn->nbb + 1) * sizeof(uint32_t));
  size_t nwork = 0;
  work[nwork++] = 0;
  reached[0] = 3;
  while (nwork) {
    uint32_t b = work[--nwork];
    reached[b] &= 1;
    const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
    memcpy(cur, in + (size_t)b * w, w * sizeof(uint64_t));
    for (uint32_t i = 0; i < bb->nev; i++)
      step(ctx, &u->evs.v[bb->ev + i]);
    for (uint32_t s = 0; s < bb->nsucc; s++) {
      uint32_t to = u->succs.v[bb->succ + s];
      uint64_t *into = in + (size_t)to * w;
      int changed = !(reached[to] & 1);
      for (size_t q = 0; q < w; q++)
        if ((cur[q] | into[q]) != into[q]) {
          into[q] |= cur[q];
          changed = 1;
        }
      if (changed && !(reached[to] & 2)) {
        reached[to] = 3;
        work[nwork++] = to;
      }
    }
  }
  free(work);
}

typedef struct flow_ctx_s {
  const fc_prog_t *p;
  size_t unit;
  fc_flow_t *f;
} flow_ctx_t;

static void flow_step(void *ctx, const fc_ev_t *e) {
  flow_ctx_t *c = ctx;
  fc_flow_step(c->p, c->unit, c->f, e);
}

int fc_flow_run(const fc_prog_t *p, size_t unit, const fc_fn_t *fn,
                fc_flow_t *f) {
  const fc_unit_t *u = p->units[unit];
  f->u = u;
  f->fn = fn;
  f->nalloc = 0;
  f->ret = 0;
  f->callbit = grow(f->callbit, &f->cap_call, fn->ncall + 1, sizeof(uint64_t));
  f->callval = fc_xrealloc(f->callval, f->cap_call * sizeof(uint64_t));
  f->alloc_ev = fc_xrealloc(f->alloc_ev, 64 * sizeof(uint32_t));
  memset(f->callbit, 0, (fn->ncall + 1) * sizeof(uint64_t));
  memset(f->callval, 0, (fn->ncall + 1) * sizeof(uint64_t));
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (e->kind != FC_EV_CALL)
      continue;
    const fc_gfn_t *g = fc_call_target(p, unit, e);
    if (!g || !(g->flags & (FC_G_FRAME | FC_G_RET_FRAME)))
      continue;
    /* Beyond 64 sites per function, the last bit stands for the rest. */
    uint32_t bit = 63;
    if (f->nalloc < 64) {
      bit = f->nalloc++;
      f->alloc_ev[bit] = fn->ev + i;
    }
    f->callbit[e->c] = (uint64_t)1 << bit;
  }
  if (!f->nalloc)
    return 0;
  size_t np = fn->npath ? fn->npath : 1;
  f->cur = grow(f->cur, &f->cap_path, np, sizeof(uint64_t));
  f->in = grow(f->in, &f->cap_in, (size_t)fn->nbb * np, sizeof(uint64_t));
  size_t capbb = f->cap_bb;
  f->reached = grow(f->reached, &capbb, fn->nbb, 1);
  f->cap_bb = capbb;
  memset(f->in, 0, (size_t)fn->nbb * np * sizeof(uint64_t));
  memset(f->reached, 0, fn->nbb);
  flow_ctx_t ctx = {p, unit, f};
  fc_fixpoint(u, fn, np, f->in, f->cur, f->reached, flow_step, &ctx);
  return 1;
}

void fc_flow_free(fc_flow_t *f) {
  free(f->in);
  free(f->reached);
  free(f->cur);
  free(f->callval);
  free(f->callbit);
  free(f->alloc_ev);
  memset(f, 0, sizeof(*f));
}

/* ---- summaries ---------------------------------------------------------- */

typedef struct def_s {
  uint32_t unit, fn, gid;
  uint8_t has_ret, dirty;
} def_t;

/* Callers of each function (CSR over gids): the edges the summaries
 * propagate along. */
typedef struct callers_s {
  uint32_t *off; /* ng + 1 */
  uint32_t *def; /* caller def indices */
} callers_t;

static void build_callers(const fc_prog_t *p, const def_t *defs, size_t nd,
                          callers_t *c) {
  c->off = fc_xcalloc(p->ng + 2, sizeof(uint32_t));
  size_t total = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (size_t d = 0; d < nd; d++) {
      const fc_unit_t *u = p->units[defs[d].unit];
      const fc_fn_t *fn = &u->fns.v[defs[d].fn];
      for (uint32_t i = 0; i < fn->nev; i++) {
        const fc_ev_t *e = &u->evs.v[fn->ev + i];
        if (e->kind != FC_EV_CALL || e->a == FC_NONE)
          continue;
        uint32_t g = p->gid[defs[d].unit][e->a];
        if (pass == 0)
          c->off[g + 2]++, total++;
        else
          c->def[c->off[g + 1]++] = (uint32_t)d;
      }
    }
    if (pass == 0) {
      for (size_t g = 0; g < p->ng; g++)
        c->off[g + 2] += c->off[g + 1];
      c->def = fc_xrealloc(NULL, (total + 1) * sizeof(uint32_t));
    }
  }
}

/* Functions that may suspend: the reverse closure of the suspension
 * points over the call graph. */
static void may_suspend(fc_prog_t *p, const def_t *defs, const callers_t *c) {
  uint32_t *work = fc_xrealloc(NULL, (p->ng + 1) * sizeof(uint32_t));
  size_t n = 0;
  for (size_t g = 0; g < p->ng; g++)
    if (p->g[g].flags & FC_G_SUSPEND)
      work[n++] = (uint32_t)g;
  while (n) {
    uint32_t g = work[--n];
    for (uint32_t i = c->off[g]; i < c->off[g + 1]; i++) {
      fc_gfn_t *caller = &p->g[defs[c->def[i]].gid];
      if (caller->flags & (FC_G_MAY_SUSPEND | FC_G_SUSPEND))
        continue;
      caller->flags |= FC_G_MAY_SUSPEND;
      work[n++] = defs[c->def[i]].gid;
    }
  }
  free(work);
}

/* Functions that return frame memory, to a fixpoint: a function is looked
 * at again only when one of its callees became a frame source. */
static void returns_frame(fc_prog_t *p, def_t *defs, size_t nd,
                          const callers_t *c, fc_flow_t *f) {
  for (size_t d = 0; d < nd; d++) {
    const fc_unit_t *u = p->units[defs[d].unit];
    const fc_fn_t *fn = &u->fns.v[defs[d].fn];
    for (uint32_t i = 0; i < fn->nev; i++) {
      const fc_ev_t *e = &u->evs.v[fn->ev + i];
      if (e->kind == FC_EV_RET)
        defs[d].has_ret = 1;
      else if (e->kind == FC_EV_CALL && e->a != FC_NONE &&
               (p->g[p->gid[defs[d].unit][e->a]].flags & FC_G_FRAME))
        defs[d].dirty = 1;
    }
  }
  for (int changed = 1; changed;) {
    changed = 0;
    for (size_t d = 0; d < nd; d++) {
      if (!defs[d].dirty)
        continue;
      defs[d].dirty = 0;
      fc_gfn_t *g = &p->g[defs[d].gid];
      if (!defs[d].has_ret || (g->flags & (FC_G_RET_FRAME | FC_G_FRAME)))
        continue;
      const fc_fn_t *fn = &p->units[defs[d].unit]->fns.v[defs[d].fn];
      if (!fc_flow_run(p, defs[d].unit, fn, f) || !f->ret)
        continue;
      g->flags |= FC_G_RET_FRAME;
      changed = 1;
      for (uint32_t i = c->off[defs[d].gid]; i < c->off[defs[d].gid + 1]; i++)
        defs[c->def[i]].dirty = 1;
    }
  }
}

/* Async contexts by use: functions passed to spawners and libuv. */
static void passed_callbacks(fc_prog_t *p) {
  for (size_t ui = 0; ui < p->nunits; ui++) {
    const fc_unit_t *u = p->units[ui];
    for (size_t i = 0; i < u->evs.n; i++) {
      const fc_ev_t *e = &u->evs.v[i];
      if (e->kind != FC_EV_CALL || e->a == FC_NONE)
        continue;
      const fc_gfn_t *callee = &p->g[p->gid[ui][e->a]];
      if (!(callee->flags & FC_G_CALLBACKS))
        continue;
      for (uint32_t k = 0; k < e->n; k++) {
        const fc_arg_t *a = &u->args.v[e->b + k];
        if (a->fnref != FC_NONE)
          set_async(&p->g[p->gid[ui][a->fnref]], FC_WHY_PASSED, a->loc,
                    callee->name);
      }
    }
  }
}

void fc_analyze(fc_unit_t *const *units, size_t n, const fc_config_t *cfg,
                unsigned families, fc_diag_list_t *out) {
  fc_prog_t p;
  memset(&p, 0, sizeof(p));
  p.units = units;
  p.nunits = n;
  p.cfg = cfg;
  p.gid = fc_xrealloc(NULL, (n + 1) * sizeof(*p.gid));
  table_t t = {NULL, 0};
  size_t nd = 0;
  for (size_t ui = 0; ui < n; ui++) {
    const fc_unit_t *u = units[ui];
    p.gid[ui] = fc_xrealloc(NULL, (u->refs.n + 1) * sizeof(uint32_t));
    for (size_t r = 0; r < u->refs.n; r++) {
      const fc_ref_t *ref = &u->refs.v[r];
      uint32_t g = table_gid(&p, &t, ref);
      p.gid[ui][r] = g;
      if (ref->flags & FC_REF_ASYNC_ATTR)
        set_async(&p.g[g], FC_WHY_ATTR, ref->attr_loc, NULL);
      if (ref->flags & FC_REF_SUSPENDS_ATTR)
        p.g[g].flags |= FC_G_SUSPEND;
      if (ref->flags & FC_REF_BEGINS_ATTR)
        p.g[g].flags |= FC_G_BEGIN;
      if (ref->flags & FC_REF_ENDS_ATTR)
        p.g[g].flags |= FC_G_END;
      if (ref->flags & FC_REF_FRAME)
        p.g[g].flags |= FC_G_FRAME;
      /* the object of a call to it (its first kept argument) reaches the
       * task: frame data there is FA703 */
      if ((ref->flags & FC_REF_SPAWNS_THIS) && !p.g[g].ctx_arg)
        p.g[g].ctx_arg = 1;
      if (ref->flags & FC_REF_COROUTINE)
        set_async(&p.g[g], FC_WHY_COROUTINE, ref->attr_loc, NULL);
    }
    nd += u->fns.n;
  }
  def_t *defs = fc_xrealloc(NULL, (nd + 1) * sizeof(*defs));
  nd = 0;
  for (size_t ui = 0; ui < n; ui++)
    for (size_t i = 0; i < units[ui]->fns.n; i++) {
      const fc_fn_t *fn = &units[ui]->fns.v[i];
      uint32_t g = p.gid[ui][fn->ref];
      if (!p.g[g].def_loc.file || loc_before(fn->loc, p.g[g].def_loc))
        p.g[g].def_loc = fn->loc;
      defs[nd++] = (def_t){(uint32_t)ui, (uint32_t)i, g, 0, 0};
    }
  for (size_t g = 0; g < p.ng; g++)
    classify(&p.g[g], cfg);
  passed_callbacks(&p);
  callers_t callers = {NULL, NULL};
  build_callers(&p, defs, nd, &callers);
  may_suspend(&p, defs, &callers);
  fc_flow_t flow;
  memset(&flow, 0, sizeof(flow));
  returns_frame(&p, defs, nd, &callers, &flow);
  if (families & FC_FAMILY_ASYNC)
    fc_rule_async(&p, &flow, out);
  if (families & FC_FAMILY_LIFETIME) {
    fc_frame_helpers(&p);
    fc_rule_lifetime(&p, out);
  }
  fc_flow_free(&flow);
  free(callers.off);
  free(callers.def);
  free(defs);
  free(t.slot);
  for (size_t ui = 0; ui < n; ui++)
    free(p.gid[ui]);
  free(p.gid);
  free(p.g);
}
