/* End-to-end tests of the built binary: the tutorial's session between a
 * real server and client process, signals, exit statuses and usage errors.
 * Usage: test_cli TCPECHO [TCPECHO_FOR_CLIENTS]
 * The second binary, if given, runs every client: a native client against
 * a Windows server under wine, say. TCPECHO_TEST_WRAPPER (or, per role,
 * TCPECHO_TEST_SERVER_WRAPPER / TCPECHO_TEST_CLIENT_WRAPPER) is put in front
 * of the binaries: "wine", "valgrind --error-exitcode=99". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void test_tutorial_session(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  char port_s[16], open_to[64], listening[64];
  const char *client_args[] = {"--client", "--host", "127.0.0.1",
                               "--port",   port_s,   "--close-after",
                               "1",        NULL};
  int port;
  (void)state;

  port = start_server(server, "127.0.0.1", NULL);
  snprintf(port_s, sizeof(port_s), "%d", port);
  proc_start(client, client_args);
  wait_exit(client, 0);
  /* The timer, not anything else, closed the session. */
  assert_true(client->exited_ms - client->started_ms >= 1000);
  snprintf(open_to, sizeof(open_to), "TCP session open to 127.0.0.1:%d", port);
  {
    const char *want[] = {open_to, "reading data from server: Hi, beyondyyh",
                          "closing TCP session after 1 second", NULL};
    assert_log(client->err, want);
  }
  assert_int_equal(client->out_len, 0);

  wait_log(server, "Error reading TCP session: EOF\n");
  snprintf(listening, sizeof(listening), "listening on 127.0.0.1:%d", port);
  {
    const char *want[] = {listening,
                          "TCP session open from 127.0.0.1:*",
                          "reading data from client: Hi, beyondyyh",
                          "Error reading TCP session: EOF",
                          "shutting down on SIGINT: closing 0 TCP sessions",
                          "served 1 session, echoed 13 bytes, peak 1 "
                          "concurrent sessions, 0 rejected, 0 dropped (no "
                          "free descriptor), 0 closed idle, 0 errors",
                          NULL};
    if (!stop_server(server, SIGINT))
      want[4] = NULL; /* terminated: no handler ran */
    assert_log(server->err, want);
  }
  free(server);
  free(client);
}

/* How long a drain with nothing left to echo may take: sending FIN and
 * reading the peer's takes milliseconds; the rest is for a loaded machine
 * or valgrind. Far below the --drain-timeout the tests set, so that a
 * server that just waits out its timeout fails. */
#define DRAIN_BOUND_MS 15000

/* SIGTERM with a session open: the server sends FIN at once, closes when
 * the client's comes and exits 0, long before its drain timeout; the
 * client sees the server close first and exits 1. */
static void test_sigterm_with_open_session(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  char port_s[16];
  const char *client_args[] = {"-c",   "-H", "127.0.0.1", "-p",
                               port_s, "-t", "30",        NULL};
  const char *drain[] = {"--drain-timeout", "60", NULL};
  (void)state;

  if (!proc_signal_graceful(SIGTERM)) {
    free(server);
    free(client);
    print_message("skipped: no graceful SIGTERM for this server\n");
    skip();
  }
  snprintf(port_s, sizeof(port_s), "%d",
           start_server(server, "127.0.0.1", drain));
  proc_start(client, client_args);
  wait_log(client, "reading data from server: Hi, beyondyyh\n");
  wait_log(server, "reading data from client: Hi, beyondyyh\n");
  stop(server, SIGTERM);
  if (!run_until(is_finished, server, NULL, DRAIN_BOUND_MS))
    fail_msg("the server was still draining %d ms after SIGTERM (drain "
             "timeout 60 s): no FIN, or it waits out the timeout:\n%s",
             DRAIN_BOUND_MS, server->err);
  wait_exit(server, 0);
  assert_non_null(strstr(server->err,
                         "shutting down on SIGTERM: closing 1 TCP session "
                         "(drain timeout 60 s)\n"));
  assert_null(strstr(server->err, "drain timeout: closing"));
  wait_exit(client, 1);
  assert_non_null(strstr(client->err, "Error reading TCP session: EOF\n"));
  free(server);
  free(client);
}

static void test_quiet_and_escaped_data(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  const char *quiet[] = {"--quiet", NULL};
  char port_s[16];
  const char *client_args[] = {"-c",  "-H", "127.0.0.1",   "-p", port_s, "-t",
                               "0.2", "-m", "tab\there\\", "-q", NULL};
  const char *loud_args[] = {"-c", "-H",  "127.0.0.1", "-p",          port_s,
                             "-t", "0.2", "-m",        "tab\there\\", NULL};
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d",
           start_server(server, "127.0.0.1", quiet));
  proc_start(client, client_args);
  wait_exit(client, 0);
  assert_null(strstr(client->err, "reading data"));
  assert_non_null(strstr(client->err, "closing TCP session after 0.2"));
  proc_start(client, loud_args);
  wait_exit(client, 0);
  assert_non_null(
      strstr(client->err, "reading data from server: tab\\there\\\\\n"));
  stop_server(server, SIGINT);
  assert_null(strstr(server->err, "reading data"));
  assert_non_null(strstr(server->err, "Error reading TCP session: EOF"));
  free(server);
  free(client);
}

/* -qq: the server logs no line per session, yet serves and counts them. */
static void test_server_quiet_twice(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  const char *qq[] = {"-qq", NULL};
  char port_s[16];
  const char *client_args[] = {"-c", "-H", "127.0.0.1", "-p",   port_s,
                               "-n", "2",  "-i",        "0.01", NULL};
  int i, graceful;
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d", start_server(server, "127.0.0.1", qq));
  for (i = 0; i < 2; i++) {
    proc_start(client, client_args);
    wait_exit(client, 0);
    assert_non_null(strstr(client->out, "2 sent, 2 received"));
  }
  graceful = stop_server(server, SIGINT);
  assert_null(strstr(server->err, "TCP session open"));
  assert_null(strstr(server->err, "Error reading TCP session"));
  assert_null(strstr(server->err, "reading data"));
  assert_non_null(strstr(server->err, "listening on 127.0.0.1:"));
  if (graceful) /* else it was terminated: no summary */
    assert_non_null(strstr(server->err, "served 2 sessions, echoed 52 bytes"));
  free(server);
  free(client);
}

/* One --stats line's figures, found by key ("3 accepted", "in 1.20 MB/s"),
 * so that fields added between them do not matter. Returns 0 unless every
 * wanted one is there. */
typedef struct stats_line_s {
  double open, accepted, rejected, errors, in_mbs, out_mbs;
} stats_line_t;

static int parse_stats_line(const char *line, const char *end,
                            stats_line_t *st) {
  int found = 0;
  const char *at = strstr(line, "stats: ");
  if (at == NULL || at > end)
    return 0;
  at += strlen("stats: ");
  while (at < end) {
    const char *next = strstr(at, ", ");
    char *rest;
    double v;
    if (next == NULL || next > end)
      next = end;
    if (strncmp(at, "in ", 3) == 0) {
      st->in_mbs = strtod(at + 3, &rest);
      found |= strncmp(rest, " MB/s", 5) == 0 ? 1 : 0;
    } else if (strncmp(at, "out ", 4) == 0) {
      st->out_mbs = strtod(at + 4, &rest);
      found |= strncmp(rest, " MB/s", 5) == 0 ? 2 : 0;
    } else {
      v = strtod(at, &rest);
      if (strncmp(rest, " sessions open", 14) == 0) {
        st->open = v;
        found |= 4;
      } else if (strncmp(rest, " accepted", 9) == 0) {
        st->accepted = v;
        found |= 8;
      } else if (strncmp(rest, " rejected", 9) == 0) {
        st->rejected = v;
        found |= 16;
      } else if (strncmp(rest, " errors", 7) == 0) {
        st->errors = v;
        found |= 32;
      }
    }
    at = next + 2;
  }
  return found == 63;
}

static int has_stats_after_all_closed(proc_t *p, const void *arg) {
  const char *at = strstr(p->err, (const char *)arg);
  return at != NULL && strchr(at, '\n') != NULL;
}

/* --stats: each line's rates are the bytes of its own interval, so over all
 * lines they add up to what was sent (and echoed); the counts are the
 * sessions seen. */
static void test_stats_line(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *ping = malloc(sizeof(*ping));
  char port_s[16];
  const char *stats[] = {"--quiet", "--stats", "0.25", NULL};
  const char *big[] = {"-c", "-H", "127.0.0.1", "-p", port_s,    "-n",
                       "2",  "-i", "0",         "-S", "1000000", NULL};
  const char *small[] = {"-c",   "-H", "127.0.0.1", "-p",
                         port_s, "-n", "1",         NULL};
  const double interval_s = 0.25;
  const double sent = 2 * 1000000 + 2 * 13; /* bytes, each way */
  const char *line, *nl;
  stats_line_t st, last;
  double in = 0, out = 0, slack;
  int lines = 0;
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d",
           start_server(server, "127.0.0.1", stats));
  proc_start(ping, big);
  wait_exit(ping, 0);
  proc_start(ping, small);
  wait_exit(ping, 0);
  proc_start(ping, small);
  wait_exit(ping, 0);
  if (!run_until(has_stats_after_all_closed, server,
                 "stats: 0 sessions open, 3 accepted,", PROC_TIMEOUT_MS))
    fail_msg("no stats line with the 3 sessions closed:\n%s", server->err);

  memset(&last, 0, sizeof(last));
  for (line = server->err; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    memset(&st, 0, sizeof(st));
    if (strstr(line, "stats: ") == NULL || strstr(line, "stats: ") > nl)
      continue;
    if (!parse_stats_line(line, nl, &st))
      fail_msg("a stats line without every figure: %.*s", (int)(nl - line),
               line);
    if (st.accepted < last.accepted || st.open > 3 || st.in_mbs < 0 ||
        st.out_mbs < 0)
      fail_msg("implausible stats line: %.*s", (int)(nl - line), line);
    in += st.in_mbs * interval_s * 1e6;
    out += st.out_mbs * interval_s * 1e6;
    last = st;
    lines++;
  }
  assert_true(lines > 0);
  assert_true(last.accepted == 3);
  assert_true(last.open == 0);
  assert_true(last.rejected == 0);
  assert_true(last.errors == 0);
  /* Each rate is printed to 0.01 MB/s: up to 0.005 MB/s off per line. */
  slack = lines * 0.005 * interval_s * 1e6 + 1;
  if (in < sent - slack || in > sent + slack || out < sent - slack ||
      out > sent + slack)
    fail_msg("the stats lines add up to %.0f bytes in and %.0f out over %d "
             "lines; %.0f were sent and echoed:\n%s",
             in, out, lines, sent, server->err);
  stop_server(server, SIGINT);
  free(server);
  free(ping);
}

static void test_ipv6_session(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  char port_s[16], open_to[64];
  const char *client_args[] = {"-c",   "-H", "[::1]", "-p",
                               port_s, "-t", "0.1",   NULL};
  int port;
  (void)state;

  port = try_start_server(server, "::1", NULL);
  if (port < 0) {
    print_message("skipped: cannot listen on ::1 here: %s", server->err);
    free(server);
    free(client);
    skip();
  }
  snprintf(port_s, sizeof(port_s), "%d", port);
  proc_start(client, client_args);
  wait_exit(client, 0);
  snprintf(open_to, sizeof(open_to), "TCP session open to [::1]:%d", port);
  {
    const char *want[] = {open_to, "reading data from server: Hi, beyondyyh",
                          "closing TCP session after 0.1 seconds", NULL};
    assert_log(client->err, want);
  }
  wait_log(server, "Error reading TCP session: EOF\n");
  assert_non_null(strstr(server->err, "TCP session open from [::1]:"));
  stop_server(server, SIGINT);
  free(server);
  free(client);
}

/* --verbose: every step, in order, stamped with ms since start. */
static void test_verbose_steps(void **state) {
  static const char *steps[] = {"] resolving 127.0.0.1 port ",
                                "] resolved 127.0.0.1: 1 address\n",
                                "] connecting to 127.0.0.1:",
                                "] connected from 127.0.0.1:",
                                "] read 13 bytes\n",
                                "] close timer fired\n",
                                "] closing the socket",
                                "] socket closed\n",
                                NULL};
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  char port_s[16];
  const char *args[] = {"-c", "-H",  "127.0.0.1", "-p", port_s,
                        "-t", "0.3", "--verbose", NULL};
  const char *at;
  double last_ms = -1, ms;
  int i;
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d",
           start_server(server, "127.0.0.1", NULL));
  proc_start(client, args);
  wait_exit(client, 0);
  at = client->err;
  for (i = 0; steps[i] != NULL; i++) {
    const char *found = strstr(at, steps[i]);
    const char *open;
    if (found == NULL)
      fail_msg("no step '%s' after the previous one:\n%s", steps[i],
               client->err);
    for (open = found; open > client->err && *open != '['; open--)
      ;
    assert_int_equal(sscanf(open, "[%lf ms]", &ms), 1);
    assert_true(ms >= last_ms);
    last_ms = ms;
    at = found + 1;
  }
  assert_true(last_ms >= 300.0); /* the timer's delay is in the stamps */
  stop_server(server, SIGINT);
  free(server);
  free(client);
}

static void test_connection_refused(void **state) {
  proc_t *p = malloc(sizeof(*p));
  char port_s[16], want[96];
  const char *args[] = {"--client", "--host", "127.0.0.1",
                        "--port",   port_s,   NULL};
  int port;
  (void)state;

  /* A port that was free a moment ago and is closed again. */
  port = start_server(p, "127.0.0.1", NULL);
  stop_server(p, SIGINT);
  snprintf(port_s, sizeof(port_s), "%d", port);
  proc_start(p, args);
  wait_exit(p, 1);
  snprintf(want, sizeof(want),
           "dial tcp 127.0.0.1:%d: ECONNREFUSED (connection refused)", port);
  {
    const char *lines[] = {want, NULL};
    assert_log(p->err, lines);
  }
  free(p);
}

static void test_port_in_use(void **state) {
  proc_t *a = malloc(sizeof(*a));
  proc_t *b = malloc(sizeof(*b));
  char port_s[16], want[96];
  const char *args[] = {"-s", "-H", "127.0.0.1", "-p", port_s, NULL};
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d", start_server(a, "127.0.0.1", NULL));
  proc_start(b, args);
  wait_exit(b, 1);
  snprintf(want, sizeof(want),
           "listen tcp 127.0.0.1:%s: EADDRINUSE (address already in use)",
           port_s);
  {
    const char *lines[] = {want, NULL};
    assert_log(b->err, lines);
  }
  stop_server(a, SIGINT);
  free(a);
  free(b);
}

static void test_unknown_host(void **state) {
  proc_t *p = malloc(sizeof(*p));
  const char *args[] = {"-c", "-H", "no-such-host.invalid", "-p", "9", NULL};
  (void)state;
  proc_start(p, args);
  wait_exit(p, 1);
  {
    const char *lines[] = {"dial tcp no-such-host.invalid:9: lookup failed: *",
                           NULL};
    assert_log(p->err, lines);
  }
  free(p);
}

static void test_usage_errors(void **state) {
  static const char *cases[][6] = {
      {NULL},
      {"--bogus", NULL},
      {"--server", "--client", NULL},
      {"--server", "--port", "65536", NULL},
      {"--server", "--port", "http", NULL},
      {"--client", "--port", NULL},
      {"--client", "--close-after", "soon", NULL},
      {"--server", "--message", "x", NULL},
      {"--client", "stray", NULL},
      {"--client", "--proxy-protocol", NULL},
      {"--client", "--proxy-timeout", "1", NULL},
  };
  proc_t *p = malloc(sizeof(*p));
  size_t i;
  (void)state;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    proc_start(p, cases[i]);
    wait_exit(p, 2);
    /* One line naming the problem and pointing to --help; nothing else. */
    assert_int_equal(p->out_len, 0);
    assert_true(p->err_len > 0);
    assert_int_equal(strncmp(p->err, "tcpecho: ", 9), 0);
    assert_ptr_equal(strchr(p->err, '\n'), p->err + p->err_len - 1);
    assert_non_null(strstr(p->err, "(try 'tcpecho --help')"));
  }
  free(p);
}

static void test_help_and_version(void **state) {
  proc_t *p = malloc(sizeof(*p));
  const char *help[] = {"--help", NULL};
  const char *version[] = {"--version", NULL};
  (void)state;

  proc_start(p, help);
  wait_exit(p, 0);
  assert_int_equal(strncmp(p->out, "Usage: tcpecho --server", 23), 0);
  assert_int_equal(p->err_len, 0);
  proc_start(p, version);
  wait_exit(p, 0);
  assert_int_equal(strncmp(p->out, "tcpecho ", 8), 0);
  assert_non_null(strstr(p->out, "(libuv "));
  free(p);
}

int main(int argc, char **argv) {
  uv_loop_t *loop;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_usage_errors, proc_kill_all),
      cmocka_unit_test_teardown(test_help_and_version, proc_kill_all),
      cmocka_unit_test_teardown(test_tutorial_session, proc_kill_all),
      cmocka_unit_test_teardown(test_sigterm_with_open_session, proc_kill_all),
      cmocka_unit_test_teardown(test_quiet_and_escaped_data, proc_kill_all),
      cmocka_unit_test_teardown(test_server_quiet_twice, proc_kill_all),
      cmocka_unit_test_teardown(test_stats_line, proc_kill_all),
      cmocka_unit_test_teardown(test_ipv6_session, proc_kill_all),
      cmocka_unit_test_teardown(test_verbose_steps, proc_kill_all),
      cmocka_unit_test_teardown(test_connection_refused, proc_kill_all),
      cmocka_unit_test_teardown(test_port_in_use, proc_kill_all),
      cmocka_unit_test_teardown(test_unknown_host, proc_kill_all),
  };
  int rc;

  if (argc != 2 && argc != 3) {
    fprintf(stderr, "usage: %s TCPECHO [TCPECHO_FOR_CLIENTS]\n", argv[0]);
    return 2;
  }
  loop = uv_default_loop();
  proc_setup(loop, argv[1], argc == 3 ? argv[2] : NULL);
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
  return rc;
}
