/* The metrics exposition (src/server/metrics.c): the exact text for known
 * numbers, every line valid in the Prometheus text format, label values
 * escaped, and snprintf-like truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server/metrics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static metrics_values_t known(void) {
  metrics_values_t v;
  memset(&v, 0, sizeof(v));
  v.sessions_accepted = 1001;
  v.rejected_max_conns = 7;
  v.rejected_no_descriptor = 3;
  v.sessions_closed_idle = 11;
  v.sessions_open = 12;
  v.sessions_peak = 345;
  v.received_bytes = 18446744073709551615ULL; /* the largest there is */
  v.sent_bytes = 987654321;
  v.errors[SERVER_ERROR_ACCEPT] = 2;
  v.errors[SERVER_ERROR_READ] = 13;
  v.errors[SERVER_ERROR_WRITE] = 17;
  v.proxy_header_errors = 5;
  v.draining = 1;
  v.version = "0.1.0";
  v.libuv_version = "1.44.2";
  v.start_time_seconds = 1795000000.25;
  return v;
}

static const char known_text[] =
    "# HELP tcpecho_sessions_accepted_total TCP sessions accepted.\n"
    "# TYPE tcpecho_sessions_accepted_total counter\n"
    "tcpecho_sessions_accepted_total 1001\n"
    "# HELP tcpecho_sessions_rejected_total TCP connections closed as soon as "
    "accepted: over --max-conns (max_conns) or without a free descriptor "
    "(no_descriptor).\n"
    "# TYPE tcpecho_sessions_rejected_total counter\n"
    "tcpecho_sessions_rejected_total{reason=\"max_conns\"} 7\n"
    "tcpecho_sessions_rejected_total{reason=\"no_descriptor\"} 3\n"
    "# HELP tcpecho_sessions_closed_idle_total TCP sessions closed by "
    "--idle-timeout.\n"
    "# TYPE tcpecho_sessions_closed_idle_total counter\n"
    "tcpecho_sessions_closed_idle_total 11\n"
    "# HELP tcpecho_sessions_open TCP sessions open now.\n"
    "# TYPE tcpecho_sessions_open gauge\n"
    "tcpecho_sessions_open 12\n"
    "# HELP tcpecho_sessions_peak The most TCP sessions open at once since the "
    "start.\n"
    "# TYPE tcpecho_sessions_peak gauge\n"
    "tcpecho_sessions_peak 345\n"
    "# HELP tcpecho_received_bytes_total Bytes read from TCP sessions.\n"
    "# TYPE tcpecho_received_bytes_total counter\n"
    "tcpecho_received_bytes_total 18446744073709551615\n"
    "# HELP tcpecho_sent_bytes_total Bytes echoed to TCP sessions.\n"
    "# TYPE tcpecho_sent_bytes_total counter\n"
    "tcpecho_sent_bytes_total 987654321\n"
    "# HELP tcpecho_errors_total TCP errors by kind: accepting, reading, "
    "writing (a peer's end of file is not one).\n"
    "# TYPE tcpecho_errors_total counter\n"
    "tcpecho_errors_total{kind=\"accept\"} 2\n"
    "tcpecho_errors_total{kind=\"read\"} 13\n"
    "tcpecho_errors_total{kind=\"write\"} 17\n"
    "# HELP tcpecho_proxy_header_errors_total Connections closed for a bad, "
    "incomplete or late PROXY protocol header (--proxy-protocol).\n"
    "# TYPE tcpecho_proxy_header_errors_total counter\n"
    "tcpecho_proxy_header_errors_total 5\n"
    "# HELP tcpecho_draining 1 once a stop signal has begun draining the "
    "sessions, else 0.\n"
    "# TYPE tcpecho_draining gauge\n"
    "tcpecho_draining 1\n"
    "# HELP tcpecho_build_info The version of tcpecho and of the libuv it runs "
    "with; always 1.\n"
    "# TYPE tcpecho_build_info gauge\n"
    "tcpecho_build_info{version=\"0.1.0\",libuv=\"1.44.2\"} 1\n"
    "# HELP process_start_time_seconds Start time of the process since the "
    "Unix epoch in seconds.\n"
    "# TYPE process_start_time_seconds gauge\n"
    "process_start_time_seconds 1795000000.250\n";

static char *format(const metrics_values_t *v) {
  size_t len = metrics_format(NULL, 0, v);
  char *text = malloc(len + 1);
  assert_non_null(text);
  assert_int_equal(metrics_format(text, len + 1, v), len);
  assert_int_equal(strlen(text), len);
  return text;
}

static void test_known_numbers(void **state) {
  metrics_values_t v = known();
  char *text = format(&v);
  (void)state;
  assert_string_equal(text, known_text);
  free(text);
}

/* ---- a checker of the text format, written from its description ---- */

typedef struct family_s {
  char name[128];
  char type[16];
  int samples;
} family_t;

static int is_name_start(char c) {
  return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static int is_name_char(char c) {
  return is_name_start(c) || isdigit((unsigned char)c);
}

/* A metric or label name at *p, copied into out; fails if there is none. */
static void take_name(const char **p, char *out, size_t size, int line) {
  size_t n = 0;
  if (!is_name_start(**p))
    fail_msg("line %d: no name at '%s'", line, *p);
  while (is_name_char(**p)) {
    assert_true(n + 1 < size);
    out[n++] = *(*p)++;
  }
  out[n] = '\0';
}

/* A quoted label value at *p, unescaped into out. */
static void take_label_value(const char **p, char *out, size_t size, int line) {
  size_t n = 0;
  if (**p != '"')
    fail_msg("line %d: label value without its quote", line);
  for ((*p)++; **p != '"'; (*p)++) {
    char c = **p;
    if (c == '\0' || c == '\n')
      fail_msg("line %d: unterminated label value", line);
    if (c == '\\') {
      c = *++(*p);
      if (c == 'n')
        c = '\n';
      else if (c != '\\' && c != '"')
        fail_msg("line %d: bad escape \\%c in a label value", line, c);
    }
    assert_true(n + 1 < size);
    out[n++] = c;
  }
  (*p)++;
  out[n] = '\0';
}

static family_t *find_family(family_t *f, int n, const char *name) {
  int i;
  for (i = 0; i < n; i++) {
    if (strcmp(f[i].name, name) == 0)
      return &f[i];
  }
  return NULL;
}

/* Checks every line of text; returns the number of samples, and the value
 * of label `want_label` on the sample named `want_sample` in got. */
static int check_exposition(const char *text, const char *want_sample,
                            const char *want_label, char *got,
                            size_t got_size) {
  family_t families[64];
  int n_families = 0, samples = 0, line_no = 0;
  const char *p = text;

  assert_true(strlen(text) > 0 && text[strlen(text) - 1] == '\n');
  while (*p != '\0') {
    const char *eol = strchr(p, '\n');
    char line[1024], name[128], value_text[64];
    const char *q;
    family_t *f;

    line_no++;
    assert_non_null(eol);
    assert_true((size_t)(eol - p) < sizeof(line));
    memcpy(line, p, (size_t)(eol - p));
    line[eol - p] = '\0';
    p = eol + 1;
    q = line;
    if (strncmp(q, "# HELP ", 7) == 0) {
      q += 7;
      take_name(&q, name, sizeof(name), line_no);
      if (*q != ' ' || q[1] == '\0')
        fail_msg("line %d: HELP without text", line_no);
      for (q++; *q != '\0'; q++) {
        if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
          fail_msg("line %d: bad escape in HELP", line_no);
        if (*q == '\\')
          q++;
      }
      if (find_family(families, n_families, name) != NULL)
        fail_msg("line %d: a second HELP for %s", line_no, name);
      assert_true(n_families < 64);
      f = &families[n_families++];
      memset(f, 0, sizeof(*f));
      snprintf(f->name, sizeof(f->name), "%s", name);
      continue;
    }
    if (strncmp(q, "# TYPE ", 7) == 0) {
      q += 7;
      take_name(&q, name, sizeof(name), line_no);
      f = find_family(families, n_families, name);
      if (f == NULL || f->type[0] != '\0' || f->samples > 0)
        fail_msg("line %d: TYPE of %s not right after its HELP", line_no, name);
      if (strcmp(q, " counter") != 0 && strcmp(q, " gauge") != 0)
        fail_msg("line %d: type '%s'", line_no, q);
      snprintf(f->type, sizeof(f->type), "%s", q + 1);
      if (strcmp(f->type, "counter") == 0 &&
          (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
        fail_msg("line %d: counter %s does not end in _total", line_no, name);
      continue;
    }
    if (*q == '#')
      fail_msg("line %d: a comment that is neither HELP nor TYPE", line_no);
    take_name(&q, name, sizeof(name), line_no);
    f = find_family(families, n_families, name);
    if (f == NULL || f->type[0] == '\0')
      fail_msg("line %d: sample of %s before its HELP and TYPE", line_no, name);
    if (f != &families[n_families - 1])
      fail_msg("line %d: %s's samples are not together", line_no, name);
    if (*q == '{') {
      q++;
      while (*q != '}') {
        char label[128], lvalue[256];
        take_name(&q, label, sizeof(label), line_no);
        if (*q++ != '=')
          fail_msg("line %d: label without '='", line_no);
        take_label_value(&q, lvalue, sizeof(lvalue), line_no);
        if (got != NULL && strcmp(name, want_sample) == 0 &&
            strcmp(label, want_label) == 0)
          snprintf(got, got_size, "%s", lvalue);
        if (*q == ',')
          q++;
        else if (*q != '}')
          fail_msg("line %d: labels not closed", line_no);
      }
      q++;
    }
    if (*q++ != ' ')
      fail_msg("line %d: no space before the value", line_no);
    snprintf(value_text, sizeof(value_text), "%s", q);
    {
      char *end;
      (void)strtod(value_text, &end);
      if (end == value_text || *end != '\0')
        fail_msg("line %d: value '%s' is not a number", line_no, value_text);
    }
    f->samples++;
    samples++;
  }
  return samples;
}

static void test_every_line_valid(void **state) {
  metrics_values_t v = known();
  char *text = format(&v);
  char got[256] = "";
  (void)state;
  assert_int_equal(
      check_exposition(text, "tcpecho_build_info", "libuv", got, sizeof(got)),
      15);
  assert_string_equal(got, "1.44.2");
  free(text);
}

/* With --udp, the UDP counters follow the TCP ones, refusals and drops by
 * reason; every line still valid. Without it, none of them. */
static void test_udp_counters(void **state) {
  metrics_values_t v = known();
  char *text;
  int i;
  (void)state;

  v.udp_on = 1;
  v.udp.datagrams_in = 100;
  v.udp.bytes_in = 6400;
  v.udp.datagrams_out = 90;
  v.udp.bytes_out = 5760;
  for (i = 0; i < UDP_REFUSED_COUNT; i++)
    v.udp.refused[i] = (uint64_t)(i + 1);
  for (i = 0; i < UDP_DROPPED_COUNT; i++)
    v.udp.dropped[i] = (uint64_t)(10 * (i + 1));
  v.udp.errors = 4;
  text = format(&v);
  assert_int_equal(
      check_exposition(text, "tcpecho_build_info", "libuv", NULL, 0),
      15 + 5 + UDP_REFUSED_COUNT + UDP_DROPPED_COUNT);
  assert_non_null(strstr(text, "\ntcpecho_udp_received_datagrams_total 100\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_received_bytes_total 6400\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_sent_datagrams_total 90\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_sent_bytes_total 5760\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_refused_datagrams_total{reason="
                               "\"low_port\"} 2\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_refused_datagrams_total{reason="
                               "\"rate\"} 4\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_dropped_datagrams_total{reason="
                               "\"queue_full\"} 20\n"));
  assert_non_null(strstr(text, "\ntcpecho_udp_errors_total 4\n"));
  free(text);
  v.udp_on = 0;
  text = format(&v);
  assert_null(strstr(text, "udp"));
  free(text);
}

/* Backslash, double quote and newline in a label value are escaped, and
 * read back as they were. */
static void test_label_escaping(void **state) {
  metrics_values_t v = known();
  char *text;
  char got[256] = "";
  (void)state;
  v.version = "1.0\"beta\\2\nx";
  v.libuv_version = NULL;
  text = format(&v);
  assert_non_null(strstr(
      text,
      "tcpecho_build_info{version=\"1.0\\\"beta\\\\2\\nx\",libuv=\"\"} 1\n"));
  check_exposition(text, "tcpecho_build_info", "version", got, sizeof(got));
  assert_string_equal(got, "1.0\"beta\\2\nx");
  free(text);
}

/* As snprintf: what fits, NUL-terminated, and the whole length. */
static void test_truncation(void **state) {
  metrics_values_t v = known();
  size_t len = metrics_format(NULL, 0, &v);
  char small[100];
  (void)state;
  assert_int_equal(len, strlen(known_text));
  memset(small, 'x', sizeof(small));
  assert_int_equal(metrics_format(small, sizeof(small), &v), len);
  assert_int_equal(strlen(small), sizeof(small) - 1);
  assert_memory_equal(small, known_text, sizeof(small) - 1);
  memset(small, 'x', sizeof(small));
  assert_int_equal(metrics_format(small, 1, &v), len);
  assert_int_equal(small[0], '\0');
  assert_int_equal(small[1], 'x');
}

/* A server's counters land where their names say. */
static void test_from_server_stats(void **state) {
  server_stats_t st;
  metrics_values_t v;
  (void)state;
  memset(&st, 0, sizeof(st));
  memset(&v, 0, sizeof(v));
  st.sessions_accepted = 1;
  st.sessions_rejected = 2;
  st.sessions_dropped = 3;
  st.sessions_idle_closed = 4;
  st.bytes_in = 5;
  st.bytes_out = 6;
  st.errors = 7;
  st.errors_by_kind[SERVER_ERROR_ACCEPT] = 1;
  st.errors_by_kind[SERVER_ERROR_READ] = 2;
  st.errors_by_kind[SERVER_ERROR_WRITE] = 4;
  st.udp_on = 1;
  st.udp.datagrams_in = 12;
  st.proxy_header_errors = 8;
  st.sessions_open = 9;
  st.peak_sessions = 10;
  st.peak_write_pending = 11;
  v.draining = 1;
  metrics_from_server_stats(&v, &st);
  assert_int_equal(v.sessions_accepted, 1);
  assert_int_equal(v.rejected_max_conns, 2);
  assert_int_equal(v.rejected_no_descriptor, 3);
  assert_int_equal(v.sessions_closed_idle, 4);
  assert_int_equal(v.received_bytes, 5);
  assert_int_equal(v.sent_bytes, 6);
  assert_int_equal(v.errors[SERVER_ERROR_ACCEPT], 1);
  assert_int_equal(v.errors[SERVER_ERROR_READ], 2);
  assert_int_equal(v.errors[SERVER_ERROR_WRITE], 4);
  assert_int_equal(v.udp_on, 1);
  assert_int_equal(v.udp.datagrams_in, 12);
  assert_int_equal(v.proxy_header_errors, 8);
  assert_int_equal(v.sessions_open, 9);
  assert_int_equal(v.sessions_peak, 10);
  assert_int_equal(v.draining, 1); /* not the stats' to set */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_known_numbers),
      cmocka_unit_test(test_every_line_valid),
      cmocka_unit_test(test_udp_counters),
      cmocka_unit_test(test_label_escaping),
      cmocka_unit_test(test_truncation),
      cmocka_unit_test(test_from_server_stats),
  };
  return cmocka_run_group_tests_name("metrics_format", tests, NULL, NULL);
}
