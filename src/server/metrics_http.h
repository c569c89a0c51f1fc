/* The --metrics listener: a minimal, strict HTTP/1.x server for one thing,
 * GET /metrics, on its own TCP listener on one loop. One request per
 * connection, answered with "Connection: close":
 *   GET or HEAD /metrics (any query string)  200, the exposition
 *   another path                             404
 *   /metrics with another method             405, "Allow: GET, HEAD"
 *   anything that is not HTTP/1.0 or 1.1     400
 *   no end of headers in 8 KiB               431
 * A connection that has not sent its whole request within 5 s is closed
 * without an answer; at most 16 are served at once, and the next ones are
 * closed as soon as accepted. After the answer the connection sends its
 * FIN and is closed once the peer closes too (or the 5 s are up), so that
 * what the peer still sends cannot reset the answer away.
 *
 * The numbers come from the owner: when a request wants them, want_cb asks
 * for them, and the owner answers with metrics_http_serve, then or later
 * (after asking other threads). Requests that arrive while a question is
 * out wait for the next one, so every answer is at least as fresh as its
 * request. */
#ifndef TCPECHO_METRICS_HTTP_H
#define TCPECHO_METRICS_HTTP_H

#include "server/metrics.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define METRICS_HTTP_REQUEST_MAX 8192 /* request line and headers */
#define METRICS_HTTP_TIMEOUT_MS 5000
#define METRICS_HTTP_MAX_CONNS 16

typedef struct metrics_http_s metrics_http_t;
typedef struct metrics_conn_s metrics_conn_t;
typedef void (*metrics_http_want_cb)(metrics_http_t *http);

struct metrics_http_s {
  uv_loop_t *loop;
  void *data; /* the owner's */
  /* private */
  metrics_http_want_cb want_cb;
  uv_tcp_t listener;
  int listener_open;
  int closing;
  unsigned conns;        /* serving, counted against METRICS_HTTP_MAX_CONNS */
  metrics_conn_t *first; /* every connection not yet closed */
  uint64_t asked;        /* questions put to want_cb */
  uint64_t answered;     /* ... and answered by metrics_http_serve */
};

/* Listens on host:port (host NULL: all interfaces, IPv4 and IPv6, like the
 * server; port 0: any free one) and logs "metrics on http://ADDR/metrics".
 * On failure logs one line naming the libuv error and returns it;
 * metrics_http_close is still needed. */
int metrics_http_start(metrics_http_t *http, uv_loop_t *loop, const char *host,
                       int port, metrics_http_want_cb want_cb);

/* The answer to want_cb: every request waiting for it gets v. */
void metrics_http_serve(metrics_http_t *http, const metrics_values_t *v);

/* Closes the listener and every connection, answered or not; the handles
 * are freed as they close, and the loop then has nothing of this left. */
void metrics_http_close(metrics_http_t *http);

/* What a request gets, from the bytes received so far (len <= cap, cap the
 * most there is room for): 0 while it may still become whole, else the
 * HTTP status (200, 400, 404, 405, 431); *head is set for a HEAD. Pure:
 * the same bytes always give the same answer. */
int metrics_http_classify(const char *req, size_t len, size_t cap, int *head);

#endif
