#include "base/histogram.h"

#include <math.h>
#include <string.h>

/* Index of the highest set bit of v != 0, in a fixed six steps. */
static unsigned top_bit(uint64_t v) {
  unsigned n = 0;
  if (v >> 32) {
    v >>= 32;
    n += 32;
  }
  if (v >> 16) {
    v >>= 16;
    n += 16;
  }
  if (v >> 8) {
    v >>= 8;
    n += 8;
  }
  if (v >> 4) {
    v >>= 4;
    n += 4;
  }
  if (v >> 2) {
    v >>= 2;
    n += 2;
  }
  if (v >> 1)
    n += 1;
  return n;
}

/* A value v in [2^m, 2^(m+1)), m >= SUB_BITS, keeps its top SUB_BITS + 1
 * bits: v >> shift is in [SUB_COUNT, 2 * SUB_COUNT) with shift = m -
 * SUB_BITS, and power m's buckets follow those of m - 1. Below 2 * SUB_COUNT
 * the shift is 0 and the index is the value itself. */
size_t histogram_bucket_of(uint64_t v) {
  unsigned shift;
  if (v < HISTOGRAM_SUB_COUNT)
    return (size_t)v;
  shift = top_bit(v) - HISTOGRAM_SUB_BITS;
  return (size_t)shift * HISTOGRAM_SUB_COUNT + (size_t)(v >> shift);
}

/* The middle of bucket i's values, rounded down: at most half a bucket,
 * 2^(shift - 1), from any of them, against values >= SUB_COUNT << shift. */
static uint64_t bucket_middle(size_t i) {
  unsigned shift;
  uint64_t low;
  if (i < 2 * HISTOGRAM_SUB_COUNT)
    return (uint64_t)i;
  shift = (unsigned)(i / HISTOGRAM_SUB_COUNT) - 1;
  low = (uint64_t)(i - (size_t)shift * HISTOGRAM_SUB_COUNT) << shift;
  return low + (((uint64_t)1 << shift) - 1) / 2;
}

void histogram_init(histogram_t *h) {
  memset(h, 0, sizeof(*h));
}

void histogram_record(histogram_t *h, uint64_t value) {
  histogram_record_n(h, value, 1);
}

void histogram_record_n(histogram_t *h, uint64_t value, uint64_t count) {
  if (count == 0)
    return;
  if (h->total == 0 || value < h->min)
    h->min = value;
  if (value > h->max)
    h->max = value;
  h->counts[histogram_bucket_of(value)] += count;
  h->total += count;
  h->sum += (double)value * (double)count;
}

void histogram_merge(histogram_t *dst, const histogram_t *src) {
  size_t i;
  if (src->total == 0)
    return;
  if (dst->total == 0 || src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
  for (i = 0; i < HISTOGRAM_BUCKETS; i++)
    dst->counts[i] += src->counts[i];
  dst->total += src->total;
  dst->sum += src->sum;
}

/* ceil(p / 100 * total) in [1, total], for 0 < p < 100, without libm. */
static uint64_t rank_of(const histogram_t *h, double p) {
  double x = p * (double)h->total / 100.0;
  uint64_t rank;
  if (x >= (double)h->total)
    return h->total;
  rank = (uint64_t)x;
  if ((double)rank < x)
    rank++;
  return rank > 0 ? rank : 1;
}

uint64_t histogram_percentile(const histogram_t *h, double p) {
  uint64_t rank, seen = 0;
  size_t i;

  if (h->total == 0)
    return 0;
  if (!(p > 0)) /* NaN too */
    return h->min;
  if (p >= 100)
    return h->max;
  rank = rank_of(h, p);
  for (i = 0; i < HISTOGRAM_BUCKETS - 1; i++) {
    seen += h->counts[i];
    if (seen >= rank)
      break;
  }
  return histogram_bucket_value(h, i);
}

uint64_t histogram_bucket_value(const histogram_t *h, size_t i) {
  uint64_t value = bucket_middle(i);
  if (value < h->min)
    return h->min;
  if (value > h->max)
    return h->max;
  return value;
}

double histogram_mean(const histogram_t *h) {
  if (h->total == 0)
    return 0;
  return h->sum / (double)h->total;
}

double histogram_stddev(const histogram_t *h) {
  double mean = histogram_mean(h), squares = 0;
  size_t i;

  if (h->total == 0)
    return 0;
  for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
    double d;
    if (h->counts[i] == 0)
      continue;
    d = (double)histogram_bucket_value(h, i) - mean;
    squares += d * d * (double)h->counts[i];
  }
  return sqrt(squares / (double)h->total);
}
