/* In-process tests: the server and its peers (raw libuv clients, or the
 * client module) on one loop, over loopback on ephemeral ports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "client/client.h"
#include "base/container_of.h"
#include "base/log.h"
#include "base/platform.h"
#include "server/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WATCHDOG_MS 30000

/* A raw peer: connects, writes its payload (optionally followed by a
 * half-close), collects every echoed byte until EOF, then closes. */
typedef struct peer_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  const char *payload;
  size_t len;
  int half_close;
  uv_timer_t read_delay;  /* started when read_delay_ms > 0 */
  uint64_t read_delay_ms; /* start reading only this long after connecting */
  int read_by_test;       /* the test starts reading */
  char *received;
  size_t received_len;
  int connect_status;
  int eof;
  int read_error;
  int closed;
  int connected;
  int hold; /* on connect, wait for peer_go instead of sending */
  void (*on_closed)(struct peer_s *peer);
  void *data;
} peer_t;

static void peer_on_closed(uv_handle_t *h) {
  peer_t *p = container_of(h, peer_t, tcp);
  p->closed = 1;
  if (p->on_closed)
    p->on_closed(p);
}

static void peer_close(peer_t *p) {
  if (!uv_is_closing((uv_handle_t *)&p->tcp))
    uv_close((uv_handle_t *)&p->tcp, peer_on_closed);
}

static void peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char chunk[65536];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void peer_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  peer_t *p = container_of(s, peer_t, tcp);
  if (n > 0) {
    /* Keep at most one byte beyond the payload: enough to see extras. */
    size_t room = p->len + 1 - p->received_len;
    size_t take = (size_t)n < room ? (size_t)n : room;
    memcpy(p->received + p->received_len, buf->base, take);
    p->received_len += take;
  } else if (n == UV_EOF) {
    p->eof = 1;
    peer_close(p);
  } else if (n < 0) {
    p->read_error = (int)n;
    peer_close(p);
  }
}

static void peer_on_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

static void peer_on_read_delay(uv_timer_t *t) {
  peer_t *p = container_of(t, peer_t, read_delay);
  uv_close((uv_handle_t *)t, NULL);
  uv_read_start((uv_stream_t *)&p->tcp, peer_alloc, peer_on_read);
}

static void peer_on_write(uv_write_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

/* Sends the payload (and FIN), starts reading now or after the delay. */
static void peer_go(peer_t *p) {
  if (p->len > 0) {
    uv_buf_t buf = uv_buf_init((char *)p->payload, (unsigned int)p->len);
    assert_int_equal(
        uv_write(&p->write_req, (uv_stream_t *)&p->tcp, &buf, 1, peer_on_write),
        0);
  }
  if (p->half_close)
    assert_int_equal(
        uv_shutdown(&p->shutdown_req, (uv_stream_t *)&p->tcp, peer_on_shutdown),
        0);
  if (p->read_by_test)
    return;
  if (p->read_delay_ms > 0) {
    uv_timer_init(p->tcp.loop, &p->read_delay);
    uv_timer_start(&p->read_delay, peer_on_read_delay, p->read_delay_ms, 0);
  } else {
    uv_read_start((uv_stream_t *)&p->tcp, peer_alloc, peer_on_read);
  }
}

static void peer_on_connect(uv_connect_t *req, int status) {
  peer_t *p = container_of(req, peer_t, connect_req);
  p->connect_status = status;
  if (status != 0) {
    peer_close(p);
    return;
  }
  p->connected = 1;
  if (!p->hold)
    peer_go(p);
}

static void peer_start(peer_t *p, uv_loop_t *loop, int port,
                       const char *payload, size_t len, int half_close) {
  struct sockaddr_in addr;
  memset(p, 0, offsetof(peer_t, on_closed));
  p->payload = payload;
  p->len = len;
  p->half_close = half_close;
  p->received = malloc(len + 1);
  assert_non_null(p->received);
  assert_int_equal(uv_ip4_addr("127.0.0.1", port, &addr), 0);
  assert_int_equal(uv_tcp_init(loop, &p->tcp), 0);
  assert_int_equal(uv_tcp_connect(&p->connect_req, &p->tcp,
                                  (const struct sockaddr *)&addr,
                                  peer_on_connect),
                   0);
}

static void peer_assert_echoed(const peer_t *p) {
  assert_int_equal(p->connect_status, 0);
  assert_int_equal(p->read_error, 0);
  assert_true(p->eof);
  assert_int_equal(p->received_len, p->len);
  assert_memory_equal(p->received, p->payload, p->len);
}

static void peer_free(peer_t *p) {
  free(p->received);
  p->received = NULL;
}

/* Deterministic bytes with plenty of NULs and every other byte value. */
static char *make_payload(size_t len, unsigned seed) {
  char *buf = malloc(len);
  size_t i;
  unsigned x = seed * 2654435761u + 1;
  assert_non_null(buf);
  for (i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    buf[i] = (x >> 16) % 4 == 0 ? '\0' : (char)(x >> 8);
  }
  return buf;
}

/* Per-test fixture: a loop, a server on 127.0.0.1:0, a watchdog that fails
 * the test instead of letting it hang, and a log file to read back. */
typedef struct fixture_s {
  uv_loop_t loop;
  server_t *server;
  uv_timer_t watchdog;
  FILE *log;
  int port;
  int server_closed;
  int peers_left;
  uv_timer_t drain;
  uint64_t start;
  uv_tcp_t *session; /* found by find_session */
} fixture_t;

/* Exits rather than fail_msg: a failure cannot unwind out of the loop with
 * handles still open, and the teardown would then wait on them for ever. */
static void on_watchdog(uv_timer_t *t) {
  (void)t;
  print_error("test did not finish within %d ms\n", WATCHDOG_MS);
  exit(1);
}

static void on_server_closed(server_t *server) {
  fixture_t *f = server->loop->data;
  f->server_closed = 1;
}

static void stop_server(fixture_t *f) {
  server_close(f->server, on_server_closed);
}

/* A server on 127.0.0.1, any free port, logging every read. */
static server_config_t test_config(uint64_t idle_timeout_ms) {
  server_config_t config;
  memset(&config, 0, sizeof(config));
  config.host = "127.0.0.1";
  config.idle_timeout_ms = idle_timeout_ms;
  return config;
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  server_config_t config = test_config(0);
  assert_non_null(f);
  assert_int_equal(uv_loop_init(&f->loop), 0);
  f->loop.data = f;
  f->log = fopen("test_echo.out", "w+b"); /* tmpfile() fails on Windows */
  assert_non_null(f->log);
  log_set_output(f->log);
  f->server = malloc(sizeof(*f->server));
  assert_non_null(f->server);
  server_init(f->server, &f->loop, &config);
  assert_int_equal(server_bind(f->server, 0), 0);
  assert_int_equal(server_listen(f->server), 0);
  f->port = server_port(f->server);
  assert_true(f->port > 0);
  uv_timer_init(&f->loop, &f->watchdog);
  uv_timer_start(&f->watchdog, on_watchdog, WATCHDOG_MS, 0);
  uv_unref((uv_handle_t *)&f->watchdog); /* it must not keep the loop up */
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  uv_close((uv_handle_t *)&f->watchdog, NULL);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&f->loop), 0);
  log_set_output(NULL);
  fclose(f->log);
  remove("test_echo.out");
  free(f->server);
  free(f);
  return 0;
}

/* Runs the loop until every handle is closed; asserts the server closed. */
static void run(fixture_t *f) {
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_true(f->server_closed);
}

static int log_contains(fixture_t *f, const char *needle) {
  char line[LOG_LINE_SIZE];
  int found = 0;
  fflush(f->log);
  rewind(f->log);
  while (!found && fgets(line, sizeof(line), f->log) != NULL)
    found = strstr(line, needle) != NULL;
  fseek(f->log, 0, SEEK_END);
  return found;
}

static void stop_when_all_closed(peer_t *p) {
  fixture_t *f = p->data;
  if (--f->peers_left == 0)
    stop_server(f);
}

static void run_peers(fixture_t *f, peer_t *peers, size_t n,
                      const char **payloads, const size_t *lens,
                      int half_close) {
  size_t i;
  f->peers_left = (int)n;
  for (i = 0; i < n; i++) {
    peers[i].on_closed = stop_when_all_closed;
    peers[i].data = f;
    peer_start(&peers[i], &f->loop, f->port, payloads[i], lens[i], half_close);
  }
  run(f);
}

static void test_echoes_exactly_the_bytes_received(void **state) {
  fixture_t *f = *state;
  const char *msg = "Hi, beyondyyh";
  size_t len = strlen(msg);
  peer_t peer;

  run_peers(f, &peer, 1, &msg, &len, 1);
  peer_assert_echoed(&peer); /* 13 bytes, not a 100-byte buffer */
  peer_free(&peer);
  assert_int_equal(server_stats(f->server)->bytes_out, 13);
  assert_int_equal(server_stats(f->server)->sessions_accepted, 1);
  assert_int_equal(server_stats(f->server)->sessions_open, 0);
  assert_true(log_contains(f, "TCP session open from 127.0.0.1:"));
  assert_true(log_contains(f, "reading data from client: Hi, beyondyyh"));
  assert_true(log_contains(f, "Error reading TCP session: EOF"));
}

static void test_echoes_multi_megabyte_binary(void **state) {
  fixture_t *f = *state;
  size_t len = 6 * 1024 * 1024 + 7;
  const char *payload = make_payload(len, 1);
  peer_t peer;

  f->server->config.quiet = 1;
  run_peers(f, &peer, 1, &payload, &len, 1);
  peer_assert_echoed(&peer);
  assert_int_equal(server_stats(f->server)->bytes_out, len);
  assert_false(log_contains(f, "reading data from client"));
  peer_free(&peer);
  free((char *)payload);
}

static void test_concurrent_sessions(void **state) {
  enum { N = 24 };
  fixture_t *f = *state;
  peer_t peers[N];
  const char *payloads[N];
  size_t lens[N];
  size_t i, total = 0;

  f->server->config.quiet = 1;
  for (i = 0; i < N; i++) {
    lens[i] = 1000 + i * 37 * 1024;
    payloads[i] = make_payload(lens[i], (unsigned)i + 10);
    total += lens[i];
  }
  run_peers(f, peers, N, payloads, lens, 1);
  for (i = 0; i < N; i++) {
    peer_assert_echoed(&peers[i]);
    peer_free(&peers[i]);
    free((char *)payloads[i]);
  }
  assert_int_equal(server_stats(f->server)->sessions_accepted, N);
  assert_int_equal(server_stats(f->server)->bytes_out, total);
}

/* The peer sends far more than socket buffers hold, and its FIN, without
 * reading for a while: the server must stop reading once its queue for the
 * peer passes the high-water mark (memory stays bounded), and once the peer
 * reads, still echo every byte before its own FIN. */
static void test_backpressure_bounds_the_queue(void **state) {
  fixture_t *f = *state;
  size_t len = 24 * SERVER_HIGH_WATER;
  const char *payload = make_payload(len, 99);
  peer_t peer;

  f->server->config.quiet = 1;
  f->peers_left = 1;
  peer.on_closed = stop_when_all_closed;
  peer.data = f;
  peer_start(&peer, &f->loop, f->port, payload, len, 1);
  peer.read_delay_ms = 500;
  run(f);
  peer_assert_echoed(&peer);
  assert_true(server_stats(f->server)->peak_write_pending > 0);
  assert_true(server_stats(f->server)->peak_write_pending <=
              SERVER_HIGH_WATER + SERVER_READ_BUF_SIZE);
  peer_free(&peer);
  free((char *)payload);
}

/* The server's end of the one session open, found on the loop. */
static void find_session(uv_handle_t *h, void *arg) {
  fixture_t *f = arg;
  if (h->type == UV_TCP && h->data == f->server &&
      h != (uv_handle_t *)&f->server->listener)
    f->session = (uv_tcp_t *)h;
}

typedef struct half_close_s {
  fixture_t *f;
  peer_t *peer;
  uv_timer_t poll;
  int sent;
  int eof_seen;
  size_t open_at_eof; /* the server's sessions when it logged the EOF */
  size_t pending_peak_at_eof;
} half_close_t;

/* Step by step: once the server has the session, shrink its send buffer
 * (so that the kernel holds little and most of the echo waits in the
 * server's queue), send and half-close; once the server has logged the
 * EOF, note whether the session is still open, and start reading. */
static void half_close_step(uv_timer_t *t) {
  half_close_t *h = t->data;
  fixture_t *f = h->f;
  if (!h->sent) {
    int size = 8192;
    if (!h->peer->connected || f->server->stats.sessions_accepted < 1)
      return;
    uv_walk(&f->loop, find_session, f);
    assert_non_null(f->session);
    assert_int_equal(uv_send_buffer_size((uv_handle_t *)f->session, &size), 0);
    h->sent = 1;
    peer_go(h->peer);
    return;
  }
  if (!log_contains(f, "Error reading TCP session: EOF"))
    return;
  h->eof_seen = 1;
  h->open_at_eof = f->server->stats.sessions_open;
  h->pending_peak_at_eof = f->server->stats.peak_write_pending;
  uv_close((uv_handle_t *)t, NULL);
  uv_read_start((uv_stream_t *)&h->peer->tcp, peer_alloc, peer_on_read);
}

/* The peer sends less than the high-water mark (so the server never stops
 * reading), half-closes, and reads only after the server has seen its FIN:
 * the server reads that EOF with echoes still queued, and must keep the
 * session open until they are written, then FIN. */
static void test_half_close_echoes_everything_first(void **state) {
  fixture_t *f = *state;
  size_t len = SERVER_HIGH_WATER / 4 * 3;
  const char *payload = make_payload(len, 98);
  peer_t peer;
  half_close_t h;

  f->server->config.quiet = 1;
  f->peers_left = 1;
  peer.on_closed = stop_when_all_closed;
  peer.data = f;
  peer_start(&peer, &f->loop, f->port, payload, len, 1);
  peer.hold = 1;
  peer.read_by_test = 1; /* half_close_step starts reading */
  memset(&h, 0, sizeof(h));
  h.f = f;
  h.peer = &peer;
  uv_timer_init(&f->loop, &h.poll);
  h.poll.data = &h;
  uv_timer_start(&h.poll, half_close_step, 5, 5);
  run(f);
  assert_true(h.eof_seen);
  /* The EOF came with echoes queued (the branch under test ran), and the
   * session outlived it. */
  if (h.pending_peak_at_eof < len / 2)
    fail_msg("only %lu bytes were ever queued for the peer: the EOF did not "
             "come with echoes still queued",
             (unsigned long)h.pending_peak_at_eof);
  assert_int_equal(h.open_at_eof, 1);
  peer_assert_echoed(&peer);
  assert_int_equal(f->server->stats.bytes_in, len);
  assert_int_equal(f->server->stats.bytes_out, len);
  assert_int_equal(f->server->stats.errors, 0);
  peer_free(&peer);
  free((char *)payload);
}

/* server_close with sessions open: they are closed, the callback runs. */
static void close_when_echoed(uv_timer_t *t) {
  peer_t *peers = t->data;
  fixture_t *f = peers[0].data;
  int i;
  for (i = 0; i < 3; i++) {
    if (peers[i].received_len < peers[i].len)
      return;
  }
  uv_close((uv_handle_t *)t, NULL);
  assert_int_equal(server_stats(f->server)->sessions_open, 3);
  stop_server(f);
}

static void test_close_ends_open_sessions(void **state) {
  fixture_t *f = *state;
  peer_t peers[3];
  uv_timer_t poll;
  int i;

  for (i = 0; i < 3; i++) {
    peers[i].on_closed = NULL;
    peers[i].data = f;
    peer_start(&peers[i], &f->loop, f->port, "ping", 4, 0);
  }
  uv_timer_init(&f->loop, &poll);
  poll.data = peers;
  uv_timer_start(&poll, close_when_echoed, 5, 5);
  run(f);
  for (i = 0; i < 3; i++) {
    assert_true(peers[i].closed);
    assert_true(peers[i].eof || peers[i].read_error != 0);
    assert_int_equal(peers[i].received_len, 4);
    peer_free(&peers[i]);
  }
  assert_int_equal(server_stats(f->server)->sessions_open, 0);
}

static void test_port_in_use(void **state) {
  fixture_t *f = *state;
  server_config_t config = test_config(0);
  server_t *second = malloc(sizeof(*second));
  int err;

  assert_non_null(second);
  config.port = f->port;
  server_init(second, &f->loop, &config);
  /* libuv reports it from the bind or, where the kernel says so only
   * then, from the listen. */
  err = server_bind(second, 0);
  if (err == 0)
    err = server_listen(second);
  assert_int_equal(err, UV_EADDRINUSE);
  assert_true(log_contains(f, "EADDRINUSE (address already in use)"));
  server_close(second, NULL);
  stop_server(f);
  run(f);
  free(second);
}

/* --idle-timeout: a session idle for the timeout is closed, at most a
 * quarter of the timeout later (the sweep's period), both as measured by
 * its peer and as logged. IDLE_ALLOWANCE_MS is for a loaded machine or
 * valgrind; it stays well below what closing at twice the timeout takes. */
#define IDLE_TIMEOUT_MS 400
#define IDLE_ALLOWANCE_MS 200

typedef struct idle_run_s {
  fixture_t *f;
  server_t *server;
  uint64_t closed_at;
  int closed;
} idle_run_t;

static void on_idle_server_closed(server_t *server) {
  idle_run_t *r = server->loop->data;
  r->closed = 1;
}

static void stop_both_servers(peer_t *p) {
  idle_run_t *r = p->data;
  r->closed_at = uv_now(&r->f->loop);
  r->f->loop.data = r;
  server_close(r->server, on_idle_server_closed);
  server_close(r->f->server, NULL);
}

static void test_idle_timeout(void **state) {
  fixture_t *f = *state;
  server_config_t config = test_config(IDLE_TIMEOUT_MS);
  const uint64_t most = IDLE_TIMEOUT_MS + IDLE_TIMEOUT_MS / 4;
  char line[LOG_LINE_SIZE];
  const char *at;
  unsigned long logged = 0;
  idle_run_t r;
  peer_t peer;
  uint64_t start, took;

  memset(&r, 0, sizeof(r));
  r.f = f;
  r.server = malloc(sizeof(*r.server));
  assert_non_null(r.server);
  server_init(r.server, &f->loop, &config);
  assert_int_equal(server_bind(r.server, 0), 0);
  assert_int_equal(server_listen(r.server), 0);
  peer.on_closed = stop_both_servers;
  peer.data = &r;
  uv_update_time(&f->loop);
  start = uv_now(&f->loop);
  peer_start(&peer, &f->loop, server_port(r.server), "ping", 4, 0);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  assert_true(r.closed);
  assert_true(peer.eof); /* the server closed it */
  assert_int_equal(peer.received_len, 4);
  assert_int_equal(r.server->stats.sessions_idle_closed, 1);
  took = r.closed_at - start;
  if (took < IDLE_TIMEOUT_MS || took > most + IDLE_ALLOWANCE_MS)
    fail_msg("an idle session closed after %lu ms; --idle-timeout %d ms "
             "promises %d to %lu ms (+%d for a loaded machine)",
             (unsigned long)took, IDLE_TIMEOUT_MS, IDLE_TIMEOUT_MS,
             (unsigned long)most, IDLE_ALLOWANCE_MS);
  fflush(f->log);
  rewind(f->log);
  while (logged == 0 && fgets(line, sizeof(line), f->log) != NULL) {
    at = strstr(line, "closing TCP session: idle for ");
    if (at != NULL)
      logged = strtoul(at + strlen("closing TCP session: idle for "), NULL, 10);
  }
  if (logged < IDLE_TIMEOUT_MS || logged > most + IDLE_ALLOWANCE_MS)
    fail_msg("logged an idle time of %lu ms for --idle-timeout %d ms", logged,
             IDLE_TIMEOUT_MS);
  peer_free(&peer);
  free(r.server);
}

/* The client module against the server. */
typedef struct client_run_s {
  client_t client;
  int status;
  int done;
} client_run_t;

/* Stops the server once its sessions have ended by themselves, so that it
 * sees the client's close before closing anything (on Windows the EOF may
 * come an iteration after the client's close callback). */
static void stop_when_sessions_ended(uv_timer_t *t) {
  fixture_t *f = t->data;
  if (server_stats(f->server)->sessions_open > 0 &&
      uv_now(&f->loop) < 5000 + f->start)
    return;
  uv_close((uv_handle_t *)t, NULL);
  stop_server(f);
}

static void on_client_done(client_t *c, int status) {
  client_run_t *r = container_of(c, client_run_t, client);
  fixture_t *f = c->loop->data;
  r->status = status;
  r->done = 1;
  if (f->server_closed || f->server->closing)
    return;
  f->start = uv_now(&f->loop);
  uv_timer_init(&f->loop, &f->drain);
  f->drain.data = f;
  uv_timer_start(&f->drain, stop_when_sessions_ended, 0, 5);
}

static client_config_t client_config(int port, unsigned long long ms) {
  client_config_t c;
  memset(&c, 0, sizeof(c));
  c.host = "127.0.0.1";
  c.port = port;
  c.message = "Hi, beyondyyh";
  c.message_len = 13;
  c.close_after_ms = ms;
  return c;
}

static void test_client_closes_on_timer(void **state) {
  fixture_t *f = *state;
  client_config_t config = client_config(f->port, 200);
  client_run_t *r = calloc(1, sizeof(*r));
  uint64_t start = uv_now(&f->loop);

  assert_non_null(r);
  client_start(&r->client, &f->loop, &config, on_client_done);
  run(f);
  assert_true(r->done);
  assert_int_equal(r->status, 0);
  assert_int_equal(r->client.bytes_received, 13);
  assert_true(uv_now(&f->loop) - start >= 200);
  assert_true(log_contains(f, "TCP session open to 127.0.0.1:"));
  assert_true(log_contains(f, "reading data from server: Hi, beyondyyh"));
  assert_true(log_contains(f, "closing TCP session after 0.2 seconds"));
  /* The client's close reached the server as EOF, not as a reset. */
  assert_true(log_contains(f, "Error reading TCP session: EOF"));
  free(r);
}

static void close_server_when_echoed(uv_timer_t *t) {
  client_run_t *r = t->data;
  fixture_t *f = r->client.loop->data;
  if (r->client.bytes_received < 13)
    return;
  uv_close((uv_handle_t *)t, NULL);
  stop_server(f);
}

static void test_client_fails_when_server_closes_first(void **state) {
  fixture_t *f = *state;
  client_config_t config = client_config(f->port, 20000);
  client_run_t *r = calloc(1, sizeof(*r));
  uv_timer_t poll;

  assert_non_null(r);
  client_start(&r->client, &f->loop, &config, on_client_done);
  uv_timer_init(&f->loop, &poll);
  poll.data = r;
  uv_timer_start(&poll, close_server_when_echoed, 5, 5);
  run(f);
  assert_true(r->done);
  assert_int_equal(r->status, 1);
  assert_true(log_contains(f, "Error reading TCP session: EOF"));
  free(r);
}

static void test_client_connection_refused(void **state) {
  fixture_t *f = *state;
  client_config_t config;
  client_run_t *r = calloc(1, sizeof(*r));

  assert_non_null(r);
  /* Free the port: nothing listens there any more. */
  config = client_config(f->port, 1000);
  stop_server(f);
  uv_run(&f->loop, UV_RUN_DEFAULT);
  client_start(&r->client, &f->loop, &config, on_client_done);
  run(f);
  assert_true(r->done);
  assert_int_equal(r->status, 1);
  assert_true(log_contains(f, "ECONNREFUSED"));
  free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_echoes_exactly_the_bytes_received,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_echoes_multi_megabyte_binary, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_sessions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_backpressure_bounds_the_queue, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_half_close_echoes_everything_first,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_close_ends_open_sessions, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_closes_on_timer, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_client_fails_when_server_closes_first, setup, teardown),
      cmocka_unit_test_setup_teardown(test_client_connection_refused, setup,
                                      teardown),
  };
  platform_ignore_sigpipe(); /* as tcpecho itself does */
  return cmocka_run_group_tests(tests, NULL, NULL);
}
