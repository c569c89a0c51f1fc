/* The capture checker and the pcap reader on synthetic traces: the real
 * session shapes pass, and each fault the wire test must catch fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "pcap.h"
#include "tcp_trace.h"

#include <stdio.h>
#include <string.h>

#define MSG "Hi, beyondyyh"
/* ISNs near and across the 32-bit wrap, as real ones may be. */
#define C 4294967290u /* client ISN */
#define S 3000000000u /* server ISN */
#define A TCP_ACK
#define PA (TCP_PSH | TCP_ACK)
#define FA (TCP_FIN | TCP_ACK)

static tcp_seg_t seg(int from_client, unsigned flags, uint32_t seq,
                     uint32_t ack, const char *data, uint32_t len,
                     double time) {
  tcp_seg_t s;
  memset(&s, 0, sizeof(s));
  s.from_client = from_client;
  s.flags = flags;
  s.seq = seq;
  s.ack = ack;
  s.len = len;
  s.time = time;
  if (data != NULL)
    memcpy(s.data, data, len < TCP_SEG_DATA_KEPT ? len : TCP_SEG_DATA_KEPT);
  return s;
}

/* The tutorial's capture: 4-way close with the server's ACK separate. */
static size_t tutorial(tcp_seg_t *t) {
  size_t n = 0;
  t[n++] = seg(1, TCP_SYN, C, 0, NULL, 0, 0.0);
  t[n++] = seg(0, TCP_SYN | A, S, C + 1, NULL, 0, 0.0001);
  t[n++] = seg(1, A, C + 1, S + 1, NULL, 0, 0.0002);
  t[n++] = seg(1, PA, C + 1, S + 1, MSG, 13, 0.0005);
  t[n++] = seg(0, A, S + 1, C + 14, NULL, 0, 0.0006);
  t[n++] = seg(0, PA, S + 1, C + 14, MSG, 13, 0.0007);
  t[n++] = seg(1, A, C + 14, S + 14, NULL, 0, 0.0008);
  t[n++] = seg(1, FA, C + 14, S + 14, NULL, 0, 1.0010);
  t[n++] = seg(0, A, S + 14, C + 15, NULL, 0, 1.0011);
  t[n++] = seg(0, FA, S + 14, C + 15, NULL, 0, 1.0012);
  t[n++] = seg(1, A, C + 15, S + 15, NULL, 0, 1.0013);
  return n;
}

static const trace_expect_t by_timer = {MSG, 13, 0, 1.0};
static const trace_expect_t by_server = {MSG, 13, 1, 0};

static void expect_ok(const tcp_seg_t *t, size_t n,
                      const trace_expect_t *want) {
  char why[256];
  if (trace_check(t, n, want, why, sizeof(why)) != 0)
    fail_msg("rejected: %s", why);
}

static void expect_bad(const tcp_seg_t *t, size_t n, const trace_expect_t *want,
                       const char *needle) {
  char why[256];
  assert_int_equal(trace_check(t, n, want, why, sizeof(why)), -1);
  if (strstr(why, needle) == NULL)
    fail_msg("rejected for '%s', expected '%s'", why, needle);
}

static void test_tutorial_shape_passes(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t);
  (void)state;
  expect_ok(t, n, &by_timer);
}

/* Linux merges the server's ACK of the client's FIN into its own FIN. */
static void test_merged_fin_ack_passes(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t);
  (void)state;
  memmove(&t[8], &t[9], 2 * sizeof(t[0]));
  expect_ok(t, n - 1, &by_timer);
}

/* The Go tutorial's server echoed its whole 100-byte buffer. */
static void test_extra_echoed_bytes_fail(void **state) {
  char buf[100];
  tcp_seg_t t[16];
  size_t n = tutorial(t);
  (void)state;
  memset(buf, 0, sizeof(buf));
  memcpy(buf, MSG, 13);
  t[5] = seg(0, PA, S + 1, C + 14, buf, 100, 0.0007);
  expect_bad(t, n, &by_timer, "the server sent 100 bytes");
}

static void test_server_closing_first_fails(void **state) {
  tcp_seg_t t[16];
  size_t n = 0;
  (void)state;
  n = tutorial(t) - 4;
  t[n++] = seg(0, FA, S + 14, C + 14, NULL, 0, 1.0010);
  t[n++] = seg(1, FA, C + 14, S + 15, NULL, 0, 1.0011);
  t[n++] = seg(0, A, S + 15, C + 15, NULL, 0, 1.0012);
  expect_bad(t, n, &by_timer, "the server closed first");
  expect_ok(t, n, &by_server); /* what SIGTERM on the server looks like */
}

static void test_reset_fails(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t) - 4;
  (void)state;
  t[n++] = seg(1, TCP_RST | A, C + 14, S + 14, NULL, 0, 1.0010);
  expect_bad(t, n, &by_timer, "RST from the client");
}

static void test_no_timer_fails(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t), i;
  (void)state;
  for (i = 7; i < n; i++)
    t[i].time -= 1.0; /* the FIN right after the data */
  expect_bad(t, n, &by_timer, "the close timer");
  t[10].time = t[9].time = t[8].time = t[7].time = 5.0;
  expect_bad(t, n, &by_timer, "the close timer");
}

static void test_missing_fin_or_ack_fails(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t);
  (void)state;
  expect_bad(t, n - 3, &by_timer, "no FIN from the server");
  expect_bad(t, n - 1, &by_timer, "server's FIN was never acknowledged");
  expect_bad(t, 2, &by_timer, "inside the handshake");
}

static void test_inconsistent_numbers_fail(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t);
  (void)state;
  t[1].ack = C + 2;
  expect_bad(t, n, &by_timer, "SYN-ACK");
  n = tutorial(t);
  t[6].seq = C + 20;
  expect_bad(t, n, &by_timer, "gap or resend");
  n = tutorial(t);
  t[6].ack = S + 40;
  expect_bad(t, n, &by_timer, "beyond the");
  n = tutorial(t);
  t[5].data[3] = 'X';
  expect_bad(t, n, &by_timer, "differ from the message");
}

static void test_split_data_fails(void **state) {
  tcp_seg_t t[16];
  size_t n = tutorial(t), i;
  (void)state;
  /* The echo in two segments of 6 and 7 bytes. */
  for (i = n; i > 6; i--)
    t[i] = t[i - 1];
  t[5] = seg(0, PA, S + 1, C + 14, MSG, 6, 0.0007);
  t[6] = seg(0, PA, S + 7, C + 14, &MSG[6], 7, 0.0007);
  expect_bad(t, n + 1, &by_timer, "one server data segment");
}

/* pcap writing, to read it back: Ethernet + IPv4 + TCP, or raw IPv6. */
static void put16(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
}

static void put32(unsigned char *p, uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}

static void write_pcap(const char *path, uint32_t link, const tcp_seg_t *t,
                       size_t n, int port, int ipv6) {
  FILE *f = fopen(path, "wb");
  unsigned char gh[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0};
  size_t i;
  assert_non_null(f);
  gh[16] = 0xff;
  gh[17] = 0xff;
  gh[20] = (unsigned char)link;
  fwrite(gh, 1, sizeof(gh), f);
  for (i = 0; i < n; i++) {
    unsigned char fr[200], ph[16];
    size_t off = link == 1 ? 14 : 0, ip = ipv6 ? 40 : 20;
    size_t len = off + ip + 20 + t[i].len;
    uint32_t usec = (uint32_t)((t[i].time - (uint32_t)t[i].time) * 1e6 + 0.5);
    memset(fr, 0, sizeof(fr));
    if (link == 1)
      put16(fr + 12, 0x0800);
    if (ipv6) {
      fr[off] = 0x60;
      put16(fr + off + 4, 20 + t[i].len);
      fr[off + 6] = 6;
    } else {
      fr[off] = 0x45;
      put16(fr + off + 2, (unsigned)(ip + 20 + t[i].len));
      fr[off + 9] = 6;
    }
    put16(fr + off + ip, t[i].from_client ? 40000u : (unsigned)port);
    put16(fr + off + ip + 2, t[i].from_client ? (unsigned)port : 40000u);
    put32(fr + off + ip + 4, t[i].seq);
    put32(fr + off + ip + 8, t[i].ack);
    fr[off + ip + 12] = 5 << 4;
    fr[off + ip + 13] = (unsigned char)t[i].flags;
    memcpy(fr + off + ip + 20, t[i].data, t[i].len);
    memset(ph, 0, sizeof(ph));
    ph[0] = (unsigned char)(uint32_t)t[i].time;
    ph[4] = (unsigned char)usec;
    ph[5] = (unsigned char)(usec >> 8);
    ph[6] = (unsigned char)(usec >> 16);
    ph[8] = ph[12] = (unsigned char)len;
    fwrite(ph, 1, sizeof(ph), f);
    fwrite(fr, 1, len, f);
  }
  fclose(f);
}

static void check_read_back(uint32_t link, int ipv6) {
  tcp_seg_t t[16], got[16];
  char err[128], path[64];
  size_t n = tutorial(t), i;
  snprintf(path, sizeof(path), "trace-%u-%d.pcap", link, ipv6);
  write_pcap(path, link, t, n, 8000, ipv6);
  assert_int_equal(pcap_read_tcp(path, 8000, got, 16, err, sizeof(err)),
                   (int)n);
  for (i = 0; i < n; i++) {
    assert_int_equal(got[i].from_client, t[i].from_client);
    assert_int_equal(got[i].flags, t[i].flags);
    assert_int_equal(got[i].seq, t[i].seq);
    assert_int_equal(got[i].ack, t[i].ack);
    assert_int_equal(got[i].len, t[i].len);
    assert_memory_equal(got[i].data, t[i].data, t[i].len);
    assert_true(got[i].time > t[i].time - 1e-5 &&
                got[i].time < t[i].time + 1e-5);
  }
  expect_ok(got, n, &by_timer);
  /* Another port: nothing. Too small a buffer: an error. */
  assert_int_equal(pcap_read_tcp(path, 8001, got, 16, err, sizeof(err)), 0);
  assert_int_equal(pcap_read_tcp(path, 8000, got, 3, err, sizeof(err)), -1);
  remove(path);
}

static void test_pcap_round_trip(void **state) {
  char err[128];
  tcp_seg_t got[4];
  (void)state;
  check_read_back(1, 0);   /* Ethernet, IPv4: Linux lo */
  check_read_back(101, 1); /* raw, IPv6 */
  assert_int_equal(pcap_read_tcp("no-such.pcap", 1, got, 4, err, sizeof(err)),
                   -1);
  assert_non_null(strstr(err, "cannot open"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tutorial_shape_passes),
      cmocka_unit_test(test_merged_fin_ack_passes),
      cmocka_unit_test(test_extra_echoed_bytes_fail),
      cmocka_unit_test(test_server_closing_first_fails),
      cmocka_unit_test(test_reset_fails),
      cmocka_unit_test(test_no_timer_fails),
      cmocka_unit_test(test_missing_fin_or_ack_fails),
      cmocka_unit_test(test_inconsistent_numbers_fail),
      cmocka_unit_test(test_split_data_fails),
      cmocka_unit_test(test_pcap_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
