/* fa-check entry point (minimal: FILES -- CLANG_ARGS, compact output). */
#include "check.h"

#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int dash = argc;
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--")) {
      dash = i;
      break;
    }
  fc_config_t cfg;
  memset(&cfg, 0, sizeof(cfg));
  fc_failure_list_t fail = {0};
  fc_diag_list_t diags = {0};
  fc_unit_t *units[64];
  size_t nunits = 0;
  CXIndex idx = clang_createIndex(0, 0);
  for (int i = 1; i < dash && nunits < 64; i++) {
    CXTranslationUnit tu = NULL;
    enum CXErrorCode ec = clang_parseTranslationUnit2(
        idx, argv[i], (const char *const *)argv + dash + 1,
        dash < argc ? argc - dash - 1 : 0, NULL, 0, CXTranslationUnit_KeepGoing,
        &tu);
    if (ec != CXError_Success) {
      fprintf(stderr, "fa-check: cannot parse %s\n", argv[i]);
      continue;
    }
    units[nunits++] = fc_unit_lower(tu, &cfg, &fail);
    clang_disposeTranslationUnit(tu);
  }
  fc_analyze(units, nunits, &cfg, FC_FAMILY_ASYNC, &diags);
  fc_diag_sort_unique(&diags);
  char cwd[4096];
  fc_emit_t e = {stdout, 0, getcwd(cwd, sizeof(cwd)), &fail};
  fc_emit_compact(&diags, &e);
  for (size_t i = 0; i < nunits; i++)
    fc_unit_free(units[i]);
  clang_disposeIndex(idx);
  int rc = diags.n ? FC_EXIT_FINDINGS : FC_EXIT_OK;
  fc_diag_list_free(&diags);
  fc_failure_list_free(&fail);
  fc_source_free_all();
  return rc;
}
