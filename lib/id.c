/* id.c — UUIDv7 exchange ids (RFC 9562 §5.7). Layout:
 *   48 bits unix_ts_ms | 4 bits version 7 | 12 bits rand_a |
 *   2 bits variant 10 | 62 bits rand_b (getrandom).
 * rand_a holds the sub-millisecond fraction (RFC 9562 §6.2 method 3) and
 * doubles as a counter: when a new id would not sort after the previous
 * one of this process (same µs, clock step back), it takes the previous
 * (ms, rand_a) plus one, carrying into the millisecond. Not thread-safe. */
#include "id.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static uint64_t last_ms;
static unsigned last_seq; /* 12 bits */
static int have_last;

/* Randomness comes from getrandom in batches (one syscall per 64 ids); a
 * fork empties the batch so that parent and child never share bytes. */
static unsigned char pool[512];
static size_t pool_left;
static int atfork_set;

static void pool_forget(void)
{
    pool_left = 0;
}

static int fill(unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int random_bytes(unsigned char *p, size_t n)
{
    if (!atfork_set) {
        pthread_atfork(NULL, NULL, pool_forget);
        atfork_set = 1;
    }
    if (n > sizeof pool) return fill(p, n);
    if (pool_left < n) {
        if (fill(pool, sizeof pool) != 0) return -1;
        pool_left = sizeof pool;
    }
    memcpy(p, pool + sizeof pool - pool_left, n);
    memset(pool + sizeof pool - pool_left, 0, n);
    pool_left -= n;
    return 0;
}

/* Pick (ms, seq) for wall_us so that it sorts after the previous id. */
static void next_stamp(int64_t wall_us, uint64_t *ms, unsigned *seq)
{
    if (wall_us < 0)
        wall_us = 0;
    uint64_t m = ((uint64_t)wall_us / 1000) & 0xFFFFFFFFFFFFULL;
    unsigned s = (unsigned)(((uint64_t)wall_us % 1000) * 4096 / 1000);
    if (have_last && (m < last_ms || (m == last_ms && s <= last_seq))) {
        m = last_ms;
        s = last_seq + 1;
        if (s > 0xFFF) {
            s = 0;
            m = (m + 1) & 0xFFFFFFFFFFFFULL;
        }
    }
    last_ms = m;
    last_seq = s;
    have_last = 1;
    *ms = m;
    *seq = s;
}

static void format_uuid(const unsigned char b[16], char out[ID_LEN])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

int id_new(int64_t wall_us, char out[ID_LEN])
{
    unsigned char b[16];
    if (random_bytes(b + 8, 8) != 0)
        return -1;
    uint64_t ms;
    unsigned seq;
    next_stamp(wall_us, &ms, &seq);
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (40 - 8 * i));
    b[6] = (unsigned char)(0x70 | (seq >> 8));
    b[7] = (unsigned char)(seq & 0xFF);
    b[8] = (unsigned char)(0x80 | (b[8] & 0x3F));
    format_uuid(b, out);
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int id_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < 36; i++) {
        int dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return 0;
    }
    return s[36] == '\0';
}
