/* A strict JSON reader (RFC 8259) for the files tcpecho reads back: its
 * own reports, to merge them. Parses a whole text into a tree; every
 * failure names what and where. Bounded: nesting at most JSON_MAX_DEPTH. */
#ifndef TCPECHO_JSON_H
#define TCPECHO_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 64

typedef enum {
  JSON_NULL,
  JSON_FALSE,
  JSON_TRUE,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_type_t;

typedef struct json_s json_t;
struct json_s {
  json_type_t type;
  double number; /* JSON_NUMBER */
  int exact;     /* JSON_NUMBER written as an integer in 0..2^64-1 */
  uint64_t uint; /* then, its exact value */
  char *string;  /* JSON_STRING: NUL-terminated (may hold NULs: len) */
  size_t len;    /* its length; JSON_ARRAY, JSON_OBJECT: the count */
  char *key;     /* a member of an object: its name */
  json_t *child; /* JSON_ARRAY, JSON_OBJECT: the first element */
  json_t *next;  /* the next element of the same array or object */
};

/* Parses text[0..len) (one value, white space around it allowed). Returns
 * the tree (free it with json_free) or NULL with err holding one line such
 * as "line 3, column 7: expected ':'". */
json_t *json_parse(const char *text, size_t len, char *err, size_t err_size);

void json_free(json_t *value);

/* The member key of an object (the last if repeated), or NULL. */
const json_t *json_get(const json_t *object, const char *key);

/* 1 and *out if v is a number written as an integer that fits uint64_t. */
int json_uint(const json_t *v, uint64_t *out);

#endif
