#include "server/udp_guard.h"

#include "base/addr.h"

#include <stdlib.h>
#include <string.h>

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0,    0,
                                                   0, 0, 0, 0, 0xff, 0xff};

const char *udp_refused_text(udp_refused_t why) {
  switch (why) {
  case UDP_REFUSED_ADDRESS:
    return "address not unicast";
  case UDP_REFUSED_LOW_PORT:
    return "source port below 1024";
  case UDP_REFUSED_OUR_PORT:
    return "source port is ours";
  case UDP_REFUSED_RATE:
    return "over --udp-rate";
  case UDP_REFUSED_NONE:
  case UDP_REFUSED_COUNT:
    break;
  }
  return "answered";
}

const char *udp_refused_name(udp_refused_t why) {
  switch (why) {
  case UDP_REFUSED_ADDRESS:
    return "address";
  case UDP_REFUSED_LOW_PORT:
    return "low_port";
  case UDP_REFUSED_OUR_PORT:
    return "our_port";
  case UDP_REFUSED_RATE:
    return "rate";
  case UDP_REFUSED_NONE:
  case UDP_REFUSED_COUNT:
    break;
  }
  return "none";
}

/* The address as 16 bytes, IPv4 in its mapped form; 0 for other
 * families. */
static int addr_bytes(const struct sockaddr *sa, unsigned char out[16]) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    memcpy(out, v4_mapped_prefix, 12);
    memcpy(out + 12, &in->sin_addr, 4);
    return 1;
  }
  if (sa->sa_family == AF_INET6) {
    memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
    return 1;
  }
  return 0;
}

static int is_unicast_v4(const unsigned char a[4]) {
  /* 0/8 this network; 224/4 multicast; 240/4 reserved and broadcast. */
  return a[0] != 0 && a[0] < 224;
}

static int is_unicast(const struct sockaddr *sa) {
  static const unsigned char zero[16] = {0};
  unsigned char a[16];

  if (!addr_bytes(sa, a))
    return 0;
  if (memcmp(a, v4_mapped_prefix, 12) == 0)
    return is_unicast_v4(a + 12);
  return memcmp(a, zero, 16) != 0 && a[0] != 0xff;
}

udp_refused_t udp_guard_check(const struct sockaddr *src,
                              const struct sockaddr *dst, int our_port) {
  int port;

  if (!is_unicast(src) || (dst != NULL && !is_unicast(dst)))
    return UDP_REFUSED_ADDRESS;
  port = addr_port(src);
  if (port < 1024)
    return UDP_REFUSED_LOW_PORT;
  if (port == our_port)
    return UDP_REFUSED_OUR_PORT;
  return UDP_REFUSED_NONE;
}

/* ---- per-source token buckets ---- */

int udp_rate_init(udp_rate_t *r, uint64_t rate, size_t slots, uint64_t seed) {
  size_t n = 1;

  memset(r, 0, sizeof(*r));
  if (rate == 0)
    return 0;
  if (slots == 0)
    slots = UDP_RATE_SLOTS;
  while (n < slots)
    n *= 2;
  r->table = calloc(n, sizeof(*r->table));
  if (r->table == NULL)
    return UV_ENOMEM;
  r->rate = rate > UDP_RATE_MAX ? UDP_RATE_MAX : rate;
  r->burst = r->rate * 1000;
  r->seed = seed;
  r->slots = n;
  return 0;
}

void udp_rate_free(udp_rate_t *r) {
  free(r->table);
  r->table = NULL;
  r->rate = 0; /* no table, no limit */
}

/* FNV-1a from a secret start, then a finaliser (splitmix64's) so that
 * every bit of the address moves the low bits the table uses. */
static uint64_t hash_addr(uint64_t seed, const unsigned char a[16]) {
  uint64_t h = 0xcbf29ce484222325ULL ^ seed;
  int i;
  for (i = 0; i < 16; i++) {
    h ^= a[i];
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

/* The source's slot: its own, a free one, or the least recently used
 * of the UDP_RATE_PROBE from its hash on, emptied for it. */
static udp_rate_slot_t *slot_for(udp_rate_t *r, const unsigned char a[16],
                                 uint64_t now_ms) {
  size_t mask = r->slots - 1;
  size_t at = (size_t)hash_addr(r->seed, a) & mask;
  udp_rate_slot_t *free_slot = NULL, *oldest = NULL;
  size_t i;

  for (i = 0; i < UDP_RATE_PROBE && i < r->slots; i++) {
    udp_rate_slot_t *s = &r->table[(at + i) & mask];
    if (!s->used) {
      if (free_slot == NULL)
        free_slot = s;
      continue;
    }
    if (memcmp(s->addr, a, 16) == 0)
      return s;
    if (oldest == NULL || s->last_ms < oldest->last_ms)
      oldest = s;
  }
  if (free_slot == NULL) {
    free_slot = oldest;
    r->evicted++;
  }
  memcpy(free_slot->addr, a, 16);
  free_slot->tokens = r->burst;
  free_slot->last_ms = now_ms;
  free_slot->used = 1;
  return free_slot;
}

int udp_rate_allow(udp_rate_t *r, const struct sockaddr *src, uint64_t now_ms) {
  unsigned char a[16];
  udp_rate_slot_t *s;

  if (r->rate == 0)
    return 1;
  if (!addr_bytes(src, a))
    return 0;
  s = slot_for(r, a, now_ms);
  if (now_ms > s->last_ms) {
    /* rate thousandths a millisecond; capped first so that a long pause
     * cannot overflow the product. */
    uint64_t ms = now_ms - s->last_ms;
    uint64_t to_full = (r->burst - s->tokens) / r->rate + 1;
    s->tokens += (ms < to_full ? ms : to_full) * r->rate;
    if (s->tokens > r->burst)
      s->tokens = r->burst;
    s->last_ms = now_ms;
  }
  if (s->tokens < 1000)
    return 0;
  s->tokens -= 1000;
  return 1;
}

size_t udp_rate_sources(const udp_rate_t *r) {
  size_t i, n = 0;
  for (i = 0; i < r->slots; i++)
    n += (size_t)r->table[i].used;
  return n;
}
