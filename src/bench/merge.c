#include "bench/merge.h"

#include "base/addr.h"
#include "base/json.h"
#include "base/log.h"
#include "bench/report.h"
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEVERAL_HOSTS "*"

static int failed(char *err, size_t err_size, const char *fmt, ...) {
  va_list ap;
  if (err_size > 0) {
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* A member that must be a whole number >= 0. */
static int get_uint(const json_t *obj, const char *key, uint64_t *out,
                    char *err, size_t err_size) {
  if (!json_uint(json_get(obj, key), out))
    return failed(err, err_size, "no whole number \"%s\"", key);
  return 0;
}

/* A member that must be a time a run can have taken: 0, or from the
 * microsecond the report prints to BENCH_MERGE_MAX_SECONDS (so that the
 * rates derived from it print, and read back, as numbers). */
static int get_seconds(const json_t *obj, const char *key, double *out,
                       char *err, size_t err_size) {
  const json_t *v = json_get(obj, key);
  if (v == NULL || v->type != JSON_NUMBER || !(v->number >= 0))
    return failed(err, err_size, "no number \"%s\"", key);
  if (v->number > BENCH_MERGE_MAX_SECONDS ||
      (v->number > 0 && v->number < 1e-6))
    return failed(err, err_size, "\"%s\" is not a time a run takes", key);
  *out = v->number;
  return 0;
}

/* The histogram json_histogram in report.c writes, checked to be one that
 * histogram_record could have made. */
static int parse_histogram(const json_t *v, histogram_t *h, char *err,
                           size_t err_size) {
  const json_t *unit = json_get(v, "unit"), *sum = json_get(v, "sum");
  const json_t *buckets = json_get(v, "buckets"), *e;
  uint64_t sub_bits, total, seen = 0;
  size_t first = 0, last = 0, n = 0;

  histogram_init(h);
  if (v == NULL || v->type != JSON_OBJECT)
    return failed(err, err_size,
                  "no \"latency_histogram\" (made by "
                  "tcpecho 0.x before --bench-merge?)");
  if (unit == NULL || unit->type != JSON_STRING ||
      strcmp(unit->string, "ns") != 0)
    return failed(err, err_size, "latency_histogram: unit is not \"ns\"");
  if (get_uint(v, "sub_bits", &sub_bits, err, err_size) != 0 ||
      get_uint(v, "total", &total, err, err_size) != 0 ||
      get_uint(v, "min", &h->min, err, err_size) != 0 ||
      get_uint(v, "max", &h->max, err, err_size) != 0)
    return -1;
  if (sub_bits != HISTOGRAM_SUB_BITS)
    return failed(err, err_size,
                  "latency_histogram: %llu sub-bucket bits, this tcpecho "
                  "uses %d",
                  (unsigned long long)sub_bits, HISTOGRAM_SUB_BITS);
  if (sum == NULL || sum->type != JSON_NUMBER || !(sum->number >= 0))
    return failed(err, err_size, "latency_histogram: no number \"sum\"");
  if (buckets == NULL || buckets->type != JSON_ARRAY || buckets->len % 2 != 0)
    return failed(err, err_size,
                  "latency_histogram: \"buckets\" is not [index, count, ...]");
  for (e = buckets->child; e != NULL; e = e->next->next) {
    uint64_t index, count;
    if (!json_uint(e, &index) || !json_uint(e->next, &count) || count == 0 ||
        index >= HISTOGRAM_BUCKETS || (n > 0 && index <= last) ||
        count > UINT64_MAX - seen)
      return failed(err, err_size,
                    "latency_histogram: bucket %lu is not an index above the "
                    "last and a count above 0",
                    (unsigned long)n);
    if (n++ == 0)
      first = (size_t)index;
    last = (size_t)index;
    h->counts[last] = count;
    seen += count;
  }
  if (seen != total)
    return failed(err, err_size,
                  "latency_histogram: counts add up to %llu, not total %llu",
                  (unsigned long long)seen, (unsigned long long)total);
  if (total > 0 && (h->min > h->max || histogram_bucket_of(h->min) != first ||
                    histogram_bucket_of(h->max) != last))
    return failed(err, err_size,
                  "latency_histogram: min and max are not in its first and "
                  "last buckets");
  h->total = total;
  h->sum = sum->number;
  return 0;
}

static int parse_errors(const json_t *v, bench_errors_t *e, char *err,
                        size_t err_size) {
  if (v == NULL || v->type != JSON_OBJECT)
    return failed(err, err_size, "no \"errors\" object");
  if (get_uint(v, "connect", &e->connect, err, err_size) != 0 ||
      get_uint(v, "corrupted", &e->corrupted, err, err_size) != 0 ||
      get_uint(v, "extra", &e->extra, err, err_size) != 0 ||
      get_uint(v, "missing", &e->missing, err, err_size) != 0 ||
      get_uint(v, "early_close", &e->early_close, err, err_size) != 0 ||
      get_uint(v, "local", &e->local, err, err_size) != 0)
    return -1;
  return 0;
}

static int parse_report(const json_t *v, bench_run_t *run, char *err,
                        size_t err_size) {
  bench_config_t *c = &run->config;
  bench_result_t *r = &run->result;
  const json_t *host = json_get(v, "host"), *reports = json_get(v, "reports");
  uint64_t port;

  if (v->type != JSON_OBJECT)
    return failed(err, err_size, "not a JSON object");
  if (host == NULL || host->type != JSON_STRING ||
      host->len >= sizeof(run->host) || memchr(host->string, 0, host->len))
    return failed(err, err_size,
                  "no \"host\" (is it a tcpecho --bench "
                  "--json report?)");
  memcpy(run->host, host->string, host->len + 1);
  c->host = run->host;
  if (get_uint(v, "port", &port, err, err_size) != 0 ||
      get_uint(v, "connections", &c->connections, err, err_size) != 0 ||
      get_uint(v, "size", &c->size, err, err_size) != 0 ||
      get_uint(v, "pipeline", &c->pipeline, err, err_size) != 0 ||
      get_uint(v, "rate", &c->rate, err, err_size) != 0 ||
      get_uint(v, "connected", &r->connected, err, err_size) != 0 ||
      get_uint(v, "threads", &r->threads, err, err_size) != 0 ||
      get_seconds(v, "setup_s", &r->setup_seconds, err, err_size) != 0 ||
      get_seconds(v, "seconds", &r->seconds, err, err_size) != 0 ||
      get_uint(v, "messages", &r->messages, err, err_size) != 0 ||
      get_uint(v, "bytes", &r->bytes, err, err_size) != 0 ||
      parse_errors(json_get(v, "errors"), &r->errors, err, err_size) != 0 ||
      parse_histogram(json_get(v, "latency_histogram"), &r->latency, err,
                      err_size) != 0)
    return -1;
  if (port > 65535)
    return failed(err, err_size, "port %llu out of range",
                  (unsigned long long)port);
  c->port = (int)port;
  r->reports = 1;
  if (reports != NULL && (!json_uint(reports, &r->reports) || r->reports == 0))
    return failed(err, err_size, "\"reports\" is not a whole number above 0");
  return 0;
}

/* Where the last non-blank line starts: --json-stream's final report. */
static size_t last_line(const char *text, size_t len) {
  size_t end = len;
  while (end > 0 && (text[end - 1] == '\n' || text[end - 1] == '\r' ||
                     text[end - 1] == ' ' || text[end - 1] == '\t'))
    end--;
  while (end > 0 && text[end - 1] != '\n')
    end--;
  return end;
}

int bench_run_parse(const char *text, size_t len, bench_run_t *run, char *err,
                    size_t err_size) {
  json_t *v;
  char why[256];
  int rc;

  memset(run, 0, offsetof(bench_run_t, result));
  memset(&run->result, 0, offsetof(bench_result_t, latency));
  histogram_init(&run->result.latency);
  v = json_parse(text, len, why, sizeof(why));
  if (v == NULL) {
    size_t start = last_line(text, len);
    if (start > 0)
      v = json_parse(text + start, len - start, NULL, 0);
  }
  if (v == NULL)
    return failed(err, err_size, "not JSON: %s", why);
  rc = parse_report(v, run, err, err_size);
  json_free(v);
  return rc;
}

static void add_errors(bench_errors_t *sum, const bench_errors_t *e) {
  sum->connect += e->connect;
  sum->corrupted += e->corrupted;
  sum->extra += e->extra;
  sum->missing += e->missing;
  sum->early_close += e->early_close;
  sum->local += e->local;
}

void bench_run_add(bench_run_t *sum, const bench_run_t *run) {
  bench_config_t *c = &sum->config;
  bench_result_t *r = &sum->result;
  const bench_result_t *add = &run->result;

  if (r->reports == 0) {
    memcpy(sum->host, run->host, sizeof(sum->host));
    c->host = sum->host;
    c->port = run->config.port;
    c->size = run->config.size;
    c->pipeline = run->config.pipeline;
  } else {
    if (strcmp(sum->host, run->host) != 0)
      strcpy(sum->host, SEVERAL_HOSTS);
    if (c->port != run->config.port)
      c->port = 0;
    if (c->size != run->config.size)
      c->size = 0;
    if (c->pipeline != run->config.pipeline)
      c->pipeline = 0;
  }
  c->connections += run->config.connections;
  c->rate += run->config.rate;
  r->connected += add->connected;
  r->threads += add->threads;
  r->messages += add->messages;
  r->bytes += add->bytes;
  r->reports += add->reports;
  if (add->setup_seconds > r->setup_seconds)
    r->setup_seconds = add->setup_seconds;
  if (add->seconds > r->seconds)
    r->seconds = add->seconds;
  add_errors(&r->errors, &add->errors);
  histogram_merge(&r->latency, &add->latency);
}

/* The whole of path ("-": standard input) in a new buffer, or NULL with
 * err saying why. */
static char *read_file(const char *path, size_t *len, char *err,
                       size_t err_size) {
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
  char *buf = NULL;
  size_t n = 0, cap = 0;

  if (f == NULL) {
    failed(err, err_size, "%s", strerror(errno));
    return NULL;
  }
  for (;;) {
    size_t got;
    if (n == cap) {
      char *more;
      cap = cap ? cap * 2 : 65536;
      if (cap > BENCH_MERGE_MAX_FILE + 1)
        cap = BENCH_MERGE_MAX_FILE + 1;
      more = n < cap ? realloc(buf, cap) : NULL;
      if (more == NULL) {
        failed(err, err_size,
               n < cap ? "out of memory" : "larger than 16 MiB: not a report");
        break;
      }
      buf = more;
    }
    got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) {
      if (ferror(f)) {
        failed(err, err_size, "read error");
        break;
      }
      if (f != stdin)
        fclose(f);
      *len = n;
      return buf;
    }
  }
  free(buf);
  if (f != stdin)
    fclose(f);
  return NULL;
}

/* What the line of one run says, kept until every file has been read: no
 * output at all unless every report is good. */
typedef struct run_line_s {
  char target[ADDR_STR_SIZE + BENCH_MERGE_HOST_SIZE];
  uint64_t connections;
  double seconds;
  uint64_t messages;
  uint64_t errors;
} run_line_t;

static void keep_line(run_line_t *line, const bench_run_t *run) {
  addr_format_target(run->config.host, run->config.port, line->target,
                     sizeof(line->target));
  line->connections = run->config.connections;
  line->seconds = run->result.seconds;
  line->messages = run->result.messages;
  line->errors = bench_error_count(&run->result.errors);
}

/* "run N: FILE: TARGET, ...", in text mode. */
static void print_line(unsigned n, const char *path, const run_line_t *line) {
  double secs = line->seconds > 0 ? line->seconds : 1;
  printf("run %u: %s: %s, %llu connections, %.3f s, %llu messages, "
         "%.0f msg/s, %llu errors\n",
         n, path, line->target, (unsigned long long)line->connections,
         line->seconds, (unsigned long long)line->messages,
         (double)line->messages / secs, (unsigned long long)line->errors);
}

int bench_merge_main(const char *const *paths, size_t count, int json) {
  bench_run_t *sum = calloc(1, sizeof(*sum)), *run = malloc(sizeof(*run));
  run_line_t *lines = calloc(count, sizeof(*lines));
  int status = EXIT_STATUS_OK;
  char err[512];
  size_t i;

  if (sum == NULL || run == NULL || lines == NULL) {
    log_line("bench-merge: out of memory");
    free(sum);
    free(run);
    free(lines);
    return EXIT_STATUS_FAILURE;
  }
  histogram_init(&sum->result.latency);
  for (i = 0; i < count && status == EXIT_STATUS_OK; i++) {
    size_t len = 0;
    char *text = read_file(paths[i], &len, err, sizeof(err));
    if (text == NULL ||
        bench_run_parse(text, len, run, err, sizeof(err)) != 0) {
      log_line("bench-merge: %s: %s", paths[i], err);
      status = EXIT_STATUS_FAILURE;
    } else {
      keep_line(&lines[i], run);
      bench_run_add(sum, run);
    }
    free(text);
  }
  if (status == EXIT_STATUS_OK) {
    for (i = 0; !json && i < count; i++)
      print_line((unsigned)i + 1, paths[i], &lines[i]);
    sum->config.json = json;
    bench_report(stdout, &sum->config, &sum->result);
    fflush(stdout);
    if (bench_error_count(&sum->result.errors) > 0 ||
        sum->result.connected == 0)
      status = EXIT_STATUS_FAILURE;
  }
  free(sum);
  free(run);
  free(lines);
  return status;
}
