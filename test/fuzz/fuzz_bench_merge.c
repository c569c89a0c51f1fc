/* libFuzzer target for the JSON reader and --bench-merge's report reader
 * (src/base/json.c, src/bench/merge.c): any bytes are refused with a
 * reason or accepted; an accepted report holds a histogram that
 * histogram_record could have made (counts adding up to total, min and max
 * in its first and last buckets), and it survives being written again by
 * bench_report and read back unchanged. The input is copied into a block of
 * exactly its size, so ASan sees any read past its end. Build: see
 * .ci/fuzz.sh. */
#include "base/json.h"
#include "bench/merge.h"
#include "bench/report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok, const char *what) {
  if (ok)
    return;
  fprintf(stderr, "fuzz_bench_merge: %s\n", what);
  abort();
}

static void check_histogram(const histogram_t *h) {
  uint64_t seen = 0;
  size_t i, first = HISTOGRAM_BUCKETS, last = 0;
  for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
    if (h->counts[i] == 0)
      continue;
    if (first == HISTOGRAM_BUCKETS)
      first = i;
    last = i;
    seen += h->counts[i];
  }
  require(seen == h->total, "counts do not add up to total");
  if (h->total > 0) {
    require(histogram_bucket_of(h->min) == first, "min not in first bucket");
    require(histogram_bucket_of(h->max) == last, "max not in last bucket");
  }
}

/* Writes run as JSON and reads it back: the same histogram and counts. */
static void check_round_trip(bench_run_t *run) {
  static bench_run_t back;
  static char text[1 << 20];
  FILE *f = tmpfile();
  char err[256];
  size_t n;

  require(f != NULL, "tmpfile");
  run->config.json = 1;
  bench_report(f, &run->config, &run->result);
  rewind(f);
  n = fread(text, 1, sizeof(text), f);
  fclose(f);
  require(n < sizeof(text), "report too long");
  require(bench_run_parse(text, n, &back, err, sizeof(err)) == 0,
          "own report refused");
  require(memcmp(back.result.latency.counts, run->result.latency.counts,
                 sizeof(back.result.latency.counts)) == 0,
          "histogram changed");
  require(back.result.messages == run->result.messages &&
              back.result.latency.min == run->result.latency.min &&
              back.result.latency.max == run->result.latency.max &&
              back.result.reports == run->result.reports,
          "counts changed");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bench_run_t run;
  char err[256];
  char *copy = malloc(size ? size : 1);
  json_t *v;

  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  v = json_parse(copy, size, err, sizeof(err));
  require(v != NULL || err[0] != '\0', "refused without a reason");
  json_free(v);
  err[0] = '\0';
  if (bench_run_parse(copy, size, &run, err, sizeof(err)) == 0) {
    check_histogram(&run.result.latency);
    check_round_trip(&run);
  } else {
    require(err[0] != '\0', "report refused without a reason");
  }
  free(copy);
  return 0;
}
