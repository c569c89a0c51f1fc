/* Option parsing: defaults, every accepted form and every usage error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "options.h"

#include <string.h>

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char err[256];

static options_result_t parse(int argc, char **argv, options_t *o) {
  return options_parse(argc, argv, o, err, sizeof(err));
}

static void expect_error(int argc, char **argv, const char *needle) {
  options_t o;
  assert_int_equal(parse(argc, argv, &o), OPTIONS_ERROR);
  if (strstr(err, needle) == NULL)
    fail_msg("error '%s' does not mention '%s'", err, needle);
  assert_null(strchr(err, '\n'));
}

static void test_server_defaults(void **state) {
  char *argv[] = {"tcpecho", "--server"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_SERVER);
  assert_null(o.host);
  assert_int_equal(o.port, 8000);
  assert_int_equal(o.quiet, 0);
  assert_int_equal(o.threads, 1); /* the tutorial's one loop */
  assert_int_equal(o.metrics_port, -1);
}

/* --metrics [HOST:]PORT: the port alone is loopback's; ":PORT" all
 * interfaces (host ""); an IPv6 address in brackets. */
static void test_metrics(void **state) {
  static const struct {
    const char *value, *host;
    int port;
  } good[] = {
      {"9100", "127.0.0.1", 9100},
      {"0", "127.0.0.1", 0},
      {":9100", "", 9100},
      {"0.0.0.0:65535", "0.0.0.0", 65535},
      {"[::1]:0", "::1", 0},
      {"[::]:9100", "::", 9100},
      {"localhost:80", "localhost", 80},
  };
  static const char *bad[] = {
      "",         "65536",     "x",       "9100:",     "::1:9100",
      "[::1]",    "[::1]9100", "[]:9100", "[::1:9100", "host:-1",
      "host:+80", ":",         "a:b:1"};
  char *client[] = {"tcpecho", "--client", "--metrics", "9100"};
  char *bench[] = {"tcpecho", "--bench", "--metrics=9100"};
  char *missing[] = {"tcpecho", "--server", "--metrics"};
  char *argv[] = {"tcpecho", "--server", "--metrics", NULL};
  char long_host[OPTIONS_HOST_MAX + 8];
  options_t o;
  size_t i;
  (void)state;

  for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    argv[3] = (char *)good[i].value;
    if (parse(ARGC(argv), argv, &o) != OPTIONS_RUN)
      fail_msg("--metrics '%s' refused: %s", good[i].value, err);
    assert_string_equal(o.metrics_host, good[i].host);
    assert_int_equal(o.metrics_port, good[i].port);
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    argv[3] = (char *)bad[i];
    expect_error(ARGC(argv), argv, "for --metrics: expected PORT, HOST:PORT");
  }
  /* A host longer than any name there is. */
  memset(long_host, 'h', sizeof(long_host));
  memcpy(long_host + OPTIONS_HOST_MAX, ":9100", 6);
  argv[3] = long_host;
  expect_error(ARGC(argv), argv, "for --metrics");
  long_host[OPTIONS_HOST_MAX - 1] = '\0';
  memcpy(long_host + OPTIONS_HOST_MAX - 6, ":9100", 6);
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(strlen(o.metrics_host), OPTIONS_HOST_MAX - 6);
  expect_error(ARGC(client), client, "--metrics applies only to --server");
  expect_error(ARGC(bench), bench, "--metrics applies only to --server");
  expect_error(ARGC(missing), missing, "option --metrics needs a value");
}

/* --quiet counts up to 2: -qq is quieter still. */
static void test_quiet_twice(void **state) {
  char *once[] = {"tcpecho", "-s", "-q"};
  char *bundled[] = {"tcpecho", "-s", "-qq"};
  char *apart[] = {"tcpecho", "-s", "--quiet", "-q"};
  char *thrice[] = {"tcpecho", "-s", "-qqq"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(once), once, &o), OPTIONS_RUN);
  assert_int_equal(o.quiet, 1);
  assert_int_equal(parse(ARGC(bundled), bundled, &o), OPTIONS_RUN);
  assert_int_equal(o.quiet, 2);
  assert_int_equal(parse(ARGC(apart), apart, &o), OPTIONS_RUN);
  assert_int_equal(o.quiet, 2);
  assert_int_equal(parse(ARGC(thrice), thrice, &o), OPTIONS_RUN);
  assert_int_equal(o.quiet, 2);
}

/* --threads N|auto: server and bench; "auto" is 0, resolved at start. */
static void test_threads(void **state) {
  char *server[] = {"tcpecho", "-s", "-T", "4"};
  char *server_auto[] = {"tcpecho", "--server", "--threads", "auto"};
  char *bench_auto[] = {"tcpecho", "-b", "--threads=auto"};
  char *client[] = {"tcpecho", "-c", "-T", "2"};
  char *ping[] = {"tcpecho", "-c", "-n", "1", "-T", "2"};
  char *too_many[] = {"tcpecho", "-s", "-T", "257"};
  char *zero[] = {"tcpecho", "-s", "-T", "0"};
  char *word[] = {"tcpecho", "-s", "-T", "Auto"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(server), server, &o), OPTIONS_RUN);
  assert_int_equal(o.threads, 4);
  assert_int_equal(parse(ARGC(server_auto), server_auto, &o), OPTIONS_RUN);
  assert_int_equal(o.threads, 0);
  assert_int_equal(parse(ARGC(bench_auto), bench_auto, &o), OPTIONS_RUN);
  assert_int_equal(o.threads, 0);
  expect_error(ARGC(client), client, "applies only to --server and --bench");
  expect_error(ARGC(ping), ping, "applies only to --server and --bench");
  expect_error(ARGC(too_many), too_many, "from 1 to 256, or auto");
  expect_error(ARGC(zero), zero, "from 1 to 256, or auto");
  expect_error(ARGC(word), word, "invalid value 'Auto' for -T");
}

/* --bench-merge FILE...: its operands in order, "-" and after "--" too;
 * only --json besides. */
static void test_bench_merge(void **state) {
  char *files[] = {"tcpecho", "a.json", "--bench-merge", "-",
                   "--json",  "--",     "-b.json"};
  char *none[] = {"tcpecho", "--bench-merge", "--json"};
  char *with_bench[] = {"tcpecho", "--bench-merge", "a", "--bench"};
  char *with_host[] = {"tcpecho", "--bench-merge", "a", "-H", "x"};
  char *hgrm[] = {"tcpecho", "--bench-merge", "a", "--hgrm", "x"};
  char *bench_hgrm[] = {"tcpecho", "-b", "--hgrm", "x.hgrm"};
  char *many[OPTIONS_MAX_FILES + 3];
  options_t o;
  size_t i;
  (void)state;

  assert_int_equal(parse(ARGC(files), files, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_MERGE);
  assert_int_equal(o.json, 1);
  assert_int_equal(o.file_count, 3);
  assert_string_equal(o.files[0], "a.json");
  assert_string_equal(o.files[1], "-");
  assert_string_equal(o.files[2], "-b.json");
  expect_error(ARGC(none), none, "--bench-merge needs the report files");
  expect_error(ARGC(with_bench), with_bench,
               "--bench-merge cannot be used with --server, --client or "
               "--bench");
  expect_error(ARGC(with_host), with_host,
               "--host applies only to --server, --client and --bench");
  expect_error(ARGC(hgrm), hgrm, "--hgrm applies only to --bench");
  assert_int_equal(parse(ARGC(bench_hgrm), bench_hgrm, &o), OPTIONS_RUN);
  assert_string_equal(o.hgrm_path, "x.hgrm");

  many[0] = "tcpecho";
  many[1] = "--bench-merge";
  for (i = 2; i < ARGC(many); i++)
    many[i] = "r.json";
  expect_error(ARGC(many), many, "too many files: at most 256");
  assert_int_equal(parse(ARGC(many) - 1, many, &o), OPTIONS_RUN);
  assert_int_equal(o.file_count, OPTIONS_MAX_FILES);
}

/* --udp and --udp-rate: server only (the rate, like --proxy-timeout,
 * has no effect without its option). */
static void test_udp(void **state) {
  char *plain[] = {"tcpecho", "-s"};
  char *on[] = {"tcpecho", "-s", "--udp"};
  char *short_rate[] = {"tcpecho", "-su", "--udp-rate", "0"};
  char *max[] = {"tcpecho", "-s", "--udp", "--udp-rate=10000000"};
  char *over[] = {"tcpecho", "-s", "--udp", "--udp-rate", "10000001"};
  char *alone[] = {"tcpecho", "-s", "--udp-rate", "5"};
  char *client[] = {"tcpecho", "-c", "--udp"};
  char *bench[] = {"tcpecho", "-b", "--udp-rate", "5"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(plain), plain, &o), OPTIONS_RUN);
  assert_int_equal(o.udp, 0);
  assert_int_equal(o.udp_rate, 10000);
  assert_int_equal(parse(ARGC(on), on, &o), OPTIONS_RUN);
  assert_int_equal(o.udp, 1);
  assert_int_equal(o.udp_rate, 10000);
  assert_int_equal(parse(ARGC(short_rate), short_rate, &o), OPTIONS_RUN);
  assert_int_equal(o.udp, 1);
  assert_int_equal(o.udp_rate, 0);
  assert_int_equal(parse(ARGC(max), max, &o), OPTIONS_RUN);
  assert_int_equal(o.udp_rate, 10000000);
  expect_error(ARGC(over), over, "from 0 to 10000000");
  assert_int_equal(parse(ARGC(alone), alone, &o), OPTIONS_RUN);
  assert_int_equal(o.udp, 0);
  assert_int_equal(o.udp_rate, 5);
  expect_error(ARGC(client), client, "--udp needs --count or --forever");
  expect_error(ARGC(bench), bench, "--udp-rate applies only to --server");
}

/* --bench --udp: open loop only (--rate), datagrams of 32 to 65527
 * bytes (64 by default), --timeout 1 s by default, --max-loss in
 * thousandths of a percent; nothing of TCP's connections. */
static void test_bench_udp(void **state) {
  char *ok[] = {"tcpecho", "-b", "--udp", "-r", "20000", "-C", "4"};
  char *full[] = {"tcpecho", "-b",          "-u",       "-r",   "5",
                  "-S",      "65527",       "-W",       "0.25", "--max-loss",
                  "0.1",     "--source-ip", "127.0.0.2"};
  char *closed[] = {"tcpecho", "-b", "--udp"};
  char *small[] = {"tcpecho", "-b", "--udp", "-r", "5", "-S", "31"};
  char *big[] = {"tcpecho", "-b", "--udp", "-r", "5", "-S", "65528"};
  char *churn[] = {"tcpecho", "-b", "--udp", "-r", "5", "--churn"};
  char *pipeline[] = {"tcpecho", "-b", "--udp", "-r", "5", "-P", "2"};
  char *connect[] = {"tcpecho",           "-b", "--udp", "-r", "5",
                     "--connect-timeout", "1"};
  char *timeout_tcp[] = {"tcpecho", "-b", "-W", "1"};
  char *loss_tcp[] = {"tcpecho", "-b", "--max-loss", "1"};
  char *loss_bad[] = {"tcpecho", "-b",         "--udp", "-r",
                      "5",       "--max-loss", "100.1"};
  char *loss_ping[] = {"tcpecho", "-c", "-u", "-n", "1", "--max-loss", "1"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(ok), ok, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_BENCH);
  assert_int_equal(o.udp, 1);
  assert_int_equal(o.rate, 20000);
  assert_int_equal(o.size, 64);
  assert_int_equal(o.timeout_ms, 1000);
  assert_int_equal(o.max_loss, 0);
  assert_int_equal(parse(ARGC(full), full, &o), OPTIONS_RUN);
  assert_int_equal(o.size, 65527);
  assert_int_equal(o.timeout_ms, 250);
  assert_int_equal(o.max_loss, 100);
  expect_error(ARGC(closed), closed,
               "--udp with --bench needs --rate: UDP load is open loop only");
  expect_error(ARGC(small), small,
               "for --size with --udp: expected an "
               "integer from 32 to 65527");
  expect_error(ARGC(big), big, "from 32 to 65527");
  expect_error(ARGC(churn), churn, "--churn and --udp cannot be used together");
  expect_error(ARGC(pipeline), pipeline,
               "--pipeline and --udp cannot be used together");
  expect_error(ARGC(connect), connect,
               "--connect-timeout and --udp cannot be used together");
  expect_error(ARGC(timeout_tcp), timeout_tcp,
               "--timeout needs --udp with --bench");
  expect_error(ARGC(loss_tcp), loss_tcp, "--max-loss needs --udp with --bench");
  expect_error(ARGC(loss_bad), loss_bad,
               "invalid value '100.1' for --max-loss: expected a percentage "
               "from 0 to 100");
  expect_error(ARGC(loss_ping), loss_ping,
               "--max-loss applies only to --bench");
}

/* --client --udp with --count or --forever: ping over UDP, datagrams of
 * 32 (the header) to 65,527 bytes, 64 by default; no message, nothing to
 * connect. */
static void test_udp_ping(void **state) {
  char *count[] = {"tcpecho", "-c", "--udp", "-n", "3"};
  char *forever[] = {"tcpecho", "-cu", "--forever", "-i", "0", "-W", "2"};
  char *sizes[] = {"tcpecho", "-c", "--udp", "-n", "1", "-S", "32"};
  char *largest[] = {"tcpecho", "-c", "--udp", "-n", "1", "-S", "65527"};
  char *small[] = {"tcpecho", "-c", "--udp", "-n", "1", "-S", "31"};
  char *large[] = {"tcpecho", "-c", "--udp", "-n", "1", "-S", "65528"};
  char *message[] = {"tcpecho", "-c", "--udp", "-n", "1", "-m", "hi"};
  char *connect[] = {"tcpecho",           "-c", "--udp", "-n", "1",
                     "--connect-timeout", "1"};
  char *rate[] = {"tcpecho", "-c", "--udp", "-n", "1", "--udp-rate", "5"};
  char *pipe[] = {"tcpecho", "-c", "--udp", "--stdin"};
  char *tcp[] = {"tcpecho", "-c", "-n", "1"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(count), count, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PING);
  assert_int_equal(o.udp, 1);
  assert_int_equal(o.count, 3);
  assert_int_equal(o.size, 64);
  assert_string_equal(o.host, "localhost");
  assert_int_equal(parse(ARGC(forever), forever, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PING);
  assert_int_equal(o.udp, 1);
  assert_int_equal(o.count, 0);
  assert_int_equal(o.interval_ms, 0);
  assert_int_equal(o.timeout_ms, 2000);
  assert_int_equal(parse(ARGC(sizes), sizes, &o), OPTIONS_RUN);
  assert_int_equal(o.size, 32);
  assert_int_equal(parse(ARGC(largest), largest, &o), OPTIONS_RUN);
  assert_int_equal(o.size, 65527);
  expect_error(ARGC(small), small,
               "invalid value '31' for --size with --udp: expected an "
               "integer from 32 to 65527");
  expect_error(ARGC(large), large, "from 32 to 65527");
  expect_error(ARGC(message), message,
               "--message and --udp cannot be used together");
  expect_error(ARGC(connect), connect,
               "--connect-timeout and --udp cannot be used together");
  expect_error(ARGC(rate), rate, "--udp-rate applies only to --server");
  expect_error(ARGC(pipe), pipe, "--stdin and --udp cannot be used together");
  /* TCP ping keeps its default: the message. */
  assert_int_equal(parse(ARGC(tcp), tcp, &o), OPTIONS_RUN);
  assert_int_equal(o.udp, 0);
  assert_int_equal(o.size, 0);
}

static void test_client_defaults(void **state) {
  char *argv[] = {"tcpecho", "--client"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_CLIENT);
  assert_string_equal(o.host, "localhost");
  assert_int_equal(o.port, 8000);
  assert_string_equal(o.message, "Hi, beyondyyh");
  assert_int_equal(o.message_len, 13);
  assert_int_equal(o.close_after_ms, 10000);
}

static void test_long_forms(void **state) {
  char *argv[] = {"tcpecho",    "--client",      "--host=::1", "--port", "9000",
                  "--message=", "--close-after", "1.5",        "--quiet"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_string_equal(o.host, "::1");
  assert_int_equal(o.port, 9000);
  assert_string_equal(o.message, "");
  assert_int_equal(o.message_len, 0);
  assert_int_equal(o.close_after_ms, 1500);
  assert_int_equal(o.quiet, 1);
}

static void test_short_forms(void **state) {
  char *argv[] = {"tcpecho",   "-cqv", "-p80", "-H",
                  "127.0.0.1", "-m",   "x y",  "-t0.25"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_CLIENT);
  assert_int_equal(o.quiet, 1);
  assert_int_equal(o.verbose, 1);
  assert_int_equal(o.port, 80);
  assert_string_equal(o.host, "127.0.0.1");
  assert_string_equal(o.message, "x y");
  assert_int_equal(o.close_after_ms, 250);
}

static void test_server_port_zero_and_repeat(void **state) {
  char *argv[] = {"tcpecho", "-s",     "--server", "--port",
                  "0",       "--port", "65535"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(o.port, 65535); /* the last one wins */
  argv[6] = "0";
  assert_int_equal(parse(ARGC(argv), argv, &o), OPTIONS_RUN);
  assert_int_equal(o.port, 0);
}

static void check_seconds(const char *text, unsigned long long ms) {
  char *argv[] = {"tcpecho", "--client", "--close-after", NULL};
  options_t o;
  argv[3] = (char *)text;
  if (parse(ARGC(argv), argv, &o) != OPTIONS_RUN)
    fail_msg("'%s' rejected: %s", text, err);
  if (o.close_after_ms != ms)
    fail_msg("'%s' gave %llu ms, want %llu", text, o.close_after_ms, ms);
}

static void test_close_after_values(void **state) {
  (void)state;
  check_seconds("10", 10000);
  check_seconds("0", 0);
  check_seconds("0.5", 500);
  check_seconds(".5", 500);
  check_seconds("5.", 5000);
  check_seconds("1.234", 1234);
  check_seconds("1.2344", 1234);
  check_seconds("1.2345", 1235); /* half up */
  check_seconds("0.0005", 1);
  check_seconds("0.000", 0);
  check_seconds("007", 7000);
  check_seconds("31536000", 31536000000ULL);
}

static void test_bad_close_after(void **state) {
  const char *bad[] = {
      "",         "-1",  "+1",    "1e3",          " 1",
      "1 ",       ".",   "abc",   "nan",          "inf",
      "0x10",     "1,5", "1.2.3", "31536000.001", "99999999999999999999999",
      "0.0004999" /* rounds to 0 ms: refused, not "off" */};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"tcpecho", "--client", "--close-after", (char *)bad[i]};
    expect_error(ARGC(argv), argv, "invalid value");
  }
}

static void test_bad_ports(void **state) {
  const char *bad[] = {"",   "-1",   "+80", "65536",
                       "8o", "0x50", " 80", "99999999999999999999"};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char *argv[] = {"tcpecho", "--server", "--port", (char *)bad[i]};
    expect_error(ARGC(argv), argv, "invalid port");
  }
}

static void test_client_port_zero(void **state) {
  char *argv[] = {"tcpecho", "--client", "--port", "0"};
  (void)state;
  expect_error(ARGC(argv), argv, "for --client");
}

static void test_role_errors(void **state) {
  char *none[] = {"tcpecho"};
  char *quiet_only[] = {"tcpecho", "--quiet"};
  char *both[] = {"tcpecho", "--server", "--client"};
  char *both_short[] = {"tcpecho", "-cs"};
  (void)state;
  expect_error(ARGC(none), none, "one of --server, --client or --bench");
  expect_error(ARGC(quiet_only), quiet_only,
               "one of --server, --client or --bench");
  expect_error(ARGC(both), both, "only one of --server, --client and --bench");
  expect_error(ARGC(both_short), both_short,
               "only one of --server, --client and --bench");
}

static void test_client_only_with_server(void **state) {
  char *msg[] = {"tcpecho", "--server", "--message", "x"};
  char *close_after[] = {"tcpecho", "-t", "1", "-s"};
  char *interval[] = {"tcpecho", "-s", "-i", "1"};
  (void)state;
  expect_error(ARGC(interval), interval, "--interval applies only to --client");
  expect_error(ARGC(msg), msg, "--message applies only to --client");
  expect_error(ARGC(close_after), close_after,
               "--close-after applies only to --client");
}

static void test_syntax_errors(void **state) {
  char *unknown_long[] = {"tcpecho", "--server", "--prot", "80"};
  char *unknown_short[] = {"tcpecho", "-s", "-x"};
  char *missing_long[] = {"tcpecho", "--client", "--port"};
  char *missing_short[] = {"tcpecho", "--client", "-m"};
  char *value_on_flag[] = {"tcpecho", "--server=1"};
  char *operand[] = {"tcpecho", "--server", "extra"};
  char *after_dashes[] = {"tcpecho", "--server", "--", "--quiet"};
  char *lone_dash[] = {"tcpecho", "--server", "-"};
  char *empty_host[] = {"tcpecho", "--client", "--host", ""};
  char *newline[] = {"tcpecho", "--server", "x\ny"};
  char *newline_port[] = {"tcpecho", "--server", "-p", "1\n2"};
  char *newline_opt[] = {"tcpecho", "--a\nb"};
  char *newline_short[] = {"tcpecho", "-\n"};
  (void)state;
  expect_error(ARGC(unknown_long), unknown_long, "unknown option '--prot'");
  expect_error(ARGC(unknown_short), unknown_short, "unknown option '-x'");
  expect_error(ARGC(missing_long), missing_long, "--port needs a value");
  expect_error(ARGC(missing_short), missing_short, "-m needs a value");
  expect_error(ARGC(value_on_flag), value_on_flag, "takes no value");
  expect_error(ARGC(operand), operand, "unexpected argument 'extra'");
  expect_error(ARGC(after_dashes), after_dashes,
               "unexpected argument '--quiet'");
  expect_error(ARGC(lone_dash), lone_dash, "unexpected argument '-'");
  expect_error(ARGC(empty_host), empty_host, "empty value for --host");
  /* The user's text is escaped: the error stays one line. */
  expect_error(ARGC(newline), newline, "unexpected argument 'x\\ny'");
  expect_error(ARGC(newline_port), newline_port, "invalid port '1\\n2'");
  expect_error(ARGC(newline_opt), newline_opt, "unknown option '--a\\nb'");
  expect_error(ARGC(newline_short), newline_short, "unknown option '-\\n'");
}

static void test_server_options(void **state) {
  char *argv[] = {
      "tcpecho", "-s",        "--max-conns",     "100", "--idle-timeout",
      "0.5",     "--stats=2", "--drain-timeout", "0",   NULL};
  char *zero_conns[] = {"tcpecho", "-s", "--max-conns", "0"};
  char *long_idle[] = {"tcpecho", "-s", "--idle-timeout", "2073601"};
  char *on_client[] = {"tcpecho", "-c", "--max-conns", "5"};
  char *on_bench[] = {"tcpecho", "-b", "--stats", "1"};
  options_t o;
  (void)state;
  assert_int_equal(parse(9, argv, &o), OPTIONS_RUN);
  assert_int_equal(o.max_conns, 100);
  assert_int_equal(o.idle_timeout_ms, 500);
  assert_int_equal(o.stats_ms, 2000);
  assert_int_equal(o.drain_timeout_ms, 0);
  assert_int_equal(parse(2, argv, &o), OPTIONS_RUN);
  assert_int_equal(o.max_conns, 0); /* no limit */
  assert_int_equal(o.idle_timeout_ms, 0);
  assert_int_equal(o.drain_timeout_ms, 5000);
  expect_error(ARGC(zero_conns), zero_conns, "from 1 to");
  expect_error(ARGC(long_idle), long_idle, "invalid value '2073601'");
  expect_error(ARGC(on_client), on_client,
               "--max-conns applies only to --server");
  expect_error(ARGC(on_bench), on_bench, "--stats applies only to --server");
}

static void test_client_modes(void **state) {
  char *ping[] = {"tcpecho", "-c", "-n", "5",  "-i",
                  "0.2",     "-S", "64", "-W", "1"};
  char *forever[] = {"tcpecho", "-c", "--forever"};
  char *pipe[] = {"tcpecho", "-c", "--stdin"};
  char *stdin_count[] = {"tcpecho", "-c", "--stdin", "-n", "3"};
  char *stdin_msg[] = {"tcpecho", "-c", "--stdin", "-m", "x"};
  char *ping_close[] = {"tcpecho", "-c", "-n", "3", "-t", "1"};
  char *count_forever[] = {"tcpecho", "-c", "-n", "3", "--forever"};
  char *lone_interval[] = {"tcpecho", "-c", "-i", "1"};
  char *lone_size[] = {"tcpecho", "-c", "-S", "10"};
  char *zero_size[] = {"tcpecho", "-c", "-n", "1", "-S", "0"};
  char *zero_timeout[] = {"tcpecho", "-c", "-n", "1", "-W", "0"};
  char *ping_verbose[] = {"tcpecho", "-c", "-n", "1", "-v"};
  char *bench_zero[] = {"tcpecho", "-b", "-d", "0"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(ping), ping, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PING);
  assert_int_equal(o.count, 5);
  assert_int_equal(o.interval_ms, 200);
  assert_int_equal(o.size, 64);
  assert_int_equal(o.timeout_ms, 1000);
  assert_int_equal(parse(ARGC(forever), forever, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PING);
  assert_int_equal(o.count, 0);
  assert_int_equal(o.interval_ms, 1000);
  assert_int_equal(o.size, 0); /* the message's length */
  assert_int_equal(parse(ARGC(pipe), pipe, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PIPE);
  assert_int_equal(o.timeout_ms, 5000);
  expect_error(ARGC(stdin_count), stdin_count,
               "--stdin and --count cannot be used together");
  expect_error(ARGC(stdin_msg), stdin_msg,
               "--stdin and --message cannot be used together");
  expect_error(ARGC(ping_close), ping_close, "--close-after and --count");
  expect_error(ARGC(count_forever), count_forever,
               "--count and --forever cannot be used together");
  expect_error(ARGC(lone_interval), lone_interval,
               "--interval needs --count or --forever");
  expect_error(ARGC(lone_size), lone_size, "--size needs --count");
  expect_error(ARGC(zero_size), zero_size, "invalid value '0' for -S");
  expect_error(ARGC(zero_timeout), zero_timeout,
               "--timeout must be more than 0");
  expect_error(ARGC(ping_verbose), ping_verbose,
               "--verbose and --count/--forever cannot be used together");
  expect_error(ARGC(bench_zero), bench_zero, "--duration must be more than 0");
}

static void test_bench_options(void **state) {
  char *defaults[] = {"tcpecho", "--bench"};
  char *all[] = {"tcpecho", "-b", "-C",     "100",      "-P",  "8",  "-S",
                 "4096",    "-d", "2.5",    "--warmup", "0",   "-r", "50000",
                 "-T",      "2",  "--json", "-H",       "::1", "-p", "9000"};
  char *msg[] = {"tcpecho", "-b", "-m", "x"};
  char *port0[] = {"tcpecho", "-b", "-p", "0"};
  char *threads0[] = {"tcpecho", "-b", "-T", "0"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(defaults), defaults, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_BENCH);
  assert_string_equal(o.host, "localhost");
  assert_int_equal(o.connections, 1);
  assert_int_equal(o.pipeline, 1);
  assert_int_equal(o.size, 64);
  assert_int_equal(o.duration_ms, 10000);
  assert_int_equal(o.warmup_ms, 1000);
  assert_int_equal(o.rate, 0);
  assert_int_equal(o.threads, 1);
  assert_int_equal(o.json, 0);
  assert_int_equal(parse(ARGC(all), all, &o), OPTIONS_RUN);
  assert_int_equal(o.connections, 100);
  assert_int_equal(o.pipeline, 8);
  assert_int_equal(o.size, 4096);
  assert_int_equal(o.duration_ms, 2500);
  assert_int_equal(o.warmup_ms, 0);
  assert_int_equal(o.rate, 50000);
  assert_int_equal(o.threads, 2);
  assert_int_equal(o.json, 1);
  assert_string_equal(o.host, "::1");
  assert_int_equal(o.port, 9000);
  expect_error(ARGC(msg), msg, "--message applies only to --client");
  expect_error(ARGC(port0), port0, "for --bench");
  expect_error(ARGC(threads0), threads0, "from 1 to 256");
}

static void test_bench_churn_options(void **state) {
  char *churn[] = {"tcpecho", "-b", "--churn"};
  char *churn_n[] = {"tcpecho", "-b", "--churn", "-n", "5"};
  char *count_only[] = {"tcpecho", "-b", "--count", "5"};
  char *zero[] = {"tcpecho", "-b", "--churn", "--count", "0"};
  char *rate[] = {"tcpecho", "-b", "--churn", "-r", "10"};
  char *forever[] = {"tcpecho", "-b", "--churn", "--forever"};
  char *server[] = {"tcpecho", "-s", "--churn"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(churn), churn, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_BENCH);
  assert_int_equal(o.churn, 1);
  assert_int_equal(o.count, 1); /* one message per session by default */
  assert_int_equal(parse(ARGC(churn_n), churn_n, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_BENCH);
  assert_int_equal(o.count, 5);
  expect_error(ARGC(count_only), count_only,
               "--count needs --churn with --bench");
  expect_error(ARGC(zero), zero, "--count must be more than 0 with --churn");
  expect_error(ARGC(rate), rate, "--churn and --rate cannot be used together");
  expect_error(ARGC(forever), forever, "--forever applies only to --client");
  expect_error(ARGC(server), server, "--churn applies only to --bench");
}

static void test_bench_source_ip(void **state) {
  char *three[] = {"tcpecho", "-b", "--source-ip", "127.0.0.2,127.0.0.3,[::1]"};
  char *name[] = {"tcpecho", "-b", "--source-ip", "127.0.0.2,localhost"};
  char *empty[] = {"tcpecho", "-b", "--source-ip", ""};
  char *client[] = {"tcpecho", "-c", "--source-ip", "127.0.0.2"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(three), three, &o), OPTIONS_RUN);
  assert_string_equal(o.source_ips, "127.0.0.2,127.0.0.3,[::1]");
  expect_error(ARGC(name), name,
               "invalid address 'localhost' in --source-ip: expected up to "
               "64 IPv4 or IPv6 addresses, comma-separated");
  expect_error(ARGC(empty), empty, "invalid address '' in --source-ip");
  expect_error(ARGC(client), client, "--source-ip applies only to --bench");
}

static void test_help_and_version(void **state) {
  char *help[] = {"tcpecho", "--server", "--help", "--bogus"};
  char *help_short[] = {"tcpecho", "-h"};
  char *version[] = {"tcpecho", "-V"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(help), help, &o), OPTIONS_HELP);
  assert_int_equal(parse(ARGC(help_short), help_short, &o), OPTIONS_HELP);
  assert_int_equal(parse(ARGC(version), version, &o), OPTIONS_VERSION);
  assert_non_null(strstr(options_usage(), "--close-after S"));
}

/* Durations that round to 0 ms would silently mean "off": refused. */
static void test_durations_below_resolution(void **state) {
  char *stats[] = {"tcpecho", "-s", "--stats", "0.0004"};
  char *idle[] = {"tcpecho", "-s", "--idle-timeout", "0.0004"};
  char *duration[] = {"tcpecho", "-b", "--duration", "0.0001"};
  char *connect[] = {"tcpecho", "-c", "--connect-timeout", "0"};
  char *zero_stats[] = {"tcpecho",        "-s",    "--stats", "0.000",
                        "--idle-timeout", "0.0005"};
  options_t o;
  (void)state;
  expect_error(ARGC(stats), stats,
               "invalid value '0.0004' for --stats: below 1 ms, the "
               "resolution (0 turns it off)");
  expect_error(ARGC(idle), idle, "invalid value '0.0004' for --idle-timeout");
  expect_error(ARGC(duration), duration,
               "invalid value '0.0001' for --duration: below 1 ms");
  expect_error(ARGC(connect), connect, "--connect-timeout must be more than 0");
  /* 0.0005 rounds half up to 1 ms; an explicit 0.000 is "off". */
  assert_int_equal(parse(ARGC(zero_stats), zero_stats, &o), OPTIONS_RUN);
  assert_int_equal(o.stats_ms, 0);
  assert_int_equal(o.idle_timeout_ms, 1);
}

static void test_connect_timeout_and_verbose(void **state) {
  char *client[] = {"tcpecho", "-c"};
  char *ping[] = {"tcpecho", "-c", "-n", "1", "--connect-timeout", "0.25"};
  char *pipe[] = {"tcpecho", "-c", "--stdin", "--connect-timeout=2", "-W", "3"};
  char *bench[] = {"tcpecho", "-b", "--connect-timeout", "1", "-v"};
  char *server_v[] = {"tcpecho", "-sv"};
  char *server_ct[] = {"tcpecho", "-s", "--connect-timeout", "1"};
  char *pipe_v[] = {"tcpecho", "-c", "--stdin", "-v"};
  char *lone_timeout[] = {"tcpecho", "-c", "-W", "1"};
  options_t o;
  (void)state;
  assert_int_equal(parse(ARGC(client), client, &o), OPTIONS_RUN);
  assert_int_equal(o.connect_timeout_ms, 10000);
  assert_int_equal(parse(ARGC(ping), ping, &o), OPTIONS_RUN);
  assert_int_equal(o.connect_timeout_ms, 250);
  assert_int_equal(parse(ARGC(pipe), pipe, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_PIPE);
  assert_int_equal(o.connect_timeout_ms, 2000);
  assert_int_equal(o.timeout_ms, 3000);
  assert_int_equal(parse(ARGC(bench), bench, &o), OPTIONS_RUN);
  assert_int_equal(o.connect_timeout_ms, 1000);
  assert_true(o.verbose);
  assert_int_equal(parse(ARGC(server_v), server_v, &o), OPTIONS_RUN);
  assert_int_equal(o.mode, MODE_SERVER);
  assert_true(o.verbose);
  expect_error(ARGC(server_ct), server_ct,
               "--connect-timeout applies only to --client and --bench");
  expect_error(ARGC(pipe_v), pipe_v,
               "--stdin and --verbose cannot be used together");
  expect_error(ARGC(lone_timeout), lone_timeout,
               "--timeout needs --count or --forever (or --stdin)");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_durations_below_resolution),
      cmocka_unit_test(test_connect_timeout_and_verbose),
      cmocka_unit_test(test_server_defaults),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_bench_merge),
      cmocka_unit_test(test_udp),
      cmocka_unit_test(test_udp_ping),
      cmocka_unit_test(test_bench_udp),
      cmocka_unit_test(test_quiet_twice),
      cmocka_unit_test(test_client_defaults),
      cmocka_unit_test(test_long_forms),
      cmocka_unit_test(test_short_forms),
      cmocka_unit_test(test_server_port_zero_and_repeat),
      cmocka_unit_test(test_close_after_values),
      cmocka_unit_test(test_bad_close_after),
      cmocka_unit_test(test_bad_ports),
      cmocka_unit_test(test_client_port_zero),
      cmocka_unit_test(test_role_errors),
      cmocka_unit_test(test_client_only_with_server),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_server_options),
      cmocka_unit_test(test_client_modes),
      cmocka_unit_test(test_bench_options),
      cmocka_unit_test(test_bench_churn_options),
      cmocka_unit_test(test_bench_source_ip),
      cmocka_unit_test(test_help_and_version),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
