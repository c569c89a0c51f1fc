/* Just enough troff (man macros) for the docs test. */
#ifndef TCPECHO_TEST_DOCCHECK_ROFF_H
#define TCPECHO_TEST_DOCCHECK_ROFF_H

#include "text.h"

#include <stddef.h>

typedef struct {
  buf_t out;
  int italic;
} roff_t;

/* Appends the text of one input line: a text line, or a font macro (.B,
 * .BR, ...); other requests and comments give nothing. Italics go
 * between PH_OPEN and PH_CLOSE. */
void roff_line(roff_t *r, const char *line, size_t len);
/* Appends text with escapes (\fB, \-, \(dq, ...) resolved. */
void roff_text(roff_t *r, const char *s, size_t len);
/* The text so far, squeezed; r's buffer, not to be used again. */
char *roff_finish(roff_t *r);
/* The same without placeholder marks (r's buffer freed). */
char *roff_finish_plain(roff_t *r);

typedef struct {
  char *tag;  /* the .TP tag, as text with placeholders */
  char *body; /* tag and paragraph, as plain text */
  int line;   /* of the tag in the page */
} man_entry_t;

typedef struct {
  man_entry_t *v;
  size_t n;
} man_entries_t;

/* Every .TP entry of section name (a .SH) of a man page. */
man_entries_t man_entries(const char *man_text, const char *name);
void man_entries_free(man_entries_t *e);

/* Where a section's text breaks a line (.br), in man_section_text. */
#define FORM_BREAK '\003'
/* The whole text of a section, plain. */
char *man_section_text(const char *man_text, const char *name);

#endif
