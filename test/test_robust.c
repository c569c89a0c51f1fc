/* Nothing around the process can stall or kill it: a standard error nobody
 * reads, closed standard descriptors, a host that never answers, a server
 * that never echoes or never closes, stop signals, the generator's memory
 * and its own failures. End to end, against the built binary.
 *
 * Usage: test_robust PATH_TO_TCPECHO */
#include "container_of.h"
#include "fake_server.h"
#include "platform.h"
#include "proc.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include <cmocka.h>

#ifndef SIGHUP
#define SIGHUP 1 /* Windows has none to send; the tests that would skip */
#endif

static uv_loop_t *loop;

static uint64_t now_ms(void) {
  uv_update_time(loop);
  return uv_now(loop);
}

static void fmt_port(char *buf, size_t size, int port) {
  snprintf(buf, size, "%d", port);
}

static int has_exited(proc_t *p, const void *arg) {
  (void)arg;
  return is_finished(p, NULL);
}

static int out_has(proc_t *p, const void *needle) {
  return strstr(p->out, needle) != NULL;
}

static void wait_out(proc_t *p, const char *needle) {
  if (!run_until(out_has, p, needle, 60000))
    fail_msg("no '%s' on standard output; it has:\n%s", needle, p->out);
}

static int has_exited_only(proc_t *p, const void *arg) {
  (void)arg;
  return p->exited;
}

/* Lets the loop run for ms, whatever happens. */
static int never(proc_t *p, const void *arg) {
  (void)p;
  (void)arg;
  return 0;
}

static void pause_ms(uint64_t ms) {
  proc_t none;
  memset(&none, 0, sizeof(none));
  run_until(never, &none, NULL, ms);
}

/* The test runs as a Windows program (under wine): no sh, no signals but
 * Ctrl-C, no /proc. */
static int windows_test(void) {
#ifdef _WIN32
  return 1;
#else
  return 0;
#endif
}

/* --- a standard error nobody reads ------------------------------------- */

typedef struct log_scan_s {
  unsigned long lines;
  unsigned long partial;
  unsigned long dropped_notices;
  unsigned long summaries;
  char first_bad[160];
} log_scan_t;

static void scan_line(proc_t *p, const char *line, size_t len, int whole) {
  log_scan_t *scan = p->err_line_arg;
  int y, mo, d, h, mi, s, n = 0;
  char text[1100];

  scan->lines++;
  len = len < sizeof(text) - 1 ? len : sizeof(text) - 1;
  memcpy(text, line, len);
  text[len] = '\0';
  if (len > 0 && text[len - 1] == '\r')
    text[--len] = '\0';
  if (!whole ||
      sscanf(text, "%4d/%2d/%2d %2d:%2d:%2d %n", &y, &mo, &d, &h, &mi, &s,
             &n) != 6 ||
      n != 20) {
    if (scan->partial++ == 0)
      snprintf(scan->first_bad, sizeof(scan->first_bad), "%.150s", text);
    return;
  }
  if (strstr(text, " log lines dropped: standard error was not being read"))
    scan->dropped_notices++;
  if (strstr(text, "served ") == text + 20)
    scan->summaries++;
}

typedef struct prober_s {
  uv_timer_t timer;
  proc_t probes[64];
  int started;
  char port[16];
} prober_t;

/* A new connection every 100 ms, each a one-round-trip ping that must get
 * its echo within 2 s. */
static void on_probe_tick(uv_timer_t *t) {
  prober_t *pr = container_of(t, prober_t, timer);
  const char *args[] = {"--client", "-H", "127.0.0.1", "-p", pr->port, "-n",
                        "1",        "-W", "2",         "-q", NULL};
  if (pr->started < (int)(sizeof(pr->probes) / sizeof(pr->probes[0])))
    proc_start(&pr->probes[pr->started++], args);
}

static void test_log_never_stalls(void **state) {
  proc_t *srv = calloc(1, sizeof(*srv)), *ping = calloc(1, sizeof(*ping));
  prober_t *pr = calloc(1, sizeof(*pr));
  log_scan_t scan;
  const char *ping_args[] = {"--client", "-H",   "127.0.0.1", "-p", pr->port,
                             "-n",       "8000", "-i",        "0",  "-W",
                             "2",        "-S",   "200",       "-q", NULL};
  uint64_t start;
  int i, port;
  (void)state;

  assert_true(srv && ping && pr);
  port = start_server(srv, "127.0.0.1", NULL);
  fmt_port(pr->port, sizeof(pr->port), port);
  /* From here on nobody reads the server's standard error. */
  proc_pause_stderr(srv);
  uv_timer_init(loop, &pr->timer);
  uv_timer_start(&pr->timer, on_probe_tick, 0, 100);
  start = now_ms();
  proc_start(ping, ping_args);
  /* 8,000 round trips, each logged by the server: seconds, or a minute
   * under valgrind. */
  run_until(has_exited, ping, NULL, 180000);
  wait_exit(ping, 0);
  /* New connections keep being served for a while after that. */
  while (now_ms() - start < 2000 || pr->started < 15)
    pause_ms(50);
  uv_timer_stop(&pr->timer);
  uv_close((uv_handle_t *)&pr->timer, NULL);
  for (i = 0; i < pr->started; i++)
    wait_exit(&pr->probes[i], 0);
  print_message("  8000 round trips and %d new connections echoed with "
                "standard error unread\n",
                pr->started);

  /* Drained now: whole lines, a notice of what was dropped, the summary. */
  memset(&scan, 0, sizeof(scan));
  proc_resume_stderr(srv, scan_line, &scan);
  pause_ms(200);
  stop_server(srv, SIGINT);
  print_message("  %lu lines read back, %lu dropped notices\n", scan.lines,
                scan.dropped_notices);
  if (scan.partial > 0)
    fail_msg("%lu partial or malformed lines, the first: '%s'", scan.partial,
             scan.first_bad);
  assert_true(scan.dropped_notices >= 1);
  if (proc_signal_graceful(SIGINT))
    assert_int_equal(scan.summaries, 1);
  free(srv);
  free(ping);
  free(pr);
}

/* --- closed standard descriptors --------------------------------------- */

/* Runs tcpecho under sh: "BEFORE exec tcpecho ARGS AFTER", e.g. with one
 * descriptor closed ("1>&-") or a lower descriptor limit. */
static void start_under_sh(proc_t *p, const char *before, const char *after,
                           const char **args) {
  char script[160];
  const char *argv[40];
  int n = 0, i;
  snprintf(script, sizeof(script), "%s exec \"$0\" \"$@\" %s", before, after);
  argv[n++] = "sh";
  argv[n++] = "-c";
  argv[n++] = script;
  argv[n++] = proc_tcpecho_path();
  for (i = 0; args[i] != NULL && n < 39; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  proc_spawn(p, argv);
}

/* A free port: bound by the test and released, for a server whose log
 * cannot be read (its standard error is closed). */
static int free_port(void) {
  uv_tcp_t tcp;
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss), port;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(loop, &tcp), 0);
  assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&ss, &len), 0);
  port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  uv_close((uv_handle_t *)&tcp, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return port;
}

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

    uint64_t start = now_ms();

    fmt_port(port, sizeof(port), free_port());
    start_under_sh(srv, "", closed[i], server_args);
    /* Its log may be closed: it is up once a ping gets its echo. */
    do {
      pause_ms(50);
      proc_start(cli, ping_args);
      run_until(has_exited, cli, NULL, PROC_TIMEOUT_MS);
    } while (cli->exit_status != 0 && !srv->exited && now_ms() - start < 10000);
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

/* --- a host that never answers ----------------------------------------- */

/* A listener whose backlog is full: further SYNs go unanswered. */
typedef struct full_backlog_s {
  uv_tcp_t listener;
  uv_tcp_t fillers[4];
  uv_connect_t reqs[4];
  int port;
} full_backlog_t;

static void on_never_accepted(uv_stream_t *l, int status) {
  (void)l;
  (void)status;
}

static void on_filled(uv_connect_t *req, int status) {
  (void)req;
  (void)status;
}

static void full_backlog_start(full_backlog_t *f) {
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss), i;

  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(loop, &f->listener), 0);
  assert_int_equal(uv_tcp_bind(&f->listener, (const struct sockaddr *)&addr, 0),
                   0);
  assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 0, on_never_accepted),
                   0);
  assert_int_equal(
      uv_tcp_getsockname(&f->listener, (struct sockaddr *)&ss, &len), 0);
  f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  /* One at a time: libuv takes the first off the queue and holds it (the
   * callback never accepts it), the next fills the queue for good, and
   * every SYN after that goes unanswered. */
  uv_ip4_addr("127.0.0.1", f->port, &addr);
  for (i = 0; i < 4; i++) {
    assert_int_equal(uv_tcp_init(loop, &f->fillers[i]), 0);
    assert_int_equal(uv_tcp_connect(&f->reqs[i], &f->fillers[i],
                                    (const struct sockaddr *)&addr, on_filled),
                     0);
    pause_ms(150);
  }
}

static void full_backlog_stop(full_backlog_t *f) {
  int i;
  for (i = 0; i < 4; i++)
    uv_close((uv_handle_t *)&f->fillers[i], NULL);
  uv_close((uv_handle_t *)&f->listener, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

static void test_connect_timeout_every_mode(void **state) {
  full_backlog_t *f = calloc(1, sizeof(*f));
  proc_t *p = calloc(1, sizeof(*p));
  char port[16];
  const char *client[] = {"--client",          "-H",  "127.0.0.1", "-p", port,
                          "--connect-timeout", "0.5", NULL};
  const char *ping[] = {"--client", "-H", "127.0.0.1",         "-p",  port,
                        "-n",       "1",  "--connect-timeout", "0.5", NULL};
  const char *pipe[] = {"--client", "-H",      "127.0.0.1",         "-p",
                        port,       "--stdin", "--connect-timeout", "0.5",
                        NULL};
  const char *bench[] = {"--bench", "-H", "127.0.0.1",         "-p",  port,
                         "-C",      "2",  "--connect-timeout", "0.5", NULL};
  const char **modes[] = {client, ping, pipe, bench};
  char want[96];
  size_t i;
  (void)state;

  assert_true(f && p);
  full_backlog_start(f);
  fmt_port(port, sizeof(port), f->port);
  for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    uint64_t start = now_ms(), took;
    /* An open standard input that never ends: --stdin must not wait on
     * it either. */
    proc_start_io(p, modes[i], PROC_PIPE, PROC_DEFAULT);
    run_until(has_exited_only, p, NULL, PROC_TIMEOUT_MS);
    proc_close_stdin(p);
    wait_exit(p, 1);
    took = p->exited_ms - start;
    snprintf(want, sizeof(want), "127.0.0.1:%s: connect timed out after 0.5 s",
             port);
    if (!err_has(p, want))
      fail_msg("%s: no '%s' line; stderr:\n%s", modes[i][0], want, p->err);
    print_message("  %s%s gave up after %llu ms\n", modes[i][0],
                  i == 1   ? " -n 1"
                  : i == 2 ? " --stdin"
                           : "",
                  (unsigned long long)took);
    /* 0.5 s, plus start-up (under wine or valgrind, seconds). */
    assert_true(took >= 450);
    assert_true(took < 10000);
  }
  full_backlog_stop(f);
  free(f);
  free(p);
}

/* --- --stdin against a server that never echoes or never closes -------- */

static void run_pipe_against(fake_fault_t fault, const char *want_line,
                             const char *want_out) {
  fake_server_t *f = calloc(1, sizeof(*f));
  proc_t *p = calloc(1, sizeof(*p));
  char port[16];
  const char *args[] = {"--client", "-H", "127.0.0.1", "-p", port,
                        "--stdin",  "-W", "0.5",       NULL};
  uv_write_t req;
  uv_buf_t buf = uv_buf_init("hello", 5);
  uint64_t start;

  assert_true(f && p);
  fake_server_start(f, loop, fault, 0);
  fmt_port(port, sizeof(port), f->port);
  start = now_ms();
  proc_start_io(p, args, PROC_PIPE, PROC_DEFAULT);
  assert_int_equal(uv_write(&req, (uv_stream_t *)&p->in_pipe, &buf, 1, NULL),
                   0);
  proc_close_stdin(p);
  wait_exit(p, 1);
  if (!err_has(p, want_line))
    fail_msg("no '%s' line; stderr:\n%s", want_line, p->err);
  assert_true(err_has(p, ": INCOMPLETE"));
  /* What arrived was written out first. */
  assert_string_equal(p->out, want_out);
  print_message("  gave up after %llu ms: %s\n",
                (unsigned long long)(p->exited_ms - start), want_line);
  assert_true(p->exited_ms - start < 10000);
  fake_server_stop(f);
  free(f);
  free(p);
}

static void test_stdin_timeout(void **state) {
  (void)state;
  run_pipe_against(FAKE_SILENT, "no echo for 0.5 s: 0 of 5 bytes echoed back",
                   "");
  run_pipe_against(FAKE_NO_CLOSE,
                   "the server did not close the connection within 0.5 s of "
                   "the last echo",
                   "hello");
}

/* --stdin names what went wrong in its last line. */
static void test_stdin_final_word(void **state) {
  fake_server_t *f = calloc(1, sizeof(*f));
  proc_t *p = calloc(1, sizeof(*p));
  char port[16];
  const char *args[] = {"--client", "-H",      "127.0.0.1", "-p",
                        port,       "--stdin", NULL};
  static const struct {
    fake_fault_t fault;
    const char *word;
    uint64_t at;
  } cases[] = {{FAKE_EXTRA, "sent 10 bytes, 10 echoed back: EXTRA BYTES", 9},
               {FAKE_FLIP, "sent 10 bytes, 5 echoed back: CORRUPTED", 5},
               {FAKE_CLOSE, "sent 10 bytes, 5 echoed back: INCOMPLETE", 5}};
  uv_write_t req;
  uv_buf_t buf = uv_buf_init("0123456789", 10);
  size_t i;
  (void)state;

  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    fake_server_start(f, loop, cases[i].fault, cases[i].at);
    fmt_port(port, sizeof(port), f->port);
    proc_start_io(p, args, PROC_PIPE, PROC_DEFAULT);
    assert_int_equal(uv_write(&req, (uv_stream_t *)&p->in_pipe, &buf, 1, NULL),
                     0);
    proc_close_stdin(p);
    wait_exit(p, 1);
    if (!err_has(p, cases[i].word))
      fail_msg("no '%s'; stderr:\n%s", cases[i].word, p->err);
    fake_server_stop(f);
  }
  free(f);
  free(p);
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
  start = now_ms();
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
    pause_ms(200);
    stop(p, signals[i]);
    wait_exit(p, 0);
    if (!strstr(p->out, "tcpecho ping statistics ---") ||
        !strstr(p->out, " received, 0.0% loss"))
      fail_msg("ping on signal %d: no summary; stdout:\n%s", signals[i],
               p->out);

    proc_start(p, bench);
    /* Its first line; the handlers are in place right after. */
    wait_log(p, "descriptor limit: ");
    pause_ms(500);
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

/* --- the generator: memory and its own failures ------------------------ */

#ifdef __linux__
/* The peak resident memory of a running process, from /proc, in KiB. */
static unsigned long vm_hwm_kib(int pid) {
  char path[64], line[256];
  unsigned long kib = 0;
  FILE *f;
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return 0;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmHWM: %lu kB", &kib) == 1)
      break;
  }
  fclose(f);
  return kib;
}

static void ignore_line(proc_t *p, const char *line, size_t len, int whole) {
  (void)p;
  (void)line;
  (void)len;
  (void)whole;
}

/* Runs a bench to its end, sampling its peak memory; returns it in KiB. */
static unsigned long bench_peak_kib(const char **args) {
  proc_t *p = calloc(1, sizeof(*p));
  unsigned long peak = 0, kib;
  assert_non_null(p);
  proc_start(p, args);
  while (!run_until(has_exited, p, NULL, 20)) {
    kib = vm_hwm_kib(p->process.pid);
    if (kib > peak)
      peak = kib;
    if (now_ms() - p->started_ms > 120000)
      fail_msg("bench did not end");
  }
  wait_exit(p, 0);
  assert_non_null(strstr(p->out, "every byte verified"));
  free(p);
  return peak;
}
#endif

static void test_bench_memory_is_bounded(void **state) {
#ifdef __linux__
  proc_t *srv = calloc(1, sizeof(*srv));
  char port[16];
  const char *quiet[] = {"-q", NULL};
  const char *small[] = {"--bench", "-H", "127.0.0.1", "-p",       port, "-C",
                         "1",       "-d", "0.5",       "--warmup", "0",  NULL};
  const char *big[] = {
      "--bench", "-H", "127.0.0.1", "-p", port, "-C",       "1", "-P",
      "64",      "-S", "16777216",  "-d", "1",  "--warmup", "0", NULL};
  const char *many[] = {"--bench", "-H", "127.0.0.1", "-p",       port, "-C",
                        "10000",   "-d", "1",         "--warmup", "0",  NULL};
  unsigned long base, with_big, with_many;
  (void)state;

  if (getenv("TCPECHO_TEST_WRAPPER") != NULL) {
    print_message("skipped: memory is measured without a wrapper\n");
    free(srv);
    skip();
  }
  fmt_port(port, sizeof(port), start_server(srv, "127.0.0.1", quiet));
  proc_resume_stderr(srv, ignore_line, NULL); /* two lines per session */
  base = bench_peak_kib(small);
  with_big = bench_peak_kib(big);
  with_many = bench_peak_kib(many);
  print_message("  peak memory: %lu KiB for -C 1; %lu KiB for -C 1 -P 64 -S "
                "16 MiB; %lu KiB for -C 10000\n",
                base, with_big, with_many);
  /* The documented bound: 1 MiB + 64 KiB per connection whose socket is
   * full + 1 KiB and 8 bytes per message in flight per connection. */
  assert_true(with_big <= base + 1024 + 64 + 1);
  assert_true(with_many <= base + 1024 + 10000 * 1);
  stop_server(srv, SIGINT);
  free(srv);
#else
  (void)state;
  print_message("skipped: peak memory is read from Linux's /proc\n");
  skip();
#endif
}

static void test_bench_local_errors_are_its_own(void **state) {
  proc_t *srv = calloc(1, sizeof(*srv)), *p = calloc(1, sizeof(*p));
  char port[16];
  const char *quiet[] = {"-q", NULL};
  const char *args[] = {"--bench", "-H", "127.0.0.1", "-p",       port, "-C",
                        "200",     "-d", "0.3",       "--warmup", "0",  NULL};
  (void)state;

  if (windows_test()) {
    print_message("skipped: the descriptor limit is set with a POSIX sh\n");
    free(srv);
    free(p);
    skip();
  }
  fmt_port(port, sizeof(port), start_server(srv, "127.0.0.1", quiet));
  /* The same run is clean with descriptors to spare. */
  proc_start(p, args);
  wait_exit(p, 0);
  start_under_sh(p, "ulimit -n 64 &&", "", args);
  wait_exit(p, 1);
  if (!err_has(p, "bench: cannot open more sockets: ") ||
      !err_has(p, "(limit 64)"))
    fail_msg("no 'cannot open more sockets ... (limit 64)'; stderr:\n%s",
             p->err);
  if (err_has(p, "not every byte came back"))
    fail_msg("its own failure blamed on the server; stderr:\n%s", p->err);
  assert_true(err_has(p, "lost to local errors (ours, not the server's)"));
  assert_non_null(strstr(p->out, ", local "));
  assert_null(strstr(p->out, ", local 0)"));
  stop_server(srv, SIGINT);
  free(srv);
  free(p);
}

static void test_bench_refused_says_only_that(void **state) {
  proc_t *p = calloc(1, sizeof(*p));
  char port[16], want[96];
  const char *args[] = {"--bench", "-H", "127.0.0.1", "-p",
                        port,      "-d", "0.2",       NULL};
  (void)state;

  fmt_port(port, sizeof(port), free_port());
  proc_start(p, args);
  wait_exit(p, 1);
  snprintf(want, sizeof(want),
           "bench: cannot connect to 127.0.0.1:%s: "
           "ECONNREFUSED",
           port);
  if (!err_has(p, want))
    fail_msg("no '%s'; stderr:\n%s", want, p->err);
  if (err_has(p, "FAILED") || err_has(p, "not every byte"))
    fail_msg("more than the refusal said; stderr:\n%s", p->err);
  free(p);
}

static void test_bench_brackets_ipv6(void **state) {
  proc_t *srv = calloc(1, sizeof(*srv)), *p = calloc(1, sizeof(*p));
  char port[16], want[64];
  const char *quiet[] = {"-q", NULL};
  const char *args[] = {"--bench", "-H",  "::1",      "-p", port,
                        "-d",      "0.2", "--warmup", "0",  NULL};
  int n;
  (void)state;

  n = try_start_server(srv, "::1", quiet);
  if (n < 0) {
    print_message("skipped: no IPv6 loopback here\n");
    free(srv);
    free(p);
    skip();
  }
  fmt_port(port, sizeof(port), n);
  proc_start(p, args);
  wait_exit(p, 0);
  snprintf(want, sizeof(want), "tcpecho bench: [::1]:%s, ", port);
  if (strstr(p->out, want) == NULL)
    fail_msg("no '%s'; stdout:\n%s", want, p->out);
  stop_server(srv, SIGINT);
  free(srv);
  free(p);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_log_never_stalls, proc_kill_all),
      cmocka_unit_test_teardown(test_closed_std_descriptors, proc_kill_all),
      cmocka_unit_test_teardown(test_connect_timeout_every_mode, proc_kill_all),
      cmocka_unit_test_teardown(test_stdin_timeout, proc_kill_all),
      cmocka_unit_test_teardown(test_stdin_final_word, proc_kill_all),
      cmocka_unit_test_teardown(test_sighup_drains_server, proc_kill_all),
      cmocka_unit_test_teardown(test_sigterm_ends_ping_and_bench_with_summary,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_memory_is_bounded, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_local_errors_are_its_own,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_refused_says_only_that,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_brackets_ipv6, proc_kill_all),
  };
  int rc;

  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH_TO_TCPECHO [TEST_NAME_SUBSTRING]\n",
            argv[0]);
    return 2;
  }
  platform_ignore_sigpipe(); /* the fake servers write to closed peers */
  loop = uv_default_loop();
  proc_setup(loop, argv[1], NULL);
  if (argc > 2)
    cmocka_set_test_filter(argv[2]);
  rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return rc;
}
