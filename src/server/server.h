/* The TCP echo server: one listener and its sessions on one libuv loop. All
 * of its state lives in server_t, so one process can run one per loop. */
#ifndef TCPECHO_SERVER_H
#define TCPECHO_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"
#include "server/conn_limit.h"
#include "server/server_stats.h"

/* One read buffer per server, reused by every read of every session. */
#define SERVER_READ_BUF_SIZE 65536
/* Stop reading from a session whose peer does not read its echoes once this
 * much is waiting to be written; resume when it drains below the low mark.
 * So a session holds at most SERVER_HIGH_WATER + SERVER_READ_BUF_SIZE. */
#define SERVER_HIGH_WATER (1024 * 1024)
#define SERVER_LOW_WATER (256 * 1024)

typedef struct server_s server_t;
typedef void (*server_closed_cb)(server_t *server);
typedef void (*server_stats_cb)(server_t *server);
/* Offered each connection this server accepts, when other loops share its
 * listener: returns 1 if it took sock (a duplicate of it, the original is
 * closed here), 0 to leave the connection to this server. */
typedef int (*server_handoff_cb)(server_t *server, uv_os_sock_t sock);

typedef struct server_config_s {
  const char *host;         /* NULL: all interfaces, IPv4 and IPv6 */
  int port;                 /* 0: any free port */
  int quiet;                /* 1: no per-read lines; 2: none per session */
  uint64_t max_conns;       /* 0: no limit; ignored when limit is set */
  uint64_t idle_timeout_ms; /* 0: off; at most 2^31 - 1 */
  uint64_t stats_ms;        /* 0: off */
  /* Shared by the loops of one process: --max-conns counts their sessions
   * together. NULL: this server counts its own against max_conns. */
  conn_limit_t *limit;
  /* Called every stats_ms instead of logging the stats line (the caller
   * reads server_stats and reports for several loops at once). */
  server_stats_cb stats_cb;
  server_handoff_cb handoff_cb; /* NULL: serves all it accepts */
  /* Other loops accept on the same listening socket: keep one accept
   * pending at a time (Windows posts them ahead, 32 by default), so that
   * the loops take turns rather than batches. */
  int shares_listener;
  /* Each connection starts with a PROXY protocol header (v1 or v2), read
   * within proxy_timeout_ms (0: 5 s): sessions are logged with the client
   * it names and echo only what follows it. */
  int proxy_protocol;
  uint64_t proxy_timeout_ms; /* at most 2^31 - 1 */
  /* A UDP echo runs beside this server (the runner's): its counters live
   * in the server's (server_udp_stats), reported with them. */
  int udp;
} server_config_t;

/* Callers read loop and data; the rest is the server's own (read the
 * counters with server_stats). */
struct server_s {
  uv_loop_t *loop;
  void *data; /* the caller's */
  /* private */
  server_config_t config;
  uv_tcp_t listener;
  uv_timer_t idle_timer;
  uv_timer_t stats_timer;
  uv_timer_t drain_timer;
  uv_timer_t proxy_timer; /* sweeps sessions still waiting for a header */
  int listener_open;
  int listening;    /* server_listen succeeded: the timers run */
  int bound;        /* listener has an address: server_bind* or _open */
  int opened;       /* the listener's socket came from server_open */
  int timers_open;  /* timer handles (and the log batch's) not yet closed */
  int rejects_open; /* rejects (and the spare) not yet closed */
  /* Takes a connection off libuv's hands when there is no memory for a
   * handle of its own: left in libuv, it would stop watching the listener
   * (Unix) and accept nothing again. accept_waiting: one came while the
   * spare was still closing. */
  uv_tcp_t spare;
  int spare_busy;
  int accept_waiting;
  int closing;
  int drain_timer_on;
  server_closed_cb closed_cb;
  server_stats_t stats;
  server_stats_t last_stats; /* at the previous --stats line */
  uint64_t fd_limit;         /* descriptors the process may open; 0: no limit */
  uint64_t last_reject_log_ms;
  uint64_t last_drop_log_ms;
  uint64_t last_accept_error_log_ms;
  uint64_t last_proxy_error_log_ms;
  log_batch_t log_batch; /* the lines of one loop turn in one write */
  int read_buf_busy;
  char read_buf[SERVER_READ_BUF_SIZE];
};

/* Prepares server; nothing is opened yet. */
void server_init(server_t *server, uv_loop_t *loop,
                 const server_config_t *config);

/* Opening the listener is two steps, so that the socket can come from
 * elsewhere: one of the server_bind* or server_open, then server_listen.
 * Each logs one line naming the libuv error on failure and returns the
 * UV_* error; whatever happened, server_close ends the server. */

/* Resolves the configured host and binds to its first address this host
 * supports (none: "::", IPv4 too, or 0.0.0.0 without IPv6). With balanced,
 * as the first of a group the kernel spreads connections over
 * (platform_tcp_bind_balanced). */
int server_bind(server_t *server, int balanced);

/* Binds to the address first is bound to, joining its group: first was
 * bound with server_bind(first, 1). */
int server_bind_beside(server_t *server, const server_t *first);

/* Takes over sock, a socket opened elsewhere (bound or already listening):
 * a duplicate of another loop's listener, or one a service manager passed.
 * The server owns it from here on, failure included. */
int server_open(server_t *server, uv_os_sock_t sock);

/* Serves a connection another loop accepted and handed over: sock is the
 * server's from here on, and counted in config.limit already. */
void server_adopt(server_t *server, uv_os_sock_t sock);

/* Listens (and starts the idle and stats timers, if configured). A server
 * with no socket (none of the above called) serves only what server_adopt
 * hands it. */
int server_listen(server_t *server);

/* The address listened on, as "[::]:8000" or "127.0.0.1:8000". */
void server_address(const server_t *server, char *buf, size_t size);

/* The listening socket, for server_open on another loop: 0 or UV_EBADF. */
int server_socket(const server_t *server, uv_os_sock_t *sock);

/* The address listened on, port included: 0, or a UV_* error. */
int server_sockname(const server_t *server, struct sockaddr_storage *ss);

/* The port actually listened on (useful with port 0), or -1. */
int server_port(const server_t *server);

/* Graceful stop: no more accepts; every session stops reading, flushes what
 * it owes its peer, sends FIN and waits for the peer's; whatever is left
 * after timeout_ms is closed. cb runs once everything is closed and server
 * may be freed. */
void server_drain(server_t *server, uint64_t timeout_ms, server_closed_cb cb);

/* Immediate stop: closes the listener and every session now (cb as above).
 * May follow server_drain to cut it short. */
void server_close(server_t *server, server_closed_cb cb);

/* The counters so far. */
const server_stats_t *server_stats(const server_t *server);

/* Where a UDP echo on this loop counts (config.udp set), so that they are
 * reported together. */
udp_stats_t *server_udp_stats(server_t *server);

/* Logs the one-line summary (server_stats_log_summary). */
void server_log_summary(const server_t *server);

#endif
