/* The BSDs hide their own names (SO_REUSEPORT_LB) under _POSIX_C_SOURCE
 * and show POSIX's without it. */
#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE) && !defined(__FreeBSD__) &&  \
    !defined(__DragonFly__)
#define _POSIX_C_SOURCE 200809L
#endif
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* SO_REUSEPORT, struct in6_pktinfo */
#endif
#if defined(__APPLE__)
#define _DARWIN_C_SOURCE     /* IP_PKTINFO despite _POSIX_C_SOURCE */
#define __APPLE_USE_RFC_3542 /* IPV6_RECVPKTINFO */
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
#include <sys/uio.h>
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

int platform_udp_bind_balanced(uv_udp_t *udp, const struct sockaddr *addr,
                               platform_bind_t how) {
  (void)udp;
  (void)addr;
  (void)how;
  return UV_ENOTSUP;
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

int platform_inherits_sockets(void) {
  return 0;
}

int platform_inherited_socket(int fd, uv_os_sock_t *sock) {
  (void)fd;
  (void)sock;
  return UV_ENOTSUP;
}

/* Not asked here: no socket is inherited by number (see above). */
platform_socket_kind_t platform_socket_kind(uv_os_sock_t sock,
                                            struct sockaddr_storage *local) {
  (void)sock;
  memset(local, 0, sizeof(*local));
  return PLATFORM_SOCKET_OTHER;
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

#if BALANCED_REUSEPORT
/* With SO_REUSEPORT this process could join a group another process of
 * this user listens with, and silently share its connections: first a
 * plain bind, as libuv binds (TCP: SO_REUSEADDR; dual-stack), which fails
 * where anyone listens already. A fixed port only: a port the kernel picks
 * is free. type: SOCK_STREAM or SOCK_DGRAM (without SO_REUSEADDR, which
 * would let UDP share the port with another socket that set it). */
static int port_taken(const struct sockaddr *addr, int type) {
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
  int on = 1, off = 0, taken = 0;
  int fd = socket(addr->sa_family, type, 0);

  if (fd < 0)
    return 0; /* the real bind will say what is wrong */
  if (type == SOCK_STREAM)
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

/* The first of a group, on a fixed port that is someone's already. */
static int group_port_taken(const struct sockaddr *addr, platform_bind_t how,
                            int type) {
  return how == PLATFORM_BIND_GROUP_FIRST && addr_port_of(addr) != 0 &&
         port_taken(addr, type);
}
#endif

/* Makes fd (not yet bound) a member of the kernel's group for its
 * address; for the first, unless someone has the address already. Returns
 * 0 or a UV_* error. */
static int join_balanced(int fd, const struct sockaddr *addr,
                         platform_bind_t how, int type) {
#if !BALANCED_REUSEPORT
  (void)fd;
  (void)addr;
  (void)how;
  (void)type;
  return UV_ENOTSUP;
#else
  int on = 1;
  if (group_port_taken(addr, how, type))
    return UV_EADDRINUSE;
#ifdef SO_REUSEPORT_LB
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT_LB, &on, sizeof(on)) != 0)
#else
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
#endif
    return uv_translate_sys_error(errno);
  return 0;
#endif
}

int platform_tcp_bind_balanced(uv_tcp_t *tcp, const struct sockaddr *addr,
                               int first) {
#if !BALANCED_REUSEPORT
  (void)tcp;
  (void)addr;
  (void)first;
  return UV_ENOTSUP;
#elif UV_VERSION_HEX >= 0x013100 /* 1.49 added UV_TCP_REUSEPORT */
  if (group_port_taken(
          addr, first ? PLATFORM_BIND_GROUP_FIRST : PLATFORM_BIND_GROUP_JOIN,
          SOCK_STREAM))
    return UV_EADDRINUSE;
  return uv_tcp_bind(tcp, addr, UV_TCP_REUSEPORT);
#else
  /* Set on the socket uv_tcp_init_ex made, before libuv binds it. */
  uv_os_fd_t fd;
  int err = uv_fileno((const uv_handle_t *)tcp, &fd);
  if (err == 0)
    err = join_balanced(
        fd, addr, first ? PLATFORM_BIND_GROUP_FIRST : PLATFORM_BIND_GROUP_JOIN,
        SOCK_STREAM);
  return err != 0 ? err : uv_tcp_bind(tcp, addr, 0);
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

int platform_udp_bind_balanced(uv_udp_t *udp, const struct sockaddr *addr,
                               platform_bind_t how) {
  uv_os_fd_t fd;
  int err = uv_fileno((const uv_handle_t *)udp, &fd);
  if (err == 0 && how != PLATFORM_BIND_ALONE)
    err = join_balanced(fd, addr, how, SOCK_DGRAM);
  return err != 0 ? err : uv_udp_bind(udp, addr, 0);
}

int platform_dup_socket(uv_os_sock_t sock, uv_os_sock_t *copy) {
  *copy = fcntl(sock, F_DUPFD_CLOEXEC, 0);
  return *copy < 0 ? uv_translate_sys_error(errno) : 0;
}

void platform_close_socket(uv_os_sock_t sock) {
  (void)close(sock);
}

/* How IPv4 says where a datagram went and where a reply comes from:
 * IP_PKTINFO where it has ipi_spec_dst (Linux, macOS), else the BSDs'
 * pair of options. */
#if defined(IP_PKTINFO) && (defined(__linux__) || defined(__APPLE__))
#define UDP_DST_V4_PKTINFO 1
#elif defined(IP_RECVDSTADDR) && defined(IP_SENDSRCADDR)
#define UDP_DST_V4_DSTADDR 1
#endif
#if (defined(UDP_DST_V4_PKTINFO) || defined(UDP_DST_V4_DSTADDR)) &&            \
    defined(IPV6_RECVPKTINFO) && defined(IPV6_PKTINFO)
#define UDP_DST 1
#endif

#ifdef UDP_DST

/* Room for a pktinfo of each family, and more than enough alignment. */
#define UDP_CMSG_SPACE 256

static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0,    0,
                                            0, 0, 0, 0, 0xff, 0xff};

int platform_udp_dst_supported(void) {
  return 1;
}

static socklen_t sockaddr_len(const struct sockaddr *sa) {
  return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                   : sizeof(struct sockaddr_in);
}

/* Each option the family's datagrams need; on an IPv6 socket the IPv4 one
 * too, for IPv4 datagrams (where the system takes it: Linux does). */
/* v6only: also open an IPv6 socket to IPv4 (before bind only: a socket
 * bound elsewhere keeps what it was given). */
static int set_dst_options(int fd, int family, int v6only_off) {
  int on = 1, off = 0, v4_err;
#ifdef UDP_DST_V4_PKTINFO
  v4_err = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on));
#else
  v4_err = setsockopt(fd, IPPROTO_IP, IP_RECVDSTADDR, &on, sizeof(on));
#endif
  if (family == AF_INET)
    return v4_err;
  if (v6only_off &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0)
    return -1;
  return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof(on));
}

int platform_udp_adopt_dst(uv_os_sock_t sock, int family) {
  if (fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) != 0 ||
      set_dst_options(sock, family, 0) != 0)
    return uv_translate_sys_error(errno);
  return 0;
}

int platform_udp_open_dst(const struct sockaddr *addr, platform_bind_t how,
                          uv_os_sock_t *sock) {
  int fd = socket(addr->sa_family, SOCK_DGRAM, 0), err = 0;

  if (fd < 0)
    return uv_translate_sys_error(errno);
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 ||
      set_dst_options(fd, addr->sa_family, 1) != 0)
    err = uv_translate_sys_error(errno);
  if (err == 0 && how != PLATFORM_BIND_ALONE)
    err = join_balanced(fd, addr, how, SOCK_DGRAM);
  if (err == 0 && bind(fd, addr, sockaddr_len(addr)) != 0)
    err = uv_translate_sys_error(errno);
  if (err != 0) {
    close(fd);
    return err;
  }
  *sock = fd;
  return 0;
}

/* An IPv4 destination on an IPv6 socket is given as IPv4-mapped, like
 * the peer's address. */
static void set_dst_v4(struct sockaddr_storage *dst, const void *in_addr,
                       int family) {
  memset(dst, 0, sizeof(*dst));
  if (family == AF_INET6) {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
    in6->sin6_family = AF_INET6;
    memcpy(in6->sin6_addr.s6_addr, v4_mapped, 12);
    memcpy(in6->sin6_addr.s6_addr + 12, in_addr, 4);
  } else {
    struct sockaddr_in *in = (struct sockaddr_in *)dst;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, in_addr, 4);
  }
}

static void read_dst(struct msghdr *msg, int family,
                     struct sockaddr_storage *dst) {
  struct cmsghdr *c;
  dst->ss_family = AF_UNSPEC;
  for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo info;
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)dst;
      memcpy(&info, CMSG_DATA(c), sizeof(info));
      memset(dst, 0, sizeof(*dst));
      in6->sin6_family = AF_INET6;
      in6->sin6_addr = info.ipi6_addr;
      return; /* the IPv6 one says all */
    }
#ifdef UDP_DST_V4_PKTINFO
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo info;
      memcpy(&info, CMSG_DATA(c), sizeof(info));
      set_dst_v4(dst, &info.ipi_addr, family); /* the header's address */
    }
#else
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVDSTADDR)
      set_dst_v4(dst, CMSG_DATA(c), family);
#endif
  }
}

int platform_udp_recv_dst(uv_os_sock_t sock, char *buf, size_t size,
                          size_t *len, int *truncated,
                          struct sockaddr_storage *peer,
                          struct sockaddr_storage *dst) {
  union {
    struct cmsghdr align;
    char bytes[UDP_CMSG_SPACE];
  } control;
  struct msghdr msg;
  struct iovec iov;
  ssize_t n;

  memset(&msg, 0, sizeof(msg));
  iov.iov_base = buf;
  iov.iov_len = size;
  msg.msg_name = peer;
  msg.msg_namelen = sizeof(*peer);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof(control.bytes);
  do
    n = recvmsg(sock, &msg, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK
               ? UV_EAGAIN
               : uv_translate_sys_error(errno);
  *len = (size_t)n;
  *truncated = (msg.msg_flags & MSG_TRUNC) != 0;
  read_dst(&msg, peer->ss_family, dst); /* the socket's family */
  return 0;
}

int platform_udp_send_from(uv_os_sock_t sock, const char *buf, size_t len,
                           const struct sockaddr *peer,
                           const struct sockaddr *from) {
  union {
    struct cmsghdr align;
    char bytes[UDP_CMSG_SPACE];
  } control;
  const struct sockaddr_in6 *from6 = (const struct sockaddr_in6 *)from;
  struct cmsghdr *c;
  struct msghdr msg;
  struct iovec iov;
  ssize_t n;

  memset(&msg, 0, sizeof(msg));
  memset(&control, 0, sizeof(control));
  iov.iov_base = (void *)buf;
  iov.iov_len = len;
  msg.msg_name = (void *)peer;
  msg.msg_namelen = sockaddr_len(peer);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (from != NULL && from->sa_family != AF_UNSPEC) {
    const void *v4 = NULL;
    msg.msg_control = control.bytes;
    c = (struct cmsghdr *)control.bytes;
    if (from->sa_family == AF_INET)
      v4 = &((const struct sockaddr_in *)from)->sin_addr;
    else if (memcmp(from6->sin6_addr.s6_addr, v4_mapped, 12) == 0)
      v4 = from6->sin6_addr.s6_addr + 12; /* an IPv4 reply: IPv4's option */
    if (v4 == NULL) {
      struct in6_pktinfo info;
      memset(&info, 0, sizeof(info));
      info.ipi6_addr = from6->sin6_addr;
      c->cmsg_level = IPPROTO_IPV6;
      c->cmsg_type = IPV6_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(info));
      memcpy(CMSG_DATA(c), &info, sizeof(info));
      msg.msg_controllen = CMSG_SPACE(sizeof(info));
    } else {
#ifdef UDP_DST_V4_PKTINFO
      struct in_pktinfo info;
      memset(&info, 0, sizeof(info));
      memcpy(&info.ipi_spec_dst, v4, 4);
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_PKTINFO;
      c->cmsg_len = CMSG_LEN(sizeof(info));
      memcpy(CMSG_DATA(c), &info, sizeof(info));
      msg.msg_controllen = CMSG_SPACE(sizeof(info));
#else
      c->cmsg_level = IPPROTO_IP;
      c->cmsg_type = IP_SENDSRCADDR;
      c->cmsg_len = CMSG_LEN(sizeof(struct in_addr));
      memcpy(CMSG_DATA(c), v4, 4);
      msg.msg_controllen = CMSG_SPACE(sizeof(struct in_addr));
#endif
    }
  }
  do
    n = sendmsg(sock, &msg, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK
               ? UV_EAGAIN
               : uv_translate_sys_error(errno);
  return 0;
}

#endif /* UDP_DST */

int platform_inherits_sockets(void) {
  return 1;
}

int platform_inherited_socket(int fd, uv_os_sock_t *sock) {
  int flags = fcntl(fd, F_GETFD);
  if (flags == -1)
    return UV_EBADF;
  /* A program this process started would otherwise hold the listener
   * open after we close it. */
  if (!(flags & FD_CLOEXEC))
    (void)fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  *sock = fd;
  return 0;
}

platform_socket_kind_t platform_socket_kind(uv_os_sock_t sock,
                                            struct sockaddr_storage *local) {
  socklen_t len = sizeof(int);
  int type = 0, family;

  memset(local, 0, sizeof(*local));
  if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
    return PLATFORM_SOCKET_NONE;
  len = sizeof(*local);
  if (getsockname(sock, (struct sockaddr *)local, &len) != 0)
    return PLATFORM_SOCKET_OTHER;
  family = local->ss_family;
  if ((family == AF_INET || family == AF_INET6) && type == SOCK_STREAM)
    return PLATFORM_SOCKET_TCP;
  if ((family == AF_INET || family == AF_INET6) && type == SOCK_DGRAM)
    return PLATFORM_SOCKET_UDP;
  memset(local, 0, sizeof(*local));
  return PLATFORM_SOCKET_OTHER;
}

int platform_stop_signals(int signums[PLATFORM_STOP_SIGNALS_MAX]) {
  signums[0] = SIGINT;
  signums[1] = SIGTERM;
  signums[2] = SIGHUP;
  return 3;
}

#endif

#ifndef UDP_DST
/* Windows, and systems without the options: no way to tell a datagram's
 * destination, nor to choose a reply's source (platform.h). */
int platform_udp_dst_supported(void) {
  return 0;
}

int platform_udp_open_dst(const struct sockaddr *addr, platform_bind_t how,
                          uv_os_sock_t *sock) {
  (void)addr;
  (void)how;
  (void)sock;
  return UV_ENOTSUP;
}

int platform_udp_adopt_dst(uv_os_sock_t sock, int family) {
  (void)sock;
  (void)family;
  return UV_ENOTSUP;
}

int platform_udp_recv_dst(uv_os_sock_t sock, char *buf, size_t size,
                          size_t *len, int *truncated,
                          struct sockaddr_storage *peer,
                          struct sockaddr_storage *dst) {
  (void)sock;
  (void)buf;
  (void)size;
  (void)len;
  (void)truncated;
  (void)peer;
  (void)dst;
  return UV_ENOTSUP;
}

int platform_udp_send_from(uv_os_sock_t sock, const char *buf, size_t len,
                           const struct sockaddr *peer,
                           const struct sockaddr *from) {
  (void)sock;
  (void)buf;
  (void)len;
  (void)peer;
  (void)from;
  return UV_ENOTSUP;
}
#endif
