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
  /* Connects of 30, 70 and 400 us; service times (open loop) a tenth of
   * the latencies; 9000 sent, 17 late, 4 held. */
  histogram_init(&r->result->connect);
  histogram_record_n(&r->result->connect, 30000, 50);
  histogram_record_n(&r->result->connect, 70000, 49);
  histogram_record(&r->result->connect, 400000);
  histogram_init(&r->result->service);
  for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++)
    histogram_record_n(&r->result->service, samples[i].ns / 10,
                       samples[i].count);
  r->result->sent = 9000;
  r->result->late = 17;
  r->result->held = 4;
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
  const char *connect;
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
  /* Connect latency: p50 at rank 50, p99 at rank 99, max. */
  connect = strstr(r->text, "\nconnect:  p50 ");
  assert_non_null(connect);
  assert_close("connect p50", number_after(connect, " p50 "), 30.0, 0.05);
  assert_close("connect p99", number_after(connect, " p99 "), 70.0, 0.05);
  assert_close("connect max", number_after(connect, " max "), 400.0, 0.05);
  /* The closed loop has no schedule to report. */
  assert_null(strstr(r->text, "service:"));
  assert_null(strstr(r->text, "schedule:"));
}

/* The closed loop's lines, exactly as they were before the open loop's
 * and the connects' lines came: scripts read them. */
static void test_text_report_closed_loop_lines(void **state) {
  report_t *r = *state;
  render(r);
  assert_non_null(strstr(
      r->text, "tcpecho bench: 127.0.0.1:4242, 4 connections, 1250-byte "
               "messages, closed loop, in flight 7, 2 threads\n"
               "setup:    3 of 4 connected in 12.500 ms\n"
               "measured: 2.500 s, 10000 messages, 4000 msg/s, 5.00 MB/s "
               "each way, WITH ERRORS (below)\n"
               "latency:  min 1.0 us, p50 50.0 us, p90 89.9 us, p99 200.2 "
               "us, p99.9 500.7 us, max 2000.0 us\n"));
  assert_non_null(strstr(r->text, "\nerrors:   15 (connect 1, corrupted 2, "
                                  "extra 3, missing 4, early close 5, local "
                                  "0)\n"));
}

/* Open loop: the service time beside the latency, and the schedule. */
static void test_text_report_open_loop(void **state) {
  report_t *r = *state;
  const char *service;
  r->config.rate = 4000;
  render(r);
  service = strstr(r->text, "\nservice:  ");
  assert_non_null(service);
  /* After the latency line, before the errors line. */
  assert_true(service > strstr(r->text, "\nlatency:  "));
  assert_true(service < strstr(r->text, "\nerrors:   "));
  assert_close("service min", number_after(service, "min "), 0.1, 0.05);
  assert_close("service p50", number_after(service, " p50 "), 5.0, 0.05);
  assert_close("service p90", number_after(service, " p90 "), 9.0, 0.05);
  assert_close("service p99", number_after(service, " p99 "), 20.0, 0.05);
  assert_close("service p99.9", number_after(service, " p99.9 "), 50.0, 0.05);
  assert_close("service max", number_after(service, " max "), 200.0, 0.05);
  /* 9000 sent in 2.5 s: 3600/s of the 4000 asked. */
  assert_non_null(strstr(r->text, "\nschedule: 3600 msg/s sent of 4000 "
                                  "requested, 17 late (over 1 ms), 4 held "
                                  "back by the in-flight cap\n"));
  /* The latency line still holds the latency from the due time. */
  assert_close("p50", number_after(r->text, " p50 "), 50.0, 0.05);
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
  assert_close("connect p50", number_after(r->text, "\"connect_us\":{\"p50\":"),
               30.0, 0.0005);
  assert_close("connect p99",
               number_after(strstr(r->text, "\"connect_us\""), "\"p99\":"),
               70.0, 0.0005);
  assert_close("connect max",
               number_after(strstr(r->text, "\"connect_us\""), "\"max\":"),
               400.0, 0.0005);
  /* Closed loop: no open-loop keys. */
  assert_null(strstr(r->text, "\"service_us\""));
  assert_null(strstr(r->text, "\"late\""));
}

static void test_json_report_open_loop(void **state) {
  report_t *r = *state;
  const char *service;
  r->config.json = 1;
  r->config.rate = 4000;
  render(r);
  assert_int_equal(strchr(r->text, '\n')[1], '\0');
  /* The latency keeps its place and its value; the service time follows. */
  assert_close("p50", number_after(r->text, "\"p50\":"), 50.0, 0.0005);
  service = strstr(r->text, "\"service_us\":{");
  assert_non_null(service);
  assert_true(service > strstr(r->text, "\"latency_us\":{"));
  assert_close("service min", number_after(service, "\"min\":"), 0.1, 0.0005);
  assert_close("service p50", number_after(service, "\"p50\":"), 5.0, 0.0005);
  assert_close("service p99", number_after(service, "\"p99\":"), 20.0, 0.0005);
  assert_close("service max", number_after(service, "\"max\":"), 200.0, 0.0005);
  assert_close("service mean", number_after(service, "\"mean\":"),
               r->mean_us / 10, 0.0005);
  assert_true(number_after(r->text, "\"sent\":") == 9000);
  assert_close("sent_per_s", number_after(r->text, "\"sent_per_s\":"), 3600.0,
               0.05);
  assert_true(number_after(r->text, "\"late\":") == 17);
  assert_true(number_after(r->text, "\"held\":") == 4);
  assert_true(number_after(r->text, "\"rate\":") == 4000);
  assert_true(number_after(r->text, "\"total\":") == 15);
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

/* --json-stream's line: the second's own figures and the running totals,
 * one object on one line. */
static void test_interval_line(void **state) {
  report_t *r = *state;
  interval_t *delta = malloc(sizeof(*delta));
  bench_interval_t iv;
  FILE *f = fopen("test_bench_report.out", "w+b");
  size_t n;
  const char *total;

  assert_non_null(delta);
  assert_non_null(f);
  interval_init(delta);
  histogram_record_n(&delta->latency, 40000, 60);  /* p50 at 40 us */
  histogram_record_n(&delta->latency, 300000, 39); /* p99 at 300 us */
  histogram_record(&delta->latency, 2500000);      /* max 2.5 ms */
  delta->counts.messages = 100;
  delta->counts.bytes = 6400;
  delta->counts.errors = 2;
  iv.index = 7;
  iv.start_s = 7;
  iv.end_s = 7.5;
  iv.delta = delta;
  iv.total.messages = 900;
  iv.total.bytes = 57600;
  iv.total.errors = 3;
  bench_report_interval(f, &iv);
  rewind(f);
  n = fread(r->text, 1, sizeof(r->text) - 1, f);
  r->text[n] = '\0';
  fclose(f);
  remove("test_bench_report.out");
  free(delta);

  assert_int_equal(r->text[0], '{');
  assert_int_equal(strchr(r->text, '\n')[1], '\0');
  assert_true(number_after(r->text, "\"interval\":") == 7);
  assert_true(number_after(r->text, "\"start_s\":") == 7);
  assert_true(number_after(r->text, "\"end_s\":") == 7.5);
  assert_true(number_after(r->text, "\"messages\":") == 100);
  assert_true(number_after(r->text, "\"bytes\":") == 6400);
  assert_true(number_after(r->text, "\"errors\":") == 2);
  assert_close("p50", number_after(r->text, "\"p50\":"), 40.0, 0.0005);
  assert_close("p99", number_after(r->text, "\"p99\":"), 300.0, 0.0005);
  assert_close("max", number_after(r->text, "\"max\":"), 2500.0, 0.0005);
  total = strstr(r->text, "\"total\":{");
  assert_non_null(total);
  assert_true(number_after(total, "\"messages\":") == 900);
  assert_true(number_after(total, "\"bytes\":") == 57600);
  assert_true(number_after(total, "\"errors\":") == 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_text_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_text_report_without_errors, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_text_report_closed_loop_lines, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_text_report_open_loop, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_json_report, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_report_open_loop, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_interval_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_json_report_follows_the_histogram,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
