#include "base/addr.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>

int addr_format(const struct sockaddr *sa, char *buf, size_t size) {
  char ip[64];
  int err;

  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    err = uv_ip4_name(in, ip, sizeof(ip));
    if (err == 0)
      snprintf(buf, size, "%s:%d", ip, addr_port(sa));
    return err;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};
    /* A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d: show them
     * as the IPv4 addresses they are. */
    if (memcmp(in6->sin6_addr.s6_addr, v4mapped, sizeof(v4mapped)) == 0) {
      struct sockaddr_in in;
      memset(&in, 0, sizeof(in));
      in.sin_family = AF_INET;
      in.sin_port = in6->sin6_port;
      memcpy(&in.sin_addr, in6->sin6_addr.s6_addr + 12, 4);
      return addr_format((const struct sockaddr *)&in, buf, size);
    }
    err = uv_ip6_name(in6, ip, sizeof(ip));
    if (err == 0)
      snprintf(buf, size, "[%s]:%d", ip, addr_port(sa));
    return err;
  }
  return UV_EAFNOSUPPORT;
}

/* The port is read where it lies, not through a sockaddr_in6 pointer to
 * what may be a smaller sockaddr_in (gcc -O3 rightly warns of that). */
int addr_port(const struct sockaddr *sa) {
  uint16_t port;
  if (sa->sa_family == AF_INET)
    memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in, sin_port),
           sizeof(port));
  else if (sa->sa_family == AF_INET6)
    memcpy(&port, (const char *)sa + offsetof(struct sockaddr_in6, sin6_port),
           sizeof(port));
  else
    return -1;
  return ntohs(port);
}

void addr_format_tcp(const uv_tcp_t *tcp, int peer, char *buf, size_t size) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  int err = peer ? uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len)
                 : uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len);
  if (err != 0 || addr_format((struct sockaddr *)&ss, buf, size) != 0)
    snprintf(buf, size, "?");
}

int addr_resolve(uv_loop_t *loop, uv_getaddrinfo_t *req, uv_getaddrinfo_cb cb,
                 const char *host, int port, int passive) {
  struct addrinfo hints;
  char service[8];
  char name[256];
  size_t len = strlen(host);

  /* Accept the bracketed form users copy from URLs and our own logs. */
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    if (len - 2 >= sizeof(name))
      return UV_EINVAL;
    memcpy(name, host + 1, len - 2);
    name[len - 2] = '\0';
    host = name;
  }
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  snprintf(service, sizeof(service), "%d", port);
  return uv_getaddrinfo(loop, req, cb, host, service, &hints);
}

void addr_format_target(const char *host, int port, char *buf, size_t size) {
  if (strchr(host, ':') != NULL && host[0] != '[')
    snprintf(buf, size, "[%s]:%d", host, port);
  else
    snprintf(buf, size, "%s:%d", host, port);
}

/* One literal of len bytes into out, port 0; 0 or -1. */
static int parse_literal(const char *s, size_t len,
                         struct sockaddr_storage *out) {
  char ip[64];
  if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
    s++;
    len -= 2;
  }
  if (len == 0 || len >= sizeof(ip))
    return -1;
  memcpy(ip, s, len);
  ip[len] = '\0';
  memset(out, 0, sizeof(*out));
  if (uv_ip4_addr(ip, 0, (struct sockaddr_in *)out) == 0)
    return 0;
  if (uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)out) == 0)
    return 0;
  return -1;
}

int addr_parse_list(const char *list, struct sockaddr_storage *out, size_t max,
                    const char **bad, size_t *bad_len) {
  const char *p = list;
  size_t n = 0;

  for (;;) {
    size_t len = strcspn(p, ",");
    if (n == max || parse_literal(p, len, &out[n]) != 0) {
      *bad = p;
      *bad_len = len;
      return -1;
    }
    n++;
    if (p[len] == '\0')
      return (int)n;
    p += len + 1;
  }
}
