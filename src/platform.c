#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "platform.h"

#include <signal.h>
#include <string.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif

#ifdef _WIN32

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_s(out, &t) != 0)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {}

uint64_t platform_fd_limit(void) {
  return 0;
}

int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit) {
  (void)handle;
  (void)limit;
  return 0;
}

#else

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_r(&t, out) == NULL)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {
  signal(SIGPIPE, SIG_IGN);
}

uint64_t platform_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return 0;
  return (uint64_t)rl.rlim_cur;
}

/* Descriptors are handed out lowest first, so the number of the newest
 * tells how many are in use; libuv keeps one in reserve for EMFILE. */
int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit) {
  uv_os_fd_t fd;
  if (limit == 0 || uv_fileno(handle, &fd) != 0 || fd < 0)
    return 0;
  return (uint64_t)fd + 3 >= limit;
}

#endif
