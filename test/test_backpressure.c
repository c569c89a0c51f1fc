/* Reliability, backpressure: a peer that does not read its echoes. The
 * server stops reading it and its memory stays bounded while other sessions
 * keep their pace (slow: 256 MiB); a reset while echoes are queued costs one
 * error line and nothing else. */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rss_sampler_s {
  int pid;
  long peak_kib;
  long last_kib;
  unsigned samples;
} rss_sampler_t;

#ifdef __linux__
static void sample_rss(void *arg) {
  rss_sampler_t *r = arg;
  long kib = rss_kib(r->pid);
  if (kib < 0)
    return;
  r->last_kib = kib;
  if (kib > r->peak_kib)
    r->peak_kib = kib;
  r->samples++;
}
#endif

/* One connection sends 256 MiB without reading: the server must stop
 * reading it (its RSS stays under baseline + SERVER_HIGH_WATER + one read
 * + 4 MiB slack) while a ping-pong connection keeps its pace; then the
 * first reads everything back, every byte checked. */
static void test_slow_reader(void **state) {
#ifdef __linux__
  const uint64_t flood = 256ull * MiB;
#ifdef TCPECHO_SANITIZED
  /* AddressSanitizer keeps freed memory in quarantine: RSS then measures
   * the sanitizer, not the server. The tight bound is checked in the plain
   * build; here only runaway growth fails. */
  const long slack_kib = 64 * 1024;
#else
  const long slack_kib = 4 * 1024;
#endif
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), t0;
  rss_sampler_t rss;
  load_t *l;
  conn_t *a, *b;
  long baseline, bound;
  uint64_t rt_base, rt_stall, max_stall_ns;
  double rate_base, rate_stall;
  summary_t s;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), 2, 2);
  b = &l->conns[0];
  a = &l->conns[1];
  /* b: ping-pong, 64-byte messages, one at a time. */
  b->chunk_min = b->chunk_max = 64;
  b->window = 64;
  b->to_send = 1ull << 40;
  load_connect(l, 1);
  assert_true(wait_for(conn_connected_or_closed, b, 5000));
  assert_int_equal(b->connect_status, 0);
  pause_ms(300);
  memset(&rss, 0, sizeof(rss));
  rss.pid = srv->process.pid;
  sample_rss(&rss);
  baseline = rss.last_kib;
  assert_true(baseline > 0);
  rss.peak_kib = 0;
  /* Ping-pong's pace on its own. */
  rt_base = b->rt_count;
  t0 = now_ms();
  pause_ms(500);
  rate_base =
      (double)(b->rt_count - rt_base) * 1000.0 / (double)(now_ms() - t0);

  ticker_start(&tickers[0], 10, sample_rss, &rss);
  a->to_send = flood;
  a->chunk_min = a->chunk_max = 64 * KiB;
  a->depth = 4;
  a->read_on_connect = 0;
  load_connect(l, 1);
  assert_true(wait_for(conn_connected_or_closed, a, 5000));
  assert_int_equal(a->connect_status, 0);
  conn_stall_ms = 500;
  if (!wait_for(conn_stalled, a, 60000))
    fail_msg("the writes neither stalled nor finished: %llu bytes written",
             (unsigned long long)a->written);
  if (a->closed || a->written == a->to_send)
    fail_msg("no backpressure: the server took all %llu bytes unread "
             "(closed %d, write %s)",
             (unsigned long long)a->written, a->closed,
             err_name(a->write_status));
  print_message("  the unread connection stalled after %llu bytes written "
                "(%.1f s)\n",
                (unsigned long long)a->written,
                (double)(now_ms() - a->t_connected) / 1000.0);

  /* While it stalls: the other session keeps its pace. */
  rt_stall = b->rt_count;
  b->rt_max_ns = 0;
  t0 = now_ms();
  pause_ms(1000);
  rate_stall =
      (double)(b->rt_count - rt_stall) * 1000.0 / (double)(now_ms() - t0);
  max_stall_ns = b->rt_max_ns;
  print_message("  ping-pong: %.0f round trips/s alone, %.0f/s beside the "
                "stalled session (slowest %.2f ms)\n",
                rate_base, rate_stall, (double)max_stall_ns / 1e6);
  expect_healthy(b);
  if (rate_stall < 200 || rate_stall < rate_base / 4 ||
      max_stall_ns > 250000000u)
    fail_msg("the other session slowed down: %.0f round trips/s (alone "
             "%.0f/s), slowest %.1f ms",
             rate_stall, rate_base, (double)max_stall_ns / 1e6);
  /* Still stalled: the server is holding, not reading. */
  assert_true(a->written < a->to_send);

  /* Now read it all back. */
  conn_read(a);
  conn_finish(a);
  if (!wait_for(conn_done, a, 120000))
    fail_msg("echo of the flood not finished: %llu of %llu bytes",
             (unsigned long long)a->received, (unsigned long long)flood);
  expect_echo_then_eof(a, flood);

  bound = baseline + (long)((SERVER_HIGH_WATER + SERVER_READ_BUF_SIZE) / 1024) +
          slack_kib;
  print_message("  server RSS: baseline %ld KiB, peak %ld KiB over %u "
                "samples, bound %ld KiB (baseline + SERVER_HIGH_WATER + "
                "64 KiB + %ld MiB)\n",
                baseline, rss.peak_kib, rss.samples, bound, slack_kib / 1024);
  assert_true(rss.samples >= 10);
  if (rss.peak_kib > bound)
    fail_msg("server RSS peaked at %ld KiB, over the bound of %ld KiB "
             "(baseline %ld KiB)",
             rss.peak_kib, bound, baseline);

  b->to_send = b->queued;
  conn_finish(b);
  assert_true(wait_for(conn_done, b, 10000));
  expect_echo_then_eof(b, b->to_send);
  tickers_stop();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("bytes echoed (summary)", s.echoed, flood + b->received);
    expect_eq("errors (summary)", s.errors, 0);
  }
  load_free();
  report_time(start);
#else
  (void)state;
  print_message("skipped: reading a process's RSS is Linux-only here\n");
  skip();
#endif
}

static int log_has_reset_error(proc_t *p, const void *arg) {
  (void)arg;
  return strstr(p->err, "Error writing TCP session: ECONNRESET") != NULL ||
         strstr(p->err, "Error writing TCP session: EPIPE") != NULL ||
         strstr(p->err, "Error reading TCP session: ECONNRESET") != NULL;
}

/* A client resets its connection while the server has echoes queued for
 * it: one error line, the server keeps serving, the summary counts it. */
static void test_reset_mid_stream(void **state) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  load_t *l;
  conn_t *a, *b;
  summary_t s;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), 2, 4);
  a = &l->conns[0];
  b = &l->conns[1];
  a->to_send = 64 * MiB;
  a->chunk_min = a->chunk_max = 64 * KiB;
  a->depth = 4;
  a->read_on_connect = 0;
  load_connect(l, 1);
  conn_stall_ms = 300;
  if (!wait_for(conn_stalled, a, 30000) || a->closed ||
      a->written == a->to_send)
    fail_msg("the unread connection did not stall: %llu bytes written",
             (unsigned long long)a->written);
  /* The server paused reading: it holds >= SERVER_HIGH_WATER for us. */
  conn_reset(a);
  if (!run_until(log_has_reset_error, srv, NULL, 10000))
    fail_msg("no ECONNRESET/EPIPE line after the reset:\n%s", srv->err);
  assert_int_equal(count_of(srv->err, "Error "), 1);
  expect_running(srv);

  b->to_send = MiB;
  b->depth = 8;
  b->half_close = 1;
  load_connect(l, 1);
  assert_true(wait_for(conn_done, b, 20000));
  expect_echo_then_eof(b, MiB);
  load_free();
  expect_running(srv);
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, 2);
    expect_eq("errors (summary)", s.errors, 1);
  }
  report_time(start);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_reset_mid_stream),
      SUITE_SLOW(test_slow_reader),
  };
  return suite_main(argc, argv, "backpressure", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
