/* Test support: what every reliability test program shares: the loop, the
 * tcpecho servers it starts, a teardown that leaves nothing running, and a
 * main() that chooses the tests to run.
 *
 * Usage of such a program: PROGRAM TCPECHO [fast | slow | all | TEST...]
 * fast (the default) runs the tests that take seconds, slow the ones that
 * move gigabytes or open 10,000 connections, a test name (with or without
 * its "test_" prefix) just that test. Servers started through sh (the
 * Linux-only tests) run without TCPECHO_TEST_WRAPPER. */
#ifndef TCPECHO_TEST_SUITE_H
#define TCPECHO_TEST_SUITE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "load.h"
#include "proc.h"
#include "server_log.h"

#include <stdint.h>
#include <uv.h>

typedef struct suite_test_s {
  struct CMUnitTest test;
  int slow;
} suite_test_t;

/* A test with the suite's teardown; SUITE_SLOW for the slow ones. */
#define SUITE_TEST(f)                                                          \
  { cmocka_unit_test_teardown(f, suite_teardown), 0 }
#define SUITE_SLOW(f)                                                          \
  { cmocka_unit_test_teardown(f, suite_teardown), 1 }

/* Runs the tests that argv selects (see above) as cmocka group `group`. */
int suite_main(int argc, char **argv, const char *group,
               const suite_test_t *tests, size_t count);

/* The loop the tests run on, and the tcpecho binary under test. */
uv_loop_t *suite_loop(void);
const char *suite_tcpecho(void);

/* Frees the load, stops the tickers, kills every process started, removes
 * the log file, restores the descriptor limit. */
int suite_teardown(void **state);

/* A zeroed proc_t for server i (0 or 1), freed by the teardown. */
proc_t *new_server(int i);

/* tcpecho --server --host 127.0.0.1 --port 0 --quiet [extra0 [extra1]];
 * returns its port. */
int start_quiet_server(proc_t *p, const char *extra0, const char *extra1);

/* Stops the server with SIGTERM, which must be a clean exit with the
 * summary line; returns 0 (and s untouched) where SIGTERM cannot be
 * handled (a Windows test program). log: the server's log, if not in
 * p->err. */
int finish_server(proc_t *p, summary_t *s, const char *(*log)(void));

/* Whether SIGTERM reaches the server's handler here; if not, says that
 * `what` is skipped. */
int is_graceful_platform(const char *what);

void expect_running(const proc_t *p);
void report_time(uint64_t start_ms);

/* After a drain: each of the first n connections of l got an exact prefix
 * of what it sent (at least min_received bytes of it), then EOF, and no
 * write failed but for those the close cancelled. Returns the bytes they
 * got in all, to hold against the server's "echoed". */
uint64_t expect_prefix_then_eof(const load_t *l, unsigned n,
                                uint64_t min_received);
/* The same for one connection; returns the bytes it got. */
uint64_t expect_conn_prefix_then_eof(const conn_t *c, uint64_t min_received);

#ifndef _WIN32
/* Raises RLIMIT_NOFILE to need (restored by the teardown); 0 if it
 * cannot. */
int raise_fd_limit(unsigned long need);
#endif

#ifdef __linux__
/* Starts the server through `sh -c script tcpecho [LOGFILE] args...`: the
 * script must end in exec "$0" "$@" so that the process is tcpecho
 * itself. With log_to_file, $1 is a new temporary file for the script to
 * send the log to (read_log_file() reads it). Returns the port from the
 * "listening on" line. */
int start_server_sh(proc_t *p, const char *script, const char **extra,
                    int log_to_file);
const char *read_log_file(void);

/* Resident set size of a process, in KiB, from /proc/PID/status. */
long rss_kib(int pid);
#endif

#endif
