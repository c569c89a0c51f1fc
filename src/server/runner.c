#include "server/runner.h"

#include "base/addr.h"
#include "base/container_of.h"
#include "base/log.h"
#include "base/loop.h"
#include "base/platform.h"
#include "base/signals.h"
#include "options.h"
#include "server/metrics_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the main thread asks of a loop; a later one only ever escalates. */
enum { COMMAND_NONE, COMMAND_DRAIN, COMMAND_CLOSE };

typedef enum { SPREAD_REUSEPORT, SPREAD_SHARED, SPREAD_HANDOFF } spread_t;

typedef struct runner_s runner_t;

typedef struct worker_s {
  runner_t *runner;
  uv_loop_t *loop; /* own_loop, or the runner's when there is only one */
  uv_loop_t own_loop;
  uv_thread_t thread;
  uv_async_t wake; /* the runner's commands */
  server_t *server;
  udp_server_t *udp; /* --udp, on this loop */
  int parts_open;    /* server and udp, not yet closed */
  int loop_open;
  int thread_started;
  int applied;             /* the last command acted on; the loop's own */
  server_stats_t reported; /* at the last --stats line; the main thread's */
  /* Under runner->lock: */
  int command;
  int wake_closed; /* no uv_async_send to wake from here on */
  int done;        /* the loop has ended */
  uint64_t ticks;  /* --stats snapshots published */
  server_stats_t snapshot;
  uint64_t scraped_round; /* the last --metrics question answered */
  server_stats_t scraped;
  uv_os_sock_t *handed; /* connections handed over, not yet adopted */
  size_t handed_len;
  size_t handed_cap;
} worker_t;

struct runner_s {
  const runner_config_t *config;
  uv_loop_t loop; /* the main thread's: signals and reports */
  stop_signals_t signals;
  uv_async_t notify; /* from the loops: one ended, or stats published */
  uv_mutex_t lock;
  conn_limit_t limit;
  worker_t *workers;
  unsigned count;
  int signals_received;
  int finished; /* signals and notify are closing */
  spread_t spread;
  int udp_balanced;   /* --udp on every loop: the kernel spreads datagrams */
  unsigned next_loop; /* handoff's turn; the first loop's own */
  uint64_t ticks_logged;
  server_stats_t reported; /* the total at the last --stats line */
  metrics_http_t metrics;
  int metrics_on;        /* metrics_http_start was called */
  int scrape_pending;    /* the loops are being asked for their counters */
  uint64_t scrape_round; /* the question out to the loops; under lock */
  double start_time;     /* seconds since the Unix epoch */
};

/* ---- on each loop's thread ---- */

/* Where the one loop is the main thread's: the loop is done, but runs on
 * for the signals and notify, which on_notify now closes. */
static void on_inline_wake_closed(uv_handle_t *handle) {
  worker_t *w = container_of(handle, worker_t, wake);
  runner_t *r = w->runner;
  uv_mutex_lock(&r->lock);
  w->loop_open = 0;
  w->done = 1;
  uv_async_send(&r->notify);
  uv_mutex_unlock(&r->lock);
}

/* The server and the UDP echo are closed: the loop may end. */
static void on_part_closed(worker_t *w) {
  runner_t *r = w->runner;
  if (--w->parts_open > 0)
    return;
  uv_mutex_lock(&r->lock);
  w->wake_closed = 1;
  uv_mutex_unlock(&r->lock);
  uv_close((uv_handle_t *)&w->wake,
           w->loop == &r->loop ? on_inline_wake_closed : NULL);
}

static void on_server_closed(server_t *server) {
  on_part_closed(server->data);
}

static void on_udp_closed(udp_server_t *udp) {
  on_part_closed(udp->data);
}

/* Serves the connections handed to this loop so far. */
static void adopt_handed(worker_t *w) {
  uv_os_sock_t *handed;
  size_t i, n;

  uv_mutex_lock(&w->runner->lock);
  handed = w->handed;
  n = w->handed_len;
  w->handed = NULL;
  w->handed_len = w->handed_cap = 0;
  uv_mutex_unlock(&w->runner->lock);
  for (i = 0; i < n; i++)
    server_adopt(w->server, handed[i]);
  free(handed);
}

/* --metrics with several loops: this loop's counters, once per question. */
static void answer_scrape(worker_t *w) {
  runner_t *r = w->runner;
  int answered = 0;
  uv_mutex_lock(&r->lock);
  if (w->scraped_round < r->scrape_round) {
    w->scraped = *server_stats(w->server);
    w->scraped_round = r->scrape_round;
    answered = 1;
  }
  uv_mutex_unlock(&r->lock);
  if (answered)
    uv_async_send(&r->notify); /* open: this loop has not ended */
}

static void on_wake(uv_async_t *async) {
  worker_t *w = container_of(async, worker_t, wake);
  int command;

  adopt_handed(w);
  answer_scrape(w);
  uv_mutex_lock(&w->runner->lock);
  command = w->command;
  uv_mutex_unlock(&w->runner->lock);
  if (command == w->applied)
    return;
  w->applied = command;
  /* No session to flush: a drain stops UDP at once. */
  if (w->udp != NULL)
    udp_server_close(w->udp, on_udp_closed);
  if (command == COMMAND_DRAIN)
    server_drain(w->server, w->runner->config->drain_timeout_ms,
                 on_server_closed);
  else if (command == COMMAND_CLOSE)
    server_close(w->server, on_server_closed);
}

/* --stats with several loops: the main thread sums and logs. */
static void publish_stats(server_t *server) {
  worker_t *w = server->data;
  runner_t *r = w->runner;
  uv_mutex_lock(&r->lock);
  w->snapshot = *server_stats(server);
  w->ticks++;
  uv_mutex_unlock(&r->lock);
  uv_async_send(&r->notify);
}

/* Queues sock for loop to; 0 if it cannot take it (stopping, no memory). */
static int hand_to(worker_t *to, uv_os_sock_t sock) {
  runner_t *r = to->runner;
  int taken = 0;

  uv_mutex_lock(&r->lock);
  if (!to->wake_closed && to->handed_len == to->handed_cap) {
    size_t cap = to->handed_cap ? to->handed_cap * 2 : 16;
    uv_os_sock_t *more = realloc(to->handed, cap * sizeof(*more));
    if (more != NULL) {
      to->handed = more;
      to->handed_cap = cap;
    }
  }
  if (!to->wake_closed && to->handed_len < to->handed_cap) {
    to->handed[to->handed_len++] = sock;
    uv_async_send(&to->wake);
    taken = 1;
  }
  uv_mutex_unlock(&r->lock);
  return taken;
}

/* The first loop's accepts, in handoff: each loop's turn comes in order. */
static int hand_off(server_t *server, uv_os_sock_t sock) {
  worker_t *w = server->data;
  runner_t *r = w->runner;
  worker_t *to = &r->workers[r->next_loop++ % r->count];
  uv_os_sock_t copy;

  if (to == w || platform_dup_socket(sock, &copy) != 0)
    return 0;
  if (!hand_to(to, copy)) {
    platform_close_socket(copy);
    return 0;
  }
  return 1;
}

static void worker_main(void *arg) {
  worker_t *w = arg;
  runner_t *r = w->runner;
  loop_run_to_end(w->loop);
  /* Sent under the lock: once done is seen, notify may be closed. */
  uv_mutex_lock(&r->lock);
  w->loop_open = 0;
  w->done = 1;
  uv_async_send(&r->notify);
  uv_mutex_unlock(&r->lock);
}

/* ---- on the main thread ---- */

static void tell_every_loop(runner_t *r, int command) {
  unsigned i;
  uv_mutex_lock(&r->lock);
  for (i = 0; i < r->count; i++) {
    worker_t *w = &r->workers[i];
    if (w->loop_open && !w->wake_closed && w->command < command) {
      w->command = command;
      uv_async_send(&w->wake);
    }
  }
  uv_mutex_unlock(&r->lock);
}

/* The first signal drains (echoes owed are flushed, FIN, peers get
 * --drain-timeout to finish); a second one closes everything at once. */
static void on_stop_signal(stop_signals_t *signals, int signum) {
  runner_t *r = signals->data;
  const char *name = platform_signal_name(signum);
  unsigned long open = (unsigned long)conn_limit_read(&r->limit).open;
  char secs[32];

  if (++r->signals_received == 1) {
    log_format_seconds(secs, sizeof(secs), r->config->drain_timeout_ms);
    log_line("shutting down on %s: closing %lu TCP session%s%s%s%s", name, open,
             open == 1 ? "" : "s", open ? " (drain timeout " : "",
             open ? secs : "", open ? " s)" : "");
    tell_every_loop(r, COMMAND_DRAIN);
  } else {
    log_line("second %s: closing %lu TCP session%s now", name, open,
             open == 1 ? "" : "s");
    tell_every_loop(r, COMMAND_CLOSE);
  }
}

/* Logs the total and, with --verbose, each loop, once every loop has
 * published a snapshot for the next interval. */
static void log_stats(runner_t *r, server_stats_t *snapshots) {
  server_stats_t total;
  uint64_t ms = r->config->server.stats_ms;
  char prefix[32];
  unsigned i;

  memset(&total, 0, sizeof(total));
  for (i = 0; i < r->count; i++)
    server_stats_add(&total, &snapshots[i]);
  server_stats_log("", &total, &r->reported, ms);
  r->reported = total;
  for (i = 0; r->config->verbose && i < r->count; i++) {
    snprintf(prefix, sizeof(prefix), "loop %u: ", i + 1);
    server_stats_log(prefix, &snapshots[i], &r->workers[i].reported, ms);
    r->workers[i].reported = snapshots[i];
  }
}

/* The process's numbers from the loops' total. */
static void serve_metrics(runner_t *r, const server_stats_t *total) {
  metrics_values_t v;
  memset(&v, 0, sizeof(v));
  metrics_from_server_stats(&v, total);
  /* As in the summary: with several loops, the process's peak. */
  if (r->count > 1)
    v.sessions_peak = conn_limit_read(&r->limit).peak;
  v.draining = r->signals_received > 0;
  v.version = r->config->version;
  v.libuv_version = uv_version_string();
  v.start_time_seconds = r->start_time;
  metrics_http_serve(&r->metrics, &v);
}

/* Serves the scrape once every loop has answered the question or ended
 * (then its final counters are there to read). */
static void serve_scrape_if_answered(runner_t *r) {
  server_stats_t total;
  unsigned i;
  int all = 1;

  memset(&total, 0, sizeof(total));
  uv_mutex_lock(&r->lock);
  for (i = 0; i < r->count && all; i++) {
    worker_t *w = &r->workers[i];
    if (w->loop_open && !w->wake_closed) {
      all = w->scraped_round == r->scrape_round;
      server_stats_add(&total, &w->scraped);
    } else if (w->server != NULL) {
      server_stats_add(&total, server_stats(w->server));
    }
  }
  uv_mutex_unlock(&r->lock);
  if (!all)
    return;
  r->scrape_pending = 0;
  serve_metrics(r, &total);
}

/* A scrape: one loop's counters are at hand (the loop is this thread's);
 * several loops are asked through their wake handles, without touching
 * the echo path, and answer through notify. */
static void on_metrics_want(metrics_http_t *http) {
  runner_t *r = http->data;
  unsigned i;

  if (r->count == 1) {
    serve_metrics(r, server_stats(r->workers[0].server));
    return;
  }
  uv_mutex_lock(&r->lock);
  r->scrape_round++;
  for (i = 0; i < r->count; i++) {
    worker_t *w = &r->workers[i];
    if (w->loop_open && !w->wake_closed)
      uv_async_send(&w->wake);
  }
  uv_mutex_unlock(&r->lock);
  r->scrape_pending = 1;
  serve_scrape_if_answered(r);
}

static void on_notify(uv_async_t *async) {
  runner_t *r = container_of(async, runner_t, notify);
  server_stats_t *snapshots = NULL;
  uint64_t ticks = UINT64_MAX;
  unsigned i, done = 0;

  if (r->config->server.stats_ms > 0 && r->count > 1)
    snapshots = malloc(sizeof(*snapshots) * r->count);
  uv_mutex_lock(&r->lock);
  for (i = 0; i < r->count; i++) {
    worker_t *w = &r->workers[i];
    done += w->done;
    if (w->ticks < ticks)
      ticks = w->ticks;
    if (snapshots != NULL)
      snapshots[i] = w->snapshot;
  }
  uv_mutex_unlock(&r->lock);
  if (snapshots != NULL && done == 0 && ticks > r->ticks_logged) {
    r->ticks_logged = ticks;
    log_stats(r, snapshots);
  }
  free(snapshots);
  if (r->scrape_pending)
    serve_scrape_if_answered(r);
  if (done == r->count && !r->finished) {
    r->finished = 1;
    stop_signals_close(&r->signals, NULL);
    uv_close((uv_handle_t *)&r->notify, NULL);
    if (r->metrics_on)
      metrics_http_close(&r->metrics);
  }
}

/* --udp: every loop where the kernel spreads datagrams over SO_REUSEPORT
 * sockets (whatever spreads the connections), else the first loop. */
static int udp_on_loop(const runner_t *r, unsigned index) {
  return index == 1 || r->udp_balanced;
}

/* How loop index's UDP socket is bound. */
static platform_bind_t udp_bind_of(const runner_t *r, unsigned index) {
  if (!r->udp_balanced)
    return PLATFORM_BIND_ALONE;
  return index == 1 ? PLATFORM_BIND_GROUP_FIRST : PLATFORM_BIND_GROUP_JOIN;
}

/* A loop with its server, not yet listening. A single loop is the main
 * thread's own: a process with one thread makes cheaper system calls
 * (glibc's cancellation bookkeeping is for processes with several). */
static int worker_init(runner_t *r, worker_t *w, unsigned index) {
  server_config_t config = r->config->server;
  udp_server_config_t udp_config;
  int want_udp = r->config->udp && udp_on_loop(r, index);
  int err;

  w->runner = r;
  w->server = malloc(sizeof(*w->server)); /* holds its read buffer */
  w->udp = want_udp ? malloc(sizeof(*w->udp)) : NULL; /* its buffer, too */
  w->loop = r->count == 1 ? &r->loop : &w->own_loop;
  if (w->server == NULL || (want_udp && w->udp == NULL))
    err = UV_ENOMEM;
  else
    err = w->loop == &r->loop ? 0 : uv_loop_init(w->loop);
  if (err != 0) {
    free(w->server);
    free(w->udp);
    w->server = NULL;
    w->udp = NULL;
    return err;
  }
  w->loop_open = 1;
  config.limit = &r->limit;
  config.stats_cb = r->count > 1 ? publish_stats : NULL;
  config.handoff_cb =
      r->spread == SPREAD_HANDOFF && index == 1 ? hand_off : NULL;
  config.shares_listener = r->count > 1 && r->spread == SPREAD_SHARED;
  config.udp = r->config->udp;
  server_init(w->server, w->loop, &config);
  w->server->data = w;
  w->parts_open = 1;
  if (w->udp != NULL) {
    memset(&udp_config, 0, sizeof(udp_config));
    udp_config.rate = r->config->udp_rate;
    udp_config.bind = udp_bind_of(r, index);
    udp_server_init(w->udp, w->loop, &udp_config, server_udp_stats(w->server));
    w->udp->data = w;
    w->parts_open++;
  }
  return uv_async_init(w->loop, &w->wake, on_wake); /* cannot fail */
}

/* Every loop after the first joins the first's listener: beside it, in the
 * kernel's group, or on a duplicate of its socket. In handoff, only the
 * first listens. */
static int join_listener(runner_t *r, worker_t *w) {
  uv_os_sock_t sock, copy;
  int err;

  if (r->spread == SPREAD_HANDOFF)
    return 0;
  if (r->spread == SPREAD_REUSEPORT)
    return server_bind_beside(w->server, r->workers[0].server);
  err = server_socket(r->workers[0].server, &sock);
  if (err == 0)
    err = platform_dup_socket(sock, &copy);
  if (err != 0) {
    log_line("Error sharing the listening socket: %s (%s)", uv_err_name(err),
             uv_strerror(err));
    return err;
  }
  return server_open(w->server, copy);
}

static const char *spread_text(spread_t spread) {
  switch (spread) {
  case SPREAD_REUSEPORT:
    return "connections spread by the kernel: SO_REUSEPORT";
  case SPREAD_SHARED:
    return "every loop accepts on one shared listening socket";
  case SPREAD_HANDOFF:
    break;
  }
  return "one listener hands connections to the loops in turn";
}

/* --udp: on the address and port TCP listens on (the port the system
 * chose, with --port 0), on each loop that has it. */
static int open_udp(runner_t *r) {
  struct sockaddr_storage ss;
  unsigned i;
  int err;

  if (r->workers[0].udp == NULL)
    return 0;
  err = server_sockname(r->workers[0].server, &ss);
  if (err != 0) {
    log_line("listen udp %s: %s (%s)", "?", uv_err_name(err), uv_strerror(err));
    return err;
  }
  for (i = 0; err == 0 && i < r->count; i++)
    if (r->workers[i].udp != NULL)
      err = udp_server_open(r->workers[i].udp, (const struct sockaddr *)&ss);
  return err;
}

static void log_udp(runner_t *r) {
  udp_server_t *first = r->workers[0].udp;
  char where[ADDR_STR_SIZE];

  if (first == NULL)
    return;
  udp_server_address(first, where, sizeof(where));
  log_line("serving UDP on %s%s%s", where,
           r->count == 1     ? ""
           : r->udp_balanced ? " on every loop (datagrams spread by the "
                               "kernel: SO_REUSEPORT)"
                             : " on the first loop only",
           udp_server_replies_from_dst(first)
               ? ""
               : " (replies from the address the system chooses)");
}

static void log_listening(runner_t *r) {
  char where[ADDR_STR_SIZE];
  server_address(r->workers[0].server, where, sizeof(where));
  if (r->config->socket_passed && r->count == 1)
    log_line("listening on %s (socket from the service manager)", where);
  else if (r->config->socket_passed)
    log_line("listening on %s with %u threads (socket from the service "
             "manager; %s)",
             where, r->count, spread_text(r->spread));
  else if (r->count == 1)
    log_line("listening on %s", where);
  else
    log_line("listening on %s with %u threads (%s)", where, r->count,
             spread_text(r->spread));
}

static int open_listeners(runner_t *r) {
  server_t *first = r->workers[0].server;
  unsigned i;
  int err =
      r->config->socket_passed
          ? server_open(first, r->config->socket)
          : server_bind(first, r->count > 1 && r->spread == SPREAD_REUSEPORT);

  for (i = 1; err == 0 && i < r->count; i++)
    err = join_listener(r, &r->workers[i]);
  for (i = 0; err == 0 && i < r->count; i++)
    err = server_listen(r->workers[i].server);
  /* UDP first: once "listening on" is logged, both are served. */
  if (err == 0)
    err = open_udp(r);
  if (err != 0)
    return err;
  log_listening(r);
  log_udp(r);
  return 0;
}

/* The platform's best way, unless the configuration names another. A
 * passed socket has no group to join: its loop shares or hands off. */
static spread_t choose_spread(const runner_config_t *config) {
  const char *want = config->spread ? config->spread : "";
  if (strcmp(want, "shared") == 0)
    return SPREAD_SHARED;
  if (strcmp(want, "handoff") == 0)
    return SPREAD_HANDOFF;
  if (platform_reuseport_balances() && !config->socket_passed)
    return SPREAD_REUSEPORT;
  return platform_shared_listener_balances() ? SPREAD_SHARED : SPREAD_HANDOFF;
}

/* --metrics, on the main thread's loop: with several loops it never runs
 * on one of theirs. */
static int start_metrics(runner_t *r) {
  const runner_config_t *config = r->config;
  int err;

  if (config->metrics_port < 0)
    return 0;
  r->metrics_on = 1;
  err = metrics_http_start(&r->metrics, &r->loop, config->metrics_host,
                           config->metrics_port, on_metrics_want);
  r->metrics.data = r;
  return err;
}

static int start(runner_t *r) {
  uv_timeval64_t now;
  unsigned i;
  int err;

  for (i = 0; i < r->count; i++) {
    err = worker_init(r, &r->workers[i], i + 1);
    if (err != 0) {
      log_line("Error starting event loop: %s (%s)", uv_err_name(err),
               uv_strerror(err));
      return err;
    }
  }
  if (uv_gettimeofday(&now) == 0)
    r->start_time = (double)now.tv_sec + (double)now.tv_usec / 1e6;
  err = start_metrics(r);
  if (err == 0)
    err = open_listeners(r);
  for (i = 0; err == 0 && r->count > 1 && i < r->count; i++) {
    worker_t *w = &r->workers[i];
    err = uv_thread_create(&w->thread, worker_main, w);
    if (err != 0)
      log_line("Error starting thread %u of %u: %s (%s)", i + 1, r->count,
               uv_err_name(err), uv_strerror(err));
    w->thread_started = err == 0;
  }
  return err;
}

/* After a failed start: every loop closes its server; those without a
 * thread run here to their end. */
static void abandon(runner_t *r) {
  unsigned i;
  tell_every_loop(r, COMMAND_CLOSE);
  for (i = 0; i < r->count; i++) {
    worker_t *w = &r->workers[i];
    if (w->thread_started || w->loop == &r->loop)
      continue; /* its loop (or the main one) runs it to its end */
    if (w->loop_open)
      worker_main(w);
    else
      w->done = 1; /* never started: nothing to wait for */
  }
  uv_async_send(&r->notify); /* in case no loop was there to say so */
}

static void log_summary(runner_t *r) {
  server_stats_t total;
  char prefix[32];
  unsigned i;

  if (r->count == 1) {
    server_log_summary(r->workers[0].server);
    return;
  }
  memset(&total, 0, sizeof(total));
  for (i = 0; i < r->count; i++) {
    const server_stats_t *st = server_stats(r->workers[i].server);
    snprintf(prefix, sizeof(prefix), "loop %u: ", i + 1);
    server_stats_log_summary(prefix, st);
    server_stats_add(&total, st);
  }
  /* The process's peak, not the largest of the loops'. */
  total.peak_sessions = (size_t)conn_limit_read(&r->limit).peak;
  server_stats_log_summary("", &total);
}

static void runner_free(runner_t *r) {
  unsigned i;
  size_t j;
  for (i = 0; i < r->count; i++) {
    worker_t *w = &r->workers[i];
    for (j = 0; j < w->handed_len; j++) /* handed over as its loop ended */
      platform_close_socket(w->handed[j]);
    free(w->handed);
    free(w->server);
    free(w->udp);
  }
  free(r->workers);
  conn_limit_destroy(&r->limit);
  uv_mutex_destroy(&r->lock);
  free(r);
}

static runner_t *runner_new(const runner_config_t *config) {
  runner_t *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->config = config;
  r->count = config->threads;
  r->spread = choose_spread(config);
  r->udp_balanced = r->count > 1 && platform_reuseport_balances();
  r->workers = calloc(r->count, sizeof(*r->workers));
  if (r->workers == NULL || uv_mutex_init(&r->lock) != 0) {
    free(r->workers);
    free(r);
    return NULL;
  }
  if (conn_limit_init(&r->limit, config->server.max_conns) != 0) {
    uv_mutex_destroy(&r->lock);
    free(r->workers);
    free(r);
    return NULL;
  }
  return r;
}

int runner_run(const runner_config_t *config) {
  runner_t *r = runner_new(config);
  unsigned i;
  int err;

  if (r == NULL) {
    log_line("Error starting event loop: out of memory");
    return EXIT_STATUS_FAILURE;
  }
  err = uv_loop_init(&r->loop);
  if (err != 0) {
    log_line("Error starting event loop: %s (%s)", uv_err_name(err),
             uv_strerror(err));
    runner_free(r);
    return EXIT_STATUS_FAILURE;
  }
  (void)uv_async_init(&r->loop, &r->notify, on_notify); /* cannot fail */
  /* Handlers first: once "listening on" is logged, a signal must already
   * mean a clean stop. */
  r->signals.data = r;
  err = stop_signals_start(&r->signals, &r->loop, on_stop_signal);
  if (err != 0)
    log_line("Error watching stop signals: %s (%s)", uv_err_name(err),
             uv_strerror(err));
  else
    err = start(r);
  if (err != 0)
    abandon(r);
  loop_run_to_end(&r->loop);
  for (i = 0; i < r->count; i++)
    if (r->workers[i].thread_started)
      (void)uv_thread_join(&r->workers[i].thread); /* started: cannot fail */
  if (err == 0)
    log_summary(r);
  runner_free(r);
  return err == 0 ? EXIT_STATUS_OK : EXIT_STATUS_FAILURE;
}
