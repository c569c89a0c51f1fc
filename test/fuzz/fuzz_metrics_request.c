/* libFuzzer target for metrics_http_classify (src/server/metrics_http.c),
 * what the --metrics listener makes of the bytes a peer sent: for any
 * bytes, one of 0, 200, 400, 404, 405, 431; 431 only with the buffer full
 * and never 0 then; the buffer's size matters only for bytes still
 * waiting; an answer other than 400 or 431 only after an empty line, 200
 * only for GET or HEAD of /metrics, HEAD reported only for HEAD. Every
 * prefix agrees: 0 until the answer is known, then the same answer.
 * Prefixes are classified from blocks of exactly their size, so ASan sees
 * any read past len. Build: see .ci/fuzz.sh. */
#include "server/metrics_http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prefixes up to this long are all checked; of longer ones, those around
 * each line's end and every 61st. */
#define PREFIXES_ALL 256

static const uint8_t *cur_data;
static size_t cur_size;

static void require(int ok, const char *what, size_t prefix) {
  size_t i;
  if (ok)
    return;
  fprintf(stderr,
          "fuzz_metrics_request: %s (prefix of %lu bytes)\ninput:", what,
          (unsigned long)prefix);
  for (i = 0; i < cur_size && i < 128; i++)
    fprintf(stderr, " %02x", cur_data[i]);
  fprintf(stderr, "\n");
  abort();
}

static int classify_copy(size_t len, size_t cap, int *head) {
  char *copy = malloc(len > 0 ? len : 1);
  int status;
  if (copy == NULL)
    abort();
  if (len > 0)
    memcpy(copy, cur_data, len);
  *head = -1;
  status = metrics_http_classify(copy, len, cap, head);
  free(copy);
  return status;
}

static int starts_with(size_t len, const char *s) {
  size_t n = strlen(s);
  return len >= n && memcmp(cur_data, s, n) == 0;
}

static int has_empty_line(size_t len) {
  const uint8_t *d = cur_data;
  size_t i;
  for (i = 1; i < len; i++) {
    if (d[i] == '\n' &&
        (d[i - 1] == '\n' || (i >= 2 && d[i - 1] == '\r' && d[i - 2] == '\n')))
      return 1;
  }
  return 0;
}

static void check_one(size_t len, int status, int head) {
  require(status == 0 || status == 200 || status == 400 || status == 404 ||
              status == 405 || status == 431,
          "an unknown status", len);
  require(head == 0 || head == 1, "head neither 0 nor 1", len);
  require(!head || starts_with(len, "HEAD "), "head without HEAD", len);
  if (status == 200 || status == 404 || status == 405)
    require(has_empty_line(len), "answered before the headers' end", len);
  if (status == 200)
    require(starts_with(len, "GET /metrics ") ||
                starts_with(len, "GET /metrics?") ||
                starts_with(len, "HEAD /metrics ") ||
                starts_with(len, "HEAD /metrics?"),
            "200 for something but GET or HEAD of /metrics", len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int final, status, head, full_head;
  size_t n;

  if (size > METRICS_HTTP_REQUEST_MAX)
    size = METRICS_HTTP_REQUEST_MAX;
  cur_data = data;
  cur_size = size;
  final = classify_copy(size, METRICS_HTTP_REQUEST_MAX, &head);
  check_one(size, final, head);
  require(final != 431 || size == METRICS_HTTP_REQUEST_MAX, "431 not full",
          size);
  /* The same bytes filling a buffer of their size: decided, and as above
   * unless they were waiting for more. */
  status = classify_copy(size, size, &full_head);
  require(status != 0, "0 with the buffer full", size);
  require(final == 0 ? status == 431 : status == final && full_head == head,
          "the buffer's size changed a decided answer", size);
  for (n = 0; n < size; n++) {
    if (n > PREFIXES_ALL && n % 61 != 0 && data[n] != '\n' &&
        data[n - 1] != '\n')
      continue;
    status = classify_copy(n, METRICS_HTTP_REQUEST_MAX, &head);
    check_one(n, status, head);
    require(status == 0 || status == final, "a prefix answered otherwise", n);
  }
  return 0;
}
