/* End-to-end tests of the built binary: the tutorial's session between a
 * real server and client process, signals, exit statuses and usage errors.
 * Usage: test_cli PATH_TO_TCPECHO */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "container_of.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define OUT_SIZE 65536
#define TIMEOUT_MS 20000

static const char *tcpecho_path;
static uv_loop_t *loop;

typedef struct proc_s {
  uv_process_t process;
  uv_pipe_t out_pipe;
  uv_pipe_t err_pipe;
  char out[OUT_SIZE];
  size_t out_len;
  char err[OUT_SIZE];
  size_t err_len;
  int open; /* handles not yet closed */
  int exited;
  int64_t exit_status;
  int term_signal;
  uint64_t started_ms;
  uint64_t exited_ms;
} proc_t;

static void on_proc_handle_closed(uv_handle_t *h) {
  proc_t *p = h->data;
  p->open--;
}

static void on_exit_cb(uv_process_t *process, int64_t status, int signal) {
  proc_t *p = container_of(process, proc_t, process);
  p->exited = 1;
  p->exit_status = status;
  p->term_signal = signal;
  p->exited_ms = uv_now(loop);
  uv_close((uv_handle_t *)process, on_proc_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  proc_t *p = h->data;
  (void)suggested;
  if (h == (uv_handle_t *)&p->out_pipe)
    *buf = uv_buf_init(p->out + p->out_len,
                       (unsigned int)(OUT_SIZE - 1 - p->out_len));
  else
    *buf = uv_buf_init(p->err + p->err_len,
                       (unsigned int)(OUT_SIZE - 1 - p->err_len));
}

static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  proc_t *p = s->data;
  (void)buf;
  if (n > 0) {
    size_t *len = s == (uv_stream_t *)&p->out_pipe ? &p->out_len : &p->err_len;
    *len += (size_t)n;
    (s == (uv_stream_t *)&p->out_pipe ? p->out : p->err)[*len] = '\0';
    if (*len == OUT_SIZE - 1)
      fail_msg("process output too large");
  } else if (n < 0) {
    uv_close((uv_handle_t *)s, on_proc_handle_closed);
  }
}

/* Words of TCPECHO_TEST_WRAPPER, e.g. "valgrind --error-exitcode=99", run
 * in front of every tcpecho started here. */
static char *wrapper_words[16];
static int wrapper_count;

static void read_wrapper(void) {
  static char buf[1024];
  const char *env = getenv("TCPECHO_TEST_WRAPPER");
  char *w;
  if (env == NULL || strlen(env) >= sizeof(buf))
    return;
  strcpy(buf, env);
  for (w = strtok(buf, " "); w != NULL && wrapper_count < 15;
       w = strtok(NULL, " "))
    wrapper_words[wrapper_count++] = w;
}

/* Starts tcpecho with args (NULL-terminated, without argv[0]). */
static void proc_start(proc_t *p, const char **args) {
  char *argv[48];
  uv_process_options_t opts;
  uv_stdio_container_t stdio[3];
  int i, n = 0, err;

  memset(p, 0, sizeof(*p));
  for (i = 0; i < wrapper_count; i++)
    argv[n++] = wrapper_words[i];
  argv[n++] = (char *)tcpecho_path;
  for (i = 0; args[i] != NULL; i++)
    argv[n++] = (char *)args[i];
  argv[n] = NULL;

  uv_pipe_init(loop, &p->out_pipe, 0);
  uv_pipe_init(loop, &p->err_pipe, 0);
  p->out_pipe.data = p->err_pipe.data = p->process.data = p;
  stdio[0].flags = UV_IGNORE;
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&p->out_pipe;
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&p->err_pipe;
  memset(&opts, 0, sizeof(opts));
  opts.file = argv[0];
  opts.args = argv;
  opts.exit_cb = on_exit_cb;
  opts.stdio = stdio;
  opts.stdio_count = 3;
  p->started_ms = uv_now(loop);
  err = uv_spawn(loop, &p->process, &opts);
  if (err != 0)
    fail_msg("spawn %s: %s", tcpecho_path, uv_strerror(err));
  p->open = 3;
  uv_read_start((uv_stream_t *)&p->out_pipe, on_alloc, on_pipe_read);
  uv_read_start((uv_stream_t *)&p->err_pipe, on_alloc, on_pipe_read);
}

static void on_tick(uv_timer_t *t) {
  (void)t; /* only wakes the loop so deadlines are checked */
}

/* Runs the loop until pred holds or the deadline passes. */
static int run_until(int (*pred)(proc_t *, const void *), proc_t *p,
                     const void *arg, uint64_t timeout_ms) {
  uv_timer_t tick;
  uint64_t deadline;
  int ok;

  uv_update_time(loop);
  deadline = uv_now(loop) + timeout_ms;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  while (!(ok = pred(p, arg)) && uv_now(loop) < deadline)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

static int is_finished(proc_t *p, const void *arg) {
  (void)arg;
  return p->exited && p->open == 0;
}

static int err_has(proc_t *p, const void *needle) {
  return strstr(p->err, (const char *)needle) != NULL;
}

static void wait_exit(proc_t *p, int64_t want_status) {
  if (!run_until(is_finished, p, NULL, TIMEOUT_MS))
    fail_msg("tcpecho did not exit; stderr so far:\n%s", p->err);
  if (p->term_signal != 0 || p->exit_status != want_status)
    fail_msg("exit status %d (signal %d), want %d; stderr:\n%s",
             (int)p->exit_status, p->term_signal, (int)want_status, p->err);
}

static void wait_log(proc_t *p, const char *needle) {
  if (!run_until(err_has, p, needle, TIMEOUT_MS))
    fail_msg("no '%s' in the log:\n%s", needle, p->err);
}

static void stop(proc_t *p, int signum) {
  assert_int_equal(uv_process_kill(&p->process, signum), 0);
}

/* Checks that every log line has Go's "YYYY/MM/DD HH:MM:SS " prefix and
 * compares the messages with want (NULL-terminated); a "*" at the end of an
 * expected message matches any rest of the line. */
static void assert_log(const char *log, const char **want) {
  const char *line = log;
  int i;
  for (i = 0; want[i] != NULL; i++) {
    const char *nl = strchr(line, '\n');
    size_t len, wlen = strlen(want[i]);
    int y, mo, d, h, mi, s, n = 0;
    if (nl == NULL)
      fail_msg("log ended before '%s':\n%s", want[i], log);
    if (sscanf(line, "%4d/%2d/%2d %2d:%2d:%2d %n", &y, &mo, &d, &h, &mi, &s,
               &n) != 6 ||
        n != 20)
      fail_msg("not Go's log format: %.*s", (int)(nl - line), line);
    line += 20;
    len = (size_t)(nl - line);
    if (wlen > 0 && want[i][wlen - 1] == '*') {
      if (len < wlen - 1 || memcmp(line, want[i], wlen - 1) != 0)
        fail_msg("log line '%.*s', want '%s'", (int)len, line, want[i]);
    } else if (len != wlen || memcmp(line, want[i], len) != 0) {
      fail_msg("log line '%.*s', want '%s'", (int)len, line, want[i]);
    }
    line = nl + 1;
  }
  if (*line != '\0')
    fail_msg("unexpected log lines:\n%s", line);
}

static int listening_or_exited(proc_t *p, const void *needle) {
  const char *at = strstr(p->err, (const char *)needle);
  return (at != NULL && strchr(at, '\n') != NULL) || is_finished(p, NULL);
}

/* Starts a server on host, port 0, and returns the port it logged, or -1 if
 * it exited instead. */
static int try_start_server(proc_t *p, const char *host, const char **extra) {
  const char *args[16] = {"--server", "--host", host, "--port", "0"};
  char needle[128];
  const char *at;
  int i, port;

  for (i = 0; extra != NULL && extra[i] != NULL; i++)
    args[5 + i] = extra[i];
  proc_start(p, args);
  snprintf(needle, sizeof(needle),
           "listening on %s%s%s:", strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "");
  if (!run_until(listening_or_exited, p, needle, TIMEOUT_MS))
    fail_msg("server did not start; stderr so far:\n%s", p->err);
  at = strstr(p->err, needle);
  if (at == NULL)
    return -1;
  port = atoi(at + strlen(needle));
  assert_true(port > 0 && port < 65536);
  return port;
}

static int start_server(proc_t *p, const char *host, const char **extra) {
  int port = try_start_server(p, host, extra);
  if (port < 0)
    fail_msg("server exited: %s", p->err);
  return port;
}

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
  stop(server, SIGINT);
  wait_exit(server, 0);
  snprintf(listening, sizeof(listening), "listening on 127.0.0.1:%d", port);
  {
    const char *want[] = {listening,
                          "TCP session open from 127.0.0.1:*",
                          "reading data from client: Hi, beyondyyh",
                          "Error reading TCP session: EOF",
                          "shutting down on SIGINT: closing 0 TCP sessions",
                          NULL};
    assert_log(server->err, want);
  }
  free(server);
  free(client);
}

/* SIGTERM with a session open: the server closes it and exits 0; the
 * client sees the server close first and exits 1. */
static void test_sigterm_with_open_session(void **state) {
  proc_t *server = malloc(sizeof(*server));
  proc_t *client = malloc(sizeof(*client));
  char port_s[16];
  const char *client_args[] = {"-c",   "-H", "127.0.0.1", "-p",
                               port_s, "-t", "30",        NULL};
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d",
           start_server(server, "127.0.0.1", NULL));
  proc_start(client, client_args);
  wait_log(client, "reading data from server: Hi, beyondyyh\n");
  wait_log(server, "reading data from client: Hi, beyondyyh\n");
  stop(server, SIGTERM);
  wait_exit(server, 0);
  assert_non_null(
      strstr(server->err, "shutting down on SIGTERM: closing 1 TCP session\n"));
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
  stop(server, SIGINT);
  wait_exit(server, 0);
  assert_null(strstr(server->err, "reading data"));
  assert_non_null(strstr(server->err, "Error reading TCP session: EOF"));
  free(server);
  free(client);
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
  stop(server, SIGINT);
  wait_exit(server, 0);
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
  stop(p, SIGINT);
  wait_exit(p, 0);
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
  stop(a, SIGINT);
  wait_exit(a, 0);
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
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_tutorial_session),
      cmocka_unit_test(test_sigterm_with_open_session),
      cmocka_unit_test(test_quiet_and_escaped_data),
      cmocka_unit_test(test_ipv6_session),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_port_in_use),
      cmocka_unit_test(test_unknown_host),
  };
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH_TO_TCPECHO\n", argv[0]);
    return 2;
  }
  tcpecho_path = argv[1];
  read_wrapper();
  loop = uv_default_loop();
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
  return rc;
}
