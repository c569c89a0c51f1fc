/*
 * udp_echo: a minimal single-threaded UDP echo server, the benchmark's
 * reference for tcpecho --server --udp as epoll_echo is for TCP. Blocking
 * calls, no event loop: on Linux recvmmsg(2) takes up to 64 datagrams at
 * once (waiting for the first only) and sendmmsg(2) sends each back to its
 * source with exactly its bytes; elsewhere recvfrom(2) and sendto(2), one
 * datagram at a time. Datagrams up to 65,507 bytes are echoed whole; a
 * truncated one is dropped, never echoed in part. It answers anyone: none
 * of tcpecho's refusal rules or rate limit (which is the cost being
 * measured against it).
 *
 * Usage: udp_echo PORT [ADDR]
 *   Binds ADDR:PORT (default 127.0.0.1; an IPv6 address works too). With
 *   PORT 0 the kernel picks a port; either way "listening on ADDR:PORT" is
 *   printed on stdout and flushed. Exits 0 on SIGINT or SIGTERM, after
 *   "udp_echo: N datagrams in, M echoed, D dropped" on stderr.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o udp_echo udp_echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define DGRAM_MAX 65536 /* every datagram fits, so truncation is seen */
#define BATCH 64

static volatile sig_atomic_t stop_signal;
static unsigned long long in, echoed, dropped;

static void on_signal(int sig) {
  stop_signal = sig;
}

static void die(const char *what) {
  fprintf(stderr, "udp_echo: %s: %s\n", what, strerror(errno));
  exit(1);
}

#ifdef __linux__
static unsigned char bufs[BATCH][DGRAM_MAX];
static struct sockaddr_storage peers[BATCH];
static struct iovec iovs[BATCH];
static struct mmsghdr msgs[BATCH], out[BATCH];

/* One batch in, the good ones back in the same order. 0 once stopping. */
static int echo_batch(int fd) {
  int n, i, k = 0, sent;

  for (i = 0; i < BATCH; i++) {
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = DGRAM_MAX;
    memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
    msgs[i].msg_hdr.msg_name = &peers[i];
    msgs[i].msg_hdr.msg_namelen = sizeof(peers[i]);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
  if (n < 0) {
    if (errno == EINTR)
      return !stop_signal;
    die("recvmmsg");
  }
  in += (unsigned long long)n;
  for (i = 0; i < n; i++) {
    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
      dropped++;
      continue;
    }
    out[k] = msgs[i];
    iovs[i].iov_len = msgs[i].msg_len; /* out[k] points at it */
    k++;
  }
  for (i = 0; i < k; i += sent) {
    sent = sendmmsg(fd, out + i, (unsigned)(k - i), 0);
    if (sent < 0) {
      if (errno == EINTR && !stop_signal) {
        sent = 0;
        continue;
      }
      /* A reply the system refuses (a peer gone): not ours to fix. */
      dropped++;
      sent = 1;
      continue;
    }
    echoed += (unsigned long long)sent;
  }
  return !stop_signal;
}
#else
static unsigned char buf[DGRAM_MAX];

static int echo_batch(int fd) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &len);
  if (n < 0) {
    if (errno == EINTR)
      return !stop_signal;
    die("recvfrom");
  }
  in++;
  if ((size_t)n == sizeof(buf)) { /* more than the largest datagram */
    dropped++;
    return !stop_signal;
  }
  if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, len) < 0)
    dropped++;
  else
    echoed++;
  return !stop_signal;
}
#endif

int main(int argc, char **argv) {
  const char *host = argc > 2 ? argv[2] : "127.0.0.1";
  struct sockaddr_storage ss;
  struct sigaction sa;
  socklen_t len;
  char name[INET6_ADDRSTRLEN];
  int fd, port, six = strchr(host, ':') != NULL;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: udp_echo PORT [ADDR]\n");
    return 2;
  }
  port = atoi(argv[1]);
  memset(&ss, 0, sizeof(ss));
  if (six) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
      return fprintf(stderr, "udp_echo: bad address %s\n", host), 2;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
      return fprintf(stderr, "udp_echo: bad address %s\n", host), 2;
  }
  fd = socket(ss.ss_family, SOCK_DGRAM, 0);
  if (fd < 0)
    die("socket");
  len = six ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (struct sockaddr *)&ss, len) != 0)
    die("bind");
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
    die("getsockname");
  port = ntohs(six ? ((struct sockaddr_in6 *)&ss)->sin6_port
                   : ((struct sockaddr_in *)&ss)->sin_port);
  (void)inet_ntop(ss.ss_family,
                  six ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                      : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
                  name, sizeof(name));
  /* No SA_RESTART: a signal ends the blocking receive. */
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  printf(six ? "listening on [%s]:%d\n" : "listening on %s:%d\n", name, port);
  fflush(stdout);
  while (echo_batch(fd))
    ;
  fprintf(stderr, "udp_echo: %llu datagrams in, %llu echoed, %llu dropped\n",
          in, echoed, dropped);
  close(fd);
  return 0;
}
