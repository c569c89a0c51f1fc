#include "options.h"

#include "base/addr.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ANY_MODE (MODE_SERVER | MODES_CLIENT | MODE_BENCH)
#define DIALLING (MODES_CLIENT | MODE_BENCH)

typedef enum {
  KIND_MODE,    /* --server, --client, --bench */
  KIND_FLAG,    /* int field set to 1 */
  KIND_STRING,  /* const char * field */
  KIND_PORT,    /* int field, 0..65535 */
  KIND_UINT,    /* unsigned long long field, min..max */
  KIND_THREADS, /* as KIND_UINT, or "auto": 0 */
  KIND_SECONDS, /* unsigned long long field in ms, min ms..max seconds */
  KIND_PERCENT, /* unsigned long long field in thousandths, 0..100 % */
  KIND_LISTEN,  /* [HOST:]PORT: metrics_host and metrics_port */
  KIND_HELP,
  KIND_VERSION
} opt_kind_t;

typedef struct {
  const char *long_name;
  char short_name; /* 0: none */
  opt_kind_t kind;
  unsigned applies_to; /* run_mode_t bits */
  size_t offset;       /* of its field in options_t */
  unsigned long long min, max;
  run_mode_t sets_mode; /* what it selects: --server, --count, --stdin, ... */
} opt_spec_t;

#define FIELD(name) offsetof(options_t, name)
#define NO_FIELD 0

static const opt_spec_t opt_table[] = {
    {"server", 's', KIND_MODE, ANY_MODE, NO_FIELD, 0, 0, MODE_SERVER},
    {"client", 'c', KIND_MODE, ANY_MODE, NO_FIELD, 0, 0, MODE_CLIENT},
    {"bench", 'b', KIND_MODE, ANY_MODE, NO_FIELD, 0, 0, MODE_BENCH},
    {"bench-merge", 0, KIND_MODE, MODE_MERGE, NO_FIELD, 0, 0, MODE_MERGE},
    {"host", 'H', KIND_STRING, ANY_MODE, FIELD(host), 0, 0, 0},
    {"port", 'p', KIND_PORT, ANY_MODE, FIELD(port), 0, 65535, 0},
    {"quiet", 'q', KIND_FLAG, ANY_MODE, FIELD(quiet), 0, 0, 0},
    {"verbose", 'v', KIND_FLAG, MODE_SERVER | MODE_CLIENT | MODE_BENCH,
     FIELD(verbose), 0, 0, 0},
    {"connect-timeout", 0, KIND_SECONDS, DIALLING, FIELD(connect_timeout_ms), 1,
     OPTIONS_MAX_SECONDS, 0},
    {"message", 'm', KIND_STRING, MODE_CLIENT | MODE_PING, FIELD(message), 0, 0,
     0},
    {"close-after", 't', KIND_SECONDS, MODE_CLIENT, FIELD(close_after_ms), 0,
     OPTIONS_MAX_SECONDS, 0},
    {"count", 'n', KIND_UINT, MODE_PING | MODE_BENCH, FIELD(count), 0,
     1000000000000ULL, MODE_PING},
    {"forever", 0, KIND_FLAG, MODE_PING, NO_FIELD, 0, 0, MODE_PING},
    {"interval", 'i', KIND_SECONDS, MODE_PING, FIELD(interval_ms), 0,
     OPTIONS_MAX_SECONDS, 0},
    {"timeout", 'W', KIND_SECONDS, MODE_PING | MODE_PIPE | MODE_BENCH,
     FIELD(timeout_ms), 1, OPTIONS_MAX_SECONDS, 0},
    {"stdin", 0, KIND_FLAG, MODE_PIPE, NO_FIELD, 0, 0, MODE_PIPE},
    {"size", 'S', KIND_UINT, MODE_PING | MODE_BENCH, FIELD(size), 1,
     16 * 1024 * 1024, 0},
    {"max-conns", 0, KIND_UINT, MODE_SERVER, FIELD(max_conns), 1, 100000000, 0},
    {"idle-timeout", 0, KIND_SECONDS, MODE_SERVER, FIELD(idle_timeout_ms), 0,
     24 * 86400, 0}, /* under 2^31 ms: sessions stamp activity in 32 bits */
    {"drain-timeout", 0, KIND_SECONDS, MODE_SERVER, FIELD(drain_timeout_ms), 0,
     OPTIONS_MAX_SECONDS, 0},
    {"stats", 0, KIND_SECONDS, MODE_SERVER, FIELD(stats_ms), 0,
     OPTIONS_MAX_SECONDS, 0},
    {"proxy-protocol", 0, KIND_FLAG, MODE_SERVER, FIELD(proxy_protocol), 0, 0,
     0},
    {"proxy-timeout", 0, KIND_SECONDS, MODE_SERVER, FIELD(proxy_timeout_ms), 1,
     24 * 86400, 0}, /* like --idle-timeout: stamps are 32-bit ms */
    {"udp", 'u', KIND_FLAG, MODE_SERVER | MODE_PING | MODE_BENCH, FIELD(udp), 0,
     0, 0},
    {"udp-rate", 0, KIND_UINT, MODE_SERVER, FIELD(udp_rate), 0, 10000000, 0},
    {"metrics", 0, KIND_LISTEN, MODE_SERVER, FIELD(metrics_port), 0, 65535, 0},
    {"connections", 'C', KIND_UINT, MODE_BENCH, FIELD(connections), 1, 1000000,
     0},
    {"pipeline", 'P', KIND_UINT, MODE_BENCH, FIELD(pipeline), 1, 65536, 0},
    {"duration", 'd', KIND_SECONDS, MODE_BENCH, FIELD(duration_ms), 1,
     OPTIONS_MAX_SECONDS, 0},
    {"warmup", 0, KIND_SECONDS, MODE_BENCH, FIELD(warmup_ms), 0,
     OPTIONS_MAX_SECONDS, 0},
    {"rate", 'r', KIND_UINT, MODE_BENCH, FIELD(rate), 0, 1000000000, 0},
    {"threads", 'T', KIND_THREADS, MODE_SERVER | MODE_BENCH, FIELD(threads), 1,
     256, 0},
    {"churn", 0, KIND_FLAG, MODE_BENCH, FIELD(churn), 0, 0, 0},
    {"json", 0, KIND_FLAG, MODE_BENCH | MODE_MERGE, FIELD(json), 0, 0, 0},
    {"json-stream", 0, KIND_FLAG, MODE_BENCH, FIELD(json_stream), 0, 0, 0},
    {"hgrm", 0, KIND_STRING, MODE_BENCH, FIELD(hgrm_path), 0, 0, 0},
    {"source-ip", 0, KIND_STRING, MODE_BENCH, FIELD(source_ips), 0, 0, 0},
    {"max-loss", 0, KIND_PERCENT, MODE_BENCH, FIELD(max_loss), 0, 100, 0},
    {"help", 'h', KIND_HELP, ANY_MODE, NO_FIELD, 0, 0, 0},
    {"version", 'V', KIND_VERSION, ANY_MODE, NO_FIELD, 0, 0, 0},
};

#define OPT_COUNT (sizeof(opt_table) / sizeof(opt_table[0]))
/* The options seen are bits of one unsigned long long. */
typedef char opt_count_fits_in_seen[OPT_COUNT <= 64 ? 1 : -1];

static const char usage_text[] =
    "Usage: tcpecho --server [--host ADDR] [--port N] [--quiet] [--verbose]\n"
    "                        [--max-conns N] [--idle-timeout S]\n"
    "                        [--drain-timeout S] [--stats S]\n"
    "                        [--proxy-protocol] [--proxy-timeout S]\n"
    "                        [--threads N|auto] [--udp] [--udp-rate N]\n"
    "                        [--metrics [HOST:]PORT]\n"
    "       tcpecho --client [--host ADDR] [--port N] [--message TEXT]\n"
    "                        [--close-after S] [--quiet] [--verbose]\n"
    "                        [--connect-timeout S]\n"
    "       tcpecho --client --count N | --forever [--host ADDR] [--port N]\n"
    "                        [--message TEXT | --size BYTES] [--interval S]\n"
    "                        [--timeout S] [--connect-timeout S] [--quiet]\n"
    "       tcpecho --client --udp --count N | --forever [--host ADDR]\n"
    "                        [--port N] [--size BYTES] [--interval S]\n"
    "                        [--timeout S] [--quiet]\n"
    "       tcpecho --client --stdin [--host ADDR] [--port N] [--timeout S]\n"
    "                        [--connect-timeout S] [--quiet]\n"
    "       tcpecho --bench [--host ADDR] [--port N] [--connections C]\n"
    "                       [--size BYTES] [--pipeline P] [--duration S]\n"
    "                       [--warmup S] [--rate MSGS_PER_S]\n"
    "                       [--churn [--count N]] [--threads N|auto]\n"
    "                       [--source-ip LIST]\n"
    "                       [--json] [--json-stream] [--hgrm FILE]\n"
    "                       [--quiet] [--verbose]\n"
    "                       [--connect-timeout S]\n"
    "       tcpecho --bench --udp --rate DATAGRAMS_PER_S [--host ADDR]\n"
    "                       [--port N] [--connections C] [--size BYTES]\n"
    "                       [--duration S] [--warmup S] [--timeout S]\n"
    "                       [--max-loss PCT] [--threads N|auto]\n"
    "                       [--source-ip LIST] [--json] [--json-stream]\n"
    "                       [--hgrm FILE] [--quiet] [--verbose]\n"
    "       tcpecho --bench-merge FILE... [--json]\n"
    "\n"
    "A TCP (and UDP) echo server, the client of the Go TCP tutorial, a ping\n"
    "over TCP or UDP, a pipe through an echo server and a verifying load\n"
    "generator.\n"
    "S: seconds, fractions allowed, at least 0.001 unless 0.\n"
    "\n"
    "  -s, --server               listen and echo every byte back\n"
    "  -c, --client               connect, send the message, log what comes\n"
    "                             back, close after --close-after seconds\n"
    "  -b, --bench                load an echo server, verify every byte\n"
    "      --bench-merge FILE...  add up --bench --json reports of runs made\n"
    "                             side by side (\"-\": standard input)\n"
    "  -H, --host ADDR            server: address to listen on (default: all\n"
    "                             interfaces, IPv4 and IPv6); others: host\n"
    "                             to connect to (default: localhost)\n"
    "  -p, --port N               TCP port (default: 8000); the server picks\n"
    "                             a free port with 0\n"
    "  -q, --quiet                no line per read or round trip (ping: the\n"
    "                             summary only; bench: no live line);\n"
    "                             twice (-qq), server: no line per session\n"
    "  -v, --verbose              client: log every step (resolve, connect,\n"
    "                             write, read, timer, close) with the time\n"
    "                             since start; server, bench: log the set-up\n"
    "      --connect-timeout S    client, bench: give up connecting after\n"
    "                             this long, all addresses (default: 10)\n"
    "  -T, --threads N|auto       server, bench: event loops, one thread\n"
    "                             each (default: 1; auto: one per CPU)\n"
    "\n"
    "Server:\n"
    "      --max-conns N          close connections beyond N at once\n"
    "      --idle-timeout S       close sessions idle this long (default: "
    "off)\n"
    "      --drain-timeout S      on SIGINT/SIGTERM/SIGHUP, let echoes flush\n"
    "                             this long (default: 5)\n"
    "      --stats S              log a summary line every S seconds\n"
    "      --proxy-protocol       every connection starts with a PROXY\n"
    "                             protocol header (v1 or v2): log its\n"
    "                             client, echo only what follows it\n"
    "      --proxy-timeout S      close connections without a whole\n"
    "                             header after this long (default: 5)\n"
    "  -u, --udp                  echo UDP datagrams too, on the same port\n"
    "                             and address(es); ping, bench: over UDP\n"
    "      --udp-rate N           UDP: answer each source address at most\n"
    "                             N datagrams/s (default: 10000; 0: no\n"
    "                             limit)\n"
    "      --metrics [HOST:]PORT  serve Prometheus metrics over HTTP at\n"
    "                             /metrics (HOST default: 127.0.0.1;\n"
    "                             :PORT for all interfaces)\n"
    "\n"
    "Client:\n"
    "  -m, --message TEXT         message to send (default: \"Hi, "
    "beyondyyh\")\n"
    "  -t, --close-after S        close the connection after this long\n"
    "                             (default: 10)\n"
    "  -n, --count N              ping: N round trips, then a summary;\n"
    "                             bench --churn: messages per session\n"
    "      --forever              ping until interrupted (same as -n 0)\n"
    "  -i, --interval S           ping: time between round trips (default: "
    "1)\n"
    "  -W, --timeout S            ping: time to wait for each echo; stdin: "
    "for\n"
    "                             progress and the server's close (default: "
    "5);\n"
    "                             bench --udp: for each echo (default: 1)\n"
    "  -S, --size BYTES           ping/bench: bytes per message (UDP: per\n"
    "                             datagram, 32 to 65527, default: 64)\n"
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
    "      --churn                each connection loops: connect, --count\n"
    "                             messages (default: 1) echoed, close\n"
    "      --json                 print one JSON object as the report\n"
    "      --json-stream          also one JSON object per second while it\n"
    "                             runs, before the report\n"
    "      --hgrm FILE            write the latency distribution to FILE\n"
    "                             (HdrHistogram's text, microseconds)\n"
    "      --source-ip LIST       bind connections to these local addresses\n"
    "                             in turn (comma-separated): more than one\n"
    "                             address's ephemeral ports\n"
    "      --max-loss PCT         --udp: fail if more of the datagrams are\n"
    "                             lost (default: 0)\n"
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

/* "PORT" (on 127.0.0.1), ":PORT" (all interfaces: host ""), "HOST:PORT"
 * or "[IPV6]:PORT"; an IPv6 address needs its brackets, since its colons
 * would be taken for the port's. */
static int parse_listen(const char *s, char *host, size_t host_size,
                        int *port) {
  const char *colon = strrchr(s, ':'), *start = s, *port_text;
  unsigned long long v;
  size_t len;

  if (colon == NULL) {
    start = "127.0.0.1";
    len = strlen(start);
    port_text = s;
  } else if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (close == NULL || close == s + 1 || close + 1 != colon)
      return -1;
    start = s + 1;
    len = (size_t)(close - start);
    port_text = colon + 1;
  } else if (strchr(s, ':') != colon) {
    return -1;
  } else {
    len = (size_t)(colon - s);
    port_text = colon + 1;
  }
  if (len >= host_size || parse_uint(port_text, 65535, &v) != 0)
    return -1;
  memcpy(host, start, len);
  host[len] = '\0';
  *port = (int)v;
  return 0;
}

/* "SECONDS[.FRACTION]" to milliseconds, rounded half up to the nearest one.
 * Done on integers so the result depends on neither locale nor float
 * rounding. */
static int parse_seconds_ms(const char *s, unsigned long long max_s,
                            unsigned long long *out_ms, int *nonzero) {
  const unsigned long long max_ms = max_s * 1000;
  unsigned long long ms = 0;
  int digits = 0, frac_digits = 0;
  const char *start = s;

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
  *nonzero = strspn(start, "0.") != strlen(start);
  return 0;
}

static void *field(options_t *o, const opt_spec_t *spec) {
  return (char *)o + spec->offset;
}

static options_result_t apply_seconds(options_t *o, const opt_spec_t *spec,
                                      const char *shown, const char *value,
                                      char *err, size_t err_size) {
  char q[LOG_ESCAPED_SIZE];
  unsigned long long ms;
  int nonzero;

  if (parse_seconds_ms(value, spec->max, &ms, &nonzero) != 0)
    return fail(err, err_size,
                "invalid value '%s' for %s: expected seconds from %s to %llu, "
                "like 10 or 0.5",
                quoted(q, value, strlen(value)), shown,
                spec->min > 0 ? "0.001" : "0", spec->max);
  /* Rounded to 0 it would silently mean "off" (or be refused as 0). */
  if (ms == 0 && nonzero)
    return fail(err, err_size,
                "invalid value '%s' for %s: below 1 ms, the resolution%s",
                quoted(q, value, strlen(value)), shown,
                spec->min > 0 ? "" : " (0 turns it off)");
  if (ms < spec->min)
    return fail(err, err_size, "--%s must be more than 0", spec->long_name);
  *(unsigned long long *)field(o, spec) = ms;
  return OPTIONS_RUN;
}

static options_result_t apply(options_t *o, const opt_spec_t *spec,
                              const char *shown, const char *value, char *err,
                              size_t err_size) {
  char q[LOG_ESCAPED_SIZE];
  unsigned long long v;

  switch (spec->kind) {
  case KIND_MODE:
    if (o->mode != MODE_NONE && o->mode != spec->sets_mode)
      return fail(err, err_size,
                  (o->mode | spec->sets_mode) & MODE_MERGE
                      ? "--bench-merge cannot be used with --server, "
                        "--client or --bench"
                      : "only one of --server, --client and --bench can be "
                        "used");
    o->mode = spec->sets_mode;
    break;
  case KIND_FLAG:
    /* --quiet counts: twice is quieter still (-qq). */
    if (spec->offset == FIELD(quiet))
      o->quiet += o->quiet < 2;
    else if (spec->offset != NO_FIELD)
      *(int *)field(o, spec) = 1;
    break;
  case KIND_STRING:
    if (*value == '\0' && spec->offset == FIELD(host))
      return fail(err, err_size, "empty value for %s: expected an address",
                  shown);
    *(const char **)field(o, spec) = value;
    if (spec->offset == FIELD(message))
      o->message_len = strlen(value);
    break;
  case KIND_PORT:
    if (parse_uint(value, spec->max, &v) != 0)
      return fail(err, err_size,
                  "invalid port '%s': expected an integer from 0 to 65535",
                  quoted(q, value, strlen(value)));
    *(int *)field(o, spec) = (int)v;
    o->port_given = 1;
    break;
  case KIND_UINT:
    if (parse_uint(value, spec->max, &v) != 0 || v < spec->min)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected an integer from %llu "
                  "to %llu",
                  quoted(q, value, strlen(value)), shown, spec->min, spec->max);
    *(unsigned long long *)field(o, spec) = v;
    break;
  case KIND_THREADS:
    if (strcmp(value, "auto") == 0) {
      *(unsigned long long *)field(o, spec) = 0;
      break;
    }
    if (parse_uint(value, spec->max, &v) != 0 || v < spec->min)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected an integer from %llu "
                  "to %llu, or auto",
                  quoted(q, value, strlen(value)), shown, spec->min, spec->max);
    *(unsigned long long *)field(o, spec) = v;
    break;
  case KIND_SECONDS:
    return apply_seconds(o, spec, shown, value, err, err_size);
  case KIND_PERCENT: {
    int nonzero;
    /* Seconds to ms is the same sum: three decimals, rounded half up. */
    if (parse_seconds_ms(value, spec->max, &v, &nonzero) != 0)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected a percentage from 0 "
                  "to 100, like 0.1",
                  quoted(q, value, strlen(value)), shown);
    *(unsigned long long *)field(o, spec) = v;
    break;
  }
  case KIND_LISTEN:
    if (parse_listen(value, o->metrics_host, sizeof(o->metrics_host),
                     &o->metrics_port) != 0)
      return fail(err, err_size,
                  "invalid value '%s' for %s: expected PORT, HOST:PORT or "
                  "[IPV6]:PORT, the port from 0 to 65535",
                  quoted(q, value, strlen(value)), shown);
    break;
  case KIND_HELP:
    return OPTIONS_HELP;
  case KIND_VERSION:
    return OPTIONS_VERSION;
  }
  return OPTIONS_RUN;
}

static const opt_spec_t *find_seen(unsigned long long seen, run_mode_t sets) {
  size_t i;
  for (i = 0; i < OPT_COUNT; i++) {
    if (((seen >> i) & 1) && opt_table[i].sets_mode == sets)
      return &opt_table[i];
  }
  return NULL;
}

/* --client plus --count/--forever is ping, plus --stdin the pipe. */
static options_result_t settle_mode(options_t *o, unsigned long long seen,
                                    char *err, size_t err_size) {
  const opt_spec_t *count = find_seen(seen, MODE_PING);
  const opt_spec_t *pipe = find_seen(seen, MODE_PIPE);

  if (o->mode == MODE_NONE)
    return fail(err, err_size,
                "one of --server, --client or --bench is required");
  if (o->mode != MODE_CLIENT)
    return OPTIONS_RUN;
  if (pipe != NULL && count != NULL)
    return fail(err, err_size, "--stdin and --%s cannot be used together",
                count->long_name);
  if (count != NULL &&
      find_seen(seen & ~(1ULL << (count - opt_table)), MODE_PING) != NULL)
    return fail(err, err_size, "--count and --forever cannot be used together");
  o->mode = pipe ? MODE_PIPE : count ? MODE_PING : MODE_CLIENT;
  return OPTIONS_RUN;
}

/* Where an option applies, in the words of the command line. */
static const char *mode_names(unsigned modes) {
  if (modes == ANY_MODE)
    return "--server, --client and --bench";
  if (modes == (MODE_SERVER | MODE_CLIENT | MODE_BENCH))
    return "--server, --bench and the tutorial client (--client without "
           "--count, --forever or --stdin)";
  if ((modes & ~(unsigned)MODES_CLIENT) == 0)
    return "--client";
  if (modes == MODE_SERVER)
    return "--server";
  if (modes == MODE_BENCH)
    return "--bench";
  if (modes == (MODE_BENCH | MODE_MERGE))
    return "--bench and --bench-merge";
  if ((modes & MODE_SERVER) == 0)
    return "--client and --bench";
  if (modes == (MODE_SERVER | MODE_PING | MODE_BENCH))
    return "--server, --client and --bench";
  if ((modes & MODES_CLIENT) == 0)
    return "--server and --bench";
  return "--server and --client";
}

/* An option the mode does not take: said as the user would think of it. */
static options_result_t misplaced(const options_t *o, const opt_spec_t *spec,
                                  char *err, size_t err_size) {
  const char *name = spec->long_name;
  unsigned client_modes = spec->applies_to & MODES_CLIENT;

  if (o->mode & MODES_CLIENT && client_modes != 0) {
    if (o->mode == MODE_PIPE)
      return fail(err, err_size, "--stdin and --%s cannot be used together",
                  name);
    if (o->mode == MODE_CLIENT && client_modes & MODE_PING)
      return fail(err, err_size, "--%s needs --count or --forever%s", name,
                  client_modes & MODE_PIPE ? " (or --stdin)" : "");
    if (o->mode == MODE_PING)
      return fail(err, err_size,
                  "--%s and --count/--forever cannot be used together", name);
  }
  return fail(err, err_size, "--%s applies only to %s", name,
              mode_names(spec->applies_to));
}

static int was_seen(unsigned long long seen, const char *name);

/* --udp: open loop only, datagrams of the UDP ping's format. */
static options_result_t check_udp_bench(options_t *o, unsigned long long seen,
                                        char *err, size_t err_size) {
  static const char *const tcp_only[] = {"churn", "pipeline",
                                         "connect-timeout"};
  size_t i;

  if (!o->udp) {
    if (was_seen(seen, "timeout") || was_seen(seen, "max-loss"))
      return fail(err, err_size, "--%s needs --udp with --bench",
                  was_seen(seen, "timeout") ? "timeout" : "max-loss");
    return OPTIONS_RUN;
  }
  for (i = 0; i < sizeof(tcp_only) / sizeof(tcp_only[0]); i++) {
    if (was_seen(seen, tcp_only[i]))
      return fail(err, err_size,
                  "--%s and --udp cannot be used together: UDP load has "
                  "no connections, only datagrams on a schedule",
                  tcp_only[i]);
  }
  if (o->rate == 0)
    return fail(err, err_size,
                "--udp with --bench needs --rate: UDP load is open loop "
                "only");
  if (o->size == 0)
    o->size = OPTIONS_UDP_PING_DEFAULT_SIZE;
  if (o->size < OPTIONS_UDP_PING_MIN_SIZE ||
      o->size > OPTIONS_UDP_PING_MAX_SIZE)
    return fail(err, err_size,
                "invalid value '%llu' for --size with --udp: expected an "
                "integer from %d to %d",
                o->size, OPTIONS_UDP_PING_MIN_SIZE, OPTIONS_UDP_PING_MAX_SIZE);
  if (!was_seen(seen, "timeout"))
    o->timeout_ms = OPTIONS_UDP_BENCH_DEFAULT_TIMEOUT_MS;
  return OPTIONS_RUN;
}

/* --churn's sessions: --count messages each (default 1), closed loop. */
static options_result_t check_bench(options_t *o, unsigned long long seen,
                                    char *err, size_t err_size) {
  options_result_t r = check_udp_bench(o, seen, err, err_size);
  if (r != OPTIONS_RUN)
    return r;
  if (find_seen(seen, MODE_PING) != NULL && !o->churn)
    return fail(err, err_size, "--count needs --churn with --bench");
  if (o->churn && o->rate > 0)
    return fail(err, err_size, "--churn and --rate cannot be used together");
  if (o->churn && find_seen(seen, MODE_PING) != NULL && o->count == 0)
    return fail(err, err_size, "--count must be more than 0 with --churn");
  if (o->churn && o->count == 0)
    o->count = 1;
  if (o->source_ips != NULL) {
    struct sockaddr_storage addrs[ADDR_LIST_MAX];
    const char *bad;
    size_t bad_len;
    char q[LOG_ESCAPED_SIZE];
    if (addr_parse_list(o->source_ips, addrs, ADDR_LIST_MAX, &bad, &bad_len) <
        0)
      return fail(err, err_size,
                  "invalid address '%s' in --source-ip: expected up to %d "
                  "IPv4 or IPv6 addresses, comma-separated",
                  quoted(q, bad, bad_len), ADDR_LIST_MAX);
  }
  return OPTIONS_RUN;
}

static int was_seen(unsigned long long seen, const char *name) {
  const opt_spec_t *spec = find_long(name, strlen(name));
  return spec != NULL && ((seen >> (spec - opt_table)) & 1);
}

/* Ping over UDP sends datagrams of its own format, and connects nothing. */
static options_result_t check_udp_ping(const options_t *o,
                                       unsigned long long seen, char *err,
                                       size_t err_size) {
  if (was_seen(seen, "message"))
    return fail(err, err_size,
                "--message and --udp cannot be used together: UDP ping "
                "sends --size bytes of its own");
  if (was_seen(seen, "connect-timeout"))
    return fail(err, err_size,
                "--connect-timeout and --udp cannot be used together: UDP "
                "has no connection to make");
  if (was_seen(seen, "size") && (o->size < OPTIONS_UDP_PING_MIN_SIZE ||
                                 o->size > OPTIONS_UDP_PING_MAX_SIZE))
    return fail(err, err_size,
                "invalid value '%llu' for --size with --udp: expected an "
                "integer from %d to %d",
                o->size, OPTIONS_UDP_PING_MIN_SIZE, OPTIONS_UDP_PING_MAX_SIZE);
  return OPTIONS_RUN;
}

static options_result_t check(options_t *o, unsigned long long seen, char *err,
                              size_t err_size) {
  options_result_t r = settle_mode(o, seen, err, err_size);
  char q[LOG_ESCAPED_SIZE];
  size_t i;

  if (r != OPTIONS_RUN)
    return r;
  if (o->mode != MODE_MERGE && o->file_count > 0)
    return fail(err, err_size, "unexpected argument '%s'",
                quoted(q, o->files[0], strlen(o->files[0])));
  if (o->mode == MODE_MERGE && o->file_count == 0)
    return fail(err, err_size,
                "--bench-merge needs the report files to merge: "
                "--bench-merge FILE...");
  for (i = 0; i < OPT_COUNT; i++) {
    if (((seen >> i) & 1) && !(opt_table[i].applies_to & o->mode))
      return misplaced(o, &opt_table[i], err, err_size);
  }
  if (o->mode == MODE_PING && o->udp) {
    r = check_udp_ping(o, seen, err, err_size);
    if (r != OPTIONS_RUN)
      return r;
  }
  if (o->mode != MODE_SERVER && o->port == 0)
    return fail(err, err_size, "invalid port '0' for %s: expected 1 to 65535",
                o->mode == MODE_BENCH ? "--bench" : "--client");
  if (o->mode == MODE_BENCH)
    return check_bench(o, seen, err, err_size);
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
  o->connect_timeout_ms = 10000;
  o->drain_timeout_ms = 5000;
  o->proxy_timeout_ms = 5000;
  o->metrics_port = -1;
  o->connections = 1;
  o->pipeline = 1;
  o->duration_ms = 10000;
  o->warmup_ms = 1000;
  o->threads = 1;
  o->udp_rate = OPTIONS_DEFAULT_UDP_RATE;
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
    if (only_operands || arg[0] != '-' || arg[1] == '\0') {
      /* Kept for --bench-merge; check() refuses them for the others. */
      if (o->file_count == OPTIONS_MAX_FILES)
        return fail(err, err_size, "too many files: at most %d",
                    OPTIONS_MAX_FILES);
      o->files[o->file_count++] = arg;
      continue;
    }

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
  if (o->mode != MODE_SERVER && o->host == NULL)
    o->host = OPTIONS_DEFAULT_CLIENT_HOST;
  if (o->mode == MODE_BENCH && o->size == 0)
    o->size = 64;
  if (o->mode == MODE_PING && o->udp && o->size == 0)
    o->size = OPTIONS_UDP_PING_DEFAULT_SIZE;
  return OPTIONS_RUN;
}
