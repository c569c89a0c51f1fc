/* The load generator's plans, pure and testable without a socket: when
 * each open-loop message is due, how much a churn session sends, which
 * source address a connection binds to. */
#ifndef TCPECHO_BENCH_SCHEDULE_H
#define TCPECHO_BENCH_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* One connection's open-loop schedule, exact in nanoseconds: a message
 * every connections * 1e9 / rate ns, the remainder carried so that no
 * rounding adds up, whatever the rate and whatever the timer's
 * granularity. */
typedef struct schedule_s {
  uint64_t next_due; /* ns, on uv_hrtime's clock */
  uint64_t step;     /* whole ns between two messages */
  uint64_t rem;      /* what the division left, carried in frac */
  uint64_t frac;     /* in 1/rate ns */
  uint64_t rate;
} schedule_t;

/* A connection's share of rate messages per second in all, over
 * connections (1..1e6), its first message due at start_ns plus
 * index / count of one interval (connection index of count on its loop),
 * so that the loop's connections do not send together. rate > 0. */
void schedule_init(schedule_t *s, uint64_t start_ns, uint64_t connections,
                   uint64_t rate, uint64_t index, uint64_t count);

/* Moves next_due on to the following message. */
void schedule_next(schedule_t *s);

/* Churn: how many more messages a session of per_session messages sends
 * now, queued of them already given, with room for that many more in
 * flight. */
uint64_t churn_more(uint64_t per_session, uint64_t queued, uint64_t room);

/* Churn: whether a session of per_session messages of size bytes is over,
 * every byte of it echoed (verified bytes), so that it can close. */
int churn_session_echoed(uint64_t per_session, uint64_t size,
                         uint64_t verified);

/* --source-ip: connection index (over the whole run) uses address
 * source_pick(index, n) of n, in turn, so each gets C / n of C
 * connections, give or take one, whatever the loops. n > 0. */
size_t source_pick(uint64_t index, size_t n);

#endif
