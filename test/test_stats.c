/* Latency histogram, ping-style statistics and the load generator's byte
 * pattern, checked against values computed directly from stored samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/histogram.h"
#include "base/pattern.h"
#include "base/stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every histogram test looks at these, as the tool prints them. */
static const double tested_p[] = {0, 1, 50, 90, 99, 99.9, 100};
#define TESTED_P_COUNT (sizeof(tested_p) / sizeof(tested_p[0]))

/* The documented bound, half a bucket, and the 1% callers rely on. */
#define MAX_REL_ERROR (1.0 / (2 * HISTOGRAM_SUB_COUNT))
#define EXACT_BELOW (2 * HISTOGRAM_SUB_COUNT)

/* Sample values: xorshift64, unrelated to the pattern's generator. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi) {
  return lo + rng_next(s) % (hi - lo + 1);
}

static int compare_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a;
  uint64_t y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* The sorted sample at rank ceil(p / 100 * n), counted from 1; p = 0 is the
 * minimum. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p) {
  size_t rank = (size_t)ceil(p * (double)n / 100.0);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return sorted[rank - 1];
}

static histogram_t *new_histogram(void) {
  histogram_t *h = malloc(sizeof(*h));
  assert_non_null(h);
  histogram_init(h);
  return h;
}

static void assert_close(uint64_t got, uint64_t want, double p) {
  double err;
  if (want < EXACT_BELOW) {
    if (got != want)
      fail_msg("p%g: got %llu, want exactly %llu", p, (unsigned long long)got,
               (unsigned long long)want);
    return;
  }
  err = fabs((double)got - (double)want) / (double)want;
  if (err > MAX_REL_ERROR || err > 0.01)
    fail_msg("p%g: got %llu, want %llu (error %g)", p, (unsigned long long)got,
             (unsigned long long)want, err);
}

static void assert_rel_equal(double got, double want, double tolerance) {
  double scale = fabs(want) > 1 ? fabs(want) : 1;
  if (!(fabs(got - want) <= tolerance * scale))
    fail_msg("got %.17g, want %.17g", got, want);
}

/* Records the samples and compares every tested percentile, the extremes
 * and the mean with the exact values; percentiles must not decrease. */
static void check_distribution(const uint64_t *samples, size_t n) {
  uint64_t *sorted = malloc(n * sizeof(*sorted));
  histogram_t *h = new_histogram();
  double sum = 0;
  uint64_t last = 0;
  size_t i;

  assert_non_null(sorted);
  memcpy(sorted, samples, n * sizeof(*sorted));
  qsort(sorted, n, sizeof(*sorted), compare_u64);
  for (i = 0; i < n; i++) {
    histogram_record(h, samples[i]);
    sum += (double)samples[i];
  }

  assert_int_equal(h->total, n);
  assert_int_equal(h->min, sorted[0]);
  assert_int_equal(h->max, sorted[n - 1]);
  assert_int_equal(histogram_percentile(h, 0), sorted[0]);
  assert_int_equal(histogram_percentile(h, 100), sorted[n - 1]);
  for (i = 0; i < TESTED_P_COUNT; i++) {
    double p = tested_p[i];
    assert_close(histogram_percentile(h, p), exact_percentile(sorted, n, p), p);
  }
  for (i = 0; i <= 1000; i++) {
    uint64_t v = histogram_percentile(h, (double)i / 10);
    assert_true(v >= last);
    last = v;
  }
  assert_rel_equal(histogram_mean(h), sum / (double)n, 1e-12);
  free(h);
  free(sorted);
}

static void test_histogram_empty(void **state) {
  histogram_t *h = new_histogram();
  size_t i;
  (void)state;
  assert_int_equal(h->total, 0);
  assert_int_equal(h->min, 0);
  assert_int_equal(h->max, 0);
  for (i = 0; i < TESTED_P_COUNT; i++)
    assert_int_equal(histogram_percentile(h, tested_p[i]), 0);
  assert_true(histogram_mean(h) == 0);
  free(h);
}

#define SAMPLES 100000

static void test_histogram_uniform(void **state) {
  uint64_t *s = malloc(SAMPLES * sizeof(*s));
  uint64_t rng = 1;
  size_t i;
  (void)state;
  assert_non_null(s);
  for (i = 0; i < SAMPLES; i++)
    s[i] = rng_range(&rng, 1, 1000000);
  check_distribution(s, SAMPLES);
  free(s);
}

/* Log-normal-ish: a bell-shaped power of two (a sum of four dice, 2^0 to
 * 2^28) times a uniform mantissa, above a 1 us floor. */
static uint64_t lognormal_ish(uint64_t *rng) {
  unsigned e = (unsigned)(rng_range(rng, 0, 7) + rng_range(rng, 0, 7) +
                          rng_range(rng, 0, 7) + rng_range(rng, 0, 7));
  uint64_t power = (uint64_t)1 << e;
  return 1000 + power + rng_range(rng, 0, power - 1);
}

static void test_histogram_lognormal(void **state) {
  uint64_t *s = malloc(SAMPLES * sizeof(*s));
  uint64_t rng = 2;
  size_t i;
  (void)state;
  assert_non_null(s);
  for (i = 0; i < SAMPLES; i++)
    s[i] = lognormal_ish(&rng);
  check_distribution(s, SAMPLES);
  free(s);
}

/* Around 50 us, and 1% of outliers at 1 to 5 s. */
static uint64_t bimodal(uint64_t *rng) {
  if (rng_next(rng) % 100 == 0)
    return rng_range(rng, 1000000000, UINT64_C(5000000000));
  return rng_range(rng, 40000, 60000);
}

static void test_histogram_bimodal(void **state) {
  uint64_t *s = malloc(SAMPLES * sizeof(*s));
  uint64_t rng = 3;
  size_t i, outliers = 0;
  (void)state;
  assert_non_null(s);
  for (i = 0; i < SAMPLES; i++) {
    s[i] = bimodal(&rng);
    outliers += s[i] >= 1000000000;
  }
  assert_in_range(outliers, SAMPLES / 200, SAMPLES / 50);
  check_distribution(s, SAMPLES);
  free(s);
}

static void test_histogram_all_equal(void **state) {
  uint64_t s[1000];
  size_t i;
  (void)state;
  for (i = 0; i < 1000; i++)
    s[i] = 123456789;
  check_distribution(s, 1000);
}

static void test_histogram_single_value(void **state) {
  uint64_t big = 987654321, small = 42;
  (void)state;
  check_distribution(&big, 1);
  check_distribution(&small, 1);
}

/* Small values have a bucket each: every percentile is exact. */
static void test_histogram_tiny_exact(void **state) {
  uint64_t s[600];
  size_t n = 0, v, i;
  (void)state;
  for (v = 0; v <= 100; v++) {
    for (i = 0; i <= v % 5; i++)
      s[n++] = v;
  }
  check_distribution(s, n);
}

/* One value between 0 and UINT64_MAX, so that the median is its bucket's
 * middle, unclamped: every bucket edge of every power of two. */
static void test_histogram_bucket_error(void **state) {
  histogram_t *h = malloc(sizeof(*h));
  uint64_t values[2048 + 64 * 5];
  size_t n = 0, i;
  unsigned m;
  (void)state;
  assert_non_null(h);
  for (i = 0; i < 2048; i++)
    values[n++] = i;
  for (m = 1; m < 64; m++) {
    uint64_t power = (uint64_t)1 << m;
    values[n++] = power - 1;
    values[n++] = power;
    values[n++] = power + 1;
    values[n++] = power + power / 2 - 1;
    values[n++] = power + power / 3;
  }
  for (i = 0; i < n; i++) {
    histogram_init(h);
    histogram_record(h, 0);
    histogram_record(h, values[i]);
    histogram_record(h, UINT64_MAX);
    assert_close(histogram_percentile(h, 50), values[i], 50);
  }
  free(h);
}

static void test_histogram_record_n(void **state) {
  histogram_t *a = new_histogram();
  histogram_t *b = new_histogram();
  size_t i;
  (void)state;
  histogram_record_n(a, 5, 0); /* nothing: min stays unset */
  assert_int_equal(a->total, 0);
  histogram_record_n(a, 12345, 1000);
  histogram_record_n(a, 7, 3);
  histogram_record_n(a, 3, 0);
  for (i = 0; i < 1000; i++)
    histogram_record(b, 12345);
  for (i = 0; i < 3; i++)
    histogram_record(b, 7);
  assert_memory_equal(a, b, sizeof(*a));
  assert_int_equal(a->min, 7);
  assert_int_equal(a->max, 12345);
  /* Ranks 3 and 4 of 1003. */
  assert_int_equal(histogram_percentile(a, 0.29), 7);
  assert_close(histogram_percentile(a, 0.3), 12345, 0.3);
  free(a);
  free(b);
}

static void test_histogram_merge(void **state) {
  histogram_t *a = new_histogram();
  histogram_t *b = new_histogram();
  histogram_t *all = new_histogram();
  histogram_t *copy = malloc(sizeof(*copy));
  uint64_t rng = 4;
  size_t i;
  (void)state;
  assert_non_null(copy);
  for (i = 0; i < 50000; i++) {
    uint64_t v = lognormal_ish(&rng);
    uint64_t w = bimodal(&rng);
    histogram_record(a, v);
    histogram_record(b, w);
    histogram_record(all, v);
    histogram_record(all, w);
  }

  histogram_merge(a, b);
  assert_memory_equal(a->counts, all->counts, sizeof(a->counts));
  assert_int_equal(a->total, all->total);
  assert_int_equal(a->min, all->min);
  assert_int_equal(a->max, all->max);
  assert_rel_equal(histogram_mean(a), histogram_mean(all), 1e-12);
  for (i = 0; i <= 1000; i++) {
    double p = (double)i / 10;
    assert_int_equal(histogram_percentile(a, p), histogram_percentile(all, p));
  }

  /* Empty on either side: the minimum is not taken from the empty one. */
  memcpy(copy, b, sizeof(*copy));
  histogram_init(a);
  histogram_merge(copy, a);
  assert_memory_equal(copy, b, sizeof(*copy));
  histogram_merge(a, b);
  assert_memory_equal(a, b, sizeof(*a));
  assert_true(b->min >= 40000);
  free(a);
  free(b);
  free(all);
  free(copy);
}

static void test_histogram_huge_values(void **state) {
  histogram_t *h = new_histogram();
  uint64_t big = (uint64_t)1 << 50;
  (void)state;
  histogram_record(h, 1);
  histogram_record(h, 1000);
  histogram_record(h, big);
  histogram_record(h, UINT64_MAX - 1);
  histogram_record(h, UINT64_MAX);
  assert_int_equal(h->total, 5);
  assert_int_equal(h->min, 1);
  assert_true(h->max == UINT64_MAX);
  assert_true(histogram_percentile(h, 100) == UINT64_MAX);
  assert_close(histogram_percentile(h, 40), 1000, 40);
  assert_close(histogram_percentile(h, 60), big, 60);
  assert_close(histogram_percentile(h, 80), UINT64_MAX - 1, 80);
  assert_close(histogram_percentile(h, 99.9), UINT64_MAX, 99.9);
  assert_rel_equal(histogram_mean(h),
                   ((double)UINT64_MAX * 2 + (double)big + 1001) / 5, 1e-12);

  histogram_record_n(h, UINT64_MAX, 3);
  histogram_record_n(h, (uint64_t)1 << 63, 2);
  assert_int_equal(h->total, 10);
  assert_true(h->max == UINT64_MAX);
  assert_close(histogram_percentile(h, 50), (uint64_t)1 << 63, 50);
  free(h);
}

/* A spread of round-trip times in ms, as ping shows them (us resolution). */
static void fill_rtts(double *x, size_t n) {
  uint64_t rng = 5;
  size_t i;
  for (i = 0; i < n; i++)
    x[i] = (double)rng_range(&rng, 20, 250000) / 1000.0;
  x[0] = 0.001;
  x[1] = 731.25;
}

static void test_rtt_stats_against_two_pass(void **state) {
  double x[1000], min, max, mean, sq = 0, sum = 0;
  rtt_stats_t s;
  size_t i;
  (void)state;
  fill_rtts(x, 1000);
  rtt_stats_init(&s);
  min = max = x[0];
  for (i = 0; i < 1000; i++) {
    rtt_stats_add(&s, x[i]);
    sum += x[i];
    min = x[i] < min ? x[i] : min;
    max = x[i] > max ? x[i] : max;
  }
  mean = sum / 1000;
  for (i = 0; i < 1000; i++)
    sq += (x[i] - mean) * (x[i] - mean);

  assert_int_equal(s.count, 1000);
  assert_true(s.min == min && min == 0.001);
  assert_true(s.max == max && max == 731.25);
  assert_rel_equal(rtt_stats_mean(&s), mean, 1e-12);
  assert_rel_equal(rtt_stats_mdev(&s), sqrt(sq / 1000), 1e-9);

  /* A small case by hand: 1, 2, 3, 4 -> mean 2.5, mdev sqrt(1.25). */
  rtt_stats_init(&s);
  rtt_stats_add(&s, 3);
  rtt_stats_add(&s, 1);
  rtt_stats_add(&s, 4);
  rtt_stats_add(&s, 2);
  assert_true(s.min == 1 && s.max == 4);
  assert_rel_equal(rtt_stats_mean(&s), 2.5, 1e-15);
  assert_rel_equal(rtt_stats_mdev(&s), sqrt(1.25), 1e-15);
}

static void test_rtt_stats_equal_values(void **state) {
  const double values[] = {0.1, 123.456, 7, 0.333, 1e-3};
  rtt_stats_t s;
  size_t v, i;
  double m;
  (void)state;
  for (v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
    rtt_stats_init(&s);
    for (i = 0; i < 1000; i++)
      rtt_stats_add(&s, values[v]);
    assert_true(rtt_stats_mdev(&s) == 0);
    assert_rel_equal(rtt_stats_mean(&s), values[v], 1e-12);
  }

  /* Nearly equal: mean(x^2) - mean(x)^2 rounds to -1.7e-18 here, whose
   * square root would be NaN. */
  rtt_stats_init(&s);
  rtt_stats_add(&s, 0.1);
  rtt_stats_add(&s, 0.1);
  rtt_stats_add(&s, nextafter(0.1, 1));
  m = rtt_stats_mdev(&s);
  assert_true(m >= 0 && m < 1e-9); /* false for NaN */
}

static void test_rtt_stats_empty(void **state) {
  rtt_stats_t s;
  (void)state;
  rtt_stats_init(&s);
  assert_int_equal(s.count, 0);
  assert_true(s.min == 0 && s.max == 0);
  assert_true(rtt_stats_mean(&s) == 0);
  assert_true(rtt_stats_mdev(&s) == 0);
  rtt_stats_add(&s, -2); /* the first value sets both min and max */
  assert_true(s.min == -2 && s.max == -2);
  rtt_stats_add(&s, 5.5);
  assert_true(s.min == -2 && s.max == 5.5);
}

static void test_loss_percent(void **state) {
  (void)state;
  assert_true(stats_loss_percent(0, 0) == 0);
  assert_true(stats_loss_percent(10, 9) == 10.0);
  assert_true(stats_loss_percent(5, 0) == 100.0);
  assert_true(stats_loss_percent(3, 3) == 0);
  assert_true(stats_loss_percent(4, 1) == 75.0);
  assert_rel_equal(stats_loss_percent(3, 1), 200.0 / 3, 1e-15);
  assert_true(stats_loss_percent(3, 5) == 0); /* more replies than sent */
}

/* Stream 0 is splitmix64 seeded with 0, whose first outputs are published:
 * the bytes do not depend on the platform. */
static void test_pattern_known_bytes(void **state) {
  static const uint64_t first[] = {UINT64_C(0xe220a8397b1dcdaf),
                                   UINT64_C(0x6e789e6aa1b965f4),
                                   UINT64_C(0x06c45d188009454f)};
  unsigned char buf[24];
  size_t i;
  (void)state;
  pattern_fill(0, 0, buf, sizeof(buf));
  for (i = 0; i < sizeof(buf); i++)
    assert_int_equal(buf[i], (first[i / 8] >> (8 * (i % 8))) & 0xff);
  /* Across a block boundary. */
  memset(buf, 0, sizeof(buf));
  pattern_fill(0, 13, buf, 6);
  assert_memory_equal(buf, "\x9e\x78\x6e\x4f\x45\x09", 6);
}

/* Fills of any range, starting and ending anywhere within a block, equal the
 * bytes made one at a time, and write nothing outside the range. */
static void check_fill_ranges(uint64_t seed, uint64_t base) {
  unsigned char ref[64], buf[64];
  size_t off, len, i;
  int guard;

  for (i = 0; i < sizeof(ref); i++)
    pattern_fill(seed, base + i, &ref[i], 1);
  for (guard = 0x00; guard <= 0xff; guard += 0xff) {
    for (off = 0; off <= 17; off++) {
      for (len = 0; len <= 40; len++) {
        memset(buf, guard, sizeof(buf));
        pattern_fill(seed, base + off, buf + 1, len);
        assert_int_equal(buf[0], guard);
        if (len > 0)
          assert_memory_equal(buf + 1, ref + off, len);
        assert_int_equal(buf[1 + len], guard);
      }
    }
  }
}

static void test_pattern_fill_any_range(void **state) {
  unsigned char whole[4096], pieces[4096];
  uint64_t rng = 6;
  size_t done, n;
  (void)state;
  check_fill_ranges(0x0123456789abcdef, 0);
  check_fill_ranges(77, ((uint64_t)1 << 40) + 3);

  /* A stream written in pieces of random sizes is the same stream. */
  pattern_fill(99, 5, whole, sizeof(whole));
  for (done = 0; done < sizeof(pieces); done += n) {
    n = (size_t)rng_range(&rng, 0, 100);
    if (n > sizeof(pieces) - done)
      n = sizeof(pieces) - done;
    pattern_fill(99, 5 + done, pieces + done, n);
  }
  assert_memory_equal(whole, pieces, sizeof(whole));
}

static void test_pattern_check(void **state) {
  unsigned char small[40];
  unsigned char *big = malloc(100003);
  size_t off, len, i, where[3];
  (void)state;
  assert_non_null(big);

  /* Every length at every offset in a block, every byte flipped. */
  for (off = 0; off <= 17; off++) {
    for (len = 0; len <= sizeof(small); len++) {
      pattern_fill(11, off, small, len);
      assert_int_equal(pattern_check(11, off, small, len), len);
      for (i = 0; i < len; i++) {
        small[i] ^= 0x01;
        assert_int_equal(pattern_check(11, off, small, len), i);
        small[i] ^= 0x81;
        assert_int_equal(pattern_check(11, off, small, len), i);
        small[i] ^= 0x80;
      }
      assert_int_equal(pattern_check(11, off, small, len), len);
    }
  }

  /* A long unaligned range: first, middle, last byte. */
  pattern_fill(12, 3, big, 100003);
  assert_int_equal(pattern_check(12, 3, big, 100003), 100003);
  where[0] = 0;
  where[1] = 50001;
  where[2] = 100002;
  for (i = 0; i < 3; i++) {
    big[where[i]] ^= 0xff;
    assert_int_equal(pattern_check(12, 3, big, 100003), where[i]);
    big[where[i]] ^= 0xff;
  }
  /* The wrong offset or seed does not match. */
  assert_true(pattern_check(12, 4, big, 100003) < 100003);
  assert_true(pattern_check(13, 3, big, 100003) < 100003);
  free(big);
}

/* Two streams agree on about 1 byte in 256 where they are independent. */
static size_t same_bytes(uint64_t seed_a, uint64_t seed_b) {
  unsigned char a[4096], b[4096];
  size_t i, same = 0;
  pattern_fill(seed_a, 0, a, sizeof(a));
  pattern_fill(seed_b, 0, b, sizeof(b));
  for (i = 0; i < sizeof(a); i++)
    same += a[i] == b[i];
  return same;
}

static void test_pattern_seeds_differ(void **state) {
  uint64_t seeds[8] = {0, 1, 2, UINT64_C(0x9e3779b97f4a7c15), UINT64_MAX};
  size_t n = sizeof(seeds) / sizeof(seeds[0]), i, j;
  (void)state;
  seeds[5] = pattern_seed(0, 0);
  seeds[6] = pattern_seed(0, 1);
  seeds[7] = pattern_seed(1, 0);
  for (i = 0; i < n; i++) {
    assert_int_equal(same_bytes(seeds[i], seeds[i]), 4096);
    for (j = i + 1; j < n; j++)
      assert_in_range(same_bytes(seeds[i], seeds[j]), 0, 64);
  }
}

static void test_pattern_connection_seeds(void **state) {
  uint64_t seeds[1000], sorted[1000];
  size_t i, ones[64] = {0};
  unsigned b;
  (void)state;
  for (i = 0; i < 1000; i++) {
    seeds[i] = pattern_seed(42, i);
    assert_true(seeds[i] == pattern_seed(42, i));
    assert_true(seeds[i] != pattern_seed(43, i));
    for (b = 0; b < 64; b++)
      ones[b] += (size_t)((seeds[i] >> b) & 1);
  }
  memcpy(sorted, seeds, sizeof(seeds));
  qsort(sorted, 1000, sizeof(sorted[0]), compare_u64);
  for (i = 1; i < 1000; i++)
    assert_true(sorted[i - 1] != sorted[i]);
  /* Well mixed: each bit set in about half of them (sd 16). */
  for (b = 0; b < 64; b++)
    assert_in_range(ones[b], 400, 600);
}

static void test_pattern_byte_distribution(void **state) {
  size_t len = 1024 * 1024, counts[256] = {0}, i;
  unsigned char *buf = malloc(len);
  (void)state;
  assert_non_null(buf);
  pattern_fill(pattern_seed(7, 0), 3, buf, len);
  for (i = 0; i < len; i++)
    counts[buf[i]]++;
  /* Expected 4096 each, sd 64: +-15% is over 9 sd. */
  for (i = 0; i < 256; i++) {
    assert_true(counts[i] > 0);
    assert_in_range(counts[i], len / 256 * 85 / 100, len / 256 * 115 / 100);
  }
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_histogram_empty),
      cmocka_unit_test(test_histogram_uniform),
      cmocka_unit_test(test_histogram_lognormal),
      cmocka_unit_test(test_histogram_bimodal),
      cmocka_unit_test(test_histogram_all_equal),
      cmocka_unit_test(test_histogram_single_value),
      cmocka_unit_test(test_histogram_tiny_exact),
      cmocka_unit_test(test_histogram_bucket_error),
      cmocka_unit_test(test_histogram_record_n),
      cmocka_unit_test(test_histogram_merge),
      cmocka_unit_test(test_histogram_huge_values),
      cmocka_unit_test(test_rtt_stats_against_two_pass),
      cmocka_unit_test(test_rtt_stats_equal_values),
      cmocka_unit_test(test_rtt_stats_empty),
      cmocka_unit_test(test_loss_percent),
      cmocka_unit_test(test_pattern_known_bytes),
      cmocka_unit_test(test_pattern_fill_any_range),
      cmocka_unit_test(test_pattern_check),
      cmocka_unit_test(test_pattern_seeds_differ),
      cmocka_unit_test(test_pattern_connection_seeds),
      cmocka_unit_test(test_pattern_byte_distribution),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
