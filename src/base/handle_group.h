/* The handles (and other pending work) of one run, counted so that the run
 * ends exactly once, after the last of them closed: the close bookkeeping
 * the client modes share. */
#ifndef TCPECHO_HANDLE_GROUP_H
#define TCPECHO_HANDLE_GROUP_H

#include <uv.h>

typedef struct handle_group_s handle_group_t;
typedef void (*handle_group_cb)(handle_group_t *group);

struct handle_group_s {
  void *data; /* the caller's */
  /* private */
  int open;
  handle_group_cb empty_cb;
};

/* empty_cb runs once, from handle_group_release, when nothing is left. */
void handle_group_init(handle_group_t *group, handle_group_cb empty_cb);

/* One more thing to wait for: an open handle, a dial, a file request. */
void handle_group_add(handle_group_t *group);

/* One thing is done; the last one runs empty_cb. */
void handle_group_release(handle_group_t *group);

/* Closes handle, one the group counts (added), unless it is already
 * closing; it is released once closed. Takes over handle->data. */
void handle_group_close(handle_group_t *group, uv_handle_t *handle);

#endif
