/* libFuzzer target for options_parse (src/options.c): the input, split at
 * NUL bytes, is the argument vector after argv[0]. Whatever it holds, the
 * parser must give one of its four results, keep within the error buffer,
 * and leave the options consistent:
 *   OPTIONS_ERROR: a single non-empty line, no newline, NUL-terminated;
 *   OPTIONS_RUN: a mode, a port in 0..65535 (0 for the server only), a
 *   host for the client and bench, the message and its length agreeing,
 *   strings pointing into argv or at the defaults.
 * The same vector parsed again, with a smaller error buffer, gives the same
 * result. Build: see .ci/fuzz.sh. */
#include "options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 64
#define ERR_SIZE 256
#define GUARD 32

static void require(int ok, const char *what, int argc, char **argv) {
  int i;
  if (ok)
    return;
  fprintf(stderr, "fuzz_options: %s; argv:", what);
  for (i = 1; i < argc; i++)
    fprintf(stderr, " [%s]", argv[i]);
  fputc('\n', stderr);
  abort();
}

static int points_into(const char *p, const char *base, size_t size) {
  return p >= base && p <= base + size;
}

static void check_error(const char *err, size_t err_size, int argc,
                        char **argv) {
  size_t len;
  require(memchr(err, '\0', err_size) != NULL, "error not NUL-terminated", argc,
          argv);
  len = strlen(err);
  require(len > 0, "empty error message", argc, argv);
  require(memchr(err, '\n', len) == NULL, "error message spans lines", argc,
          argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1);
  char *argv[MAX_ARGS + 2];
  char err[ERR_SIZE + GUARD], small[16 + GUARD];
  size_t i, start = 0, small_size;
  options_t o, o2;
  options_result_t r, r2;
  int argc = 0;

  if (copy == NULL)
    return 0;
  if (size > 0)
    memcpy(copy, data, size);
  copy[size] = '\0';
  argv[argc++] = (char *)"tcpecho";
  /* "a\0b" is two arguments; an empty input none. */
  for (i = 0; size > 0 && i <= size && argc <= MAX_ARGS; i++) {
    if (i == size || copy[i] == '\0') {
      argv[argc++] = copy + start;
      start = i + 1;
    }
  }
  argv[argc] = NULL;

  memset(err, 0x5a, sizeof(err));
  r = options_parse(argc, argv, &o, err, ERR_SIZE);
  require(r == OPTIONS_RUN || r == OPTIONS_HELP || r == OPTIONS_VERSION ||
              r == OPTIONS_ERROR,
          "result out of range", argc, argv);
  for (i = ERR_SIZE; i < sizeof(err); i++)
    require(err[i] == 0x5a, "wrote past the error buffer", argc, argv);

  if (r == OPTIONS_ERROR)
    check_error(err, ERR_SIZE, argc, argv);

  if (r == OPTIONS_RUN) {
    require(o.mode == MODE_SERVER || o.mode == MODE_CLIENT ||
                o.mode == MODE_PING || o.mode == MODE_PIPE ||
                o.mode == MODE_BENCH || o.mode == MODE_MERGE,
            "no valid mode", argc, argv);
    require((o.mode == MODE_MERGE) == (o.file_count > 0),
            "report files without --bench-merge, or none with it", argc, argv);
    for (i = 0; i < o.file_count; i++)
      require(points_into(o.files[i], copy, size), "file outside argv", argc,
              argv);
    require(o.port >= 0 && o.port <= 65535, "port out of range", argc, argv);
    require(o.port != 0 || o.mode == MODE_SERVER, "port 0 for a non-server",
            argc, argv);
    require(o.mode == MODE_SERVER || o.host != NULL, "no host to connect to",
            argc, argv);
    require(o.host == NULL || points_into(o.host, copy, size) ||
                strcmp(o.host, OPTIONS_DEFAULT_CLIENT_HOST) == 0,
            "host points outside argv", argc, argv);
    require(o.message != NULL && strlen(o.message) == o.message_len,
            "message length disagrees", argc, argv);
    require(points_into(o.message, copy, size) ||
                strcmp(o.message, OPTIONS_DEFAULT_MESSAGE) == 0,
            "message points outside argv", argc, argv);
  }

  /* Again, with an error buffer of 1..16 bytes: same answer, no overrun,
   * still a terminated string. */
  small_size = 1 + size % 16;
  memset(small, 0x5a, sizeof(small));
  r2 = options_parse(argc, argv, &o2, small, small_size);
  require(r2 == r, "result depends on the error buffer", argc, argv);
  for (i = small_size; i < sizeof(small); i++)
    require(small[i] == 0x5a, "wrote past a small error buffer", argc, argv);
  require(memchr(small, '\0', small_size) != NULL,
          "small error buffer not NUL-terminated", argc, argv);
  if (r == OPTIONS_RUN)
    require(o2.mode == o.mode && o2.port == o.port, "a second parse disagrees",
            argc, argv);

  free(copy);
  return 0;
}
