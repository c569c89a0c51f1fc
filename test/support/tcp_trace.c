#include "tcp_trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One direction of the connection. */
typedef struct side_s {
  const char *name;
  int seen_syn;
  uint32_t isn;
  uint32_t next;     /* sequence number of the next new byte (or SYN/FIN) */
  uint32_t acked;    /* highest ack this side has sent */
  int data_segments; /* segments with payload */
  size_t data_bytes;
  double data_time; /* of its (first) data segment */
  int fin;
  uint32_t fin_seq;
  double fin_time;
  size_t fin_index;
} side_t;

static int bad(char *why, size_t size, size_t i, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(why, size, "segment %lu: ", (unsigned long)i + 1);
  va_start(ap, fmt);
  if (n > 0 && (size_t)n < size)
    vsnprintf(why + n, size - (size_t)n, fmt, ap);
  va_end(ap);
  return -1;
}

/* Serial-number arithmetic (RFC 1982): a <= b within half the space. */
static int seq_le(uint32_t a, uint32_t b) {
  return (int32_t)(b - a) >= 0;
}

static int check_handshake(const tcp_seg_t *s, size_t n, side_t *c, side_t *v,
                           char *why, size_t size) {
  if (n < 3)
    return bad(why, size, n, "the capture ends inside the handshake");
  if (!s[0].from_client || s[0].flags != TCP_SYN)
    return bad(why, size, 0, "expected the client's SYN, got flags 0x%02x %s",
               s[0].flags, s[0].from_client ? "from client" : "from server");
  if (s[1].from_client || s[1].flags != (TCP_SYN | TCP_ACK) ||
      s[1].ack != s[0].seq + 1)
    return bad(why, size, 1,
               "expected the server's SYN-ACK acknowledging %u, got flags "
               "0x%02x ack %u",
               s[0].seq + 1, s[1].flags, s[1].ack);
  if (!s[2].from_client || !(s[2].flags & TCP_ACK) ||
      (s[2].flags & (TCP_SYN | TCP_FIN | TCP_RST)) || s[2].ack != s[1].seq + 1)
    return bad(why, size, 2, "expected the client's ACK of %u", s[1].seq + 1);
  c->seen_syn = v->seen_syn = 1;
  c->isn = s[0].seq;
  v->isn = s[1].seq;
  c->next = c->isn + 1;
  v->next = v->isn + 1;
  v->acked = c->next;
  c->acked = v->next;
  return 0;
}

int trace_check(const tcp_seg_t *s, size_t n, const trace_expect_t *want,
                char *why, size_t size) {
  side_t client, server;
  size_t i;

  memset(&client, 0, sizeof(client));
  memset(&server, 0, sizeof(server));
  client.name = "client";
  server.name = "server";
  if (check_handshake(s, n, &client, &server, why, size) != 0)
    return -1;

  for (i = 2; i < n; i++) {
    side_t *me = s[i].from_client ? &client : &server;
    side_t *peer = s[i].from_client ? &server : &client;

    if (s[i].flags & TCP_RST)
      return bad(why, size, i, "RST from the %s", me->name);
    if (s[i].flags & TCP_SYN)
      return bad(why, size, i, "SYN again from the %s", me->name);
    if (!(s[i].flags & TCP_ACK))
      return bad(why, size, i, "segment from the %s without ACK", me->name);
    if (s[i].seq != me->next)
      return bad(why, size, i, "%s seq %u, expected %u (gap or resend)",
                 me->name, s[i].seq, me->next);
    if (!seq_le(s[i].ack, peer->next))
      return bad(why, size, i, "%s acknowledges %u, beyond the %u sent",
                 me->name, s[i].ack, peer->next);
    if (!seq_le(me->acked, s[i].ack))
      return bad(why, size, i, "%s ack went back from %u to %u", me->name,
                 me->acked, s[i].ack);
    me->acked = s[i].ack;

    if (s[i].len > 0) {
      size_t at = me->data_bytes;
      size_t keep = s[i].len < TCP_SEG_DATA_KEPT ? s[i].len : TCP_SEG_DATA_KEPT;
      if (me->fin)
        return bad(why, size, i, "data from the %s after its FIN", me->name);
      if (me == &server && server.data_bytes + s[i].len > client.data_bytes)
        return bad(why, size, i,
                   "the server sent %lu bytes, more than the %lu received",
                   (unsigned long)(server.data_bytes + s[i].len),
                   (unsigned long)client.data_bytes);
      if (at + s[i].len > want->message_len)
        return bad(why, size, i, "the %s sent %lu bytes, expected %lu",
                   me->name, (unsigned long)(at + s[i].len),
                   (unsigned long)want->message_len);
      if (memcmp(s[i].data, want->message + at, keep) != 0)
        return bad(why, size, i, "the %s's bytes differ from the message",
                   me->name);
      if (me->data_segments++ == 0)
        me->data_time = s[i].time;
      me->data_bytes += s[i].len;
    }
    me->next += s[i].len;
    if (s[i].flags & TCP_FIN) {
      if (me->fin)
        return bad(why, size, i, "second FIN from the %s", me->name);
      me->fin = 1;
      me->fin_seq = me->next;
      me->fin_time = s[i].time;
      me->fin_index = i;
      me->next += 1;
    }
  }

  i = n;
  if (client.data_segments != 1 || client.data_bytes != want->message_len)
    return bad(why, size, i,
               "expected one client data segment of %lu bytes, got %d "
               "segments, %lu bytes",
               (unsigned long)want->message_len, client.data_segments,
               (unsigned long)client.data_bytes);
  if (server.data_segments != 1 || server.data_bytes != want->message_len)
    return bad(why, size, i,
               "expected one server data segment of %lu bytes, got %d "
               "segments, %lu bytes",
               (unsigned long)want->message_len, server.data_segments,
               (unsigned long)server.data_bytes);
  if (!client.fin || !server.fin)
    return bad(why, size, i, "no FIN from the %s",
               client.fin ? "server" : "client");
  if (want->server_closes_first ? client.fin_index < server.fin_index
                                : server.fin_index < client.fin_index)
    return bad(why, size, i, "the %s closed first, expected the %s",
               want->server_closes_first ? "client" : "server",
               want->server_closes_first ? "server" : "client");
  if (!seq_le(client.fin_seq + 1, server.acked))
    return bad(why, size, i, "the client's FIN was never acknowledged");
  if (!seq_le(server.fin_seq + 1, client.acked))
    return bad(why, size, i, "the server's FIN was never acknowledged");
  if (!seq_le(client.isn + 1 + (uint32_t)want->message_len, server.acked) ||
      !seq_le(server.isn + 1 + (uint32_t)want->message_len, client.acked))
    return bad(why, size, i, "data was not acknowledged");
  if (!want->server_closes_first) {
    /* The timer starts at connect; data follows at once. */
    double waited = client.fin_time - client.data_time;
    if (waited < want->close_after - 0.05 || waited > want->close_after + 2)
      return bad(why, size, client.fin_index,
                 "the client's FIN came %.3f s after its data, expected "
                 "about %.3f s (the close timer)",
                 waited, want->close_after);
  }
  return 0;
}
