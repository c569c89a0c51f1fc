#include "client/relay.h"

#include "base/container_of.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

/* A buffer on its way: read from one side, written to the other, freed in
 * the write's callback. */
struct relay_chunk_s {
  uv_write_t req;
  relay_t *relay;
  relay_chunk_t *next; /* file output queue, or the queue to verify */
  size_t len;
  size_t verified; /* sent chunks: bytes the echo has matched so far */
  int written;     /* sent chunks: the write callback ran */
  char data[RELAY_CHUNK];
};

static void read_stdin(relay_t *r);
static void write_stdout_file(relay_t *r);
static void on_alloc_chunk(uv_handle_t *handle, size_t suggested,
                           uv_buf_t *buf);
static void on_tcp_read(uv_stream_t *stream, ssize_t nread,
                        const uv_buf_t *buf);
static relay_outcome_t verify_echo(relay_t *r, const char *data, size_t len);
static void arm_timer(relay_t *r);

static void on_all_closed(handle_group_t *handles) {
  relay_t *r = handles->data;
  while (r->out_head != NULL) {
    relay_chunk_t *next = r->out_head->next;
    free(r->out_head);
    r->out_head = next;
  }
  /* Sent chunks never echoed (all written: the handles are closed). */
  while (r->unverified_head != NULL) {
    relay_chunk_t *next = r->unverified_head->next;
    free(r->unverified_head);
    r->unverified_head = next;
  }
  (void)uv_tty_reset_mode(); /* nothing to do if no terminal was set */
  r->done_cb(r, r->outcome == RELAY_OK ? 0 : 1);
}

static void relay_close_handle(relay_t *r, uv_handle_t *handle) {
  handle_group_close(&r->handles, handle);
}

static void on_signals_closed(stop_signals_t *signals) {
  relay_t *r = signals->data;
  handle_group_release(&r->handles);
}

/* Standard output closes once what arrived is written out: at once when
 * nothing is pending, else from out_written or the timer. */
static void close_stdout(relay_t *r) {
  if (!r->out.is_file && r->out.stream != NULL)
    relay_close_handle(r, (uv_handle_t *)r->out.stream);
  relay_close_handle(r, (uv_handle_t *)&r->timer);
}

static void relay_finish(relay_t *r, relay_outcome_t outcome) {
  static const char *const word[] = {"", ": INCOMPLETE", ": CORRUPTED",
                                     ": EXTRA BYTES"};
  if (r->finished)
    return;
  r->finished = 1;
  r->outcome = outcome;
  if (!r->config.quiet || outcome != RELAY_OK)
    log_line("sent %llu bytes, %llu echoed back%s", (unsigned long long)r->sent,
             (unsigned long long)r->echoed, word[outcome]);
  if (r->tcp_open)
    relay_close_handle(r, (uv_handle_t *)&r->tcp);
  else if (r->dialing)
    dial_cancel(&r->dial);
  stop_signals_close(&r->signals, on_signals_closed);
  if (!r->in.is_file && r->in.stream != NULL)
    relay_close_handle(r, (uv_handle_t *)r->in.stream);
  if (r->out_pending == 0) {
    close_stdout(r);
  } else {
    /* Bounded: a standard output nobody reads must not hold us forever. */
    (void)uv_timer_stop(&r->timer); /* cannot fail */
    arm_timer(r);
  }
}

static void relay_fail(relay_t *r, const char *what, int err) {
  if (r->finished)
    return;
  log_line("%s: %s (%s)", what, uv_err_name(err), uv_strerror(err));
  relay_finish(r, RELAY_INCOMPLETE);
}

/* --timeout: while echoes are owed, each one that arrives restarts it;
 * after the last one it waits for the server's FIN; once finished, for
 * standard output to take what is left. */
static void on_timer(uv_timer_t *timer) {
  relay_t *r = container_of(timer, relay_t, timer);
  char secs[32];

  log_format_seconds(secs, sizeof(secs), r->config.timeout_ms);
  if (r->finished) {
    log_line("standard output took nothing for %s s: %llu bytes not written",
             secs, (unsigned long long)r->out_pending);
    close_stdout(r);
    return;
  }
  if (r->sent > r->echoed)
    log_line("no echo for %s s: %llu of %llu bytes echoed back", secs,
             (unsigned long long)r->echoed, (unsigned long long)r->sent);
  else
    log_line("the server did not close the connection within %s s of the "
             "last echo",
             secs);
  relay_finish(r, RELAY_INCOMPLETE);
}

static void arm_timer(relay_t *r) {
  if (r->finished ? r->out_pending > 0
                  : r->sent > r->echoed || (r->in_eof && !r->tcp_eof))
    (void)uv_timer_start(&r->timer, on_timer, r->config.timeout_ms, 0);
  else
    uv_timer_stop(&r->timer);
}

/* Done when the input ended, the server closed after echoing everything,
 * and standard output has it all. */
static void maybe_complete(relay_t *r) {
  if (!r->tcp_eof || r->out_pending > 0 || r->finished)
    return;
  if (!r->in_eof || r->echoed != r->sent) {
    log_line("the server closed the connection after echoing %llu of %llu "
             "bytes",
             (unsigned long long)r->echoed, (unsigned long long)r->sent);
    relay_finish(r, RELAY_INCOMPLETE);
    return;
  }
  relay_finish(r, RELAY_OK);
}

/* --- standard output ---------------------------------------------------- */

static void out_written(relay_t *r, size_t len) {
  r->out_pending -= len;
  if (r->finished) {
    if (r->out_pending == 0)
      close_stdout(r);
    else
      arm_timer(r); /* standard output moves: give it more time */
    return;
  }
  if (r->tcp_paused && r->out_pending <= RELAY_LOW_WATER && !r->finished) {
    r->tcp_paused = 0;
    int err =
        uv_read_start((uv_stream_t *)&r->tcp, on_alloc_chunk, on_tcp_read);
    if (err != 0)
      relay_fail(r, "Error reading TCP session", err);
  }
  maybe_complete(r);
}

static void on_stdout_write(uv_write_t *req, int status) {
  relay_chunk_t *c = container_of(req, relay_chunk_t, req);
  relay_t *r = c->relay;
  size_t len = c->len;
  free(c);
  if (status < 0) {
    if (status == UV_ECANCELED)
      return;
    if (r->finished) /* nowhere to write the rest */
      close_stdout(r);
    else
      relay_fail(r, "Error writing standard output", status);
    return;
  }
  out_written(r, len);
}

static void stdout_file_written(relay_t *r, ssize_t n) {
  relay_chunk_t *c = r->out_head;

  if (n < 0) {
    r->out_failed = 1;
    relay_fail(r, "Error writing standard output", (int)n);
    return;
  }
  /* A short write to a file: write the rest. */
  if ((size_t)n < c->len) {
    memmove(c->data, c->data + n, c->len - (size_t)n);
    c->len -= (size_t)n;
    r->out_pending -= (uint64_t)n;
  } else {
    r->out_head = c->next;
    if (r->out_head == NULL)
      r->out_tail = NULL;
    free(c);
    out_written(r, (size_t)n);
  }
  write_stdout_file(r);
}

static void on_stdout_file_write(uv_fs_t *req) {
  relay_t *r = req->data;
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  r->out.busy = 0;
  stdout_file_written(r, n);
  handle_group_release(&r->handles); /* the request's, after the next */
}

static void write_stdout_file(relay_t *r) {
  uv_buf_t buf;
  int err;
  if (r->out.busy || r->out_head == NULL || r->out_failed)
    return;
  buf = uv_buf_init(r->out_head->data, (unsigned int)r->out_head->len);
  r->out.req.data = r;
  err = uv_fs_write(r->loop, &r->out.req, r->out.fd, &buf, 1, -1,
                    on_stdout_file_write);
  if (err != 0) {
    relay_fail(r, "Error writing standard output", err);
    return;
  }
  r->out.busy = 1;
  handle_group_add(&r->handles);
}

static void write_stdout(relay_t *r, relay_chunk_t *c) {
  r->out_pending += c->len;
  if (r->out.is_file) {
    c->next = NULL;
    if (r->out_tail != NULL)
      r->out_tail->next = c;
    else
      r->out_head = c;
    r->out_tail = c;
    write_stdout_file(r);
  } else {
    uv_buf_t buf = uv_buf_init(c->data, (unsigned int)c->len);
    int err = uv_write(&c->req, r->out.stream, &buf, 1, on_stdout_write);
    if (err != 0) {
      free(c);
      relay_fail(r, "Error writing standard output", err);
      return;
    }
  }
}

/* --- the server's echo -------------------------------------------------- */

static void on_alloc_chunk(uv_handle_t *handle, size_t suggested,
                           uv_buf_t *buf) {
  relay_chunk_t *c = malloc(sizeof(*c));
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(c ? c->data : NULL, c ? RELAY_CHUNK : 0);
}

static relay_chunk_t *chunk_of(const uv_buf_t *buf) {
  return buf->base ? container_of(buf->base, relay_chunk_t, data) : NULL;
}

static void on_tcp_read(uv_stream_t *stream, ssize_t nread,
                        const uv_buf_t *buf) {
  relay_t *r = container_of(stream, relay_t, tcp);
  relay_chunk_t *c = chunk_of(buf);
  relay_outcome_t outcome;

  if (nread <= 0 || r->finished) {
    free(c);
    if (nread == UV_EOF) {
      r->tcp_eof = 1;
      uv_timer_stop(&r->timer);
      maybe_complete(r);
    } else if (nread < 0) {
      relay_fail(r, "Error reading TCP session", (int)nread);
    }
    return;
  }
  outcome = verify_echo(r, c->data, (size_t)nread);
  if (outcome != RELAY_OK) {
    free(c);
    relay_finish(r, outcome);
    return;
  }
  arm_timer(r); /* progress */
  c->relay = r;
  c->len = (size_t)nread;
  write_stdout(r, c);
  if (r->out_pending >= RELAY_HIGH_WATER && !r->tcp_paused) {
    r->tcp_paused = 1;
    uv_read_stop(stream);
  }
}

/* --- standard input ----------------------------------------------------- */

/* A sent chunk is freed once written and fully matched by the echo. */
static void release_sent(relay_chunk_t *c) {
  if (c->written && c->verified == c->len)
    free(c);
}

static void on_tcp_write(uv_write_t *req, int status) {
  relay_chunk_t *c = container_of(req, relay_chunk_t, req);
  relay_t *r = c->relay;
  c->written = 1;
  if (status < 0) {
    release_sent(c); /* else still queued: freed with the queue */
    if (status != UV_ECANCELED)
      relay_fail(r, "Error writing TCP session", status);
    return;
  }
  release_sent(c);
}

/* Compares echoed bytes with what was sent, in order; resumes the input
 * once little is left unconfirmed. */
static relay_outcome_t verify_echo(relay_t *r, const char *data, size_t len) {
  while (len > 0 && r->unverified_head != NULL) {
    relay_chunk_t *c = r->unverified_head;
    size_t n = c->len - c->verified;
    size_t i;
    if (n > len)
      n = len;
    for (i = 0; i < n; i++) {
      if (data[i] != c->data[c->verified + i]) {
        r->echoed += i; /* what matched still came back */
        log_line("the echo differs from what was sent at byte %llu",
                 (unsigned long long)r->echoed);
        return RELAY_CORRUPTED;
      }
    }
    c->verified += n;
    r->echoed += n;
    data += n;
    len -= n;
    if (c->verified == c->len) {
      r->unverified_head = c->next;
      if (r->unverified_head == NULL)
        r->unverified_tail = NULL;
      release_sent(c);
    }
  }
  if (len > 0) {
    log_line("the server sent %llu byte%s more than it was sent",
             (unsigned long long)len, len == 1 ? "" : "s");
    return RELAY_EXTRA;
  }
  if (r->in_paused && !r->finished && r->sent - r->echoed <= RELAY_LOW_WATER) {
    r->in_paused = 0;
    read_stdin(r);
  }
  return RELAY_OK;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  relay_t *r = req->data;
  free(req);
  if (status < 0 && status != UV_ECANCELED && !r->finished)
    relay_fail(r, "Error shutting down TCP session", status);
}

static void input_ended(relay_t *r) {
  uv_shutdown_t *req = malloc(sizeof(*req));
  r->in_eof = 1;
  arm_timer(r); /* from now on the server's FIN is owed too */
  if (req == NULL) {
    relay_fail(r, "Error shutting down TCP session", UV_ENOMEM);
    return;
  }
  req->data = r;
  if (uv_shutdown(req, (uv_stream_t *)&r->tcp, on_shutdown) != 0) {
    free(req);
    relay_fail(r, "Error shutting down TCP session", UV_ENOTCONN);
  }
}

/* A chunk of input goes to the server; reading pauses while too much
 * waits there. */
static void send_chunk(relay_t *r, relay_chunk_t *c, size_t len) {
  uv_buf_t buf = uv_buf_init(c->data, (unsigned int)len);
  int err;
  c->relay = r;
  c->len = len;
  c->verified = 0;
  c->written = 0;
  c->next = NULL;
  err = uv_write(&c->req, (uv_stream_t *)&r->tcp, &buf, 1, on_tcp_write);
  if (err != 0) {
    free(c);
    relay_fail(r, "Error writing TCP session", err);
    return;
  }
  if (r->sent == r->echoed)
    arm_timer(r); /* echoes are owed from now on */
  /* Kept until the echo matched it. */
  if (r->unverified_tail != NULL)
    r->unverified_tail->next = c;
  else
    r->unverified_head = c;
  r->unverified_tail = c;
  r->sent += len;
  /* Input pauses while much is sent and not yet echoed back: that bounds
   * both the queue to the server and what is kept to verify. */
  if (r->sent - r->echoed >= RELAY_HIGH_WATER)
    r->in_paused = 1;
}

static void on_stdin_read(uv_stream_t *stream, ssize_t nread,
                          const uv_buf_t *buf) {
  relay_t *r = stream->data;
  relay_chunk_t *c = chunk_of(buf);
  if (nread <= 0 || r->finished) {
    free(c);
    if (nread == UV_EOF) {
      uv_read_stop(stream);
      input_ended(r);
    } else if (nread < 0) {
      relay_fail(r, "Error reading standard input", (int)nread);
    }
    return;
  }
  send_chunk(r, c, (size_t)nread);
  if (r->in_paused)
    uv_read_stop(stream);
}

static void stdin_file_read(relay_t *r, relay_chunk_t *c, ssize_t n) {
  if (r->finished || n <= 0) {
    free(c);
    if (r->finished)
      return;
    if (n == 0)
      input_ended(r);
    else
      relay_fail(r, "Error reading standard input", (int)n);
    return;
  }
  send_chunk(r, c, (size_t)n);
  if (!r->in_paused)
    read_stdin(r);
}

static void on_stdin_file_read(uv_fs_t *req) {
  relay_t *r = req->data;
  relay_chunk_t *c = r->in_chunk;
  ssize_t n = req->result;

  uv_fs_req_cleanup(req);
  r->in.busy = 0;
  r->in_chunk = NULL;
  stdin_file_read(r, c, n);
  handle_group_release(&r->handles); /* the request's, after the next */
}

static void read_stdin(relay_t *r) {
  relay_chunk_t *c;
  uv_buf_t buf;
  int err;

  if (!r->in.is_file) {
    r->in.stream->data = r;
    err = uv_read_start(r->in.stream, on_alloc_chunk, on_stdin_read);
    if (err != 0)
      relay_fail(r, "Error reading standard input", err);
    return;
  }
  if (r->in.busy || r->finished)
    return;
  c = malloc(sizeof(*c));
  if (c == NULL) {
    relay_fail(r, "Error reading standard input", UV_ENOMEM);
    return;
  }
  r->in_chunk = c;
  buf = uv_buf_init(c->data, RELAY_CHUNK);
  r->in.req.data = r;
  err = uv_fs_read(r->loop, &r->in.req, r->in.fd, &buf, 1, -1,
                   on_stdin_file_read);
  if (err != 0) {
    free(c);
    r->in_chunk = NULL;
    relay_fail(r, "Error reading standard input", err);
    return;
  }
  r->in.busy = 1;
  handle_group_add(&r->handles);
}

/* --- setup -------------------------------------------------------------- */

/* Pipes and terminals are polled as libuv streams; regular files and
 * devices cannot be, and are read and written with fs requests. */
static int open_end(relay_t *r, relay_end_t *e, int fd, int readable) {
  int err;
  e->fd = fd;
  switch (uv_guess_handle(fd)) {
  case UV_TTY:
    err = uv_tty_init(r->loop, &e->tty, fd, readable);
    if (err != 0)
      return err;
    e->stream = (uv_stream_t *)&e->tty;
    handle_group_add(&r->handles);
    return 0;
  case UV_NAMED_PIPE:
    err = uv_pipe_init(r->loop, &e->pipe, 0);
    if (err != 0)
      return err;
    e->stream = (uv_stream_t *)&e->pipe;
    handle_group_add(&r->handles);
    return uv_pipe_open(&e->pipe, fd);
  case UV_FILE:
    e->is_file = 1;
    return 0;
  default:
    return UV_EINVAL;
  }
}

static void on_dialed(dial_t *dial, int status) {
  relay_t *r = dial->data;
  char peer[ADDR_STR_SIZE];
  int err;

  r->dialing = 0;
  if (status == 0) {
    r->tcp_open = 1;
    handle_group_add(&r->handles);
  }
  handle_group_release(&r->handles); /* the dial's */
  if (status < 0) {
    relay_finish(r, RELAY_INCOMPLETE); /* unless it already was */
    return;
  }
  if (r->finished) { /* interrupted while connecting */
    relay_close_handle(r, (uv_handle_t *)&r->tcp);
    return;
  }
  if (!r->config.quiet) {
    addr_format_tcp(&r->tcp, 1, peer, sizeof(peer));
    log_line("TCP session open to %s", peer);
  }
  err = uv_read_start((uv_stream_t *)&r->tcp, on_alloc_chunk, on_tcp_read);
  if (err != 0) {
    relay_fail(r, "Error reading TCP session", err);
    return;
  }
  read_stdin(r);
}

/* A stop signal: stop where we are; what was not echoed yet makes it a
 * failure. */
static void on_stop_signal(stop_signals_t *signals, int signum) {
  relay_t *r = signals->data;
  log_line("interrupted by %s", platform_signal_name(signum));
  relay_finish(r,
               r->in_eof && r->echoed == r->sent ? RELAY_OK : RELAY_INCOMPLETE);
}

void relay_start(relay_t *r, uv_loop_t *loop, const relay_config_t *config,
                 relay_done_cb done_cb) {
  int err;

  memset(r, 0, sizeof(*r));
  r->loop = loop;
  r->config = *config;
  r->done_cb = done_cb;
  handle_group_init(&r->handles, on_all_closed);
  r->handles.data = r;
  (void)uv_timer_init(loop, &r->timer); /* cannot fail on a live loop */
  handle_group_add(&r->handles);
  r->signals.data = r;
  (void)stop_signals_start(&r->signals, loop, on_stop_signal); /* best effort */
  handle_group_add(&r->handles);
  err = open_end(r, &r->in, 0, 1);
  if (err != 0) {
    relay_fail(r, "Error opening standard input", err);
    return;
  }
  err = open_end(r, &r->out, 1, 0);
  if (err != 0) {
    relay_fail(r, "Error opening standard output", err);
    return;
  }
  r->dial.data = r;
  r->dialing = 1;
  handle_group_add(&r->handles); /* the dial's, until on_dialed */
  dial_start(&r->dial, loop, &r->tcp, config->host, config->port,
             config->connect_timeout_ms, on_dialed, NULL);
}
