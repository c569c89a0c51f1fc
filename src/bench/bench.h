/* The load generator: C connections to any echo server, each sending its
 * own pseudo-random byte stream, every echoed byte verified; closed loop
 * (P messages in flight per connection) or open loop at a fixed rate, with
 * latency against the schedule so that stalls are not hidden.
 *
 * Memory does not grow with the message size: streams are made and checked
 * BENCH_CHUNK bytes at a time, and a connection holds at most one chunk
 * queued plus 8 bytes per message in flight (16 in open loop); each loop
 * holds about 320 KiB (buffers and two histograms), 58 KiB more for each
 * further histogram its mode keeps. */
#ifndef TCPECHO_BENCH_H
#define TCPECHO_BENCH_H

#include "base/histogram.h"
#include "bench/interval.h"
#include "bench/udp_flow.h"

#include <stdint.h>

#define BENCH_CHUNK 65536

/* --json-stream: one second of the measured time, all loops added up. */
typedef struct bench_interval_s {
  uint64_t index;          /* 0 for the first second */
  double start_s, end_s;   /* from the start of the measured time */
  const interval_t *delta; /* this second's counts and latencies */
  interval_totals_t total; /* everything up to its end */
} bench_interval_t;

typedef void (*bench_interval_cb)(const bench_interval_t *interval, void *arg);

typedef struct bench_config_s {
  const char *host;
  int port;
  uint64_t connections;
  uint64_t size;     /* bytes per message */
  uint64_t pipeline; /* messages in flight per connection (closed loop) */
  uint64_t duration_ms;
  uint64_t warmup_ms;
  uint64_t rate;    /* messages per second in all; 0: closed loop */
  uint64_t threads; /* event loops, each on its own thread */
  uint64_t connect_timeout_ms;
  uint64_t churn; /* messages per session, each on a new connection; 0: off */
  const char *source_ips; /* "ADDR,ADDR...": bound in turn; NULL: none */
  /* --udp (open loop only): connections are UDP sockets, messages
   * datagrams of size bytes, each awaited timeout_ms; over max_loss
   * (thousandths of a percent) of them lost fails the run. */
  int udp;
  uint64_t timeout_ms;
  uint64_t max_loss;
  int json;
  int live; /* a progress line each second on stderr */
  /* Called on the thread that called bench_run, once per second of the
   * measured time, in order, the last one (partial) after the loops end;
   * its errors hold those before the measured time in the first, and
   * those after it in the last, so the intervals add up to the result.
   * NULL: none. */
  bench_interval_cb on_interval;
  void *interval_arg;
} bench_config_t;

/* What went wrong, by kind; any of them fails the run. */
typedef struct bench_errors_s {
  uint64_t connect;     /* could not connect */
  uint64_t corrupted;   /* an echoed byte differs from the one sent */
  uint64_t extra;       /* more bytes came back than were sent */
  uint64_t missing;     /* sent bytes that never came back */
  uint64_t early_close; /* the server closed or reset a connection */
  uint64_t local;       /* ours: out of memory or descriptors */
} bench_errors_t;

typedef struct bench_result_s {
  uint64_t messages;    /* round trips completed in the measured time */
  uint64_t sent;        /* open loop: messages written in the measured time */
  uint64_t late;        /* of those, written over 1 ms after they were due */
  uint64_t held;        /* of those, held back by the in-flight cap */
  uint64_t sessions;    /* churn: sessions completed in the measured time */
  uint64_t opened;      /* churn: connections made, the first ones too */
  uint64_t completed;   /* churn: of those, sessions completed and verified */
  uint64_t no_port;     /* connects lost for lack of local ports */
  uint64_t no_fd;       /* connects lost for lack of descriptors */
  uint64_t fd_limit;    /* the process's, 0 where there is none */
  uint64_t bytes;       /* their bytes, each way */
  double seconds;       /* measured time */
  double setup_seconds; /* connecting every connection */
  uint64_t connected;   /* connections established */
  uint64_t threads;     /* event loops run */
  uint64_t reports;     /* runs merged into this one (--bench-merge); 1 */
  bench_errors_t errors;
  udp_flow_counts_t udp; /* --udp: the datagrams of the measured time */
  uint64_t net_errors;   /* --udp: errors the network reported (ICMP) */
  int first_net_error;
  histogram_t latency; /* ns; closed loop: from send, open loop: from when
                          the message was due */
  histogram_t service; /* ns; open loop: from when the message was written */
  histogram_t connect; /* ns; each connect, from its start to established */
  histogram_t session; /* ns; churn: from connect to the server's close */
} bench_result_t;

/* Runs the whole benchmark; fills result (heap-allocate it: it holds a
 * histogram). Returns 0 if it ran, or a UV_* error (already logged) if it
 * could not start (name not found, no threads). */
int bench_run(const bench_config_t *config, bench_result_t *result);

/* All errors, of every kind: any fails the run. */
uint64_t bench_error_count(const bench_errors_t *errors);

/* --udp: whether more of the datagrams were lost than --max-loss allows. */
int bench_udp_loss_over(const bench_config_t *config,
                        const bench_result_t *result);

#endif
