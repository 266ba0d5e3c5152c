/* test_decode.c — unit tests for lib/decode.c: every coding round-trips
 * whole and fed byte by byte, deflate in both the zlib and the raw form,
 * concatenated gzip members and zstd frames, streams cut short, corrupt
 * and trailing bytes, the zstd window limit, and the coding names. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <brotli/encode.h>

#include "buf.h"
#include "decode.h"

static int collect(void *arg, const char *p, size_t n) { assert_int_equal(buf_append(arg, p, n), 0); return 0; }

/* the codings a decoder is made for */
static const char *const codings[] = { "gzip", "deflate", "br", "zstd" };

static char *sample(size_t n)
{
    static const char text[] = "data: {\"choices\":[]}\n\n";
    char *s = malloc(n);
    unsigned x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = (i % 97 < 60) ? text[i % (sizeof text - 1)] : (char)(x >> 16);
    }
    return s;
}

/* zlib's deflate: window 31 = gzip, 15 = zlib, -15 = raw */
static size_t zcompress(const char *in, size_t n, int window, char *out, size_t cap)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, window, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in; z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out; z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    return len;
}

static size_t compress_as(const char *enc, const char *in, size_t n, char *out, size_t cap)
{
    if (!strcmp(enc, "gzip")) return zcompress(in, n, 31, out, cap);
    if (!strcmp(enc, "deflate")) return zcompress(in, n, 15, out, cap);
    if (!strcmp(enc, "raw")) return zcompress(in, n, -15, out, cap);
    if (!strcmp(enc, "br")) {
        size_t len = cap;
        assert_int_equal(BrotliEncoderCompress(5, 22, BROTLI_MODE_GENERIC, n, (const uint8_t *)in, &len, (uint8_t *)out), BROTLI_TRUE);
        return len;
    }
    size_t len = ZSTD_compress(out, cap, in, n, 3);
    assert_false(ZSTD_isError(len));
    return len;
}

/* decode enc[0..len) in feeds of step bytes (0: all at once) */
static int decode(const char *coding, const char *enc, size_t len, size_t step, buf_t *out, int *complete)
{
    decoder_t *d = decoder_new(coding);
    assert_non_null(d);
    int rc = 0;
    for (size_t at = 0; at < len && rc == 0;) {
        size_t k = step && len - at > step ? step : len - at;
        rc = decoder_feed(d, enc + at, k, collect, out);
        at += k;
    }
    *complete = decoder_complete(d);
    decoder_free(d);
    return rc;
}

static void round_trip(const char *coding, const char *as)
{
    size_t n = 300000;
    char *in = sample(n), *enc = malloc(n + 1024);
    size_t len = compress_as(as, in, n, enc, n + 1024);
    size_t steps[] = { 0, 1, 7, 4096 };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        buf_t out; buf_init(&out, 0);
        int complete = 0;
        assert_int_equal(decode(coding, enc, len, steps[i], &out, &complete), 0);
        assert_int_equal(buf_len(&out), n);
        assert_memory_equal(buf_ptr(&out), in, n);
        assert_true(complete);
        /* cut short: no error, a prefix of the data, not complete */
        buf_reset(&out);
        assert_int_equal(decode(coding, enc, len / 2, steps[i], &out, &complete), 0);
        assert_true(buf_len(&out) < n);
        assert_memory_equal(buf_ptr(&out), in, buf_len(&out));
        assert_false(complete);
        buf_free(&out);
    }
    free(in); free(enc);
}

static void test_gzip(void **st) { (void)st; round_trip("gzip", "gzip"); round_trip("X-GZIP", "gzip"); }
static void test_deflate_zlib(void **st) { (void)st; round_trip("deflate", "deflate"); }
static void test_deflate_raw(void **st) { (void)st; round_trip(" Deflate ", "raw"); }
static void test_br(void **st) { (void)st; round_trip("br", "br"); }
static void test_zstd(void **st) { (void)st; round_trip("zstd", "zstd"); }

/* a stream cut anywhere gives the same bytes fed whole as fed in pieces
 * (brotli keeps decoded bytes back when its input runs out mid-block) */
static void test_cut_anywhere_same_bytes(void **st)
{
    (void)st;
    size_t n = 100000;
    char *in = sample(n), *enc = malloc(n + 1024);
    for (size_t c = 0; c < 4; c++) {
        size_t len = compress_as(codings[c], in, n, enc, n + 1024);
        for (size_t cut = 1; cut < len; cut += len / 37 + 1) {
            buf_t a, b; buf_init(&a, 0); buf_init(&b, 0);
            int ca, cb;
            assert_int_equal(decode(codings[c], enc, cut, 0, &a, &ca), 0);
            assert_int_equal(decode(codings[c], enc, cut, 3, &b, &cb), 0);
            assert_int_equal(buf_len(&a), buf_len(&b));
            assert_memory_equal(buf_ptr(&a), buf_ptr(&b), buf_len(&a));
            assert_memory_equal(buf_ptr(&a), in, buf_len(&a));
            buf_free(&a); buf_free(&b);
        }
    }
    free(in); free(enc);
}

static void concatenated(const char *coding)
{
    char a[256], b[256];
    size_t la = compress_as(coding, "first part, ", 12, a, sizeof a);
    size_t lb = compress_as(coding, "second part", 11, b, sizeof b);
    char both[512];
    memcpy(both, a, la); memcpy(both + la, b, lb);
    for (size_t step = 0; step <= 3; step += 3) {
        buf_t out; buf_init(&out, 0);
        int complete;
        assert_int_equal(decode(coding, both, la + lb, step, &out, &complete), 0);
        assert_string_equal(buf_ptr(&out), "first part, second part");
        assert_true(complete);
        buf_free(&out);
    }
}

static void test_gzip_members_and_zstd_frames(void **st) { (void)st; concatenated("gzip"); concatenated("zstd"); }

static void test_corrupt_and_trailing(void **st)
{
    (void)st;
    for (size_t i = 0; i < 4; i++) {
        char enc[512];
        size_t len = compress_as(codings[i], "hello, hello, hello", 19, enc, sizeof enc - 8);
        buf_t out; buf_init(&out, 0);
        int complete;
        /* bytes after the end of the stream */
        memcpy(enc + len, "garbage!", 8);
        assert_int_equal(decode(codings[i], enc, len + 8, 0, &out, &complete), -1);
        /* not the coding at all */
        buf_reset(&out);
        decoder_t *d = decoder_new(codings[i]);
        int rc = decoder_feed(d, "\xff\xfe\xfd\xfc this is not compressed at all", 36, collect, &out);
        if (strcmp(codings[i], "deflate")) assert_int_equal(rc, -1);   /* raw deflate may take it a while */
        if (rc < 0) assert_int_equal(decoder_feed(d, "x", 1, collect, &out), -1);  /* stays failed */
        decoder_free(d);
        buf_free(&out);
    }
}

static void test_zstd_window_limit(void **st)
{
    (void)st;
    /* a frame made with a 16 MiB window (over RFC 9659's 8 MiB) is refused */
    size_t n = 20u << 20;
    char *in = calloc(1, n), *enc = malloc(ZSTD_compressBound(n));
    for (size_t i = 0; i < n; i += 4096) in[i] = (char)i;
    ZSTD_CCtx *c = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 24);
    ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
    size_t len = ZSTD_compress2(c, enc, ZSTD_compressBound(n), in, n);
    assert_false(ZSTD_isError(len));
    ZSTD_freeCCtx(c);
    buf_t out; buf_init(&out, 0);
    int complete;
    assert_int_equal(decode("zstd", enc, len, 0, &out, &complete), -1);
    buf_free(&out);
    free(in); free(enc);
}

static void test_zstd_frames_of_rfc8878_only(void **st)
{
    (void)st;
    buf_t out; buf_init(&out, 0);
    int complete;
    /* a legacy (zstd 0.5) magic number, whole and split: refused both ways */
    static const char legacy[] = "\x25\xb5\x2f\xfd\x01\x40\x00\x00";
    assert_int_equal(decode("zstd", legacy, 8, 0, &out, &complete), -1);
    assert_int_equal(decode("zstd", legacy, 8, 1, &out, &complete), -1);
    /* a skippable frame, then a frame of data, then a legacy one after it */
    char enc[256];
    memcpy(enc, "\x50\x2a\x4d\x18\x03\x00\x00\x00xyz", 11);
    size_t len = 11 + compress_as("zstd", "after the skippable frame", 25, enc + 11, sizeof enc - 11);
    for (size_t step = 0; step <= 1; step++) {
        buf_reset(&out);
        assert_int_equal(decode("zstd", enc, len, step, &out, &complete), 0);
        assert_int_equal(buf_len(&out), 25);
        assert_memory_equal(buf_ptr(&out), "after the skippable frame", 25);
        assert_true(complete);
    }
    memcpy(enc + len, legacy, 8);
    assert_int_equal(decode("zstd", enc, len + 8, 3, &out, &complete), -1);
    buf_free(&out);
}

static int stop_at_32k(void *arg, const char *p, size_t n)
{
    (void)p;
    *(size_t *)arg += n;
    return *(size_t *)arg >= 32768;
}

static void test_callback_stops(void **st)
{
    (void)st;
    size_t n = 300000;
    char *in = sample(n), *enc = malloc(n + 1024);
    for (size_t c = 0; c < 4; c++) {
        size_t len = compress_as(codings[c], in, n, enc, n + 1024);
        decoder_t *d = decoder_new(codings[c]);
        size_t got = 0;
        /* stopped inside one feed of the whole body: no more output */
        assert_int_equal(decoder_feed(d, enc, len, stop_at_32k, &got), 1);
        assert_true(got >= 32768 && got < 32768 + 16384);
        assert_int_equal(decoder_feed(d, enc, 1, stop_at_32k, &got), -1);
        assert_false(decoder_complete(d));
        decoder_free(d);
    }
    free(in); free(enc);
}

static void test_names(void **st)
{
    (void)st;
    assert_true(decode_supported("gzip"));
    assert_true(decode_supported("BR"));
    assert_true(decode_supported(" zstd\t"));
    assert_false(decode_supported("identity"));
    assert_false(decode_supported("compress"));
    assert_false(decode_supported("gzip, br"));
    assert_false(decode_supported(""));
    assert_false(decode_supported(NULL));
    assert_null(decoder_new("lzma"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_deflate_zlib),
        cmocka_unit_test(test_deflate_raw),
        cmocka_unit_test(test_br),
        cmocka_unit_test(test_zstd),
        cmocka_unit_test(test_cut_anywhere_same_bytes),
        cmocka_unit_test(test_gzip_members_and_zstd_frames),
        cmocka_unit_test(test_corrupt_and_trailing),
        cmocka_unit_test(test_zstd_window_limit),
        cmocka_unit_test(test_zstd_frames_of_rfc8878_only),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
