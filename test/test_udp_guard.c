/* The UDP echo's protection without a socket: which sources are refused
 * and why, the per-source token buckets to the millisecond, the table's
 * fixed size under many sources, and the counters' lines. */
#include "server/udp_guard.h"
#include "server/udp_stats.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define OUR_PORT 8000

static struct sockaddr_storage v4(const char *ip, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss), 0);
  return ss;
}

static struct sockaddr_storage v6(const char *ip, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss), 0);
  return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static udp_refused_t check_from(struct sockaddr_storage src) {
  return udp_guard_check(SA(src), NULL, OUR_PORT);
}

static void test_unicast_sources_pass(void **state) {
  (void)state;
  assert_int_equal(check_from(v4("127.0.0.1", 1024)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v4("192.0.2.7", 65535)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v4("1.0.0.0", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v4("223.255.255.255", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v6("::1", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v6("2001:db8::1", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v6("fe80::1", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v6("::ffff:127.0.0.1", 40000)), UDP_REFUSED_NONE);
  assert_int_equal(check_from(v6("feff::1", 40000)), UDP_REFUSED_NONE);
}

static void test_addresses_not_unicast(void **state) {
  static const char *const bad_v4[] = {
      "0.0.0.0",        "0.1.2.3",         /* this network */
      "224.0.0.1",      "239.255.255.250", /* multicast */
      "240.0.0.1",      "255.255.255.254", /* reserved */
      "255.255.255.255"};                  /* broadcast */
  static const char *const bad_v6[] = {"::",
                                       "ff02::1",
                                       "ff0e::1234",
                                       "::ffff:0.0.0.0",
                                       "::ffff:224.0.0.251",
                                       "::ffff:255.255.255.255",
                                       "::ffff:240.1.2.3"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad_v4) / sizeof(bad_v4[0]); i++) {
    if (check_from(v4(bad_v4[i], 40000)) != UDP_REFUSED_ADDRESS)
      fail_msg("%s passed", bad_v4[i]);
  }
  for (i = 0; i < sizeof(bad_v6) / sizeof(bad_v6[0]); i++) {
    if (check_from(v6(bad_v6[i], 40000)) != UDP_REFUSED_ADDRESS)
      fail_msg("%s passed", bad_v6[i]);
  }
}

/* Sent to a broadcast or multicast address: one datagram would get an
 * answer from every server that heard it. */
static void test_destination_not_unicast(void **state) {
  struct sockaddr_storage src = v4("192.0.2.7", 40000);
  struct sockaddr_storage to_bcast = v4("255.255.255.255", OUR_PORT);
  struct sockaddr_storage to_mcast = v6("::ffff:224.0.0.1", OUR_PORT);
  struct sockaddr_storage to_mcast6 = v6("ff02::1", OUR_PORT);
  struct sockaddr_storage to_us = v4("127.0.0.2", OUR_PORT);
  struct sockaddr_storage to_us6 = v6("::ffff:127.0.0.2", OUR_PORT);
  (void)state;
  assert_int_equal(udp_guard_check(SA(src), SA(to_bcast), OUR_PORT),
                   UDP_REFUSED_ADDRESS);
  assert_int_equal(udp_guard_check(SA(src), SA(to_mcast), OUR_PORT),
                   UDP_REFUSED_ADDRESS);
  assert_int_equal(udp_guard_check(SA(src), SA(to_mcast6), OUR_PORT),
                   UDP_REFUSED_ADDRESS);
  assert_int_equal(udp_guard_check(SA(src), SA(to_us), OUR_PORT),
                   UDP_REFUSED_NONE);
  assert_int_equal(udp_guard_check(SA(src), SA(to_us6), OUR_PORT),
                   UDP_REFUSED_NONE);
}

static void test_ports(void **state) {
  static const int services[] = {0, 7, 9, 13, 17, 19, 37, 53, 123, 1023};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
    assert_int_equal(check_from(v4("127.0.0.1", services[i])),
                     UDP_REFUSED_LOW_PORT);
    assert_int_equal(check_from(v6("::1", services[i])), UDP_REFUSED_LOW_PORT);
  }
  assert_int_equal(check_from(v4("127.0.0.1", OUR_PORT)), UDP_REFUSED_OUR_PORT);
  assert_int_equal(check_from(v6("::ffff:10.0.0.1", OUR_PORT)),
                   UDP_REFUSED_OUR_PORT);
  assert_int_equal(check_from(v4("127.0.0.1", OUR_PORT + 1)), UDP_REFUSED_NONE);
  /* The address is checked first. */
  assert_int_equal(check_from(v4("224.0.0.1", 19)), UDP_REFUSED_ADDRESS);
}

static void test_reason_words(void **state) {
  int i;
  (void)state;
  assert_string_equal(udp_refused_text(UDP_REFUSED_LOW_PORT),
                      "source port below 1024");
  assert_string_equal(udp_refused_name(UDP_REFUSED_RATE), "rate");
  for (i = 0; i < UDP_REFUSED_COUNT; i++) {
    assert_string_not_equal(udp_refused_text((udp_refused_t)i), "answered");
    assert_string_not_equal(udp_refused_name((udp_refused_t)i), "none");
  }
  assert_string_equal(udp_dropped_text(UDP_DROPPED_QUEUE_FULL),
                      "send queue full");
  assert_string_equal(udp_dropped_name(UDP_DROPPED_SEND_FAILED), "send_failed");
}

/* How many of n datagrams at ms are allowed. */
static int allowed(udp_rate_t *r, struct sockaddr_storage src, int n,
                   uint64_t ms) {
  int i, ok = 0;
  for (i = 0; i < n; i++)
    ok += udp_rate_allow(r, SA(src), ms);
  return ok;
}

static void test_bucket_burst_then_rate(void **state) {
  udp_rate_t r;
  struct sockaddr_storage a = v4("192.0.2.1", 40000);
  (void)state;
  assert_int_equal(udp_rate_init(&r, 100, 64, 1), 0);
  /* A burst of one second's worth, then nothing in the same ms. */
  assert_int_equal(allowed(&r, a, 150, 1000), 100);
  /* 100/s is one every 10 ms: 9 ms buys nothing, the 10th one. */
  assert_int_equal(allowed(&r, a, 5, 1009), 0);
  assert_int_equal(allowed(&r, a, 5, 1010), 1);
  /* Fractions add up: 5 ms twice is one datagram. */
  assert_int_equal(allowed(&r, a, 5, 1015), 0);
  assert_int_equal(allowed(&r, a, 5, 1020), 1);
  /* 250 ms: 25 more. */
  assert_int_equal(allowed(&r, a, 100, 1270), 25);
  /* A long pause refills to the burst, no further (and no overflow). */
  assert_int_equal(allowed(&r, a, 1000, 1000ULL * 86400 * 365 * 100), 100);
  /* A clock that goes back gives nothing. */
  assert_int_equal(allowed(&r, a, 5, 5000), 0);
  udp_rate_free(&r);
}

/* The port is not part of the source; IPv4 and its mapped form are one;
 * other addresses have their own buckets. */
static void test_bucket_per_address(void **state) {
  udp_rate_t r;
  (void)state;
  assert_int_equal(udp_rate_init(&r, 10, 64, 2), 0);
  assert_int_equal(allowed(&r, v4("192.0.2.1", 40000), 6, 0), 6);
  assert_int_equal(allowed(&r, v4("192.0.2.1", 40001), 6, 0), 4);
  assert_int_equal(allowed(&r, v6("::ffff:192.0.2.1", 9999), 1, 0), 0);
  assert_int_equal(allowed(&r, v4("192.0.2.2", 40000), 20, 0), 10);
  assert_int_equal(allowed(&r, v6("2001:db8::1", 40000), 20, 0), 10);
  assert_int_equal(allowed(&r, v6("2001:db8::2", 40000), 20, 0), 10);
  assert_int_equal(udp_rate_sources(&r), 4);
  udp_rate_free(&r);
}

static void test_no_limit(void **state) {
  udp_rate_t r;
  (void)state;
  assert_int_equal(udp_rate_init(&r, 0, 0, 3), 0);
  assert_null(r.table);
  assert_int_equal(allowed(&r, v4("192.0.2.1", 40000), 100000, 0), 100000);
  udp_rate_free(&r);
}

static void test_high_rate_exact(void **state) {
  udp_rate_t r;
  struct sockaddr_storage a = v6("2001:db8::7", 40000);
  (void)state;
  assert_int_equal(udp_rate_init(&r, UDP_RATE_MAX * 10, 0, 4), 0);
  assert_int_equal(r.rate, UDP_RATE_MAX); /* capped */
  assert_int_equal(r.burst, UDP_RATE_MAX * 1000);
  assert_int_equal(r.slots, UDP_RATE_SLOTS);
  assert_int_equal(allowed(&r, a, 1, 7), 1);
  { /* as if the burst were spent */
    size_t i;
    for (i = 0; i < r.slots; i++)
      r.table[i].tokens = 0;
  }
  assert_int_equal(allowed(&r, a, 1, 7), 0);
  assert_int_equal(allowed(&r, a, 20000, 8), 10000); /* 10 million/s */
  udp_rate_free(&r);
}

/* A million spoofed sources: the table stays at its slots, each probe
 * window at most full; the newest source always has its bucket. */
static void test_table_bounded(void **state) {
  udp_rate_t r;
  struct sockaddr_storage a;
  struct sockaddr_in *in = (struct sockaddr_in *)&a;
  uint32_t i;
  (void)state;
  assert_int_equal(udp_rate_init(&r, 5, 1000, 5), 0);
  assert_int_equal(r.slots, 1024);
  a = v4("10.0.0.0", 40000);
  for (i = 0; i < 1000000; i++) {
    in->sin_addr.s_addr = htonl(0x0a000000u + i);
    if (!udp_rate_allow(&r, SA(a), i / 1000))
      fail_msg("source %u refused its first datagram", (unsigned)i);
  }
  assert_int_equal(udp_rate_sources(&r), 1024);
  assert_true(r.evicted >= 1000000 - 1024);
  /* The latest is still known: its bucket is down by one. */
  assert_int_equal(allowed(&r, a, 10, 999), 4);
  udp_rate_free(&r);
}

/* A source in the table is not pushed out while older ones are there to
 * go: with a table of one probe window, the least recently used goes. */
static void test_evicts_least_recent(void **state) {
  udp_rate_t r;
  char ip[32];
  int i;
  (void)state;
  assert_int_equal(udp_rate_init(&r, 2, UDP_RATE_PROBE, 6), 0);
  for (i = 0; i < UDP_RATE_PROBE; i++) {
    snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
    assert_int_equal(allowed(&r, v4(ip, 40000), 2, (uint64_t)i), 2);
  }
  assert_int_equal(udp_rate_sources(&r), UDP_RATE_PROBE);
  /* 192.0.2.1 (ms 0) is the oldest: a new source takes its slot... */
  assert_int_equal(allowed(&r, v4("198.51.100.1", 40000), 1, 100), 1);
  assert_int_equal(r.evicted, 1);
  /* ...so that 192.0.2.2 (ms 1, empty at 2/s: 0.2 refilled by ms 100) is
   * still refused, while 192.0.2.1 starts over with a full bucket. */
  assert_int_equal(allowed(&r, v4("192.0.2.2", 40000), 1, 100), 0);
  assert_int_equal(allowed(&r, v4("192.0.2.1", 40000), 3, 100), 2);
  udp_rate_free(&r);
}

static void test_stats_add(void **state) {
  udp_stats_t sum, one;
  (void)state;
  memset(&sum, 0, sizeof(sum));
  memset(&one, 0, sizeof(one));
  one.datagrams_in = 10;
  one.bytes_in = 100;
  one.datagrams_out = 6;
  one.bytes_out = 60;
  one.refused[UDP_REFUSED_LOW_PORT] = 2;
  one.refused[UDP_REFUSED_RATE] = 1;
  one.dropped[UDP_DROPPED_QUEUE_FULL] = 1;
  one.peak_queued = 500;
  udp_stats_add(&sum, &one);
  one.peak_queued = 200;
  udp_stats_add(&sum, &one);
  assert_int_equal(sum.datagrams_in, 20);
  assert_int_equal(sum.bytes_out, 120);
  assert_int_equal(udp_stats_refused(&sum), 6);
  assert_int_equal(udp_stats_dropped(&sum), 2);
  assert_int_equal(sum.peak_queued, 500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unicast_sources_pass),
      cmocka_unit_test(test_addresses_not_unicast),
      cmocka_unit_test(test_destination_not_unicast),
      cmocka_unit_test(test_ports),
      cmocka_unit_test(test_reason_words),
      cmocka_unit_test(test_bucket_burst_then_rate),
      cmocka_unit_test(test_bucket_per_address),
      cmocka_unit_test(test_no_limit),
      cmocka_unit_test(test_high_rate_exact),
      cmocka_unit_test(test_table_bounded),
      cmocka_unit_test(test_evicts_least_recent),
      cmocka_unit_test(test_stats_add),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
