/* Text helpers for the docs test. */
#ifndef TCPECHO_TEST_DOCCHECK_TEXT_H
#define TCPECHO_TEST_DOCCHECK_TEXT_H

#include <stddef.h>

/* Placeholders (the italic parts of a man page line, the conversions of
 * a printf format) start with PH_OPEN; in man page text they end with
 * PH_CLOSE, so that a matcher can tell a variable part from the text
 * around it. */
#define PH_OPEN '\001'
#define PH_CLOSE '\002'

typedef struct {
  char *s; /* NUL-terminated once anything was added */
  size_t len, cap;
} buf_t;

void buf_addn(buf_t *b, const char *s, size_t n);
void buf_add(buf_t *b, const char *s);
void buf_addc(buf_t *b, char c);

/* p, or abort with a message if it is NULL (out of memory). */
void *need(void *p);
char *copy_str(const char *s);

/* The whole file, without carriage returns; NULL if it cannot be read. */
char *read_file(const char *path);

/* Splits *s in place at any of seps; the next piece, or NULL at the end. */
char *next_piece(char **s, const char *seps);

/* In place: runs of whitespace become one space, none at either end. */
char *squeeze(char *s);

/* A copy without the placeholder marks, for messages. */
char *plain(const char *s);

#endif
