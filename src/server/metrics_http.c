#include "server/metrics_http.h"

#include "base/addr.h"
#include "base/container_of.h"
#include "base/log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the request, pure ---- */

/* RFC 9110's tchar: the bytes of a method or a header name. */
static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

/* Whether a line (its end of line stripped) or the start of one (whole 0)
 * holds a byte it may not: in the request line anything but printable
 * ASCII and spaces, in a header tabs and bytes above 127 too. A CR may
 * only come right before the LF, so a line cut after one is fine. */
static int has_bad_byte(const char *s, size_t n, int whole, int header) {
  size_t i;
  if (!whole && n > 0 && s[n - 1] == '\r')
    n--;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c < 0x7f)
      continue;
    if (header && (c == '\t' || c >= 0x80))
      continue;
    return 1;
  }
  return 0;
}

static size_t span_tchars(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && is_tchar((unsigned char)s[i]))
    i++;
  return i;
}

typedef struct request_line_s {
  const char *method, *target;
  size_t method_len, target_len;
} request_line_t;

/* "METHOD SP TARGET SP HTTP/1.x": 0, or 400. */
static int parse_request_line(const char *s, size_t n, request_line_t *rl) {
  size_t m = span_tchars(s, n), t;
  if (m == 0 || m >= n || s[m] != ' ')
    return 400;
  for (t = m + 1; t < n && s[t] != ' '; t++)
    ;
  if (t == m + 1 || n - t != 9 ||
      (memcmp(s + t, " HTTP/1.0", 9) != 0 &&
       memcmp(s + t, " HTTP/1.1", 9) != 0))
    return 400;
  rl->method = s;
  rl->method_len = m;
  rl->target = s + m + 1;
  rl->target_len = t - m - 1;
  return 0;
}

/* "NAME: value"; a line that starts with a space or tab (the obsolete
 * folding) is refused. */
static int check_header(const char *s, size_t n) {
  size_t name = span_tchars(s, n);
  return name == 0 || name == n || s[name] != ':' ? 400 : 0;
}

static int is(const char *s, size_t n, const char *word) {
  return n == strlen(word) && memcmp(s, word, n) == 0;
}

/* The whole request is there: what does it get? */
static int decide(const request_line_t *rl, int *head) {
  const char *query = memchr(rl->target, '?', rl->target_len);
  size_t path_len = query ? (size_t)(query - rl->target) : rl->target_len;

  *head = is(rl->method, rl->method_len, "HEAD");
  if (!is(rl->target, path_len, "/metrics"))
    return 404;
  return *head || is(rl->method, rl->method_len, "GET") ? 200 : 405;
}

int metrics_http_classify(const char *req, size_t len, size_t cap, int *head) {
  request_line_t rl;
  size_t pos = 0;
  int first = 1;

  memset(&rl, 0, sizeof(rl));
  *head = 0;
  for (;;) {
    const char *nl = memchr(req + pos, '\n', len - pos);
    size_t end = nl ? (size_t)(nl - req) : len, n = end - pos;
    const char *line = req + pos;

    if (nl != NULL && n > 0 && line[n - 1] == '\r')
      n--;
    if (has_bad_byte(line, n, nl != NULL, !first))
      return 400;
    if (!first && n > 0 && (line[0] == ' ' || line[0] == '\t'))
      return 400;
    if (nl == NULL)
      return len >= cap ? 431 : 0;
    if (first && parse_request_line(line, n, &rl) != 0)
      return 400;
    if (!first && n == 0)
      return decide(&rl, head);
    if (!first && check_header(line, n) != 0)
      return 400;
    first = 0;
    pos = end + 1;
  }
}

/* ---- connections ---- */

enum {
  CONN_READING, /* the request */
  CONN_WAITING, /* for the numbers */
  CONN_WRITING, /* the answer */
  CONN_ENDING   /* answered, FIN sent: reading to the peer's */
};

struct metrics_conn_s {
  uv_tcp_t tcp;
  uv_timer_t timer; /* the connection's deadline, from its accept */
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  metrics_http_t *http;
  metrics_conn_t *prev, *next;
  int state;
  int head;      /* HEAD: the answer without its body */
  int peer_done; /* the peer's FIN came */
  int closing;
  int handles;    /* not yet closed */
  uint64_t round; /* the answer it waits for */
  char *answer;
  size_t len;
  char req[METRICS_HTTP_REQUEST_MAX];
};

static void on_conn_closed(uv_handle_t *handle) {
  metrics_conn_t *c = handle->data;
  metrics_http_t *http = c->http;
  if (--c->handles > 0)
    return;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    http->first = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  http->conns--;
  free(c);
}

/* The pending write and shutdown end (cancelled) before the handles do. */
static void conn_close(metrics_conn_t *c) {
  if (c->closing)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_deadline(uv_timer_t *timer) {
  conn_close(timer->data);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  metrics_conn_t *c = req->data;
  if (status != 0)
    conn_close(c);
}

static void on_write(uv_write_t *req, int status) {
  metrics_conn_t *c = req->data;
  free(c->answer);
  c->answer = NULL;
  if (c->closing)
    return;
  if (status != 0 || c->peer_done) {
    conn_close(c);
    return;
  }
  c->state = CONN_ENDING;
  c->shutdown_req.data = c;
  if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0)
    conn_close(c);
}

static const char *reason(int status) {
  switch (status) {
  case 200:
    return "OK";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 431:
    return "Request Header Fields Too Large";
  default:
    break;
  }
  return "Bad Request";
}

/* Writes the status line, the headers and (but for HEAD) body; an
 * error's body is its reason, a line. */
static void answer(metrics_conn_t *c, int status, const char *body,
                   size_t body_len) {
  char head[256], line[64];
  uv_buf_t buf;
  int n;

  if (status != 200) {
    snprintf(line, sizeof(line), "%s\n", reason(status));
    body = line;
    body_len = strlen(line);
  }
  n = snprintf(
      head, sizeof(head),
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: "
      "%lu\r\n%sConnection: close\r\n\r\n",
      status, reason(status),
      status == 200 ? METRICS_CONTENT_TYPE : "text/plain; charset=utf-8",
      (unsigned long)body_len, status == 405 ? "Allow: GET, HEAD\r\n" : "");
  if (c->head)
    body_len = 0;
  c->answer = malloc((size_t)n + body_len);
  if (c->answer == NULL) {
    conn_close(c);
    return;
  }
  memcpy(c->answer, head, (size_t)n);
  memcpy(c->answer + n, body, body_len);
  buf = uv_buf_init(c->answer, (unsigned)((size_t)n + body_len));
  c->state = CONN_WRITING;
  c->write_req.data = c;
  if (uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0) {
    free(c->answer);
    c->answer = NULL;
    conn_close(c);
  }
}

/* A question for the owner, unless one is out: then the next one. */
static void wait_for_numbers(metrics_conn_t *c) {
  metrics_http_t *http = c->http;
  c->state = CONN_WAITING;
  if (http->asked > http->answered) {
    c->round = http->asked + 1;
    return;
  }
  c->round = ++http->asked;
  http->want_cb(http);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  metrics_conn_t *c = handle->data;
  (void)suggested;
  /* After the request, what still comes is read over it and dropped. */
  if (c->state == CONN_READING)
    *buf = uv_buf_init(c->req + c->len, (unsigned)(sizeof(c->req) - c->len));
  else
    *buf = uv_buf_init(c->req, (unsigned)sizeof(c->req));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  metrics_conn_t *c = stream->data;
  int status;
  (void)buf;

  if (nread < 0) {
    /* Half-closed after a whole request: it still gets its answer. */
    if (nread == UV_EOF &&
        (c->state == CONN_WAITING || c->state == CONN_WRITING)) {
      c->peer_done = 1;
      uv_read_stop(stream);
      return;
    }
    conn_close(c);
    return;
  }
  if (c->state != CONN_READING || nread == 0)
    return;
  c->len += (size_t)nread;
  status = metrics_http_classify(c->req, c->len, sizeof(c->req), &c->head);
  if (status == 200)
    wait_for_numbers(c);
  else if (status != 0)
    answer(c, status, NULL, 0);
}

static void on_refused_closed(uv_handle_t *handle) {
  free(handle);
}

/* Beyond METRICS_HTTP_MAX_CONNS: accepted, to be closed at once. */
static void refuse(uv_stream_t *listener) {
  uv_tcp_t *tcp = malloc(sizeof(*tcp));
  if (tcp == NULL)
    return;
  (void)uv_tcp_init(listener->loop, tcp); /* no socket yet: cannot fail */
  (void)uv_accept(listener, (uv_stream_t *)tcp);
  uv_close((uv_handle_t *)tcp, on_refused_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  metrics_http_t *http = container_of(listener, metrics_http_t, listener);
  metrics_conn_t *c;

  if (status != 0)
    return; /* out of descriptors, say: the next scrape tries again */
  c = http->conns < METRICS_HTTP_MAX_CONNS ? malloc(sizeof(*c)) : NULL;
  if (c == NULL) {
    refuse(listener);
    return;
  }
  memset(c, 0, offsetof(metrics_conn_t, req));
  c->http = http;
  (void)uv_tcp_init(http->loop, &c->tcp); /* cannot fail without a socket */
  (void)uv_timer_init(http->loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->next = http->first;
  if (http->first != NULL)
    http->first->prev = c;
  http->first = c;
  http->conns++;
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
    conn_close(c);
    return;
  }
  (void)uv_timer_start(&c->timer, on_deadline, METRICS_HTTP_TIMEOUT_MS, 0);
}

/* ---- the listener ---- */

static int bind_on(metrics_http_t *http, const struct sockaddr *addr) {
  int err = uv_tcp_init_ex(http->loop, &http->listener, addr->sa_family);
  if (err != 0)
    return err;
  http->listener_open = 1;
  return uv_tcp_bind(&http->listener, addr, 0);
}

/* As the server does: the first address of host this system supports;
 * without host, "::" (IPv4 too), or 0.0.0.0 where there is no IPv6. */
static int bind_to(metrics_http_t *http, const char *host, int port) {
  uv_getaddrinfo_t req;
  struct addrinfo *ai;
  struct sockaddr_in6 in6;
  struct sockaddr_in in;
  int err;

  if (host == NULL) {
    uv_ip6_addr("::", port, &in6);
    err = bind_on(http, (const struct sockaddr *)&in6);
    if (err != UV_EAFNOSUPPORT || http->listener_open)
      return err;
    uv_ip4_addr("0.0.0.0", port, &in);
    return bind_on(http, (const struct sockaddr *)&in);
  }
  err = addr_resolve(http->loop, &req, NULL, host, port, 1);
  if (err != 0)
    return err;
  err = UV_EAFNOSUPPORT;
  for (ai = req.addrinfo; ai != NULL && !http->listener_open; ai = ai->ai_next)
    err = bind_on(http, ai->ai_addr);
  uv_freeaddrinfo(req.addrinfo);
  return err;
}

int metrics_http_start(metrics_http_t *http, uv_loop_t *loop, const char *host,
                       int port, metrics_http_want_cb want_cb) {
  char where[ADDR_STR_SIZE + 16];
  int err;

  memset(http, 0, sizeof(*http));
  http->loop = loop;
  http->want_cb = want_cb;
  err = bind_to(http, host, port);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&http->listener, SOMAXCONN, on_connection);
  if (err != 0) {
    if (host != NULL)
      addr_format_target(host, port, where, sizeof(where));
    else
      snprintf(where, sizeof(where), ":%d", port);
    log_line("metrics: listen tcp %s: %s (%s)", where, uv_err_name(err),
             uv_strerror(err));
    return err;
  }
  addr_format_tcp(&http->listener, 0, where, sizeof(where));
  log_line("metrics on http://%s/metrics", where);
  return 0;
}

void metrics_http_serve(metrics_http_t *http, const metrics_values_t *v) {
  size_t len = metrics_format(NULL, 0, v);
  char *body = malloc(len + 1);
  metrics_conn_t *c;
  int more = 0;

  http->answered = http->asked;
  if (body != NULL)
    metrics_format(body, len + 1, v);
  for (c = http->first; c != NULL; c = c->next) {
    if (c->state != CONN_WAITING || c->closing)
      continue;
    if (c->round > http->answered)
      more = 1;
    else if (body == NULL)
      conn_close(c);
    else
      answer(c, 200, body, len);
  }
  free(body);
  /* Those that came while the question was out: a fresh one for them. */
  if (more && !http->closing) {
    http->asked++;
    http->want_cb(http);
  }
}

void metrics_http_close(metrics_http_t *http) {
  metrics_conn_t *c;
  if (http->closing)
    return;
  http->closing = 1;
  if (http->listener_open)
    uv_close((uv_handle_t *)&http->listener, NULL);
  for (c = http->first; c != NULL; c = c->next)
    conn_close(c);
}
