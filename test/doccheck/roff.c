/* Just enough troff for the docs test: the text of man page lines, with
 * italics (the variable parts of a quoted line) kept apart. */
#include "roff.h"

#include <stdlib.h>
#include <string.h>

static void roff_font(roff_t *r, char font) {
  int italic = font == 'I';
  if (italic && !r->italic)
    buf_addc(&r->out, PH_OPEN);
  else if (!italic && r->italic)
    buf_addc(&r->out, PH_CLOSE);
  r->italic = italic;
}

static const char *named_char(const char *name) {
  static const char *const table[][2] = {
      {"dq", "\""}, {"aq", "'"},  {"rs", "\\"}, {"ha", "^"}, {"ti", "~"},
      {"lq", "\""}, {"rq", "\""}, {"oq", "'"},  {"cq", "'"}, {"em", "--"},
      {"en", "-"},  {"mi", "-"},  {"hy", "-"},  {"bu", "*"}, {"mu", "x"}};
  size_t i;
  for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (strcmp(table[i][0], name) == 0)
      return table[i][1];
  }
  return "?";
}

/* Appends one line of troff text (no request), escapes resolved. */
void roff_text(roff_t *r, const char *s, size_t len) {
  const char *end = s + len;
  char name[16];

  while (s < end) {
    if (*s != '\\' || s + 1 >= end) {
      buf_addc(&r->out, *s++);
      continue;
    }
    s++;
    switch (*s) {
    case 'f':
      if (s + 1 < end && s[1] == '(' && s + 3 < end) {
        roff_font(r, s[2]);
        s += 4;
      } else if (s + 1 < end && s[1] == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        roff_font(r, close && close > s + 2 ? s[2] : 'R');
        s = close ? close + 1 : end;
      } else {
        roff_font(r, s + 1 < end ? s[1] : 'R');
        s += 2;
      }
      break;
    case '(':
      if (s + 2 < end) {
        memcpy(name, s + 1, 2);
        name[2] = '\0';
        buf_add(&r->out, named_char(name));
      }
      s += 3;
      break;
    case '[': {
      const char *close = memchr(s, ']', (size_t)(end - s));
      size_t n = close ? (size_t)(close - s - 1) : 0;
      if (n < sizeof(name)) {
        memcpy(name, s + 1, n);
        name[n] = '\0';
        buf_add(&r->out, named_char(name));
      }
      s = close ? close + 1 : end;
      break;
    }
    case '-':
      buf_addc(&r->out, '-');
      s++;
      break;
    case 'e':
    case '\\':
      buf_addc(&r->out, '\\');
      s++;
      break;
    case ' ':
    case '~':
      buf_addc(&r->out, ' ');
      s++;
      break;
    case 'w': /* a width: no text */
      if (s + 1 < end) {
        const char *close = memchr(s + 2, s[1], (size_t)(end - s - 2));
        s = close ? close + 1 : end;
      }
      break;
    default: /* \& \: \% \c \/ \, \| \^ and the like: no text */
      s++;
      break;
    }
  }
}

/* One input line: a text line, or a font macro (.B, .BR, ...) turned
 * into its text; other requests give nothing. */
void roff_line(roff_t *r, const char *line, size_t len) {
  static const char *const fonts[] = {"B",  "I",  "R",  "BR", "RB", "BI",
                                      "IB", "IR", "RI", "SB", "SM"};
  char macro[8];
  size_t m = 0, i, arg = 0;
  const char *p = line + 1, *end = line + len;
  const char *font = NULL;

  if (len == 0 || (line[0] != '.' && line[0] != '\'')) {
    roff_font(r, 'R');
    roff_text(r, line, len);
    roff_font(r, 'R');
    buf_addc(&r->out, ' ');
    return;
  }
  while (p < end && *p != ' ' && m < sizeof(macro) - 1)
    macro[m++] = *p++;
  macro[m] = '\0';
  for (i = 0; i < sizeof(fonts) / sizeof(fonts[0]); i++) {
    if (strcmp(macro, fonts[i]) == 0)
      font = fonts[i];
  }
  if (font == NULL)
    return;
  while (p < end) {
    const char *start;
    char f;
    while (p < end && *p == ' ')
      p++;
    if (p >= end)
      break;
    if (*p == '"') {
      start = ++p;
      while (p < end && *p != '"')
        p++;
    } else {
      start = p;
      while (p < end && *p != ' ')
        p++;
    }
    f = font[strlen(font) == 1 ? 0 : arg % 2];
    roff_font(r, f == 'S' ? 'R' : f);
    roff_text(r, start, (size_t)(p - start));
    if (strlen(font) == 1 && p < end)
      buf_addc(&r->out, ' ');
    if (p < end && *p == '"')
      p++;
    arg++;
  }
  roff_font(r, 'R');
  buf_addc(&r->out, ' ');
}

char *roff_finish(roff_t *r) {
  roff_font(r, 'R');
  if (r->out.s == NULL)
    buf_add(&r->out, "");
  return squeeze(r->out.s);
}

/* The lines of section `name` (a .SH), as pointers into a copy. */
static const char *section_start(const char *text, const char *name,
                                 int *line_no) {
  const char *p = text;
  int line = 1;
  size_t n = strlen(name);
  while (*p != '\0') {
    if (strncmp(p, ".SH ", 4) == 0) {
      const char *q = p + 4;
      int quoted = *q == '"';
      q += quoted;
      if (strncmp(q, name, n) == 0 &&
          (quoted ? q[n] == '"' : (q[n] == '\n' || q[n] == '\0'))) {
        *line_no = line;
        return strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
      }
    }
    p = strchr(p, '\n');
    if (p == NULL)
      break;
    p++;
    line++;
  }
  return NULL;
}

static int is_request(const char *line, const char *req) {
  size_t n = strlen(req);
  return strncmp(line, req, n) == 0 &&
         (line[n] == ' ' || line[n] == '\n' || line[n] == '\0');
}

/* Every .TP entry of a section: its tag line (after layout requests such
 * as .PD, .ad and comments) and its paragraph. */
man_entries_t man_entries(const char *man_text, const char *section_name) {
  man_entries_t e = {NULL, 0};
  int line;
  const char *p = section_start(man_text, section_name, &line);
  roff_t tag, body;
  int in_entry = 0, want_tag = 0;

  memset(&tag, 0, sizeof(tag));
  memset(&body, 0, sizeof(body));
  if (p == NULL)
    return e;
  for (; *p != '\0' && !is_request(p, ".SH"); line++) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    int ends = is_request(p, ".TP") || is_request(p, ".SS") ||
               is_request(p, ".PP") || is_request(p, ".SH");

    if (ends && in_entry && !want_tag) {
      e.v[e.n - 1].body = roff_finish_plain(&body);
      memset(&body, 0, sizeof(body));
      in_entry = 0;
    }
    if (is_request(p, ".TP")) {
      e.v = need(realloc(e.v, (e.n + 1) * sizeof(*e.v)));
      memset(&e.v[e.n], 0, sizeof(e.v[e.n]));
      e.v[e.n++].line = line + 1;
      in_entry = want_tag = 1;
    } else if (want_tag && !(is_request(p, ".PD") || is_request(p, ".ad") ||
                             is_request(p, ".nh") || is_request(p, ".hy") ||
                             strncmp(p, ".\\\"", 3) == 0)) {
      memset(&tag, 0, sizeof(tag));
      roff_line(&tag, p, len);
      e.v[e.n - 1].tag = roff_finish(&tag);
      roff_line(&body, p, len);
      want_tag = 0;
    } else if (in_entry && !want_tag) {
      roff_line(&body, p, len);
    }
    p = eol ? eol + 1 : p + len;
  }
  if (in_entry && !want_tag)
    e.v[e.n - 1].body = roff_finish_plain(&body);
  return e;
}

/* The whole text of a section as plain text. */
char *man_section_text(const char *man_text, const char *name) {
  int line;
  const char *p = section_start(man_text, name, &line);
  roff_t r;
  memset(&r, 0, sizeof(r));
  while (p != NULL && *p != '\0' && !is_request(p, ".SH")) {
    const char *eol = strchr(p, '\n');
    size_t len = eol ? (size_t)(eol - p) : strlen(p);
    if (is_request(p, ".br"))
      buf_addc(&r.out, FORM_BREAK);
    else
      roff_line(&r, p, len);
    p = eol ? eol + 1 : p + len;
  }
  return roff_finish_plain(&r);
}

char *roff_finish_plain(roff_t *r) {
  char *text = roff_finish(r);
  char *shown = plain(text);
  free(text);
  return shown;
}

void man_entries_free(man_entries_t *e) {
  size_t i;
  for (i = 0; i < e->n; i++) {
    free(e->v[i].tag);
    free(e->v[i].body);
  }
  free(e->v);
  e->v = NULL;
  e->n = 0;
}
