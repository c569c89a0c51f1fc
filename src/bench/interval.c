#include "bench/interval.h"

void interval_init(interval_t *iv) {
  histogram_init(&iv->latency);
  iv->counts.messages = iv->counts.bytes = iv->counts.errors = 0;
}

void interval_add(interval_t *to, const interval_t *from) {
  histogram_merge(&to->latency, &from->latency);
  to->counts.messages += from->counts.messages;
  to->counts.bytes += from->counts.bytes;
  to->counts.errors += from->counts.errors;
}

void interval_count(interval_t *iv, const interval_totals_t *now,
                    interval_totals_t *last) {
  iv->counts.messages += now->messages - last->messages;
  iv->counts.bytes += now->bytes - last->bytes;
  iv->counts.errors += now->errors - last->errors;
  *last = *now;
}

uint64_t interval_of(uint64_t start_ns, uint64_t now_ns) {
  return now_ns > start_ns ? (now_ns - start_ns) / 1000000000ULL : 0;
}
