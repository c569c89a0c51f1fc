#include "options.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef enum {
  OPT_SERVER,
  OPT_CLIENT,
  OPT_HOST,
  OPT_PORT,
  OPT_MESSAGE,
  OPT_CLOSE_AFTER,
  OPT_QUIET,
  OPT_VERBOSE,
  OPT_HELP,
  OPT_VERSION
} opt_id_t;

typedef struct {
  const char *long_name;
  char short_name;
  int takes_value;
  int client_only;
  opt_id_t id;
} opt_spec_t;

static const opt_spec_t opt_table[] = {
    {"server", 's', 0, 0, OPT_SERVER},
    {"client", 'c', 0, 0, OPT_CLIENT},
    {"host", 'H', 1, 0, OPT_HOST},
    {"port", 'p', 1, 0, OPT_PORT},
    {"message", 'm', 1, 1, OPT_MESSAGE},
    {"close-after", 't', 1, 1, OPT_CLOSE_AFTER},
    {"quiet", 'q', 0, 0, OPT_QUIET},
    {"verbose", 'v', 0, 1, OPT_VERBOSE},
    {"help", 'h', 0, 0, OPT_HELP},
    {"version", 'V', 0, 0, OPT_VERSION},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))

static const char usage_text[] =
    "Usage: tcpecho --server [--host ADDR] [--port N] [--quiet]\n"
    "       tcpecho --client [--host ADDR] [--port N] [--message TEXT]\n"
    "                        [--close-after SECONDS] [--quiet] [--verbose]\n"
    "\n"
    "A TCP echo server and the client of the Go TCP tutorial, on libuv.\n"
    "\n"
    "  -s, --server               listen and echo every byte back\n"
    "  -c, --client               connect, send the message, log what comes\n"
    "                             back, close after --close-after seconds\n"
    "  -H, --host ADDR            server: address to listen on (default: all\n"
    "                             interfaces, IPv4 and IPv6)\n"
    "                             client: host to connect to (default:\n"
    "                             localhost)\n"
    "  -p, --port N               TCP port (default: 8000); the server picks\n"
    "                             a free port with 0\n"
    "  -m, --message TEXT         client: message to send (default:\n"
    "                             \"Hi, beyondyyh\")\n"
    "  -t, --close-after SECONDS  client: close the connection after this\n"
    "                             long (default: 10, fractions allowed)\n"
    "  -q, --quiet                do not log the data of every read\n"
    "  -v, --verbose              client: log every step (resolve, connect,\n"
    "                             write, read, timer, close) with the time\n"
    "                             since start, to line up with a capture\n"
    "  -h, --help                 print this help and exit\n"
    "  -V, --version              print the version and exit\n"
    "\n"
    "Logs go to standard error in Go's log format.\n"
    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n";

const char *options_usage(void) {
  return usage_text;
}

static options_result_t fail(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  if (err_size > 0) {
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return OPTIONS_ERROR;
}

static const opt_spec_t *find_long(const char *name, size_t len) {
  size_t i;
  for (i = 0; i < OPT_COUNT; i++) {
    if (strlen(opt_table[i].long_name) == len &&
        memcmp(opt_table[i].long_name, name, len) == 0)
      return &opt_table[i];
  }
  return NULL;
}

static const opt_spec_t *find_short(char c) {
  size_t i;
  for (i = 0; i < OPT_COUNT; i++) {
    if (opt_table[i].short_name == c)
      return &opt_table[i];
  }
  return NULL;
}

/* Decimal digits only: no sign, no spaces, no hex. */
static int parse_port(const char *s, int *out) {
  long v = 0;
  if (*s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (*s - '0');
    if (v > 65535)
      return -1;
  }
  *out = (int)v;
  return 0;
}

/* "SECONDS[.FRACTION]" to milliseconds, rounded half up to the nearest one.
 * Done on integers so the result depends on neither locale nor float
 * rounding. */
static int parse_seconds_ms(const char *s, unsigned long long *out_ms) {
  const unsigned long long max_ms =
      (unsigned long long)OPTIONS_MAX_CLOSE_AFTER_S * 1000;
  unsigned long long ms = 0;
  int digits = 0, frac_digits = 0;

  for (; *s >= '0' && *s <= '9'; s++, digits++) {
    ms = ms * 10 + (unsigned long long)(*s - '0');
    if (ms * 1000 > max_ms)
      return -1;
  }
  ms *= 1000;
  if (*s == '.') {
    unsigned long long scale = 100;
    for (s++; *s >= '0' && *s <= '9'; s++, digits++, frac_digits++) {
      if (frac_digits < 3) {
        ms += (unsigned long long)(*s - '0') * scale;
        scale /= 10;
      } else if (frac_digits == 3 && *s >= '5') {
        ms += 1;
      }
    }
  }
  if (*s != '\0' || digits == 0 || ms > max_ms)
    return -1;
  *out_ms = ms;
  return 0;
}

static options_result_t apply(options_t *o, const opt_spec_t *spec,
                              const char *shown, const char *value,
                              unsigned *seen, char *err, size_t err_size) {
  *seen |= 1u << spec->id;
  switch (spec->id) {
  case OPT_SERVER:
  case OPT_CLIENT: {
    role_t role = spec->id == OPT_SERVER ? ROLE_SERVER : ROLE_CLIENT;
    if (o->role != ROLE_NONE && o->role != role)
      return fail(err, err_size,
                  "--server and --client cannot be used together");
    o->role = role;
    break;
  }
  case OPT_HOST:
    if (*value == '\0')
      return fail(err, err_size, "empty value for %s: expected an address",
                  shown);
    o->host = value;
    break;
  case OPT_PORT:
    if (parse_port(value, &o->port) != 0)
      return fail(err, err_size,
                  "invalid port '%s': expected an integer from 0 to 65535",
                  value);
    break;
  case OPT_MESSAGE:
    o->message = value;
    o->message_len = strlen(value);
    break;
  case OPT_CLOSE_AFTER:
    if (parse_seconds_ms(value, &o->close_after_ms) != 0)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected seconds from 0 to "
                  "%.0f, like 10 or 0.5",
                  value, shown, OPTIONS_MAX_CLOSE_AFTER_S);
    break;
  case OPT_QUIET:
    o->quiet = 1;
    break;
  case OPT_VERBOSE:
    o->verbose = 1;
    break;
  case OPT_HELP:
    return OPTIONS_HELP;
  case OPT_VERSION:
    return OPTIONS_VERSION;
  }
  return OPTIONS_RUN;
}

static options_result_t check_role(const options_t *o, unsigned seen, char *err,
                                   size_t err_size) {
  size_t i;
  if (o->role == ROLE_NONE)
    return fail(err, err_size, "one of --server or --client is required");
  if (o->role == ROLE_SERVER) {
    for (i = 0; i < OPT_COUNT; i++) {
      if (opt_table[i].client_only && (seen & (1u << opt_table[i].id)))
        return fail(err, err_size, "--%s applies only to --client",
                    opt_table[i].long_name);
    }
  }
  if (o->role == ROLE_CLIENT && o->port == 0)
    return fail(err, err_size,
                "invalid port '0' for --client: expected 1 to 65535");
  return OPTIONS_RUN;
}

options_result_t options_parse(int argc, char **argv, options_t *o, char *err,
                               size_t err_size) {
  int i, only_operands = 0;
  unsigned seen = 0;
  options_result_t r;

  memset(o, 0, sizeof(*o));
  o->port = OPTIONS_DEFAULT_PORT;
  o->message = OPTIONS_DEFAULT_MESSAGE;
  o->message_len = strlen(OPTIONS_DEFAULT_MESSAGE);
  o->close_after_ms = OPTIONS_DEFAULT_CLOSE_AFTER_MS;
  if (err_size > 0)
    err[0] = '\0';

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const opt_spec_t *spec;
    const char *value = NULL;
    char shown[32];

    if (!only_operands && strcmp(arg, "--") == 0) {
      only_operands = 1;
      continue;
    }
    if (only_operands || arg[0] != '-' || arg[1] == '\0')
      return fail(err, err_size, "unexpected argument '%s'", arg);

    if (arg[1] == '-') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      spec = find_long(name, len);
      if (spec == NULL)
        return fail(err, err_size, "unknown option '--%.*s'", (int)len, name);
      snprintf(shown, sizeof(shown), "--%s", spec->long_name);
      if (eq != NULL) {
        if (!spec->takes_value)
          return fail(err, err_size, "option %s takes no value", shown);
        value = eq + 1;
      }
    } else {
      /* Short options may be bundled (-sq); a value may be attached (-p80). */
      const char *p;
      for (p = arg + 1; *p != '\0'; p++) {
        spec = find_short(*p);
        if (spec == NULL)
          return fail(err, err_size, "unknown option '-%c'", *p);
        snprintf(shown, sizeof(shown), "-%c", *p);
        if (spec->takes_value) {
          if (p[1] != '\0')
            value = p + 1;
          break;
        }
        r = apply(o, spec, shown, NULL, &seen, err, err_size);
        if (r != OPTIONS_RUN)
          return r;
      }
      if (*p == '\0')
        continue;
    }

    if (spec->takes_value && value == NULL) {
      if (i + 1 >= argc)
        return fail(err, err_size, "option %s needs a value", shown);
      value = argv[++i];
    }
    r = apply(o, spec, shown, value, &seen, err, err_size);
    if (r != OPTIONS_RUN)
      return r;
  }

  r = check_role(o, seen, err, err_size);
  if (r != OPTIONS_RUN)
    return r;
  if (o->role == ROLE_CLIENT && o->host == NULL)
    o->host = OPTIONS_DEFAULT_CLIENT_HOST;
  return OPTIONS_RUN;
}
