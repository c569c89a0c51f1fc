#include "server/udp_stats.h"

#include "base/log.h"

#include <stdio.h>

const char *udp_dropped_text(udp_dropped_t why) {
  switch (why) {
  case UDP_DROPPED_TRUNCATED:
    return "truncated";
  case UDP_DROPPED_QUEUE_FULL:
    return "send queue full";
  case UDP_DROPPED_SEND_FAILED:
    return "send failed";
  case UDP_DROPPED_COUNT:
    break;
  }
  return "?";
}

const char *udp_dropped_name(udp_dropped_t why) {
  switch (why) {
  case UDP_DROPPED_TRUNCATED:
    return "truncated";
  case UDP_DROPPED_QUEUE_FULL:
    return "queue_full";
  case UDP_DROPPED_SEND_FAILED:
    return "send_failed";
  case UDP_DROPPED_COUNT:
    break;
  }
  return "?";
}

uint64_t udp_stats_refused(const udp_stats_t *st) {
  uint64_t n = 0;
  int i;
  for (i = 0; i < UDP_REFUSED_COUNT; i++)
    n += st->refused[i];
  return n;
}

uint64_t udp_stats_dropped(const udp_stats_t *st) {
  uint64_t n = 0;
  int i;
  for (i = 0; i < UDP_DROPPED_COUNT; i++)
    n += st->dropped[i];
  return n;
}

void udp_stats_add(udp_stats_t *sum, const udp_stats_t *one) {
  int i;
  sum->datagrams_in += one->datagrams_in;
  sum->bytes_in += one->bytes_in;
  sum->datagrams_out += one->datagrams_out;
  sum->bytes_out += one->bytes_out;
  for (i = 0; i < UDP_REFUSED_COUNT; i++)
    sum->refused[i] += one->refused[i];
  for (i = 0; i < UDP_DROPPED_COUNT; i++)
    sum->dropped[i] += one->dropped[i];
  sum->errors += one->errors;
  if (one->peak_queued > sum->peak_queued)
    sum->peak_queued = one->peak_queued;
}

/* The lines name every reason, always in the same order, so that they
 * parse the same whatever happened. */
#define N(x) ((unsigned long long)(x))

void udp_stats_log(const char *prefix, const udp_stats_t *now,
                   const udp_stats_t *then, uint64_t interval_ms) {
  double secs = (double)interval_ms / 1000.0;
  log_line("%sUDP stats: %llu datagrams in, %llu out, in %.2f MB/s, out "
           "%.2f MB/s, %llu refused (%llu address not unicast, %llu source "
           "port below 1024, %llu source port is ours, %llu over "
           "--udp-rate), %llu dropped (%llu truncated, %llu send queue "
           "full, %llu send failed), %llu errors",
           prefix, N(now->datagrams_in), N(now->datagrams_out),
           (double)(now->bytes_in - then->bytes_in) / secs / 1e6,
           (double)(now->bytes_out - then->bytes_out) / secs / 1e6,
           N(udp_stats_refused(now)), N(now->refused[UDP_REFUSED_ADDRESS]),
           N(now->refused[UDP_REFUSED_LOW_PORT]),
           N(now->refused[UDP_REFUSED_OUR_PORT]),
           N(now->refused[UDP_REFUSED_RATE]), N(udp_stats_dropped(now)),
           N(now->dropped[UDP_DROPPED_TRUNCATED]),
           N(now->dropped[UDP_DROPPED_QUEUE_FULL]),
           N(now->dropped[UDP_DROPPED_SEND_FAILED]), N(now->errors));
}

void udp_stats_log_summary(const char *prefix, const udp_stats_t *st) {
  log_line_waiting(
      LOG_STOP_TIMEOUT_MS,
      "%sUDP: %llu datagrams in (%llu bytes), %llu echoed (%llu bytes), "
      "%llu refused (%llu address not unicast, %llu source port below 1024, "
      "%llu source port is ours, %llu over --udp-rate), %llu dropped (%llu "
      "truncated, %llu send queue full, %llu send failed), %llu errors",
      prefix, N(st->datagrams_in), N(st->bytes_in), N(st->datagrams_out),
      N(st->bytes_out), N(udp_stats_refused(st)),
      N(st->refused[UDP_REFUSED_ADDRESS]), N(st->refused[UDP_REFUSED_LOW_PORT]),
      N(st->refused[UDP_REFUSED_OUR_PORT]), N(st->refused[UDP_REFUSED_RATE]),
      N(udp_stats_dropped(st)), N(st->dropped[UDP_DROPPED_TRUNCATED]),
      N(st->dropped[UDP_DROPPED_QUEUE_FULL]),
      N(st->dropped[UDP_DROPPED_SEND_FAILED]), N(st->errors));
}
