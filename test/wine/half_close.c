/* The reliability suite's half-close scenario against an echo server that
 * is already running on 127.0.0.1:PORT: COUNT connections at once,
 * connection i sends (i + 1) x 256 KiB in writes of 1 B to 64 KiB, many in
 * flight, then FIN, and reads nothing until every connection has written
 * all or stalled (no write done for 200 ms) and 300 ms more have passed;
 * then it reads each to the server's FIN, checking every byte.
 *
 * Usage: half_close PORT [COUNT]   (COUNT defaults to 32)
 * Prints one line per connection that did not get all its bytes back, then
 * a total; exits 0 only when every echo came back whole, then EOF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define STEP (256 * 1024)
#define MAX_CHUNK (64 * 1024)
#define DEPTH 1000
#define STALL_MS 200
#define SETTLE_MS 300
#define TIMEOUT_MS 60000

typedef struct conn_s {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_shutdown_t shutdown_req;
  unsigned id;
  uint64_t rng;
  uint64_t to_send, queued, written, received;
  uint64_t bad_at; /* first wrong byte, or UINT64_MAX */
  uint64_t last_progress_ms;
  unsigned in_flight;
  int connected, shut, done;
  int status; /* first error, or UV_EOF once the server's FIN came */
} conn_t;

typedef struct chunk_s {
  uv_write_t req;
  conn_t *conn;
  size_t len; /* the bytes follow the struct */
} chunk_t;

static uv_loop_t *loop;
static conn_t *conns;
static unsigned count, done_count;
static uv_timer_t timer;
static uint64_t start_ms, reading_at_ms;

/* Byte k of connection id's stream. */
static unsigned char stream_byte(unsigned id, uint64_t k) {
  uint64_t x = (k >> 3) * 0x9e3779b97f4a7c15ull ^ (uint64_t)id << 40;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 29;
  return (unsigned char)(x >> (8 * (k & 7)));
}

static size_t chunk_size(conn_t *c) {
  uint64_t r;
  c->rng = c->rng * 6364136223846793005ull + 1442695040888963407ull;
  r = c->rng >> 24;
  r = 1 + (r >> 5) % ((uint64_t)1 << (r % 17)); /* 1 B to 64 KiB */
  return (size_t)(r < MAX_CHUNK ? r : MAX_CHUNK);
}

static void fail(conn_t *c, int err) {
  if (c->status == 0)
    c->status = err;
}

static void on_closed(uv_handle_t *h) {
  (void)h;
  done_count++;
}

static void finish(conn_t *c, int status) {
  fail(c, status);
  if (!c->done) {
    c->done = 1;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
  }
}

static void pump(conn_t *c);

static void on_write(uv_write_t *req, int status) {
  chunk_t *w = (chunk_t *)req;
  conn_t *c = w->conn;
  c->in_flight--;
  if (status == 0) {
    c->written += w->len;
    c->last_progress_ms = uv_now(loop);
    pump(c);
  } else {
    fail(c, status);
  }
  free(w);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  if (status != 0)
    fail((conn_t *)req->data, status);
}

static void pump(conn_t *c) {
  while (!c->done && c->queued < c->to_send && c->in_flight < DEPTH) {
    size_t n = chunk_size(c), i;
    chunk_t *w;
    uv_buf_t buf;
    if (n > c->to_send - c->queued)
      n = (size_t)(c->to_send - c->queued);
    w = malloc(sizeof(*w) + n);
    if (w == NULL)
      abort();
    w->conn = c;
    w->len = n;
    for (i = 0; i < n; i++)
      ((unsigned char *)(w + 1))[i] = stream_byte(c->id, c->queued + i);
    buf = uv_buf_init((char *)(w + 1), (unsigned int)n);
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write) != 0)
      abort();
    c->queued += n;
    c->in_flight++;
  }
  if (!c->done && !c->shut && c->queued == c->to_send) {
    c->shut = 1;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown))
      abort();
  }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static char space[65536];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(space, sizeof(space));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = (conn_t *)s;
  ssize_t i;
  for (i = 0; i < nread; i++) {
    if (c->bad_at == UINT64_MAX &&
        (c->received + (uint64_t)i >= c->to_send ||
         (unsigned char)buf->base[i] !=
             stream_byte(c->id, c->received + (uint64_t)i)))
      c->bad_at = c->received + (uint64_t)i;
  }
  if (nread > 0)
    c->received += (uint64_t)nread;
  else if (nread < 0)
    finish(c, (int)nread);
}

static void on_connect(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  if (status != 0) {
    finish(c, status);
    return;
  }
  c->connected = 1;
  c->last_progress_ms = uv_now(loop);
  uv_tcp_nodelay(&c->tcp, 1);
  pump(c);
}

static int all_written_or_stalled(void) {
  unsigned i;
  for (i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    if (!c->done &&
        (!c->connected || (c->written < c->to_send &&
                           uv_now(loop) - c->last_progress_ms < STALL_MS)))
      return 0;
  }
  return 1;
}

static void on_tick(uv_timer_t *t) {
  uint64_t now = uv_now(loop);
  unsigned i;
  if (done_count == count || now - start_ms > TIMEOUT_MS) {
    for (i = 0; i < count; i++)
      finish(&conns[i], UV_ETIMEDOUT);
    uv_close((uv_handle_t *)t, NULL);
    return;
  }
  if (reading_at_ms == 0 && all_written_or_stalled())
    reading_at_ms = now + SETTLE_MS;
  if (reading_at_ms != 0 && now >= reading_at_ms && reading_at_ms != 1) {
    reading_at_ms = 1; /* reading */
    for (i = 0; i < count; i++) {
      if (!conns[i].done)
        uv_read_start((uv_stream_t *)&conns[i].tcp, on_alloc, on_read);
    }
  }
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  uint64_t lost = 0;
  unsigned i, bad = 0;

  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: half_close PORT [COUNT]\n");
    return 2;
  }
  count = argc == 3 ? (unsigned)atoi(argv[2]) : 32;
  if (count == 0 || count > 256) {
    fprintf(stderr, "half_close: COUNT must be 1 to 256\n");
    return 2;
  }
  loop = uv_default_loop();
  uv_ip4_addr("127.0.0.1", atoi(argv[1]), &addr);
  conns = calloc(count, sizeof(*conns));
  if (conns == NULL)
    abort();
  start_ms = uv_now(loop);
  for (i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    c->id = i;
    c->rng = i + 1;
    c->to_send = (uint64_t)(i + 1) * STEP;
    c->bad_at = UINT64_MAX;
    c->connect_req.data = c;
    uv_tcp_init(loop, &c->tcp);
    if (uv_tcp_connect(&c->connect_req, &c->tcp, (const struct sockaddr *)&addr,
                       on_connect) != 0)
      abort();
  }
  uv_timer_init(loop, &timer);
  uv_timer_start(&timer, on_tick, 10, 10);
  uv_run(loop, UV_RUN_DEFAULT);

  for (i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    uint64_t short_by;
    if (c->status == UV_EOF && c->written == c->to_send &&
        c->received == c->to_send && c->bad_at == UINT64_MAX)
      continue;
    bad++;
    short_by = c->to_send > c->received ? c->to_send - c->received : 0;
    lost += short_by;
    printf("connection %u: sent %llu of %llu, echoed %llu, lost %llu, "
           "first bad byte %lld, ended by %s\n",
           i, (unsigned long long)c->written, (unsigned long long)c->to_send,
           (unsigned long long)c->received, (unsigned long long)short_by,
           c->bad_at == UINT64_MAX ? -1LL : (long long)c->bad_at,
           c->status == 0 ? "nothing" : uv_err_name(c->status));
  }
  printf("%u of %u connections echoed whole (%llu bytes lost)\n", count - bad,
         count, (unsigned long long)lost);
  free(conns);
  return bad == 0 ? 0 : 1;
}
