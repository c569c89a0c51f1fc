/* systemd's socket activation, end to end (Linux): the built tcpecho
 * started by systemd-socket-activate, which listens on a free loopback
 * port and execs the server on the first connection with the socket as
 * descriptor 3. The server echoes every byte through it, says the socket
 * came from the service manager, drains on SIGTERM; with --threads 2 both
 * loops serve; --host and --port are ignored, and said to be. One UDP
 * socket, or two TCP sockets, make it exit 1 naming what was passed.
 *
 * Usage: test_socket_activation TCPECHO manager | environment
 *   manager      the tests above; exit status 77 (skipped) when
 *                systemd-socket-activate is not installed, a failure
 *                with TCPECHO_REQUIRE_SOCKET_ACTIVATION=1 (as in CI)
 *   environment  the variables without a service manager, set by env or
 *                sh: another process's are ignored (the server binds as
 *                usual, logging exactly what it logs without them), and
 *                values that cannot be are refused with exit status 1 */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SKIP_STATUS 77
#define TOOL "systemd-socket-activate"
#define FROM_MANAGER " (socket from the service manager)"
#define HANDOFF "one listener hands connections to the loops in turn"

/* ---- Ports and launching ------------------------------------------------ */

static void on_closed(uv_handle_t *h) {
  (void)h;
}

/* A loopback port free for TCP (udp 0) or UDP just now: the kernel's pick
 * for port 0, released. The tool takes no port 0; a race for the port is
 * caught by start_activated, which tries again. */
static int free_port(int udp) {
  struct sockaddr_in addr;
  struct sockaddr_storage got;
  int len = (int)sizeof(got);
  uv_handle_t *h;
  uv_tcp_t tcp;
  uv_udp_t sock;

  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  if (udp) {
    assert_int_equal(uv_udp_init(suite_loop(), &sock), 0);
    assert_int_equal(uv_udp_bind(&sock, (struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_udp_getsockname(&sock, (struct sockaddr *)&got, &len),
                     0);
    h = (uv_handle_t *)&sock;
  } else {
    assert_int_equal(uv_tcp_init(suite_loop(), &tcp), 0);
    assert_int_equal(uv_tcp_bind(&tcp, (struct sockaddr *)&addr, 0), 0);
    assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&got, &len),
                     0);
    h = (uv_handle_t *)&tcp;
  }
  uv_close(h, on_closed);
  uv_run(suite_loop(), UV_RUN_NOWAIT);
  return ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static int logged_or_exited(proc_t *p, const void *needle) {
  return strstr(p->err, needle) != NULL || is_finished(p, NULL);
}

/* The tool's own line once it listens on port on descriptor fd. */
static void listening_line(char *buf, size_t size, int port, int fd) {
  snprintf(buf, size, "Listening on 127.0.0.1:%d as %d.", port, fd);
}

/* Starts `systemd-socket-activate [-d] -l 127.0.0.1:P [-l 127.0.0.1:Q
 * --fdname=...] tcpecho args...` on free ports P (and Q with two) and waits
 * until it listens; tries again with other ports if one was taken
 * meanwhile. Returns P; Q in *second. */
static int start_activated(proc_t *p, int udp, int two, const char **args,
                           int *second) {
  char first_addr[32], second_addr[32], want[64];
  int attempt;

  for (attempt = 1; attempt <= 5; attempt++) {
    const char *launcher[10] = {TOOL};
    int n = 1, port = free_port(udp), port2 = two ? free_port(udp) : 0;

    if (udp)
      launcher[n++] = "-d";
    snprintf(first_addr, sizeof(first_addr), "127.0.0.1:%d", port);
    launcher[n++] = "-l";
    launcher[n++] = first_addr;
    if (two) {
      snprintf(second_addr, sizeof(second_addr), "127.0.0.1:%d", port2);
      launcher[n++] = "-l";
      launcher[n++] = second_addr;
      launcher[n++] = "--fdname=echo:other";
    }
    launcher[n] = NULL;
    proc_start_via(p, launcher, args);
    listening_line(want, sizeof(want), two ? port2 : port, two ? 4 : 3);
    if (!run_until(logged_or_exited, p, want, PROC_TIMEOUT_MS))
      fail_msg(TOOL " did not start listening:\n%s", p->err);
    if (strstr(p->err, want) != NULL) {
      if (second != NULL)
        *second = port2;
      return port;
    }
    print_message("  " TOOL " could not listen (attempt %d):\n%s", attempt,
                  p->err);
  }
  fail_msg(TOOL " could not listen on a free port in 5 attempts");
  return -1;
}

/* The start line, whole: "listening on 127.0.0.1:PORT<rest>" ending the
 * line, where rest says how the server got its socket. */
static void expect_start_line(proc_t *p, int port, const char *rest) {
  char want[256];
  snprintf(want, sizeof(want), "listening on 127.0.0.1:%d%s\n", port, rest);
  if (!run_until(logged_or_exited, p, want, PROC_TIMEOUT_MS) ||
      strstr(p->err, want) == NULL)
    fail_msg("no start line '%.*s' in the log:\n%s", (int)strlen(want) - 1,
             want, p->err);
}

/* n verifying connections of 2..8 KiB each to port, all echoed while all
 * are open, then half-closed: every byte back, then EOF. Returns the bytes
 * sent in all. */
static uint64_t echo_through(int port, unsigned n, uint64_t salt) {
  load_t *l = load_new(port, n, salt);
  range_t all = range_of(l, 0, n);
  uint64_t sent = 0;
  unsigned i;

  for (i = 0; i < n; i++) {
    conn_t *c = &l->conns[i];
    c->to_send = 2 * KiB + conn_random(c) % (6 * KiB);
    c->chunk_max = 4 * KiB;
    sent += c->to_send;
  }
  load_connect(l, n);
  if (!wait_for(range_echoed, &all, 30000))
    fail_msg("%u of %u connections echoed within 30 s", range_answered(&all),
             n);
  for (i = 0; i < n; i++)
    expect_all_echoed(&l->conns[i]);
  for (i = 0; i < n; i++)
    conn_finish(&l->conns[i]);
  if (!wait_for(range_closed, &all, 20000))
    fail_msg("%u of %u connections got their EOF", l->closed_count, n);
  for (i = 0; i < n; i++)
    expect_echo_then_eof(&l->conns[i], l->conns[i].to_send);
  load_free();
  return sent;
}

/* SIGTERM: a clean exit with the summary of n sessions and sent bytes. */
static void expect_summary(proc_t *p, unsigned n, uint64_t sent) {
  summary_t s;
  assert_true(finish_server(p, &s, NULL));
  expect_eq("sessions served", s.served, n);
  expect_eq("bytes echoed", s.echoed, sent);
  expect_eq("errors", s.errors, 0);
}

/* ---- Under systemd-socket-activate -------------------------------------- */

#define ECHO_CONNS 20

static void test_echo_through_passed_socket(void **state) {
  const char *args[] = {"--server", "--quiet", NULL};
  proc_t *srv = new_server(0);
  uint64_t sent;
  int port;
  (void)state;

  port = start_activated(srv, 0, 0, args, NULL);
  /* The first connection makes the tool exec the server. */
  sent = echo_through(port, ECHO_CONNS, 1);
  expect_start_line(srv, port, FROM_MANAGER);
  if (strstr(srv->err, "ignoring") != NULL)
    fail_msg("nothing to ignore without --host or --port:\n%s", srv->err);
  expect_summary(srv, ECHO_CONNS, sent);
}

#define THREADED_CONNS 40

/* Handoff: the first loop accepts and hands every other connection over. */
static void test_threads_under_activation(void **state) {
  const char *args[] = {"--server", "--quiet", "--threads", "2", NULL};
  proc_t *srv = new_server(0);
  summary_t loops[2];
  uint64_t sent;
  unsigned k;
  int port;
  (void)state;

  port = start_activated(srv, 0, 0, args, NULL);
  sent = echo_through(port, THREADED_CONNS, 2);
  expect_start_line(srv, port,
                    " with 2 threads (socket from the service manager; " HANDOFF
                    ")");
  expect_summary(srv, THREADED_CONNS, sent);
  if (count_loop_summaries(srv->err) != 2)
    fail_msg("want a summary line for each of the 2 loops:\n%s", srv->err);
  for (k = 1; k <= 2; k++) {
    assert_true(parse_loop_summary(srv->err, k, &loops[k - 1]));
    print_message("  loop %u: served %llu, echoed %llu\n", k,
                  loops[k - 1].served, loops[k - 1].echoed);
    /* Handed out in turn: half each, give or take. */
    if (loops[k - 1].served < THREADED_CONNS / 4)
      fail_msg("loop %u served %llu of %u sessions", k, loops[k - 1].served,
               THREADED_CONNS);
  }
  expect_eq("sessions served by both loops", loops[0].served + loops[1].served,
            THREADED_CONNS);
}

/* The passed socket wins over --host and --port, which would not even
 * bind (TEST-NET-1 is no address of this host); a line says so. */
static void test_host_and_port_ignored(void **state) {
  const char *args[] = {"--server", "--quiet", "--host", "192.0.2.1",
                        "--port",   "9",       NULL};
  proc_t *srv = new_server(0);
  uint64_t sent;
  int port;
  (void)state;

  port = start_activated(srv, 0, 0, args, NULL);
  sent = echo_through(port, 1, 3);
  expect_start_line(srv, port, FROM_MANAGER);
  if (!has_line_with(srv->err,
                     "ignoring --host and --port: the service manager passed "
                     "the socket",
                     NULL))
    fail_msg("no line saying --host and --port are ignored:\n%s", srv->err);
  expect_summary(srv, 1, sent);
}

static void send_datagram(int port) {
  struct sockaddr_in to;
  uv_udp_t sock;
  uv_buf_t buf = uv_buf_init("x", 1);

  assert_int_equal(uv_ip4_addr("127.0.0.1", port, &to), 0);
  assert_int_equal(uv_udp_init(suite_loop(), &sock), 0);
  assert_int_equal(uv_udp_try_send(&sock, &buf, 1, (struct sockaddr *)&to), 1);
  uv_close((uv_handle_t *)&sock, on_closed);
  uv_run(suite_loop(), UV_RUN_NOWAIT);
}

/* Not served: one line naming what came, exit status 1. */
static void expect_refused(proc_t *p, const char *line) {
  wait_exit(p, 1);
  if (strstr(p->err, line) == NULL)
    fail_msg("no line '%s' in the log:\n%s", line, p->err);
  if (strstr(p->err, "listening on") != NULL)
    fail_msg("the server must not start:\n%s", p->err);
}

static void test_datagram_socket_refused(void **state) {
  const char *args[] = {"--server", NULL};
  proc_t *srv = new_server(0);
  char want[256];
  int port;
  (void)state;

  port = start_activated(srv, 1, 0, args, NULL);
  send_datagram(port);
  snprintf(want, sizeof(want),
           "socket activation: 1 socket passed (fd 3: UDP 127.0.0.1:%d): "
           "tcpecho --server serves exactly one TCP socket\n",
           port);
  expect_refused(srv, want);
}

static void test_two_sockets_refused(void **state) {
  const char *args[] = {"--server", NULL};
  proc_t *srv = new_server(0);
  load_t *l;
  char want[256];
  int port, port2;
  (void)state;

  port = start_activated(srv, 0, 1, args, &port2);
  l = load_new(port, 1, 4);
  l->conns[0].to_send = 0;
  load_connect(l, 1);
  snprintf(want, sizeof(want),
           "socket activation: 2 sockets passed (fd 3 (echo): TCP "
           "127.0.0.1:%d, fd 4 (other): TCP 127.0.0.1:%d): tcpecho --server "
           "serves exactly one TCP socket\n",
           port, port2);
  expect_refused(srv, want);
}

/* ---- The variables without a service manager ---------------------------- */

static int start_line_seen(proc_t *p, const void *unused) {
  (void)unused;
  return is_finished(p, NULL) || has_line_with(p->err, "listening on", NULL);
}

/* A parent's variables, inherited: LISTEN_PID is not the server's, so it
 * binds --host and --port and logs just what it logs without them. */
static void test_other_process_variables_ignored(void **state) {
  const char *launcher[] = {"env", "LISTEN_PID=1", "LISTEN_FDS=1",
                            "LISTEN_FDNAMES=tcpecho.socket", NULL};
  const char *args[] = {"--server", "--quiet", "--host", "127.0.0.1",
                        "--port",   "0",       NULL};
  char summary[256];
  const char *want[] = {"listening on 127.0.0.1:*",
                        "TCP session open from 127.0.0.1:*",
                        "Error reading TCP session: EOF",
                        "shutting down on SIGTERM: closing 0 TCP sessions",
                        summary,
                        NULL};
  proc_t *srv = new_server(0);
  const char *line = NULL;
  uint64_t sent;
  (void)state;

  proc_start_via(srv, launcher, args);
  if (!run_until(start_line_seen, srv, NULL, PROC_TIMEOUT_MS) ||
      (line = strstr(srv->err, "listening on 127.0.0.1:")) == NULL)
    fail_msg("the server did not bind as usual:\n%s", srv->err);
  sent = echo_through(atoi(line + strlen("listening on 127.0.0.1:")), 1, 5);
  expect_summary(srv, 1, sent);
  snprintf(summary, sizeof(summary),
           "served 1 session, echoed %llu bytes, peak 1 concurrent sessions, "
           "0 rejected, 0 dropped (no free descriptor), 0 closed idle, 0 "
           "errors",
           (unsigned long long)sent);
  assert_log(srv->err, want);
}

/* sh sets the variables for its own process ID and execs the server (with
 * the test's wrapper, if any) after redirect: what descriptor 3 is. */
static void start_with(proc_t *p, const char *pid, const char *fds,
                       const char *redirect) {
  char script[256];
  const char *launcher[] = {"sh", "-c", script, "sh", NULL};
  const char *args[] = {"--server", NULL};
  snprintf(script, sizeof(script), "LISTEN_PID=%s LISTEN_FDS=%s exec \"$@\" %s",
           pid, fds, redirect);
  proc_start_via(p, launcher, args);
}

static void test_bad_values_refused(void **state) {
  proc_t *srv = new_server(0);
  (void)state;

  start_with(srv, "$$", "x", "3<&-");
  expect_refused(srv, "socket activation: invalid LISTEN_FDS 'x': expected "
                      "a number of sockets from 1 to 16\n");
  start_with(srv, "$$", "0", "3<&-");
  expect_refused(srv, "socket activation: invalid LISTEN_FDS '0': expected "
                      "a number of sockets from 1 to 16\n");
  start_with(srv, "-$$", "1", "3<&-");
  expect_refused(srv, "socket activation: invalid LISTEN_PID '-");
  start_with(srv, "$$", "1", "3<&-");
  expect_refused(srv, "socket activation: LISTEN_FDS is 1 but descriptor 3 "
                      "is not open\n");
  start_with(srv, "$$", "1", "3</dev/null");
  expect_refused(srv, "socket activation: 1 socket passed (fd 3: not a "
                      "socket): tcpecho --server serves exactly one TCP "
                      "socket\n");
}

/* ---- main --------------------------------------------------------------- */

static int tool_installed(void) {
  const char *path = getenv("PATH");
  char dir[1024], file[1100];
  while (path != NULL && *path != '\0') {
    size_t len = strcspn(path, ":");
    snprintf(dir, sizeof(dir), "%.*s", (int)len, path);
    snprintf(file, sizeof(file), "%s/%s", len > 0 ? dir : ".", TOOL);
    if (access(file, X_OK) == 0)
      return 1;
    path += len + (path[len] == ':');
  }
  return 0;
}

int main(int argc, char **argv) {
  static const suite_test_t manager[] = {
      SUITE_TEST(test_echo_through_passed_socket),
      SUITE_TEST(test_threads_under_activation),
      SUITE_TEST(test_host_and_port_ignored),
      SUITE_TEST(test_datagram_socket_refused),
      SUITE_TEST(test_two_sockets_refused),
  };
  static const suite_test_t environment[] = {
      SUITE_TEST(test_other_process_variables_ignored),
      SUITE_TEST(test_bad_values_refused),
  };
  const char *require = getenv("TCPECHO_REQUIRE_SOCKET_ACTIVATION");

  if (argc != 3 || (strcmp(argv[2], "manager") != 0 &&
                    strcmp(argv[2], "environment") != 0)) {
    fprintf(stderr, "usage: %s TCPECHO manager | environment\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[2], "environment") == 0)
    return suite_main(2, argv, "socket activation: environment", environment,
                      sizeof(environment) / sizeof(environment[0]));
  if (!tool_installed()) {
    int required = require != NULL && strcmp(require, "1") == 0;
    fprintf(stderr, "%s: " TOOL " is not installed (Debian: systemd)\n",
            required ? "FAILED" : "SKIPPED");
    return required ? 1 : SKIP_STATUS;
  }
  return suite_main(2, argv, "socket activation: service manager", manager,
                    sizeof(manager) / sizeof(manager[0]));
}
