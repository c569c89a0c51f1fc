/* A server's counters, and the lines that report them: the periodic
 * --stats line and the summary at the end, for one loop or summed over
 * several. */
#ifndef TCPECHO_SERVER_STATS_H
#define TCPECHO_SERVER_STATS_H

#include "server/udp_stats.h"

#include <stddef.h>
#include <stdint.h>

/* What failed, for the errors counted by kind (the metrics). */
typedef enum {
  SERVER_ERROR_ACCEPT = 0,
  SERVER_ERROR_READ,
  SERVER_ERROR_WRITE,
  SERVER_ERROR_KINDS
} server_error_kind_t;

typedef struct server_stats_s {
  uint64_t sessions_accepted;
  uint64_t sessions_rejected; /* over --max-conns */
  uint64_t sessions_dropped;  /* no descriptor left to serve them */
  uint64_t sessions_idle_closed;
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t errors; /* read, write and accept errors, not EOF */
  uint64_t errors_by_kind[SERVER_ERROR_KINDS]; /* the same, by kind */
  uint64_t proxy_header_errors; /* bad, incomplete or late PROXY headers */
  size_t sessions_open;
  size_t peak_sessions;
  size_t peak_write_pending; /* largest queue of one session, in bytes */
  /* Not a count: --proxy-protocol is on, so the lines report
   * proxy_header_errors (without it they stay as they always were). */
  int proxy_protocol;
  /* --udp: the UDP echo's own counters (server/udp_server.h counts into
   * them), reported on lines of their own only where udp_on is set, so
   * that a TCP-only server's lines stay as they always were. */
  int udp_on;
  udp_stats_t udp;
} server_stats_t;

/* Adds one's counts to sum; the peaks become the larger of the two (the
 * peak of a sum is not the sum of peaks: the caller knows it better). */
void server_stats_add(server_stats_t *sum, const server_stats_t *one);

/* "PREFIXstats: N sessions open, ..., in X MB/s, out Y MB/s, ...[, N proxy
 * header errors]", the rates
 * over the interval_ms since then; with udp_on the "UDP stats:" line
 * follows. */
void server_stats_log(const char *prefix, const server_stats_t *now,
                      const server_stats_t *then, uint64_t interval_ms);

/* "PREFIXserved N sessions, echoed B bytes, peak P concurrent sessions,
 * ...", and with udp_on the "UDP:" line: waits briefly for room in the
 * log rather than be dropped. */
void server_stats_log_summary(const char *prefix, const server_stats_t *st);

#endif
