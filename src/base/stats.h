/* Running statistics for ping-style summaries: "rtt min/avg/max/mdev" and
 * "packet loss", in O(1) memory. */
#ifndef TCPECHO_STATS_H
#define TCPECHO_STATS_H

#include <stdint.h>

/* Read count, min, max directly: 0 when empty. Keeps the sums of x and x^2,
 * as ping does, so that mdev is computed as ping computes it. */
typedef struct rtt_stats_s {
  uint64_t count;
  double min, max, sum, sum_sq;
} rtt_stats_t;

void rtt_stats_init(rtt_stats_t *s);
void rtt_stats_add(rtt_stats_t *s, double value);

/* 0 when empty. */
double rtt_stats_mean(const rtt_stats_t *s);

/* Like ping: sqrt(mean(x^2) - mean(x)^2), the population standard deviation.
 * Never negative or NaN (rounding is clamped), exactly 0 when all values are
 * equal or there are none. */
double rtt_stats_mdev(const rtt_stats_t *s);

/* "rtt min/avg/max/mdev = ... ms, p50 ... ms, p99 ... ms" on standard
 * output, ping's line: s in ms, the percentiles from latency in ns. */
struct histogram_s;
void rtt_stats_print(const rtt_stats_t *s, const struct histogram_s *latency);

/* Loss percentage as ping prints it: 100 * (sent - received) / sent; 0 when
 * nothing was sent, and 0, not negative, when received >= sent. */
double stats_loss_percent(uint64_t sent, uint64_t received);

#endif
