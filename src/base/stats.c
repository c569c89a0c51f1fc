#include "base/stats.h"

#include "base/histogram.h"

#include <math.h>
#include <stdio.h>

void rtt_stats_init(rtt_stats_t *s) {
  s->count = 0;
  s->min = 0;
  s->max = 0;
  s->sum = 0;
  s->sum_sq = 0;
}

void rtt_stats_add(rtt_stats_t *s, double value) {
  if (s->count == 0 || value < s->min)
    s->min = value;
  if (s->count == 0 || value > s->max)
    s->max = value;
  s->count++;
  s->sum += value;
  s->sum_sq += value * value;
}

double rtt_stats_mean(const rtt_stats_t *s) {
  if (s->count == 0)
    return 0;
  return s->sum / (double)s->count;
}

double rtt_stats_mdev(const rtt_stats_t *s) {
  double mean, var;
  /* Equal values: the formula would leave rounding noise, not 0. */
  if (s->count == 0 || s->min == s->max)
    return 0;
  mean = s->sum / (double)s->count;
  var = s->sum_sq / (double)s->count - mean * mean;
  if (!(var > 0)) /* cancellation can go below 0 */
    return 0;
  return sqrt(var);
}

double stats_loss_percent(uint64_t sent, uint64_t received) {
  if (sent == 0 || received >= sent)
    return 0;
  return (double)(sent - received) * 100.0 / (double)sent;
}

void rtt_stats_print(const rtt_stats_t *s, const histogram_t *latency) {
  printf("rtt min/avg/max/mdev = %.3f/%.3f/%.3f/%.3f ms, p50 %.3f ms, p99 "
         "%.3f ms\n",
         s->min, rtt_stats_mean(s), s->max, rtt_stats_mdev(s),
         (double)histogram_percentile(latency, 50) / 1e6,
         (double)histogram_percentile(latency, 99) / 1e6);
}
