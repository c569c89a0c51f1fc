#include "log.h"

#include "platform.h"

#include <string.h>

static FILE *log_out;

size_t log_format_prefix(char *buf, size_t size, const struct tm *tm) {
  int n = snprintf(buf, size, "%04d/%02d/%02d %02d:%02d:%02d ",
                   tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour,
                   tm->tm_min, tm->tm_sec);
  if (n < 0 || (size_t)n >= size)
    return 0;
  return (size_t)n;
}

size_t log_format_line(char *buf, size_t size, const struct tm *tm,
                       const char *fmt, va_list ap) {
  size_t len;
  int n;

  if (size < 2)
    return 0;
  len = log_format_prefix(buf, size - 1, tm);
  n = vsnprintf(buf + len, size - 1 - len, fmt, ap);
  if (n > 0)
    len += (size_t)n < size - 1 - len ? (size_t)n : size - 2 - len;
  buf[len++] = '\n';
  buf[len] = '\0';
  return len;
}

size_t log_escape(char *dst, size_t dst_size, const char *data, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t shown = len > LOG_DATA_SHOWN ? LOG_DATA_SHOWN : len;
  size_t i, o = 0;

  if (dst_size < LOG_ESCAPED_SIZE) {
    if (dst_size > 0)
      dst[0] = '\0';
    return 0;
  }
  for (i = 0; i < shown; i++) {
    unsigned char c = (unsigned char)data[i];
    switch (c) {
    case '\\':
      dst[o++] = '\\';
      dst[o++] = '\\';
      break;
    case '\n':
      dst[o++] = '\\';
      dst[o++] = 'n';
      break;
    case '\r':
      dst[o++] = '\\';
      dst[o++] = 'r';
      break;
    case '\t':
      dst[o++] = '\\';
      dst[o++] = 't';
      break;
    default:
      if (c >= 0x20 && c < 0x7f) {
        dst[o++] = (char)c;
      } else {
        dst[o++] = '\\';
        dst[o++] = 'x';
        dst[o++] = hex[c >> 4];
        dst[o++] = hex[c & 0xf];
      }
    }
  }
  if (shown < len) {
    int n =
        snprintf(dst + o, dst_size - o, "... (%lu bytes)", (unsigned long)len);
    if (n > 0)
      o += (size_t)n;
  }
  dst[o] = '\0';
  return o;
}

void log_format_seconds(char *buf, size_t size, unsigned long long ms) {
  unsigned frac = (unsigned)(ms % 1000);
  int digits = 3;

  if (frac == 0) {
    snprintf(buf, size, "%llu", ms / 1000);
    return;
  }
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  snprintf(buf, size, "%llu.%0*u", ms / 1000, digits, frac);
}

void log_set_output(FILE *out) {
  log_out = out;
}

void log_vline(const char *fmt, va_list ap) {
  FILE *out = log_out ? log_out : stderr;
  char line[LOG_LINE_SIZE];
  struct tm tm;
  size_t len;

  platform_localtime(time(NULL), &tm);
  len = log_format_line(line, sizeof(line), &tm, fmt, ap);
  /* One write per line, so lines of concurrent writers do not interleave;
   * flushed at once, as some C libraries buffer stderr when it is a pipe. */
  fwrite(line, 1, len, out);
  fflush(out);
}

void log_line(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vline(fmt, ap);
  va_end(ap);
}

void log_data(const char *label, const char *data, size_t len) {
  char escaped[LOG_ESCAPED_SIZE];
  log_escape(escaped, sizeof(escaped), data, len);
  log_line("%s: %s", label, escaped);
}
