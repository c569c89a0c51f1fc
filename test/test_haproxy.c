/* tcpecho behind a real HAProxy: two servers with --proxy-protocol, the
 * configuration of contrib/haproxy/tcpecho.cfg (the README's) with ports of
 * the test's own, send-proxy-v2 and health checks that send a LOCAL header.
 * Through the frontend, 200 verifying connections from 127.0.0.2 (HAProxy
 * connects from 127.0.0.1) echo every byte, both servers serve some, and
 * each server's log names the test's own address and port for each, never
 * HAProxy's. Then one server is stopped while its connections have echoes
 * due: they end with EOF after an intact prefix, HAProxy's checks mark it
 * down, and new connections all go to the other, which loses nothing.
 *
 * Needs Linux (127.0.0.2 answers on its loopback interface) and haproxy.
 * Without them the program says why and exits 77, which ctest reports as
 * skipped; with TCPECHO_REQUIRE_HAPROXY=1 (as in CI) that is a failure.
 * Usage: test_haproxy TCPECHO [fast | TEST...] */
#include "suite.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <unistd.h>
#endif

#define SKIP_STATUS 77

#ifdef __linux__

#define CONNS 200 /* through both servers */
#define WINDOW 20 /* opened as the first server stops, before HAProxy knows */
#define LATE 50   /* opened once HAProxy marked it down */
#define ALL (CONNS + WINDOW + LATE)
#define FIRST_BYTES (32 * KiB)
#define MORE_BYTES (64 * KiB)
#define CLIENT_HOST "127.0.0.2"
#define SERVERS 2
#define BIND_TRIES 5

static const char open_line[] = "TCP session open from ";

static proc_t *haproxy;
static char cfg_path[256];

/* Which server (0, 1) each connection's session was logged by, -1: none;
 * and which connection a local port belongs to, -1: none. */
static int owner[ALL];
static int port_conn[65536];
static int conn_port[ALL];

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  char *text;
  long size;
  if (f == NULL)
    fail_msg("cannot read %s", path);
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  text = malloc((size_t)size + 1);
  assert_non_null(text);
  if (size < 0 || fread(text, 1, (size_t)size, f) != (size_t)size)
    fail_msg("cannot read %s", path);
  fclose(f);
  text[size] = '\0';
  return text;
}

/* Puts text in place of `from` in *s (a malloc'd string, replaced), which
 * must hold it exactly once: the template and the test go together. */
static void replace_once(char **s, const char *from, const char *text) {
  const char *at = strstr(*s, from);
  size_t head, tail;
  char *out;
  if (at == NULL || strstr(at + 1, from) != NULL)
    fail_msg("%s: want '%s' exactly once (the test puts its ports there)",
             TCPECHO_HAPROXY_CFG, from);
  head = (size_t)(at - *s);
  tail = strlen(at + strlen(from));
  out = malloc(head + strlen(text) + tail + 1);
  assert_non_null(out);
  memcpy(out, *s, head);
  strcpy(out + head, text);
  strcat(out, at + strlen(from));
  free(*s);
  *s = out;
}

/* The template with the frontend on front and the servers on ports[]. */
static void write_config(int front, const int *ports) {
  char *text = read_text(TCPECHO_HAPROXY_CFG);
  char addr[32];
  const char *dir = getenv("TMPDIR");
  FILE *f;
  int fd;

  snprintf(addr, sizeof(addr), "127.0.0.1:%d", front);
  replace_once(&text, "127.0.0.1:8000", addr);
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", ports[0]);
  replace_once(&text, "127.0.0.1:8001", addr);
  snprintf(addr, sizeof(addr), "127.0.0.1:%d", ports[1]);
  replace_once(&text, "127.0.0.1:8002", addr);

  if (cfg_path[0] == '\0') {
    snprintf(cfg_path, sizeof(cfg_path), "%s/tcpecho-haproxy-XXXXXX",
             dir != NULL && *dir != '\0' ? dir : "/tmp");
    fd = mkstemp(cfg_path);
    if (fd < 0) {
      cfg_path[0] = '\0';
      fail_msg("cannot create a temporary file for the configuration");
    }
    close(fd);
  }
  f = fopen(cfg_path, "wb");
  if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
    fail_msg("cannot write %s", cfg_path);
  free(text);
}

static int closed_flag(const void *arg) {
  return *(const int *)arg;
}

static void on_port_closed(uv_handle_t *h) {
  *(int *)h->data = 1;
}

/* A port nobody listens on now: bound, read, closed. Another program may
 * take it before HAProxy does; start_haproxy() then tries another. */
static int free_port(void) {
  uv_tcp_t tcp;
  struct sockaddr_in addr;
  int len = (int)sizeof(addr), closed = 0;

  uv_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(uv_tcp_init(suite_loop(), &tcp), 0);
  tcp.data = &closed;
  assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&addr, &len), 0);
  uv_close((uv_handle_t *)&tcp, on_port_closed);
  assert_true(wait_for(closed_flag, &closed, 5000));
  return ntohs(addr.sin_port);
}

/* Sessions a server logged without a client address: HAProxy's health
 * checks, whose LOCAL header names none. */
static size_t local_sessions(const proc_t *srv) {
  return count_of(srv->err, open_line) - count_of(srv->err, " via ");
}

typedef struct up_s {
  proc_t *const *servers;
  size_t checks_before[SERVERS];
} up_t;

/* HAProxy exited, or each server logged a health check more. */
static int checked_or_exited(const void *arg) {
  const up_t *u = arg;
  int i;
  if (haproxy->exited)
    return 1;
  for (i = 0; i < SERVERS; i++) {
    if (local_sessions(u->servers[i]) <= u->checks_before[i])
      return 0;
  }
  return 1;
}

/* Runs `haproxy -c` on the configuration, failing with its words; -dW:
 * a warning is a failure too. */
static void check_config(void) {
  const char *argv[] = {"haproxy", "-c", "-dW", "-f", cfg_path, NULL};
  proc_t *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  proc_spawn(p, argv);
  if (!run_until(is_finished, p, NULL, PROC_TIMEOUT_MS) || p->exit_status != 0)
    fail_msg("haproxy -c refuses the configuration (%s):\n%s%s",
             TCPECHO_HAPROXY_CFG, p->out, p->err);
  free(p);
}

/* Starts HAProxy in front of the servers; returns its frontend's port once
 * both servers have passed a health check (a check runs only once HAProxy
 * listens). */
static int start_haproxy(proc_t *const *servers, const int *ports) {
  const char *argv[] = {"haproxy", "-f", cfg_path, "-db", NULL};
  int attempt, i;

  haproxy = calloc(1, sizeof(*haproxy));
  assert_non_null(haproxy);
  for (attempt = 0; attempt < BIND_TRIES; attempt++) {
    int front = free_port();
    up_t up;
    write_config(front, ports);
    check_config();
    up.servers = servers;
    for (i = 0; i < SERVERS; i++)
      up.checks_before[i] = local_sessions(servers[i]);
    proc_spawn(haproxy, argv);
    if (!wait_for(checked_or_exited, &up, 10000))
      fail_msg("no health check reached both servers in 10 s; haproxy "
               "says:\n%s\nserver 1:\n%s\nserver 2:\n%s",
               haproxy->err, servers[0]->err, servers[1]->err);
    if (!haproxy->exited)
      return front;
    run_until(is_finished, haproxy, NULL, PROC_TIMEOUT_MS);
    if (strstr(haproxy->err, "cannot bind") == NULL)
      fail_msg("haproxy exited (status %d):\n%s", (int)haproxy->exit_status,
               haproxy->err);
    print_message("port %d was taken meanwhile; another\n", front);
  }
  fail_msg("haproxy found no free port in %d tries", BIND_TRIES);
  return -1;
}

static int local_port(const conn_t *c) {
  struct sockaddr_in addr;
  int len = (int)sizeof(addr);
  assert_int_equal(uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&addr, &len),
                   0);
  assert_int_equal(addr.sin_family, AF_INET);
  return ntohs(addr.sin_port);
}

/* Notes the local port of connections from..to-1, all connected. A port
 * is unique among open connections only: one of a closed connection may
 * be taken again. */
static void note_ports(const load_t *l, unsigned from, unsigned to) {
  unsigned i;
  for (i = from; i < to; i++) {
    int port = local_port(&l->conns[i]);
    int prev = port_conn[port];
    if (prev != -1 && !l->conns[prev].closed)
      fail_msg("connections %d and %u on the same local port %d", prev, i,
               port);
    port_conn[port] = (int)i;
    conn_port[i] = port;
  }
}

/* Reads the "TCP session open from A via B" lines of a server's log from
 * *offset on into owner[], and moves *offset past them: A must be the
 * address of one of the test's open connections, logged once, by one
 * server; B HAProxy's address. Returns how many there were. */
static unsigned map_sessions(const proc_t *srv, int k, size_t *offset) {
  const char *at = srv->err + *offset;
  unsigned n = 0;

  while ((at = strstr(at, open_line)) != NULL) {
    const char *eol = strchr(at, '\n');
    const char *via = strstr(at, " via ");
    char from[32];
    unsigned long port = 0;
    int conn;

    if (eol == NULL)
      break; /* still on its way */
    *offset = (size_t)(eol + 1 - srv->err);
    at += strlen(open_line);
    if (via == NULL || via > eol)
      continue; /* a health check */
    n++;
    snprintf(from, sizeof(from), "%s:", CLIENT_HOST);
    if (strncmp(at, from, strlen(from)) != 0 ||
        strncmp(via, " via 127.0.0.1:", 15) != 0 ||
        !number_after(at, ":", &port) || port > 65535)
      fail_msg("server %d logged a session not from the test's %s through "
               "HAProxy: %.*s",
               k + 1, CLIENT_HOST, (int)(eol - at), at);
    conn = port_conn[port];
    if (conn < 0)
      fail_msg("server %d logged client port %lu, none of the test's: %.*s",
               k + 1, port, (int)(eol - at), at);
    if (owner[conn] != -1)
      fail_msg("connection %d (port %lu) logged twice, by servers %d and %d",
               conn, port, owner[conn] + 1, k + 1);
    owner[conn] = k;
  }
  return n;
}

typedef struct logged_s {
  proc_t *const *servers;
  size_t want;
} logged_t;

/* Both logs hold want proxied sessions in all, and end with a whole line. */
static int sessions_logged(const void *arg) {
  const logged_t *w = arg;
  size_t n = 0;
  int k;
  for (k = 0; k < SERVERS; k++) {
    const proc_t *p = w->servers[k];
    if (p->err_len > 0 && p->err[p->err_len - 1] != '\n')
      return 0;
    n += count_of(p->err, " via ");
  }
  return n >= w->want;
}

static void wait_sessions_logged(proc_t *const *servers, size_t want) {
  logged_t w;
  w.servers = servers;
  w.want = want;
  if (!wait_for(sessions_logged, &w, 10000))
    fail_msg("the servers logged fewer than %lu sessions:\n%s\n%s",
             (unsigned long)want, servers[0]->err, servers[1]->err);
}

typedef struct drain_s {
  const load_t *l;
  int stopped; /* the server stopped */
} drain_t;

/* The stopped server's connections ended, the other's have their echoes. */
static int drain_settled(const void *arg) {
  const drain_t *d = arg;
  unsigned i;
  for (i = 0; i < CONNS; i++) {
    const conn_t *c = &d->l->conns[i];
    if (owner[i] == d->stopped ? !c->closed : !conn_echoed(c))
      return 0;
  }
  return 1;
}

static int haproxy_saw_down(const void *arg) {
  return strstr(haproxy->err, (const char *)arg) != NULL;
}

/* The summary's "N proxy header errors", or -1 if it has none. */
static long proxy_header_errors(const char *log) {
  static const char words[] = " proxy header errors\n";
  const char *line = find_line_with(log, log, "served ", words);
  const char *end, *digits;
  if (line == NULL)
    return -1;
  end = strstr(line, words);
  for (digits = end; digits > line && digits[-1] >= '0' && digits[-1] <= '9';)
    digits--;
  return digits < end ? atol(digits) : -1;
}

/* A server's summary after its exit: it echoed exactly `echoed` bytes, and
 * every session it logged is counted.
 * HAProxy ends each health check with a reset, which the server logs (at
 * most one a check) but does not count as an error: a healthy server has
 * none. Each check is logged with HAProxy's address as read at accept
 * ("?" when the check was over before the accept). A health check accepted just
 * before the stop may be drained before its header is read: counted, never
 * logged (checks come one at a time). So may the test's `probes` of the
 * stopping server that it accepted, which may also count as bad headers;
 * there are no others. */
static void expect_server_summary(proc_t *srv, int k, uint64_t echoed,
                                  unsigned probes) {
  static const char reset[] = "Error reading TCP session: ECONNRESET";
  summary_t s;
  unsigned long long logged = count_of(srv->err, open_line);
  unsigned long long resets = count_of(srv->err, reset);
  unsigned long long ends =
      count_of(srv->err, "Error reading TCP session: EOF");
  long bad_headers = proxy_header_errors(srv->err);

  if (!parse_summary(srv->err, &s))
    fail_msg("server %d: no summary line:\n%s", k + 1, srv->err);
  print_message("server %d: ", k + 1);
  print_summary(&s);
  if (s.echoed != echoed || s.errors != 0 || resets > local_sessions(srv) ||

      count_of(srv->err, "Error") != resets + ends || bad_headers < 0 ||
      bad_headers > (long)probes || s.served < logged ||
      s.served > logged + 1 + probes) {
    fprintf(stderr, "server %d's log:\n%s", k + 1, srv->err);
    fail_msg("server %d: echoed %llu bytes (want %llu), %llu errors (%llu "
             "of them health checks' resets, of %lu checks), %ld bad headers, "
             "served %llu sessions, logged %llu (%u probes connected)",
             k + 1, s.echoed, (unsigned long long)echoed, s.errors, resets,
             (unsigned long)local_sessions(srv), bad_headers, s.served, logged,
             probes);
  }
}

/* What the test's steps share. */
typedef struct run_s {
  proc_t *servers[SERVERS];
  size_t offsets[SERVERS]; /* of each log, read up to there */
  load_t *l;
  int ports[SERVERS];
  unsigned probes_accepted; /* by server 1 as it stopped */
} run_t;

/* 200 at once, from an address that is not HAProxy's: every byte comes
 * back, both servers serve some, and each logs the client's address. */
static void balance(run_t *r) {
  unsigned counts[SERVERS], i;
  range_t all = range_of(r->l, 0, CONNS);
  int k;

  load_connect(r->l, CONNS);
  if (!wait_for(range_echoed, &all, 20000))
    fail_msg("%u of %u connections echoed in 20 s", range_answered(&all),
             CONNS);
  for (i = 0; i < CONNS; i++)
    expect_all_echoed(&r->l->conns[i]);
  note_ports(r->l, 0, CONNS);
  wait_sessions_logged(r->servers, CONNS);
  memset(owner, -1, sizeof(owner));
  for (k = 0; k < SERVERS; k++)
    counts[k] = map_sessions(r->servers[k], k, &r->offsets[k]);
  print_message("sessions: %u on server 1, %u on server 2\n", counts[0],
                counts[1]);
  expect_eq("sessions logged", counts[0] + counts[1], CONNS);
  if (counts[0] == 0 || counts[1] == 0)
    fail_msg("one server served all %u connections", CONNS);
}

/* Connections from..to-1 have their echoes, and their sessions are all
 * in server 2's log, none in server 1's. */
static void expect_on_server2(run_t *r, unsigned from, unsigned to) {
  range_t range = range_of(r->l, from, to);
  unsigned i;

  if (!wait_for(range_echoed, &range, 20000))
    fail_msg("%u of connections %u..%u echoed in 20 s", range_answered(&range),
             from, to - 1);
  for (i = from; i < to; i++)
    expect_all_echoed(&r->l->conns[i]);
  note_ports(r->l, from, to);
  wait_sessions_logged(r->servers, to);
  expect_eq("new sessions on server 1",
            map_sessions(r->servers[0], 0, &r->offsets[0]), 0);
  expect_eq("new sessions on server 2",
            map_sessions(r->servers[1], 1, &r->offsets[1]), to - from);
  for (i = from; i < to; i++) {
    if (owner[i] != 1)
      fail_msg("connection %u (port %d) not logged by server 2", i,
               conn_port[i]);
  }
}

typedef struct probe_s {
  uv_tcp_t tcp;
  uv_connect_t req;
  int done, status, closed;
} probe_t;

static void on_probe_connect(uv_connect_t *req, int status) {
  probe_t *p = req->data;
  p->done = 1;
  p->status = status;
}

static void on_probe_handle_closed(uv_handle_t *h) {
  ((probe_t *)h->data)->closed = 1;
}

static int probe_done(const void *arg) {
  return ((const probe_t *)arg)->done;
}

static int probe_closed(const void *arg) {
  return ((const probe_t *)arg)->closed;
}

/* Connects to 127.0.0.1:port directly and closes; returns the outcome. */
static int probe(int port) {
  probe_t p;
  struct sockaddr_in addr;
  memset(&p, 0, sizeof(p));
  uv_ip4_addr("127.0.0.1", port, &addr);
  assert_int_equal(uv_tcp_init(suite_loop(), &p.tcp), 0);
  p.tcp.data = p.req.data = &p;
  assert_int_equal(uv_tcp_connect(&p.req, &p.tcp,
                                  (const struct sockaddr *)&addr,
                                  on_probe_connect),
                   0);
  assert_true(wait_for(probe_done, &p, 5000));
  uv_close((uv_handle_t *)&p.tcp, on_probe_handle_closed);
  assert_true(wait_for(probe_closed, &p, 5000));
  return p.status;
}

/* Server 1 stops while each connection has 64 KiB more in flight: its
 * connections end with EOF after an intact prefix. Connections opened
 * once its listener is gone and before HAProxy's checks notice are
 * refused there and redispatched: all reach server 2. Then HAProxy marks
 * server 1 down. */
static void stop_server1(run_t *r) {
  const char *down = "Server tcpecho/s1 is DOWN";
  uint64_t got1 = 0, t_stop;
  unsigned i, tries;
  int early;
  drain_t drain;

  for (i = 0; i < CONNS; i++)
    conn_send(&r->l->conns[i], MORE_BYTES);
  stop(r->servers[0], SIGTERM);
  t_stop = now_ms();
  /* Its listener is closed once a connection to it is refused (it says it
   * stops just before). */
  wait_line(r->servers[0], "shutting down on SIGTERM", NULL, 5000);
  for (tries = 0; tries < 100; tries++) {
    int status = probe(r->ports[0]);
    if (status == UV_ECONNREFUSED)
      break;
    r->probes_accepted += status == 0;
    pause_ms(20);
  }
  if (tries == 100)
    fail_msg("server 1 still takes connections 2 s after SIGTERM");
  early = !haproxy_saw_down(down);
  load_connect(r->l, WINDOW);

  drain.l = r->l;
  drain.stopped = 0;
  if (!wait_for(drain_settled, &drain, 20000))
    fail_msg("the connections did not settle after server 1's SIGTERM");
  for (i = 0; i < CONNS; i++) {
    if (owner[i] == 0)
      got1 += expect_conn_prefix_then_eof(&r->l->conns[i], FIRST_BYTES);
    else
      expect_all_echoed(&r->l->conns[i]);
  }
  expect_on_server2(r, CONNS, CONNS + WINDOW);
  if (!wait_for(haproxy_saw_down, down, 10000))
    fail_msg("haproxy did not mark server 1 down in 10 s:\n%s", haproxy->err);
  print_message("server 1 down in haproxy's view %llu ms after SIGTERM; "
                "%u connections opened %s that went to server 2\n",
                (unsigned long long)(now_ms() - t_stop), WINDOW,
                early ? "before" : "(too late: after)");
  wait_exit(r->servers[0], 0);
  expect_server_summary(r->servers[0], 0, got1, r->probes_accepted);
}

/* Server 2's connections half-close and get every byte back, then it
 * stops: it echoed exactly what they sent. */
static void finish(run_t *r) {
  uint64_t sum2 = 0;
  unsigned i;

  for (i = 0; i < ALL; i++) {
    if (owner[i] == 1)
      conn_finish(&r->l->conns[i]);
  }
  if (!wait_for(load_all_closed, r->l, 20000))
    fail_msg("%u connections still open", r->l->open_handles);
  for (i = 0; i < ALL; i++) {
    if (owner[i] == 1) {
      expect_echo_then_eof(&r->l->conns[i], r->l->conns[i].to_send);
      sum2 += r->l->conns[i].to_send;
    }
  }
  stop(r->servers[1], SIGTERM);
  wait_exit(r->servers[1], 0);
  expect_server_summary(r->servers[1], 1, sum2, 0);
}

static void test_behind_haproxy(void **state) {
  const char *extra[] = {"--quiet", "--proxy-protocol", NULL};
  uint64_t t0 = now_ms();
  run_t r;
  unsigned i;
  int front, k;
  (void)state;

  memset(&r, 0, sizeof(r));
  memset(port_conn, -1, sizeof(port_conn));
  for (k = 0; k < SERVERS; k++) {
    r.servers[k] = new_server(k);
    r.ports[k] = start_server(r.servers[k], "127.0.0.1", extra);
  }
  front = start_haproxy(r.servers, r.ports);
  print_message("haproxy on port %d, servers on %d and %d\n", front, r.ports[0],
                r.ports[1]);
  r.l = load_new(front, ALL, 14);
  r.l->from_host = CLIENT_HOST;
  for (i = 0; i < ALL; i++)
    r.l->conns[i].to_send = FIRST_BYTES;

  balance(&r);
  stop_server1(&r);
  /* Once HAProxy knows, new connections all go to server 2. */
  load_connect(r.l, LATE);
  expect_on_server2(&r, CONNS + WINDOW, ALL);
  finish(&r);

  stop(haproxy, SIGTERM);
  if (!run_until(is_finished, haproxy, NULL, PROC_TIMEOUT_MS))
    fail_msg("haproxy still running after SIGTERM");
  report_time(t0);
}

/* The suite's, and HAProxy's configuration file. */
static int haproxy_teardown(void **state) {
  suite_teardown(state); /* kills HAProxy too, if still running */
  free(haproxy);
  haproxy = NULL;
  if (cfg_path[0] != '\0') {
    unlink(cfg_path);
    cfg_path[0] = '\0';
  }
  return 0;
}

/* Whether an executable haproxy is in PATH. */
static int haproxy_in_path(void) {
  const char *path = getenv("PATH");
  char dir[1024], file[1100];
  while (path != NULL && *path != '\0') {
    size_t n = strcspn(path, ":");
    if (n > 0 && n < sizeof(dir)) {
      memcpy(dir, path, n);
      dir[n] = '\0';
      snprintf(file, sizeof(file), "%s/haproxy", dir);
      if (access(file, X_OK) == 0)
        return 1;
    }
    path += n + (path[n] == ':');
  }
  return 0;
}

static const char *why_unavailable(void) {
  if (!haproxy_in_path())
    return "haproxy is not installed (Debian: apt-get install haproxy)";
  return NULL;
}

#else
static const char *why_unavailable(void) {
  return "Linux only: the clients come from 127.0.0.2, which only Linux's "
         "loopback interface answers without configuration";
}
#endif

int main(int argc, char **argv) {
  const char *why = why_unavailable();
#ifdef __linux__
  static const suite_test_t tests[] = {
      {cmocka_unit_test_teardown(test_behind_haproxy, haproxy_teardown), 0},
  };
#endif
  if (why != NULL) {
    const char *require = getenv("TCPECHO_REQUIRE_HAPROXY");
    int required = require != NULL && strcmp(require, "1") == 0;
    fprintf(stderr, "%s: %s\n", required ? "FAILED" : "SKIPPED", why);
    return required ? 1 : SKIP_STATUS;
  }
#ifdef __linux__
  return suite_main(argc, argv, "haproxy", tests,
                    sizeof(tests) / sizeof(tests[0]));
#else
  (void)argc;
  (void)argv;
  return SKIP_STATUS;
#endif
}
