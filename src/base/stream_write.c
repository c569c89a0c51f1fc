#include "base/stream_write.h"

#include "base/container_of.h"

#include <stdlib.h>
#include <string.h>

int stream_write(uv_stream_t *stream, const char *data, size_t len,
                 uv_write_cb cb) {
  uv_buf_t buf = uv_buf_init((char *)data, (unsigned int)len);
  stream_write_t *w;
  size_t done = 0;
  int n, err;

  n = uv_try_write(stream, &buf, 1);
  if (n >= 0)
    done = (size_t)n;
  else if (n != UV_EAGAIN && n != UV_ENOSYS)
    return n;
  if (done == len)
    return 0;
  w = malloc(sizeof(*w) + len - done);
  if (w == NULL)
    return UV_ENOMEM;
  w->len = len - done;
  memcpy(w + 1, data + done, w->len);
  buf = uv_buf_init((char *)(w + 1), (unsigned int)w->len);
  err = uv_write(&w->req, stream, &buf, 1, cb);
  if (err != 0) {
    free(w);
    return err;
  }
  return (int)w->len;
}

size_t stream_write_len(const uv_write_t *req) {
  return container_of(req, const stream_write_t, req)->len;
}

void stream_write_free(uv_write_t *req) {
  free(container_of(req, stream_write_t, req));
}
