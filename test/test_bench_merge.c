/* --bench-merge: reports written by bench_report --json read back exactly,
 * and merged runs give exactly the percentiles of one histogram fed with
 * every run's samples; damaged reports are refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bench/merge.h"
#include "bench/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fixture_s {
  bench_run_t a, b, back, sum;
  histogram_t both; /* every sample of a and b */
  char text[262144];
  char err[256];
} fixture_t;

static uint64_t rng_state = 88172645463325252ULL;
static uint64_t next_random(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* A run of n samples spread over [low, low + spread) ns, plus a tail. */
static void make_run(fixture_t *f, bench_run_t *run, const char *host,
                     uint64_t n, uint64_t low, uint64_t spread) {
  uint64_t i;
  memset(run, 0, sizeof(*run));
  histogram_init(&run->result.latency);
  for (i = 0; i < n; i++) {
    uint64_t v = low + next_random() % spread;
    if (i % 1000 == 0)
      v *= 50; /* the tail that percentiles added by hand get wrong */
    histogram_record(&run->result.latency, v);
    histogram_record(&f->both, v);
  }
  strcpy(run->host, host);
  run->config.host = run->host;
  run->config.port = 8000;
  run->config.connections = 10;
  run->config.size = 64;
  run->config.pipeline = 1;
  run->config.json = 1;
  run->result.messages = n;
  run->result.bytes = n * 64;
  run->result.seconds = 10.0 + (double)(n % 7) / 1000.0;
  run->result.setup_seconds = 0.002;
  run->result.connected = 10;
  run->result.threads = 1;
  run->result.reports = 1;
  run->result.errors.missing = n % 3;
}

/* bench_report's JSON for run, in f->text. */
static void render(fixture_t *f, const bench_run_t *run) {
  FILE *out = tmpfile();
  size_t n;
  assert_non_null(out);
  bench_report(out, &run->config, &run->result);
  rewind(out);
  n = fread(f->text, 1, sizeof(f->text) - 1, out);
  assert_true(n < sizeof(f->text) - 1);
  f->text[n] = '\0';
  fclose(out);
}

static void parse_back(fixture_t *f, bench_run_t *into) {
  if (bench_run_parse(f->text, strlen(f->text), into, f->err, sizeof(f->err)) !=
      0)
    fail_msg("refused: %s\n%s", f->err, f->text);
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  histogram_init(&f->both);
  make_run(f, &f->a, "10.0.0.1", 200000, 20000, 30000);
  make_run(f, &f->b, "10.0.0.1", 150001, 35000, 90000);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  free(*state);
  return 0;
}

static void expect_same_histogram(const histogram_t *x, const histogram_t *y) {
  assert_memory_equal(x->counts, y->counts, sizeof(x->counts));
  assert_int_equal(x->total, y->total);
  assert_int_equal(x->min, y->min);
  assert_int_equal(x->max, y->max);
}

static void test_report_reads_back_exactly(void **state) {
  fixture_t *f = *state;
  bench_result_t *r = &f->back.result;

  render(f, &f->a);
  parse_back(f, &f->back);
  expect_same_histogram(&r->latency, &f->a.result.latency);
  assert_true(r->latency.sum == f->a.result.latency.sum); /* %.17g */
  assert_string_equal(f->back.config.host, "10.0.0.1");
  assert_int_equal(f->back.config.port, 8000);
  assert_int_equal(f->back.config.connections, 10);
  assert_int_equal(r->messages, f->a.result.messages);
  assert_int_equal(r->bytes, f->a.result.bytes);
  assert_int_equal(r->errors.missing, f->a.result.errors.missing);
  assert_int_equal(r->reports, 1);
  assert_true(r->seconds > 10.0 - 1e-6 && r->seconds < 10.0 + 0.01);
}

/* The point of merging: the merged percentiles are exactly those of all
 * the samples in one histogram, at every percentile. */
static void test_merged_percentiles_are_those_of_all_samples(void **state) {
  fixture_t *f = *state;
  histogram_t *m = &f->sum.result.latency;
  double p;

  memset(&f->sum, 0, sizeof(f->sum));
  histogram_init(m);
  render(f, &f->a);
  parse_back(f, &f->back);
  bench_run_add(&f->sum, &f->back);
  render(f, &f->b);
  parse_back(f, &f->back);
  bench_run_add(&f->sum, &f->back);
  expect_same_histogram(m, &f->both);
  for (p = 0; p <= 100.0; p += 0.05)
    assert_int_equal(histogram_percentile(m, p),
                     histogram_percentile(&f->both, p));
  assert_int_equal(histogram_percentile(m, 99.999),
                   histogram_percentile(&f->both, 99.999));
  assert_true(histogram_mean(m) / histogram_mean(&f->both) > 1 - 1e-12 &&
              histogram_mean(m) / histogram_mean(&f->both) < 1 + 1e-12);
  assert_int_equal(f->sum.result.messages, 350001);
  assert_int_equal(f->sum.result.bytes, 350001 * 64);
  assert_int_equal(f->sum.result.errors.missing,
                   f->a.result.errors.missing + f->b.result.errors.missing);
  assert_int_equal(f->sum.config.connections, 20);
  assert_int_equal(f->sum.result.connected, 20);
  assert_int_equal(f->sum.result.reports, 2);
  assert_true(f->sum.result.seconds == f->b.result.seconds ||
              f->sum.result.seconds == f->a.result.seconds);
  assert_string_equal(f->sum.config.host, "10.0.0.1");

  /* A merged report merges again: its own JSON reads back the same. */
  f->sum.config.json = 1;
  render(f, &f->sum);
  parse_back(f, &f->back);
  expect_same_histogram(&f->back.result.latency, &f->both);
  assert_int_equal(f->back.result.reports, 2);
}

static void test_differing_settings_are_marked(void **state) {
  fixture_t *f = *state;
  memset(&f->sum, 0, sizeof(f->sum));
  histogram_init(&f->sum.result.latency);
  f->b.config.port = 9000;
  f->b.config.size = 128;
  strcpy(f->b.host, "10.0.0.2");
  bench_run_add(&f->sum, &f->a);
  bench_run_add(&f->sum, &f->b);
  assert_string_equal(f->sum.config.host, "*");
  assert_int_equal(f->sum.config.port, 0);
  assert_int_equal(f->sum.config.size, 0);
  assert_int_equal(f->sum.config.pipeline, 1); /* the same in both */
}

/* --json-stream's file: interval lines, then the report as the last. */
static void test_last_line_of_a_stream_is_read(void **state) {
  fixture_t *f = *state;
  char *report;
  render(f, &f->a);
  report = strdup(f->text);
  assert_non_null(report);
  snprintf(f->text, sizeof(f->text), "{\"interval\":1}\n{\"interval\":2}\n%s",
           report);
  free(report);
  parse_back(f, &f->back);
  expect_same_histogram(&f->back.result.latency, &f->a.result.latency);
}

/* Replaces the first from in f->text by to. */
static void edit(fixture_t *f, const char *from, const char *to) {
  char *at = strstr(f->text, from);
  size_t n = strlen(from), m = strlen(to);
  assert_non_null(at);
  memmove(at + m, at + n, strlen(at + n) + 1);
  memcpy(at, to, m);
}

static void expect_refused(fixture_t *f, const char *from, const char *to,
                           const char *why) {
  render(f, &f->a);
  edit(f, from, to);
  if (bench_run_parse(f->text, strlen(f->text), &f->back, f->err,
                      sizeof(f->err)) == 0)
    fail_msg("accepted with %s -> %s", from, to);
  if (strstr(f->err, why) == NULL)
    fail_msg("%s -> %s: '%s' does not say '%s'", from, to, f->err, why);
}

static void test_damaged_reports_are_refused(void **state) {
  fixture_t *f = *state;
  char first[64];
  const char *at;

  expect_refused(f, "\"messages\":", "\"message\":", "\"messages\"");
  expect_refused(f, "\"unit\":\"ns\"", "\"unit\":\"us\"", "unit");
  expect_refused(f, "\"sub_bits\":7", "\"sub_bits\":6", "sub-bucket bits");
  expect_refused(f, "\"total\":200000", "\"total\":200001", "add up");
  expect_refused(f, "\"buckets\":[", "\"buckets\":[7424,1,", "bucket 0");
  expect_refused(f, "\"latency_histogram\"", "\"latency_histogrm\"",
                 "latency_histogram");
  expect_refused(f, "{\"host\"", "[{\"host\"", "not JSON");
  expect_refused(f, "\"connect\":0", "\"connect\":-1", "\"connect\"");
  expect_refused(f, "\"reports\":1", "\"reports\":0", "reports");
  expect_refused(f, "\"seconds\":", "\"seconds\":1e300,\"x\":", "time a run");
  expect_refused(f, "\"setup_s\":", "\"setup_s\":1e-9,\"x\":", "time a run");
  /* min moved out of the first bucket in use */
  render(f, &f->a);
  at = strstr(f->text, "\"min\":");
  assert_non_null(at);
  at = strstr(at + 1, "\"min\":"); /* the histogram's, after latency_us' */
  assert_non_null(at);
  snprintf(first, sizeof(first), "%.*s", (int)(strchr(at, ',') - at), at);
  expect_refused(f, first, "\"min\":1", "first and last buckets");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_report_reads_back_exactly, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_merged_percentiles_are_those_of_all_samples, setup, teardown),
      cmocka_unit_test_setup_teardown(test_differing_settings_are_marked, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_last_line_of_a_stream_is_read, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_damaged_reports_are_refused, setup,
                                      teardown),
  };
  return cmocka_run_group_tests_name("bench_merge", tests, NULL, NULL);
}
