#include "base/signals.h"

static void on_signal(uv_signal_t *handle, int signum) {
  stop_signals_t *s = handle->data;
  s->cb(s, signum);
}

int stop_signals_start(stop_signals_t *s, uv_loop_t *loop, stop_signal_cb cb) {
  int signums[PLATFORM_STOP_SIGNALS_MAX];
  int n = platform_stop_signals(signums), i, err, first_err = 0;

  s->cb = cb;
  s->closed_cb = NULL;
  s->count = s->open = 0;
  for (i = 0; i < n; i++) {
    uv_signal_t *h = &s->handles[s->count];
    err = uv_signal_init(loop, h);
    if (err == 0) {
      h->data = s;
      s->count++;
      s->open++;
      err = uv_signal_start(h, on_signal, signums[i]);
    }
    if (err != 0 && first_err == 0)
      first_err = err;
  }
  return first_err;
}

static void on_signal_closed(uv_handle_t *handle) {
  stop_signals_t *s = handle->data;
  if (--s->open == 0 && s->closed_cb != NULL)
    s->closed_cb(s);
}

void stop_signals_close(stop_signals_t *s, stop_signals_closed_cb closed_cb) {
  int i;
  s->closed_cb = closed_cb;
  if (s->open == 0 && closed_cb != NULL) {
    closed_cb(s); /* none was ever opened */
    return;
  }
  for (i = 0; i < s->count; i++) {
    if (!uv_is_closing((uv_handle_t *)&s->handles[i]))
      uv_close((uv_handle_t *)&s->handles[i], on_signal_closed);
  }
}
