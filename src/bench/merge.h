/* --bench-merge: the --json reports of runs made side by side (one per
 * generator machine) read back and added up. Counts, rates and errors are
 * summed; the latency histograms are merged bucket by bucket, so the
 * percentiles are exactly those of all the runs' samples together (adding
 * up percentiles, as people do by hand, is wrong). */
#ifndef TCPECHO_BENCH_MERGE_H
#define TCPECHO_BENCH_MERGE_H

#include "bench/bench.h"

#include <stddef.h>

/* The longest report file read, and the longest host name kept. */
#define BENCH_MERGE_MAX_FILE (16 * 1024 * 1024)
#define BENCH_MERGE_HOST_SIZE 256
/* The longest measured or set-up time a report may give: a year. */
#define BENCH_MERGE_MAX_SECONDS 31536000.0

/* One report as read back: the run's settings and its result (the
 * histogram makes it large: allocate it on the heap). */
typedef struct bench_run_s {
  bench_config_t config; /* config.host points to host */
  char host[BENCH_MERGE_HOST_SIZE];
  bench_result_t result;
} bench_run_t;

/* Reads one report: text is a --json report (or a file whose last line is
 * one). Returns 0, or -1 with err naming what is wrong. */
int bench_run_parse(const char *text, size_t len, bench_run_t *run, char *err,
                    size_t err_size);

/* Adds run to sum; sum starts zeroed (sum->result.latency initialised) and
 * takes the first run's host, port, size and pipeline, which become "*", 0
 * where later runs differ. The measured time is the longest of the runs,
 * so rates are the summed counts over it. */
void bench_run_add(bench_run_t *sum, const bench_run_t *run);

/* The whole mode: reads each file ("-": standard input), prints a line per
 * run and the merged report (or, with json, only the merged JSON report) on
 * standard output. Returns the exit status: 0, or 1 if a file could not be
 * read or the merged runs had errors. */
int bench_merge_main(const char *const *paths, size_t count, int json);

#endif
