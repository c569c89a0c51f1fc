#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <sys/resource.h>
#include <unistd.h>
#endif

static const char *tcpecho_path;
static uv_loop_t *loop;
static proc_t *servers[2];
#ifdef __linux__
static char log_path[256];
#endif
#ifndef _WIN32
static struct rlimit saved_nofile;
static int nofile_changed;
#endif

uv_loop_t *suite_loop(void) {
  return loop;
}

const char *suite_tcpecho(void) {
  return tcpecho_path;
}

proc_t *new_server(int i) {
  servers[i] = calloc(1, sizeof(proc_t));
  assert_non_null(servers[i]);
  return servers[i];
}

int suite_teardown(void **state) {
  size_t i;
  load_free();
  tickers_stop();
  proc_kill_all(state);
  for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
    free(servers[i]);
    servers[i] = NULL;
  }
#ifdef __linux__
  if (log_path[0] != '\0') {
    unlink(log_path);
    log_path[0] = '\0';
  }
#endif
#ifndef _WIN32
  if (nofile_changed) {
    setrlimit(RLIMIT_NOFILE, &saved_nofile);
    nofile_changed = 0;
  }
#endif
  return 0;
}

int start_quiet_server(proc_t *p, const char *extra0, const char *extra1) {
  const char *extra[] = {"--quiet", extra0, extra1, NULL};
  return start_server(p, "127.0.0.1", extra);
}

int finish_server(proc_t *p, summary_t *s, const char *(*log)(void)) {
  if (!stop_server(p, SIGTERM))
    return 0;
  if (!parse_summary(log ? log() : p->err, s))
    fail_msg("no summary line in the log:\n%s", log ? log() : p->err);
  print_summary(s);
  return 1;
}

int is_graceful_platform(const char *what) {
  if (proc_signal_graceful(SIGTERM))
    return 1;
  print_message("skipped: %s needs SIGTERM to reach the server's handler\n",
                what);
  return 0;
}

void expect_running(const proc_t *p) {
  if (p->exited)
    fail_msg("the server exited (status %d, signal %d):\n%s",
             (int)p->exit_status, p->term_signal, p->err);
}

void report_time(uint64_t start_ms) {
  print_message("  took %.1f s\n", (double)(now_ms() - start_ms) / 1000.0);
}

uint64_t expect_conn_prefix_then_eof(const conn_t *c, uint64_t min_received) {
  if (c->read_status != UV_EOF || c->bad_at != NO_ERROR_AT ||
      c->received < min_received || c->received > c->queued ||
      (c->write_status != 0 && c->write_status != UV_ECANCELED))
    fail_msg("connection %u: read %s, write %s, echoed %llu of %llu "
             "sent, first bad byte at %lld",
             c->id, err_name(c->read_status), err_name(c->write_status),
             (unsigned long long)c->received, (unsigned long long)c->queued,
             c->bad_at == NO_ERROR_AT ? -1LL : (long long)c->bad_at);
  return c->received;
}

uint64_t expect_prefix_then_eof(const load_t *l, unsigned n,
                                uint64_t min_received) {
  uint64_t sum = 0;
  unsigned i;
  for (i = 0; i < n; i++)
    sum += expect_conn_prefix_then_eof(&l->conns[i], min_received);
  return sum;
}

#ifdef __linux__
const char *read_log_file(void) {
  static char *buf;
  static size_t cap;
  FILE *f = fopen(log_path, "rb");
  size_t n = 0;
  if (cap == 0) {
    cap = 4 * MiB;
    buf = malloc(cap);
    assert_non_null(buf);
  }
  buf[0] = '\0';
  if (f == NULL)
    return buf;
  for (;;) {
    size_t got = fread(buf + n, 1, cap - 1 - n, f);
    n += got;
    if (got == 0 || n < cap - 1)
      break;
    cap *= 2;
    buf = realloc(buf, cap);
    assert_non_null(buf);
  }
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static int listening_in(const char *log) {
  const char *at = strstr(log, "listening on 127.0.0.1:");
  return at != NULL && strchr(at, '\n') != NULL;
}

static int server_listening(const void *arg) {
  const proc_t *p = arg;
  return p->exited || listening_in(log_path[0] ? read_log_file() : p->err);
}

int start_server_sh(proc_t *p, const char *script, const char **extra,
                    int log_to_file) {
  const char *argv[24] = {"sh", "-c", script, tcpecho_path};
  const char *log;
  int n = 4, i;

  if (log_to_file) {
    int fd;
    const char *dir = getenv("TMPDIR");
    snprintf(log_path, sizeof(log_path), "%s/tcpecho-reliability-XXXXXX",
             dir != NULL && *dir != '\0' ? dir : "/tmp");
    fd = mkstemp(log_path);
    if (fd < 0) {
      log_path[0] = '\0';
      fail_msg("cannot create a temporary log file");
    }
    close(fd);
    argv[n++] = log_path;
  }
  argv[n++] = "--server";
  argv[n++] = "--host";
  argv[n++] = "127.0.0.1";
  argv[n++] = "--port";
  argv[n++] = "0";
  argv[n++] = "--quiet";
  for (i = 0; extra != NULL && extra[i] != NULL && n < 23; i++)
    argv[n++] = extra[i];
  argv[n] = NULL;
  proc_spawn(p, argv);
  if (!wait_for(server_listening, p, PROC_TIMEOUT_MS))
    fail_msg("server did not start; stderr so far:\n%s", p->err);
  log = log_to_file ? read_log_file() : p->err;
  if (!listening_in(log))
    fail_msg("server exited: %s%s", p->err, log_to_file ? log : "");
  return atoi(strstr(log, "listening on 127.0.0.1:") + 23);
}

long rss_kib(int pid) {
  char path[64], line[256];
  long kib = -1;
  FILE *f;
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  f = fopen(path, "r");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL) {
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
      break;
  }
  fclose(f);
  return kib;
}
#endif

#ifndef _WIN32
int raise_fd_limit(unsigned long need) {
  struct rlimit rl;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved_nofile), 0);
  rl = saved_nofile;
  if (rl.rlim_cur >= need)
    return 1;
  rl.rlim_cur = need;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
    rl.rlim_max = need;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
    return 0;
  nofile_changed = 1;
  return 1;
}
#endif

static int selected_by(const suite_test_t *t, const char *word) {
  if (strcmp(word, "all") == 0)
    return 1;
  if (strcmp(word, "fast") == 0)
    return !t->slow;
  if (strcmp(word, "slow") == 0)
    return t->slow;
  return strcmp(t->test.name, word) == 0 ||
         (strncmp(t->test.name, "test_", 5) == 0 &&
          strcmp(t->test.name + 5, word) == 0);
}

int suite_main(int argc, char **argv, const char *group,
               const suite_test_t *tests, size_t count) {
  struct CMUnitTest *chosen;
  size_t i, n = 0;
  int a, rc;

  if (argc < 2) {
    fprintf(stderr, "usage: %s TCPECHO [fast | slow | all | TEST...]\n",
            argv[0]);
    return 2;
  }
  for (a = 2; a < argc; a++) {
    size_t matched = 0;
    for (i = 0; i < count; i++)
      matched += (size_t)selected_by(&tests[i], argv[a]);
    if (matched == 0) {
      fprintf(stderr, "%s: no test called '%s'\n", argv[0], argv[a]);
      return 2;
    }
  }
  chosen = calloc(count, sizeof(*chosen));
  if (chosen == NULL)
    return 1;
  for (i = 0; i < count; i++) {
    int take = argc == 2 ? !tests[i].slow : 0;
    for (a = 2; a < argc && !take; a++)
      take = selected_by(&tests[i], argv[a]);
    if (take)
      chosen[n++] = tests[i].test;
  }
  tcpecho_path = argv[1];
#ifdef SIGPIPE
  /* A write to a connection the server closed must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);
#endif
  loop = uv_default_loop();
  load_setup(loop);
  proc_setup(loop, tcpecho_path, NULL);
  rc = _cmocka_run_group_tests(group, chosen, n, NULL, NULL);
  free(chosen);
  uv_run(loop, UV_RUN_NOWAIT);
  uv_loop_close(loop);
  return rc;
}
