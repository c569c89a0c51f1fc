/* What keeps a UDP echo server from being turned into a loop or a
 * reflector: the rules a datagram's source must pass to be answered, and a
 * per-source rate limit in a table of fixed size. Pure: no sockets, no
 * clock (the caller passes the time), so every rule is tested exactly. */
#ifndef TCPECHO_UDP_GUARD_H
#define TCPECHO_UDP_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Why a datagram gets no reply. The order is the order of the checks. */
typedef enum {
  UDP_REFUSED_NONE = -1,   /* answered */
  UDP_REFUSED_ADDRESS = 0, /* from or to an address not unicast (below) */
  UDP_REFUSED_LOW_PORT,    /* source port below 1024: another service's */
  UDP_REFUSED_OUR_PORT,    /* source port ours: maybe another echo server */
  UDP_REFUSED_RATE,        /* the source's address is over --udp-rate */
  UDP_REFUSED_COUNT
} udp_refused_t;

/* The reason in words, for log lines and the summary ("source port below
 * 1024"), and as a short name for machine-read reports ("low_port"). */
const char *udp_refused_text(udp_refused_t why);
const char *udp_refused_name(udp_refused_t why);

/* The rules that need no state, for a datagram from src to dst (NULL where
 * the socket cannot tell) on a server on our_port. An address is not
 * unicast, for IPv4 and the same addresses in
 * IPv4-mapped IPv6 form (::ffff:a.b.c.d): 0.0.0.0/8 ("this network", the
 * unspecified address among them), 224.0.0.0/4 (multicast), 240.0.0.0/4
 * (reserved, and 255.255.255.255, broadcast); for IPv6: :: (unspecified)
 * and ff00::/8 (multicast); an address of another family neither. Checked
 * in order: src and dst unicast, then source port 1024 or above, then not
 * our_port. A directed broadcast (x.y.z.255 on a /24) looks like any
 * unicast address here (only the netmask tells): its reply would have to
 * come from that address, which the system refuses to send from. Returns
 * UDP_REFUSED_NONE if the datagram passes, or the first rule it breaks. */
udp_refused_t udp_guard_check(const struct sockaddr *src,
                              const struct sockaddr *dst, int our_port);

/* Per-source token buckets: each source address (the port is left out, so
 * that a spoofer cannot dodge the limit by changing it; IPv4 and its
 * IPv4-mapped form are one source) may send `rate` datagrams a second
 * after a burst of as many (one second's worth). The table has a fixed
 * number of slots, allocated once: a source not in it takes a free slot
 * among the UDP_RATE_PROBE after its hash, or the least recently used of
 * them, which starts over with a full bucket. So spoofed sources cannot
 * grow memory; at worst they push real sources out, which then get their
 * burst again (the limit fails open, never refusing a source it forgot). */
#define UDP_RATE_SLOTS 4096
#define UDP_RATE_PROBE 8
#define UDP_RATE_MAX 10000000ULL /* datagrams a second */

typedef struct udp_rate_slot_s {
  unsigned char addr[16]; /* IPv6, or IPv4-mapped */
  uint64_t tokens;        /* thousandths of a datagram */
  uint64_t last_ms;       /* when tokens was brought up to date */
  int used;
} udp_rate_slot_t;

typedef struct udp_rate_s {
  uint64_t rate;  /* datagrams a second; 0: no limit, no table */
  uint64_t burst; /* in thousandths of a datagram */
  uint64_t seed;  /* of the hash: sources cannot be chosen to collide */
  size_t slots;   /* a power of two */
  udp_rate_slot_t *table;
  uint64_t evicted; /* sources pushed out to make room */
} udp_rate_t;

/* rate datagrams a second per source (at most UDP_RATE_MAX; 0: no limit);
 * slots is rounded up to a power of two (0: UDP_RATE_SLOTS). Returns 0 or
 * UV_ENOMEM. */
int udp_rate_init(udp_rate_t *r, uint64_t rate, size_t slots, uint64_t seed);
void udp_rate_free(udp_rate_t *r);

/* Whether a datagram from src at now_ms (any monotonic clock in ms) is
 * within its source's rate; takes its token if so. Always 1 without a
 * limit, 0 for a family other than IPv4 and IPv6. */
int udp_rate_allow(udp_rate_t *r, const struct sockaddr *src, uint64_t now_ms);

/* Sources in the table now (for tests and reports). */
size_t udp_rate_sources(const udp_rate_t *r);

#endif
