/* A latency histogram as HdrHistogram's "percentile distribution" text
 * (the .hgrm files wrk2 prints and HdrHistogram's plotter reads): columns
 * Value, Percentile, TotalCount, 1/(1-Percentile), then the mean, standard
 * deviation, max and total count as "#[...]" lines. */
#ifndef TCPECHO_HGRM_H
#define TCPECHO_HGRM_H

#include "base/histogram.h"

#include <stdio.h>

/* Rows per halving of the distance to 100 %, as HdrHistogram's default. */
#define HGRM_TICKS_PER_HALF 5

/* Writes h, whose values are divided by unit_ratio on output (1000: ns
 * recorded, microseconds written), after a comment line naming unit. Each
 * row's value is what histogram_percentile reports for its bucket; the last
 * row is 100 % at h->max with TotalCount h->total. Returns 0, or -1 if out
 * could not be written. */
int hgrm_write(FILE *out, const histogram_t *h, double unit_ratio,
               const char *unit);

#endif
