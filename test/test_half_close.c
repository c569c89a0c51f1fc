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

/* The half-close reaches the server while it holds echoes it could not
 * send yet (the client read nothing until its writes stalled, so the
 * server paused reading with SERVER_HIGH_WATER queued): they must all
 * still go out before the server's FIN. */
static void test_half_close_with_echoes_queued(void **state) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), sent;
  load_t *l;
  conn_t *c;
  summary_t s;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), 1, 13);
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
  /* Send no more than is queued already, then FIN, then read. */
  sent = c->to_send = c->queued;
  conn_finish(c);
  conn_read(c);
  if (!wait_for(conn_done, c, 30000))
    fail_msg("no EOF: %llu of %llu bytes echoed",
             (unsigned long long)c->received, (unsigned long long)sent);
  print_message("  %llu bytes sent before the half-close, all echoed\n",
                (unsigned long long)sent);
  expect_echo_then_eof(c, sent);
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
