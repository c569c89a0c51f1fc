#include "bench/udp_flow.h"

#include "client/udp_ping_wire.h"

#include <stdlib.h>

#define UDP_FLOW_LATE_NS 1000000ULL /* handed over later than this: late */

size_t udp_flow_window(uint64_t rate_per_s, uint64_t timeout_ns) {
  /* In double: rate (1e9) times timeout (3e16 ns) overflows 64 bits. */
  double need = 2.0 * (double)rate_per_s * (double)timeout_ns / 1e9;
  size_t window = UDP_FLOW_WINDOW_MIN;
  while (window < UDP_FLOW_WINDOW_MAX && (double)window < need)
    window *= 2;
  return window;
}

int udp_flow_init(udp_flow_t *f, size_t window, uint64_t timeout_ns,
                  uint64_t nonce, uint64_t size, udp_flow_counts_t *counts) {
  f->counts = counts;
  f->nonce = nonce;
  f->size = size;
  f->first = 0;
  f->last = UINT64_MAX;
  f->mask = window - 1;
  f->written = malloc(sizeof(*f->written) * window);
  if (f->written == NULL)
    return -1;
  if (udp_track_init(&f->track, window, timeout_ns) != 0) {
    free(f->written);
    f->written = NULL;
    return -1;
  }
  return 0;
}

void udp_flow_free(udp_flow_t *f) {
  udp_track_free(&f->track);
  free(f->written);
  f->written = NULL;
}

static int measured(const udp_flow_t *f, uint64_t seq) {
  return f->first != 0 && seq >= f->first && seq <= f->last;
}

void udp_flow_make(const udp_flow_t *f, void *buf, uint64_t due_ns) {
  udp_ping_encode(buf, (size_t)f->size, f->nonce, f->track.sent + 1, due_ns);
}

void udp_flow_sent(udp_flow_t *f, uint64_t due_ns, uint64_t now_ns) {
  uint64_t evicted, seq = udp_track_send(&f->track, due_ns, &evicted);

  f->written[seq & f->mask] = now_ns;
  if (evicted != 0 && measured(f, evicted))
    f->counts->lost++;
  if (measured(f, seq)) {
    f->counts->sent++;
    f->counts->late_sent += now_ns - due_ns > UDP_FLOW_LATE_NS;
  }
}

void udp_flow_unsent(udp_flow_t *f) {
  if (measured(f, f->track.sent + 1))
    f->counts->unsent++;
}

/* Whether data is exactly datagram *seq as sent; *due_ns when it was due. */
static int intact(const udp_flow_t *f, const void *data, size_t len,
                  uint64_t *seq, uint64_t *due_ns) {
  uint64_t claimed;
  if (!udp_ping_decode(data, len, f->nonce, seq, &claimed) || *seq == 0 ||
      *seq > f->track.sent)
    return 0;
  if (!udp_track_sent_at(&f->track, *seq, due_ns))
    *due_ns = claimed; /* too old to know: as it says */
  return udp_ping_check(data, len, (size_t)f->size, f->nonce, *seq, *due_ns) ==
         UDP_PING_INTACT;
}

udp_flow_echo_t udp_flow_echo(udp_flow_t *f, const void *data, size_t len,
                              int truncated, uint64_t now_ns,
                              uint64_t *latency_ns, uint64_t *service_ns,
                              int *in_measure) {
  uint64_t seq, due_ns, lost_before = f->track.lost;
  udp_flow_counts_t *c = f->counts;
  udp_track_result_t result;
  int in;

  *in_measure = 0;
  if (truncated || !intact(f, data, len, &seq, &due_ns)) {
    c->corrupted++;
    return UDP_FLOW_CORRUPTED;
  }
  in = measured(f, seq);
  result = udp_track_reply(&f->track, seq, now_ns, &due_ns);
  switch (result) {
  case UDP_TRACK_RECEIVED:
  case UDP_TRACK_REORDERED:
    *latency_ns = now_ns > due_ns ? now_ns - due_ns : 0;
    *service_ns = now_ns - f->written[seq & f->mask];
    *in_measure = in;
    c->received += in;
    if (result == UDP_TRACK_RECEIVED)
      return UDP_FLOW_RECEIVED;
    c->reordered += in;
    return UDP_FLOW_REORDERED;
  case UDP_TRACK_DUPLICATE:
    c->duplicates += in;
    return UDP_FLOW_DUPLICATE;
  case UDP_TRACK_LATE:
    /* Counted lost now if its timeout passed unnoticed, else already. */
    c->lost += in && f->track.lost > lost_before;
    c->late += in;
    return UDP_FLOW_LATE;
  case UDP_TRACK_TOO_OLD:
    c->too_old += in;
    return UDP_FLOW_TOO_OLD;
  case UDP_TRACK_UNKNOWN: /* ruled out by intact */
    break;
  }
  c->corrupted++;
  return UDP_FLOW_CORRUPTED;
}

void udp_flow_expire(udp_flow_t *f, uint64_t now_ns) {
  uint64_t seq;
  while ((seq = udp_track_expire(&f->track, now_ns)) != 0)
    f->counts->lost += measured(f, seq);
}

void udp_flow_measure_begin(udp_flow_t *f) {
  f->first = f->track.sent + 1;
}

void udp_flow_measure_end(udp_flow_t *f) {
  if (f->first == 0) /* ended before it began: nothing measured */
    f->first = f->track.sent + 1;
  f->last = f->track.sent;
}

int udp_flow_awaiting(const udp_flow_t *f) {
  return udp_track_pending(&f->track) > 0;
}

uint64_t udp_flow_next_deadline(udp_flow_t *f) {
  return udp_track_next_deadline(&f->track);
}

uint64_t udp_flow_loss_milli_pct(uint64_t sent, uint64_t lost) {
  if (sent == 0)
    return 0;
  return (lost * 100000 + sent - 1) / sent;
}
