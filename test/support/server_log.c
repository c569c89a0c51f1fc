#include "server_log.h"

#include "load.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after the first `key` at or after *p, on the same line. */
static int next_number(const char **p, const char *key,
                       unsigned long long *out) {
  const char *at = strstr(*p, key);
  const char *nl = strchr(*p, '\n');
  char *end;
  if (at == NULL || (nl != NULL && at > nl))
    return 0;
  *out = strtoull(at + strlen(key), &end, 10);
  if (end == at + strlen(key))
    return 0;
  *p = end;
  return 1;
}

/* The figures of a summary line, from its "served " on. */
static int parse_summary_at(const char *p, summary_t *s) {
  return next_number(&p, "served ", &s->served) &&
         next_number(&p, "echoed ", &s->echoed) &&
         next_number(&p, "peak ", &s->peak) &&
         next_number(&p, "sessions, ", &s->rejected) &&
         next_number(&p, "rejected, ", &s->dropped) &&
         next_number(&p, "dropped (no free descriptor), ", &s->idle) &&
         next_number(&p, "closed idle, ", &s->errors) &&
         strncmp(p, " errors", 7) == 0;
}

/* Whether the text of at's line before it ends in "loop K: ": a
 * per-loop summary rather than the total. */
static int after_loop_label(const char *log, const char *at) {
  const char *line = at, *p = at, *digits;
  while (line > log && line[-1] != '\n')
    line--;
  if (p - line < 2 || p[-1] != ' ' || p[-2] != ':')
    return 0;
  p -= 2;
  digits = p;
  while (p > line && p[-1] >= '0' && p[-1] <= '9')
    p--;
  return p < digits && p - line >= 5 && memcmp(p - 5, "loop ", 5) == 0;
}

int parse_summary(const char *log, summary_t *s) {
  const char *p;
  for (p = strstr(log, "served "); p != NULL; p = strstr(p + 1, "served ")) {
    if (!after_loop_label(log, p))
      return parse_summary_at(p, s);
  }
  return 0;
}

size_t count_loop_summaries(const char *log) {
  const char *p;
  size_t n = 0;
  for (p = strstr(log, "served "); p != NULL; p = strstr(p + 1, "served "))
    n += (size_t)after_loop_label(log, p);
  return n;
}

int parse_loop_summary(const char *log, unsigned k, summary_t *s) {
  char label[32];
  const char *at;
  snprintf(label, sizeof(label), "loop %u: served ", k);
  at = strstr(log, label);
  return at != NULL &&
         parse_summary_at(at + strlen(label) - strlen("served "), s);
}

void print_summary(const summary_t *s) {
  print_message("  summary: served %llu, echoed %llu bytes, peak %llu, "
                "rejected %llu, dropped %llu, idle %llu, errors %llu\n",
                s->served, s->echoed, s->peak, s->rejected, s->dropped, s->idle,
                s->errors);
}

void expect_eq(const char *what, unsigned long long got,
               unsigned long long want) {
  if (got != want)
    fail_msg("%s: %llu, want %llu", what, got, want);
}

size_t count_of(const char *hay, const char *needle) {
  size_t n = 0;
  const char *at;
  for (at = strstr(hay, needle); at != NULL; at = strstr(at + 1, needle))
    n++;
  return n;
}

const char *find_line_with(const char *log, const char *from, const char *a,
                           const char *b) {
  const char *line = from != NULL ? from : log, *nl;
  for (; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
    const char *x = strstr(line, a);
    if (x == NULL)
      return NULL; /* not in this line nor any later one */
    if (x >= nl)
      continue;
    if (b == NULL)
      return line;
    x = strstr(x + strlen(a), b);
    if (x != NULL && x < nl)
      return line;
  }
  return NULL;
}

int has_line_with(const char *log, const char *a, const char *b) {
  return find_line_with(log, NULL, a, b) != NULL;
}

typedef struct line_wait_s {
  const proc_t *p;
  const char *a, *b;
} line_wait_t;

static int line_seen(const void *arg) {
  const line_wait_t *w = arg;
  return has_line_with(w->p->err, w->a, w->b);
}

void wait_line(proc_t *p, const char *a, const char *b, uint64_t timeout_ms) {
  line_wait_t w;
  w.p = p;
  w.a = a;
  w.b = b;
  if (!wait_for(line_seen, &w, timeout_ms))
    fail_msg("no log line with '%s'%s%s%s:\n%s", a, b ? " and '" : "",
             b ? b : "", b ? "'" : "", p->err);
}

int number_after(const char *line, const char *key, unsigned long *out) {
  const char *nl = strchr(line, '\n');
  const char *at = strstr(line, key);
  char *end;
  if (at == NULL || (nl != NULL && at > nl))
    return 0;
  *out = strtoul(at + strlen(key), &end, 10);
  return end != at + strlen(key);
}
