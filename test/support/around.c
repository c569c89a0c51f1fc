#include "around.h"

#include "base/platform.h"

#include <stdio.h>
#include <string.h>

static uv_loop_t *loop;

uv_loop_t *around_loop(void) {
  return loop;
}

uint64_t loop_now_ms(void) {
  uv_update_time(loop);
  return uv_now(loop);
}

static int never(proc_t *p, const void *arg) {
  (void)p;
  (void)arg;
  return 0;
}

void loop_pause_ms(uint64_t ms) {
  proc_t none;
  memset(&none, 0, sizeof(none));
  run_until(never, &none, NULL, ms);
}

void fmt_port(char *buf, size_t size, int port) {
  snprintf(buf, size, "%d", port);
}

int has_exited(proc_t *p, const void *arg) {
  (void)arg;
  return is_finished(p, NULL);
}

static int out_has(proc_t *p, const void *needle) {
  return strstr(p->out, needle) != NULL;
}

void wait_out(proc_t *p, const char *needle) {
  if (!run_until(out_has, p, needle, 60000))
    fail_msg("no '%s' on standard output; it has:\n%s", needle, p->out);
}

int windows_test(void) {
#ifdef _WIN32
  return 1;
#else
  return 0;
#endif
}

void start_under_sh(proc_t *p, const char *before, const char *after,
                    const char **args) {
  char script[160];
  const char *argv[40];
  int n = 0, i;
  snprintf(script, sizeof(script), "%s exec \"$0\" \"$@\" %s", before, after);
  argv[n++] = "sh";
  argv[n++] = "-c";
  argv[n++] = script;
  argv[n++] = proc_tcpecho_path();
  for (i = 0; args[i] != NULL && n < 39; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  proc_spawn(p, argv);
}

int free_port(void) {
  uv_tcp_t tcp;
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss), port;
  assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(uv_tcp_init(loop, &tcp), 0);
  assert_int_equal(uv_tcp_bind(&tcp, (const struct sockaddr *)&addr, 0), 0);
  assert_int_equal(uv_tcp_getsockname(&tcp, (struct sockaddr *)&ss, &len), 0);
  port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  uv_close((uv_handle_t *)&tcp, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return port;
}

int around_main(int argc, char **argv, const char *group,
                const struct CMUnitTest *tests, size_t count) {
  int rc;
  if (argc < 2) {
    fprintf(stderr, "usage: %s PATH_TO_TCPECHO [TEST_NAME_PATTERN]\n", argv[0]);
    return 2;
  }
  platform_ignore_sigpipe(); /* fake servers write to closed peers */
  loop = uv_default_loop();
  proc_setup(loop, argv[1], NULL);
  if (argc > 2)
    cmocka_set_test_filter(argv[2]);
  rc = _cmocka_run_group_tests(group, tests, count, NULL, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return rc;
}
