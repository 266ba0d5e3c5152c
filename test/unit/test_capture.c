/* test_capture.c — unit tests for lib/capture.c's base64: decoding
 * (RFC 4648 vectors, strictness: length, alphabet, padding, spaces),
 * round trips with capture_base64 over every length and byte, appending,
 * and a full buffer; and capture_escape against a byte-at-a-time
 * reference over random strings (escapes, UTF-8 good and bad, runs that
 * cross its eight-byte steps), appending and a full buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
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
    static unsigned char raw[10000];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 7 + (i >> 8));
    /* every length up to 300, then long ones around the encoder's slices
     * of 3072 bytes (each fills its 4096-byte block, NUL after) */
    static const size_t longer[] = { 3000, 3071, 3072, 3073, 6144, 6145, 10000 };
    size_t lens[301 + sizeof longer / sizeof *longer], nlens = 0;
    for (size_t n = 0; n <= 300; n++) lens[nlens++] = n;
    for (size_t i = 0; i < sizeof longer / sizeof *longer; i++) lens[nlens++] = longer[i];
    for (size_t li = 0; li < nlens; li++) {
        size_t n = lens[li];
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

/* The reference: one byte at a time, the rules of capture.h. Returns 1
 * for invalid UTF-8, writing nothing then. */
static int ref_escape(char *out, size_t *olen, const unsigned char *p, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t k; unsigned cp, min;
            if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
            else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
            else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
            else return 1;
            if (i + k >= n) return 1;
            for (size_t j = 1; j <= k; j++) {
                if ((p[i + j] & 0xC0) != 0x80) return 1;
                cp = (cp << 6) | (p[i + j] & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 1;
            memcpy(out + o, p + i, k + 1); o += k + 1; i += k;
        } else if (c == '"' || c == '\\') { out[o++] = '\\'; out[o++] = (char)c; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\t') { out[o++] = '\\'; out[o++] = 't'; }
        else if (c == '\b') { out[o++] = '\\'; out[o++] = 'b'; }
        else if (c == '\f') { out[o++] = '\\'; out[o++] = 'f'; }
        else if (c < 0x20) o += (size_t)sprintf(out + o, "\\u%04x", c);
        else out[o++] = (char)c;
    }
    *olen = o;
    return 0;
}

static void escape_matches_reference(void **state)
{
    (void)state;
    static const char *const pieces[] = { "a", "plain text ", "\"", "\\", "\n", "\r\n", "\t", "\x01", "\x1f",
        "\x7f", " ", "é", "€", "😀", "\xc3", "\xe2\x82", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xff", "\x80", "0123456789abcdef", "\x00", "\"key\":\"value\"," };
    unsigned seed = 12345;
    unsigned char in[512]; char want[512 * 6 + 1];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        seed = seed * 1103515245u + 12345u;
        int np = (int)(seed >> 16) % 24;
        for (int i = 0; i < np; i++) {
            seed = seed * 1103515245u + 12345u;
            const char *pc = pieces[(seed >> 16) % (sizeof pieces / sizeof *pieces)];
            size_t pl = strcmp(pc, "\x00") ? strlen(pc) : 1;   /* a NUL byte too */
            if (n + pl > sizeof in) break;
            memcpy(in + n, pc, pl); n += pl;
        }
        size_t wl = 0;
        int wrc = ref_escape(want, &wl, in, n);
        buf_t b;
        buf_init(&b, 0);
        assert_int_equal(buf_append(&b, "X", 1), 0);
        int rc = capture_escape(&b, (const char *)in, n);
        assert_int_equal(rc, wrc);
        if (rc == 0) {
            assert_int_equal(buf_len(&b), wl + 1);
            assert_memory_equal(buf_ptr(&b) + 1, want, wl);
        } else {
            assert_int_equal(buf_len(&b), 1);          /* nothing written */
        }
        assert_int_equal(buf_ptr(&b)[buf_len(&b)], 0);  /* still NUL-terminated */
        buf_free(&b);
    }
}

/* The mask is the first 12 hex digits of SHA-256, the same on every call
 * (cached or not), and different for a prefix or an evicted value. */
static void mask_values(void **state)
{
    (void)state;
    char m[CAPTURE_MASK_LEN];
    for (int round = 0; round < 3; round++) {
        capture_mask("abc", 3, m);
        assert_string_equal(m, "[masked sha256:ba7816bf8f01]");
        capture_mask("", 0, m);
        assert_string_equal(m, "[masked sha256:e3b0c44298fc]");
        capture_mask("ab", 2, m);                          /* a prefix of a cached value */
        assert_string_equal(m, "[masked sha256:fb8e20fc2e4c]");
        for (int i = 0; i < 6; i++) {                      /* more values than the cache holds */
            char v[2] = { (char)('0' + i), 0 };
            capture_mask(v, 1, m);
        }
        capture_mask("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, m);
        assert_string_equal(m, "[masked sha256:248d6a61d206]");
    }
    char big[1000];
    memset(big, 'a', sizeof big);
    char m2[CAPTURE_MASK_LEN];
    capture_mask(big, sizeof big, m);                      /* too long to be kept */
    capture_mask(big, sizeof big, m2);
    assert_string_equal(m, m2);
    capture_mask(big, 999, m2);
    assert_string_not_equal(m, m2);
}

static void escape_full_buffer(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 11);
    assert_int_equal(buf_append(&b, "ab", 2), 0);
    assert_int_equal(capture_escape(&b, "\"\"\"\"\"", 5), -1);   /* 10 bytes do not fit in 9 */
    assert_int_equal(buf_len(&b), 2);
    assert_string_equal(buf_ptr(&b), "ab");
    assert_int_equal(capture_escape(&b, "1234567\n", 8), 0);        /* 9 bytes fit exactly... */
    assert_int_equal(capture_escape(&b, "x", 1), -1);               /* ...and then nothing */
    assert_memory_equal(buf_ptr(&b), "ab1234567\\n", 11);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc4648_vectors),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(round_trips),
        cmocka_unit_test(appends_and_cap),
        cmocka_unit_test(escape_matches_reference),
        cmocka_unit_test(escape_full_buffer),
        cmocka_unit_test(mask_values),
    };
    return cmocka_run_group_tests_name("capture", tests, NULL, NULL);
}
