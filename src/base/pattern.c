#include "base/pattern.h"

#include <string.h>

/* 2^64 / golden ratio, odd: k * GAMMA visits every 64-bit value once. */
#define GAMMA UINT64_C(0x9e3779b97f4a7c15)
/* Odd too; not GAMMA, so that the seeds are not the blocks of a stream. */
#define SEED_STEP UINT64_C(0xd1b54a32d192ed03)

/* splitmix64's finaliser: a bijection, each input bit flips about half of
 * the output bits. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static uint64_t block_of(uint64_t seed, uint64_t k) {
  return mix64(seed ^ ((k + 1) * GAMMA));
}

/* Little-endian whatever the host; compilers make these one load or store. */
static void store_le64(unsigned char *p, uint64_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
  p[4] = (unsigned char)(v >> 32);
  p[5] = (unsigned char)(v >> 40);
  p[6] = (unsigned char)(v >> 48);
  p[7] = (unsigned char)(v >> 56);
}

static uint64_t load_le64(const unsigned char *p) {
  return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
         (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
         (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Each pass handles one block: a whole one in place, or the part of it that
 * the unaligned start or the end of the range covers. */
void pattern_fill(uint64_t seed, uint64_t offset, void *buf, size_t len) {
  unsigned char *p = buf;
  unsigned char block[8];
  uint64_t k = offset / 8;
  size_t skip = (size_t)(offset % 8);
  size_t n;

  for (; len > 0; p += n, len -= n, skip = 0) {
    uint64_t z = block_of(seed, k++);
    n = 8 - skip < len ? 8 - skip : len;
    if (n == 8) {
      store_le64(p, z);
    } else {
      store_le64(block, z);
      memcpy(p, block + skip, n);
    }
  }
}

size_t pattern_check(uint64_t seed, uint64_t offset, const void *buf,
                     size_t len) {
  const unsigned char *p = buf;
  unsigned char block[8];
  uint64_t k = offset / 8;
  size_t skip = (size_t)(offset % 8);
  size_t done, n, i;

  for (done = 0; done < len; done += n, skip = 0) {
    uint64_t want = block_of(seed, k++);
    n = 8 - skip < len - done ? 8 - skip : len - done;
    if (n == 8 && load_le64(p + done) == want)
      continue;
    store_le64(block, want);
    for (i = 0; i < n; i++) {
      if (p[done + i] != block[skip + i])
        return done + i;
    }
  }
  return len;
}

uint64_t pattern_seed(uint64_t base, uint64_t connection_index) {
  return mix64(mix64(base) ^ ((connection_index + 1) * SEED_STEP));
}
