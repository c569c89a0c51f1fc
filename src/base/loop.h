/* Running a libuv loop to its end, the same way in every mode and thread. */
#ifndef TCPECHO_LOOP_H
#define TCPECHO_LOOP_H

#include <uv.h>

/* Runs loop until nothing is left on it, then closes it; a handle still
 * open at that point (one nobody closed) is closed first. */
void loop_run_to_end(uv_loop_t *loop);

#endif
