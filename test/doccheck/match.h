/* Matching a line the program prints with a line the man page quotes. */
#ifndef TCPECHO_TEST_DOCCHECK_MATCH_H
#define TCPECHO_TEST_DOCCHECK_MATCH_H

/* Whether pattern (a printed_t pattern) can print entry (man page text,
 * placeholders between PH_OPEN and PH_CLOSE). A literal never matches
 * inside a placeholder; a conversion matches any text holding at most one
 * placeholder, or several with only punctuation between them (HOST:PORT),
 * so "%llu rejected, %llu closed idle" cannot swallow "R rejected, D
 * dropped (...), I closed idle". A pattern that starts with ',' continues
 * a line an earlier call began (the JSON report): it may match the end of
 * an entry. */
int line_matches(const char *pattern, const char *entry);

#endif
