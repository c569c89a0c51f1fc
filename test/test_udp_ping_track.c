/* Ping over UDP without a socket: the datagram's format and its checks,
 * and the accounting of echoes (in time, reordered, duplicated, late,
 * lost, too old, never sent) in a ring of bounded size. */
#include "client/udp_ping_track.h"
#include "client/udp_ping_wire.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NONCE UINT64_C(0x0123456789abcdef)
#define MS UINT64_C(1000000)

/* ---- the datagram ---- */

static void test_wire_round_trip(void **state) {
  unsigned char buf[200];
  uint64_t seq = 0, sent = 0;
  (void)state;

  udp_ping_encode(buf, sizeof(buf), NONCE, 42, 123456789);
  assert_memory_equal(buf, "tcpecho\1", 8);
  assert_int_equal(buf[16 + 7], 42); /* big-endian */
  assert_true(udp_ping_decode(buf, sizeof(buf), NONCE, &seq, &sent));
  assert_int_equal(seq, 42);
  assert_int_equal(sent, 123456789);
  assert_int_equal(
      udp_ping_check(buf, sizeof(buf), sizeof(buf), NONCE, 42, 123456789),
      UDP_PING_INTACT);
  /* The header alone is a datagram too. */
  udp_ping_encode(buf, UDP_PING_HEADER, NONCE, 1, 5);
  assert_int_equal(
      udp_ping_check(buf, UDP_PING_HEADER, UDP_PING_HEADER, NONCE, 1, 5),
      UDP_PING_INTACT);
}

static void test_wire_not_ours(void **state) {
  unsigned char buf[64];
  uint64_t seq, sent;
  (void)state;

  udp_ping_encode(buf, sizeof(buf), NONCE, 7, 1);
  assert_false(udp_ping_decode(buf, sizeof(buf), NONCE + 1, &seq, &sent));
  assert_false(udp_ping_decode(buf, UDP_PING_HEADER - 1, NONCE, &seq, &sent));
  buf[7] = 2; /* another version */
  assert_false(udp_ping_decode(buf, sizeof(buf), NONCE, &seq, &sent));
}

/* Every byte changed is found where it is; each datagram's pattern is its
 * own. */
static void test_wire_every_byte_checked(void **state) {
  unsigned char buf[100], other[100];
  size_t i;
  (void)state;

  udp_ping_encode(buf, sizeof(buf), NONCE, 9, 77);
  for (i = 0; i < sizeof(buf); i++) {
    buf[i] ^= 0x01;
    assert_int_equal(
        udp_ping_check(buf, sizeof(buf), sizeof(buf), NONCE, 9, 77), i);
    buf[i] ^= 0x01;
  }
  /* Another seq's datagram: its header and payload differ. */
  udp_ping_encode(other, sizeof(other), NONCE, 10, 77);
  assert_memory_not_equal(buf + UDP_PING_HEADER, other + UDP_PING_HEADER,
                          sizeof(buf) - UDP_PING_HEADER);
  /* The time it says is checked too. */
  assert_int_equal(udp_ping_check(buf, sizeof(buf), sizeof(buf), NONCE, 9, 78),
                   UDP_PING_TIME_OFFSET + 7);
}

static void test_wire_length(void **state) {
  unsigned char buf[100];
  (void)state;
  udp_ping_encode(buf, sizeof(buf), NONCE, 3, 3);
  /* Shorter: the first byte missing; longer: the first extra one. */
  assert_int_equal(udp_ping_check(buf, 60, 100, NONCE, 3, 3), 60);
  assert_int_equal(udp_ping_check(buf, 100, 60, NONCE, 3, 3), 60);
  assert_int_equal(udp_ping_check(buf, 10, 100, NONCE, 3, 3), 10);
}

/* ---- the accounting ---- */

static uint64_t send_at(udp_track_t *t, uint64_t now) {
  uint64_t evicted;
  uint64_t seq = udp_track_send(t, now, &evicted);
  assert_int_equal(evicted, 0);
  return seq;
}

static udp_track_result_t reply_at(udp_track_t *t, uint64_t seq, uint64_t now) {
  uint64_t sent_ns = 0;
  return udp_track_reply(t, seq, now, &sent_ns);
}

static void test_in_order(void **state) {
  udp_track_t t;
  uint64_t sent_ns = 0, i;
  (void)state;

  assert_int_equal(udp_track_init(&t, 8, 100 * MS), 0);
  for (i = 1; i <= 20; i++) {
    assert_int_equal(send_at(&t, i * MS), i);
    assert_int_equal(udp_track_pending(&t), 1);
    assert_true(udp_track_sent_at(&t, i, &sent_ns));
    assert_int_equal(sent_ns, i * MS);
    assert_int_equal(udp_track_reply(&t, i, i * MS + 5, &sent_ns),
                     UDP_TRACK_RECEIVED);
    assert_int_equal(sent_ns, i * MS);
  }
  assert_int_equal(t.sent, 20);
  assert_int_equal(t.received, 20);
  assert_int_equal(t.lost + t.late + t.duplicates + t.reordered, 0);
  assert_int_equal(udp_track_pending(&t), 0);
  assert_int_equal(udp_track_next_deadline(&t), 0);
  udp_track_free(&t);
}

static void test_duplicates_and_reorder(void **state) {
  udp_track_t t;
  (void)state;

  assert_int_equal(udp_track_init(&t, 8, 100 * MS), 0);
  send_at(&t, 0);
  send_at(&t, 1 * MS);
  send_at(&t, 2 * MS);
  assert_int_equal(reply_at(&t, 2, 3 * MS), UDP_TRACK_RECEIVED);
  assert_int_equal(reply_at(&t, 1, 3 * MS), UDP_TRACK_REORDERED);
  assert_int_equal(reply_at(&t, 1, 4 * MS), UDP_TRACK_DUPLICATE);
  assert_int_equal(reply_at(&t, 2, 4 * MS), UDP_TRACK_DUPLICATE);
  assert_int_equal(reply_at(&t, 3, 5 * MS), UDP_TRACK_RECEIVED);
  assert_int_equal(t.received, 3);
  assert_int_equal(t.reordered, 1);
  assert_int_equal(t.duplicates, 2);
  assert_int_equal(t.lost, 0);
  udp_track_free(&t);
}

/* Lost at its timeout, in order; a later echo of it is late, not
 * received; an echo past its timeout before the timer ran is late too. */
static void test_lost_then_late(void **state) {
  udp_track_t t;
  (void)state;

  assert_int_equal(udp_track_init(&t, 8, 100 * MS), 0);
  send_at(&t, 0);
  send_at(&t, 10 * MS);
  send_at(&t, 20 * MS);
  assert_int_equal(udp_track_next_deadline(&t), 100 * MS);
  assert_int_equal(udp_track_expire(&t, 99 * MS), 0);
  assert_int_equal(reply_at(&t, 2, 50 * MS), UDP_TRACK_RECEIVED);
  assert_int_equal(udp_track_expire(&t, 100 * MS), 1);
  assert_int_equal(udp_track_expire(&t, 100 * MS), 0);
  /* 2 is answered: 3's is the next deadline. */
  assert_int_equal(udp_track_next_deadline(&t), 120 * MS);
  assert_int_equal(reply_at(&t, 1, 130 * MS), UDP_TRACK_LATE);
  assert_int_equal(reply_at(&t, 1, 131 * MS), UDP_TRACK_DUPLICATE);
  /* 3 is past its timeout, not yet expired. */
  assert_int_equal(reply_at(&t, 3, 121 * MS), UDP_TRACK_LATE);
  assert_int_equal(udp_track_expire(&t, 200 * MS), 0);
  assert_int_equal(t.sent, 3);
  assert_int_equal(t.received, 1);
  assert_int_equal(t.lost, 2);
  assert_int_equal(t.late, 2);
  assert_int_equal(t.duplicates, 1);
  assert_int_equal(t.reordered, 0);
  assert_int_equal(udp_track_pending(&t), 0);
  udp_track_free(&t);
}

static void test_unknown_and_too_old(void **state) {
  udp_track_t t;
  uint64_t evicted, sent_ns, i;
  (void)state;

  assert_int_equal(udp_track_init(&t, 4, 1000 * MS), 0);
  assert_int_equal(reply_at(&t, 1, 0), UDP_TRACK_UNKNOWN);
  for (i = 1; i <= 4; i++)
    send_at(&t, i);
  assert_int_equal(reply_at(&t, 0, 5), UDP_TRACK_UNKNOWN);
  assert_int_equal(reply_at(&t, 5, 5), UDP_TRACK_UNKNOWN);
  /* The ring is full of awaited ones: the fifth pushes the first out,
   * lost before its timeout. */
  assert_int_equal(udp_track_send(&t, 6, &evicted), 5);
  assert_int_equal(evicted, 1);
  assert_int_equal(t.lost, 1);
  assert_false(udp_track_sent_at(&t, 1, &sent_ns));
  assert_int_equal(reply_at(&t, 1, 7), UDP_TRACK_TOO_OLD);
  assert_int_equal(t.too_old, 1);
  assert_int_equal(t.late, 0);
  assert_int_equal(udp_track_next_deadline(&t), 2 + 1000 * MS);
  assert_int_equal(udp_track_pending(&t), 4);
  udp_track_free(&t);
}

/* --forever: the ring's size, however many are sent. */
static void test_forever_bounded(void **state) {
  udp_track_t t;
  uint64_t i, seq;
  (void)state;

  assert_int_equal(udp_track_init(&t, 16, 10 * MS), 0);
  for (i = 1; i <= 1000000; i++) {
    seq = send_at(&t, i * MS);
    if (i % 3 != 0)
      assert_int_equal(reply_at(&t, seq, i * MS + 1), UDP_TRACK_RECEIVED);
    while (udp_track_expire(&t, i * MS) != 0)
      ;
  }
  while (udp_track_expire(&t, (i + 100) * MS) != 0)
    ;
  assert_int_equal(t.sent, 1000000);
  assert_int_equal(t.received, 666667);
  assert_int_equal(t.lost, 333333);
  assert_int_equal(udp_track_pending(&t), 0);
  udp_track_free(&t);
}

static void test_forget_pending(void **state) {
  udp_track_t t;
  (void)state;

  assert_int_equal(udp_track_init(&t, 8, 100 * MS), 0);
  send_at(&t, 0);
  send_at(&t, 1);
  send_at(&t, 2);
  assert_int_equal(reply_at(&t, 2, 3), UDP_TRACK_RECEIVED);
  assert_int_equal(udp_track_expire(&t, 100 * MS), 1);
  udp_track_forget_pending(&t); /* 3, still within its timeout */
  assert_int_equal(t.sent, 2);
  assert_int_equal(t.received, 1);
  assert_int_equal(t.lost, 1);
  assert_int_equal(udp_track_pending(&t), 0);
  udp_track_free(&t);
}

static void test_init_needs_power_of_two(void **state) {
  udp_track_t t;
  (void)state;
  assert_int_equal(udp_track_init(&t, 12, MS), -1);
  assert_int_equal(udp_track_init(&t, 0, MS), -1);
  assert_int_equal(udp_track_init(&t, UDP_TRACK_WINDOW, MS), 0);
  udp_track_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_round_trip),
      cmocka_unit_test(test_wire_not_ours),
      cmocka_unit_test(test_wire_every_byte_checked),
      cmocka_unit_test(test_wire_length),
      cmocka_unit_test(test_in_order),
      cmocka_unit_test(test_duplicates_and_reorder),
      cmocka_unit_test(test_lost_then_late),
      cmocka_unit_test(test_unknown_and_too_old),
      cmocka_unit_test(test_forever_bounded),
      cmocka_unit_test(test_forget_pending),
      cmocka_unit_test(test_init_needs_power_of_two),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
