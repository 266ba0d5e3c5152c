/* test_jsonl.c — unit tests for lib/jsonl.c: plain, gzip and zstd files
 * (by magic, not by name), encrypted files (plain and compressed inside),
 * tampering and truncation, long lines across blocks, lines over the
 * maximum, a last line without newline, CR kept, follow mode, stdin. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <archive.h>
#include <archive_entry.h>

#include "buf.h"
#include "crypt.h"
#include "err.h"
#include "jsonl.h"
#include "tmpdir.h"


static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", tmpdir, name); }

static void write_file(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

/* compress with libarchive (raw format), filter "zstd" or "gzip", into buf */
static void compress_to(buf_t *out, const char *filter, const char *p, size_t n)
{
    struct archive *a = archive_write_new();
    assert_int_equal(archive_write_add_filter_by_name(a, filter), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_raw(a), ARCHIVE_OK);
    size_t cap = n + 4096, used = 0;
    char *mem = malloc(cap);
    assert_int_equal(archive_write_open_memory(a, mem, cap, &used), ARCHIVE_OK);
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    archive_entry_free(e);
    assert_int_equal(archive_write_data(a, p, n), (la_ssize_t)n);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    buf_append(out, mem, used);
    free(mem);
}

/* read every line of path into one string "l1|l2|…" (errors as "!") */
static char *slurp(const char *path, const jsonl_opts_t *o)
{
    char err[ERRBUF_SIZE];
    jsonl_reader_t *r = jsonl_open(path, o, err, sizeof err);
    if (!r) { char *e = malloc(strlen(err) + 2); e[0] = '!'; strcpy(e + 1, err); return e; }
    buf_t b; buf_init(&b, 0);
    const char *line; size_t len; int rc;
    while ((rc = jsonl_next(r, &line, &len)) != 0) {
        if (buf_len(&b)) buf_append(&b, "|", 1);
        if (rc < 0) { buf_append_str(&b, "!"); if (strstr(jsonl_error(r), "longer")) continue; break; }
        buf_append(&b, line, len);
    }
    jsonl_close(r);
    char *s = strdup(buf_ptr(&b));
    buf_free(&b);
    return s;
}

static const char TEXT[] = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";

static void test_plain(void **state)
{
    (void)state;
    char p[256]; path_of(p, sizeof p, "plain.jsonl");
    write_file(p, TEXT, sizeof TEXT - 1);
    char *s = slurp(p, NULL);
    assert_string_equal(s, "{\"a\":1}|{\"b\":2}\r||{\"c\":3}");
    free(s);
    write_file(p, "", 0);
    s = slurp(p, NULL);
    assert_string_equal(s, "");
    free(s);
}

static void test_lineno_and_path(void **state)
{
    (void)state;
    char p[256], err[ERRBUF_SIZE]; path_of(p, sizeof p, "n.jsonl");
    write_file(p, "a\nb\n", 4);
    jsonl_reader_t *r = jsonl_open(p, NULL, err, sizeof err);
    const char *l; size_t n;
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(jsonl_lineno(r), 1);
    assert_string_equal(l, "a");                 /* NUL-terminated */
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(jsonl_lineno(r), 2);
    assert_int_equal(jsonl_next(r, &l, &n), 0);
    assert_int_equal(jsonl_next(r, &l, &n), 0);
    assert_string_equal(jsonl_path(r), p);
    jsonl_close(r);
    assert_null(jsonl_open("/nonexistent/x.jsonl", NULL, err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/x.jsonl: No such file"));
}

static void test_compressed(void **state)
{
    (void)state;
    const char *filters[] = { "zstd", "gzip" };
    for (int i = 0; i < 2; i++) {
        buf_t b; buf_init(&b, 0);
        compress_to(&b, filters[i], TEXT, sizeof TEXT - 1);
        char p[256]; path_of(p, sizeof p, "c.data");          /* the name says nothing */
        write_file(p, buf_ptr(&b), buf_len(&b));
        char *s = slurp(p, NULL);
        assert_string_equal(s, "{\"a\":1}|{\"b\":2}\r||{\"c\":3}");
        free(s);
        /* truncated: an error, never a silent short read */
        write_file(p, buf_ptr(&b), buf_len(&b) - 6);
        s = slurp(p, NULL);
        assert_non_null(strchr(s, '!'));
        free(s);
        buf_free(&b);
    }
}

/* many lines, some long, across the 1 MiB read blocks */
static void test_big_file(void **state)
{
    (void)state;
    buf_t b; buf_init(&b, 0);
    char line[64];
    for (int i = 0; i < 200000; i++) {
        int n = snprintf(line, sizeof line, "{\"i\":%d,\"pad\":\"%.*s\"}\n", i, i % 37, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
        buf_append(&b, line, (size_t)n);
        if (i == 1000) {           /* one 3 MiB line */
            buf_append_str(&b, "{\"big\":\"");
            { char ys[1024]; memset(ys, 'y', sizeof ys); for (int k = 0; k < 3 * 1024; k++) buf_append(&b, ys, sizeof ys); }
            buf_append_str(&b, "\"}\n");
        }
    }
    char p[256], err[ERRBUF_SIZE]; path_of(p, sizeof p, "big.jsonl");
    write_file(p, buf_ptr(&b), buf_len(&b));
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {                 /* the same through zstd */
            buf_t z; buf_init(&z, 0);
            compress_to(&z, "zstd", buf_ptr(&b), buf_len(&b));
            write_file(p, buf_ptr(&z), buf_len(&z));
            buf_free(&z);
        }
        jsonl_reader_t *r = jsonl_open(p, NULL, err, sizeof err);
        assert_non_null(r);
        const char *l; size_t n; int i = 0, rc; size_t total = 0;
        while ((rc = jsonl_next(r, &l, &n)) == 1) {
            total += n + 1;
            if (n > 1000000) { assert_int_equal(n, 3 * 1024 * 1024 + 10); assert_memory_equal(l + n - 2, "\"}", 2); continue; }
            int k = -1;
            assert_int_equal(sscanf(l, "{\"i\":%d", &k), 1);
            assert_int_equal(k, i);
            assert_int_equal(l[n - 1], '}');
            i++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(i, 200000);
        assert_int_equal(total, buf_len(&b));
        jsonl_close(r);
    }
    buf_free(&b);
}

static void test_over_max(void **state)
{
    (void)state;
    size_t big = (16u << 20) + 10;
    char *p0 = malloc(big + 64);
    memcpy(p0, "first\n", 6);
    memset(p0 + 6, 'x', big);
    memcpy(p0 + 6 + big, "\nlast\n", 6);
    char p[256], err[ERRBUF_SIZE]; path_of(p, sizeof p, "over.jsonl");
    write_file(p, p0, big + 12);
    free(p0);
    jsonl_opts_t o = { .max_line = 1 };          /* raised to the 16 MiB floor */
    jsonl_reader_t *r = jsonl_open(p, &o, err, sizeof err);
    const char *l; size_t n;
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(jsonl_next(r, &l, &n), -1);
    assert_non_null(strstr(jsonl_error(r), "line 2: longer than 16777216 bytes"));
    assert_true(jsonl_error_skipped(r));
    assert_int_equal(jsonl_next(r, &l, &n), 1);   /* goes on after it */
    assert_false(jsonl_error_skipped(r));
    assert_int_equal(n, 4);
    assert_memory_equal(l, "last", 4);
    assert_int_equal(jsonl_lineno(r), 3);
    assert_int_equal(jsonl_next(r, &l, &n), 0);
    jsonl_close(r);
}

static void make_key(const char *path, int nkeys)
{
    FILE *f = fopen(path, "w");
    fprintf(f, "# test keys\n");
    for (int k = 0; k < nkeys; k++) {
        for (int i = 0; i < 32; i++) fprintf(f, "%02x", (unsigned)(i * 7 + k * 13 + 1) & 0xff);
        fprintf(f, "\n");
    }
    fclose(f);
}

/* an encrypted file of one or two sessions (two batches each) */
static void encrypt_to(buf_t *out, const crypt_keys_t *k, const char *p, size_t n, int sessions)
{
    crypt_writer_t *w = crypt_writer_new(k);
    size_t half = n / 2;
    for (int s = 0; s < sessions; s++) {
        assert_int_equal(crypt_begin(w, buf_len(out), 0, out), 0);
        const char *q = s == 0 ? p : p + half;
        size_t qn = sessions == 1 ? n : s == 0 ? half : n - half;
        assert_int_equal(crypt_write(w, q, qn, out), 0);
        assert_int_equal(crypt_end(w, out), 0);
    }
    crypt_writer_free(w);
}

static void test_encrypted(void **state)
{
    (void)state;
    char kp[256], p[256], err[ERRBUF_SIZE];
    path_of(kp, sizeof kp, "key"); path_of(p, sizeof p, "e.jsonl.enc");
    make_key(kp, 2);
    crypt_keys_t *k = crypt_keys_load(kp, err, sizeof err);
    assert_non_null(k);
    const char text[] = "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n";
    buf_t b; buf_init(&b, 0);
    encrypt_to(&b, k, text, sizeof text - 1, 2);
    write_file(p, buf_ptr(&b), buf_len(&b));
    jsonl_opts_t o = { .key_file = kp };
    char *s = slurp(p, &o);
    assert_string_equal(s, "{\"a\":1}|{\"b\":2}|{\"c\":3}|{\"d\":4}");
    free(s);
    /* without a key: refused at open */
    s = slurp(p, NULL);
    assert_non_null(strstr(s, "a key file is needed"));
    free(s);
    /* one flipped byte anywhere: detected */
    for (size_t at = 0; at < buf_len(&b); at += 7) {
        char *copy = malloc(buf_len(&b));
        memcpy(copy, buf_ptr(&b), buf_len(&b));
        copy[at] ^= 0x20;
        write_file(p, copy, buf_len(&b));
        free(copy);
        s = slurp(p, &o);
        assert_non_null(strchr(s, '!'));
        free(s);
    }
    /* cut anywhere: detected (no writer holds the file) */
    for (size_t cut = 1; cut < buf_len(&b); cut += 5) {
        write_file(p, buf_ptr(&b), cut);
        s = slurp(p, &o);
        assert_non_null(strchr(s, '!'));
        free(s);
    }
    /* the second session removed: the file ends cleanly after a session,
     * which is undetectable; the first removed: out of place */
    write_file(p, buf_ptr(&b) + buf_len(&b) / 2, buf_len(&b) - buf_len(&b) / 2);
    s = slurp(p, &o);
    assert_true(strchr(s, '!') || strstr(s, "not an encrypted"));
    free(s);
    buf_free(&b);
    crypt_keys_free(k);
}

static void test_encrypted_compressed_and_key_rotation(void **state)
{
    (void)state;
    char kp[256], kp2[256], p[256], err[ERRBUF_SIZE];
    path_of(kp, sizeof kp, "key1"); path_of(kp2, sizeof kp2, "key2"); path_of(p, sizeof p, "e.jsonl.zst.enc");
    make_key(kp, 1);
    make_key(kp2, 2);                   /* holds key1's key second */
    /* rotate: the new file's first key is different */
    FILE *f = fopen(kp2, "w");
    fprintf(f, "%s\n", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    fclose(f);
    FILE *g = fopen(kp, "r"); char old[200]; assert_non_null(fgets(old, sizeof old, g)); assert_non_null(fgets(old, sizeof old, g)); fclose(g);
    f = fopen(kp2, "a"); fputs(old, f); fclose(f);
    crypt_keys_t *k = crypt_keys_load(kp, err, sizeof err);
    assert_non_null(k);
    buf_t z; buf_init(&z, 0);
    compress_to(&z, "zstd", TEXT, sizeof TEXT - 1);
    buf_t b; buf_init(&b, 0);
    encrypt_to(&b, k, buf_ptr(&z), buf_len(&z), 1);
    write_file(p, buf_ptr(&b), buf_len(&b));
    jsonl_opts_t o = { .key_file = kp2 };       /* the old key is second there */
    char *s = slurp(p, &o);
    assert_string_equal(s, "{\"a\":1}|{\"b\":2}\r||{\"c\":3}");
    free(s);
    /* a key file without that key */
    f = fopen(kp2, "w");
    fprintf(f, "%s\n", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    fclose(f);
    s = slurp(p, &o);
    assert_non_null(strstr(s, "is not in the key file"));
    free(s);
    buf_free(&b); buf_free(&z);
    crypt_keys_free(k);
}

static void test_encrypted_being_written(void **state)
{
    (void)state;
    char kp[256], p[256], err[ERRBUF_SIZE];
    path_of(kp, sizeof kp, "key"); path_of(p, sizeof p, "open.jsonl.enc");
    make_key(kp, 1);
    crypt_keys_t *k = crypt_keys_load(kp, err, sizeof err);
    crypt_writer_t *w = crypt_writer_new(k);
    buf_t b; buf_init(&b, 0);
    crypt_begin(w, 0, 0, &b);
    crypt_write(w, "{\"x\":1}\n", 8, &b);
    write_file(p, buf_ptr(&b), buf_len(&b));
    jsonl_opts_t o = { .key_file = kp };
    char *s = slurp(p, &o);
    assert_string_equal(s, "{\"x\":1}|!");          /* no writer: truncated */
    free(s);
    int fd = open(p, O_RDONLY);
    assert_int_equal(flock(fd, LOCK_EX), 0);        /* as llm-tee holds it */
    s = slurp(p, &o);
    assert_string_equal(s, "{\"x\":1}");
    free(s);
    close(fd);
    crypt_writer_free(w);
    buf_free(&b);
    crypt_keys_free(k);
}

static void test_follow(void **state)
{
    (void)state;
    char p[256], err[ERRBUF_SIZE]; path_of(p, sizeof p, "f.jsonl");
    write_file(p, "{\"a\":1}\n{\"b\"", 12);
    jsonl_opts_t o = { .follow = 1 };
    jsonl_reader_t *r = jsonl_open(p, &o, err, sizeof err);
    const char *l; size_t n;
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(jsonl_next(r, &l, &n), 2);     /* a partial line waits */
    int fd = open(p, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, ":2}\n", 4), 4);
    close(fd);
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(n, 7);
    assert_memory_equal(l, "{\"b\":2}", 7);
    assert_int_equal(jsonl_next(r, &l, &n), 2);
    jsonl_close(r);
}

static void test_stdin(void **state)
{
    (void)state;
    char p[256], err[ERRBUF_SIZE]; path_of(p, sizeof p, "in.jsonl");
    write_file(p, "x\ny", 3);
    int saved = dup(0);
    int fd = open(p, O_RDONLY);
    dup2(fd, 0); close(fd);
    jsonl_reader_t *r = jsonl_open("-", NULL, err, sizeof err);
    const char *l; size_t n;
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_int_equal(jsonl_next(r, &l, &n), 1);
    assert_memory_equal(l, "y", 1);
    assert_int_equal(jsonl_next(r, &l, &n), 0);
    jsonl_close(r);
    dup2(saved, 0); close(saved);
}

int main(void)
{
    if (tmpdir_make("test_jsonl") < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_lineno_and_path),
        cmocka_unit_test(test_compressed),
        cmocka_unit_test(test_big_file),
        cmocka_unit_test(test_over_max),
        cmocka_unit_test(test_encrypted),
        cmocka_unit_test(test_encrypted_compressed_and_key_rotation),
        cmocka_unit_test(test_encrypted_being_written),
        cmocka_unit_test(test_follow),
        cmocka_unit_test(test_stdin),
    };
    return cmocka_run_group_tests_name("jsonl", tests, NULL, tmpdir_remove);
}
