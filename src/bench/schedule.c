#include "bench/schedule.h"

void schedule_init(schedule_t *s, uint64_t start_ns, uint64_t connections,
                   uint64_t rate, uint64_t index, uint64_t count) {
  uint64_t period = connections * 1000000000ULL; /* <= 1e15: no overflow */

  s->rate = rate;
  s->step = period / rate;
  s->rem = period % rate;
  s->frac = 0;
  /* In double: step * index could overflow 64 bits (step up to 1e15). */
  s->next_due =
      start_ns + (uint64_t)((double)period / (double)rate * (double)index /
                            (double)(count ? count : 1));
}

void schedule_next(schedule_t *s) {
  s->next_due += s->step;
  s->frac += s->rem;
  if (s->frac >= s->rate) {
    s->next_due++;
    s->frac -= s->rate;
  }
}

uint64_t churn_more(uint64_t per_session, uint64_t queued, uint64_t room) {
  uint64_t left = queued < per_session ? per_session - queued : 0;
  return room < left ? room : left;
}

int churn_session_echoed(uint64_t per_session, uint64_t size,
                         uint64_t verified) {
  return verified == per_session * size;
}

size_t source_pick(uint64_t index, size_t n) {
  return (size_t)(index % n);
}
