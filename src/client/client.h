/* The tutorial's client: connect, send one message, log every read, close
 * with a timer. */
#ifndef TCPECHO_CLIENT_H
#define TCPECHO_CLIENT_H

#include "client/dial.h"
#include "base/handle_group.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define CLIENT_READ_BUF_SIZE 65536

typedef struct client_s client_t;
/* exit_status: 0 when the timer closed the session, 1 on any failure. */
typedef void (*client_done_cb)(client_t *client, int exit_status);

typedef struct client_config_s {
  const char *host;
  int port;
  const char *message;
  size_t message_len;
  unsigned long long close_after_ms;
  uint64_t connect_timeout_ms;
  int quiet;   /* no per-read log lines */
  int verbose; /* log every step with the time since client_start */
} client_config_t;

/* Callers read loop and bytes_received; the rest is the client's own. */
struct client_s {
  uv_loop_t *loop;
  unsigned long long bytes_received;
  /* private */
  client_config_t config;
  client_done_cb done_cb;
  dial_t dial;
  uv_tcp_t tcp;
  uv_write_t write_req;
  uv_timer_t timer;
  int tcp_open;
  handle_group_t handles; /* closed before done_cb */
  int finished;
  int exit_status;
  uint64_t start_ns; /* uv_hrtime() at client_start, for --verbose */
  char read_buf[CLIENT_READ_BUF_SIZE];
};

/* Starts the session: resolve, connect to each address in turn, write the
 * message, read until the close timer fires. Failures are logged as one
 * line. done_cb runs exactly once, from the loop, after every handle of the
 * client is closed. */
void client_start(client_t *client, uv_loop_t *loop,
                  const client_config_t *config, client_done_cb done_cb);

#endif
