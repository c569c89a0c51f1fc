#include "fake_udp_server.h"

#include "base/addr.h"
#include "base/container_of.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void copy_addr(struct sockaddr_storage *to, const struct sockaddr *sa) {
  memset(to, 0, sizeof(*to));
  memcpy(to, sa,
         sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                   : sizeof(struct sockaddr_in));
}

/* Loopback takes it at once; a test datagram is never queued. */
static void echo(fake_udp_server_t *f, const char *data, size_t len,
                 const struct sockaddr *peer) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
  assert_true(uv_udp_try_send(&f->udp, &buf, 1, peer) >= 0);
  f->echoed++;
}

static void on_delay(uv_timer_t *timer) {
  fake_udp_server_t *f = container_of(timer, fake_udp_server_t, timer);
  echo(f, f->delayed, f->delayed_len,
       (const struct sockaddr *)&f->delayed_peer);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  fake_udp_server_t *f = container_of(h, fake_udp_server_t, udp);
  (void)suggested;
  *buf = uv_buf_init(f->buf, sizeof(f->buf));
}

static void on_recv(uv_udp_t *udp, ssize_t n, const uv_buf_t *buf,
                    const struct sockaddr *peer, unsigned flags) {
  fake_udp_server_t *f = container_of(udp, fake_udp_server_t, udp);
  uint64_t k;
  size_t len = (size_t)n;
  int port;
  (void)flags;

  if (n < 0 || peer == NULL)
    return;
  k = ++f->received;
  port = addr_port(peer);
  if (f->min_source_port == 0 || port < f->min_source_port)
    f->min_source_port = port;
  if (f->silent || (f->drop_every > 0 && k % f->drop_every == 0))
    return;
  if (k == f->corrupt && len > 40)
    buf->base[40] ^= 0x20;
  if (k == f->delay) {
    memcpy(f->delayed, buf->base, len);
    f->delayed_len = len;
    copy_addr(&f->delayed_peer, peer);
    assert_int_equal(uv_timer_start(&f->timer, on_delay, f->delay_ms, 0), 0);
    return;
  }
  if (k == f->reorder) {
    memcpy(f->held, buf->base, len);
    f->held_len = len;
    copy_addr(&f->held_peer, peer);
    f->holding = 1;
    return;
  }
  echo(f, buf->base, len, peer);
  if (k == f->duplicate)
    echo(f, buf->base, len, peer);
  if (f->holding) {
    f->holding = 0;
    echo(f, f->held, f->held_len, (const struct sockaddr *)&f->held_peer);
  }
}

void fake_udp_server_start(fake_udp_server_t *f, uv_loop_t *loop,
                           const char *ip) {
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);

  f->loop = loop;
  f->received = f->echoed = 0;
  f->min_source_port = 0;
  f->holding = 0;
  memset(&ss, 0, sizeof(ss));
  if (strchr(ip, ':') != NULL)
    assert_int_equal(uv_ip6_addr(ip, 0, (struct sockaddr_in6 *)&ss), 0);
  else
    assert_int_equal(uv_ip4_addr(ip, 0, (struct sockaddr_in *)&ss), 0);
  assert_int_equal(uv_udp_init(loop, &f->udp), 0);
  assert_int_equal(uv_timer_init(loop, &f->timer), 0);
  assert_int_equal(uv_udp_bind(&f->udp, (const struct sockaddr *)&ss, 0), 0);
  assert_int_equal(uv_udp_getsockname(&f->udp, (struct sockaddr *)&ss, &len),
                   0);
  f->port = addr_port((const struct sockaddr *)&ss);
  assert_int_equal(uv_udp_recv_start(&f->udp, on_alloc, on_recv), 0);
}

static void on_closed(uv_handle_t *h) {
  int *open = h->data;
  (*open)--;
}

void fake_udp_server_stop(fake_udp_server_t *f) {
  int open = 2;
  f->udp.data = &open;
  f->timer.data = &open;
  uv_close((uv_handle_t *)&f->udp, on_closed);
  uv_close((uv_handle_t *)&f->timer, on_closed);
  while (open > 0)
    uv_run(f->loop, UV_RUN_ONCE);
}
