/* --metrics end to end: the built server with --metrics 127.0.0.1:0 under
 * a verifying load, scraped over HTTP from here. Mid-load the numbers are
 * exact where the load makes them so (sessions open, bytes once echoed),
 * also with --threads 2 where every loop is asked for its counters; the
 * text passes `promtool check metrics` where promtool is installed (with
 * TCPECHO_REQUIRE_PROMTOOL set, as in CI, it must be); after
 * the load the counters equal the summary line. The HTTP side: 404, 405,
 * HEAD, 400, an oversized request, a request cut short by the deadline,
 * the cap on connections, the drain, and a port in use.
 * Usage: test_metrics TCPECHO [fast | all | TEST...] */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <fcntl.h>
#include <unistd.h>
#endif

/* ---- an HTTP client, one request per connection ---- */

typedef struct http_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  int connected, connect_status, written, ended, closed;
  int end_status; /* UV_EOF or the error that ended the connection */
  uint64_t ended_ms;
  char got[65536];
  size_t got_len;
  /* The answer, parsed. */
  int status;
  const char *body;
  size_t body_len;
} http_t;

static void on_http_connect(uv_connect_t *req, int status) {
  http_t *h = req->data;
  h->connected = 1;
  h->connect_status = status;
}

static void on_http_alloc(uv_handle_t *handle, size_t suggested,
                          uv_buf_t *buf) {
  http_t *h = handle->data;
  (void)suggested;
  *buf = uv_buf_init(h->got + h->got_len,
                     (unsigned)(sizeof(h->got) - 1 - h->got_len));
}

static void on_http_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  http_t *h = s->data;
  (void)buf;
  if (n > 0) {
    h->got_len += (size_t)n;
    h->got[h->got_len] = '\0';
    if (h->got_len == sizeof(h->got) - 1)
      fail_msg("an answer of more than %lu bytes",
               (unsigned long)sizeof(h->got));
  } else if (n < 0) {
    h->ended = 1;
    h->end_status = (int)n;
    h->ended_ms = now_ms();
    uv_read_stop(s);
  }
}

static void on_http_write(uv_write_t *req, int status) {
  http_t *h = req->data;
  h->written = status == 0 ? 1 : -1;
}

static void on_http_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  (void)status;
}

static void on_http_closed(uv_handle_t *handle) {
  ((http_t *)handle->data)->closed = 1;
}

static int http_connected(const void *arg) {
  return ((const http_t *)arg)->connected;
}
static int http_written(const void *arg) {
  return ((const http_t *)arg)->written != 0;
}
static int http_ended(const void *arg) {
  return ((const http_t *)arg)->ended;
}
static int http_closed(const void *arg) {
  return ((const http_t *)arg)->closed;
}

static http_t *http_open(int port) {
  http_t *h = calloc(1, sizeof(*h));
  struct sockaddr_in addr;
  assert_non_null(h);
  uv_ip4_addr("127.0.0.1", port, &addr);
  assert_int_equal(uv_tcp_init(suite_loop(), &h->tcp), 0);
  h->tcp.data = h;
  h->connect_req.data = h;
  assert_int_equal(uv_tcp_connect(&h->connect_req, &h->tcp,
                                  (const struct sockaddr *)&addr,
                                  on_http_connect),
                   0);
  assert_true(wait_for(http_connected, h, 10000));
  assert_int_equal(h->connect_status, 0);
  assert_int_equal(
      uv_read_start((uv_stream_t *)&h->tcp, on_http_alloc, on_http_read), 0);
  return h;
}

static void http_send(http_t *h, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  h->written = 0;
  h->write_req.data = h;
  assert_int_equal(
      uv_write(&h->write_req, (uv_stream_t *)&h->tcp, &buf, 1, on_http_write),
      0);
  assert_true(wait_for(http_written, h, 10000));
  assert_int_equal(h->written, 1);
}

static void http_half_close(http_t *h) {
  assert_int_equal(
      uv_shutdown(&h->shutdown_req, (uv_stream_t *)&h->tcp, on_http_shutdown),
      0);
}

/* Waits for the server to end the connection, closes this side and parses
 * what came: status, and the body after the headers. */
static void http_finish(http_t *h, uint64_t timeout_ms) {
  const char *end;
  if (!wait_for(http_ended, h, timeout_ms))
    fail_msg("the server did not end the connection in %llu ms; got:\n%s",
             (unsigned long long)timeout_ms, h->got);
  uv_close((uv_handle_t *)&h->tcp, on_http_closed);
  assert_true(wait_for(http_closed, h, 10000));
  h->status = 0;
  if (h->got_len >= 12 && strncmp(h->got, "HTTP/1.1 ", 9) == 0)
    h->status = atoi(h->got + 9);
  end = strstr(h->got, "\r\n\r\n");
  h->body = end ? end + 4 : h->got + h->got_len;
  h->body_len = (size_t)(h->got + h->got_len - h->body);
}

/* The value of header name (with its ": "), or NULL. */
static const char *header(const http_t *h, const char *name, char *out,
                          size_t size) {
  char needle[64];
  const char *at, *eol;
  snprintf(needle, sizeof(needle), "\r\n%s: ", name);
  at = strstr(h->got, needle);
  if (at == NULL || at > h->body)
    return NULL;
  at += strlen(needle);
  eol = strstr(at, "\r\n");
  assert_non_null(eol);
  snprintf(out, size, "%.*s", (int)(eol - at), at);
  return out;
}

/* One request, its whole answer. */
static http_t *http_request(int port, const char *request) {
  http_t *h = http_open(port);
  http_send(h, request, strlen(request));
  http_finish(h, 10000);
  return h;
}

/* The answer's status line and headers as the server must write them, and
 * the body as long as Content-Length says. */
static void expect_answer(const http_t *h, int status, const char *type) {
  char value[128];
  if (h->status != status)
    fail_msg("status %d, want %d:\n%s", h->status, status, h->got);
  if (header(h, "Content-Type", value, sizeof(value)) == NULL ||
      strcmp(value, type) != 0)
    fail_msg("Content-Type '%s', want '%s':\n%s",
             header(h, "Content-Type", value, sizeof(value)) ? value : "", type,
             h->got);
  if (header(h, "Connection", value, sizeof(value)) == NULL ||
      strcmp(value, "close") != 0)
    fail_msg("no 'Connection: close':\n%s", h->got);
  if (header(h, "Content-Length", value, sizeof(value)) == NULL ||
      strtoul(value, NULL, 10) != h->body_len)
    fail_msg("Content-Length does not match a body of %lu bytes:\n%s",
             (unsigned long)h->body_len, h->got);
  if (h->end_status != UV_EOF)
    fail_msg("the answer ended with %s, not EOF", err_name(h->end_status));
}

/* ---- scrapes ---- */

#define TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define SAMPLES 15 /* lines with a value in the exposition */

typedef struct scrape_s {
  unsigned long long accepted, rejected_max_conns, rejected_no_descriptor,
      closed_idle, open, peak, received, sent, errors, proxy_errors, draining;
} scrape_t;

/* The value of series (name and labels) in the exposition body. */
static unsigned long long value_of(const http_t *h, const char *series) {
  const char *p = h->body;
  size_t n = strlen(series);
  for (;;) {
    if (strncmp(p, series, n) == 0 && p[n] == ' ')
      return strtoull(p + n + 1, NULL, 10);
    p = strchr(p, '\n');
    if (p == NULL)
      fail_msg("no series %s in:\n%s", series, h->body);
    p++;
  }
}

/* Every line a HELP, a TYPE or "series value" with a number for value,
 * the body ending in a newline; returns the samples. */
static int check_lines(const http_t *h) {
  const char *p = h->body;
  int samples = 0;
  assert_true(h->body_len > 0 && h->body[h->body_len - 1] == '\n');
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    const char *space = memchr(p, ' ', (size_t)(eol - p));
    if (strncmp(p, "# HELP tcpecho_", 15) != 0 &&
        strncmp(p, "# HELP process_", 15) != 0 &&
        strncmp(p, "# TYPE ", 7) != 0) {
      char *end;
      /* The last space: label values (the versions) have none here. */
      const char *last = space;
      while (last != NULL && memchr(last + 1, ' ', (size_t)(eol - last - 1)))
        last = memchr(last + 1, ' ', (size_t)(eol - last - 1));
      if (last == NULL || (strtod(last + 1, &end), end != eol))
        fail_msg("not a sample line: %.*s", (int)(eol - p), p);
      samples++;
    }
    p = eol + 1;
  }
  return samples;
}

#ifndef _WIN32
/* promtool from PATH, NULL if it is not there. */
static const char *promtool_path(void) {
  static char path[1024];
  const char *dirs = getenv("PATH");
  while (dirs != NULL && *dirs != '\0') {
    size_t n = strcspn(dirs, ":");
    snprintf(path, sizeof(path), "%.*s/promtool", (int)n, dirs);
    if (access(path, X_OK) == 0)
      return path;
    dirs += n + (dirs[n] == ':');
  }
  return NULL;
}
#endif

/* `promtool check metrics` on the body: format and Prometheus' lints. */
static void promtool_check(const http_t *h) {
#ifdef _WIN32
  (void)h;
  print_message("  promtool check skipped: not on Windows\n");
#else
  const char *promtool = promtool_path();
  char file[] = "metrics-XXXXXX";
  const char *argv[] = {NULL, "check", "metrics", NULL};
  proc_t *p;
  int fd;

  if (promtool == NULL && getenv("TCPECHO_REQUIRE_PROMTOOL") != NULL)
    fail_msg("no promtool in PATH, and TCPECHO_REQUIRE_PROMTOOL is set "
             "(Debian: apt-get install prometheus)");
  if (promtool == NULL) {
    print_message("  promtool check SKIPPED: no promtool in PATH (Debian: "
                  "apt-get install prometheus); the lines were checked "
                  "here only\n");
    return;
  }
  fd = mkstemp(file);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, h->body, h->body_len), (ssize_t)h->body_len);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  p = calloc(1, sizeof(*p));
  assert_non_null(p);
  argv[0] = promtool;
  proc_spawn_io(p, argv, fd, PROC_DEFAULT);
  close(fd);
  unlink(file);
  if (!run_until(is_finished, p, NULL, PROC_TIMEOUT_MS))
    fail_msg("promtool did not finish");
  if (p->exit_status != 0 || p->term_signal != 0)
    fail_msg("promtool check metrics: status %d\n%s%s\non:\n%s",
             (int)p->exit_status, p->out, p->err, h->body);
  print_message("  promtool check metrics: ok\n");
  free(p);
#endif
}

/* GET /metrics: a whole, valid answer, its numbers in s. */
static void scrape(int port, scrape_t *s, int promtool) {
  http_t *h = http_request(port, "GET /metrics HTTP/1.1\r\nHost: tcpecho\r\n"
                                 "User-Agent: test_metrics\r\n\r\n");
  expect_answer(h, 200, TEXT_TYPE);
  assert_int_equal(check_lines(h), SAMPLES);
  if (promtool)
    promtool_check(h);
  s->accepted = value_of(h, "tcpecho_sessions_accepted_total");
  s->rejected_max_conns =
      value_of(h, "tcpecho_sessions_rejected_total{reason=\"max_conns\"}");
  s->rejected_no_descriptor =
      value_of(h, "tcpecho_sessions_rejected_total{reason=\"no_descriptor\"}");
  s->closed_idle = value_of(h, "tcpecho_sessions_closed_idle_total");
  s->open = value_of(h, "tcpecho_sessions_open");
  s->peak = value_of(h, "tcpecho_sessions_peak");
  s->received = value_of(h, "tcpecho_received_bytes_total");
  s->sent = value_of(h, "tcpecho_sent_bytes_total");
  s->errors = value_of(h, "tcpecho_errors_total{kind=\"accept\"}") +
              value_of(h, "tcpecho_errors_total{kind=\"read\"}") +
              value_of(h, "tcpecho_errors_total{kind=\"write\"}");
  s->proxy_errors = value_of(h, "tcpecho_proxy_header_errors_total");
  s->draining = value_of(h, "tcpecho_draining");
  if (strstr(h->body, "\ntcpecho_build_info{version=\"") == NULL ||
      strstr(h->body, "\",libuv=\"") == NULL)
    fail_msg("no tcpecho_build_info with its labels:\n%s", h->body);
  free(h);
}

/* tcpecho --server ... --quiet --metrics 127.0.0.1:0 [extra...]: the echo
 * port; the metrics port in *metrics_port, from its line. */
static int start_with_metrics(proc_t *p, const char **extra,
                              int *metrics_port) {
  static const char needle[] = "metrics on http://127.0.0.1:";
  const char *args[12] = {"--quiet", "--metrics", "127.0.0.1:0"};
  const char *at;
  int i, port;

  for (i = 0; extra != NULL && extra[i] != NULL; i++)
    args[3 + i] = extra[i];
  port = start_server(p, "127.0.0.1", args);
  at = strstr(p->err, needle); /* logged before "listening on" */
  if (at == NULL)
    fail_msg("no '%s' line:\n%s", needle, p->err);
  *metrics_port = atoi(at + strlen(needle));
  assert_true(*metrics_port > 0 && *metrics_port < 65536);
  if (strncmp(strchr(at + strlen(needle), '/'), "/metrics\n", 9) != 0 &&
      strncmp(strchr(at + strlen(needle), '/'), "/metrics\r\n", 10) != 0)
    fail_msg("the metrics line does not end in /metrics:\n%s", p->err);
  return port;
}

/* ---- under load ---- */

#define LOAD_CONNS 24
#define FIRST_BYTES (32 * KiB) /* each, all echoed before the first scrape */
#define OVER_LIMIT 3           /* connections beyond --max-conns */

static uint64_t load_received(const load_t *l) {
  uint64_t sum = 0;
  unsigned i;
  for (i = 0; i < l->count; i++)
    sum += l->conns[i].received;
  return sum;
}

static uint64_t load_queued(const load_t *l) {
  uint64_t sum = 0;
  unsigned i;
  for (i = 0; i < l->count; i++)
    sum += l->conns[i].queued;
  return sum;
}

/* Raw connections past --max-conns: closed by the server at once, with
 * nothing echoed. */
static void over_the_limit(int port) {
  http_t *h[OVER_LIMIT];
  unsigned i;
  for (i = 0; i < OVER_LIMIT; i++)
    h[i] = http_open(port);
  for (i = 0; i < OVER_LIMIT; i++) {
    http_finish(h[i], 10000);
    assert_int_equal(h[i]->got_len, 0);
    free(h[i]);
  }
}

/* Scrapes until no session is open: the server closes a session just
 * after its peer has seen the end of it. */
static void scrape_until_closed(int metrics_port, scrape_t *s) {
  int i;
  for (i = 0;; i++) {
    scrape(metrics_port, s, 0);
    if (s->open == 0)
      return;
    if (i == 200)
      fail_msg("%llu sessions still open after the load", s->open);
    pause_ms(50);
  }
}

/* The signal that drains the server here, 0 if none does (a Windows test
 * program); SIGINT for a Windows server driven from Linux under wine. */
static int stop_signal(void) {
  if (proc_signal_graceful(SIGTERM))
    return SIGTERM;
  return proc_signal_graceful(SIGINT) ? SIGINT : 0;
}

static const char *signal_name(int signum) {
  return signum == SIGTERM ? "SIGTERM" : "SIGINT";
}

static void expect_scrape_eq_summary(const scrape_t *s, const summary_t *sum) {
  expect_eq("tcpecho_sessions_accepted_total (served)", s->accepted,
            sum->served);
  expect_eq("tcpecho_sent_bytes_total (echoed)", s->sent, sum->echoed);
  expect_eq("tcpecho_sessions_peak (peak)", s->peak, sum->peak);
  expect_eq("rejected{max_conns} (rejected)", s->rejected_max_conns,
            sum->rejected);
  expect_eq("rejected{no_descriptor} (dropped)", s->rejected_no_descriptor,
            sum->dropped);
  expect_eq("tcpecho_sessions_closed_idle_total (closed idle)", s->closed_idle,
            sum->idle);
  expect_eq("tcpecho_errors_total (errors)", s->errors, sum->errors);
}

static void scrape_under_load(const char *threads) {
  const char *extra[] = {"--threads", threads, "--max-conns", "24", NULL};
  proc_t *srv = new_server(0);
  int metrics_port;
  int port = start_with_metrics(srv, extra, &metrics_port);
  load_t *l = load_new(port, LOAD_CONNS, 1414);
  range_t all = range_of(l, 0, LOAD_CONNS);
  uint64_t before, total;
  scrape_t s, last;
  summary_t sum;
  unsigned i, k;

  /* Every session open and its bytes echoed: the numbers are exact. */
  for (i = 0; i < LOAD_CONNS; i++)
    l->conns[i].to_send = FIRST_BYTES;
  load_connect(l, LOAD_CONNS);
  if (!wait_for(range_echoed, &all, 30000))
    fail_msg("the first %u KiB of each connection did not come back",
             (unsigned)(FIRST_BYTES / KiB));
  scrape(metrics_port, &s, 1);
  expect_eq("sessions open", s.open, LOAD_CONNS);
  expect_eq("sessions accepted", s.accepted, LOAD_CONNS);
  expect_eq("sessions peak", s.peak, LOAD_CONNS);
  expect_eq("bytes received", s.received, (uint64_t)LOAD_CONNS * FIRST_BYTES);
  expect_eq("bytes sent", s.sent, (uint64_t)LOAD_CONNS * FIRST_BYTES);
  expect_eq("draining", s.draining, 0);

  over_the_limit(port);
  scrape(metrics_port, &s, 0);
  expect_eq("rejected over --max-conns", s.rejected_max_conns, OVER_LIMIT);

  /* Streaming: each scrape counts at least what had come back before it
   * was sent, at most what had been sent by its answer, more each time. */
  for (i = 0; i < LOAD_CONNS; i++) {
    conn_t *c = &l->conns[i];
    c->depth = 4;
    c->window = 256 * KiB;
    conn_send(c, (uint64_t)1 << 40); /* until told otherwise */
  }
  memset(&last, 0, sizeof(last));
  for (k = 0; k < 3; k++) {
    pause_ms(100);
    before = load_received(l);
    scrape(metrics_port, &s, k == 0);
    total = load_queued(l);
    print_message("  streaming: received %llu, sent %llu; the clients had "
                  "%llu back, %llu sent\n",
                  s.received, s.sent, (unsigned long long)before,
                  (unsigned long long)total);
    if (s.sent < before || s.received < s.sent || s.received > total ||
        s.sent <= last.sent)
      fail_msg("scrape %u while streaming: numbers out of bounds", k + 1);
    expect_eq("sessions open (streaming)", s.open, LOAD_CONNS);
    last = s;
  }
  /* Stop sending, and half-close once all is written. */
  for (i = 0; i < LOAD_CONNS; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = c->queued;
    conn_finish(c);
  }
  if (!wait_for(range_settled, &all, 60000))
    fail_msg("the load did not finish");
  for (i = 0; i < LOAD_CONNS; i++)
    expect_echo_then_eof(&l->conns[i], l->conns[i].queued);
  total = load_queued(l);
  scrape_until_closed(metrics_port, &s);
  scrape(metrics_port, &s, 1);
  expect_eq("bytes received (after)", s.received, total);
  expect_eq("bytes sent (after)", s.sent, total);
  expect_eq("errors", s.errors, 0);
  expect_eq("proxy header errors", s.proxy_errors, 0);
  if (stop_signal() == 0) {
    print_message("  summary comparison skipped: no graceful stop here\n");
    return;
  }
  stop_server(srv, stop_signal());
  if (!parse_summary(srv->err, &sum))
    fail_msg("no summary line:\n%s", srv->err);
  print_summary(&sum);
  expect_scrape_eq_summary(&s, &sum);
}

static void test_scrape_under_load(void **state) {
  (void)state;
  scrape_under_load("1");
}

/* Two loops: each is asked at the scrape, so the numbers are as exact as
 * with one. */
static void test_scrape_two_loops(void **state) {
  (void)state;
  scrape_under_load("2");
}

/* ---- HTTP ---- */

static void test_http_answers(void **state) {
  static const char oversized_start[] = "GET /metrics HTTP/1.1\r\nX-Pad: ";
  proc_t *srv = new_server(0);
  int metrics_port;
  char value[64], *big;
  http_t *h;
  size_t get_len;
  (void)state;

  start_with_metrics(srv, NULL, &metrics_port);
  h = http_request(metrics_port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
  expect_answer(h, 200, TEXT_TYPE);
  get_len = h->body_len;
  free(h);

  h = http_request(metrics_port, "HEAD /metrics HTTP/1.1\r\n\r\n");
  assert_int_equal(h->status, 200);
  assert_int_equal(h->body_len, 0);
  assert_non_null(header(h, "Content-Length", value, sizeof(value)));
  expect_eq("HEAD's Content-Length", strtoul(value, NULL, 10), get_len);
  free(h);

  h = http_request(metrics_port, "GET /other HTTP/1.1\r\n\r\n");
  expect_answer(h, 404, "text/plain; charset=utf-8");
  free(h);

  h = http_request(metrics_port, "POST /metrics HTTP/1.1\r\n"
                                 "Content-Length: 0\r\n\r\n");
  expect_answer(h, 405, "text/plain; charset=utf-8");
  if (header(h, "Allow", value, sizeof(value)) == NULL ||
      strcmp(value, "GET, HEAD") != 0)
    fail_msg("405 without 'Allow: GET, HEAD':\n%s", h->got);
  free(h);

  h = http_request(metrics_port, "hello\r\n\r\n");
  expect_answer(h, 400, "text/plain; charset=utf-8");
  free(h);

  /* Headers past 8 KiB: refused, whatever still comes is read away. */
  big = malloc(16 * KiB);
  assert_non_null(big);
  memcpy(big, oversized_start, strlen(oversized_start));
  memset(big + strlen(oversized_start), 'a',
         16 * KiB - strlen(oversized_start));
  h = http_open(metrics_port);
  http_send(h, big, 16 * KiB);
  http_finish(h, 10000);
  expect_answer(h, 431, "text/plain; charset=utf-8");
  free(h);
  free(big);

  /* A request followed by the client's FIN still gets its answer. */
  h = http_open(metrics_port);
  http_send(h, "GET /metrics HTTP/1.1\r\n\r\n", 25);
  http_half_close(h);
  http_finish(h, 10000);
  expect_answer(h, 200, TEXT_TYPE);
  free(h);

  expect_running(srv);
  {
    scrape_t s;
    scrape(metrics_port, &s, 0);
    expect_eq("echo sessions (none)", s.accepted, 0);
  }
}

/* 16 connections that say nothing (one half a request) hold every place:
 * the 17th is closed at once; the 16 are closed after the 5 s deadline,
 * without an answer; then scrapes work again. */
static void test_deadline_and_cap(void **state) {
  proc_t *srv = new_server(0);
  http_t *h[16], *extra;
  int metrics_port;
  uint64_t t0;
  unsigned i;
  scrape_t s;
  (void)state;

  start_with_metrics(srv, NULL, &metrics_port);
  t0 = now_ms();
  for (i = 0; i < 16; i++)
    h[i] = http_open(metrics_port);
  http_send(h[0], "GET /metr", 9);
  pause_ms(200); /* every one accepted */
  extra = http_open(metrics_port);
  http_finish(extra, 3000);
  assert_int_equal(extra->got_len, 0);
  free(extra);
  for (i = 0; i < 16; i++) {
    http_finish(h[i], 15000);
    if (h[i]->got_len != 0)
      fail_msg("connection %u got an answer: %s", i, h[i]->got);
    if (h[i]->ended_ms - t0 < 4500)
      fail_msg("connection %u closed after %llu ms, before the 5 s deadline", i,
               (unsigned long long)(h[i]->ended_ms - t0));
    free(h[i]);
  }
  print_message("  closed after %.1f s\n", (double)(now_ms() - t0) / 1000.0);
  /* Their places are free once their handles have closed, which on Windows
   * may be a moment after the peer saw the close. */
  for (i = 0;; i++) {
    extra = http_request(metrics_port, "GET /metrics HTTP/1.1\r\n\r\n");
    if (extra->got_len > 0 || i == 50)
      break;
    free(extra);
    pause_ms(20);
  }
  expect_answer(extra, 200, TEXT_TYPE);
  free(extra);
  scrape(metrics_port, &s, 0);
  expect_running(srv);
}

/* A drain: scrapes still answered, tcpecho_draining 1; the listener
 * closes with the server, so the process exits. Two loops: one drains a
 * session, the other has ended. */
static void test_draining(void **state) {
  const char *extra[] = {"--threads", "2", "--drain-timeout", "30", NULL};
  proc_t *srv = new_server(0);
  int metrics_port, port, sig = stop_signal();
  http_t *held;
  scrape_t s;
  summary_t sum;
  char want[96];
  (void)state;

  if (sig == 0) {
    print_message("  skipped: the drain needs a stop signal that reaches the "
                  "server's handler\n");
    return;
  }
  port = start_with_metrics(srv, extra, &metrics_port);
  held = http_open(port);
  http_send(held, "hello", 5);
  while (held->got_len < 5 && !held->ended)
    pause_ms(10);
  stop(srv, sig);
  snprintf(want, sizeof(want), "shutting down on %s: closing 1 TCP session",
           signal_name(sig));
  wait_log(srv, want);
  /* The drain's FIN: the echo, then EOF; this side stays open. */
  assert_true(wait_for(http_ended, held, 10000));
  assert_int_equal(held->got_len, 5);
  scrape(metrics_port, &s, 0);
  expect_eq("draining", s.draining, 1);
  expect_eq("sessions open (held)", s.open, 1);
  expect_eq("bytes sent", s.sent, 5);
  expect_running(srv);
  http_finish(held, 1000);
  free(held);
  wait_exit(srv, 0);
  assert_true(parse_summary(srv->err, &sum));
  expect_scrape_eq_summary(&s, &sum);
}

static void on_unexpected_connection(uv_stream_t *listener, int status) {
  (void)listener;
  (void)status;
  fail_msg("a connection to the port the test holds");
}

static void on_taken_closed(uv_handle_t *handle) {
  *(int *)handle->data = 1;
}

static int is_set(const void *flag) {
  return *(const int *)flag;
}

/* The metrics port taken: one line, exit status 1, no echo listener. */
static void test_port_in_use(void **state) {
  proc_t *srv = new_server(0);
  uv_tcp_t taken;
  int closed = 0;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = (int)sizeof(bound), port;
  char where[64], line[160];
  const char *args[] = {"--quiet", "--metrics", where, NULL};
  const char *want[] = {line, NULL};
  (void)state;

  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(suite_loop(), &taken), 0);
  assert_int_equal(uv_tcp_bind(&taken, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(
      uv_listen((uv_stream_t *)&taken, 8, on_unexpected_connection), 0);
  assert_int_equal(uv_tcp_getsockname(&taken, (struct sockaddr *)&bound, &len),
                   0);
  port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  snprintf(where, sizeof(where), "127.0.0.1:%d", port);
  snprintf(line, sizeof(line),
           "metrics: listen tcp 127.0.0.1:%d: EADDRINUSE (address already in "
           "use)",
           port);
  assert_int_equal(try_start_server(srv, "127.0.0.1", args), -1);
  wait_exit(srv, 1);
  taken.data = &closed;
  uv_close((uv_handle_t *)&taken, on_taken_closed);
  assert_true(wait_for(is_set, &closed, 10000));
  assert_log(srv->err, want);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_scrape_under_load), SUITE_TEST(test_scrape_two_loops),
      SUITE_TEST(test_http_answers),      SUITE_TEST(test_deadline_and_cap),
      SUITE_TEST(test_draining),          SUITE_TEST(test_port_in_use),
  };
  return suite_main(argc, argv, "metrics", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
