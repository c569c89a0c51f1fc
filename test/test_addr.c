/* Address formatting for logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/addr.h"

#include <string.h>

static void check(const char *ip, int port, const char *want) {
  struct sockaddr_storage ss;
  char buf[ADDR_STR_SIZE];
  memset(&ss, 0, sizeof(ss));
  if (strchr(ip, ':'))
    assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss), 0);
  else
    assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss), 0);
  assert_int_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)), 0);
  assert_string_equal(buf, want);
  assert_int_equal(addr_port((struct sockaddr *)&ss), port);
}

static void test_format(void **state) {
  (void)state;
  check("127.0.0.1", 8000, "127.0.0.1:8000");
  check("0.0.0.0", 0, "0.0.0.0:0");
  check("::1", 8000, "[::1]:8000");
  check("::", 65535, "[::]:65535");
  check("fe80::1", 1, "[fe80::1]:1");
  /* What a dual-stack listener reports for IPv4 peers. */
  check("::ffff:127.0.0.1", 56950, "127.0.0.1:56950");
}

static void test_other_family(void **state) {
  struct sockaddr_storage ss;
  char buf[ADDR_STR_SIZE];
  (void)state;
  memset(&ss, 0, sizeof(ss));
  ss.ss_family = AF_UNSPEC;
  assert_int_equal(addr_format((struct sockaddr *)&ss, buf, sizeof(buf)),
                   UV_EAFNOSUPPORT);
  assert_int_equal(addr_port((struct sockaddr *)&ss), -1);
}

static void test_resolve_numeric(void **state) {
  uv_getaddrinfo_t req;
  char buf[ADDR_STR_SIZE];
  (void)state;
  /* Synchronous lookups of literals, brackets accepted. */
  assert_int_equal(addr_resolve(uv_default_loop(), &req, NULL, "[::1]", 80, 0),
                   0);
  assert_int_equal(addr_format(req.addrinfo->ai_addr, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "[::1]:80");
  uv_freeaddrinfo(req.addrinfo);
  assert_int_equal(
      addr_resolve(uv_default_loop(), &req, NULL, "127.0.0.1", 8000, 1), 0);
  assert_int_equal(addr_format(req.addrinfo->ai_addr, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "127.0.0.1:8000");
  uv_freeaddrinfo(req.addrinfo);
}

/* --source-ip's list: literals of either family, in order, port 0; the
 * first bad entry (empty ones too) named, and no more than the maximum. */
static void test_parse_list(void **state) {
  struct sockaddr_storage a[3];
  const char *bad = NULL;
  size_t bad_len = 0;
  char buf[ADDR_STR_SIZE];
  static const char list[] = "127.0.0.2,[::1],10.1.2.3";
  (void)state;

  assert_int_equal(addr_parse_list(list, a, 3, &bad, &bad_len), 3);
  assert_int_equal(addr_format((struct sockaddr *)&a[0], buf, sizeof(buf)), 0);
  assert_string_equal(buf, "127.0.0.2:0");
  assert_int_equal(addr_format((struct sockaddr *)&a[1], buf, sizeof(buf)), 0);
  assert_string_equal(buf, "[::1]:0");
  assert_int_equal(addr_format((struct sockaddr *)&a[2], buf, sizeof(buf)), 0);
  assert_string_equal(buf, "10.1.2.3:0");
  assert_int_equal(addr_parse_list("::1", a, 3, &bad, &bad_len), 1);
  assert_int_equal(a[0].ss_family, AF_INET6);

  assert_int_equal(addr_parse_list("127.0.0.1,localhost", a, 3, &bad, &bad_len),
                   -1);
  assert_int_equal(bad_len, 9);
  assert_memory_equal(bad, "localhost", 9);
  assert_int_equal(addr_parse_list("127.0.0.1,,::1", a, 3, &bad, &bad_len), -1);
  assert_int_equal(bad_len, 0);
  assert_int_equal(addr_parse_list("", a, 3, &bad, &bad_len), -1);
  assert_int_equal(addr_parse_list("127.0.0.1,", a, 3, &bad, &bad_len), -1);
  assert_int_equal(addr_parse_list("1.2.3.4:80", a, 3, &bad, &bad_len), -1);
  assert_int_equal(addr_parse_list("256.0.0.1", a, 3, &bad, &bad_len), -1);
  /* A fourth address does not fit in three. */
  assert_int_equal(
      addr_parse_list("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4", a, 3, &bad, &bad_len),
      -1);
  assert_memory_equal(bad, "4.4.4.4", 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_other_family),
      cmocka_unit_test(test_resolve_numeric),
      cmocka_unit_test(test_parse_list),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  uv_loop_close(uv_default_loop());
  return rc;
}
