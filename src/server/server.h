/* The TCP echo server: one listener and its sessions on one libuv loop. All
 * of its state lives in server_t, so one process can run one per loop. */
#ifndef TCPECHO_SERVER_H
#define TCPECHO_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "base/log.h"

/* One read buffer per server, reused by every read of every session. */
#define SERVER_READ_BUF_SIZE 65536
/* Stop reading from a session whose peer does not read its echoes once this
 * much is waiting to be written; resume when it drains below the low mark.
 * So a session holds at most SERVER_HIGH_WATER + SERVER_READ_BUF_SIZE. */
#define SERVER_HIGH_WATER (1024 * 1024)
#define SERVER_LOW_WATER (256 * 1024)

typedef struct server_s server_t;
typedef void (*server_closed_cb)(server_t *server);

typedef struct server_config_s {
  const char *host;         /* NULL: all interfaces, IPv4 and IPv6 */
  int port;                 /* 0: any free port */
  int quiet;                /* no per-read log lines */
  uint64_t max_conns;       /* 0: no limit */
  uint64_t idle_timeout_ms; /* 0: off; at most 2^31 - 1 */
  uint64_t stats_ms;        /* 0: off */
} server_config_t;

typedef struct server_stats_s {
  uint64_t sessions_accepted;
  uint64_t sessions_rejected; /* over --max-conns */
  uint64_t sessions_dropped;  /* no descriptor left to serve them */
  uint64_t sessions_idle_closed;
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t errors; /* read, write and accept errors, not EOF */
  size_t sessions_open;
  size_t peak_sessions;
  size_t peak_write_pending; /* largest queue of one session, in bytes */
} server_stats_t;

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
  int listener_open;
  int listening;   /* server_listen succeeded: the timers run */
  int timers_open; /* timer handles (and the log batch's) not yet closed */
  int rejects_open;
  int closing;
  int drain_timer_on;
  server_closed_cb closed_cb;
  server_stats_t stats;
  server_stats_t last_stats; /* at the previous --stats line */
  uint64_t fd_limit;         /* descriptors the process may open; 0: no limit */
  uint64_t last_reject_log_ms;
  uint64_t last_drop_log_ms;
  uint64_t last_accept_error_log_ms;
  log_batch_t log_batch; /* the lines of one loop turn in one write */
  int read_buf_busy;
  char read_buf[SERVER_READ_BUF_SIZE];
};

/* Prepares server; nothing is opened yet. */
void server_init(server_t *server, uv_loop_t *loop,
                 const server_config_t *config);

/* Resolves the configured host, binds, listens and logs
 * "listening on ADDR:PORT"; starts the idle and stats timers if configured.
 * On failure logs one line naming the libuv error and returns the UV_*
 * error. Either way, server_close ends it. */
int server_listen(server_t *server);

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

/* Logs the one-line summary: sessions served, bytes echoed, peak sessions,
 * errors. */
void server_log_summary(const server_t *server);

#endif
