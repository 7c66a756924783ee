/* Statement lowering: declarations, control flow (blocks and edges for
 * if, loops, switch, goto) and the jumps that leave the straight line. */
#include "lower.h"

static void lower_var(lower_t *l, CXCursor d) {
  uint32_t v = lw_var_add(l, d);
  CXCursor init = clang_Cursor_getVarDeclInitializer(d);
  int has = !clang_Cursor_isNull(init) &&
            clang_getCursorKind(init) != CXCursor_InvalidFile;
  size_t mark = l->vals.n;
  if (has)
    lw_read_expr(l, init);
  if (v != FC_NONE) {
    uint32_t path = l->u->vars.v[lw_cur_fn(l)->var + v].path;
    int weak = l->weak;
    l->weak = 0; /* a declaration always starts a fresh object */
    lw_emit_assign(l, path, mark, 1, 1, lw_cursor_loc(l, d));
    l->weak = weak;
  }
  l->vals.n = mark;
}

/* Splits a for statement's children into init, cond, inc and body: absent
 * parts are not visited, so the header text tells which is which. */
static void for_parts(lower_t *l, CXCursor c, size_t base, size_t n,
                      CXCursor part[4]) {
  for (int i = 0; i < 4; i++)
    part[i] = clang_getNullCursor();
  part[3] = l->kids.v[base + n - 1];
  size_t nh = n - 1;
  if (nh == 3) {
    for (int i = 0; i < 3; i++)
      part[i] = l->kids.v[base + (size_t)i];
    return;
  }
  if (nh == 0)
    return;
  /* Find the two ';' of the header in the expanded text. */
  CXFile f;
  unsigned off;
  size_t size;
  const char *buf = lw_text_at(l, clang_getRangeStart(clang_getCursorExtent(c)),
                               0, &f, &off, &size);
  unsigned semi[2] = {0, 0};
  int nsemi = 0;
  if (buf && off + 3 < size && !strncmp(buf + off, "for", 3)) {
    size_t i = off + 3;
    int depth = 0;
    for (; i < size && nsemi < 2; i++) {
      char ch = buf[i];
      if (ch == '(')
        depth++;
      else if (ch == ')') {
        if (--depth <= 0)
          break;
      } else if (ch == ';' && depth == 1)
        semi[nsemi++] = (unsigned)i;
      else if (ch == '"' || ch == '\'') {
        for (i++; i < size && buf[i] != ch; i++)
          if (buf[i] == '\\')
            i++;
      }
    }
  }
  for (size_t k = 0; k < nh; k++) {
    CXCursor kid = l->kids.v[base + k];
    int slot = -1;
    if (nsemi == 2) {
      CXFile kf;
      unsigned ko;
      size_t ks;
      if (lw_text_at(l, clang_getRangeStart(clang_getCursorExtent(kid)), 0, &kf,
                     &ko, &ks) &&
          clang_File_isEqual(kf, f))
        slot = ko < semi[0] ? 0 : ko < semi[1] ? 1 : 2;
    }
    if (slot < 0) /* fall back on the order: init, cond, inc */
      slot = clang_getCursorKind(kid) == CXCursor_DeclStmt ? 0
             : nh == 1                                     ? 1
                                                           : (int)k;
    part[slot] = kid;
  }
}

static void lower_part(lower_t *l, CXCursor c) {
  if (clang_Cursor_isNull(c))
    return;
  if (lw_is_expr(c))
    lw_read_discard(l, c);
  else
    lw_lower_stmt(l, c);
}

static void lower_cond(lower_t *l, CXCursor c) {
  if (!clang_Cursor_isNull(c) && lw_is_expr(c))
    lw_read_cond(l, c);
  else
    lower_part(l, c);
}

void lw_lower_loop(lower_t *l, CXCursor init, CXCursor cond, CXCursor inc,
                   CXCursor body, int is_do) {
  uint32_t head = lw_new_block(l), bodyb = lw_new_block(l),
           next = lw_new_block(l), exit = lw_new_block(l);
  uint32_t brk = l->brk, cont = l->cont, loop_depth = l->loop_depth;
  int brk_sw = l->brk_sw;
  l->loop_depth = l->depth;
  lower_part(l, init);
  if (is_do) {
    lw_edge(l, l->cur, bodyb);
  } else {
    lw_edge(l, l->cur, head);
    lw_start_block(l, head);
    lower_cond(l, cond);
    lw_edge(l, l->cur, bodyb);
    if (!clang_Cursor_isNull(cond))
      lw_edge(l, l->cur, exit);
  }
  l->brk = exit;
  l->brk_sw = 0;
  l->cont = next;
  lw_start_block(l, bodyb);
  lower_part(l, body);
  lw_edge(l, l->cur, next);
  lw_start_block(l, next);
  if (is_do) {
    lower_cond(l, cond);
    lw_edge(l, l->cur, bodyb);
    lw_edge(l, l->cur, exit);
  } else {
    lower_part(l, inc);
    lw_edge(l, l->cur, head);
  }
  l->brk = brk;
  l->brk_sw = brk_sw;
  l->cont = cont;
  l->loop_depth = loop_depth;
  lw_start_block(l, exit);
}

/* Whether expression statement c is a call that never returns. */
static int ends_path(lower_t *l, CXCursor c) {
  c = lw_strip(l, c);
  if (clang_getCursorKind(c) != CXCursor_CallExpr)
    return 0;
  CXCursor callee = clang_getCursorReferenced(c);
  if (!lw_cxx_is_function(clang_getCursorKind(callee)))
    return 0;
  return (l->role.v[lw_ref_of(l, callee)] & ROLE_NORETURN) != 0;
}

void lw_lower_stmt(lower_t *l, CXCursor c) {
  enum CXCursorKind k = clang_getCursorKind(c);
  size_t base, n;
  switch (k) {
  case CXCursor_CompoundStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    l->depth++;
    for (size_t i = 0; i < n; i++)
      lw_lower_stmt(l, l->kids.v[base + i]);
    l->depth--;
    l->kids.n = base;
    /* the frame scopes of the block end at its closing brace */
    if (l->scopes.n && l->scopes.v[l->scopes.n - 1] > l->depth) {
      fc_loc_t end = lw_loc_of(l, clang_getRangeEnd(clang_getCursorExtent(c)));
      if (end.col > 1)
        end.col--;
      lw_cxx_end_scopes(l, l->depth, end, 0);
    }
    return;
  }
  case CXCursor_DeclStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    for (size_t i = 0; i < n; i++)
      if (clang_getCursorKind(l->kids.v[base + i]) == CXCursor_VarDecl) {
        lower_var(l, l->kids.v[base + i]);
        lw_cxx_scope_var(l, l->kids.v[base + i]);
      } else
        lw_cxx_decl(l, l->kids.v[base + i]);
    l->kids.n = base;
    return;
  }
  case CXCursor_IfStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    if (n < 2) {
      l->kids.n = base;
      return;
    }
    lw_read_cond(l, l->kids.v[base]);
    uint32_t thenb = lw_new_block(l), join = lw_new_block(l);
    uint32_t elseb = n > 2 ? lw_new_block(l) : join;
    lw_edge(l, l->cur, thenb);
    lw_edge(l, l->cur, elseb);
    lw_start_block(l, thenb);
    lw_lower_stmt(l, l->kids.v[base + 1]);
    lw_edge(l, l->cur, join);
    if (n > 2) {
      lw_start_block(l, elseb);
      lw_lower_stmt(l, l->kids.v[base + 2]);
      lw_edge(l, l->cur, join);
    }
    l->kids.n = base;
    lw_start_block(l, join);
    return;
  }
  case CXCursor_WhileStmt:
  case CXCursor_DoStmt:
  case CXCursor_ForStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    CXCursor part[4];
    if (n == 0) {
      l->kids.n = base;
      return;
    }
    if (k == CXCursor_ForStmt)
      for_parts(l, c, base, n, part);
    else {
      for (int i = 0; i < 4; i++)
        part[i] = clang_getNullCursor();
      part[1] = l->kids.v[base + (k == CXCursor_DoStmt ? n - 1 : 0)];
      part[3] = l->kids.v[base + (k == CXCursor_DoStmt ? 0 : n - 1)];
    }
    lw_lower_loop(l, part[0], part[1], part[2], part[3], k == CXCursor_DoStmt);
    l->kids.n = base;
    return;
  }
  case CXCursor_SwitchStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    if (n < 2) {
      l->kids.n = base;
      return;
    }
    lw_read_discard(l, l->kids.v[base]);
    uint32_t head = l->cur, exit = lw_new_block(l);
    uint32_t brk = l->brk, sw = l->sw_head;
    int brk_sw = l->brk_sw;
    int dflt = l->sw_default;
    l->brk = exit;
    l->brk_sw = 1;
    l->sw_head = head;
    uint32_t loop_depth = l->loop_depth;
    l->loop_depth = l->depth;
    l->sw_default = 0;
    lw_start_block(l, lw_new_block(l));
    lw_lower_stmt(l, l->kids.v[base + n - 1]);
    lw_edge(l, l->cur, exit);
    if (!l->sw_default)
      lw_edge(l, head, exit);
    l->brk = brk;
    l->brk_sw = brk_sw;
    l->sw_head = sw;
    l->loop_depth = loop_depth;
    l->sw_default = dflt;
    l->kids.n = base;
    lw_start_block(l, exit);
    return;
  }
  case CXCursor_CaseStmt:
  case CXCursor_DefaultStmt:
  case CXCursor_LabelStmt: {
    uint32_t b = lw_new_block(l);
    lw_edge(l, l->cur, b);
    if (k == CXCursor_LabelStmt) {
      lw_map_put(&l->labelmap, (uintptr_t)c.data[1], b);
      PUSH(l->labels, b);
    } else if (l->sw_head != FC_NONE) {
      lw_edge(l, l->sw_head, b);
      if (k == CXCursor_DefaultStmt)
        l->sw_default = 1;
    }
    lw_start_block(l, b);
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    CXCursor sub = n ? l->kids.v[base + n - 1] : c;
    l->kids.n = base;
    if (n && !(k == CXCursor_CaseStmt && n == 1))
      lw_lower_stmt(l, sub);
    return;
  }
  case CXCursor_BreakStmt:
    lw_cxx_end_scopes(l, l->loop_depth, lw_cursor_loc(l, c), 1);
    lw_emit_jump(l, FC_JUMP_BREAK, lw_cursor_loc(l, c));
    l->u->evs.v[l->u->evs.n - 1].b = (uint32_t)l->brk_sw;
    lw_jump(l, l->brk);
    return;
  case CXCursor_ContinueStmt:
    lw_cxx_end_scopes(l, l->loop_depth, lw_cursor_loc(l, c), 1);
    lw_emit_jump(l, FC_JUMP_CONTINUE, lw_cursor_loc(l, c));
    lw_jump(l, l->cont);
    return;
  case CXCursor_ReturnStmt: {
    base = lw_kids_push(l, c);
    n = l->kids.n - base;
    CXCursor v = n ? l->kids.v[base] : c;
    l->kids.n = base;
    if (n) {
      size_t mark = l->vals.n;
      lw_read_expr(l, v);
      if (l->ret_tracked) {
        uint32_t cnt;
        uint32_t off = lw_keep_vals(l, mark, &cnt);
        fc_ev_t *e = lw_emit(l, FC_EV_RET, 0, lw_cursor_loc(l, c));
        e->b = off;
        e->n = cnt;
      }
      l->vals.n = mark;
    }
    lw_cxx_end_scopes(l, 0, lw_cursor_loc(l, c), 1);
    lw_emit_jump(l, FC_JUMP_RETURN, lw_cursor_loc(l, c));
    lw_jump(l, 1);
    return;
  }
  case CXCursor_GotoStmt: {
    base = lw_kids_push(l, c);
    CXCursor target = clang_getNullCursor();
    for (size_t i = base; i < l->kids.n; i++)
      if (clang_getCursorKind(l->kids.v[i]) == CXCursor_LabelRef)
        target = clang_getCursorReferenced(l->kids.v[i]);
    l->kids.n = base;
    lw_emit_jump(l, FC_JUMP_GOTO, lw_cursor_loc(l, c));
    if (!clang_Cursor_isNull(target)) {
      FC_VEC_RESERVE(l->gotos, 2);
      l->gotos.v[l->gotos.n++] = l->cur;
      l->gotos.v[l->gotos.n++] = (uintptr_t)target.data[1];
    } else
      PUSH(l->indirect, l->cur);
    lw_jump(l, FC_NONE);
    return;
  }
  case CXCursor_IndirectGotoStmt:
    lw_read_children(l, c);
    lw_emit_jump(l, FC_JUMP_GOTO, lw_cursor_loc(l, c));
    PUSH(l->indirect, l->cur);
    lw_jump(l, FC_NONE);
    return;
  case CXCursor_NullStmt:
  case CXCursor_AsmStmt:
  case CXCursor_MSAsmStmt:
    return;
  default:
    if (lw_cxx_stmt(l, c))
      return;
    if (lw_is_expr(c)) {
      lw_read_discard(l, c);
      if (ends_path(l, c))
        lw_jump(l, FC_NONE);
    } else if (clang_isStatement(k))
      lw_read_children(l, c);
    return;
  }
}
