/* Resolves a host and connects to its addresses in turn, as net.Dial does:
 * "localhost" may be ::1, then 127.0.0.1. */
#ifndef TCPECHO_DIAL_H
#define TCPECHO_DIAL_H

#include "base/addr.h"

#include <stdint.h>
#include <uv.h>

typedef struct dial_s dial_t;
/* status 0: the handle is connected; else it is closed, and one line naming
 * the failure ("dial tcp 127.0.0.1:8000: ECONNREFUSED (...)", or "...:
 * connect timed out after 10 s") was logged. */
typedef void (*dial_cb)(dial_t *dial, int status);
/* Optional: told each step ("connecting to 127.0.0.1:8000"), for
 * --verbose. */
typedef void (*dial_trace_cb)(dial_t *dial, const char *step);

/* Callers set data and read addr; the rest is the dial's own. */
struct dial_s {
  void *data;               /* the caller's */
  char addr[ADDR_STR_SIZE]; /* the address tried last, or connected */
  /* private */
  uv_loop_t *loop;
  uv_tcp_t *tcp; /* the caller's; its data field is the dial's until cb */
  const char *host;
  int port;
  dial_cb cb;
  dial_trace_cb trace;
  uint64_t timeout_ms;
  uv_getaddrinfo_t resolver;
  uv_connect_t connect_req;
  uv_timer_t deadline;    /* the whole dial: lookup and every address */
  struct addrinfo *addrs; /* freed before cb */
  struct addrinfo *next;  /* the next address to try */
  int last_error;
  int cancelled;  /* UV_ECANCELED (dial_cancel) or UV_ETIMEDOUT; else 0 */
  int cb_pending; /* started, cb not yet run */
  int connecting; /* a connect is in flight on tcp */
};

/* Starts resolving and connecting, every resolved address in turn within
 * timeout_ms in all (0: no limit); cb runs exactly once, from the loop, once
 * the dial's own handles are closed. trace may be NULL. */
void dial_start(dial_t *dial, uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                int port, uint64_t timeout_ms, dial_cb cb, dial_trace_cb trace);

/* Gives up (Ctrl-C): cb runs with UV_ECANCELED once the handle is closed,
 * and nothing more is logged. No-op once cb has run. */
void dial_cancel(dial_t *dial);

#endif
