#include "base/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser_s {
  const char *text;
  size_t len;
  size_t pos;
  char *err;
  size_t err_size;
  int failed;
} parser_t;

/* Records the first failure only, with its line and column. */
static void fail(parser_t *p, const char *fmt, ...) {
  size_t i, line = 1, column = 1;
  int n;
  va_list ap;

  if (p->failed)
    return;
  p->failed = 1;
  if (p->err_size == 0)
    return;
  for (i = 0; i < p->pos && i < p->len; i++) {
    if (p->text[i] == '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  n = snprintf(p->err, p->err_size,
               "line %lu, column %lu: ", (unsigned long)line,
               (unsigned long)column);
  if (n < 0 || (size_t)n >= p->err_size)
    return;
  va_start(ap, fmt);
  vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
  va_end(ap);
}

static int at_end(const parser_t *p) {
  return p->pos >= p->len;
}

static char peek(const parser_t *p) {
  return at_end(p) ? '\0' : p->text[p->pos];
}

static void skip_space(parser_t *p) {
  while (!at_end(p) && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                        p->text[p->pos] == '\n' || p->text[p->pos] == '\r'))
    p->pos++;
}

/* Consumes word (true, false, null) or fails. */
static int expect_word(parser_t *p, const char *word) {
  size_t n = strlen(word);
  if (p->len - p->pos < n || memcmp(p->text + p->pos, word, n) != 0) {
    fail(p, "unexpected text");
    return -1;
  }
  p->pos += n;
  return 0;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* The grammar first, then strtod over exactly the token: strtod alone
 * would take hex, "inf" or leading '+'. */
static int parse_number(parser_t *p, json_t *v) {
  size_t start = p->pos;
  int integer = 1;
  char buf[64];
  size_t n;

  if (peek(p) == '-') {
    p->pos++;
    integer = 0; /* not a uint64_t, though still a number */
  }
  if (peek(p) == '0') {
    p->pos++;
  } else if (is_digit(peek(p))) {
    while (is_digit(peek(p)))
      p->pos++;
  } else {
    fail(p, "expected a digit");
    return -1;
  }
  if (peek(p) == '.') {
    p->pos++;
    integer = 0;
    if (!is_digit(peek(p))) {
      fail(p, "expected a digit after '.'");
      return -1;
    }
    while (is_digit(peek(p)))
      p->pos++;
  }
  if (peek(p) == 'e' || peek(p) == 'E') {
    p->pos++;
    integer = 0;
    if (peek(p) == '+' || peek(p) == '-')
      p->pos++;
    if (!is_digit(peek(p))) {
      fail(p, "expected a digit in the exponent");
      return -1;
    }
    while (is_digit(peek(p)))
      p->pos++;
  }
  n = p->pos - start;
  if (n >= sizeof(buf)) {
    fail(p, "number too long");
    return -1;
  }
  memcpy(buf, p->text + start, n);
  buf[n] = '\0';
  v->type = JSON_NUMBER;
  v->number = strtod(buf, NULL);
  if (integer) {
    uint64_t u = 0;
    size_t i;
    v->exact = 1;
    for (i = 0; i < n; i++) {
      unsigned d = (unsigned)(buf[i] - '0');
      if (u > (UINT64_MAX - d) / 10) {
        v->exact = 0; /* too large to be exact */
        break;
      }
      u = u * 10 + d;
    }
    v->uint = v->exact ? u : 0;
  }
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* The four hex digits after "\u". */
static long read_hex4(parser_t *p) {
  long code = 0;
  int i;
  for (i = 0; i < 4; i++) {
    int h = at_end(p) ? -1 : hex_value(p->text[p->pos]);
    if (h < 0) {
      fail(p, "bad \\u escape");
      return -1;
    }
    code = code * 16 + h;
    p->pos++;
  }
  return code;
}

/* Code point code as UTF-8 at out (room for 4); returns its length. */
static size_t put_utf8(char *out, unsigned long code) {
  if (code < 0x80) {
    out[0] = (char)code;
    return 1;
  }
  if (code < 0x800) {
    out[0] = (char)(0xc0 | (code >> 6));
    out[1] = (char)(0x80 | (code & 0x3f));
    return 2;
  }
  if (code < 0x10000) {
    out[0] = (char)(0xe0 | (code >> 12));
    out[1] = (char)(0x80 | ((code >> 6) & 0x3f));
    out[2] = (char)(0x80 | (code & 0x3f));
    return 3;
  }
  out[0] = (char)(0xf0 | (code >> 18));
  out[1] = (char)(0x80 | ((code >> 12) & 0x3f));
  out[2] = (char)(0x80 | ((code >> 6) & 0x3f));
  out[3] = (char)(0x80 | (code & 0x3f));
  return 4;
}

/* One escape after the backslash, written to out; its length or -1. */
static long read_escape(parser_t *p, char *out) {
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *at;
  long code, low;
  char c = peek(p);

  if (at_end(p)) {
    fail(p, "unterminated string");
    return -1;
  }
  p->pos++;
  if (c != 'u') {
    at = c != '\0' ? strchr(from, c) : NULL;
    if (at == NULL) {
      fail(p, "bad escape");
      return -1;
    }
    out[0] = to[at - from];
    return 1;
  }
  code = read_hex4(p);
  if (code < 0)
    return -1;
  if (code >= 0xdc00 && code <= 0xdfff) {
    fail(p, "lone low surrogate");
    return -1;
  }
  if (code >= 0xd800 && code <= 0xdbff) {
    if (p->len - p->pos < 2 || p->text[p->pos] != '\\' ||
        p->text[p->pos + 1] != 'u') {
      fail(p, "lone high surrogate");
      return -1;
    }
    p->pos += 2;
    low = read_hex4(p);
    if (low < 0)
      return -1;
    if (low < 0xdc00 || low > 0xdfff) {
      fail(p, "bad surrogate pair");
      return -1;
    }
    code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
  }
  return (long)put_utf8(out, (unsigned long)code);
}

/* A string after its opening quote, into a new NUL-terminated copy: never
 * longer than its source, so the source's length bounds the copy. */
static char *parse_string(parser_t *p, size_t *out_len) {
  size_t start = p->pos, end = start, n = 0;
  char *s;

  while (end < p->len && p->text[end] != '"')
    end += p->text[end] == '\\' ? 2 : 1;
  s = malloc(end - start + 1);
  if (s == NULL) {
    fail(p, "out of memory");
    return NULL;
  }
  for (;;) {
    unsigned char c;
    if (at_end(p)) {
      fail(p, "unterminated string");
      break;
    }
    c = (unsigned char)p->text[p->pos++];
    if (c == '"') {
      s[n] = '\0';
      *out_len = n;
      return s;
    }
    if (c < 0x20) {
      fail(p, "control character in string");
      break;
    }
    if (c != '\\') {
      s[n++] = (char)c;
      continue;
    }
    {
      long w = read_escape(p, s + n);
      if (w < 0)
        break;
      n += (size_t)w;
    }
  }
  free(s);
  return NULL;
}

static json_t *parse_value(parser_t *p, int depth);

/* Elements of an array or members of an object, after its opening bracket;
 * close is ']' or '}'. */
static int parse_elements(parser_t *p, json_t *v, char close, int depth) {
  json_t **tail = &v->child;

  skip_space(p);
  if (peek(p) == close) {
    p->pos++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    size_t key_len;
    json_t *e;

    skip_space(p);
    if (close == '}') {
      if (peek(p) != '"') {
        fail(p, "expected a member name");
        return -1;
      }
      p->pos++;
      key = parse_string(p, &key_len);
      if (key == NULL)
        return -1;
      skip_space(p);
      if (peek(p) != ':') {
        free(key);
        fail(p, "expected ':'");
        return -1;
      }
      p->pos++;
    }
    e = parse_value(p, depth + 1);
    if (e == NULL) {
      free(key);
      return -1;
    }
    e->key = key;
    *tail = e;
    tail = &e->next;
    v->len++;
    skip_space(p);
    if (peek(p) == close) {
      p->pos++;
      return 0;
    }
    if (peek(p) != ',') {
      fail(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
      return -1;
    }
    p->pos++;
  }
}

static json_t *parse_value(parser_t *p, int depth) {
  json_t *v;
  int rc = 0;
  char c;

  if (depth > JSON_MAX_DEPTH) {
    fail(p, "nested deeper than %d", JSON_MAX_DEPTH);
    return NULL;
  }
  skip_space(p);
  if (at_end(p)) {
    fail(p, "unexpected end");
    return NULL;
  }
  v = calloc(1, sizeof(*v));
  if (v == NULL) {
    fail(p, "out of memory");
    return NULL;
  }
  c = p->text[p->pos];
  if (c == '{' || c == '[') {
    p->pos++;
    v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
    rc = parse_elements(p, v, c == '{' ? '}' : ']', depth);
  } else if (c == '"') {
    p->pos++;
    v->type = JSON_STRING;
    v->string = parse_string(p, &v->len);
    rc = v->string == NULL ? -1 : 0;
  } else if (c == '-' || is_digit(c)) {
    rc = parse_number(p, v);
  } else if (c == 't') {
    v->type = JSON_TRUE;
    rc = expect_word(p, "true");
  } else if (c == 'f') {
    v->type = JSON_FALSE;
    rc = expect_word(p, "false");
  } else if (c == 'n') {
    v->type = JSON_NULL;
    rc = expect_word(p, "null");
  } else {
    fail(p, "unexpected character");
    rc = -1;
  }
  if (rc != 0) {
    json_free(v);
    return NULL;
  }
  return v;
}

json_t *json_parse(const char *text, size_t len, char *err, size_t err_size) {
  parser_t p;
  json_t *v;

  memset(&p, 0, sizeof(p));
  p.text = text;
  p.len = len;
  p.err = err;
  p.err_size = err_size;
  if (err_size > 0)
    err[0] = '\0';
  v = parse_value(&p, 0);
  if (v == NULL)
    return NULL;
  skip_space(&p);
  if (!at_end(&p)) {
    fail(&p, "text after the value");
    json_free(v);
    return NULL;
  }
  return v;
}

void json_free(json_t *v) {
  while (v != NULL) {
    json_t *next = v->next;
    json_free(v->child);
    free(v->string);
    free(v->key);
    free(v);
    v = next;
  }
}

const json_t *json_get(const json_t *object, const char *key) {
  const json_t *e, *found = NULL;
  if (object == NULL || object->type != JSON_OBJECT)
    return NULL;
  for (e = object->child; e != NULL; e = e->next)
    if (strcmp(e->key, key) == 0)
      found = e;
  return found;
}

int json_uint(const json_t *v, uint64_t *out) {
  if (v == NULL || v->type != JSON_NUMBER || !v->exact)
    return 0;
  *out = v->uint;
  return 1;
}
