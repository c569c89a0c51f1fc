/* Test support: reading tcpecho --server's log: the closing summary line,
 * lines holding given words in order, and counts. */
#ifndef TCPECHO_TEST_SERVER_LOG_H
#define TCPECHO_TEST_SERVER_LOG_H

#include "proc.h"

#include <stddef.h>
#include <stdint.h>

/* "served N sessions, echoed B bytes, peak P concurrent sessions,
 * R rejected, D dropped (no free descriptor), I closed idle, E errors" */
typedef struct summary_s {
  unsigned long long served, echoed, peak, rejected, dropped, idle, errors;
} summary_t;

/* Parses the summary line of log into s: with --threads N > 1 the total,
 * not one of the "loop K: served ..." lines before it. Returns 0 if there
 * is none. */
int parse_summary(const char *log, summary_t *s);

/* The per-loop summaries of a server with --threads N > 1: how many
 * "loop K: served ..." lines log holds, and loop k's figures (k from 1) in
 * s, returning 0 if it has no such line. */
size_t count_loop_summaries(const char *log);
int parse_loop_summary(const char *log, unsigned k, summary_t *s);
void print_summary(const summary_t *s);

/* Fails naming what differs. */
void expect_eq(const char *what, unsigned long long got,
               unsigned long long want);

/* How many times needle occurs in hay. */
size_t count_of(const char *hay, const char *needle);

/* The first complete line of log at or after from that holds a, and b
 * after it (b may be NULL); NULL if there is none. */
const char *find_line_with(const char *log, const char *from, const char *a,
                           const char *b);
int has_line_with(const char *log, const char *a, const char *b);

/* Waits for a line of p's log holding a and then b (b may be NULL), or
 * fails with the log. */
void wait_line(proc_t *p, const char *a, const char *b, uint64_t timeout_ms);

/* The number right after the first `key` in line (up to its end), in *out;
 * returns 0 if there is none. */
int number_after(const char *line, const char *key, unsigned long *out);

#endif
