/* jsonl.c — capture files line by line (see jsonl.h). Layers, bottom up:
 *   raw      the file descriptor (with the first block read to sniff it)
 *   decrypt  crypt.h sessions, when the file starts with their magic
 *   inflate  libarchive raw format + every filter, when the (decrypted)
 *            bytes start with a gzip, zstd, xz, bzip2 or lz4 magic
 *   lines    large reads into one buffer, memchr for newlines; a line is
 *            returned in place (no allocation per line). */
#include "jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <archive.h>

#include "buf.h"
#include "crypt.h"
#include "err.h"

#define BLOCK        (1u << 20)
#define DEFAULT_MAX  ((size_t)64 << 20)
#define MIN_MAX      ((size_t)16 << 20)

struct jsonl_reader {
    char *path;
    const char *name;         /* for messages: path, or "stdin" */
    int fd;
    int regular;              /* a regular file: follow and lock checks apply */
    int follow;
    size_t max_line;
    /* lines */
    char *buf;
    size_t size, start, end, scan;
    int eof, skipping;
    uint64_t lineno;
    char err[ERRBUF_SIZE];
    int err_skipped;                    /* err is a line over max_line, skipped */
    /* raw prefix (sniffed bytes not yet passed on) */
    char *pre0; size_t pre0_len, pre0_off;
    /* decrypt */
    crypt_keys_t *keys;
    crypt_reader_t *cr;
    char *raw; size_t raw_len;          /* undecrypted bytes (whole units pending) */
    buf_t plain; size_t plain_off;      /* decrypted, not yet passed on */
    int raw_eof, crypt_done;
    /* plaintext prefix after decryption (sniffed) */
    char *pre1; size_t pre1_len, pre1_off;
    /* inflate */
    struct archive *ar;
    char *blk;
    int src_error;                      /* a lower layer failed inside the archive callback */
};

static int set_err(jsonl_reader_t *r, const char *fmt, const char *a)
{
    char what[ERRBUF_SIZE];
    snprintf(what, sizeof what, fmt, a);
    snprintf(r->err, sizeof r->err, "%.200s: %.300s", r->name, what);
    return -1;
}

/* bytes from a sniffed prefix, or 0 when it is used up */
static size_t from_prefix(const char *pre, size_t len, size_t *off, char *dst, size_t cap)
{
    size_t k = len - *off;
    if (k > cap) k = cap;
    memcpy(dst, pre + *off, k);
    *off += k;
    return k;
}

/* raw: prefix, then the descriptor. -1 on error, 0 at (current) end. */
static ssize_t raw_read(jsonl_reader_t *r, char *dst, size_t cap)
{
    if (r->pre0_off < r->pre0_len) return (ssize_t)from_prefix(r->pre0, r->pre0_len, &r->pre0_off, dst, cap);
    for (;;) {
        ssize_t n = read(r->fd, dst, cap);
        if (n >= 0) return n;
        if (errno == EINTR) continue;
        return set_err(r, "%s", strerror(errno));
    }
}

/* Is another process (llm-tee) writing this file? It holds LOCK_EX. */
static int being_written(jsonl_reader_t *r)
{
    if (!r->regular) return 0;
    if (flock(r->fd, LOCK_SH | LOCK_NB) < 0) return errno == EWOULDBLOCK;
    flock(r->fd, LOCK_UN);
    return 0;
}

/* decrypt: plaintext bytes, 0 at (current) end, -1 on error. */
static ssize_t dec_read(jsonl_reader_t *r, char *dst, size_t cap)
{
    if (!r->cr) return raw_read(r, dst, cap);
    for (;;) {
        if (r->plain_off < buf_len(&r->plain)) {
            size_t k = buf_len(&r->plain) - r->plain_off;
            if (k > cap) k = cap;
            memcpy(dst, buf_ptr(&r->plain) + r->plain_off, k);
            r->plain_off += k;
            return (ssize_t)k;
        }
        buf_reset(&r->plain); r->plain_off = 0;
        if (r->crypt_done) return 0;
        size_t room = 2 * (size_t)BLOCK + CRYPT_HDR_LEN - r->raw_len;
        ssize_t n = raw_read(r, r->raw + r->raw_len, room);
        if (n < 0) return -1;
        r->raw_len += (size_t)n;
        ssize_t used = crypt_reader_feed(r->cr, r->raw, r->raw_len, &r->plain, BLOCK);
        if (used < 0) return set_err(r, "%s", crypt_reader_error(r->cr));
        memmove(r->raw, r->raw + used, r->raw_len - (size_t)used);
        r->raw_len -= (size_t)used;
        if (buf_len(&r->plain) > 0) continue;
        if (n > 0 || used > 0) continue;
        /* no more input for now */
        int st = crypt_reader_finish(r->cr, r->raw_len);
        if (st == 0) { r->crypt_done = !r->follow; return 0; }
        if (r->follow && r->regular) return 0;          /* more may come */
        if (st == 1 && being_written(r)) { r->crypt_done = 1; return 0; }
        return set_err(r, "%s", crypt_reader_error(r->cr));
    }
}

static ssize_t mid_read(jsonl_reader_t *r, char *dst, size_t cap)
{
    if (r->pre1_off < r->pre1_len) return (ssize_t)from_prefix(r->pre1, r->pre1_len, &r->pre1_off, dst, cap);
    return dec_read(r, dst, cap);
}

static la_ssize_t ar_read(struct archive *a, void *ud, const void **out)
{
    (void)a;
    jsonl_reader_t *r = ud;
    ssize_t n = mid_read(r, r->blk, BLOCK);
    if (n < 0) { r->src_error = 1; archive_set_error(a, EIO, "%s", r->err); return -1; }
    *out = r->blk;
    return n;
}

static int compressed_magic(const unsigned char *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) return 1;                           /* gzip */
    if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd) return 1; /* zstd */
    if (n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6)) return 1;                          /* xz */
    if (n >= 3 && !memcmp(p, "BZh", 3)) return 1;                                    /* bzip2 */
    if (n >= 4 && p[0] == 0x04 && p[1] == 0x22 && p[2] == 0x4d && p[3] == 0x18) return 1; /* lz4 */
    return 0;
}

static int start_archive(jsonl_reader_t *r)
{
    r->blk = malloc(BLOCK);
    r->ar = archive_read_new();
    if (!r->blk || !r->ar) return set_err(r, "%s", "out of memory");
    archive_read_support_filter_all(r->ar);
    archive_read_support_format_raw(r->ar);
    if (archive_read_open(r->ar, r, NULL, ar_read, NULL) != ARCHIVE_OK)
        return set_err(r, "%s", r->src_error ? r->err : archive_error_string(r->ar));
    struct archive_entry *e;
    if (archive_read_next_header(r->ar, &e) != ARCHIVE_OK)
        return set_err(r, "%s", archive_error_string(r->ar) ? archive_error_string(r->ar) : "unreadable compressed file");
    return 0;
}

/* Read at least want bytes (or to the current end) into dst. */
static ssize_t read_some(jsonl_reader_t *r, ssize_t (*fn)(jsonl_reader_t *, char *, size_t),
                         char *dst, size_t cap, size_t want)
{
    size_t got = 0;
    while (got < want) {
        ssize_t n = fn(r, dst + got, cap - got);
        if (n < 0) return -1;
        if (n == 0) break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int sniff(jsonl_reader_t *r)
{
    ssize_t n = read_some(r, raw_read, r->buf, BLOCK, 8);
    if (n < 0) return -1;
    if (crypt_is_encrypted(r->buf, (size_t)n)) {
        if (!r->keys) return set_err(r, "%s", "the file is encrypted: a key file is needed");
        r->cr = crypt_reader_new(r->keys);
        r->raw = malloc(2 * (size_t)BLOCK + CRYPT_HDR_LEN);
        r->pre0 = malloc((size_t)n);
        if (!r->cr || !r->raw || !r->pre0) return set_err(r, "%s", "out of memory");
        memcpy(r->pre0, r->buf, (size_t)n);
        r->pre0_len = (size_t)n;
        buf_init(&r->plain, 0);
        r->pre1 = malloc(BLOCK);
        if (!r->pre1) return set_err(r, "%s", "out of memory");
        n = read_some(r, dec_read, r->pre1, BLOCK, 8);
        if (n < 0) return -1;
        r->pre1_len = (size_t)n;
        if (compressed_magic((unsigned char *)r->pre1, (size_t)n)) return start_archive(r);
        return 0;
    }
    size_t pl = strlen(r->path);
    if (pl > 4 && !strcmp(r->path + pl - 4, ".enc"))
        return set_err(r, "%s", "named .enc but not an encrypted file (damaged or tampered)");
    if (compressed_magic((unsigned char *)r->buf, (size_t)n)) {
        r->pre0 = malloc((size_t)n ? (size_t)n : 1);
        if (!r->pre0) return set_err(r, "%s", "out of memory");
        memcpy(r->pre0, r->buf, (size_t)n);
        r->pre0_len = (size_t)n;
        return start_archive(r);
    }
    r->end = (size_t)n;                    /* plain: the bytes stay where they are */
    return 0;
}

jsonl_reader_t *jsonl_open(const char *path, const jsonl_opts_t *o, char *err, size_t errlen)
{
    jsonl_reader_t *r = calloc(1, sizeof *r);
    if (!r) { snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    r->fd = -1;
    r->path = strdup(path);
    r->name = strcmp(path, "-") ? r->path : "stdin";
    r->max_line = o && o->max_line ? o->max_line : DEFAULT_MAX;
    if (r->max_line < MIN_MAX) r->max_line = MIN_MAX;
    r->follow = o ? o->follow : 0;
    r->size = 2 * (size_t)BLOCK;
    r->buf = malloc(r->size + 1);
    if (!r->path || !r->buf) { snprintf(err, errlen, "%s: out of memory", path); jsonl_close(r); return NULL; }
    if (!strcmp(path, "-")) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) { snprintf(err, errlen, "%s: %s", path, strerror(errno)); jsonl_close(r); return NULL; }
    }
    struct stat st;
    r->regular = fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode);
    if (o && o->key_file) {
        char kerr[ERRBUF_SIZE];
        r->keys = crypt_keys_load(o->key_file, kerr, sizeof kerr);
        if (!r->keys) { snprintf(err, errlen, "%s: %s", r->name, kerr); jsonl_close(r); return NULL; }
    }
    if (sniff(r) < 0) { snprintf(err, errlen, "%s", r->err); jsonl_close(r); return NULL; }
    return r;
}

/* Append decoded bytes at buf[end]. >0 bytes, 0 at (current) end, -1 error. */
static ssize_t fill(jsonl_reader_t *r)
{
    char *dst = r->buf + r->end;
    size_t cap = r->size - r->end;
    if (r->ar) {
        for (;;) {
            la_ssize_t n = archive_read_data(r->ar, dst, cap);
            if (n >= 0) return n;
            if (n == ARCHIVE_RETRY) continue;
            if (r->src_error) return -1;
            return set_err(r, "%s", archive_error_string(r->ar) ? archive_error_string(r->ar) : "corrupt compressed data");
        }
    }
    if (r->cr) return mid_read(r, dst, cap);
    return raw_read(r, dst, cap);
}

int jsonl_next(jsonl_reader_t *r, const char **line, size_t *len)
{
    r->err_skipped = 0;
    for (;;) {
        if (r->skipping) {
            char *nl = memchr(r->buf + r->start, '\n', r->end - r->start);
            if (nl) { r->start = (size_t)(nl - r->buf) + 1; r->scan = r->start; r->skipping = 0; continue; }
            r->start = r->end = r->scan = 0;
        } else {
            char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
            if (nl) {
                size_t n = (size_t)(nl - (r->buf + r->start));
                *nl = '\0';                     /* a C string too */
                *line = r->buf + r->start;
                *len = n;
                r->start = r->scan = (size_t)(nl - r->buf) + 1;
                r->lineno++;
                if (n > r->max_line) {
                    snprintf(r->err, sizeof r->err, "%s: line %llu: longer than %zu bytes (skipped)",
                             r->name, (unsigned long long)r->lineno, r->max_line);
                    r->err_skipped = 1;
                    return -1;
                }
                return 1;
            }
            r->scan = r->end;
            if (r->end - r->start > r->max_line) {
                r->lineno++;
                snprintf(r->err, sizeof r->err, "%s: line %llu: longer than %zu bytes (skipped)",
                         r->name, (unsigned long long)r->lineno, r->max_line);
                r->skipping = 1;
                r->err_skipped = 1;
                r->start = r->end = r->scan = 0;
                return -1;
            }
            if (r->eof) {
                if (r->start < r->end) {
                    r->buf[r->end] = '\0';
                    *line = r->buf + r->start;
                    *len = r->end - r->start;
                    r->start = r->scan = r->end;
                    r->lineno++;
                    return 1;
                }
                return 0;
            }
        }
        /* room for another block */
        if (r->size - r->end < BLOCK / 2) {
            if (r->start > 0) {
                memmove(r->buf, r->buf + r->start, r->end - r->start);
                r->end -= r->start; r->scan -= r->start; r->start = 0;
            }
            if (r->size - r->end < BLOCK / 2) {
                size_t ns = r->size * 2;
                if (ns > r->max_line + 2 * (size_t)BLOCK) ns = r->max_line + 2 * (size_t)BLOCK;
                if (ns <= r->size) ns = r->size + BLOCK;
                char *nb = realloc(r->buf, ns + 1);
                if (!nb) return set_err(r, "%s", "out of memory");
                r->buf = nb; r->size = ns;
            }
        }
        ssize_t n = fill(r);
        if (n < 0) return -1;
        if (n == 0) {
            if (r->follow && r->regular && !r->ar) return 2;
            r->eof = 1;
        }
        r->end += (size_t)n;
    }
}

const char *jsonl_error(const jsonl_reader_t *r) { return r->err; }
int jsonl_error_skipped(const jsonl_reader_t *r) { return r->err_skipped; }
uint64_t jsonl_lineno(const jsonl_reader_t *r) { return r->lineno; }
const char *jsonl_path(const jsonl_reader_t *r) { return r->path; }

void jsonl_close(jsonl_reader_t *r)
{
    if (!r) return;
    if (r->ar) archive_read_free(r->ar);
    if (r->fd > 0) close(r->fd);
    crypt_reader_free(r->cr);
    crypt_keys_free(r->keys);
    buf_free(&r->plain);
    free(r->raw); free(r->pre0); free(r->pre1); free(r->blk);
    free(r->buf); free(r->path);
    free(r);
}
