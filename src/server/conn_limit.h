/* The sessions of the whole process, counted across its loops: the one
 * piece of state the loops of a server share while they run. Taken once
 * per accept and given back once per close, never per message, so one
 * mutex costs nothing that shows. */
#ifndef TCPECHO_CONN_LIMIT_H
#define TCPECHO_CONN_LIMIT_H

#include <stdint.h>
#include <uv.h>

typedef struct conn_limit_counts_s {
  uint64_t open;    /* sessions open now */
  uint64_t peak;    /* the most open at once so far */
  uint64_t refused; /* times conn_limit_take said no */
} conn_limit_counts_t;

typedef struct conn_limit_s {
  /* private */
  uv_mutex_t lock;
  uint64_t max; /* 0: no limit */
  conn_limit_counts_t counts;
} conn_limit_t;

/* max 0 means no limit. Returns 0 or a UV_* error. */
int conn_limit_init(conn_limit_t *limit, uint64_t max);
void conn_limit_destroy(conn_limit_t *limit);

/* Counts one more session and returns 1, or returns 0 when max are open. */
int conn_limit_take(conn_limit_t *limit);

/* One session taken is gone. */
void conn_limit_give(conn_limit_t *limit);

/* The counts as they are now. */
conn_limit_counts_t conn_limit_read(conn_limit_t *limit);

#endif
