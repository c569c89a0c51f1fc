#if !defined(_WIN32) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "platform.h"

#include <signal.h>
#include <string.h>

#ifdef _WIN32

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_s(out, &t) != 0)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {}

#else

void platform_localtime(time_t t, struct tm *out) {
  if (localtime_r(&t, out) == NULL)
    memset(out, 0, sizeof(*out));
}

void platform_ignore_sigpipe(void) {
  signal(SIGPIPE, SIG_IGN);
}

#endif
