/* Load over UDP (--bench --udp --rate R): one loop's share of the
 * sockets, each connected to the server and sending its share of the
 * rate on the open loop's exact schedule (bench/schedule.h), on the
 * loop's turns as the TCP open loop does, every echo
 * checked and matched (bench/udp_flow.h). The loop, its phases, the
 * histograms and the report are the load generator's (bench/bench.c). */
#ifndef TCPECHO_BENCH_UDP_LOAD_H
#define TCPECHO_BENCH_UDP_LOAD_H

#include "base/histogram.h"
#include "bench/interval.h"
#include "bench/udp_flow.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct udp_load_config_s {
  const struct sockaddr *peer;
  const struct sockaddr_storage *sources; /* --source-ip, in turn */
  size_t n_sources;
  uint64_t sockets; /* in the whole run */
  uint64_t rate;    /* datagrams per second, in the whole run */
  uint64_t size;    /* bytes per datagram */
  uint64_t timeout_ns;
  uint64_t nonce; /* the run's: echoes of another run are not ours */
} udp_load_config_t;

/* Where a loop's figures go, all on the loop's thread. Latencies are
 * recorded for echoes of datagrams sent in the measured time. */
typedef struct udp_load_sink_s {
  udp_flow_counts_t counts;
  histogram_t *latency; /* from when each datagram was due */
  histogram_t *service; /* from when it was handed to the socket */
  interval_t *interval; /* --json-stream's second, or NULL */
  uint64_t net_errors;  /* errors the network reported (ICMP) */
  int first_net_error;
} udp_load_sink_t;

typedef struct udp_load_s udp_load_t;

/* count sockets, the run's first + 0 .. first + count - 1, on loop; the
 * config and sink must outlive it. NULL when out of memory. */
udp_load_t *udp_load_new(uv_loop_t *loop, const udp_load_config_t *config,
                         size_t first, size_t count, udp_load_sink_t *sink);

/* Opens socket i (0 .. count - 1): bound to its --source-ip address if
 * any, connected, reading. Returns 0, or a UV_* error; *at_bind says
 * whether binding the source address failed (*src is that address). */
int udp_load_open(udp_load_t *u, size_t i, int *at_bind,
                  const struct sockaddr **src);

/* The schedule starts at start_ns (nothing is sent yet). */
void udp_load_start(udp_load_t *u, uint64_t start_ns);

/* Sends every datagram due by now_ns, on every open socket: the 1 ms
 * tick's pass. */
void udp_load_send_due(udp_load_t *u, uint64_t now_ns);

/* A turn of the loop: sends what is due by now_ns, the sockets in the
 * order their schedules stagger them, one comparison when nothing is.
 * Returns when the next is due (0: nothing more to send), so that the
 * caller can keep the loop turning rather than sleep to the tick. */
uint64_t udp_load_send_turn(udp_load_t *u, uint64_t now_ns);

/* Datagrams sent from now on count (begin) or are not sent at all (end). */
void udp_load_measure_begin(udp_load_t *u);
void udp_load_measure_end(udp_load_t *u);

/* Counts lost what timed out by now_ns; whether no echo is awaited any
 * more. */
int udp_load_settled(udp_load_t *u, uint64_t now_ns);

/* Closes the sockets; the loop then ends. udp_load_free after it has. */
void udp_load_close(udp_load_t *u);
void udp_load_free(udp_load_t *u);

#endif
