/* The accounting of ping over UDP, without sockets or clocks of its own:
 * which sequence numbers were sent when, which came back in time, twice,
 * out of order or after their timeout, and which are lost.
 *
 * Memory is bounded whatever the run's length: a ring of the last `window`
 * sequence numbers sent. One still awaited when the ring comes round to
 * its slot is counted lost then, before its timeout; a reply older than
 * the ring can no longer be told apart (a late echo or a duplicate), and
 * is counted as too old. */
#ifndef TCPECHO_UDP_PING_TRACK_H
#define TCPECHO_UDP_PING_TRACK_H

#include <stddef.h>
#include <stdint.h>

/* The ring tcpecho uses: 16,384 datagrams awaited at once (16 s of
 * --interval 0.001), 384 KiB. */
#define UDP_TRACK_WINDOW 16384

typedef enum {
  UDP_TRACK_RECEIVED,  /* the first echo, in time */
  UDP_TRACK_REORDERED, /* the same, after an echo of a later one */
  UDP_TRACK_DUPLICATE, /* another echo of one already answered */
  UDP_TRACK_LATE,      /* the first echo, after its timeout: stays lost */
  UDP_TRACK_TOO_OLD,   /* older than the ring */
  UDP_TRACK_UNKNOWN    /* a sequence number never sent */
} udp_track_result_t;

typedef struct udp_track_slot_s udp_track_slot_t;

/* Callers read the counts; the rest is the tracker's own. received counts
 * the reordered ones too, lost the late ones; sent - received - lost are
 * still awaited. */
typedef struct udp_track_s {
  uint64_t sent, received, lost, late, duplicates, reordered, too_old;
  /* private */
  udp_track_slot_t *slots;
  size_t window; /* a power of two */
  uint64_t timeout_ns;
  uint64_t pending;
  uint64_t highest; /* the highest seq answered in time */
  uint64_t oldest;  /* no seq below it is awaited */
} udp_track_t;

/* window: a power of two; timeout_ns: how long an echo may take. Returns
 * 0, or -1 (nothing to free) if out of memory or window is not one. */
int udp_track_init(udp_track_t *t, size_t window, uint64_t timeout_ns);
void udp_track_free(udp_track_t *t);

/* The sequence number of the next datagram, sent at now_ns. When the ring
 * holds window awaited ones, the oldest is counted lost, and *evicted is
 * its seq (else 0). */
uint64_t udp_track_send(udp_track_t *t, uint64_t now_ns, uint64_t *evicted);

/* Whether seq was sent and is still in the ring: then *sent_ns is when.
 * Counts nothing: to check an echo before udp_track_reply counts it. */
int udp_track_sent_at(const udp_track_t *t, uint64_t seq, uint64_t *sent_ns);

/* An echo of seq arrived at now_ns: what it is, and (but for TOO_OLD and
 * UNKNOWN) *sent_ns when seq was sent. An echo still awaited but past its
 * timeout is LATE, counted lost and late at once. */
udp_track_result_t udp_track_reply(udp_track_t *t, uint64_t seq,
                                   uint64_t now_ns, uint64_t *sent_ns);

/* The oldest awaited seq whose timeout has passed by now_ns, counted lost
 * now; 0 when there is none. Call until 0. */
uint64_t udp_track_expire(udp_track_t *t, uint64_t now_ns);

/* When the oldest awaited seq times out; 0 when none is awaited. */
uint64_t udp_track_next_deadline(udp_track_t *t);

uint64_t udp_track_pending(const udp_track_t *t);

/* The run was cut short: the seqs still awaited are taken back, as if
 * never sent (neither received nor lost). The end of the tracker's use:
 * sent is then a count, no longer the last seq. */
void udp_track_forget_pending(udp_track_t *t);

#endif
