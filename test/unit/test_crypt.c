/* test_crypt.c — unit tests for lib/crypt.c: key files (several keys, ids,
 * bad lines), sessions and batches, the reader fed in pieces of every
 * size, the good cut offset after a torn write, recovered sessions, and
 * sessions out of place. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "crypt.h"
#include "err.h"
#include "tmpdir.h"

static char keyfile[300];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static crypt_keys_t *keys(void)
{
    char err[ERRBUF_SIZE];
    crypt_keys_t *k = crypt_keys_load(keyfile, err, sizeof err);
    assert_non_null(k);
    return k;
}

static void test_key_file(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE], p[300];
    crypt_keys_t *k = keys();
    assert_int_equal(crypt_keys_count(k), 2);
    char a[17], b[17];
    crypt_key_id_hex(k, 0, a);
    crypt_key_id_hex(k, 1, b);
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
    crypt_keys_free(k);
    snprintf(p, sizeof p, "%s/bad", tmpdir);
    write_text(p, "# c\n0011\n");
    assert_null(crypt_keys_load(p, err, sizeof err));
    assert_non_null(strstr(err, "bad:2: a key is 64 hex digits"));
    write_text(p, "\n# only comments\n");
    assert_null(crypt_keys_load(p, err, sizeof err));
    assert_non_null(strstr(err, "no key"));
    write_text(p, "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    assert_null(crypt_keys_load(p, err, sizeof err));
    assert_null(crypt_keys_load("/nonexistent/key", err, sizeof err));
    assert_non_null(strstr(err, "No such file"));
}

/* feed all of in, n bytes at a time; plaintext into out; returns finish() */
static int read_all(const crypt_keys_t *k, const char *in, size_t len, size_t step, buf_t *out, crypt_reader_t **keep)
{
    crypt_reader_t *r = crypt_reader_new(k);
    size_t have = 0, pos = 0;
    char *pend = malloc(len + 1);
    int rc = 0;
    while (pos < len || have) {
        size_t k2 = len - pos < step ? len - pos : step;
        memcpy(pend + have, in + pos, k2);
        have += k2; pos += k2;
        ssize_t used = crypt_reader_feed(r, pend, have, out, 0);
        if (used < 0) { rc = -1; break; }
        memmove(pend, pend + used, have - (size_t)used);
        have -= (size_t)used;
        if (k2 == 0) break;
    }
    if (rc == 0) rc = crypt_reader_finish(r, have);
    free(pend);
    if (keep) *keep = r; else crypt_reader_free(r);
    return rc;
}

static void test_round_trip_any_piece_size(void **state)
{
    (void)state;
    crypt_keys_t *k = keys();
    crypt_writer_t *w = crypt_writer_new(k);
    buf_t f; buf_init(&f, 0);
    assert_int_equal(crypt_write(w, "x", 1, &f), -1);       /* no session */
    assert_int_equal(crypt_begin(w, 0, 0, &f), 0);
    assert_int_equal(crypt_begin(w, 0, 0, &f), -1);
    assert_int_equal(crypt_write(w, "a\n", 2, &f), 0);
    assert_int_equal(crypt_write(w, "bb\nccc\n", 7, &f), 0);
    assert_int_equal(crypt_end(w, &f), 0);
    assert_int_equal(crypt_begin(w, buf_len(&f), 0, &f), 0);
    /* a batch over the record size: several records */
    size_t big = CRYPT_RECORD_MAX * 2 + 100;
    char *b = malloc(big);
    memset(b, 'q', big); b[big - 1] = '\n';
    size_t before = buf_len(&f);
    assert_int_equal(crypt_write(w, b, big, &f), 0);
    assert_int_equal(buf_len(&f) - before, big + crypt_overhead(big));
    assert_int_equal(crypt_end(w, &f), 0);
    size_t steps[] = { 1, 3, 64, 65, 4096, 1u << 22 };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
        if (steps[i] == 1 && buf_len(&f) > 100000) {
            /* byte by byte over the small first session only */
            buf_t o; buf_init(&o, 0);
            crypt_reader_t *r = crypt_reader_new(k);
            size_t have = 0;
            char pend[200];
            for (size_t pos = 0; pos < 200; pos++) {
                pend[have++] = buf_ptr(&f)[pos];
                ssize_t used = crypt_reader_feed(r, pend, have, &o, 0);
                assert_true(used >= 0);
                memmove(pend, pend + used, have - (size_t)used);
                have -= (size_t)used;
            }
            assert_memory_equal(buf_ptr(&o), "a\nbb\nccc\n", 9);
            crypt_reader_free(r);
            buf_free(&o);
            continue;
        }
        buf_t o; buf_init(&o, 0);
        assert_int_equal(read_all(k, buf_ptr(&f), buf_len(&f), steps[i], &o, NULL), 0);
        assert_int_equal(buf_len(&o), 9 + big);
        assert_memory_equal(buf_ptr(&o), "a\nbb\nccc\n", 9);
        assert_memory_equal(buf_ptr(&o) + 9, b, big);
        buf_free(&o);
    }
    free(b);
    buf_free(&f);
    crypt_writer_free(w);
    crypt_keys_free(k);
}

static void test_torn_and_recovered(void **state)
{
    (void)state;
    crypt_keys_t *k = keys();
    crypt_writer_t *w = crypt_writer_new(k);
    buf_t f; buf_init(&f, 0);
    crypt_begin(w, 0, 0, &f);
    crypt_write(w, "one\n", 4, &f);
    size_t good = buf_len(&f);
    crypt_write(w, "two\n", 4, &f);
    size_t torn_at = buf_len(&f) - 5;                 /* a torn second batch */
    buf_t o; buf_init(&o, 0);
    crypt_reader_t *r;
    assert_int_equal(read_all(k, buf_ptr(&f), torn_at, 1 << 20, &o, &r), -1);
    assert_int_equal(crypt_reader_good_offset(r), good);
    assert_int_equal(crypt_reader_good_plain(r), 4);
    assert_int_equal(crypt_reader_open_session(r), 1);
    assert_non_null(strstr(crypt_reader_error(r), "torn"));
    crypt_reader_free(r);
    /* repaired: cut at good, a new session saying so */
    buf_t g; buf_init(&g, 0);
    buf_append(&g, buf_ptr(&f), good);
    crypt_writer_t *w2 = crypt_writer_new(k);
    crypt_begin(w2, good, CRYPT_FLAG_RECOVERED, &g);
    crypt_write(w2, "three\n", 6, &g);
    crypt_end(w2, &g);
    buf_reset(&o);
    assert_int_equal(read_all(k, buf_ptr(&g), buf_len(&g), 1 << 20, &o, NULL), 0);
    assert_int_equal(buf_len(&o), 10);
    assert_memory_equal(buf_ptr(&o), "one\nthree\n", 10);
    /* the same without the recovered flag: refused */
    buf_t h; buf_init(&h, 0);
    buf_append(&h, buf_ptr(&f), good);
    crypt_writer_t *w3 = crypt_writer_new(k);
    crypt_begin(w3, good, 0, &h);
    crypt_end(w3, &h);
    buf_reset(&o);
    assert_int_equal(read_all(k, buf_ptr(&h), buf_len(&h), 1 << 20, &o, &r), -1);
    assert_non_null(strstr(crypt_reader_error(r), "ends without its final record"));
    crypt_reader_free(r);
    /* a session whose header says another offset: out of place */
    buf_t m; buf_init(&m, 0);
    crypt_writer_t *w4 = crypt_writer_new(k);
    crypt_begin(w4, 7, 0, &m);
    crypt_end(w4, &m);
    buf_reset(&o);
    assert_int_equal(read_all(k, buf_ptr(&m), buf_len(&m), 1 << 20, &o, &r), -1);
    assert_non_null(strstr(crypt_reader_error(r), "out of place"));
    crypt_reader_free(r);
    /* an unterminated session at the end: finish says 1 */
    buf_reset(&o);
    assert_int_equal(read_all(k, buf_ptr(&f), good, 1 << 20, &o, NULL), 1);
    buf_free(&f); buf_free(&g); buf_free(&h); buf_free(&m); buf_free(&o);
    crypt_writer_free(w); crypt_writer_free(w2); crypt_writer_free(w3); crypt_writer_free(w4);
    crypt_keys_free(k);
}

static void test_wrong_key(void **state)
{
    (void)state;
    char p[300], err[ERRBUF_SIZE];
    crypt_keys_t *k = keys();
    crypt_writer_t *w = crypt_writer_new(k);
    buf_t f; buf_init(&f, 0);
    crypt_begin(w, 0, 0, &f); crypt_write(w, "x\n", 2, &f); crypt_end(w, &f);
    snprintf(p, sizeof p, "%s/other", tmpdir);
    write_text(p, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n");
    crypt_keys_t *o = crypt_keys_load(p, err, sizeof err);
    buf_t out; buf_init(&out, 0);
    crypt_reader_t *r;
    assert_int_equal(read_all(o, buf_ptr(&f), buf_len(&f), 4096, &out, &r), -1);
    assert_non_null(strstr(crypt_reader_error(r), "is not in the key file"));
    crypt_reader_free(r);
    /* the second key of a file decrypts what the first key of another wrote */
    snprintf(p, sizeof p, "%s/rotated", tmpdir);
    FILE *kf = fopen(keyfile, "r"); char l1[100]; assert_non_null(fgets(l1, sizeof l1, kf)); assert_non_null(fgets(l1, sizeof l1, kf)); fclose(kf);
    char text[300];
    snprintf(text, sizeof text, "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n%s", l1);
    write_text(p, text);
    crypt_keys_t *rot = crypt_keys_load(p, err, sizeof err);
    buf_reset(&out);
    assert_int_equal(read_all(rot, buf_ptr(&f), buf_len(&f), 4096, &out, NULL), 0);
    assert_int_equal(buf_len(&out), 2);
    assert_true(crypt_is_encrypted(buf_ptr(&f), buf_len(&f)));
    assert_false(crypt_is_encrypted("{}", 2));
    buf_free(&f); buf_free(&out);
    crypt_writer_free(w);
    crypt_keys_free(k); crypt_keys_free(o); crypt_keys_free(rot);
}

int main(void)
{
    if (tmpdir_make("test_crypt") < 0) return 1;
    snprintf(keyfile, sizeof keyfile, "%s/key", tmpdir);
    write_text(keyfile, "# keys\n00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
                        "  a0112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff  \n");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_file),
        cmocka_unit_test(test_round_trip_any_piece_size),
        cmocka_unit_test(test_torn_and_recovered),
        cmocka_unit_test(test_wrong_key),
    };
    return cmocka_run_group_tests_name("crypt", tests, NULL, tmpdir_remove);
}
