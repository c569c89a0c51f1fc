/* The load generator's report: the text people read and the one JSON
 * object scripts read, from a finished run's result. */
#ifndef TCPECHO_BENCH_REPORT_H
#define TCPECHO_BENCH_REPORT_H

#include "bench/bench.h"

#include <stdint.h>
#include <stdio.h>

/* The final report: human-readable or, with config->json, one JSON object
 * on one line. */
void bench_report(FILE *out, const bench_config_t *config,
                  const bench_result_t *result);

/* --json-stream: one second of the run as one JSON object on one line. */
void bench_report_interval(FILE *out, const bench_interval_t *interval);

#endif
