/* A minimal libuv echo server, to tell tcpecho's bugs from the platform's:
 * every read is copied into its own uv_write; on EOF a uv_shutdown (libuv
 * queues it behind the writes), and the handle is closed once it is done.
 *
 * Usage: echo_min [-t] [-b] [PORT]   (default port 0: any free one)
 *   -t  uv_try_write first, queue only what the socket did not take
 *   -b  stop reading with 1 MiB of echoes pending, resume at 256 KiB
 * Prints "listening on 127.0.0.1:PORT" once it is listening. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define HIGH_WATER (1024 * 1024)
#define LOW_WATER (256 * 1024)

typedef struct conn_s {
  uv_tcp_t tcp;
  size_t pending; /* bytes in uv_write, not yet written */
  int paused;
  int eof;
} conn_t;

typedef struct echo_s {
  uv_write_t req;
  conn_t *conn;
  size_t len; /* the bytes follow the struct */
} echo_t;

static int use_try_write, use_backpressure;

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
  (void)handle;
  buf->base = malloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void on_closed(uv_handle_t *handle) {
  free(handle);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  if (status < 0)
    fprintf(stderr, "shutdown: %s\n", uv_strerror(status));
  uv_close((uv_handle_t *)req->handle, on_closed);
  free(req);
}

static void on_write(uv_write_t *req, int status) {
  echo_t *e = (echo_t *)req;
  conn_t *c = e->conn;
  c->pending -= e->len;
  free(e);
  if (status < 0) {
    fprintf(stderr, "write: %s\n", uv_strerror(status));
    return;
  }
  if (c->paused && c->pending <= LOW_WATER && !c->eof) {
    c->paused = 0;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
}

static void echo(conn_t *c, const char *data, size_t len) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
  echo_t *e;
  int n = 0;

  if (use_try_write && c->pending == 0) {
    n = uv_try_write((uv_stream_t *)&c->tcp, &buf, 1);
    if (n < 0)
      n = 0; /* EAGAIN and the like: uv_write reports real errors */
    if ((size_t)n == len)
      return;
  }
  e = malloc(sizeof(*e) + len - (size_t)n);
  if (e == NULL)
    abort();
  e->conn = c;
  e->len = len - (size_t)n;
  memcpy(e + 1, data + n, e->len);
  buf = uv_buf_init((char *)(e + 1), (unsigned int)e->len);
  if (uv_write(&e->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0)
    abort();
  c->pending += e->len;
  if (use_backpressure && c->pending >= HIGH_WATER && !c->paused) {
    c->paused = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
  }
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = (conn_t *)stream;
  if (nread > 0) {
    echo(c, buf->base, (size_t)nread);
  } else if (nread < 0) {
    uv_shutdown_t *req = malloc(sizeof(*req));
    c->eof = 1;
    uv_read_stop(stream);
    if (nread != UV_EOF)
      fprintf(stderr, "read: %s\n", uv_strerror((int)nread));
    if (req == NULL || uv_shutdown(req, stream, on_shutdown) != 0) {
      free(req);
      uv_close((uv_handle_t *)stream, on_closed);
    }
  }
  free(buf->base);
}

static void on_connection(uv_stream_t *listener, int status) {
  conn_t *c;
  if (status < 0)
    return;
  c = calloc(1, sizeof(*c));
  if (c == NULL)
    abort();
  uv_tcp_init(listener->loop, &c->tcp);
  if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

int main(int argc, char **argv) {
  uv_loop_t *loop = uv_default_loop();
  uv_tcp_t listener;
  struct sockaddr_in addr;
  struct sockaddr_storage bound;
  int len = (int)sizeof(bound), port = 0, i, err;

  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-t") == 0)
      use_try_write = 1;
    else if (strcmp(argv[i], "-b") == 0)
      use_backpressure = 1;
    else
      port = atoi(argv[i]);
  }
  uv_ip4_addr("127.0.0.1", port, &addr);
  uv_tcp_init(loop, &listener);
  err = uv_tcp_bind(&listener, (const struct sockaddr *)&addr, 0);
  if (err == 0)
    err = uv_listen((uv_stream_t *)&listener, 128, on_connection);
  if (err == 0)
    err = uv_tcp_getsockname(&listener, (struct sockaddr *)&bound, &len);
  if (err != 0) {
    fprintf(stderr, "listen: %s\n", uv_strerror(err));
    return 1;
  }
  printf("listening on 127.0.0.1:%d\n",
         ntohs(((struct sockaddr_in *)&bound)->sin_port));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
