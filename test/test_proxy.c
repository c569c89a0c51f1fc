/* --proxy-protocol end to end: PROXY v1 and v2 headers in front of the
 * data, whole or split over writes; the echo is the data alone and the log
 * names the client the header carries. Bad headers and silent connections
 * are closed unechoed and counted; without the option a header is data.
 * Usage: test_proxy TCPECHO [fast | all | TEST...] */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One client connection of the test, driven step by step. */
typedef struct raw_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  int connected, connect_status, written, ended, closed;
  int end_status; /* UV_EOF or the read error that ended it */
  char got[8192];
  size_t got_len;
} raw_t;

static void on_raw_connect(uv_connect_t *req, int status) {
  raw_t *r = req->data;
  r->connected = 1;
  r->connect_status = status;
}

static void on_raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  raw_t *r = h->data;
  (void)suggested;
  *buf =
      uv_buf_init(r->got + r->got_len, (unsigned)(sizeof(r->got) - r->got_len));
}

static void on_raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  raw_t *r = s->data;
  (void)buf;
  if (n > 0) {
    r->got_len += (size_t)n;
    if (r->got_len == sizeof(r->got))
      fail_msg("more echoed than the test sent");
  } else if (n < 0) {
    r->ended = 1;
    r->end_status = (int)n;
    uv_read_stop(s);
  }
}

static void on_raw_write(uv_write_t *req, int status) {
  raw_t *r = req->data;
  r->written = status == 0 ? 1 : -1;
}

static void on_raw_shutdown(uv_shutdown_t *req, int status) {
  (void)req;
  (void)status;
}

static void on_raw_closed(uv_handle_t *h) {
  ((raw_t *)h->data)->closed = 1;
}

static int raw_connected(const void *arg) {
  return ((const raw_t *)arg)->connected;
}
static int raw_written(const void *arg) {
  return ((const raw_t *)arg)->written != 0;
}
static int raw_ended(const void *arg) {
  return ((const raw_t *)arg)->ended;
}
static int raw_closed(const void *arg) {
  return ((const raw_t *)arg)->closed;
}

static void raw_connect(raw_t *r, int port) {
  struct sockaddr_in addr;
  memset(r, 0, sizeof(*r));
  uv_ip4_addr("127.0.0.1", port, &addr);
  assert_int_equal(uv_tcp_init(suite_loop(), &r->tcp), 0);
  r->tcp.data = r;
  r->connect_req.data = r;
  assert_int_equal(uv_tcp_connect(&r->connect_req, &r->tcp,
                                  (const struct sockaddr *)&addr,
                                  on_raw_connect),
                   0);
  assert_true(wait_for(raw_connected, r, 10000));
  assert_int_equal(r->connect_status, 0);
  assert_int_equal(
      uv_read_start((uv_stream_t *)&r->tcp, on_raw_alloc, on_raw_read), 0);
}

/* The client's own port: the peer the server sees. */
static int raw_local_port(const raw_t *r) {
  struct sockaddr_in addr;
  int len = (int)sizeof(addr);
  assert_int_equal(uv_tcp_getsockname(&r->tcp, (struct sockaddr *)&addr, &len),
                   0);
  return ntohs(addr.sin_port);
}

static void raw_send(raw_t *r, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  r->written = 0;
  r->write_req.data = r;
  assert_int_equal(
      uv_write(&r->write_req, (uv_stream_t *)&r->tcp, &buf, 1, on_raw_write),
      0);
  assert_true(wait_for(raw_written, r, 10000));
  assert_int_equal(r->written, 1);
}

static void raw_half_close(raw_t *r) {
  assert_int_equal(
      uv_shutdown(&r->shutdown_req, (uv_stream_t *)&r->tcp, on_raw_shutdown),
      0);
}

/* Waits for the server to end the connection, then closes it. */
static void raw_finish(raw_t *r, uint64_t timeout_ms) {
  if (!wait_for(raw_ended, r, timeout_ms))
    fail_msg("the server did not end the connection in %llu ms",
             (unsigned long long)timeout_ms);
  uv_close((uv_handle_t *)&r->tcp, on_raw_closed);
  assert_true(wait_for(raw_closed, r, 10000));
}

static const char v2_sig[] = "\r\n\r\n\0\r\nQUIT\n"; /* 12 bytes */

/* A v2 PROXY header from 198.51.100.9:4242 to 10.0.0.1:8000 (28 bytes). */
static size_t v2_tcp4(char *out) {
  static const unsigned char rest[] = {
      0x21, 0x11, 0,    12,    /* v2 PROXY, TCP over IPv4, 12 bytes */
      198,  51,   100,  9,     /* source */
      10,   0,    0,    1,     /* destination */
      0x10, 0x92, 0x1f, 0x40}; /* ports 4242, 8000 */
  memcpy(out, v2_sig, 12);
  memcpy(out + 12, rest, sizeof(rest));
  return 12 + sizeof(rest);
}

/* A v2 LOCAL header, as health checks send (16 bytes). */
static size_t v2_local(char *out) {
  static const unsigned char rest[] = {0x20, 0x00, 0, 0};
  memcpy(out, v2_sig, 12);
  memcpy(out + 12, rest, sizeof(rest));
  return 16;
}

static const char v1_tcp4[] = "PROXY TCP4 203.0.113.7 10.0.0.1 56324 8000\r\n";

/* Sends header and data over one connection and checks that exactly data
 * comes back before the server's FIN. The writes, by split:
 * 0: header and data in one;
 * 1: the header cut after its first 5 bytes and in its middle, its end
 *    sent with the data's first 2 bytes, the rest of the data on its own
 *    (the server keeps what came so far, and echoes what follows the
 *    header in the read that completes it);
 * 2: the header's first 5 bytes, then its rest with all the data (more
 *    than the server's header buffer holds). */
static void echo_data_through(int port, const char *header, size_t header_len,
                              const char *data, size_t data_len, int split) {
  char *all = malloc(header_len + data_len);
  raw_t *r = malloc(sizeof(*r));
  size_t mid = header_len / 2 + 3;

  raw_connect(r, port);
  if (split == 0) {
    memcpy(all, header, header_len);
    memcpy(all + header_len, data, data_len);
    raw_send(r, all, header_len + data_len);
  } else if (split == 1) {
    raw_send(r, header, 5);
    pause_ms(30);
    raw_send(r, header + 5, mid - 5);
    pause_ms(30);
    memcpy(all, header + mid, header_len - mid);
    memcpy(all + header_len - mid, data, 2);
    raw_send(r, all, header_len - mid + 2);
    pause_ms(30);
    raw_send(r, data + 2, data_len - 2);
  } else {
    raw_send(r, header, 5);
    pause_ms(30);
    memcpy(all, header + 5, header_len - 5);
    memcpy(all + header_len - 5, data, data_len);
    raw_send(r, all, header_len - 5 + data_len);
  }
  raw_half_close(r);
  raw_finish(r, 10000);
  if (r->end_status != UV_EOF)
    fail_msg("ended with %s, not EOF", err_name(r->end_status));
  if (r->got_len != data_len || memcmp(r->got, data, data_len) != 0)
    fail_msg("echoed %lu bytes, want %lu: '%.*s'", (unsigned long)r->got_len,
             (unsigned long)data_len, (int)(r->got_len < 64 ? r->got_len : 64),
             r->got);
  free(r);
  free(all);
}

static void echo_through(int port, const char *header, size_t header_len,
                         const char *data, int split) {
  echo_data_through(port, header, header_len, data, strlen(data), split);
}

typedef struct count_s {
  const char *needle;
  size_t n;
} count_t;

static int has_count(proc_t *p, const void *arg) {
  const count_t *c = arg;
  return count_of(p->err, c->needle) >= c->n;
}

/* Waits until the log holds needle n times, then checks it is exactly n:
 * the log comes through a pipe, lines may still be on their way. */
static void wait_count(proc_t *srv, const char *needle, size_t n) {
  count_t c;
  c.needle = needle;
  c.n = n;
  if (!run_until(has_count, srv, &c, 10000) || count_of(srv->err, needle) != n)
    fail_msg("'%s' %lu times in the log, want %lu:\n%s", needle,
             (unsigned long)count_of(srv->err, needle), (unsigned long)n,
             srv->err);
}

/* Finishes the server and checks its summary's proxy part. */
static void expect_summary(proc_t *srv, unsigned long long served,
                           unsigned long long echoed, const char *proxy) {
  summary_t s;
  if (!finish_server(srv, &s, NULL))
    return;
  expect_eq("sessions served", s.served, served);
  expect_eq("bytes echoed (summary)", s.echoed, echoed);
  expect_eq("errors (summary)", s.errors, 0);
  if (proxy != NULL && !has_line_with(srv->err, "served ", proxy))
    fail_msg("no summary ending '%s':\n%s", proxy, srv->err);
  if (proxy == NULL && strstr(srv->err, "proxy header errors") != NULL)
    fail_msg("proxy header errors reported without --proxy-protocol:\n%s",
             srv->err);
}

static void test_headers_then_data(void **state) {
  proc_t *srv = new_server(0);
  char v2[64], local[64], want[96], big[6000];
  size_t v2_len = v2_tcp4(v2), local_len = v2_local(local);
  int port = start_quiet_server(srv, "--proxy-protocol", NULL);
  raw_t *r;
  int split;
  (void)state;

  for (split = 0; split <= 1; split++) {
    echo_through(port, v1_tcp4, strlen(v1_tcp4), "hello v1", split);
    wait_count(srv, "TCP session open from 203.0.113.7:56324 via 127.0.0.1:",
               (size_t)split + 1);
    echo_through(port, v2, v2_len, "hello v2", split);
    wait_count(srv, "TCP session open from 198.51.100.9:4242 via 127.0.0.1:",
               (size_t)split + 1);
  }
  /* More data with the header's end than the header's buffer has room
   * for: the rest is echoed from the read itself. */
  memset(big, 'b', sizeof(big));
  echo_data_through(port, v2, v2_len, big, sizeof(big), 2);
  wait_count(srv, "TCP session open from 198.51.100.9:4242 via 127.0.0.1:", 3);
  assert_int_equal(count_of(srv->err, "from 203.0.113.7:56324 via"), 2);

  /* LOCAL: the connection's own peer, in the usual line. */
  r = malloc(sizeof(*r));
  raw_connect(r, port);
  snprintf(want, sizeof(want), "TCP session open from 127.0.0.1:%d\n",
           raw_local_port(r));
  memcpy(local + local_len, "ok", 2);
  raw_send(r, local, local_len + 2);
  raw_half_close(r);
  raw_finish(r, 10000);
  assert_int_equal(r->got_len, 2);
  assert_memory_equal(r->got, "ok", 2);
  free(r);
  wait_line(srv, want, NULL, 5000);
  expect_summary(srv, 6, 4 * 8 + sizeof(big) + 2, ", 0 proxy header errors\n");
}

/* Bad and late headers: closed with nothing echoed, counted, logged at
 * most once a second. */
static void test_bad_and_silent(void **state) {
  static const char http[] = "GET / HTTP/1.0\r\n\r\n";
  static const char bad_v1[] = "PROXY TCP4 203.0.113.999 10.0.0.1 1 2\r\nx";
  const char *extra[] = {"--quiet", "--proxy-protocol", "--stats",
                         "0.2",     "--proxy-timeout",  "0.5",
                         NULL};
  proc_t *srv = new_server(0);
  int port = start_server(srv, "127.0.0.1", extra);
  raw_t *r = malloc(sizeof(*r));
  uint64_t t0;
  (void)state;

  /* Silent: closed once the deadline passed, not before. */
  raw_connect(r, port);
  t0 = now_ms();
  raw_finish(r, 10000);
  if (now_ms() - t0 < 400)
    fail_msg("closed after %llu ms, before the 0.5 s deadline",
             (unsigned long long)(now_ms() - t0));
  assert_int_equal(r->got_len, 0);
  wait_line(srv, "closing TCP session from 127.0.0.1:",
            ": no PROXY header within 0.5 s (1 so far)", 5000);

  /* The next line is due a second after that one. */
  pause_ms(1100);
  raw_connect(r, port);
  raw_send(r, http, strlen(http));
  raw_finish(r, 10000);
  assert_int_equal(r->got_len, 0);
  wait_line(srv, "closing TCP session from 127.0.0.1:",
            ": bad PROXY header (bad signature; 2 so far)", 5000);

  /* Within the same second: counted, not logged. A v1 header with a bad
   * address, its data in the same write: none of it is echoed. */
  raw_connect(r, port);
  raw_send(r, bad_v1, strlen(bad_v1));
  raw_finish(r, 10000);
  assert_int_equal(r->got_len, 0);
  /* Half a header, then EOF: nothing to echo either. */
  raw_connect(r, port);
  raw_send(r, v1_tcp4, 20);
  raw_half_close(r);
  raw_finish(r, 10000);
  assert_int_equal(r->got_len, 0);
  /* Still serving, and still echoing only what follows a header. */
  echo_through(port, v1_tcp4, strlen(v1_tcp4), "after", 0);
  wait_line(srv, "TCP session open from 203.0.113.7:56324 via", NULL, 5000);
  assert_int_equal(count_of(srv->err, "closing TCP session from"), 2);
  assert_int_equal(count_of(srv->err, "TCP session open"), 1);
  wait_line(srv, "stats: 0 sessions open, 5 accepted,",
            ", 0 errors, 4 proxy header errors\n", 5000);
  expect_summary(srv, 5, 5, ", 4 proxy header errors\n");
  free(r);
}

/* Without --proxy-protocol a header is data like any other. */
static void test_without_option(void **state) {
  proc_t *srv = new_server(0);
  int port = start_quiet_server(srv, NULL, NULL);
  char v2[64];
  size_t v2_len = v2_tcp4(v2);
  char want[128];
  (void)state;

  /* The whole header comes back, as the data: echo_through with an empty
   * header. */
  echo_through(port, "", 0, v1_tcp4, 0);
  memcpy(want, v2, v2_len);
  {
    raw_t *r = malloc(sizeof(*r));
    raw_connect(r, port);
    raw_send(r, v2, v2_len);
    raw_half_close(r);
    raw_finish(r, 10000);
    assert_int_equal(r->got_len, v2_len);
    assert_memory_equal(r->got, want, v2_len);
    free(r);
  }
  assert_null(strstr(srv->err, " via "));
  expect_summary(srv, 2, strlen(v1_tcp4) + v2_len, NULL);
}

/* --threads 2: each loop reads its sessions' headers; the errors add up in
 * the total. */
static void test_threads(void **state) {
  const char *extra[] = {"--quiet", "--proxy-protocol", "--threads", "2", NULL};
  proc_t *srv = new_server(0);
  int port = start_server(srv, "127.0.0.1", extra);
  raw_t *r = malloc(sizeof(*r));
  char v2[64];
  size_t v2_len = v2_tcp4(v2);
  int i;
  (void)state;

  for (i = 0; i < 6; i++) {
    echo_through(port, v2, v2_len, "threads", i & 1);
    raw_connect(r, port);
    raw_send(r, "PROXY nonsense\r\n", 16);
    raw_finish(r, 10000);
    assert_int_equal(r->got_len, 0);
  }
  free(r);
  wait_count(srv, "TCP session open from 198.51.100.9:4242 via 127.0.0.1:", 6);
  expect_summary(srv, 12, 6 * 7, ", 6 proxy header errors\n");
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_headers_then_data),
      SUITE_TEST(test_bad_and_silent),
      SUITE_TEST(test_without_option),
      SUITE_TEST(test_threads),
  };
  return suite_main(argc, argv, "proxy", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
