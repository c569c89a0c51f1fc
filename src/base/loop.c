#include "base/loop.h"

static void on_handle_closed(uv_handle_t *handle) {
  (void)handle;
}

static void close_any(uv_handle_t *handle, void *arg) {
  (void)arg;
  if (!uv_is_closing(handle))
    uv_close(handle, on_handle_closed);
}

void loop_run_to_end(uv_loop_t *loop) {
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) == UV_EBUSY) {
    uv_walk(loop, close_any, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(loop); /* every handle is closed now */
  }
}
