#include "bench/udp_load.h"

#include "base/container_of.h"
#include "bench/schedule.h"

#include <stdlib.h>

typedef struct udp_sock_s {
  uv_udp_t udp;
  struct udp_load_s *load;
  udp_flow_t flow;
  schedule_t due;
  int flow_open; /* flow initialised: to free */
  int open;      /* handle initialised: to close */
  int ready;     /* connected and reading: sends */
} udp_sock_t;

struct udp_load_s {
  uv_loop_t *loop;
  const udp_load_config_t *config;
  udp_load_sink_t *sink;
  udp_sock_t *socks;
  size_t first, count;
  size_t rr; /* the socket whose datagram is due next, in turn */
  int sending;
  char *out;          /* the datagram being sent */
  char in[65536 + 1]; /* one more than any datagram: a longer one shows */
};

udp_load_t *udp_load_new(uv_loop_t *loop, const udp_load_config_t *config,
                         size_t first, size_t count, udp_load_sink_t *sink) {
  udp_load_t *u = calloc(1, sizeof(*u));
  uint64_t share;
  size_t i, window;

  if (u == NULL)
    return NULL;
  u->loop = loop;
  u->config = config;
  u->sink = sink;
  u->first = first;
  u->count = count;
  u->socks = calloc(count ? count : 1, sizeof(*u->socks));
  u->out = malloc((size_t)config->size);
  if (u->socks == NULL || u->out == NULL) {
    udp_load_free(u);
    return NULL;
  }
  /* Each socket's share of the rate, rounded up. */
  share = (config->rate + config->sockets - 1) / config->sockets;
  window = udp_flow_window(share, config->timeout_ns);
  for (i = 0; i < count; i++) {
    udp_sock_t *s = &u->socks[i];
    s->load = u;
    if (udp_flow_init(&s->flow, window, config->timeout_ns, config->nonce,
                      config->size, &sink->counts) != 0) {
      udp_load_free(u);
      return NULL;
    }
    s->flow_open = 1;
  }
  return u;
}

void udp_load_free(udp_load_t *u) {
  size_t i;
  if (u == NULL)
    return;
  for (i = 0; u->socks != NULL && i < u->count; i++) {
    if (u->socks[i].flow_open)
      udp_flow_free(&u->socks[i].flow);
  }
  free(u->socks);
  free(u->out);
  free(u);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  udp_sock_t *s = container_of(handle, udp_sock_t, udp);
  (void)suggested;
  *buf = uv_buf_init(s->load->in, sizeof(s->load->in));
}

/* An error the network reported (a port unreachable: ECONNREFUSED) is
 * counted, and the datagram it was about times out as lost. */
static void on_recv(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags) {
  udp_sock_t *s = container_of(udp, udp_sock_t, udp);
  udp_load_sink_t *k = s->load->sink;
  uint64_t now, latency, service;
  int measured;

  if (nread < 0) {
    if (k->net_errors++ == 0)
      k->first_net_error = (int)nread;
    return;
  }
  if (from == NULL) /* nothing more to read */
    return;
  now = uv_hrtime();
  switch (udp_flow_echo(&s->flow, buf->base, (size_t)nread,
                        (flags & UV_UDP_PARTIAL) != 0, now, &latency, &service,
                        &measured)) {
  case UDP_FLOW_RECEIVED:
  case UDP_FLOW_REORDERED:
    if (!measured)
      break;
    histogram_record(k->latency, latency);
    histogram_record(k->service, service);
    if (k->interval != NULL)
      histogram_record(&k->interval->latency, latency);
    break;
  default: /* counted by the flow */
    break;
  }
  /* Nothing is sent from here, but on the loop's turns: a read that sends
   * could feed itself, as libuv on Windows reads a socket until it is
   * empty, and the echoes of what it sent would keep it from being so. */
}

int udp_load_open(udp_load_t *u, size_t i, int *at_bind,
                  const struct sockaddr **src) {
  const udp_load_config_t *cfg = u->config;
  udp_sock_t *s = &u->socks[i];
  int err = uv_udp_init(u->loop, &s->udp);

  *at_bind = 0;
  *src = NULL;
  if (err != 0)
    return err;
  s->open = 1;
  if (cfg->n_sources > 0) {
    *src = (const struct sockaddr *)&cfg
               ->sources[source_pick(u->first + i, cfg->n_sources)];
    err = uv_udp_bind(&s->udp, *src, 0); /* its port 0: the system's pick */
    if (err != 0) {
      *at_bind = 1;
      return err;
    }
  }
  err = uv_udp_connect(&s->udp, cfg->peer);
  if (err == 0)
    err = uv_udp_recv_start(&s->udp, on_alloc, on_recv);
  s->ready = err == 0;
  return err;
}

void udp_load_start(udp_load_t *u, uint64_t start_ns) {
  size_t i;
  for (i = 0; i < u->count; i++)
    schedule_init(&u->socks[i].due, start_ns, u->config->sockets,
                  u->config->rate, i, u->count);
  u->sending = 1;
}

/* Sends what is due on one socket by now, each stamped with when it was
 * due; no more, so that a generator slower than its rate still reads and
 * ticks between turns (what falls behind shows as latency and late
 * sends). Not taken by the socket (its buffer full, or an error the
 * network reported for an earlier one): never sent, counted apart. */
static void sock_send_due(udp_sock_t *s, uint64_t now) {
  udp_load_t *u = s->load;
  uv_buf_t buf = uv_buf_init(u->out, (unsigned)u->config->size);

  while (s->ready && s->due.next_due <= now) {
    uint64_t due = s->due.next_due, written;
    int n;
    udp_flow_make(&s->flow, u->out, due);
    written = uv_hrtime(); /* before the send: the echo may be back at once */
    n = uv_udp_try_send(&s->udp, &buf, 1, NULL);
    if (n >= 0) {
      udp_flow_sent(&s->flow, due, written);
    } else {
      udp_flow_unsent(&s->flow);
      if (n != UV_EAGAIN && n != UV_ENOBUFS && u->sink->net_errors++ == 0)
        u->sink->first_net_error = n;
    }
    schedule_next(&s->due);
  }
}

void udp_load_send_due(udp_load_t *u, uint64_t now_ns) {
  size_t i;
  if (!u->sending)
    return;
  for (i = 0; i < u->count; i++)
    sock_send_due(&u->socks[i], now_ns);
}

uint64_t udp_load_send_turn(udp_load_t *u, uint64_t now_ns) {
  size_t n;
  if (!u->sending || u->count == 0)
    return 0;
  for (n = 0; n < u->count && u->socks[u->rr].due.next_due <= now_ns; n++) {
    sock_send_due(&u->socks[u->rr], now_ns);
    u->rr = (u->rr + 1) % u->count;
  }
  return u->socks[u->rr].due.next_due;
}

void udp_load_measure_begin(udp_load_t *u) {
  size_t i;
  for (i = 0; i < u->count; i++)
    udp_flow_measure_begin(&u->socks[i].flow);
}

void udp_load_measure_end(udp_load_t *u) {
  size_t i;
  u->sending = 0;
  for (i = 0; i < u->count; i++)
    udp_flow_measure_end(&u->socks[i].flow);
}

int udp_load_settled(udp_load_t *u, uint64_t now_ns) {
  size_t i;
  int settled = 1;
  for (i = 0; i < u->count; i++) {
    udp_flow_expire(&u->socks[i].flow, now_ns);
    if (udp_flow_awaiting(&u->socks[i].flow))
      settled = 0;
  }
  return settled;
}

void udp_load_close(udp_load_t *u) {
  size_t i;
  u->sending = 0;
  for (i = 0; i < u->count; i++) {
    udp_sock_t *s = &u->socks[i];
    s->ready = 0;
    if (s->open && !uv_is_closing((uv_handle_t *)&s->udp))
      uv_close((uv_handle_t *)&s->udp, NULL);
  }
}
