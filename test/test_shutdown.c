/* Reliability, shutdown: SIGTERM drains the sessions under load within the
 * drain timeout, delivering whatever was taken on; a second SIGTERM ends
 * the server at once. */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every connection got 256 KiB of echoes, or one ended. */
static int load_received_each(const void *arg) {
  const load_t *l = arg;
  unsigned i, ready = 0;
  for (i = 0; i < l->count; i++) {
    if (l->conns[i].closing)
      return 1;
    ready += (unsigned)(l->conns[i].received >= 256 * KiB);
  }
  return ready == l->count;
}

/* 50 connections streaming, 10 of them not reading for a while, get
 * SIGTERM: the server exits 0 within the drain timeout with its summary;
 * each client gets back an exact prefix of what it sent, then a clean
 * EOF, and the prefixes add up to the bytes the summary says it echoed. */
static void test_sigterm_under_load(void **state) {
  const unsigned n = 50, lazy = 10;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), t_sig, sum = 0;
  load_t *l;
  summary_t s;
  unsigned i;
  (void)state;

  if (!is_graceful_platform("draining on SIGTERM"))
    skip();
  l = load_new(start_quiet_server(srv, NULL, NULL), n, 11);
  for (i = 0; i < n; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = 1ull << 40; /* until the end */
    c->depth = 4;
    c->window = i < lazy ? 0 : MiB;
  }
  load_connect(l, n);
  if (!wait_for(load_received_each, l, 30000))
    fail_msg("not every connection got 256 KiB of echoes");
  for (i = 0; i < n; i++)
    expect_healthy(&l->conns[i]);
  /* The lazy ones stop reading until their writes stall: the server then
   * holds SERVER_HIGH_WATER of echoes for each. */
  for (i = 0; i < lazy; i++)
    conn_stop_reading(&l->conns[i]);
  conn_stall_ms = 200;
  for (i = 0; i < lazy; i++) {
    if (!wait_for(conn_stalled, &l->conns[i], 20000))
      fail_msg("lazy connection %u did not stall", i);
    expect_healthy(&l->conns[i]);
  }
  stop(srv, SIGTERM);
  uv_update_time(suite_loop());
  t_sig = uv_now(suite_loop());
  pause_ms(200);
  for (i = 0; i < lazy; i++)
    conn_read(&l->conns[i]);
  if (!wait_for(load_all_closed, l, 10000))
    fail_msg("%u of %u connections got their EOF", l->closed_count, n);
  if (!run_until(is_finished, srv, NULL, 10000))
    fail_msg("server still running 10 s after SIGTERM:\n%s", srv->err);
  print_message("  server exited %llu ms after SIGTERM\n",
                (unsigned long long)(srv->exited_ms - t_sig));
  wait_exit(srv, 0);
  if (srv->exited_ms - t_sig > 5000 || strstr(srv->err, "drain timeout:"))
    fail_msg("exit took %llu ms (drain timeout 5 s)%s:\n%s",
             (unsigned long long)(srv->exited_ms - t_sig),
             strstr(srv->err, "drain timeout: closing 0 ")
                 ? "; every session had ended, yet the server waited for the "
                   "drain timeout"
                 : "",
             strstr(srv->err, "shutting down")
                 ? strstr(srv->err, "shutting down")
                 : srv->err);
  sum = expect_prefix_then_eof(l, n, 1);
  if (!parse_summary(srv->err, &s))
    fail_msg("no summary line:\n%s", srv->err);
  print_summary(&s);
  expect_eq("sessions served", s.served, n);
  expect_eq("errors (summary)", s.errors, 0);
  /* Whatever it took on, it delivered: nothing dropped in the drain. */
  if (s.echoed != sum)
    fail_msg("the server counted %llu bytes echoed, the clients got %llu",
             s.echoed, (unsigned long long)sum);
  load_free();
  report_time(start);
}

/* SIGTERM with a client that does not read waits for it (here up to
 * --drain-timeout 30); a second SIGTERM ends the server at once. */
static void test_second_sigterm(void **state) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), t2;
  load_t *l;
  conn_t *a;
  summary_t s;
  (void)state;

  if (!is_graceful_platform("draining on SIGTERM"))
    skip();
  l = load_new(start_quiet_server(srv, "--drain-timeout", "30"), 1, 12);
  a = &l->conns[0];
  a->to_send = 64 * MiB;
  a->chunk_min = a->chunk_max = 64 * KiB;
  a->depth = 4;
  a->read_on_connect = 0;
  load_connect(l, 1);
  conn_stall_ms = 300;
  if (!wait_for(conn_stalled, a, 30000) || a->closed ||
      a->written == a->to_send)
    fail_msg("the unread connection did not stall");
  stop(srv, SIGTERM);
  wait_line(srv, "shutting down on SIGTERM: closing 1 TCP session",
            "(drain timeout 30 s)", 5000);
  pause_ms(500);
  expect_running(srv); /* still draining */
  stop(srv, SIGTERM);
  uv_update_time(suite_loop());
  t2 = uv_now(suite_loop());
  if (!run_until(is_finished, srv, NULL, 5000))
    fail_msg("server still running 5 s after the second SIGTERM:\n%s",
             srv->err);
  wait_exit(srv, 0);
  print_message("  exited %llu ms after the second SIGTERM\n",
                (unsigned long long)(srv->exited_ms - t2));
  assert_true(srv->exited_ms - t2 < 2000);
  wait_line(srv, "second SIGTERM: closing 1 TCP session now", NULL, 1000);
  if (!parse_summary(srv->err, &s))
    fail_msg("no summary line:\n%s", srv->err);
  print_summary(&s);
  expect_eq("sessions served", s.served, 1);
  load_free();
  report_time(start);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_sigterm_under_load),
      SUITE_TEST(test_second_sigterm),
  };
  return suite_main(argc, argv, "shutdown", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
