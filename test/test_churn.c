/* Reliability, connection churn: clients that close at once leave nothing
 * behind, and (slow) 10,000 connections open at once all echo. */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 100 clients close right after connecting, sending nothing: the server's
 * own count of open sessions goes back to 0 and it still echoes. */
static void test_close_after_connect(void **state) {
  const unsigned n = 100;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  char want[64];
  load_t *l;
  conn_t *c;
  summary_t s;
  unsigned i;
  (void)state;

  l = load_new(start_quiet_server(srv, "--stats", "0.2"), n + 1, 5);
  l->max_connecting = 10;
  for (i = 0; i < n; i++)
    l->conns[i].close_on_connect = 1;
  load_connect(l, n);
  if (!wait_for(load_all_closed, l, 20000))
    fail_msg("%u of %u connections closed", l->closed_count, n);
  for (i = 0; i < n; i++) {
    if (l->conns[i].connect_status != 0)
      fail_msg("connection %u: connect %s", i,
               err_name(l->conns[i].connect_status));
  }
  /* A stats line taken after all of them were accepted. */
  snprintf(want, sizeof(want), "stats: 0 sessions open, %u accepted,", n);
  wait_line(srv, want, NULL, 5000);
  expect_running(srv);

  c = &l->conns[n];
  c->to_send = 64 * KiB;
  c->half_close = 1;
  load_connect(l, 1);
  assert_true(wait_for(conn_done, c, 10000));
  expect_echo_then_eof(c, 64 * KiB);
  snprintf(want, sizeof(want), "stats: 0 sessions open, %u accepted,", n + 1);
  wait_line(srv, want, NULL, 5000);
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, n + 1);
    expect_eq("bytes echoed (summary)", s.echoed, 64 * KiB);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

/* 10,000 connections open at once, each echoes a message, all close; the
 * server is still there afterwards. */
static void test_10k_connections(void **state) {
#ifdef __linux__
  const unsigned n = 10000;
  const unsigned long need = n + 1024;
  static const char script[] = "log=$1; shift; exec \"$0\" \"$@\" 2>\"$log\"";
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  range_t all;
  load_t *l;
  summary_t s;
  unsigned i;
  int port;
  (void)state;

  if (!raise_fd_limit(need)) {
    print_message("skipped: cannot raise RLIMIT_NOFILE to %lu\n", need);
    skip();
  }
  /* 20,000 log lines: into a file rather than proc.c's buffer. */
  port = start_server_sh(srv, script, NULL, 1);
  l = load_new(port, n + 1, 7);
  for (i = 0; i < n; i++)
    l->conns[i].chunk_max = 64;
  load_connect(l, n);
  if (!wait_for(load_all_connected, l, 120000))
    fail_msg("connecting: %u of %u done", l->connected_count, n);
  if (l->connected_count != n || l->closed_count != 0)
    fail_msg("%u of %u connected, %u connect failures, %u closed",
             l->connected_count, n, l->connect_failures, l->closed_count);
  print_message("  %u connections open after %.1f s\n", n,
                (double)(now_ms() - start) / 1000.0);
  for (i = 0; i < n; i++)
    conn_send(&l->conns[i], 32);
  all = range_of(l, 0, n);
  if (!wait_for(range_echoed, &all, 60000))
    fail_msg("not every connection got its echo");
  for (i = 0; i < n; i++)
    expect_all_echoed(&l->conns[i]);
  for (i = 0; i < n; i++)
    conn_finish(&l->conns[i]);
  if (!wait_for(range_closed, &all, 60000))
    fail_msg("%u of %u connections closed", l->closed_count, n);
  for (i = 0; i < n; i++)
    expect_echo_then_eof(&l->conns[i], 32);
  expect_running(srv);
  l->conns[n].to_send = 64 * KiB;
  l->conns[n].half_close = 1;
  load_connect(l, 1);
  assert_true(wait_for(conn_done, &l->conns[n], 10000));
  expect_echo_then_eof(&l->conns[n], 64 * KiB);
  load_free();
  if (finish_server(srv, &s, read_log_file)) {
    expect_eq("sessions served", s.served, n + 1);
    expect_eq("peak sessions", s.peak, n);
    expect_eq("bytes echoed (summary)", s.echoed, 32ull * n + 64 * KiB);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
#else
  (void)state;
  print_message("skipped: RLIMIT_NOFILE and the 10,000-port setup are "
                "Linux-only here\n");
  skip();
#endif
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_close_after_connect),
      SUITE_SLOW(test_10k_connections),
  };
  return suite_main(argc, argv, "churn", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
