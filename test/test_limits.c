/* Reliability, limits: running out of descriptors, --max-conns and
 * --idle-timeout, each with the sessions inside the limit unaffected. */
#include "suite.h"

#include "base/pattern.h"
#include "server/server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The server runs out of descriptors (ulimit -n 64) with 100 clients:
 * what it accepted keeps echoing, the surplus is closed or left waiting,
 * each connection dropped for want of a descriptor is logged and
 * counted, and once connections close, new ones are
 * accepted and echo again. */
static void test_emfile_recovery(void **state) {
#ifdef __linux__
  const unsigned first = 100, later = 30, kept = 4;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), since;
  unsigned i, echoed = 0, refused = 0, waiting = 0, left, answered;
  range_t r;
  load_t *l;
  summary_t s;
  (void)state;

  l = load_new(
      start_server_sh(srv, "ulimit -n 64 && exec \"$0\" \"$@\"", NULL, 0),
      first + later, 8);
  l->max_connecting = 16;
  for (i = 0; i < first + later; i++) {
    l->conns[i].to_send = 32;
    l->conns[i].chunk_max = 32;
  }
  load_connect(l, first);
  /* Until each is answered (echo or close), or nothing changed for 1 s:
   * a server may leave the surplus in its backlog. */
  r = range_of(l, 0, first);
  answered = 0;
  since = now_ms();
  while (!range_echoed(&r) && now_ms() - since < 1000 &&
         now_ms() - start < 20000) {
    unsigned now_answered;
    wait_for(range_echoed, &r, 100);
    now_answered = range_answered(&r);
    if (now_answered != answered || !load_all_connected(l)) {
      answered = now_answered;
      since = now_ms();
    }
  }
  for (i = 0; i < first; i++) {
    conn_t *c = &l->conns[i];
    if (c->connect_status != 0 || c->bad_at != NO_ERROR_AT)
      fail_msg("connection %u: connect %s, first bad byte at %lld", i,
               err_name(c->connect_status),
               c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
    if (!c->closing && c->received == 32)
      echoed++;
    else if (c->received == 0 &&
             (c->read_status == UV_EOF || c->read_status == UV_ECONNRESET))
      refused++;
    else if (!c->closing && c->received == 0)
      waiting++;
    else
      fail_msg("connection %u: echoed %llu, read %s", i,
               (unsigned long long)c->received, err_name(c->read_status));
  }
  print_message("  of %u connections %u were served, %u closed at once, "
                "%u left waiting\n",
                first, echoed, refused, waiting);
  if (echoed == first)
    fail_msg("every connection was served: the descriptor limit did not "
             "bite");
  assert_true(echoed >= 20);
  expect_running(srv);

  /* The sessions it has keep echoing. */
  for (i = 0; i < first; i++) {
    conn_t *c = &l->conns[i];
    if (!c->closing && c->received == 32)
      conn_send(c, 4096);
  }
  if (!wait_for(range_echoed, &r, 10000))
    fail_msg("open sessions stopped echoing");
  /* Close all but a few (and the waiting ones): descriptors free up. */
  left = 0;
  for (i = 0; i < first; i++) {
    conn_t *c = &l->conns[i];
    if (c->closing)
      continue;
    if (c->received == 0) {
      conn_close(c);
      continue;
    }
    expect_all_echoed(c);
    if (left < kept)
      left++;
    else
      conn_finish(c);
  }
  if (!wait_for(range_settled, &r, 10000))
    fail_msg("the half-closed sessions did not end");
  for (i = 0, left = 0; i < first; i++) {
    conn_t *c = &l->conns[i];
    if (c->shutdown_sent)
      expect_echo_then_eof(c, 32 + 4096);
    else if (!c->closing)
      left++;
  }
  assert_int_equal(left, kept);
  pause_ms(300);

  /* New ones are accepted and echo. */
  load_connect(l, later);
  r = range_of(l, first, first + later);
  if (!wait_for(range_echoed, &r, 10000))
    fail_msg("new connections got no answer");
  for (i = first; i < first + later; i++)
    expect_all_echoed(&l->conns[i]);
  r = range_of(l, 0, first);
  for (i = 0; i < first; i++) {
    if (!l->conns[i].closing)
      conn_send(&l->conns[i], 100);
  }
  assert_true(wait_for(range_echoed, &r, 10000));
  for (i = 0; i < first; i++) {
    if (!l->conns[i].closing)
      expect_all_echoed(&l->conns[i]);
  }
  load_free();
  /* Last, so that the recovery above is checked either way: the operator
   * must be told that connections were turned away. */
  if (!has_line_with(srv->err, "dropping TCP session from ",
                     ": no free descriptor (limit 64; "))
    fail_msg("the server ran out of descriptors (%u connections closed "
             "unserved, %u left waiting) but logged no 'dropping TCP "
             "session from ...: no free descriptor' line",
             refused, waiting);
  if (finish_server(srv, &s, NULL)) {
    /* The waiting ones may have been taken once descriptors freed; every
     * connection closed unserved is counted as dropped, none is lost. */
    assert_true(s.served >= echoed + later);
    assert_true(s.served <= echoed + later + waiting);
    expect_eq("sessions dropped (at least those closed unserved)",
              s.dropped < refused ? s.dropped : refused, refused);
    assert_true(s.dropped <= refused + waiting);
  }
  report_time(start);
#else
  (void)state;
  print_message("skipped: ulimit through sh is Linux-only here\n");
  skip();
#endif
}

/* --max-conns 5: five sessions echo, a sixth connection is closed at once
 * without an echo, and once one of the five ends a new one gets in. */
static void test_max_conns(void **state) {
  const unsigned max = 5, tries = 10;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  load_t *l;
  conn_t *extra;
  range_t r;
  summary_t s;
  unsigned i, accepted_on = 0;
  (void)state;

  l = load_new(start_quiet_server(srv, "--max-conns", "5"), max + 1 + tries, 9);
  l->max_connecting = 1;
  for (i = 0; i < l->count; i++) {
    l->conns[i].to_send = 32;
    l->conns[i].chunk_max = 32;
  }
  load_connect(l, max);
  r = range_of(l, 0, max);
  assert_true(wait_for(range_echoed, &r, 10000));
  for (i = 0; i < max; i++)
    expect_all_echoed(&l->conns[i]);

  extra = &l->conns[max];
  load_connect(l, 1);
  if (!wait_for(conn_done, extra, 3000))
    fail_msg("connection over --max-conns still open after 3 s");
  if (extra->connect_status != 0 || extra->received != 0 ||
      (extra->read_status != UV_EOF && extra->read_status != UV_ECONNRESET))
    fail_msg("connection over --max-conns: connect %s, %llu bytes echoed, "
             "read %s",
             err_name(extra->connect_status),
             (unsigned long long)extra->received, err_name(extra->read_status));
  if (extra->t_end - extra->t_connected > 1000)
    fail_msg("closed only after %llu ms",
             (unsigned long long)(extra->t_end - extra->t_connected));
  wait_line(srv, "rejecting TCP session from 127.0.0.1:",
            "--max-conns 5 reached (1 rejected so far)", 5000);
  /* The five are unaffected. */
  for (i = 0; i < max; i++)
    conn_send(&l->conns[i], 1000);
  assert_true(wait_for(range_echoed, &r, 10000));
  for (i = 0; i < max; i++)
    expect_all_echoed(&l->conns[i]);

  /* One of the five ends; a new connection gets in. */
  conn_finish(&l->conns[0]);
  assert_true(wait_for(conn_done, &l->conns[0], 5000));
  expect_echo_then_eof(&l->conns[0], 1032);
  for (i = 0; i < tries && accepted_on == 0; i++) {
    conn_t *c = &l->conns[max + 1 + i];
    load_connect(l, 1);
    assert_true(wait_for(conn_echoed, c, 5000));
    if (!c->closing && c->received == 32)
      accepted_on = i + 1;
    else
      pause_ms(100);
  }
  if (accepted_on == 0)
    fail_msg("no new session accepted after one of the %u closed", max);
  print_message("  accepted on try %u after a session closed\n", accepted_on);
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, max + 1);
    expect_eq("sessions rejected", s.rejected, accepted_on);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

/* What src/server/server.c promises for --idle-timeout T: it sweeps the
 * sessions every T/4 (clamped to 10 ms..1 s) and closes those idle for T or
 * more, so a session is closed between T and T + T/4 after its last activity.
 */
#define IDLE_TIMEOUT "1"
#define IDLE_T_MS 1000u
#define IDLE_SWEEP_MS (IDLE_T_MS / 4)
/* What a loaded machine may add on top: the sweep timer firing late and
 * this process seeing the close late. Kept under the sweep interval, so
 * that a sweep twice as slow as promised (or a close at 2T) fails. */
#define LOADED_ALLOWANCE_MS 100u
/* The peer reads its last echo a little after the server's last activity,
 * so it may measure a little under T. */
#define EARLY_ALLOWANCE_MS 20u
/* Idle sessions whose last activity is spread over two sweep intervals at
 * IDLE_SPACING_MS: whatever the sweep's phase, one of them waits for
 * nearly a whole interval, so the upper bound is tested, not just met. */
#define IDLE_SESSIONS 10u
#define IDLE_SPACING_MS 50u
/* How long the active session must stay open in all. */
#define ACTIVE_MS (2 * IDLE_T_MS + 500)

static void ping_every_tick(void *arg) {
  conn_send(arg, 16);
}

/* Each tick, the next idle session sends its one message. */
static void send_next_idle(void *arg) {
  load_t *l = arg;
  unsigned i;
  for (i = 0; i < IDLE_SESSIONS; i++) {
    if (l->conns[i].to_send == 0) {
      conn_send(&l->conns[i], 16);
      return;
    }
  }
}

static int idle_sessions_closed(const void *arg) {
  range_t r = range_of(arg, 0, IDLE_SESSIONS);
  return range_closed(&r);
}

/* --idle-timeout 1: an idle session is closed within what the sweep
 * promises (T..T + T/4 after its last activity, plus LOADED_ALLOWANCE_MS),
 * both as this process measures it and as the server logs it; one that
 * sends every 0.1 s stays open. */
static void test_idle_timeout(void **state) {
  const uint64_t low = IDLE_T_MS - EARLY_ALLOWANCE_MS;
  const uint64_t high = IDLE_T_MS + IDLE_SWEEP_MS + LOADED_ALLOWANCE_MS;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), idle, min_idle = UINT64_MAX, max_idle = 0;
  unsigned long idle_logged;
  const char *line;
  range_t all;
  load_t *l;
  conn_t *b;
  summary_t s;
  unsigned i;
  (void)state;

  l = load_new(start_quiet_server(srv, "--idle-timeout", IDLE_TIMEOUT),
               IDLE_SESSIONS + 1, 10);
  for (i = 0; i <= IDLE_SESSIONS; i++)
    l->conns[i].chunk_max = 16;
  b = &l->conns[IDLE_SESSIONS];
  b->to_send = 16;
  b->window = 64; /* counts round trips */
  load_connect(l, IDLE_SESSIONS + 1);
  all = range_of(l, 0, IDLE_SESSIONS + 1);
  assert_true(wait_for(range_echoed, &all, 5000));
  for (i = 0; i <= IDLE_SESSIONS; i++)
    expect_all_echoed(&l->conns[i]);
  ticker_start(&tickers[0], 100, ping_every_tick, b);
  ticker_start(&tickers[1], IDLE_SPACING_MS, send_next_idle, l);

  if (!wait_for(idle_sessions_closed, l,
                IDLE_SESSIONS * IDLE_SPACING_MS + high + 3000))
    fail_msg("idle sessions still open long after their timeout");
  for (i = 0; i < IDLE_SESSIONS; i++) {
    const conn_t *a = &l->conns[i];
    if (a->read_status != UV_EOF && a->read_status != UV_ECONNRESET)
      fail_msg("idle session %u ended with %s", i, err_name(a->read_status));
    if (a->received != 16 || a->bad_at != NO_ERROR_AT)
      fail_msg("idle session %u: %llu of 16 bytes echoed", i,
               (unsigned long long)a->received);
    idle = a->t_end - a->t_last_read;
    if (idle < min_idle)
      min_idle = idle;
    if (idle > max_idle)
      max_idle = idle;
    if (idle < low || idle > high)
      fail_msg("idle session %u closed %llu ms after its last echo, want "
               "%llu..%llu",
               i, (unsigned long long)idle, (unsigned long long)low,
               (unsigned long long)high);
  }
  print_message("  idle sessions closed %llu..%llu ms after their last "
                "echo (promised %u..%u, + %u allowed)\n",
                (unsigned long long)min_idle, (unsigned long long)max_idle,
                IDLE_T_MS, IDLE_T_MS + IDLE_SWEEP_MS, LOADED_ALLOWANCE_MS);
  /* b keeps going well past the timeout. */
  if (now_ms() < b->t_connected + ACTIVE_MS)
    wait_for(conn_done, b, b->t_connected + ACTIVE_MS - now_ms());
  if (b->closing)
    fail_msg("the active session was closed: %s after %llu ms",
             err_name(b->read_status),
             (unsigned long long)(b->t_end - b->t_connected));
  assert_true(now_ms() - b->t_connected >= ACTIVE_MS);
  assert_true(wait_for(conn_echoed, b, 2000));
  expect_all_echoed(b);
  assert_true(b->rt_count >= 10);

  /* The server's own measure of each, within the same bounds (it never
   * closes before T). */
  for (line = find_line_with(srv->err, NULL, "closing TCP session: idle", NULL);
       line != NULL; line = find_line_with(srv->err, strchr(line, '\n') + 1,
                                           "closing TCP session: idle", NULL)) {
    assert_true(
        number_after(line, "closing TCP session: idle for ", &idle_logged));
    if (idle_logged < IDLE_T_MS || idle_logged > high)
      fail_msg("the server logged an idle time of %lu ms, want %u..%llu",
               idle_logged, IDLE_T_MS, (unsigned long long)high);
  }
  assert_int_equal(count_of(srv->err, "closing TCP session: idle"),
                   IDLE_SESSIONS);
  tickers_stop();
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions closed idle", s.idle, IDLE_SESSIONS);
    expect_eq("errors (summary)", s.errors, 0);
  }
  report_time(start);
}

/* No memory for a session (calloc fails for the first 3, through the
 * fail_calloc shim): each of those connections is accepted and closed,
 * counted and logged, and the server goes on accepting; the next echo.
 * Left in libuv's hands instead, the first would stop the listener for
 * good on Unix. */
static void test_no_memory_for_a_session(void **state) {
#if defined(__linux__) && defined(TCPECHO_FAIL_CALLOC) &&                      \
    !defined(TCPECHO_SANITIZED)
  enum { FAILED = 3, SERVED = 3 };
  char script[512];
  proc_t *srv = new_server(0);
  unsigned i, echoed = 0, cut = 0;
  load_t *l;
  summary_t s;
  (void)state;

  /* A session is a uv_tcp_t and a few fields: no other calloc of the
   * server, after its start, is of that size. */
  snprintf(script, sizeof(script),
           "TCPECHO_FAIL_CALLOC_AFTER_MS=0 TCPECHO_FAIL_CALLOC_COUNT=%d "
           "TCPECHO_FAIL_CALLOC_MIN=%lu TCPECHO_FAIL_CALLOC_MAX=%lu "
           "LD_PRELOAD=%s exec \"$0\" \"$@\"",
           FAILED, (unsigned long)sizeof(uv_tcp_t),
           (unsigned long)sizeof(uv_tcp_t) + 32, TCPECHO_FAIL_CALLOC);
  l = load_new(start_server_sh(srv, script, NULL, 0), FAILED + SERVED, 31);
  for (i = 0; i < FAILED + SERVED; i++) {
    l->conns[i].to_send = 64;
    l->conns[i].chunk_max = 64;
  }
  /* One at a time: the first FAILED accepts are the ones without memory. */
  for (i = 0; i < FAILED + SERVED; i++) {
    load_connect(l, 1);
    if (!wait_for(conn_echoed, &l->conns[i], 5000))
      fail_msg("connection %u neither echoed nor closed within 5 s: the "
               "server stopped accepting",
               i + 1);
    if (l->conns[i].received == 64)
      echoed++;
    else if (l->conns[i].read_status != 0 || l->conns[i].closing)
      cut++;
  }
  if (cut != FAILED || echoed != SERVED)
    fail_msg("%u connections closed without an echo (want %d), %u echoed "
             "(want %d):\n%s",
             cut, FAILED, echoed, SERVED, srv->err);
  for (i = FAILED; i < FAILED + SERVED; i++)
    expect_all_echoed(&l->conns[i]);
  assert_int_equal(
      count_of(srv->err,
               "Error accepting TCP session: ENOMEM (not enough memory)"),
      FAILED);
  load_free();
  if (finish_server(srv, &s, NULL)) {
    expect_eq("sessions served", s.served, SERVED);
    expect_eq("errors (summary)", s.errors, FAILED);
  }
#else
  (void)state;
  print_message("  not checked: needs Linux and LD_PRELOAD of a calloc "
                "shim, which sanitizers' allocators do not allow\n");
#endif
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_emfile_recovery),
      SUITE_TEST(test_max_conns),
      SUITE_TEST(test_idle_timeout),
      SUITE_TEST(test_no_memory_for_a_session),
  };
  return suite_main(argc, argv, "limits", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
