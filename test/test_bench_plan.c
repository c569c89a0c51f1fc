/* The load generator's pure plans: the open loop's schedule in exact
 * nanoseconds, the churn session's messages, --json-stream's per-second
 * accounting, --source-ip's turns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "bench/interval.h"
#include "bench/schedule.h"

#include <stdint.h>
#include <stdlib.h>

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

  /* 142.857 ns apart: whole ns would make it 7,042,253/s, 0.6 % fast. */
  schedule_init(&s, 0, 1, 7000000, 0, 1);
  assert_int_equal(after(&s, 7000000), 1000000000);

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

/* Seconds of the measured time, from its start. */
static void test_interval_of(void **state) {
  (void)state;
  assert_int_equal(interval_of(5000000000ULL, 0), 0); /* before: the first */
  assert_int_equal(interval_of(5000000000ULL, 5000000000ULL), 0);
  assert_int_equal(interval_of(5000000000ULL, 5999999999ULL), 0);
  assert_int_equal(interval_of(5000000000ULL, 6000000000ULL), 1);
  assert_int_equal(interval_of(5000000000ULL, 65000000001ULL), 60);
}

/* Two loops count at their own pace and hand their counts over at
 * different times, some seconds twice: what the printing side adds up
 * equals the loops' final counters, each second's latencies kept apart. */
static void test_intervals_add_up(void **state) {
  interval_t *cur[2], *pub[2], *printed;
  interval_totals_t counters[2] = {{0, 0, 0}, {0, 0, 0}};
  interval_totals_t last[2] = {{0, 0, 0}, {0, 0, 0}};
  interval_totals_t sum = {0, 0, 0};
  int second, loop, handovers;
  (void)state;

  printed = malloc(sizeof(*printed));
  assert_non_null(printed);
  for (loop = 0; loop < 2; loop++) {
    cur[loop] = malloc(sizeof(*cur[loop]));
    pub[loop] = malloc(sizeof(*pub[loop]));
    assert_non_null(cur[loop]);
    assert_non_null(pub[loop]);
    interval_init(cur[loop]);
    interval_init(pub[loop]);
  }
  for (second = 0; second < 5; second++) {
    interval_init(printed);
    for (loop = 0; loop < 2; loop++) {
      /* Each hand-over brings 100 + second messages of 64 bytes, at
       * (second + 1) ms each; loop 1 hands its second over in two goes,
       * one error in each. */
      uint64_t n = (uint64_t)(100 + second);
      for (handovers = 0; handovers < loop + 1; handovers++) {
        counters[loop].messages += n;
        counters[loop].bytes += 64 * n;
        counters[loop].errors += (uint64_t)loop;
        histogram_record_n(&cur[loop]->latency,
                           (uint64_t)(second + 1) * 1000000ULL, n);
        interval_count(cur[loop], &counters[loop], &last[loop]);
        interval_add(pub[loop], cur[loop]);
        interval_init(cur[loop]);
      }
      interval_add(printed, pub[loop]);
      interval_init(pub[loop]);
    }
    /* This second alone: three hand-overs, two errors. */
    assert_int_equal(printed->counts.messages, 3 * (100 + second));
    assert_int_equal(printed->counts.bytes, 192 * (100 + second));
    assert_int_equal(printed->counts.errors, 2);
    assert_int_equal(printed->latency.total, 3 * (100 + second));
    assert_int_equal(printed->latency.min, (second + 1) * 1000000ULL);
    assert_int_equal(printed->latency.max, (second + 1) * 1000000ULL);
    sum.messages += printed->counts.messages;
    sum.bytes += printed->counts.bytes;
    sum.errors += printed->counts.errors;
  }
  assert_int_equal(sum.messages, counters[0].messages + counters[1].messages);
  assert_int_equal(sum.bytes, counters[0].bytes + counters[1].bytes);
  assert_int_equal(sum.errors, counters[0].errors + counters[1].errors);
  /* Handing over again with nothing new adds nothing. */
  interval_count(cur[1], &counters[1], &last[1]);
  assert_int_equal(cur[1]->counts.messages, 0);
  assert_int_equal(cur[1]->counts.errors, 0);
  for (loop = 0; loop < 2; loop++) {
    free(cur[loop]);
    free(pub[loop]);
  }
  free(printed);
}

/* --source-ip: connections take the addresses in turn, over the whole run,
 * so each gets its share whatever the loops. */
static void test_source_pick(void **state) {
  size_t per[3] = {0, 0, 0};
  uint64_t i;
  (void)state;
  assert_int_equal(source_pick(0, 3), 0);
  assert_int_equal(source_pick(1, 3), 1);
  assert_int_equal(source_pick(2, 3), 2);
  assert_int_equal(source_pick(3, 3), 0);
  assert_int_equal(source_pick(1000000, 1), 0);
  /* 2,500 connections on two loops (first 1,250 and last 1,250) over three
   * addresses: 834, 833, 833, so none runs out of its 1,000 ports. */
  for (i = 0; i < 2500; i++)
    per[source_pick(i, 3)]++;
  assert_int_equal(per[0], 834);
  assert_int_equal(per[1], 833);
  assert_int_equal(per[2], 833);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_schedule_does_not_drift),
      cmocka_unit_test(test_schedule_spreads_connections),
      cmocka_unit_test(test_churn_session),
      cmocka_unit_test(test_interval_of),
      cmocka_unit_test(test_intervals_add_up),
      cmocka_unit_test(test_source_pick),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
