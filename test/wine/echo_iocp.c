/* A plain Winsock echo server, no libuv: one I/O completion port, an
 * overlapped WSARecv per connection, one overlapped WSASend per read (all
 * queued at once, as libuv queues uv_write), and once the peer's FIN came
 * and every send completed, shutdown(SD_SEND) and closesocket().
 *
 * Usage: echo_iocp [COUNT]   (default 32)
 * Prints "listening on 127.0.0.1:PORT", serves COUNT connections, then
 * says for each what it read and what its sends reported sent, counting
 * sends that succeeded with fewer bytes than asked: Windows completes a
 * successful overlapped send on a stream socket only once all its bytes
 * are taken. Windows only. */
#include <winsock2.h>
#include <windows.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct conn_s conn_t;

typedef struct op_s {
  OVERLAPPED ov; /* first: completions give back this address */
  conn_t *conn;
  int is_send;
  WSABUF buf;
} op_t;

struct conn_s {
  SOCKET sock;
  op_t recv_op;
  char recv_buf[65536];
  unsigned long long bytes_in, bytes_sent;
  unsigned sends_pending, short_sends;
  int eof, done;
};

static void fail(const char *what) {
  fprintf(stderr, "echo_iocp: %s: error %d\n", what, WSAGetLastError());
  exit(1);
}

static void post_recv(conn_t *c) {
  DWORD flags = 0;
  memset(&c->recv_op.ov, 0, sizeof(c->recv_op.ov));
  c->recv_op.buf.buf = c->recv_buf;
  c->recv_op.buf.len = sizeof(c->recv_buf);
  if (WSARecv(c->sock, &c->recv_op.buf, 1, NULL, &flags, &c->recv_op.ov,
              NULL) != 0 &&
      WSAGetLastError() != WSA_IO_PENDING)
    fail("WSARecv");
}

static void post_send(conn_t *c, const char *data, DWORD len) {
  op_t *op = calloc(1, sizeof(*op) + len);
  if (op == NULL)
    abort();
  op->conn = c;
  op->is_send = 1;
  op->buf.buf = (char *)(op + 1);
  op->buf.len = len;
  memcpy(op->buf.buf, data, len);
  c->sends_pending++;
  if (WSASend(c->sock, &op->buf, 1, NULL, 0, &op->ov, NULL) != 0 &&
      WSAGetLastError() != WSA_IO_PENDING)
    fail("WSASend");
}

/* Returns 1 when the connection is finished. */
static int on_completion(op_t *op, BOOL ok, DWORD n) {
  conn_t *c = op->conn;
  if (op->is_send) {
    if (!ok)
      fprintf(stderr, "echo_iocp: a send failed: error %lu\n",
              (unsigned long)GetLastError());
    else if (n < op->buf.len)
      c->short_sends++;
    c->bytes_sent += n;
    c->sends_pending--;
    free(op);
  } else if (ok && n > 0) {
    c->bytes_in += n;
    post_send(c, c->recv_buf, n);
    post_recv(c);
  } else {
    c->eof = 1;
  }
  if (!c->eof || c->sends_pending > 0 || c->done)
    return 0;
  c->done = 1;
  shutdown(c->sock, SD_SEND);
  closesocket(c->sock);
  return 1;
}

int main(int argc, char **argv) {
  struct sockaddr_in addr;
  int len = (int)sizeof(addr), count = argc > 1 ? atoi(argv[1]) : 32, i;
  int finished = 0;
  conn_t *conns;
  HANDLE port;
  WSADATA wsa;
  SOCKET listener;

  if (count < 1 || WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
    return 2;
  conns = calloc((size_t)count, sizeof(*conns));
  port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (conns == NULL || port == NULL || listener == INVALID_SOCKET ||
      bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
      listen(listener, SOMAXCONN) != 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &len) != 0)
    fail("listen");
  printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
  fflush(stdout);

  for (i = 0; i < count; i++) {
    conn_t *c = &conns[i];
    c->sock = accept(listener, NULL, NULL);
    if (c->sock == INVALID_SOCKET ||
        CreateIoCompletionPort((HANDLE)c->sock, port, 0, 0) == NULL)
      fail("accept");
    c->recv_op.conn = c;
    post_recv(c);
  }
  while (finished < count) {
    DWORD n = 0;
    ULONG_PTR key;
    OVERLAPPED *ov = NULL;
    BOOL ok = GetQueuedCompletionStatus(port, &n, &key, &ov, INFINITE);
    if (ov != NULL)
      finished += on_completion((op_t *)ov, ok, n);
  }
  for (i = 0; i < count; i++) {
    const conn_t *c = &conns[i];
    printf("connection %d: read %llu, sends reported %llu sent, %u sends "
           "succeeded short\n",
           i, c->bytes_in, c->bytes_sent, c->short_sends);
  }
  return 0;
}
