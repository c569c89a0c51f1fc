/* Wires the modules together: options, then the server or the client on one
 * libuv loop. */
#include "client.h"
#include "log.h"
#include "options.h"
#include "platform.h"
#include "server.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#ifndef TCPECHO_VERSION
#define TCPECHO_VERSION "0.0.0"
#endif

typedef struct server_run_s {
  server_t *server;
  uv_signal_t sigint;
  uv_signal_t sigterm;
} server_run_t;

static void on_handle_closed(uv_handle_t *handle) {
  (void)handle;
}

static void close_any(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, on_handle_closed);
}

/* Runs the loop until nothing is left, then frees it. */
static void run_and_close_loop(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) == UV_EBUSY) {
    uv_walk(loop, close_any, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
  }
}

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
    uv_loop_close(loop);
  }
  return state;
}

static void stop_signals(server_run_t *run) {
  uv_close((uv_handle_t *)&run->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&run->sigterm, on_handle_closed);
}

static void on_stop_signal(uv_signal_t *handle, int signum) {
  server_run_t *run = handle->data;
  log_line("shutting down on %s: closing %lu TCP session%s",
           signum == SIGINT ? "SIGINT" : "SIGTERM",
           (unsigned long)run->server->stats.sessions_open,
           run->server->stats.sessions_open == 1 ? "" : "s");
  /* A second signal now gets the default action: exit at once. */
  stop_signals(run);
  server_close(run->server, NULL);
}

static int run_server(const options_t *opts) {
  server_config_t config = {opts->host, opts->port, opts->quiet};
  server_run_t run;
  uv_loop_t loop;
  int err;

  run.server = start_loop(&loop, sizeof(*run.server));
  if (run.server == NULL)
    return EXIT_STATUS_FAILURE;
  server_init(run.server, &loop, &config);
  /* Handlers first: once "listening on" is logged, a signal must already
   * mean a clean stop. */
  uv_signal_init(&loop, &run.sigint);
  uv_signal_init(&loop, &run.sigterm);
  run.sigint.data = run.sigterm.data = &run;
  uv_signal_start(&run.sigint, on_stop_signal, SIGINT);
  uv_signal_start(&run.sigterm, on_stop_signal, SIGTERM);
  err = server_listen(run.server);
  if (err != 0) {
    stop_signals(&run);
    server_close(run.server, NULL);
  }
  run_and_close_loop(&loop);
  free(run.server);
  return err == 0 ? EXIT_STATUS_OK : EXIT_STATUS_FAILURE;
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
  config.quiet = opts->quiet;
  config.verbose = opts->verbose;
  loop.data = &status;
  client_start(client, &loop, &config, on_client_done);
  run_and_close_loop(&loop);
  free(client);
  return status;
}

int main(int argc, char **argv) {
  options_t opts;
  char err[256];

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
  return opts.role == ROLE_SERVER ? run_server(&opts) : run_client(&opts);
}
