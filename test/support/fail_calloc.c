/* LD_PRELOAD shim for tests (Linux): makes calloc fail, to show what the
 * server does without memory for a session. From
 * TCPECHO_FAIL_CALLOC_AFTER_MS after the process starts, the next
 * TCPECHO_FAIL_CALLOC_COUNT calls calloc(1, n) with n between
 * TCPECHO_FAIL_CALLOC_MIN and TCPECHO_FAIL_CALLOC_MAX return NULL; every
 * other call is the C library's. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static long env_long(const char *name) {
  const char *v = getenv(name);
  return v != NULL ? atol(v) : -1;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long start_ms = -1, after_ms, left, min_size, max_size;

__attribute__((constructor)) static void fail_calloc_init(void) {
  start_ms = now_ms();
  after_ms = env_long("TCPECHO_FAIL_CALLOC_AFTER_MS");
  left = env_long("TCPECHO_FAIL_CALLOC_COUNT");
  min_size = env_long("TCPECHO_FAIL_CALLOC_MIN");
  max_size = env_long("TCPECHO_FAIL_CALLOC_MAX");
}

void *calloc(size_t n, size_t size) {
  static void *(*real)(size_t, size_t);
  if (start_ms >= 0 && left > 0 && n == 1 && (long)size >= min_size &&
      (long)size <= max_size && now_ms() - start_ms >= after_ms) {
    left--;
    return NULL;
  }
  if (real == NULL)
    real = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
  return real(n, size);
}
