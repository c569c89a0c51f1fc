/* Log formatting and escaping: Go's log format, binary-safe data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/container_of.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static struct tm tutorial_time(void) {
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  tm.tm_year = 2021 - 1900;
  tm.tm_mon = 9;
  tm.tm_mday = 28;
  tm.tm_hour = 12;
  tm.tm_min = 1;
  tm.tm_sec = 0;
  return tm;
}

static size_t format_line(char *buf, size_t size, const struct tm *tm,
                          const char *fmt, ...) {
  va_list ap;
  size_t n;
  va_start(ap, fmt);
  n = log_format_line(buf, size, tm, fmt, ap);
  va_end(ap);
  return n;
}

static void test_prefix(void **state) {
  struct tm tm = tutorial_time();
  char buf[32];
  (void)state;
  assert_int_equal(log_format_prefix(buf, sizeof(buf), &tm), 20);
  assert_string_equal(buf, "2021/10/28 12:01:00 ");
  assert_int_equal(log_format_prefix(buf, 10, &tm), 0);
}

/* Every field at its edges, against the same format through snprintf. */
static void test_prefix_digits(void **state) {
  static const int years[] = {0, 999, 1970, 2026, 9999};
  static const int mdays[] = {1, 9, 10, 31};
  static const int hours[] = {0, 9, 10, 23};
  static const int mins[] = {0, 9, 59};
  static const int secs[] = {0, 9, 59, 60}; /* 60: a leap second */
  char got[32], want[32];
  size_t y, mo, d, h, mi, s;
  struct tm tm;
  (void)state;

  memset(&tm, 0, sizeof(tm));
  for (y = 0; y < sizeof(years) / sizeof(years[0]); y++)
    for (mo = 0; mo < 12; mo++)
      for (d = 0; d < sizeof(mdays) / sizeof(mdays[0]); d++)
        for (h = 0; h < sizeof(hours) / sizeof(hours[0]); h++)
          for (mi = 0; mi < sizeof(mins) / sizeof(mins[0]); mi++)
            for (s = 0; s < sizeof(secs) / sizeof(secs[0]); s++) {
              tm.tm_year = years[y] - 1900;
              tm.tm_mon = (int)mo;
              tm.tm_mday = mdays[d];
              tm.tm_hour = hours[h];
              tm.tm_min = mins[mi];
              tm.tm_sec = secs[s];
              snprintf(want, sizeof(want), "%04d/%02d/%02d %02d:%02d:%02d ",
                       years[y], (int)mo + 1, mdays[d], hours[h], mins[mi],
                       secs[s]);
              assert_int_equal(log_format_prefix(got, sizeof(got), &tm), 20);
              assert_string_equal(got, want);
            }
  /* Out of localtime's ranges: still what the format says. */
  tm = tutorial_time();
  tm.tm_mon = 12;
  tm.tm_year = 12345 - 1900;
  assert_int_equal(log_format_prefix(got, sizeof(got), &tm), 21);
  assert_string_equal(got, "12345/13/28 12:01:00 ");
  assert_int_equal(log_format_prefix(got, 21, &tm), 0);
  tm = tutorial_time();
  assert_int_equal(log_format_prefix(got, 21, &tm), 20);
  assert_int_equal(log_format_prefix(got, 20, &tm), 0);
}

static void test_line_as_in_tutorial(void **state) {
  struct tm tm = tutorial_time();
  char buf[LOG_LINE_SIZE];
  size_t n;
  (void)state;
  n = format_line(buf, sizeof(buf), &tm, "reading data from client: %s",
                  "Hi, beyondyyh");
  assert_string_equal(buf, "2021/10/28 12:01:00 reading data from client: "
                           "Hi, beyondyyh\n");
  assert_int_equal(n, strlen(buf));
}

static void test_line_is_cut_but_ends_in_newline(void **state) {
  struct tm tm = tutorial_time();
  char buf[30];
  size_t n;
  (void)state;
  n = format_line(buf, sizeof(buf), &tm, "%s", "a long message here");
  assert_int_equal(n, sizeof(buf) - 1);
  assert_int_equal(strlen(buf), n);
  assert_string_equal(buf, "2021/10/28 12:01:00 a long m\n");
}

static void check_escape(const char *data, size_t len, const char *want) {
  char out[LOG_ESCAPED_SIZE];
  size_t n = log_escape(out, sizeof(out), data, len);
  assert_string_equal(out, want);
  assert_int_equal(n, strlen(want));
}

static void test_escape(void **state) {
  (void)state;
  check_escape("Hi, beyondyyh", 13, "Hi, beyondyyh");
  check_escape("", 0, "");
  check_escape("a\\b", 3, "a\\\\b");
  check_escape("l1\r\nl2\t", 7, "l1\\r\\nl2\\t");
  check_escape("\0\x01\x7f\x80\xff", 5, "\\x00\\x01\\x7f\\x80\\xff");
  check_escape(" ~", 2, " ~");
}

static void test_escape_long_data(void **state) {
  char data[LOG_DATA_SHOWN + 1];
  char want[LOG_ESCAPED_SIZE];
  char *big;
  size_t big_len = 3 * 1024 * 1024;
  (void)state;

  memset(data, 'x', sizeof(data));
  memcpy(want, data, LOG_DATA_SHOWN);
  want[LOG_DATA_SHOWN] = '\0';
  check_escape(data, LOG_DATA_SHOWN, want); /* exactly the limit: whole */
  strcat(want, "... (65 bytes)");
  check_escape(data, sizeof(data), want);

  /* The worst case fits: every shown byte escaped, a long byte count. */
  big = calloc(1, big_len);
  assert_non_null(big);
  {
    char out[LOG_ESCAPED_SIZE];
    size_t n = log_escape(out, sizeof(out), big, big_len);
    assert_int_equal(n, LOG_DATA_SHOWN * 4 + strlen("... (3145728 bytes)"));
    assert_non_null(strstr(out, "\\x00... (3145728 bytes)"));
  }
  free(big);
}

static void test_escape_refuses_small_buffer(void **state) {
  char out[16];
  (void)state;
  out[0] = 'z';
  assert_int_equal(log_escape(out, sizeof(out), "abc", 3), 0);
  assert_string_equal(out, "");
}

static void test_format_seconds(void **state) {
  char buf[32];
  (void)state;
  log_format_seconds(buf, sizeof(buf), 10000);
  assert_string_equal(buf, "10");
  log_format_seconds(buf, sizeof(buf), 1500);
  assert_string_equal(buf, "1.5");
  log_format_seconds(buf, sizeof(buf), 250);
  assert_string_equal(buf, "0.25");
  log_format_seconds(buf, sizeof(buf), 1010);
  assert_string_equal(buf, "1.01");
  log_format_seconds(buf, sizeof(buf), 1);
  assert_string_equal(buf, "0.001");
  log_format_seconds(buf, sizeof(buf), 0);
  assert_string_equal(buf, "0");
}

/* Reads back what log_line and log_data wrote to a file. */
static void test_log_line_and_data_write_whole_lines(void **state) {
  /* A file of our own: tmpfile() needs a writable root dir on Windows. */
  FILE *f = fopen("test_log.out", "w+b");
  char line[LOG_LINE_SIZE];
  int y, mo, d, h, mi, s;
  (void)state;

  assert_non_null(f);
  log_set_output(f);
  log_line("TCP session open");
  log_data("reading data from client", "a\0b", 3);
  log_set_output(NULL);
  rewind(f);

  assert_non_null(fgets(line, sizeof(line), f));
  assert_int_equal(
      sscanf(line, "%4d/%2d/%2d %2d:%2d:%2d ", &y, &mo, &d, &h, &mi, &s), 6);
  assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31);
  assert_string_equal(line + 20, "TCP session open\n");
  assert_non_null(fgets(line, sizeof(line), f));
  assert_string_equal(line + 20, "reading data from client: a\\x00b\n");
  assert_null(fgets(line, sizeof(line), f));
  fclose(f);
  remove("test_log.out");
}

/* --- the non-blocking path ---------------------------------------------- */

typedef struct pipe_reader_s {
  uv_file fd;
  char *data;
  size_t len, cap;
} pipe_reader_t;

/* Reads the pipe to its end, as a log reader that came back would. */
static void read_pipe(void *arg) {
  pipe_reader_t *r = arg;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  for (;;) {
    uv_fs_t req;
    uv_buf_t buf;
    int n;
    if (r->len == r->cap) {
      r->cap = r->cap ? 2 * r->cap : 65536;
      r->data = realloc(r->data, r->cap + 1);
      assert_non_null(r->data);
    }
    buf = uv_buf_init(r->data + r->len, (unsigned int)(r->cap - r->len));
    n = uv_fs_read(&loop, &req, r->fd, &buf, 1, -1, NULL);
    uv_fs_req_cleanup(&req);
    if (n <= 0)
      break;
    r->len += (size_t)n;
  }
  r->data[r->len] = '\0';
  (void)uv_loop_close(&loop);
}

/* A reader that stops reading: lines beyond the buffer (and the pipe) are
 * dropped, never cut or reordered, and a notice says how many, where they
 * were lost. */
static void test_log_drops_whole_lines_when_unread(void **state) {
  uv_file fds[2];
  uv_thread_t reader_thread;
  pipe_reader_t reader;
  uv_loop_t loop;
  uv_fs_t req;
  unsigned long expect = 0, got = 0, notices = 0, noticed = 0, n;
  const int lines = 4000;
  char *line;
  int i;
  (void)state;

  assert_int_equal(uv_pipe(fds, 0, 0), 0);
  assert_int_equal(log_start(fds[1], 4096), 0);
  for (i = 0; i < lines; i++) /* about 280 KB: more than the pipe holds */
    log_line("line %06d %s", i, "................................");
  assert_true(log_dropped() > 0);
  memset(&reader, 0, sizeof(reader));
  reader.fd = fds[0];
  assert_int_equal(uv_thread_create(&reader_thread, read_pipe, &reader), 0);
  log_stop(10000);
  assert_int_equal(uv_loop_init(&loop), 0);
  (void)uv_fs_close(&loop, &req, fds[1], NULL); /* the reader sees EOF */
  uv_fs_req_cleanup(&req);
  assert_int_equal(uv_thread_join(&reader_thread), 0);
  (void)uv_fs_close(&loop, &req, fds[0], NULL);
  uv_fs_req_cleanup(&req);
  (void)uv_loop_close(&loop);

  /* Every line whole, numbers increasing, gaps exactly what the notice
   * before the next line says. */
  for (line = reader.data; *line != '\0';) {
    char *nl = strchr(line, '\n');
    int num;
    assert_non_null(nl); /* no partial last line */
    *nl = '\0';
    if (nl > line && nl[-1] == '\r')
      nl[-1] = '\0';
    if (sscanf(line + 20, "line %d ", &num) == 1 &&
        strcmp(line + 31, " ................................") == 0) {
      assert_true((unsigned long)num >= expect);
      assert_int_equal((unsigned long)num - expect, noticed);
      noticed = 0;
      expect = (unsigned long)num + 1;
      got++;
    } else if (sscanf(line + 20, "%lu log line", &n) == 1 &&
               strstr(line, " dropped: standard error was not being read")) {
      assert_int_equal(noticed, 0); /* one notice per gap */
      noticed = n;
      notices += n;
    } else {
      fail_msg("not a whole line: '%s'", line);
    }
    line = nl + 1;
  }
  assert_int_equal(noticed, (unsigned long)lines - expect); /* the tail */
  assert_int_equal(got + notices, (unsigned long)lines);
  assert_int_equal(notices, log_dropped());
  print_message("  %lu lines written, %lu dropped and reported\n", got,
                notices);
  free(reader.data);
}

/* Standard error on a regular file (the usual `2>server.log`): on POSIX
 * lines go straight to it, never through the ring, so a ring fifty times
 * smaller than what is logged loses nothing. Windows cannot ask a
 * descriptor whether a write would wait, so there every line goes through
 * the ring, given room for them all here. */
static void test_log_to_a_file_loses_nothing(void **state) {
  FILE *f = fopen("test_log_file.out", "w+b");
  char line[LOG_LINE_SIZE];
  const int lines = 3000; /* about 200 KB */
#ifdef _WIN32
  const size_t ring = LOG_BUFFER_SIZE;
#else
  const size_t ring = 4096;
#endif
  int i, num;
  (void)state;

  assert_non_null(f);
  assert_int_equal(log_start(fileno(f), ring), 0);
  for (i = 0; i < lines; i++)
    log_line("line %06d %s", i, "................................");
  log_stop(10000);
  assert_int_equal(log_dropped(), 0);

  rewind(f);
  for (i = 0; i < lines; i++) {
    assert_non_null(fgets(line, sizeof(line), f));
    assert_int_equal(sscanf(line + 20, "line %d ", &num), 1);
    assert_int_equal(num, i);
    assert_string_equal(line + 31, " ................................\n");
  }
  assert_null(fgets(line, sizeof(line), f));
  fclose(f);
  remove("test_log_file.out");
}

/* --- batches: the lines of one loop turn in one write -------------------- */

typedef struct batch_test_s {
  FILE *f;
  log_batch_t batch;
  uv_timer_t log_timer, check_timer;
  uv_async_t io;
  /* Where batches run: the file grows only at turn ends. Elsewhere
   * (Windows) lines go through the ring, written a moment later. */
  int gathering;
  int checks;
  int closed;
  uv_thread_t watcher;
  long size_while_waiting;
} batch_test_t;

/* What the timer logs, and then the I/O callback. */
#define TIMER_BYTES (20 + 18 + 100 * 65)
#define IO_BYTES (20 + 26)

static long file_size(FILE *f) {
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  return ftell(f);
}

/* Looks at the file while the loop waits for its next timer. */
static void watch_file(void *arg) {
  batch_test_t *t = arg;
  uv_sleep(50);
  t->size_while_waiting = file_size(t->f);
}

/* A timer: more than the batch holds, so part of it goes out at once. */
static void on_log_timer(uv_timer_t *timer) {
  batch_test_t *t = timer->data;
  int i;
  log_line("line from a timer");
  if (t->gathering)
    assert_int_equal(file_size(t->f), 0);
  for (i = 0; i < 100; i++) /* 6.5 KB */
    log_line("line %06d %s", i, "................................");
  assert_int_equal(uv_thread_create(&t->watcher, watch_file, t), 0);
}

/* First: a turn has passed, so the batch has its thread (it takes it in
 * its loop's callbacks); the logging starts in a later turn. Then: the
 * loop waited since, so the timer's lines are out. */
static void on_check_timer(uv_timer_t *timer) {
  batch_test_t *t = timer->data;
  if (t->checks++ == 0) {
    assert_int_equal(uv_timer_start(&t->log_timer, on_log_timer, 10, 0), 0);
    assert_int_equal(uv_timer_start(timer, on_check_timer, 150, 0), 0);
    return;
  }
  assert_int_equal(uv_thread_join(&t->watcher), 0);
  assert_int_equal(t->size_while_waiting, TIMER_BYTES);
  assert_int_equal(file_size(t->f), TIMER_BYTES);
  assert_int_equal(uv_async_send(&t->io), 0);
}

static void on_batch_closed(log_batch_t *batch) {
  batch_test_t *t = container_of(batch, batch_test_t, batch);
  t->closed = 1;
}

/* After the I/O callbacks of its turn (the check phase): the line is out
 * before the loop goes on. */
static void on_io_closed(uv_handle_t *handle) {
  batch_test_t *t = handle->data;
  if (t->gathering)
    assert_int_equal(file_size(t->f), TIMER_BYTES + IO_BYTES);
  log_batch_stop(&t->batch, on_batch_closed);
  uv_close((uv_handle_t *)&t->log_timer, NULL);
  uv_close((uv_handle_t *)&t->check_timer, NULL);
}

static void on_io(uv_async_t *handle) {
  batch_test_t *t = handle->data;
  log_line("line from an I/O callback");
  if (t->gathering)
    assert_int_equal(file_size(t->f), TIMER_BYTES);
  uv_close((uv_handle_t *)handle, on_io_closed);
}

static void test_log_batch_writes_each_turn(void **state) {
  batch_test_t t;
  uv_loop_t loop;
  char line[LOG_LINE_SIZE];
  int i, num;
  (void)state;

  memset(&t, 0, sizeof(t));
  t.f = fopen("test_log_batch.out", "w+b");
  assert_non_null(t.f);
  assert_int_equal(log_start(fileno(t.f), LOG_BUFFER_SIZE), 0);
  assert_int_equal(uv_loop_init(&loop), 0);
  t.gathering = log_batch_start(&t.batch, &loop);
#ifdef _WIN32
  assert_int_equal(t.gathering, 0); /* no regular files told apart */
#else
  assert_int_equal(t.gathering, 1);
#endif
  assert_int_equal(uv_timer_init(&loop, &t.log_timer), 0);
  assert_int_equal(uv_timer_init(&loop, &t.check_timer), 0);
  assert_int_equal(uv_async_init(&loop, &t.io, on_io), 0);
  t.log_timer.data = t.check_timer.data = t.io.data = &t;
  assert_int_equal(uv_timer_start(&t.check_timer, on_check_timer, 0, 0), 0);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(t.closed, t.gathering);
  assert_int_equal(uv_loop_close(&loop), 0);
  log_stop(10000);

  rewind(t.f);
  assert_non_null(fgets(line, sizeof(line), t.f));
  assert_string_equal(line + 20, "line from a timer\n");
  for (i = 0; i < 100; i++) {
    assert_non_null(fgets(line, sizeof(line), t.f));
    assert_int_equal(sscanf(line + 20, "line %d ", &num), 1);
    assert_int_equal(num, i);
  }
  assert_non_null(fgets(line, sizeof(line), t.f));
  assert_string_equal(line + 20, "line from an I/O callback\n");
  assert_null(fgets(line, sizeof(line), t.f));
  fclose(t.f);
  remove("test_log_batch.out");
}

/* A pipe is read as lines come: no batch there. */
static void test_log_batch_not_on_a_pipe(void **state) {
  uv_file fds[2];
  uv_loop_t loop;
  uv_fs_t req;
  log_batch_t batch;
  (void)state;

  assert_int_equal(uv_pipe(fds, 0, 0), 0);
  assert_int_equal(log_start(fds[1], 4096), 0);
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(log_batch_start(&batch, &loop), 0);
  log_batch_stop(&batch, NULL); /* not started: nothing to close */
  assert_int_equal(uv_run(&loop, UV_RUN_NOWAIT), 0);
  log_stop(10000);
  (void)uv_fs_close(&loop, &req, fds[0], NULL);
  uv_fs_req_cleanup(&req);
  (void)uv_fs_close(&loop, &req, fds[1], NULL);
  uv_fs_req_cleanup(&req);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_prefix),
      cmocka_unit_test(test_prefix_digits),
      cmocka_unit_test(test_line_as_in_tutorial),
      cmocka_unit_test(test_line_is_cut_but_ends_in_newline),
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_escape_long_data),
      cmocka_unit_test(test_escape_refuses_small_buffer),
      cmocka_unit_test(test_format_seconds),
      cmocka_unit_test(test_log_line_and_data_write_whole_lines),
      cmocka_unit_test(test_log_drops_whole_lines_when_unread),
      cmocka_unit_test(test_log_to_a_file_loses_nothing),
      cmocka_unit_test(test_log_batch_writes_each_turn),
      cmocka_unit_test(test_log_batch_not_on_a_pipe),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
