/* Test helper: runs tcpecho (or any program) as a child process on a libuv
 * loop, collects its output and waits for it with deadlines. */
#ifndef TCPECHO_TEST_PROC_H
#define TCPECHO_TEST_PROC_H

#include <stdint.h>
#include <uv.h>

#define PROC_OUT_SIZE 65536
#define PROC_TIMEOUT_MS 20000

/* Where a child's standard input or output goes, besides the defaults
 * (input ignored, output collected in out). */
#define PROC_DEFAULT (-1)
#define PROC_PIPE (-2) /* stdin only: the test writes to in_pipe */

typedef struct proc_s {
  uv_process_t process;
  uv_pipe_t in_pipe;
  uv_pipe_t out_pipe;
  uv_pipe_t err_pipe;
  char out[PROC_OUT_SIZE];
  size_t out_len;
  char err[PROC_OUT_SIZE];
  size_t err_len;
  int open; /* handles not yet closed */
  int exited;
  int64_t exit_status;
  int term_signal;
  uint64_t started_ms;
  uint64_t exited_ms;
  /* proc_resume_stderr: lines go to err_line_cb rather than stay in err */
  void (*err_line_cb)(struct proc_s *p, const char *line, size_t len,
                      int whole);
  void *err_line_arg;
} proc_t;

/* Once per test program: the loop to use, the tcpecho binary for servers
 * and the one for clients (NULL: the same). Reads TCPECHO_TEST_WRAPPER,
 * e.g. "wine" or "valgrind --error-exitcode=99", put in front of every
 * tcpecho started, or per role TCPECHO_TEST_SERVER_WRAPPER and
 * TCPECHO_TEST_CLIENT_WRAPPER. */
void proc_setup(uv_loop_t *loop, const char *server_path,
                const char *client_path);

/* The tcpecho binary servers are started from, without any wrapper: for
 * tests that start it through a shell of their own. */
const char *proc_tcpecho_path(void);

/* Starts tcpecho with args (NULL-terminated, without argv[0]); with the
 * client binary when args start with --client/-c or --bench/-b. */
void proc_start(proc_t *p, const char **args);

/* Starts tcpecho as proc_start does (wrapper included) behind a launcher
 * that ends by executing it in its own process: launcher is the
 * launcher's argv, NULL-terminated, such as {"env", "VAR=VALUE", NULL} or
 * {"sh", "-c", "... exec \"$@\"", "sh", NULL}. */
void proc_start_via(proc_t *p, const char **launcher, const char **args);

/* Starts any program: argv[0] is the file, looked up in PATH. */
void proc_spawn(proc_t *p, const char **argv);

/* The same, with standard input from in_fd (a file descriptor, PROC_PIPE
 * or PROC_DEFAULT) and standard output to out_fd (or PROC_DEFAULT). */
void proc_spawn_io(proc_t *p, const char **argv, int in_fd, int out_fd);
void proc_start_io(proc_t *p, const char **args, int in_fd, int out_fd);

/* Stops reading the child's standard error: once the pipe is full, the
 * child's writes to it block (or fail with EAGAIN if it made them
 * non-blocking). */
void proc_pause_stderr(proc_t *p);

/* Reads it again, handing every line from now on to cb (without its
 * newline; whole == 0 for a last line the child did not end), and keeping
 * none in p->err: for output larger than PROC_OUT_SIZE. */
void proc_resume_stderr(proc_t *p,
                        void (*cb)(proc_t *p, const char *line, size_t len,
                                   int whole),
                        void *arg);

/* Closes in_pipe: the child reads EOF. */
void proc_close_stdin(proc_t *p);

/* SIGKILLs every process started and not yet exited, and waits for them:
 * a cmocka teardown, so a failed test leaves nothing running. */
int proc_kill_all(void **state);

/* Runs the loop until pred holds or timeout_ms passes; returns pred. */
int run_until(int (*pred)(proc_t *, const void *), proc_t *p, const void *arg,
              uint64_t timeout_ms);
int is_finished(proc_t *p, const void *unused);
int err_has(proc_t *p, const void *needle);

/* Fail the test unless the process exits with want_status (no signal), or
 * logs needle, within PROC_TIMEOUT_MS. */
void wait_exit(proc_t *p, int64_t want_status);
void wait_log(proc_t *p, const char *needle);
void stop(proc_t *p, int signum);

/* Whether signum sent to a server with stop() runs tcpecho's handler: not
 * when this test program is a Windows one, where uv_process_kill()
 * terminates the process; for a Windows server run from Linux under wine,
 * only SIGINT, which wine turns into a console Ctrl-C event. */
int proc_signal_graceful(int signum);

/* Sends signum to a server and waits for its exit, which must be a clean
 * one (status 0) where the signal is graceful. Returns
 * proc_signal_graceful(signum). */
int stop_server(proc_t *p, int signum);

/* Checks that every line of log has Go's "YYYY/MM/DD HH:MM:SS " prefix and
 * that the messages are want (NULL-terminated); a "*" ending a wanted
 * message matches any rest of the line. */
void assert_log(const char *log, const char **want);

/* Starts tcpecho --server --host host --port 0 [extra...] and returns the
 * port it logged; try_ returns -1 if the server exited instead. */
int try_start_server(proc_t *p, const char *host, const char **extra);
int start_server(proc_t *p, const char *host, const char **extra);

#endif
