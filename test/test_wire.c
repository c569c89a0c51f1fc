/* The tutorial on the wire: tcpdump captures loopback traffic on the test's
 * own port while a tcpecho server and client run one session, and the
 * capture must be the tutorial's session (see tcp_trace.h).
 *
 * Needs tcpdump and the right to capture (root or CAP_NET_RAW) on Linux's
 * "lo". Without them the test exits 77, which ctest reports as skipped, and
 * says why; with TCPECHO_REQUIRE_CAPTURE=1 (as in CI) that is a failure.
 * Usage: test_wire PATH_TO_TCPECHO */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pcap.h"
#include "proc.h"
#include "tcp_trace.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SKIP_STATUS 77

static int runs_on_linux(void) {
#ifdef __linux__
  return 1;
#else
  return 0;
#endif
}
#define MAX_SEGS 256

static uv_loop_t *loop;

static int never(proc_t *p, const void *arg) {
  (void)p;
  (void)arg;
  return 0;
}

static void pause_ms(uint64_t ms) {
  proc_t idle;
  memset(&idle, 0, sizeof(idle));
  run_until(never, &idle, NULL, ms);
}

static int listening_or_done(proc_t *p, const void *arg) {
  (void)arg;
  return strstr(p->err, "listening on") != NULL || is_finished(p, NULL);
}

/* Starts tcpdump on lo for one port, writing a pcap file; returns 0 once
 * it captures, or -1 (it exited: its stderr says why). */
static int start_capture(proc_t *p, const char *path, int port) {
  char filter[32];
  /* Immediate mode: packets reach the file as they come, not when a
   * buffer fills, so none is still in flight when the capture stops. */
  const char *argv[] = {"tcpdump", "--immediate-mode",
                        "-i",      "lo",
                        "-nn",     "-U",
                        "-Z",      "root",
                        "-w",      path,
                        filter,    NULL};
  snprintf(filter, sizeof(filter), "tcp port %d", port);
  proc_spawn(p, argv);
  if (!run_until(listening_or_done, p, NULL, PROC_TIMEOUT_MS))
    fail_msg("tcpdump did not start: %s", p->err);
  return strstr(p->err, "listening on") != NULL ? 0 : -1;
}

static void stop_capture(proc_t *p) {
  pause_ms(300); /* the last ACK is sent right after the last FIN */
  stop(p, SIGINT);
  wait_exit(p, 0);
}

static void print_trace(const tcp_seg_t *s, int n) {
  int i;
  for (i = 0; i < n; i++)
    print_message("%2d %.6f %s flags 0x%02x seq %u ack %u len %u\n", i + 1,
                  s[i].time,
                  s[i].from_client ? "client>server" : "server>client",
                  s[i].flags, s[i].seq, s[i].ack, s[i].len);
}

static void check_capture(const char *path, int port,
                          const trace_expect_t *want) {
  static tcp_seg_t segs[MAX_SEGS];
  char err[256];
  int n = pcap_read_tcp(path, port, segs, MAX_SEGS, err, sizeof(err));
  if (n < 0)
    fail_msg("%s", err);
  if (trace_check(segs, (size_t)n, want, err, sizeof(err)) != 0) {
    print_trace(segs, n);
    fail_msg("not the tutorial's session: %s (capture kept in %s)", err, path);
  }
  remove(path);
}

static void capture_path(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "wire-%d-%s.pcap", (int)uv_os_getpid(), name);
}

/* The tutorial: the client's timer closes the session after 1 s. */
static void test_client_timer_close(void **state) {
  static const trace_expect_t want = {"Hi, beyondyyh", 13, 0, 1.0};
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  proc_t *dump = malloc(sizeof(*dump));
  char path[64], port_s[16];
  const char *args[] = {"--client", "--host",        "127.0.0.1", "--port",
                        port_s,     "--close-after", "1",         NULL};
  int port;
  (void)state;

  port = start_server(server, "127.0.0.1", NULL);
  snprintf(port_s, sizeof(port_s), "%d", port);
  capture_path(path, sizeof(path), "timer");
  if (start_capture(dump, path, port) != 0)
    fail_msg("tcpdump: %s", dump->err);
  proc_start(client, args);
  /* The capture is checked first, as it tells most about a fault; the
   * exit status and logs after it. */
  run_until(is_finished, client, NULL, PROC_TIMEOUT_MS);
  run_until(err_has, server, "Error reading TCP session", 2000);
  stop_capture(dump);
  check_capture(path, port, &want);
  wait_exit(client, 0);
  wait_log(server, "Error reading TCP session: EOF\n");
  stop_server(server, SIGINT);
  free(server);
  free(client);
  free(dump);
}

/* How long the server may take to exit after SIGTERM here: its FIN and the
 * client's take milliseconds; the rest is for a loaded machine or valgrind.
 * Far below the --drain-timeout set below, so that a server that sends no
 * FIN and waits out its timeout fails. */
#define DRAIN_BOUND_MS 15000

/* SIGTERM on the server with the session open: the server's FIN comes
 * first, at once; the client reads EOF, closes, and its FIN follows. */
static void test_server_sigterm_close(void **state) {
  static const trace_expect_t want = {"Hi, beyondyyh", 13, 1, 0};
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  proc_t *dump = malloc(sizeof(*dump));
  char path[64], port_s[16];
  const char *args[] = {"-c",   "-H", "127.0.0.1", "-p",
                        port_s, "-t", "30",        NULL};
  const char *drain[] = {"--drain-timeout", "60", NULL};
  int port;
  (void)state;

  port = start_server(server, "127.0.0.1", drain);
  snprintf(port_s, sizeof(port_s), "%d", port);
  capture_path(path, sizeof(path), "sigterm");
  if (start_capture(dump, path, port) != 0)
    fail_msg("tcpdump: %s", dump->err);
  proc_start(client, args);
  wait_log(client, "reading data from server: Hi, beyondyyh\n");
  stop(server, SIGTERM);
  if (!run_until(is_finished, server, NULL, DRAIN_BOUND_MS)) {
    stop_capture(dump);
    remove(path);
    fail_msg("the server was still draining %d ms after SIGTERM (drain "
             "timeout 60 s): no FIN, or it waits out the timeout:\n%s",
             DRAIN_BOUND_MS, server->err);
  }
  run_until(is_finished, client, NULL, PROC_TIMEOUT_MS);
  stop_capture(dump);
  check_capture(path, port, &want);
  wait_exit(server, 0);
  wait_exit(client, 1);
  free(server);
  free(client);
  free(dump);
}

/* Returns NULL if a capture can run here, else why not. */
static const char *capture_unavailable(void) {
  static char why[512];
  proc_t *probe;
  int ok;

  if (!runs_on_linux())
    return "the capture test runs on Linux only (loopback is \"lo\")";
  probe = malloc(sizeof(*probe));
  if (probe == NULL)
    return "out of memory";
  {
    const char *argv[] = {"tcpdump", "--version", NULL};
    uv_process_options_t o;
    uv_process_t h;
    memset(&o, 0, sizeof(o));
    o.file = argv[0];
    o.args = (char **)argv;
    if (uv_spawn(loop, &h, &o) != 0) {
      uv_close((uv_handle_t *)&h, NULL);
      uv_run(loop, UV_RUN_DEFAULT);
      free(probe);
      return "tcpdump is not installed (Debian: apt-get install tcpdump)";
    }
    uv_close((uv_handle_t *)&h, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
  }
  ok = start_capture(probe, "/dev/null", 9) == 0;
  if (ok) {
    stop(probe, SIGINT);
    wait_exit(probe, 0);
    free(probe);
    return NULL;
  }
  run_until(is_finished, probe, NULL, PROC_TIMEOUT_MS);
  snprintf(why, sizeof(why),
           "tcpdump cannot capture on lo (needs root or CAP_NET_RAW): %.300s",
           probe->err);
  free(probe);
  return why;
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_client_timer_close, proc_kill_all),
      cmocka_unit_test_teardown(test_server_sigterm_close, proc_kill_all),
  };
  const char *why;
  const char *require = getenv("TCPECHO_REQUIRE_CAPTURE");
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH_TO_TCPECHO\n", argv[0]);
    return 2;
  }
  loop = uv_default_loop();
  proc_setup(loop, argv[1], NULL);
  why = capture_unavailable();
  if (why != NULL) {
    int required = require != NULL && strcmp(require, "1") == 0;
    fprintf(stderr, "%s: %s\n", required ? "FAILED" : "SKIPPED", why);
    uv_loop_close(loop);
    return required ? 1 : SKIP_STATUS;
  }
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
  return rc;
}
