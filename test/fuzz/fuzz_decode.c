/* fuzz_decode.c — libFuzzer target over lib/decode.c: the first byte picks
 * the coding (gzip, deflate, br, zstd) and a split step, the rest is the
 * encoded body. The body is decoded whole and in pieces of the step's
 * size; both must give the same bytes, the same verdict (corrupt or not)
 * and the same completeness, with bounded memory. Run: make fuzz. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_CAP (8u << 20)

static void collect(void *arg, const char *p, size_t n)
{
    buf_t *b = arg;
    if (buf_len(b) + n <= OUT_CAP) buf_append(b, p, n);
}

/* 0 ok, 1 corrupt; *complete; out gets the bytes (up to OUT_CAP) */
static int run(const char *enc, const uint8_t *p, size_t n, size_t step, buf_t *out, int *complete)
{
    decoder_t *d = decoder_new(enc);
    if (!d) abort();
    int bad = 0;
    for (size_t at = 0; at < n && !bad;) {
        size_t k = step && n - at > step ? step : n - at;
        bad = decoder_feed(d, (const char *)p + at, k, collect, out) < 0;
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
    buf_t a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    int ca, cb;
    int ra = run(e, data + 1, size - 1, 0, &a, &ca);
    int rb = run(e, data + 1, size - 1, step, &b, &cb);
    /* the same verdict; when both decode, the same bytes and completeness.
     * (A corrupt stream may give a few more bytes whole than in pieces
     * before the error is seen, so only the common prefix must agree.) */
    if (ra != rb) abort();
    size_t common = buf_len(&a) < buf_len(&b) ? buf_len(&a) : buf_len(&b);
    if (memcmp(buf_ptr(&a), buf_ptr(&b), common)) abort();
    if (!ra && (buf_len(&a) != buf_len(&b) || ca != cb)) abort();
    buf_free(&a);
    buf_free(&b);
    return 0;
}
