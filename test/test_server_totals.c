/* The parts of a multi-loop server that hold no socket: the session count
 * the loops share (--max-conns for the whole process) and the lines that
 * report one loop or their sum. */
#include "base/log.h"
#include "server/conn_limit.h"
#include "server/server_stats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define THREADS 4
#define ROUNDS 20000

static void test_limit_admits_up_to_max(void **state) {
  conn_limit_t limit;
  (void)state;
  assert_int_equal(conn_limit_init(&limit, 3), 0);
  assert_true(conn_limit_take(&limit));
  assert_true(conn_limit_take(&limit));
  assert_true(conn_limit_take(&limit));
  assert_false(conn_limit_take(&limit));
  assert_false(conn_limit_take(&limit));
  assert_int_equal(conn_limit_read(&limit).open, 3);
  assert_int_equal(conn_limit_read(&limit).refused, 2);
  conn_limit_give(&limit);
  assert_int_equal(conn_limit_read(&limit).open, 2);
  assert_true(conn_limit_take(&limit)); /* a place came free */
  assert_false(conn_limit_take(&limit));
  conn_limit_give(&limit);
  conn_limit_give(&limit);
  conn_limit_give(&limit);
  assert_int_equal(conn_limit_read(&limit).open, 0);
  assert_int_equal(conn_limit_read(&limit).peak, 3);
  assert_int_equal(conn_limit_read(&limit).refused, 3);
  conn_limit_destroy(&limit);
}

static void test_limit_zero_is_no_limit(void **state) {
  conn_limit_t limit;
  int i;
  (void)state;
  assert_int_equal(conn_limit_init(&limit, 0), 0);
  for (i = 0; i < 1000; i++)
    assert_true(conn_limit_take(&limit));
  assert_int_equal(conn_limit_read(&limit).open, 1000);
  assert_int_equal(conn_limit_read(&limit).peak, 1000);
  assert_int_equal(conn_limit_read(&limit).refused, 0);
  conn_limit_destroy(&limit);
}

typedef struct racer_s {
  conn_limit_t *limit;
  unsigned long admitted;
} racer_t;

static void race(void *arg) {
  racer_t *r = arg;
  int i;
  for (i = 0; i < ROUNDS; i++) {
    if (conn_limit_take(r->limit)) {
      r->admitted++;
      conn_limit_give(r->limit);
    }
  }
}

/* Loops take and give at once: the count never passes max, and nothing
 * is lost (an unsynchronised count would drift; ThreadSanitizer would say
 * so too). */
static void test_limit_holds_across_threads(void **state) {
  conn_limit_t limit;
  racer_t racers[THREADS];
  uv_thread_t threads[THREADS];
  unsigned long admitted = 0;
  int i;
  (void)state;

  assert_int_equal(conn_limit_init(&limit, 2), 0);
  for (i = 0; i < THREADS; i++) {
    racers[i].limit = &limit;
    racers[i].admitted = 0;
    assert_int_equal(uv_thread_create(&threads[i], race, &racers[i]), 0);
  }
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(uv_thread_join(&threads[i]), 0);
    admitted += racers[i].admitted;
  }
  assert_int_equal(conn_limit_read(&limit).open, 0);
  assert_true(conn_limit_read(&limit).peak >= 1 &&
              conn_limit_read(&limit).peak <= 2);
  assert_int_equal(admitted + conn_limit_read(&limit).refused,
                   (unsigned long)THREADS * ROUNDS);
  conn_limit_destroy(&limit);
}

static server_stats_t sample(uint64_t accepted, uint64_t bytes, size_t peak) {
  server_stats_t st;
  memset(&st, 0, sizeof(st));
  st.sessions_accepted = accepted;
  st.sessions_rejected = accepted / 2;
  st.sessions_dropped = 1;
  st.sessions_idle_closed = 2;
  st.bytes_in = bytes;
  st.bytes_out = bytes;
  st.errors = 3;
  st.sessions_open = accepted / 4;
  st.peak_sessions = peak;
  st.peak_write_pending = peak * 10;
  return st;
}

static void test_stats_add_sums_counts_and_keeps_peaks(void **state) {
  server_stats_t sum, a = sample(10, 1000, 7), b = sample(30, 5, 4);
  (void)state;
  memset(&sum, 0, sizeof(sum));
  server_stats_add(&sum, &a);
  server_stats_add(&sum, &b);
  assert_int_equal(sum.sessions_accepted, 40);
  assert_int_equal(sum.sessions_rejected, 5 + 15);
  assert_int_equal(sum.sessions_dropped, 2);
  assert_int_equal(sum.sessions_idle_closed, 4);
  assert_int_equal(sum.bytes_in, 1005);
  assert_int_equal(sum.bytes_out, 1005);
  assert_int_equal(sum.errors, 6);
  assert_int_equal(sum.sessions_open, 2 + 7);
  assert_int_equal(sum.peak_sessions, 7); /* the larger, not 11 */
  assert_int_equal(sum.peak_write_pending, 70);
}

/* What the lines say, read back from a file (Go's log prefix cut off). */
static void read_lines(FILE *f, char lines[][LOG_LINE_SIZE], int n) {
  int i;
  rewind(f);
  for (i = 0; i < n; i++) {
    assert_non_null(fgets(lines[i], LOG_LINE_SIZE, f));
    memmove(lines[i], lines[i] + 20, strlen(lines[i] + 20) + 1);
  }
  assert_null(fgets(lines[0], LOG_LINE_SIZE, f));
}

static void test_summary_and_stats_lines(void **state) {
  FILE *f = fopen("test_server_totals.out", "w+b");
  server_stats_t one = sample(1, 13, 1), then = sample(0, 0, 0);
  server_stats_t now = sample(8, 2500000, 5);
  char lines[3][LOG_LINE_SIZE];
  (void)state;

  assert_non_null(f);
  log_set_output(f);
  server_stats_log_summary("", &one);
  server_stats_log_summary("loop 2: ", &now);
  server_stats_log("loop 1: ", &now, &then, 2000);
  log_set_output(NULL);
  read_lines(f, lines, 3);
  fclose(f);
  (void)remove("test_server_totals.out");

  assert_string_equal(lines[0],
                      "served 1 session, echoed 13 bytes, peak 1 concurrent "
                      "sessions, 0 rejected, 1 dropped (no free descriptor), "
                      "2 closed idle, 3 errors\n");
  assert_string_equal(lines[1],
                      "loop 2: served 8 sessions, echoed 2500000 bytes, peak "
                      "5 concurrent sessions, 4 rejected, 1 dropped (no free "
                      "descriptor), 2 closed idle, 3 errors\n");
  /* 2.5 MB over 2 s each way. */
  assert_string_equal(lines[2],
                      "loop 1: stats: 2 sessions open, 8 accepted, 4 "
                      "rejected, 1 dropped (no free descriptor), in 1.25 "
                      "MB/s, out 1.25 MB/s, 3 errors\n");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_limit_admits_up_to_max),
      cmocka_unit_test(test_limit_zero_is_no_limit),
      cmocka_unit_test(test_limit_holds_across_threads),
      cmocka_unit_test(test_stats_add_sums_counts_and_keeps_peaks),
      cmocka_unit_test(test_summary_and_stats_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
