#include "bench/hgrm.h"

/* The next percentile level to report after level: the step halves each
 * time the distance to 100 % does, HGRM_TICKS_PER_HALF rows per halving. */
static double next_level(double level) {
  double ticks = 2 * HGRM_TICKS_PER_HALF;
  double distance = 100.0 / (100.0 - level);
  while (distance >= 2) {
    distance /= 2;
    ticks *= 2;
  }
  return level + 100.0 / ticks;
}

static void write_row(FILE *out, double value, double level, uint64_t count) {
  fprintf(out, "%12.3f %2.12f %10llu %14.2f\n", value, level / 100.0,
          (unsigned long long)count, 1.0 / (1.0 - level / 100.0));
}

int hgrm_write(FILE *out, const histogram_t *h, double unit_ratio,
               const char *unit) {
  uint64_t seen = 0;
  double level = 0;
  size_t i;

  fprintf(out, "# latency in %s\n", unit);
  fprintf(out, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount",
          "1/(1-Percentile)");
  for (i = 0; i < HISTOGRAM_BUCKETS && seen < h->total; i++) {
    double value, reached;
    if (h->counts[i] == 0)
      continue;
    seen += h->counts[i];
    value = (double)histogram_bucket_value(h, i) / unit_ratio;
    reached = 100.0 * (double)seen / (double)h->total;
    /* Like HdrHistogram: every level this bucket reaches, and only one row
     * at the last bucket before the 100 % row. */
    while (level <= reached) {
      write_row(out, value, level, seen);
      if (seen == h->total)
        break;
      level = next_level(level);
    }
  }
  if (h->total > 0)
    fprintf(out, "%12.3f %2.12f %10llu\n", (double)h->max / unit_ratio, 1.0,
            (unsigned long long)h->total);
  fprintf(out, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n",
          histogram_mean(h) / unit_ratio, histogram_stddev(h) / unit_ratio);
  fprintf(out, "#[Max     = %12.3f, Total count    = %12llu]\n",
          (double)h->max / unit_ratio, (unsigned long long)h->total);
  fprintf(out, "#[Buckets = %12d, SubBuckets     = %12d]\n",
          HISTOGRAM_BUCKETS / HISTOGRAM_SUB_COUNT, HISTOGRAM_SUB_COUNT);
  return ferror(out) ? -1 : 0;
}
