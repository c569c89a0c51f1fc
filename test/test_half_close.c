/* Reliability, half-close: a peer that sends its FIN before it has its
 * echoes gets every byte back, then the server's FIN, including when the
 * server reads that FIN while echoes are still queued for the peer. */
#include "suite.h"

#include "pattern.h"
#include "server.h"

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
#define THROTTLE_BYTES (32 * KiB)
#define THROTTLE_MS 5
#define STATS_EVERY "0.05"
/* Stats lines after the FIN that must all show the session still open. */
#define HELD_STATS_LINES 4

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
  static const char eof_line[] = "Error reading TCP session: EOF";
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), sent, at_eof;
  stats_after_t w;
  const char *eof_at, *line;
  load_t *l;
  conn_t *c;
  summary_t s;
  unsigned i;
  (void)state;

  l = load_new(start_quiet_server(srv, "--stats", STATS_EVERY), 1, 13);
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
  sent = c->to_send = c->queued;
  conn_finish(c);
  ticker_start(&tickers[0], THROTTLE_MS, read_a_little, c);
  wait_line(srv, eof_line, NULL, 120000);
  conn_stop_reading(c);
  c->read_limit = c->received; /* nothing more until told */
  tickers_stop();
  at_eof = c->received;
  eof_at = find_line_with(srv->err, NULL, eof_line, NULL);
  assert_non_null(eof_at);
  print_message("  %llu bytes sent before the half-close; %llu echoed when "
                "the server read the FIN\n",
                (unsigned long long)sent, (unsigned long long)at_eof);
  expect_healthy(c);
  assert_true(at_eof < sent);

  /* The session outlives the EOF while the peer reads nothing. */
  w.p = srv;
  w.at = (size_t)(strchr(eof_at, '\n') + 1 - srv->err);
  w.want = HELD_STATS_LINES;
  if (!wait_for(enough_stats_after, &w, 5000))
    fail_msg("fewer than %u stats lines after the EOF:\n%s", w.want,
             srv->err + w.at);
  line = srv->err + w.at;
  for (i = 0; i < HELD_STATS_LINES; i++) {
    line = find_line_with(srv->err, line, "stats: ", NULL);
    if (strncmp(strstr(line, "stats: "), "stats: 1 sessions open,", 23) != 0)
      fail_msg("the server did not hold the session after reading the FIN "
               "(so nothing was queued, or the queue was dropped):\n%s",
               eof_at);
    line = strchr(line, '\n') + 1;
  }
  assert_int_equal(c->received, at_eof);

  /* Now read it all: every byte, then the server's FIN. */
  c->read_limit = 0;
  conn_read(c);
  if (!wait_for(conn_done, c, 30000))
    fail_msg("no EOF: %llu of %llu bytes echoed",
             (unsigned long long)c->received, (unsigned long long)sent);
  print_message("  %llu bytes sent before the half-close, all echoed\n",
                (unsigned long long)sent);
  expect_echo_then_eof(c, sent);
  w.at = strlen(srv->err);
  w.want = 1;
  assert_true(wait_for(enough_stats_after, &w, 5000));
  line = find_line_with(srv->err, srv->err + w.at, "stats: ", NULL);
  assert_non_null(strstr(line, "stats: 0 sessions open,"));
  load_free();
  if (finish_server(srv, &s, NULL)) {
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
