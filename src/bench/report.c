#include "bench/report.h"

#include "base/addr.h"
#include "base/log.h"
#include "base/stats.h"

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

/* "key":{"min":..,"p50":..,...,"mean":..}, in microseconds. */
static void json_latency(FILE *out, const char *key, const histogram_t *h) {
  fprintf(out,
          ",\"%s\":{\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
          "\"p99_9\":%.3f,\"max\":%.3f,\"mean\":%.3f}",
          key, percentile_us(h, 0), percentile_us(h, 50), percentile_us(h, 90),
          percentile_us(h, 99), percentile_us(h, 99.9), percentile_us(h, 100),
          histogram_mean(h) / 1000.0);
}

/* The open loop's schedule against what went out, in the measured time. */
static void json_open_loop(FILE *out, const bench_result_t *r, double secs) {
  json_latency(out, "service_us", &r->service);
  fprintf(out,
          ",\"sent\":%llu,\"sent_per_s\":%.1f,\"late\":%llu,"
          "\"held\":%llu",
          (unsigned long long)r->sent, (double)r->sent / secs,
          (unsigned long long)r->late, (unsigned long long)r->held);
}

/* --udp: what became of the datagrams of the measured time. */
static void json_udp(FILE *out, const bench_config_t *cfg,
                     const bench_result_t *r) {
  const udp_flow_counts_t *u = &r->udp;
  fprintf(out,
          ",\"udp\":{\"sent\":%llu,\"received\":%llu,\"lost\":%llu,"
          "\"loss_pct\":%.3f,\"late\":%llu,\"duplicates\":%llu,"
          "\"reordered\":%llu,\"corrupted\":%llu,\"too_old\":%llu,"
          "\"unsent\":%llu,\"timeout_s\":%.3f,\"max_loss_pct\":%.3f}",
          (unsigned long long)u->sent, (unsigned long long)u->received,
          (unsigned long long)u->lost, stats_loss_percent(u->sent, u->received),
          (unsigned long long)u->late, (unsigned long long)u->duplicates,
          (unsigned long long)u->reordered, (unsigned long long)u->corrupted,
          (unsigned long long)u->too_old, (unsigned long long)u->unsent,
          (double)cfg->timeout_ms / 1000.0, (double)cfg->max_loss / 1000.0);
}

/* Churn: sessions in the measured time and in all, and their latency. */
static void json_churn(FILE *out, const bench_config_t *cfg,
                       const bench_result_t *r, double secs) {
  fprintf(out,
          ",\"churn\":{\"per_session\":%llu,\"sessions\":%llu,"
          "\"sessions_per_s\":%.1f,\"opened\":%llu,\"completed\":%llu",
          (unsigned long long)cfg->churn, (unsigned long long)r->sessions,
          (double)r->sessions / secs, (unsigned long long)r->opened,
          (unsigned long long)r->completed);
  json_latency(out, "session_us", &r->session);
  fputc('}', out);
}

static void json_report(FILE *out, const bench_config_t *cfg,
                        const bench_result_t *r) {
  const histogram_t *h = &r->latency;
  const histogram_t *ch = &r->connect;
  double secs = r->seconds > 0 ? r->seconds : 1;
  const bench_errors_t *e = &r->errors;
  char *hist = histogram_json(h);

  json_string(out, cfg->host);
  fprintf(out,
          ",\"port\":%d,\"connections\":%llu,"
          "\"connected\":%llu,\"size\":%llu,\"pipeline\":%llu,"
          "\"rate\":%llu,\"threads\":%llu,\"setup_s\":%.6f,"
          "\"seconds\":%.6f,\"messages\":%llu,\"bytes\":%llu,"
          "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f",
          cfg->port, (unsigned long long)cfg->connections,
          (unsigned long long)r->connected, (unsigned long long)cfg->size,
          (unsigned long long)cfg->pipeline, (unsigned long long)cfg->rate,
          (unsigned long long)r->threads, r->setup_seconds, r->seconds,
          (unsigned long long)r->messages, (unsigned long long)r->bytes,
          (double)r->messages / secs, (double)r->bytes / secs / 1e6);
  json_latency(out, "latency_us", h);
  /* One run's own figures: --bench-merge adds up only the others. */
  if (r->reports <= 1) {
    if (!cfg->udp) /* a UDP connect is a local call */
      fprintf(out, ",\"connect_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f}",
              percentile_us(ch, 50), percentile_us(ch, 99),
              percentile_us(ch, 100));
    if (cfg->rate > 0)
      json_open_loop(out, r, secs);
    if (cfg->udp)
      json_udp(out, cfg, r);
    if (cfg->churn > 0)
      json_churn(out, cfg, r, secs);
    fprintf(out, ",\"shortage\":{\"ports\":%llu,\"descriptors\":%llu}",
            (unsigned long long)r->no_port, (unsigned long long)r->no_fd);
  }
  fprintf(out,
          ",\"errors\":{\"total\":%llu,\"connect\":%llu,\"corrupted\":%llu,"
          "\"extra\":%llu,\"missing\":%llu,\"early_close\":%llu,"
          "\"local\":%llu},\"reports\":%llu,\"latency_histogram\":%s}\n",
          (unsigned long long)bench_error_count(e),
          (unsigned long long)e->connect, (unsigned long long)e->corrupted,
          (unsigned long long)e->extra, (unsigned long long)e->missing,
          (unsigned long long)e->early_close, (unsigned long long)e->local,
          (unsigned long long)r->reports, hist != NULL ? hist : "null");
  free(hist);
}

/* Connections a local limit cost, one line naming each limit. */
static void text_shortage(FILE *out, const bench_result_t *r) {
  if (r->no_port > 0)
    fprintf(out,
            "shortage: %llu connection%s not made for lack of local ports: "
            "add --source-ip addresses or widen the ephemeral port "
            "range\n",
            (unsigned long long)r->no_port, r->no_port == 1 ? "" : "s");
  if (r->no_fd > 0 && r->fd_limit > 0)
    fprintf(out,
            "shortage: %llu connection%s not made for lack of descriptors "
            "(limit %llu)\n",
            (unsigned long long)r->no_fd, r->no_fd == 1 ? "" : "s",
            (unsigned long long)r->fd_limit);
  else if (r->no_fd > 0)
    fprintf(out,
            "shortage: %llu connection%s not made for lack of "
            "descriptors\n",
            (unsigned long long)r->no_fd, r->no_fd == 1 ? "" : "s");
}

/* Churn: sessions per second and how long one takes, connect to close. */
static void text_churn(FILE *out, const bench_result_t *r, double secs) {
  const histogram_t *h = &r->session;
  fprintf(out,
          "sessions: %llu measured, %.0f sessions/s; %llu connected, %llu "
          "completed and verified in all\n",
          (unsigned long long)r->sessions, (double)r->sessions / secs,
          (unsigned long long)r->opened, (unsigned long long)r->completed);
  fprintf(out,
          "session:  min %.1f us, p50 %.1f us, p90 %.1f us, p99 %.1f us, "
          "p99.9 %.1f us, max %.1f us (connect to close)\n",
          percentile_us(h, 0), percentile_us(h, 50), percentile_us(h, 90),
          percentile_us(h, 99), percentile_us(h, 99.9), percentile_us(h, 100));
}

/* Open loop: the service time beside the latency above, and the schedule
 * against what went out. */
static void text_service(FILE *out, const bench_result_t *r) {
  const histogram_t *h = &r->service;
  fprintf(out,
          "service:  min %.1f us, p50 %.1f us, p90 %.1f us, p99 %.1f us, "
          "p99.9 %.1f us, max %.1f us (from write)\n",
          percentile_us(h, 0), percentile_us(h, 50), percentile_us(h, 90),
          percentile_us(h, 99), percentile_us(h, 99.9), percentile_us(h, 100));
}

static void text_open_loop(FILE *out, const bench_config_t *cfg,
                           const bench_result_t *r, double secs) {
  text_service(out, r);
  fprintf(out,
          "schedule: %.0f msg/s sent of %llu requested, %llu late (over "
          "1 ms), %llu held back by the in-flight cap\n",
          (double)r->sent / secs, (unsigned long long)cfg->rate,
          (unsigned long long)r->late, (unsigned long long)r->held);
}

/* --udp: the schedule against what went out, and what became of it. */
static void text_udp(FILE *out, const bench_config_t *cfg,
                     const bench_result_t *r, double secs) {
  const udp_flow_counts_t *u = &r->udp;
  char secs_text[32];
  char too_old[64] = "";

  fprintf(out,
          "schedule: %.0f msg/s sent of %llu requested, %llu late (over "
          "1 ms), %llu not sent (refused by the socket)\n",
          (double)r->sent / secs, (unsigned long long)cfg->rate,
          (unsigned long long)r->late, (unsigned long long)u->unsent);
  if (u->too_old > 0)
    snprintf(too_old, sizeof(too_old), ", %llu too old to match",
             (unsigned long long)u->too_old);
  log_format_seconds(secs_text, sizeof(secs_text), cfg->timeout_ms);
  fprintf(out,
          "datagrams: %llu sent, %llu received, %.3f%% loss, %llu lost, "
          "%llu duplicates, %llu reordered, %llu corrupted, %llu late "
          "(after %s s)%s\n",
          (unsigned long long)u->sent, (unsigned long long)u->received,
          stats_loss_percent(u->sent, u->received), (unsigned long long)u->lost,
          (unsigned long long)u->duplicates, (unsigned long long)u->reordered,
          (unsigned long long)u->corrupted, (unsigned long long)u->late,
          secs_text, too_old);
}

static void text_single_run(FILE *out, const bench_config_t *cfg,
                            const bench_result_t *r, double secs) {
  if (cfg->udp) {
    text_service(out, r);
    text_udp(out, cfg, r, secs);
    return;
  }
  if (cfg->rate > 0)
    text_open_loop(out, cfg, r, secs);
  if (cfg->churn > 0)
    text_churn(out, r, secs);
  fprintf(out, "connect:  p50 %.1f us, p99 %.1f us, max %.1f us\n",
          percentile_us(&r->connect, 50), percentile_us(&r->connect, 99),
          percentile_us(&r->connect, 100));
}

void bench_report(FILE *out, const bench_config_t *cfg,
                  const bench_result_t *r) {
  const histogram_t *h = &r->latency;
  double secs = r->seconds > 0 ? r->seconds : 1;
  const bench_errors_t *e = &r->errors;
  char target[ADDR_STR_SIZE + 256];

  if (cfg->json) {
    json_report(out, cfg, r);
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
  else if (cfg->udp)
    fprintf(out,
            "tcpecho bench: %s, %llu UDP socket%s, %llu-byte datagrams, "
            "open loop, datagrams/s %llu, %llu thread%s\n",
            target, (unsigned long long)cfg->connections,
            cfg->connections == 1 ? "" : "s", (unsigned long long)cfg->size,
            (unsigned long long)cfg->rate, (unsigned long long)r->threads,
            r->threads == 1 ? "" : "s");
  else if (cfg->churn > 0)
    fprintf(out,
            "tcpecho bench: %s, %llu connection%s, %llu-byte messages, "
            "churn, %llu per session, in flight %llu, %llu thread%s\n",
            target, (unsigned long long)cfg->connections,
            cfg->connections == 1 ? "" : "s", (unsigned long long)cfg->size,
            (unsigned long long)cfg->churn, (unsigned long long)cfg->pipeline,
            (unsigned long long)r->threads, r->threads == 1 ? "" : "s");
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
  /* One run's own lines (--bench-merge adds up only the others), after
   * the message latencies, which scripts find by their first p50. */
  if (r->reports <= 1)
    text_single_run(out, cfg, r, secs);
  fprintf(out,
          "errors:   %llu (connect %llu, corrupted %llu, extra %llu, "
          "missing %llu, early close %llu, local %llu)\n",
          (unsigned long long)bench_error_count(e),
          (unsigned long long)e->connect, (unsigned long long)e->corrupted,
          (unsigned long long)e->extra, (unsigned long long)e->missing,
          (unsigned long long)e->early_close, (unsigned long long)e->local);
  if (r->reports <= 1)
    text_shortage(out, r);
}

void bench_report_interval(FILE *out, const bench_interval_t *iv) {
  const histogram_t *h = &iv->delta->latency;
  const interval_totals_t *d = &iv->delta->counts;
  fprintf(out,
          "{\"interval\":%llu,\"start_s\":%.3f,\"end_s\":%.3f,"
          "\"messages\":%llu,\"bytes\":%llu,\"errors\":%llu,"
          "\"latency_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
          "\"total\":{\"messages\":%llu,\"bytes\":%llu,\"errors\":%llu}}\n",
          (unsigned long long)iv->index, iv->start_s, iv->end_s,
          (unsigned long long)d->messages, (unsigned long long)d->bytes,
          (unsigned long long)d->errors, percentile_us(h, 50),
          percentile_us(h, 99), percentile_us(h, 100),
          (unsigned long long)iv->total.messages,
          (unsigned long long)iv->total.bytes,
          (unsigned long long)iv->total.errors);
}
