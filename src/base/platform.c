#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
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

int platform_stop_signals(int signums[PLATFORM_STOP_SIGNALS_MAX]) {
  signums[0] = SIGINT;
  signums[1] = SIGTERM;
  signums[2] = SIGHUP;
  return 3;
}

#endif
