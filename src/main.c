/* Wires the modules together: options, then the role they ask for. */
#include "base/activation.h"
#include "bench/bench.h"
#include "bench/hgrm.h"
#include "bench/merge.h"
#include "bench/report.h"
#include "client/client.h"
#include "base/log.h"
#include "base/loop.h"
#include "options.h"
#include "client/ping.h"
#include "base/platform.h"
#include "client/relay.h"
#include "client/udp_ping.h"
#include "server/runner.h"
#include "base/signals.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#ifndef TCPECHO_VERSION
#define TCPECHO_VERSION "0.0.0"
#endif

/* Initialises the loop and allocates the role's state (too large for the
 * stack); logs and returns NULL on failure, leaving nothing open. */
static void *start_loop(uv_loop_t *loop, size_t state_size) {
  void *state;
  int err = uv_loop_init(loop);
  if (err != 0) {
    log_line("Error starting event loop: %s (%s)", uv_err_name(err),
             uv_strerror(err));
    return NULL;
  }
  state = malloc(state_size);
  if (state == NULL) {
    log_line("Error starting event loop: out of memory");
    (void)uv_loop_close(loop); /* nothing was opened on it */
  }
  return state;
}

/* --threads auto: one loop per CPU this process may use. */
static unsigned threads_wanted(const options_t *opts) {
  unsigned n =
      opts->threads > 0 ? (unsigned)opts->threads : uv_available_parallelism();
  return n > RUNNER_MAX_THREADS ? RUNNER_MAX_THREADS : n;
}

/* Socket activation: the server serves the one TCP socket passed, and
 * with --udp a UDP socket if one was passed too (else UDP binds the TCP
 * socket's address and port, as without activation). Anything else is a
 * mistake in the service's units: said in one line, and the server does
 * not start. */
static int use_passed_sockets(const options_t *opts, const activation_t *a,
                              runner_config_t *config) {
  unsigned tcp = activation_count_of(a, PLATFORM_SOCKET_TCP);
  unsigned udp = activation_count_of(a, PLATFORM_SOCKET_UDP);
  char passed[LOG_LINE_SIZE];
  unsigned i;

  activation_describe(a, passed, sizeof(passed));
  if (tcp != 1 || udp > 1 || tcp + udp != a->count) {
    log_line("socket activation: %u socket%s passed (%s): tcpecho --server "
             "serves one TCP socket, and with --udp one UDP socket",
             a->count, a->count == 1 ? "" : "s", passed);
    return -1;
  }
  if (udp == 1 && !opts->udp) {
    log_line("socket activation: a UDP socket passed (%s): serving it needs "
             "--udp",
             passed);
    return -1;
  }
  if (opts->host != NULL || opts->port_given)
    log_line("ignoring %s: the service manager passed the socket",
             opts->host == NULL  ? "--port"
             : !opts->port_given ? "--host"
                                 : "--host and --port");
  for (i = 0; i < a->count; i++) {
    const activation_socket_t *s = &a->sockets[i];
    if (s->kind == PLATFORM_SOCKET_TCP) {
      config->socket_passed = 1;
      config->socket = s->sock;
    } else {
      config->udp_socket_passed = 1;
      config->udp_socket = s->sock;
      config->udp_socket_addr = s->local;
    }
  }
  return 0;
}

static int run_server(const options_t *opts, const activation_t *activation) {
  runner_config_t config;

  memset(&config, 0, sizeof(config));
  if (activation->count > 0 &&
      use_passed_sockets(opts, activation, &config) != 0)
    return EXIT_STATUS_FAILURE;
  config.server.host = opts->host;
  config.server.port = opts->port;
  config.server.quiet = opts->quiet;
  config.server.max_conns = opts->max_conns;
  config.server.idle_timeout_ms = opts->idle_timeout_ms;
  config.server.stats_ms = opts->stats_ms;
  config.server.proxy_protocol = opts->proxy_protocol;
  config.server.proxy_timeout_ms = opts->proxy_timeout_ms;
  config.threads = threads_wanted(opts);
  config.drain_timeout_ms = opts->drain_timeout_ms;
  config.verbose = opts->verbose;
  config.udp = opts->udp;
  config.udp_rate = opts->udp_rate;
  /* Each platform's way of spreading connections, testable on any. */
  config.spread = getenv("TCPECHO_SPREAD");
  config.metrics_port = opts->metrics_port;
  config.metrics_host = opts->metrics_host[0] ? opts->metrics_host : NULL;
  config.version = TCPECHO_VERSION;
  return runner_run(&config);
}

static void on_client_done(client_t *client, int exit_status) {
  *(int *)client->loop->data = exit_status;
}

static int run_client(const options_t *opts) {
  client_config_t config;
  client_t *client;
  uv_loop_t loop;
  int status = EXIT_STATUS_FAILURE;

  client = start_loop(&loop, sizeof(*client));
  if (client == NULL)
    return EXIT_STATUS_FAILURE;
  config.host = opts->host;
  config.port = opts->port;
  config.message = opts->message;
  config.message_len = opts->message_len;
  config.close_after_ms = opts->close_after_ms;
  config.connect_timeout_ms = opts->connect_timeout_ms;
  config.quiet = opts->quiet;
  config.verbose = opts->verbose;
  loop.data = &status;
  client_start(client, &loop, &config, on_client_done);
  loop_run_to_end(&loop);
  free(client);
  return status;
}

static void on_ping_done(ping_t *ping, int exit_status) {
  *(int *)ping->loop->data = exit_status;
}

static int run_ping(const options_t *opts) {
  ping_config_t config;
  ping_t *ping;
  uv_loop_t loop;
  int status = EXIT_STATUS_FAILURE;

  ping = start_loop(&loop, sizeof(*ping));
  if (ping == NULL)
    return EXIT_STATUS_FAILURE;
  memset(&config, 0, sizeof(config));
  config.host = opts->host;
  config.port = opts->port;
  config.message = opts->message;
  config.message_len = opts->message_len;
  config.size = opts->size;
  config.count = opts->count;
  config.interval_ms = opts->interval_ms;
  config.timeout_ms = opts->timeout_ms;
  config.connect_timeout_ms = opts->connect_timeout_ms;
  config.quiet = opts->quiet;
  loop.data = &status;
  ping_start(ping, &loop, &config, on_ping_done);
  loop_run_to_end(&loop);
  free(ping);
  return status;
}

static void on_udp_ping_done(udp_ping_t *ping, int exit_status) {
  *(int *)ping->loop->data = exit_status;
}

static int run_udp_ping(const options_t *opts) {
  udp_ping_config_t config;
  udp_ping_t *ping;
  uv_loop_t loop;
  int status = EXIT_STATUS_FAILURE;

  ping = start_loop(&loop, sizeof(*ping));
  if (ping == NULL)
    return EXIT_STATUS_FAILURE;
  memset(&config, 0, sizeof(config));
  config.host = opts->host;
  config.port = opts->port;
  config.size = opts->size;
  config.count = opts->count;
  config.interval_ms = opts->interval_ms;
  config.timeout_ms = opts->timeout_ms;
  config.quiet = opts->quiet;
  loop.data = &status;
  udp_ping_start(ping, &loop, &config, on_udp_ping_done);
  loop_run_to_end(&loop);
  free(ping);
  return status;
}

static void on_relay_done(relay_t *relay, int exit_status) {
  *(int *)relay->loop->data = exit_status;
}

static int run_relay(const options_t *opts) {
  relay_config_t config;
  relay_t *relay;
  uv_loop_t loop;
  int status = EXIT_STATUS_FAILURE;

  relay = start_loop(&loop, sizeof(*relay));
  if (relay == NULL)
    return EXIT_STATUS_FAILURE;
  loop.data = &status;
  memset(&config, 0, sizeof(config));
  config.host = opts->host;
  config.port = opts->port;
  config.quiet = opts->quiet;
  config.timeout_ms = opts->timeout_ms;
  config.connect_timeout_ms = opts->connect_timeout_ms;
  relay_start(relay, &loop, &config, on_relay_done);
  loop_run_to_end(&loop);
  free(relay);
  return status;
}

/* Names the cause: the server's (bytes wrong, missing, cut short), ours
 * (memory, descriptors), or connections never made (already logged when
 * none was). */
static void log_bench_failure(const bench_result_t *r) {
  const bench_errors_t *e = &r->errors;
  unsigned long long data = (unsigned long long)(e->corrupted + e->extra +
                                                 e->missing + e->early_close);
  if (data > 0)
    log_line("bench: FAILED: %llu error%s; not every byte came back as sent",
             data, data == 1 ? "" : "s");
  else if (e->local > 0)
    log_line("bench: FAILED: %llu connection%s lost to local errors (ours, "
             "not the server's)",
             (unsigned long long)e->local, e->local == 1 ? "" : "s");
  else if (e->connect > 0 && r->connected > 0)
    log_line("bench: FAILED: %llu connection%s could not be made",
             (unsigned long long)e->connect, e->connect == 1 ? "" : "s");
}

/* --udp: errors the network reported (no service there: ECONNREFUSED),
 * and loss over --max-loss. */
static void log_udp_failure(const bench_config_t *cfg,
                            const bench_result_t *r) {
  char target[ADDR_STR_SIZE + 256];
  if (r->net_errors > 0) {
    addr_format_target(cfg->host, cfg->port, target, sizeof(target));
    log_line("bench: the network reported %llu error%s for datagrams to "
             "%s, the first %s (%s)",
             (unsigned long long)r->net_errors, r->net_errors == 1 ? "" : "s",
             target, uv_err_name(r->first_net_error),
             uv_strerror(r->first_net_error));
  }
  if (bench_udp_loss_over(cfg, r))
    log_line("bench: FAILED: %.3f%% of the datagrams lost, more than "
             "--max-loss %.3f%%",
             stats_loss_percent(r->udp.sent, r->udp.received),
             (double)cfg->max_loss / 1000.0);
}

/* --hgrm's file, opened before the run so that a bad path costs nothing;
 * NULL (logged) if it cannot be. */
static FILE *open_hgrm(const char *path) {
  FILE *f = fopen(path, "w");
  if (f == NULL)
    log_line("bench: cannot write %s: %s", path, strerror(errno));
  return f;
}

/* 0, or 1 (logged) if the distribution could not be written. */
static int write_hgrm(FILE *f, const char *path, const histogram_t *h) {
  int failed = hgrm_write(f, h, 1000.0, "microseconds") != 0;
  if (fclose(f) != 0)
    failed = 1;
  if (failed)
    log_line("bench: cannot write %s", path);
  return failed;
}

/* --json-stream: each second as it comes, whatever buffers stdout. */
static void print_interval(const bench_interval_t *interval, void *arg) {
  (void)arg;
  bench_report_interval(stdout, interval);
  fflush(stdout);
}

static int run_bench(const options_t *opts) {
  bench_config_t config;
  bench_result_t *result;
  FILE *hgrm = NULL;
  int status;

  if (opts->hgrm_path != NULL && (hgrm = open_hgrm(opts->hgrm_path)) == NULL)
    return EXIT_STATUS_FAILURE;
  result = malloc(sizeof(*result)); /* holds a histogram */
  if (result == NULL) {
    log_line("bench: out of memory");
    if (hgrm != NULL)
      fclose(hgrm);
    return EXIT_STATUS_FAILURE;
  }
  memset(&config, 0, sizeof(config));
  config.host = opts->host;
  config.port = opts->port;
  config.connections = opts->connections;
  config.size = opts->size;
  config.pipeline = opts->pipeline;
  config.duration_ms = opts->duration_ms;
  config.warmup_ms = opts->warmup_ms;
  config.rate = opts->rate;
  config.threads = threads_wanted(opts);
  config.connect_timeout_ms = opts->connect_timeout_ms;
  config.churn = opts->churn ? opts->count : 0;
  config.source_ips = opts->source_ips;
  config.udp = opts->udp;
  config.timeout_ms = opts->timeout_ms;
  config.max_loss = opts->max_loss;
  config.json = opts->json || opts->json_stream;
  if (opts->json_stream)
    config.on_interval = print_interval;
  /* The live line is for people watching a terminal, not for logs. */
  config.live = !config.json && !opts->quiet && uv_guess_handle(2) == UV_TTY;
  if (bench_run(&config, result) != 0) {
    if (hgrm != NULL)
      fclose(hgrm);
    free(result);
    return EXIT_STATUS_FAILURE;
  }
  log_flush(LOG_STOP_TIMEOUT_MS); /* its lines first, on a terminal */
  bench_report(stdout, &config, result);
  fflush(stdout);
  status = bench_error_count(&result->errors) > 0 || result->connected == 0 ||
                   bench_udp_loss_over(&config, result)
               ? EXIT_STATUS_FAILURE
               : EXIT_STATUS_OK;
  log_bench_failure(result);
  if (config.udp)
    log_udp_failure(&config, result);
  if (hgrm != NULL && write_hgrm(hgrm, opts->hgrm_path, &result->latency))
    status = EXIT_STATUS_FAILURE;
  free(result);
  return status;
}

/* Said with --verbose: how many connections the process can hold. */
static void raise_fd_limit(int verbose) {
  uint64_t before, after;
  platform_raise_fd_limit(&before, &after);
  if (!verbose || after == 0)
    return;
  if (after != before)
    log_line("descriptor limit: %llu (raised from %llu)",
             (unsigned long long)after, (unsigned long long)before);
  else
    log_line("descriptor limit: %llu", (unsigned long long)after);
}

static int run_mode(const options_t *opts, const activation_t *activation) {
  switch (opts->mode) {
  case MODE_SERVER:
    raise_fd_limit(opts->verbose);
    return run_server(opts, activation);
  case MODE_BENCH:
    raise_fd_limit(opts->verbose);
    return run_bench(opts);
  case MODE_MERGE:
    return bench_merge_main(opts->files, opts->file_count, opts->json);
  case MODE_PING:
    return opts->udp ? run_udp_ping(opts) : run_ping(opts);
  case MODE_PIPE:
    return run_relay(opts);
  case MODE_CLIENT:
  case MODE_NONE:
    break;
  }
  return run_client(opts);
}

int main(int argc, char **argv) {
  options_t opts;
  activation_t activation;
  char err[1024];
  int status;

  /* Before anything is opened: a closed 0, 1 or 2 would be taken by the
   * next socket. */
  platform_reopen_std_fds();
  switch (options_parse(argc, argv, &opts, err, sizeof(err))) {
  case OPTIONS_HELP:
    fputs(options_usage(), stdout);
    return EXIT_STATUS_OK;
  case OPTIONS_VERSION:
    printf("tcpecho %s (libuv %s)\n", TCPECHO_VERSION, uv_version_string());
    return EXIT_STATUS_OK;
  case OPTIONS_ERROR:
    fprintf(stderr, "tcpecho: %s (try 'tcpecho --help')\n", err);
    return EXIT_STATUS_USAGE;
  case OPTIONS_RUN:
    break;
  }
  platform_ignore_sigpipe();
  /* While the process has one thread: it changes the environment. */
  activation.count = 0;
  if (opts.mode == MODE_SERVER && activation_take(&activation) != 0)
    return EXIT_STATUS_FAILURE;
  /* Lines go through a bounded buffer from here on, so that a standard
   * error nobody reads cannot stall the loop; if that cannot start, they
   * are written directly, as before. */
  (void)log_start(2, LOG_BUFFER_SIZE);
  status = run_mode(&opts, &activation);
  log_stop(LOG_STOP_TIMEOUT_MS);
  return status;
}
