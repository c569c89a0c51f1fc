/* Load over UDP end to end (tcpecho --bench --udp --rate R): against
 * tcpecho --server --udp --udp-rate 0 at 20,000 datagrams/s for 2 s
 * nothing is lost, every echo verified, the counts add up; on two loops
 * too, and the per-second stream adds up to the report; against
 * the server's default --udp-rate from one address half is refused and
 * the run fails (unless --max-loss allows it), from four addresses
 * (Linux) nothing is lost; against a UDP server that drops every tenth
 * datagram, duplicates one, swaps two, changes a byte of one and delays
 * one past --timeout, the report counts exactly that.
 * Usage: test_udp_bench TCPECHO [fast | all | TEST...] */
#include "fake_udp_server.h"
#include "suite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under valgrind or wine a tenth of the rate (what is checked is the
 * same): a generator under wine keeps up with some 10,000 datagrams a
 * second here, one under valgrind with fewer. */
static unsigned long long scaled(unsigned long long rate) {
#ifdef _WIN32
  return rate / 10;
#else
  return getenv("TCPECHO_TEST_WRAPPER") != NULL ? rate / 10 : rate;
#endif
}

static double json_number(const char *json, const char *key) {
  char pattern[64];
  const char *at;
  snprintf(pattern, sizeof(pattern), "\"%s\":", key);
  at = json != NULL ? strstr(json, pattern) : NULL;
  if (at == NULL)
    fail_msg("no %s in %s", key, json != NULL ? json : "(nothing)");
  return strtod(at + strlen(pattern), NULL);
}

/* The "udp" object of a --json report. */
typedef struct udp_report_s {
  unsigned long long sent, received, lost, late, duplicates, reordered,
      corrupted, too_old, unsent, messages, errors;
} udp_report_t;

static void parse_report(const char *out, udp_report_t *r) {
  const char *report = strrchr(out, '\n'), *u;
  /* The last line: the report. */
  while (report != NULL && report > out && report[-1] != '\n')
    report--;
  if (report == NULL || strncmp(report, "{\"host\":", 8) != 0)
    fail_msg("no report in:\n%s", out);
  u = strstr(report, "\"udp\":{");
  if (u == NULL)
    fail_msg("no udp object in:\n%s", report);
  r->sent = (unsigned long long)json_number(u, "sent");
  r->received = (unsigned long long)json_number(u, "received");
  r->lost = (unsigned long long)json_number(u, "lost");
  r->late = (unsigned long long)json_number(u, "late");
  r->duplicates = (unsigned long long)json_number(u, "duplicates");
  r->reordered = (unsigned long long)json_number(u, "reordered");
  r->corrupted = (unsigned long long)json_number(u, "corrupted");
  r->too_old = (unsigned long long)json_number(u, "too_old");
  r->unsent = (unsigned long long)json_number(u, "unsent");
  r->messages = (unsigned long long)json_number(report, "messages");
  r->errors =
      (unsigned long long)json_number(strstr(report, "\"errors\":{"), "total");
  print_message("  sent %llu, received %llu, lost %llu (late %llu), "
                "duplicates %llu, reordered %llu, corrupted %llu, unsent "
                "%llu\n",
                r->sent, r->received, r->lost, r->late, r->duplicates,
                r->reordered, r->corrupted, r->unsent);
}

/* tcpecho --bench --udp -H host -p port -r rate [extra...]; waits for
 * its exit with want_status. */
static void run_bench(proc_t *p, const char *host, int port,
                      unsigned long long rate, const char **extra,
                      int want_status) {
  const char *args[32] = {"--bench", "--udp", "--host", host, "--port"};
  char port_s[16], rate_s[24];
  int i;

  snprintf(port_s, sizeof(port_s), "%d", port);
  snprintf(rate_s, sizeof(rate_s), "%llu", rate);
  args[5] = port_s;
  args[6] = "--rate";
  args[7] = rate_s;
  for (i = 0; extra[i] != NULL; i++)
    args[8 + i] = extra[i];
  proc_start(p, args);
  wait_exit(p, want_status);
}

/* Every datagram of the measured time echoed, verified, nothing else. */
static void expect_clean(const udp_report_t *r, unsigned long long want_sent) {
  if (r->sent < want_sent * 98 / 100 || r->sent > want_sent * 102 / 100)
    fail_msg("%llu datagrams sent, %llu were due", r->sent, want_sent);
  expect_eq("received", r->received, r->sent);
  expect_eq("messages", r->messages, r->sent);
  expect_eq("lost + duplicates + reordered + corrupted + too old + unsent",
            r->lost + r->duplicates + r->reordered + r->corrupted + r->too_old +
                r->unsent,
            0);
  expect_eq("errors", r->errors, 0);
}

/* The "UDP: N datagrams in (B bytes), M echoed" of the server's summary. */
static unsigned long long server_echoed(proc_t *srv) {
  summary_t tcp;
  unsigned long long in = 0, bytes = 0, out = 0;
  const char *at;
  if (!finish_server(srv, &tcp, NULL))
    return 0;
  at = strstr(srv->err, "UDP: ");
  if (at == NULL ||
      sscanf(at, "UDP: %llu datagrams in (%llu bytes), %llu echoed", &in,
             &bytes, &out) != 3)
    fail_msg("no UDP summary:\n%s", srv->err);
  return out;
}

static int start_udp_server(proc_t *srv, const char *host, const char *rate) {
  const char *limited[] = {"--quiet", "--udp", "--udp-rate", rate, NULL};
  const char *standard[] = {"--quiet", "--udp", NULL};
  int port = start_server(srv, host, rate != NULL ? limited : standard);
  wait_line(srv, "serving UDP on ", NULL, 5000);
  return port;
}

/* 20,000/s for 2 s over 4 sockets, then 2 loops over IPv6 with the
 * per-second stream (2,000/s): every datagram back, verified, counted
 * once. */
static void test_against_server(void **state) {
  const char *one_loop[] = {"-C",       "4",   "-d",     "2",
                            "--warmup", "0.2", "--json", NULL};
  const char *two_loops[] = {"-C",
                             "4",
                             "-T",
                             "2",
                             "-d",
                             "1.5",
                             "--warmup",
                             "0",
                             "-S",
                             "1000",
                             "--json-stream",
                             NULL};
  const char *text[] = {"-C", "2", "-d", "0.3", "--warmup", "0", NULL};
  unsigned long long rate = scaled(20000), streamed = 0, echoed;
  proc_t *srv = new_server(0);
  proc_t *b = malloc(sizeof(*b));
  int port = start_udp_server(srv, "::", "0");
  udp_report_t r, r2;
  const char *line;
  (void)state;

  assert_non_null(b);
  run_bench(b, "127.0.0.1", port, rate, one_loop, 0);
  parse_report(b->out, &r);
  expect_clean(&r, rate * 2);
  if (strstr(b->out, "\"connect_us\"") != NULL)
    fail_msg("a connect time for UDP:\n%s", b->out);

  /* Each loop keeps a CPU busy while datagrams are due: two of them at a
   * tenth of the rate, or on two CPUs the server would hardly run. */
  run_bench(b, "::1", port, rate / 10, two_loops, 0);
  parse_report(b->out, &r2);
  expect_clean(&r2, rate / 10 * 3 / 2);
  assert_true(json_number(b->out, "threads") == 2);
  /* The seconds add up to the report, echoes of the drain in the last. */
  for (line = b->out; strncmp(line, "{\"interval\":", 12) == 0;
       line = strchr(line, '\n') + 1)
    streamed += (unsigned long long)json_number(line, "messages");
  expect_eq("messages of the seconds", streamed, r2.messages);
  expect_eq("bytes", (unsigned long long)json_number(line, "bytes"),
            r2.received * 1000);

  run_bench(b, "127.0.0.1", port, rate, text, 0);
  if (!has_line_with(b->out, "tcpecho bench: 127.0.0.1:",
                     ", 2 UDP sockets, 64-byte datagrams, open loop, "
                     "datagrams/s ") ||
      !has_line_with(b->out, "datagrams: ",
                     " received, 0.000% loss, 0 lost, 0 duplicates, 0 "
                     "reordered, 0 corrupted, 0 late (after 1 s)") ||
      !has_line_with(b->out, "measured: ", " every byte verified") ||
      !has_line_with(b->out, "schedule: ", " not sent (refused by the socket)"))
    fail_msg("not the UDP report:\n%s", b->out);
  free(b);
  /* The server echoed at least every datagram measured (and the warmup's). */
  echoed = server_echoed(srv);
  if (echoed != 0 && echoed < r.sent + r2.sent)
    fail_msg("the server echoed %llu datagrams, %llu were measured", echoed,
             r.sent + r2.sent);
}

/* The server's --udp-rate (default 10,000 per source address) against
 * twice that from 127.0.0.1: after the warmup has taken the bucket's
 * burst (a second's worth), about half refused, the run fails; allowed by
 * --max-loss, it passes; from four addresses (Linux: all of 127/8 is
 * ours) the same rate is half the limit per address, nothing lost. */
static void test_server_rate_limit(void **state) {
  const char *run[] = {"-C", "4", "-d", "1", "--warmup", "1", "--json", NULL};
  const char *allowed[] = {"-C", "4",      "-d",         "1",  "--warmup",
                           "1",  "--json", "--max-loss", "80", NULL};
  unsigned long long limit = scaled(10000);
  char limit_s[24];
  proc_t *srv = new_server(0);
  proc_t *b = malloc(sizeof(*b));
  udp_report_t r;
  int port;
  (void)state;

  assert_non_null(b);
  snprintf(limit_s, sizeof(limit_s), "%llu", limit);
  /* The default where it can be kept up with; the same, scaled, else. */
  port = start_udp_server(srv, "127.0.0.1", limit == 10000 ? NULL : limit_s);
  run_bench(b, "127.0.0.1", port, 2 * limit, run, 1);
  parse_report(b->out, &r);
  if (r.lost < r.sent * 3 / 10 || r.lost > r.sent * 7 / 10)
    fail_msg("%llu of %llu lost at twice the server's rate", r.lost, r.sent);
  expect_eq("received + lost", r.received + r.lost, r.sent);
  expect_eq("corrupted", r.corrupted, 0);
  if (!has_line_with(b->err, "bench: FAILED: ",
                     "% of the datagrams lost, more than --max-loss 0.000%"))
    fail_msg("no FAILED line:\n%s", b->err);
  run_bench(b, "127.0.0.1", port, 2 * limit, allowed, 0);
#ifdef __linux__
  if (getenv("TCPECHO_TEST_WRAPPER") != NULL &&
      strstr(getenv("TCPECHO_TEST_WRAPPER"), "wine") != NULL) {
    /* Under wine a socket bound to 127.0.0.x sends from 127.0.0.1. */
    print_message("  not checked: --source-ip over 127.0.0.x (not under "
                  "wine)\n");
  } else {
    const char *spread[] = {
        "-C",     "4",           "-d",
        "1",      "--warmup",    "1",
        "--json", "--source-ip", "127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4",
        NULL};
    run_bench(b, "127.0.0.1", port, 2 * limit, spread, 0);
    parse_report(b->out, &r);
    expect_clean(&r, 2 * limit);
  }
#else
  print_message("  not checked: --source-ip over 127.0.0.x (Linux only)\n");
#endif
  free(b);
}

/* 200 datagrams/s for 1 s on one socket through the fake server: every
 * 10th dropped, the 5th echoed twice, the 7th after the 8th, the 12th
 * with a byte changed, the 15th 0.6 s late with --timeout 0.4 (within
 * the ring: late, not too old). */
static void test_faults_counted(void **state) {
  const char *args[] = {"-d",        "1",   "--warmup", "0",
                        "--timeout", "0.4", "--json",   NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *b = malloc(sizeof(*b));
  unsigned long long n, dropped;
  udp_report_t r;
  (void)state;

  assert_non_null(f);
  assert_non_null(b);
  f->drop_every = 10;
  f->duplicate = 5;
  f->reorder = 7;
  f->corrupt = 12;
  f->delay = 15;
  f->delay_ms = 600;
  fake_udp_server_start(f, suite_loop(), "127.0.0.1");
  run_bench(b, "127.0.0.1", f->port, 200, args, 1);
  parse_report(b->out, &r);
  n = f->received;
  dropped = n / 10;
  if (n < 190 || n > 210)
    fail_msg("%llu datagrams reached the server at 200/s for 1 s", n);
  expect_eq("sent", r.sent, n);
  expect_eq("lost (dropped, changed, late)", r.lost, dropped + 2);
  expect_eq("received", r.received, n - dropped - 2);
  expect_eq("duplicates", r.duplicates, 1);
  expect_eq("reordered", r.reordered, 1);
  expect_eq("corrupted", r.corrupted, 1);
  expect_eq("late", r.late, 1);
  expect_eq("too old", r.too_old, 0);
  expect_eq("errors", r.errors, 1);
  if (!has_line_with(b->err,
                     "bench: FAILED: 1 error; not every byte came "
                     "back as sent",
                     NULL))
    fail_msg("no FAILED line for the corrupted echo:\n%s", b->err);
  fake_udp_server_stop(f);
  free(b);
  free(f);
}

/* Loss alone, every 10th dropped: within --max-loss 15 it passes, over
 * --max-loss 5 it fails, saying so. */
static void test_max_loss(void **state) {
  const char *within[] = {"-d",         "0.5", "--warmup", "0",
                          "--max-loss", "15",  "--json",   NULL};
  const char *over[] = {"-d",         "0.5", "--warmup", "0",
                        "--max-loss", "5",   "--json",   NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *b = malloc(sizeof(*b));
  udp_report_t r;
  (void)state;

  assert_non_null(f);
  assert_non_null(b);
  f->drop_every = 10;
  fake_udp_server_start(f, suite_loop(), "::1");
  run_bench(b, "::1", f->port, 400, within, 0);
  parse_report(b->out, &r);
  expect_eq("lost", r.lost, f->received / 10);
  expect_eq("errors", r.errors, 0);
  fake_udp_server_stop(f);
  fake_udp_server_start(f, suite_loop(), "::1");
  run_bench(b, "::1", f->port, 400, over, 1);
  if (!has_line_with(b->err, "bench: FAILED: ",
                     "% of the datagrams lost, more than --max-loss 5.000%"))
    fail_msg("no FAILED line for the loss:\n%s", b->err);
  fake_udp_server_stop(f);
  free(b);
  free(f);
}

/* Nothing listens: every datagram lost, the network's refusals said. */
static void test_nobody_there(void **state) {
  const char *args[] = {"-d", "0.3", "--warmup", "0", "--timeout", "0.2", NULL};
  const char *too_big[] = {"-S", "65508", "-d", "0.3", NULL};
  fake_udp_server_t *f = calloc(1, sizeof(*f));
  proc_t *b = malloc(sizeof(*b));
  int port;
  (void)state;

  assert_non_null(f);
  assert_non_null(b);
  fake_udp_server_start(f, suite_loop(), "127.0.0.1");
  port = f->port;
  fake_udp_server_stop(f); /* a port nobody listens on now */
  run_bench(b, "127.0.0.1", port, 100, args, 1);
  if (!has_line_with(b->out, "datagrams: ", " received, 100.000% loss"))
    fail_msg("not all lost:\n%s", b->out);
    /* Linux reports the port unreachable; not every system does. */
#ifdef __linux__
  if (!has_line_with(b->err, "bench: the network reported ",
                     " the first ECONNREFUSED (connection refused)"))
    fail_msg("the refusals are not said:\n%s", b->err);
#endif
  run_bench(b, "127.0.0.1", port, 100, too_big, 1);
  if (!has_line_with(b->err,
                     "bench: --size 65508 does not fit in a UDP datagram to "
                     "127.0.0.1:",
                     " (at most 65507 bytes)"))
    fail_msg("no line about the size:\n%s", b->err);
  free(b);
  free(f);
}

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_against_server), SUITE_TEST(test_server_rate_limit),
      SUITE_TEST(test_faults_counted), SUITE_TEST(test_max_loss),
      SUITE_TEST(test_nobody_there),
  };
  return suite_main(argc, argv, "udp_bench", tests,
                    sizeof(tests) / sizeof(tests[0]));
}
