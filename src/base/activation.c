#include "base/activation.h"

#include "base/addr.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A decimal number from 1 to max, digits only: no sign, no space. */
static int parse_positive(const char *s, unsigned long max,
                          unsigned long *out) {
  unsigned long v = 0;
  if (s == NULL || *s == '\0')
    return -1;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return -1;
    v = v * 10 + (unsigned long)(*s - '0');
    if (v > max)
      return -1;
  }
  if (v == 0)
    return -1;
  *out = v;
  return 0;
}

activation_status_t activation_parse(const char *listen_pid,
                                     const char *listen_fds, uv_pid_t pid,
                                     unsigned *count) {
  unsigned long for_pid, n;

  *count = 0;
  if (listen_pid == NULL)
    return ACTIVATION_NONE;
  if (parse_positive(listen_pid, 0x7fffffffUL, &for_pid) != 0)
    return ACTIVATION_BAD_PID;
  if (for_pid != (unsigned long)pid || listen_fds == NULL)
    return ACTIVATION_NONE; /* a parent's, handed down by mistake */
  if (parse_positive(listen_fds, ACTIVATION_MAX_SOCKETS, &n) != 0)
    return ACTIVATION_BAD_COUNT;
  *count = (unsigned)n;
  return ACTIVATION_PASSED;
}

void activation_name(const char *names, unsigned index, char *buf,
                     size_t size) {
  size_t len;
  const char *end;

  if (size == 0)
    return;
  buf[0] = '\0';
  for (; names != NULL && index > 0; index--) {
    names = strchr(names, ':');
    if (names != NULL)
      names++;
  }
  if (names == NULL)
    return;
  end = strchr(names, ':');
  len = end != NULL ? (size_t)(end - names) : strlen(names);
  if (len > size - 1)
    len = size - 1;
  memcpy(buf, names, len);
  buf[len] = '\0';
}

unsigned activation_count_of(const activation_t *a,
                             platform_socket_kind_t kind) {
  unsigned i, n = 0;
  for (i = 0; i < a->count; i++)
    n += a->sockets[i].kind == kind;
  return n;
}

static const char *kind_text(platform_socket_kind_t kind) {
  switch (kind) {
  case PLATFORM_SOCKET_TCP:
    return "TCP ";
  case PLATFORM_SOCKET_UDP:
    return "UDP ";
  case PLATFORM_SOCKET_NONE:
    return "not a socket";
  case PLATFORM_SOCKET_OTHER:
    break;
  }
  return "a socket other than TCP or UDP";
}

/* Appends to buf what snprintf would write at its end, cut at size. */
static void append(char *buf, size_t size, const char *a, const char *b,
                   const char *c) {
  size_t used = strlen(buf);
  if (used + 1 < size)
    snprintf(buf + used, size - used, "%s%s%s", a, b, c);
}

void activation_describe(const activation_t *a, char *buf, size_t size) {
  char fd[32], name[LOG_ESCAPED_SIZE], where[ADDR_STR_SIZE];
  unsigned i;

  if (size == 0)
    return;
  buf[0] = '\0';
  for (i = 0; i < a->count; i++) {
    const activation_socket_t *s = &a->sockets[i];
    snprintf(fd, sizeof(fd), "%sfd %d", i > 0 ? ", " : "",
             ACTIVATION_FIRST_FD + (int)i);
    append(buf, size, fd, "", "");
    if (s->name[0] != '\0') {
      log_escape(name, sizeof(name), s->name, strlen(s->name));
      append(buf, size, " (", name, ")");
    }
    where[0] = '\0';
    if (s->kind == PLATFORM_SOCKET_TCP || s->kind == PLATFORM_SOCKET_UDP)
      (void)addr_format((const struct sockaddr *)&s->local, where,
                        sizeof(where));
    append(buf, size, ": ", kind_text(s->kind), where);
  }
}

/* The variable's value, copied (removing it may free it); NULL if unset.
 * One too long to be valid is cut and ends in "...". */
static const char *env_copy(const char *name, char *buf, size_t size) {
  const char *v = getenv(name);
  size_t len;
  if (v == NULL)
    return NULL;
  len = strlen(v);
  if (len < size) {
    memcpy(buf, v, len + 1);
  } else {
    memcpy(buf, v, size - 4);
    memcpy(buf + size - 4, "...", 4);
  }
  return buf;
}

/* A value for a log line: escaped, since anyone may set it. */
static const char *shown(char *buf, const char *value) {
  log_escape(buf, LOG_ESCAPED_SIZE, value, strlen(value));
  return buf;
}

int activation_take(activation_t *a) {
  char pid_buf[32], fds_buf[32], q[LOG_ESCAPED_SIZE];
  const char *pid, *fds, *names;
  activation_status_t status;
  unsigned i, n;

  a->count = 0;
  if (!platform_inherits_sockets())
    return 0;
  pid = env_copy("LISTEN_PID", pid_buf, sizeof(pid_buf));
  fds = env_copy("LISTEN_FDS", fds_buf, sizeof(fds_buf));
  names = getenv("LISTEN_FDNAMES");
  status = activation_parse(pid, fds, uv_os_getpid(), &n);
  for (i = 0; status == ACTIVATION_PASSED && i < n; i++)
    activation_name(names, i, a->sockets[i].name, ACTIVATION_NAME_SIZE);
  (void)uv_os_unsetenv("LISTEN_PID");
  (void)uv_os_unsetenv("LISTEN_FDS");
  (void)uv_os_unsetenv("LISTEN_FDNAMES");

  switch (status) {
  case ACTIVATION_NONE:
    return 0;
  case ACTIVATION_BAD_PID:
    log_line("socket activation: invalid LISTEN_PID '%s': expected a "
             "process ID",
             shown(q, pid));
    return -1;
  case ACTIVATION_BAD_COUNT:
    log_line("socket activation: invalid LISTEN_FDS '%s': expected a "
             "number of sockets from 1 to %d",
             shown(q, fds), ACTIVATION_MAX_SOCKETS);
    return -1;
  case ACTIVATION_PASSED:
    break;
  }
  for (i = 0; i < n; i++) {
    activation_socket_t *s = &a->sockets[i];
    int fd = ACTIVATION_FIRST_FD + (int)i;
    if (platform_inherited_socket(fd, &s->sock) != 0) {
      log_line("socket activation: LISTEN_FDS is %u but descriptor %d is "
               "not open",
               n, fd);
      return -1;
    }
    s->kind = platform_socket_kind(s->sock, &s->local);
  }
  a->count = n;
  return 0;
}
