#include "dial.h"

#include "log.h"

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

void dial_cancel(dial_t *d) {
  if (!d->cb_pending || d->cancelled)
    return;
  d->cancelled = 1;
  /* A pending lookup ends with UV_EAI_CANCELED; a pending connect is
   * ended by closing its handle. Either way on_* then calls finish. */
  uv_cancel((uv_req_t *)&d->resolver);
  if (d->connecting && !uv_is_closing((uv_handle_t *)d->tcp))
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
}

void dial_format_target(const char *host, int port, char *buf, size_t size) {
  if (strchr(host, ':') != NULL && host[0] != '[')
    snprintf(buf, size, "[%s]:%d", host, port);
  else
    snprintf(buf, size, "%s:%d", host, port);
}

static void finish(dial_t *d, int status) {
  d->cb_pending = 0;
  if (d->addrs != NULL) {
    uv_freeaddrinfo(d->addrs);
    d->addrs = d->next = NULL;
  }
  d->cb(d, status);
}

static void fail(dial_t *d, int err, const char *what) {
  char target[ADDR_STR_SIZE + 256];
  if (d->cancelled) {
    finish(d, UV_ECANCELED);
    return;
  }
  dial_format_target(d->host, d->port, target, sizeof(target));
  log_line("dial tcp %s: %s%s (%s)", target, what, uv_err_name(err),
           uv_strerror(err));
  finish(d, err);
}

/* A failed try's socket is closed before the next one opens. */
static void on_attempt_closed(uv_handle_t *handle) {
  dial_t *d = handle->data;
  trace(d, "socket closed");
  try_next(d);
}

static void on_connect(uv_connect_t *req, int status) {
  dial_t *d = req->data;
  d->connecting = 0;
  if (uv_is_closing((uv_handle_t *)d->tcp))
    return; /* dial_cancel closed it: on_attempt_closed goes on */
  if (d->cancelled && status == 0) {
    d->last_error = UV_ECANCELED;
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
    return;
  }
  if (status < 0) {
    trace(d, "connect to %s failed: %s", d->addr, uv_err_name(status));
    d->last_error = status;
    uv_close((uv_handle_t *)d->tcp, on_attempt_closed);
    return;
  }
  finish(d, 0);
}

static void try_next(dial_t *d) {
  struct addrinfo *ai;
  int err;

  if (d->cancelled) {
    finish(d, UV_ECANCELED);
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
    fail(d, UV_EADDRNOTAVAIL, "no usable address: ");
    return;
  }
  /* Name the address that failed last, as Go does. */
  log_line("dial tcp %s: %s (%s)", d->addr, uv_err_name(d->last_error),
           uv_strerror(d->last_error));
  finish(d, d->last_error);
}

static void on_resolved(uv_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  dial_t *d = req->data;
  struct addrinfo *ai;
  int count = 0;

  if (status < 0 || d->cancelled) {
    if (res != NULL)
      uv_freeaddrinfo(res);
    fail(d, status < 0 ? status : UV_ECANCELED, "lookup failed: ");
    return;
  }
  for (ai = res; ai != NULL; ai = ai->ai_next)
    count++;
  trace(d, "resolved %s: %d address%s", d->host, count, count == 1 ? "" : "es");
  d->addrs = d->next = res;
  try_next(d);
}

void dial_start(dial_t *d, uv_loop_t *loop, uv_tcp_t *tcp, const char *host,
                int port, dial_cb cb, dial_trace_cb trace_cb) {
  int err;
  d->loop = loop;
  d->tcp = tcp;
  d->host = host;
  d->port = port;
  d->cb = cb;
  d->trace = trace_cb;
  d->addrs = d->next = NULL;
  d->last_error = 0;
  d->cancelled = 0;
  d->connecting = 0;
  d->cb_pending = 1;
  d->addr[0] = '\0';
  d->resolver.data = d;
  trace(d, "resolving %s port %d", host, port);
  err = addr_resolve(loop, &d->resolver, on_resolved, host, port, 0);
  if (err != 0)
    on_resolved(&d->resolver, err, NULL);
}
