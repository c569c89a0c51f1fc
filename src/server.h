/* The TCP echo server: one listener and its sessions on one libuv loop. All
 * of its state lives in server_t, so one process can run one per loop. */
#ifndef TCPECHO_SERVER_H
#define TCPECHO_SERVER_H

#include <stddef.h>
#include <uv.h>

/* One read buffer per server, reused by every read of every session. */
#define SERVER_READ_BUF_SIZE 65536
/* Stop reading from a session whose peer does not read its echoes once this
 * much is waiting to be written; resume when it drains below the low mark. */
#define SERVER_HIGH_WATER (1024 * 1024)
#define SERVER_LOW_WATER (256 * 1024)

typedef struct server_s server_t;
typedef struct session_s session_t;
typedef void (*server_closed_cb)(server_t *server);

typedef struct server_config_s {
  const char *host; /* NULL: all interfaces, IPv4 and IPv6 */
  int port;         /* 0: any free port */
  int quiet;        /* no per-read log lines */
} server_config_t;

typedef struct server_stats_s {
  unsigned long long sessions_accepted;
  unsigned long long bytes_echoed;
  size_t sessions_open;
  size_t peak_write_pending; /* largest queue of one session, in bytes */
} server_stats_t;

struct server_s {
  uv_loop_t *loop;
  server_config_t config;
  uv_tcp_t listener;
  int listener_open;
  int closing;
  server_closed_cb closed_cb;
  session_t *sessions; /* open sessions, so that close can reach them */
  server_stats_t stats;
  int read_buf_busy;
  char read_buf[SERVER_READ_BUF_SIZE];
};

/* Prepares server; nothing is opened yet. */
void server_init(server_t *server, uv_loop_t *loop,
                 const server_config_t *config);

/* Resolves the configured host, binds, listens and logs
 * "listening on ADDR:PORT". On failure logs one line naming the libuv error
 * and returns the UV_* error. Either way, server_close ends it. */
int server_listen(server_t *server);

/* The port actually listened on (useful with port 0), or -1. */
int server_port(const server_t *server);

/* Stops listening and closes every session; cb runs once everything is
 * closed and server may be freed. */
void server_close(server_t *server, server_closed_cb cb);

#endif
