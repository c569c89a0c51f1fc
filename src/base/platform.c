/* The BSDs hide their own names (SO_REUSEPORT_LB) under _POSIX_C_SOURCE
 * and show POSIX's without it. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE) && !defined(__FreeBSD__) &&  \
    !defined(__DragonFly__)
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__linux__) && !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE /* SO_REUSEPORT */
#endif

#include "base/platform.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#ifdef _WIN32
#include <io.h>
#else
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/resource.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

const char *platform_signal_name(int signum) {
  switch (signum) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
#ifdef SIGHUP
  case SIGHUP:
    return "SIGHUP";
#endif
#ifdef SIGBREAK
  case SIGBREAK:
    return "SIGBREAK";
#endif
  default:
    return "signal";
  }
}

#ifdef _WIN32

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_s(out, &t) != 0)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {}

/* A process started without standard handles (a service, a GUI parent)
 * has streams not associated with any descriptor (_fileno() < 0). */
void platform_reopen_std_fds(void) {
  if (_fileno(stdin) < 0)
    (void)freopen("NUL", "r", stdin);
  if (_fileno(stdout) < 0)
    (void)freopen("NUL", "w", stdout);
  if (_fileno(stderr) < 0)
    (void)freopen("NUL", "w", stderr);
}

void platform_write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    unsigned chunk = len > 1u << 30 ? 1u << 30 : (unsigned)len;
    int n = _write(fd, buf, chunk);
    if (n <= 0)
      return;
    buf += n;
    len -= (size_t)n;
  }
}

int platform_write_now(int fd, const char *buf, size_t len) {
  (void)fd;
  (void)buf;
  (void)len;
  return 0;
}

int platform_is_regular_file(int fd) {
  (void)fd;
  return 0;
}

uint64_t platform_fd_limit(void) {
  return 0;
}

void platform_raise_fd_limit(uint64_t *before, uint64_t *after) {
  *before = *after = 0;
}

int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit) {
  (void)handle;
  (void)limit;
  return 0;
}

int platform_reuseport_balances(void) {
  return 0;
}

int platform_shared_listener_balances(void) {
  return 1;
}

int platform_tcp_bind_balanced(uv_tcp_t *tcp, const struct sockaddr *addr,
                               int first) {
  (void)tcp;
  (void)addr;
  (void)first;
  return UV_ENOTSUP;
}

/* Windows picks the port at bind; SO_REUSE_UNICASTPORT, which would
 * defer it, is left to a later version. */
int platform_tcp_bind_no_port(uv_tcp_t *tcp, const struct sockaddr *addr) {
  return uv_tcp_bind(tcp, addr, 0);
}

int platform_dup_socket(uv_os_sock_t sock, uv_os_sock_t *copy) {
  WSAPROTOCOL_INFOW info;
  if (WSADuplicateSocketW(sock, GetCurrentProcessId(), &info) != 0)
    return uv_translate_sys_error(WSAGetLastError());
  *copy = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                     &info, 0, WSA_FLAG_OVERLAPPED);
  if (*copy == INVALID_SOCKET)
    return uv_translate_sys_error(WSAGetLastError());
  return 0;
}

void platform_close_socket(uv_os_sock_t sock) {
  (void)closesocket(sock);
}

int platform_stop_signals(int signums[PLATFORM_STOP_SIGNALS_MAX]) {
  signums[0] = SIGINT;
  signums[1] = SIGBREAK;
  signums[2] = SIGHUP;
  return 3;
}

#else

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_r(&t, out) == NULL)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {
  signal(SIGPIPE, SIG_IGN);
}

void platform_reopen_std_fds(void) {
  int fd;
  for (fd = 0; fd <= 2; fd++) {
    int null_fd;
    if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
      continue;
    /* The lowest free number: fd itself, as those below it are open. */
    null_fd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (null_fd >= 0 && null_fd != fd) {
      dup2(null_fd, fd);
      close(null_fd);
    }
  }
}

void platform_write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    buf += n;
    len -= (size_t)n;
  }
}

int platform_write_now(int fd, const char *buf, size_t len) {
  struct pollfd p;
  if (len > PIPE_BUF)
    return 0;
  p.fd = fd;
  p.events = POLLOUT;
  p.revents = 0;
  if (poll(&p, 1, 0) != 1)
    return 0;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL))
    return 1; /* no reader: the line is lost whoever writes it */
  if (!(p.revents & POLLOUT))
    return 0;
  /* Ready, and at most PIPE_BUF: goes in whole without blocking. */
  platform_write_all(fd, buf, len);
  return 1;
}

int platform_is_regular_file(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

uint64_t platform_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  return (uint64_t)rl.rlim_cur;
}

void platform_raise_fd_limit(uint64_t *before, uint64_t *after) {
  struct rlimit rl;
  *before = *after = platform_fd_limit();
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == rl.rlim_max)
    return;
  rl.rlim_cur = rl.rlim_max;
  /* macOS refuses more than OPEN_MAX for RLIM_INFINITY; keep what we had. */
  if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
    *after = platform_fd_limit();
}

/* Descriptors are handed out lowest first, so the number of the newest
 * tells how many are in use; libuv keeps one in reserve for EMFILE. */
int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit) {
  uv_os_fd_t fd;
  if (limit == 0 || uv_fileno(handle, &fd) != 0 || fd < 0)
    return 0;
  return (uint64_t)fd + 3 >= limit;
}

/* Where SO_REUSEPORT (FreeBSD: SO_REUSEPORT_LB) spreads connections. */
#if defined(__linux__) || defined(__DragonFly__) ||                            \
    (defined(__FreeBSD__) && defined(SO_REUSEPORT_LB))
#define BALANCED_REUSEPORT 1
#else
#define BALANCED_REUSEPORT 0
#endif

int platform_reuseport_balances(void) {
  return BALANCED_REUSEPORT;
}

int platform_shared_listener_balances(void) {
  return 0;
}

/* With SO_REUSEPORT this process could join a group another process of
 * this user listens with, and silently share its connections: first a
 * plain bind, as libuv binds (SO_REUSEADDR, dual-stack), which fails where
 * anyone listens already. A fixed port only: a port the kernel picks is
 * free. */
static int port_taken(const struct sockaddr *addr) {
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
  int on = 1, off = 0, taken = 0;
  int fd = socket(addr->sa_family, SOCK_STREAM, 0);

  if (fd < 0)
    return 0; /* the real bind will say what is wrong */
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (addr->sa_family == AF_INET6)
    (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  taken = bind(fd, addr, len) != 0 && errno == EADDRINUSE;
  close(fd);
  return taken;
}

static int addr_port_of(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET6)
    return ntohs(((const struct sockaddr_in6 *)addr)->sin6_port);
  return ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

int platform_tcp_bind_balanced(uv_tcp_t *tcp, const struct sockaddr *addr,
                               int first) {
#if !BALANCED_REUSEPORT
  (void)tcp;
  (void)addr;
  (void)first;
  return UV_ENOTSUP;
#else
  if (first && addr_port_of(addr) != 0 && port_taken(addr))
    return UV_EADDRINUSE;
#if UV_VERSION_HEX >= 0x013100 /* 1.49 added UV_TCP_REUSEPORT */
  return uv_tcp_bind(tcp, addr, UV_TCP_REUSEPORT);
#else
  /* Set on the socket uv_tcp_init_ex made, before libuv binds it. */
  uv_os_fd_t fd;
  int on = 1, err = uv_fileno((const uv_handle_t *)tcp, &fd);
  if (err != 0)
    return err;
#ifdef SO_REUSEPORT_LB
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT_LB, &on, sizeof(on)) != 0)
#else
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
#endif
    return uv_translate_sys_error(errno);
  return uv_tcp_bind(tcp, addr, 0);
#endif
#endif
}

/* Linux 4.2's, older C libraries without its name included. */
#if defined(__linux__) && !defined(IP_BIND_ADDRESS_NO_PORT)
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

int platform_tcp_bind_no_port(uv_tcp_t *tcp, const struct sockaddr *addr) {
#ifdef IP_BIND_ADDRESS_NO_PORT
  uv_os_fd_t fd;
  int on = 1;
  /* Best effort: without it the bind picks a port, as elsewhere. */
  if (uv_fileno((const uv_handle_t *)tcp, &fd) == 0)
    (void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
#endif
  return uv_tcp_bind(tcp, addr, 0);
}

int platform_dup_socket(uv_os_sock_t sock, uv_os_sock_t *copy) {
  *copy = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  return *copy < 0 ? uv_translate_sys_error(errno) : 0;
}

void platform_close_socket(uv_os_sock_t sock) {
  (void)close(sock);
}

int platform_stop_signals(int signums[PLATFORM_STOP_SIGNALS_MAX]) {
  signums[0] = SIGINT;
  signums[1] = SIGTERM;
  signums[2] = SIGHUP;
  return 3;
}

#endif
