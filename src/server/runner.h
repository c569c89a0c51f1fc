/* Runs a server on N event loops, one thread each, from start to the
 * summary: spreads connections over the loops, watches the stop signals on
 * the main thread and tells every loop through its uv_async_t to drain or
 * close, and sums the loops' counters at the end. Loops share only the
 * session count of --max-conns (server/conn_limit.h). With --metrics, a
 * scrape asks every loop for its counters through the same uv_async_t and
 * is answered once all have (server/metrics_http.h).
 *
 * How connections reach the loops ("spread"), best first where it works:
 *   reuseport  each loop listens on its own socket, all bound with
 *              SO_REUSEPORT; the kernel spreads them (Linux, the BSDs)
 *   shared     each loop listens on a duplicate of one socket; fair where
 *              waiting accepts are served in turn (Windows)
 *   handoff    the first loop accepts and hands each connection in turn to
 *              the next loop, as a duplicate socket (macOS, elsewhere) */
#ifndef TCPECHO_RUNNER_H
#define TCPECHO_RUNNER_H

#include "server/server.h"
#include "server/udp_server.h"

#include <stdint.h>

#define RUNNER_MAX_THREADS 256

typedef struct runner_config_s {
  server_config_t server; /* its limit and stats_cb are the runner's */
  unsigned threads;       /* event loops, 1..RUNNER_MAX_THREADS */
  uint64_t drain_timeout_ms;
  int verbose; /* with --stats, one line per loop besides the total */
  /* --udp: a UDP echo on the TCP listener's address and port (see
   * server/udp_server.h): on every loop where the kernel spreads
   * datagrams over SO_REUSEPORT sockets, else on the first loop only. */
  int udp;
  uint64_t udp_rate; /* per source address; 0: no limit */
  /* "reuseport", "shared" or "handoff" to use that spread where this
   * platform would choose another (for tests); NULL or anything else: the
   * platform's choice. */
  const char *spread;
  /* --metrics: Prometheus metrics on metrics_host:metrics_port (host NULL:
   * all interfaces), served on the main thread's loop; port -1: none. */
  const char *metrics_host;
  int metrics_port;
  const char *version; /* tcpecho's, for the metrics */
  /* A listening socket the service manager passed (socket activation):
   * served instead of binding server.host and server.port. Its loop hands
   * connections to the others (handoff, unless spread asks for shared): a
   * socket opened elsewhere cannot be relied on to join a SO_REUSEPORT
   * group. */
  int socket_passed;
  uv_os_sock_t socket;
} runner_config_t;

/* Runs until a stop signal has ended every loop; returns the process's exit
 * status: 0, or 1 when the server could not start (logged). */
int runner_run(const runner_config_t *config);

#endif
