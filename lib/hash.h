/* hash.h — the one hash for the toolkit's in-memory tables: FNV-1a over
 * bytes, with a final fold of the high bits into the low ones (tables use
 * the low bits). */
#ifndef PLLM_HASH_H
#define PLLM_HASH_H
#include <stddef.h>
#include <stdint.h>

static inline uint64_t hash_fnv1a(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ull; }
    return h ^ (h >> 29);
}

#endif
