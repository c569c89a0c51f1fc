/* The server on N loops (--server --threads N), end to end, each test for
 * N = 2 and 4 and for each way connections reach the loops: the
 * platform's own (on Linux one SO_REUSEPORT listener per loop) and, forced
 * with TCPECHO_SPREAD, Windows' (every loop accepts on one shared
 * listening socket) and macOS' (one loop hands connections to the others
 * in turn). 400 verifying connections echo and are spread evenly;
 * --max-conns is one limit for the whole process; a stop signal drains
 * every loop and a second one stops them all at once; the summary has a
 * line per loop and their sum.
 *
 * A Windows test program can only terminate its children, so there the
 * tests check what needs no stop signal; driven from Linux with
 * TCPECHO_TEST_WRAPPER=wine, a tcpecho.exe is stopped with SIGINT (wine's
 * Ctrl-C), every check included. */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPREAD_ENV "TCPECHO_SPREAD"

/* ---- The server ---------------------------------------------------------- */

typedef struct variant_s {
  unsigned threads;
  const char *spread; /* TCPECHO_SPREAD; NULL: the platform's choice */
} variant_t;

#define REUSEPORT_TEXT "(connections spread by the kernel: SO_REUSEPORT)"
#define SHARED_TEXT "(every loop accepts on one shared listening socket)"
#define HANDOFF_TEXT "(one listener hands connections to the loops in turn)"

/* Whether the server under test is a Windows program: built for Windows,
 * or a .exe run from here under wine. */
static int windows_server(void) {
#ifdef _WIN32
  return 1;
#else
  const char *path = suite_tcpecho();
  size_t n = strlen(path);
  return n >= 4 && strcmp(path + n - 4, ".exe") == 0;
#endif
}

/* How the start line must say connections reach the loops; NULL where
 * the platform's choice is not known here. */
static const char *spread_text(const char *spread) {
  if (spread != NULL && strcmp(spread, "shared") == 0)
    return SHARED_TEXT;
  if (spread != NULL && strcmp(spread, "handoff") == 0)
    return HANDOFF_TEXT;
  if (windows_server())
    return SHARED_TEXT;
#if defined(__linux__)
  return REUSEPORT_TEXT;
#elif defined(__APPLE__)
  return HANDOFF_TEXT;
#else
  return NULL;
#endif
}

/* The signal that drains the server here, 0 if none does (a Windows test
 * program); SIGINT for a Windows server driven from Linux under wine. */
static int stop_signal(void) {
  if (proc_signal_graceful(SIGTERM))
    return SIGTERM;
  if (proc_signal_graceful(SIGINT))
    return SIGINT;
  return 0;
}

static const char *signal_name(int signum) {
  return signum == SIGTERM ? "SIGTERM" : "SIGINT";
}

/* tcpecho --server --host 127.0.0.1 --port 0 --quiet --threads N
 * [extra0 extra1], with the variant's TCPECHO_SPREAD; checks the start
 * line and returns the port. */
static int start_threaded(proc_t *p, const variant_t *v, const char *extra0,
                          const char *extra1) {
  char threads[16], want[64];
  const char *extra[] = {"--quiet", "--threads", threads, extra0, extra1, NULL};
  const char *how = spread_text(v->spread);
  int port;

  snprintf(threads, sizeof(threads), "%u", v->threads);
  if (v->spread != NULL)
    assert_int_equal(uv_os_setenv(SPREAD_ENV, v->spread), 0);
  else
    (void)uv_os_unsetenv(SPREAD_ENV);
  port = start_server(p, "127.0.0.1", extra);
  snprintf(want, sizeof(want), " with %u threads ", v->threads);
  if (!has_line_with(p->err, "listening on 127.0.0.1:", want))
    fail_msg("no '%s' in the start line:\n%s", want, p->err);
  if (how != NULL && !has_line_with(p->err, want, how))
    fail_msg("%s=%s: the start line should say %s:\n%s", SPREAD_ENV,
             v->spread ? v->spread : "(unset)", how, p->err);
  return port;
}

/* The per-loop summaries: exactly one line for each of the N loops, and
 * together the total (peaks aside: the total's is the process's). */
static void expect_loop_summaries(const char *log, unsigned n,
                                  const summary_t *total, summary_t *loops) {
  summary_t sum;
  unsigned k;

  assert_true(n <= 4); /* the callers' arrays */
  if (count_loop_summaries(log) != n)
    fail_msg("%lu per-loop summary lines, want %u:\n%s",
             (unsigned long)count_loop_summaries(log), n, log);
  memset(&sum, 0, sizeof(sum));
  for (k = 1; k <= n; k++) {
    summary_t *s = &loops[k - 1];
    if (!parse_loop_summary(log, k, s))
      fail_msg("no summary line for loop %u:\n%s", k, log);
    print_message("  loop %u: served %llu, echoed %llu, peak %llu, rejected "
                  "%llu\n",
                  k, s->served, s->echoed, s->peak, s->rejected);
    if (s->peak > s->served)
      fail_msg("loop %u: peak %llu above the %llu sessions it served", k,
               s->peak, s->served);
    sum.served += s->served;
    sum.echoed += s->echoed;
    sum.peak += s->peak;
    sum.rejected += s->rejected;
    sum.dropped += s->dropped;
    sum.idle += s->idle;
    sum.errors += s->errors;
  }
  expect_eq("sessions served, summed over the loops", sum.served,
            total->served);
  expect_eq("bytes echoed, summed over the loops", sum.echoed, total->echoed);
  expect_eq("sessions rejected, summed over the loops", sum.rejected,
            total->rejected);
  expect_eq("sessions dropped, summed over the loops", sum.dropped,
            total->dropped);
  expect_eq("sessions closed idle, summed over the loops", sum.idle,
            total->idle);
  expect_eq("errors, summed over the loops", sum.errors, total->errors);
  if (total->peak > sum.peak)
    fail_msg("peak %llu for the process, above the %llu of the loops summed",
             total->peak, sum.peak);
}

/* Stops the server with the first signal and checks a clean exit with the
 * summary; returns 0 (s untouched) where no signal drains it. */
static int finish_threaded(proc_t *p, summary_t *s) {
  int sig = stop_signal();
  if (sig == 0) {
    stop(p, SIGTERM); /* terminated: nothing to read */
    run_until(is_finished, p, NULL, PROC_TIMEOUT_MS);
    print_message("  (the summary is not checked: no stop signal reaches "
                  "this server's handler)\n");
    return 0;
  }
  stop(p, sig);
  wait_exit(p, 0);
  if (!parse_summary(p->err, s))
    fail_msg("no summary line in the log:\n%s", p->err);
  print_summary(s);
  return 1;
}

static int threads_teardown(void **state) {
  (void)uv_os_unsetenv(SPREAD_ENV);
  return suite_teardown(state);
}

/* ---- The summary parser, on its own -------------------------------------- */

/* The log parsers of test/support find the total after per-loop lines,
 * and each loop's figures, so the checks below read what they mean to. */
static void test_summary_parser(void **state) {
  static const char *log =
      "2024/01/02 03:04:05 listening on 127.0.0.1:1 with 2 threads (x)\n"
      "2024/01/02 03:04:06 loop 1: served 3 sessions, echoed 30 bytes, peak "
      "2 concurrent sessions, 1 rejected, 0 dropped (no free descriptor), 0 "
      "closed idle, 0 errors\n"
      "2024/01/02 03:04:06 loop 2: served 1 session, echoed 7 bytes, peak 1 "
      "concurrent sessions, 2 rejected, 0 dropped (no free descriptor), 4 "
      "closed idle, 5 errors\n"
      "2024/01/02 03:04:06 served 4 sessions, echoed 37 bytes, peak 3 "
      "concurrent sessions, 3 rejected, 0 dropped (no free descriptor), 4 "
      "closed idle, 5 errors\n";
  static const char *one_loop =
      "2024/01/02 03:04:06 served 1 session, echoed 13 bytes, peak 1 "
      "concurrent sessions, 0 rejected, 6 dropped (no free descriptor), 0 "
      "closed idle, 0 errors\n";
  static const char *loop_only =
      "2024/01/02 03:04:06 loop 1: served 3 sessions, echoed 30 bytes, peak "
      "2 concurrent sessions, 1 rejected, 0 dropped (no free descriptor), 0 "
      "closed idle, 0 errors\n";
  summary_t s, none, loops[2];
  (void)state;

  memset(&s, 0, sizeof(s));
  assert_true(parse_summary(log, &s));
  expect_eq("total served", s.served, 4);
  expect_eq("total echoed", s.echoed, 37);
  expect_eq("total peak", s.peak, 3);
  expect_eq("total rejected", s.rejected, 3);
  expect_eq("total idle", s.idle, 4);
  expect_eq("total errors", s.errors, 5);
  assert_int_equal(count_loop_summaries(log), 2);
  assert_true(parse_loop_summary(log, 1, &loops[0]));
  assert_true(parse_loop_summary(log, 2, &loops[1]));
  assert_false(parse_loop_summary(log, 3, &none));
  expect_eq("loop 1 served", loops[0].served, 3);
  expect_eq("loop 1 echoed", loops[0].echoed, 30);
  expect_eq("loop 2 served", loops[1].served, 1);
  expect_eq("loop 2 rejected", loops[1].rejected, 2);
  expect_eq("loop 2 errors", loops[1].errors, 5);
  expect_loop_summaries(log, 2, &s, loops);

  /* One loop: the line as it always was, and no per-loop lines. */
  assert_true(parse_summary(one_loop, &s));
  expect_eq("served", s.served, 1);
  expect_eq("echoed", s.echoed, 13);
  expect_eq("dropped", s.dropped, 6);
  assert_int_equal(count_loop_summaries(one_loop), 0);
  assert_false(parse_loop_summary(one_loop, 1, &none));
  /* Per-loop lines alone are not a total. */
  assert_false(parse_summary(loop_only, &none));
  assert_int_equal(count_loop_summaries(loop_only), 1);
}

/* ---- 400 verifying connections ------------------------------------------- */

#define SPREAD_CONNS 400u

/* Whether the variant's spread promises each loop its share: the
 * platform's own choice and the handoff in turn do; one listening socket
 * shared by the loops does where waiting accepts are served in turn
 * (Windows), not where every loop wakes for a connection and the first to
 * run takes all that wait (epoll, kqueue). */
static int balance_promised(const variant_t *v) {
  if (v->spread != NULL && strcmp(v->spread, "shared") == 0)
    return windows_server();
  return 1;
}

/* 400 connections at once, each sending its own 2..8 KiB in writes of 1 B
 * to 4 KiB: every byte comes back while all 400 are open, each gets its
 * EOF after its half-close. The summary: 400 served, a peak of 400, one
 * line per loop adding up to it, each loop within 0.5x..1.5x of 400 / N
 * where the spread promises balance. */
static void echo_400(const variant_t *v) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), sent = 0;
  summary_t s, loops[4];
  range_t all;
  load_t *l;
  unsigned i;

#ifndef _WIN32
  if (!raise_fd_limit(SPREAD_CONNS + 64))
    fail_msg("cannot raise RLIMIT_NOFILE to %u", SPREAD_CONNS + 64);
#endif
  l = load_new(start_threaded(srv, v, NULL, NULL), SPREAD_CONNS,
               100 + v->threads);
  for (i = 0; i < SPREAD_CONNS; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = 2 * KiB + conn_random(c) % (6 * KiB);
    c->chunk_max = 4 * KiB;
    sent += c->to_send;
  }
  load_connect(l, SPREAD_CONNS);
  all = range_of(l, 0, SPREAD_CONNS);
  if (!wait_for(range_echoed, &all, 30000))
    fail_msg("%u of %u connections echoed within 30 s", range_answered(&all),
             SPREAD_CONNS);
  /* All echoed while all are open: 400 sessions at once. */
  for (i = 0; i < SPREAD_CONNS; i++)
    expect_all_echoed(&l->conns[i]);
  expect_running(srv);
  for (i = 0; i < SPREAD_CONNS; i++)
    conn_finish(&l->conns[i]);
  if (!wait_for(range_closed, &all, 20000))
    fail_msg("%u of %u connections got their EOF", l->closed_count,
             SPREAD_CONNS);
  for (i = 0; i < SPREAD_CONNS; i++)
    expect_echo_then_eof(&l->conns[i], l->conns[i].to_send);
  load_free();
  if (finish_threaded(srv, &s)) {
    expect_eq("sessions served", s.served, SPREAD_CONNS);
    expect_eq("bytes echoed", s.echoed, sent);
    expect_eq("peak concurrent sessions (all 400 were open at once)", s.peak,
              SPREAD_CONNS);
    expect_eq("sessions rejected", s.rejected, 0);
    expect_eq("errors", s.errors, 0);
    expect_loop_summaries(srv->err, v->threads, &s, loops);
    if (!balance_promised(v)) {
      print_message("  (the balance is not checked: one shared listening "
                    "socket balances only where accepts are served in turn, "
                    "as on Windows)\n");
      report_time(start);
      return;
    }
    for (i = 0; i < v->threads; i++) {
      /* Within 0.5x..1.5x of the mean 400 / N, in whole numbers. */
      unsigned long long scaled = 2 * loops[i].served * v->threads;
      if (scaled < SPREAD_CONNS || scaled > 3 * SPREAD_CONNS)
        fail_msg("loop %u served %llu of %u sessions, want %u..%u (0.5x to "
                 "1.5x of the mean)",
                 i + 1, loops[i].served, SPREAD_CONNS,
                 (SPREAD_CONNS + 2 * v->threads - 1) / (2 * v->threads),
                 3 * SPREAD_CONNS / (2 * v->threads));
    }
  }
  report_time(start);
}

/* ---- --max-conns for the whole process ----------------------------------- */

#define MAX_CONNS 10u
#define MAX_CONNS_TRIED 30u

/* --max-conns 10 with 4 loops, 30 connections at once, all held open:
 * exactly 10 are served and keep echoing, 20 are closed at once without
 * an echo; the summary says 10 served and 20 rejected. */
static void max_conns(const variant_t *v) {
  proc_t *srv = new_server(0);
  uint64_t start = now_ms();
  unsigned i, served = 0, rejected = 0;
  summary_t s, loops[4];
  range_t all;
  load_t *l;

  l = load_new(start_threaded(srv, v, "--max-conns", "10"), MAX_CONNS_TRIED,
               200);
  for (i = 0; i < MAX_CONNS_TRIED; i++) {
    l->conns[i].to_send = 32;
    l->conns[i].chunk_max = 32;
  }
  load_connect(l, MAX_CONNS_TRIED);
  all = range_of(l, 0, MAX_CONNS_TRIED);
  if (!wait_for(range_echoed, &all, 10000))
    fail_msg("%u of %u connections got an echo or were closed within 10 s",
             range_answered(&all), MAX_CONNS_TRIED);
  /* Late closes would show up here. */
  pause_ms(300);
  for (i = 0; i < MAX_CONNS_TRIED; i++) {
    const conn_t *c = &l->conns[i];
    if (c->connect_status != 0 || c->bad_at != NO_ERROR_AT)
      fail_msg("connection %u: connect %s, first bad byte at %lld", i,
               err_name(c->connect_status),
               c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
    if (!c->closing && c->received == 32) {
      served++;
    } else if (c->received == 0 &&
               (c->read_status == UV_EOF || c->read_status == UV_ECONNRESET)) {
      rejected++;
      if (c->t_end - c->t_connected > 2000)
        fail_msg("connection %u closed only %llu ms after it connected", i,
                 (unsigned long long)(c->t_end - c->t_connected));
    } else {
      fail_msg("connection %u: %llu bytes echoed, read %s, closed %d", i,
               (unsigned long long)c->received, err_name(c->read_status),
               c->closing);
    }
  }
  print_message("  of %u connections %u were served, %u closed unserved\n",
                MAX_CONNS_TRIED, served, rejected);
  expect_eq("connections served (--max-conns 10)", served, MAX_CONNS);
  expect_eq("connections closed without an echo", rejected,
            MAX_CONNS_TRIED - MAX_CONNS);
  /* The ten keep echoing. */
  for (i = 0; i < MAX_CONNS_TRIED; i++) {
    if (!l->conns[i].closing)
      conn_send(&l->conns[i], 1000);
  }
  if (!wait_for(range_echoed, &all, 10000))
    fail_msg("the sessions within --max-conns stopped echoing");
  for (i = 0; i < MAX_CONNS_TRIED; i++) {
    if (!l->conns[i].closing)
      expect_all_echoed(&l->conns[i]);
  }
  /* Stopped with the ten open: they are drained (EOF), not cut. */
  if (finish_threaded(srv, &s)) {
    expect_eq("sessions served", s.served, MAX_CONNS);
    expect_eq("sessions rejected", s.rejected, MAX_CONNS_TRIED - MAX_CONNS);
    expect_eq("peak concurrent sessions", s.peak, MAX_CONNS);
    expect_eq("errors", s.errors, 0);
    expect_loop_summaries(srv->err, v->threads, &s, loops);
    if (!wait_for(range_closed, &all, 5000))
      fail_msg("%u of %u connections closed after the server exited",
               l->closed_count, MAX_CONNS_TRIED);
    for (i = 0; i < MAX_CONNS_TRIED; i++) {
      const conn_t *c = &l->conns[i];
      if (c->to_send == 32 + 1000) /* one of the ten */
        expect_echo_then_eof(c, 32 + 1000);
    }
  }
  load_free();
  report_time(start);
}

/* ---- A stop signal under load -------------------------------------------- */

#define STREAMING_CONNS 24u

/* Every connection got 128 KiB of echoes, or one ended. */
static int load_received_each(const void *arg) {
  const load_t *l = arg;
  unsigned i, ready = 0;
  for (i = 0; i < l->count; i++) {
    if (l->conns[i].closing)
      return 1;
    ready += (unsigned)(l->conns[i].received >= 128 * KiB);
  }
  return ready == l->count;
}

/* 24 clients streaming without end get the stop signal: it names all 24
 * sessions of the process; each client gets back an exact prefix of what
 * it sent, then EOF; the server exits 0 well within --drain-timeout with
 * 24 served, and what it counts as echoed is what the clients got. */
static void signal_under_load(const variant_t *v) {
  const int sig = stop_signal();
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), t_sig, got = 0;
  summary_t s, loops[4];
  char want[96];
  load_t *l;
  unsigned i;

  if (sig == 0) {
    print_message("skipped: draining needs a stop signal that reaches the "
                  "server's handler\n");
    skip();
  }
  l = load_new(start_threaded(srv, v, "--drain-timeout", "10"), STREAMING_CONNS,
               300 + v->threads);
  for (i = 0; i < STREAMING_CONNS; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = 1ull << 40; /* until the end */
    c->depth = 4;
    c->window = 256 * KiB;
  }
  load_connect(l, STREAMING_CONNS);
  if (!wait_for(load_received_each, l, 30000))
    fail_msg("not every connection got 128 KiB of echoes");
  for (i = 0; i < STREAMING_CONNS; i++)
    expect_healthy(&l->conns[i]);
  stop(srv, sig);
  uv_update_time(suite_loop());
  t_sig = uv_now(suite_loop());
  snprintf(want, sizeof(want), "shutting down on %s: closing %u TCP sessions",
           signal_name(sig), STREAMING_CONNS);
  wait_line(srv, want, "(drain timeout 10 s)", 5000);
  if (!wait_for(load_all_closed, l, 10000))
    fail_msg("%u of %u connections got their EOF", l->closed_count,
             STREAMING_CONNS);
  if (!run_until(is_finished, srv, NULL, 10000))
    fail_msg("server still running 10 s after %s:\n%s", signal_name(sig),
             srv->err);
  wait_exit(srv, 0);
  print_message("  server exited %llu ms after %s\n",
                (unsigned long long)(srv->exited_ms - t_sig), signal_name(sig));
  if (srv->exited_ms - t_sig > 5000 || strstr(srv->err, "drain timeout:"))
    fail_msg("exit took %llu ms (every client reads its echoes, so the drain "
             "should not wait for its timeout):\n%s",
             (unsigned long long)(srv->exited_ms - t_sig), srv->err);
  got = expect_prefix_then_eof(l, STREAMING_CONNS, 128 * KiB);
  if (!parse_summary(srv->err, &s))
    fail_msg("no summary line:\n%s", srv->err);
  print_summary(&s);
  expect_eq("sessions served", s.served, STREAMING_CONNS);
  expect_eq("errors", s.errors, 0);
  /* Whatever it took on it delivered, whichever loop it was on. */
  if (s.echoed != got)
    fail_msg("the server counted %llu bytes echoed, the clients got %llu",
             s.echoed, (unsigned long long)got);
  expect_loop_summaries(srv->err, v->threads, &s, loops);
  load_free();
  report_time(start);
}

/* ---- A second signal ---------------------------------------------------- */

#define UNREAD_PER_LOOP 3u

/* Clients that never read (3 per loop) fill their server sessions up to
 * the point where the server stops reading, so no drain can finish
 * (--drain-timeout 60). The first signal drains and names them all; the
 * second closes them all now: the server exits 0 within 2 s with its
 * summary. */
static void second_signal(const variant_t *v) {
  const int sig = stop_signal();
  const unsigned n = UNREAD_PER_LOOP * v->threads;
  proc_t *srv = new_server(0);
  uint64_t start = now_ms(), t2;
  summary_t s, loops[4];
  char want[96];
  load_t *l;
  unsigned i;

  if (sig == 0) {
    print_message("skipped: a second stop signal needs one that reaches the "
                  "server's handler\n");
    skip();
  }
  l = load_new(start_threaded(srv, v, "--drain-timeout", "60"), n,
               400 + v->threads);
  for (i = 0; i < n; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = 256 * MiB;
    c->chunk_min = c->chunk_max = 64 * KiB;
    c->depth = 4;
    c->read_on_connect = 0;
  }
  load_connect(l, n);
  conn_stall_ms = 300;
  for (i = 0; i < n; i++) {
    conn_t *c = &l->conns[i];
    if (!wait_for(conn_stalled, c, 30000) || c->closed ||
        c->written == c->to_send)
      fail_msg("unread connection %u did not stall (closed %d, %llu bytes "
               "written)",
               i, c->closed, (unsigned long long)c->written);
  }
  stop(srv, sig);
  snprintf(want, sizeof(want), "shutting down on %s: closing %u TCP sessions",
           signal_name(sig), n);
  wait_line(srv, want, "(drain timeout 60 s)", 5000);
  pause_ms(500);
  expect_running(srv); /* still draining */
  stop(srv, sig);
  uv_update_time(suite_loop());
  t2 = uv_now(suite_loop());
  if (!run_until(is_finished, srv, NULL, 10000))
    fail_msg("server still running 10 s after the second %s:\n%s",
             signal_name(sig), srv->err);
  wait_exit(srv, 0);
  print_message("  exited %llu ms after the second %s\n",
                (unsigned long long)(srv->exited_ms - t2), signal_name(sig));
  if (srv->exited_ms - t2 > 2000)
    fail_msg("the server took %llu ms to stop after the second %s, want at "
             "most 2000",
             (unsigned long long)(srv->exited_ms - t2), signal_name(sig));
  snprintf(want, sizeof(want), "second %s: closing %u TCP sessions now",
           signal_name(sig), n);
  wait_line(srv, want, NULL, 1000);
  if (strstr(srv->err, "drain timeout:"))
    fail_msg("the drain timed out before the second signal:\n%s", srv->err);
  if (!parse_summary(srv->err, &s))
    fail_msg("no summary line:\n%s", srv->err);
  print_summary(&s);
  expect_eq("sessions served", s.served, n);
  expect_loop_summaries(srv->err, v->threads, &s, loops);
  for (i = 0; i < v->threads; i++) {
    if (loops[i].served == 0)
      print_message("  (loop %u had none of the unread sessions)\n", i + 1);
  }
  load_free();
  report_time(start);
}

/* ---- A port in use --------------------------------------------------------
 */

/* A port a server listens on stays taken for a second one, whatever the
 * loops of either: SO_REUSEPORT must not let a second tcpecho join the
 * first's group and take a share of its connections. */
static void port_taken(unsigned first, unsigned second) {
  proc_t *a = new_server(0), *b = new_server(1);
  char threads_a[16], threads_b[16], port_s[16], want[96];
  const char *extra[] = {"--threads", threads_a, NULL};
  const char *args[] = {"-s",   "-H", "127.0.0.1", "-p",
                        port_s, "-T", threads_b,   NULL};
  const char *lines[] = {want, NULL};

  (void)uv_os_unsetenv(SPREAD_ENV);
  snprintf(threads_a, sizeof(threads_a), "%u", first);
  snprintf(threads_b, sizeof(threads_b), "%u", second);
  snprintf(port_s, sizeof(port_s), "%d", start_server(a, "127.0.0.1", extra));
  proc_start(b, args);
  wait_exit(b, 1);
  snprintf(want, sizeof(want),
           "listen tcp 127.0.0.1:%s: EADDRINUSE (address already in use)",
           port_s);
  assert_log(b->err, lines);
  expect_running(a);
}

static void test_port_taken_1_then_2(void **state) {
  (void)state;
  port_taken(1, 2);
}

static void test_port_taken_2_then_2(void **state) {
  (void)state;
  port_taken(2, 2);
}

static void test_port_taken_2_then_1(void **state) {
  (void)state;
  port_taken(2, 1);
}

/* ---- --stats ---------------------------------------------------------------
 */

/* The first total line with all 8 sessions open, once both loops' lines
 * of that interval follow it. */
static const char *stats_with_8(const char *log) {
  const char *total = strstr(log, " stats: 8 sessions open, ");
  const char *one = total ? strstr(total, "loop 1: stats: ") : NULL;
  return one && strstr(one, "loop 2: stats: ") &&
                 strchr(strstr(one, "loop 2: stats: "), '\n')
             ? total
             : NULL;
}

static int stats_with_8_seen(proc_t *p, const void *unused) {
  (void)unused;
  return stats_with_8(p->err) != NULL || is_finished(p, NULL);
}

/* --stats with 2 loops: one total line an interval, and with --verbose a
 * line per loop after it; the total's "accepted" is the sum of the
 * loops'. */
static void test_stats_total_and_per_loop(void **state) {
  proc_t *srv = new_server(0);
  const char *extra[] = {"-q",  "--threads", "2", "--stats",
                         "0.2", "--verbose", NULL};
  const char *line;
  unsigned long total = 0, one = 0, two = 0;
  (void)state;

  (void)uv_os_unsetenv(SPREAD_ENV);
  load_connect(load_new(start_server(srv, "127.0.0.1", extra), 8, 200), 8);
  if (!run_until(stats_with_8_seen, srv, NULL, PROC_TIMEOUT_MS) ||
      (line = stats_with_8(srv->err)) == NULL)
    fail_msg("no stats line with 8 sessions and both loops':\n%s", srv->err);
  assert_int_equal(
      sscanf(line, " stats: 8 sessions open, %lu accepted", &total), 1);
  line = strstr(line, "loop 1: stats: ");
  assert_int_equal(
      sscanf(line, "loop 1: stats: %*u sessions open, %lu accepted", &one), 1);
  line = strstr(line, "loop 2: stats: ");
  assert_int_equal(
      sscanf(line, "loop 2: stats: %*u sessions open, %lu accepted", &two), 1);
  assert_int_equal(total, 8);
  assert_int_equal(one + two, total);
  load_free();
}

/* ---- The variants ------------------------------------------------------- */

/* test_FN_N: N loops, spread the platform's way; test_FN_N_HOW: spread
 * with TCPECHO_SPREAD=HOW. */
#define VARIANT(fn, n, how)                                                    \
  static void test_##fn##_##n##_##how(void **state) {                          \
    static const variant_t v = {n, #how};                                      \
    (void)state;                                                               \
    fn(&v);                                                                    \
  }
#define DEFAULT_VARIANT(fn, n)                                                 \
  static void test_##fn##_##n(void **state) {                                  \
    static const variant_t v = {n, NULL};                                      \
    (void)state;                                                               \
    fn(&v);                                                                    \
  }
#define ALL_VARIANTS(fn)                                                       \
  DEFAULT_VARIANT(fn, 2)                                                       \
  DEFAULT_VARIANT(fn, 4)                                                       \
  VARIANT(fn, 2, shared)                                                       \
  VARIANT(fn, 4, shared)                                                       \
  VARIANT(fn, 2, handoff)                                                      \
  VARIANT(fn, 4, handoff)

ALL_VARIANTS(echo_400)
DEFAULT_VARIANT(max_conns, 4)
VARIANT(max_conns, 4, shared)
VARIANT(max_conns, 4, handoff)
ALL_VARIANTS(signal_under_load)
ALL_VARIANTS(second_signal)

#define THREADS_TEST(f)                                                        \
  { cmocka_unit_test_teardown(f, threads_teardown), 0 }
#define THREADS_TESTS(fn)                                                      \
  THREADS_TEST(test_##fn##_2), THREADS_TEST(test_##fn##_4),                    \
      THREADS_TEST(test_##fn##_2_shared), THREADS_TEST(test_##fn##_4_shared),  \
      THREADS_TEST(test_##fn##_2_handoff), THREADS_TEST(test_##fn##_4_handoff)

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      THREADS_TEST(test_summary_parser),
      THREADS_TEST(test_port_taken_1_then_2),
      THREADS_TEST(test_port_taken_2_then_2),
      THREADS_TEST(test_port_taken_2_then_1),
      THREADS_TEST(test_stats_total_and_per_loop),
      THREADS_TESTS(echo_400),
      THREADS_TEST(test_max_conns_4),
      THREADS_TEST(test_max_conns_4_shared),
      THREADS_TEST(test_max_conns_4_handoff),
      THREADS_TESTS(signal_under_load),
      THREADS_TESTS(second_signal),
  };
  return suite_main(argc, argv, "threads", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
