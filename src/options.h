/* Command-line options: a pure parser, no I/O, testable without a socket. */
#ifndef TCPECHO_OPTIONS_H
#define TCPECHO_OPTIONS_H

#include <stddef.h>

#define OPTIONS_DEFAULT_PORT 8000
#define OPTIONS_DEFAULT_CLIENT_HOST "localhost"
#define OPTIONS_DEFAULT_MESSAGE "Hi, beyondyyh"
#define OPTIONS_DEFAULT_CLOSE_AFTER_MS 10000
#define OPTIONS_MAX_SECONDS 31536000ULL /* one year */
#define OPTIONS_DEFAULT_UDP_RATE 10000
#define OPTIONS_HOST_MAX 256 /* a host name (253) and its NUL */
/* --client --udp: bytes per datagram, its header (client/udp_ping_wire.h)
 * to the largest datagram over IPv6. */
#define OPTIONS_UDP_PING_MIN_SIZE 32
#define OPTIONS_UDP_PING_MAX_SIZE 65527
#define OPTIONS_UDP_PING_DEFAULT_SIZE 64
/* --bench --udp: how long each echo may take, by default. */
#define OPTIONS_UDP_BENCH_DEFAULT_TIMEOUT_MS 1000

/* Exit statuses, documented in the man page and README. */
enum { EXIT_STATUS_OK = 0, EXIT_STATUS_FAILURE = 1, EXIT_STATUS_USAGE = 2 };

/* The five programs in one binary; bits, so that an option can name every
 * mode it applies to. */
typedef enum {
  MODE_NONE = 0,
  MODE_SERVER = 1 << 0, /* --server */
  MODE_CLIENT = 1 << 1, /* --client: the tutorial's client */
  MODE_PING = 1 << 2,   /* --client --count N / --forever */
  MODE_PIPE = 1 << 3,   /* --client --stdin */
  MODE_BENCH = 1 << 4,  /* --bench */
  MODE_MERGE = 1 << 5   /* --bench-merge FILE...: bench reports added up */
} run_mode_t;

/* --bench-merge takes at most this many report files. */
#define OPTIONS_MAX_FILES 256

#define MODES_CLIENT (MODE_CLIENT | MODE_PING | MODE_PIPE)

/* Durations are in milliseconds; 0 means "off" where the option says so. */
typedef struct options_s {
  run_mode_t mode;
  const char *host; /* NULL: server listens on all interfaces */
  int port;         /* 0..65535; 0 only for the server */
  int port_given;   /* --port was on the command line */
  int quiet;        /* 1: no per-read (or per-round-trip) lines; 2 (-qq):
                       the server logs no line per session either */
  int verbose;      /* client: every libuv step; server, bench: set-up */
  unsigned long long connect_timeout_ms; /* client modes and bench */

  /* client */
  const char *message;
  size_t message_len;
  unsigned long long close_after_ms;
  unsigned long long count; /* ping: round trips; 0: until interrupted;
                               bench --churn: messages per session */
  unsigned long long interval_ms;
  unsigned long long timeout_ms; /* ping: per round trip; pipe: no progress */

  /* client (ping) and bench */
  unsigned long long size; /* bytes per message; 0: the message's length */

  /* server */
  unsigned long long max_conns; /* 0: no limit */
  unsigned long long idle_timeout_ms;
  unsigned long long drain_timeout_ms;
  unsigned long long stats_ms;
  int proxy_protocol; /* connections start with a PROXY protocol header */
  unsigned long long proxy_timeout_ms; /* for that header */
  int udp; /* server: UDP echo beside TCP, on the same port; ping, bench:
              over UDP */
  unsigned long long udp_rate; /* datagrams/s per source; 0: no limit */
  /* --metrics [HOST:]PORT: Prometheus metrics over HTTP. metrics_port -1:
   * off; metrics_host "": all interfaces ("PORT" alone is 127.0.0.1). */
  int metrics_port;
  char metrics_host[OPTIONS_HOST_MAX];

  /* server and bench: event loops, one thread each; 0: "auto" */
  unsigned long long threads;

  /* bench */
  unsigned long long connections;
  unsigned long long pipeline;
  unsigned long long duration_ms;
  unsigned long long warmup_ms;
  unsigned long long rate; /* messages per second in all; 0: closed loop */
  int churn; /* each connection loops connect, --count messages, close */
  int json;
  int json_stream;        /* a JSON line per second, then the JSON report */
  const char *source_ips; /* bind connections to these, in turn */
  const char *hgrm_path;  /* write the latency distribution here */
  unsigned long long max_loss; /* --udp: thousandths of a percent */

  /* --bench-merge: the report files, in order ("-": standard input) */
  const char *files[OPTIONS_MAX_FILES];
  size_t file_count;
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
