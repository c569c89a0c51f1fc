#include "server/udp_server.h"

#include "base/addr.h"
#include "base/container_of.h"
#include "base/log.h"
#include "base/platform.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A copy of a reply that could not go out at once. */
struct udp_reply_s {
  uv_udp_send_t req; /* uv_udp_t: libuv queues it */
  udp_reply_t *next; /* poll: our queue */
  udp_server_t *server;
  struct sockaddr_storage peer;
  struct sockaddr_storage from; /* AF_UNSPEC: the system's choice */
  size_t len;
  char data[1];
};

/* What a queued reply counts against the cap: its bytes and its keeping. */
static size_t reply_cost(size_t len) {
  return sizeof(udp_reply_t) + len;
}

void udp_server_init(udp_server_t *u, uv_loop_t *loop,
                     const udp_server_config_t *config, udp_stats_t *stats) {
  memset(u, 0, offsetof(udp_server_t, buf));
  u->loop = loop;
  u->config = *config;
  u->stats = stats != NULL ? stats : &u->own_stats;
}

const udp_stats_t *udp_server_stats(const udp_server_t *u) {
  return u->stats;
}

/* Logs at most once a second per kind, saying how many happened. */
static int log_due(udp_server_t *u, uint64_t *last_ms) {
  uint64_t now = uv_now(u->loop);
  if (*last_ms != 0 && now - *last_ms < 1000)
    return 0;
  *last_ms = now == 0 ? 1 : now;
  return 1;
}

static void format_peer(const struct sockaddr *peer, char *buf, size_t size) {
  if (addr_format(peer, buf, size) != 0)
    snprintf(buf, size, "?");
}

static void refuse(udp_server_t *u, udp_refused_t why,
                   const struct sockaddr *peer) {
  char where[ADDR_STR_SIZE];
  u->stats->refused[why]++;
  if (!log_due(u, &u->last_refused_log_ms[why]))
    return;
  format_peer(peer, where, sizeof(where));
  log_line("UDP datagram from %s refused: %s (%llu so far)", where,
           udp_refused_text(why), (unsigned long long)u->stats->refused[why]);
}

/* err: the system's, for UDP_DROPPED_SEND_FAILED (0: closed with it
 * queued, not logged). */
static void drop(udp_server_t *u, udp_dropped_t why,
                 const struct sockaddr *peer, int err) {
  char where[ADDR_STR_SIZE];
  u->stats->dropped[why]++;
  if ((why == UDP_DROPPED_SEND_FAILED && err == 0) ||
      !log_due(u, &u->last_dropped_log_ms[why]))
    return;
  format_peer(peer, where, sizeof(where));
  if (why == UDP_DROPPED_SEND_FAILED)
    log_line("UDP reply to %s failed: %s (%s); %llu failed so far", where,
             uv_err_name(err), uv_strerror(err),
             (unsigned long long)u->stats->dropped[why]);
  else
    log_line("UDP datagram from %s dropped: %s (%llu so far)", where,
             udp_dropped_text(why), (unsigned long long)u->stats->dropped[why]);
}

static void receive_failed(udp_server_t *u, int err) {
  u->stats->errors++;
  if (log_due(u, &u->last_error_log_ms))
    log_line("Error receiving UDP datagram: %s (%s); %llu errors so far",
             uv_err_name(err), uv_strerror(err),
             (unsigned long long)u->stats->errors);
}

static void sent(udp_server_t *u, size_t len) {
  u->stats->datagrams_out++;
  u->stats->bytes_out += len;
}

static void maybe_closed(udp_server_t *u) {
  if (u->closing && !u->handle_open && u->sends_out == 0 &&
      u->closed_cb != NULL) {
    udp_server_closed_cb cb = u->closed_cb;
    u->closed_cb = NULL;
    cb(u);
  }
}

/* ---- sending ---- */

static int sockaddr_size(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? (int)sizeof(struct sockaddr_in6)
                                   : (int)sizeof(struct sockaddr_in);
}

/* Sends now if the socket takes it: 0, UV_EAGAIN or the error. */
static int try_send(udp_server_t *u, const char *data, size_t len,
                    const struct sockaddr *peer, const struct sockaddr *from) {
  uv_buf_t buf;
  int n;
  if (u->use_poll)
    return platform_udp_send_from(u->sock, data, len, peer, from);
  buf = uv_buf_init((char *)data, (unsigned)len);
  n = uv_udp_try_send(&u->udp, &buf, 1, peer);
  return n < 0 ? n : 0;
}

static void on_udp_sent(uv_udp_send_t *req, int status) {
  udp_reply_t *r = container_of(req, udp_reply_t, req);
  udp_server_t *u = r->server;

  u->sends_out--;
  u->queued -= reply_cost(r->len);
  if (status == 0)
    sent(u, r->len);
  else
    drop(u, UDP_DROPPED_SEND_FAILED, (const struct sockaddr *)&r->peer,
         status == UV_ECANCELED ? 0 : status);
  free(r);
  maybe_closed(u);
}

static void watch(udp_server_t *u, int events);

/* Sends what poll's queue holds, in order, while the socket takes it. */
static void send_queued(udp_server_t *u) {
  while (u->head != NULL) {
    udp_reply_t *r = u->head;
    int err = platform_udp_send_from(u->sock, r->data, r->len,
                                     (const struct sockaddr *)&r->peer,
                                     (const struct sockaddr *)&r->from);
    if (err == UV_EAGAIN)
      return;
    u->head = r->next;
    if (u->head == NULL)
      u->tail = NULL;
    u->queued -= reply_cost(r->len);
    if (err == 0)
      sent(u, r->len);
    else
      drop(u, UDP_DROPPED_SEND_FAILED, (const struct sockaddr *)&r->peer, err);
    free(r);
  }
  watch(u, UV_READABLE); /* all sent: writable no longer matters */
}

/* Keeps a copy to send once the socket has room; drops it when the queue
 * holds its cap. */
static void queue_reply(udp_server_t *u, const char *data, size_t len,
                        const struct sockaddr *peer,
                        const struct sockaddr *from) {
  udp_reply_t *r;
  uv_buf_t buf;
  int err;

  if (u->queued + reply_cost(len) > UDP_SERVER_QUEUE_CAP ||
      (r = malloc(reply_cost(len))) == NULL) {
    drop(u, UDP_DROPPED_QUEUE_FULL, peer, 0);
    return;
  }
  memset(r, 0, sizeof(*r));
  r->server = u;
  memcpy(&r->peer, peer, (size_t)sockaddr_size(peer));
  if (from != NULL)
    memcpy(&r->from, from, (size_t)sockaddr_size(from));
  r->len = len;
  memcpy(r->data, data, len);
  if (!u->use_poll) {
    buf = uv_buf_init(r->data, (unsigned)len);
    err = uv_udp_send(&r->req, &u->udp, &buf, 1, peer, on_udp_sent);
    if (err != 0) {
      drop(u, UDP_DROPPED_SEND_FAILED, peer, err);
      free(r);
      return;
    }
    u->sends_out++;
  } else {
    if (u->tail != NULL)
      u->tail->next = r;
    else
      u->head = r;
    u->tail = r;
    watch(u, UV_READABLE | UV_WRITABLE);
  }
  u->queued += reply_cost(len);
  if (u->queued > u->stats->peak_queued)
    u->stats->peak_queued = u->queued;
}

/* The same bytes back to peer, from where they were sent to (from). */
static void reply(udp_server_t *u, const char *data, size_t len,
                  const struct sockaddr *peer, const struct sockaddr *from) {
  int err;
  if (u->queued == 0) { /* else behind what waits, in order */
    err = try_send(u, data, len, peer, from);
    if (err == 0) {
      sent(u, len);
      return;
    }
    if (err != UV_EAGAIN) {
      drop(u, UDP_DROPPED_SEND_FAILED, peer, err);
      return;
    }
  }
  queue_reply(u, data, len, peer, from);
}

/* ---- receiving ---- */

/* One datagram: refused, dropped or echoed, and counted. dst: where it was
 * sent to, NULL if not known. */
static void on_datagram(udp_server_t *u, const char *data, size_t len,
                        int truncated, const struct sockaddr *peer,
                        const struct sockaddr *dst) {
  udp_refused_t why;

  u->stats->datagrams_in++;
  u->stats->bytes_in += len;
  why = udp_guard_check(peer, dst, u->port);
  if (why != UDP_REFUSED_NONE) {
    refuse(u, why, peer);
    return;
  }
  if (truncated) {
    drop(u, UDP_DROPPED_TRUNCATED, peer, 0);
    return;
  }
  if (!udp_rate_allow(&u->rate, peer, uv_now(u->loop))) {
    refuse(u, UDP_REFUSED_RATE, peer);
    return;
  }
  reply(u, data, len, peer, dst);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  udp_server_t *u = container_of(handle, udp_server_t, udp);
  (void)suggested;
  if (!u->buf_busy) {
    u->buf_busy = 1;
    *buf = uv_buf_init(u->buf, sizeof(u->buf));
    return;
  }
  /* Only where libuv keeps a receive pending while another completes. */
  buf->base = malloc(UDP_SERVER_BUF_SIZE);
  buf->len = buf->base != NULL ? UDP_SERVER_BUF_SIZE : 0;
}

static void on_recv(uv_udp_t *handle, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *peer, unsigned flags) {
  udp_server_t *u = container_of(handle, udp_server_t, udp);

  if (nread < 0)
    receive_failed(u, (int)nread);
  else if (peer != NULL) /* else nothing more to read: not a datagram */
    on_datagram(u, buf->base, (size_t)nread, (flags & UV_UDP_PARTIAL) != 0,
                peer, NULL);
  if (buf->base == u->buf)
    u->buf_busy = 0;
  else
    free(buf->base);
}

static void read_datagrams(udp_server_t *u) {
  struct sockaddr_storage peer, dst;
  size_t len;
  int i, truncated, err;

  for (i = 0; i < UDP_SERVER_READS_PER_EVENT && !u->closing; i++) {
    err = platform_udp_recv_dst(u->sock, u->buf, sizeof(u->buf), &len,
                                &truncated, &peer, &dst);
    if (err == UV_EAGAIN)
      return;
    if (err != 0) {
      receive_failed(u, err);
      return;
    }
    on_datagram(u, u->buf, len, truncated, (const struct sockaddr *)&peer,
                dst.ss_family != AF_UNSPEC ? (const struct sockaddr *)&dst
                                           : NULL);
  }
}

static void on_poll(uv_poll_t *poll, int status, int events) {
  udp_server_t *u = container_of(poll, udp_server_t, poll);
  if (status < 0) {
    receive_failed(u, status);
    return;
  }
  if (events & UV_WRITABLE)
    send_queued(u);
  if (events & UV_READABLE)
    read_datagrams(u);
}

static void watch(udp_server_t *u, int events) {
  if (u->poll_events == events || u->closing)
    return;
  u->poll_events = events;
  (void)uv_poll_start(&u->poll, events, on_poll); /* a live handle: cannot
                                                     fail */
}

/* ---- opening and closing ---- */

static int is_wildcard(const struct sockaddr *addr) {
  static const unsigned char zero[16] = {0};
  if (addr->sa_family == AF_INET)
    return ((const struct sockaddr_in *)addr)->sin_addr.s_addr == 0;
  return addr->sa_family == AF_INET6 &&
         memcmp(((const struct sockaddr_in6 *)addr)->sin6_addr.s6_addr, zero,
                16) == 0;
}

static int open_poll(udp_server_t *u, const struct sockaddr *addr) {
  int err = platform_udp_open_dst(addr, u->config.bind, &u->sock);
  if (err != 0)
    return err;
  err = uv_poll_init_socket(u->loop, &u->poll, u->sock);
  if (err != 0) {
    platform_close_socket(u->sock);
    return err;
  }
  u->use_poll = 1;
  u->handle_open = 1;
  watch(u, UV_READABLE);
  return 0;
}

static int open_udp(udp_server_t *u, const struct sockaddr *addr) {
  int err = uv_udp_init_ex(u->loop, &u->udp, addr->sa_family);
  if (err != 0)
    return err;
  u->handle_open = 1;
  err = u->config.bind == PLATFORM_BIND_ALONE
            ? uv_udp_bind(&u->udp, addr, 0)
            : platform_udp_bind_balanced(&u->udp, addr, u->config.bind);
  if (err == 0)
    err = uv_udp_recv_start(&u->udp, on_alloc, on_recv);
  return err;
}

int udp_server_open(udp_server_t *u, const struct sockaddr *addr) {
  char where[ADDR_STR_SIZE];
  uint64_t seed = uv_hrtime();
  int err;

  memcpy(&u->addr, addr, (size_t)sockaddr_size(addr));
  u->port = addr_port(addr);
  /* A secret start for the rate table's hash, so that nobody can choose
   * sources that fall on one slot; the time, where there is no better. */
  (void)uv_random(NULL, NULL, &seed, sizeof(seed), 0, NULL);
  err = udp_rate_init(&u->rate, u->config.rate, 0, seed);
  if (err == 0)
    err = is_wildcard(addr) && platform_udp_dst_supported() ? open_poll(u, addr)
                                                            : open_udp(u, addr);
  if (err != 0) {
    format_peer(addr, where, sizeof(where));
    log_line("listen udp %s: %s (%s)", where, uv_err_name(err),
             uv_strerror(err));
  }
  return err;
}

int udp_server_replies_from_dst(const udp_server_t *u) {
  return u->use_poll || !is_wildcard((const struct sockaddr *)&u->addr);
}

void udp_server_address(const udp_server_t *u, char *buf, size_t size) {
  format_peer((const struct sockaddr *)&u->addr, buf, size);
}

static void on_handle_closed(uv_handle_t *handle) {
  udp_server_t *u = handle->data;
  if (u->use_poll)
    platform_close_socket(u->sock); /* uv_poll_t does not own it */
  u->handle_open = 0;
  maybe_closed(u);
}

void udp_server_close(udp_server_t *u, udp_server_closed_cb cb) {
  uv_handle_t *handle =
      u->use_poll ? (uv_handle_t *)&u->poll : (uv_handle_t *)&u->udp;
  u->closed_cb = cb;
  if (u->closing)
    return;
  u->closing = 1;
  /* Poll's queue is ours to drop; libuv cancels the uv_udp_t's. */
  while (u->head != NULL) {
    udp_reply_t *r = u->head;
    u->head = r->next;
    u->queued -= reply_cost(r->len);
    drop(u, UDP_DROPPED_SEND_FAILED, (const struct sockaddr *)&r->peer, 0);
    free(r);
  }
  u->tail = NULL;
  udp_rate_free(&u->rate);
  if (u->handle_open) {
    handle->data = u;
    uv_close(handle, on_handle_closed);
  }
  maybe_closed(u);
}
