/* Resolves a host and connects to its addresses in turn, as net.Dial does:
 * "localhost" may be ::1, then 127.0.0.1. */
#ifndef TCPECHO_DIAL_H
#define TCPECHO_DIAL_H

#include "addr.h"

#include <uv.h>

typedef struct dial_s dial_t;
/* status 0: the handle is connected; else it is closed, and one line naming
 * the failure ("dial tcp 127.0.0.1:8000: ECONNREFUSED (...)") was logged. */
typedef void (*dial_cb)(dial_t *dial, int status);
/* Optional: told each step ("connecting to 127.0.0.1:8000"), for
 * --verbose. */
typedef void (*dial_trace_cb)(dial_t *dial, const char *step);

struct dial_s {
  uv_loop_t *loop;
  uv_tcp_t *tcp; /* the caller's; its data field is the dial's until cb */
  const char *host;
  int port;
  dial_cb cb;
  dial_trace_cb trace;
  void *data; /* the caller's */
  uv_getaddrinfo_t resolver;
  uv_connect_t connect_req;
  struct addrinfo *addrs; /* freed before cb */
  struct addrinfo *next;  /* the next address to try */
  int last_error;
  int cancelled;
  int cb_pending;           /* started, cb not yet run */
  int connecting;           /* a connect is in flight on tcp */
  char addr[ADDR_STR_SIZE]; /* the address tried last, or connected */
};

/* Starts resolving and connecting; cb runs exactly once (already within
 * dial_start if the lookup cannot even start). trace may be NULL. */
void dial_start(dial_t *dial, uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                int port, dial_cb cb, dial_trace_cb trace);

/* Gives up (Ctrl-C): cb runs with UV_ECANCELED once the handle is closed,
 * and nothing more is logged. No-op once cb has run. */
void dial_cancel(dial_t *dial);

/* "host:port" with IPv6 literals bracketed, for messages. */
void dial_format_target(const char *host, int port, char *buf, size_t size);

#endif
