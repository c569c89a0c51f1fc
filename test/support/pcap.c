#include "pcap.h"

#include <stdio.h>
#include <string.h>

#define LINK_NULL 0
#define LINK_ETHERNET 1
#define LINK_RAW 101
#define LINK_LINUX_SLL 113
#define LINK_LINUX_SLL2 276

static uint32_t get32(const unsigned char *p, int swap) {
  return swap ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                    (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
                    (uint32_t)p[0] << 24;
}

static uint32_t net32(const unsigned char *p) {
  return get32(p, 0);
}

static unsigned net16(const unsigned char *p) {
  return (unsigned)p[0] << 8 | p[1];
}

/* Offset of the IP header in a frame, or -1 if it carries no IP. */
static long ip_offset(uint32_t link, const unsigned char *f, size_t len) {
  switch (link) {
  case LINK_ETHERNET:
    return len >= 14 && (net16(f + 12) == 0x0800 || net16(f + 12) == 0x86dd)
               ? 14
               : -1;
  case LINK_LINUX_SLL:
    return len >= 16 ? 16 : -1;
  case LINK_LINUX_SLL2:
    return len >= 20 ? 20 : -1;
  case LINK_NULL:
    return len >= 4 ? 4 : -1;
  case LINK_RAW:
    return 0;
  }
  return -1;
}

/* Parses one frame; returns 1 and fills seg for a TCP segment of port. */
static int parse_frame(uint32_t link, const unsigned char *f, size_t len,
                       int port, tcp_seg_t *seg) {
  long off = ip_offset(link, f, len);
  const unsigned char *ip, *tcp;
  size_t ip_len, hdr, tcp_hdr, avail;
  unsigned sport, dport;

  if (off < 0)
    return 0;
  ip = f + off;
  avail = len - (size_t)off;
  if (avail < 1)
    return 0;
  if ((ip[0] >> 4) == 4) {
    if (avail < 20 || ip[9] != 6)
      return 0;
    hdr = (size_t)(ip[0] & 0xf) * 4;
    ip_len = net16(ip + 2);
  } else if ((ip[0] >> 4) == 6) {
    if (avail < 40 || ip[6] != 6) /* no extension headers on loopback */
      return 0;
    hdr = 40;
    ip_len = 40 + net16(ip + 4);
  } else {
    return 0;
  }
  if (ip_len > avail || hdr + 20 > ip_len)
    return 0;
  tcp = ip + hdr;
  sport = net16(tcp);
  dport = net16(tcp + 2);
  if (sport != (unsigned)port && dport != (unsigned)port)
    return 0;
  tcp_hdr = (size_t)(tcp[12] >> 4) * 4;
  if (tcp_hdr < 20 || hdr + tcp_hdr > ip_len)
    return 0;
  seg->from_client = sport != (unsigned)port;
  seg->seq = net32(tcp + 4);
  seg->ack = net32(tcp + 8);
  seg->flags = tcp[13] & 0x1f;
  seg->len = (uint32_t)(ip_len - hdr - tcp_hdr);
  memset(seg->data, 0, sizeof(seg->data));
  memcpy(seg->data, tcp + tcp_hdr,
         seg->len < TCP_SEG_DATA_KEPT ? seg->len : TCP_SEG_DATA_KEPT);
  return 1;
}

int pcap_read_tcp(const char *path, int server_port, tcp_seg_t *segs,
                  size_t max, char *err, size_t err_size) {
  unsigned char gh[24], ph[16], frame[65536 + 64];
  FILE *f = fopen(path, "rb");
  uint32_t magic, link;
  int swap, nanos;
  size_t n = 0;

  if (f == NULL) {
    snprintf(err, err_size, "cannot open %s", path);
    return -1;
  }
  if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
    snprintf(err, err_size, "%s: no pcap header", path);
    fclose(f);
    return -1;
  }
  magic = get32(gh, 1);
  swap = magic == 0xa1b2c3d4 || magic == 0xa1b23c4d;
  if (!swap && get32(gh, 0) != 0xa1b2c3d4 && get32(gh, 0) != 0xa1b23c4d) {
    snprintf(err, err_size, "%s: not a pcap file (pcapng?)", path);
    fclose(f);
    return -1;
  }
  nanos = (swap ? magic : get32(gh, 0)) == 0xa1b23c4d;
  link = get32(gh + 20, swap) & 0xffff;

  while (fread(ph, 1, sizeof(ph), f) == sizeof(ph)) {
    uint32_t caplen = get32(ph + 8, swap);
    tcp_seg_t seg;
    if (caplen > sizeof(frame) || fread(frame, 1, caplen, f) != caplen)
      break; /* a capture cut short ends here */
    if (!parse_frame(link, frame, caplen, server_port, &seg))
      continue;
    seg.time = get32(ph, swap) + get32(ph + 4, swap) / (nanos ? 1e9 : 1e6);
    if (n == max) {
      snprintf(err, err_size, "%s: more than %lu segments", path,
               (unsigned long)max);
      fclose(f);
      return -1;
    }
    segs[n++] = seg;
  }
  fclose(f);
  return (int)n;
}
