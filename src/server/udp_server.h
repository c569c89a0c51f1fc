/* The UDP echo server (RFC 862) of one loop: each datagram answered with
 * one holding the same bytes, to its sender, from the address it was sent
 * to; unless server/udp_guard.h refuses it (a source that could start a
 * loop or use us as a reflector, or one over its rate). Sending never
 * blocks nor queues without bound.
 *
 * Two ways to a socket, chosen by the address:
 *   one address      a uv_udp_t: replies leave from that address anyway
 *   0.0.0.0 or ::    where platform_udp_dst_supported(): a socket of
 *                    platform.c on a uv_poll_t, each reply sent from the
 *                    address its datagram was sent to; elsewhere (Windows)
 *                    a uv_udp_t, replies from the address the system
 *                    chooses. */
#ifndef TCPECHO_UDP_SERVER_H
#define TCPECHO_UDP_SERVER_H

#include "base/platform.h"
#include "server/udp_guard.h"
#include "server/udp_stats.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Every datagram fits: 65,507 bytes over IPv4, 65,527 over IPv6. */
#define UDP_SERVER_BUF_SIZE 65536
/* Replies waiting for room in the socket's buffer, in bytes with their
 * bookkeeping; beyond it, replies are dropped and counted. */
#define UDP_SERVER_QUEUE_CAP (4 * 1024 * 1024)
/* Datagrams read in one go, before the loop turns to other sockets. */
#define UDP_SERVER_READS_PER_EVENT 64

typedef struct udp_server_s udp_server_t;
typedef void (*udp_server_closed_cb)(udp_server_t *u);
typedef struct udp_reply_s udp_reply_t;

typedef struct udp_server_config_s {
  uint64_t rate; /* datagrams a second per source address; 0: no limit */
  /* One socket of a SO_REUSEPORT group, one per loop, the kernel
   * spreading datagrams over them (base/platform.h); or alone. */
  platform_bind_t bind;
} udp_server_config_t;

/* Callers read loop and data; the rest is the server's own. */
struct udp_server_s {
  uv_loop_t *loop;
  void *data; /* the caller's */
  /* private */
  udp_server_config_t config;
  udp_stats_t *stats; /* the caller's, or own_stats */
  udp_stats_t own_stats;
  udp_rate_t rate;
  struct sockaddr_storage addr; /* bound to */
  int port;
  int use_poll;    /* the platform.c socket, on poll */
  int handle_open; /* udp or poll, not yet closed */
  int closing;
  uv_udp_t udp;
  uv_poll_t poll;
  uv_os_sock_t sock;  /* poll's */
  int poll_events;    /* watched now */
  size_t queued;      /* bytes of replies waiting, as counted for the cap */
  unsigned sends_out; /* uv_udp_send requests not yet called back */
  udp_reply_t *head, *tail; /* poll's queue */
  udp_server_closed_cb closed_cb;
  uint64_t last_refused_log_ms[UDP_REFUSED_COUNT];
  uint64_t last_dropped_log_ms[UDP_DROPPED_COUNT];
  uint64_t last_error_log_ms;
  int buf_busy;
  char buf[UDP_SERVER_BUF_SIZE];
};

/* Prepares u; it counts into stats (NULL: its own, see udp_server_stats).
 * Nothing is opened yet. */
void udp_server_init(udp_server_t *u, uv_loop_t *loop,
                     const udp_server_config_t *config, udp_stats_t *stats);

/* Binds to addr (its port not 0) and starts echoing. Logs one line and
 * returns the UV_* error on failure; whatever happened, udp_server_close
 * ends it. */
int udp_server_open(udp_server_t *u, const struct sockaddr *addr);

/* Whether replies leave from the address each datagram was sent to: bound
 * to one address, or on the platform.c socket. */
int udp_server_replies_from_dst(const udp_server_t *u);

/* The address bound to, as "[::]:8000" or "127.0.0.1:8000". */
void udp_server_address(const udp_server_t *u, char *buf, size_t size);

/* Closes the socket at once (there is no session to flush): replies still
 * queued are dropped and counted. cb runs once all is closed and u may be
 * freed; a second call only changes cb. */
void udp_server_close(udp_server_t *u, udp_server_closed_cb cb);

const udp_stats_t *udp_server_stats(const udp_server_t *u);

#endif
