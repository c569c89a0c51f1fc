#ifndef TCPECHO_CONTAINER_OF_H
#define TCPECHO_CONTAINER_OF_H

#include <stddef.h>

/* The struct that embeds a libuv handle or request, from the handle's
 * address: handles live inside the structs that own them. */
#define container_of(ptr, type, member)                                        \
  ((type *)((char *)(ptr)-offsetof(type, member)))

#endif
