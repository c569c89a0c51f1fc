/* Matching a printed line's pattern with a man page entry, by dynamic
 * programming over (pattern position, entry position). */
#include "match.h"

#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *p, *t;
  size_t pn, tn;
  signed char *memo;
  unsigned char *inside;
} matcher_t;

static int segment_ok(const matcher_t *m, size_t from, size_t to) {
  int holders = 0, letters = 0;
  size_t i;
  for (i = from; i < to; i++) {
    if (m->t[i] == PH_OPEN)
      holders++;
    else if (!m->inside[i] && isalpha((unsigned char)m->t[i]))
      letters++;
  }
  return holders <= 1 || letters == 0;
}

static int match_at(matcher_t *m, size_t pi, size_t ti) {
  signed char *memo = &m->memo[pi * (m->tn + 1) + ti];
  int r = 0;
  if (*memo >= 0)
    return *memo;
  if (pi == m->pn) {
    r = ti == m->tn;
  } else if (m->p[pi] == PH_OPEN) {
    size_t tj;
    for (tj = ti; tj <= m->tn && !r; tj++) {
      if (tj < m->tn && m->inside[tj] && m->t[tj] != PH_OPEN)
        continue; /* not inside a placeholder */
      if (segment_ok(m, ti, tj))
        r = match_at(m, pi + 1, tj);
    }
  } else {
    r = ti < m->tn && !m->inside[ti] && m->t[ti] == m->p[pi] &&
        match_at(m, pi + 1, ti + 1);
  }
  *memo = (signed char)r;
  return r;
}

int line_matches(const char *pattern, const char *entry) {
  matcher_t m;
  size_t i, start;
  int inside = 0, r = 0;

  m.p = pattern;
  m.pn = strlen(pattern);
  m.t = entry;
  m.tn = strlen(entry);
  m.memo = need(malloc((m.pn + 1) * (m.tn + 1)));
  m.inside = need(malloc(m.tn + 1));
  memset(m.memo, -1, (m.pn + 1) * (m.tn + 1));
  for (i = 0; i < m.tn; i++) {
    if (entry[i] == PH_OPEN)
      inside = 1;
    m.inside[i] = (unsigned char)inside;
    if (entry[i] == PH_CLOSE)
      inside = 0;
  }
  if (pattern[0] == ',') {
    for (start = 0; start < m.tn && !r; start++)
      r = !m.inside[start] && match_at(&m, 0, start);
  } else {
    r = match_at(&m, 0, 0);
  }
  free(m.memo);
  free(m.inside);
  return r;
}
