/* A C tokenizer for the docs test, enough to find calls and their
 * string literals. */
#ifndef TCPECHO_TEST_DOCCHECK_C_LEX_H
#define TCPECHO_TEST_DOCCHECK_C_LEX_H

#include <stddef.h>

typedef enum { TK_IDENT, TK_STRING, TK_PUNCT, TK_OTHER } tk_kind_t;

typedef struct {
  tk_kind_t kind;
  char *text; /* TK_STRING: the decoded literal */
  int line;
} tk_t;

typedef struct {
  tk_t *v;
  size_t n;
} tks_t;

/* Comments and preprocessor lines are dropped. */
tks_t lex(const char *source);

int is_punct(const tk_t *t, char c);
/* Index of the token that closes the bracket opened at i (t->n if none). */
size_t matching(const tks_t *t, size_t i);
/* The tokens [*from, *to) of argument k of the call whose '(' and ')' are
 * at open and close; 0 if it has no argument k. */
int call_arg(const tks_t *t, size_t open, size_t close, int k, size_t *from,
             size_t *to);
/* The identifier an argument is made of, or NULL if it is anything else. */
const char *arg_ident(const tks_t *t, size_t from, size_t to);
/* The string literals of an argument: adjacent ones joined, others (the
 * two sides of a ?:) apart, malloc'ed. Returns how many, at most max. */
int arg_literals(const tks_t *t, size_t from, size_t to, char **out, int max);

#endif
