/* The latency distribution file (--hgrm): HdrHistogram's percentile
 * distribution text, checked row by row for a histogram whose values are
 * all exact (below 256, one bucket each). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bench/hgrm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static histogram_t hist;
static char text[65536];

/* hgrm_write's output for hist, in text; returns its line count. */
static int write_hist(double unit_ratio) {
  FILE *f = tmpfile();
  size_t n;
  int lines = 0;
  char *p;

  assert_non_null(f);
  assert_int_equal(hgrm_write(f, &hist, unit_ratio, "microseconds"), 0);
  rewind(f);
  n = fread(text, 1, sizeof(text) - 1, f);
  fclose(f);
  text[n] = '\0';
  for (p = text; *p != '\0'; p++)
    lines += *p == '\n';
  return lines;
}

/* Line i (0-based) of text, without its newline. */
static const char *line_at(int i, char *buf, size_t size) {
  const char *p = text, *end;
  size_t len;
  while (i-- > 0) {
    p = strchr(p, '\n');
    assert_non_null(p);
    p++;
  }
  end = strchr(p, '\n');
  assert_non_null(end);
  len = (size_t)(end - p);
  assert_true(len < size);
  memcpy(buf, p, len);
  buf[len] = '\0';
  return buf;
}

/* The row whose Percentile column is level, parsed; fails if none. */
static void find_row(double level, double *value, unsigned long long *count) {
  const char *p = text;
  while ((p = strchr(p, '\n')) != NULL) {
    double v, pct;
    unsigned long long c;
    p++;
    if (sscanf(p, "%lf %lf %llu", &v, &pct, &c) == 3 && pct > level - 1e-12 &&
        pct < level + 1e-12) {
      *value = v;
      *count = c;
      return;
    }
  }
  fail_msg("no row at percentile %f", level);
}

static void test_rows_of_one_to_a_hundred(void **state) {
  char buf[256];
  double v;
  unsigned long long c;
  int i, lines;
  (void)state;

  histogram_init(&hist);
  for (i = 1; i <= 100; i++)
    histogram_record(&hist, (uint64_t)i);
  lines = write_hist(1.0);
  assert_string_equal(line_at(0, buf, sizeof(buf)),
                      "# latency in microseconds");
  assert_string_equal(line_at(1, buf, sizeof(buf)),
                      "       Value     Percentile TotalCount "
                      "1/(1-Percentile)");
  assert_string_equal(line_at(2, buf, sizeof(buf)), "");
  assert_string_equal(line_at(3, buf, sizeof(buf)),
                      "       1.000 0.000000000000          1           1.00");
  /* Ten rows to 50 %, then the step halves with each halving of what is
   * left: the value of a row is the first to reach its percentile. */
  find_row(0.1, &v, &c);
  assert_true(v == 10.0 && c == 10);
  find_row(0.5, &v, &c);
  assert_true(v == 50.0 && c == 50);
  find_row(0.55, &v, &c);
  assert_true(v == 55.0 && c == 55);
  find_row(0.775, &v, &c);
  assert_true(v == 78.0 && c == 78);
  find_row(0.9875, &v, &c);
  assert_true(v == 99.0 && c == 99);
  /* The last bucket: one row at the level it reaches, then 100 %. */
  assert_string_equal(line_at(lines - 4, buf, sizeof(buf)),
                      "     100.000 1.000000000000        100");
  assert_string_equal(line_at(lines - 3, buf, sizeof(buf)),
                      "#[Mean    =       50.500, StdDeviation   =       "
                      "28.866]");
  assert_string_equal(line_at(lines - 2, buf, sizeof(buf)),
                      "#[Max     =      100.000, Total count    =         "
                      " 100]");
  assert_string_equal(line_at(lines - 1, buf, sizeof(buf)),
                      "#[Buckets =           58, SubBuckets     =         "
                      " 128]");
}

/* Rows never go back, and the last is exactly the max and the count. */
static void test_rows_are_monotonic_and_end_at_the_max(void **state) {
  const char *p = text;
  double last_v = -1, last_pct = -1;
  unsigned long long last_c = 0;
  int rows = 0;
  uint64_t i;
  (void)state;

  histogram_init(&hist);
  for (i = 0; i < 100000; i++)
    histogram_record(&hist, 1000 + (i * 7919) % 5000000); /* 1 us .. 5 s */
  histogram_record(&hist, 123456789);
  write_hist(1000.0);
  while ((p = strchr(p, '\n')) != NULL) {
    double v, pct;
    unsigned long long c;
    p++;
    if (*p == '\n' || sscanf(p, "%lf %lf %llu", &v, &pct, &c) != 3)
      continue;
    assert_true(v >= last_v && pct > last_pct && c >= last_c);
    last_v = v;
    last_pct = pct;
    last_c = c;
    rows++;
  }
  assert_true(rows > 50);
  assert_true(last_pct == 1.0);
  assert_true(last_v == 123456.789);
  assert_int_equal(last_c, 100001);
}

static void test_empty_histogram_has_no_rows(void **state) {
  char buf[256];
  (void)state;
  histogram_init(&hist);
  assert_int_equal(write_hist(1000.0), 6);
  assert_string_equal(line_at(3, buf, sizeof(buf)),
                      "#[Mean    =        0.000, StdDeviation   =        "
                      "0.000]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows_of_one_to_a_hundred),
      cmocka_unit_test(test_rows_are_monotonic_and_end_at_the_max),
      cmocka_unit_test(test_empty_histogram_has_no_rows),
  };
  return cmocka_run_group_tests_name("hgrm", tests, NULL, NULL);
}
