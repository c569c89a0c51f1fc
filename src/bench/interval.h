/* --json-stream's per-second figures: each loop counts its second without
 * a lock and hands it over once a second; the thread that prints adds the
 * loops' hands together. Pure: testable without a socket. */
#ifndef TCPECHO_BENCH_INTERVAL_H
#define TCPECHO_BENCH_INTERVAL_H

#include "base/histogram.h"

#include <stdint.h>

/* Running totals, as a loop's counters hold them. */
typedef struct interval_totals_s {
  uint64_t messages;
  uint64_t bytes;
  uint64_t errors;
} interval_totals_t;

/* What happened in one interval (or in several not yet handed over). */
typedef struct interval_s {
  histogram_t latency; /* ns, of the messages completed in it */
  interval_totals_t counts;
} interval_t;

void interval_init(interval_t *iv);

/* Adds from's counts and latencies to to's. */
void interval_add(interval_t *to, const interval_t *from);

/* The counters have reached now: the part since *last goes into iv, and
 * *last moves on to now. So what iv gets over any number of calls adds up
 * to the last now, nothing counted twice or lost. */
void interval_count(interval_t *iv, const interval_totals_t *now,
                    interval_totals_t *last);

/* Which second of the measured time (from start_ns) now_ns falls in:
 * 0 for the first, and for any time before start_ns. */
uint64_t interval_of(uint64_t start_ns, uint64_t now_ns);

#endif
