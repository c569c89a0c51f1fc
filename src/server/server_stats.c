#include "server/server_stats.h"

#include "base/log.h"

#include <stdio.h>

/* ", N proxy header errors" where --proxy-protocol is on, else "". */
static const char *proxy_part(char *buf, size_t size,
                              const server_stats_t *st) {
  buf[0] = '\0';
  if (st->proxy_protocol)
    snprintf(buf, size, ", %llu proxy header errors",
             (unsigned long long)st->proxy_header_errors);
  return buf;
}

void server_stats_add(server_stats_t *sum, const server_stats_t *one) {
  int i;
  sum->sessions_accepted += one->sessions_accepted;
  sum->sessions_rejected += one->sessions_rejected;
  sum->sessions_dropped += one->sessions_dropped;
  sum->sessions_idle_closed += one->sessions_idle_closed;
  sum->bytes_in += one->bytes_in;
  sum->bytes_out += one->bytes_out;
  sum->errors += one->errors;
  for (i = 0; i < SERVER_ERROR_KINDS; i++)
    sum->errors_by_kind[i] += one->errors_by_kind[i];
  sum->proxy_header_errors += one->proxy_header_errors;
  sum->proxy_protocol |= one->proxy_protocol;
  sum->udp_on |= one->udp_on;
  udp_stats_add(&sum->udp, &one->udp);
  sum->sessions_open += one->sessions_open;
  if (one->peak_sessions > sum->peak_sessions)
    sum->peak_sessions = one->peak_sessions;
  if (one->peak_write_pending > sum->peak_write_pending)
    sum->peak_write_pending = one->peak_write_pending;
}

void server_stats_log(const char *prefix, const server_stats_t *now,
                      const server_stats_t *then, uint64_t interval_ms) {
  double secs = (double)interval_ms / 1000.0;
  char proxy[64];
  log_line("%sstats: %lu sessions open, %llu accepted, %llu rejected, "
           "%llu dropped (no free descriptor), in %.2f MB/s, out %.2f MB/s, "
           "%llu errors%s",
           prefix, (unsigned long)now->sessions_open,
           (unsigned long long)now->sessions_accepted,
           (unsigned long long)now->sessions_rejected,
           (unsigned long long)now->sessions_dropped,
           (double)(now->bytes_in - then->bytes_in) / secs / 1e6,
           (double)(now->bytes_out - then->bytes_out) / secs / 1e6,
           (unsigned long long)now->errors,
           proxy_part(proxy, sizeof(proxy), now));
  if (now->udp_on)
    udp_stats_log(prefix, &now->udp, &then->udp, interval_ms);
}

void server_stats_log_summary(const char *prefix, const server_stats_t *st) {
  char proxy[64];
  /* This is the line people keep. */
  log_line_waiting(
      LOG_STOP_TIMEOUT_MS,
      "%sserved %llu session%s, echoed %llu bytes, peak %lu concurrent "
      "sessions, %llu rejected, %llu dropped (no free descriptor), %llu "
      "closed idle, %llu errors%s",
      prefix, (unsigned long long)st->sessions_accepted,
      st->sessions_accepted == 1 ? "" : "s", (unsigned long long)st->bytes_out,
      (unsigned long)st->peak_sessions,
      (unsigned long long)st->sessions_rejected,
      (unsigned long long)st->sessions_dropped,
      (unsigned long long)st->sessions_idle_closed,
      (unsigned long long)st->errors, proxy_part(proxy, sizeof(proxy), st));
  if (st->udp_on)
    udp_stats_log_summary(prefix, &st->udp);
}
