/* Test support: load on a server from this process, many libuv client
 * connections on one loop. Every connection sends its own stream of
 * src/base/pattern.c and checks every byte echoed against it, so a lost, extra,
 * reordered or foreign byte is caught where it happens. Waiting helpers run
 * the loop until a condition holds or a deadline passes. */
#ifndef TCPECHO_TEST_LOAD_H
#define TCPECHO_TEST_LOAD_H

#include <stdint.h>
#include <uv.h>

#define KiB 1024u
#define MiB (1024u * 1024u)
#define NO_ERROR_AT UINT64_MAX

typedef struct load_s load_t;

typedef struct conn_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  load_t *load;
  unsigned id;
  uint64_t seed;     /* of the stream sent */
  uint64_t rng_seed; /* chunk sizes and conn_random() */
  uint64_t rng_next; /* index of the next random number */

  /* What to send: the stream's first to_send bytes, in writes of
   * chunk_min..chunk_max bytes (log-uniform), at most depth writes in
   * flight and window bytes sent but not yet echoed (0: no limit). */
  uint64_t to_send;
  uint32_t chunk_min, chunk_max;
  uint32_t depth;
  uint64_t window;
  /* Stop reading once this many bytes were received (0: no limit); raise
   * it and call conn_read() to read on. */
  uint64_t read_limit;
  int half_close;       /* shutdown once every byte is queued */
  int read_on_connect;  /* else reading starts with conn_read() */
  int close_on_connect; /* close at once, sending nothing */

  /* Progress. */
  int started, connected, reading, shutdown_sent, closing, closed;
  uint64_t queued;   /* handed to uv_write */
  uint64_t written;  /* write callbacks with status 0 */
  uint64_t received; /* echoed bytes, all checked */
  uint32_t in_flight;

  /* Outcome. */
  int connect_status;
  int write_status; /* first failed write */
  int shutdown_status;
  int read_status; /* 0 while open; UV_EOF or the error that ended it */
  uint64_t bad_at; /* offset of the first wrong or extra byte */
  uint64_t t_connected, t_progress, t_last_read, t_end, t_closed; /* ms */

  /* Round trips, for window-limited senders: from sending into an empty
   * window to having everything echoed. */
  uint64_t rt_start_ns;
  uint64_t rt_count, rt_max_ns, rt_total_ns;
} conn_t;

struct load_s {
  conn_t *conns;
  unsigned count;
  unsigned target;     /* connect conns[0..target-1] */
  unsigned next;       /* the next one to connect */
  unsigned connecting; /* connects in flight */
  unsigned max_connecting;
  unsigned open_handles;
  unsigned connected_count, connect_failures, eof_count, closed_count;
  int port;
  /* Where connections come from: each is bound to this IPv4 address (port
   * 0) before it connects; NULL: wherever the system routes from. */
  const char *from_host;
};

/* Once per test program: the loop every connection, wait and ticker uses. */
void load_setup(uv_loop_t *loop);

/* Monotonic milliseconds. */
uint64_t now_ms(void);

/* count connections to 127.0.0.1:port, each with its own stream (seeds
 * from salt); by default: read from connect, 1..64 KiB writes, one at a
 * time. One load at a time; load_free() ends it. */
load_t *load_new(int port, unsigned count, uint64_t salt);

/* Connects the next n connections, at most max_connecting at a time. */
void load_connect(load_t *l, unsigned n);

/* Closes every connection of the current load, waits for the handles and
 * frees it; nothing if there is none. A teardown calls it too. */
void load_free(void);

/* A pseudo-random number from the connection's own sequence. */
uint64_t conn_random(conn_t *c);

void conn_close(conn_t *c);
void conn_reset(conn_t *c); /* close with an RST instead of a FIN */
void conn_read(conn_t *c);
void conn_stop_reading(conn_t *c);
void conn_send(conn_t *c, uint64_t more); /* `more` bytes more */
void conn_finish(conn_t *c); /* what is still due, then the half-close */

/* ---- Waiting ---- */

typedef int (*cond_fn)(const void *arg);

/* Runs the loop until fn(arg) holds or timeout_ms passes; returns fn. */
int wait_for(cond_fn fn, const void *arg, uint64_t timeout_ms);
/* Runs the loop for ms. */
void pause_ms(uint64_t ms);

/* How long writes must not move for conn_stalled(): the peer stopped
 * reading. */
extern uint64_t conn_stall_ms;

/* Conditions: arg is the load_t or conn_t named. */
int load_all_closed(const void *load);
int load_all_connected(const void *load);
int load_all_stalled(const void *load);
int conn_done(const void *conn); /* closed */
int conn_connected_or_closed(const void *conn);
int conn_echoed(const void *conn); /* all due echoed, or ended */
int conn_stalled(const void *conn);

/* Connections from..to-1 of a load. */
typedef struct range_s {
  const load_t *l;
  unsigned from, to;
} range_t;

range_t range_of(const load_t *l, unsigned from, unsigned to);
int range_echoed(const void *range);
int range_closed(const void *range);
/* Every half-closed connection ended, the others have their echoes. */
int range_settled(const void *range);
/* How many have their echoes or ended. */
unsigned range_answered(const range_t *r);

/* ---- Expectations: fail with the connection's state unless ---- */

const char *err_name(int err);
/* connected, every write done, want bytes echoed exactly, then EOF */
void expect_echo_then_eof(const conn_t *c, uint64_t want);
/* open, and everything it sent came back intact */
void expect_all_echoed(const conn_t *c);
/* open, and nothing went wrong so far */
void expect_healthy(const conn_t *c);

/* ---- Periodic callbacks, stopped by tickers_stop() (and a teardown) ---- */

typedef struct ticker_s {
  uv_timer_t timer;
  void (*fn)(void *arg);
  void *arg;
  int open;
} ticker_t;

#define TICKERS 2
extern ticker_t tickers[TICKERS];

void ticker_start(ticker_t *k, uint64_t every_ms, void (*fn)(void *),
                  void *arg);
void tickers_stop(void);

#endif
