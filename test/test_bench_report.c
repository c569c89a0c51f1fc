/* bench_report against a known result: every figure of the text report and
 * of the JSON object holds what its name says (each percentile from its own
 * rank, the mean, messages/s, MB/s, the error counts), read back from what
 * bench_report wrote. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bench/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Latencies in ns, chosen so that each named percentile falls on its own
 * value: 10,000 samples, rank ceil(p / 100 * 10000). */
static const struct {
  uint64_t ns;
  uint64_t count;
} samples[] = {
    {1000, 1},     /* min: rank 1 */
    {50000, 4999}, /* p50: rank 5000 */
    {90000, 4000}, /* p90: rank 9000 */
    {200000, 900}, /* p99: rank 9900 */
    {500000, 90},  /* p99.9: rank 9990 */
    {1000000, 9},  /* between p99.9 and max */
    {2000000, 1},  /* max: rank 10000 */
};

#define MESSAGES 10000ull
#define BYTES 12500000ull /* 1250-byte messages */
#define SECONDS 2.5       /* so 4000 messages/s and 5 MB/s */

typedef struct report_s {
  bench_config_t config;
  bench_result_t *result;
  double mean_us;
  char text[4096];
} report_t;

static int setup(void **state) {
  report_t *r = calloc(1, sizeof(*r));
  double sum = 0;
  size_t i;
  assert_non_null(r);
  r->result = calloc(1, sizeof(*r->result));
  assert_non_null(r->result);
  histogram_init(&r->result->latency);
  for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
    histogram_record_n(&r->result->latency, samples[i].ns, samples[i].count);
    sum += (double)samples[i].ns * (double)samples[i].count;
  }
  r->mean_us = sum / (double)MESSAGES / 1000.0;
  r->result->messages = MESSAGES;
  r->result->bytes = BYTES;
  r->result->seconds = SECONDS;
  r->result->setup_seconds = 0.0125;
  r->result->connected = 3;
  r->result->threads = 2;
  /* Every kind its own count, so that none can stand in for another. */
  r->result->errors.connect = 1;
  r->result->errors.corrupted = 2;
  r->result->errors.extra = 3;
  r->result->errors.missing = 4;
  r->result->errors.early_close = 5;
  r->config.host = "127.0.0.1";
  r->config.port = 4242;
  r->config.connections = 4;
  r->config.size = 1250;
  r->config.pipeline = 7;
  r->config.duration_ms = 2500;
  r->config.threads = 2;
  *state = r;
  return 0;
}

static int teardown(void **state) {
  report_t *r = *state;
  free(r->result);
  free(r);
  return 0;
}

/* Renders the report into a file and reads it back whole. */
static void render(report_t *r) {
  FILE *f = fopen("test_bench_report.out", "w+b");
  size_t n;
  assert_non_null(f);
  bench_report(f, &r->config, r->result);
  rewind(f);
  n = fread(r->text, 1, sizeof(r->text) - 1, f);
  r->text[n] = '\0';
  fclose(f);
  remove("test_bench_report.out");
}

/* The number right after "key" (text: "p99 ", JSON: "\"p99\":"). */
static double number_after(const char *text, const char *key) {
  const char *at = strstr(text, key);
  char *end;
  double v;
  if (at == NULL)
    fail_msg("no '%s' in:\n%s", key, text);
  v = strtod(at + strlen(key), &end);
  if (end == at + strlen(key))
    fail_msg("no number after '%s' in:\n%s", key, text);
  return v;
}

/* Within the histogram's bucket error (1/256) plus the printed rounding. */
static void assert_close(const char *what, double got, double want,
                         double rounding) {
  if (fabs(got - want) > want / 256.0 + rounding)
    fail_msg("%s is %.3f, want %.3f", what, got, want);
}

static void test_text_report(void **state) {
  report_t *r = *state;
  render(r);
  /* "%.1f us": within 0.05 us of the value plus the bucket error. */
  assert_close("min", number_after(r->text, "latency:  min "), 1.0, 0.05);
  assert_close("p50", number_after(r->text, " p50 "), 50.0, 0.05);
  assert_close("p90", number_after(r->text, " p90 "), 90.0, 0.05);
  assert_close("p99", number_after(r->text, " p99 "), 200.0, 0.05);
  assert_close("p99.9", number_after(r->text, " p99.9 "), 500.0, 0.05);
  assert_close("max", number_after(r->text, " max "), 2000.0, 0.05);
  assert_close("msg/s", number_after(r->text, " s, 10000 messages, "), 4000.0,
               0.5);
  assert_close("MB/s", number_after(r->text, " msg/s, "), 5.0, 0.005);
  assert_close("seconds", number_after(r->text, "measured: "), SECONDS, 0.0005);
  assert_close("setup ms", number_after(r->text, " connected in "), 12.5,
               0.0005);
  assert_non_null(strstr(r->text, "10000 messages"));
  assert_non_null(strstr(r->text, "3 of 4 connected"));
  assert_non_null(strstr(r->text, "127.0.0.1:4242, 4 connections, "
                                  "1250-byte messages, closed loop, in "
                                  "flight 7, 2 threads\n"));
  assert_non_null(strstr(r->text, "WITH ERRORS"));
  assert_non_null(strstr(r->text, "errors:   15 (connect 1, corrupted 2, "
                                  "extra 3, missing 4, early close 5"));
}

static void test_text_report_without_errors(void **state) {
  report_t *r = *state;
  memset(&r->result->errors, 0, sizeof(r->result->errors));
  r->config.rate = 300;
  render(r);
  assert_non_null(strstr(r->text, "every byte verified"));
  assert_null(strstr(r->text, "WITH ERRORS"));
  assert_non_null(strstr(r->text, "open loop, messages/s 300"));
  assert_non_null(strstr(r->text, "errors:   0 (connect 0,"));
}

static void test_json_report(void **state) {
  report_t *r = *state;
  r->config.json = 1;
  render(r);
  /* One object on one line. */
  assert_int_equal(r->text[0], '{');
  assert_non_null(strstr(r->text, "}\n"));
  assert_int_equal(strchr(r->text, '\n')[1], '\0');
  /* "%.3f" in us. */
  assert_close("min", number_after(r->text, "\"min\":"), 1.0, 0.0005);
  assert_close("p50", number_after(r->text, "\"p50\":"), 50.0, 0.0005);
  assert_close("p90", number_after(r->text, "\"p90\":"), 90.0, 0.0005);
  assert_close("p99", number_after(r->text, "\"p99\":"), 200.0, 0.0005);
  assert_close("p99_9", number_after(r->text, "\"p99_9\":"), 500.0, 0.0005);
  assert_close("max", number_after(r->text, "\"max\":"), 2000.0, 0.0005);
  /* The mean is exact (no buckets). */
  if (fabs(number_after(r->text, "\"mean\":") - r->mean_us) > 0.0005)
    fail_msg("mean is %.3f, want %.3f", number_after(r->text, "\"mean\":"),
             r->mean_us);
  assert_close("msgs_per_s", number_after(r->text, "\"msgs_per_s\":"), 4000.0,
               0.05);
  assert_close("mb_per_s", number_after(r->text, "\"mb_per_s\":"), 5.0, 0.0005);
  assert_close("seconds", number_after(r->text, "\"seconds\":"), SECONDS,
               0.0000005);
  assert_close("setup_s", number_after(r->text, "\"setup_s\":"), 0.0125,
               0.0000005);
  assert_true(number_after(r->text, "\"messages\":") == 10000);
  assert_true(number_after(r->text, "\"bytes\":") == 12500000);
  assert_true(number_after(r->text, "\"port\":") == 4242);
  assert_true(number_after(r->text, "\"connections\":") == 4);
  assert_true(number_after(r->text, "\"connected\":") == 3);
  assert_true(number_after(r->text, "\"size\":") == 1250);
  assert_true(number_after(r->text, "\"pipeline\":") == 7);
  assert_true(number_after(r->text, "\"threads\":") == 2);
  assert_true(number_after(r->text, "\"total\":") == 15);
  assert_true(number_after(r->text, "\"connect\":") == 1);
  assert_true(number_after(r->text, "\"corrupted\":") == 2);
  assert_true(number_after(r->text, "\"extra\":") == 3);
  assert_true(number_after(r->text, "\"missing\":") == 4);
  assert_true(number_after(r->text, "\"early_close\":") == 5);
}

/* The percentiles come from the histogram, not from fixed positions: a
 * different shape moves them all. */
static void test_json_report_follows_the_histogram(void **state) {
  report_t *r = *state;
  uint64_t i;
  r->config.json = 1;
  histogram_init(&r->result->latency);
  for (i = 1; i <= 1000; i++)
    histogram_record(&r->result->latency, i * 1000); /* 1 .. 1000 us */
  render(r);
  assert_close("min", number_after(r->text, "\"min\":"), 1.0, 0.0005);
  assert_close("p50", number_after(r->text, "\"p50\":"), 500.0, 0.0005);
  assert_close("p90", number_after(r->text, "\"p90\":"), 900.0, 0.0005);
  assert_close("p99", number_after(r->text, "\"p99\":"), 990.0, 0.0005);
  assert_close("p99_9", number_after(r->text, "\"p99_9\":"), 999.0, 0.0005);
  assert_close("max", number_after(r->text, "\"max\":"), 1000.0, 0.0005);
  assert_close("mean", number_after(r->text, "\"mean\":"), 500.5, 0.0005);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_text_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_report_without_errors, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_json_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_report_follows_the_histogram,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
