#include "client/udp_ping.h"

#include "base/container_of.h"
#include "base/log.h"
#include "client/udp_ping_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void send_next(udp_ping_t *p);

static void on_all_closed(handle_group_t *handles) {
  udp_ping_t *p = handles->data;
  int status = p->failed || p->track.received == 0 || p->corrupted > 0;
  free(p->out);
  free(p->latency);
  p->out = NULL;
  p->latency = NULL;
  if (p->track_open)
    udp_track_free(&p->track);
  p->track_open = 0;
  p->done_cb(p, status);
}

static void on_signals_closed(stop_signals_t *signals) {
  udp_ping_t *p = signals->data;
  handle_group_release(&p->handles);
}

static void print_summary(udp_ping_t *p) {
  const udp_track_t *t = &p->track;
  char target[ADDR_STR_SIZE + 256];
  char too_old[64] = "";
  double ns_to_ms = 1e-6;

  if (t->too_old > 0)
    snprintf(too_old, sizeof(too_old), ", %llu too old to match",
             (unsigned long long)t->too_old);
  addr_format_target(p->config.host, p->config.port, target, sizeof(target));
  printf("--- %s tcpecho UDP ping statistics ---\n", target);
  printf("%llu sent, %llu received, %.1f%% loss, %llu duplicates, %llu "
         "reordered, %llu corrupted, %llu late%s, time %.0f ms\n",
         (unsigned long long)t->sent, (unsigned long long)t->received,
         stats_loss_percent(t->sent, t->received),
         (unsigned long long)t->duplicates, (unsigned long long)t->reordered,
         (unsigned long long)p->corrupted, (unsigned long long)t->late, too_old,
         (double)(uv_hrtime() - p->start_ns) * ns_to_ms);
  if (t->received > 0)
    rtt_stats_print(&p->rtt, p->latency);
  fflush(stdout);
}

/* Ends the run: the summary (once a datagram went), then every handle
 * closes. */
static void finish(udp_ping_t *p, int failed) {
  if (p->finished)
    return;
  p->finished = 1;
  p->failed |= failed;
  if (p->started)
    print_summary(p);
  if (p->resolving)
    (void)uv_cancel((uv_req_t *)&p->resolver); /* on_resolved releases it */
  if (p->udp_open)
    handle_group_close(&p->handles, (uv_handle_t *)&p->udp);
  handle_group_close(&p->handles, (uv_handle_t *)&p->send_timer);
  handle_group_close(&p->handles, (uv_handle_t *)&p->wait_timer);
  stop_signals_close(&p->signals, on_signals_closed);
}

static void on_stop_signal(stop_signals_t *signals, int signum) {
  udp_ping_t *p = signals->data;
  (void)signum;
  /* Echoes still within their timeout when interrupted are not lost. */
  if (p->track_open)
    udp_track_forget_pending(&p->track);
  finish(p, 0);
}

static int more_to_send(const udp_ping_t *p) {
  return p->config.count == 0 || p->track.sent < p->config.count;
}

static void on_wait_timer(uv_timer_t *timer);

/* The timer for the oldest echo still awaited, if any. */
static void arm_wait(udp_ping_t *p) {
  uint64_t deadline = udp_track_next_deadline(&p->track);
  uint64_t now = uv_hrtime(), ms;
  if (deadline == 0) {
    uv_timer_stop(&p->wait_timer);
    return;
  }
  ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
  (void)uv_timer_start(&p->wait_timer, on_wait_timer, ms > 0 ? ms : 1, 0);
}

/* An echo came or was given up: the end, or with --interval 0 the next. */
static void after_settled(udp_ping_t *p) {
  if (p->finished)
    return;
  if (!more_to_send(p)) {
    if (udp_track_pending(&p->track) == 0)
      finish(p, 0);
    return;
  }
  if (p->config.interval_ms == 0 && udp_track_pending(&p->track) == 0)
    send_next(p);
}

static void print_lost(udp_ping_t *p, uint64_t seq) {
  char secs[32];
  if (p->config.quiet)
    return;
  log_format_seconds(secs, sizeof(secs), p->config.timeout_ms);
  printf("seq=%llu: no echo within %s s\n", (unsigned long long)seq, secs);
  fflush(stdout);
}

static void on_wait_timer(uv_timer_t *timer) {
  udp_ping_t *p = container_of(timer, udp_ping_t, wait_timer);
  uint64_t now = uv_hrtime(), seq;
  while ((seq = udp_track_expire(&p->track, now)) != 0)
    print_lost(p, seq);
  arm_wait(p);
  after_settled(p);
}

static void on_send_timer(uv_timer_t *timer) {
  send_next(container_of(timer, udp_ping_t, send_timer));
}

static void send_next(udp_ping_t *p) {
  uint64_t now = uv_hrtime(), evicted, seq;
  uv_buf_t buf;
  int n;

  seq = udp_track_send(&p->track, now, &evicted);
  if (evicted != 0 && !p->config.quiet)
    printf("seq=%llu: no echo before %lu later datagrams were sent\n",
           (unsigned long long)evicted, (unsigned long)UDP_TRACK_WINDOW);
  udp_ping_encode(p->out, (size_t)p->config.size, p->nonce, seq, now);
  buf = uv_buf_init(p->out, (unsigned int)p->config.size);
  p->started = 1;
  /* Not sent (a full socket buffer, an error the network reported): it
   * times out as lost, like one lost on the way. */
  n = uv_udp_try_send(&p->udp, &buf, 1, NULL);
  if (n < 0)
    printf("seq=%llu: %s (%s)\n", (unsigned long long)seq, uv_err_name(n),
           uv_strerror(n));
  fflush(stdout);
  if (more_to_send(p) && p->config.interval_ms > 0)
    (void)uv_timer_start(&p->send_timer, on_send_timer, p->config.interval_ms,
                         0);
  arm_wait(p);
}

/* One line per echo, ping(8)'s with what it was. */
static void print_echo(udp_ping_t *p, size_t len, uint64_t seq, uint64_t ns,
                       const char *what) {
  if (p->config.quiet)
    return;
  printf("%lu bytes from %s: seq=%llu time=%.3f ms%s\n", (unsigned long)len,
         p->peer, (unsigned long long)seq, (double)ns / 1e6, what);
  fflush(stdout);
}

/* Checked against what was sent, then counted; a corrupted echo is not
 * matched to anything. */
static void on_echo(udp_ping_t *p, const char *data, size_t len,
                    int truncated) {
  uint64_t now = uv_hrtime(), seq, sent_ns, claimed_ns;
  udp_track_result_t result;
  size_t bad;

  if (truncated || !udp_ping_decode(data, len, p->nonce, &seq, &claimed_ns)) {
    p->corrupted++;
    printf("%lu bytes from %s: not an echo of this ping\n", (unsigned long)len,
           p->peer);
    fflush(stdout);
    return;
  }
  if (seq == 0 || seq > p->track.sent) {
    p->corrupted++;
    printf("seq=%llu: an echo of a datagram never sent\n",
           (unsigned long long)seq);
    fflush(stdout);
    return;
  }
  if (!udp_track_sent_at(&p->track, seq, &sent_ns))
    sent_ns = claimed_ns; /* too old to know: as it says */
  bad =
      udp_ping_check(data, len, (size_t)p->config.size, p->nonce, seq, sent_ns);
  if (bad != UDP_PING_INTACT) {
    p->corrupted++;
    if (len != p->config.size)
      printf("seq=%llu: echo of %lu bytes, %lu were sent\n",
             (unsigned long long)seq, (unsigned long)len,
             (unsigned long)p->config.size);
    else
      printf("seq=%llu: echo differs from what was sent at byte %lu\n",
             (unsigned long long)seq, (unsigned long)bad);
    fflush(stdout);
    return;
  }
  result = udp_track_reply(&p->track, seq, now, &sent_ns);
  switch (result) {
  case UDP_TRACK_RECEIVED:
  case UDP_TRACK_REORDERED:
    rtt_stats_add(&p->rtt, (double)(now - sent_ns) / 1e6);
    histogram_record(p->latency, now - sent_ns);
    print_echo(p, len, seq, now - sent_ns,
               result == UDP_TRACK_REORDERED ? " (reordered)" : "");
    break;
  case UDP_TRACK_DUPLICATE:
    print_echo(p, len, seq, now - sent_ns, " (duplicate)");
    break;
  case UDP_TRACK_LATE:
    print_echo(p, len, seq, now - sent_ns, " (late: counted lost)");
    break;
  case UDP_TRACK_TOO_OLD:
    print_echo(p, len, seq, now - claimed_ns, " (too old to match)");
    break;
  case UDP_TRACK_UNKNOWN: /* ruled out above */
    break;
  }
  arm_wait(p);
  after_settled(p);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  udp_ping_t *p = container_of(handle, udp_ping_t, udp);
  (void)suggested;
  *buf = uv_buf_init(p->read_buf, sizeof(p->read_buf));
}

/* An error the network reported (a port unreachable: ECONNREFUSED) is
 * said and the ping goes on: its datagram times out as lost. */
static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags) {
  udp_ping_t *p = container_of(udp, udp_ping_t, udp);
  if (p->finished)
    return;
  if (nread < 0) {
    printf("seq=%llu: %s (%s)\n", (unsigned long long)p->track.sent,
           uv_err_name((int)nread), uv_strerror((int)nread));
    fflush(stdout);
    return;
  }
  if (from == NULL) /* nothing more to read */
    return;
  on_echo(p, buf->base, (size_t)nread, (flags & UV_UDP_PARTIAL) != 0);
}

/* A connected socket: only the server's datagrams reach it. Its port is
 * the system's choice, an ephemeral one, which echo servers answer. */
static int open_socket(udp_ping_t *p, const struct sockaddr *addr) {
  uint64_t max =
      addr->sa_family == AF_INET6 ? UDP_PING_MAX_V6 : UDP_PING_MAX_V4;
  int err;

  if (addr_format(addr, p->peer, sizeof(p->peer)) != 0)
    snprintf(p->peer, sizeof(p->peer), "?");
  if (p->config.size > max) {
    log_line("ping: --size %llu does not fit in a UDP datagram to %s (at "
             "most %llu bytes)",
             (unsigned long long)p->config.size, p->peer,
             (unsigned long long)max);
    return UV_EMSGSIZE;
  }
  err = uv_udp_init(p->loop, &p->udp);
  if (err == 0) {
    p->udp_open = 1;
    handle_group_add(&p->handles);
    err = uv_udp_connect(&p->udp, addr);
  }
  if (err == 0)
    err = uv_udp_recv_start(&p->udp, on_alloc, on_recv);
  if (err != 0)
    log_line("dial udp %s: %s (%s)", p->peer, uv_err_name(err),
             uv_strerror(err));
  return err;
}

static int local_port(const udp_ping_t *p) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  if (uv_udp_getsockname(&p->udp, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  return addr_port((const struct sockaddr *)&ss);
}

/* The first address the name resolves to: with nothing to connect, there
 * is no telling whether another would do better. */
static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  udp_ping_t *p = req->data;
  char target[ADDR_STR_SIZE + 256];
  int err;

  p->resolving = 0;
  if (status < 0 || p->finished) {
    if (res != NULL)
      uv_freeaddrinfo(res);
    if (!p->finished) {
      addr_format_target(p->config.host, p->config.port, target,
                         sizeof(target));
      log_line("dial udp %s: lookup failed: %s (%s)", target,
               uv_err_name(status), uv_strerror(status));
      finish(p, 1);
    }
    handle_group_release(&p->handles);
    return;
  }
  err = open_socket(p, res->ai_addr);
  uv_freeaddrinfo(res);
  handle_group_release(&p->handles); /* the lookup's */
  if (err != 0) {
    finish(p, 1);
    return;
  }
  printf("PING %s over UDP: %lu data bytes, from port %d\n", p->peer,
         (unsigned long)p->config.size, local_port(p));
  fflush(stdout);
  send_next(p);
}

void udp_ping_start(udp_ping_t *p, uv_loop_t *loop,
                    const udp_ping_config_t *config, udp_ping_done_cb done_cb) {
  int err;

  memset(p, 0, offsetof(udp_ping_t, read_buf));
  p->loop = loop;
  p->config = *config;
  p->done_cb = done_cb;
  rtt_stats_init(&p->rtt);
  /* A timer's init cannot fail on a live loop. */
  (void)uv_timer_init(loop, &p->send_timer);
  (void)uv_timer_init(loop, &p->wait_timer);
  p->signals.data = p;
  (void)stop_signals_start(&p->signals, loop, on_stop_signal); /* best effort */
  handle_group_init(&p->handles, on_all_closed);
  p->handles.data = p;
  handle_group_add(&p->handles); /* send_timer */
  handle_group_add(&p->handles); /* wait_timer */
  handle_group_add(&p->handles); /* the signals */
  p->start_ns = uv_hrtime();
  /* Unpredictable where the system says, else the time: either way not
   * another run's. */
  if (uv_random(NULL, NULL, &p->nonce, sizeof(p->nonce), 0, NULL) != 0)
    p->nonce = uv_hrtime() ^ (uint64_t)uv_os_getpid() << 32;
  p->out = malloc((size_t)config->size);
  p->latency = malloc(sizeof(*p->latency));
  if (p->out != NULL && p->latency != NULL &&
      udp_track_init(&p->track, UDP_TRACK_WINDOW,
                     config->timeout_ms * 1000000) == 0)
    p->track_open = 1;
  if (!p->track_open) {
    log_line("ping: out of memory");
    finish(p, 1);
    return;
  }
  histogram_init(p->latency);
  handle_group_add(&p->handles); /* the lookup, until on_resolved */
  p->resolving = 1;
  p->resolver.data = p;
  err = addr_resolve(loop, &p->resolver, on_resolved, config->host,
                     config->port, 0);
  if (err != 0)
    on_resolved(&p->resolver, err, NULL);
}
