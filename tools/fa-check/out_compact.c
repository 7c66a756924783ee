/* The compact format: one line per finding, as GCC and clang print them,
 * for editors and scripts that parse "FILE:LINE:COL: LEVEL: MESSAGE":
 *
 *   src/net.c:42:11: error: frame pointer used across ... [FA702]
 *   src/net.c:40:15: note: allocated here
 *
 * No summary line: the exit status says whether there were errors. */
#include "check.h"

static void line(FILE *out, const fc_loc_t *loc, const char *root,
                 const char *level, const char *msg) {
  fprintf(out, "%s:%u:%u: %s: %s", fc_show_path(loc->file, root), loc->line,
          loc->col, level, msg);
}

void fc_emit_compact(const fc_diag_list_t *l, const fc_emit_t *e) {
  for (size_t i = 0; i < l->n; i++) {
    const fc_diag_t *d = &l->v[i];
    line(e->out, &d->loc, e->root, fc_level_name(d->level), d->msg);
    fprintf(e->out, " [FA%03d]\n", d->code);
    for (size_t k = 0; k < d->nnotes; k++) {
      line(e->out, &d->notes[k].loc, e->root, "note", d->notes[k].msg);
      fputc('\n', e->out);
    }
  }
}
