/* Text helpers for the docs test: a growing buffer, files, splitting. */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *need(void *p) {
  if (p == NULL) {
    fprintf(stderr, "test_docs: out of memory\n");
    abort();
  }
  return p;
}

void buf_addn(buf_t *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->s = need(realloc(b->s, b->cap));
  }
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void buf_add(buf_t *b, const char *s) {
  buf_addn(b, s, strlen(s));
}

void buf_addc(buf_t *b, char c) {
  buf_addn(b, &c, 1);
}

/* The whole file, without carriage returns; NULL if it cannot be read. */
char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  buf_t b = {0};
  char chunk[4096];
  size_t n, i;

  if (f == NULL)
    return NULL;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
    for (i = 0; i < n; i++) {
      if (chunk[i] != '\r')
        buf_addc(&b, chunk[i]);
    }
  }
  fclose(f);
  if (b.s == NULL)
    buf_add(&b, "");
  return b.s;
}

char *copy_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = need(malloc(n));
  return memcpy(d, s, n);
}

/* Splits s in place at any of seps; returns the next piece or NULL. */
char *next_piece(char **s, const char *seps) {
  char *start = *s, *end;
  start += strspn(start, seps);
  if (*start == '\0')
    return NULL;
  end = start + strcspn(start, seps);
  *s = *end ? end + 1 : end;
  *end = '\0';
  return start;
}

/* Whitespace runs become one space; no space at either end. */
char *squeeze(char *s) {
  char *w = s, *r = s;
  int space = 1;
  for (; *r != '\0'; r++) {
    if (*r == ' ' || *r == '\t' || *r == '\n') {
      if (!space)
        *w++ = ' ';
      space = 1;
    } else {
      *w++ = *r;
      space = 0;
    }
  }
  while (w > s && w[-1] == ' ')
    w--;
  *w = '\0';
  return s;
}

/* The text with placeholders shown as their names, for messages. */
char *plain(const char *s) {
  buf_t b = {0};
  for (; *s != '\0'; s++) {
    if (*s != PH_OPEN && *s != PH_CLOSE)
      buf_addc(&b, *s);
  }
  if (b.s == NULL)
    buf_add(&b, "");
  return b.s;
}
