/* The PROXY protocol header parser: every accepted form of versions 1 and
 * 2, every error, each header fed one more byte at a time (the result of
 * every prefix is checked), and the bytes after a header left alone. Each
 * prefix is parsed from a heap block of exactly its size, so that reading
 * past it shows under ASan and valgrind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/addr.h"
#include "server/proxy_header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What follows the headers: another header and a CRLF, which must not be
 * taken for part of the first. */
static const char payload[] = "PROXY TCP4 9.9.9.9 9.9.9.9 9 9\r\nHi\r\n";
#define PAYLOAD_LEN (sizeof(payload) - 1)

static const char v2_sig[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                '\n', 'Q',  'U',  'I',  'T',  '\n'};

/* Parses the first len bytes of data from a block of exactly len bytes;
 * out starts as garbage, so that what the parser leaves unset shows. */
static proxy_header_status_t parse_exact(const char *data, size_t len,
                                         proxy_header_t *out) {
  char *copy = malloc(len > 0 ? len : 1);
  proxy_header_status_t st;
  assert_non_null(copy);
  if (len > 0)
    memcpy(copy, data, len);
  memset(out, 0xa5, sizeof(*out));
  st = proxy_header_parse(len > 0 ? copy : NULL, len, out);
  free(copy);
  return st;
}

static void assert_address(const struct sockaddr_storage *ss, int family,
                           const char *want) {
  char text[ADDR_STR_SIZE];
  assert_int_equal(ss->ss_family, family);
  if (family == AF_UNSPEC)
    return;
  assert_int_equal(addr_format((const struct sockaddr *)ss, text, sizeof(text)),
                   0);
  assert_string_equal(text, want);
}

/* A valid header of hdr_len bytes: every shorter prefix needs more, and
 * with any part of the payload after it the header is the same, its
 * length exactly hdr_len. want_src NULL: no addresses. */
static void expect_done(const char *hdr, size_t hdr_len, int version,
                        int family, const char *want_src,
                        const char *want_dst) {
  size_t total = hdr_len + PAYLOAD_LEN, k;
  char *buf = malloc(total);
  proxy_header_t h;

  assert_non_null(buf);
  memcpy(buf, hdr, hdr_len);
  memcpy(buf + hdr_len, payload, PAYLOAD_LEN);
  for (k = 0; k < hdr_len; k++) {
    if (parse_exact(buf, k, &h) != PROXY_HEADER_NEED_MORE)
      fail_msg("prefix of %lu of %lu bytes: not NEED_MORE", (unsigned long)k,
               (unsigned long)hdr_len);
    assert_null(h.error);
  }
  for (k = hdr_len; k <= total; k++) {
    assert_int_equal(parse_exact(buf, k, &h), PROXY_HEADER_DONE);
    assert_int_equal(h.consumed, hdr_len);
    assert_int_equal(h.version, version);
    assert_int_equal(h.family, family);
    assert_null(h.error);
    assert_address(&h.src, family, want_src);
    assert_address(&h.dst, family, want_dst);
  }
  free(buf);
}

static void expect_done_v1(const char *line, int family, const char *want_src,
                           const char *want_dst) {
  expect_done(line, strlen(line), 1, family, want_src, want_dst);
}

/* An invalid start of len bytes: NEED_MORE up to the first at bytes, then
 * the reason, which stays for every longer prefix. */
static void expect_error(const char *data, size_t len, size_t at,
                         const char *reason) {
  proxy_header_t h;
  size_t k;

  assert_true(at >= 1 && at <= len);
  for (k = 0; k <= len; k++) {
    proxy_header_status_t st = parse_exact(data, k, &h);
    if (k < at) {
      if (st != PROXY_HEADER_NEED_MORE)
        fail_msg("%s: prefix of %lu bytes: %s, not NEED_MORE", reason,
                 (unsigned long)k, st == PROXY_HEADER_ERROR ? h.error : "DONE");
      continue;
    }
    assert_int_equal(st, PROXY_HEADER_ERROR);
    assert_non_null(h.error);
    assert_string_equal(h.error, reason);
    assert_int_equal(h.consumed, 0);
    assert_int_equal(h.family, AF_UNSPEC);
  }
}

/* A version 1 line that fails once it is whole. */
static void expect_error_v1(const char *line, const char *reason) {
  expect_error(line, strlen(line), strlen(line), reason);
}

/* A version 2 header: signature, version and command, family, the stated
 * length, then have bytes of body (zeros where body is NULL). */
static size_t v2(char *b, int ver_cmd, int fam, size_t stated,
                 const unsigned char *body, size_t have) {
  memcpy(b, v2_sig, sizeof(v2_sig));
  b[12] = (char)ver_cmd;
  b[13] = (char)fam;
  b[14] = (char)(stated >> 8);
  b[15] = (char)(stated & 0xff);
  if (body != NULL)
    memcpy(b + 16, body, have);
  else
    memset(b + 16, 0, have);
  return 16 + have;
}

/* 203.0.113.7:56324 to 127.0.0.1:8000: addresses, then ports. */
static const unsigned char inet_body[12] = {
    203, 0, 113, 7, 127, 0, 0, 1, 0xdc, 0x04, 0x1f, 0x40,
};
/* [2001:db8::7]:443 to [::1]:65535 */
static const unsigned char inet6_body[36] = {
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, /* src */
    0,    0,    0,    0,    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* dst */
    0x01, 0xbb, 0xff, 0xff,                                     /* ports */
};

static void test_v1_tcp4(void **state) {
  (void)state;
  expect_done_v1("PROXY TCP4 203.0.113.7 127.0.0.1 56324 8000\r\n", AF_INET,
                 "203.0.113.7:56324", "127.0.0.1:8000");
  expect_done_v1("PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
                 AF_INET, "255.255.255.255:65535", "255.255.255.255:65535");
  /* Port 0 and a single zero are allowed; leading zeros are not. */
  expect_done_v1("PROXY TCP4 0.0.0.0 10.0.0.1 0 1\r\n", AF_INET, "0.0.0.0:0",
                 "10.0.0.1:1");
}

static void test_v1_tcp6(void **state) {
  (void)state;
  expect_done_v1("PROXY TCP6 2001:db8::7 ::1 56324 8000\r\n", AF_INET6,
                 "[2001:db8::7]:56324", "[::1]:8000");
  expect_done_v1("PROXY TCP6 2001:DB8:0:0:0:0:0:A :: 1 2\r\n", AF_INET6,
                 "[2001:db8::a]:1", "[::]:2");
  /* The specification's longest TCP6 line, 104 bytes. */
  expect_done_v1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
                 AF_INET6, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
                 "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
  /* An IPv4-mapped address is still an IPv6 one (addr_format shows it as
   * the IPv4 address it is). */
  expect_done_v1("PROXY TCP6 ::ffff:192.0.2.1 ::1 7 8\r\n", AF_INET6,
                 "192.0.2.1:7", "[::1]:8");
}

static void test_v1_unknown(void **state) {
  (void)state;
  expect_done_v1("PROXY UNKNOWN\r\n", AF_UNSPEC, NULL, NULL);
  /* Whatever follows UNKNOWN on the line is ignored. */
  expect_done_v1("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n", AF_UNSPEC, NULL,
                 NULL);
  expect_done_v1("PROXY UNKNOWN  not  even\taddresses 080\r\n", AF_UNSPEC, NULL,
                 NULL);
}

static void test_v1_length_limit(void **state) {
  /* The specification's worst case, exactly 107 bytes with the CRLF. */
  static const char worst[] =
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  char line[300];
  (void)state;
  assert_int_equal(strlen(worst), PROXY_HEADER_V1_MAX);
  expect_done_v1(worst, AF_UNSPEC, NULL, NULL);

  /* 108 bytes: too long, known once 106 bytes came without a CR. */
  memcpy(line, worst, 105);
  memcpy(line + 105, "5\r\n", 4);
  assert_int_equal(strlen(line), PROXY_HEADER_V1_MAX + 1);
  expect_error(line, strlen(line), PROXY_HEADER_V1_MAX - 1, "v1 line too long");

  /* A valid TCP4 line padded into 108 bytes is no different. */
  memset(line, 0, sizeof(line));
  strcpy(line, "PROXY TCP4 1.2.3.4 5.6.7.8 1 2");
  memset(line + strlen(line), 'x', 300 - 1 - strlen(line));
  expect_error(line, 200, PROXY_HEADER_V1_MAX - 1, "v1 line too long");
}

static void test_v1_bad_signature(void **state) {
  (void)state;
  expect_error("GET / HTTP/1.1\r\n", 16, 1, "bad signature");
  expect_error("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", 32, 1, "bad signature");
  expect_error("PROXX TCP4", 10, 5, "bad signature");
  expect_error("PROXY\r\n", 7, 6, "bad signature");
  expect_error("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", 31, 6, "bad signature");
  expect_error("\0PROXY ", 7, 1, "bad signature");
  /* A TLS ClientHello, as from a client that skipped the proxy. */
  expect_error("\x16\x03\x01\x02\x00", 5, 1, "bad signature");
}

static void test_v1_bad_line_end(void **state) {
  (void)state;
  expect_error_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "v1 bad line end");
  expect_error_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "v1 bad line end");
  expect_error("PROXY UNKNOWN\r\r\n", 16, 15, "v1 bad line end");
  /* A bare LF in the middle, seen as soon as it comes. */
  expect_error("PROXY TCP4\n1.2.3.4 5.6.7.8 1 2\r\n", 33, 11,
               "v1 bad line end");
}

static void test_v1_bad_family(void **state) {
  (void)state;
  expect_error_v1("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported family");
  expect_error_v1("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported family");
  expect_error_v1("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported family");
  expect_error_v1("PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n", "unsupported family");
  expect_error_v1("PROXY UNKNOWNX\r\n", "unsupported family");
  expect_error_v1("PROXY TCP46 ::1 ::1 1 2\r\n", "unsupported family");
}

static void test_v1_bad_syntax(void **state) {
  (void)state;
  expect_error_v1("PROXY \r\n", "v1 bad syntax");
  expect_error_v1("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4\r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 \r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "v1 bad syntax");
  expect_error_v1("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n", "v1 bad syntax");
}

static void test_v1_bad_address(void **state) {
  static const char *const lines[] = {
      "PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 5.6.7.08 1 2\r\n",
      "PROXY TCP4 256.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n",
      "PROXY TCP4 +1.2.3.4 5.6.7.8 1 2\r\n",
      "PROXY TCP4 localhost 5.6.7.8 1 2\r\n",
      "PROXY TCP4 ::1 5.6.7.8 1 2\r\n",
      "PROXY TCP4 1.2.3.4 ::1 1 2\r\n",
      "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
      "PROXY TCP6 ::1 5.6.7.8 1 2\r\n",
      "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n",
      "PROXY TCP6 fe80::1%1 ::1 1 2\r\n",
      "PROXY TCP6 1::2::3 ::1 1 2\r\n",
      "PROXY TCP6 12345::1 ::1 1 2\r\n",
      "PROXY TCP6 2001:db8::g ::1 1 2\r\n",
      "PROXY TCP6 [::1] ::1 1 2\r\n",
      "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n",
  };
  /* A NUL inside an address must not end it early. */
  static const char nul[] = "PROXY TCP4 1.2.3.4\0009 5.6.7.8 1 2\r\n";
  char line[PROXY_HEADER_V1_MAX + 1], digits[81];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
    expect_error_v1(lines[i], "bad address");
  expect_error(nul, sizeof(nul) - 1, sizeof(nul) - 1, "bad address");
  /* Longer than any address, yet the line within its limit. */
  memset(digits, '1', sizeof(digits) - 1);
  digits[sizeof(digits) - 1] = '\0';
  snprintf(line, sizeof(line), "PROXY TCP6 %s ::1 1 2\r\n", digits);
  assert_int_equal(strlen(line), 101);
  expect_error_v1(line, "bad address");
}

static void test_v1_bad_port(void **state) {
  static const char *const ports[] = {
      "65536", "99999", "123456", "080", "00", "-1", "+1", "1a", "0x10", "1.5",
  };
  char line[128];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
    snprintf(line, sizeof(line), "PROXY TCP4 1.2.3.4 5.6.7.8 %s 2\r\n",
             ports[i]);
    expect_error_v1(line, "bad port");
    snprintf(line, sizeof(line), "PROXY TCP6 ::1 ::2 1 %s\r\n", ports[i]);
    expect_error_v1(line, "bad port");
  }
}

static void test_v2_proxy(void **state) {
  char b[512];
  unsigned char body[64];
  size_t n;
  (void)state;
  n = v2(b, 0x21, 0x11, 12, inet_body, 12);
  expect_done(b, n, 2, AF_INET, "203.0.113.7:56324", "127.0.0.1:8000");
  n = v2(b, 0x21, 0x21, 36, inet6_body, 36);
  expect_done(b, n, 2, AF_INET6, "[2001:db8::7]:443", "[::1]:65535");

  /* TLVs (a NOOP and an ALPN) after the addresses: skipped. */
  memcpy(body, inet_body, 12);
  memcpy(body + 12,
         "\x04\x00\x03"
         "abc"
         "\x01\x00\x02"
         "h2",
         11);
  n = v2(b, 0x21, 0x11, 23, body, 23);
  assert_int_equal(n, 39);
  expect_done(b, n, 2, AF_INET, "203.0.113.7:56324", "127.0.0.1:8000");
}

static void test_v2_without_addresses(void **state) {
  char b[512];
  size_t n;
  (void)state;
  /* LOCAL, as HAProxy's health checks send it. */
  n = v2(b, 0x20, 0x00, 0, NULL, 0);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  /* LOCAL ignores the family and any addresses, but skips them. */
  n = v2(b, 0x20, 0x11, 12, inet_body, 12);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  n = v2(b, 0x20, 0xff, 3, (const unsigned char *)"xyz", 3);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  /* PROXY with an unspecified family, or a valid one we have no use for
   * (UDP, UNIX), falls back to "unspecified". */
  n = v2(b, 0x21, 0x00, 0, NULL, 0);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  n = v2(b, 0x21, 0x12, 12, inet_body, 12);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  n = v2(b, 0x21, 0x22, 36, inet6_body, 36);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
  n = v2(b, 0x21, 0x31, 216, NULL, 216);
  expect_done(b, n, 2, AF_UNSPEC, NULL, NULL);
}

static void test_v2_length_cap(void **state) {
  char *b = malloc(PROXY_HEADER_MAX + 64);
  size_t n, body = PROXY_HEADER_MAX - 16;
  (void)state;
  assert_non_null(b);
  /* The longest accepted: 16 + 4080 bytes, addresses then TLV bytes. */
  n = v2(b, 0x21, 0x11, body, NULL, body);
  memcpy(b + 16, inet_body, 12);
  assert_int_equal(n, PROXY_HEADER_MAX);
  expect_done(b, n, 2, AF_INET, "203.0.113.7:56324", "127.0.0.1:8000");
  /* One more: refused from its 16th byte on, not waited for. */
  n = v2(b, 0x21, 0x11, body + 1, NULL, body + 1);
  expect_error(b, n, 16, "v2 header too long");
  n = v2(b, 0x20, 0x00, 0xffff, NULL, 40);
  expect_error(b, n, 16, "v2 header too long");
  free(b);
}

static void test_v2_errors(void **state) {
  char b[512];
  size_t n;
  (void)state;
  n = v2(b, 0x11, 0x11, 12, inet_body, 12);
  expect_error(b, n, 16, "v2 bad version");
  n = v2(b, 0x31, 0x11, 12, inet_body, 12);
  expect_error(b, n, 16, "v2 bad version");
  n = v2(b, 0x01, 0x11, 12, inet_body, 12);
  expect_error(b, n, 16, "v2 bad version");
  n = v2(b, 0x22, 0x11, 12, inet_body, 12);
  expect_error(b, n, 16, "v2 bad command");
  n = v2(b, 0x2f, 0x00, 0, NULL, 0);
  expect_error(b, n, 16, "v2 bad command");
  n = v2(b, 0x21, 0x41, 12, inet_body, 12);
  expect_error(b, n, 16, "unsupported family");
  n = v2(b, 0x21, 0x13, 12, inet_body, 12);
  expect_error(b, n, 16, "unsupported family");
  /* Fewer address bytes than the family needs. */
  n = v2(b, 0x21, 0x11, 11, inet_body, 11);
  expect_error(b, n, 16, "v2 address block too short");
  n = v2(b, 0x21, 0x21, 35, inet6_body, 35);
  expect_error(b, n, 16, "v2 address block too short");
  n = v2(b, 0x21, 0x21, 12, inet_body, 12);
  expect_error(b, n, 16, "v2 address block too short");
}

static void test_v2_bad_signature(void **state) {
  char b[64];
  size_t n = v2(b, 0x21, 0x11, 12, inet_body, 12);
  (void)state;
  b[11] = '\r'; /* "QUIT\r" */
  expect_error(b, n, 12, "bad signature");
  n = v2(b, 0x21, 0x11, 12, inet_body, 12);
  b[4] = 1;
  expect_error(b, n, 5, "bad signature");
  expect_error("\r\r\n", 3, 2, "bad signature");
  /* A line of text ending in CRLF CRLF is not a header either. */
  expect_error("\r\n\r\nGET", 7, 5, "bad signature");
}

static void test_empty(void **state) {
  proxy_header_t h;
  (void)state;
  assert_int_equal(parse_exact("", 0, &h), PROXY_HEADER_NEED_MORE);
  assert_null(h.error);
  assert_int_equal(h.consumed, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_v1_tcp4),
      cmocka_unit_test(test_v1_tcp6),
      cmocka_unit_test(test_v1_unknown),
      cmocka_unit_test(test_v1_length_limit),
      cmocka_unit_test(test_v1_bad_signature),
      cmocka_unit_test(test_v1_bad_line_end),
      cmocka_unit_test(test_v1_bad_family),
      cmocka_unit_test(test_v1_bad_syntax),
      cmocka_unit_test(test_v1_bad_address),
      cmocka_unit_test(test_v1_bad_port),
      cmocka_unit_test(test_v2_proxy),
      cmocka_unit_test(test_v2_without_addresses),
      cmocka_unit_test(test_v2_length_cap),
      cmocka_unit_test(test_v2_errors),
      cmocka_unit_test(test_v2_bad_signature),
      cmocka_unit_test(test_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
