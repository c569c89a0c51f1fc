#include "options.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SRV ROLE_SERVER
#define CLI ROLE_CLIENT
#define BEN ROLE_BENCH
#define ALL (SRV | CLI | BEN)

typedef enum {
  KIND_ROLE,    /* --server, --client, --bench */
  KIND_FLAG,    /* int field set to 1 */
  KIND_STRING,  /* const char * field */
  KIND_PORT,    /* int field, 0..65535 */
  KIND_UINT,    /* unsigned long long field, min..max */
  KIND_SECONDS, /* unsigned long long field in ms, 0..max seconds */
  KIND_HELP,
  KIND_VERSION
} opt_kind_t;

typedef struct {
  const char *long_name;
  char short_name; /* 0: none */
  opt_kind_t kind;
  unsigned roles; /* the roles it applies to */
  size_t offset;  /* of its field in options_t */
  unsigned long long min, max;
} opt_spec_t;

#define F(field) offsetof(options_t, field)

static const opt_spec_t opt_table[] = {
    {"server", 's', KIND_ROLE, ALL, 0, SRV, 0},
    {"client", 'c', KIND_ROLE, ALL, 0, CLI, 0},
    {"bench", 'b', KIND_ROLE, ALL, 0, BEN, 0},
    {"host", 'H', KIND_STRING, ALL, F(host), 0, 0},
    {"port", 'p', KIND_PORT, ALL, F(port), 0, 65535},
    {"quiet", 'q', KIND_FLAG, ALL, F(quiet), 0, 0},
    {"message", 'm', KIND_STRING, CLI, F(message), 0, 0},
    {"close-after", 't', KIND_SECONDS, CLI, F(close_after_ms), 0,
     OPTIONS_MAX_SECONDS},
    {"verbose", 'v', KIND_FLAG, CLI, F(verbose), 0, 0},
    {"count", 'n', KIND_UINT, CLI, F(count), 0, 1000000000000ULL},
    {"forever", 0, KIND_FLAG, CLI, F(ping), 0, 0},
    {"interval", 'i', KIND_SECONDS, CLI, F(interval_ms), 0,
     OPTIONS_MAX_SECONDS},
    {"timeout", 'W', KIND_SECONDS, CLI, F(timeout_ms), 0, OPTIONS_MAX_SECONDS},
    {"stdin", 0, KIND_FLAG, CLI, F(use_stdin), 0, 0},
    {"size", 'S', KIND_UINT, CLI | BEN, F(size), 1, 16 * 1024 * 1024},
    {"max-conns", 0, KIND_UINT, SRV, F(max_conns), 1, 100000000},
    {"idle-timeout", 0, KIND_SECONDS, SRV, F(idle_timeout_ms), 0,
     24 * 86400}, /* kept under 2^31 ms: sessions stamp activity in 32 bits */
    {"drain-timeout", 0, KIND_SECONDS, SRV, F(drain_timeout_ms), 0,
     OPTIONS_MAX_SECONDS},
    {"stats", 0, KIND_SECONDS, SRV, F(stats_ms), 0, OPTIONS_MAX_SECONDS},
    {"connections", 'C', KIND_UINT, BEN, F(connections), 1, 1000000},
    {"pipeline", 'P', KIND_UINT, BEN, F(pipeline), 1, 65536},
    {"duration", 'd', KIND_SECONDS, BEN, F(duration_ms), 0,
     OPTIONS_MAX_SECONDS},
    {"warmup", 0, KIND_SECONDS, BEN, F(warmup_ms), 0, OPTIONS_MAX_SECONDS},
    {"rate", 'r', KIND_UINT, BEN, F(rate), 0, 1000000000},
    {"threads", 'T', KIND_UINT, BEN, F(threads), 1, 256},
    {"json", 0, KIND_FLAG, BEN, F(json), 0, 0},
    {"help", 'h', KIND_HELP, ALL, 0, 0, 0},
    {"version", 'V', KIND_VERSION, ALL, 0, 0, 0},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))

static const char usage_text[] =
    "Usage: tcpecho --server [--host ADDR] [--port N] [--quiet]\n"
    "                        [--max-conns N] [--idle-timeout S]\n"
    "                        [--drain-timeout S] [--stats S]\n"
    "       tcpecho --client [--host ADDR] [--port N] [--message TEXT]\n"
    "                        [--close-after S] [--quiet] [--verbose]\n"
    "       tcpecho --client --count N | --forever [--size BYTES]\n"
    "                        [--interval S] [--timeout S]\n"
    "       tcpecho --client --stdin\n"
    "       tcpecho --bench [--connections C] [--size BYTES] [--pipeline P]\n"
    "                       [--duration S] [--warmup S] [--rate MSGS_PER_S]\n"
    "                       [--threads T] [--json]\n"
    "\n"
    "A TCP echo server, the client of the Go TCP tutorial, a ping over TCP,\n"
    "a pipe through an echo server and a verifying load generator.\n"
    "S: seconds, fractions allowed.\n"
    "\n"
    "  -s, --server               listen and echo every byte back\n"
    "  -c, --client               connect, send the message, log what comes\n"
    "                             back, close after --close-after seconds\n"
    "  -b, --bench                load an echo server, verify every byte\n"
    "  -H, --host ADDR            server: address to listen on (default: all\n"
    "                             interfaces, IPv4 and IPv6); others: host\n"
    "                             to connect to (default: localhost)\n"
    "  -p, --port N               TCP port (default: 8000); the server picks\n"
    "                             a free port with 0\n"
    "  -q, --quiet                do not log the data of every read\n"
    "\n"
    "Server:\n"
    "      --max-conns N          close connections beyond N at once\n"
    "      --idle-timeout S       close sessions idle this long (default: "
    "off)\n"
    "      --drain-timeout S      on SIGINT/SIGTERM, let echoes flush this\n"
    "                             long (default: 5)\n"
    "      --stats S              log a summary line every S seconds\n"
    "\n"
    "Client:\n"
    "  -m, --message TEXT         message to send (default: \"Hi, "
    "beyondyyh\")\n"
    "  -t, --close-after S        close the connection after this long\n"
    "                             (default: 10)\n"
    "  -v, --verbose              log every step (resolve, connect, write,\n"
    "                             read, timer, close) with the time since\n"
    "                             start, to line up with a capture\n"
    "  -n, --count N              ping: N round trips, then a summary\n"
    "      --forever              ping until interrupted (same as -n 0)\n"
    "  -i, --interval S           ping: time between round trips (default: "
    "1)\n"
    "  -W, --timeout S            ping: time to wait for each echo (default:"
    " 5)\n"
    "  -S, --size BYTES           ping/bench: bytes per message\n"
    "      --stdin                copy standard input to the server and the\n"
    "                             echo to standard output, raw\n"
    "\n"
    "Bench:\n"
    "  -C, --connections C        connections (default: 1)\n"
    "  -P, --pipeline P           messages in flight per connection\n"
    "                             (default: 1, ping-pong)\n"
    "  -d, --duration S           measured time (default: 10)\n"
    "      --warmup S             unmeasured time first (default: 1)\n"
    "  -r, --rate N               open loop: N messages/s in all\n"
    "  -T, --threads T            event loops (default: 1)\n"
    "      --json                 print one JSON object as the report\n"
    "\n"
    "  -h, --help                 print this help and exit\n"
    "  -V, --version              print the version and exit\n"
    "\n"
    "Logs go to standard error in Go's log format.\n"
    "Exit status: 0 success, 1 runtime failure (or, client and bench, any\n"
    "lost or wrong byte), 2 usage error.\n";

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

/* Text from the command line inside an error: escaped (and shortened) so
 * that the message stays one line. */
static const char *quoted(char *buf, const char *s, size_t len) {
  log_escape(buf, LOG_ESCAPED_SIZE, s, len);
  return buf;
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
static int parse_uint(const char *s, unsigned long long max,
                      unsigned long long *out) {
  unsigned long long v = 0;
  if (*s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (unsigned long long)(*s - '0');
    if (v > max)
      return -1;
  }
  *out = v;
  return 0;
}

/* "SECONDS[.FRACTION]" to milliseconds, rounded half up to the nearest one.
 * Done on integers so the result depends on neither locale nor float
 * rounding. */
static int parse_seconds_ms(const char *s, unsigned long long max_s,
                            unsigned long long *out_ms) {
  const unsigned long long max_ms = max_s * 1000;
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

static void *field(options_t *o, const opt_spec_t *spec) {
  return (char *)o + spec->offset;
}

static options_result_t apply(options_t *o, const opt_spec_t *spec,
                              const char *shown, const char *value, char *err,
                              size_t err_size) {
  char q[LOG_ESCAPED_SIZE];
  unsigned long long v;

  switch (spec->kind) {
  case KIND_ROLE:
    if (o->role != ROLE_NONE && o->role != (role_t)spec->min)
      return fail(err, err_size,
                  "only one of --server, --client and --bench can be used");
    o->role = (role_t)spec->min;
    break;
  case KIND_FLAG:
    *(int *)field(o, spec) = 1;
    break;
  case KIND_STRING:
    if (*value == '\0' && spec->offset == F(host))
      return fail(err, err_size, "empty value for %s: expected an address",
                  shown);
    *(const char **)field(o, spec) = value;
    if (spec->offset == F(message))
      o->message_len = strlen(value);
    break;
  case KIND_PORT:
    if (parse_uint(value, spec->max, &v) != 0)
      return fail(err, err_size,
                  "invalid port '%s': expected an integer from 0 to 65535",
                  quoted(q, value, strlen(value)));
    *(int *)field(o, spec) = (int)v;
    break;
  case KIND_UINT:
    if (parse_uint(value, spec->max, &v) != 0 || v < spec->min)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected an integer from %llu "
                  "to %llu",
                  quoted(q, value, strlen(value)), shown, spec->min, spec->max);
    *(unsigned long long *)field(o, spec) = v;
    if (spec->offset == F(count))
      o->ping = 1;
    break;
  case KIND_SECONDS:
    if (parse_seconds_ms(value, spec->max, &v) != 0)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected seconds from 0 to "
                  "%llu, like 10 or 0.5",
                  quoted(q, value, strlen(value)), shown, spec->max);
    *(unsigned long long *)field(o, spec) = v;
    break;
  case KIND_HELP:
    return OPTIONS_HELP;
  case KIND_VERSION:
    return OPTIONS_VERSION;
  }
  return OPTIONS_RUN;
}

static const char *role_names(unsigned roles) {
  switch (roles) {
  case SRV:
    return "--server";
  case CLI:
    return "--client";
  case BEN:
    return "--bench";
  case CLI | BEN:
    return "--client and --bench";
  default:
    return "--server and --client";
  }
}

static int seen_opt(unsigned long long seen, const char *long_name) {
  size_t i;
  for (i = 0; i < OPT_COUNT; i++) {
    if (strcmp(opt_table[i].long_name, long_name) == 0)
      return (seen >> i) & 1;
  }
  return 0;
}

static options_result_t check(options_t *o, unsigned long long seen, char *err,
                              size_t err_size) {
  static const char *const not_with_stdin[] = {
      "count", "forever", "interval",   "timeout",
      "size",  "message", "close-after"};
  static const char *const ping_only[] = {"interval", "timeout"};
  size_t i;

  if (o->role == ROLE_NONE)
    return fail(err, err_size,
                "one of --server, --client or --bench is required");
  for (i = 0; i < OPT_COUNT; i++) {
    if (((seen >> i) & 1) && !(opt_table[i].roles & o->role))
      return fail(err, err_size, "--%s applies only to %s",
                  opt_table[i].long_name, role_names(opt_table[i].roles));
  }
  if (o->role != ROLE_SERVER && o->port == 0)
    return fail(err, err_size, "invalid port '0' for %s: expected 1 to 65535",
                o->role == ROLE_CLIENT ? "--client" : "--bench");
  if (o->use_stdin) {
    for (i = 0; i < sizeof(not_with_stdin) / sizeof(not_with_stdin[0]); i++) {
      if (seen_opt(seen, not_with_stdin[i]))
        return fail(err, err_size, "--stdin and --%s cannot be used together",
                    not_with_stdin[i]);
    }
  }
  if (o->ping && seen_opt(seen, "close-after"))
    return fail(err, err_size,
                "--close-after and --count/--forever cannot be used "
                "together");
  if (o->role == ROLE_BENCH && o->duration_ms == 0)
    return fail(err, err_size, "--duration must be more than 0");
  if (o->ping && o->timeout_ms == 0)
    return fail(err, err_size, "--timeout must be more than 0");
  if (o->verbose && (o->ping || o->use_stdin))
    return fail(err, err_size,
                "--verbose applies only to the tutorial client (without "
                "--count, --forever or --stdin)");
  if (seen_opt(seen, "count") && seen_opt(seen, "forever"))
    return fail(err, err_size, "--count and --forever cannot be used together");
  if (o->role == ROLE_CLIENT && !o->ping) {
    for (i = 0; i < sizeof(ping_only) / sizeof(ping_only[0]); i++) {
      if (seen_opt(seen, ping_only[i]))
        return fail(err, err_size, "--%s needs --count or --forever",
                    ping_only[i]);
    }
    if (seen_opt(seen, "size"))
      return fail(err, err_size, "--size needs --count or --forever");
  }
  return OPTIONS_RUN;
}

static void set_defaults(options_t *o) {
  memset(o, 0, sizeof(*o));
  o->port = OPTIONS_DEFAULT_PORT;
  o->message = OPTIONS_DEFAULT_MESSAGE;
  o->message_len = strlen(OPTIONS_DEFAULT_MESSAGE);
  o->close_after_ms = OPTIONS_DEFAULT_CLOSE_AFTER_MS;
  o->interval_ms = 1000;
  o->timeout_ms = 5000;
  o->drain_timeout_ms = 5000;
  o->connections = 1;
  o->pipeline = 1;
  o->duration_ms = 10000;
  o->warmup_ms = 1000;
  o->threads = 1;
}

options_result_t options_parse(int argc, char **argv, options_t *o, char *err,
                               size_t err_size) {
  unsigned long long seen = 0;
  int i, only_operands = 0;
  options_result_t r;

  set_defaults(o);
  if (err_size > 0)
    err[0] = '\0';

  for (i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const opt_spec_t *spec;
    const char *value = NULL;
    char shown[32];
    char q[LOG_ESCAPED_SIZE];

    if (!only_operands && strcmp(arg, "--") == 0) {
      only_operands = 1;
      continue;
    }
    if (only_operands || arg[0] != '-' || arg[1] == '\0')
      return fail(err, err_size, "unexpected argument '%s'",
                  quoted(q, arg, strlen(arg)));

    if (arg[1] == '-') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      spec = find_long(name, len);
      if (spec == NULL)
        return fail(err, err_size, "unknown option '--%s'",
                    quoted(q, name, len));
      snprintf(shown, sizeof(shown), "--%s", spec->long_name);
      if (eq != NULL) {
        if (spec->kind <= KIND_FLAG || spec->kind >= KIND_HELP)
          return fail(err, err_size, "option %s takes no value", shown);
        value = eq + 1;
      }
    } else {
      /* Short options may be bundled (-sq); a value may be attached (-p80). */
      const char *p;
      for (p = arg + 1; *p != '\0'; p++) {
        spec = find_short(*p);
        if (spec == NULL)
          return fail(err, err_size, "unknown option '-%s'", quoted(q, p, 1));
        snprintf(shown, sizeof(shown), "-%c", *p); /* a known option */
        if (spec->kind > KIND_FLAG && spec->kind < KIND_HELP) {
          if (p[1] != '\0')
            value = p + 1;
          break;
        }
        seen |= 1ULL << (spec - opt_table);
        r = apply(o, spec, shown, NULL, err, err_size);
        if (r != OPTIONS_RUN)
          return r;
      }
      if (*p == '\0')
        continue;
    }

    if (spec->kind > KIND_FLAG && spec->kind < KIND_HELP && value == NULL) {
      if (i + 1 >= argc)
        return fail(err, err_size, "option %s needs a value", shown);
      value = argv[++i];
    }
    seen |= 1ULL << (spec - opt_table);
    r = apply(o, spec, shown, value, err, err_size);
    if (r != OPTIONS_RUN)
      return r;
  }

  r = check(o, seen, err, err_size);
  if (r != OPTIONS_RUN)
    return r;
  if (o->role != ROLE_SERVER && o->host == NULL)
    o->host = OPTIONS_DEFAULT_CLIENT_HOST;
  if (o->role == ROLE_BENCH && o->size == 0)
    o->size = 64;
  return OPTIONS_RUN;
}
