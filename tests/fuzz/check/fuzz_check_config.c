/* Fuzz target of fa-check.toml: any bytes are read as a configuration file
 * through fc_config_load. The outcome must be either a valid configuration
 * (every level in range, every name a C identifier, every spawner argument
 * from 1 to 100 or none) or exactly one message "FILE:LINE: error: ..." on
 * one line, LINE a line of the input; never a crash, a hang or a leak.
 *
 * fc_config_load reads a path, so the bytes go to one temporary file per
 * process, rewritten for each input. Its messages go to stderr, which is
 * swapped for a memory stream during the call. */
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs add nothing the parser has not seen in smaller ones. */
#define MAX_INPUT (64u << 10)

static char tmp_path[4096];

static void remove_tmp(void) {
  if (tmp_path[0])
    unlink(tmp_path);
}

/* The temporary file, created on first use under TMPDIR. */
static int tmp_open(void) {
  static int fd = -1;
  if (fd >= 0)
    return fd;
  const char *dir = getenv("TMPDIR");
  snprintf(tmp_path, sizeof(tmp_path), "%s/fuzz_check_config.XXXXXX",
           dir && *dir ? dir : "/tmp");
  fd = mkstemp(tmp_path);
  if (fd < 0) {
    perror("fuzz_check_config: mkstemp");
    abort();
  }
  atexit(remove_tmp);
  return fd;
}

static void write_input(const uint8_t *data, size_t size) {
  int fd = tmp_open();
  if (ftruncate(fd, 0) != 0) {
    perror("fuzz_check_config: ftruncate");
    abort();
  }
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(fd, data + done, size - done, (off_t)done);
    if (w <= 0) {
      perror("fuzz_check_config: pwrite");
      abort();
    }
    done += (size_t)w;
  }
}

static void fail(const char *what, const char *text) {
  fprintf(stderr, "fuzz_check_config: %s\n", what);
  if (text)
    fprintf(stderr, "message: [%s]\n", text);
  abort();
}

static int is_identifier(const char *s) {
  if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
    return 0;
  for (s++; *s; s++)
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

static void check_names(const fc_names_t *n) {
  for (size_t i = 0; i < n->n; i++)
    if (!is_identifier(n->v[i]))
      fail("a configured name is not an identifier", n->v[i]);
}

/* A configuration that loaded must hold only what the schema allows. */
static void check_valid(const fc_config_t *c) {
  if (!c->path || strcmp(c->path, tmp_path) != 0)
    fail("a loaded configuration does not name its file", c->path);
  for (size_t i = 0; i < 2; i++)
    if (c->family_level[i] < -1 || c->family_level[i] > FC_LEVEL_ERROR)
      fail("a family level is out of range", NULL);
  for (size_t i = 0; i < 1000; i++) {
    if (c->code_level[i] < -1 || c->code_level[i] > FC_LEVEL_ERROR)
      fail("a code level is out of range", NULL);
    if (c->code_level[i] >= 0 && !fc_rule_find((int)i))
      fail("a level is set for a code that is not a rule", NULL);
  }
  for (size_t i = 0; i < c->nspawn; i++) {
    if (!is_identifier(c->spawn[i].name))
      fail("a spawner name is not an identifier", c->spawn[i].name);
    if (c->spawn[i].arg < 0 || c->spawn[i].arg > 100)
      fail("a spawner argument is out of range", c->spawn[i].name);
  }
  check_names(&c->await);
  check_names(&c->frame);
  check_names(&c->async);
}

/* A refusal must be one line "FILE:LINE: error: MESSAGE" with LINE from 1
 * to the number of lines of the input. */
static void check_message(const char *msg, size_t len, const uint8_t *data,
                          size_t size) {
  size_t plen = strlen(tmp_path);
  if (len < plen + 2 || memcmp(msg, tmp_path, plen) != 0 || msg[plen] != ':')
    fail("the error does not start with FILE:", msg);
  const char *p = msg + plen + 1;
  char *end;
  unsigned long line = strtoul(p, &end, 10);
  if (end == p || *p < '1' || *p > '9' || strncmp(end, ": error: ", 9) != 0)
    fail("the error does not go on with LINE: error: ", msg);
  size_t lines = 1;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  if (line > lines)
    fail("the error names a line past the end of the input", msg);
  const char *nl = memchr(msg, '\n', len);
  if (!nl || (size_t)(nl - msg) != len - 1 || end[9] == '\n')
    fail("the error is not exactly one non-empty line", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > MAX_INPUT)
    return -1; /* not added to the corpus */
  write_input(data, size);

  char *msg = NULL;
  size_t len = 0;
  FILE *saved = stderr;
  FILE *capture = open_memstream(&msg, &len);
  if (!capture)
    fail("open_memstream failed", NULL);
  stderr = capture;
  fc_config_t cfg;
  fc_config_init(&cfg);
  int rc = fc_config_load(&cfg, tmp_path);
  stderr = saved;
  fclose(capture);

  if (rc == 0) {
    if (len)
      fail("a valid configuration printed a message", msg);
    check_valid(&cfg);
  } else if (rc == -1) {
    check_message(msg, len, data, size);
  } else {
    fail("fc_config_load returned neither 0 nor -1", NULL);
  }
  fc_config_free(&cfg);
  free(msg);
  return 0;
}
