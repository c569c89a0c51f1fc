#include "client/udp_ping_track.h"

#include <stdlib.h>

enum { SLOT_FREE, SLOT_AWAITED, SLOT_ANSWERED, SLOT_LOST, SLOT_LATE };

struct udp_track_slot_s {
  uint64_t seq;
  uint64_t sent_ns;
  int state;
};

int udp_track_init(udp_track_t *t, size_t window, uint64_t timeout_ns) {
  t->sent = t->received = t->lost = t->late = 0;
  t->duplicates = t->reordered = t->too_old = 0;
  t->pending = t->highest = 0;
  t->oldest = 1;
  t->window = window;
  t->timeout_ns = timeout_ns;
  t->slots = NULL;
  if (window == 0 || (window & (window - 1)) != 0)
    return -1;
  t->slots = calloc(window, sizeof(*t->slots)); /* all SLOT_FREE */
  return t->slots != NULL ? 0 : -1;
}

void udp_track_free(udp_track_t *t) {
  free(t->slots);
  t->slots = NULL;
}

static udp_track_slot_t *slot_of(const udp_track_t *t, uint64_t seq) {
  return &t->slots[seq & (t->window - 1)];
}

static void count_lost(udp_track_t *t, udp_track_slot_t *s) {
  s->state = SLOT_LOST;
  t->pending--;
  t->lost++;
}

uint64_t udp_track_send(udp_track_t *t, uint64_t now_ns, uint64_t *evicted) {
  uint64_t seq = ++t->sent;
  udp_track_slot_t *s = slot_of(t, seq);

  *evicted = 0;
  if (s->state == SLOT_AWAITED) {
    *evicted = s->seq;
    count_lost(t, s);
  }
  s->seq = seq;
  s->sent_ns = now_ns;
  s->state = SLOT_AWAITED;
  t->pending++;
  return seq;
}

static int timed_out(const udp_track_t *t, const udp_track_slot_t *s,
                     uint64_t now_ns) {
  return now_ns - s->sent_ns >= t->timeout_ns;
}

int udp_track_sent_at(const udp_track_t *t, uint64_t seq, uint64_t *sent_ns) {
  if (seq == 0 || seq > t->sent || t->sent - seq >= t->window)
    return 0;
  *sent_ns = slot_of(t, seq)->sent_ns;
  return 1;
}

udp_track_result_t udp_track_reply(udp_track_t *t, uint64_t seq,
                                   uint64_t now_ns, uint64_t *sent_ns) {
  udp_track_slot_t *s;

  if (seq == 0 || seq > t->sent)
    return UDP_TRACK_UNKNOWN;
  if (t->sent - seq >= t->window) {
    t->too_old++;
    return UDP_TRACK_TOO_OLD;
  }
  s = slot_of(t, seq);
  *sent_ns = s->sent_ns;
  switch (s->state) {
  case SLOT_AWAITED:
    if (timed_out(t, s, now_ns)) {
      count_lost(t, s);
      break; /* late, below */
    }
    s->state = SLOT_ANSWERED;
    t->pending--;
    t->received++;
    if (seq < t->highest) {
      t->reordered++;
      return UDP_TRACK_REORDERED;
    }
    t->highest = seq;
    return UDP_TRACK_RECEIVED;
  case SLOT_LOST:
    break;
  default: /* answered, or late already */
    t->duplicates++;
    return UDP_TRACK_DUPLICATE;
  }
  s->state = SLOT_LATE;
  t->late++;
  return UDP_TRACK_LATE;
}

/* Moves oldest past the seqs no longer awaited (and those the ring has
 * forgotten, counted when they were). */
static void skip_settled(udp_track_t *t) {
  if (t->sent >= t->window && t->oldest <= t->sent - t->window)
    t->oldest = t->sent - t->window + 1;
  while (t->oldest <= t->sent && slot_of(t, t->oldest)->state != SLOT_AWAITED)
    t->oldest++;
}

uint64_t udp_track_expire(udp_track_t *t, uint64_t now_ns) {
  udp_track_slot_t *s;
  skip_settled(t);
  if (t->oldest > t->sent)
    return 0;
  s = slot_of(t, t->oldest);
  if (!timed_out(t, s, now_ns))
    return 0;
  count_lost(t, s);
  return t->oldest++;
}

uint64_t udp_track_next_deadline(udp_track_t *t) {
  skip_settled(t);
  if (t->oldest > t->sent)
    return 0;
  return slot_of(t, t->oldest)->sent_ns + t->timeout_ns;
}

uint64_t udp_track_pending(const udp_track_t *t) {
  return t->pending;
}

void udp_track_forget_pending(udp_track_t *t) {
  uint64_t seq, forgotten = t->pending;
  skip_settled(t);
  for (seq = t->oldest; seq <= t->sent && t->pending > 0; seq++) {
    udp_track_slot_t *s = slot_of(t, seq);
    if (s->state == SLOT_AWAITED) {
      s->state = SLOT_FREE;
      t->pending--;
    }
  }
  t->sent -= forgotten;
}
