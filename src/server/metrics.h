/* The server's counters in the Prometheus text exposition format (version
 * 0.0.4): "# HELP" and "# TYPE" lines, then the samples. Pure formatting
 * from a plain struct of numbers: no sockets, no clock, no state.
 *
 * One set of series for the whole process: with several loops the numbers
 * are their totals, not one series per loop; several instances add up with
 * sum() in a query. Counters end in _total; bytes and seconds are the
 * units. */
#ifndef TCPECHO_METRICS_H
#define TCPECHO_METRICS_H

#include "server/server_stats.h"

#include <stddef.h>
#include <stdint.h>

/* The Content-Type of what metrics_format writes. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct metrics_values_s {
  /* TCP, since the start: counters. */
  uint64_t sessions_accepted;
  uint64_t rejected_max_conns;     /* closed at once over --max-conns */
  uint64_t rejected_no_descriptor; /* closed at once: no free descriptor */
  uint64_t sessions_closed_idle;
  uint64_t received_bytes;
  uint64_t sent_bytes;                 /* echoed */
  uint64_t errors[SERVER_ERROR_KINDS]; /* by kind; EOF is none */
  uint64_t proxy_header_errors;
  /* TCP, now: gauges. */
  uint64_t sessions_open;
  uint64_t sessions_peak;
  /* --udp: its counters (tcpecho_udp_*), written only where udp_on. */
  int udp_on;
  udp_stats_t udp;
  int draining;        /* a stop signal came: the sessions are being drained */
  const char *version; /* tcpecho's, for tcpecho_build_info */
  const char *libuv_version; /* the libuv it runs with */
  double start_time_seconds; /* since the Unix epoch */
} metrics_values_t;

/* Sets the TCP and UDP counters and gauges of v from a server's (or the
 * sum of several servers') counters; the rest of v is left as it is. */
void metrics_from_server_stats(metrics_values_t *v, const server_stats_t *st);

/* Writes the exposition of v into buf, as snprintf does: at most size
 * bytes, NUL included, and returns the length of the whole text, so that
 * a return of size or more means buf was too small (buf may be NULL when
 * size is 0). Label values are escaped as the format says (\\, \", \n). */
size_t metrics_format(char *buf, size_t size, const metrics_values_t *v);

#endif
