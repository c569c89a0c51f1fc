#include "client/client.h"

#include "base/container_of.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* --verbose: one line per libuv-level step, stamped with the milliseconds
 * since start on the monotonic clock, to line up with a packet capture. */
static void step(client_t *c, const char *fmt, ...) {
  char line[LOG_LINE_SIZE];
  va_list ap;
  if (!c->config.verbose)
    return;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  log_line("[%10.3f ms] %s", (double)(uv_hrtime() - c->start_ns) / 1e6, line);
}

static void on_dial_step(dial_t *dial, const char *what) {
  step(dial->data, "%s", what);
}

static void on_all_closed(handle_group_t *handles) {
  client_t *c = handles->data;
  c->done_cb(c, c->exit_status);
}

static void on_tcp_closed(uv_handle_t *handle) {
  client_t *c = container_of(handle, client_t, tcp);
  c->tcp_open = 0;
  step(c, "socket closed");
  handle_group_release(&c->handles);
}

/* Ends the session whichever way it ended: closing the socket sends FIN (or
 * RST if unread data is left), the timer goes, then done_cb. */
static void client_finish(client_t *c, int exit_status) {
  if (c->finished)
    return;
  c->finished = 1;
  c->exit_status = exit_status;
  if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp)) {
    step(c, "closing the socket (FIN, or RST if unread data is left)");
    uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
  }
  handle_group_close(&c->handles, (uv_handle_t *)&c->timer);
}

static void log_error(const char *what, int err) {
  log_line("%s: %s (%s)", what, uv_err_name(err), uv_strerror(err));
}

static void on_timer(uv_timer_t *timer) {
  client_t *c = container_of(timer, client_t, timer);
  char secs[32];

  step(c, "close timer fired");
  log_format_seconds(secs, sizeof(secs), c->config.close_after_ms);
  log_line("closing TCP session after %s second%s", secs,
           c->config.close_after_ms == 1000 ? "" : "s");
  (void)uv_read_stop((uv_stream_t *)&c->tcp); /* cannot fail */
  client_finish(c, 0);
}

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  client_t *c = container_of(handle, client_t, tcp);
  (void)suggested;
  *buf = uv_buf_init(c->read_buf, sizeof(c->read_buf));
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = container_of(stream, client_t, tcp);

  if (nread > 0) {
    step(c, "read %ld bytes", (long)nread);
    c->bytes_received += (unsigned long long)nread;
    if (!c->config.quiet)
      log_data("reading data from server", buf->base, (size_t)nread);
  } else if (nread == UV_EOF) {
    step(c, "read EOF: the server closed its side");
    log_line("Error reading TCP session: EOF");
    client_finish(c, 1);
  } else if (nread < 0) {
    log_error("Error reading TCP session", (int)nread);
    client_finish(c, 1);
  }
}

static void on_write(uv_write_t *req, int status) {
  client_t *c = container_of(req, client_t, write_req);
  if (status == 0)
    step(c, "write done: %lu bytes", (unsigned long)c->config.message_len);
  if (status < 0 && status != UV_ECANCELED) {
    log_error("Error writing TCP session", status);
    client_finish(c, 1);
  }
}

static void on_dialed(dial_t *dial, int status) {
  client_t *c = dial->data;
  char peer[ADDR_STR_SIZE];
  int err;

  if (status < 0) {
    client_finish(c, 1);
    return;
  }
  c->tcp_open = 1;
  handle_group_add(&c->handles);
  addr_format_tcp(&c->tcp, 1, peer, sizeof(peer));
  if (c->config.verbose) {
    char local[ADDR_STR_SIZE];
    addr_format_tcp(&c->tcp, 0, local, sizeof(local));
    step(c, "connected from %s (handshake done)", local);
  }
  log_line("TCP session open to %s", peer);

  if (c->config.message_len > 0) {
    uv_buf_t buf = uv_buf_init((char *)c->config.message,
                               (unsigned int)c->config.message_len);
    err = uv_write(&c->write_req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    if (err != 0) {
      log_error("Error writing TCP session", err);
      client_finish(c, 1);
      return;
    }
  }
  err = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (err == 0)
    err = uv_timer_start(&c->timer, on_timer, c->config.close_after_ms, 0);
  if (err == 0)
    step(c, "reading; close timer set for %llu ms", c->config.close_after_ms);
  if (err != 0) {
    log_error("Error reading TCP session", err);
    client_finish(c, 1);
  }
}

void client_start(client_t *c, uv_loop_t *loop, const client_config_t *config,
                  client_done_cb done_cb) {
  memset(c, 0, offsetof(client_t, read_buf));
  c->loop = loop;
  c->config = *config;
  c->done_cb = done_cb;
  c->start_ns = uv_hrtime();
  (void)uv_timer_init(loop, &c->timer); /* cannot fail on a live loop */
  handle_group_init(&c->handles, on_all_closed);
  c->handles.data = c;
  handle_group_add(&c->handles); /* the timer */
  c->dial.data = c;
  dial_start(&c->dial, loop, &c->tcp, config->host, config->port,
             config->connect_timeout_ms, on_dialed,
             config->verbose ? on_dial_step : NULL);
}
