/* libFuzzer target for log_escape (src/base/log.c): for any bytes, the output
 * is NUL-terminated, as long as returned, printable ASCII only, at most
 * LOG_ESCAPED_SIZE - 1 long, and decoding its escapes gives back exactly
 * the first LOG_DATA_SHOWN bytes of the input, followed (for longer input)
 * by "... (N bytes)" with N the input's length. Escapes are only used
 * where needed: "\\", "\n", "\r", "\t" and "\xNN" (lowercase hex) for
 * bytes that are not printable. Build: see .ci/fuzz.sh. */
#include "base/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GUARD 32

static const uint8_t *cur_data;
static size_t cur_size;

static void require(int ok, const char *what, const char *out) {
  size_t i;
  if (ok)
    return;
  fprintf(stderr, "fuzz_log: %s\ninput (%lu bytes):", what,
          (unsigned long)cur_size);
  for (i = 0; i < cur_size && i < 128; i++)
    fprintf(stderr, " %02x", cur_data[i]);
  fprintf(stderr, "\noutput: %s\n", out);
  abort();
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char out[LOG_ESCAPED_SIZE + GUARD], tiny[8];
  size_t n, i, p = 0, shown = size < LOG_DATA_SHOWN ? size : LOG_DATA_SHOWN;

  cur_data = data;
  cur_size = size;
  memset(out, 0x5a, sizeof(out));
  n = log_escape(out, LOG_ESCAPED_SIZE, (const char *)data, size);
  for (i = LOG_ESCAPED_SIZE; i < sizeof(out); i++)
    require(out[i] == 0x5a, "wrote past LOG_ESCAPED_SIZE", "");
  require(n <= LOG_ESCAPED_SIZE - 1, "longer than LOG_ESCAPED_SIZE - 1", "");
  require(out[n] == '\0', "not NUL-terminated at the returned length", "");
  require(strlen(out) == n, "a NUL inside the output", out);
  for (i = 0; i < n; i++)
    require(out[i] >= 0x20 && out[i] < 0x7f, "not printable ASCII", out);

  /* Decode the shown bytes. */
  for (i = 0; i < shown; i++) {
    unsigned char want = data[i], got;
    require(p < n, "output ends before the shown bytes", out);
    if (out[p] != '\\') {
      got = (unsigned char)out[p++];
      require(got != '\\', "bare backslash", out);
    } else {
      char e;
      require(p + 1 < n, "escape cut short", out);
      e = out[p + 1];
      p += 2;
      if (e == '\\') {
        got = '\\';
      } else if (e == 'n') {
        got = '\n';
      } else if (e == 'r') {
        got = '\r';
      } else if (e == 't') {
        got = '\t';
      } else {
        int hi, lo;
        require(e == 'x' && p + 1 < n, "unknown escape", out);
        hi = hex_value(out[p]);
        lo = hex_value(out[p + 1]);
        require(hi >= 0 && lo >= 0, "bad \\x escape", out);
        p += 2;
        got = (unsigned char)(hi * 16 + lo);
        require(!(got >= 0x20 && got < 0x7f) && got != '\n' && got != '\r' &&
                    got != '\t',
                "\\x used for a byte with a shorter form", out);
      }
    }
    require(got == want, "decodes to other bytes", out);
  }
  if (size > LOG_DATA_SHOWN) {
    char suffix[64];
    snprintf(suffix, sizeof(suffix), "... (%lu bytes)", (unsigned long)size);
    require(strcmp(out + p, suffix) == 0, "wrong or missing size suffix", out);
  } else {
    require(p == n, "extra output after the data", out);
  }

  /* Too small a buffer: nothing written but an empty string. */
  memset(tiny, 0x5a, sizeof(tiny));
  require(log_escape(tiny, sizeof(tiny), (const char *)data, size) == 0 &&
              tiny[0] == '\0',
          "a too small buffer was used", "");
  return 0;
}
