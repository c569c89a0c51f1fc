/* The PROXY protocol header (HAProxy's, versions 1 and 2) that a proxy or
 * load balancer sends before a connection's data: where the client really
 * came from. Pure parsing: no sockets, no I/O, no state between calls.
 *
 * The caller keeps the connection's first bytes in a buffer and calls
 * proxy_header_parse() with all of them each time more arrive (a header
 * may come split at any byte). The version is told by the first bytes:
 * "\r\n\r\n\0\r\nQUIT\n" for version 2 (binary), "PROXY " for version 1
 * (text); anything else is an error as soon as it differs. The result for
 * a given prefix never changes once it is not PROXY_HEADER_NEED_MORE, and
 * PROXY_HEADER_MAX bytes are always enough to decide. */
#ifndef TCPECHO_PROXY_HEADER_H
#define TCPECHO_PROXY_HEADER_H

#include <stddef.h>
#include <uv.h>

/* Longest version 1 line, CRLF included (the specification's worst case,
 * "PROXY UNKNOWN" with two full IPv6 addresses and ports). */
#define PROXY_HEADER_V1_MAX 107

/* Longest header accepted at all: a version 2 header is 16 bytes plus its
 * stated length, and this caps the two together (TLVs included). */
#define PROXY_HEADER_MAX 4096

typedef enum {
  PROXY_HEADER_NEED_MORE, /* a valid start: call again with more bytes */
  PROXY_HEADER_DONE,      /* a whole valid header: see consumed */
  PROXY_HEADER_ERROR      /* not a valid header: see error */
} proxy_header_status_t;

typedef struct proxy_header_s {
  int version; /* on DONE: 1 or 2 */
  /* AF_INET or AF_INET6 when the header carries the client's addresses;
   * AF_UNSPEC when it carries none (v1 UNKNOWN, v2 LOCAL or an unspecified
   * or unsupported family): the caller uses the real peer's. */
  int family;
  struct sockaddr_storage src; /* the client (ss_family == family) */
  struct sockaddr_storage dst; /* where it connected to */
  size_t consumed;   /* header bytes, on DONE: the data starts after them */
  const char *error; /* on ERROR: a static reason for the log */
} proxy_header_t;

/* Parses the first len bytes of a connection. On PROXY_HEADER_DONE, out
 * holds the header and out->consumed (<= len) its length; the bytes after
 * it are the connection's data. On PROXY_HEADER_ERROR, out->error says why
 * ("bad signature", "v1 line too long", "bad address", ...). out is
 * cleared first in every case. */
proxy_header_status_t proxy_header_parse(const char *buf, size_t len,
                                         proxy_header_t *out);

#endif
