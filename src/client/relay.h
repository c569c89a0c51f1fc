/* --stdin: copies standard input to the server and the echo to standard
 * output, raw, with backpressure both ways; at the end of the input it
 * shuts down its write side and waits until every byte came back. */
#ifndef TCPECHO_RELAY_H
#define TCPECHO_RELAY_H

#include "client/dial.h"
#include "base/handle_group.h"
#include "base/signals.h"

#include <stdint.h>
#include <uv.h>

/* Input pauses once this much is sent and not yet echoed (it is kept to
 * compare with the echo), and output reading once this much waits for
 * standard output; each resumes below the low mark. */
#define RELAY_HIGH_WATER (4 * 1024 * 1024)
#define RELAY_LOW_WATER (1024 * 1024)
#define RELAY_CHUNK 65536

typedef struct relay_s relay_t;
/* exit_status: 0 if every byte sent came back, else 1. */
typedef void (*relay_done_cb)(relay_t *relay, int exit_status);

/* One end of standard I/O: a libuv stream (pipe, terminal) or, for regular
 * files and devices, which cannot be polled, file-system requests. */
typedef struct relay_end_s {
  int fd;
  int is_file;
  uv_stream_t *stream; /* &pipe or &tty when !is_file */
  uv_pipe_t pipe;
  uv_tty_t tty;
  uv_fs_t req;
  int busy; /* a file request is in flight (counted in handles) */
} relay_end_t;

typedef struct relay_chunk_s relay_chunk_t;

typedef struct relay_config_s {
  const char *host;
  int port;
  int quiet;
  uint64_t timeout_ms; /* no echo while some is owed, or no FIN after all */
  uint64_t connect_timeout_ms;
} relay_config_t;

/* How a run ended, named in its last line. */
typedef enum {
  RELAY_OK = 0,
  RELAY_INCOMPLETE, /* bytes never came back (or the close never came) */
  RELAY_CORRUPTED,  /* an echoed byte differs from the one sent */
  RELAY_EXTRA       /* more came back than was sent */
} relay_outcome_t;

/* Callers read loop; the rest is the pipe's own. */
struct relay_s {
  uv_loop_t *loop;
  /* private */
  relay_config_t config;
  relay_done_cb done_cb;
  dial_t dial;
  uv_tcp_t tcp;
  stop_signals_t signals;
  uv_timer_t timer; /* --timeout: progress, the server's FIN, last output */
  relay_end_t in, out;
  relay_chunk_t *out_head, *out_tail; /* file output, written in order */
  relay_chunk_t *in_chunk;            /* file input being read into */
  relay_chunk_t *unverified_head;     /* sent, not yet matched by the echo */
  relay_chunk_t *unverified_tail;
  uint64_t sent;        /* bytes read from stdin and written to the server */
  uint64_t echoed;      /* bytes read back from the server */
  uint64_t out_pending; /* echoed, not yet written to stdout */
  int tcp_open;
  int dialing;
  int in_eof;
  int in_paused;
  int tcp_paused;
  int tcp_eof;
  int out_failed;         /* a write to standard output failed */
  handle_group_t handles; /* and file requests in flight */
  int finished;
  relay_outcome_t outcome;
};

/* Runs the whole pipe; done_cb runs once, after every handle is closed and
 * what arrived is written out (or --timeout passed writing it). */
void relay_start(relay_t *relay, uv_loop_t *loop, const relay_config_t *config,
                 relay_done_cb done_cb);

#endif
