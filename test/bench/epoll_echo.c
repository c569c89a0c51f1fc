/*
 * epoll_echo: a minimal single-threaded, level-triggered epoll TCP echo
 * server (Linux only). It is the benchmark's "practical single-core
 * limit" peer: reads into one static 64 KiB buffer (read again only
 * while a read filled it, at most 8 times per readiness event), an
 * immediate write of exactly what was read, and a per-connection pending
 * buffer only when that write was partial. Reading pauses while more
 * than 1 MiB is pending and resumes once it has drained.
 *
 * Usage: epoll_echo PORT
 *   Binds 127.0.0.1:PORT. With PORT 0 the kernel picks a port; either way
 *   "listening on 127.0.0.1:PORT" is printed on stdout and flushed.
 *   Exits 0 on SIGINT or SIGTERM.
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o epoll_echo epoll_echo.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_BUF_SIZE (64 * 1024)
#define PENDING_HIGH (1024 * 1024) /* stop reading above this */
#define MAX_EVENTS 256
#define ACCEPTS_PER_EVENT 64
#define READS_PER_EVENT 8

struct conn {
  int fd;
  int reading; /* EPOLLIN in the interest set */
  int writing; /* EPOLLOUT in the interest set */
  int eof;     /* peer sent FIN: flush, then close */
  char *pend;  /* unsent output, only after a partial write */
  size_t pend_off, pend_len, pend_cap;
};

static unsigned char rbuf[READ_BUF_SIZE];
static int epfd = -1;
static int spare_fd = -1; /* closed to accept-and-drop on EMFILE */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
  stop_signal = sig;
}

static void conn_close(struct conn *c) {
  close(c->fd); /* also removes it from the epoll set */
  free(c->pend);
  free(c);
}

/* Bring the interest set in line with what the connection needs. */
static int conn_update(struct conn *c) {
  int want_in = !c->eof && c->pend_len <= PENDING_HIGH;
  int want_out = c->pend_len > 0;
  if (want_in == c->reading && want_out == c->writing)
    return 0;
  struct epoll_event ev = {0};
  ev.events = (want_in ? EPOLLIN : 0) | (want_out ? EPOLLOUT : 0);
  ev.data.ptr = c;
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
    return -1;
  c->reading = want_in;
  c->writing = want_out;
  return 0;
}

/* Append to the pending output, compacting or growing as needed. */
static int pend_append(struct conn *c, const unsigned char *p, size_t n) {
  if (c->pend_off > 0 && c->pend_off + c->pend_len + n > c->pend_cap) {
    memmove(c->pend, c->pend + c->pend_off, c->pend_len);
    c->pend_off = 0;
  }
  if (c->pend_len + n > c->pend_cap) {
    size_t cap = c->pend_cap ? c->pend_cap : 4096;
    while (cap < c->pend_len + n)
      cap *= 2;
    char *q = realloc(c->pend, cap);
    if (!q)
      return -1;
    c->pend = q;
    c->pend_cap = cap;
  }
  memcpy(c->pend + c->pend_off + c->pend_len, p, n);
  c->pend_len += n;
  return 0;
}

/* Write as much pending output as the socket takes. -1: close it. */
static int pend_flush(struct conn *c) {
  while (c->pend_len > 0) {
    ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      return -1; /* EPIPE, ECONNRESET, ... */
    }
    c->pend_off += (size_t)n;
    c->pend_len -= (size_t)n;
  }
  /* Drained: give the memory back so idle connections stay small. */
  free(c->pend);
  c->pend = NULL;
  c->pend_off = c->pend_cap = 0;
  return 0;
}

/* One read, echoed at once. Returns the bytes read (0 on EOF or when
 * nothing was there), or -1 when the connection must be closed. */
static ssize_t echo_once(struct conn *c) {
  ssize_t n;
  do {
    n = recv(c->fd, rbuf, sizeof rbuf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
  if (n == 0) {
    c->eof = 1;
    return 0;
  }
  size_t off = 0;
  if (c->pend_len == 0) {
    while (off < (size_t)n) {
      ssize_t w = send(c->fd, rbuf + off, (size_t)n - off, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR)
          continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
          break;
        return -1;
      }
      off += (size_t)w;
    }
  }
  if (off < (size_t)n && pend_append(c, rbuf + off, (size_t)n - off) < 0)
    return -1;
  return n;
}

/* Read and echo. Returns -1 when the connection must be closed. */
static int on_readable(struct conn *c) {
  /* A short read means the socket is (nearly) drained: stop there, as
   * level triggering reports the rest. A full buffer may have more
   * behind it, so read again (a few times at most, for fairness),
   * unless the echo could not be written in full. */
  for (int i = 0; i < READS_PER_EVENT; i++) {
    ssize_t n = echo_once(c);
    if (n < 0)
      return -1;
    if (n < (ssize_t)sizeof rbuf || c->pend_len > 0)
      break;
  }
  return 0;
}

static void on_conn_event(struct conn *c, uint32_t events) {
  if ((events & EPOLLERR) && !(events & EPOLLIN)) {
    conn_close(c);
    return;
  }
  if ((events & EPOLLOUT) && pend_flush(c) < 0) {
    conn_close(c);
    return;
  }
  if ((events & (EPOLLIN | EPOLLHUP)) && c->reading && on_readable(c) < 0) {
    conn_close(c);
    return;
  }
  if (c->eof && c->pend_len == 0) {
    conn_close(c);
    return;
  }
  if (conn_update(c) < 0)
    conn_close(c);
}

static void on_accept(int lfd) {
  for (int i = 0; i < ACCEPTS_PER_EVENT; i++) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED)
        continue;
      if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
        /* Out of descriptors: accept and drop one so the
         * level-triggered listener does not spin. */
        close(spare_fd);
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0)
          close(fd);
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      return; /* EAGAIN or a hard error: wait for the next event */
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
      close(fd);
      continue;
    }
    c->fd = fd;
    c->reading = 1;
    struct epoll_event ev = {0};
    ev.events = EPOLLIN;
    ev.data.ptr = c;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
      conn_close(c);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s PORT\n", argv[0]);
    return 2;
  }
  char *end;
  long port = strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
    fprintf(stderr, "epoll_echo: bad port '%s'\n", argv[1]);
    return 2;
  }

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  signal(SIGPIPE, SIG_IGN);
  /* SIGINT/SIGTERM stay blocked except inside epoll_pwait, so a
   * signal can never slip in between the flag check and the wait. */
  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, SIGINT);
  sigdelset(&waitmask, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    perror("epoll_echo: socket");
    return 1;
  }
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  sin.sin_port = htons((unsigned short)port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) < 0) {
    perror("epoll_echo: bind");
    return 1;
  }
  if (listen(lfd, SOMAXCONN) < 0) {
    perror("epoll_echo: listen");
    return 1;
  }
  socklen_t slen = sizeof sin;
  if (getsockname(lfd, (struct sockaddr *)&sin, &slen) < 0) {
    perror("epoll_echo: getsockname");
    return 1;
  }
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) {
    perror("epoll_echo: epoll_create1");
    return 1;
  }
  struct epoll_event lev = {0};
  lev.events = EPOLLIN;
  lev.data.ptr = NULL; /* NULL marks the listener */
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) {
    perror("epoll_echo: epoll_ctl");
    return 1;
  }

  printf("listening on 127.0.0.1:%u\n", (unsigned)ntohs(sin.sin_port));
  fflush(stdout);

  struct epoll_event evs[MAX_EVENTS];
  while (!stop_signal) {
    int n = epoll_pwait(epfd, evs, MAX_EVENTS, -1, &waitmask);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("epoll_echo: epoll_pwait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      if (evs[i].data.ptr == NULL)
        on_accept(lfd);
      else
        on_conn_event(evs[i].data.ptr, evs[i].events);
    }
  }
  /* Open connections are closed by the exit itself. */
  return 0;
}
