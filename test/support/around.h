/* Test support for the tests of what is around the process (its standard
 * descriptors, signals, log, peers that never answer, the generator's own
 * limits): the loop, children started through sh, free ports, waits on
 * their output. */
#ifndef TCPECHO_TEST_AROUND_H
#define TCPECHO_TEST_AROUND_H

#include "proc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include <cmocka.h>

#include <signal.h>
#ifndef SIGHUP
#define SIGHUP 1 /* Windows has none to send; the tests that would skip */
#endif

/* The loop every child and fake server runs on. */
uv_loop_t *around_loop(void);

/* uv_now() of that loop, brought up to date: the clock of proc_t's
 * started_ms and exited_ms. */
uint64_t loop_now_ms(void);

/* Runs the loop for ms, whatever happens. */
void loop_pause_ms(uint64_t ms);

void fmt_port(char *buf, size_t size, int port);

/* run_until predicate: exited and every pipe closed. */
int has_exited(proc_t *p, const void *arg);

/* Waits (60 s at most) for needle on p's standard output. */
void wait_out(proc_t *p, const char *needle);

/* The test runs as a Windows program (under wine): no sh, no signals but
 * Ctrl-C, no /proc. */
int windows_test(void);

/* Runs tcpecho (without any wrapper) under sh: "BEFORE exec tcpecho ARGS
 * AFTER", e.g. with one descriptor closed ("1>&-") or a lower descriptor
 * limit ("ulimit -n 64 &&"). */
void start_under_sh(proc_t *p, const char *before, const char *after,
                    const char **args);

/* A free port: bound and released, for a server whose log cannot be read. */
int free_port(void);

/* main() of such a test program: PROGRAM TCPECHO [NAME_PATTERN]. */
int around_main(int argc, char **argv, const char *group,
                const struct CMUnitTest *tests, size_t count);

#endif
