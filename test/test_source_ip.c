/* --source-ip past one address's ephemeral ports, end to end: in a network
 * namespace of its own whose port range is narrowed to 1,000 ports,
 * 2,500 connections from one address fail with the line that names the
 * shortage, and spread over three loopback addresses they are all made,
 * against tcpecho's server in the same namespace.
 *
 * Needs Linux and the right to make a namespace (root). Without them the
 * test exits 77, which ctest reports as skipped, and says why; with
 * TCPECHO_REQUIRE_NETNS=1 (as in CI, which runs as root) that is a
 * failure.
 * Usage: test_source_ip PATH_TO_TCPECHO */
#ifdef __linux__
#define _GNU_SOURCE /* unshare */
#endif

#include "around.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#endif

#define SKIP_STATUS 77
#define PORTS "40000 40999" /* 1,000 ephemeral ports */

static char why_not[256];

#ifdef __linux__
static int write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  int ok = f != NULL && fputs(text, f) >= 0;
  if (f != NULL && fclose(f) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

/* This process, and so every child it starts, into a network namespace of
 * its own: loopback up, 1,000 ephemeral ports; descriptors for 2,500
 * connections on each side. Returns 0, or -1 with why_not set. */
static int enter_namespace(void) {
  struct ifreq ifr;
  struct rlimit lim;
  int fd;

  if (unshare(CLONE_NEWNET) != 0) {
    snprintf(why_not, sizeof(why_not),
             "cannot make a network namespace (unshare: %s); run as root",
             strerror(errno));
    return -1;
  }
  fd = socket(AF_INET, SOCK_DGRAM, 0);
  memset(&ifr, 0, sizeof(ifr));
  snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
  if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) != 0 ||
      (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)) {
    snprintf(why_not, sizeof(why_not), "cannot bring lo up: %s",
             strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  if (write_file("/proc/sys/net/ipv4/ip_local_port_range", PORTS) != 0) {
    snprintf(why_not, sizeof(why_not),
             "cannot narrow net.ipv4.ip_local_port_range: %s", strerror(errno));
    return -1;
  }
  /* Up to the hard limit (20,000 on the machines this runs on). */
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur < 2600) {
    snprintf(why_not, sizeof(why_not),
             "2,600 descriptors are needed, the limit is lower");
    return -1;
  }
  return 0;
}
#else
static int enter_namespace(void) {
  snprintf(why_not, sizeof(why_not), "network namespaces are Linux's");
  return -1;
}
#endif

/* The number before `key` on its line, e.g. the 1501 of "shortage: 1501
 * connections"; -1 if there is none. */
static long number_before(const char *text, const char *prefix) {
  const char *at = strstr(text, prefix);
  return at == NULL ? -1 : strtol(at + strlen(prefix), NULL, 10);
}

static void test_source_ip_spreads_past_the_port_range(void **state) {
  proc_t *srv = calloc(1, sizeof(*srv)), *p = calloc(1, sizeof(*p));
  char port[16];
  const char *qq[] = {"-qq", NULL};
  const char *one[] = {"--bench", "-H", "127.0.0.1", "-p",       port, "-C",
                       "2500",    "-d", "0.5",       "--warmup", "0",  NULL};
  const char *three[] = {"--bench",
                         "-H",
                         "127.0.0.1",
                         "-p",
                         port,
                         "-C",
                         "2500",
                         "-d",
                         "0.5",
                         "--warmup",
                         "0",
                         "--source-ip",
                         "127.0.0.2,127.0.0.3,127.0.0.4",
                         NULL};
  long connected, short_of;
  (void)state;

  fmt_port(port, sizeof(port), start_server(srv, "127.0.0.1", qq));

  /* One address: about 1,000 connections, then no port. */
  proc_start(p, one);
  wait_exit(p, 1);
  connected = number_before(p->out, "setup:    ");
  short_of = number_before(p->out, "shortage: ");
  if (short_of < 0 || connected < 0 || connected > 1000 ||
      connected + short_of != 2500 ||
      strstr(p->out, " connections not made for lack of local ports: ") == NULL)
    fail_msg("no shortage of ports named for the %ld connections not "
             "made:\n%s",
             2500 - connected, p->out);
  assert_true(err_has(p, "bench: FAILED: "));

  /* Three addresses: 3,000 ports for 2,500 connections. */
  proc_start(p, three);
  wait_exit(p, 0);
  if (strstr(p->out, "setup:    2500 of 2500 connected") == NULL ||
      strstr(p->out, "errors:   0 ") == NULL ||
      strstr(p->out, "shortage") != NULL)
    fail_msg("not every connection made from three addresses:\n%s", p->out);
  stop_server(srv, SIGINT);
  free(srv);
  free(p);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_source_ip_spreads_past_the_port_range,
                                proc_kill_all),
  };
  const char *require = getenv("TCPECHO_REQUIRE_NETNS");

  if (enter_namespace() != 0) {
    int required = require != NULL && strcmp(require, "1") == 0;
    fprintf(stderr, "%s: %s\n", required ? "FAILED" : "SKIPPED", why_not);
    return required ? 1 : SKIP_STATUS;
  }
  return around_main(argc, argv, "source_ip", tests,
                     sizeof(tests) / sizeof(tests[0]));
}
