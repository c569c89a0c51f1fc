#include "bench/bench.h"

#include "bench/schedule.h"
#include "bench/udp_load.h"

#include "base/addr.h"
#include "base/container_of.h"
#include "base/log.h"
#include "base/pattern.h"
#include "base/platform.h"
#include "base/signals.h"
#include "base/stream_write.h"
#include "client/udp_ping.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BENCH_READ_BUF_SIZE 65536
#define BENCH_CONNECT_CHECK_MS                                                 \
  50                                /* how often connects are checked for      \
                                       --connect-timeout */
#define BENCH_CONNECTS_IN_FLIGHT 32 /* per loop: spares small backlogs */
#define BENCH_OPEN_LOOP_MAX_IN_FLIGHT 1024
#define BENCH_DRAIN_NS 2000000000ULL          /* to wait for the last echoes */
#define BENCH_UDP_DRAIN_SPARE_NS 100000000ULL /* past --timeout, at most */
#define BENCH_LATE_NS 1000000ULL /* written later than this: late */
#define BENCH_SPIN_NS 1000000ULL /* libuv's timers are in milliseconds */
#define BENCH_SEED 0x7463706563686fULL

enum { PHASE_CONNECT, PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN, PHASE_DONE };

typedef struct worker_s worker_t;

typedef struct conn_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req; /* churn: the session's end */
  worker_t *worker;
  uint64_t index;   /* of the connection in the run: its streams' seeds */
  uint64_t session; /* churn: sessions begun on this slot before this one */
  uint64_t seed;
  uint64_t target;     /* bytes of its stream due to be sent so far */
  uint64_t sent;       /* bytes of its stream handed to the socket */
  uint64_t verified;   /* bytes of its stream echoed and checked */
  uint64_t connect_ns; /* when its connect started */
  uint64_t *stamps;    /* ring: send (or due) time of each message in flight */
  uint64_t *written;   /* open loop, ring: when each was handed to the socket */
  uint32_t head, count, cap; /* message m of the stream is at m % cap */
  uint64_t queued;           /* messages of its stream given to conn_send */
  uint64_t started; /* of those, how many have their first byte written */
  schedule_t due;   /* open loop */
  uint64_t held_to; /* open loop: messages due by then met a full cap */
  int open;
  int connecting;
  int timed_out;    /* its connect outlived --connect-timeout */
  int write_queued; /* a chunk waits in libuv: the next one waits for it */
  int shut;         /* churn: every echo back, our end is shut */
  int failed;
} conn_t;

typedef struct counters_s {
  uint64_t messages;
  uint64_t bytes;
  uint64_t sent; /* open loop: messages written, late ones, held ones */
  uint64_t late;
  uint64_t held;
  uint64_t sessions; /* churn: completed in the measured time */
  uint64_t opened;
  uint64_t completed;
  uint64_t no_port; /* connects lost for lack of ports, of descriptors */
  uint64_t no_fd;
  uint64_t connected;
  bench_errors_t errors;
} counters_t;

struct worker_s {
  const bench_config_t *config;
  struct bench_s *bench;
  uv_loop_t loop;
  uv_thread_t thread;
  uv_timer_t tick;
  /* Open loop: on every turn of the loop, sends the messages due by now in
   * the order the schedules stagger them (rr's is the next); and while the
   * next is due within BENCH_SPIN_NS, keeps the loop turning (an idle
   * handle: a poll that does not sleep) rather than let it sleep to the
   * 1 ms tick, which would send it up to a millisecond late. */
  uv_check_t sender;
  uv_idle_t spin;
  int spinning;
  size_t rr;
  conn_t *conns;
  size_t count;
  size_t next_connect;
  size_t connecting;
  size_t open_conns;
  int phase;
  uint64_t measure_start, measure_end;
  counters_t counts;
  histogram_t *latency;
  histogram_t *service; /* open loop only */
  histogram_t *connect;
  histogram_t *session; /* churn only */
  int read_buf_busy;
  char scratch[BENCH_CHUNK]; /* the stream is made here, a chunk at a time */
  char read_buf[BENCH_READ_BUF_SIZE];
  uv_mutex_t lock; /* guards shown, for the live line, and the pub_ ones */
  counters_t shown;
  /* --json-stream: the second being counted, on the loop's thread alone,
   * and what it handed over, with every second before pub_upto in it. */
  interval_t *ival_cur;
  uint64_t ival_index;
  interval_totals_t ival_last;
  interval_t *ival_pub;
  uint64_t pub_upto;
  /* --udp: the loop's sockets (bench/udp_load.c) instead of conns. */
  udp_load_t *udp;
  size_t udp_count;
  udp_load_sink_t sink;
};

typedef struct bench_s {
  const bench_config_t *config;
  uv_mutex_t lock;   /* guards stop, connect_error and done */
  int stop;          /* Ctrl-C: end the measurement now */
  int connect_error; /* the first one, for the report */
  int local_error;   /* the first one of ours (ENOMEM, EMFILE), logged */
  uint64_t done;     /* loops finished */
  struct sockaddr_storage addr;
  struct sockaddr_storage sources[ADDR_LIST_MAX]; /* --source-ip */
  size_t n_sources;
  int bind_error; /* the first one, logged */
  worker_t **workers;
  uv_sem_t connected; /* posted by each loop once it tried its connects */
  uv_sem_t go;        /* posted for each loop once start_ns is set */
  uint64_t start_ns;
  udp_load_config_t udp; /* --udp */
} bench_t;

uint64_t bench_error_count(const bench_errors_t *e) {
  return e->connect + e->corrupted + e->extra + e->missing + e->early_close +
         e->local;
}

int bench_udp_loss_over(const bench_config_t *cfg, const bench_result_t *r) {
  return cfg->udp &&
         udp_flow_loss_milli_pct(r->udp.sent, r->udp.lost) > cfg->max_loss;
}

static void conn_dial(conn_t *c);

static int sending(const worker_t *w) {
  return w->phase == PHASE_WARMUP || w->phase == PHASE_MEASURE;
}

/* Churn: the slot's next session, on a new connection with a stream of its
 * own. */
static void session_next(conn_t *c) {
  c->session++;
  c->seed = pattern_seed(BENCH_SEED + c->session, c->index);
  c->target = c->sent = c->verified = 0;
  c->head = c->count = 0;
  c->queued = c->started = 0;
  c->timed_out = c->write_queued = c->shut = 0;
  conn_dial(c);
}

static void on_conn_closed(uv_handle_t *handle) {
  conn_t *c = container_of(handle, conn_t, tcp);
  worker_t *w = c->worker;
  w->open_conns--;
  if (w->config->churn > 0 && !c->failed && sending(w))
    session_next(c);
}

static void conn_close(conn_t *c) {
  if (c->open && !uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void conn_fail(conn_t *c, uint64_t *counter) {
  if (c->failed)
    return;
  c->failed = 1;
  (*counter)++;
  conn_close(c);
}

/* Our own failure, not the server's: said once per run. */
static void note_local_error(bench_t *b, int err) {
  uint64_t limit = platform_fd_limit();
  int first;

  uv_mutex_lock(&b->lock);
  first = b->local_error == 0;
  if (first)
    b->local_error = err;
  uv_mutex_unlock(&b->lock);
  if (!first)
    ; /* said once */
  else if (err == UV_ENOMEM)
    log_line("bench: out of memory");
  else if (err == UV_EMFILE && limit > 0)
    log_line("bench: cannot open more sockets: too many open files (limit "
             "%llu)",
             (unsigned long long)limit);
  else
    log_line("bench: cannot open more sockets: %s (%s)", uv_err_name(err),
             uv_strerror(err));
}

/* ... and counted apart. */
static void local_fail(conn_t *c, int err) {
  note_local_error(c->worker->bench, err);
  conn_fail(c, &c->worker->counts.errors.local);
}

static int is_local_error(int err) {
  return err == UV_ENOMEM || err == UV_EMFILE || err == UV_ENFILE ||
         err == UV_ENOBUFS;
}

static void conn_pump(conn_t *c);

static void on_send(uv_write_t *req, int status) {
  conn_t *c = container_of(req->handle, conn_t, tcp);
  stream_write_free(req);
  c->write_queued = 0;
  if (status < 0) {
    if (status != UV_ECANCELED)
      conn_fail(c, &c->worker->counts.errors.early_close);
    return;
  }
  conn_pump(c);
}

/* Open loop: the messages whose first byte has just been handed to the
 * socket are written now, for their service time; counted against their
 * schedule in the measured time. */
static void stamp_written(conn_t *c, uint64_t now) {
  worker_t *w = c->worker;
  uint64_t size = w->config->size;
  uint64_t upto = (c->sent + size - 1) / size; /* messages begun */

  if (upto > c->queued)
    upto = c->queued;
  for (; c->started < upto; c->started++) {
    uint32_t slot = (uint32_t)(c->started % c->cap);
    c->written[slot] = now;
    if (w->phase == PHASE_MEASURE) {
      w->counts.sent++;
      w->counts.late += now - c->stamps[slot] > BENCH_LATE_NS;
    }
  }
}

/* Hands the socket what is due of the stream, a chunk at a time, made in
 * the loop's scratch: the part the socket does not take now is queued as a
 * copy, and the next chunk waits for it. So a connection holds at most one
 * chunk, whatever P x size. */
static void conn_pump(conn_t *c) {
  worker_t *w = c->worker;

  while (!c->failed && !c->write_queued && c->sent < c->target) {
    size_t len = c->target - c->sent < BENCH_CHUNK
                     ? (size_t)(c->target - c->sent)
                     : BENCH_CHUNK;
    int queued;
    /* Taken before the write: the echo may be back before it returns. */
    uint64_t now = c->written != NULL ? uv_hrtime() : 0;

    pattern_fill(c->seed, c->sent, w->scratch, len);
    queued = stream_write((uv_stream_t *)&c->tcp, w->scratch, len, on_send);
    if (queued == UV_ENOMEM) {
      local_fail(c, queued);
      return;
    }
    if (queued < 0) {
      conn_fail(c, &w->counts.errors.early_close);
      return;
    }
    c->sent += len;
    c->write_queued = queued > 0;
    if (c->written != NULL)
      stamp_written(c, now);
  }
}

/* Sends n more messages of its stream, each stamped for its latency. */
static void conn_send(conn_t *c, uint32_t n, uint64_t stamp) {
  uint32_t i;
  if (c->failed || n == 0)
    return;
  for (i = 0; i < n; i++) {
    c->stamps[(c->head + c->count) % c->cap] = stamp;
    c->count++;
  }
  c->queued += n;
  c->target += c->worker->config->size * n;
  conn_pump(c);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  conn_t *c = container_of(handle, conn_t, tcp);
  worker_t *w = c->worker;
  (void)suggested;
  if (!w->read_buf_busy) {
    w->read_buf_busy = 1;
    *buf = uv_buf_init(w->read_buf, sizeof(w->read_buf));
    return;
  }
  buf->base = malloc(BENCH_READ_BUF_SIZE);
  buf->len = buf->base ? BENCH_READ_BUF_SIZE : 0;
}

/* Counts the messages completed by the bytes just verified. */
static void complete_messages(conn_t *c, uint64_t before, uint64_t now_ns) {
  worker_t *w = c->worker;
  uint64_t size = w->config->size;
  uint64_t n = c->verified / size - before / size;
  uint32_t done = 0;

  for (; n > 0 && c->count > 0; n--, done++) {
    uint64_t stamp = c->stamps[c->head];
    if (w->phase == PHASE_MEASURE) {
      w->counts.messages++;
      w->counts.bytes += size;
      histogram_record(w->latency, now_ns > stamp ? now_ns - stamp : 0);
      if (c->written != NULL)
        histogram_record(w->service, now_ns - c->written[c->head]);
      if (w->ival_cur != NULL)
        histogram_record(&w->ival_cur->latency,
                         now_ns > stamp ? now_ns - stamp : 0);
    }
    c->head = (c->head + 1) % c->cap;
    c->count--;
  }
  /* Closed loop: each echo makes room for the next message; one write for
   * all the room this read made. */
  if (done > 0 && w->config->churn > 0 && sending(w))
    conn_send(c, (uint32_t)churn_more(w->config->churn, c->queued, done),
              now_ns);
  else if (done > 0 && w->config->rate == 0 && sending(w))
    conn_send(c, done, now_ns);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn_t *c = container_of(req, conn_t, shutdown_req);
  if (status < 0 && status != UV_ECANCELED)
    conn_fail(c, &c->worker->counts.errors.early_close);
}

/* Churn: every message of the session came back: our end is shut, and the
 * session ends when the server closes its end (on_read). */
static void session_echoed(conn_t *c) {
  int err = uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown);
  if (err < 0) {
    conn_fail(c, &c->worker->counts.errors.early_close);
    return;
  }
  c->shut = 1;
}

/* Churn: the server closed after echoing all, and nothing more: the
 * session is verified from connect to close. The first session of each
 * slot, connected before the clock started, is not timed. */
static void session_done(conn_t *c) {
  worker_t *w = c->worker;
  w->counts.completed++;
  if (w->phase == PHASE_MEASURE && c->session > 0) {
    w->counts.sessions++;
    histogram_record(w->session, uv_hrtime() - c->connect_ns);
  }
  conn_close(c); /* and on_conn_closed begins the next */
}

/* Open loop: sends what is due on one connection; from its reads too, so
 * that under load messages leave closer to their time than the 1 ms tick
 * allows. */
static void conn_send_due(conn_t *c, uint64_t now) {
  while (!c->failed && c->due.next_due <= now) {
    if (c->count >= c->cap) {
      c->held_to = now; /* what is due by now waits for room */
      return;
    }
    if (c->due.next_due <= c->held_to && c->worker->phase == PHASE_MEASURE)
      c->worker->counts.held++;
    conn_send(c, 1, c->due.next_due);
    schedule_next(&c->due);
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = container_of(stream, conn_t, tcp);
  worker_t *w = c->worker;

  if (nread > 0) {
    uint64_t before = c->verified;
    size_t ok;
    if (c->verified + (uint64_t)nread > c->sent) {
      conn_fail(c, &w->counts.errors.extra);
    } else {
      ok = pattern_check(c->seed, c->verified, buf->base, (size_t)nread);
      if (ok != (size_t)nread) {
        conn_fail(c, &w->counts.errors.corrupted);
      } else {
        uint64_t now = uv_hrtime();
        c->verified += (uint64_t)nread;
        complete_messages(c, before, now);
        if (w->config->rate > 0 && sending(w))
          conn_send_due(c, now);
        if (w->config->churn > 0 && !c->shut && !c->failed &&
            churn_session_echoed(w->config->churn, w->config->size,
                                 c->verified))
          session_echoed(c);
      }
    }
  } else if (nread == UV_EOF && c->shut && c->verified == c->sent) {
    session_done(c);
  } else if (nread < 0) {
    conn_fail(c, &w->counts.errors.early_close);
  }
  if (buf->base == w->read_buf)
    w->read_buf_busy = 0;
  else
    free(buf->base);
}

/* A connect that failed for want of a local port or descriptor: counted
 * so that the report can name the shortage. */
static void count_shortage(worker_t *w, int err) {
  if (err == UV_EADDRNOTAVAIL || err == UV_EADDRINUSE)
    w->counts.no_port++;
  else if (err == UV_EMFILE || err == UV_ENFILE)
    w->counts.no_fd++;
}

static void connect_more(worker_t *w);

/* The first connect error of the run, for the report. */
static void note_connect_error(bench_t *b, int err) {
  uv_mutex_lock(&b->lock);
  if (b->connect_error == 0)
    b->connect_error = err;
  uv_mutex_unlock(&b->lock);
}

static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = container_of(req, conn_t, connect_req);
  worker_t *w = c->worker;

  w->connecting--;
  c->connecting = 0;
  if (w->phase == PHASE_DONE)
    return; /* churn: closed at the end of the run, not a failure */
  if (c->timed_out)
    status = UV_ETIMEDOUT; /* closed by check_connects */
  if (status == 0)
    status = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (status < 0) {
    note_connect_error(w->bench, status);
    count_shortage(w, status);
    conn_fail(c, &w->counts.errors.connect);
  } else {
    (void)uv_tcp_nodelay(&c->tcp, 1); /* if it fails, sends only wait */
    histogram_record(w->connect, uv_hrtime() - c->connect_ns);
    w->counts.opened++;
    if (c->session == 0)
      w->counts.connected++;
    else if (sending(w)) /* churn: the next session starts at once */
      conn_send(c, (uint32_t)churn_more(w->config->churn, 0, c->cap),
                uv_hrtime());
  }
  if (w->phase == PHASE_CONNECT)
    connect_more(w);
}

/* A source address that cannot be bound at all (not one of this host's):
 * said once. */
static void note_bind_error(bench_t *b, const struct sockaddr *src, int err) {
  char name[ADDR_STR_SIZE];
  int first;
  uv_mutex_lock(&b->lock);
  first = b->bind_error == 0;
  if (first)
    b->bind_error = err;
  uv_mutex_unlock(&b->lock);
  if (first && uv_ip_name(src, name, sizeof(name)) == 0)
    log_line("bench: cannot bind to source address %s: %s (%s)", name,
             uv_err_name(err), uv_strerror(err));
}

/* ... and the connection counted as not made. */
static void bind_fail(conn_t *c, const struct sockaddr *src, int err) {
  note_bind_error(c->worker->bench, src, err);
  conn_fail(c, &c->worker->counts.errors.connect);
}

/* --source-ip: c's socket, made now and bound to its turn of the source
 * addresses, so that the kernel picks its port at connect. Returns 0, or
 * -1 when c has failed (counted). */
static int conn_bind_source(conn_t *c) {
  worker_t *w = c->worker;
  bench_t *b = w->bench;
  const struct sockaddr *src =
      (const struct sockaddr *)&b->sources[source_pick(c->index, b->n_sources)];
  int err = uv_tcp_init_ex(&w->loop, &c->tcp, src->sa_family);

  if (err != 0) { /* no socket, no handle to close */
    count_shortage(w, err);
    if (is_local_error(err))
      local_fail(c, err);
    else
      conn_fail(c, &w->counts.errors.connect);
    return -1;
  }
  c->open = 1;
  w->open_conns++;
  err = platform_tcp_bind_no_port(&c->tcp, src);
  if (err == UV_EADDRINUSE) { /* the address is out of ports */
    count_shortage(w, err);
    conn_fail(c, &w->counts.errors.connect);
  } else if (err != 0) {
    bind_fail(c, src, err);
  }
  return err == 0 ? 0 : -1;
}

/* Starts c's connect; a failure to start is counted at once. */
static void conn_dial(conn_t *c) {
  worker_t *w = c->worker;
  int err;
  c->connect_ns = uv_hrtime();
  if (w->bench->n_sources > 0) {
    c->open = 0;
    if (conn_bind_source(c) != 0)
      return;
  } else {
    /* No socket is made until the connect: a TCP init cannot fail. */
    (void)uv_tcp_init(&w->loop, &c->tcp);
    c->open = 1;
    w->open_conns++;
  }
  err = uv_tcp_connect(&c->connect_req, &c->tcp,
                       (const struct sockaddr *)&w->bench->addr, on_connect);
  if (err == 0) {
    w->connecting++;
    c->connecting = 1;
    return;
  }
  count_shortage(w, err);
  if (is_local_error(err))
    local_fail(c, err);
  else
    conn_fail(c, &w->counts.errors.connect);
}

/* Keeps a few connects in flight, so that a small listen backlog is not
 * overrun into SYN retries; stops the loop when all have been tried. */
static void connect_more(worker_t *w) {
  while (w->connecting < BENCH_CONNECTS_IN_FLIGHT && w->next_connect < w->count)
    conn_dial(&w->conns[w->next_connect++]);
  if (w->connecting == 0 && w->next_connect == w->count)
    uv_stop(&w->loop);
}

/* --connect-timeout: a connect still pending past it is given up, as a
 * host that drops SYNs would otherwise hold the run for minutes. */
static void check_connect_times(worker_t *w, uint64_t now) {
  uint64_t limit = w->config->connect_timeout_ms * 1000000ULL;
  size_t i;

  for (i = 0; i < w->next_connect; i++) {
    conn_t *c = &w->conns[i];
    if (c->connecting && !c->timed_out && now - c->connect_ns >= limit) {
      c->timed_out = 1;
      conn_close(c); /* on_connect then runs with UV_ECANCELED */
    }
  }
}

static void check_connects(uv_timer_t *timer) {
  check_connect_times(container_of(timer, worker_t, tick), uv_hrtime());
}

/* --udp: every socket of the loop opened and connected at once (a UDP
 * connect sends nothing); the failures counted as a connect's would be. */
static void udp_open_all(worker_t *w) {
  size_t i;
  for (i = 0; i < w->udp_count; i++) {
    const struct sockaddr *src;
    int at_bind, err = udp_load_open(w->udp, i, &at_bind, &src);
    if (err == 0) {
      w->counts.connected++;
      w->counts.opened++;
      continue;
    }
    count_shortage(w, err);
    if (is_local_error(err)) {
      note_local_error(w->bench, err);
      w->counts.errors.local++;
      continue;
    }
    if (at_bind && err != UV_EADDRINUSE)
      note_bind_error(w->bench, src, err);
    else
      note_connect_error(w->bench, err);
    w->counts.errors.connect++;
  }
}

/* --udp: what the sockets counted, as the loop's counters. */
static void udp_sync(worker_t *w) {
  const udp_flow_counts_t *u = &w->sink.counts;
  w->counts.messages = u->received;
  w->counts.bytes = u->received * w->config->size;
  w->counts.sent = u->sent;
  w->counts.late = u->late_sent;
  w->counts.errors.corrupted = u->corrupted;
}

static void start_traffic(worker_t *w, uint64_t start) {
  const bench_config_t *cfg = w->config;
  size_t i;
  if (w->udp != NULL)
    udp_load_start(w->udp, start);
  for (i = 0; i < w->count; i++) {
    conn_t *c = &w->conns[i];
    if (c->failed)
      continue;
    if (cfg->churn > 0)
      conn_send(c, (uint32_t)churn_more(cfg->churn, 0, c->cap), start);
    else if (cfg->rate == 0)
      conn_send(c, c->cap, start);
    else
      schedule_init(&c->due, start, cfg->connections, cfg->rate, i, w->count);
  }
}

/* Open loop: sends every message that is due, stamped with when it was due
 * rather than when it went out, so a stalled server shows as latency. */
static void send_due(worker_t *w, uint64_t now) {
  size_t i;
  for (i = 0; i < w->count; i++)
    conn_send_due(&w->conns[i], now);
}

/* The next connections in turn whose message is due: one comparison on a
 * turn with nothing due. Bounded by the connections, so that one held back
 * (its cap full) or failed cannot keep it going; the tick's send_due sees
 * to those. */
static void on_spin(uv_idle_t *idle) {
  (void)idle; /* its being active is the point: the poll does not sleep */
}

static void on_sender_check(uv_check_t *check) {
  worker_t *w = container_of(check, worker_t, sender);
  uint64_t now, next;
  size_t n;
  int spin;

  if (w->udp != NULL && sending(w)) {
    now = uv_hrtime();
    next = udp_load_send_turn(w->udp, now);
    spin = next > now && next - now < BENCH_SPIN_NS;
  } else if (!sending(w) || w->count == 0) {
    spin = 0;
  } else {
    now = uv_hrtime();
    for (n = 0; n < w->count && w->conns[w->rr].due.next_due <= now; n++) {
      conn_send_due(&w->conns[w->rr], now);
      w->rr = (w->rr + 1) % w->count;
    }
    /* One held back or failed is the tick's: no spinning on it. */
    next = w->conns[w->rr].due.next_due;
    spin = next > now && next - now < BENCH_SPIN_NS;
  }
  if (spin && !w->spinning)
    (void)uv_idle_start(&w->spin, on_spin); /* cannot fail */
  else if (!spin && w->spinning)
    (void)uv_idle_stop(&w->spin);
  w->spinning = spin;
}

/* When the measured time began and ended for this loop: the planned end if
 * its tick came after it. */
static uint64_t measured_from(const worker_t *w) {
  return w->bench->start_ns + w->config->warmup_ms * 1000000ULL;
}

static uint64_t measured_until(const worker_t *w) {
  uint64_t planned = measured_from(w) + w->config->duration_ms * 1000000ULL;
  return w->measure_end < planned ? w->measure_end : planned;
}

/* --json-stream: hands what was counted since the last time to the thread
 * that prints, under the lock the live line takes anyway; seconds before
 * upto are then complete. The message path takes no lock. */
static void publish_interval(worker_t *w, uint64_t upto) {
  interval_totals_t now;
  now.messages = w->counts.messages;
  now.bytes = w->counts.bytes;
  now.errors = bench_error_count(&w->counts.errors);
  interval_count(w->ival_cur, &now, &w->ival_last);
  uv_mutex_lock(&w->lock);
  interval_add(w->ival_pub, w->ival_cur);
  w->pub_upto = upto;
  uv_mutex_unlock(&w->lock);
  interval_init(w->ival_cur);
}

static void worker_finish(worker_t *w) {
  size_t i;
  for (i = 0; i < w->count; i++) {
    conn_t *c = &w->conns[i];
    if (!c->failed && c->verified < c->sent)
      conn_fail(c, &w->counts.errors.missing);
    conn_close(c);
  }
  if (w->udp != NULL) {
    udp_sync(w);
    udp_load_close(w->udp);
  }
  w->phase = PHASE_DONE;
  uv_close((uv_handle_t *)&w->tick, NULL);
  if (w->config->rate > 0) {
    uv_close((uv_handle_t *)&w->sender, NULL);
    uv_close((uv_handle_t *)&w->spin, NULL);
  }
  /* The last second, with the errors of the drain. */
  if (w->ival_cur != NULL) {
    uint64_t from = measured_from(w), until = measured_until(w);
    publish_interval(w, until > from ? interval_of(from, until - 1) + 1 : 1);
  }
}

/* The measurement is over: what is not yet handed to the socket is never
 * sent, so the drain waits for at most a chunk and the socket buffers per
 * connection, not for P whole messages. */
static void stop_sending(worker_t *w) {
  size_t i;
  for (i = 0; i < w->count; i++)
    w->conns[i].target = w->conns[i].sent;
}

static int all_echoed(const worker_t *w) {
  size_t i;
  for (i = 0; i < w->count; i++) {
    if (!w->conns[i].failed && w->conns[i].verified < w->conns[i].sent)
      return 0;
  }
  return 1;
}

/* The drain is over: every echo back, or (--udp) every datagram echoed or
 * timed out, or the time for it is up. */
static int drained(worker_t *w, uint64_t now) {
  if (w->udp != NULL)
    return udp_load_settled(w->udp, now) ||
           now >= w->measure_end + w->config->timeout_ms * 1000000ULL +
                      BENCH_UDP_DRAIN_SPARE_NS;
  return all_echoed(w) || now >= w->measure_end + BENCH_DRAIN_NS;
}

/* The measured time begins: from now on what is sent counts. */
static void measure_begin(worker_t *w, uint64_t now) {
  w->phase = PHASE_MEASURE;
  w->measure_start = now;
  if (w->udp != NULL)
    udp_load_measure_begin(w->udp);
}

static void on_tick(uv_timer_t *timer) {
  worker_t *w = container_of(timer, worker_t, tick);
  const bench_config_t *cfg = w->config;
  uint64_t now = uv_hrtime(), start = w->bench->start_ns;
  uint64_t measure_from = start + cfg->warmup_ms * 1000000ULL;
  uint64_t measure_to = measure_from + cfg->duration_ms * 1000000ULL;
  int stop;

  uv_mutex_lock(&w->bench->lock);
  stop = w->bench->stop;
  uv_mutex_unlock(&w->bench->lock);
  if (stop && (w->phase == PHASE_WARMUP || w->phase == PHASE_MEASURE)) {
    if (w->phase == PHASE_WARMUP)
      measure_begin(w, now);
    measure_to = now;
  }

  if (w->phase == PHASE_WARMUP && now >= measure_from)
    measure_begin(w, now);
  if (w->phase == PHASE_MEASURE && now >= measure_to) {
    w->phase = PHASE_DRAIN;
    w->measure_end = now;
    stop_sending(w);
    if (w->udp != NULL)
      udp_load_measure_end(w->udp);
  }
  if (cfg->rate > 0 && sending(w))
    send_due(w, now);
  if (w->udp != NULL) {
    if (sending(w))
      udp_load_send_due(w->udp, now);
    udp_sync(w);
  }
  if (cfg->churn > 0 && sending(w))
    check_connect_times(w, now); /* churn connects all the time */
  if (w->ival_cur != NULL && w->phase == PHASE_MEASURE &&
      interval_of(measure_from, now) > w->ival_index) {
    w->ival_index = interval_of(measure_from, now);
    publish_interval(w, w->ival_index);
  }
  if (w->phase == PHASE_DRAIN && drained(w, now))
    worker_finish(w);
  uv_mutex_lock(&w->lock);
  w->shown = w->counts;
  uv_mutex_unlock(&w->lock);
}

static void worker_main(void *arg) {
  worker_t *w = arg;
  bench_t *b = w->bench;

  /* Timers cannot fail on a live loop. */
  (void)uv_timer_init(&w->loop, &w->tick);
  (void)uv_timer_start(&w->tick, check_connects, BENCH_CONNECT_CHECK_MS,
                       BENCH_CONNECT_CHECK_MS);
  if (w->udp != NULL) {
    udp_open_all(w);
  } else {
    connect_more(w);
    if (w->count > 0)
      uv_run(&w->loop, UV_RUN_DEFAULT);
  }
  uv_sem_post(&b->connected);
  uv_sem_wait(&b->go);

  w->phase = PHASE_WARMUP;
  if (w->config->warmup_ms == 0)
    measure_begin(w, b->start_ns);
  (void)uv_timer_start(&w->tick, on_tick, 0, w->config->rate > 0 ? 1 : 10);
  if (w->config->rate > 0) {
    (void)uv_check_init(&w->loop, &w->sender); /* cannot fail */
    (void)uv_idle_init(&w->loop, &w->spin);
    (void)uv_check_start(&w->sender, on_sender_check);
  }
  start_traffic(w, b->start_ns);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_mutex_lock(&b->lock);
  b->done++;
  uv_mutex_unlock(&b->lock);
}

/* What worker_new allocates before the loop and the lock. */
static void worker_free_parts(worker_t *w) {
  free(w->conns);
  free(w->latency);
  free(w->connect);
  free(w->service);
  free(w->session);
  free(w->ival_cur);
  free(w->ival_pub);
  free(w);
}

static void worker_free(worker_t *w) {
  size_t i;
  udp_load_free(w->udp);
  for (i = 0; i < w->count; i++) {
    free(w->conns[i].stamps);
    free(w->conns[i].written);
  }
  uv_mutex_destroy(&w->lock);
  (void)uv_loop_close(&w->loop); /* its handles closed as it ended */
  worker_free_parts(w);
}

/* A heap histogram, empty; NULL when out of memory. */
static histogram_t *histogram_new(void) {
  histogram_t *h = malloc(sizeof(*h));
  if (h != NULL)
    histogram_init(h);
  return h;
}

static worker_t *worker_new(bench_t *b, size_t first, size_t count,
                            uint64_t rate) {
  const bench_config_t *cfg = b->config;
  worker_t *w = calloc(1, sizeof(*w));
  uint32_t cap = (uint32_t)cfg->pipeline;
  size_t i;

  if (w == NULL)
    return NULL;
  if (rate > 0 && cap < BENCH_OPEN_LOOP_MAX_IN_FLIGHT)
    cap = BENCH_OPEN_LOOP_MAX_IN_FLIGHT;
  w->config = cfg;
  w->bench = b;
  if (cfg->udp) { /* sockets, not connections */
    w->udp_count = count;
    count = 0;
  }
  w->count = count;
  w->conns = calloc(count ? count : 1, sizeof(*w->conns));
  w->latency = histogram_new();
  w->connect = histogram_new();
  if (rate > 0)
    w->service = histogram_new();
  if (cfg->churn > 0)
    w->session = histogram_new();
  if (cfg->on_interval != NULL) {
    w->ival_cur = malloc(sizeof(*w->ival_cur));
    w->ival_pub = malloc(sizeof(*w->ival_pub));
  }
  if (w->conns == NULL || w->latency == NULL || w->connect == NULL ||
      (rate > 0 && w->service == NULL) ||
      (cfg->churn > 0 && w->session == NULL) ||
      (cfg->on_interval != NULL &&
       (w->ival_cur == NULL || w->ival_pub == NULL)) ||
      uv_mutex_init(&w->lock) != 0) {
    worker_free_parts(w);
    return NULL;
  }
  if (uv_loop_init(&w->loop) != 0) {
    uv_mutex_destroy(&w->lock);
    worker_free_parts(w);
    return NULL;
  }
  if (w->ival_cur != NULL) {
    interval_init(w->ival_cur);
    interval_init(w->ival_pub);
  }
  if (cfg->udp) {
    w->sink.latency = w->latency;
    w->sink.service = w->service;
    w->sink.interval = w->ival_cur;
    w->udp = udp_load_new(&w->loop, &b->udp, first, w->udp_count, &w->sink);
    if (w->udp == NULL) {
      worker_free(w);
      return NULL;
    }
  }
  for (i = 0; i < count; i++) {
    conn_t *c = &w->conns[i];
    c->worker = w;
    c->index = first + i;
    c->seed = pattern_seed(BENCH_SEED, first + i);
    c->cap = cap;
    c->stamps = malloc(sizeof(*c->stamps) * cap);
    if (rate > 0)
      c->written = malloc(sizeof(*c->written) * cap);
    if (c->stamps == NULL || (rate > 0 && c->written == NULL)) {
      w->count = i;
      worker_free(w);
      return NULL;
    }
  }
  return w;
}

static void add_errors(bench_errors_t *to, const bench_errors_t *e) {
  to->connect += e->connect;
  to->corrupted += e->corrupted;
  to->extra += e->extra;
  to->missing += e->missing;
  to->early_close += e->early_close;
  to->local += e->local;
}

static int resolve(bench_t *b) {
  uv_loop_t loop;
  uv_getaddrinfo_t req;
  char target[ADDR_STR_SIZE + 256];
  int err;

  if (uv_loop_init(&loop) != 0)
    return UV_ENOMEM;
  err = addr_resolve(&loop, &req, NULL, b->config->host, b->config->port, 0);
  if (err == 0) {
    memcpy(&b->addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
  } else {
    addr_format_target(b->config->host, b->config->port, target,
                       sizeof(target));
    log_line("bench %s: lookup failed: %s (%s)", target, uv_err_name(err),
             uv_strerror(err));
  }
  uv_loop_close(&loop);
  return err;
}

/* --source-ip, checked by the options already: each address must be of the
 * target's family, or no connection could be made from it. */
static int read_sources(bench_t *b) {
  const char *bad;
  size_t bad_len, i;
  char name[ADDR_STR_SIZE], target[ADDR_STR_SIZE + 256];
  int n = addr_parse_list(b->config->source_ips, b->sources, ADDR_LIST_MAX,
                          &bad, &bad_len);

  if (n <= 0)
    return UV_EINVAL;
  b->n_sources = (size_t)n;
  for (i = 0; i < b->n_sources; i++) {
    const struct sockaddr *src = (const struct sockaddr *)&b->sources[i];
    if (src->sa_family == b->addr.ss_family)
      continue;
    (void)uv_ip_name(src, name, sizeof(name));
    addr_format_target(b->config->host, b->config->port, target,
                       sizeof(target));
    log_line("bench: source address %s is not of the family of %s", name,
             target);
    return UV_EINVAL;
  }
  return 0;
}

/* --udp: the datagram fits the target's family, and the run has a nonce of
 * its own. Returns 0, or UV_EMSGSIZE (logged). */
static int udp_setup(bench_t *b) {
  const bench_config_t *cfg = b->config;
  const struct sockaddr *peer = (const struct sockaddr *)&b->addr;
  uint64_t max =
      peer->sa_family == AF_INET6 ? UDP_PING_MAX_V6 : UDP_PING_MAX_V4;
  char target[ADDR_STR_SIZE + 256];

  if (cfg->size > max) {
    addr_format_target(cfg->host, cfg->port, target, sizeof(target));
    log_line("bench: --size %llu does not fit in a UDP datagram to %s (at "
             "most %llu bytes)",
             (unsigned long long)cfg->size, target, (unsigned long long)max);
    return UV_EMSGSIZE;
  }
  b->udp.peer = peer;
  b->udp.sources = b->sources;
  b->udp.n_sources = b->n_sources;
  b->udp.sockets = cfg->connections;
  b->udp.rate = cfg->rate;
  b->udp.size = cfg->size;
  b->udp.timeout_ns = cfg->timeout_ms * 1000000ULL;
  /* Unpredictable where the system says, else the time: either way not
   * another run's. */
  if (uv_random(NULL, NULL, &b->udp.nonce, sizeof(b->udp.nonce), 0, NULL) != 0)
    b->udp.nonce = uv_hrtime() ^ (uint64_t)uv_os_getpid() << 32;
  return 0;
}

static void add_udp(bench_result_t *r, const udp_load_sink_t *k) {
  const udp_flow_counts_t *c = &k->counts;
  r->udp.sent += c->sent;
  r->udp.late_sent += c->late_sent;
  r->udp.unsent += c->unsent;
  r->udp.received += c->received;
  r->udp.lost += c->lost;
  r->udp.late += c->late;
  r->udp.duplicates += c->duplicates;
  r->udp.reordered += c->reordered;
  r->udp.too_old += c->too_old;
  r->udp.corrupted += c->corrupted;
  if (r->net_errors == 0)
    r->first_net_error = k->first_net_error;
  r->net_errors += k->net_errors;
}

static void live_line(bench_t *b, uint64_t loops, uint64_t elapsed_ms,
                      counters_t *last) {
  counters_t sum;
  uint64_t i;
  memset(&sum, 0, sizeof(sum));
  for (i = 0; i < loops; i++) {
    worker_t *w = b->workers[i];
    uv_mutex_lock(&w->lock);
    sum.messages += w->shown.messages;
    sum.bytes += w->shown.bytes;
    sum.connected += w->shown.connected;
    add_errors(&sum.errors, &w->shown.errors);
    uv_mutex_unlock(&w->lock);
  }
  log_rawf("\r[%5.1fs] %10.0f msg/s %9.2f MB/s  %llu connections  %llu "
           "errors   ",
           (double)elapsed_ms / 1000.0, (double)(sum.messages - last->messages),
           (double)(sum.bytes - last->bytes) / 1e6,
           (unsigned long long)sum.connected,
           (unsigned long long)bench_error_count(&sum.errors));
  *last = sum;
}

/* The main thread's loop while the others run: it starts the measurement
 * once every loop has made its connections, stops it early on a stop
 * signal (Ctrl-C, SIGTERM, SIGHUP; the report still comes), and draws the
 * live line. */
typedef struct waiter_s {
  bench_t *bench;
  bench_result_t *result;
  uint64_t loops;
  uint64_t loops_connected;
  uint64_t t0;      /* when the connects started */
  uint64_t shown_s; /* seconds of live lines shown */
  int measuring;    /* every loop connected: the measurement is on */
  int failed;       /* a loop could not start */
  int live;
  int stream;         /* --json-stream, and something to measure */
  interval_t *ival;   /* the second being put together */
  uint64_t ival_next; /* the next second to print */
  interval_totals_t ival_total;
  counters_t last;
  uv_timer_t timer;
  stop_signals_t signals;
} waiter_t;

static void on_wait_stop(stop_signals_t *signals, int signum) {
  waiter_t *wt = signals->data;
  uv_mutex_lock(&wt->bench->lock);
  wt->bench->stop = 1;
  uv_mutex_unlock(&wt->bench->lock);
  log_line("bench: interrupted by %s: ending the measurement now",
           platform_signal_name(signum));
  stop_signals_close(signals, NULL); /* a second one kills */
}

static void log_connect_error(const bench_config_t *cfg, int err);

/* Every loop tried its connects: the clock starts for all at once. */
static void start_measuring(waiter_t *wt) {
  bench_t *b = wt->bench;
  const bench_config_t *cfg = b->config;
  uint64_t connected = 0, i;

  for (i = 0; i < wt->loops; i++)
    connected += b->workers[i]->counts.connected;
  wt->result->setup_seconds = (double)(uv_hrtime() - wt->t0) / 1e9;
  if (connected == 0 && b->connect_error != 0)
    log_connect_error(cfg, b->connect_error);
  b->start_ns = uv_hrtime();
  /* Nothing to measure: the loops go straight to their end. */
  if (wt->failed || connected == 0)
    b->start_ns -= (cfg->warmup_ms + cfg->duration_ms) * 1000000ULL;
  wt->live = cfg->live && !wt->failed && connected > 0;
  wt->stream = wt->ival != NULL && !wt->failed && connected > 0;
  wt->measuring = 1;
  for (i = 0; i < wt->loops; i++)
    uv_sem_post(&b->go);
}

/* --json-stream: the end of the last second, the loops' measured time
 * having ended, from the start of it. */
static double measured_s(const waiter_t *wt) {
  uint64_t i, end = 0, from = measured_from(wt->bench->workers[0]);
  for (i = 0; i < wt->loops; i++) {
    uint64_t until = measured_until(wt->bench->workers[i]);
    if (until > end)
      end = until;
  }
  return end > from ? (double)(end - from) / 1e9 : 0;
}

/* --json-stream: prints each second every loop has handed over, in order;
 * once the loops are done (ended), the last. A second that was late to be
 * taken carries what a loop handed over after it. */
static void stream_intervals(waiter_t *wt, int ended) {
  bench_t *b = wt->bench;
  for (;;) {
    uint64_t ready = UINT64_MAX, i;
    bench_interval_t iv;

    for (i = 0; i < wt->loops; i++) {
      worker_t *w = b->workers[i];
      uv_mutex_lock(&w->lock);
      if (w->pub_upto < ready)
        ready = w->pub_upto;
      uv_mutex_unlock(&w->lock);
    }
    if (ready <= wt->ival_next)
      return;
    for (i = 0; i < wt->loops; i++) {
      worker_t *w = b->workers[i];
      uv_mutex_lock(&w->lock);
      interval_add(wt->ival, w->ival_pub);
      interval_init(w->ival_pub);
      uv_mutex_unlock(&w->lock);
    }
    iv.index = wt->ival_next;
    iv.start_s = (double)wt->ival_next;
    iv.end_s = iv.start_s + 1;
    if (ended && ready == wt->ival_next + 1 && measured_s(wt) < iv.end_s)
      iv.end_s = measured_s(wt);
    iv.delta = wt->ival;
    wt->ival_total.messages += wt->ival->counts.messages;
    wt->ival_total.bytes += wt->ival->counts.bytes;
    wt->ival_total.errors += wt->ival->counts.errors;
    iv.total = wt->ival_total;
    b->config->on_interval(&iv, b->config->interval_arg);
    interval_init(wt->ival);
    wt->ival_next++;
  }
}

static void on_wait_tick(uv_timer_t *timer) {
  waiter_t *wt = container_of(timer, waiter_t, timer);
  uint64_t done, elapsed_s;

  if (!wt->measuring) {
    /* The semaphore orders each loop's connect counts before this read. */
    while (wt->loops_connected < wt->loops &&
           uv_sem_trywait(&wt->bench->connected) == 0)
      wt->loops_connected++;
    if (wt->loops_connected == wt->loops)
      start_measuring(wt);
    return;
  }
  uv_mutex_lock(&wt->bench->lock);
  done = wt->bench->done;
  uv_mutex_unlock(&wt->bench->lock);
  elapsed_s = (uv_hrtime() - wt->bench->start_ns) / 1000000000ULL;
  if (wt->live && elapsed_s > wt->shown_s) {
    wt->shown_s = elapsed_s;
    live_line(wt->bench, wt->loops, elapsed_s * 1000, &wt->last);
  }
  if (wt->stream)
    stream_intervals(wt, done == wt->loops);
  if (done == wt->loops) {
    uv_close((uv_handle_t *)timer, NULL);
    stop_signals_close(&wt->signals, NULL);
  }
}

/* Runs the waiter until every loop is done. Returns 0, or a UV_* error if
 * the waiter itself could not start (then nothing was measured). */
static int wait_for_loops(waiter_t *wt) {
  uv_loop_t loop;
  int err = uv_loop_init(&loop);

  if (err != 0)
    return err;
  (void)uv_timer_init(&loop, &wt->timer); /* cannot fail on a live loop */
  (void)uv_timer_start(&wt->timer, on_wait_tick, 0, 10);
  wt->signals.data = wt;
  (void)stop_signals_start(&wt->signals, &loop, on_wait_stop); /* best effort */
  uv_run(&loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&loop); /* every handle was closed above */
  if (wt->live)
    log_raw("\n", 1);
  return 0;
}

static void log_connect_error(const bench_config_t *cfg, int err) {
  char target[ADDR_STR_SIZE + 256];
  char secs[32];
  addr_format_target(cfg->host, cfg->port, target, sizeof(target));
  if (err == UV_ETIMEDOUT) {
    log_format_seconds(secs, sizeof(secs), cfg->connect_timeout_ms);
    log_line("bench: cannot connect to %s: connect timed out after %s s",
             target, secs);
  } else {
    log_line("bench: cannot connect to %s: %s (%s)", target, uv_err_name(err),
             uv_strerror(err));
  }
}

int bench_run(const bench_config_t *cfg, bench_result_t *result) {
  bench_t b;
  waiter_t wt;
  uint64_t threads = cfg->threads, started = 0, i, first = 0;
  int err = 0;

  memset(&b, 0, sizeof(b));
  memset(result, 0, offsetof(bench_result_t, latency));
  histogram_init(&result->latency);
  histogram_init(&result->service);
  histogram_init(&result->connect);
  histogram_init(&result->session);
  b.config = cfg;
  err = resolve(&b);
  if (err == 0 && cfg->source_ips != NULL)
    err = read_sources(&b);
  if (err == 0 && cfg->udp)
    err = udp_setup(&b);
  if (err != 0)
    return err;
  if (threads > cfg->connections)
    threads = cfg->connections;
  b.workers = calloc((size_t)threads, sizeof(*b.workers));
  if (b.workers == NULL || uv_sem_init(&b.connected, 0) != 0) {
    free(b.workers);
    return UV_ENOMEM;
  }
  if (uv_sem_init(&b.go, 0) != 0) {
    uv_sem_destroy(&b.connected);
    free(b.workers);
    return UV_ENOMEM;
  }
  if (uv_mutex_init(&b.lock) != 0) {
    uv_sem_destroy(&b.go);
    uv_sem_destroy(&b.connected);
    free(b.workers);
    return UV_ENOMEM;
  }
  memset(&wt, 0, sizeof(wt));
  wt.bench = &b;
  wt.result = result;
  wt.t0 = uv_hrtime();
  if (cfg->on_interval != NULL) {
    wt.ival = malloc(sizeof(*wt.ival));
    if (wt.ival == NULL) {
      log_line("bench: out of memory");
      err = UV_ENOMEM;
    } else
      interval_init(wt.ival);
  }
  for (i = 0; i < threads && err == 0; i++) {
    uint64_t n = cfg->connections / threads + (i < cfg->connections % threads);
    worker_t *w = worker_new(&b, (size_t)first, (size_t)n, cfg->rate);
    first += n;
    if (w == NULL || uv_thread_create(&w->thread, worker_main, w) != 0) {
      log_line("bench: cannot start event loop %llu of %llu",
               (unsigned long long)i + 1, (unsigned long long)threads);
      if (w != NULL)
        worker_free(w);
      err = UV_ENOMEM;
      break;
    }
    b.workers[started++] = w;
  }
  wt.loops = started;
  wt.failed = err != 0;
  if (wait_for_loops(&wt) != 0) {
    /* No waiter: start them blind, so that they end and can be joined. */
    for (i = 0; i < started; i++)
      uv_sem_wait(&b.connected);
    wt.failed = 1;
    start_measuring(&wt);
  }
  for (i = 0; i < started; i++) {
    worker_t *w = b.workers[i];
    (void)uv_thread_join(&w->thread); /* it was started: cannot fail */
    result->messages += w->counts.messages;
    result->bytes += w->counts.bytes;
    result->sent += w->counts.sent;
    result->late += w->counts.late;
    result->held += w->counts.held;
    result->sessions += w->counts.sessions;
    result->opened += w->counts.opened;
    result->completed += w->counts.completed;
    result->no_port += w->counts.no_port;
    result->no_fd += w->counts.no_fd;
    result->connected += w->counts.connected;
    add_errors(&result->errors, &w->counts.errors);
    if (w->udp != NULL)
      add_udp(result, &w->sink);
    histogram_merge(&result->latency, w->latency);
    histogram_merge(&result->connect, w->connect);
    if (w->service != NULL)
      histogram_merge(&result->service, w->service);
    if (w->session != NULL)
      histogram_merge(&result->session, w->session);
    if (w->measure_end > w->measure_start)
      result->seconds += (double)(w->measure_end - w->measure_start) / 1e9;
    worker_free(w);
  }
  if (started > 0)
    result->seconds /= (double)started;
  result->threads = started;
  result->fd_limit = platform_fd_limit();
  result->reports = 1;
  uv_sem_destroy(&b.connected);
  uv_sem_destroy(&b.go);
  uv_mutex_destroy(&b.lock);
  free(b.workers);
  free(wt.ival);
  return err;
}
