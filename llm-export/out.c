/* out.c — where rows go. stdout; or -o FILE, written under a temporary
 * name in FILE's directory and renamed into place once complete (a cron
 * job never leaves half a file); --split makes two files, NAME.train.EXT
 * and NAME.validation.EXT, by a hash of each row's key; --bundle FILE
 * writes the dataset files (FORMAT.EXT, or FORMAT.train.EXT and
 * FORMAT.validation.EXT) and manifest.json into a tar archive compressed
 * with zstd (libarchive), itself renamed into place. Every file's rows,
 * bytes and SHA-256 are counted as they are written. Same rows → same
 * bytes: tar entries carry a fixed time, no owner names. */
#include "export.h"
#include "err.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "buf.h"

#define FLUSH_AT ((size_t)1 << 20)

typedef struct {
    char *final, *tmp;
    int fd;
    buf_t buf;
    EVP_MD_CTX *sha;
    outinfo_t info;
    char namebuf[128];
} ofile_t;

struct outset {
    const opts_t *o;
    int n;
    ofile_t f[2];
    int epipe, failed;
    char err[ERRBUF_SIZE];
};

/* "dir/name" → "dir/.name.XXXXXX" (a temporary file next to it). */
static char *tmp_name(const char *path, const char *tag)
{
    char *a = strdup(path), *b = strdup(path);
    char *res = NULL;
    if (a && b) {
        const char *dir = dirname(a), *base = basename(b);
        size_t n = strlen(dir) + strlen(base) + strlen(tag) + 16;
        if ((res = malloc(n)))
            snprintf(res, n, "%s/.%s%s.XXXXXX", dir, base, tag);
    }
    free(a);
    free(b);
    return res;
}

/* NAME.EXT → NAME.<part>.EXT */
static char *part_name(const char *path, const char *part)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
        dot = path + strlen(path);
    size_t n = strlen(path) + strlen(part) + 2;
    char *r = malloc(n);
    if (r)
        snprintf(r, n, "%.*s.%s%s", (int)(dot - path), path, part, dot);
    return r;
}

static int set_err(outset_t *s, const char *what, const char *path)
{
    snprintf(s->err, sizeof s->err, "unable to %s %s: %s", what, path, strerror(errno));
    s->failed = 1;
    return -1;
}

static int open_tmp(outset_t *s, ofile_t *f, const char *near, const char *tag)
{
    if (!(f->tmp = tmp_name(near, tag))) {
        errno = ENOMEM;
        return set_err(s, "name a file for", near);
    }
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        char *t = f->tmp;
        f->tmp = NULL;
        errno = e;
        set_err(s, "create a temporary file for", near);
        free(t);
        return -1;
    }
    fchmod(f->fd, 0644);
    return 0;
}

outset_t *out_open(const opts_t *o, char *err, size_t errlen)
{
    outset_t *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->o = o;
    s->n = o->split > 0 ? 2 : 1;
    static const char *const parts[2] = { "train", "validation" };
    for (int k = 0; k < s->n; k++) {
        ofile_t *f = &s->f[k];
        f->fd = -1;
        buf_init(&f->buf, 0);
        if (!(f->sha = EVP_MD_CTX_new()) || !EVP_DigestInit_ex(f->sha, EVP_sha256(), NULL)) {
            snprintf(err, errlen, "out of memory");
            out_abort(s);
            return NULL;
        }
        if (s->n == 2)
            snprintf(f->namebuf, sizeof f->namebuf, "%s.%s.%s", fmt_name(o->fmt), parts[k], fmt_ext(o->fmt));
        else
            snprintf(f->namebuf, sizeof f->namebuf, "%s.%s", fmt_name(o->fmt), fmt_ext(o->fmt));
        f->info.name = f->namebuf;
        int rc = 0;
        if (o->bundle)
            rc = open_tmp(s, f, o->bundle, k ? "-validation" : "-data");
        else if (o->out) {
            f->final = s->n == 2 ? part_name(o->out, parts[k]) : strdup(o->out);
            if (!f->final) {
                errno = ENOMEM;
                rc = set_err(s, "name", o->out);
            } else
                rc = open_tmp(s, f, f->final, "");
        } else
            f->fd = 1;
        if (rc) {
            snprintf(err, errlen, "%s", s->err);
            out_abort(s);
            return NULL;
        }
    }
    return s;
}

int out_nfiles(const outset_t *s) { return s->n; }
const outinfo_t *out_info(const outset_t *s, int k) { return &s->f[k].info; }
const char *out_error(const outset_t *s) { return s->err; }
int out_epipe(const outset_t *s) { return s->epipe; }

static int flush(outset_t *s, ofile_t *f)
{
    const char *p = buf_ptr(&f->buf);
    size_t n = buf_len(&f->buf), off = 0;
    while (off < n) {
        ssize_t w = write(f->fd, p + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            if (errno == EPIPE && f->fd == 1)
                s->epipe = 1;
            return set_err(s, "write", f->fd == 1 ? "stdout" : f->tmp);
        }
        off += (size_t)w;
    }
    buf_reset(&f->buf);
    return 0;
}

int out_write(outset_t *s, int k, const char *p, size_t n)
{
    ofile_t *f = &s->f[k];
    if (s->failed)
        return -1;
    if (buf_append(&f->buf, p, n)) {
        errno = ENOMEM;
        return set_err(s, "buffer a row for", f->info.name);
    }
    EVP_DigestUpdate(f->sha, p, n);
    f->info.rows++;
    f->info.bytes += n;
    return buf_len(&f->buf) >= FLUSH_AT ? flush(s, f) : 0;
}

int out_header(outset_t *s, const char *p, size_t n)
{
    for (int k = 0; k < s->n; k++) {
        ofile_t *f = &s->f[k];
        if (buf_append(&f->buf, p, n)) {
            errno = ENOMEM;
            return set_err(s, "buffer a row for", f->info.name);
        }
        EVP_DigestUpdate(f->sha, p, n);
        f->info.bytes += n;
    }
    return 0;
}

int out_pick(const outset_t *s, const char *key, size_t keylen)
{
    if (s->n < 2)
        return 0;
    unsigned char h[32];
    SHA256((const unsigned char *)key, keylen, h);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | h[i];
    double x = (double)(v >> 11) / 9007199254740992.0;     /* [0, 1) */
    return x < s->o->split ? 0 : 1;
}

static int finish_file(outset_t *s, ofile_t *f)
{
    if (flush(s, f))
        return -1;
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(f->sha, md, &mdlen);
    hex32(md, f->info.sha256);
    if (f->fd == 1)
        return 0;
    if (fsync(f->fd))
        return set_err(s, "write", f->tmp);
    return 0;
}

/* One entry of the bundle, its bytes from fd (or p when fd < 0). */
static int tar_entry(outset_t *s, struct archive *a, const char *name, int64_t mtime,
                     int fd, const char *p, size_t n)
{
    struct archive_entry *e = archive_entry_new();
    if (!e) {
        errno = ENOMEM;
        return set_err(s, "write", s->o->bundle);
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_size(e, (la_int64_t)n);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, (time_t)mtime, 0);
    int rc = archive_write_header(a, e) == ARCHIVE_OK ? 0 : -1;
    archive_entry_free(e);
    if (!rc && fd < 0 && archive_write_data(a, p, n) != (la_ssize_t)n)
        rc = -1;
    if (!rc && fd >= 0) {
        static char blk[1 << 16];
        if (lseek(fd, 0, SEEK_SET) < 0)
            rc = -1;
        for (size_t left = n; !rc && left > 0;) {
            ssize_t k = read(fd, blk, left < sizeof blk ? left : sizeof blk);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0 || archive_write_data(a, blk, (size_t)k) != k)
                rc = -1;
            else
                left -= (size_t)k;
        }
    }
    if (rc) {
        snprintf(s->err, sizeof s->err, "unable to write %s: %s", s->o->bundle,
                 archive_error_string(a) ? archive_error_string(a) : strerror(errno));
        s->failed = 1;
    }
    return rc;
}

static int write_bundle(outset_t *s, json_t *manifest, int64_t mtime)
{
    ofile_t b = { .fd = -1 };
    if (open_tmp(s, &b, s->o->bundle, ""))
        return -1;
    char *man = json_dumps(manifest, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    struct archive *a = archive_write_new();
    int rc = man && a ? 0 : -1;
    if (!rc && (archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
                archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
                archive_write_open_fd(a, b.fd) != ARCHIVE_OK))
        rc = -1;
    if (rc) {
        snprintf(s->err, sizeof s->err, "unable to write %s: %s", s->o->bundle,
                 a && archive_error_string(a) ? archive_error_string(a) : "out of memory");
        s->failed = 1;
    } else {
        size_t ml = strlen(man);
        man[ml] = '\n';             /* the NUL becomes a final newline */
        rc = tar_entry(s, a, "manifest.json", mtime, -1, man, ml + 1);
        for (int k = 0; !rc && k < s->n; k++)
            rc = tar_entry(s, a, s->f[k].info.name, mtime, s->f[k].fd, NULL, (size_t)s->f[k].info.bytes);
        if (!rc && archive_write_close(a) != ARCHIVE_OK) {
            snprintf(s->err, sizeof s->err, "unable to write %s: %s", s->o->bundle, archive_error_string(a));
            s->failed = 1;
            rc = -1;
        }
    }
    if (a)
        archive_write_free(a);
    free(man);
    if (!rc && fsync(b.fd))
        rc = set_err(s, "write", s->o->bundle);
    if (close(b.fd) && !rc)
        rc = set_err(s, "write", s->o->bundle);
    if (!rc && rename(b.tmp, s->o->bundle))
        rc = set_err(s, "rename into", s->o->bundle);
    if (rc)
        unlink(b.tmp);
    free(b.tmp);
    return rc;
}

int out_commit(outset_t *s, json_t *manifest, int64_t mtime, char *err, size_t errlen)
{
    int rc = 0;
    for (int k = 0; k < s->n && !rc; k++)
        rc = finish_file(s, &s->f[k]);
    if (!rc && manifest) {
        json_t *files = json_array();
        for (int k = 0; k < s->n; k++)
            json_array_append_new(files, json_pack("{s:s, s:I, s:I, s:s}", "name", s->f[k].info.name,
                                                   "rows", (json_int_t)s->f[k].info.rows,
                                                   "bytes", (json_int_t)s->f[k].info.bytes,
                                                   "sha256", s->f[k].info.sha256));
        json_object_set_new(manifest, "files", files);
    }
    if (!rc && s->o->bundle)
        rc = write_bundle(s, manifest, mtime);
    for (int k = 0; k < s->n && !rc; k++) {
        ofile_t *f = &s->f[k];
        if (!f->final)
            continue;
        if (close(f->fd)) {
            f->fd = -1;
            rc = set_err(s, "write", f->tmp);
            break;
        }
        f->fd = -1;
        if (rename(f->tmp, f->final))
            rc = set_err(s, "rename into", f->final);
        else {
            free(f->tmp);
            f->tmp = NULL;
        }
    }
    if (rc)
        snprintf(err, errlen, "%s", s->err);
    if (rc && s->epipe)
        rc = -2;
    out_abort(s);                       /* the bundle's data files go */
    return rc;
}

void out_abort(outset_t *s)
{
    if (!s)
        return;
    for (int k = 0; k < s->n; k++) {
        ofile_t *f = &s->f[k];
        if (f->fd > 1)
            close(f->fd);
        if (f->tmp) {
            unlink(f->tmp);
            free(f->tmp);
        }
        free(f->final);
        buf_free(&f->buf);
        EVP_MD_CTX_free(f->sha);
    }
    free(s);
}
