#include "client/dial.h"

#include "base/container_of.h"
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void try_next(dial_t *d);
static void on_attempt_closed(uv_handle_t *handle);

static void trace(dial_t *d, const char *fmt, ...) {
  char step[256];
  va_list ap;
  if (d->trace == NULL)
    return;
  va_start(ap, fmt);
  vsnprintf(step, sizeof(step), fmt, ap);
  va_end(ap);
  d->trace(d, step);
}

/* Ends the attempt in flight for reason (UV_ECANCELED or UV_ETIMEDOUT): a
 * pending lookup ends with UV_EAI_CANCELED (or its result, which is then
 * ignored), a pending connect by closing its handle; either way the
 * callbacks then end the dial. */
static void dial_abort(dial_t *d, int reason) {
  if (!d->cb_pending || d->cancelled)
    return;
  d->cancelled = reason;
  (void)uv_cancel((uv_req_t *)&d->resolver); /* fails once it runs: fine */
  if (d->connecting && !uv_is_closing((uv_handle_t *)d->tcp))
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
}

void dial_cancel(dial_t *d) {
  dial_abort(d, UV_ECANCELED);
}

static void on_deadline(uv_timer_t *timer) {
  dial_t *d = container_of(timer, dial_t, deadline);
  dial_abort(d, UV_ETIMEDOUT);
}

static void on_deadline_closed(uv_handle_t *handle) {
  dial_t *d = container_of(handle, dial_t, deadline);
  d->cb(d, d->last_error);
}

/* The deadline timer closes first, so that the caller's loop holds nothing
 * of the dial's once cb runs. */
static void dial_finish(dial_t *d, int status) {
  d->cb_pending = 0;
  d->last_error = status;
  if (d->addrs != NULL) {
    uv_freeaddrinfo(d->addrs);
    d->addrs = d->next = NULL;
  }
  uv_close((uv_handle_t *)&d->deadline, on_deadline_closed);
}

/* Logs why the dial failed, naming the address it was on (as Go does) or
 * the host as given, and ends it. */
static void dial_fail(dial_t *d, int err, const char *what) {
  char target[ADDR_STR_SIZE + 256];
  char secs[32];

  if (d->cancelled == UV_ECANCELED) {
    dial_finish(d, UV_ECANCELED);
    return;
  }
  if (d->addr[0] != '\0')
    snprintf(target, sizeof(target), "%s", d->addr);
  else
    addr_format_target(d->host, d->port, target, sizeof(target));
  if (d->cancelled == UV_ETIMEDOUT) {
    log_format_seconds(secs, sizeof(secs), d->timeout_ms);
    log_line("dial tcp %s: %s timed out after %s s", target,
             d->connecting || d->addr[0] != '\0' ? "connect" : "lookup", secs);
    dial_finish(d, UV_ETIMEDOUT);
    return;
  }
  log_line("dial tcp %s: %s%s (%s)", target, what, uv_err_name(err),
           uv_strerror(err));
  dial_finish(d, err);
}

/* A failed try's socket is closed before the next one opens. */
static void on_attempt_closed(uv_handle_t *handle) {
  dial_t *d = handle->data;
  trace(d, "socket closed");
  try_next(d);
}

static void on_connect(uv_connect_t *req, int status) {
  dial_t *d = req->data;
  if (uv_is_closing((uv_handle_t *)d->tcp)) {
    d->connecting = 0;
    return; /* dial_abort closed it: on_attempt_closed goes on */
  }
  d->connecting = 0;
  if (d->cancelled && status == 0)
    status = d->cancelled; /* connected just as it was given up */
  if (status < 0) {
    trace(d, "connect to %s failed: %s", d->addr, uv_err_name(status));
    d->last_error = status;
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
    return;
  }
  uv_timer_stop(&d->deadline);
  dial_finish(d, 0);
}

static void try_next(dial_t *d) {
  struct addrinfo *ai;
  int err;

  if (d->cancelled) {
    dial_fail(d, d->cancelled, "");
    return;
  }
  while ((ai = d->next) != NULL) {
    d->next = ai->ai_next;
    if (addr_format(ai->ai_addr, d->addr, sizeof(d->addr)) != 0)
      continue;
    err = uv_tcp_init(d->loop, d->tcp);
    if (err != 0) {
      d->last_error = err;
      continue;
    }
    d->tcp->data = d;
    trace(d, "connecting to %s", d->addr);
    d->connect_req.data = d;
    err = uv_tcp_connect(&d->connect_req, d->tcp, ai->ai_addr, on_connect);
    if (err == 0) {
      d->connecting = 1;
      return;
    }
    d->last_error = err;
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
    return;
  }
  if (d->last_error == 0) {
    d->addr[0] = '\0';
    dial_fail(d, UV_EADDRNOTAVAIL, "no usable address: ");
    return;
  }
  dial_fail(d, d->last_error, "");
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  dial_t *d = req->data;
  struct addrinfo *ai;
  int count = 0;

  if (status < 0 || d->cancelled) {
    if (res != NULL)
      uv_freeaddrinfo(res);
    dial_fail(d, status < 0 ? status : d->cancelled, "lookup failed: ");
    return;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next)
    count++;
  trace(d, "resolved %s: %d address%s", d->host, count, count == 1 ? "" : "es");
  d->addrs = d->next = res;
  try_next(d);
}

void dial_start(dial_t *d, uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                int port, uint64_t timeout_ms, dial_cb cb,
                dial_trace_cb trace_cb) {
  int err;
  d->loop = loop;
  d->tcp = tcp;
  d->host = host;
  d->port = port;
  d->timeout_ms = timeout_ms;
  d->cb = cb;
  d->trace = trace_cb;
  d->addrs = d->next = NULL;
  d->last_error = 0;
  d->cancelled = 0;
  d->connecting = 0;
  d->cb_pending = 1;
  d->addr[0] = '\0';
  d->resolver.data = d;
  /* A timer's init and start cannot fail on a live loop. */
  (void)uv_timer_init(loop, &d->deadline);
  if (timeout_ms > 0)
    (void)uv_timer_start(&d->deadline, on_deadline, timeout_ms, 0);
  trace(d, "resolving %s port %d", host, port);
  err = addr_resolve(loop, &d->resolver, on_resolved, host, port, 0);
  if (err != 0)
    on_resolved(&d->resolver, err, NULL);
}
