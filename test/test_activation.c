/* Socket activation's variables, without sockets: LISTEN_PID and
 * LISTEN_FDS read against a process ID (every malformed value refused,
 * another process's variables ignored), names taken from LISTEN_FDNAMES,
 * the line that lists what was passed, and activation_take removing the
 * variables from the environment whatever they said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/activation.h"

#include <stdio.h>
#include <string.h>

#define PID 4242

static activation_status_t parse(const char *pid, const char *fds,
                                 unsigned *count) {
  *count = 99; /* must be set whatever the outcome */
  return activation_parse(pid, fds, PID, count);
}

static void test_passed(void **state) {
  unsigned n;
  (void)state;
  assert_int_equal(parse("4242", "1", &n), ACTIVATION_PASSED);
  assert_int_equal(n, 1);
  assert_int_equal(parse("4242", "3", &n), ACTIVATION_PASSED);
  assert_int_equal(n, 3);
  assert_int_equal(parse("4242", "16", &n), ACTIVATION_PASSED);
  assert_int_equal(n, ACTIVATION_MAX_SOCKETS);
  /* Leading zeros are still the number. */
  assert_int_equal(parse("0004242", "01", &n), ACTIVATION_PASSED);
  assert_int_equal(n, 1);
}

/* Unset, or set for another process (a parent's, inherited): none, and
 * LISTEN_FDS is not even looked at. */
static void test_not_for_us(void **state) {
  unsigned n;
  (void)state;
  assert_int_equal(parse(NULL, NULL, &n), ACTIVATION_NONE);
  assert_int_equal(n, 0);
  assert_int_equal(parse(NULL, "1", &n), ACTIVATION_NONE);
  assert_int_equal(n, 0);
  assert_int_equal(parse("4243", "1", &n), ACTIVATION_NONE);
  assert_int_equal(n, 0);
  assert_int_equal(parse("1", "1", &n), ACTIVATION_NONE);
  assert_int_equal(parse("424", "1", &n), ACTIVATION_NONE);
  assert_int_equal(parse("42420", "1", &n), ACTIVATION_NONE);
  assert_int_equal(parse("4243", "nonsense", &n), ACTIVATION_NONE);
  assert_int_equal(n, 0);
  /* Ours, without a count: nothing passed (sd_listen_fds says 0). */
  assert_int_equal(parse("4242", NULL, &n), ACTIVATION_NONE);
  assert_int_equal(n, 0);
}

static void test_bad_pid(void **state) {
  static const char *const bad[] = {"",
                                    "0",
                                    "-4242",
                                    "+4242",
                                    " 4242",
                                    "4242 ",
                                    "42a",
                                    "0x1092",
                                    "4242.0",
                                    "2147483648",
                                    "99999999999999999999"};
  size_t i;
  unsigned n;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (parse(bad[i], "1", &n) != ACTIVATION_BAD_PID)
      fail_msg("LISTEN_PID '%s' should be refused", bad[i]);
    assert_int_equal(n, 0);
  }
}

static void test_bad_count(void **state) {
  static const char *const bad[] = {
      "",   "0",  "00",  "-1", "+1",    " 1",
      "1 ", "1x", "0x1", "17", "65536", "18446744073709551617"};
  size_t i;
  unsigned n;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (parse("4242", bad[i], &n) != ACTIVATION_BAD_COUNT)
      fail_msg("LISTEN_FDS '%s' should be refused", bad[i]);
    assert_int_equal(n, 0);
  }
}

static void expect_name(const char *names, unsigned index, size_t size,
                        const char *want) {
  char buf[16];
  memset(buf, 'x', sizeof(buf));
  assert_true(size <= sizeof(buf));
  activation_name(names, index, buf, size);
  assert_string_equal(buf, want);
}

static void test_names(void **state) {
  (void)state;
  expect_name(NULL, 0, 16, "");
  expect_name("", 0, 16, "");
  expect_name("http", 0, 16, "http");
  expect_name("http", 1, 16, "");
  expect_name("a:bb:ccc", 0, 16, "a");
  expect_name("a:bb:ccc", 1, 16, "bb");
  expect_name("a:bb:ccc", 2, 16, "ccc");
  expect_name("a:bb:ccc", 3, 16, "");
  expect_name("::x", 0, 16, "");
  expect_name("::x", 1, 16, "");
  expect_name("::x", 2, 16, "x");
  /* Cut to the buffer, which always ends in a NUL. */
  expect_name("tcpecho.socket:b", 0, 8, "tcpecho");
  expect_name("tcpecho.socket:b", 1, 8, "b");
  expect_name("abc", 0, 1, "");
}

static void set_socket(activation_socket_t *s, platform_socket_kind_t kind,
                       const char *ip, int port, const char *name) {
  memset(s, 0, sizeof(*s));
  s->kind = kind;
  if (ip != NULL && strchr(ip, ':') != NULL)
    assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&s->local),
                     0);
  else if (ip != NULL)
    assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&s->local), 0);
  snprintf(s->name, sizeof(s->name), "%s", name);
}

static void test_describe(void **state) {
  activation_t a;
  char line[512];
  (void)state;

  memset(&a, 0, sizeof(a));
  a.count = 4;
  set_socket(&a.sockets[0], PLATFORM_SOCKET_TCP, "127.0.0.1", 8000, "");
  set_socket(&a.sockets[1], PLATFORM_SOCKET_UDP, "::", 8000, "echo.socket");
  set_socket(&a.sockets[2], PLATFORM_SOCKET_NONE, NULL, 0, "bad\nname");
  set_socket(&a.sockets[3], PLATFORM_SOCKET_OTHER, NULL, 0, "");
  assert_int_equal(activation_count_of(&a, PLATFORM_SOCKET_TCP), 1);
  assert_int_equal(activation_count_of(&a, PLATFORM_SOCKET_UDP), 1);
  assert_int_equal(activation_count_of(&a, PLATFORM_SOCKET_NONE), 1);
  activation_describe(&a, line, sizeof(line));
  assert_string_equal(line, "fd 3: TCP 127.0.0.1:8000, "
                            "fd 4 (echo.socket): UDP [::]:8000, "
                            "fd 5 (bad\\nname): not a socket, "
                            "fd 6: a socket other than TCP or UDP");

  /* Cut, never past the buffer. */
  memset(line, 'x', sizeof(line));
  activation_describe(&a, line, 20);
  assert_int_equal(strlen(line), 19);
  assert_memory_equal(line, "fd 3: TCP 127.0.0.1", 19);
  assert_int_equal(line[20], 'x');

  a.count = 0;
  activation_describe(&a, line, sizeof(line));
  assert_string_equal(line, "");
  assert_int_equal(activation_count_of(&a, PLATFORM_SOCKET_TCP), 0);
}

static int is_set(const char *name) {
  char buf[64];
  size_t size = sizeof(buf);
  return uv_os_getenv(name, buf, &size) != UV_ENOENT;
}

static void set_env(const char *pid, const char *fds, const char *names) {
  assert_int_equal(uv_os_setenv("LISTEN_PID", pid), 0);
  assert_int_equal(uv_os_setenv("LISTEN_FDS", fds), 0);
  assert_int_equal(uv_os_setenv("LISTEN_FDNAMES", names), 0);
}

/* Whatever the variables said, a program this process starts must not see
 * them; where sockets are not passed so (Windows) they are left alone. */
static void expect_env_taken(void) {
  int left = !platform_inherits_sockets();
  assert_int_equal(is_set("LISTEN_PID"), left);
  assert_int_equal(is_set("LISTEN_FDS"), left);
  assert_int_equal(is_set("LISTEN_FDNAMES"), left);
}

static void test_take_removes_variables(void **state) {
  activation_t a;
  char pid[32];
  (void)state;

  /* Another process's: nothing passed, nothing logged. */
  snprintf(pid, sizeof(pid), "%ld", (long)uv_os_getpid() + 1);
  set_env(pid, "1", "echo.socket");
  a.count = 99;
  assert_int_equal(activation_take(&a), 0);
  assert_int_equal(a.count, 0);
  expect_env_taken();

  /* Ours, with a count that cannot be: refused (a line on stderr). */
  snprintf(pid, sizeof(pid), "%ld", (long)uv_os_getpid());
  set_env(pid, "0", "");
  a.count = 99;
  assert_int_equal(activation_take(&a), platform_inherits_sockets() ? -1 : 0);
  assert_int_equal(a.count, 0);
  expect_env_taken();

  set_env("not a pid", "1", "");
  assert_int_equal(activation_take(&a), platform_inherits_sockets() ? -1 : 0);
  assert_int_equal(a.count, 0);
  expect_env_taken();

  (void)uv_os_unsetenv("LISTEN_PID");
  (void)uv_os_unsetenv("LISTEN_FDS");
  (void)uv_os_unsetenv("LISTEN_FDNAMES");
  assert_int_equal(activation_take(&a), 0);
  assert_int_equal(a.count, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_passed),
      cmocka_unit_test(test_not_for_us),
      cmocka_unit_test(test_bad_pid),
      cmocka_unit_test(test_bad_count),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_describe),
      cmocka_unit_test(test_take_removes_variables),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
