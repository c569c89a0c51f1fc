/* Reliability, integrity: every byte echoed is the byte sent, whatever the
 * write sizes: the stream generator checked against itself, 10,000 one-byte
 * writes, and (slow) 1 GiB through 100 connections. The built server runs
 * as a child process; the load comes from this one (test/support). */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each generated stream is what it claims to be: a flipped bit, bytes of
 * another stream or the right bytes at the wrong offset are all caught,
 * so the checks below cannot pass by comparing nothing. */
static void test_stream_self_check(void **state) {
  unsigned char a[4096], b[4096];
  (void)state;
  pattern_fill(1, 0, a, sizeof(a));
  assert_int_equal(pattern_check(1, 0, a, sizeof(a)), sizeof(a));
  /* Pieces at odd offsets are the same bytes. */
  pattern_fill(1, 13, b, 1000);
  assert_memory_equal(a + 13, b, 1000);
  assert_int_equal(pattern_check(1, 13, a + 13, 3000), 3000);
  a[1234] ^= 0x10;
  assert_int_equal(pattern_check(1, 0, a, sizeof(a)), 1234);
  pattern_fill(2, 0, b, sizeof(b));
  assert_true(pattern_check(1, 0, b, sizeof(b)) < 8);
  pattern_fill(1, 8, b, sizeof(b));
  assert_true(pattern_check(1, 0, b, sizeof(b)) < 8);
  {
    /* Not degenerate: every byte value shows up. */
    unsigned seen[256] = {0};
    size_t i, distinct = 0;
    pattern_fill(3, 0, a, sizeof(a));
    for (i = 0; i < sizeof(a); i++)
      seen[a[i]]++;
    for (i = 0; i < 256; i++)
      distinct += (size_t)(seen[i] != 0);
    assert_int_equal(distinct, 256);
  }
}

/* Every connection ended (EOF, error or close). */
static int integrity_done(const void *arg) {
  const load_t *l = arg;
  return l->closed_count == l->count;
}

/* 1 GiB through 100 concurrent connections: writes of 1 B..64 KiB, each
 * connection with its own pipelining depth and window, every byte
 * checked, then a half-close and the server's EOF on each. */
static void test_integrity_1gib(void **state) {
  const unsigned conns = 100;
  const uint64_t total_min = 1024ull * MiB;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), sum = 0, last_sum = 0, last_progress;
  static const uint64_t windows[] = {0, 64 * KiB, 256 * KiB, MiB, 4 * MiB};
  load_t *l;
  summary_t s;
  unsigned i;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), conns, 1);
  for (i = 0; i < conns; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = (total_min + conns - 1) / conns + conn_random(c) % 65536;
    c->depth = 1 + (uint32_t)(conn_random(c) % 16);
    c->window = windows[conn_random(c) % 5];
    c->half_close = 1;
  }
  load_connect(l, conns);
  /* Bounded in time, and failing early if nothing moves for 30 s. */
  last_progress = now_ms();
  while (!integrity_done(l)) {
    uint64_t moved = 0;
    wait_for(integrity_done, l, 1000);
    for (i = 0; i < conns; i++) {
      moved += l->conns[i].received;
      if (l->conns[i].bad_at != NO_ERROR_AT)
        expect_echo_then_eof(&l->conns[i], l->conns[i].to_send);
    }
    if (moved != last_sum) {
      last_sum = moved;
      last_progress = now_ms();
    }
    if (now_ms() - last_progress > 30000 || now_ms() - start > 600000)
      fail_msg("stuck: %llu bytes echoed, %u of %u connections done",
               (unsigned long long)moved, l->closed_count, conns);
    expect_running(srv);
  }
  for (i = 0; i < conns; i++) {
    expect_echo_then_eof(&l->conns[i], l->conns[i].to_send);
    sum += l->conns[i].received;
  }
  assert_true(sum >= total_min);
  print_message("  %llu bytes echoed and checked over %u connections, "
                "%.0f MB/s\n",
                (unsigned long long)sum, conns,
                (double)sum / 1e3 / (double)(now_ms() - start));
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, conns);
    expect_eq("bytes echoed (summary)", s.echoed, sum);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

/* 10,000 single-byte writes: 5,000 each waiting for its echo, then 5,000
 * all in flight at once; all echoed, in order. */
static void test_one_byte_writes(void **state) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  load_t *l;
  conn_t *c;
  summary_t s;
  (void)state;

  l = load_new(start_quiet_server(srv, NULL, NULL), 1, 6);
  c = &l->conns[0];
  c->chunk_min = c->chunk_max = 1;
  c->window = 1; /* stop and wait */
  c->to_send = 5000;
  load_connect(l, 1);
  if (!wait_for(conn_echoed, c, 30000))
    fail_msg("stop-and-wait: %llu of 5000 echoed",
             (unsigned long long)c->received);
  expect_all_echoed(c);
  assert_int_equal(c->rt_count, 5000);
  print_message("  stop-and-wait: 5000 round trips, %.1f us each on "
                "average\n",
                (double)c->rt_total_ns / 5000.0 / 1000.0);
  c->window = 0;
  c->depth = 5000; /* all at once */
  conn_send(c, 5000);
  /* Queued at once, before any echo of them came back. */
  assert_int_equal(c->queued, 10000);
  assert_true(c->received <= 5000);
  if (!wait_for(conn_echoed, c, 30000))
    fail_msg("pipelined: %llu of 10000 echoed",
             (unsigned long long)c->received);
  expect_all_echoed(c);
  conn_finish(c);
  assert_true(wait_for(conn_done, c, 10000));
  expect_echo_then_eof(c, 10000);
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("bytes echoed (summary)", s.echoed, 10000);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_stream_self_check),
      SUITE_TEST(test_one_byte_writes),
      SUITE_SLOW(test_integrity_1gib),
  };
  return suite_main(argc, argv, "integrity", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
