/* fa-check's entry point: parses the command line, loads fa-check.toml and
 * hands over to the command asked for. */
#include "check.h"

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

/* Loads --config FILE, or the nearest fa-check.toml above the current
 * directory; no file at all is fine (every level stays at its default). */
static int load_config(const fc_options_t *o, fc_config_t *cfg) {
  fc_config_init(cfg);
  if (o->config_file)
    return fc_config_load(cfg, o->config_file);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof(cwd)))
    return 0;
  char *found = fc_config_find(cwd);
  if (!found)
    return 0;
  int rc = fc_config_load(cfg, found);
  free(found);
  return rc;
}

int main(int argc, char **argv) {
  fc_options_t o;
  fc_command_t cmd;
  const char *arg;
  int rc = fc_cli_parse(argc, argv, &cmd, &o, &arg);
  if (rc) {
    fc_cli_free(&o);
    return rc;
  }
  switch (cmd) {
  case FC_CMD_HELP:
    fc_cli_usage(stdout);
    break;
  case FC_CMD_VERSION:
    fc_cli_version(stdout);
    break;
  case FC_CMD_EXPLAIN:
    rc = fc_cmd_explain(arg);
    break;
  case FC_CMD_LIST:
    rc = fc_cmd_list(o.families);
    break;
  case FC_CMD_INIT:
    rc = fc_cmd_init();
    break;
  case FC_CMD_CHECK: {
    fc_config_t cfg;
    if (load_config(&o, &cfg) != 0) {
      rc = FC_EXIT_FAILURE;
    } else {
      rc = fc_run(&o, &cfg);
    }
    fc_config_free(&cfg);
    break;
  }
  }
  fc_cli_free(&o);
  return rc;
}
