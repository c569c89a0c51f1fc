/* Ping over UDP end to end: against tcpecho --server --udp every datagram
 * comes back, the largest of each family too; against a UDP server that
 * drops every third datagram, duplicates one, delays one past --timeout
 * and swaps two, the summary says exactly that; a changed byte is
 * corrupted (exit status 1), a silent server is all loss; --forever ends
 * on SIGINT with the summary.
 * Usage: test_udp_ping TCPECHO [fast | all | TEST...] */
#include "fake_udp_server.h"
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The summary's counts line, every figure of it. */
typedef struct ping_summary_s {
  unsigned long long sent, received, duplicates, reordered, corrupted, late;
  double loss;
} ping_summary_t;

static void parse_ping(const char *out, ping_summary_t *s) {
  const char *at = strstr(out, " tcpecho UDP ping statistics ---\n");
  if (at == NULL || (at = strchr(at, '\n')) == NULL ||
      sscanf(at + 1,
             "%llu sent, %llu received, %lf%% loss, %llu duplicates, %llu "
             "reordered, %llu corrupted, %llu late, time ",
             &s->sent, &s->received, &s->loss, &s->duplicates, &s->reordered,
             &s->corrupted, &s->late) != 7)
    fail_msg("no UDP ping summary in:\n%s", out);
}

static void expect_out(const proc_t *p, const char *needle) {
  if (strstr(p->out, needle) == NULL)
    fail_msg("no '%s' in the output:\n%s", needle, p->out);
}

/* tcpecho --client --udp -H host -p port [extra...]; waits for its exit
 * with want_status. */
static void run_ping(proc_t *p, const char *host, int port, const char **extra,
                     int want_status) {
  const char *args[24] = {"--client", "--udp", "--host", host, "--port"};
  char port_s[16];
  int i;

  snprintf(port_s, sizeof(port_s), "%d", port);
  args[5] = port_s;
  for (i = 0; extra[i] != NULL; i++)
    args[6 + i] = extra[i];
  proc_start(p, args);
  wait_exit(p, want_status);
}

/* Against the real server, over IPv4 and IPv6, with the largest datagram
 * of each: every echo back, nothing else; the server counts them all. */
static void test_against_server(void **state) {
  const char *extra[] = {"--quiet", "--udp", NULL};
  const char *small[] = {"-n", "50", "-i", "0.002", NULL};
  const char *big4[] = {"-n", "3", "-i", "0", "-S", "65507", NULL};
  const char *big6[] = {"-n", "3", "-i", "0", "-S", "65527", NULL};
  const char *too_big[] = {"-n", "3", "-S", "65508", NULL};
  proc_t *srv = new_server(0);
  proc_t *ping = malloc(sizeof(*ping));
  int port = start_server(srv, "::", extra);
  ping_summary_t s;
  summary_t tcp;
  (void)state;

  assert_non_null(ping);
  wait_line(srv, "serving UDP on ", NULL, 5000);
  run_ping(ping, "127.0.0.1", port, small, 0);
  expect_out(ping, " over UDP: 64 data bytes, from port ");
  expect_out(ping, "64 bytes from 127.0.0.1:");
  expect_out(ping, ": seq=50 time=");
  parse_ping(ping->out, &s);
  expect_eq("sent", s.sent, 50);
  expect_eq("received", s.received, 50);
  expect_eq("duplicates + reordered + corrupted + late",
            s.duplicates + s.reordered + s.corrupted + s.late, 0);
  expect_out(ping, "rtt min/avg/max/mdev = ");
  if (strstr(ping->out, "(duplicate)") || strstr(ping->out, "no echo"))
    fail_msg("not a clean run:\n%s", ping->out);

  run_ping(ping, "127.0.0.1", port, big4, 0);
  expect_out(ping, "65507 bytes from 127.0.0.1:");
  expect_out(ping, "3 sent, 3 received, 0.0% loss, 0 duplicates, 0 "
                   "reordered, 0 corrupted, 0 late");
  run_ping(ping, "::1", port, big6, 0);
  expect_out(ping, "65527 bytes from [::1]:");
  expect_out(ping, "3 sent, 3 received, 0.0% loss");
  /* Too large for IPv4: said before anything is sent. */
  run_ping(ping, "127.0.0.1", port, too_big, 1);
  if (!has_line_with(ping->err,
                     "ping: --size 65508 does not fit in a UDP "
                     "datagram to 127.0.0.1:",
                     " (at most 65507 bytes)"))
    fail_msg("no line about the size:\n%s", ping->err);
  if (strstr(ping->out, "statistics") != NULL)
    fail_msg("a summary of nothing sent:\n%s", ping->out);
  free(ping);
  if (!finish_server(srv, &tcp, NULL))
    return;
  if (!has_line_with(srv->err, "UDP: 56 datagrams in (", NULL) ||
      !has_line_with(srv->err, " 56 echoed (", NULL))
    fail_msg("the server should have echoed 56 datagrams:\n%s", srv->err);
}

/* The brief's fault list, each counted exactly: 30 datagrams 0.1 s apart
 * with a 1 s timeout; the 3rd, 6th, ... 30th dropped (10), the 4th
 * echoed twice, the 7th echoed 2 s late (lost, then late), the 10th
 * echoed just after the 11th (reordered). */
static void test_faults_counted(void **state) {
  const char *args[] = {"-n", "30", "-i", "0.1", "-W", "1", NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *ping = malloc(sizeof(*ping));
  ping_summary_t s;
  int i;
  (void)state;

  assert_non_null(f);
  assert_non_null(ping);
  f->drop_every = 3;
  f->duplicate = 4;
  f->delay = 7;
  f->delay_ms = 2000;
  f->reorder = 10;
  fake_udp_server_start(f, suite_loop(), "127.0.0.1");
  run_ping(ping, "127.0.0.1", f->port, args, 0);
  parse_ping(ping->out, &s);
  print_message("  %llu sent, %llu received, %.1f%% loss, %llu duplicates, "
                "%llu reordered, %llu corrupted, %llu late\n",
                s.sent, s.received, s.loss, s.duplicates, s.reordered,
                s.corrupted, s.late);
  expect_eq("the fake server's datagrams", f->received, 30);
  expect_eq("sent", s.sent, 30);
  expect_eq("received", s.received, 19);
  expect_eq("loss, in tenths of a percent",
            (unsigned long long)(s.loss * 10 + 0.5), 367);
  expect_eq("duplicates", s.duplicates, 1);
  expect_eq("reordered", s.reordered, 1);
  expect_eq("corrupted", s.corrupted, 0);
  expect_eq("late", s.late, 1);
  for (i = 3; i <= 30; i += 3) {
    char line[64];
    snprintf(line, sizeof(line), "\nseq=%d: no echo within 1 s\n", i);
    expect_out(ping, line);
  }
  expect_out(ping, "\nseq=7: no echo within 1 s\n");
  if (count_of(ping->out, ": seq=4 time=") != 2 ||
      !has_line_with(ping->out, ": seq=4 time=", " ms (duplicate)"))
    fail_msg("seq 4 should be there twice, once as a duplicate:\n%s",
             ping->out);
  if (!has_line_with(ping->out, ": seq=10 time=", " ms (reordered)"))
    fail_msg("seq 10 should be reordered:\n%s", ping->out);
  if (!has_line_with(ping->out, ": seq=7 time=", " ms (late: counted lost)"))
    fail_msg("seq 7 should be late:\n%s", ping->out);
  /* Its source port is an ephemeral one, which echo servers answer. */
  if (f->min_source_port < 1024)
    fail_msg("ping sent from port %d", f->min_source_port);
  free(ping);
  fake_udp_server_stop(f);
  free(f);
}

/* A changed byte: counted corrupted, not received; exit status 1 though
 * the other echoes came back. */
static void test_corrupted(void **state) {
  const char *args[] = {"-n", "4", "-i", "0", "-S", "100", "-W", "1", NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *ping = malloc(sizeof(*ping));
  ping_summary_t s;
  (void)state;

  assert_non_null(f);
  assert_non_null(ping);
  f->corrupt = 2;
  fake_udp_server_start(f, suite_loop(), "::1");
  run_ping(ping, "::1", f->port, args, 1);
  parse_ping(ping->out, &s);
  expect_eq("sent", s.sent, 4);
  expect_eq("received", s.received, 3);
  expect_eq("corrupted", s.corrupted, 1);
  expect_eq("late", s.late, 0);
  expect_out(ping, "\nseq=2: echo differs from what was sent at byte 40\n");
  expect_out(ping, "\nseq=2: no echo within 1 s\n");
  free(ping);
  fake_udp_server_stop(f);
  free(f);
}

/* Nothing comes back: all lost, no rtt line, exit status 1. */
static void test_silent(void **state) {
  const char *args[] = {"-n", "3", "-i", "0.05", "-W", "0.3", NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *ping = malloc(sizeof(*ping));
  (void)state;

  assert_non_null(f);
  assert_non_null(ping);
  f->silent = 1;
  fake_udp_server_start(f, suite_loop(), "127.0.0.1");
  run_ping(ping, "127.0.0.1", f->port, args, 1);
  expect_out(ping, "3 sent, 0 received, 100.0% loss, 0 duplicates, 0 "
                   "reordered, 0 corrupted, 0 late, time ");
  if (strstr(ping->out, "rtt ") != NULL)
    fail_msg("an rtt line without an echo:\n%s", ping->out);
  expect_eq("the fake server's datagrams", f->received, 3);
  free(ping);
  fake_udp_server_stop(f);
  free(f);
}

static int out_has(proc_t *p, const void *needle) {
  return strstr(p->out, needle) != NULL;
}

/* --forever until SIGINT: the summary, nothing lost, exit status 0. */
static void test_forever_interrupted(void **state) {
  const char *server_extra[] = {"--quiet", "--udp", NULL};
  const char *all[] = {"--client", "--udp",     "--host", "127.0.0.1", "--port",
                       NULL,       "--forever", "-i",     "0.02",      NULL};
  proc_t *srv = new_server(0);
  proc_t *ping = malloc(sizeof(*ping));
  char port_s[16];
  ping_summary_t s;
  (void)state;

  assert_non_null(ping);
  if (!proc_signal_graceful(SIGINT)) {
    print_message("  not checked: SIGINT does not reach a Windows ping "
                  "started from here\n");
    free(ping);
    return;
  }
  snprintf(port_s, sizeof(port_s), "%d",
           start_server(srv, "127.0.0.1", server_extra));
  all[5] = port_s;
  proc_start(ping, all);
  if (!run_until(out_has, ping, ": seq=5 time=", PROC_TIMEOUT_MS))
    fail_msg("no fifth echo:\n%s", ping->out);
  stop(ping, SIGINT);
  wait_exit(ping, 0);
  parse_ping(ping->out, &s);
  if (s.sent < 5 || s.received != s.sent || s.loss != 0)
    fail_msg("interrupted, every datagram sent should be answered:\n%s",
             ping->out);
  free(ping);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_against_server),      SUITE_TEST(test_faults_counted),
      SUITE_TEST(test_corrupted),           SUITE_TEST(test_silent),
      SUITE_TEST(test_forever_interrupted),
  };
  return suite_main(argc, argv, "udp_ping", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
