#include "client/udp_ping_wire.h"

#include "base/pattern.h"

#include <string.h>

static const unsigned char magic[8] = {'t', 'c', 'p', 'e', 'c', 'h', 'o', 1};

static void store_be64(unsigned char *p, uint64_t v) {
  int i;
  for (i = 7; i >= 0; i--, v >>= 8)
    p[i] = (unsigned char)v;
}

static uint64_t load_be64(const unsigned char *p) {
  uint64_t v = 0;
  int i;
  for (i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void encode_header(unsigned char *p, uint64_t nonce, uint64_t seq,
                          uint64_t sent_ns) {
  memcpy(p, magic, sizeof(magic));
  store_be64(p + 8, nonce);
  store_be64(p + UDP_PING_SEQ_OFFSET, seq);
  store_be64(p + UDP_PING_TIME_OFFSET, sent_ns);
}

void udp_ping_encode(void *buf, size_t len, uint64_t nonce, uint64_t seq,
                     uint64_t sent_ns) {
  unsigned char *p = buf;
  encode_header(p, nonce, seq, sent_ns);
  pattern_fill(pattern_seed(nonce, seq), 0, p + UDP_PING_HEADER,
               len - UDP_PING_HEADER);
}

int udp_ping_decode(const void *buf, size_t len, uint64_t nonce, uint64_t *seq,
                    uint64_t *sent_ns) {
  const unsigned char *p = buf;
  if (len < UDP_PING_HEADER || memcmp(p, magic, sizeof(magic)) != 0 ||
      load_be64(p + 8) != nonce)
    return 0;
  *seq = load_be64(p + UDP_PING_SEQ_OFFSET);
  *sent_ns = load_be64(p + UDP_PING_TIME_OFFSET);
  return 1;
}

size_t udp_ping_check(const void *buf, size_t len, size_t want_len,
                      uint64_t nonce, uint64_t seq, uint64_t sent_ns) {
  const unsigned char *p = buf;
  unsigned char header[UDP_PING_HEADER];
  size_t n = len < want_len ? len : want_len, i;

  encode_header(header, nonce, seq, sent_ns);
  for (i = 0; i < n && i < UDP_PING_HEADER; i++)
    if (p[i] != header[i])
      return i;
  if (n > UDP_PING_HEADER) {
    i = pattern_check(pattern_seed(nonce, seq), 0, p + UDP_PING_HEADER,
                      n - UDP_PING_HEADER);
    if (i < n - UDP_PING_HEADER)
      return UDP_PING_HEADER + i;
  }
  return len == want_len ? UDP_PING_INTACT : n;
}
