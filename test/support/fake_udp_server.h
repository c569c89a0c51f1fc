/* Test helper: a UDP echo server on the test's own loop that misbehaves on
 * purpose, datagram by datagram, so that ping over UDP can be shown to
 * count exactly what happened. Datagrams are numbered from 1 as they
 * arrive; a fault left 0 is off. */
#ifndef TCPECHO_TEST_FAKE_UDP_SERVER_H
#define TCPECHO_TEST_FAKE_UDP_SERVER_H

#include <stdint.h>
#include <uv.h>

typedef struct fake_udp_server_s {
  /* The faults, set before fake_udp_server_start. */
  uint64_t drop_every; /* every drop_every-th datagram gets no echo */
  uint64_t duplicate;  /* this one is echoed twice */
  uint64_t delay;      /* this one is echoed delay_ms late */
  uint64_t delay_ms;
  uint64_t reorder; /* this one is echoed just after the next one */
  uint64_t corrupt; /* this one comes back with its byte 40 changed */
  int silent;       /* no echo at all */
  /* Read by the test. */
  int port;
  uint64_t received; /* datagrams */
  uint64_t echoed;   /* datagrams sent back, the duplicate twice */
  int min_source_port;
  /* private */
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_timer_t timer; /* the delayed echo */
  struct sockaddr_storage held_peer, delayed_peer;
  size_t held_len, delayed_len;
  int holding;
  char held[65536];
  char delayed[65536];
  char buf[65536];
} fake_udp_server_t;

/* Binds to ip (127.0.0.1 or ::1), a free port (f->port), and echoes with
 * f's faults; fails the test if it cannot. */
void fake_udp_server_start(fake_udp_server_t *f, uv_loop_t *loop,
                           const char *ip);

/* Closes it; returns once it is closed. */
void fake_udp_server_stop(fake_udp_server_t *f);

#endif
