/* Logging in Go's log format: "2006/01/02 15:04:05 message", local time, one
 * line per call, on standard error. The formatting helpers are pure. */
#ifndef TCPECHO_LOG_H
#define TCPECHO_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <uv.h>

/* Reads longer than this are shown shortened, with their byte count. */
#define LOG_DATA_SHOWN 64
/* Room for LOG_DATA_SHOWN bytes escaped as \xNN, the suffix and a NUL. */
#define LOG_ESCAPED_SIZE (LOG_DATA_SHOWN * 4 + 48)
/* Longest line written; longer ones are cut. */
#define LOG_LINE_SIZE 1024

#if defined(__GNUC__) || defined(__clang__)
#define LOG_PRINTF(fmt_index, first_arg)                                       \
  __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LOG_PRINTF(fmt_index, first_arg)
#endif

/* Writes "YYYY/MM/DD HH:MM:SS " into buf; returns the length (20), or 0 if
 * buf is too small. */
size_t log_format_prefix(char *buf, size_t size, const struct tm *tm);

/* Formats one whole line, prefix and trailing newline included, cutting the
 * message if it does not fit. Returns the line's length. */
size_t log_format_line(char *buf, size_t size, const struct tm *tm,
                       const char *fmt, va_list ap);

/* Escapes data for a log line: printable ASCII as is, backslash as "\\",
 * "\n" "\r" "\t", any other byte as "\xNN". At most LOG_DATA_SHOWN bytes
 * are shown; longer data ends in "... (N bytes)". dst_size must be at least
 * LOG_ESCAPED_SIZE. Returns the length written, without the NUL. */
size_t log_escape(char *dst, size_t dst_size, const char *data, size_t len);

/* Formats a duration in milliseconds as seconds without trailing zeros:
 * 10000 -> "10", 1500 -> "1.5", 250 -> "0.25". */
void log_format_seconds(char *buf, size_t size, unsigned long long ms);

/* Where lines go while no writer thread runs (before log_start, after
 * log_stop, or if it could not start); stderr unless changed. */
void log_set_output(FILE *out);

/* The buffer log_start is given by main: lines beyond it are dropped while
 * standard error is not being read, rather than stall the event loop. */
#define LOG_BUFFER_SIZE (1024 * 1024)
/* How long log_stop waits for the buffer to be written at exit. */
#define LOG_STOP_TIMEOUT_MS 2000

/* From here on lines never block the caller: they are copied into a bounded
 * buffer of buffer_size bytes that a writer thread writes to fd. While it
 * is full, lines are dropped and counted; the first line that fits after
 * that is preceded by "N log lines dropped: standard error was not being
 * read". Lines stay whole and in order, whichever thread logs them.
 * Returns 0, or a UV_* error (then lines are written directly, as before). */
int log_start(int fd, size_t buffer_size);

/* Writes what is buffered, waiting at most timeout_ms, then returns to
 * direct writes. If fd stays blocked past the timeout the writer thread is
 * left behind, still blocked, and what it holds is lost at exit. */
void log_stop(uint64_t timeout_ms);

/* Waits at most timeout_ms for what is buffered to be written: before
 * output on standard output that should follow the log lines. */
void log_flush(uint64_t timeout_ms);

/* Lines dropped so far because the buffer was full. */
uint64_t log_dropped(void);

/* Text that is not a log line (the bench's live line on a terminal),
 * through the same buffer so that it does not cut into a line. */
void log_raw(const char *text, size_t len);
void log_rawf(const char *fmt, ...) LOG_PRINTF(1, 2);

/* Logs one line with the current local time. */
void log_line(const char *fmt, ...) LOG_PRINTF(1, 2);

/* A line that must not be dropped (the summary at exit): while the buffer
 * is full, waits up to timeout_ms for room before dropping it. */
void log_line_waiting(uint64_t timeout_ms, const char *fmt, ...)
    LOG_PRINTF(2, 3);
void log_vline(const char *fmt, va_list ap);

/* Logs "<label>: <escaped data>", e.g. "reading data from client: Hi". */
void log_data(const char *label, const char *data, size_t len);

/* The lines of one loop turn, written together. While a batch runs on a
 * loop, the lines logged on that loop's thread are gathered and written
 * with one write() once the turn's callbacks have run, before the loop
 * waits again: so no line waits for the next event, and a busy server
 * saves a system call per line. Only where that is all it changes:
 * standard error a regular file (a terminal or a pipe still gets each line
 * as it comes), after log_start. The fields are the log's own. */
#define LOG_BATCH_SIZE 4096
typedef struct log_batch_s log_batch_t;
typedef void (*log_batch_closed_cb)(log_batch_t *batch);
struct log_batch_s {
  uv_prepare_t before_poll; /* writes what timers and closes logged */
  uv_check_t after_poll;    /* writes what I/O callbacks logged */
  log_batch_closed_cb closed_cb;
  int on;
  int handles_open;
  size_t len;
  char buf[LOG_BATCH_SIZE];
};

/* Starts gathering on loop, which must run on the thread that logs; the
 * batch's handles never keep it alive. Returns 1 if started, 0 if there is
 * nothing to gain (lines go out one by one, as without it). One batch per
 * thread: a second one is not started. */
int log_batch_start(log_batch_t *batch, uv_loop_t *loop);

/* On the loop's thread: writes what is gathered, stops gathering and closes
 * the batch's handles; closed_cb (may be NULL) runs once they are closed. A
 * batch that was not started is left alone, and closed_cb not called. */
void log_batch_stop(log_batch_t *batch, log_batch_closed_cb closed_cb);

#endif
