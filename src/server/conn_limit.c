#include "server/conn_limit.h"

int conn_limit_init(conn_limit_t *limit, uint64_t max) {
  limit->max = max;
  limit->open = 0;
  limit->peak = 0;
  limit->refused = 0;
  return uv_mutex_init(&limit->lock);
}

void conn_limit_destroy(conn_limit_t *limit) {
  uv_mutex_destroy(&limit->lock);
}

int conn_limit_take(conn_limit_t *limit) {
  int admitted;
  uv_mutex_lock(&limit->lock);
  admitted = limit->max == 0 || limit->open < limit->max;
  if (!admitted)
    limit->refused++;
  else if (++limit->open > limit->peak)
    limit->peak = limit->open;
  uv_mutex_unlock(&limit->lock);
  return admitted;
}

void conn_limit_give(conn_limit_t *limit) {
  uv_mutex_lock(&limit->lock);
  limit->open--;
  uv_mutex_unlock(&limit->lock);
}

uint64_t conn_limit_open(conn_limit_t *limit) {
  uint64_t n;
  uv_mutex_lock(&limit->lock);
  n = limit->open;
  uv_mutex_unlock(&limit->lock);
  return n;
}

uint64_t conn_limit_peak(conn_limit_t *limit) {
  uint64_t n;
  uv_mutex_lock(&limit->lock);
  n = limit->peak;
  uv_mutex_unlock(&limit->lock);
  return n;
}

uint64_t conn_limit_refused(conn_limit_t *limit) {
  uint64_t n;
  uv_mutex_lock(&limit->lock);
  n = limit->refused;
  uv_mutex_unlock(&limit->lock);
  return n;
}
