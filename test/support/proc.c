#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "proc.h"

#include "base/container_of.h"

#include <signal.h>
#ifndef SIGKILL
#define SIGKILL 9 /* not in the Windows C library; libuv knows it */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uv_loop_t *loop;

static void on_proc_handle_closed(uv_handle_t *h) {
  proc_t *p = h->data;
  p->open--;
}

/* Processes started and not yet exited, so that a failed test can end
 * them instead of leaving them running. */
#define PROC_MAX_LIVE 64
static proc_t *live[PROC_MAX_LIVE];

static void forget(proc_t *p) {
  int i;
  for (i = 0; i < PROC_MAX_LIVE; i++) {
    if (live[i] == p)
      live[i] = NULL;
  }
}

static void remember(proc_t *p) {
  int i;
  for (i = 0; i < PROC_MAX_LIVE; i++) {
    if (live[i] == NULL) {
      live[i] = p;
      return;
    }
  }
}

int proc_kill_all(void **state) {
  proc_t *victims[PROC_MAX_LIVE];
  int i, n = 0;
  (void)state;
  for (i = 0; i < PROC_MAX_LIVE; i++) {
    if (live[i] != NULL)
      victims[n++] = live[i];
    live[i] = NULL;
  }
  for (i = 0; i < n; i++) {
    if (!victims[i]->exited)
      uv_process_kill(&victims[i]->process, SIGKILL);
  }
  for (i = 0; i < n; i++)
    run_until(is_finished, victims[i], NULL, PROC_TIMEOUT_MS);
  return 0;
}

static void on_exit_cb(uv_process_t *process, int64_t status, int signal) {
  proc_t *p = container_of(process, proc_t, process);
  p->exited = 1;
  p->exit_status = status;
  p->term_signal = signal;
  p->exited_ms = uv_now(loop);
  forget(p);
  uv_close((uv_handle_t *)process, on_proc_handle_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  proc_t *p = h->data;
  (void)suggested;
  if (h == (uv_handle_t *)&p->out_pipe)
    *buf = uv_buf_init(p->out + p->out_len,
                       (unsigned int)(PROC_OUT_SIZE - 1 - p->out_len));
  else
    *buf = uv_buf_init(p->err + p->err_len,
                       (unsigned int)(PROC_OUT_SIZE - 1 - p->err_len));
}

/* Hands every whole line in p->err to its callback, keeping the rest. */
static void hand_over_lines(proc_t *p) {
  size_t start = 0, i;
  for (i = 0; i < p->err_len; i++) {
    if (p->err[i] == '\n') {
      p->err_line_cb(p, p->err + start, i - start, 1);
      start = i + 1;
    }
  }
  memmove(p->err, p->err + start, p->err_len - start);
  p->err_len -= start;
  p->err[p->err_len] = '\0';
}

static void on_pipe_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  proc_t *p = s->data;
  (void)buf;
  if (n > 0) {
    size_t *len = s == (uv_stream_t *)&p->out_pipe ? &p->out_len : &p->err_len;
    char *text = s == (uv_stream_t *)&p->out_pipe ? p->out : p->err;
    size_t i, kept = *len;
    /* Windows writes text lines as CRLF: keep them as LF. */
    for (i = 0; i < (size_t)n; i++) {
      if (text[*len + i] == '\n' && kept > 0 && text[kept - 1] == '\r')
        kept--;
      text[kept++] = text[*len + i];
    }
    *len = kept;
    text[*len] = '\0';
    if (s == (uv_stream_t *)&p->err_pipe && p->err_line_cb)
      hand_over_lines(p);
    if (*len == PROC_OUT_SIZE - 1)
      fail_msg("process output too large");
  } else if (n < 0) {
    if (s == (uv_stream_t *)&p->err_pipe && p->err_line_cb && p->err_len > 0)
      p->err_line_cb(p, p->err, p->err_len, 0);
    uv_close((uv_handle_t *)s, on_proc_handle_closed);
  }
}

void proc_pause_stderr(proc_t *p) {
  uv_read_stop((uv_stream_t *)&p->err_pipe);
}

void proc_resume_stderr(proc_t *p,
                        void (*cb)(proc_t *p, const char *line, size_t len,
                                   int whole),
                        void *arg) {
  p->err_line_cb = cb;
  p->err_line_arg = arg;
  hand_over_lines(p);
  uv_read_start((uv_stream_t *)&p->err_pipe, on_alloc, on_pipe_read);
}

/* How to start tcpecho in each role: a wrapper's words (e.g. "wine" or
 * "valgrind --error-exitcode=99") and the binary. */
typedef struct flavour_s {
  const char *path;
  char buf[1024];
  char *words[16];
  int count;
} flavour_t;

static flavour_t server_flavour, client_flavour;

static void set_flavour(flavour_t *f, const char *path, const char *env_name) {
  const char *env = getenv(env_name);
  char *w;

  if (env == NULL)
    env = getenv("TCPECHO_TEST_WRAPPER");
  f->path = path;
  f->count = 0;
  if (env == NULL || strlen(env) >= sizeof(f->buf))
    return;
  strcpy(f->buf, env);
  for (w = strtok(f->buf, " "); w != NULL && f->count < 15;
       w = strtok(NULL, " "))
    f->words[f->count++] = w;
}

void proc_setup(uv_loop_t *l, const char *server_path,
                const char *client_path) {
  loop = l;
  set_flavour(&server_flavour, server_path, "TCPECHO_TEST_SERVER_WRAPPER");
  set_flavour(&client_flavour, client_path ? client_path : server_path,
              "TCPECHO_TEST_CLIENT_WRAPPER");
}

const char *proc_tcpecho_path(void) {
  return server_flavour.path;
}

void proc_close_stdin(proc_t *p) {
  if (!uv_is_closing((uv_handle_t *)&p->in_pipe))
    uv_close((uv_handle_t *)&p->in_pipe, on_proc_handle_closed);
}

void proc_spawn(proc_t *p, const char **argv) {
  proc_spawn_io(p, argv, PROC_DEFAULT, PROC_DEFAULT);
}

void proc_spawn_io(proc_t *p, const char **argv, int in_fd, int out_fd) {
  uv_process_options_t opts;
  uv_stdio_container_t stdio[3];
  int err, open = 2;

  memset(p, 0, sizeof(*p));
  uv_pipe_init(loop, &p->in_pipe, 0);
  uv_pipe_init(loop, &p->out_pipe, 0);
  uv_pipe_init(loop, &p->err_pipe, 0);
  p->in_pipe.data = p->out_pipe.data = p->err_pipe.data = p->process.data = p;
  stdio[0].flags = UV_IGNORE;
  if (in_fd == PROC_PIPE) {
    stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
    stdio[0].data.stream = (uv_stream_t *)&p->in_pipe;
  } else if (in_fd >= 0) {
    stdio[0].flags = UV_INHERIT_FD;
    stdio[0].data.fd = in_fd;
  }
  stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[1].data.stream = (uv_stream_t *)&p->out_pipe;
  if (out_fd >= 0) {
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = out_fd;
  }
  stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
  stdio[2].data.stream = (uv_stream_t *)&p->err_pipe;
  memset(&opts, 0, sizeof(opts));
  opts.file = argv[0];
  opts.args = (char **)argv;
  opts.exit_cb = on_exit_cb;
  opts.stdio = stdio;
  opts.stdio_count = 3;
  p->started_ms = uv_now(loop);
  err = uv_spawn(loop, &p->process, &opts);
  if (err != 0) {
    /* The pipes were never used: close them before failing. */
    uv_close((uv_handle_t *)&p->in_pipe, NULL);
    uv_close((uv_handle_t *)&p->out_pipe, NULL);
    uv_close((uv_handle_t *)&p->err_pipe, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    fail_msg("spawn %s: %s", argv[0], uv_strerror(err));
  }
  /* Pipes the child did not get are closed at once; the others when they
   * reach EOF (or, stdin, in proc_close_stdin). */
  if (in_fd == PROC_PIPE)
    open++;
  else
    uv_close((uv_handle_t *)&p->in_pipe, NULL);
  if (out_fd < 0) {
    open++;
    uv_read_start((uv_stream_t *)&p->out_pipe, on_alloc, on_pipe_read);
  } else {
    uv_close((uv_handle_t *)&p->out_pipe, NULL);
  }
  p->open = open;
  remember(p);
  uv_read_start((uv_stream_t *)&p->err_pipe, on_alloc, on_pipe_read);
}

void proc_start(proc_t *p, const char **args) {
  proc_start_io(p, args, PROC_DEFAULT, PROC_DEFAULT);
}

void proc_start_via(proc_t *p, const char **launcher, const char **args) {
  const char *argv[64];
  int i, n = 0;

  for (i = 0; launcher[i] != NULL && n < 16; i++)
    argv[n++] = launcher[i];
  for (i = 0; i < server_flavour.count; i++)
    argv[n++] = server_flavour.words[i];
  argv[n++] = server_flavour.path;
  for (i = 0; args[i] != NULL && n < 63; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  proc_spawn_io(p, argv, PROC_DEFAULT, PROC_DEFAULT);
}

void proc_start_io(proc_t *p, const char **args, int in_fd, int out_fd) {
  const int client =
      args[0] != NULL &&
      (strcmp(args[0], "--client") == 0 || strcmp(args[0], "-c") == 0 ||
       strcmp(args[0], "--bench") == 0 || strcmp(args[0], "-b") == 0);
  const flavour_t *f = client ? &client_flavour : &server_flavour;
  const char *argv[48];
  int i, n = 0;

  for (i = 0; i < f->count; i++)
    argv[n++] = f->words[i];
  argv[n++] = f->path;
  for (i = 0; args[i] != NULL && n < 47; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  proc_spawn_io(p, argv, in_fd, out_fd);
}

static void on_tick(uv_timer_t *t) {
  (void)t; /* only wakes the loop so deadlines are checked */
}

/* Runs the loop until pred holds or the deadline passes. */
int run_until(int (*pred)(proc_t *, const void *), proc_t *p, const void *arg,
              uint64_t timeout_ms) {
  uv_timer_t tick;
  uint64_t deadline;
  int ok;

  uv_update_time(loop);
  deadline = uv_now(loop) + timeout_ms;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 10, 10);
  for (;;) {
    ok = pred(p, arg);
    if (ok || uv_now(loop) >= deadline)
      break;
    uv_run(loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return ok;
}

int is_finished(proc_t *p, const void *arg) {
  (void)arg;
  return p->exited && p->open == 0;
}

int err_has(proc_t *p, const void *needle) {
  return strstr(p->err, (const char *)needle) != NULL;
}

void wait_exit(proc_t *p, int64_t want_status) {
  if (!run_until(is_finished, p, NULL, PROC_TIMEOUT_MS))
    fail_msg("tcpecho did not exit; stderr so far:\n%s", p->err);
  if (p->term_signal != 0 || p->exit_status != want_status)
    fail_msg("exit status %d (signal %d), want %d; stderr:\n%s",
             (int)p->exit_status, p->term_signal, (int)want_status, p->err);
}

void wait_log(proc_t *p, const char *needle) {
  if (!run_until(err_has, p, needle, PROC_TIMEOUT_MS))
    fail_msg("no '%s' in the log:\n%s", needle, p->err);
}

void stop(proc_t *p, int signum) {
  assert_int_equal(uv_process_kill(&p->process, signum), 0);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int test_runs_on_windows(void) {
#ifdef _WIN32
  return 1;
#else
  return 0;
#endif
}

int proc_signal_graceful(int signum) {
  /* There uv_process_kill() is TerminateProcess(): no handler runs. */
  if (test_runs_on_windows())
    return 0;
  /* A Windows server under wine gets Ctrl-C for SIGINT; nothing else. */
  return signum == SIGINT || !ends_with(server_flavour.path, ".exe");
}

int stop_server(proc_t *p, int signum) {
  stop(p, signum);
  if (proc_signal_graceful(signum)) {
    wait_exit(p, 0);
    return 1;
  }
  if (!run_until(is_finished, p, NULL, PROC_TIMEOUT_MS))
    fail_msg("tcpecho did not end on signal %d", signum);
  return 0;
}

/* Checks that every log line has Go's "YYYY/MM/DD HH:MM:SS " prefix and
 * compares the messages with want (NULL-terminated); a "*" at the end of an
 * expected message matches any rest of the line. */
void assert_log(const char *log, const char **want) {
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
int try_start_server(proc_t *p, const char *host, const char **extra) {
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
  if (!run_until(listening_or_exited, p, needle, PROC_TIMEOUT_MS))
    fail_msg("server did not start; stderr so far:\n%s", p->err);
  at = strstr(p->err, needle);
  if (at == NULL)
    return -1;
  port = atoi(at + strlen(needle));
  assert_true(port > 0 && port < 65536);
  return port;
}

int start_server(proc_t *p, const char *host, const char **extra) {
  int port = try_start_server(p, host, extra);
  if (port < 0)
    fail_msg("server exited: %s", p->err);
  return port;
}
