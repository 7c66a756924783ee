/* The lifetime rules:
 *   FA601 a frame pointer stored where it outlives the frame (a global or
 *         static, memory from a pool, the heap, a task or malloc, or an
 *         object reached through a pointer parameter);
 *   FA603 fa_begin_frame / fa_end_frame unbalanced on some path;
 *   FA604 a frame pointer used after fa_end_frame on its allocator.
 * And the summary they share with callers: frame helpers, functions whose
 * every path begins (or ends) one frame more than it ends (begins).
 *
 * Frames are told apart by the allocator argument of each call: its text
 * when it is a variable or a field (`a`, `app->alloc`), else unknown,
 * which matches every allocator. FA603 counts the open frames of each
 * allocator along every path (a small set of depths per block); FA604 and
 * FA601 run a forward dataflow in which each access path holds the frame
 * allocations it may point to, split into live ones and ended ones. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

/* ---- frame calls ----------------------------------------------------- */

/* +1 for a call that begins a frame, -1 for one that ends a frame, else 0
 * (a function marked both ways is neither). */
static int frame_role(const fc_prog_t *p, size_t ui, const fc_ev_t *e) {
  if (e->kind != FC_EV_CALL)
    return 0;
  const fc_gfn_t *t = fc_call_target(p, ui, e);
  if (!t)
    return 0;
  int b = (t->flags & FC_G_BEGINNING) != 0, d = (t->flags & FC_G_ENDING) != 0;
  return b && !d ? 1 : d && !b ? -1 : 0;
}

static const char *key_name(const fc_unit_t *u, uint32_t key) {
  return key == FC_NONE ? "?" : u->keys.v[key];
}

/* A frame call for messages: "fa_end_frame(a)", or the callee's name
 * alone when its allocator is unknown. */
static const char *call_text(const fc_prog_t *p, size_t ui, const fc_ev_t *e,
                             char *buf, size_t size) {
  const fc_gfn_t *t = fc_call_target(p, ui, e);
  const char *name = t && t->name ? t->name : "?";
  if (e->key == FC_NONE)
    snprintf(buf, size, "%s", name);
  else
    snprintf(buf, size, "%s(%s)", name, key_name(p->units[ui], e->key));
  return buf;
}

/* ---- open-frame depths: a set of depths -3..+4 as bits ---------------- */

#define DEPTH_ZERO 3u
#define DEPTH_BIT(d) ((uint8_t)(1u << (DEPTH_ZERO + (d))))

static uint8_t depth_shift(uint8_t m, int role) {
  if (role > 0)
    return (uint8_t)((m << 1) | (m & 0x80u));
  return (uint8_t)((m >> 1) | (m & 0x01u));
}

/* The frame calls of one function, grouped by allocator. */
#define MAX_GROUPS 8
typedef struct groups_s {
  uint32_t key[MAX_GROUPS];
  unsigned n;
  int merged; /* one group for every allocator */
} groups_t;

static unsigned group_of(const groups_t *g, uint32_t key) {
  if (g->merged)
    return 0;
  for (unsigned i = 0; i < g->n; i++)
    if (g->key[i] == key)
      return i;
  return 0;
}

/* Fills `g` from the frame calls of fn; returns their number. An unknown
 * allocator, or too many, puts every call in one group. */
static unsigned groups_find(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                            int merged, groups_t *g) {
  const fc_unit_t *u = p->units[ui];
  unsigned calls = 0;
  memset(g, 0, sizeof(*g));
  g->merged = merged;
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (!frame_role(p, ui, e))
      continue;
    calls++;
    if (g->merged)
      continue;
    if (e->key == FC_NONE || g->n == MAX_GROUPS) {
      g->merged = 1;
      continue;
    }
    unsigned k = 0;
    while (k < g->n && g->key[k] != e->key)
      k++;
    if (k == g->n)
      g->key[g->n++] = e->key;
  }
  if (g->merged)
    g->n = 1;
  return calls;
}

typedef struct depths_s {
  uint8_t *in; /* nbb * MAX_GROUPS: depths at block entry, 0: unreached */
  size_t cap;
  uint32_t *work;
  size_t capw;
} depths_t;

static void depths_step(const fc_prog_t *p, size_t ui, const groups_t *g,
                        const fc_ev_t *e, uint8_t *m) {
  int role = frame_role(p, ui, e);
  if (role) {
    unsigned k = group_of(g, e->key);
    m[k] = depth_shift(m[k], role);
  }
}

/* The depths of every group at every block entry, to a fixpoint. */
static void depths_run(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                       const groups_t *g, depths_t *s) {
  const fc_unit_t *u = p->units[ui];
  size_t need = (size_t)fn->nbb * MAX_GROUPS;
  if (s->cap < need) {
    s->cap = need * 2;
    s->in = fc_xrealloc(s->in, s->cap);
  }
  if (s->capw < (size_t)fn->nbb + 1) {
    s->capw = ((size_t)fn->nbb + 1) * 2;
    s->work = fc_xrealloc(s->work, s->capw * sizeof(uint32_t));
  }
  memset(s->in, 0, need);
  uint8_t *queued = fc_xcalloc(fn->nbb + 1, 1);
  size_t nwork = 0;
  for (unsigned k = 0; k < g->n; k++)
    s->in[k] = DEPTH_BIT(0);
  s->work[nwork++] = 0;
  queued[0] = 1;
  while (nwork) {
    uint32_t b = s->work[--nwork];
    queued[b] = 0;
    uint8_t m[MAX_GROUPS];
    memcpy(m, s->in + (size_t)b * MAX_GROUPS, MAX_GROUPS);
    const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
    for (uint32_t i = 0; i < bb->nev; i++)
      depths_step(p, ui, g, &u->evs.v[bb->ev + i], m);
    for (uint32_t k = 0; k < bb->nsucc; k++) {
      uint32_t to = u->succs.v[bb->succ + k];
      uint8_t *in = s->in + (size_t)to * MAX_GROUPS;
      int changed = 0;
      for (unsigned j = 0; j < g->n; j++)
        if ((in[j] | m[j]) != in[j]) {
          in[j] |= m[j];
          changed = 1;
        }
      if (changed && !queued[to]) {
        queued[to] = 1;
        s->work[nwork++] = to;
      }
    }
  }
  free(queued);
}

static void depths_free(depths_t *s) {
  free(s->in);
  free(s->work);
}

/* ---- the frame-helper summaries --------------------------------------- */

void fc_frame_helpers(fc_prog_t *p) {
  depths_t s;
  memset(&s, 0, sizeof(s));
  /* A helper may call helpers: repeat until nothing changes (bounded, in
   * case helpers depend on each other in a cycle). */
  for (int round = 0, changed = 1; changed && round < 16; round++) {
    changed = 0;
    for (size_t ui = 0; ui < p->nunits; ui++) {
      const fc_unit_t *u = p->units[ui];
      for (size_t fi = 0; fi < u->fns.n; fi++) {
        const fc_fn_t *fn = &u->fns.v[fi];
        fc_gfn_t *g = &p->g[p->gid[ui][fn->ref]];
        if (g->flags & (FC_G_BEGIN | FC_G_END))
          continue; /* marked or configured: the mark decides */
        groups_t gr;
        unsigned want = 0;
        if (groups_find(p, ui, fn, 1, &gr)) {
          depths_run(p, ui, fn, &gr, &s);
          uint8_t exit = s.in[1 * MAX_GROUPS];
          want = exit == DEPTH_BIT(1)    ? FC_G_BEGINS
                 : exit == DEPTH_BIT(-1) ? FC_G_ENDS
                                         : 0;
        }
        if ((g->flags & (FC_G_BEGINS | FC_G_ENDS)) != want) {
          g->flags = (g->flags & ~(unsigned)(FC_G_BEGINS | FC_G_ENDS)) | want;
          changed = 1;
        }
      }
    }
  }
  depths_free(&s);
}

/* ---- FA603 ------------------------------------------------------------- */

typedef struct bfs_s {
  uint32_t *from; /* by state (block * 5 + depth): previous state + 1 */
  uint32_t *queue;
  size_t cap;
} bfs_t;

#define NREL 5 /* open frames 0..4 along a path; 4 stands for more */

/* Of two jumps on a path, the one a note names: the first, except that a
 * break out of a switch gives way to any other (it rarely leaves a
 * frame). Called from the end of the path backwards. */
static const fc_ev_t *better_jump(const fc_ev_t *j, const fc_ev_t *first) {
  if (!j)
    return first;
  if (first && j->a == FC_JUMP_BREAK && j->b &&
      !(first->a == FC_JUMP_BREAK && first->b))
    return first;
  return j;
}

static const fc_ev_t *block_jump(const fc_unit_t *u, const fc_fn_t *fn,
                                 uint32_t b) {
  const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
  for (uint32_t i = 0; i < bb->nev; i++)
    if (u->evs.v[bb->ev + i].kind == FC_EV_JUMP)
      return &u->evs.v[bb->ev + i];
  return NULL;
}

/* Open frames after the events of block b from `from`, for group k:
 * -1 once they reach zero (the frame is closed on this path). */
static int rel_after(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                     const groups_t *g, unsigned k, uint32_t b, uint32_t from,
                     int rel) {
  const fc_unit_t *u = p->units[ui];
  const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
  for (uint32_t i = from; i < bb->nev; i++) {
    const fc_ev_t *e = &u->evs.v[bb->ev + i];
    int role = frame_role(p, ui, e);
    if (!role || group_of(g, e->key) != k)
      continue;
    rel += role;
    if (rel <= 0)
      return -1;
    if (rel >= NREL)
      rel = NREL - 1;
  }
  return rel;
}

/* From the begin at event `i` of block b: a path to the end of the
 * function on which the frame stays open. Returns the first jump on it
 * (a return, break, goto, or the end of the body), or NULL if none. */
static const fc_ev_t *open_path(const fc_prog_t *p, size_t ui,
                                const fc_fn_t *fn, const groups_t *g,
                                unsigned k, uint32_t b, uint32_t i, bfs_t *s) {
  const fc_unit_t *u = p->units[ui];
  size_t nstate = (size_t)fn->nbb * NREL;
  if (s->cap < nstate + 1) {
    s->cap = (nstate + 1) * 2;
    s->from = fc_xrealloc(s->from, s->cap * sizeof(uint32_t));
    s->queue = fc_xrealloc(s->queue, s->cap * sizeof(uint32_t));
  }
  memset(s->from, 0, nstate * sizeof(uint32_t));
  int rel = rel_after(p, ui, fn, g, k, b, i + 1, 1);
  if (rel < 0)
    return NULL;
  uint32_t start = b * NREL + (uint32_t)rel;
  size_t head = 0, tail = 0;
  s->from[start] = start + 1;
  s->queue[tail++] = start;
  while (head < tail) {
    uint32_t st = s->queue[head++], blk = st / NREL;
    int r = (int)(st % NREL);
    if (blk == 1) { /* the exit, with a frame open: walk back */
      const fc_ev_t *first = NULL;
      for (uint32_t x = st;; x = s->from[x] - 1) {
        first = better_jump(block_jump(u, fn, x / NREL), first);
        if (x == start)
          break;
      }
      return first;
    }
    const fc_bb_t *bb = &u->bbs.v[fn->bb + blk];
    for (uint32_t e = 0; e < bb->nsucc; e++) {
      uint32_t to = u->succs.v[bb->succ + e];
      int r2 = rel_after(p, ui, fn, g, k, to, 0, r);
      if (r2 < 0)
        continue;
      uint32_t st2 = to * NREL + (uint32_t)r2;
      if (!s->from[st2]) {
        s->from[st2] = st + 1;
        s->queue[tail++] = st2;
      }
    }
  }
  return NULL;
}

static const char *jump_word(uint32_t what) {
  switch (what) {
  case FC_JUMP_BREAK:
    return "this break leaves the loop";
  case FC_JUMP_CONTINUE:
    return "this continue starts the next iteration";
  default:
    return "this goto jumps";
  }
}

/* A path from the entry to the exit that meets no frame call of group k:
 * its first jump, or the end of the body. */
static const fc_ev_t *bare_path(const fc_prog_t *p, size_t ui,
                                const fc_fn_t *fn, const groups_t *g,
                                unsigned k, bfs_t *s) {
  const fc_unit_t *u = p->units[ui];
  size_t nstate = (size_t)fn->nbb * NREL;
  if (s->cap < nstate + 1) {
    s->cap = (nstate + 1) * 2;
    s->from = fc_xrealloc(s->from, s->cap * sizeof(uint32_t));
    s->queue = fc_xrealloc(s->queue, s->cap * sizeof(uint32_t));
  }
  memset(s->from, 0, fn->nbb * sizeof(uint32_t));
  size_t head = 0, tail = 0;
  s->from[0] = 1;
  s->queue[tail++] = 0;
  while (head < tail) {
    uint32_t blk = s->queue[head++];
    if (rel_after(p, ui, fn, g, k, blk, 0, 2) != 2)
      continue; /* a frame call of the group */
    if (blk == 1) {
      const fc_ev_t *first = NULL;
      for (uint32_t x = blk;; x = s->from[x] - 1) {
        first = better_jump(block_jump(u, fn, x), first);
        if (x == 0)
          break;
      }
      return first;
    }
    const fc_bb_t *bb = &u->bbs.v[fn->bb + blk];
    for (uint32_t e = 0; e < bb->nsucc; e++) {
      uint32_t to = u->succs.v[bb->succ + e];
      if (!s->from[to]) {
        s->from[to] = blk + 1;
        s->queue[tail++] = to;
      }
    }
  }
  return NULL;
}

static void note_jump(fc_diag_t *d, const fc_ev_t *j, const char *fname,
                      const char *what) {
  if (!j)
    return;
  if (j->a == FC_JUMP_END) {
    fc_diag_note(d, j->loc, "'%s' ends here %s", fname, what);
    return;
  }
  if (j->a == FC_JUMP_RETURN)
    fc_diag_note(d, j->loc, "this return leaves '%s' %s", fname, what);
  else
    fc_diag_note(d, j->loc, "%s %s", jump_word(j->a), what);
}

/* FA603 for group k of fn, whose depths at the exit are `exit`. */
static void report_603(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                       const fc_gfn_t *gf, const groups_t *g, unsigned k,
                       uint8_t exit, depths_t *ds, bfs_t *s,
                       fc_diag_list_t *out) {
  const fc_unit_t *u = p->units[ui];
  const char *fname = gf->name ? gf->name : "?";
  const fc_ev_t *first_begin = NULL;
  char call[300];
  if (exit & (uint8_t) ~(DEPTH_BIT(0) | DEPTH_BIT(-1) | DEPTH_BIT(-2) |
                         DEPTH_BIT(-3))) {
    /* A frame left open: the first begin with a path that keeps it (else
     * the first begin, without a note). */
    const fc_ev_t *j = NULL;
    for (uint32_t b = 0; b < fn->nbb && !j; b++) {
      if (!ds->in[(size_t)b * MAX_GROUPS + k])
        continue;
      const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
      for (uint32_t i = 0; i < bb->nev && !j; i++) {
        const fc_ev_t *e = &u->evs.v[bb->ev + i];
        if (frame_role(p, ui, e) <= 0 || group_of(g, e->key) != k)
          continue;
        j = open_path(p, ui, fn, g, k, b, i, s);
        if (!first_begin || j)
          first_begin = e;
      }
    }
    if (first_begin) {
      fc_diag_t *d =
          fc_diag_add(out, 603, first_begin->loc,
                      "frame begun by %s is not ended on every path of '%s'",
                      call_text(p, ui, first_begin, call, sizeof(call)), fname);
      note_jump(d, j, fname, "with the frame still open");
    }
    return;
  }
  /* Ends that do not match a begin on every path: the first end that may
   * run with no frame of its own open. */
  for (uint32_t b = 0; b < fn->nbb; b++) {
    uint8_t m[MAX_GROUPS];
    memcpy(m, ds->in + (size_t)b * MAX_GROUPS, MAX_GROUPS);
    if (!m[k])
      continue;
    const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
    for (uint32_t i = 0; i < bb->nev; i++) {
      const fc_ev_t *e = &u->evs.v[bb->ev + i];
      int role = frame_role(p, ui, e);
      if (role > 0 && group_of(g, e->key) == k && !first_begin)
        first_begin = e;
      if (role < 0 && group_of(g, e->key) == k &&
          (m[k] &
           (DEPTH_BIT(0) | DEPTH_BIT(-1) | DEPTH_BIT(-2) | DEPTH_BIT(-3)))) {
        fc_diag_t *d;
        call_text(p, ui, e, call, sizeof(call));
        if (!first_begin) {
          for (uint32_t x = 0; x < fn->nev && !first_begin; x++) {
            const fc_ev_t *y = &u->evs.v[fn->ev + x];
            if (frame_role(p, ui, y) > 0 && group_of(g, y->key) == k)
              first_begin = y;
          }
        }
        if (first_begin) {
          d = fc_diag_add(
              out, 603, e->loc,
              "frame ended by %s is not begun on every path of '%s'", call,
              fname);
          fc_diag_note(d, first_begin->loc,
                       "the frame begun here is skipped on some path to the "
                       "end");
        } else {
          d = fc_diag_add(out, 603, e->loc,
                          "frame ended by %s on some paths of '%s' but "
                          "not on others",
                          call, fname);
          note_jump(d, bare_path(p, ui, fn, g, k, s), fname,
                    "without ending the frame");
        }
        return;
      }
      depths_step(p, ui, g, e, m);
    }
  }
}

static void rule_603(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                     depths_t *ds, bfs_t *s, fc_diag_list_t *out) {
  const fc_gfn_t *gf = &p->g[p->gid[ui][fn->ref]];
  if (gf->flags & (FC_G_BEGIN | FC_G_END))
    return; /* a marked helper: unbalanced on purpose */
  groups_t g;
  if (!groups_find(p, ui, fn, 0, &g))
    return;
  depths_run(p, ui, fn, &g, ds);
  for (unsigned k = 0; k < g.n; k++) {
    uint8_t exit = ds->in[1 * MAX_GROUPS + k];
    if (!exit || exit == DEPTH_BIT(0) || exit == DEPTH_BIT(1) ||
        exit == DEPTH_BIT(-1))
      continue; /* balanced, unreachable, or a helper's one-way frame */
    report_603(p, ui, fn, gf, &g, k, exit, ds, s, out);
  }
}

/* ---- the live/ended frame dataflow (FA604, FA601) --------------------- */

/* Per access path: the allocations it may hold whose frame is live, those
 * whose frame has ended, and whether it was assigned (on some path) since
 * its last frame ended: an array element path is then taken as refilled. */
#define LW 3

typedef struct lflow_s {
  const fc_unit_t *u;
  const fc_fn_t *fn;
  uint64_t *in;        /* nbb * npath * LW: the state at block entry */
  uint8_t *reached;    /* nbb */
  uint64_t *cur;       /* npath * LW */
  uint64_t *call;      /* ncall: the allocation bit a call makes */
  uint64_t *callval;   /* ncall * 2 */
  uint32_t *alloc_ev;  /* bit -> its CALL event (unit index) */
  uint32_t *alloc_key; /* bit -> its allocator key */
  uint32_t nalloc;
} lflow_t;

/* The allocation bits a frame end on `key` ends. */
static uint64_t ended_by(const lflow_t *f, uint32_t key) {
  uint64_t m = 0;
  for (uint32_t b = 0; b < f->nalloc; b++)
    if (key == FC_NONE || f->alloc_key[b] == FC_NONE || f->alloc_key[b] == key)
      m |= (uint64_t)1 << b;
  return m;
}

/* The ended bits path q holds: none for the elements of an array assigned
 * on some path since their frame ended (refilled in a loop whose trip
 * count the analysis does not know). */
static uint64_t ended_at(const lflow_t *f, uint32_t q) {
  const fc_path_t *path = &f->u->paths.v[f->fn->path + q];
  if (f->cur[LW * q + 2] && path->field && !strcmp(path->field, "[]"))
    return 0;
  return f->cur[LW * q + 1];
}

/* The (live, ended) bits of a value. With `direct`, a pointer variable
 * stands for itself, not for what its fields hold (a struct variable
 * always carries its fields). */
static void lvalue(const lflow_t *f, uint32_t src, uint32_t nsrc, int direct,
                   uint64_t v[2]) {
  const fc_unit_t *u = f->u;
  const fc_path_t *paths = u->paths.v + f->fn->path;
  const fc_var_t *vars = u->vars.v + f->fn->var;
  v[0] = v[1] = 0;
  for (uint32_t i = 0; i < nsrc; i++) {
    uint32_t s = u->srcs.v[src + i], x = FC_SRC_INDEX(s);
    switch (FC_SRC_KIND(s)) {
    case FC_SRC_VAR:
      for (uint32_t q = vars[x].path; q != FC_NONE; q = paths[q].next) {
        v[0] |= f->cur[LW * q];
        v[1] |= ended_at(f, q);
        if (direct && vars[x].is_ptr)
          break;
      }
      break;
    case FC_SRC_PATH: {
      uint32_t base = vars[paths[x].var].path;
      v[0] |= f->cur[LW * x];
      v[1] |= ended_at(f, x);
      if (!vars[paths[x].var].is_ptr) {
        v[0] |= f->cur[LW * base];
        v[1] |= ended_at(f, base);
      }
      break;
    }
    default:
      v[0] |= f->callval[2 * x];
      v[1] |= f->callval[2 * x + 1];
      break;
    }
  }
}

static void lstep(const fc_prog_t *p, size_t ui, lflow_t *f, const fc_ev_t *e) {
  const fc_unit_t *u = f->u;
  const fc_fn_t *fn = f->fn;
  switch (e->kind) {
  case FC_EV_ASSIGN: {
    uint64_t v[2];
    lvalue(f, e->b, e->n, 0, v);
    if (e->flags & FC_EVF_STRONG) {
      const fc_path_t *paths = u->paths.v + fn->path;
      if (!paths[e->a].field)
        for (uint32_t q = e->a; q != FC_NONE; q = paths[q].next)
          f->cur[LW * q] = f->cur[LW * q + 1] = f->cur[LW * q + 2] = 0;
      f->cur[LW * e->a] = v[0];
      f->cur[LW * e->a + 1] = v[1];
    } else {
      f->cur[LW * e->a] |= v[0];
      f->cur[LW * e->a + 1] |= v[1];
    }
    f->cur[LW * e->a + 2] = 1;
    break;
  }
  case FC_EV_CALL:
    f->callval[2 * e->c] = f->call[e->c];
    f->callval[2 * e->c + 1] = 0;
    if (frame_role(p, ui, e) < 0) {
      uint64_t m = ended_by(f, e->key);
      for (uint32_t q = 0; q < fn->npath; q++) {
        if (f->cur[LW * q] & m)
          f->cur[LW * q + 2] = 0; /* stale again */
        f->cur[LW * q + 1] |= f->cur[LW * q] & m;
        f->cur[LW * q] &= ~m;
      }
      for (uint32_t c = 0; c < fn->ncall; c++) {
        f->callval[2 * c + 1] |= f->callval[2 * c] & m;
        f->callval[2 * c] &= ~m;
      }
    }
    break;
  default:
    break;
  }
}

typedef struct lctx_s {
  const fc_prog_t *p;
  size_t ui;
  lflow_t *f;
} lctx_t;

static void lflow_step(void *ctx, const fc_ev_t *e) {
  lctx_t *c = ctx;
  lstep(c->p, c->ui, c->f, e);
}

/* Runs the dataflow of fn to its fixpoint; 0 when fn makes no frame
 * allocation (nothing to follow). */
static int lflow_run(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                     lflow_t *f) {
  const fc_unit_t *u = p->units[ui];
  f->u = u;
  f->fn = fn;
  f->nalloc = 0;
  free(f->call);
  f->call = fc_xcalloc(fn->ncall + 1, sizeof(uint64_t));
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (e->kind != FC_EV_CALL)
      continue;
    const fc_gfn_t *g = fc_call_target(p, ui, e);
    if (!g || !(g->flags & (FC_G_FRAME | FC_G_RET_FRAME)))
      continue;
    uint32_t bit = 63; /* beyond 64 sites, the last bit stands for the rest */
    if (f->nalloc < 64) {
      bit = f->nalloc++;
      f->alloc_ev[bit] = fn->ev + i;
      f->alloc_key[bit] = e->key;
    } else if (f->alloc_key[63] != e->key)
      f->alloc_key[63] = FC_NONE;
    f->call[e->c] = (uint64_t)1 << bit;
  }
  if (!f->nalloc)
    return 0;
  size_t np = fn->npath ? fn->npath : 1, w = LW * np;
  free(f->in);
  free(f->cur);
  free(f->callval);
  free(f->reached);
  f->in = fc_xcalloc((size_t)fn->nbb * w, sizeof(uint64_t));
  f->cur = fc_xcalloc(w, sizeof(uint64_t));
  f->callval = fc_xcalloc(2 * ((size_t)fn->ncall + 1), sizeof(uint64_t));
  f->reached = fc_xcalloc(fn->nbb + 1, 1);
  lctx_t ctx = {p, ui, f};
  fc_fixpoint(u, fn, w, f->in, f->cur, f->reached, lflow_step, &ctx);
  return 1;
}

static void lflow_free(lflow_t *f) {
  free(f->in);
  free(f->reached);
  free(f->cur);
  free(f->call);
  free(f->callval);
  free(f->alloc_ev);
  free(f->alloc_key);
}

static void note_allocs(const lflow_t *f, fc_diag_t *d, uint64_t bits) {
  for (uint32_t b = 0; b < f->nalloc; b++)
    if (bits & ((uint64_t)1 << b))
      fc_diag_note(d, f->u->evs.v[f->alloc_ev[b]].loc,
                   "allocated in frame memory here");
}

/* ---- FA604 --------------------------------------------------------------- */

/* The ended bits a USE reads: a read of `p->f` dereferences p too; a read
 * of a whole struct reads its fields. */
static uint64_t used_ended(const lflow_t *f, const fc_ev_t *e) {
  const fc_path_t *paths = f->u->paths.v + f->fn->path;
  const fc_var_t *vars = f->u->vars.v + f->fn->var;
  uint64_t t = 0;
  if (e->flags & FC_EVF_WHOLE) {
    for (uint32_t q = vars[e->a].path; q != FC_NONE; q = paths[q].next) {
      t |= ended_at(f, q);
      if (vars[e->a].is_ptr)
        break; /* the pointer itself, not what its fields hold */
    }
    return t;
  }
  return ended_at(f, e->a) | ended_at(f, vars[paths[e->a].var].path);
}

/* The frame ends that end bit b: a note at each, in event order. Ends
 * between the first allocation and the use are named first (two at most);
 * then, when there are none, the first end after the use (a loop's back edge
 * brings it round to the use); then any. */
static void note_ends(const fc_prog_t *p, size_t ui, const lflow_t *f,
                      fc_diag_t *d, uint64_t bits, const fc_ev_t *use) {
  const fc_unit_t *u = f->u;
  uint32_t at = (uint32_t)(use - &u->evs.v[f->fn->ev]), first = at;
  for (uint32_t b = 0; b < f->nalloc; b++)
    if ((bits & ((uint64_t)1 << b)) && f->alloc_ev[b] - f->fn->ev < first)
      first = f->alloc_ev[b] - f->fn->ev;
  const uint32_t from[3] = {first + 1, at + 1, 0};
  const uint32_t to[3] = {at, f->fn->nev, f->fn->nev};
  unsigned shown = 0;
  for (int pass = 0; pass < 3 && shown == 0; pass++) {
    for (uint32_t i = from[pass]; i < to[pass] && shown < 2 - (pass > 0); i++) {
      const fc_ev_t *e = &u->evs.v[f->fn->ev + i];
      if (frame_role(p, ui, e) >= 0 || !(ended_by(f, e->key) & bits))
        continue;
      char call[300];
      const fc_gfn_t *t = fc_call_target(p, ui, e);
      if (t && t->name && !strcmp(t->name, "~fa::frame_scope"))
        fc_diag_note(d, e->loc,
                     "the frame ends at this closing brace "
                     "(the fa::frame_scope of %s)",
                     key_name(u, e->key));
      else
        fc_diag_note(d, e->loc, "the frame ends here (%s)",
                     call_text(p, ui, e, call, sizeof(call)));
      shown++;
    }
  }
}

static void check_604(const fc_prog_t *p, size_t ui, const lflow_t *f,
                      const fc_ev_t *e, uint64_t *reported,
                      fc_diag_list_t *out) {
  uint64_t bits = used_ended(f, e);
  const fc_path_t *paths = f->u->paths.v + f->fn->path;
  uint32_t var = (e->flags & FC_EVF_WHOLE) ? e->a : paths[e->a].var;
  if (!(bits & ~reported[var]))
    return;
  reported[var] |= bits;
  char name[256];
  fc_path_name(f->u, f->fn,
               (e->flags & FC_EVF_WHOLE) ? f->u->vars.v[f->fn->var + var].path
                                         : e->a,
               name, sizeof(name));
  fc_diag_t *d =
      fc_diag_add(out, 604, e->loc,
                  "frame pointer '%s' is used after its frame ended", name);
  note_allocs(f, d, bits);
  note_ends(p, ui, f, d, bits, e);
}

/* ---- FA601 --------------------------------------------------------------- */

/* Per variable of fn: 1 when it holds a block of memory that outlives
 * frames (and never frame memory); `from` names the allocator. */
static void long_lived_vars(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                            uint8_t *is_long, const char **from) {
  const fc_unit_t *u = p->units[ui];
  const fc_path_t *paths = u->paths.v + fn->path;
  const fc_gfn_t **callee = fc_xcalloc(fn->ncall + 1, sizeof(*callee));
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (e->kind == FC_EV_CALL && e->c < fn->ncall)
      callee[e->c] = fc_call_target(p, ui, e);
  }
  for (uint32_t i = 0; i < fn->nev; i++) {
    const fc_ev_t *e = &u->evs.v[fn->ev + i];
    if (e->kind != FC_EV_ASSIGN || paths[e->a].field)
      continue;
    uint32_t v = paths[e->a].var;
    for (uint32_t k = 0; k < e->n; k++) {
      uint32_t s = u->srcs.v[e->b + k];
      if (FC_SRC_KIND(s) != FC_SRC_CALL || FC_SRC_INDEX(s) >= fn->ncall)
        continue;
      const fc_gfn_t *t = callee[FC_SRC_INDEX(s)];
      if (t && (t->flags & FC_G_LONG) && is_long[v] != 2) {
        is_long[v] = 1;
        from[v] = t->name;
      } else if (t && (t->flags & (FC_G_FRAME | FC_G_RET_FRAME)))
        is_long[v] = 2;
    }
  }
  free(callee);
}

static void value_name(const fc_prog_t *p, size_t ui, const lflow_t *f,
                       uint32_t src, uint32_t nsrc, char *buf, size_t size) {
  const fc_unit_t *u = f->u;
  const fc_path_t *paths = u->paths.v + f->fn->path;
  const fc_var_t *vars = u->vars.v + f->fn->var;
  for (uint32_t i = 0; i < nsrc; i++) {
    uint32_t s = u->srcs.v[src + i], x = FC_SRC_INDEX(s);
    if (FC_SRC_KIND(s) == FC_SRC_VAR) {
      for (uint32_t q = vars[x].path; q != FC_NONE; q = paths[q].next)
        if (f->cur[LW * q] | f->cur[LW * q + 1]) {
          fc_path_name(u, f->fn, q, buf, size);
          return;
        }
    } else if (FC_SRC_KIND(s) == FC_SRC_PATH) {
      uint32_t q =
          (f->cur[LW * x] | f->cur[LW * x + 1]) ? x : vars[paths[x].var].path;
      if (f->cur[LW * q] | f->cur[LW * q + 1]) {
        fc_path_name(u, f->fn, q, buf, size);
        return;
      }
    } else if ((f->callval[2 * x] | f->callval[2 * x + 1]) &&
               fc_call_label(p, ui, f->fn, x, buf, size)) {
      return;
    }
  }
  snprintf(buf, size, "?");
}

static void check_601(const fc_prog_t *p, size_t ui, const lflow_t *f,
                      const fc_ev_t *e, const uint8_t *is_long,
                      const char *const *from, fc_diag_list_t *out) {
  const fc_unit_t *u = f->u;
  char where[300], dest[256], what[256];
  if (e->kind == FC_EV_STORE) {
    const char *k = key_name(u, e->key);
    if (!strncmp(k, "this->", 6))
      snprintf(where, sizeof(where), "member '%s' of the object", k);
    else
      snprintf(where, sizeof(where), "global '%s'", k);
  } else {
    const fc_path_t *q = &u->paths.v[f->fn->path + e->a];
    const fc_var_t *v = &u->vars.v[f->fn->var + q->var];
    fc_path_name(u, f->fn, e->a, dest, sizeof(dest));
    if (v->storage == FC_VAR_STATIC)
      snprintf(where, sizeof(where), "static '%s'", dest);
    else if (!q->field || !v->is_ptr)
      return; /* a local object */
    else if (v->storage == FC_VAR_PARAM && !(e->flags & FC_EVF_VEC))
      snprintf(where, sizeof(where), "'%s', reached through parameter '%s'",
               dest, v->name);
    else if (is_long[q->var] == 1 && v->storage != FC_VAR_PARAM)
      snprintf(where, sizeof(where), "'%s', in memory from %s", dest,
               from[q->var]);
    else
      return;
  }
  uint64_t v[2];
  lvalue(f, e->b, e->n, 1, v);
  if (!(v[0] | v[1]))
    return;
  value_name(p, ui, f, e->b, e->n, what, sizeof(what));
  fc_diag_t *d = fc_diag_add(
      out, 601, e->loc,
      "frame pointer '%s' is stored in %s, which outlives the frame", what,
      where);
  note_allocs(f, d, v[0] | v[1]);
}

/* ---- the family ---------------------------------------------------------- */

static void lifetime_fn(const fc_prog_t *p, size_t ui, const fc_fn_t *fn,
                        lflow_t *f, fc_diag_list_t *out) {
  if (!lflow_run(p, ui, fn, f))
    return;
  const fc_unit_t *u = p->units[ui];
  size_t np = fn->npath ? fn->npath : 1, w = LW * np;
  uint64_t *reported = fc_xcalloc(fn->nvar + 1, sizeof(uint64_t));
  uint8_t *is_long = fc_xcalloc(fn->nvar + 1, 1);
  const char **from = fc_xcalloc(fn->nvar + 1, sizeof(*from));
  long_lived_vars(p, ui, fn, is_long, from);
  for (uint32_t b = 0; b < fn->nbb; b++) {
    if (!(f->reached[b] & 1))
      continue;
    const fc_bb_t *bb = &u->bbs.v[fn->bb + b];
    memcpy(f->cur, f->in + (size_t)b * w, w * sizeof(uint64_t));
    for (uint32_t i = 0; i < bb->nev; i++) {
      const fc_ev_t *e = &u->evs.v[bb->ev + i];
      if (e->kind == FC_EV_USE && !(e->flags & FC_EVF_TEST))
        check_604(p, ui, f, e, reported, out);
      else if (e->kind == FC_EV_ASSIGN || e->kind == FC_EV_STORE)
        check_601(p, ui, f, e, is_long, from, out);
      lstep(p, ui, f, e);
    }
  }
  free(reported);
  free(is_long);
  free(from);
}

void fc_rule_lifetime(const fc_prog_t *p, fc_diag_list_t *out) {
  depths_t ds;
  bfs_t s;
  lflow_t f;
  memset(&ds, 0, sizeof(ds));
  memset(&s, 0, sizeof(s));
  memset(&f, 0, sizeof(f));
  f.alloc_ev = fc_xcalloc(64, sizeof(uint32_t));
  f.alloc_key = fc_xcalloc(64, sizeof(uint32_t));
  for (size_t ui = 0; ui < p->nunits; ui++) {
    const fc_unit_t *u = p->units[ui];
    for (size_t fi = 0; fi < u->fns.n; fi++) {
      const fc_fn_t *fn = &u->fns.v[fi];
      rule_603(p, ui, fn, &ds, &s, out);
      lifetime_fn(p, ui, fn, &f, out);
    }
  }
  depths_free(&ds);
  free(s.from);
  free(s.queue);
  lflow_free(&f);
}
