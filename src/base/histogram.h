/* Latency histogram, log-linear like HdrHistogram: fixed size, no allocation,
 * O(1) recording, percentiles within 0.4% of the recorded value. */
#ifndef TCPECHO_HISTOGRAM_H
#define TCPECHO_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

/* 128 sub-buckets per power of two: <= 0.4% relative error. */
#define HISTOGRAM_SUB_BITS 7
#define HISTOGRAM_SUB_COUNT (1 << HISTOGRAM_SUB_BITS)
/* Values below 2 * HISTOGRAM_SUB_COUNT get a bucket each (exact); then each
 * power of two [2^m, 2^(m+1)) is cut into HISTOGRAM_SUB_COUNT buckets of
 * width 2^(m - HISTOGRAM_SUB_BITS), up to m = 63: the whole uint64_t range
 * is covered, in 7424 buckets (58 KiB), so no value ever overflows. */
#define HISTOGRAM_BUCKETS ((64 - HISTOGRAM_SUB_BITS + 1) * HISTOGRAM_SUB_COUNT)

/* Read total, min, max directly; min and max are exact, 0 when empty. Large
 * (58 KiB): allocate it statically or on the heap rather than on a stack. */
typedef struct histogram_s {
  uint64_t counts[HISTOGRAM_BUCKETS];
  uint64_t total;
  uint64_t min;
  uint64_t max;
  double sum; /* for the mean; a double so that it cannot overflow */
} histogram_t;

void histogram_init(histogram_t *h);

/* Counts one value, in O(1). */
void histogram_record(histogram_t *h, uint64_t value);

/* Counts value count times; count 0 changes nothing. */
void histogram_record_n(histogram_t *h, uint64_t value, uint64_t count);

/* Adds src's counts to dst, e.g. to sum up per-thread histograms. */
void histogram_merge(histogram_t *dst, const histogram_t *src);

/* The value at rank ceil(p / 100 * total) in sorted order, p in [0, 100],
 * reported as its bucket's midpoint clamped to [min, max]: relative error
 * <= 1/256, exact below 2 * HISTOGRAM_SUB_COUNT. p <= 0 gives min and
 * p >= 100 max, exactly; an empty histogram gives 0. O(HISTOGRAM_BUCKETS). */
uint64_t histogram_percentile(const histogram_t *h, double p);

/* The exact mean up to double rounding; 0 when empty. */
double histogram_mean(const histogram_t *h);

/* The population standard deviation, each count taken at its bucket's
 * value (as HdrHistogram does); 0 when empty. */
double histogram_stddev(const histogram_t *h);

/* The bucket value is counted in. */
size_t histogram_bucket_of(uint64_t value);

/* The value bucket i stands for, as histogram_percentile reports it: its
 * midpoint clamped to [min, max]. For walking the buckets in order, e.g. to
 * print the whole distribution. */
uint64_t histogram_bucket_value(const histogram_t *h, size_t i);

#endif
