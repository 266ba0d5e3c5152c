/* test_capture.c — unit tests for lib/capture.c's base64: decoding
 * (RFC 4648 vectors, strictness: length, alphabet, padding, spaces),
 * round trips with capture_base64 over every length and byte, appending,
 * and a full buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"

static void decodes_to(const char *b64, const char *want, size_t wantlen)
{
    buf_t b;
    buf_init(&b, 0);
    if (capture_base64_decode(&b, b64, strlen(b64)))
        fail_msg("\"%s\" refused", b64);
    assert_int_equal(buf_len(&b), wantlen);
    assert_memory_equal(buf_ptr(&b), want, wantlen);
    buf_free(&b);
}

static void rfc4648_vectors(void **state)
{
    (void)state;
    static const struct { const char *b64, *raw; size_t n; } v[] = {
        { "", "", 0 },
        { "Zg==", "f", 1 },
        { "Zm8=", "fo", 2 },
        { "Zm9v", "foo", 3 },
        { "Zm9vYg==", "foob", 4 },
        { "Zm9vYmE=", "fooba", 5 },
        { "Zm9vYmFy", "foobar", 6 },
        { "AP8A/w==", "\x00\xff\x00\xff", 4 },
        { "+/+/", "\xfb\xff\xbf", 3 },
        { "Zh==", "f", 1 },             /* bits past the last byte are ignored */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        decodes_to(v[i].b64, v[i].raw, v[i].n);
}

static void bad_input(void **state)
{
    (void)state;
    const char *bad[] = {
        "Zg",          /* not padded */
        "Zg=",         /* short */
        "Zm9vY",       /* not a multiple of 4 */
        "Z===",        /* too much padding */
        "====",
        "Zg=a",        /* '=' then data */
        "Zg==Zg==",    /* padding inside */
        "Zm9=Zm9v",
        "Zm 9v",       /* spaces, line breaks */
        "Zm9v\n",
        "Zm9v\r\nYmFy",
        " Zm9v",
        "Zm9-",        /* base64url's alphabet */
        "Zm9_",
        "Zm9\x80",
        "Zm9v\0Zm9v",  /* NUL (length below counts it) */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_t b;
        buf_init(&b, 0);
        assert_int_equal(buf_append(&b, "keep", 4), 0);
        size_t n = i == sizeof bad / sizeof bad[0] - 1 ? 9 : strlen(bad[i]);
        if (capture_base64_decode(&b, bad[i], n) != -1)
            fail_msg("bad base64 #%zu accepted", i);
        /* bad input: nothing appended */
        assert_int_equal(buf_len(&b), 4);
        assert_memory_equal(buf_ptr(&b), "keep", 4);
        buf_free(&b);
    }
}

static void round_trips(void **state)
{
    (void)state;
    unsigned char raw[3000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 7 + (i >> 8));
    /* every length up to 300, then a long one that crosses the decoder's
     * internal slices */
    for (size_t n = 0; n <= 3000; n = n < 300 ? n + 1 : n + 2700) {
        buf_t e, d;
        buf_init(&e, 0);
        buf_init(&d, 0);
        assert_int_equal(capture_base64(&e, (const char *)raw, n), 0);
        assert_int_equal(buf_len(&e), 4 * ((n + 2) / 3));
        assert_int_equal(capture_base64_decode(&d, buf_ptr(&e), buf_len(&e)), 0);
        assert_int_equal(buf_len(&d), n);
        if (n) assert_memory_equal(buf_ptr(&d), raw, n);
        buf_free(&e);
        buf_free(&d);
    }
    /* every byte value */
    unsigned char all[256];
    for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
    buf_t e, d;
    buf_init(&e, 0);
    buf_init(&d, 0);
    assert_int_equal(capture_base64(&e, (const char *)all, 256), 0);
    assert_int_equal(capture_base64_decode(&d, buf_ptr(&e), buf_len(&e)), 0);
    assert_int_equal(buf_len(&d), 256);
    assert_memory_equal(buf_ptr(&d), all, 256);
    buf_free(&e);
    buf_free(&d);
}

static void appends_and_cap(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 8);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(capture_base64_decode(&b, "Zm9v", 4), 0);     /* appended after "ab" */
    assert_int_equal(buf_len(&b), 5);
    assert_memory_equal(buf_ptr(&b), "abfoo", 5);
    /* past the cap: refused */
    assert_int_equal(capture_base64_decode(&b, "Zm9vYmFy", 8), -1);
    assert_true(buf_len(&b) <= 8);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_vectors),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(appends_and_cap),
    };
    return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
