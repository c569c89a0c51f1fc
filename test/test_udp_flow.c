/* The UDP load generator's accounting without a socket: the ring's size
 * for a rate, the loss figure --max-loss is held to, and what one socket
 * counts: datagrams of the measured time only, each received or lost by
 * the end; reordered, duplicated, late, corrupted (changed, cut, longer,
 * of another run, never sent) and too old; latency from the due time and
 * service time from the send. */
#include "bench/udp_flow.h"
#include "client/udp_ping_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NONCE UINT64_C(0x5eed5eed5eed5eed)
#define SIZE 64
#define MS UINT64_C(1000000)
#define TIMEOUT (100 * MS)

static void test_window(void **state) {
  (void)state;
  /* Twice a timeout's worth, a power of two, within the bounds. */
  assert_int_equal(udp_flow_window(0, 1000 * MS), UDP_FLOW_WINDOW_MIN);
  assert_int_equal(udp_flow_window(10, 1000 * MS), UDP_FLOW_WINDOW_MIN);
  assert_int_equal(udp_flow_window(5000, 1000 * MS), 16384);
  assert_int_equal(udp_flow_window(8192, 1000 * MS), 16384);
  assert_int_equal(udp_flow_window(8193, 1000 * MS), 32768);
  assert_int_equal(udp_flow_window(1000000000, 31536000000 * MS),
                   UDP_FLOW_WINDOW_MAX);
}

static void test_loss_milli_pct(void **state) {
  (void)state;
  assert_int_equal(udp_flow_loss_milli_pct(0, 0), 0);
  assert_int_equal(udp_flow_loss_milli_pct(1000, 0), 0);
  assert_int_equal(udp_flow_loss_milli_pct(1000, 1), 100);  /* 0.1 % */
  assert_int_equal(udp_flow_loss_milli_pct(3, 1), 33334);   /* up */
  assert_int_equal(udp_flow_loss_milli_pct(1000000, 1), 1); /* > 0 */
  assert_int_equal(udp_flow_loss_milli_pct(20000, 10000), 50000);
  assert_int_equal(udp_flow_loss_milli_pct(7, 7), 100000);
}

/* A flow and its counts, window w. */
typedef struct fixture_s {
  udp_flow_t flow;
  udp_flow_counts_t counts;
  unsigned char sent[16][SIZE]; /* what went out, by seq */
} fixture_t;

static void start(fixture_t *x, size_t window) {
  memset(x, 0, sizeof(*x));
  assert_int_equal(
      udp_flow_init(&x->flow, window, TIMEOUT, NONCE, SIZE, &x->counts), 0);
}

/* Datagram seq (the next one) due at due, sent at now; kept for echoes. */
static void send_one(fixture_t *x, uint64_t seq, uint64_t due, uint64_t now) {
  unsigned char buf[SIZE];
  udp_flow_make(&x->flow, buf, due);
  if (seq < 16)
    memcpy(x->sent[seq], buf, SIZE);
  udp_flow_sent(&x->flow, due, now);
}

static udp_flow_echo_t echo(fixture_t *x, const void *data, size_t len,
                            uint64_t now, uint64_t *latency, uint64_t *service,
                            int *measured) {
  return udp_flow_echo(&x->flow, data, len, 0, now, latency, service, measured);
}

static void test_counts_measured_time_only(void **state) {
  fixture_t *x = malloc(sizeof(*x));
  uint64_t lat = 0, svc = 0, seq;
  int measured = -1;
  unsigned char bad[SIZE + 1];
  (void)state;

  assert_non_null(x);
  start(x, 64);
  /* Warmup: seq 1 and 2, neither counted, echoed or not. */
  send_one(x, 1, 1 * MS, 1 * MS);
  send_one(x, 2, 2 * MS, 2 * MS);
  assert_int_equal(echo(x, x->sent[1], SIZE, 3 * MS, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  assert_false(measured);
  udp_flow_measure_begin(&x->flow);
  /* Measured: seq 3..8, due 10 ms apart, sent 0.5 ms late (3 and 4) or 2
   * ms late (5: counted late on the schedule). */
  for (seq = 3; seq <= 8; seq++)
    send_one(x, seq, seq * 10 * MS,
             seq * 10 * MS + (seq == 5 ? 2 : 0) * MS + MS / 2);
  udp_flow_measure_end(&x->flow);
  /* Made after the end: never counted. */
  send_one(x, 9, 90 * MS, 90 * MS);
  assert_int_equal(x->counts.sent, 6);
  assert_int_equal(x->counts.late_sent, 1);

  /* 3 in time: latency from the due time, service from the send. */
  assert_int_equal(echo(x, x->sent[3], SIZE, 31 * MS, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  assert_true(measured);
  assert_int_equal(lat, 1 * MS);
  assert_int_equal(svc, MS / 2);
  /* 5 before 4: 4 is reordered; 4 again is a duplicate. */
  assert_int_equal(echo(x, x->sent[5], SIZE, 53 * MS, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  assert_int_equal(lat, 3 * MS);
  assert_int_equal(echo(x, x->sent[4], SIZE, 54 * MS, &lat, &svc, &measured),
                   UDP_FLOW_REORDERED);
  assert_int_equal(echo(x, x->sent[4], SIZE, 55 * MS, &lat, &svc, &measured),
                   UDP_FLOW_DUPLICATE);
  /* 6 with a byte changed, cut short, one byte longer, truncated on
   * arrival: corrupted, and matched to nothing; then intact. */
  memcpy(bad, x->sent[6], SIZE);
  bad[40] ^= 1;
  assert_int_equal(echo(x, bad, SIZE, 61 * MS, &lat, &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  assert_int_equal(
      echo(x, x->sent[6], SIZE - 1, 61 * MS, &lat, &svc, &measured),
      UDP_FLOW_CORRUPTED);
  memcpy(bad, x->sent[6], SIZE);
  bad[SIZE] = 0;
  assert_int_equal(echo(x, bad, SIZE + 1, 61 * MS, &lat, &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  assert_int_equal(udp_flow_echo(&x->flow, x->sent[6], SIZE, 1, 61 * MS, &lat,
                                 &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  /* The header's time is checked too: the same datagram due elsewhen. */
  udp_ping_encode(bad, SIZE, NONCE, 6, 1);
  assert_int_equal(echo(x, bad, SIZE, 61 * MS, &lat, &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  assert_int_equal(echo(x, x->sent[6], SIZE, 62 * MS, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  /* Of another run, and a seq never sent. */
  udp_ping_encode(bad, SIZE, NONCE + 1, 7, 70 * MS);
  assert_int_equal(echo(x, bad, SIZE, 71 * MS, &lat, &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  udp_ping_encode(bad, SIZE, NONCE, 10, 100 * MS);
  assert_int_equal(echo(x, bad, SIZE, 71 * MS, &lat, &svc, &measured),
                   UDP_FLOW_CORRUPTED);
  assert_int_equal(x->counts.corrupted, 7);
  assert_true(udp_flow_awaiting(&x->flow));

  /* 7 never comes; 8 comes after its timeout (late, lost at once); 9
   * (unmeasured) is never echoed. At 70 ms + the timeout, 7 is lost. */
  assert_int_equal(udp_flow_next_deadline(&x->flow), 2 * MS + TIMEOUT);
  udp_flow_expire(&x->flow, 70 * MS + TIMEOUT);
  assert_int_equal(x->counts.lost, 0 + 1);
  assert_int_equal(
      echo(x, x->sent[8], SIZE, 80 * MS + TIMEOUT + 1, &lat, &svc, &measured),
      UDP_FLOW_LATE);
  assert_int_equal(x->counts.lost, 2);
  assert_int_equal(x->counts.late, 1);
  /* 7 late after it was counted lost: late, not lost twice. */
  assert_int_equal(echo(x, x->sent[7], SIZE, 200 * MS, &lat, &svc, &measured),
                   UDP_FLOW_LATE);
  assert_int_equal(x->counts.lost, 2);
  assert_int_equal(x->counts.late, 2);
  udp_flow_expire(&x->flow, 90 * MS + TIMEOUT);
  assert_false(udp_flow_awaiting(&x->flow));
  assert_int_equal(udp_flow_next_deadline(&x->flow), 0);

  /* Every datagram of the measured time received or lost. */
  assert_int_equal(x->counts.received, 4); /* 3, 4, 5, 6 */
  assert_int_equal(x->counts.received + x->counts.lost, x->counts.sent);
  assert_int_equal(x->counts.reordered, 1);
  assert_int_equal(x->counts.duplicates, 1);
  assert_int_equal(x->counts.too_old, 0);
  assert_int_equal(x->counts.unsent, 0);
  udp_flow_free(&x->flow);
  free(x);
}

/* The ring holds 64: the 65th sent while the first is awaited counts the
 * first lost; its echo then is too old. Unsent ones count in the measured
 * time only, and take no seq. */
static void test_ring_and_unsent(void **state) {
  fixture_t *x = malloc(sizeof(*x));
  uint64_t lat, svc, seq;
  int measured;
  (void)state;

  assert_non_null(x);
  start(x, 64);
  udp_flow_unsent(&x->flow); /* before the measured time */
  udp_flow_measure_begin(&x->flow);
  for (seq = 1; seq <= 64; seq++)
    send_one(x, seq, seq, seq);
  assert_int_equal(x->counts.lost, 0);
  udp_flow_unsent(&x->flow);
  send_one(x, 65, 65, 65);
  assert_int_equal(x->counts.lost, 1);
  assert_int_equal(x->counts.sent, 65);
  assert_int_equal(x->counts.unsent, 1);
  assert_int_equal(echo(x, x->sent[1], SIZE, 66, &lat, &svc, &measured),
                   UDP_FLOW_TOO_OLD);
  assert_int_equal(x->counts.too_old, 1);
  assert_int_equal(echo(x, x->sent[2], SIZE, 66, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  assert_int_equal(x->counts.received, 1);
  udp_flow_free(&x->flow);
  free(x);
}

/* Two flows, one count: a loop's sockets add up where they count. */
static void test_shared_counts(void **state) {
  udp_flow_t a, b;
  udp_flow_counts_t counts;
  unsigned char buf[SIZE];
  uint64_t lat, svc;
  int measured;
  (void)state;

  memset(&counts, 0, sizeof(counts));
  assert_int_equal(udp_flow_init(&a, 64, TIMEOUT, NONCE, SIZE, &counts), 0);
  assert_int_equal(udp_flow_init(&b, 64, TIMEOUT, NONCE, SIZE, &counts), 0);
  udp_flow_measure_begin(&a);
  udp_flow_measure_begin(&b);
  udp_flow_make(&a, buf, 5);
  udp_flow_sent(&a, 5, 5);
  udp_flow_make(&b, buf, 6);
  udp_flow_sent(&b, 6, 6);
  assert_int_equal(udp_flow_echo(&b, buf, SIZE, 0, 7, &lat, &svc, &measured),
                   UDP_FLOW_RECEIVED);
  assert_int_equal(counts.sent, 2);
  assert_int_equal(counts.received, 1);
  udp_flow_free(&a);
  udp_flow_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_window),
      cmocka_unit_test(test_loss_milli_pct),
      cmocka_unit_test(test_counts_measured_time_only),
      cmocka_unit_test(test_ring_and_unsent),
      cmocka_unit_test(test_shared_counts),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
