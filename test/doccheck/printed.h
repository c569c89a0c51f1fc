/* What the program prints, found in its source: every format given to
 * log_line, printf, fprintf and fputs, and to the functions of src/ that
 * pass one of their string parameters on to them (log_error(what, err)
 * prints "what: %s (%s)"). */
#ifndef TCPECHO_TEST_DOCCHECK_PRINTED_H
#define TCPECHO_TEST_DOCCHECK_PRINTED_H

typedef struct {
  char *fmt;     /* the line as a printf format */
  char *pattern; /* squeezed; each conversion a PH_OPEN, the rest literal */
  char file[64]; /* where it is printed, relative to src/ */
  int line;
  int used; /* for the caller */
} printed_t;

/* The lines printed by the .c files under src_dir (pieces of lines, such
 * as "\n" or a JSON escape, and formats that are nothing but conversions
 * left out). Returns how many, or -1 if a file cannot be read. */
int printed_lines(const char *src_dir, printed_t **lines);

#endif
