#include "server/proxy_header.h"

#include <string.h>

/* Version 2: 12 signature bytes, version and command, family and
 * transport, 2 bytes of length, then that many bytes of addresses and
 * TLVs. */
static const char v2_signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r',
                                      '\n', 'Q',  'U',  'I',  'T',  '\n'};
#define V2_FIXED 16
#define V2_CMD_LOCAL 0x0
#define V2_CMD_PROXY 0x1
#define V2_FAM_INET 0x1
#define V2_FAM_INET6 0x2
#define V2_FAM_LAST 0x3 /* AF_UNIX: valid, but no addresses for us */
#define V2_PROTO_STREAM 0x1
#define V2_PROTO_LAST 0x2 /* DGRAM */
#define V2_INET_LEN 12    /* 2 * 4 address bytes + 2 * 2 port bytes */
#define V2_INET6_LEN 36   /* 2 * 16 + 2 * 2 */

static const char v1_signature[] = "PROXY ";
#define V1_SIG_LEN (sizeof(v1_signature) - 1)
#define V1_FIELDS 5 /* TCP4 src dst sport dport */

typedef struct field_s {
  const char *p;
  size_t len;
} field_t;

static proxy_header_status_t fail(proxy_header_t *out, const char *why) {
  out->error = why;
  return PROXY_HEADER_ERROR;
}

static proxy_header_status_t done(proxy_header_t *out, int version,
                                  size_t consumed) {
  out->version = version;
  out->consumed = consumed;
  return PROXY_HEADER_DONE;
}

/* Whether the bytes there are so far agree with the signature. */
static int starts_like(const char *buf, size_t len, const char *sig,
                       size_t sig_len) {
  return memcmp(buf, sig, len < sig_len ? len : sig_len) == 0;
}

/* An IPv4 or IPv6 socket address from raw address bytes and a port in
 * network byte order, as both versions carry them in the end. */
static void set_address(struct sockaddr_storage *ss, int family, const void *ip,
                        const unsigned char port[2]) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    memcpy(&in->sin_addr, ip, 4);
    memcpy(&in->sin_port, port, 2);
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    memcpy(&in6->sin6_addr, ip, 16);
    memcpy(&in6->sin6_port, port, 2);
  }
}

/* Splits [p, end) at single spaces into at most max fields. Returns their
 * number, or -1 for an empty field (two spaces, a space at either end) or
 * more than max. */
static int split_fields(const char *p, const char *end, field_t *f, int max) {
  int n = 0;
  for (;;) {
    const char *space = memchr(p, ' ', (size_t)(end - p));
    const char *stop = space ? space : end;
    if (stop == p || n == max)
      return -1;
    f[n].p = p;
    f[n].len = (size_t)(stop - p);
    n++;
    if (space == NULL)
      return n;
    p = space + 1;
  }
}

static int field_is(const field_t *f, const char *word) {
  return f->len == strlen(word) && memcmp(f->p, word, f->len) == 0;
}

/* An address of the family the line announced, in its plain form: only
 * the characters that form may have (uv_inet_pton alone would take an
 * IPv6 zone such as "%eth0"); uv_inet_pton refuses leading zeros in IPv4
 * numbers, as the specification does. */
static int parse_ip(const field_t *f, int family, unsigned char ip[16]) {
  const char *allowed =
      family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:.";
  char text[64];
  size_t i;

  if (f->len >= sizeof(text))
    return -1;
  for (i = 0; i < f->len; i++)
    if (f->p[i] == '\0' || strchr(allowed, f->p[i]) == NULL)
      return -1;
  memcpy(text, f->p, f->len);
  text[f->len] = '\0';
  return uv_inet_pton(family, text, ip) == 0 ? 0 : -1;
}

/* A port: decimal 0..65535 without leading zeros. Network byte order. */
static int parse_port(const field_t *f, unsigned char port[2]) {
  unsigned long value = 0;
  size_t i;

  if (f->len == 0 || f->len > 5 || (f->p[0] == '0' && f->len > 1))
    return -1;
  for (i = 0; i < f->len; i++) {
    if (f->p[i] < '0' || f->p[i] > '9')
      return -1;
    value = value * 10 + (unsigned long)(f->p[i] - '0');
  }
  if (value > 65535)
    return -1;
  port[0] = (unsigned char)(value >> 8);
  port[1] = (unsigned char)(value & 0xff);
  return 0;
}

/* "PROXY TCP4 203.0.113.7 127.0.0.1 56324 8000\r\n", buf starting with
 * "PROXY ". Nothing is decoded before the CRLF is there. */
static proxy_header_status_t parse_v1(const char *buf, size_t len,
                                      proxy_header_t *out) {
  /* The CR must come early enough for the CRLF to end within the limit. */
  size_t scan = len < PROXY_HEADER_V1_MAX - 1 ? len : PROXY_HEADER_V1_MAX - 1;
  const char *cr = NULL, *p = buf + V1_SIG_LEN, *space;
  unsigned char src_ip[16], dst_ip[16], src_port[2], dst_port[2];
  field_t f[V1_FIELDS], proto;
  int family;
  size_t i;

  for (i = V1_SIG_LEN; i < scan && cr == NULL; i++) {
    if (buf[i] == '\n')
      return fail(out, "v1 bad line end");
    if (buf[i] == '\r')
      cr = buf + i;
  }
  if (cr == NULL)
    return len >= PROXY_HEADER_V1_MAX - 1 ? fail(out, "v1 line too long")
                                          : PROXY_HEADER_NEED_MORE;
  if ((size_t)(cr - buf) + 1 == len)
    return PROXY_HEADER_NEED_MORE;
  if (cr[1] != '\n')
    return fail(out, "v1 bad line end");

  space = memchr(p, ' ', (size_t)(cr - p));
  proto.p = p;
  proto.len = (size_t)((space ? space : cr) - p);
  /* UNKNOWN: whatever follows it on the line is to be ignored. */
  if (field_is(&proto, "UNKNOWN"))
    return done(out, 1, (size_t)(cr - buf) + 2);
  if (proto.len == 0)
    return fail(out, "v1 bad syntax");
  if (field_is(&proto, "TCP4"))
    family = AF_INET;
  else if (field_is(&proto, "TCP6"))
    family = AF_INET6;
  else
    return fail(out, "unsupported family");

  if (split_fields(p, cr, f, V1_FIELDS) != V1_FIELDS)
    return fail(out, "v1 bad syntax");
  if (parse_ip(&f[1], family, src_ip) != 0 ||
      parse_ip(&f[2], family, dst_ip) != 0)
    return fail(out, "bad address");
  if (parse_port(&f[3], src_port) != 0 || parse_port(&f[4], dst_port) != 0)
    return fail(out, "bad port");
  out->family = family;
  set_address(&out->src, family, src_ip, src_port);
  set_address(&out->dst, family, dst_ip, dst_port);
  return done(out, 1, (size_t)(cr - buf) + 2);
}

/* The binary form, buf starting with (a part of) its signature. */
static proxy_header_status_t parse_v2(const unsigned char *b, size_t len,
                                      proxy_header_t *out) {
  size_t body, total;
  int cmd, fam, proto;

  if (len < V2_FIXED)
    return PROXY_HEADER_NEED_MORE;
  if (b[12] >> 4 != 2)
    return fail(out, "v2 bad version");
  cmd = b[12] & 0xf;
  if (cmd != V2_CMD_LOCAL && cmd != V2_CMD_PROXY)
    return fail(out, "v2 bad command");
  body = (size_t)b[14] << 8 | b[15];
  total = V2_FIXED + body;
  if (total > PROXY_HEADER_MAX)
    return fail(out, "v2 header too long");

  fam = b[13] >> 4;
  proto = b[13] & 0xf;
  /* LOCAL (health checks): the family byte is ignored, and so are any
   * addresses; the stated length is still skipped. */
  if (cmd == V2_CMD_PROXY) {
    if (fam > V2_FAM_LAST || proto > V2_PROTO_LAST)
      return fail(out, "unsupported family");
    if (proto == V2_PROTO_STREAM &&
        ((fam == V2_FAM_INET && body < V2_INET_LEN) ||
         (fam == V2_FAM_INET6 && body < V2_INET6_LEN)))
      return fail(out, "v2 address block too short");
  }
  if (len < total)
    return PROXY_HEADER_NEED_MORE;

  /* Valid families and transports other than TCP over IPv4 or IPv6 fall
   * back to "unspecified", as the specification asks: no addresses. */
  if (cmd == V2_CMD_LOCAL || proto != V2_PROTO_STREAM ||
      (fam != V2_FAM_INET && fam != V2_FAM_INET6))
    return done(out, 2, total);
  if (fam == V2_FAM_INET) {
    out->family = AF_INET;
    set_address(&out->src, AF_INET, b + 16, b + 24);
    set_address(&out->dst, AF_INET, b + 20, b + 26);
  } else {
    out->family = AF_INET6;
    set_address(&out->src, AF_INET6, b + 16, b + 48);
    set_address(&out->dst, AF_INET6, b + 32, b + 50);
  }
  /* TLVs after the addresses are skipped unread. */
  return done(out, 2, total);
}

proxy_header_status_t proxy_header_parse(const char *buf, size_t len,
                                         proxy_header_t *out) {
  memset(out, 0, sizeof(*out));
  out->family = AF_UNSPEC;
  out->src.ss_family = AF_UNSPEC;
  out->dst.ss_family = AF_UNSPEC;
  if (len == 0)
    return PROXY_HEADER_NEED_MORE;

  /* The first byte tells the versions apart: '\r' or 'P'. */
  if (buf[0] == v2_signature[0]) {
    if (!starts_like(buf, len, v2_signature, sizeof(v2_signature)))
      return fail(out, "bad signature");
    return parse_v2((const unsigned char *)buf, len, out);
  }
  if (!starts_like(buf, len, v1_signature, V1_SIG_LEN))
    return fail(out, "bad signature");
  if (len < V1_SIG_LEN)
    return PROXY_HEADER_NEED_MORE;
  return parse_v1(buf, len, out);
}
