#include "base/handle_group.h"

void handle_group_init(handle_group_t *g, handle_group_cb empty_cb) {
  g->open = 0;
  g->empty_cb = empty_cb;
}

void handle_group_add(handle_group_t *g) {
  g->open++;
}

void handle_group_release(handle_group_t *g) {
  if (--g->open == 0 && g->empty_cb != NULL) {
    handle_group_cb cb = g->empty_cb;
    g->empty_cb = NULL;
    cb(g);
  }
}

static void on_closed(uv_handle_t *handle) {
  handle_group_release(handle->data);
}

void handle_group_close(handle_group_t *g, uv_handle_t *handle) {
  if (uv_is_closing(handle))
    return;
  handle->data = g;
  uv_close(handle, on_closed);
}
