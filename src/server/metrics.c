#include "server/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Text appended to a caller's buffer, snprintf-style: what does not fit
 * is counted, not written. */
typedef struct out_s {
  char *buf;
  size_t size;
  size_t len; /* of the whole text, written or not */
} out_t;

static void put(out_t *o, const char *s, size_t n) {
  size_t room = o->len < o->size ? o->size - o->len - 1 : 0;
  if (room > 0)
    memcpy(o->buf + o->len, s, n < room ? n : room);
  o->len += n;
}

static void puts_(out_t *o, const char *s) {
  put(o, s, strlen(s));
}

/* For a name or a number at a time: they fit. */
static void putf(out_t *o, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0)
    put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* HELP text escapes backslash and newline; label values, the double quote
 * too. */
static void put_escaped(out_t *o, const char *s, int label) {
  for (; *s != '\0'; s++) {
    if (*s == '\\')
      puts_(o, "\\\\");
    else if (*s == '\n')
      puts_(o, "\\n");
    else if (*s == '"' && label)
      puts_(o, "\\\"");
    else
      put(o, s, 1);
  }
}

static void header(out_t *o, const char *name, const char *type,
                   const char *help) {
  putf(o, "# HELP %s ", name);
  put_escaped(o, help, 0);
  putf(o, "\n# TYPE %s %s\n", name, type);
}

/* "name value" or "name{labels} value". */
static void sample(out_t *o, const char *name, const char *labels,
                   uint64_t value) {
  puts_(o, name);
  puts_(o, labels);
  putf(o, " %llu\n", (unsigned long long)value);
}

static void counter(out_t *o, const char *name, const char *help,
                    uint64_t value) {
  header(o, name, "counter", help);
  sample(o, name, "", value);
}

static void gauge(out_t *o, const char *name, const char *help,
                  uint64_t value) {
  header(o, name, "gauge", help);
  sample(o, name, "", value);
}

static void build_info(out_t *o, const metrics_values_t *v) {
  header(o, "tcpecho_build_info", "gauge",
         "The version of tcpecho and of the libuv it runs with; always 1.");
  puts_(o, "tcpecho_build_info{version=\"");
  put_escaped(o, v->version ? v->version : "", 1);
  puts_(o, "\",libuv=\"");
  put_escaped(o, v->libuv_version ? v->libuv_version : "", 1);
  puts_(o, "\"} 1\n");
}

/* One sample per reason, labelled with its short name. */
static void by_reason(out_t *o, const char *name, const char *(*reason)(int),
                      const uint64_t *counts, int n) {
  char labels[64];
  int i;
  for (i = 0; i < n; i++) {
    snprintf(labels, sizeof(labels), "{reason=\"%s\"}", reason(i));
    sample(o, name, labels, counts[i]);
  }
}

static const char *refused_name(int i) {
  return udp_refused_name((udp_refused_t)i);
}

static const char *dropped_name(int i) {
  return udp_dropped_name((udp_dropped_t)i);
}

static void udp_metrics(out_t *o, const udp_stats_t *u) {
  counter(o, "tcpecho_udp_received_datagrams_total",
          "UDP datagrams received, answered or not.", u->datagrams_in);
  counter(o, "tcpecho_udp_received_bytes_total",
          "Bytes of UDP datagrams "
          "received.",
          u->bytes_in);
  counter(o, "tcpecho_udp_sent_datagrams_total", "UDP replies sent.",
          u->datagrams_out);
  counter(o, "tcpecho_udp_sent_bytes_total", "Bytes of UDP replies sent.",
          u->bytes_out);
  header(o, "tcpecho_udp_refused_datagrams_total", "counter",
         "UDP datagrams not answered by the rules against loops and "
         "reflection, by reason.");
  by_reason(o, "tcpecho_udp_refused_datagrams_total", refused_name, u->refused,
            UDP_REFUSED_COUNT);
  header(o, "tcpecho_udp_dropped_datagrams_total", "counter",
         "UDP replies not sent although allowed, by reason.");
  by_reason(o, "tcpecho_udp_dropped_datagrams_total", dropped_name, u->dropped,
            UDP_DROPPED_COUNT);
  counter(o, "tcpecho_udp_errors_total", "Failed UDP receives.", u->errors);
}

void metrics_from_server_stats(metrics_values_t *v, const server_stats_t *st) {
  v->sessions_accepted = st->sessions_accepted;
  v->rejected_max_conns = st->sessions_rejected;
  v->rejected_no_descriptor = st->sessions_dropped;
  v->sessions_closed_idle = st->sessions_idle_closed;
  v->received_bytes = st->bytes_in;
  v->sent_bytes = st->bytes_out;
  memcpy(v->errors, st->errors_by_kind, sizeof(v->errors));
  v->proxy_header_errors = st->proxy_header_errors;
  v->udp_on = st->udp_on;
  v->udp = st->udp;
  v->sessions_open = st->sessions_open;
  v->sessions_peak = st->peak_sessions;
}

size_t metrics_format(char *buf, size_t size, const metrics_values_t *v) {
  out_t o;
  o.buf = buf;
  o.size = size;
  o.len = 0;

  counter(&o, "tcpecho_sessions_accepted_total", "TCP sessions accepted.",
          v->sessions_accepted);
  header(&o, "tcpecho_sessions_rejected_total", "counter",
         "TCP connections closed as soon as accepted: over --max-conns "
         "(max_conns) or without a free descriptor (no_descriptor).");
  sample(&o, "tcpecho_sessions_rejected_total", "{reason=\"max_conns\"}",
         v->rejected_max_conns);
  sample(&o, "tcpecho_sessions_rejected_total", "{reason=\"no_descriptor\"}",
         v->rejected_no_descriptor);
  counter(&o, "tcpecho_sessions_closed_idle_total",
          "TCP sessions closed by --idle-timeout.", v->sessions_closed_idle);
  gauge(&o, "tcpecho_sessions_open", "TCP sessions open now.",
        v->sessions_open);
  gauge(&o, "tcpecho_sessions_peak",
        "The most TCP sessions open at once since the start.",
        v->sessions_peak);
  counter(&o, "tcpecho_received_bytes_total", "Bytes read from TCP sessions.",
          v->received_bytes);
  counter(&o, "tcpecho_sent_bytes_total", "Bytes echoed to TCP sessions.",
          v->sent_bytes);
  header(&o, "tcpecho_errors_total", "counter",
         "TCP errors by kind: accepting, reading, writing (a peer's end of "
         "file is not one).");
  sample(&o, "tcpecho_errors_total", "{kind=\"accept\"}",
         v->errors[SERVER_ERROR_ACCEPT]);
  sample(&o, "tcpecho_errors_total", "{kind=\"read\"}",
         v->errors[SERVER_ERROR_READ]);
  sample(&o, "tcpecho_errors_total", "{kind=\"write\"}",
         v->errors[SERVER_ERROR_WRITE]);
  counter(&o, "tcpecho_proxy_header_errors_total",
          "Connections closed for a bad, incomplete or late PROXY protocol "
          "header (--proxy-protocol).",
          v->proxy_header_errors);
  if (v->udp_on)
    udp_metrics(&o, &v->udp);
  gauge(&o, "tcpecho_draining",
        "1 once a stop signal has begun draining the sessions, else 0.",
        v->draining ? 1 : 0);
  build_info(&o, v);
  header(&o, "process_start_time_seconds", "gauge",
         "Start time of the process since the Unix epoch in seconds.");
  putf(&o, "process_start_time_seconds %.3f\n", v->start_time_seconds);
  if (size > 0)
    buf[o.len < size ? o.len : size - 1] = '\0';
  return o.len;
}
