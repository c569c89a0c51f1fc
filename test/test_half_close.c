/* Reliability, half-close: a peer that sends its FIN before it has its
 * echoes gets every byte back, then the server's FIN, including when the
 * server reads that FIN while echoes are still queued for the peer. */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* N bytes, then a half-close, reading nothing until the server has seen
 * the FIN: all N come back, then the server's FIN. N goes from 256 KiB to
 * 8 MiB (3 MiB among them) on 32 connections at once: what the kernel
 * buffers differs between machines, and for some N the server reads the
 * FIN while it still holds echoes the socket did not take. */
static void test_half_close(void **state) {
  const unsigned n = 32;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), total = 0;
  load_t *l;
  summary_t s;
  unsigned i;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), n, 3);
  for (i = 0; i < n; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = (uint64_t)(i + 1) * 256 * KiB;
    c->depth = 1000;
    c->half_close = 1;
    c->read_on_connect = 0;
    total += c->to_send;
  }
  load_connect(l, n);
  /* Everything written or stuck, then time for the server to read on. */
  conn_stall_ms = 200;
  if (!wait_for(load_all_stalled, l, 20000))
    fail_msg("writes neither finished nor stalled");
  pause_ms(300);
  for (i = 0; i < n; i++)
    conn_read(&l->conns[i]);
  if (!wait_for(load_all_closed, l, 30000))
    fail_msg("%u of %u connections got their EOF", l->eof_count, n);
  for (i = 0; i < n; i++)
    expect_echo_then_eof(&l->conns[i], (uint64_t)(i + 1) * 256 * KiB);
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, n);
    expect_eq("bytes echoed (summary)", s.echoed, total);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

/* How the peer of test_half_close_with_echoes_queued reads: at most
 * THROTTLE_BYTES every THROTTLE_MS, slower than the server echoes, so that
 * the server's socket buffer stays full and its own queue drains only at
 * this pace. */
#define THROTTLE_BYTES (16 * KiB)
#define THROTTLE_MS 5
#define STATS_EVERY "0.1"
/* Stats lines after the FIN that must all show the session still open. */
#define HELD_STATS_LINES 3
/* Whether the FIN comes before the queue has drained depends on how the
 * kernel sizes the socket buffers as they fill; a try that misses (the
 * server closes at once, having nothing queued) is made again. */
#define ATTEMPTS 5

static const char eof_line[] = "Error reading TCP session: EOF";

static void read_a_little(void *arg) {
  conn_t *c = arg;
  c->read_limit = c->received + THROTTLE_BYTES;
  conn_read(c);
}

typedef struct stats_after_s {
  const proc_t *p;
  size_t at; /* in p->err */
  unsigned want;
} stats_after_t;

/* The --stats lines of p's log after offset at. */
static unsigned stats_lines_after(const proc_t *p, size_t at) {
  const char *line = p->err + at;
  unsigned n = 0;
  while ((line = find_line_with(p->err, line, "stats: ", NULL)) != NULL) {
    n++;
    line = strchr(line, '\n') + 1;
  }
  return n;
}

static int enough_stats_after(const void *arg) {
  const stats_after_t *w = arg;
  return stats_lines_after(w->p, w->at) >= w->want || w->p->exited;
}

/* Waits for n stats lines after offset at of srv's log; returns the first
 * of them. */
static const char *wait_stats_after(proc_t *srv, size_t at, unsigned n) {
  stats_after_t w;
  w.p = srv;
  w.at = at;
  w.want = n;
  if (!wait_for(enough_stats_after, &w, 5000))
    fail_msg("fewer than %u stats lines in 5 s:\n%s", n, srv->err + at);
  return find_line_with(srv->err, srv->err + at, "stats: ", NULL);
}

typedef struct eof_wait_s {
  const proc_t *p;
  size_t at;
} eof_wait_t;

static int eof_logged(const void *arg) {
  const eof_wait_t *w = arg;
  return w->p->exited ||
         find_line_with(w->p->err, w->p->err + w->at, eof_line, NULL) != NULL;
}

/* One connection: stall, half-close, read on a throttle until the server
 * logs the EOF, stop reading, then read everything. Adds what it sent to
 * *sent; returns whether the server held the session open after the EOF
 * while the peer read nothing (so it had echoes queued at EOF). */
static int try_fin_with_echoes_queued(proc_t *srv, int port, unsigned n,
                                      uint64_t *sent) {
  uint64_t at_eof;
  eof_wait_t w;
  const char *eof_at, *line;
  load_t *l;
  conn_t *c;
  int held = 1;
  unsigned i;

  l = load_new(port, 1, 13 + n);
  c = &l->conns[0];
  c->to_send = 256ull * MiB; /* an upper bound: it stalls long before */
  c->depth = 8;
  c->read_on_connect = 0;
  load_connect(l, 1);
  conn_stall_ms = 300;
  if (!wait_for(conn_stalled, c, 30000) || c->closed ||
      c->written == c->to_send)
    fail_msg("the unread connection did not stall: %llu bytes written",
             (unsigned long long)c->written);
  /* Send no more than is queued already, then FIN, then read slowly. */
  c->to_send = c->queued;
  conn_finish(c);
  w.p = srv;
  w.at = strlen(srv->err);
  ticker_start(&tickers[0], THROTTLE_MS, read_a_little, c);
  if (!wait_for(eof_logged, &w, 120000))
    fail_msg("no '%s' line after the half-close:\n%s", eof_line,
             srv->err + w.at);
  conn_stop_reading(c);
  c->read_limit = c->received; /* nothing more until told */
  tickers_stop();
  at_eof = c->received;
  expect_running(srv);
  expect_healthy(c);
  assert_true(at_eof < c->to_send);
  eof_at = find_line_with(srv->err, srv->err + w.at, eof_line, NULL);

  /* With echoes queued the session outlives the EOF while the peer reads
   * nothing; with none it is closed at once. */
  line = wait_stats_after(srv, (size_t)(strchr(eof_at, '\n') + 1 - srv->err),
                          HELD_STATS_LINES);
  for (i = 0; i < HELD_STATS_LINES && held; i++) {
    held = strncmp(strstr(line, "stats: "), "stats: 1 sessions open,", 23) == 0;
    line = find_line_with(srv->err, strchr(line, '\n') + 1, "stats: ", NULL);
  }
  print_message("  try %u: %llu bytes sent before the half-close, %llu "
                "echoed when the server read the FIN; %s\n",
                n + 1, (unsigned long long)c->to_send,
                (unsigned long long)at_eof,
                held ? "the server held the session with echoes queued"
                     : "the server closed the session at once");
  assert_int_equal(c->received, at_eof);

  /* Now read it all: every byte, then the server's FIN. */
  c->read_limit = 0;
  conn_read(c);
  if (!wait_for(conn_done, c, 30000))
    fail_msg("no EOF: %llu of %llu bytes echoed",
             (unsigned long long)c->received, (unsigned long long)c->to_send);
  expect_echo_then_eof(c, c->to_send);
  *sent += c->to_send;
  load_free();
  line = wait_stats_after(srv, strlen(srv->err), 1);
  assert_non_null(strstr(line, "stats: 0 sessions open,"));
  return held;
}

/* The server reads the peer's FIN while echoes are still queued for it
 * (its "EOF while echoes are still queued" branch): they must all still go
 * out before the server's FIN. To get there, the peer sends until its
 * writes stall (the server paused reading with SERVER_HIGH_WATER queued,
 * its socket buffers full), half-closes, then reads on a throttle: the
 * server resumes reading at SERVER_LOW_WATER and reads the last bytes and
 * the FIN while its socket buffer is still full, so what it just read is
 * queued. The moment the server logs the EOF the peer stops reading.
 * Proof that the branch ran: the --stats lines after the EOF line say the
 * session is still open (with nothing queued the server closes it at
 * once), and stay so while the peer reads nothing; then the peer reads
 * everything, every byte checked, and gets the server's FIN. */
static void test_half_close_with_echoes_queued(void **state) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), sent = 0;
  summary_t s;
  unsigned n;
  int port, held = 0;
  (void)state;

  port = start_quiet_server(srv, "--stats", STATS_EVERY);
  for (n = 0; n < ATTEMPTS && !held; n++)
    held = try_fin_with_echoes_queued(srv, port, n, &sent);
  if (!held)
    fail_msg("in %u tries the server never read the FIN with echoes queued "
             "(or it dropped them): the branch was not reached",
             ATTEMPTS);
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, n);
    expect_eq("bytes echoed (summary)", s.echoed, sent);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_half_close),
      SUITE_TEST(test_half_close_with_echoes_queued),
  };
  return suite_main(argc, argv, "half_close", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
