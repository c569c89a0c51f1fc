/* Socket addresses: formatting for logs, name resolution and lists of
 * literal addresses. */
#ifndef TCPECHO_ADDR_H
#define TCPECHO_ADDR_H

#include <stddef.h>
#include <uv.h>

/* Fits "[" + an IPv6 address with scope + "]:" + port + NUL. */
#define ADDR_STR_SIZE 80

/* Formats an IPv4 or IPv6 socket address as "127.0.0.1:8000" or
 * "[::1]:8000". Returns 0, or a UV_* error for other families. */
int addr_format(const struct sockaddr *sa, char *buf, size_t size);

/* The port of an IPv4 or IPv6 socket address in host order, or -1. */
int addr_port(const struct sockaddr *sa);

/* Formats the local (peer == 0) or remote (peer != 0) address of a TCP
 * handle; writes "?" when it is not known. */
void addr_format_tcp(const uv_tcp_t *tcp, int peer, char *buf, size_t size);

/* "host:port" with IPv6 literals bracketed, as Go writes them: for
 * messages about a host as the user gave it. */
void addr_format_target(const char *host, int port, char *buf, size_t size);

/* Starts resolving host and port for TCP with uv_getaddrinfo; a synchronous
 * lookup when cb is NULL. "[::1]" is accepted as "::1". passive asks for
 * addresses to listen on. Returns 0 or a UV_* error. */
int addr_resolve(uv_loop_t *loop, uv_getaddrinfo_t *req, uv_getaddrinfo_cb cb,
                 const char *host, int port, int passive);

/* The most addresses a list may hold. */
#define ADDR_LIST_MAX 64

/* Parses "ADDR[,ADDR...]", IPv4 or IPv6 literals ("[::1]" as "::1"),
 * into out (port 0), at most max of them. Returns how many, or -1 with
 * *bad and *bad_len set to the first entry that is not an address (empty
 * ones included), or to the first beyond max. */
int addr_parse_list(const char *list, struct sockaddr_storage *out, size_t max,
                    const char **bad, size_t *bad_len);

#endif
