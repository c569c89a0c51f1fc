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
