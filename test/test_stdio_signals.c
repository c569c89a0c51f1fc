/* Nothing around the process can kill it: closed standard descriptors, and
 * every stop signal a clean stop with the mode's summary. End to end.
 *
 * Usage: test_stdio_signals PATH_TO_TCPECHO [TEST_NAME_PATTERN] */
#include "around.h"
#include "base/container_of.h"
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- closed standard descriptors --------------------------------------- */

static void test_closed_std_descriptors(void **state) {
  static const char *const closed[] = {"0<&-", "1>&-", "2>&-"};
  proc_t *srv = calloc(1, sizeof(*srv)), *cli = calloc(1, sizeof(*cli));
  char port[16];
  size_t i;
  (void)state;

  if (windows_test()) {
    print_message("skipped: closing a descriptor needs a POSIX sh\n");
    free(srv);
    free(cli);
    skip();
  }
  for (i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
    const char *server_args[] = {"--server", "-H", "127.0.0.1", "-p",
                                 port,       "-q", NULL};
    const char *ping_args[] = {"--client", "-H", "127.0.0.1", "-p", port,
                               "-n",       "2",  "-i",        "0",  NULL};
    const char *client_args[] = {"--client", "-H", "127.0.0.1", "-p",
                                 port,       "-t", "0.1",       NULL};
    const char *bench_args[] = {"--bench", "-H",  "127.0.0.1", "-p", port,
                                "-d",      "0.2", "--warmup",  "0",  NULL};
    const char *pipe_args[] = {"--client", "-H",      "127.0.0.1", "-p",
                               port,       "--stdin", NULL};

    uint64_t start = loop_now_ms();

    fmt_port(port, sizeof(port), free_port());
    start_under_sh(srv, "", closed[i], server_args);
    /* Its log may be closed: it is up once a ping gets its echo. */
    do {
      loop_pause_ms(50);
      proc_start(cli, ping_args);
      run_until(has_exited, cli, NULL, PROC_TIMEOUT_MS);
    } while (cli->exit_status != 0 && !srv->exited &&
             loop_now_ms() - start < 10000);
    wait_exit(cli, 0);
    start_under_sh(cli, "", closed[i], ping_args);
    wait_exit(cli, 0);
    start_under_sh(cli, "", closed[i], client_args);
    wait_exit(cli, 0);
    start_under_sh(cli, "", closed[i], bench_args);
    wait_exit(cli, 0);
    start_under_sh(cli, "", closed[i], pipe_args);
    wait_exit(cli, 0);
    /* SIGTERM: a clean stop, not libuv's abort on closing descriptor 0-2. */
    stop(srv, SIGTERM);
    wait_exit(srv, 0);
    print_message("  with %s: server, ping, client, bench and pipe exit 0\n",
                  closed[i]);
  }
  free(srv);
  free(cli);
}

/* --- stop signals ------------------------------------------------------- */

static void test_sighup_drains_server(void **state) {
  proc_t *srv = calloc(1, sizeof(*srv)), *cli = calloc(1, sizeof(*cli));
  char port[16];
  const char *args[] = {"--client", "-H", "127.0.0.1", "-p",
                        port,       "-t", "30",        NULL};
  uint64_t start;
  (void)state;

  if (windows_test() || !proc_signal_graceful(SIGHUP)) {
    print_message("skipped: no SIGHUP to send to this server (Windows)\n");
    free(srv);
    free(cli);
    skip();
  }
  fmt_port(port, sizeof(port), start_server(srv, "127.0.0.1", NULL));
  proc_start(cli, args);
  wait_log(srv, "reading data from client: Hi, beyondyyh");
  start = loop_now_ms();
  stop(srv, SIGHUP);
  wait_exit(srv, 0);
  assert_true(err_has(srv, "shutting down on SIGHUP: closing 1 TCP session"));
  assert_true(err_has(srv, "served 1 session, echoed 13 bytes"));
  /* Drained: our FIN, the client's close, well before --drain-timeout. */
  assert_true(srv->exited_ms - start < 3000);
  wait_exit(cli, 1); /* the server closed first */
  free(srv);
  free(cli);
}

static void test_sigterm_ends_ping_and_bench_with_summary(void **state) {
  static const int signals[] = {SIGTERM, SIGHUP};
  const char *quiet[] = {"-q", NULL};
  proc_t *srv = calloc(1, sizeof(*srv)), *p = calloc(1, sizeof(*p));
  char port[16];
  const char *ping[] = {"--client",  "-H", "127.0.0.1", "-p", port,
                        "--forever", "-i", "0.05",      NULL};
  const char *bench[] = {"--bench", "-H",       "127.0.0.1", "-p", port, "-d",
                         "30",      "--warmup", "0",         "-v", NULL};
  size_t i;
  (void)state;

  if (windows_test()) {
    print_message("skipped: a Windows test program can only terminate its "
                  "children\n");
    free(srv);
    free(p);
    skip();
  }
  fmt_port(port, sizeof(port), start_server(srv, "127.0.0.1", quiet));
  for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
    proc_start(p, ping);
    wait_out(p, "PING "); /* connected: its handlers are in place */
    loop_pause_ms(200);
    stop(p, signals[i]);
    wait_exit(p, 0);
    if (!strstr(p->out, "tcpecho ping statistics ---") ||
        !strstr(p->out, " received, 0.0% loss"))
      fail_msg("ping on signal %d: no summary; stdout:\n%s", signals[i],
               p->out);

    proc_start(p, bench);
    /* Its first line; the handlers are in place right after. */
    wait_log(p, "descriptor limit: ");
    loop_pause_ms(500);
    stop(p, signals[i]);
    wait_exit(p, 0);
    if (!strstr(p->out, "measured: ") || !strstr(p->out, "every byte verified"))
      fail_msg("bench on signal %d: no report; stdout:\n%s", signals[i],
               p->out);
    assert_true(err_has(p, "bench: interrupted by SIG"));
  }
  stop_server(srv, SIGINT);
  free(srv);
  free(p);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_closed_std_descriptors, proc_kill_all),
      cmocka_unit_test_teardown(test_sighup_drains_server, proc_kill_all),
      cmocka_unit_test_teardown(test_sigterm_ends_ping_and_bench_with_summary,
                                proc_kill_all),
  };
  return around_main(argc, argv, "stdio_signals", tests,
                     sizeof(tests) / sizeof(tests[0]));
}
