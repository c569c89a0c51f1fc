/* The datagram of ping over UDP: a header saying which datagram it is and
 * when it left, then a pattern of its own, so that any byte changed on the
 * way is found without keeping what was sent.
 *
 *   offset  size  (integers big-endian)
 *        0     8  "tcpecho" and version 1: a datagram of this format
 *        8     8  the run's nonce: echoes of another run are not ours
 *       16     8  the sequence number, from 1
 *       24     8  the send time, ns on the sender's monotonic clock
 *       32   ...  pattern_fill(pattern_seed(nonce, seq), 0, ...)
 */
#ifndef TCPECHO_UDP_PING_WIRE_H
#define TCPECHO_UDP_PING_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define UDP_PING_HEADER 32
#define UDP_PING_SEQ_OFFSET 16
#define UDP_PING_TIME_OFFSET 24

/* Writes datagram seq of the run nonce, len >= UDP_PING_HEADER bytes. */
void udp_ping_encode(void *buf, size_t len, uint64_t nonce, uint64_t seq,
                     uint64_t sent_ns);

/* Whether buf (len bytes) starts with a header of the run nonce; then
 * *seq and *sent_ns are what it says. */
int udp_ping_decode(const void *buf, size_t len, uint64_t nonce, uint64_t *seq,
                    uint64_t *sent_ns);

/* What udp_ping_check returns for a datagram exactly as sent. */
#define UDP_PING_INTACT ((size_t)-1)

/* UDP_PING_INTACT if buf (len bytes) is exactly datagram seq of the run
 * nonce, want_len bytes sent at sent_ns; else the offset of its first
 * wrong byte, or where it is shorter or longer, of the first one missing
 * (len) or extra (want_len). */
size_t udp_ping_check(const void *buf, size_t len, size_t want_len,
                      uint64_t nonce, uint64_t seq, uint64_t sent_ns);

#endif
