/* Test helper: checks that the TCP segments of one connection are the
 * tutorial's session: 3-way handshake, one data segment each way carrying
 * exactly the message, then a FIN from each side, all acknowledged, sequence
 * and acknowledgement numbers consistent throughout, no reset. Pure. */
#ifndef TCPECHO_TEST_TCP_TRACE_H
#define TCPECHO_TEST_TCP_TRACE_H

#include "pcap.h"

#include <stddef.h>

typedef struct trace_expect_s {
  const char *message; /* what the client sends and the server echoes */
  size_t message_len;
  int server_closes_first; /* 0: the client's timer closes first */
  double close_after;      /* client's timer, seconds (client first only) */
} trace_expect_t;

/* Returns 0 if segs (in capture order) are the expected session, else -1
 * with the first violation described in why. */
int trace_check(const tcp_seg_t *segs, size_t n, const trace_expect_t *want,
                char *why, size_t why_size);

#endif
