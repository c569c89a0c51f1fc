/* Command-line options: a pure parser, no I/O, testable without a socket. */
#ifndef TCPECHO_OPTIONS_H
#define TCPECHO_OPTIONS_H

#include <stddef.h>

#define OPTIONS_DEFAULT_PORT 8000
#define OPTIONS_DEFAULT_CLIENT_HOST "localhost"
#define OPTIONS_DEFAULT_MESSAGE "Hi, beyondyyh"
#define OPTIONS_DEFAULT_CLOSE_AFTER_MS 10000
#define OPTIONS_MAX_CLOSE_AFTER_S 31536000.0 /* one year */

/* Exit statuses, documented in the man page and README. */
enum { EXIT_STATUS_OK = 0, EXIT_STATUS_FAILURE = 1, EXIT_STATUS_USAGE = 2 };

typedef enum { ROLE_NONE = 0, ROLE_SERVER, ROLE_CLIENT } role_t;

typedef struct options_s {
  role_t role;
  const char *host;    /* NULL: server listens on all interfaces */
  int port;            /* 0..65535; 0 only for the server */
  const char *message; /* client */
  size_t message_len;
  unsigned long long close_after_ms; /* client */
  int quiet;
  int verbose; /* client: log every libuv-level step */
} options_t;

typedef enum {
  OPTIONS_RUN = 0, /* options are valid: run the role */
  OPTIONS_HELP,    /* --help given */
  OPTIONS_VERSION, /* --version given */
  OPTIONS_ERROR    /* usage error: err holds one line, no newline */
} options_result_t;

/* Parses argv[1..argc-1] into opts. Strings in opts point into argv. On
 * OPTIONS_ERROR, err receives a message naming the problem. */
options_result_t options_parse(int argc, char **argv, options_t *opts,
                               char *err, size_t err_size);

/* The --help text, ending in a newline. */
const char *options_usage(void);

#endif
