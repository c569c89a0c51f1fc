/* The accounting of one socket of the UDP load generator, without sockets
 * or clocks of its own: which datagram goes next, what each echo is
 * (checked byte for byte against what was sent), and the counts of the
 * datagrams sent in the measured time. Pure: testable without a socket.
 *
 * Datagrams are client/udp_ping_wire.h's, stamped with the time they were
 * due (not sent), so that latency runs from the schedule; matched by
 * client/udp_ping_track.h's ring. Memory is bounded: window slots of 32
 * bytes, whatever the run's length. */
#ifndef TCPECHO_BENCH_UDP_FLOW_H
#define TCPECHO_BENCH_UDP_FLOW_H

#include "client/udp_ping_track.h"

#include <stddef.h>
#include <stdint.h>

/* The ring of a socket: room for twice what its share of the rate sends
 * in one timeout, a power of two from UDP_FLOW_WINDOW_MIN to
 * UDP_FLOW_WINDOW_MAX. A datagram still awaited when the ring comes round
 * to it is counted lost then. */
#define UDP_FLOW_WINDOW_MIN 64
#define UDP_FLOW_WINDOW_MAX 1048576

/* Of the datagrams sent in the measured time: each is, by the end, either
 * received or lost (late ones among the lost). */
typedef struct udp_flow_counts_s {
  uint64_t sent;       /* handed to the socket */
  uint64_t late_sent;  /* of those, handed over more than 1 ms after due */
  uint64_t unsent;     /* due, but the socket refused them (not in sent) */
  uint64_t received;   /* the first echo, within the timeout */
  uint64_t lost;       /* no echo within the timeout */
  uint64_t late;       /* of the lost, echoed after the timeout */
  uint64_t duplicates; /* echoes of one already echoed */
  uint64_t reordered;  /* of the received, after an echo of a later one */
  uint64_t too_old;    /* echoes older than the ring: cannot be matched */
  /* Of any time, warmup too: an echo that is not exactly a datagram sent
   * (bytes changed, cut or added, or never sent). Any fails the run. */
  uint64_t corrupted;
} udp_flow_counts_t;

/* What an echo was. */
typedef enum {
  UDP_FLOW_RECEIVED,
  UDP_FLOW_REORDERED,
  UDP_FLOW_DUPLICATE,
  UDP_FLOW_LATE,
  UDP_FLOW_TOO_OLD,
  UDP_FLOW_CORRUPTED
} udp_flow_echo_t;

typedef struct udp_flow_s {
  udp_flow_counts_t *counts; /* where it counts: shared by a loop's flows */
  /* private */
  udp_track_t track;
  uint64_t *written; /* ring: when each datagram was handed to the socket */
  uint64_t mask;     /* window - 1: seq's slot in written */
  uint64_t nonce;
  uint64_t size;  /* bytes per datagram */
  uint64_t first; /* the first seq of the measured time; 0: not begun */
  uint64_t last;  /* the last one; UINT64_MAX until it ends */
} udp_flow_t;

/* The window for a socket sending rate_per_s datagrams a second, each
 * awaited timeout_ns. */
size_t udp_flow_window(uint64_t rate_per_s, uint64_t timeout_ns);

/* Datagrams of size bytes (UDP_PING_HEADER or more), of the run nonce,
 * counted into *counts (not cleared: several flows may add up there).
 * Returns 0, or -1 (nothing to free) if out of memory. */
int udp_flow_init(udp_flow_t *f, size_t window, uint64_t timeout_ns,
                  uint64_t nonce, uint64_t size, udp_flow_counts_t *counts);
void udp_flow_free(udp_flow_t *f);

/* Writes the next datagram, due at due_ns, into buf (size bytes). Then
 * either udp_flow_sent or udp_flow_unsent says what became of it. */
void udp_flow_make(const udp_flow_t *f, void *buf, uint64_t due_ns);

/* The datagram made last was handed to the socket at now_ns. */
void udp_flow_sent(udp_flow_t *f, uint64_t due_ns, uint64_t now_ns);

/* The socket refused it: never sent, counted apart in the measured time. */
void udp_flow_unsent(udp_flow_t *f);

/* An echo of len bytes (truncated: cut short on arrival) came at now_ns.
 * For the first echo of a datagram in time, *latency_ns is from when it
 * was due and *service_ns from when it was sent, and *measured says
 * whether it was sent in the measured time. */
udp_flow_echo_t udp_flow_echo(udp_flow_t *f, const void *data, size_t len,
                              int truncated, uint64_t now_ns,
                              uint64_t *latency_ns, uint64_t *service_ns,
                              int *measured);

/* Counts lost every datagram whose timeout passed by now_ns. */
void udp_flow_expire(udp_flow_t *f, uint64_t now_ns);

/* The measured time begins (datagrams made from now on count) or ends
 * (datagrams made from now on do not). */
void udp_flow_measure_begin(udp_flow_t *f);
void udp_flow_measure_end(udp_flow_t *f);

/* Whether an echo is still awaited (within its timeout) for any datagram,
 * of the measured time or not. */
int udp_flow_awaiting(const udp_flow_t *f);

/* When the next awaited datagram times out (0: none). */
uint64_t udp_flow_next_deadline(udp_flow_t *f);

/* Loss in thousandths of a percent of sent (0 when nothing was sent),
 * rounded up, so that any loss at all is more than 0. */
uint64_t udp_flow_loss_milli_pct(uint64_t sent, uint64_t lost);

#endif
