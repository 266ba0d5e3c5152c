/* decode.c — streaming Content-Encoding decoders (zlib, brotli, zstd). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <brotli/decode.h>
#include "decode.h"

enum kind { K_GZIP, K_DEFLATE, K_BR, K_ZSTD };

struct decoder {
    enum kind kind;
    int failed, complete;
    z_stream z;
    int zinit;
    int have_first;            /* deflate: a first byte alone, kept */
    unsigned char first;       /* (zlib or raw is told by the first two) */
    BrotliDecoderState *br;
    ZSTD_DStream *zs;
    unsigned char zmagic[4];   /* zstd: the first bytes of the frame begun */
    size_t zmagic_have;
};

#define OUT_BLOCK 16384
/* RFC 9659: a "zstd" content coding uses a window of at most 8 MiB; a
 * frame asking for more is refused rather than given the memory */
#define ZSTD_WINDOW_LOG_MAX 23

static int kind_of(const char *enc, enum kind *k)
{
    if (!enc) return -1;
    while (*enc == ' ' || *enc == '\t') enc++;
    size_t n = strlen(enc);
    while (n && (enc[n - 1] == ' ' || enc[n - 1] == '\t')) n--;
    static const struct { const char *name; enum kind k; } t[] = {
        { "gzip", K_GZIP }, { "x-gzip", K_GZIP }, { "deflate", K_DEFLATE },
        { "br", K_BR }, { "zstd", K_ZSTD },
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strlen(t[i].name) == n && !strncasecmp(enc, t[i].name, n)) { *k = t[i].k; return 0; }
    return -1;
}

int decode_supported(const char *enc)
{
    enum kind k;
    return kind_of(enc, &k) == 0;
}

decoder_t *decoder_new(const char *enc)
{
    enum kind k;
    if (kind_of(enc, &k) < 0) return NULL;
    decoder_t *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->kind = k;
    if (k == K_GZIP) {
        if (inflateInit2(&d->z, 15 + 16) != Z_OK) { free(d); return NULL; }
        d->zinit = 1;
    } else if (k == K_BR) {
        d->br = BrotliDecoderCreateInstance(NULL, NULL, NULL);
        if (!d->br) { free(d); return NULL; }
    } else if (k == K_ZSTD) {
        d->zs = ZSTD_createDStream();
        if (!d->zs || ZSTD_isError(ZSTD_initDStream(d->zs)) ||
            ZSTD_isError(ZSTD_DCtx_setParameter(d->zs, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
            ZSTD_freeDStream(d->zs);
            free(d);
            return NULL;
        }
    }
    return d;
}

void decoder_free(decoder_t *d)
{
    if (!d) return;
    if (d->zinit) inflateEnd(&d->z);
    if (d->br) BrotliDecoderDestroyInstance(d->br);
    if (d->zs) ZSTD_freeDStream(d->zs);
    free(d);
}

int decoder_complete(const decoder_t *d) { return d->complete && !d->failed; }

static int feed_zlib(decoder_t *d, const unsigned char *p, size_t n, decode_out_fn out, void *arg)
{
    char blk[OUT_BLOCK];
    if (!d->zinit) {
        /* deflate: RFC 9110 says the zlib format; some servers send raw
         * deflate. A zlib header: method 8 in CMF, CMF*256+FLG a multiple of 31. */
        int zlib = (p[0] & 0x0f) == 8 && ((p[0] << 8) | p[1]) % 31 == 0;
        if (inflateInit2(&d->z, zlib ? 15 : -15) != Z_OK) return -1;
        d->zinit = 1;
    }
    d->z.next_in = (Bytef *)(uintptr_t)p;
    d->z.avail_in = (uInt)n;
    for (;;) {
        if (d->complete) {
            if (!d->z.avail_in) return 0;
            /* bytes after the end: the next gzip member, else not ours */
            if (d->kind != K_GZIP || inflateReset(&d->z) != Z_OK) return -1;
            d->complete = 0;
        }
        d->z.next_out = (Bytef *)blk;
        d->z.avail_out = sizeof blk;
        int rc = inflate(&d->z, Z_NO_FLUSH);
        size_t got = sizeof blk - d->z.avail_out;
        if (got && out(arg, blk, got)) return 1;
        if (rc == Z_STREAM_END) { d->complete = 1; continue; }
        if (rc == Z_BUF_ERROR) return 0;                     /* wants more input */
        if (rc != Z_OK) return -1;
        if (!d->z.avail_in && d->z.avail_out) return 0;
    }
}

static int feed_br(decoder_t *d, const unsigned char *p, size_t n, decode_out_fn out, void *arg)
{
    char blk[OUT_BLOCK];
    size_t in_left = n;
    const uint8_t *in = p;
    for (;;) {
        size_t out_left = sizeof blk;
        uint8_t *o = (uint8_t *)blk;
        BrotliDecoderResult r = BrotliDecoderDecompressStream(d->br, &in_left, &in, &out_left, &o, NULL);
        if (sizeof blk - out_left && out(arg, blk, sizeof blk - out_left)) return 1;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) continue;
        if (r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT) {
            /* all input taken; what it decoded may still be held */
            if (out_left < sizeof blk && BrotliDecoderHasMoreOutput(d->br)) continue;
            return 0;
        }
        if (r == BROTLI_DECODER_RESULT_SUCCESS && !d->complete) { d->complete = 1; return in_left ? -1 : 0; }
        return -1;
    }
}

/* RFC 8878's frames: a Zstandard frame or a skippable one. The library
 * also takes the legacy formats of zstd 0.x, whose streaming decoders find
 * a fault or not depending on how the bytes are split: not a content coding. */
static int zstd_magic_ok(const unsigned char *m)
{
    uint32_t v = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
    return v == 0xFD2FB528u || (v & 0xFFFFFFF0u) == 0x184D2A50u;
}

static int feed_zstd(decoder_t *d, const unsigned char *p, size_t n, decode_out_fn out, void *arg)
{
    char blk[OUT_BLOCK];
    ZSTD_inBuffer in = { p, n, 0 };
    for (;;) {
        if (d->zmagic_have < 4 && in.pos < in.size) {   /* a frame begins: look at its magic */
            size_t k = 4 - d->zmagic_have < in.size - in.pos ? 4 - d->zmagic_have : in.size - in.pos;
            memcpy(d->zmagic + d->zmagic_have, p + in.pos, k);
            d->zmagic_have += k;
            if (d->zmagic_have == 4 && !zstd_magic_ok(d->zmagic)) return -1;
        }
        ZSTD_outBuffer o = { blk, sizeof blk, 0 };
        size_t r = ZSTD_decompressStream(d->zs, &o, &in);
        if (ZSTD_isError(r)) return -1;
        if (o.pos && out(arg, blk, o.pos)) return 1;
        d->complete = r == 0;              /* a frame ended and all of it is out */
        if (r == 0) d->zmagic_have = 0;    /* what follows begins another */
        if (in.pos == in.size && o.pos < o.size) return 0;
    }
}

int decoder_feed(decoder_t *d, const char *p, size_t n, decode_out_fn out, void *arg)
{
    const unsigned char *u = (const unsigned char *)p;
    if (d->failed) return -1;   /* also after a stop */
    if (n == 0) return 0;
    int rc;
    if (d->kind == K_DEFLATE && !d->zinit) {
        if (!d->have_first && n == 1) { d->first = u[0]; d->have_first = 1; return 0; }
        if (d->have_first) {
            unsigned char two[2] = { d->first, u[0] };
            d->have_first = 0;
            rc = feed_zlib(d, two, 2, out, arg);
            if (rc == 0 && n > 1) rc = feed_zlib(d, u + 1, n - 1, out, arg);
        } else {
            rc = feed_zlib(d, u, n, out, arg);
        }
    } else if (d->kind == K_GZIP || d->kind == K_DEFLATE) {
        rc = feed_zlib(d, u, n, out, arg);
    } else if (d->kind == K_BR) {
        rc = feed_br(d, u, n, out, arg);
    } else {
        rc = feed_zstd(d, u, n, out, arg);
    }
    if (rc) d->failed = 1;             /* corrupt, or stopped: no more decoding */
    return rc;
}
