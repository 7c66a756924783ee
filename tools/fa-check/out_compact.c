/* placeholder, replaced by its owner */
#include "check.h"

void fc_emit_compact(const fc_diag_list_t *l, const fc_emit_t *e) {
  for (size_t i = 0; i < l->n; i++)
    fprintf(e->out, "%s:%u:%u: %s [FA%03d]\n",
            fc_relpath(l->v[i].loc.file, e->root), l->v[i].loc.line,
            l->v[i].loc.col, l->v[i].msg, l->v[i].code);
}
