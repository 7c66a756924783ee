/* placeholder, replaced by its owner */
#include "check.h"

void fc_analyze(fc_unit_t *const *units, size_t n, const fc_config_t *cfg,
                unsigned families, fc_diag_list_t *out) {
  (void)units, (void)n, (void)cfg, (void)families, (void)out;
}
