/* --udp end to end: datagrams of every size echoed exactly, over IPv4 and
 * IPv6, while TCP keeps echoing on the same port; sources that could start
 * a loop get nothing and are counted; a flood is held to --udp-rate while
 * another source is still answered; on Linux, a socket connected to a
 * second local address gets its replies from that address.
 * Usage: test_udp TCPECHO [fast | all | TEST...] */
#include "suite.h"

#include "base/addr.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __linux__
#include <sys/socket.h>
#endif

#define V4_MAX 65507 /* 65,535 - 20 (IPv4 header) - 8 (UDP header) */
#define V6_MAX 65527 /* 65,535 - 8: the IPv6 header is not counted */

/* One UDP socket of the test. */
typedef struct peer_s {
  uv_udp_t udp;
  int closed;
  uint64_t replies;
  uint64_t first_reply_ms;
  size_t len; /* of the last reply */
  struct sockaddr_storage from;
  char got[65536];
} peer_t;

static void on_peer_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  peer_t *p = h->data;
  (void)suggested;
  *buf = uv_buf_init(p->got, sizeof(p->got));
}

static void on_peer_recv(uv_udp_t *udp, ssize_t n, const uv_buf_t *buf,
                         const struct sockaddr *from, unsigned flags) {
  peer_t *p = udp->data;
  (void)buf;
  if (n < 0 || from == NULL)
    return;
  if (flags & UV_UDP_PARTIAL)
    fail_msg("a reply larger than 64 KiB");
  if (p->replies++ == 0)
    p->first_reply_ms = now_ms();
  p->len = (size_t)n;
  memcpy(&p->from, from,
         from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in));
}

static struct sockaddr_storage addr_of(const char *ip, int port) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  if (strchr(ip, ':') != NULL)
    assert_int_equal(uv_ip6_addr(ip, port, (struct sockaddr_in6 *)&ss), 0);
  else
    assert_int_equal(uv_ip4_addr(ip, port, (struct sockaddr_in *)&ss), 0);
  return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

/* A socket bound to ip:port (0: any free one), reading; the bind's error
 * if it fails, the peer then closed. */
static int peer_open(peer_t *p, const char *ip, int port) {
  struct sockaddr_storage local = addr_of(ip, port);
  int err;
  memset(p, 0, offsetof(peer_t, got));
  assert_int_equal(uv_udp_init(suite_loop(), &p->udp), 0);
  p->udp.data = p;
  err = uv_udp_bind(&p->udp, SA(local), 0);
  if (err == 0)
    assert_int_equal(uv_udp_recv_start(&p->udp, on_peer_alloc, on_peer_recv),
                     0);
  return err;
}

static peer_t *new_peer(const char *ip, int port) {
  peer_t *p = malloc(sizeof(*p));
  int err;
  assert_non_null(p);
  err = peer_open(p, ip, port);
  if (err != 0)
    fail_msg("cannot bind UDP to %s port %d: %s", ip, port, err_name(err));
  return p;
}

static void on_peer_closed(uv_handle_t *h) {
  ((peer_t *)h->data)->closed = 1;
}

static int peer_is_closed(const void *arg) {
  return ((const peer_t *)arg)->closed;
}

static void peer_free(peer_t *p) {
  uv_close((uv_handle_t *)&p->udp, on_peer_closed);
  assert_true(wait_for(peer_is_closed, p, 5000));
  free(p);
}

/* Sends one datagram (to the connected address when to is NULL); a full
 * socket buffer is waited out. Returns 0 or the error. */
static int peer_send(peer_t *p, const struct sockaddr *to, const char *data,
                     size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  uint64_t until = now_ms() + 5000;
  int n;
  while ((n = uv_udp_try_send(&p->udp, &buf, 1, to)) == UV_EAGAIN &&
         now_ms() < until)
    uv_run(suite_loop(), UV_RUN_NOWAIT);
  return n < 0 ? n : 0;
}

typedef struct wait_replies_s {
  const peer_t *p;
  uint64_t n;
} wait_replies_t;

static int has_replies(const void *arg) {
  const wait_replies_t *w = arg;
  return w->p->replies >= w->n;
}

/* Whether p has n replies within ms. */
static int replies_within(const peer_t *p, uint64_t n, uint64_t ms) {
  wait_replies_t w;
  w.p = p;
  w.n = n;
  return wait_for(has_replies, &w, ms);
}

static void fill(char *buf, size_t len, uint32_t seed) {
  size_t i;
  for (i = 0; i < len; i++) {
    seed = seed * 1103515245u + 12345u;
    buf[i] = (char)(seed >> 16);
  }
}

/* Sends len bytes to the server and checks that exactly they come back,
 * from the address they were sent to. */
static void expect_echo(peer_t *p, const struct sockaddr *to, size_t len,
                        uint32_t seed) {
  static char data[65536];
  uint64_t before = p->replies;
  fill(data, len, seed);
  assert_int_equal(peer_send(p, to, data, len), 0);
  if (!replies_within(p, before + 1, 10000))
    fail_msg("no reply to a datagram of %lu bytes", (unsigned long)len);
  if (p->replies != before + 1 || p->len != len ||
      memcmp(p->got, data, len) != 0)
    fail_msg("%lu replies to a datagram of %lu bytes, the last of %lu bytes%s",
             (unsigned long)(p->replies - before), (unsigned long)len,
             (unsigned long)p->len, p->len == len ? ", different bytes" : "");
  if (to != NULL) {
    char want[64], got[64];
    (void)uv_ip_name(to, want, sizeof(want));
    (void)uv_ip_name(SA(p->from), got, sizeof(got));
    if (strcmp(want, got) != 0 || addr_port(to) != addr_port(SA(p->from)))
      fail_msg("reply from %s port %d, sent to %s port %d", got,
               addr_port(SA(p->from)), want, addr_port(to));
  }
}

/* Sends a datagram that must get no reply. */
static void expect_silence(peer_t *p, const struct sockaddr *to) {
  uint64_t before = p->replies;
  assert_int_equal(peer_send(p, to, "loop?", 5), 0);
  if (replies_within(p, before + 1, 300))
    fail_msg("a reply to a datagram that should be refused");
}

/* The "UDP:" summary line, every figure of it. */
typedef struct udp_summary_s {
  unsigned long long in, bytes_in, out, bytes_out, refused, not_unicast,
      low_port, our_port, rate, dropped, truncated, queue_full, send_failed,
      errors;
} udp_summary_t;

static void parse_udp(const char *log, udp_summary_t *u) {
  const char *at = strstr(log, "UDP: ");
  if (at == NULL ||
      sscanf(at,
             "UDP: %llu datagrams in (%llu bytes), %llu echoed (%llu "
             "bytes), %llu refused (%llu address not unicast, %llu source "
             "port below 1024, %llu source port is ours, %llu over "
             "--udp-rate), %llu dropped (%llu truncated, %llu send queue "
             "full, %llu send failed), %llu errors",
             &u->in, &u->bytes_in, &u->out, &u->bytes_out, &u->refused,
             &u->not_unicast, &u->low_port, &u->our_port, &u->rate, &u->dropped,
             &u->truncated, &u->queue_full, &u->send_failed, &u->errors) != 14)
    fail_msg("no whole UDP summary line in the log:\n%s", log);
  print_message("  UDP: in %llu (%llu bytes), echoed %llu (%llu bytes), "
                "refused %llu (address %llu, low port %llu, our port %llu, "
                "rate %llu), dropped %llu, errors %llu\n",
                u->in, u->bytes_in, u->out, u->bytes_out, u->refused,
                u->not_unicast, u->low_port, u->our_port, u->rate, u->dropped,
                u->errors);
  expect_eq("UDP refused, as the sum of its reasons", u->refused,
            u->not_unicast + u->low_port + u->our_port + u->rate);
  expect_eq("UDP dropped, as the sum of its reasons", u->dropped,
            u->truncated + u->queue_full + u->send_failed);
  expect_eq("UDP datagrams in, as echoed + refused + dropped", u->in,
            u->out + u->refused + u->dropped);
  expect_eq("UDP errors", u->errors, 0);
}

/* Stops the server; 0 where SIGTERM does not reach its handler. */
static int finish_udp(proc_t *srv, summary_t *tcp, udp_summary_t *u) {
  if (!finish_server(srv, tcp, NULL))
    return 0;
  parse_udp(srv->err, u);
  return 1;
}

static int start_udp_server(proc_t *srv, const char *host, const char *rate) {
  const char *extra[] = {"--quiet", "--udp", "--udp-rate", rate, NULL};
  int port = start_server(srv, host, extra);
  wait_line(srv, "serving UDP on ", NULL, 5000);
  return port;
}

/* A few TCP connections through the same port, each stream verified. */
static void tcp_still_echoes(int port, unsigned count, uint64_t salt) {
  load_t *l = load_new(port, count, salt);
  range_t r;
  unsigned i;
  for (i = 0; i < count; i++) {
    l->conns[i].to_send = 100000;
    l->conns[i].half_close = 1;
  }
  load_connect(l, count);
  r = range_of(l, 0, count);
  assert_true(wait_for(range_settled, &r, 20000));
  for (i = 0; i < count; i++)
    expect_echo_then_eof(&l->conns[i], 100000);
  load_free();
}

/* Random sizes from 0 to 1,472 (what fits an Ethernet frame) and the
 * largest of each family, over IPv4 and IPv6, and TCP on the same port
 * meanwhile; the summary counts them all. */
static void echo_sizes(const char *host, const char *v4, const char *v6) {
  proc_t *srv = new_server(0);
  int port = start_udp_server(srv, host, "0");
  peer_t *p4 = v4 ? new_peer(v4, 0) : NULL;
  peer_t *p6 = v6 ? new_peer(v6, 0) : NULL;
  struct sockaddr_storage to4 = addr_of(v4 ? v4 : "127.0.0.1", port);
  struct sockaddr_storage to6 = addr_of(v6 ? v6 : "::1", port);
  unsigned long long bytes = 0, n = 0;
  uint32_t rng = 12345;
  summary_t tcp;
  udp_summary_t u;
  int i;

  for (i = 0; i < 200; i++) {
    size_t len;
    rng = rng * 1103515245u + 12345u;
    len = (rng >> 8) % 1473;
    if (i == 0)
      len = 0;
    if (i == 1)
      len = 1472;
    if (p4 != NULL) {
      expect_echo(p4, SA(to4), len, rng);
      bytes += len;
      n++;
    }
    if (p6 != NULL) {
      expect_echo(p6, SA(to6), len, rng ^ 0x5a5a);
      bytes += len;
      n++;
    }
    if (i == 100 && p4 != NULL)
      tcp_still_echoes(port, 4, 21);
  }
  if (p4 != NULL) {
    expect_echo(p4, SA(to4), V4_MAX, 7);
    bytes += V4_MAX;
    n++;
  }
  if (p6 != NULL) {
    expect_echo(p6, SA(to6), V6_MAX, 8);
    bytes += V6_MAX;
    n++;
  }
  if (p4 != NULL)
    peer_free(p4);
  if (p6 != NULL)
    peer_free(p6);
  if (!finish_udp(srv, &tcp, &u))
    return;
  expect_eq("UDP datagrams in", u.in, n);
  expect_eq("UDP echoed", u.out, n);
  expect_eq("UDP bytes in", u.bytes_in, bytes);
  expect_eq("UDP bytes echoed", u.bytes_out, bytes);
  expect_eq("TCP sessions", tcp.served, p4 != NULL ? 4 : 0);
  expect_eq("TCP bytes", tcp.echoed, p4 != NULL ? 400000 : 0);
}

static void test_sizes_v4(void **state) {
  (void)state;
  echo_sizes("127.0.0.1", "127.0.0.1", NULL);
}

static void test_sizes_v6(void **state) {
  (void)state;
  echo_sizes("::1", NULL, "::1");
}

/* The server's default: "::" with IPv4 too. */
static void test_sizes_dual_stack(void **state) {
  (void)state;
  echo_sizes("::", "127.0.0.1", "::1");
}

/* Bound to a service's port or to ours: refused, counted, logged. */
static void test_loop_sources(void **state) {
  const char *extra[] = {"--udp", NULL};
  proc_t *srv = new_server(0);
  int port = start_server(srv, "127.0.0.1", extra);
  struct sockaddr_storage to = addr_of("127.0.0.1", port);
  static const int low[] = {19, 1023};
  unsigned long long want_low = 0, want_ours = 0;
  peer_t *ok = new_peer("127.0.0.1", 0);
  peer_t *p = malloc(sizeof(*p));
  summary_t tcp;
  udp_summary_t u;
  size_t i;
  int err;
  (void)state;

  assert_non_null(p);
  for (i = 0; i < sizeof(low) / sizeof(low[0]); i++) {
    err = peer_open(p, "127.0.0.1", low[i]);
    if (err == UV_EACCES || err == UV_EPERM) {
      print_message("  not checked: binding port %d needs privileges here\n",
                    low[i]);
      uv_close((uv_handle_t *)&p->udp, on_peer_closed);
      assert_true(wait_for(peer_is_closed, p, 5000));
      continue;
    }
    if (err != 0)
      fail_msg("cannot bind UDP port %d: %s", low[i], err_name(err));
    expect_silence(p, SA(to));
    expect_silence(p, SA(to));
    want_low += 2;
    uv_close((uv_handle_t *)&p->udp, on_peer_closed);
    assert_true(wait_for(peer_is_closed, p, 5000));
  }
  /* Our port, from a second loopback address: not on macOS, which has
   * only 127.0.0.1, nor under wine, which refuses the port another
   * address holds. */
  err = peer_open(p, "127.0.0.2", port);
  if (err == UV_EADDRNOTAVAIL || err == UV_EADDRINUSE) {
    print_message("  not checked: cannot send from 127.0.0.2 port %d: %s\n",
                  port, err_name(err));
  } else {
    if (err != 0)
      fail_msg("cannot bind 127.0.0.2 port %d: %s", port, err_name(err));
    expect_silence(p, SA(to));
    want_ours++;
  }
  uv_close((uv_handle_t *)&p->udp, on_peer_closed);
  assert_true(wait_for(peer_is_closed, p, 5000));
  free(p);
  /* Anyone else is still answered. */
  expect_echo(ok, SA(to), 100, 3);
  peer_free(ok);
  if (want_low > 0)
    wait_line(srv, "UDP datagram from 127.0.0.1:",
              " refused: source port below 1024 (1 so far)", 5000);
  if (want_ours > 0)
    wait_line(srv, "UDP datagram from 127.0.0.2:",
              " refused: source port is ours (1 so far)", 5000);
  /* One line a second per reason, not one per datagram (four datagrams
   * in some 1.2 s). */
  if (want_low == 4 && count_of(srv->err, "below 1024 (") > 2)
    fail_msg("a line per datagram:\n%s", srv->err);
  if (!finish_udp(srv, &tcp, &u))
    return;
  expect_eq("refused: port below 1024", u.low_port, want_low);
  expect_eq("refused: our port", u.our_port, want_ours);
  expect_eq("refused in all", u.refused, want_low + want_ours);
  expect_eq("echoed", u.out, 1);
}

typedef struct flood_s {
  peer_t *a;     /* the flood's source */
  uint64_t sent; /* by a */
  uint64_t send_errors;
} flood_t;

/* As many as the socket takes, up to n more. */
static void flood_some(flood_t *f, const struct sockaddr *to, uint64_t n) {
  static const char data[32] = "flood flood flood flood flood..";
  uv_buf_t buf = uv_buf_init((char *)data, sizeof(data));
  uint64_t i;
  for (i = 0; i < n; i++) {
    int r = uv_udp_try_send(&f->a->udp, &buf, 1, to);
    if (r == UV_EAGAIN)
      break;
    if (r < 0)
      f->send_errors++;
    else
      f->sent++;
  }
}

/* 100,000 datagrams as fast as they go from one address: answered at the
 * rate (one second's worth at once, then --udp-rate a second), while a
 * second address is answered as soon as it asks. */
static void test_flood_held_to_rate(void **state) {
  enum { RATE = 1000, TOTAL = 100000 };
  proc_t *srv = new_server(0);
  int port = start_udp_server(srv, "::", "1000");
  struct sockaddr_storage to_a = addr_of("127.0.0.1", port);
  struct sockaddr_storage to_b = addr_of("::1", port);
  flood_t f;
  peer_t *b = new_peer("::1", 0);
  uint64_t t0, elapsed_ms, b_asked = 0, b_ms = 0, allowed, b_replies;
  summary_t tcp;
  udp_summary_t u;
  (void)state;

  memset(&f, 0, sizeof(f));
  f.a = new_peer("127.0.0.1", 0);
  t0 = now_ms();
  while (f.sent + f.send_errors < TOTAL && now_ms() - t0 < 60000) {
    flood_some(&f, SA(to_a), 1000);
    uv_run(suite_loop(), UV_RUN_NOWAIT);
    /* Well into the flood, the second source asks, every 20 ms until
     * answered (the flood fills the server's socket buffer: the system
     * drops some of them). */
    if (f.sent >= TOTAL / 10 && b->replies == 0 &&
        (b_asked == 0 || now_ms() - b_asked >= 20)) {
      if (b_asked == 0)
        b_ms = now_ms();
      b_asked = now_ms();
      assert_int_equal(peer_send(b, SA(to_b), "second source", 13), 0);
    }
  }
  /* The flood may be over before the second source had its answer. */
  if (b_ms == 0)
    b_ms = now_ms();
  while (b->replies == 0 && now_ms() - b_ms < 5000) {
    if (now_ms() - b_asked >= 20) {
      b_asked = now_ms();
      assert_int_equal(peer_send(b, SA(to_b), "second source", 13), 0);
    }
    pause_ms(10);
  }
  /* Its datagrams compete with the flood for room in the server's socket
   * buffer, where the system drops what does not fit: answered as soon as
   * one of them gets in, in well under a second here, some 2 s under
   * wine or valgrind. */
  if (b->replies == 0 || b->first_reply_ms - b_ms > 5000)
    fail_msg("the second source had no answer within 5 s of asking");
  print_message("  second source answered %llu ms after it first asked\n",
                (unsigned long long)(b->first_reply_ms - b_ms));
  pause_ms(300); /* replies still on their way */
  elapsed_ms = now_ms() - t0;
  /* What the bucket allows over that time, at most. */
  allowed = RATE + RATE * (elapsed_ms + 999) / 1000;
  print_message("  flood: %llu sent (%llu refused by the system) in %llu "
                "ms, %llu replies, at most %llu allowed\n",
                (unsigned long long)f.sent, (unsigned long long)f.send_errors,
                (unsigned long long)elapsed_ms,
                (unsigned long long)f.a->replies, (unsigned long long)allowed);
  if (f.sent < TOTAL / 2)
    fail_msg("only %llu of %d datagrams sent", (unsigned long long)f.sent,
             TOTAL);
  if (f.a->replies > allowed)
    fail_msg("%llu replies to the flood, more than %llu allowed",
             (unsigned long long)f.a->replies, (unsigned long long)allowed);
  if (f.a->replies == 0)
    fail_msg("no reply to the flood at all");
  b_replies = b->replies;
  peer_free(f.a);
  peer_free(b);
  if (!finish_udp(srv, &tcp, &u))
    return;
  /* The server's own count, over a longer time: from before the first
   * datagram to its summary. */
  elapsed_ms = now_ms() - t0;
  allowed = RATE + RATE * (elapsed_ms + 999) / 1000;
  if (u.out - b_replies > allowed)
    fail_msg("the server echoed %llu to the flood, more than %llu allowed",
             u.out - (unsigned long long)b_replies,
             (unsigned long long)allowed);
  if (u.rate == 0)
    fail_msg("no datagram refused as over --udp-rate");
  wait_line(srv, "UDP datagram from 127.0.0.1:", " refused: over --udp-rate (",
            1000);
  expect_eq("refused for a port", u.our_port + u.low_port, 0);
}

/* The "UDP:" line of loop k (from 1), or with k 0 the total: the one
 * not after "loop K: ". */
static void parse_udp_of(const char *log, unsigned k, udp_summary_t *u) {
  char label[32];
  const char *at = log;
  if (k > 0) {
    snprintf(label, sizeof(label), "loop %u: UDP: ", k);
    at = strstr(log, label);
    if (at == NULL)
      fail_msg("no '%s' line in the log:\n%s", label, log);
    parse_udp(at + strlen(label) - strlen("UDP: "), u);
    return;
  }
  while ((at = strstr(at, "UDP: ")) != NULL && at - log >= 2 && at[-2] == ':')
    at++;
  if (at == NULL)
    fail_msg("no total UDP line in the log:\n%s", log);
  parse_udp(at, u);
}

#define SPREAD_ENV "TCPECHO_SPREAD"

/* Whether the server under test spreads datagrams over its loops: where
 * the kernel does, unless it is a Windows .exe run from here under wine. */
static int udp_spread_expected(void) {
#if defined(__linux__) || defined(__FreeBSD__) || defined(__DragonFly__)
  const char *path = suite_tcpecho();
  size_t n = strlen(path);
  return n < 4 || strcmp(path + n - 4, ".exe") != 0;
#else
  return 0;
#endif
}
#define SPREAD_PEERS 48

/* --threads 2: datagrams from many source ports, over IPv4 and IPv6, all
 * echoed; where the kernel spreads them (Linux) both loops answer some,
 * elsewhere the first only; the total is the sum of the loops. spread:
 * TCPECHO_SPREAD, which moves TCP's connections and must not move UDP. */
static void spread_over_loops(const char *spread) {
  const char *extra[] = {"--quiet",   "--udp", "--udp-rate", "0",
                         "--threads", "2",     "--stats",    "0.2",
                         "--verbose", NULL};
  proc_t *srv = new_server(0);
  peer_t *peers[SPREAD_PEERS];
  udp_summary_t total, loop1, loop2;
  unsigned long long n = 0;
  summary_t tcp;
  int port, i, j;

  if (spread != NULL)
    assert_int_equal(uv_os_setenv(SPREAD_ENV, spread), 0);
  else
    (void)uv_os_unsetenv(SPREAD_ENV);
  port = start_server(srv, "::", extra);
  (void)uv_os_unsetenv(SPREAD_ENV);
  wait_line(srv, "serving UDP on [::]:", NULL, 5000);
  if (udp_spread_expected() &&
      !has_line_with(srv->err, "serving UDP on [::]:",
                     " on every loop (datagrams spread by the kernel: "
                     "SO_REUSEPORT)"))
    fail_msg("UDP should be on every loop:\n%s", srv->err);
  if (!udp_spread_expected() && !has_line_with(srv->err, "serving UDP on [::]:",
                                               " on the first loop only"))
    fail_msg("UDP should be on the first loop:\n%s", srv->err);
  for (i = 0; i < SPREAD_PEERS; i++) {
    const char *ip = i % 4 == 3 ? "::1" : "127.0.0.1";
    struct sockaddr_storage to = addr_of(ip, port);
    peers[i] = new_peer(ip, 0);
    for (j = 0; j < 3; j++, n++)
      expect_echo(peers[i], SA(to), 32 + (size_t)(i * 3 + j),
                  (uint32_t)(i * 3 + j));
  }
  /* A --stats line with both loops' own after it. */
  wait_line(srv, "loop 2: UDP stats: ", NULL, 5000);
  for (i = 0; i < SPREAD_PEERS; i++)
    peer_free(peers[i]);
  if (!finish_udp(srv, &tcp, &total))
    return;
  parse_udp_of(srv->err, 0, &total);
  parse_udp_of(srv->err, 1, &loop1);
  parse_udp_of(srv->err, 2, &loop2);
  expect_eq("UDP datagrams in, in all", total.in, n);
  expect_eq("UDP echoed, in all", total.out, n);
  expect_eq("UDP in, as the sum of the loops", total.in, loop1.in + loop2.in);
  expect_eq("UDP echoed, as the sum of the loops", total.out,
            loop1.out + loop2.out);
  expect_eq("UDP bytes echoed, as the sum of the loops", total.bytes_out,
            loop1.bytes_out + loop2.bytes_out);
  if (udp_spread_expected() && (loop1.in == 0 || loop2.in == 0))
    fail_msg("%d sources, and loop 1 got %llu datagrams, loop 2 %llu",
             SPREAD_PEERS, loop1.in, loop2.in);
  if (!udp_spread_expected())
    expect_eq("UDP datagrams on loop 2", loop2.in, 0);
}

static void test_threads_spread(void **state) {
  (void)state;
  spread_over_loops(NULL);
}

static void test_threads_spread_shared(void **state) {
  (void)state;
  spread_over_loops("shared");
}

static void test_threads_spread_handoff(void **state) {
  (void)state;
  spread_over_loops("handoff");
}

#ifdef __linux__
/* A UDP port another socket holds with SO_REUSEPORT is not joined: the
 * first of the server's group binds alone first, and fails. */
static void test_threads_port_held(void **state) {
  /* Static: a failure leaves it in the loop, not on a stack gone by then. */
  static uv_udp_t held;
  char port_s[16];
  const char *args[] = {"--server", "--host",    "127.0.0.1", "--port", port_s,
                        "--udp",    "--threads", "2",         NULL};
  proc_t *srv = new_server(0);
  int attempt;
  (void)state;

  /* The held port is free for UDP only: another program may take its TCP
   * twin meanwhile, and then the server rightly fails on TCP. Retry. */
  for (attempt = 0; attempt < 10; attempt++) {
    struct sockaddr_storage ss = addr_of("127.0.0.1", 0);
    int len = (int)sizeof(ss), on = 1, tcp_taken;
    uv_os_fd_t fd;

    assert_int_equal(uv_udp_init_ex(suite_loop(), &held, AF_INET), 0);
    assert_int_equal(uv_fileno((uv_handle_t *)&held, &fd), 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)),
                     0);
    assert_int_equal(uv_udp_bind(&held, SA(ss), 0), 0);
    assert_int_equal(uv_udp_getsockname(&held, (struct sockaddr *)&ss, &len),
                     0);
    snprintf(port_s, sizeof(port_s), "%d", addr_port(SA(ss)));
    proc_start(srv, args);
    wait_exit(srv, 1);
    tcp_taken =
        has_line_with(srv->err, "listen tcp 127.0.0.1:", ": EADDRINUSE (");
    uv_close((uv_handle_t *)&held, NULL);
    uv_run(suite_loop(), UV_RUN_NOWAIT);
    if (!tcp_taken)
      break;
  }
  if (!has_line_with(srv->err, "listen udp 127.0.0.1:", ": EADDRINUSE ("))
    fail_msg("no 'listen udp ... EADDRINUSE' line:\n%s", srv->err);
}

/* Linux answers on all of 127/8: a server on every address must answer
 * from the one each datagram went to, or a connected socket drops it. */
static void connected_to_second_address(const char *host) {
  proc_t *srv = new_server(0);
  int port = start_udp_server(srv, host, "0");
  struct sockaddr_storage to2 = addr_of("127.0.0.2", port);
  struct sockaddr_storage to3 = addr_of("127.0.0.3", port);
  peer_t *c = new_peer("127.0.0.1", 0);
  peer_t *u = new_peer("127.0.0.1", 0);
  summary_t tcp;
  udp_summary_t s;
  int i;

  assert_int_equal(uv_udp_connect(&c->udp, SA(to2)), 0);
  for (i = 0; i < 5; i++)
    expect_echo(c, NULL, 100 + (size_t)i, (uint32_t)i);
  /* Unconnected: the reply's source is the address it was sent to. */
  expect_echo(u, SA(to3), 64, 9);
  expect_echo(u, SA(to2), 64, 10);
  tcp_still_echoes(port, 2, 22);
  peer_free(c);
  peer_free(u);
  if (!finish_udp(srv, &tcp, &s))
    return;
  expect_eq("echoed", s.out, 7);
}

static void test_connected_any_v4(void **state) {
  (void)state;
  connected_to_second_address("0.0.0.0");
}

static void test_connected_dual_stack(void **state) {
  (void)state;
  connected_to_second_address("::");
}
#endif

int main(int argc, char **argv) {
  static const suite_test_t tests[] = {
      SUITE_TEST(test_sizes_v4),
      SUITE_TEST(test_sizes_v6),
      SUITE_TEST(test_sizes_dual_stack),
      SUITE_TEST(test_loop_sources),
      SUITE_TEST(test_flood_held_to_rate),
      SUITE_TEST(test_threads_spread),
      SUITE_TEST(test_threads_spread_shared),
      SUITE_TEST(test_threads_spread_handoff),
#ifdef __linux__
      SUITE_TEST(test_threads_port_held),
      SUITE_TEST(test_connected_any_v4),
      SUITE_TEST(test_connected_dual_stack),
#endif
  };
  return suite_main(argc, argv, "udp", tests, sizeof(tests) / sizeof(tests[0]));
}
