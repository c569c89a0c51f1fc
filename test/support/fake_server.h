/* Test helper: an echo server on the test's own loop that misbehaves on
 * purpose, so that the client modes can be shown to notice. */
#ifndef TCPECHO_TEST_FAKE_SERVER_H
#define TCPECHO_TEST_FAKE_SERVER_H

#include <stdint.h>
#include <uv.h>

typedef enum {
  FAKE_FLIP,     /* byte `at` of each stream comes back changed */
  FAKE_DROP,     /* byte `at` never comes back */
  FAKE_EXTRA,    /* one byte more comes back after byte `at` */
  FAKE_CLOSE,    /* the connection is closed at byte `at` */
  FAKE_SILENT,   /* reads everything, echoes nothing, never closes */
  FAKE_NO_CLOSE, /* echoes everything, never closes after the peer's FIN */
  FAKE_STALL     /* accepts, never reads: what is sent piles up */
} fake_fault_t;

typedef struct fake_server_s {
  uv_loop_t *loop;
  uv_tcp_t listener;
  fake_fault_t fault;
  uint64_t at; /* byte offset of the fault in each connection's stream */
  int port;
} fake_server_t;

/* Listens on 127.0.0.1, a free port (f->port); fails the test if it cannot. */
void fake_server_start(fake_server_t *f, uv_loop_t *loop, fake_fault_t fault,
                       uint64_t at);

/* Closes the listener and every connection it accepted. */
void fake_server_stop(fake_server_t *f);

#endif
