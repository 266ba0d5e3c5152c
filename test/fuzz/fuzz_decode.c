/* fuzz_decode.c — libFuzzer target over lib/decode.c: the first byte picks
 * the coding (gzip, deflate, br, zstd) and a split step, the rest is the
 * encoded body. The body is decoded whole and in pieces of the step's
 * size; both must give the same bytes (and, when neither finds the data
 * corrupt, the same completeness), with bounded memory. Run: make fuzz. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (8u << 20)

typedef struct { buf_t b; size_t total; } got_t;

/* every byte counted; the first OUT_CAP kept */
static int collect(void *arg, const char *p, size_t n)
{
    got_t *g = arg;
    g->total += n;
    size_t room = OUT_CAP - buf_len(&g->b);
    buf_append(&g->b, p, n < room ? n : room);
    return 0;
}

/* 0 ok, 1 corrupt; *complete; out gets the bytes (up to OUT_CAP) */
static int run(const char *enc, const uint8_t *p, size_t n, size_t step, got_t *out, int *complete)
{
    decoder_t *d = decoder_new(enc);
    if (!d) abort();
    int bad = 0;
    for (size_t at = 0; at < n && !bad;) {
        size_t k = step && n - at > step ? step : n - at;
        bad = decoder_feed(d, (const char *)p + at, k, collect, out) != 0;
        at += k;
    }
    *complete = decoder_complete(d);
    decoder_free(d);
    return bad;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const enc[] = { "gzip", "deflate", "br", "zstd" };
    if (size < 1) return 0;
    const char *e = enc[data[0] & 3];
    size_t step = (size_t)(data[0] >> 2) + 1;   /* 1..64 */
    got_t a = { .total = 0 }, b = { .total = 0 };
    buf_init(&a.b, 0);
    buf_init(&b.b, 0);
    int ca, cb;
    int ra = run(e, data + 1, size - 1, 0, &a, &ca);
    int rb = run(e, data + 1, size - 1, step, &b, &cb);
    /* the bytes agree as far as both got; when both decode, they are the
     * same bytes with the same completeness. Whether a corrupt stream is
     * found corrupt can depend on the split in the libraries themselves
     * (libzstd 1.5.4 checks a frame's declared content size only when the
     * frame's end comes in the same call as its last block), so the
     * verdicts may differ; what was decoded may not. */
    size_t common = buf_len(&a.b) < buf_len(&b.b) ? buf_len(&a.b) : buf_len(&b.b);
    if (memcmp(buf_ptr(&a.b), buf_ptr(&b.b), common)) abort();
    if (!ra && !rb && (a.total != b.total || ca != cb)) abort();
    buf_free(&a.b);
    buf_free(&b.b);
    return 0;
}
