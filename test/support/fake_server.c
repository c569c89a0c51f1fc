#include "fake_server.h"

#include "base/container_of.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct fake_conn_s {
  uv_tcp_t tcp; /* tcp.data: the server */
  uint64_t seen;
  int extra_sent;
  char buf[65536];
} fake_conn_t;

static void on_conn_closed(uv_handle_t *h) {
  free(container_of(h, fake_conn_t, tcp));
}

static void conn_close(fake_conn_t *c) {
  if (!uv_is_closing((uv_handle_t *)&c->tcp))
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
}

static void on_write(uv_write_t *req, int status) {
  (void)status;
  free(req);
}

static void conn_write(fake_conn_t *c, const char *data, size_t len) {
  uv_write_t *req;
  uv_buf_t buf;
  if (len == 0)
    return;
  req = malloc(sizeof(*req) + len);
  assert_non_null(req);
  memcpy(req + 1, data, len);
  buf = uv_buf_init((char *)(req + 1), (unsigned int)len);
  if (uv_write(req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0)
    free(req);
}

static void on_alloc(uv_handle_t *h, size_t s, uv_buf_t *buf) {
  fake_conn_t *c = container_of(h, fake_conn_t, tcp);
  (void)s;
  *buf = uv_buf_init(c->buf, sizeof(c->buf));
}

/* Echoes faithfully except at byte `at` of the stream. */
static void echo_with_fault(fake_conn_t *c, char *data, size_t n) {
  fake_server_t *f = c->tcp.data;
  uint64_t from = c->seen;
  size_t k;
  char extra = 'X';

  c->seen += n;
  if (f->fault == FAKE_SILENT || (f->fault == FAKE_STALL && from >= f->at))
    return;
  /* The extra byte may go after a read's last byte (`at` at its end). */
  if (f->fault == FAKE_EXTRA && !c->extra_sent && from <= f->at &&
      f->at <= c->seen) {
    k = (size_t)(f->at - from);
    c->extra_sent = 1;
    conn_write(c, data, k);
    conn_write(c, &extra, 1);
    conn_write(c, data + k, n - k);
    return;
  }
  if (f->fault == FAKE_NO_CLOSE || f->fault == FAKE_EXTRA || from > f->at ||
      c->seen <= f->at) {
    conn_write(c, data, n);
    return;
  }
  k = (size_t)(f->at - from); /* the faulty byte's index */
  conn_write(c, data, k);
  switch (f->fault) {
  case FAKE_FLIP:
    data[k] ^= 0x20;
    conn_write(c, data + k, n - k);
    break;
  case FAKE_DROP:
    conn_write(c, data + k + 1, n - k - 1);
    break;
  case FAKE_CLOSE:
    conn_close(c);
    break;
  default: /* FAKE_STALL: the bytes before `at` only */
    break;
  }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  fake_conn_t *c = container_of(s, fake_conn_t, tcp);
  fake_server_t *f = c->tcp.data;

  if (n > 0) {
    echo_with_fault(c, buf->base, (size_t)n);
  } else if (n < 0) {
    if (n == UV_EOF && (f->fault == FAKE_NO_CLOSE || f->fault == FAKE_SILENT))
      return; /* keep the connection open: the peer must give up */
    conn_close(c);
  }
}

static void on_connection(uv_stream_t *l, int status) {
  fake_server_t *f = container_of(l, fake_server_t, listener);
  fake_conn_t *c;
  if (status < 0)
    return;
  c = calloc(1, sizeof(*c));
  assert_non_null(c);
  assert_int_equal(uv_tcp_init(f->loop, &c->tcp), 0);
  c->tcp.data = f;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0)
    conn_close(c);
  else
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read),
                     0);
}

void fake_server_start(fake_server_t *f, uv_loop_t *loop, fake_fault_t fault,
                       uint64_t at) {
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);

  memset(f, 0, sizeof(*f));
  f->loop = loop;
  f->fault = fault;
  f->at = at;
  f->listener.data = NULL; /* not a connection */
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(uv_tcp_init(loop, &f->listener), 0);
  assert_int_equal(uv_tcp_bind(&f->listener, (const struct sockaddr *)&addr, 0),
                   0);
  assert_int_equal(uv_listen((uv_stream_t *)&f->listener, 128, on_connection),
                   0);
  assert_int_equal(
      uv_tcp_getsockname(&f->listener, (struct sockaddr *)&ss, &len), 0);
  f->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void close_conn_of(uv_handle_t *h, void *arg) {
  if (h->type == UV_TCP && h->data == arg)
    conn_close(container_of(h, fake_conn_t, tcp));
}

void fake_server_stop(fake_server_t *f) {
  uv_walk(f->loop, close_conn_of, f);
  uv_close((uv_handle_t *)&f->listener, NULL);
  uv_run(f->loop, UV_RUN_NOWAIT);
}
