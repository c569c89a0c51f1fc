/* End-to-end tests of the client modes: ping (--count/--forever), the
 * stdin pipe (--stdin) and the load generator (--bench), against tcpecho's
 * own server and against a deliberately broken echo server run by this test
 * (it flips, drops or adds a byte, closes early or stops echoing), each
 * fault of which must be detected and fail the run.
 * Usage: test_modes PATH_TO_TCPECHO */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/platform.h"
#include "fake_server.h"
#include "proc.h"
#include "server_log.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;

/* The faults of test/support/fake_server.h, FLIP..STALL, by name. */
static const char *const fault_names[] = {"flip", "drop", "extra", "close",
                                          "stall"};

/* --- helpers ------------------------------------------------------------ */

static double json_number(const char *json, const char *key) {
  char pattern[64];
  const char *at;
  if (json == NULL)
    fail_msg("no object to find %s in", key);
  snprintf(pattern, sizeof(pattern), "\"%s\":", key);
  at = strstr(json, pattern);
  if (at == NULL)
    fail_msg("no %s in %s", key, json);
  return strtod(at + strlen(pattern), NULL);
}

static int start_tcpecho(proc_t *server, char *port_s, size_t size) {
  const char *quiet[] = {"--quiet", NULL};
  int port = start_server(server, "127.0.0.1", quiet);
  snprintf(port_s, size, "%d", port);
  return port;
}

/* --- ping ---------------------------------------------------------------- */

static void test_ping(void **state) {
  proc_t *server = malloc(sizeof(*server)), *ping = malloc(sizeof(*ping));
  char port_s[16];
  const char *args[] = {"-c", "-H", "127.0.0.1", "-p",   port_s,
                        "-n", "3",  "-i",        "0.05", NULL};
  const char *big[] = {"-c", "-H", "127.0.0.1", "-p", port_s,  "-n",
                       "2",  "-i", "0",         "-S", "70000", NULL};
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(ping, args);
  wait_exit(ping, 0);
  assert_non_null(strstr(ping->out, "PING 127.0.0.1:"));
  assert_non_null(strstr(ping->out, "13 bytes from 127.0.0.1:"));
  assert_non_null(strstr(ping->out, ": seq=1 time="));
  assert_non_null(strstr(ping->out, ": seq=3 time="));
  assert_null(strstr(ping->out, ": seq=4 time="));
  assert_non_null(strstr(ping->out, "3 sent, 3 received, 0.0% loss"));
  assert_non_null(strstr(ping->out, "rtt min/avg/max/mdev = "));
  assert_non_null(strstr(ping->out, "connect "));
  proc_start(ping, big);
  wait_exit(ping, 0);
  assert_non_null(strstr(ping->out, "70000 bytes from"));
  assert_non_null(strstr(ping->out, "2 sent, 2 received"));
  stop_server(server, SIGINT);
  free(server);
  free(ping);
}

static int out_has(proc_t *p, const void *needle) {
  return strstr(p->out, needle) != NULL;
}

static void test_ping_forever_interrupted(void **state) {
  proc_t *server = malloc(sizeof(*server)), *ping = malloc(sizeof(*ping));
  char port_s[16];
  const char *args[] = {"-c",        "-H", "127.0.0.1", "-p", port_s,
                        "--forever", "-i", "0.05",      "-q", NULL};
  (void)state;

  if (!proc_signal_graceful(SIGINT)) {
    free(server);
    free(ping);
    skip();
  }
  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(ping, args);
  /* Connected (its first line): the summary is owed from then on, however
   * slowly it started (valgrind). */
  if (!run_until(out_has, ping, "PING ", PROC_TIMEOUT_MS))
    fail_msg("ping did not connect; stdout:\n%s", ping->out);
  {
    uint64_t until = uv_now(loop) + 400;
    while (uv_now(loop) < until)
      run_until(is_finished, ping, NULL, until - uv_now(loop));
  }
  stop(ping, SIGINT);
  wait_exit(ping, 0);
  assert_non_null(strstr(ping->out, "statistics ---"));
  assert_non_null(strstr(ping->out, "0.0% loss"));
  assert_null(strstr(ping->out, " bytes from ")); /* --quiet */
  stop_server(server, SIGINT);
  free(server);
  free(ping);
}

/* Each fault in the second round trip: reported for seq 2 with what went
 * wrong, and the summary counts that round trip as sent, not received. */
static void test_ping_detects_faults(void **state) {
  static const char *const report[] = {
      "seq=2: echo differs from what was sent at byte ",
      "seq=2: echo differs from what was sent at byte ",
      "seq=2: echo differs from what was sent at byte ",
      "seq=2: the server closed the connection\n",
      "seq=2: no echo within 1 s (1000 of 3000 bytes)\n"};
  proc_t *ping = malloc(sizeof(*ping));
  fake_server_t *b = malloc(sizeof(*b));
  char port_s[16];
  const char *args[] = {"-c", "-H", "127.0.0.1", "-p",   port_s, "-n", "4",
                        "-i", "0",  "-S",        "3000", "-W",   "1",  NULL};
  int f;
  (void)state;

  for (f = FAKE_FLIP; f <= FAKE_STALL; f++) {
    fake_server_start(b, loop, (fake_fault_t)f,
                      4000); /* in the second round trip */
    snprintf(port_s, sizeof(port_s), "%d", b->port);
    proc_start(ping, args);
    wait_exit(ping, 1);
    if (strstr(ping->out, report[f]) == NULL &&
        !(f == FAKE_EXTRA && strstr(ping->out, "seq=2: 1 bytes more than "
                                               "were sent\n") != NULL))
      fail_msg("fault %s not reported as '%s':\n%s", fault_names[f], report[f],
               ping->out);
    assert_non_null(strstr(ping->out, "seq=1 time="));
    assert_null(strstr(ping->out, "seq=2 time="));
    if (strstr(ping->out, "\n2 sent, 1 received, 50.0% loss, time ") == NULL)
      fail_msg("fault %s: wrong summary:\n%s", fault_names[f], ping->out);
    assert_null(strstr(ping->out, "seq=3"));
    fake_server_stop(b);
  }
  free(ping);
  free(b);
}

/* --- stdin ---------------------------------------------------------------- */

static void write_file(const char *path, size_t len) {
  FILE *f = fopen(path, "wb");
  size_t i;
  unsigned x = 12345;
  assert_non_null(f);
  for (i = 0; i < len; i++) {
    x = x * 1103515245u + 12345u;
    fputc((x >> 16) % 5 == 0 ? 0 : (int)((x >> 8) & 0xff), f);
  }
  fclose(f);
}

static void assert_same_files(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  long pos = 0;
  int ca, cb;
  assert_non_null(fa);
  assert_non_null(fb);
  do {
    ca = fgetc(fa);
    cb = fgetc(fb);
    if (ca != cb)
      fail_msg("%s and %s differ at byte %ld", a, b, pos);
    pos++;
  } while (ca != EOF);
  fclose(fa);
  fclose(fb);
}

static int open_fd(const char *path, int flags) {
  uv_fs_t req;
  int fd = uv_fs_open(NULL, &req, path, flags, 0644, NULL);
  uv_fs_req_cleanup(&req);
  assert_true(fd >= 0);
  return fd;
}

static void close_fd(int fd) {
  uv_fs_t req;
  uv_fs_close(NULL, &req, fd, NULL);
  uv_fs_req_cleanup(&req);
}

static void test_stdin_pipe_is_byte_exact(void **state) {
  proc_t *server = malloc(sizeof(*server)), *pipe = malloc(sizeof(*pipe));
  char port_s[16];
  const char *args[] = {"-c", "-H", "127.0.0.1", "-p", port_s, "--stdin", NULL};
  int in, out;
  (void)state;

  write_file("modes-in.bin", 6 * 1024 * 1024 + 3);
  start_tcpecho(server, port_s, sizeof(port_s));
  in = open_fd("modes-in.bin", UV_FS_O_RDONLY);
  out =
      open_fd("modes-out.bin", UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC);
  proc_start_io(pipe, args, in, out);
  close_fd(in);
  close_fd(out);
  wait_exit(pipe, 0);
  assert_same_files("modes-in.bin", "modes-out.bin");
  assert_non_null(strstr(pipe->err, "sent 6291459 bytes, 6291459 echoed back"));
  stop_server(server, SIGINT);
  remove("modes-in.bin");
  remove("modes-out.bin");
  free(server);
  free(pipe);
}

static void test_stdin_detects_faults(void **state) {
  proc_t *pipe = malloc(sizeof(*pipe));
  fake_server_t *b = malloc(sizeof(*b));
  char port_s[16];
  const char *args[] = {"-c", "-H", "127.0.0.1", "-p", port_s, "--stdin", NULL};
  int in, out;
  (void)state;

  write_file("modes-in2.bin", 300000);
  fake_server_start(b, loop, FAKE_CLOSE, 100000);
  snprintf(port_s, sizeof(port_s), "%d", b->port);
  in = open_fd("modes-in2.bin", UV_FS_O_RDONLY);
  out =
      open_fd("modes-out2.bin", UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC);
  proc_start_io(pipe, args, in, out);
  close_fd(in);
  close_fd(out);
  wait_exit(pipe, 1);
  assert_non_null(strstr(pipe->err, "INCOMPLETE"));
  fake_server_stop(b);

  /* A changed byte: found by comparing the echo with what was sent. */
  fake_server_start(b, loop, FAKE_FLIP, 100000);
  snprintf(port_s, sizeof(port_s), "%d", b->port);
  in = open_fd("modes-in2.bin", UV_FS_O_RDONLY);
  out =
      open_fd("modes-out2.bin", UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC);
  proc_start_io(pipe, args, in, out);
  close_fd(in);
  close_fd(out);
  wait_exit(pipe, 1);
  assert_non_null(
      strstr(pipe->err, "the echo differs from what was sent at byte 100000"));
  fake_server_stop(b);

  /* Part of the echo, then the server's FIN once it has the relay's: the
   * input has ended, and the run still fails. */
  fake_server_start(b, loop, FAKE_STALL, 100000);
  snprintf(port_s, sizeof(port_s), "%d", b->port);
  in = open_fd("modes-in2.bin", UV_FS_O_RDONLY);
  out =
      open_fd("modes-out2.bin", UV_FS_O_WRONLY | UV_FS_O_CREAT | UV_FS_O_TRUNC);
  proc_start_io(pipe, args, in, out);
  close_fd(in);
  close_fd(out);
  wait_exit(pipe, 1);
  assert_non_null(
      strstr(pipe->err, "sent 300000 bytes, 100000 echoed back: INCOMPLETE"));
  fake_server_stop(b);
  remove("modes-in2.bin");
  remove("modes-out2.bin");
  free(pipe);
  free(b);
}

static int has_exited(proc_t *p, const void *arg) {
  (void)arg;
  return p->exited;
}

static void on_written(uv_write_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

static void test_stdin_interrupted(void **state) {
  proc_t *server = malloc(sizeof(*server)), *pipe = malloc(sizeof(*pipe));
  char port_s[16];
  const char *args[] = {"-c", "-H", "127.0.0.1", "-p", port_s, "--stdin", NULL};
  uv_write_t req;
  uv_buf_t buf = uv_buf_init("hello", 5);
  (void)state;

  if (!proc_signal_graceful(SIGINT)) {
    free(server);
    free(pipe);
    skip();
  }
  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start_io(pipe, args, PROC_PIPE, PROC_DEFAULT);
  assert_int_equal(
      uv_write(&req, (uv_stream_t *)&pipe->in_pipe, &buf, 1, on_written), 0);
  wait_log(pipe, "TCP session open to");
  {
    uint64_t until = uv_now(loop) + 300;
    while (uv_now(loop) < until)
      run_until(is_finished, pipe, NULL, until - uv_now(loop));
  }
  assert_string_equal(pipe->out, "hello"); /* echoed while input is open */
  stop(pipe, SIGINT);
  run_until(has_exited, pipe, NULL, PROC_TIMEOUT_MS);
  proc_close_stdin(pipe); /* ours: the process is gone */
  wait_exit(pipe, 1);     /* the input never ended: not a complete run */
  assert_non_null(strstr(pipe->err, "interrupted"));
  stop_server(server, SIGINT);
  free(server);
  free(pipe);
}

/* --- bench -----------------------------------------------------------------
 */

static void test_bench_verifies_and_reports(void **state) {
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *closed[] = {
      "-b", "-H",  "127.0.0.1", "-p",  port_s,     "-C",  "4",      "-P", "4",
      "-S", "512", "-d",        "0.5", "--warmup", "0.2", "--json", NULL};
  const char *threads[] = {"-b",  "-H",       "127.0.0.1", "-p", port_s,
                           "-C",  "8",        "-T",        "2",  "-d",
                           "0.3", "--warmup", "0",         NULL};
  const char *open_loop[] = {"-b", "-H",       "127.0.0.1", "-p",     port_s,
                             "-C", "2",        "-r",        "1000",   "-d",
                             "1",  "--warmup", "0.2",       "--json", NULL};
  double rate;
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(bench, closed);
  wait_exit(bench, 0);
  assert_true(json_number(bench->out, "total") == 0);
  assert_true(json_number(bench->out, "connected") == 4);
  assert_true(json_number(bench->out, "messages") > 100);
  assert_true(json_number(bench->out, "bytes") ==
              512 * json_number(bench->out, "messages"));
  assert_true(json_number(bench->out, "p50") > 0);
  assert_true(json_number(bench->out, "p99") >= json_number(bench->out, "p50"));

  proc_start(bench, threads);
  wait_exit(bench, 0);
  assert_non_null(strstr(bench->out, "8 connections"));
  assert_non_null(strstr(bench->out, "2 threads"));
  assert_non_null(strstr(bench->out, "every byte verified"));
  assert_non_null(strstr(bench->out, "errors:   0 "));

  proc_start(bench, open_loop);
  wait_exit(bench, 0);
  rate = json_number(bench->out, "msgs_per_s");
  if (rate < 800 || rate > 1200)
    fail_msg("open loop at 1000/s ran at %.0f/s", rate);
  /* Written on schedule: about as many sent as came back, none held back
   * by the cap at 1000/s; the service time (from the write) is never more
   * than the latency from the due time; every connect was timed. */
  rate = json_number(bench->out, "sent_per_s");
  if (rate < 900 || rate > 1100)
    fail_msg("open loop at 1000/s sent %.0f/s", rate);
  assert_true(json_number(bench->out, "late") <=
              json_number(bench->out, "sent"));
  assert_true(json_number(bench->out, "held") == 0);
  /* Any wait to be sent counts in the latency, not in the service; sent
   * on time, the two are the same. */
  assert_true(json_number(strstr(bench->out, "\"service_us\""), "p50") <=
              json_number(bench->out, "p50"));
  assert_true(json_number(strstr(bench->out, "\"service_us\""), "max") <=
              json_number(bench->out, "max"));
  assert_true(json_number(strstr(bench->out, "\"connect_us\""), "p50") > 0);
  stop_server(server, SIGINT);
  free(server);
  free(bench);
}

#ifdef SIGSTOP
static int out_has_text(proc_t *p, const void *needle) {
  return strstr(p->out, needle) != NULL || is_finished(p, NULL);
}

static int never(proc_t *p, const void *unused) {
  (void)p;
  (void)unused;
  return 0;
}
#endif

/* --json-stream's output: every line but the last is a second, in order,
 * its running totals the sums so far, and the seconds add up to the report
 * on the last line (returned in *report). Returns how many seconds, with
 * the worst max latency among them and the second it was in. */
static int check_stream(const char *out, const char **report, double *worst,
                        int *worst_at) {
  double messages = 0, bytes = 0, errors = 0;
  const char *line, *end = out + strlen(out);
  int seconds = 0;

  *worst = 0;
  *worst_at = -1;
  if (end == out || end[-1] != '\n')
    fail_msg("not whole lines:\n%s", out);
  for (end--; end > out && end[-1] != '\n'; end--)
    ;
  if (strncmp(end, "{\"host\":", 8) != 0)
    fail_msg("the report is not the last line:\n%s", out);
  for (line = out; line < end; line = strchr(line, '\n') + 1) {
    if (strncmp(line, "{\"interval\":", 12) != 0 ||
        json_number(line, "interval") != seconds)
      fail_msg("line %d is not second %d:\n%s", seconds + 1, seconds, out);
    messages += json_number(line, "messages");
    bytes += json_number(line, "bytes");
    errors += json_number(line, "errors");
    if (json_number(strstr(line, "\"total\""), "messages") != messages ||
        json_number(strstr(line, "\"total\""), "bytes") != bytes)
      fail_msg("second %d's totals are not the sums so far:\n%s", seconds, out);
    if (json_number(line, "max") > *worst) {
      *worst = json_number(line, "max");
      *worst_at = seconds;
    }
    seconds++;
  }
  if (messages != json_number(end, "messages") ||
      bytes != json_number(end, "bytes") || errors != json_number(end, "total"))
    fail_msg("the seconds do not add up to the report:\n%s", out);
  *report = end;
  return seconds;
}

/* --json-stream on two loops: their seconds add up. */
static void test_bench_json_stream_adds_up(void **state) {
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *loops[] = {
      "-b", "-H",  "127.0.0.1", "-p",  port_s,          "-C", "4", "-T", "2",
      "-d", "2.5", "--warmup",  "0.2", "--json-stream", NULL};
  double worst;
  int seconds, worst_at;
  const char *report;
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(bench, loops);
  wait_exit(bench, 0);
  seconds = check_stream(bench->out, &report, &worst, &worst_at);
  if (seconds != 3 || json_number(report, "messages") < 100)
    fail_msg("2.5 s on two loops:\n%s", bench->out);
  stop_server(server, SIGINT);
  free(server);
  free(bench);
}

/* --json-stream: a server stopped for a second shows in the latency from
 * the due time, in the report and in the second it happened; on one
 * connection, 2000 messages come due in that second, more than the 1024
 * it may have in flight: the rest are held back and go out late. */
static void test_bench_json_stream_shows_a_stall(void **state) {
#ifdef SIGSTOP
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *args[] = {
      "-b", "-H", "127.0.0.1", "-p", port_s,          "-C", "1", "-r", "2000",
      "-d", "6",  "--warmup",  "0",  "--json-stream", NULL};
  double worst;
  int seconds, worst_at;
  const char *report;
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(bench, args);
  run_until(out_has_text, bench, "{\"interval\":1,", 10000);
  assert_int_equal(uv_kill(server->process.pid, SIGSTOP), 0);
  run_until(never, bench, NULL, 1000);
  assert_int_equal(uv_kill(server->process.pid, SIGCONT), 0);
  wait_exit(bench, 0);
  seconds = check_stream(bench->out, &report, &worst, &worst_at);
  if (seconds < 6 || seconds > 7)
    fail_msg("%d seconds streamed for -d 6:\n%s", seconds, bench->out);
  /* Stopped about 2 s in for 1 s: messages due then waited up to 1 s. */
  if (json_number(report, "p99_9") < 900000 || worst < 900000 || worst_at < 1 ||
      worst_at > 4)
    fail_msg("the stall is not seen (worst %.0f us in second %d):\n%s", worst,
             worst_at, bench->out);
  if (json_number(report, "held") < 100 ||
      json_number(report, "late") < json_number(report, "held"))
    fail_msg("no messages held back by the cap, or not late:\n%s", report);
  /* The held ones waited to be written: in the latency from their due
   * time, not in the service time from their write (their echoes came at
   * once, the server awake again). So the means differ by about their
   * share times their wait. */
  if (!(json_number(strstr(report, "\"service_us\""), "mean") + 10000 <
        json_number(report, "mean")))
    fail_msg("the service time's tail includes the wait to be written:\n%s",
             report);
  stop_server(server, SIGINT);
  free(server);
  free(bench);
#else
  (void)state;
  print_message("skipped: no SIGSTOP here\n");
  skip();
#endif
}

/* --churn against tcpecho's server: every session connects, has its
 * messages echoed and verified, is closed by the server after ours, and
 * the counts add up on both sides. */
static void test_bench_churn(void **state) {
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  const char *qq[] = {"-qq", NULL};
  char port_s[16];
  const char *args[] = {
      "-b", "-H",      "127.0.0.1", "-p",  port_s,   "-C", "4",  "-T",
      "2",  "--churn", "-n",        "3",   "-P",     "2",  "-S", "100",
      "-d", "0.5",     "--warmup",  "0.1", "--json", NULL};
  const char *text[] = {"-b",      "-H", "127.0.0.1", "-p", port_s,
                        "--churn", "-d", "0.3",       NULL};
  double opened, completed, sessions;
  summary_t sum;
  (void)state;

  snprintf(port_s, sizeof(port_s), "%d", start_server(server, "127.0.0.1", qq));
  proc_start(bench, args);
  wait_exit(bench, 0);
  assert_true(json_number(bench->out, "total") == 0);
  assert_true(json_number(bench->out, "per_session") == 3);
  opened = json_number(bench->out, "opened");
  completed = json_number(bench->out, "completed");
  sessions = json_number(bench->out, "sessions");
  /* Many sessions, each slot with at most one unfinished at the end; the
   * measured ones among those completed. */
  if (sessions < 50 || completed > opened || opened - completed > 4 ||
      sessions > completed)
    fail_msg("sessions do not add up:\n%s", bench->out);
  assert_true(json_number(bench->out, "sessions_per_s") > 0);
  /* Three messages a session: the measured messages are those of the
   * measured sessions, give or take the sessions under way at either end
   * of the measured time (one per slot at each). */
  if (json_number(bench->out, "messages") < 3 * (sessions - 4) ||
      json_number(bench->out, "messages") > 3 * (sessions + 8))
    fail_msg("messages are not 3 per session:\n%s", bench->out);
  assert_true(json_number(strstr(bench->out, "\"session_us\""), "p50") >=
              json_number(bench->out, "p50"));
  /* Each session three 100-byte messages: the bytes are whole messages. */
  assert_true(json_number(bench->out, "bytes") ==
              100 * json_number(bench->out, "messages"));

  proc_start(bench, text);
  wait_exit(bench, 0);
  assert_non_null(strstr(bench->out, "1 connection, 64-byte messages, churn, "
                                     "1 per session, in flight 1, 1 thread"));
  assert_non_null(strstr(bench->out, "\nsessions: "));
  assert_non_null(strstr(bench->out, "\nsession:  min "));
  opened += strtod(strstr(bench->out, "sessions/s; ") + 12, NULL);
  /* The server saw every connection made; a connect still under way when
   * a run ended may have reached it too (one slot per connection). Where
   * the stop is not graceful (a Windows test program) there is no summary
   * to read. */
  if (stop_server(server, SIGINT)) {
    assert_true(parse_summary(server->err, &sum));
    if ((double)sum.served < opened || (double)sum.served > opened + 4 + 1 ||
        sum.errors != 0)
      fail_msg("server served %llu sessions (%llu errors), bench made %.0f",
               sum.served, sum.errors, opened);
  }
  free(server);
  free(bench);
}

static void test_bench_churn_usage(void **state) {
  proc_t *bench = malloc(sizeof(*bench));
  const char *no_churn[] = {"-b", "-n", "3", NULL};
  const char *with_rate[] = {"-b", "--churn", "-r", "100", NULL};
  const char *zero[] = {"-b", "--churn", "-n", "0", NULL};
  (void)state;

  proc_start(bench, no_churn);
  wait_exit(bench, 2);
  assert_non_null(strstr(bench->err, "--count needs --churn with --bench"));
  proc_start(bench, with_rate);
  wait_exit(bench, 2);
  assert_non_null(
      strstr(bench->err, "--churn and --rate cannot be used together"));
  proc_start(bench, zero);
  wait_exit(bench, 2);
  assert_non_null(
      strstr(bench->err, "--count must be more than 0 with --churn"));
  free(bench);
}

static void test_bench_detects_faults(void **state) {
  static const char *const kind[] = {"corrupted", "corrupted", "extra",
                                     "early_close"};
  proc_t *bench = malloc(sizeof(*bench));
  fake_server_t *b = malloc(sizeof(*b));
  char port_s[16];
  const char *args[] = {"-b",  "-H",       "127.0.0.1", "-p",     port_s, "-C",
                        "2",   "-P",       "2",         "-S",     "256",  "-d",
                        "0.4", "--warmup", "0",         "--json", NULL};
  int f;
  (void)state;

  for (f = FAKE_FLIP; f <= FAKE_CLOSE; f++) {
    double n;
    fake_server_start(b, loop, (fake_fault_t)f, 3000);
    snprintf(port_s, sizeof(port_s), "%d", b->port);
    proc_start(bench, args);
    wait_exit(bench, 1);
    n = json_number(bench->out, kind[f]);
    /* A dropped byte shifts the stream: seen as corrupted, or as missing
     * when it was the last; an added one as corrupted or extra. */
    if (f == FAKE_DROP)
      n += json_number(bench->out, "missing");
    if (f == FAKE_EXTRA)
      n += json_number(bench->out, "corrupted");
    if (n < 1)
      fail_msg("fault %s not counted as %s:\n%s", fault_names[f], kind[f],
               bench->out);
    assert_non_null(strstr(bench->err, "bench: FAILED"));
    fake_server_stop(b);
  }
  free(bench);
  free(b);
}

/* The last line of the --hgrm file before its footer: the 100 % row. */
static void read_hgrm_last_row(const char *path, double *value,
                               unsigned long long *count) {
  FILE *f = fopen(path, "r");
  char line[256];
  double v, pct;
  unsigned long long c;
  int rows = 0;

  assert_non_null(f);
  while (fgets(line, sizeof(line), f) != NULL) {
    if (line[0] == '#' || sscanf(line, "%lf %lf %llu", &v, &pct, &c) != 3)
      continue;
    *value = v;
    *count = c;
    rows++;
    if (pct == 1.0)
      break;
  }
  fclose(f);
  assert_true(rows > 1 && pct == 1.0);
}

static void test_bench_writes_hgrm(void **state) {
  static const char path[] = "test_modes.hgrm";
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *args[] = {"-b", "-H",     "127.0.0.1", "-p",  port_s,
                        "-C", "2",      "-d",        "0.3", "--warmup",
                        "0",  "--json", "--hgrm",    path,  NULL};
  const char *bad[] = {"-b",
                       "-H",
                       "127.0.0.1",
                       "-p",
                       port_s,
                       "--hgrm",
                       "no-such-directory/x.hgrm",
                       NULL};
  unsigned long long count = 0;
  double max = -1;
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(bench, args);
  wait_exit(bench, 0);
  read_hgrm_last_row(path, &max, &count);
  assert_true(count == json_number(bench->out, "messages"));
  assert_true(max == json_number(bench->out, "max"));
  remove(path);

  /* A file that cannot be written fails at once, before any load. */
  proc_start(bench, bad);
  wait_exit(bench, 1);
  assert_non_null(strstr(bench->err, "cannot write no-such-directory/x.hgrm"));
  assert_string_equal(bench->out, "");
  stop_server(server, SIGINT);
  free(server);
  free(bench);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

/* Two runs' --json reports added up: counts summed, the max the larger of
 * the two, and a damaged file refused with its name. */
static void test_bench_merge_adds_runs(void **state) {
  static const char a[] = "test_modes_a.json", b[] = "test_modes_b.json";
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *run[] = {"-b", "-H",  "127.0.0.1", "-p",       port_s, "-C", "2",
                       "-d", "0.3", "--json",    "--warmup", "0",    NULL};
  const char *merge[] = {"--bench-merge", a, b, "--json", NULL};
  const char *text[] = {"--bench-merge", a, b, NULL};
  const char *damaged[] = {"--bench-merge", a, "test_modes.c.json", NULL};
  double messages, max;
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  proc_start(bench, run);
  wait_exit(bench, 0);
  write_text(a, bench->out);
  messages = json_number(bench->out, "messages");
  max = json_number(bench->out, "max");
  proc_start(bench, run);
  wait_exit(bench, 0);
  write_text(b, bench->out);
  messages += json_number(bench->out, "messages");
  if (json_number(bench->out, "max") > max)
    max = json_number(bench->out, "max");

  proc_start(bench, merge);
  wait_exit(bench, 0);
  assert_true(json_number(bench->out, "messages") == messages);
  assert_true(json_number(bench->out, "max") == max);
  assert_true(json_number(bench->out, "reports") == 2);
  assert_true(json_number(bench->out, "connected") == 4);

  proc_start(bench, text);
  wait_exit(bench, 0);
  assert_non_null(strstr(bench->out, "run 1: test_modes_a.json: "));
  assert_non_null(strstr(bench->out, "run 2: test_modes_b.json: "));
  assert_non_null(strstr(bench->out, "tcpecho bench: 2 runs merged, "
                                     "4 connections, 2 threads\n"));

  write_text("test_modes.c.json", "{\"host\":\"x\",\n");
  proc_start(bench, damaged);
  wait_exit(bench, 1);
  assert_non_null(strstr(bench->err, "bench-merge: test_modes.c.json: not "
                                     "JSON: line 2, column 1: expected a "
                                     "member name"));
  assert_string_equal(bench->out, "");
  remove(a);
  remove(b);
  remove("test_modes.c.json");
  stop_server(server, SIGINT);
  free(server);
  free(bench);
}

static void test_bench_connection_refused(void **state) {
  proc_t *server = malloc(sizeof(*server)), *bench = malloc(sizeof(*bench));
  char port_s[16];
  const char *args[] = {"-b", "-H", "127.0.0.1", "-p",     port_s, "-C",
                        "3",  "-d", "0.2",       "--json", NULL};
  (void)state;

  start_tcpecho(server, port_s, sizeof(port_s));
  stop_server(server, SIGINT); /* a port nobody listens on now */
  proc_start(bench, args);
  wait_exit(bench, 1);
  assert_true(json_number(bench->out, "connect") == 3);
  assert_true(json_number(bench->out, "connected") == 0);
  free(server);
  free(bench);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_ping, proc_kill_all),
      cmocka_unit_test_teardown(test_ping_forever_interrupted, proc_kill_all),
      cmocka_unit_test_teardown(test_ping_detects_faults, proc_kill_all),
      cmocka_unit_test_teardown(test_stdin_pipe_is_byte_exact, proc_kill_all),
      cmocka_unit_test_teardown(test_stdin_detects_faults, proc_kill_all),
      cmocka_unit_test_teardown(test_stdin_interrupted, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_verifies_and_reports, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_json_stream_adds_up, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_json_stream_shows_a_stall,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_churn, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_churn_usage, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_detects_faults, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_writes_hgrm, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_merge_adds_runs, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_connection_refused, proc_kill_all),
  };
  int rc;

  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH_TO_TCPECHO\n", argv[0]);
    return 2;
  }
  platform_ignore_sigpipe(); /* the broken server writes to closed peers */
  loop = uv_default_loop();
  proc_setup(loop, argv[1], NULL);
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return rc;
}
