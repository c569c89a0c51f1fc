/* The load generator's pure plans: the open loop's schedule in exact
 * nanoseconds, the churn session's messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bench/schedule.h"

#include <stdint.h>

/* n steps of s from where it is: where the n-th message after it is due. */
static uint64_t after(schedule_t *s, uint64_t n) {
  uint64_t i;
  for (i = 0; i < n; i++)
    schedule_next(s);
  return s->next_due;
}

/* Rates that do not divide a second: the remainder is carried, so a second
 * of messages ends exactly a second later, however many there are. */
static void test_schedule_does_not_drift(void **state) {
  schedule_t s;
  (void)state;

  schedule_init(&s, 1000, 1, 3, 0, 1); /* 333,333,333.3 ns apart */
  assert_int_equal(s.next_due, 1000);
  assert_int_equal(after(&s, 1), 1000 + 333333333);
  assert_int_equal(after(&s, 2), 1000 + 1000000000);
  assert_int_equal(after(&s, 3000), 1000 + 1001000000000ULL);

  schedule_init(&s, 0, 1, 700000000, 0, 1); /* 1.43 ns apart */
  assert_int_equal(after(&s, 700000000), 1000000000);

  /* 7 connections sharing 3 messages/s: each sends one every 7/3 s. */
  schedule_init(&s, 0, 7, 3, 0, 1);
  assert_int_equal(after(&s, 3), 7000000000ULL);

  /* A million connections at one message per second in all. */
  schedule_init(&s, 5, 1000000, 1, 0, 1);
  assert_int_equal(after(&s, 2), 5 + 2000000000000000ULL);
}

/* The connections of a loop start spread over one interval. */
static void test_schedule_spreads_connections(void **state) {
  schedule_t s;
  (void)state;

  /* 4 connections at 400/s in all: each every 10 ms, starting 2.5 ms
   * apart. */
  schedule_init(&s, 100, 4, 400, 0, 4);
  assert_int_equal(s.next_due, 100);
  schedule_init(&s, 100, 4, 400, 1, 4);
  assert_int_equal(s.next_due, 100 + 2500000);
  schedule_init(&s, 100, 4, 400, 3, 4);
  assert_int_equal(s.next_due, 100 + 7500000);
  assert_int_equal(after(&s, 1), 100 + 17500000);
  /* The largest interval (one message/s over a million connections): the
   * offset does not overflow. */
  schedule_init(&s, 0, 1000000, 1, 999999, 1000000);
  assert_true(s.next_due > 999990000000000ULL &&
              s.next_due < 1000000000000000ULL);
}

/* A churn session sends its messages, no more, as room allows; it is over
 * when every byte of them is back, not before. */
static void test_churn_session(void **state) {
  (void)state;
  assert_int_equal(churn_more(1, 0, 1), 1);
  assert_int_equal(churn_more(1, 1, 1), 0);
  assert_int_equal(churn_more(10, 0, 4), 4); /* -P 4: four at first */
  assert_int_equal(churn_more(10, 4, 2), 2); /* two echoed: two more */
  assert_int_equal(churn_more(10, 9, 3), 1); /* the last one only */
  assert_int_equal(churn_more(10, 10, 3), 0);
  assert_int_equal(churn_more(10, 12, 3), 0); /* never wraps */
  assert_false(churn_session_echoed(3, 100, 0));
  assert_false(churn_session_echoed(3, 100, 299));
  assert_true(churn_session_echoed(3, 100, 300));
  assert_false(churn_session_echoed(3, 100, 301));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule_does_not_drift),
      cmocka_unit_test(test_schedule_spreads_connections),
      cmocka_unit_test(test_churn_session),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
