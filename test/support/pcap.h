/* Test helper: reads the TCP segments of one port out of a pcap file, as
 * written by "tcpdump -w". Pure: no capture, no sockets. */
#ifndef TCPECHO_TEST_PCAP_H
#define TCPECHO_TEST_PCAP_H

#include <stddef.h>
#include <stdint.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define TCP_SEG_DATA_KEPT 64

typedef struct tcp_seg_s {
  double time;     /* seconds, from the capture */
  int from_client; /* source port is not the server's */
  unsigned flags;  /* TCP_* */
  uint32_t seq;
  uint32_t ack;
  uint32_t len;                          /* payload bytes */
  unsigned char data[TCP_SEG_DATA_KEPT]; /* the first payload bytes */
} tcp_seg_t;

/* Reads every TCP segment to or from server_port, in capture order, into
 * segs (at most max). Link types: Ethernet, Linux cooked (v1, v2), BSD
 * loopback, raw IP; IPv4 and IPv6. Returns the count, or -1 with a reason
 * in err. */
int pcap_read_tcp(const char *path, int server_port, tcp_seg_t *segs,
                  size_t max, char *err, size_t err_size);

#endif
