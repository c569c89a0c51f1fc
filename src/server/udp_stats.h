/* A UDP echo server's counters, and the lines that report them: the
 * "UDP stats:" line of --stats and the "UDP:" summary line. Plain numbers,
 * summed over loops with udp_stats_add, for any report to read. */
#ifndef TCPECHO_UDP_STATS_H
#define TCPECHO_UDP_STATS_H

#include "server/udp_guard.h"

#include <stdint.h>

/* Why a datagram that passed the rules still got no reply. */
typedef enum {
  UDP_DROPPED_TRUNCATED = 0, /* larger than the receive buffer: never
                                echoed in part */
  UDP_DROPPED_QUEUE_FULL,    /* the send queue holds its cap already */
  UDP_DROPPED_SEND_FAILED,   /* the system refused to send it, or the
                                server closed with it still queued */
  UDP_DROPPED_COUNT
} udp_dropped_t;

typedef struct udp_stats_s {
  uint64_t datagrams_in; /* every one received, answered or not */
  uint64_t bytes_in;
  uint64_t datagrams_out; /* replies sent */
  uint64_t bytes_out;
  uint64_t refused[UDP_REFUSED_COUNT];
  uint64_t dropped[UDP_DROPPED_COUNT];
  uint64_t errors;      /* failed receives (no datagram to count) */
  uint64_t peak_queued; /* bytes waiting in one socket's send queue */
} udp_stats_t;

/* "send queue full", ...; and a short name ("queue_full"). */
const char *udp_dropped_text(udp_dropped_t why);
const char *udp_dropped_name(udp_dropped_t why);

uint64_t udp_stats_refused(const udp_stats_t *st); /* all reasons */
uint64_t udp_stats_dropped(const udp_stats_t *st);

/* Adds one's counts to sum; the peak becomes the larger of the two. */
void udp_stats_add(udp_stats_t *sum, const udp_stats_t *one);

/* "PREFIXUDP stats: N datagrams in, M out, in X MB/s, out Y MB/s, R
 * refused (...), D dropped (...), E errors", the rates over interval_ms
 * since then. */
void udp_stats_log(const char *prefix, const udp_stats_t *now,
                   const udp_stats_t *then, uint64_t interval_ms);

/* "PREFIXUDP: N datagrams in (B bytes), M echoed (B bytes), R refused
 * (...), D dropped (...), E errors": waits briefly for room in the log
 * rather than be dropped. */
void udp_stats_log_summary(const char *prefix, const udp_stats_t *st);

#endif
