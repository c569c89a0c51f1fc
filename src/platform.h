/* The one seam for what the C standard library and libuv leave to each OS.
 * Everything else in src/ is portable as written. */
#ifndef TCPECHO_PLATFORM_H
#define TCPECHO_PLATFORM_H

#include <stdint.h>
#include <time.h>
#include <uv.h>

/* Thread-safe localtime: localtime_r on POSIX, localtime_s on Windows. */
void platform_localtime(time_t t, struct tm *out);

/* A write to a socket the peer has closed must fail with EPIPE, not kill the
 * process: ignore SIGPIPE where it exists (no-op on Windows). */
void platform_ignore_sigpipe(void);

/* The process's limit on open descriptors (POSIX RLIMIT_NOFILE), or 0 where
 * there is none to speak of (Windows: sockets are not counted so). */
uint64_t platform_fd_limit(void);

/* Whether handle's descriptor is among the last ones under limit, so that
 * the next accept fails with EMFILE; 0 when limit is 0. */
int platform_fds_nearly_exhausted(const uv_handle_t *handle, uint64_t limit);

#endif
