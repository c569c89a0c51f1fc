/* libFuzzer target for proxy_header_parse (src/server/proxy_header.c): for
 * any bytes, the answer is one of the three; DONE only with consumed <= len
 * (a v1 line of at most 107 bytes ending in CRLF, or a v2 header of 16
 * bytes plus its stated length), a family of AF_UNSPEC, AF_INET or
 * AF_INET6 that both addresses share, and the v2 addresses as the bytes
 * say; ERROR only with a reason; NEED_MORE never once PROXY_HEADER_MAX
 * bytes are there. Every prefix agrees: NEED_MORE until the answer is
 * known, then the same answer. Prefixes are parsed from blocks of exactly
 * their size, so ASan sees any read past len. Build: see .ci/fuzz.sh. */
#include "server/proxy_header.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prefixes up to this long are all checked from exact-size copies; of
 * longer ones, those around the decision. */
#define PREFIXES_ALL 160

static const uint8_t *cur_data;
static size_t cur_size;

static void require(int ok, const char *what, size_t prefix) {
  size_t i;
  if (ok)
    return;
  fprintf(stderr,
          "fuzz_proxy_header: %s (prefix of %lu bytes)\ninput (%lu "
          "bytes):",
          what, (unsigned long)prefix, (unsigned long)cur_size);
  for (i = 0; i < cur_size && i < 128; i++)
    fprintf(stderr, " %02x", cur_data[i]);
  fprintf(stderr, "\n");
  abort();
}

static proxy_header_status_t parse_copy(size_t len, proxy_header_t *out) {
  char *copy = malloc(len > 0 ? len : 1);
  proxy_header_status_t st;
  if (copy == NULL)
    abort();
  if (len > 0)
    memcpy(copy, cur_data, len);
  memset(out, 0x5a, sizeof(*out));
  st = proxy_header_parse(len > 0 ? copy : NULL, len, out);
  free(copy);
  return st;
}

static int same_answer(proxy_header_status_t a, const proxy_header_t *ha,
                       proxy_header_status_t b, const proxy_header_t *hb) {
  if (a != b)
    return 0;
  if (a == PROXY_HEADER_ERROR)
    return strcmp(ha->error, hb->error) == 0;
  if (a == PROXY_HEADER_DONE)
    return ha->consumed == hb->consumed && ha->version == hb->version &&
           ha->family == hb->family &&
           memcmp(&ha->src, &hb->src, sizeof(ha->src)) == 0 &&
           memcmp(&ha->dst, &hb->dst, sizeof(ha->dst)) == 0;
  return 1;
}

static int port_is(const void *sa_port, const uint8_t *wire) {
  return memcmp(sa_port, wire, 2) == 0;
}

static unsigned port_of(const void *sa_port) {
  const unsigned char *p = sa_port;
  return (unsigned)p[0] << 8 | p[1];
}

static void check_done(const proxy_header_t *h, size_t len) {
  const uint8_t *d = cur_data;
  size_t c = h->consumed;

  require(h->error == NULL, "DONE with an error", len);
  require(c <= len, "consumed more than given", len);
  require(h->family == AF_UNSPEC || h->family == AF_INET ||
              h->family == AF_INET6,
          "DONE with another family", len);
  require(h->src.ss_family == h->family && h->dst.ss_family == h->family,
          "addresses of another family", len);
  if (h->version == 1) {
    require(c >= 15 && c <= PROXY_HEADER_V1_MAX, "v1 length out of range", len);
    require(memcmp(d, "PROXY ", 6) == 0, "v1 without PROXY", len);
    require(d[c - 2] == '\r' && d[c - 1] == '\n', "v1 not ending in CRLF", len);
    require(memchr(d, '\n', c - 1) == NULL, "v1 with an LF inside", len);
    if (h->family == AF_INET) {
      /* Strict parsing: an accepted TCP4 line is the canonical one. */
      const struct sockaddr_in *s = (const struct sockaddr_in *)&h->src;
      const struct sockaddr_in *t = (const struct sockaddr_in *)&h->dst;
      char a[32], b[32], line[PROXY_HEADER_V1_MAX + 1];
      require(uv_inet_ntop(AF_INET, &s->sin_addr, a, sizeof(a)) == 0 &&
                  uv_inet_ntop(AF_INET, &t->sin_addr, b, sizeof(b)) == 0,
              "v1 address not printable", len);
      snprintf(line, sizeof(line), "PROXY TCP4 %s %s %u %u\r\n", a, b,
               port_of(&s->sin_port), port_of(&t->sin_port));
      require(strlen(line) == c && memcmp(line, d, c) == 0,
              "v1 TCP4 line not in canonical form", len);
    }
    return;
  }
  require(h->version == 2, "DONE with another version", len);
  require(c >= 16 && c == 16 + ((size_t)d[14] << 8 | d[15]) &&
              c <= PROXY_HEADER_MAX,
          "v2 length not 16 + stated", len);
  require(d[12] == 0x20 || d[12] == 0x21, "v2 version or command", len);
  if (h->family == AF_INET) {
    const struct sockaddr_in *s = (const struct sockaddr_in *)&h->src;
    const struct sockaddr_in *t = (const struct sockaddr_in *)&h->dst;
    require(d[12] == 0x21 && d[13] == 0x11 && c >= 16 + 12, "v2 TCP4", len);
    require(memcmp(&s->sin_addr, d + 16, 4) == 0 &&
                memcmp(&t->sin_addr, d + 20, 4) == 0 &&
                port_is(&s->sin_port, d + 24) && port_is(&t->sin_port, d + 26),
            "v2 IPv4 addresses not as sent", len);
  } else if (h->family == AF_INET6) {
    const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&h->src;
    const struct sockaddr_in6 *t = (const struct sockaddr_in6 *)&h->dst;
    require(d[12] == 0x21 && d[13] == 0x21 && c >= 16 + 36, "v2 TCP6", len);
    require(memcmp(&s->sin6_addr, d + 16, 16) == 0 &&
                memcmp(&t->sin6_addr, d + 32, 16) == 0 &&
                port_is(&s->sin6_port, d + 48) &&
                port_is(&t->sin6_port, d + 50),
            "v2 IPv6 addresses not as sent", len);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  proxy_header_t whole, h;
  proxy_header_status_t st, pst;
  size_t k, decided = 0;
  int known = 0;

  cur_data = data;
  cur_size = size;
  st = parse_copy(size, &whole);
  require(st == PROXY_HEADER_NEED_MORE || st == PROXY_HEADER_DONE ||
              st == PROXY_HEADER_ERROR,
          "not one of the three answers", size);
  if (st == PROXY_HEADER_NEED_MORE) {
    require(whole.error == NULL && whole.consumed == 0, "NEED_MORE with more",
            size);
    require(size < PROXY_HEADER_MAX, "NEED_MORE with enough bytes", size);
  } else if (st == PROXY_HEADER_ERROR) {
    require(whole.error != NULL && whole.error[0] != '\0', "ERROR, no reason",
            size);
    require(whole.consumed == 0 && whole.family == AF_UNSPEC,
            "ERROR with a header", size);
  } else {
    check_done(&whole, size);
  }

  /* Prefixes: NEED_MORE, then from one length on the whole's answer. */
  for (k = 0; k < size; k++) {
    if (k > PREFIXES_ALL && k + 1 < size && k != whole.consumed &&
        k + 1 != whole.consumed) {
      pst = proxy_header_parse((const char *)data, k, &h);
    } else {
      pst = parse_copy(k, &h);
    }
    if (pst == PROXY_HEADER_NEED_MORE) {
      require(!known, "NEED_MORE after an answer", k);
      continue;
    }
    if (!known)
      decided = k;
    known = 1;
    require(same_answer(pst, &h, st, &whole), "a prefix answers otherwise", k);
    if (st == PROXY_HEADER_DONE)
      require(k >= whole.consumed, "DONE before the header's end", k);
  }
  if (st == PROXY_HEADER_DONE)
    require(whole.consumed == size || (known && decided == whole.consumed),
            "DONE not decided at the header's end", size);
  return 0;
}
