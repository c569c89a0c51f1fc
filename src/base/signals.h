/* The signals that ask a run to stop (platform_stop_signals: SIGINT,
 * SIGTERM and SIGHUP; Ctrl-C, Ctrl-Break and closing the console on
 * Windows), watched on one loop as one unit, so that every mode stops the
 * same way whichever of them arrives. */
#ifndef TCPECHO_SIGNALS_H
#define TCPECHO_SIGNALS_H

#include "base/platform.h"

#include <uv.h>

typedef struct stop_signals_s stop_signals_t;
typedef void (*stop_signal_cb)(stop_signals_t *signals, int signum);
typedef void (*stop_signals_closed_cb)(stop_signals_t *signals);

struct stop_signals_s {
  void *data; /* the caller's */
  /* private */
  uv_signal_t handles[PLATFORM_STOP_SIGNALS_MAX];
  int count; /* handles initialised */
  int open;  /* handles not yet closed */
  stop_signal_cb cb;
  stop_signals_closed_cb closed_cb;
};

/* Starts watching every stop signal; cb runs on each one received. Returns
 * 0 or the first UV_* error; either way stop_signals_close ends it. */
int stop_signals_start(stop_signals_t *signals, uv_loop_t *loop,
                       stop_signal_cb cb);

/* Stops watching (the signals' default action applies again once closed);
 * closed_cb, which may be NULL, runs once every handle is closed. */
void stop_signals_close(stop_signals_t *signals,
                        stop_signals_closed_cb closed_cb);

#endif
