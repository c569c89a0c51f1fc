#include "server/server.h"

#include "base/addr.h"
#include "base/container_of.h"
#include "base/log.h"
#include "base/platform.h"
#include "base/stream_write.h"
#include "server/proxy_header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept small: 10,000 idle sessions must cost little more than their libuv
 * handles. The server is the handle's data; the list of sessions is the
 * loop's own (uv_walk), so there are no links here. */
/* A session waiting for its PROXY header. peer is read at accept: a
 * health check's reset can leave the address unreadable by the time its
 * header is. bytes holds the header so far, only once one comes split over
 * reads (the struct is then reallocated with PROXY_HEADER_MAX of them). */
typedef struct proxy_pending_s {
  char peer[ADDR_STR_SIZE]; /* "" if not read */
  size_t len;               /* of bytes; 0 while nothing is kept */
  char bytes[];
} proxy_pending_t;

typedef struct session_s {
  uv_tcp_t tcp;         /* tcp.data is the server */
  uint32_t last_active; /* uv_now() in ms, wrapping; for --idle-timeout */
  /* Bytes handed to uv_write, not yet written: reading pauses at
   * SERVER_HIGH_WATER, so at most that and one read, under 2^22. 22 bits
   * keep the session in its 272-byte allocation class. */
  unsigned write_pending : 22;
  unsigned reading_paused : 1;
  unsigned eof : 1;        /* the peer sent FIN */
  unsigned shutdown : 1;   /* our FIN is on its way */
  unsigned draining : 1;   /* server_drain: no more echoes */
  unsigned counted : 1;    /* taken from config.limit, given back at close */
  unsigned proxy_wait : 1; /* --proxy-protocol: the header is not read yet */
  /* Its header named no client (v2 LOCAL, v1 UNKNOWN): a balancer's health
   * check, which HAProxy ends with a reset, not counted as an error. */
  unsigned health_check : 1;
  proxy_pending_t *proxy; /* while the header is not read yet */
} session_t;

/* A connection over --max-conns: accepted only to be closed. */
typedef struct reject_s {
  uv_tcp_t tcp;
  server_t *server;
} reject_t;

static void on_connection(uv_stream_t *listener, int status);
static void on_handed_off_closed(uv_handle_t *handle);
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void on_discard(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

void server_init(server_t *server, uv_loop_t *loop,
                 const server_config_t *config) {
  memset(server, 0, offsetof(server_t, read_buf));
  server->loop = loop;
  server->config = *config;
  if (config->proxy_protocol && config->proxy_timeout_ms == 0)
    server->config.proxy_timeout_ms = 5000;
  server->stats.proxy_protocol = config->proxy_protocol;
  server->stats.udp_on = config->udp;
}

static void log_error(const char *what, int err) {
  log_line("%s: %s (%s)", what, uv_err_name(err), uv_strerror(err));
}

static int is_session(const server_t *server, const uv_handle_t *handle) {
  return handle->type == UV_TCP && handle->data == server &&
         handle != (const uv_handle_t *)&server->listener;
}

/* Binds the listener to one address. Fails early with EAFNOSUPPORT where
 * the address family is not available, leaving the handle unused. */
static int bind_on(server_t *server, const struct sockaddr *addr, int balanced,
                   int first) {
  int err = uv_tcp_init_ex(server->loop, &server->listener, addr->sa_family);
  if (err != 0)
    return err;
  server->listener_open = 1;
  err = balanced ? platform_tcp_bind_balanced(&server->listener, addr, first)
                 : uv_tcp_bind(&server->listener, addr, 0);
  server->bound = err == 0;
  return err;
}

/* Default: "::" without IPV6_V6ONLY takes IPv4 too, like Go's ":8000"; on
 * hosts without IPv6 fall back to 0.0.0.0. */
static int bind_any(server_t *server, int balanced) {
  struct sockaddr_in6 in6;
  struct sockaddr_in in;
  int err;

  uv_ip6_addr("::", server->config.port, &in6);
  err = bind_on(server, (const struct sockaddr *)&in6, balanced, 1);
  if (err != UV_EAFNOSUPPORT || server->listener_open)
    return err;
  uv_ip4_addr("0.0.0.0", server->config.port, &in);
  return bind_on(server, (const struct sockaddr *)&in, balanced, 1);
}

static int bind_host(server_t *server, int balanced) {
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
    err = bind_on(server, ai->ai_addr, balanced, 1);
  uv_freeaddrinfo(req.addrinfo);
  return err;
}

/* As Go says it: "listen tcp :8000: ...". A socket opened elsewhere is
 * named by its own address, whatever --host and --port say. */
static int listen_failed(const server_t *server, int err) {
  char where[ADDR_STR_SIZE];
  if (server->opened)
    server_address(server, where, sizeof(where));
  else if (server->config.host)
    snprintf(where, sizeof(where), "%s:%d", server->config.host,
             server->config.port);
  else
    snprintf(where, sizeof(where), ":%d", server->config.port);
  log_line("listen tcp %s: %s (%s)", where, uv_err_name(err), uv_strerror(err));
  return err;
}

int server_bind(server_t *server, int balanced) {
  int err = server->config.host ? bind_host(server, balanced)
                                : bind_any(server, balanced);
  return err != 0 ? listen_failed(server, err) : 0;
}

int server_bind_beside(server_t *server, const server_t *first) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  int err = uv_tcp_getsockname(&first->listener, (struct sockaddr *)&ss, &len);
  if (err == 0)
    err = bind_on(server, (const struct sockaddr *)&ss, 1, 0);
  return err != 0 ? listen_failed(server, err) : 0;
}

int server_open(server_t *server, uv_os_sock_t sock) {
  int err;
  (void)uv_tcp_init(server->loop, &server->listener); /* no socket yet */
  server->listener_open = 1;
  server->opened = 1;
  err = uv_tcp_open(&server->listener, sock);
  if (err != 0) {
    platform_close_socket(sock); /* the handle did not take it */
    return listen_failed(server, err);
  }
  server->bound = 1;
  return 0;
}

int server_socket(const server_t *server, uv_os_sock_t *sock) {
  uv_os_fd_t fd;
  if (!server->bound ||
      uv_fileno((const uv_handle_t *)&server->listener, &fd) != 0)
    return UV_EBADF;
  *sock = (uv_os_sock_t)fd;
  return 0;
}

static void on_idle_tick(uv_timer_t *timer);
static void on_stats_tick(uv_timer_t *timer);
static void on_proxy_tick(uv_timer_t *timer);

/* How often to sweep for a deadline: so that a session outlives it by at
 * most a quarter of it (and never by more than a second). */
static uint64_t sweep_every(uint64_t timeout_ms) {
  uint64_t every = timeout_ms / 4;
  return every < 10 ? 10 : every > 1000 ? 1000 : every;
}

static void start_timer(server_t *server, uv_timer_t *timer, uv_timer_cb cb,
                        uint64_t every_ms) {
  /* Neither can fail: the loop is live and cb is set. */
  (void)uv_timer_init(server->loop, timer);
  server->timers_open++;
  (void)uv_timer_start(timer, cb, every_ms, every_ms);
}

int server_listen(server_t *server) {
  int err = 0;
  if (server->bound && server->config.shares_listener)
    err = uv_tcp_simultaneous_accepts(&server->listener, 0);
  if (server->bound && err == 0)
    err = uv_listen((uv_stream_t *)&server->listener, SOMAXCONN, on_connection);
  if (err != 0)
    return listen_failed(server, err);
  server->listening = 1;
  server->fd_limit = platform_fd_limit(); /* read once, not per accept */
  /* Under connection churn the two lines of each session, a write() each
   * to a log file, took some 4 % of the server's time: one write a turn. */
  if (log_batch_start(&server->log_batch, server->loop))
    server->timers_open++;

  if (server->config.idle_timeout_ms > 0)
    start_timer(server, &server->idle_timer, on_idle_tick,
                sweep_every(server->config.idle_timeout_ms));
  /* One sweep for the header deadlines of all sessions, not a timer each. */
  if (server->config.proxy_protocol)
    start_timer(server, &server->proxy_timer, on_proxy_tick,
                sweep_every(server->config.proxy_timeout_ms));
  if (server->config.stats_ms > 0)
    start_timer(server, &server->stats_timer, on_stats_tick,
                server->config.stats_ms);
  return 0;
}

void server_address(const server_t *server, char *buf, size_t size) {
  addr_format_tcp(&server->listener, 0, buf, size);
}

int server_sockname(const server_t *server, struct sockaddr_storage *ss) {
  int len = (int)sizeof(*ss);
  if (!server->listener_open)
    return UV_EBADF;
  return uv_tcp_getsockname(&server->listener, (struct sockaddr *)ss, &len);
}

int server_port(const server_t *server) {
  struct sockaddr_storage ss;
  if (server_sockname(server, &ss) != 0)
    return -1;
  return addr_port((struct sockaddr *)&ss);
}

static void on_timer_closed(uv_handle_t *handle);

/* The last session is gone: the drain's deadline is moot. */
static void end_drain_timer_if_idle(server_t *server) {
  if (server->closing && server->drain_timer_on &&
      server->stats.sessions_open == 0) {
    server->drain_timer_on = 0;
    server->drain_timer.data = server;
    uv_close((uv_handle_t *)&server->drain_timer, on_timer_closed);
  }
}

/* Called after anything of the server closed: once a stop has closed it
 * all, closed_cb runs. */
static void stop_if_all_closed(server_t *server) {
  end_drain_timer_if_idle(server);
  if (server->closing && !server->listener_open && server->timers_open == 0 &&
      server->rejects_open == 0 && server->stats.sessions_open == 0 &&
      server->closed_cb != NULL) {
    server_closed_cb cb = server->closed_cb;
    server->closed_cb = NULL;
    cb(server);
  }
}

static void on_session_closed(uv_handle_t *handle) {
  session_t *s = container_of(handle, session_t, tcp);
  server_t *server = handle->data;
  server->stats.sessions_open--;
  if (s->counted)
    conn_limit_give(server->config.limit);
  free(s->proxy);
  free(s);
  stop_if_all_closed(server);
}

static void on_handed_off_closed(uv_handle_t *handle) {
  free(container_of(handle, session_t, tcp));
}

/* Pending writes are cancelled by the close and free themselves first. */
static void session_close(session_t *s) {
  if (!uv_is_closing((uv_handle_t *)&s->tcp))
    uv_close((uv_handle_t *)&s->tcp, on_session_closed);
}

static void session_touch(session_t *s) {
  s->last_active = (uint32_t)uv_now(s->tcp.loop);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  session_t *s = req->data;
  free(req);
  /* After the peer's FIN, or a failed one of ours: done. Otherwise (a
   * drain) wait for the peer's FIN, discarding what still comes. */
  if (s->eof || status < 0 ||
      uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_discard) != 0)
    session_close(s);
}

/* Sends FIN once every echo owed is written (libuv queues the shutdown
 * behind pending writes). */
static void session_shutdown(session_t *s) {
  uv_shutdown_t *req;
  if (s->shutdown || uv_is_closing((uv_handle_t *)&s->tcp))
    return;
  s->shutdown = 1;
  req = malloc(sizeof(*req));
  if (req == NULL) {
    session_close(s);
    return;
  }
  req->data = s;
  if (uv_shutdown(req, (uv_stream_t *)&s->tcp, on_shutdown) != 0) {
    free(req);
    session_close(s);
  }
}

/* One error of the given kind more. */
static void count_error(server_t *server, server_error_kind_t kind) {
  server->stats.errors++;
  server->stats.errors_by_kind[kind]++;
}

static void session_fail(session_t *s, server_error_kind_t kind,
                         const char *what, int err) {
  server_t *server = s->tcp.data;
  count_error(server, kind);
  log_error(what, err);
  session_close(s);
}

static void on_write(uv_write_t *req, int status) {
  session_t *s = container_of(req->handle, session_t, tcp);
  int err;

  s->write_pending -= (uint32_t)stream_write_len(req);
  stream_write_free(req);
  if (status < 0) {
    /* Windows fails every queued write on its own after a reset, not with
     * UV_ECANCELED: one line and one error per session, from the first. */
    if (status != UV_ECANCELED && !uv_is_closing((uv_handle_t *)&s->tcp))
      session_fail(s, SERVER_ERROR_WRITE, "Error writing TCP session", status);
    return;
  }
  session_touch(s);
  if (s->draining) {
    if (s->write_pending == 0)
      session_shutdown(s);
    return;
  }
  if (s->reading_paused && s->write_pending <= SERVER_LOW_WATER && !s->eof &&
      !uv_is_closing((uv_handle_t *)&s->tcp)) {
    s->reading_paused = 0;
    err = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);
    if (err != 0)
      session_fail(s, SERVER_ERROR_READ, "Error reading TCP session", err);
  }
}

/* Echoes data: straight to the socket as far as it takes it now, a copy
 * of the rest queued; reading pauses while too much is queued. */
static void session_echo(session_t *s, const char *data, size_t len) {
  server_t *server = s->tcp.data;
  int queued = stream_write((uv_stream_t *)&s->tcp, data, len, on_write);

  if (queued < 0) {
    session_fail(s, SERVER_ERROR_WRITE, "Error writing TCP session", queued);
    return;
  }
  /* Counted as written now: a write that fails ends the session anyway. */
  server->stats.bytes_out += len;
  if (queued == 0)
    return;
  s->write_pending += (uint32_t)queued;
  if (s->write_pending > server->stats.peak_write_pending)
    server->stats.peak_write_pending = s->write_pending;
  if (s->write_pending >= SERVER_HIGH_WATER && !s->reading_paused) {
    s->reading_paused = 1;
    uv_read_stop((uv_stream_t *)&s->tcp);
  }
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  server_t *server = handle->data;
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

static void session_proxy_read(session_t *s, ssize_t nread, const char *data);

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  session_t *s = container_of(stream, session_t, tcp);
  server_t *server = stream->data;

  if (s->proxy_wait) {
    session_proxy_read(s, nread, buf->base);
  } else if (nread > 0) {
    if (!server->config.quiet)
      log_data("reading data from client", buf->base, (size_t)nread);
    server->stats.bytes_in += (uint64_t)nread;
    session_touch(s);
    session_echo(s, buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    /* The peer sent FIN: echo what is still queued, then FIN back. With
     * nothing queued, closing sends that FIN at once (nothing unread is
     * left to turn it into a reset), a shutdown() and a loop turn less. */
    if (server->config.quiet < 2)
      log_line("Error reading TCP session: EOF");
    s->eof = 1;
    if (s->write_pending == 0)
      session_close(s);
    else
      session_shutdown(s);
  } else if (nread == UV_ECONNRESET && s->health_check) {
    if (server->config.quiet < 2)
      log_error("Error reading TCP session", (int)nread);
    session_close(s); /* how HAProxy ends a check: not an error */
  } else if (nread < 0) {
    session_fail(s, SERVER_ERROR_READ, "Error reading TCP session", (int)nread);
  }
  release_read_buf(server, buf);
}

/* Draining, after our FIN: the peer's last bytes are not echoed. */
static void on_discard(uv_stream_t *stream, ssize_t nread,
                       const uv_buf_t *buf) {
  session_t *s = container_of(stream, session_t, tcp);
  if (nread < 0) {
    s->eof = nread == UV_EOF;
    session_close(s);
  }
  release_read_buf(stream->data, buf);
}

/* Logs at most once a second, saying how many happened in all. */
static int log_due(server_t *server, uint64_t *last_ms) {
  uint64_t now = uv_now(server->loop);
  if (*last_ms != 0 && now - *last_ms < 1000)
    return 0;
  *last_ms = now == 0 ? 1 : now;
  return 1;
}

static void on_reject_closed(uv_handle_t *handle) {
  reject_t *r = container_of(handle, reject_t, tcp);
  server_t *server = r->server;
  server->rejects_open--;
  free(r);
  stop_if_all_closed(server);
}

static void on_spare_closed(uv_handle_t *handle) {
  server_t *server = container_of(handle, server_t, spare);
  server->spare_busy = 0;
  server->rejects_open--;
  if (server->accept_waiting && server->listening && !server->closing) {
    server->accept_waiting = 0;
    on_connection((uv_stream_t *)&server->listener, 0); /* memory again? */
  }
  stop_if_all_closed(server);
}

/* Out of memory for a connection's handle (counted and logged already):
 * accepted into the spare and closed, so that libuv keeps accepting. */
static void close_without_memory(server_t *server) {
  if (server->spare_busy) {
    server->accept_waiting = 1; /* on_spare_closed takes it */
    return;
  }
  server->spare_busy = 1;
  server->rejects_open++;
  (void)uv_tcp_init(server->loop, &server->spare); /* no socket: no fail */
  server->spare.data = NULL;                       /* not a session */
  (void)uv_accept((uv_stream_t *)&server->listener,
                  (uv_stream_t *)&server->spare);
  uv_close((uv_handle_t *)&server->spare, on_spare_closed);
}

static void reject(server_t *server, uv_stream_t *listener) {
  reject_t *r = malloc(sizeof(*r));
  char peer[ADDR_STR_SIZE];

  if (r == NULL) {
    count_error(server, SERVER_ERROR_ACCEPT);
    log_error("Error accepting TCP session", UV_ENOMEM);
    close_without_memory(server);
    return;
  }
  r->server = server;
  (void)uv_tcp_init(server->loop, &r->tcp); /* no socket until the accept */
  r->tcp.data = NULL;                       /* not a session */
  server->rejects_open++;
  if (uv_accept(listener, (uv_stream_t *)&r->tcp) == 0) {
    server->stats.sessions_rejected++;
    if (log_due(server, &server->last_reject_log_ms)) {
      /* So far in the whole process, when loops share the limit. */
      uint64_t so_far = server->config.limit != NULL
                            ? conn_limit_read(server->config.limit).refused
                            : server->stats.sessions_rejected;
      addr_format_tcp(&r->tcp, 1, peer, sizeof(peer));
      log_line("rejecting TCP session from %s: --max-conns %llu reached "
               "(%llu rejected so far)",
               peer, (unsigned long long)server->config.max_conns,
               (unsigned long long)so_far);
    }
  }
  uv_close((uv_handle_t *)&r->tcp, on_reject_closed);
}

static void drop(server_t *server, session_t *s) {
  char peer[ADDR_STR_SIZE];
  server->stats.sessions_dropped++;
  if (log_due(server, &server->last_drop_log_ms)) {
    addr_format_tcp(&s->tcp, 1, peer, sizeof(peer));
    log_line("dropping TCP session from %s: no free descriptor (limit %llu; "
             "%llu dropped so far), open sessions are not affected",
             peer, (unsigned long long)server->fd_limit,
             (unsigned long long)server->stats.sessions_dropped);
  }
  session_close(s);
}

/* Under --max-conns: this loop's sessions, or the whole process's when the
 * loops share a limit (counted then until the session closes). */
static int admit(server_t *server) {
  if (server->config.limit != NULL)
    return conn_limit_take(server->config.limit);
  return server->config.max_conns == 0 ||
         server->stats.sessions_open < server->config.max_conns;
}

/* A new session, its socket accepted or adopted: reading starts, and it is
 * counted and logged. */
static void session_start(server_t *server, session_t *s) {
  char peer[ADDR_STR_SIZE];
  int err = uv_read_start((uv_stream_t *)&s->tcp, on_alloc, on_read);

  if (err != 0) {
    session_fail(s, SERVER_ERROR_ACCEPT, "Error accepting TCP session", err);
    return;
  }
  /* Serving this one would leave no descriptor for the next accept, and
   * libuv would then close connections silently (its EMFILE reserve): drop
   * it ourselves, so that every one is counted and logged. */
  if (platform_fds_nearly_exhausted((uv_handle_t *)&s->tcp, server->fd_limit)) {
    drop(server, s);
    return;
  }
  server->stats.sessions_accepted++;
  if (server->stats.sessions_open > server->stats.peak_sessions)
    server->stats.peak_sessions = server->stats.sessions_open;
  session_touch(s);
  /* Echoes are replies: send each at once rather than wait on Nagle. */
  (void)uv_tcp_nodelay(&s->tcp, 1); /* if it fails, echoes only wait */
  if (server->config.proxy_protocol) {
    s->proxy_wait = 1; /* logged once the header says whose it is */
    if (server->config.quiet < 2) {
      s->proxy = calloc(1, sizeof(*s->proxy)); /* no bytes yet */
      if (s->proxy != NULL) /* else read when logged, if it still can be */
        addr_format_tcp(&s->tcp, 1, s->proxy->peer, sizeof(s->proxy->peer));
    }
    return;
  }
  /* -qq: the peer's address (a system call) only when it is logged. */
  if (server->config.quiet >= 2)
    return;
  addr_format_tcp(&s->tcp, 1, peer, sizeof(peer));
  log_line("TCP session open from %s", peer);
}

/* Who connected, as read at accept if it was. */
static void session_peer(const session_t *s, char *buf, size_t size) {
  if (s->proxy != NULL && s->proxy->peer[0] != '\0')
    snprintf(buf, size, "%s", s->proxy->peer);
  else
    addr_format_tcp(&s->tcp, 1, buf, size);
}

/* --proxy-protocol: the session's line names the client the header carries
 * and the proxy it came through; without an address in it (LOCAL, UNKNOWN)
 * the line is the usual one. */
static void log_proxied_open(server_t *server, session_t *s,
                             const proxy_header_t *h) {
  char peer[ADDR_STR_SIZE];
  char src[ADDR_STR_SIZE];

  if (server->config.quiet >= 2)
    return;
  session_peer(s, peer, sizeof(peer));
  if (h->family != AF_UNSPEC &&
      addr_format((const struct sockaddr *)&h->src, src, sizeof(src)) == 0)
    log_line("TCP session open from %s via %s", src, peer);
  else
    log_line("TCP session open from %s", peer);
}

typedef enum { PROXY_BAD, PROXY_LATE, PROXY_EOF } proxy_failure_t;

/* A connection without a valid header in time: closed unechoed, counted,
 * and logged at most once a second. reason: the parser's, for PROXY_BAD. */
static void proxy_reject(session_t *s, proxy_failure_t why,
                         const char *reason) {
  server_t *server = s->tcp.data;
  char peer[ADDR_STR_SIZE];
  unsigned long long so_far;

  server->stats.proxy_header_errors++;
  so_far = (unsigned long long)server->stats.proxy_header_errors;
  if (log_due(server, &server->last_proxy_error_log_ms)) {
    session_peer(s, peer, sizeof(peer));
    if (why == PROXY_BAD)
      log_line("closing TCP session from %s: bad PROXY header (%s; %llu so "
               "far)",
               peer, reason, so_far);
    else if (why == PROXY_EOF)
      log_line("closing TCP session from %s: EOF before a whole PROXY header "
               "(%llu so far)",
               peer, so_far);
    else
      log_line("closing TCP session from %s: no PROXY header within %g s "
               "(%llu so far)",
               peer, (double)server->config.proxy_timeout_ms / 1000.0, so_far);
  }
  session_close(s);
}

/* Data after the header: logged and echoed like any other. */
static void session_data(session_t *s, const char *data, size_t len) {
  server_t *server = s->tcp.data;
  if (len == 0 || uv_is_closing((uv_handle_t *)&s->tcp))
    return;
  if (!server->config.quiet)
    log_data("reading data from client", data, len);
  session_echo(s, data, len);
}

/* The connection's first bytes until the header is whole. The parser takes
 * all of them each time; most headers arrive in one read and need no copy.
 * PROXY_HEADER_MAX bytes always decide, so the copy never grows past it. */
static void session_proxy_read(session_t *s, ssize_t nread, const char *data) {
  server_t *server = s->tcp.data;
  proxy_header_t h;
  proxy_header_status_t st;
  size_t len = nread > 0 ? (size_t)nread : 0;
  size_t taken = len; /* of data: what the copy took, if any */

  if (nread == UV_EOF) {
    proxy_reject(s, PROXY_EOF, NULL);
    return;
  }
  if (nread < 0) {
    session_fail(s, SERVER_ERROR_READ, "Error reading TCP session", (int)nread);
    return;
  }
  if (len == 0)
    return;
  server->stats.bytes_in += (uint64_t)len;
  if (s->proxy == NULL || s->proxy->len == 0) {
    st = proxy_header_parse(data, len, &h);
  } else {
    size_t room = PROXY_HEADER_MAX - s->proxy->len;
    taken = len < room ? len : room;
    memcpy(s->proxy->bytes + s->proxy->len, data, taken);
    s->proxy->len += taken;
    st = proxy_header_parse(s->proxy->bytes, s->proxy->len, &h);
  }
  if (st == PROXY_HEADER_NEED_MORE) {
    if (s->proxy == NULL || s->proxy->len == 0) {
      proxy_pending_t *p =
          realloc(s->proxy, sizeof(*s->proxy) + PROXY_HEADER_MAX);
      if (p == NULL) {
        session_fail(s, SERVER_ERROR_READ, "Error reading TCP session",
                     UV_ENOMEM);
        return;
      }
      if (s->proxy == NULL)
        p->peer[0] = '\0';
      s->proxy = p;
      /* Under PROXY_HEADER_MAX, as the parser decides on that many; the
       * cap only keeps a parser bug from writing past the buffer. */
      taken = len < PROXY_HEADER_MAX ? len : PROXY_HEADER_MAX;
      memcpy(s->proxy->bytes, data, taken);
      s->proxy->len = taken;
    }
    return;
  }
  if (st == PROXY_HEADER_ERROR) {
    proxy_reject(s, PROXY_BAD, h.error);
    return;
  }
  s->proxy_wait = 0;
  s->health_check = h.family == AF_UNSPEC;
  log_proxied_open(server, s, &h);
  session_touch(s);
  /* What followed the header: in the copy, then the rest of this read
   * (queued writes are copies, so the copy can go right after). */
  if (s->proxy != NULL && s->proxy->len > 0) {
    session_data(s, s->proxy->bytes + h.consumed, s->proxy->len - h.consumed);
    session_data(s, data + taken, len - taken);
  } else {
    session_data(s, data + h.consumed, len - h.consumed);
  }
  free(s->proxy);
  s->proxy = NULL;
}

/* A session handle, not yet with a socket; NULL if out of memory. */
static session_t *session_new(server_t *server) {
  session_t *s = calloc(1, sizeof(*s));
  if (s == NULL) {
    count_error(server, SERVER_ERROR_ACCEPT);
    log_error("Error accepting TCP session", UV_ENOMEM);
    return NULL;
  }
  (void)uv_tcp_init(server->loop, &s->tcp); /* no socket yet: cannot fail */
  s->tcp.data = server;
  s->counted = server->config.limit != NULL;
  server->stats.sessions_open++;
  return s;
}

/* Where the loops share one listener through this one: the connection may
 * go to another loop, as a duplicate of its socket (the limit's count goes
 * with it); this handle then only closes. */
static int handed_off(server_t *server, session_t *s) {
  uv_os_fd_t fd;
  if (server->config.handoff_cb == NULL ||
      uv_fileno((const uv_handle_t *)&s->tcp, &fd) != 0 ||
      !server->config.handoff_cb(server, (uv_os_sock_t)fd))
    return 0;
  s->counted = 0;
  server->stats.sessions_open--;
  s->tcp.data = NULL; /* not a session of this loop any more */
  uv_close((uv_handle_t *)&s->tcp, on_handed_off_closed);
  return 1;
}

static void on_connection(uv_stream_t *listener, int status) {
  server_t *server = container_of(listener, server_t, listener);
  session_t *s;
  int err;

  if (status < 0) {
    /* EMFILE/ENFILE: libuv closes the connections it cannot take, and
     * accepting resumes by itself once descriptors free up. */
    count_error(server, SERVER_ERROR_ACCEPT);
    if (log_due(server, &server->last_accept_error_log_ms))
      log_line("Error accepting TCP session: %s (%s); %llu accept errors so "
               "far, open sessions are not affected",
               uv_err_name(status), uv_strerror(status),
               (unsigned long long)server->stats.errors);
    return;
  }
  if (!admit(server)) {
    reject(server, listener);
    return;
  }
  s = session_new(server);
  if (s == NULL) {
    if (server->config.limit != NULL)
      conn_limit_give(server->config.limit);
    close_without_memory(server);
    return;
  }
  err = uv_accept(listener, (uv_stream_t *)&s->tcp);
  if (err != 0) {
    session_fail(s, SERVER_ERROR_ACCEPT, "Error accepting TCP session", err);
    return;
  }
  if (!handed_off(server, s))
    session_start(server, s);
}

void server_adopt(server_t *server, uv_os_sock_t sock) {
  session_t *s = NULL;
  int err;

  /* A stop began while it was on its way: like a connection still in the
   * backlog when the listener closes. */
  if (!server->closing)
    s = session_new(server);
  if (s == NULL) {
    platform_close_socket(sock);
    if (server->config.limit != NULL)
      conn_limit_give(server->config.limit);
    return;
  }
  err = uv_tcp_open(&s->tcp, sock);
  if (err != 0) {
    platform_close_socket(sock); /* the handle did not take it */
    session_fail(s, SERVER_ERROR_ACCEPT, "Error accepting TCP session", err);
    return;
  }
  session_start(server, s);
}

static void close_idle(uv_handle_t *handle, void *arg) {
  server_t *server = arg;
  session_t *s;
  uint32_t idle;

  if (!is_session(server, handle) || uv_is_closing(handle))
    return;
  s = container_of(handle, session_t, tcp);
  idle = (uint32_t)uv_now(server->loop) - s->last_active;
  if (idle < server->config.idle_timeout_ms)
    return;
  server->stats.sessions_idle_closed++;
  log_line("closing TCP session: idle for %lu ms", (unsigned long)idle);
  session_close(s);
}

static void on_idle_tick(uv_timer_t *timer) {
  server_t *server = container_of(timer, server_t, idle_timer);
  uv_walk(server->loop, close_idle, server);
}

static void close_late_header(uv_handle_t *handle, void *arg) {
  server_t *server = arg;
  session_t *s;

  if (!is_session(server, handle) || uv_is_closing(handle))
    return;
  s = container_of(handle, session_t, tcp);
  /* last_active is the accept's time until the header is read. */
  if (s->proxy_wait && !s->draining &&
      (uint32_t)uv_now(server->loop) - s->last_active >=
          server->config.proxy_timeout_ms)
    proxy_reject(s, PROXY_LATE, NULL);
}

static void on_proxy_tick(uv_timer_t *timer) {
  server_t *server = container_of(timer, server_t, proxy_timer);
  uv_walk(server->loop, close_late_header, server);
}

static void on_stats_tick(uv_timer_t *timer) {
  server_t *server = container_of(timer, server_t, stats_timer);
  if (server->config.stats_cb != NULL) {
    server->config.stats_cb(server);
    return;
  }
  server_stats_log("", &server->stats, &server->last_stats,
                   server->config.stats_ms);
  server->last_stats = server->stats;
}

const server_stats_t *server_stats(const server_t *server) {
  return &server->stats;
}

udp_stats_t *server_udp_stats(server_t *server) {
  return &server->stats.udp;
}

void server_log_summary(const server_t *server) {
  server_stats_log_summary("", &server->stats);
}

static void on_listener_closed(uv_handle_t *handle) {
  server_t *server = container_of(handle, server_t, listener);
  server->listener_open = 0;
  stop_if_all_closed(server);
}

static void on_timer_closed(uv_handle_t *handle) {
  server_t *server = handle->data;
  server->timers_open--;
  stop_if_all_closed(server);
}

static void close_timer(server_t *server, uv_timer_t *timer) {
  timer->data = server;
  uv_close((uv_handle_t *)timer, on_timer_closed);
}

static void on_log_batch_closed(log_batch_t *batch) {
  server_t *server = container_of(batch, server_t, log_batch);
  server->timers_open--;
  stop_if_all_closed(server);
}

/* Stops accepting and the periodic timers: the first step of both stops. */
static void stop_accepting(server_t *server, server_closed_cb cb) {
  server->closed_cb = cb;
  if (server->closing)
    return;
  server->closing = 1;
  /* From here on each line goes out as it comes, the summary last. */
  log_batch_stop(&server->log_batch, on_log_batch_closed);
  if (server->listener_open && !uv_is_closing((uv_handle_t *)&server->listener))
    uv_close((uv_handle_t *)&server->listener, on_listener_closed);
  if (server->listening && server->config.idle_timeout_ms > 0)
    close_timer(server, &server->idle_timer);
  if (server->listening && server->config.stats_ms > 0)
    close_timer(server, &server->stats_timer);
  if (server->listening && server->config.proxy_protocol)
    close_timer(server, &server->proxy_timer);
}

static void close_session(uv_handle_t *handle, void *arg) {
  if (is_session(arg, handle))
    session_close(container_of(handle, session_t, tcp));
}

static void drain_session(uv_handle_t *handle, void *arg) {
  session_t *s;
  if (!is_session(arg, handle) || uv_is_closing(handle))
    return;
  s = container_of(handle, session_t, tcp);
  if (s->eof || s->shutdown)
    return; /* already finishing */
  s->draining = 1;
  (void)uv_read_stop((uv_stream_t *)&s->tcp); /* cannot fail */
  if (s->write_pending == 0)
    session_shutdown(s);
}

static void on_drain_timeout(uv_timer_t *timer) {
  server_t *server = container_of(timer, server_t, drain_timer);
  log_line("drain timeout: closing %lu TCP session%s",
           (unsigned long)server->stats.sessions_open,
           server->stats.sessions_open == 1 ? "" : "s");
  close_timer(server, timer);
  server->drain_timer_on = 0;
  uv_walk(server->loop, close_session, server);
}

void server_drain(server_t *server, uint64_t timeout_ms, server_closed_cb cb) {
  stop_accepting(server, cb);
  uv_walk(server->loop, drain_session, server);
  if (server->stats.sessions_open > 0 && !server->drain_timer_on) {
    server->drain_timer_on = 1;
    (void)uv_timer_init(server->loop, &server->drain_timer); /* as above */
    server->timers_open++;
    (void)uv_timer_start(&server->drain_timer, on_drain_timeout, timeout_ms, 0);
  }
  stop_if_all_closed(server);
}

void server_close(server_t *server, server_closed_cb cb) {
  stop_accepting(server, cb);
  if (server->drain_timer_on) {
    server->drain_timer_on = 0;
    close_timer(server, &server->drain_timer);
  }
  uv_walk(server->loop, close_session, server);
  stop_if_all_closed(server);
}
