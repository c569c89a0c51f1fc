/* systemd's socket activation (sd_listen_fds(3), a stable interface): a
 * service manager that opened the listening sockets itself starts the
 * service with them as descriptors 3, 4, ... and says so in the
 * environment:
 *   LISTEN_PID      the process they are for; any other leaves them alone
 *   LISTEN_FDS      how many there are
 *   LISTEN_FDNAMES  optionally their names, separated by ':'
 * Reading the variables is pure (activation_parse, activation_name: tested
 * without sockets); activation_take reads the environment and asks the
 * platform what each socket is, for the caller to decide what it serves. */
#ifndef TCPECHO_ACTIVATION_H
#define TCPECHO_ACTIVATION_H

#include "base/platform.h"

#include <stddef.h>
#include <uv.h>

#define ACTIVATION_FIRST_FD 3
/* More than a service is ever given; the server takes one. */
#define ACTIVATION_MAX_SOCKETS 16
#define ACTIVATION_NAME_SIZE 64

typedef enum {
  ACTIVATION_NONE,     /* not for this process: unset, or another's pid */
  ACTIVATION_PASSED,   /* *count sockets are this process's */
  ACTIVATION_BAD_PID,  /* LISTEN_PID is not a process ID */
  ACTIVATION_BAD_COUNT /* LISTEN_FDS is not 1 to ACTIVATION_MAX_SOCKETS */
} activation_status_t;

/* Reads the values of LISTEN_PID and LISTEN_FDS (NULL: unset) for the
 * process pid. Both must be decimal numbers, nothing else; LISTEN_FDS is
 * looked at only when LISTEN_PID is pid, and its absence then means none
 * (as sd_listen_fds has it). */
activation_status_t activation_parse(const char *listen_pid,
                                     const char *listen_fds, uv_pid_t pid,
                                     unsigned *count);

/* The index-th name (from 0) of LISTEN_FDNAMES's value names, cut to size
 * - 1 bytes; "" when names is NULL or has no such field. */
void activation_name(const char *names, unsigned index, char *buf, size_t size);

typedef struct activation_socket_s {
  uv_os_sock_t sock; /* descriptor ACTIVATION_FIRST_FD + its index */
  platform_socket_kind_t kind;
  struct sockaddr_storage local;   /* TCP and UDP: the address it has */
  char name[ACTIVATION_NAME_SIZE]; /* from LISTEN_FDNAMES; "" if none */
} activation_socket_t;

/* The sockets passed to this process, by kind: a TCP server takes its
 * listener from here, a UDP one would take its socket likewise. */
typedef struct activation_s {
  unsigned count; /* 0: started without socket activation */
  activation_socket_t sockets[ACTIVATION_MAX_SOCKETS];
} activation_t;

/* How many of a's sockets are of kind. */
unsigned activation_count_of(const activation_t *a,
                             platform_socket_kind_t kind);

/* The sockets for a log line, as "fd 3: TCP 127.0.0.1:8000, fd 4
 * (tcpecho.socket): UDP [::]:8000"; names escaped as log_escape does. */
void activation_describe(const activation_t *a, char *buf, size_t size);

/* Reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES and removes them from
 * the environment, as sd_listen_fds(1) does, so that no program this
 * process starts takes the sockets for its own: call it while the process
 * has one thread (the environment is not thread-safe). Fills a with the
 * sockets passed to this process, each marked close-on-exec. Returns 0
 * (a->count 0 when none was passed; always so where the platform has no
 * such thing, whose environment is left alone), or -1 after logging why
 * the variables cannot be used. */
int activation_take(activation_t *a);

#endif
