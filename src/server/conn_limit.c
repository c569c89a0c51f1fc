#include "server/conn_limit.h"

#include <string.h>

int conn_limit_init(conn_limit_t *limit, uint64_t max) {
  limit->max = max;
  memset(&limit->counts, 0, sizeof(limit->counts));
  return uv_mutex_init(&limit->lock);
}

void conn_limit_destroy(conn_limit_t *limit) {
  uv_mutex_destroy(&limit->lock);
}

int conn_limit_take(conn_limit_t *limit) {
  conn_limit_counts_t *c = &limit->counts;
  int admitted;
  uv_mutex_lock(&limit->lock);
  admitted = limit->max == 0 || c->open < limit->max;
  if (!admitted)
    c->refused++;
  else if (++c->open > c->peak)
    c->peak = c->open;
  uv_mutex_unlock(&limit->lock);
  return admitted;
}

void conn_limit_give(conn_limit_t *limit) {
  uv_mutex_lock(&limit->lock);
  limit->counts.open--;
  uv_mutex_unlock(&limit->lock);
}

conn_limit_counts_t conn_limit_read(conn_limit_t *limit) {
  conn_limit_counts_t now;
  uv_mutex_lock(&limit->lock);
  now = limit->counts;
  uv_mutex_unlock(&limit->lock);
  return now;
}
