#include "bench/report.h"

#include "base/addr.h"

#include <stdio.h>
#include <stdlib.h>

/* {"host":"..." with the string escaped for JSON. */
static void json_string(FILE *out, const char *s) {
  fputs("{\"host\":\"", out);
  for (; *s != '\0'; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(out, "\\%c", c);
    else if (c < 0x20)
      fprintf(out, "\\u%04x", c);
    else
      fputc(c, out);
  }
  fputc('"', out);
}

/* h exactly, as a JSON object for --bench-merge to read back: min, max and
 * sum as recorded, and every bucket in use as a pair index, count, in
 * nanoseconds with HISTOGRAM_SUB_BITS sub-bucket bits. In a new string (so
 * that the report stays one printf), or NULL without memory. */
static char *histogram_json(const histogram_t *h) {
  size_t i, used = 0, size, n;
  char *s;

  for (i = 0; i < HISTOGRAM_BUCKETS; i++)
    used += h->counts[i] != 0;
  /* Each pair: at most 4 digits, 20 digits and 2 commas. */
  size = 256 + used * 26;
  s = malloc(size);
  if (s == NULL)
    return NULL;
  n = (size_t)snprintf(s, size,
                       "{\"unit\":\"ns\",\"sub_bits\":%d,\"total\":%llu,"
                       "\"min\":%llu,\"max\":%llu,\"sum\":%.17g,\"buckets\":[",
                       HISTOGRAM_SUB_BITS, (unsigned long long)h->total,
                       (unsigned long long)h->min, (unsigned long long)h->max,
                       h->sum);
  for (i = 0; i < HISTOGRAM_BUCKETS && n < size; i++) {
    if (h->counts[i] != 0)
      n += (size_t)snprintf(s + n, size - n, "%s%lu,%llu",
                            s[n - 1] == '[' ? "" : ",", (unsigned long)i,
                            (unsigned long long)h->counts[i]);
  }
  if (n < size)
    snprintf(s + n, size - n, "]}");
  return s;
}

static double percentile_us(const histogram_t *h, double p) {
  return (double)histogram_percentile(h, p) / 1000.0;
}

void bench_report(FILE *out, const bench_config_t *cfg,
                  const bench_result_t *r) {
  const histogram_t *h = &r->latency;
  double secs = r->seconds > 0 ? r->seconds : 1;
  const bench_errors_t *e = &r->errors;
  char target[ADDR_STR_SIZE + 256];

  if (cfg->json) {
    char *hist = histogram_json(h);
    json_string(out, cfg->host);
    fprintf(out,
            ",\"port\":%d,\"connections\":%llu,"
            "\"connected\":%llu,\"size\":%llu,\"pipeline\":%llu,"
            "\"rate\":%llu,\"threads\":%llu,\"setup_s\":%.6f,"
            "\"seconds\":%.6f,\"messages\":%llu,\"bytes\":%llu,"
            "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"latency_us\":{"
            "\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
            "\"p99_9\":%.3f,\"max\":%.3f,\"mean\":%.3f},\"errors\":{"
            "\"total\":%llu,\"connect\":%llu,\"corrupted\":%llu,"
            "\"extra\":%llu,\"missing\":%llu,\"early_close\":%llu,"
            "\"local\":%llu},\"reports\":%llu,\"latency_histogram\":%s}\n",
            cfg->port, (unsigned long long)cfg->connections,
            (unsigned long long)r->connected, (unsigned long long)cfg->size,
            (unsigned long long)cfg->pipeline, (unsigned long long)cfg->rate,
            (unsigned long long)r->threads, r->setup_seconds, r->seconds,
            (unsigned long long)r->messages, (unsigned long long)r->bytes,
            (double)r->messages / secs, (double)r->bytes / secs / 1e6,
            percentile_us(h, 0), percentile_us(h, 50), percentile_us(h, 90),
            percentile_us(h, 99), percentile_us(h, 99.9), percentile_us(h, 100),
            histogram_mean(h) / 1000.0,
            (unsigned long long)bench_error_count(e),
            (unsigned long long)e->connect, (unsigned long long)e->corrupted,
            (unsigned long long)e->extra, (unsigned long long)e->missing,
            (unsigned long long)e->early_close, (unsigned long long)e->local,
            (unsigned long long)r->reports, hist != NULL ? hist : "null");
    free(hist);
    return;
  }
  addr_format_target(cfg->host, cfg->port, target, sizeof(target));
  if (r->reports > 1) /* each run had its line: the totals */
    fprintf(out,
            "tcpecho bench: %llu runs merged, %llu connections, "
            "%llu threads\n",
            (unsigned long long)r->reports,
            (unsigned long long)cfg->connections,
            (unsigned long long)r->threads);
  else
    fprintf(out,
            "tcpecho bench: %s, %llu connection%s, %llu-byte messages, "
            "%s %llu, %llu thread%s\n",
            target, (unsigned long long)cfg->connections,
            cfg->connections == 1 ? "" : "s", (unsigned long long)cfg->size,
            cfg->rate ? "open loop, messages/s" : "closed loop, in flight",
            (unsigned long long)(cfg->rate ? cfg->rate : cfg->pipeline),
            (unsigned long long)r->threads, r->threads == 1 ? "" : "s");
  fprintf(out, "setup:    %llu of %llu connected in %.3f ms\n",
          (unsigned long long)r->connected,
          (unsigned long long)cfg->connections, r->setup_seconds * 1e3);
  fprintf(out,
          "measured: %.3f s, %llu messages, %.0f msg/s, %.2f MB/s each "
          "way, %s\n",
          r->seconds, (unsigned long long)r->messages,
          (double)r->messages / secs, (double)r->bytes / secs / 1e6,
          bench_error_count(e) == 0 ? "every byte verified"
                                    : "WITH ERRORS (below)");
  fprintf(out,
          "latency:  min %.1f us, p50 %.1f us, p90 %.1f us, p99 %.1f us, "
          "p99.9 %.1f us, max %.1f us\n",
          percentile_us(h, 0), percentile_us(h, 50), percentile_us(h, 90),
          percentile_us(h, 99), percentile_us(h, 99.9), percentile_us(h, 100));
  fprintf(out,
          "errors:   %llu (connect %llu, corrupted %llu, extra %llu, "
          "missing %llu, early close %llu, local %llu)\n",
          (unsigned long long)bench_error_count(e),
          (unsigned long long)e->connect, (unsigned long long)e->corrupted,
          (unsigned long long)e->extra, (unsigned long long)e->missing,
          (unsigned long long)e->early_close, (unsigned long long)e->local);
}
