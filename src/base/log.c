#include "base/log.h"

#include "base/platform.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

static FILE *log_out;

enum { PREFIX_LEN = 20 }; /* "YYYY/MM/DD HH:MM:SS " */

static char *put_2_digits(char *p, int v) {
  p[0] = (char)('0' + v / 10);
  p[1] = (char)('0' + v % 10);
  return p + 2;
}

size_t log_format_prefix(char *buf, size_t size, const struct tm *tm) {
  int year = tm->tm_year + 1900;
  int n;

  /* Digit by digit: through snprintf, the date took as long as the rest of
   * a short line. Fields outside what localtime gives take the long way. */
  if (year >= 0 && year <= 9999 && tm->tm_mon >= 0 && tm->tm_mon <= 11 &&
      tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_hour >= 0 &&
      tm->tm_hour <= 23 && tm->tm_min >= 0 && tm->tm_min <= 59 &&
      tm->tm_sec >= 0 && tm->tm_sec <= 60) {
    char *p = buf;
    if (size <= PREFIX_LEN)
      return 0;
    p = put_2_digits(p, year / 100);
    p = put_2_digits(p, year % 100);
    *p++ = '/';
    p = put_2_digits(p, tm->tm_mon + 1);
    *p++ = '/';
    p = put_2_digits(p, tm->tm_mday);
    *p++ = ' ';
    p = put_2_digits(p, tm->tm_hour);
    *p++ = ':';
    p = put_2_digits(p, tm->tm_min);
    *p++ = ':';
    p = put_2_digits(p, tm->tm_sec);
    *p++ = ' ';
    *p = '\0';
    return PREFIX_LEN;
  }
  n = snprintf(buf, size, "%04d/%02d/%02d %02d:%02d:%02d ", tm->tm_year + 1900,
               tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
               tm->tm_sec);
  if (n < 0 || (size_t)n >= size)
    return 0;
  return (size_t)n;
}

size_t log_format_line(char *buf, size_t size, const struct tm *tm,
                       const char *fmt, va_list ap) {
  size_t len;
  int n;

  if (size < 2)
    return 0;
  len = log_format_prefix(buf, size - 1, tm);
  n = vsnprintf(buf + len, size - 1 - len, fmt, ap);
  if (n > 0)
    len += (size_t)n < size - 1 - len ? (size_t)n : size - 2 - len;
  buf[len++] = '\n';
  buf[len] = '\0';
  return len;
}

size_t log_escape(char *dst, size_t dst_size, const char *data, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t shown = len > LOG_DATA_SHOWN ? LOG_DATA_SHOWN : len;
  size_t i, o = 0;

  if (dst_size < LOG_ESCAPED_SIZE) {
    if (dst_size > 0)
      dst[0] = '\0';
    return 0;
  }
  for (i = 0; i < shown; i++) {
    unsigned char c = (unsigned char)data[i];
    switch (c) {
    case '\\':
      dst[o++] = '\\';
      dst[o++] = '\\';
      break;
    case '\n':
      dst[o++] = '\\';
      dst[o++] = 'n';
      break;
    case '\r':
      dst[o++] = '\\';
      dst[o++] = 'r';
      break;
    case '\t':
      dst[o++] = '\\';
      dst[o++] = 't';
      break;
    default:
      if (c >= 0x20 && c < 0x7f) {
        dst[o++] = (char)c;
      } else {
        dst[o++] = '\\';
        dst[o++] = 'x';
        dst[o++] = hex[c >> 4];
        dst[o++] = hex[c & 0xf];
      }
    }
  }
  if (shown < len) {
    int n =
        snprintf(dst + o, dst_size - o, "... (%lu bytes)", (unsigned long)len);
    if (n > 0)
      o += (size_t)n;
  }
  dst[o] = '\0';
  return o;
}

void log_format_seconds(char *buf, size_t size, unsigned long long ms) {
  unsigned frac = (unsigned)(ms % 1000);
  int digits = 3;

  if (frac == 0) {
    snprintf(buf, size, "%llu", ms / 1000);
    return;
  }
  while (frac % 10 == 0) {
    frac /= 10;
    digits--;
  }
  snprintf(buf, size, "%llu.%0*u", ms / 1000, digits, frac);
}

void log_set_output(FILE *out) {
  log_out = out;
}

/* The non-blocking path. A line goes straight to the descriptor when that
 * cannot block (nothing queued, and the descriptor ready); otherwise into a
 * ring buffer that one writer thread, started the first time it is needed,
 * empties outside the lock, so only that thread ever waits for the reader.
 * Until then the process stays single-threaded, which keeps the C
 * library's syscalls cheaper. */
static struct {
  uv_mutex_t lock;
  uv_cond_t wake;    /* writer: there is data, or stop */
  uv_cond_t written; /* waiters: the writer made room */
  uv_thread_t thread;
  char *buf;
  size_t size, head, len; /* ring: len bytes from head */
  uint64_t dropped;       /* since the last notice */
  uint64_t dropped_total;
  int fd;
  int to_file;      /* fd is a regular file: every line goes straight out */
  int batch_key_ok; /* batch_key holds each thread's log_batch_t, if any */
  uv_key_t batch_key;
  int running; /* lines go through here, not write_direct */
  int writer_started;
  int stopping;
} ring;

/* Called with the lock held. */
static size_t ring_room(void) {
  return ring.size - ring.len;
}

static void ring_put(const char *data, size_t len) {
  size_t tail = (ring.head + ring.len) % ring.size;
  size_t first = ring.size - tail < len ? ring.size - tail : len;
  memcpy(ring.buf + tail, data, first);
  memcpy(ring.buf, data + first, len - first);
  ring.len += len;
}

static size_t format_now(char *line, size_t size, const char *fmt, ...)
    LOG_PRINTF(3, 4);

static size_t format_vnow(char *line, size_t size, const char *fmt,
                          va_list ap) {
  struct tm tm;
  platform_localtime(time(NULL), &tm);
  return log_format_line(line, size, &tm, fmt, ap);
}

static size_t format_now(char *line, size_t size, const char *fmt, ...) {
  va_list ap;
  size_t len;
  va_start(ap, fmt);
  len = format_vnow(line, size, fmt, ap);
  va_end(ap);
  return len;
}

static void writer_main(void *arg);

/* The writer, the first time a line must wait. Lock held. */
static int ring_start_writer(void) {
  int err;
  if (ring.writer_started)
    return 0;
  err = uv_thread_create(&ring.thread, writer_main, NULL);
  if (err == 0)
    ring.writer_started = 1;
  return err;
}

/* Appends text, first the notice of what was dropped before it if any, so
 * that the notice stands where the gap is. Lock held. */
static void ring_append(const char *text, size_t len) {
  char notice[LOG_LINE_SIZE];
  size_t notice_len = 0;

  if (ring.dropped > 0)
    notice_len = format_now(notice, sizeof(notice),
                            "%llu log line%s dropped: standard error was not "
                            "being read",
                            (unsigned long long)ring.dropped,
                            ring.dropped == 1 ? "" : "s");
  if (notice_len + len > ring_room()) {
    if (len > 0) { /* a line lost, not a notice that must wait */
      ring.dropped++;
      ring.dropped_total++;
    }
    return;
  }
  /* Only an empty ring has the writer asleep: a busy one sees this too. */
  if (ring.len == 0)
    uv_cond_signal(&ring.wake);
  if (notice_len > 0) {
    ring_put(notice, notice_len);
    ring.dropped = 0;
  }
  ring_put(text, len);
}

static void writer_main(void *arg) {
  (void)arg;
  uv_mutex_lock(&ring.lock);
  for (;;) {
    size_t span;
    while (ring.len == 0 && !ring.stopping)
      uv_cond_wait(&ring.wake, &ring.lock);
    if (ring.len == 0)
      break; /* stopping, and all written */
    if (!ring.stopping) {
      /* Let lines gather: one wake-up and one write a millisecond at
       * most, not one per line, on the core the loop may share. */
      uv_mutex_unlock(&ring.lock);
      uv_sleep(1);
      uv_mutex_lock(&ring.lock);
    }
    /* Appends go after head + len: this span is ours until head moves. */
    span = ring.size - ring.head < ring.len ? ring.size - ring.head : ring.len;
    uv_mutex_unlock(&ring.lock);
    platform_write_all(ring.fd, ring.buf + ring.head, span);
    uv_mutex_lock(&ring.lock);
    ring.head = (ring.head + span) % ring.size;
    ring.len -= span;
    /* Writing works again: say at once what was lost, not with the next
     * line, which may be long in coming. */
    if (ring.len == 0 && ring.dropped > 0)
      ring_append("", 0);
    uv_cond_broadcast(&ring.written);
  }
  uv_mutex_unlock(&ring.lock);
}

int log_start(int fd, size_t buffer_size) {
  int err;
  if (ring.running || buffer_size < LOG_LINE_SIZE * 2)
    return UV_EINVAL;
  ring.buf = malloc(buffer_size);
  if (ring.buf == NULL)
    return UV_ENOMEM;
  ring.size = buffer_size;
  ring.head = ring.len = 0;
  ring.dropped = ring.dropped_total = 0;
  ring.fd = fd;
  ring.to_file = platform_is_regular_file(fd);
  /* Only a file gains from batches: see log_batch_start. */
  ring.batch_key_ok = ring.to_file && uv_key_create(&ring.batch_key) == 0;
  ring.writer_started = 0;
  ring.stopping = 0;
  err = uv_mutex_init(&ring.lock);
  if (err == 0 && (err = uv_cond_init(&ring.wake)) != 0)
    uv_mutex_destroy(&ring.lock);
  if (err == 0 && (err = uv_cond_init(&ring.written)) != 0) {
    uv_cond_destroy(&ring.wake);
    uv_mutex_destroy(&ring.lock);
  }
  if (err != 0) {
    free(ring.buf);
    ring.buf = NULL;
    return err;
  }
  ring.running = 1;
  return 0;
}

/* Waits until room for len more bytes (and the notice) or the deadline.
 * Lock held. */
static void ring_wait_room(size_t len, uint64_t deadline) {
  while (ring_room() < len + (ring.dropped > 0 ? LOG_LINE_SIZE : 0)) {
    uint64_t now = uv_hrtime();
    if (now >= deadline ||
        uv_cond_timedwait(&ring.written, &ring.lock, deadline - now) != 0)
      return;
  }
}

/* Waits until all is written or the deadline; returns whether it was.
 * Lock held. */
static int ring_wait_drained(uint64_t deadline) {
  while (ring.len > 0) {
    uint64_t now = uv_hrtime();
    if (now >= deadline ||
        uv_cond_timedwait(&ring.written, &ring.lock, deadline - now) != 0)
      break;
  }
  return ring.len == 0;
}

static void flush_this_threads_batch(void);

void log_flush(uint64_t timeout_ms) {
  flush_this_threads_batch();
  if (!ring.running || !ring.writer_started)
    return;
  uv_mutex_lock(&ring.lock);
  (void)ring_wait_drained(uv_hrtime() + timeout_ms * 1000000ULL);
  uv_mutex_unlock(&ring.lock);
}

static void ring_free(void) {
  uv_cond_destroy(&ring.written);
  uv_cond_destroy(&ring.wake);
  uv_mutex_destroy(&ring.lock);
  free(ring.buf);
  ring.buf = NULL;
}

void log_stop(uint64_t timeout_ms) {
  uint64_t deadline = uv_hrtime() + timeout_ms * 1000000ULL;
  int drained;

  if (!ring.running)
    return;
  if (ring.batch_key_ok) { /* the loops are done: every batch stopped */
    uv_key_delete(&ring.batch_key);
    ring.batch_key_ok = 0;
  }
  uv_mutex_lock(&ring.lock);
  if (!ring.writer_started) { /* everything went straight out */
    ring.running = 0;
    uv_mutex_unlock(&ring.lock);
    ring_free();
    return;
  }
  if (ring.dropped > 0) {
    ring_wait_room(0, deadline);
    ring_append("", 0); /* the notice, if it fits now */
  }
  ring.stopping = 1;
  uv_cond_signal(&ring.wake);
  drained = ring_wait_drained(deadline);
  /* From here on lines are written directly, even if the writer is stuck. */
  ring.running = 0;
  uv_mutex_unlock(&ring.lock);
  if (!drained)
    return; /* the writer is blocked in write(): leave it and its buffer */
  (void)uv_thread_join(&ring.thread); /* it ended: cannot fail */
  ring_free();
}

uint64_t log_dropped(void) {
  uint64_t n;
  if (!ring.running)
    return ring.dropped_total;
  uv_mutex_lock(&ring.lock);
  n = ring.dropped_total;
  uv_mutex_unlock(&ring.lock);
  return n;
}

/* Written as one fwrite and flushed at once, as some C libraries buffer
 * stderr when it is a pipe. */
static void write_direct(const char *text, size_t len) {
  FILE *out = log_out ? log_out : stderr;
  fwrite(text, 1, len, out);
  fflush(out);
}

/* Straight out when that cannot block and nothing is queued before it
 * (order holds), else queued for the writer. A regular file never waits
 * for a reader, so it is not asked first: poll() would say ready every
 * time, a system call per line for nothing. Lock held. */
static void ring_send(const char *text, size_t len) {
  if (ring.len == 0 && ring.to_file) {
    platform_write_all(ring.fd, text, len);
    return;
  }
  if (ring.len == 0 && platform_write_now(ring.fd, text, len))
    return;
  if (ring_start_writer() == 0)
    ring_append(text, len);
  else
    platform_write_all(ring.fd, text, len); /* no thread: block, as before */
}

static void send_locked(const char *text, size_t len) {
  uv_mutex_lock(&ring.lock);
  ring_send(text, len);
  uv_mutex_unlock(&ring.lock);
}

/* --- batches: the lines of one loop turn in one write ------------------ */

/* The batch gathering this thread's lines, if any. A batch is bound to its
 * loop's thread from that loop's own callbacks, so the thread that started
 * it (maybe another) never gathers into it. */
static log_batch_t *this_threads_batch(void) {
  return ring.running && ring.batch_key_ok ? uv_key_get(&ring.batch_key) : NULL;
}

static void batch_write(log_batch_t *batch) {
  if (batch->len == 0)
    return;
  send_locked(batch->buf, batch->len);
  batch->len = 0;
}

static void flush_this_threads_batch(void) {
  log_batch_t *batch = this_threads_batch();
  if (batch != NULL)
    batch_write(batch);
}

static void batch_add(log_batch_t *batch, const char *text, size_t len) {
  if (batch->len + len > sizeof(batch->buf))
    batch_write(batch);
  if (len > sizeof(batch->buf)) {
    send_locked(text, len);
    return;
  }
  memcpy(batch->buf + batch->len, text, len);
  batch->len += len;
}

/* At both ends of the wait for events, on the loop's thread. */
static void batch_turn(log_batch_t *batch) {
  if (uv_key_get(&ring.batch_key) == NULL)
    uv_key_set(&ring.batch_key, batch);
  batch_write(batch);
}

static void on_before_poll(uv_prepare_t *handle) {
  batch_turn(handle->data);
}

static void on_after_poll(uv_check_t *handle) {
  batch_turn(handle->data);
}

int log_batch_start(log_batch_t *batch, uv_loop_t *loop) {
  batch->on = 0;
  batch->len = 0;
  batch->handles_open = 0;
  if (!ring.running || !ring.batch_key_ok)
    return 0; /* a terminal or a pipe: each line as it comes */
  /* Neither can fail on a live loop with a callback. */
  (void)uv_prepare_init(loop, &batch->before_poll);
  (void)uv_check_init(loop, &batch->after_poll);
  batch->before_poll.data = batch->after_poll.data = batch;
  (void)uv_prepare_start(&batch->before_poll, on_before_poll);
  (void)uv_check_start(&batch->after_poll, on_after_poll);
  uv_unref((uv_handle_t *)&batch->before_poll);
  uv_unref((uv_handle_t *)&batch->after_poll);
  batch->handles_open = 2;
  batch->on = 1;
  return 1;
}

static void on_batch_handle_closed(uv_handle_t *handle) {
  log_batch_t *batch = handle->data;
  if (--batch->handles_open == 0 && batch->closed_cb != NULL)
    batch->closed_cb(batch);
}

void log_batch_stop(log_batch_t *batch, log_batch_closed_cb closed_cb) {
  if (!batch->on)
    return;
  batch->on = 0;
  if (uv_key_get(&ring.batch_key) == batch)
    uv_key_set(&ring.batch_key, NULL);
  batch_write(batch);
  batch->closed_cb = closed_cb;
  uv_close((uv_handle_t *)&batch->before_poll, on_batch_handle_closed);
  uv_close((uv_handle_t *)&batch->after_poll, on_batch_handle_closed);
}

/* ring.running changes only in log_start and log_stop, which run while no
 * other thread logs (before the loops start and after they are joined). */
static void log_text(const char *text, size_t len) {
  log_batch_t *batch;
  if (!ring.running) {
    write_direct(text, len);
    return;
  }
  batch = this_threads_batch();
  if (batch != NULL)
    batch_add(batch, text, len);
  else
    send_locked(text, len);
}

void log_raw(const char *text, size_t len) {
  log_text(text, len);
}

void log_rawf(const char *fmt, ...) {
  char text[LOG_LINE_SIZE];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  if (n > 0)
    log_text(text, (size_t)n < sizeof(text) ? (size_t)n : sizeof(text) - 1);
}

void log_vline(const char *fmt, va_list ap) {
  char line[LOG_LINE_SIZE];
  size_t len = format_vnow(line, sizeof(line), fmt, ap);
  log_text(line, len);
}

void log_line_waiting(uint64_t timeout_ms, const char *fmt, ...) {
  char line[LOG_LINE_SIZE];
  va_list ap;
  size_t len;

  if (!ring.running) {
    va_start(ap, fmt);
    len = format_vnow(line, sizeof(line), fmt, ap);
    va_end(ap);
    write_direct(line, len);
    return;
  }
  flush_this_threads_batch(); /* what was logged before goes first */
  uv_mutex_lock(&ring.lock);
  if (ring.writer_started)
    ring_wait_room(LOG_LINE_SIZE, uv_hrtime() + timeout_ms * 1000000ULL);
  /* Stamped once there is room, so that it follows what went before. */
  va_start(ap, fmt);
  len = format_vnow(line, sizeof(line), fmt, ap);
  va_end(ap);
  ring_send(line, len);
  uv_mutex_unlock(&ring.lock);
}

void log_line(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  log_vline(fmt, ap);
  va_end(ap);
}

void log_data(const char *label, const char *data, size_t len) {
  char escaped[LOG_ESCAPED_SIZE];
  log_escape(escaped, sizeof(escaped), data, len);
  log_line("%s: %s", label, escaped);
}
