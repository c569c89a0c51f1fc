#include "server.h"

#include "addr.h"
#include "container_of.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

struct session_s {
  uv_tcp_t tcp;
  server_t *server;
  session_t *prev, *next;
  uv_shutdown_t shutdown_req;
  size_t write_pending; /* bytes handed to uv_write, not yet written */
  unsigned reading_paused : 1;
  unsigned eof : 1;
};

/* The part of an echo that uv_try_write could not send at once. The bytes
 * follow the struct in the same allocation, freed in the write callback. */
typedef struct echo_write_s {
  uv_write_t req;
  size_t len;
} echo_write_t;

static void on_connection(uv_stream_t *listener, int status);
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

void server_init(server_t *server, uv_loop_t *loop,
                 const server_config_t *config) {
  memset(server, 0, offsetof(server_t, read_buf));
  server->loop = loop;
  server->config = *config;
}

static void log_error(const char *what, int err) {
  log_line("%s: %s (%s)", what, uv_err_name(err), uv_strerror(err));
}

/* Opens the listener on one address: bind, then listen (libuv reports
 * EADDRINUSE from either). Fails early with EAFNOSUPPORT where the
 * address family is not available, leaving the handle unused. */
static int listen_on(server_t *server, const struct sockaddr *addr) {
  int err = uv_tcp_init_ex(server->loop, &server->listener, addr->sa_family);
  if (err != 0)
    return err;
  server->listener_open = 1;
  err = uv_tcp_bind(&server->listener, addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&server->listener, SOMAXCONN, on_connection);
  return err;
}

/* Default: "::" without IPV6_V6ONLY takes IPv4 too, like Go's ":8000"; on
 * hosts without IPv6 fall back to 0.0.0.0. */
static int listen_any(server_t *server) {
  struct sockaddr_in6 in6;
  struct sockaddr_in in;
  int err;

  uv_ip6_addr("::", server->config.port, &in6);
  err = listen_on(server, (const struct sockaddr *)&in6);
  if (err != UV_EAFNOSUPPORT || server->listener_open)
    return err;
  uv_ip4_addr("0.0.0.0", server->config.port, &in);
  return listen_on(server, (const struct sockaddr *)&in);
}

static int listen_host(server_t *server) {
  uv_getaddrinfo_t req;
  struct addrinfo *ai;
  int err;

  err = addr_resolve(server->loop, &req, NULL, server->config.host,
                     server->config.port, 1);
  if (err != 0)
    return err;
  /* The first address whose family this host supports. */
  err = UV_EAFNOSUPPORT;
  for (ai = req.addrinfo; ai != NULL && !server->listener_open;
       ai = ai->ai_next)
    err = listen_on(server, ai->ai_addr);
  uv_freeaddrinfo(req.addrinfo);
  return err;
}

int server_listen(server_t *server) {
  char where[ADDR_STR_SIZE];
  int err = server->config.host ? listen_host(server) : listen_any(server);

  if (err != 0) {
    if (server->config.host)
      snprintf(where, sizeof(where), "%s:%d", server->config.host,
               server->config.port);
    else
      snprintf(where, sizeof(where), ":%d", server->config.port);
    log_line("listen tcp %s: %s (%s)", where, uv_err_name(err),
             uv_strerror(err));
    return err;
  }
  addr_format_tcp(&server->listener, 0, where, sizeof(where));
  log_line("listening on %s", where);
  return 0;
}

int server_port(const server_t *server) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  if (!server->listener_open ||
      uv_tcp_getsockname(&server->listener, (struct sockaddr *)&ss, &len) != 0)
    return -1;
  return addr_port((struct sockaddr *)&ss);
}

static void maybe_closed(server_t *server) {
  if (server->closing && !server->listener_open && server->sessions == NULL &&
      server->closed_cb != NULL) {
    server_closed_cb cb = server->closed_cb;
    server->closed_cb = NULL;
    cb(server);
  }
}

static void on_session_closed(uv_handle_t *handle) {
  session_t *s = container_of(handle, session_t, tcp);
  server_t *server = s->server;

  if (s->prev)
    s->prev->next = s->next;
  else
    server->sessions = s->next;
  if (s->next)
    s->next->prev = s->prev;
  server->stats.sessions_open--;
  free(s);
  maybe_closed(server);
}

/* Pending writes are cancelled by the close and free themselves first. */
static void session_close(session_t *s) {
  if (!uv_is_closing((uv_handle_t *)&s->tcp))
    uv_close((uv_handle_t *)&s->tcp, on_session_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  session_t *s = container_of(req, session_t, shutdown_req);
  (void)status; /* closing either way; a failed FIN becomes a close */
  session_close(s);
}

static void on_write(uv_write_t *req, int status) {
  echo_write_t *w = container_of(req, echo_write_t, req);
  session_t *s = container_of(req->handle, session_t, tcp);

  s->write_pending -= w->len;
  free(w);
  if (status < 0) {
    if (status != UV_ECANCELED) {
      log_error("Error writing TCP session", status);
      session_close(s);
    }
    return;
  }
  if (s->reading_paused && s->write_pending <= SERVER_LOW_WATER && !s->eof &&
      !uv_is_closing((uv_handle_t *)&s->tcp)) {
    s->reading_paused = 0;
    uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
  }
}

/* Echoes data: straight to the socket when nothing is queued, queueing a
 * copy of only what the socket would not take now. */
static void session_echo(session_t *s, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
  echo_write_t *w;
  int n = 0, err;

  if (s->write_pending == 0) {
    n = uv_try_write((uv_stream_t *)&s->tcp, &buf, 1);
    if (n == (int)len)
      return;
    if (n == UV_EAGAIN || n == UV_ENOSYS) {
      n = 0;
    } else if (n < 0) {
      log_error("Error writing TCP session", n);
      session_close(s);
      return;
    }
  }
  w = malloc(sizeof(*w) + len - (size_t)n);
  if (w == NULL) {
    log_error("Error writing TCP session", UV_ENOMEM);
    session_close(s);
    return;
  }
  w->len = len - (size_t)n;
  memcpy(w + 1, data + n, w->len);
  buf = uv_buf_init((char *)(w + 1), (unsigned int)w->len);
  err = uv_write(&w->req, (uv_stream_t *)&s->tcp, &buf, 1, on_write);
  if (err != 0) {
    free(w);
    log_error("Error writing TCP session", err);
    session_close(s);
    return;
  }
  s->write_pending += w->len;
  if (s->write_pending > s->server->stats.peak_write_pending)
    s->server->stats.peak_write_pending = s->write_pending;
  if (s->write_pending >= SERVER_HIGH_WATER && !s->reading_paused) {
    s->reading_paused = 1;
    uv_read_stop((uv_stream_t *)&s->tcp);
  }
}

/* The peer sent FIN: echo what is still queued, then FIN back and close. */
static void session_finish(session_t *s) {
  int err;
  s->eof = 1;
  err = uv_shutdown(&s->shutdown_req, (uv_stream_t *)&s->tcp, on_shutdown);
  if (err != 0)
    session_close(s);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  session_t *s = container_of(handle, session_t, tcp);
  server_t *server = s->server;
  (void)suggested;

  if (!server->read_buf_busy) {
    server->read_buf_busy = 1;
    *buf = uv_buf_init(server->read_buf, sizeof(server->read_buf));
    return;
  }
  /* Only where libuv keeps a read pending per handle while others complete;
   * libuv's defaults read synchronously after alloc on every platform. */
  buf->base = malloc(SERVER_READ_BUF_SIZE);
  buf->len = buf->base ? SERVER_READ_BUF_SIZE : 0;
}

static void release_read_buf(server_t *server, const uv_buf_t *buf) {
  if (buf->base == server->read_buf)
    server->read_buf_busy = 0;
  else
    free(buf->base);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  session_t *s = container_of(stream, session_t, tcp);
  server_t *server = s->server;

  if (nread > 0) {
    if (!server->config.quiet)
      log_data("reading data from client", buf->base, (size_t)nread);
    server->stats.bytes_echoed += (unsigned long long)nread;
    session_echo(s, buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    log_line("Error reading TCP session: EOF");
    session_finish(s);
  } else if (nread < 0) {
    log_error("Error reading TCP session", (int)nread);
    session_close(s);
  }
  release_read_buf(server, buf);
}

static void on_connection(uv_stream_t *listener, int status) {
  server_t *server = container_of(listener, server_t, listener);
  char peer[ADDR_STR_SIZE];
  session_t *s;
  int err;

  if (status < 0) {
    log_error("Error accepting TCP session", status);
    return;
  }
  s = calloc(1, sizeof(*s));
  if (s == NULL) {
    log_error("Error accepting TCP session", UV_ENOMEM);
    return;
  }
  s->server = server;
  uv_tcp_init(server->loop, &s->tcp);
  s->next = server->sessions;
  if (s->next)
    s->next->prev = s;
  server->sessions = s;
  server->stats.sessions_open++;

  err = uv_accept(listener, (uv_stream_t *)&s->tcp);
  if (err == 0)
    err = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
  if (err != 0) {
    log_error("Error accepting TCP session", err);
    session_close(s);
    return;
  }
  server->stats.sessions_accepted++;
  /* Echoes are replies: send each at once rather than wait on Nagle. */
  uv_tcp_nodelay(&s->tcp, 1);
  addr_format_tcp(&s->tcp, 1, peer, sizeof(peer));
  log_line("TCP session open from %s", peer);
}

static void on_listener_closed(uv_handle_t *handle) {
  server_t *server = container_of(handle, server_t, listener);
  server->listener_open = 0;
  maybe_closed(server);
}

void server_close(server_t *server, server_closed_cb cb) {
  session_t *s;

  server->closing = 1;
  server->closed_cb = cb;
  if (server->listener_open && !uv_is_closing((uv_handle_t *)&server->listener))
    uv_close((uv_handle_t *)&server->listener, on_listener_closed);
  for (s = server->sessions; s != NULL; s = s->next)
    session_close(s);
  maybe_closed(server);
}
