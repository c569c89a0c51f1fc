/* What a request to the --metrics listener gets
 * (metrics_http_classify in src/server/metrics_http.c): whole requests
 * by method, path and version, malformed ones, every prefix of a good one
 * still waiting, garbage refused before its line ends, and the size cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "server/metrics_http.h"

#include <stdlib.h>
#include <string.h>

#define CAP METRICS_HTTP_REQUEST_MAX

typedef struct case_s {
  const char *req;
  size_t len; /* 0: strlen(req) */
  int status;
  int head;
} case_t;

static const case_t whole[] = {
    {"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\n\r\n", 0, 200, 0},
    {"GET /metrics HTTP/1.0\r\n\r\n", 0, 200, 0},
    {"GET /metrics?name[]=tcpecho_sessions_open HTTP/1.1\r\n\r\n", 0, 200, 0},
    {"HEAD /metrics HTTP/1.1\r\n\r\n", 0, 200, 1},
    {"GET /metrics HTTP/1.1\n\n", 0, 200, 0}, /* bare LFs */
    {"GET /metrics HTTP/1.1\r\nUser-Agent:\tPrometheus/2.42 \xc3\xa9\r\n"
     "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1\r\n\r\n",
     0, 200, 0},
    /* What follows the headers is not looked at. */
    {"GET /metrics HTTP/1.1\r\n\r\n\x01\x02garbage", 0, 200, 0},
    {"GET / HTTP/1.1\r\n\r\n", 0, 404, 0},
    {"GET /metricsx HTTP/1.1\r\n\r\n", 0, 404, 0},
    {"GET /metrics/ HTTP/1.1\r\n\r\n", 0, 404, 0},
    {"HEAD /other HTTP/1.1\r\n\r\n", 0, 404, 1},
    {"GET http://h/metrics HTTP/1.1\r\n\r\n", 0, 404, 0},
    {"POST /foo HTTP/1.1\r\n\r\n", 0, 404, 0},
    {"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0, 405, 0},
    {"get /metrics HTTP/1.1\r\n\r\n", 0, 405, 0}, /* methods are exact */
    {"OPTIONS /metrics HTTP/1.1\r\n\r\n", 0, 405, 0},
    {"GET /metrics HTTP/2.0\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1 \r\n\r\n", 0, 400, 0},
    {"GET /metrics\r\n\r\n", 0, 400, 0}, /* HTTP/0.9 */
    {"GET  /metrics HTTP/1.1\r\n\r\n", 0, 400, 0},
    {" GET /metrics HTTP/1.1\r\n\r\n", 0, 400, 0},
    {"\r\n\r\n", 0, 400, 0},
    {"hello\r\n\r\n", 0, 400, 0},
    {"G(T /metrics HTTP/1.1\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\n: x\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\nA: b\rc\r\n\r\n", 0, 400, 0},
    {"GET /metrics HTTP/1.1\r\nA: b\x7f\r\n\r\n", 0, 400, 0},
    {"GET /m\xc3\xa9trics HTTP/1.1\r\n\r\n", 0, 400, 0},
};

static void test_whole_requests(void **state) {
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
    const case_t *c = &whole[i];
    size_t len = c->len ? c->len : strlen(c->req);
    int head = -1;
    int got = metrics_http_classify(c->req, len, CAP, &head);
    if (got != c->status || head != c->head)
      fail_msg("case %lu \"%s\": status %d head %d, want %d head %d",
               (unsigned long)i, c->req, got, head, c->status, c->head);
  }
}

/* Every proper prefix of a whole request (up to its blank line) waits for
 * more: it comes split at any byte. Copies of exactly the prefix's size,
 * so that a sanitizer sees a read past it. */
static void test_prefixes_wait(void **state) {
  size_t i, n;
  (void)state;
  for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
    const case_t *c = &whole[i];
    const char *blank = strstr(c->req, "\r\n\r\n");
    size_t end = blank ? (size_t)(blank - c->req) + 4 : 0;
    if (c->status == 400 || end == 0)
      continue;
    for (n = 0; n < end; n++) {
      char *copy = malloc(n ? n : 1);
      int head;
      memcpy(copy, c->req, n);
      if (metrics_http_classify(copy, n, CAP, &head) != 0)
        fail_msg("case %lu: its first %lu bytes are answered already",
                 (unsigned long)i, (unsigned long)n);
      free(copy);
    }
  }
}

/* Bytes that no request line holds are refused at once, not after the
 * deadline: a TLS hello, a NUL, a CR not before an LF. */
static void test_garbage_refused_early(void **state) {
  static const case_t early[] = {
      {"\x16\x03\x01\x02\x00\x01", 6, 400, 0},
      {"GET /met\0rics", 13, 400, 0},
      {"GET /metrics\rX", 0, 400, 0},
      {"GET /metrics HTTP/1.1\r\nHost: a\x01", 0, 400, 0},
      {"GET /metrics HTTP/1.1\r\n\tfold", 0, 400, 0},
  };
  static const case_t still_fine[] = {
      {"GET /metrics HTTP/1.1\r", 0, 0, 0}, /* the LF may follow */
      {"GET /metrics HTTP/1.1\r\nHost: a\r", 0, 0, 0},
      {"GET /metrics HTTP/1.1\r\nHost: a\r\n\r", 0, 0, 0},
  };
  size_t i;
  int head;
  (void)state;
  for (i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
    size_t len = early[i].len ? early[i].len : strlen(early[i].req);
    if (metrics_http_classify(early[i].req, len, CAP, &head) != 400)
      fail_msg("early case %lu not refused", (unsigned long)i);
  }
  for (i = 0; i < sizeof(still_fine) / sizeof(still_fine[0]); i++) {
    const char *r = still_fine[i].req;
    if (metrics_http_classify(r, strlen(r), CAP, &head) != 0)
      fail_msg("case \"%s\" refused before it could end", r);
  }
}

/* Headers that fill the buffer without ending: 431 once it is full. */
static void test_size_cap(void **state) {
  char *req = malloc(CAP);
  static const char start[] = "GET /metrics HTTP/1.1\r\nX-Pad: ";
  int head;
  (void)state;
  memcpy(req, start, strlen(start));
  memset(req + strlen(start), 'a', CAP - strlen(start));
  assert_int_equal(metrics_http_classify(req, CAP - 1, CAP, &head), 0);
  assert_int_equal(metrics_http_classify(req, CAP, CAP, &head), 431);
  /* A request that ends exactly at the cap is whole, not too large. */
  memcpy(req + CAP - 4, "\r\n\r\n", 4);
  assert_int_equal(metrics_http_classify(req, CAP, CAP, &head), 200);
  /* A request line alone, as long as the buffer. */
  memcpy(req, "GET /", 5);
  memset(req + 5, 'm', CAP - 5);
  assert_int_equal(metrics_http_classify(req, CAP, CAP, &head), 431);
  free(req);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whole_requests),
      cmocka_unit_test(test_prefixes_wait),
      cmocka_unit_test(test_garbage_refused_early),
      cmocka_unit_test(test_size_cap),
  };
  return cmocka_run_group_tests_name("metrics_request", tests, NULL, NULL);
}
