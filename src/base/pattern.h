/* The pseudo-random byte stream a load-generator connection sends, so that
 * every echoed byte can be checked without keeping what was sent.
 *
 * Counter-based: 8-byte block k of stream `seed` is splitmix64's finaliser
 * applied to seed ^ ((k + 1) * 0x9e3779b97f4a7c15), stored little-endian.
 * Stream 0 is thus the splitmix64 sequence seeded with 0. The bytes are the
 * same on every platform, and any range can be made or checked at any offset
 * at the cost of one 64-bit mix per 8 bytes. */
#ifndef TCPECHO_PATTERN_H
#define TCPECHO_PATTERN_H

#include <stddef.h>
#include <stdint.h>

/* Byte i of stream `seed` is a pure function of (seed, i): fill and check
 * any range at any offset. Writes bytes offset .. offset + len - 1. */
void pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len);

/* Returns len if buf equals the stream at offset, else the index in buf of
 * the first differing byte. */
size_t pattern_check(uint64_t seed, uint64_t offset, const void *buf,
                     size_t len);

/* A well-mixed seed for each connection of a run: distinct for distinct
 * connection_index under one base. */
uint64_t pattern_seed(uint64_t base, uint64_t connection_index);

#endif
