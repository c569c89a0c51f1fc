/* Test helper: an echo server on the test's own loop that misbehaves on
 * purpose, so that the client modes can be shown to notice. */
#ifndef TCPECHO_TEST_FAKE_SERVER_H
#define TCPECHO_TEST_FAKE_SERVER_H

#include <stdint.h>
#include <uv.h>

/* Faults at byte `at` of each connection's stream; FLIP..STALL in this
 * order, so that tests can loop over them. Except where said, a
 * connection closes when its peer's FIN arrives. */
typedef enum {
  FAKE_FLIP,    /* byte `at` comes back changed */
  FAKE_DROP,    /* byte `at` never comes back */
  FAKE_EXTRA,   /* one byte more comes back just before byte `at` (with
                   `at` the stream's length: after its last byte) */
  FAKE_CLOSE,   /* the connection is closed at byte `at` */
  FAKE_STALL,   /* nothing comes back from byte `at` on */
  FAKE_SILENT,  /* reads everything, echoes nothing, never closes */
  FAKE_NO_CLOSE /* echoes everything, never closes after the peer's FIN */
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
