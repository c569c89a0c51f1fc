#include "client/ping.h"

#include "base/container_of.h"
#include "base/log.h"
#include "base/pattern.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void send_next(ping_t *p);

static double ms_since(uint64_t from_ns, uint64_t to_ns) {
  return (double)(to_ns - from_ns) / 1e6;
}

static void on_all_closed(handle_group_t *handles) {
  ping_t *p = handles->data;
  free(p->payload);
  free(p->latency);
  p->payload = NULL;
  p->latency = NULL;
  p->done_cb(p, p->failed || p->received < p->seq ? 1 : 0);
}

static void on_signals_closed(stop_signals_t *signals) {
  ping_t *p = signals->data;
  handle_group_release(&p->handles);
}

static void print_summary(ping_t *p) {
  char target[ADDR_STR_SIZE + 256];
  double ns_to_ms = 1e-6;

  addr_format_target(p->config.host, p->config.port, target, sizeof(target));
  printf("--- %s tcpecho ping statistics ---\n", target);
  printf("%llu sent, %llu received, %.1f%% loss, time %.0f ms\n",
         (unsigned long long)p->seq, (unsigned long long)p->received,
         stats_loss_percent(p->seq, p->received),
         ms_since(p->start_ns, uv_hrtime()));
  printf("connect %.3f ms\n", (double)p->connect_ns * ns_to_ms);
  if (p->received > 0)
    rtt_stats_print(&p->rtt, p->latency);
  fflush(stdout);
}

/* Ends the run: the summary (once connected), then every handle closes. */
static void ping_finish(ping_t *p, int failed) {
  if (p->finished)
    return;
  p->finished = 1;
  p->failed |= failed;
  if (p->connect_ns > 0)
    print_summary(p);
  if (p->tcp_open)
    handle_group_close(&p->handles, (uv_handle_t *)&p->tcp);
  else
    dial_cancel(&p->dial);
  handle_group_close(&p->handles, (uv_handle_t *)&p->timer);
  stop_signals_close(&p->signals, on_signals_closed);
}

static void on_stop_signal(stop_signals_t *signals, int signum) {
  ping_t *p = signals->data;
  (void)signum;
  /* A round trip cut short by the interrupt is not a loss. */
  if (p->seq > p->received)
    p->seq--;
  ping_finish(p, 0);
}

static void on_timer(uv_timer_t *timer) {
  ping_t *p = container_of(timer, ping_t, timer);
  if (p->got < p->len || p->seq == 0) {
    if (p->seq > 0) {
      char secs[32];
      log_format_seconds(secs, sizeof(secs), p->config.timeout_ms);
      printf("seq=%llu: no echo within %s s (%lu of %lu bytes)\n",
             (unsigned long long)p->seq, secs, (unsigned long)p->got,
             (unsigned long)p->len);
      ping_finish(p, 1);
      return;
    }
  }
  send_next(p);
}

static void on_write(uv_write_t *req, int status) {
  ping_t *p = container_of(req, ping_t, write_req);
  if (status < 0 && status != UV_ECANCELED) {
    log_line("Error writing TCP session: %s (%s)", uv_err_name(status),
             uv_strerror(status));
    ping_finish(p, 1);
  }
}

static void send_next(ping_t *p) {
  uv_buf_t buf;
  int err;

  p->seq++;
  p->got = 0;
  if (p->config.size > 0)
    pattern_fill(p->seq, 0, p->payload, p->len); /* each one different */
  buf = uv_buf_init(p->payload, (unsigned int)p->len);
  p->send_ns = uv_hrtime();
  err = uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, on_write);
  if (err == 0)
    err = uv_timer_start(&p->timer, on_timer, p->config.timeout_ms, 0);
  if (err != 0) {
    log_line("Error writing TCP session: %s (%s)", uv_err_name(err),
             uv_strerror(err));
    ping_finish(p, 1);
  }
}

static void round_trip_done(ping_t *p) {
  uint64_t ns = uv_hrtime() - p->send_ns;
  double ms = (double)ns / 1e6;

  p->received++;
  rtt_stats_add(&p->rtt, ms);
  histogram_record(p->latency, ns);
  if (!p->config.quiet) {
    printf("%lu bytes from %s: seq=%llu time=%.3f ms\n", (unsigned long)p->len,
           p->peer, (unsigned long long)p->seq, ms);
    fflush(stdout);
  }
  if (p->config.count > 0 && p->seq >= p->config.count) {
    ping_finish(p, 0);
    return;
  }
  (void)uv_timer_start(&p->timer, on_timer, p->config.interval_ms, 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  ping_t *p = container_of(handle, ping_t, tcp);
  (void)suggested;
  *buf = uv_buf_init(p->read_buf, sizeof(p->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  ping_t *p = container_of(stream, ping_t, tcp);
  size_t n = (size_t)nread, i;

  if (nread < 0) {
    if (nread == UV_EOF)
      printf("seq=%llu: the server closed the connection\n",
             (unsigned long long)p->seq);
    else
      printf("seq=%llu: %s (%s)\n", (unsigned long long)p->seq,
             uv_err_name((int)nread), uv_strerror((int)nread));
    ping_finish(p, 1);
    return;
  }
  if (nread == 0 || p->finished)
    return;
  if (p->got + n > p->len) {
    printf("seq=%llu: %lu bytes more than were sent\n",
           (unsigned long long)p->seq, (unsigned long)(p->got + n - p->len));
    ping_finish(p, 1);
    return;
  }
  for (i = 0; i < n; i++) {
    if (buf->base[i] != p->payload[p->got + i]) {
      printf("seq=%llu: echo differs from what was sent at byte %lu\n",
             (unsigned long long)p->seq, (unsigned long)(p->got + i));
      ping_finish(p, 1);
      return;
    }
  }
  p->got += n;
  if (p->got == p->len) {
    uv_timer_stop(&p->timer);
    round_trip_done(p);
  }
}

static void on_dialed(dial_t *dial, int status) {
  ping_t *p = dial->data;

  if (status == 0) {
    p->tcp_open = 1;
    handle_group_add(&p->handles);
  }
  handle_group_release(&p->handles); /* the dial's */
  if (status < 0) {
    ping_finish(p, 1); /* unless it already was */
    return;
  }
  if (p->finished) { /* interrupted while connecting */
    handle_group_close(&p->handles, (uv_handle_t *)&p->tcp);
    return;
  }
  p->connect_ns = uv_hrtime() - p->start_ns;
  addr_format_tcp(&p->tcp, 1, p->peer, sizeof(p->peer));
  printf("PING %s: %lu data bytes, connected in %.3f ms\n", p->peer,
         (unsigned long)p->len, (double)p->connect_ns / 1e6);
  fflush(stdout);
  if (uv_read_start((uv_stream_t *)&p->tcp, on_alloc, on_read) != 0) {
    ping_finish(p, 1);
    return;
  }
  send_next(p);
}

void ping_start(ping_t *p, uv_loop_t *loop, const ping_config_t *config,
                ping_done_cb done_cb) {
  memset(p, 0, offsetof(ping_t, read_buf));
  p->loop = loop;
  p->config = *config;
  p->done_cb = done_cb;
  p->len = config->size > 0 ? (size_t)config->size : config->message_len;
  p->payload = malloc(p->len > 0 ? p->len : 1);
  p->latency = malloc(sizeof(*p->latency));
  rtt_stats_init(&p->rtt);
  (void)uv_timer_init(loop, &p->timer); /* cannot fail on a live loop */
  p->signals.data = p;
  (void)stop_signals_start(&p->signals, loop, on_stop_signal); /* best effort */
  handle_group_init(&p->handles, on_all_closed);
  p->handles.data = p;
  handle_group_add(&p->handles); /* the timer */
  handle_group_add(&p->handles); /* the signals */
  p->start_ns = uv_hrtime();
  if (p->payload == NULL || p->latency == NULL || p->len == 0) {
    log_line(p->len == 0 ? "ping: the message is empty: nothing to echo"
                         : "ping: out of memory");
    ping_finish(p, 1);
    return;
  }
  histogram_init(p->latency);
  if (config->size == 0)
    memcpy(p->payload, config->message, p->len);
  handle_group_add(&p->handles); /* the dial's, until on_dialed */
  p->dial.data = p;
  dial_start(&p->dial, loop, &p->tcp, config->host, config->port,
             config->connect_timeout_ms, on_dialed, NULL);
}
