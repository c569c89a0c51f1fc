/*
 * epoll_load: a minimal single-threaded epoll load generator for TCP echo
 * servers (Linux only) that verifies every echoed byte.
 *
 * Usage:
 *   epoll_load --host 127.0.0.1 --port P --mode pingpong|stream|churn|idle
 *              --connections C --size BYTES --pipeline K
 *              --duration SECONDS [--warmup SECONDS]
 *
 * Modes
 *   pingpong  C connections, each keeping exactly K messages of BYTES in
 *             flight (K=1 is classic ping-pong). A message counts when all
 *             of its bytes have come back.
 *   stream    the same as pingpong (meant for K>1).
 *   churn     C concurrent workers, each looping connect, send BYTES, read
 *             BYTES back, close. Counts completed sessions.
 *   idle      open C connections; each sends BYTES and reads them back
 *             once, then stays idle. When all are echoed it prints
 *             {"mode":"idle","ready":N} on stdout, then holds them until
 *             SIGINT/SIGTERM or --duration, closes them all and exits.
 *
 * Verification: connection (or churn session) number i sends its own
 * pseudo-random stream, seeded from i (and the session number), whose
 * bytes are addressable by offset (see stream_fill below); every received
 * chunk is compared with the regenerated expected bytes. Mismatches, bytes
 * beyond what was sent, early closes, resets, connect errors and timeouts are
 * all errors; the exit status is 1 if there was any.
 *
 * Timing: connections are opened with at most 64 connects in flight. For
 * pingpong/stream the clock starts once all C are established, then
 * --warmup seconds are not counted, then --duration seconds are measured.
 * Afterwards no new messages are started, the outstanding ones are
 * drained (and verified) within 3 s, and one JSON object is printed on
 * stdout. "# phase measure" and "# phase end" lines on stderr mark the
 * measured window for a driver that samples the server meanwhile.
 * Latency: first byte of a message written to its last byte read back
 * (churn: connect() to the last byte read back), from a log-bucketed
 * histogram with 16 sub-buckets per power of two (within ~6%).
 *
 * Build: cc -O2 -Wall -Wextra -Werror -o epoll_load epoll_load.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
#define MAX_CONNECTING 64
#define MAX_EVENTS 512
#define DRAIN_SECONDS 3.0
#define HIST_BUCKETS 1024

enum mode { M_PINGPONG, M_STREAM, M_CHURN, M_IDLE };
static const char *mode_names[] = {"pingpong", "stream", "churn", "idle"};

enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_HOLD, PH_DONE };
enum cstate { C_IDLE, C_QUEUED, C_CONNECTING, C_OPEN, C_FINISHED };

struct conn {
  int fd;
  uint8_t state;
  uint8_t want_out; /* EPOLLOUT in the interest set */
  uint8_t echoed;   /* idle: its one echo came back */
  uint64_t seed;    /* of the current stream */
  uint64_t sent;    /* bytes of the stream written */
  uint64_t recvd;   /* bytes of the stream read back and verified */
  uint64_t session; /* churn: sessions started by this worker */
  uint64_t t_start; /* churn/idle: when the session's connect began */
  uint64_t *ts;     /* pingpong: issue time of the K messages in flight */
};

/* configuration */
static const char *opt_host = "127.0.0.1";
static const char *opt_port;
static enum mode mode = M_PINGPONG;
static long nconn = 1;
static long msg_size = 64;
static long pipeline = 1;
static double duration = 5.0;
static double warmup = 0.0;

static struct sockaddr_storage peer;
static socklen_t peer_len;
static int churn_spread_sources;

static struct conn *conns;
static int epfd;
static enum phase phase = PH_SETUP;
static int measuring;
static int draining;
static volatile sig_atomic_t got_signal;

/* connect pacing: a FIFO of connection indices waiting to connect */
static uint32_t *queue;
static size_t q_head, q_len;
static long connecting;

static long established; /* pingpong: connected once; idle: echoed once */
static long failed;      /* connections/workers given up on an error */
static long active;      /* conns/workers not yet C_FINISHED */

/* counters of the measured window */
static uint64_t n_messages, n_bytes, n_sessions;
static uint64_t hist[HIST_BUCKETS];
static uint64_t hist_count;

/* errors, counted at any time */
static uint64_t e_mismatch_bytes, e_mismatch, e_excess, e_early_close, e_reset,
    e_connect, e_io, e_timeout;

static unsigned char rbuf[CHUNK];

static void on_signal(int sig) {
  got_signal = sig;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- byte streams ---- */

#define GAMMA 0x9E3779B97F4A7C15ULL

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

static uint64_t stream_seed(uint64_t conn_index, uint64_t session) {
  return mix64((conn_index + 1) * GAMMA ^ mix64(session + 0x5151));
}

/*
 * Byte s of the stream with seed `seed` is
 *     table[(seed % TABLE_LEN + s) % TABLE_LEN] ^ key[s % 8]
 * where table is TABLE_LEN pseudo-random bytes (splitmix64, shared) and
 * key is 8 bytes derived from the seed: each connection's stream starts
 * at its own place in the table and is masked with its own key, and only
 * repeats after 8 * TABLE_LEN bytes (TABLE_LEN is an odd prime). Making
 * or checking a chunk costs about one memcpy, so verifying everything
 * does not make the load generator the bottleneck.
 */
#define TABLE_LEN 1048573u /* 2^20 - 3, prime */

static unsigned char *table; /* TABLE_LEN + CHUNK: the tail repeats the head */
static unsigned char sbuf[CHUNK];

static void table_init(void) {
  table = malloc(TABLE_LEN + CHUNK + 8);
  if (!table) {
    fprintf(stderr, "epoll_load: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < TABLE_LEN + 8; i += 8) {
    uint64_t v = mix64((i / 8 + 1) * GAMMA);
    memcpy(table + i, &v, 8);
  }
  memcpy(table + TABLE_LEN, table, CHUNK);
}

static inline uint64_t load64(const unsigned char *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static inline void store64(unsigned char *p, uint64_t v) {
  memcpy(p, &v, 8);
}

struct chunk_src {
  const unsigned char *src; /* table bytes for stream offset off.. */
  unsigned char kk[16];     /* the key, twice */
  uint64_t k;               /* the key lined up with words at off */
};

static void chunk_src(struct chunk_src *cs, uint64_t seed, uint64_t off) {
  cs->src = table + (seed % TABLE_LEN + off % TABLE_LEN) % TABLE_LEN;
  uint64_t key = mix64(seed ^ 0x6b65796b6579ULL);
  memcpy(cs->kk, &key, 8);
  memcpy(cs->kk + 8, &key, 8);
  cs->k = load64(cs->kk + (off & 7));
}

/* Bytes [off, off+n) of stream `seed`, n <= CHUNK, in a static buffer
 * valid until the next call. */
static const unsigned char *stream_fill(uint64_t seed, uint64_t off, size_t n) {
  struct chunk_src cs;
  chunk_src(&cs, seed, off);
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    store64(sbuf + i, load64(cs.src + i) ^ cs.k);
  for (; i < n; i++)
    sbuf[i] = cs.src[i] ^ cs.kk[(off + i) & 7];
  return sbuf;
}

/* Whether buf[0..n) are bytes [off, off+n) of stream `seed`. */
static int stream_check(uint64_t seed, uint64_t off, const unsigned char *buf,
                        size_t n) {
  struct chunk_src cs;
  chunk_src(&cs, seed, off);
  uint64_t acc = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    acc |= load64(buf + i) ^ load64(cs.src + i) ^ cs.k;
  for (; i < n; i++)
    acc |= (uint64_t)(buf[i] ^ cs.src[i] ^ cs.kk[(off + i) & 7]);
  return acc == 0;
}

/* ---- latency histogram: 16 sub-buckets per power of two ---- */

static int bucket_of(uint64_t v) {
  if (v < 16)
    return (int)v;
  int e = 63 - __builtin_clzll(v);
  return (e - 3) * 16 + (int)((v >> (e - 4)) & 15);
}

static double bucket_mid(int b) {
  if (b < 16)
    return b;
  int e = b / 16 + 3;
  double lo = (double)((uint64_t)(16 + b % 16) << (e - 4));
  double width = (double)((uint64_t)1 << (e - 4));
  return lo + width / 2;
}

static void hist_add(uint64_t ns) {
  hist[bucket_of(ns)]++;
  hist_count++;
}

static double hist_pct_us(double p) {
  if (hist_count == 0)
    return 0;
  uint64_t rank = (uint64_t)(p * (double)hist_count);
  if (rank >= hist_count)
    rank = hist_count - 1;
  uint64_t seen = 0;
  for (int b = 0; b < HIST_BUCKETS; b++) {
    seen += hist[b];
    if (seen > rank)
      return bucket_mid(b) / 1000.0;
  }
  return 0;
}

/* ---- connection plumbing ---- */

static void set_out(struct conn *c, int want) {
  if (c->want_out == want)
    return;
  struct epoll_event ev = {0};
  ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
  ev.data.u32 = (uint32_t)(c - conns);
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
    c->want_out = (uint8_t)want;
}

static void finish(struct conn *c) {
  if (c->fd >= 0)
    close(c->fd);
  c->fd = -1;
  if (c->state == C_CONNECTING)
    connecting--;
  c->state = C_FINISHED;
  active--;
}

/* An error ends a connection (or a churn worker) for good. */
static void fail(struct conn *c, uint64_t *counter) {
  (*counter)++;
  failed++;
  finish(c);
}

static void enqueue(struct conn *c) {
  c->state = C_QUEUED;
  queue[(q_head + q_len) % (size_t)nconn] = (uint32_t)(c - conns);
  q_len++;
}

static void on_connected(struct conn *c);

static void start_connect(struct conn *c) {
  c->t_start = now_ns();
  c->sent = c->recvd = 0;
  c->want_out = 1;
  c->fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    fail(c, &e_connect);
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (churn_spread_sources) {
    /* Churn closes first, so every session leaves a TIME_WAIT on
     * this side; spreading the source over 127.0.0.1-8 (the port
     * still picked at connect time) keeps fast servers clear of
     * running out of ephemeral ports. */
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src;
    memset(&src, 0, sizeof src);
    src.sin_family = AF_INET;
    src.sin_addr.s_addr =
        htonl(0x7f000001u + (uint32_t)((uint64_t)(c - conns) + c->session) % 8);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
      fail(c, &e_connect);
      return;
    }
  }
  struct epoll_event ev = {0};
  ev.events = EPOLLIN | EPOLLOUT;
  ev.data.u32 = (uint32_t)(c - conns);
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    fail(c, &e_connect);
    return;
  }
  int r = connect(c->fd, (struct sockaddr *)&peer, peer_len);
  if (r == 0) {
    on_connected(c);
  } else if (errno == EINPROGRESS) {
    c->state = C_CONNECTING;
    connecting++;
  } else {
    fail(c, &e_connect);
  }
}

static void pump_connects(void) {
  while (q_len > 0 && connecting < MAX_CONNECTING) {
    struct conn *c = &conns[queue[q_head]];
    q_head = (q_head + 1) % (size_t)nconn;
    q_len--;
    start_connect(c);
  }
}

/* Bytes this connection may have written so far. */
static uint64_t send_limit(const struct conn *c) {
  uint64_t size = (uint64_t)msg_size;
  if (mode == M_PINGPONG || mode == M_STREAM) {
    if (draining) /* finish the message being written, start none */
      return (c->sent + size - 1) / size * size;
    return (c->recvd / size + (uint64_t)pipeline) * size;
  }
  return size; /* churn, idle: one message per stream */
}

static void try_send(struct conn *c) {
  uint64_t limit = send_limit(c);
  uint64_t size = (uint64_t)msg_size;
  while (c->sent < limit) {
    size_t len = limit - c->sent > CHUNK ? CHUNK : (size_t)(limit - c->sent);
    const unsigned char *p = stream_fill(c->seed, c->sent, len);
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      fail(c, (errno == EPIPE || errno == ECONNRESET) ? &e_reset : &e_io);
      return;
    }
    if (c->ts) { /* stamp each message whose first byte went out */
      uint64_t t = now_ns();
      uint64_t m = (c->sent + size - 1) / size;
      for (; m * size < c->sent + (uint64_t)n; m++)
        c->ts[m % (uint64_t)pipeline] = t;
    }
    c->sent += (uint64_t)n;
    if ((size_t)n < len)
      break; /* the socket buffer is full */
  }
  set_out(c, c->sent < limit);
}

static void on_connected(struct conn *c) {
  if (c->state == C_CONNECTING)
    connecting--;
  c->state = C_OPEN;
  if (mode == M_PINGPONG || mode == M_STREAM) {
    established++;
    if (draining) { /* connected too late to take part */
      finish(c);
      return;
    }
  }
  try_send(c);
}

static void new_session(struct conn *c) {
  c->seed = stream_seed((uint64_t)(c - conns), c->session++);
  enqueue(c);
}

static int pp_done(const struct conn *c) {
  return draining && c->recvd == c->sent && c->sent % (uint64_t)msg_size == 0;
}

static uint64_t t_drain;

/* Stop starting work; what is in flight comes back (and is verified). */
static void begin_drain(uint64_t t) {
  phase = PH_DRAIN;
  draining = 1;
  measuring = 0;
  t_drain = t;
  q_len = 0; /* queued connects are dropped */
  for (long i = 0; i < nconn; i++) {
    struct conn *c = &conns[i];
    if (c->state == C_FINISHED)
      continue;
    if (c->state == C_QUEUED || c->state == C_IDLE || mode == M_IDLE)
      finish(c);
    else if (c->state == C_OPEN && (mode == M_PINGPONG || mode == M_STREAM)) {
      if (pp_done(c))
        finish(c);
      else
        try_send(c);
    }
  }
}

static void on_readable(struct conn *c) {
  ssize_t n;
  do {
    n = recv(c->fd, rbuf, sizeof rbuf, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return;
    fail(c, errno == ECONNRESET ? &e_reset : &e_io);
    return;
  }
  if (n == 0) {
    fail(c, &e_early_close);
    return;
  }
  if (c->recvd + (uint64_t)n > c->sent) {
    fprintf(stderr, "epoll_load: conn %ld: %zd bytes beyond what was sent\n",
            (long)(c - conns), (ssize_t)(c->recvd + (uint64_t)n - c->sent));
    fail(c, &e_excess);
    return;
  }
  if (!stream_check(c->seed, c->recvd, rbuf, (size_t)n)) {
    const unsigned char *want = stream_fill(c->seed, c->recvd, (size_t)n);
    uint64_t bad = 0;
    ssize_t first = -1;
    for (ssize_t i = 0; i < n; i++)
      if (rbuf[i] != want[i]) {
        if (first < 0)
          first = i;
        bad++;
      }
    if (e_mismatch < 5)
      fprintf(stderr,
              "epoll_load: conn %ld: %llu of %zd bytes differ, first at stream "
              "offset %llu\n",
              (long)(c - conns), (unsigned long long)bad, n,
              (unsigned long long)(c->recvd + (uint64_t)first));
    e_mismatch_bytes += bad;
    fail(c, &e_mismatch);
    return;
  }
  uint64_t size = (uint64_t)msg_size;
  uint64_t before = c->recvd / size;
  c->recvd += (uint64_t)n;
  uint64_t after = c->recvd / size;
  uint64_t t = now_ns();
  if (measuring)
    n_bytes += (uint64_t)n;

  switch (mode) {
  case M_PINGPONG:
  case M_STREAM:
    if (measuring) {
      for (uint64_t m = before; m < after; m++)
        hist_add(t - c->ts[m % (uint64_t)pipeline]);
      n_messages += after - before;
    }
    if (pp_done(c)) {
      finish(c);
      return;
    }
    try_send(c);
    break;
  case M_CHURN:
    if (c->recvd == size) {
      if (measuring) {
        hist_add(t - c->t_start);
        n_sessions++;
        n_messages++;
      }
      if (draining) {
        finish(c);
      } else {
        close(c->fd);
        c->fd = -1;
        new_session(c);
      }
    }
    break;
  case M_IDLE:
    if (c->recvd == size && !c->echoed) {
      c->echoed = 1;
      established++;
      if (measuring) {
        hist_add(t - c->t_start);
        n_messages++;
      }
    }
    break;
  }
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->state == C_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
      return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
      err = errno;
    if (err != 0) {
      if (e_connect < 5)
        fprintf(stderr, "epoll_load: connect: %s\n", strerror(err));
      fail(c, &e_connect);
      return;
    }
    on_connected(c);
    return;
  }
  if (c->state != C_OPEN)
    return;
  if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
    on_readable(c);
  if (c->state == C_OPEN && c->fd >= 0 && (events & EPOLLOUT))
    try_send(c);
}

/* ---- options ---- */

static void usage(FILE *f) {
  fprintf(f, "usage: epoll_load --host ADDR --port P --mode "
             "pingpong|stream|churn|idle\n"
             "                  --connections C --size BYTES --pipeline K\n"
             "                  --duration SECONDS [--warmup SECONDS]\n");
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (*s == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi))
    return -1;
  *out = v;
  return 0;
}

static void parse_args(int argc, char **argv) {
  static const struct option longopts[] = {
      {"host", required_argument, 0, 'H'},
      {"port", required_argument, 0, 'p'},
      {"mode", required_argument, 0, 'm'},
      {"connections", required_argument, 0, 'c'},
      {"size", required_argument, 0, 's'},
      {"pipeline", required_argument, 0, 'k'},
      {"duration", required_argument, 0, 'd'},
      {"warmup", required_argument, 0, 'w'},
      {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0},
  };
  int o;
  while ((o = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    int bad = 0;
    switch (o) {
    case 'H':
      opt_host = optarg;
      break;
    case 'p':
      opt_port = optarg;
      break;
    case 'm':
      bad = 1;
      for (int i = 0; i < 4; i++)
        if (strcmp(optarg, mode_names[i]) == 0) {
          mode = (enum mode)i;
          bad = 0;
        }
      break;
    case 'c':
      bad = parse_long(optarg, 1, 1000000, &nconn);
      break;
    case 's':
      bad = parse_long(optarg, 1, 64L << 20, &msg_size);
      break;
    case 'k':
      bad = parse_long(optarg, 1, 65536, &pipeline);
      break;
    case 'd':
      bad = parse_double(optarg, 0.001, 86400, &duration);
      break;
    case 'w':
      bad = parse_double(optarg, 0, 86400, &warmup);
      break;
    case 'h':
      usage(stdout);
      exit(0);
    default:
      usage(stderr);
      exit(2);
    }
    if (bad) {
      fprintf(stderr, "epoll_load: bad value '%s'\n", optarg);
      usage(stderr);
      exit(2);
    }
  }
  if (optind != argc || !opt_port) {
    usage(stderr);
    exit(2);
  }
  if ((mode == M_PINGPONG || mode == M_STREAM) &&
      (uint64_t)nconn * (uint64_t)pipeline > (64u << 20)) {
    fprintf(stderr, "epoll_load: connections x pipeline too large\n");
    exit(2);
  }
}

static void resolve(void) {
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int r = getaddrinfo(opt_host, opt_port, &hints, &res);
  if (r != 0) {
    fprintf(stderr, "epoll_load: %s:%s: %s\n", opt_host, opt_port,
            gai_strerror(r));
    exit(2);
  }
  memcpy(&peer, res->ai_addr, res->ai_addrlen);
  peer_len = res->ai_addrlen;
  freeaddrinfo(res);
  if (mode == M_CHURN && peer.ss_family == AF_INET &&
      ((struct sockaddr_in *)&peer)->sin_addr.s_addr == htonl(0x7f000001u))
    churn_spread_sources = 1;
}

/* ---- main loop ---- */

int main(int argc, char **argv) {
  parse_args(argc, argv);
  resolve();

  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && (rlim_t)nconn + 16 > rl.rlim_cur)
    fprintf(stderr,
            "epoll_load: warning: %ld connections but only %llu descriptors\n",
            nconn, (unsigned long long)rl.rlim_cur);

  signal(SIGPIPE, SIG_IGN);
  sigset_t block, waitmask;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &waitmask);
  sigdelset(&waitmask, SIGINT);
  sigdelset(&waitmask, SIGTERM);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  table_init();
  conns = calloc((size_t)nconn, sizeof *conns);
  queue = calloc((size_t)nconn, sizeof *queue);
  uint64_t *stamps = NULL;
  if (mode == M_PINGPONG || mode == M_STREAM)
    stamps = calloc((size_t)nconn * (size_t)pipeline, sizeof *stamps);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (!conns || !queue ||
      ((mode == M_PINGPONG || mode == M_STREAM) && !stamps) || epfd < 0) {
    fprintf(stderr, "epoll_load: out of memory or descriptors\n");
    return 1;
  }
  for (long i = 0; i < nconn; i++) {
    struct conn *c = &conns[i];
    c->fd = -1;
    c->ts = stamps ? stamps + (size_t)i * (size_t)pipeline : NULL;
    c->seed = stream_seed((uint64_t)i, 0);
    c->session = 1;
    if (mode == M_CHURN)
      c->session = 0, new_session(c);
    else
      enqueue(c);
  }
  active = nconn;

  uint64_t t0 = now_ns();
  /* setup must finish in 10 s plus 2 ms per connection */
  uint64_t setup_deadline =
      t0 + (uint64_t)((10.0 + 0.002 * (double)nconn) * 1e9);
  uint64_t t_measure = 0, t_end = 0, deadline = 0;
  double cpu_measure = 0, cpu_end = 0;
  int interrupted = 0;

  if (mode == M_CHURN) { /* churn needs no setup: warm up straight away */
    phase = PH_WARMUP;
    deadline = t0 + (uint64_t)(warmup * 1e9);
  } else if (mode == M_IDLE) {
    measuring = 1; /* the one echo per connection is what is counted */
  }

  struct epoll_event evs[MAX_EVENTS];
  while (phase != PH_DONE) {
    pump_connects();

    uint64_t t = now_ns();
    if (got_signal && !interrupted) {
      interrupted = 1;
      if (phase == PH_MEASURE || phase == PH_HOLD)
        deadline = t; /* end the window now */
      else if (phase == PH_SETUP || phase == PH_WARMUP) {
        fprintf(stderr, "epoll_load: interrupted before measuring\n");
        e_timeout++;
        begin_drain(t);
      }
    }

    /* phase transitions */
    if (phase == PH_SETUP) {
      if (established + failed >= nconn) {
        if (mode == M_IDLE) {
          measuring = 0;
          printf("{\"mode\":\"idle\",\"ready\":%ld}\n", established);
          fflush(stdout);
          fprintf(stderr, "# phase measure\n");
          cpu_measure = cpu_seconds();
          t_measure = t;
          phase = PH_HOLD;
          deadline = t + (uint64_t)(duration * 1e9);
        } else {
          phase = PH_WARMUP;
          deadline = t + (uint64_t)(warmup * 1e9);
        }
      } else if (t >= setup_deadline) {
        fprintf(stderr,
                "epoll_load: setup timed out: %ld of %ld connections ready\n",
                established, nconn);
        e_timeout += (uint64_t)(nconn - established - failed);
        begin_drain(t);
      }
    }
    if (phase == PH_WARMUP && t >= deadline) {
      phase = PH_MEASURE;
      measuring = 1;
      t_measure = t;
      cpu_measure = cpu_seconds();
      deadline = t + (uint64_t)(duration * 1e9);
      fprintf(stderr, "# phase measure\n");
    }
    if ((phase == PH_MEASURE || phase == PH_HOLD) && t >= deadline) {
      measuring = 0;
      t_end = t;
      cpu_end = cpu_seconds();
      fprintf(stderr, "# phase end\n");
      if (phase == PH_HOLD) {
        phase = PH_DONE;
        break;
      }
      begin_drain(t);
    }
    if (phase == PH_DRAIN) {
      if (active <= 0) {
        phase = PH_DONE;
        break;
      }
      if (t >= t_drain + (uint64_t)(DRAIN_SECONDS * 1e9)) {
        fprintf(stderr, "epoll_load: %ld connections did not drain in %.0f s\n",
                active, DRAIN_SECONDS);
        e_timeout += (uint64_t)active;
        phase = PH_DONE;
        break;
      }
    }

    /* wait, at most until the next deadline and never over 100 ms */
    int timeout_ms = 100;
    uint64_t next = 0;
    if (phase == PH_SETUP)
      next = setup_deadline;
    else if (phase == PH_WARMUP || phase == PH_MEASURE || phase == PH_HOLD)
      next = deadline;
    else if (phase == PH_DRAIN)
      next = t_drain + (uint64_t)(DRAIN_SECONDS * 1e9);
    if (next) {
      uint64_t left = next > t ? next - t : 0;
      if (left < (uint64_t)timeout_ms * 1000000u)
        timeout_ms = (int)((left + 999999) / 1000000);
    }
    int n = epoll_pwait(epfd, evs, MAX_EVENTS, timeout_ms, &waitmask);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      perror("epoll_load: epoll_pwait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = &conns[evs[i].data.u32];
      if (c->fd >= 0)
        on_event(c, evs[i].events);
    }
  }

  for (long i = 0; i < nconn; i++)
    if (conns[i].fd >= 0)
      close(conns[i].fd);

  double secs = t_end > t_measure ? (double)(t_end - t_measure) / 1e9 : 0;
  double cpu = cpu_end - cpu_measure;
  uint64_t errors = e_mismatch + e_excess + e_early_close + e_reset +
                    e_connect + e_io + e_timeout;
  double per_s = secs > 0 ? 1.0 / secs : 0;
  printf("{\"mode\":\"%s\",\"connections\":%ld,\"size\":%ld,\"pipeline\":%ld,"
         "\"seconds\":%.6f,\"messages\":%llu,\"bytes\":%llu,"
         "\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"sessions_per_s\":%.1f,"
         "\"p50_us\":%.2f,\"p99_us\":%.2f,\"errors\":%llu,"
         "\"mismatches\":%llu,\"mismatched_bytes\":%llu,\"excess\":%llu,"
         "\"early_closes\":%llu,\"resets\":%llu,\"connect_errors\":%llu,"
         "\"io_errors\":%llu,\"timeouts\":%llu,\"ready\":%ld,"
         "\"load_cpu_s\":%.3f,\"interrupted\":%s}\n",
         mode_names[mode], nconn, msg_size, pipeline, secs,
         (unsigned long long)n_messages, (unsigned long long)n_bytes,
         (double)n_messages * per_s, (double)n_bytes * per_s / 1e6,
         (double)n_sessions * per_s, hist_pct_us(0.50), hist_pct_us(0.99),
         (unsigned long long)errors, (unsigned long long)e_mismatch,
         (unsigned long long)e_mismatch_bytes, (unsigned long long)e_excess,
         (unsigned long long)e_early_close, (unsigned long long)e_reset,
         (unsigned long long)e_connect, (unsigned long long)e_io,
         (unsigned long long)e_timeout, established, cpu,
         interrupted ? "true" : "false");
  fflush(stdout);
  return errors ? 1 : 0;
}
