/* Ping over UDP: datagrams sent every --interval on one connected UDP
 * socket, whether or not the last came back (as ping(8) sends), each
 * carrying its sequence number, its send time and a pattern
 * (client/udp_ping_wire.h); every echo is checked and matched
 * (client/udp_ping_track.h): a line per echo and ping's summary, with
 * duplicates, reordered, corrupted and late ones, on standard output. */
#ifndef TCPECHO_UDP_PING_H
#define TCPECHO_UDP_PING_H

#include "base/addr.h"
#include "base/handle_group.h"
#include "base/histogram.h"
#include "base/signals.h"
#include "base/stats.h"
#include "client/udp_ping_track.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* The largest datagram of each family: 65,535 less the IP (IPv4 only) and
 * UDP headers. */
#define UDP_PING_MAX_V4 65507
#define UDP_PING_MAX_V6 65527

typedef struct udp_ping_s udp_ping_t;
/* exit_status: 0 if any echo came back and none was corrupted, else 1. */
typedef void (*udp_ping_done_cb)(udp_ping_t *ping, int exit_status);

typedef struct udp_ping_config_s {
  const char *host;
  int port;
  uint64_t size;  /* bytes per datagram, UDP_PING_HEADER..UDP_PING_MAX_V6 */
  uint64_t count; /* 0: until a stop signal */
  /* Between sends; 0: the next once the last is answered or lost. */
  uint64_t interval_ms;
  uint64_t timeout_ms; /* for each echo */
  int quiet;           /* no line per echo or loss */
} udp_ping_config_t;

/* Callers read loop; the rest is the ping's own. */
struct udp_ping_s {
  uv_loop_t *loop;
  /* private */
  udp_ping_config_t config;
  udp_ping_done_cb done_cb;
  uv_getaddrinfo_t resolver;
  uv_udp_t udp;
  uv_timer_t send_timer;
  uv_timer_t wait_timer; /* the oldest echo's timeout */
  stop_signals_t signals;
  handle_group_t handles; /* closed before done_cb */
  udp_track_t track;
  uint64_t nonce; /* this run's: echoes of another are not ours */
  uint64_t corrupted;
  uint64_t start_ns;
  int resolving;
  int udp_open;
  int track_open;
  int started; /* the first datagram went: a summary is due */
  int finished;
  int failed; /* could not start, or sending failed for good */
  rtt_stats_t rtt;
  histogram_t *latency;
  char *out; /* the datagram being sent */
  char peer[ADDR_STR_SIZE];
  char read_buf[65536];
};

/* Runs the whole ping; done_cb runs once, after every handle is closed. A
 * stop signal (Ctrl-C, SIGTERM, SIGHUP) ends it with the summary. */
void udp_ping_start(udp_ping_t *ping, uv_loop_t *loop,
                    const udp_ping_config_t *config, udp_ping_done_cb done_cb);

#endif
