#include "load.h"

#include "proc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/container_of.h"
#include "base/pattern.h"

#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;

void load_setup(uv_loop_t *l) {
  loop = l;
}

uint64_t now_ms(void) {
  return uv_hrtime() / 1000000u;
}

/* Number k of a connection's random sequence: 8 bytes of its own pattern
 * stream, so that there is one generator. */
uint64_t conn_random(conn_t *c) {
  uint64_t r;
  pattern_fill(c->rng_seed, 8 * c->rng_next++, &r, sizeof(r));
  return r;
}

/* The load of the running test, closed and freed by the teardown when a
 * test fails half-way. */
static load_t *the_load;

typedef struct write_req_s {
  uv_write_t req;
  conn_t *conn;
  uint32_t len; /* the bytes follow the struct */
} write_req_t;

static void conn_pump(conn_t *c);

static void on_conn_closed(uv_handle_t *h) {
  conn_t *c = container_of(h, conn_t, tcp);
  c->closed = 1;
  c->t_closed = now_ms();
  c->load->open_handles--;
  c->load->closed_count++;
}

void conn_close(conn_t *c) {
  if (c->started && !c->closing) {
    c->closing = 1;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  }
}

/* Closes with an RST instead of a FIN. */
void conn_reset(conn_t *c) {
  if (c->started && !c->closing) {
    c->closing = 1;
    if (uv_tcp_close_reset(&c->tcp, on_conn_closed) != 0)
      uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
  }
}

static uint32_t chunk_size(conn_t *c) {
  uint64_t r;
  uint32_t n;
  if (c->chunk_min >= c->chunk_max)
    return c->chunk_min;
  /* A bit length 0..16, then a size up to it: writes of a few bytes are
   * about as common as writes of tens of KiB. */
  r = conn_random(c);
  n = (uint32_t)(1 + (r >> 8) % ((uint64_t)1 << (r % 17)));
  if (n < c->chunk_min)
    n = c->chunk_min;
  if (n > c->chunk_max)
    n = c->chunk_max;
  return n;
}

static void on_conn_write(uv_write_t *req, int status) {
  write_req_t *w = container_of(req, write_req_t, req);
  conn_t *c = w->conn;
  c->in_flight--;
  if (status == 0) {
    c->written += w->len;
    c->t_progress = now_ms();
  } else if (c->write_status == 0) {
    c->write_status = status;
  }
  free(w);
  if (status == 0)
    conn_pump(c);
}

static void on_conn_shutdown(uv_shutdown_t *req, int status) {
  conn_t *c = container_of(req, conn_t, shutdown_req);
  c->shutdown_status = status;
}

/* Queues writes as far as depth and window allow, then the half-close. */
static void conn_pump(conn_t *c) {
  while (c->connected && !c->closing && !c->shutdown_sent &&
         c->queued < c->to_send && c->in_flight < c->depth &&
         (c->window == 0 || c->queued - c->received < c->window)) {
    uint64_t n = chunk_size(c);
    write_req_t *w;
    uv_buf_t buf;
    int err;

    if (n > c->to_send - c->queued)
      n = c->to_send - c->queued;
    if (c->window != 0 && n > c->window - (c->queued - c->received))
      n = c->window - (c->queued - c->received);
    w = malloc(sizeof(*w) + (size_t)n);
    if (w == NULL) {
      c->write_status = UV_ENOMEM;
      return;
    }
    w->conn = c;
    w->len = (uint32_t)n;
    pattern_fill(c->seed, c->queued, w + 1, (size_t)n);
    buf = uv_buf_init((char *)(w + 1), (unsigned int)n);
    if (c->queued == c->received)
      c->rt_start_ns = uv_hrtime();
    err = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_conn_write);
    if (err != 0) {
      free(w);
      if (c->write_status == 0)
        c->write_status = err;
      return;
    }
    c->queued += n;
    c->in_flight++;
  }
  if (c->half_close && c->connected && !c->closing && !c->shutdown_sent &&
      c->queued == c->to_send) {
    c->shutdown_sent = 1;
    c->shutdown_status =
        uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_conn_shutdown);
  }
}

static void on_conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char chunk[65536];
  const conn_t *c = container_of(h, conn_t, tcp);
  size_t len = sizeof(chunk);
  (void)suggested;
  /* Reading stops at read_limit, so there is room for one byte at least. */
  if (c->read_limit != 0 && c->read_limit - c->received < len)
    len = (size_t)(c->read_limit - c->received);
  *buf = uv_buf_init(chunk, (unsigned int)len);
}

static void on_conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = container_of(s, conn_t, tcp);
  if (nread > 0) {
    size_t n = (size_t)nread;
    size_t good = pattern_check(c->seed, c->received, buf->base, n);
    if (c->bad_at == NO_ERROR_AT && c->received + n > c->queued)
      c->bad_at = c->queued; /* more than was ever sent */
    if (c->bad_at == NO_ERROR_AT && good < n)
      c->bad_at = c->received + good;
    c->received += n;
    c->t_last_read = now_ms();
    if (c->window != 0 && c->received == c->queued && c->rt_start_ns != 0) {
      uint64_t rt = uv_hrtime() - c->rt_start_ns;
      c->rt_start_ns = 0;
      c->rt_count++;
      c->rt_total_ns += rt;
      if (rt > c->rt_max_ns)
        c->rt_max_ns = rt;
    }
    if (c->read_limit != 0 && c->received >= c->read_limit)
      conn_stop_reading(c);
    conn_pump(c);
  } else if (nread < 0) {
    c->read_status = (int)nread;
    c->t_end = now_ms();
    if (nread == UV_EOF)
      c->load->eof_count++;
    conn_close(c);
  }
}

void conn_read(conn_t *c) {
  if (c->connected && !c->closing && !c->reading &&
      (c->read_limit == 0 || c->received < c->read_limit)) {
    c->reading = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_conn_alloc, on_conn_read);
  }
}

void conn_stop_reading(conn_t *c) {
  if (c->reading && !c->closing) {
    c->reading = 0;
    uv_read_stop((uv_stream_t *)&c->tcp);
  }
}

/* Sends `more` bytes more (and pumps). */
void conn_send(conn_t *c, uint64_t more) {
  c->to_send += more;
  conn_pump(c);
}

/* Sends what is still due, then the half-close. */
void conn_finish(conn_t *c) {
  c->half_close = 1;
  conn_pump(c);
}

static void load_connect_more(load_t *l);

static void on_conn_connect(uv_connect_t *req, int status) {
  conn_t *c = container_of(req, conn_t, connect_req);
  load_t *l = c->load;
  l->connecting--;
  c->connect_status = status;
  if (status != 0) {
    l->connect_failures++;
    conn_close(c);
  } else if (!c->closing) {
    c->connected = 1;
    c->t_connected = c->t_progress = now_ms();
    l->connected_count++;
    if (c->close_on_connect) {
      conn_close(c);
    } else {
      uv_tcp_nodelay(&c->tcp, 1);
      if (c->read_on_connect)
        conn_read(c);
      conn_pump(c);
    }
  }
  load_connect_more(l);
}

static void conn_start(load_t *l, conn_t *c) {
  struct sockaddr_in addr, from;
  int err = 0;
  uv_ip4_addr("127.0.0.1", l->port, &addr);
  uv_tcp_init(loop, &c->tcp);
  c->started = 1;
  l->open_handles++;
  l->connecting++;
  if (l->from_host != NULL) {
    err = uv_ip4_addr(l->from_host, 0, &from);
    if (err == 0)
      err = uv_tcp_bind(&c->tcp, (const struct sockaddr *)&from, 0);
  }
  if (err == 0)
    err = uv_tcp_connect(&c->connect_req, &c->tcp,
                         (const struct sockaddr *)&addr, on_conn_connect);
  if (err != 0) {
    l->connecting--;
    l->connect_failures++;
    c->connect_status = err;
    conn_close(c);
  }
}

/* Connects conns up to target, at most max_connecting at a time. */
static void load_connect_more(load_t *l) {
  while (l->next < l->target && l->connecting < l->max_connecting)
    conn_start(l, &l->conns[l->next++]);
}

/* Connects the next n connections (paced). */
void load_connect(load_t *l, unsigned n) {
  l->target += n;
  assert_true(l->target <= l->count);
  load_connect_more(l);
}

/* count connections to port, each with its own stream (seeds from salt);
 * by default: read from connect, 1..64 KiB writes, one at a time. */
load_t *load_new(int port, unsigned count, uint64_t salt) {
  load_t *l = calloc(1, sizeof(*l));
  unsigned i;
  assert_non_null(l);
  assert_null(the_load);
  l->conns = calloc(count, sizeof(*l->conns));
  assert_non_null(l->conns);
  l->count = count;
  l->port = port;
  l->max_connecting = 64;
  for (i = 0; i < count; i++) {
    conn_t *c = &l->conns[i];
    c->load = l;
    c->id = i;
    c->seed = pattern_seed(salt, i);
    c->rng_seed = pattern_seed(c->seed, 0x5eed);
    c->chunk_min = 1;
    c->chunk_max = 64 * KiB;
    c->depth = 1;
    c->read_on_connect = 1;
    c->bad_at = NO_ERROR_AT;
  }
  the_load = l;
  return l;
}

/* ---- Waiting ----------------------------------------------------------- */

typedef int (*cond_fn)(const void *arg);

typedef struct wait_s {
  cond_fn fn;
  const void *arg;
} wait_t;

static int wait_trampoline(proc_t *p, const void *arg) {
  const wait_t *w = arg;
  (void)p;
  return w->fn(w->arg);
}

/* Runs the loop until fn(arg) holds or timeout_ms passes; returns fn. */
int wait_for(cond_fn fn, const void *arg, uint64_t timeout_ms) {
  wait_t w;
  w.fn = fn;
  w.arg = arg;
  return run_until(wait_trampoline, NULL, &w, timeout_ms);
}

static int never(const void *arg) {
  (void)arg;
  return 0;
}

/* Runs the loop for ms. */
void pause_ms(uint64_t ms) {
  wait_for(never, NULL, ms);
}

int load_all_closed(const void *arg) {
  const load_t *l = arg;
  return l->open_handles == 0 && l->connecting == 0;
}

int conn_done(const void *arg) {
  return ((const conn_t *)arg)->closed;
}

int conn_connected_or_closed(const void *arg) {
  const conn_t *c = arg;
  return c->connected || c->closed;
}

/* Everything due echoed, or the connection ended. */
int conn_echoed(const void *arg) {
  const conn_t *c = arg;
  return c->closed || c->bad_at != NO_ERROR_AT ||
         (c->queued == c->to_send && c->received >= c->to_send);
}

uint64_t conn_stall_ms = 300;

/* The writes stopped moving: the server stopped reading. */
int conn_stalled(const void *arg) {
  const conn_t *c = arg;
  return c->closed || c->written == c->to_send ||
         (c->in_flight > 0 && now_ms() - c->t_progress >= conn_stall_ms);
}

int load_all_stalled(const void *arg) {
  const load_t *l = arg;
  unsigned i;
  for (i = 0; i < l->count; i++) {
    if (!conn_stalled(&l->conns[i]))
      return 0;
  }
  return 1;
}

int load_all_connected(const void *arg) {
  const load_t *l = arg;
  return l->connecting == 0 && l->next == l->target;
}

range_t range_of(const load_t *l, unsigned from, unsigned to) {
  range_t r;
  r.l = l;
  r.from = from;
  r.to = to;
  return r;
}

int range_echoed(const void *arg) {
  const range_t *r = arg;
  unsigned i;
  for (i = r->from; i < r->to; i++) {
    if (!conn_echoed(&r->l->conns[i]))
      return 0;
  }
  return 1;
}

int range_closed(const void *arg) {
  const range_t *r = arg;
  unsigned i;
  for (i = r->from; i < r->to; i++) {
    if (!r->l->conns[i].closed)
      return 0;
  }
  return 1;
}

int range_settled(const void *arg) {
  const range_t *r = arg;
  unsigned i;
  for (i = r->from; i < r->to; i++) {
    const conn_t *c = &r->l->conns[i];
    if (c->shutdown_sent ? !c->closed : !conn_echoed(c))
      return 0;
  }
  return 1;
}

unsigned range_answered(const range_t *r) {
  unsigned i, n = 0;
  for (i = r->from; i < r->to; i++)
    n += (unsigned)conn_echoed(&r->l->conns[i]);
  return n;
}

void load_free(void) {
  load_t *l = the_load;
  unsigned i;
  if (l == NULL)
    return;
  l->target = l->next; /* no more connects */
  for (i = 0; i < l->next; i++)
    conn_close(&l->conns[i]);
  if (!wait_for(load_all_closed, l, 10000)) {
    /* Handles still on the loop: freeing them would corrupt it. */
    print_message("warning: %u connections did not close\n", l->open_handles);
    the_load = NULL;
    return;
  }
  free(l->conns);
  free(l);
  the_load = NULL;
}

const char *err_name(int err) {
  return err == 0 ? "0" : uv_err_name(err);
}

/* Fails with the connection's state unless it ended as wanted: connected,
 * every write done, want bytes echoed exactly and checked, then EOF. */
void expect_echo_then_eof(const conn_t *c, uint64_t want) {
  if (c->connect_status != 0 || c->write_status != 0 ||
      c->shutdown_status != 0 || c->read_status != UV_EOF ||
      c->bad_at != NO_ERROR_AT || c->received != want || c->queued != want)
    fail_msg("connection %u: connect %s, write %s, shutdown %s, read %s, "
             "sent %llu of %llu, echoed %llu (want %llu), first bad byte "
             "at %lld",
             c->id, err_name(c->connect_status), err_name(c->write_status),
             err_name(c->shutdown_status), err_name(c->read_status),
             (unsigned long long)c->queued, (unsigned long long)c->to_send,
             (unsigned long long)c->received, (unsigned long long)want,
             c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
}

/* The connection is open and everything it sent came back intact. */
void expect_all_echoed(const conn_t *c) {
  if (c->closing || c->read_status != 0 || c->write_status != 0 ||
      c->bad_at != NO_ERROR_AT || c->received != c->queued ||
      c->queued != c->to_send)
    fail_msg("connection %u: closed %d, read %s, write %s, sent %llu of "
             "%llu, echoed %llu, first bad byte at %lld",
             c->id, c->closing, err_name(c->read_status),
             err_name(c->write_status), (unsigned long long)c->queued,
             (unsigned long long)c->to_send, (unsigned long long)c->received,
             c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
}

/* The connection is open and nothing went wrong so far. */
void expect_healthy(const conn_t *c) {
  if (c->closing || c->read_status != 0 || c->write_status != 0 ||
      c->bad_at != NO_ERROR_AT)
    fail_msg("connection %u: closed %d, read %s, write %s, sent %llu, "
             "echoed %llu, first bad byte at %lld",
             c->id, c->closing, err_name(c->read_status),
             err_name(c->write_status), (unsigned long long)c->queued,
             (unsigned long long)c->received,
             c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
}

/* ---- Periodic callbacks ------------------------------------------------ */

ticker_t tickers[TICKERS];

static void on_tick(uv_timer_t *t) {
  ticker_t *k = container_of(t, ticker_t, timer);
  k->fn(k->arg);
}

static void on_ticker_closed(uv_handle_t *h) {
  container_of(h, ticker_t, timer)->open = 0;
}

void ticker_start(ticker_t *k, uint64_t every_ms, void (*fn)(void *),
                  void *arg) {
  k->fn = fn;
  k->arg = arg;
  k->open = 1;
  uv_timer_init(loop, &k->timer);
  uv_timer_start(&k->timer, on_tick, every_ms, every_ms);
}

static int tickers_closed(const void *arg) {
  size_t i;
  (void)arg;
  for (i = 0; i < TICKERS; i++) {
    if (tickers[i].open)
      return 0;
  }
  return 1;
}

void tickers_stop(void) {
  size_t i;
  for (i = 0; i < TICKERS; i++) {
    if (tickers[i].open && !uv_is_closing((uv_handle_t *)&tickers[i].timer))
      uv_close((uv_handle_t *)&tickers[i].timer, on_ticker_closed);
  }
  wait_for(tickers_closed, NULL, 5000);
}
