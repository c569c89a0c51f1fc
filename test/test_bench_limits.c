/* The load generator's own limits: its memory does not grow with the bytes
 * in flight, its own failures (descriptors) are not blamed on the server,
 * and what it reports about a refused or IPv6 target. End to end.
 *
 * Usage: test_bench_limits PATH_TO_TCPECHO [TEST_NAME_PATTERN] */
#include "around.h"
#include "base/container_of.h"
#include "fake_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the generator: memory and its own failures ------------------------ */

#ifdef __linux__
/* valgrind and ASan hold freed memory back: the bound would not show. */
static int memory_measurable(void) {
#ifdef TCPECHO_SANITIZED
  return 0;
#else
  return getenv("TCPECHO_TEST_WRAPPER") == NULL;
#endif
}

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
    if (loop_now_ms() - p->started_ms > 120000)
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

  if (!memory_measurable()) {
    print_message("skipped: memory is measured in a plain build, without a "
                  "wrapper\n");
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
  /* The report names the limit and what it cost: every local error here. */
  {
    const char *line = strstr(p->out, "\nshortage: ");
    if (line == NULL ||
        strstr(line, " not made for lack of descriptors (limit 64)\n") ==
            NULL ||
        strtoul(line + 11, NULL, 10) !=
            strtoul(strstr(p->out, ", local ") + 8, NULL, 10))
      fail_msg("no shortage of descriptors for each local error:\n%s", p->out);
  }
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
      cmocka_unit_test_teardown(test_bench_memory_is_bounded, proc_kill_all),
      cmocka_unit_test_teardown(test_bench_local_errors_are_its_own,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_refused_says_only_that,
                                proc_kill_all),
      cmocka_unit_test_teardown(test_bench_brackets_ipv6, proc_kill_all),
  };
  return around_main(argc, argv, "bench_limits", tests,
                     sizeof(tests) / sizeof(tests[0]));
}
