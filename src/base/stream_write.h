/* Writing to a stream without copying what the socket takes at once: try
 * the write now, and queue a copy of only the rest. Used by the server's
 * echo and the bench's streams, where most writes go straight out. */
#ifndef TCPECHO_STREAM_WRITE_H
#define TCPECHO_STREAM_WRITE_H

#include <stddef.h>
#include <uv.h>

/* What was queued: the request and its bytes, in one allocation that the
 * write callback frees with stream_write_free. */
typedef struct stream_write_s {
  uv_write_t req;
  size_t len; /* bytes queued, which follow this struct */
} stream_write_t;

/* Writes len bytes of data to stream: straight from data as far as the
 * socket takes them now (uv_try_write; nothing is tried while writes are
 * queued, so order holds), a copy of the rest queued with uv_write and cb.
 * Returns how many bytes were queued (0: all written, cb will not run), or
 * a UV_* error, with nothing queued. */
int stream_write(uv_stream_t *stream, const char *data, size_t len,
                 uv_write_cb cb);

/* In cb: the bytes that request carried, and freeing it. */
size_t stream_write_len(const uv_write_t *req);
void stream_write_free(uv_write_t *req);

#endif
