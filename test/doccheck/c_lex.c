/* A C tokenizer, enough for the docs test to find what src/ prints:
 * comments and preprocessor lines dropped, string literals decoded. */
#include "c_lex.h"

#include "text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void add_tk(tks_t *t, tk_kind_t kind, const char *s, size_t len,
                   int line) {
  t->v = need(realloc(t->v, (t->n + 1) * sizeof(*t->v)));
  t->v[t->n].kind = kind;
  t->v[t->n].text = need(malloc(len + 1));
  memcpy(t->v[t->n].text, s, len);
  t->v[t->n].text[len] = '\0';
  t->v[t->n++].line = line;
}

/* C tokens, enough for this: comments and preprocessor lines dropped,
 * string literals decoded. */
tks_t lex(const char *s) {
  tks_t t = {NULL, 0};
  int line = 1, line_start = 1;

  while (*s != '\0') {
    if (*s == '\n') {
      line++;
      line_start = 1;
      s++;
    } else if (*s == ' ' || *s == '\t' || *s == '\f' || *s == '\v') {
      s++;
    } else if (line_start && *s == '#') {
      while (*s != '\0' && *s != '\n') {
        if (*s == '\\' && s[1] == '\n') {
          line++;
          s++;
        }
        s++;
      }
    } else if (s[0] == '/' && s[1] == '/') {
      while (*s != '\0' && *s != '\n')
        s++;
    } else if (s[0] == '/' && s[1] == '*') {
      for (s += 2; *s != '\0' && !(s[0] == '*' && s[1] == '/'); s++)
        line += *s == '\n';
      s += *s ? 2 : 0;
    } else if (isalpha((unsigned char)*s) || *s == '_') {
      const char *b = s;
      while (isalnum((unsigned char)*s) || *s == '_')
        s++;
      add_tk(&t, TK_IDENT, b, (size_t)(s - b), line);
      line_start = 0;
    } else if (isdigit((unsigned char)*s)) {
      const char *b = s;
      while (isalnum((unsigned char)*s) || *s == '_' || *s == '.')
        s++;
      add_tk(&t, TK_OTHER, b, (size_t)(s - b), line);
      line_start = 0;
    } else if (*s == '"') {
      buf_t b = {0};
      for (s++; *s != '\0' && *s != '"'; s++) {
        char c = *s;
        if (c == '\\') {
          s++;
          switch (*s) {
          case 'n':
            c = '\n';
            break;
          case 'r':
            c = '\r';
            break;
          case 't':
            c = '\t';
            break;
          case '0':
            c = '\0';
            break;
          case 'x': {
            unsigned v = 0;
            while (isxdigit((unsigned char)s[1])) {
              s++;
              v = v * 16 +
                  (unsigned)(isdigit((unsigned char)*s)
                                 ? *s - '0'
                                 : tolower((unsigned char)*s) - 'a' + 10);
            }
            c = (char)v;
            break;
          }
          default:
            c = *s;
            break;
          }
        }
        buf_addc(&b, c);
      }
      s += *s ? 1 : 0;
      add_tk(&t, TK_STRING, b.s ? b.s : "", b.len, line);
      free(b.s);
      line_start = 0;
    } else if (*s == '\'') {
      const char *b = s;
      for (s++; *s != '\0' && *s != '\''; s++)
        s += *s == '\\';
      s += *s ? 1 : 0;
      add_tk(&t, TK_OTHER, b, (size_t)(s - b), line);
      line_start = 0;
    } else {
      add_tk(&t, TK_PUNCT, s, 1, line);
      s++;
      line_start = 0;
    }
  }
  return t;
}

int is_punct(const tk_t *t, char c) {
  return t->kind == TK_PUNCT && t->text[0] == c;
}

/* Index of the token that closes the bracket opened at i. */
size_t matching(const tks_t *t, size_t i) {
  int depth = 0;
  for (; i < t->n; i++) {
    if (t->v[i].kind != TK_PUNCT)
      continue;
    if (strchr("([{", t->v[i].text[0]))
      depth++;
    else if (strchr(")]}", t->v[i].text[0]) && --depth == 0)
      return i;
  }
  return t->n;
}

/* The range of argument k of a call: [*from, *to). */
int call_arg(const tks_t *t, size_t open, size_t close, int k, size_t *from,
             size_t *to) {
  int depth = 0, arg = 0;
  size_t i;
  *from = open + 1;
  for (i = open + 1; i < close; i++) {
    const tk_t *x = &t->v[i];
    if (x->kind == TK_PUNCT && strchr("([{", x->text[0]))
      depth++;
    else if (x->kind == TK_PUNCT && strchr(")]}", x->text[0]))
      depth--;
    else if (depth == 0 && is_punct(x, ',')) {
      if (arg == k) {
        *to = i;
        return 1;
      }
      arg++;
      *from = i + 1;
    }
  }
  *to = close;
  return arg == k && *from < close;
}

/* Whether an argument is exactly one identifier, and which. */
const char *arg_ident(const tks_t *t, size_t from, size_t to) {
  return to == from + 1 && t->v[from].kind == TK_IDENT ? t->v[from].text : NULL;
}

/* The string literals of an argument: adjacent ones joined, others (the
 * two sides of a ?:) apart. Returns how many, at most max. */
int arg_literals(const tks_t *t, size_t from, size_t to, char **out, int max) {
  int n = 0;
  size_t i;
  buf_t b = {0};
  for (i = from; i <= to; i++) {
    if (i < to && t->v[i].kind == TK_STRING) {
      buf_add(&b, t->v[i].text);
      if (b.s == NULL)
        buf_add(&b, "");
      continue;
    }
    if (b.s != NULL && n < max)
      out[n++] = b.s;
    else
      free(b.s);
    memset(&b, 0, sizeof(b));
  }
  return n;
}
