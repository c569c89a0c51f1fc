/* Ping over TCP: one connection, N round trips of one message each, sent
 * only after the previous echo fully came back; a line per round trip and
 * ping's summary on standard output. */
#ifndef TCPECHO_PING_H
#define TCPECHO_PING_H

#include "client/dial.h"
#include "base/handle_group.h"
#include "base/histogram.h"
#include "base/signals.h"
#include "base/stats.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct ping_s ping_t;
/* exit_status: 0 if every round trip came back intact, else 1. */
typedef void (*ping_done_cb)(ping_t *ping, int exit_status);

typedef struct ping_config_s {
  const char *host;
  int port;
  const char *message;
  size_t message_len;
  uint64_t size;  /* bytes per round trip; 0: the message */
  uint64_t count; /* 0: until SIGINT */
  uint64_t interval_ms;
  uint64_t timeout_ms; /* per round trip */
  uint64_t connect_timeout_ms;
  int quiet; /* summary only */
} ping_config_t;

/* Callers read loop; the rest is the ping's own. */
struct ping_s {
  uv_loop_t *loop;
  /* private */
  ping_config_t config;
  ping_done_cb done_cb;
  dial_t dial;
  uv_tcp_t tcp;
  uv_timer_t timer; /* the interval, or the round trip's timeout */
  stop_signals_t signals;
  uv_write_t write_req;
  char *payload;
  size_t len;
  size_t got; /* bytes of this round trip's echo so far */
  uint64_t seq;
  uint64_t received;
  uint64_t start_ns, send_ns, connect_ns;
  int tcp_open;
  handle_group_t handles; /* closed before done_cb */
  int finished;
  int failed;
  rtt_stats_t rtt;
  histogram_t *latency;
  char peer[ADDR_STR_SIZE];
  char read_buf[65536];
};

/* Runs the whole ping; done_cb runs once, after every handle is closed. A
 * stop signal (Ctrl-C, SIGTERM, SIGHUP) ends it with the summary. */
void ping_start(ping_t *ping, uv_loop_t *loop, const ping_config_t *config,
                ping_done_cb done_cb);

#endif
