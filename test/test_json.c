/* The JSON reader --bench-merge reads reports with: what it accepts, what
 * it refuses (each with a reason and place), and its bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text) {
  char err[128];
  json_t *v = json_parse(text, strlen(text), err, sizeof(err));
  if (v == NULL)
    fail_msg("'%s' refused: %s", text, err);
  return v;
}

/* text is refused with an error that contains want. */
static void refused(const char *text, const char *want) {
  char err[128];
  json_t *v = json_parse(text, strlen(text), err, sizeof(err));
  if (v != NULL) {
    json_free(v);
    fail_msg("'%s' accepted", text);
  }
  if (strstr(err, want) == NULL)
    fail_msg("'%s': error '%s' does not say '%s'", text, err, want);
}

static void test_objects_arrays_and_scalars(void **state) {
  json_t *v = parse(" {\"a\": [1, 2.5, -3e2, true, false, null, \"x\"],"
                    " \"b\": {}, \"c\": [], \"a2\": 0}\n");
  const json_t *a = json_get(v, "a"), *e;
  uint64_t u;
  (void)state;

  assert_int_equal(v->type, JSON_OBJECT);
  assert_int_equal(v->len, 4);
  assert_non_null(a);
  assert_int_equal(a->type, JSON_ARRAY);
  assert_int_equal(a->len, 7);
  e = a->child;
  assert_true(json_uint(e, &u) && u == 1);
  e = e->next;
  assert_true(e->type == JSON_NUMBER && e->number == 2.5 && !e->exact);
  e = e->next;
  assert_true(e->number == -300 && !json_uint(e, &u));
  assert_int_equal(e->next->type, JSON_TRUE);
  assert_int_equal(e->next->next->type, JSON_FALSE);
  assert_int_equal(e->next->next->next->type, JSON_NULL);
  assert_string_equal(e->next->next->next->next->string, "x");
  assert_int_equal(json_get(v, "b")->type, JSON_OBJECT);
  assert_int_equal(json_get(v, "b")->len, 0);
  assert_int_equal(json_get(v, "c")->len, 0);
  assert_true(json_uint(json_get(v, "a2"), &u) && u == 0);
  assert_null(json_get(v, "nope"));
  assert_null(json_get(a, "a")); /* not an object */
  json_free(v);
}

/* Counts are uint64_t: exact up to 2^64 - 1, never rounded through a
 * double; one more is a number but not a whole one that fits. */
static void test_whole_numbers_are_exact(void **state) {
  json_t *v = parse("[18446744073709551615, 18446744073709551616, "
                    "9007199254740993, 1.0, -0]");
  const json_t *e = v->child;
  uint64_t u;
  (void)state;

  assert_true(json_uint(e, &u) && u == UINT64_MAX);
  assert_false(json_uint(e->next, &u));
  assert_true(json_uint(e->next->next, &u) && u == 9007199254740993ULL);
  assert_false(json_uint(e->next->next->next, &u)); /* written as a fraction */
  assert_false(json_uint(e->next->next->next->next, &u));
  json_free(v);
}

static void test_strings_and_escapes(void **state) {
  json_t *v = parse("[\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\", \"\\u00e9\\u20ac\","
                    " \"\\ud83d\\ude00\", \"\\u0000x\"]");
  const json_t *e = v->child;
  (void)state;

  assert_string_equal(e->string, "a\"b\\c/d\b\f\n\r\t");
  assert_string_equal(e->next->string, "\xc3\xa9\xe2\x82\xac");
  assert_string_equal(e->next->next->string, "\xf0\x9f\x98\x80");
  assert_int_equal(e->next->next->next->len, 2);
  assert_memory_equal(e->next->next->next->string, "\0x", 2);
  json_free(v);
}

static void test_duplicate_keys_take_the_last(void **state) {
  json_t *v = parse("{\"k\":1,\"k\":2}");
  uint64_t u;
  (void)state;
  assert_true(json_uint(json_get(v, "k"), &u) && u == 2);
  json_free(v);
}

static void test_refusals_say_what_and_where(void **state) {
  (void)state;
  refused("", "line 1, column 1: unexpected end");
  refused("{\"a\":1,}", "expected a member name");
  refused("[1,]", "unexpected character");
  refused("[1 2]", "expected ',' or ']'");
  refused("{\"a\" 1}", "expected ':'");
  refused("{\"a\":1\n\"b\":2}", "line 2, column 1: expected ',' or '}'");
  refused("01", "text after the value");
  refused("1.", "expected a digit after '.'");
  refused("1e", "expected a digit in the exponent");
  refused("-", "expected a digit");
  refused("+1", "unexpected character");
  refused(".5", "unexpected character");
  refused("0x10", "text after the value");
  refused("nul", "unexpected text");
  refused("truex", "text after the value");
  refused("\"abc", "unterminated string");
  refused("\"a\tb\"", "control character in string");
  refused("\"\\x\"", "bad escape");
  refused("\"\\u12G4\"", "bad \\u escape");
  refused("\"\\udc00\"", "lone low surrogate");
  refused("\"\\ud800\"", "lone high surrogate");
  refused("\"\\ud800\\u0041\"", "bad surrogate pair");
  refused("{} {}", "text after the value");
  refused("123456789012345678901234567890123456789012345678901234567890123456",
          "number too long");
}

static void test_nesting_is_bounded(void **state) {
  char deep[2 * (JSON_MAX_DEPTH + 2) + 1];
  json_t *v;
  int i;
  (void)state;

  /* JSON_MAX_DEPTH arrays inside the outermost are fine, one more is not. */
  for (i = 0; i <= JSON_MAX_DEPTH; i++) {
    deep[i] = '[';
    deep[2 * (JSON_MAX_DEPTH + 1) - 1 - i] = ']';
  }
  deep[2 * (JSON_MAX_DEPTH + 1)] = '\0';
  v = parse(deep);
  json_free(v);
  memmove(deep + 1, deep, strlen(deep) + 1);
  deep[0] = '[';
  strcat(deep, "]");
  refused(deep, "nested deeper than");
}

/* The text is taken by length: no terminating NUL is needed or read. */
static void test_reads_only_len_bytes(void **state) {
  char err[64];
  json_t *v = json_parse("[1]garbage", 3, err, sizeof(err));
  (void)state;
  assert_non_null(v);
  assert_int_equal(v->len, 1);
  json_free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_objects_arrays_and_scalars),
      cmocka_unit_test(test_whole_numbers_are_exact),
      cmocka_unit_test(test_strings_and_escapes),
      cmocka_unit_test(test_duplicate_keys_take_the_last),
      cmocka_unit_test(test_refusals_say_what_and_where),
      cmocka_unit_test(test_nesting_is_bounded),
      cmocka_unit_test(test_reads_only_len_bytes),
  };
  return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
