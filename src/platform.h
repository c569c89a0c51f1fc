/* The one seam for what the C standard library and libuv leave to each OS.
 * Everything else in src/ is portable as written. */
#ifndef TCPECHO_PLATFORM_H
#define TCPECHO_PLATFORM_H

#include <time.h>

/* Thread-safe localtime: localtime_r on POSIX, localtime_s on Windows. */
void platform_localtime(time_t t, struct tm *out);

/* A write to a socket the peer has closed must fail with EPIPE, not kill the
 * process: ignore SIGPIPE where it exists (no-op on Windows). */
void platform_ignore_sigpipe(void);

#endif
