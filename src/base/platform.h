/* The one seam for what the C standard library and libuv leave to each OS.
 * Everything else in src/ is portable as written. */
#ifndef TCPECHO_PLATFORM_H
#define TCPECHO_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

/* Thread-safe localtime: localtime_r on POSIX, localtime_s on Windows. */
void platform_localtime(time_t t, struct tm *out);

/* A write to a socket the peer has closed must fail with EPIPE, not kill the
 * process: ignore SIGPIPE where it exists (no-op on Windows). */
void platform_ignore_sigpipe(void);

/* Reopens any of descriptors 0, 1 and 2 that is closed on the null device,
 * as daemons do: otherwise the next socket would take its number, log lines
 * would land in it, and libuv refuses to close it. Call before libuv opens
 * anything. */
void platform_reopen_std_fds(void);

/* Writes all of buf to fd, blocking, retrying after interruptions and
 * short writes; gives up silently on an error (the reader is gone). */
void platform_write_all(int fd, const char *buf, size_t len);

/* Writes buf to fd only if that cannot block: fd is ready for writing now
 * and len is small enough to go in whole (PIPE_BUF). Returns 1 if written
 * (or if nobody reads fd any more, so there is nothing to wait for), 0 if
 * the caller must queue it. Always 0 on Windows, where pipes cannot be
 * asked. */
int platform_write_now(int fd, const char *buf, size_t len);

/* Whether fd is a regular file: writing to one never waits for a reader,
 * and poll() reports it ready every time, so there is nothing to ask. 0 when
 * unsure, and on Windows. */
int platform_is_regular_file(int fd);

/* The process's limit on open descriptors (POSIX RLIMIT_NOFILE), or 0 where
 * there is none to speak of (Windows: sockets are not counted so). */
uint64_t platform_fd_limit(void);

/* Raises the soft descriptor limit to the hard one, as Go does at start;
 * *before and *after get the soft limit (0 where there is none). */
void platform_raise_fd_limit(uint64_t *before, uint64_t *after);

/* Whether handle's descriptor is among the last ones under limit, so that
 * the next accept would fail with EMFILE; 0 when limit is 0. */
int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit);

/* Whether the kernel spreads connections over listening sockets that share
 * one address with SO_REUSEPORT: Linux, DragonFly, FreeBSD (SO_REUSEPORT_LB).
 * Not macOS, whose SO_REUSEPORT hands every connection to one of them, nor
 * Windows, which has no such option. */
int platform_reuseport_balances(void);

/* Whether loops that each listen on a duplicate of one socket get about
 * the same share of its connections: Windows, where every loop's AcceptEx
 * requests wait in one queue and are served in turn. Not where a readiness
 * event wakes every loop and the first to run accepts what is waiting
 * (epoll, kqueue). */
int platform_shared_listener_balances(void);

/* Binds tcp (from uv_tcp_init_ex with addr's family) to addr as one of a
 * group of listeners the kernel spreads connections over; UV_ENOTSUP where
 * platform_reuseport_balances is 0. The first of the group fails with
 * UV_EADDRINUSE where anyone listens on addr already: SO_REUSEPORT alone
 * would let it join another process's group. */
int platform_tcp_bind_balanced(uv_tcp_t *tcp, const struct sockaddr *addr,
                               int first);

/* Binds tcp (from uv_tcp_init_ex with addr's family) to addr, a local
 * address with port 0, before it connects: with IP_BIND_ADDRESS_NO_PORT
 * where there is one (Linux 4.2), so that the port is picked at connect,
 * per destination, and one address serves more connections than its
 * ephemeral ports; elsewhere a plain bind, which picks the port at once.
 * Returns 0 or a UV_* error. */
int platform_tcp_bind_no_port(uv_tcp_t *tcp, const struct sockaddr *addr);

/* How a UDP socket is bound: on its own, or as the first or a later member
 * of a group the kernel spreads datagrams over (SO_REUSEPORT, where
 * platform_reuseport_balances). The first of a group fails with
 * UV_EADDRINUSE where anyone has the address already, as for TCP. */
typedef enum {
  PLATFORM_BIND_ALONE = 0,
  PLATFORM_BIND_GROUP_FIRST,
  PLATFORM_BIND_GROUP_JOIN
} platform_bind_t;

/* Binds udp (from uv_udp_init_ex with addr's family) to addr as a member
 * of such a group (how: PLATFORM_BIND_GROUP_FIRST or _JOIN); UV_ENOTSUP
 * where platform_reuseport_balances is 0. */
int platform_udp_bind_balanced(uv_udp_t *udp, const struct sockaddr *addr,
                               platform_bind_t how);

/* A second descriptor for the same socket (dup; WSADuplicateSocket on
 * Windows), to open on another loop and close on its own. Returns 0 or a
 * UV_* error. */
int platform_dup_socket(uv_os_sock_t sock, uv_os_sock_t *copy);

/* Closes a socket no libuv handle owns. */
void platform_close_socket(uv_os_sock_t sock);

/* ---- UDP: a reply from the address each datagram was sent to ----
 * libuv's uv_udp_t cannot tell that address, nor choose the one a reply
 * leaves from: a socket bound to a wildcard address (0.0.0.0, ::) would
 * answer from whichever address the routing table picks. These do it
 * with recvmsg/sendmsg: IP_PKTINFO and IPV6_PKTINFO on Linux and macOS,
 * IP_RECVDSTADDR/IP_SENDSRCADDR and IPV6_PKTINFO on the BSDs. */

/* Whether this platform has them: 0 on Windows (and where the options
 * are missing), where the functions below return UV_ENOTSUP. */
int platform_udp_dst_supported(void);

/* A non-blocking UDP socket bound to addr (IPv4 too for "::", whatever
 * the system's default), set to report each datagram's destination; alone
 * or in a group as platform_udp_bind_balanced binds (UV_ENOTSUP where
 * that cannot be). Returns 0 or a UV_* error, leaving nothing open. */
int platform_udp_open_dst(const struct sockaddr *addr, platform_bind_t how,
                          uv_os_sock_t *sock);

/* The same for sock, a UDP socket of family opened elsewhere and bound
 * already (one a service manager passed): made non-blocking and set to
 * report each datagram's destination. Returns 0 or a UV_* error. */
int platform_udp_adopt_dst(uv_os_sock_t sock, int family);

/* Receives one datagram into buf: *len bytes of it (*truncated when it was
 * longer than size and the rest is lost), from *peer, sent to *dst (its
 * family AF_UNSPEC when the system did not say; an IPv4 address arriving
 * on an IPv6 socket in IPv4-mapped form, as peers are). Returns 0,
 * UV_EAGAIN when none is waiting, or another UV_* error. */
int platform_udp_recv_dst(uv_os_sock_t sock, char *buf, size_t size,
                          size_t *len, int *truncated,
                          struct sockaddr_storage *peer,
                          struct sockaddr_storage *dst);

/* Sends buf to peer with from as its source address (NULL or AF_UNSPEC:
 * the system's choice), without blocking. Returns 0, UV_EAGAIN when the
 * socket's buffer is full, or another UV_* error. */
int platform_udp_send_from(uv_os_sock_t sock, const char *buf, size_t len,
                           const struct sockaddr *peer,
                           const struct sockaddr *from);

/* What a socket handed to this process is. */
typedef enum {
  PLATFORM_SOCKET_NONE, /* not a socket (a file, a pipe) */
  PLATFORM_SOCKET_TCP,  /* IPv4 or IPv6, stream */
  PLATFORM_SOCKET_UDP,  /* IPv4 or IPv6, datagram */
  PLATFORM_SOCKET_OTHER /* another family or type: Unix, SOCK_SEQPACKET */
} platform_socket_kind_t;

/* Whether sockets can be handed to this process at start as descriptors
 * 3, 4, ... (systemd's socket activation and the launchers that follow
 * it): POSIX; not Windows, where handles are not inherited by number. */
int platform_inherits_sockets(void);

/* Takes descriptor fd, inherited at start, as *sock and marks it
 * close-on-exec: it is this process's, not its children's. UV_EBADF when
 * it is not open; UV_ENOTSUP where platform_inherits_sockets is 0. */
int platform_inherited_socket(int fd, uv_os_sock_t *sock);

/* What sock is (SO_TYPE and the family of its address), and for TCP and
 * UDP its local address in *local (zeroed otherwise). */
platform_socket_kind_t platform_socket_kind(uv_os_sock_t sock,
                                            struct sockaddr_storage *local);

/* The signals that ask a process to stop: SIGINT, SIGTERM and SIGHUP on
 * POSIX; on Windows Ctrl-C (SIGINT), Ctrl-Break (SIGBREAK) and closing the
 * console window (SIGHUP, as libuv reports it). Returns how many. */
#define PLATFORM_STOP_SIGNALS_MAX 3
int platform_stop_signals(int signums[PLATFORM_STOP_SIGNALS_MAX]);

/* "SIGINT", "SIGTERM", ...; "signal N" for others. */
const char *platform_signal_name(int signum);

#endif
