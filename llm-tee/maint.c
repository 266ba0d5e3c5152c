/* maint.c — the closed files: sealing (a past day's current file becomes
 * a part), compression of parts in a child process (zstd or gzip through
 * libarchive, then encryption again when the part was encrypted; written
 * to NAME.tmp, synced, renamed, the original removed), and retention
 * (--keep-days, --max-total; --prune does it once). An open file is never
 * compressed or removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <archive.h>
#include <archive_entry.h>
#include "fdio.h"
#include "tee.h"
#include "clock.h"
#include "err.h"
#include "jsonl.h"

void maint_queue(tee_t *t, const char *path)
{
    if (t->c->compress == COMP_NONE) return;
    for (size_t i = 0; i < t->ncq; i++) if (!strcmp(t->cq[i], path)) return;
    if (t->child_src && !strcmp(t->child_src, path)) return;
    if (t->ncq == t->cq_cap) {
        size_t nc = t->cq_cap ? t->cq_cap * 2 : 16;
        char **n = realloc(t->cq, nc * sizeof *n);
        if (!n) return;
        t->cq = n; t->cq_cap = nc;
    }
    char *p = strdup(path);
    if (p) t->cq[t->ncq++] = p;
}

/* ---- compression (runs in the child) ---- */

typedef struct {
    int fd;
    crypt_writer_t *cw;
    buf_t enc;
    int failed;
} sinkctx_t;

static int out_write(sinkctx_t *s, const void *p, size_t n)
{
    if (!s->cw) return fd_write_all(s->fd, p, n);
    buf_reset(&s->enc);
    if (crypt_write(s->cw, p, n, &s->enc) < 0) return -1;
    return fd_write_all(s->fd, buf_ptr(&s->enc), buf_len(&s->enc));
}

static la_ssize_t ar_write(struct archive *a, void *ud, const void *p, size_t n)
{
    sinkctx_t *s = ud;
    if (out_write(s, p, n) < 0) { s->failed = 1; archive_set_error(a, errno ? errno : EIO, "write failed"); return -1; }
    return (la_ssize_t)n;
}

int maint_compress_file(const char *src, int kind, const crypt_keys_t *k, const char *key_file,
                        size_t max_line, char *err, size_t errlen)
{
    char dst[PATH_MAX], tmp[PATH_MAX + 8];
    size_t sl = strlen(src);
    int enc = sl > 4 && !strcmp(src + sl - 4, ".enc");
    const char *ext = kind == COMP_GZIP ? ".gz" : ".zst";
    if (enc) snprintf(dst, sizeof dst, "%.*s%s.enc", (int)(sl - 4), src, ext);
    else snprintf(dst, sizeof dst, "%s%s", src, ext);
    snprintf(tmp, sizeof tmp, "%s.tmp", dst);
    jsonl_opts_t o = { .max_line = max_line, .key_file = enc ? key_file : NULL };
    jsonl_reader_t *r = jsonl_open(src, &o, err, errlen);
    if (!r) return -1;
    sinkctx_t s = { .fd = -1 };
    buf_init(&s.enc, 0);
    int rc = -1;
    struct archive *a = archive_write_new();
    s.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (s.fd < 0) { snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
    if (enc) {
        s.cw = crypt_writer_new(k);
        if (!s.cw || crypt_begin(s.cw, 0, 0, &s.enc) < 0 || fd_write_all(s.fd, buf_ptr(&s.enc), buf_len(&s.enc)) < 0) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno ? errno : EIO));
            goto out;
        }
    }
    if (archive_write_add_filter(a, kind == COMP_GZIP ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD) != ARCHIVE_OK ||
        archive_write_set_format_raw(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 1 << 20) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &s, NULL, ar_write, NULL) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s: %s", dst, archive_error_string(a));
        goto out;
    }
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    int hr = archive_write_header(a, e);
    archive_entry_free(e);
    if (hr != ARCHIVE_OK) { snprintf(err, errlen, "%s: %s", dst, archive_error_string(a)); goto out; }
    const char *line; size_t len; int n;
    while ((n = jsonl_next(r, &line, &len)) == 1) {
        if (archive_write_data(a, line, len) < 0 || archive_write_data(a, "\n", 1) < 0) {
            snprintf(err, errlen, "%s: %s", dst, s.failed ? strerror(errno) : archive_error_string(a));
            goto out;
        }
    }
    if (n < 0) { snprintf(err, errlen, "%s", jsonl_error(r)); goto out; }
    if (archive_write_close(a) != ARCHIVE_OK) { snprintf(err, errlen, "%s: %s", dst, archive_error_string(a)); goto out; }
    if (s.cw) {
        buf_reset(&s.enc);
        if (crypt_end(s.cw, &s.enc) < 0) goto out;
        if (fd_write_all(s.fd, buf_ptr(&s.enc), buf_len(&s.enc)) < 0) { snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
    }
    if (fsync(s.fd) < 0) { snprintf(err, errlen, "%s: %s", tmp, strerror(errno)); goto out; }
    if (rename(tmp, dst) < 0) { snprintf(err, errlen, "%s: %s", dst, strerror(errno)); goto out; }
    fsync_dir_of(dst);
    if (unlink(src) < 0) { snprintf(err, errlen, "%s: %s", src, strerror(errno)); goto out; }
    fsync_dir_of(src);
    rc = 0;
out:
    archive_write_free(a);
    if (s.fd >= 0) close(s.fd);
    if (rc < 0) unlink(tmp);
    crypt_writer_free(s.cw);
    buf_free(&s.enc);
    jsonl_close(r);
    return rc;
}

static void start_child(tee_t *t)
{
    if (t->child > 0 || t->ncq == 0 || t->stopping) return;
    char *src = t->cq[0];
    memmove(t->cq, t->cq + 1, (t->ncq - 1) * sizeof *t->cq);
    t->ncq--;
    struct stat st;
    if (stat(src, &st) < 0) { free(src); return; }
    pid_t pid = fork();
    if (pid < 0) { tee_log("warning: fork: %s; compression later", strerror(errno)); maint_queue(t, src); free(src); return; }
    if (pid == 0) {
        /* the child holds nothing of the parent's: a writer sees the
         * parent's close, a new llm-tee is not kept out by the lock */
        for (conn_t *c = t->conns; c; c = c->next) if (!c->is_stdin) close(c->fd);
        for (size_t i = 0; i < t->nlfds; i++) close(t->lfds[i]);
        for (dayfile_t *f = t->files; f; f = f->next) if (f->fd >= 0) close(f->fd);
        close(t->lockfd); close(t->epfd); close(t->sigfd);
        signal(SIGTERM, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        char err[ERRBUF_SIZE];
        if (maint_compress_file(src, t->c->compress, t->keys, t->c->key_file, t->c->max_line, err, sizeof err) < 0) {
            tee_log("warning: compression of %s failed: %s (kept as it is)", src, err);
            _exit(1);
        }
        _exit(0);
    }
    t->child = pid;
    t->child_src = src;
}

void maint_child_done(tee_t *t)
{
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        if (p != t->child) continue;
        if (WIFSIGNALED(st)) tee_log("warning: compression of %s stopped by signal %d", t->child_src, WTERMSIG(st));
        t->child = 0;
        free(t->child_src);
        t->child_src = NULL;
    }
    start_child(t);
}

void maint_stop(tee_t *t)
{
    if (t->child > 0) {
        kill(t->child, SIGTERM);
        waitpid(t->child, NULL, 0);
        t->child = 0;
    }
    free(t->child_src); t->child_src = NULL;
    for (size_t i = 0; i < t->ncq; i++) free(t->cq[i]);
    free(t->cq); t->cq = NULL; t->ncq = t->cq_cap = 0;
}

/* ---- the files under DIR ---- */

typedef struct {
    day_t day;
    file_name_t n;
    char *path;
    uint64_t size;
    int64_t mtime;
} entry_t;

static int entry_cmp(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    int c = day_cmp(x->day, y->day);
    if (c) return c;
    /* parts by N, then the current file, then the rejects */
    long px = x->n.part == FILES_CURRENT ? LONG_MAX - 1 : x->n.part == FILES_REJECTS ? LONG_MAX : x->n.part;
    long py = y->n.part == FILES_CURRENT ? LONG_MAX - 1 : y->n.part == FILES_REJECTS ? LONG_MAX : y->n.part;
    return px < py ? -1 : px > py;
}

/* every file of the layout under dir, oldest first; stale .tmp files are
 * removed when clean_tmp */
static int list_all(const char *dir, entry_t **out, size_t *count, int clean_tmp)
{
    day_t *days;
    char err[ERRBUF_SIZE];
    int nd = files_list_days(dir, &days, err, sizeof err);
    *out = NULL; *count = 0;
    if (nd < 0) return -1;
    size_t n = 0, cap = 0;
    entry_t *v = NULL;
    /* month folders once each */
    for (int i = 0; i < nd; i++) {
        if (i > 0 && days[i].y == days[i - 1].y && days[i].m == days[i - 1].m) continue;
        char dp[PATH_MAX];
        files_day_dir(dir, days[i], dp, sizeof dp);
        DIR *dh = opendir(dp);
        if (!dh) continue;
        struct dirent *e;
        while ((e = readdir(dh))) {
            file_name_t fn;
            char p[PATH_MAX];
            if ((size_t)snprintf(p, sizeof p, "%s/%s", dp, e->d_name) >= sizeof p) continue;
            if (files_parse_name(e->d_name, &fn) < 0) {
                size_t l = strlen(e->d_name);
                if (clean_tmp && l > 4 && !strcmp(e->d_name + l - 4, ".tmp")) unlink(p);
                continue;
            }
            struct stat st;
            if (stat(p, &st) < 0) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                entry_t *nv = realloc(v, cap * sizeof *v);
                if (!nv) break;
                v = nv;
            }
            v[n].day = days[i]; v[n].day.d = fn.d;
            v[n].n = fn;
            v[n].path = strdup(p);
            v[n].size = (uint64_t)st.st_size;
            v[n].mtime = (int64_t)st.st_mtime;
            if (v[n].path) n++;
        }
        closedir(dh);
    }
    free(days);
    if (n) qsort(v, n, sizeof *v, entry_cmp);
    *out = v; *count = n;
    return 0;
}

static void free_entries(entry_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i].path);
    free(v);
}

/* open by a writer? (llm-tee holds LOCK_EX on the files it writes) */
static int in_use(tee_t *t, const char *path)
{
    if (store_is_open(t, path)) return 1;
    if (t->child_src && !strcmp(t->child_src, path)) return 1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int busy = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return busy;
}

static void remove_file(const char *path, const char *why, int dry)
{
    if (dry) { printf("%s\n", path); return; }
    if (unlink(path) == 0) {
        tee_log("removed %s (%s)", path, why);
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s", path);
        char *s = strrchr(d, '/');
        if (s) { *s = '\0'; if (rmdir(d) == 0) { s = strrchr(d, '/'); if (s) { *s = '\0'; rmdir(d); } } }
    } else if (errno != ENOENT) {
        tee_log("warning: unable to remove %s: %s", path, strerror(errno));
    }
}

int maint_prune(const char *dir, tee_t *t, int keep_days, long long max_total, int dry, char *err, size_t errlen)
{
    entry_t *v;
    size_t n;
    if (list_all(dir, &v, &n, 0) < 0) { snprintf(err, errlen, "%s: %s", dir, strerror(errno)); return -1; }
    day_t today = day_of(t, clock_wall_us());
    char *gone = calloc(n ? n : 1, 1);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += v[i].size;
    if (keep_days > 0) {
        day_t first = day_add(today, -(keep_days - 1));
        for (size_t i = 0; i < n; i++) {
            if (day_cmp(v[i].day, first) >= 0 || in_use(t, v[i].path)) continue;
            remove_file(v[i].path, "older than --keep-days", dry);
            gone[i] = 1;
            total -= v[i].size;
        }
    }
    if (max_total > 0) {
        for (size_t i = 0; i < n && total > (uint64_t)max_total; i++) {
            if (gone[i] || in_use(t, v[i].path)) continue;
            remove_file(v[i].path, "over --max-total", dry);
            gone[i] = 1;
            total -= v[i].size;
        }
        if (total > (uint64_t)max_total)
            tee_log("warning: %s holds %llu bytes, over --max-total, in files that are open", dir, (unsigned long long)total);
    }
    free(gone);
    free_entries(v, n);
    return 0;
}

/* seal past days' current files not open here; queue parts to compress */
static void seal_and_queue(tee_t *t, int first)
{
    entry_t *v;
    size_t n;
    if (list_all(t->c->dir, &v, &n, first) < 0) return;
    int64_t now = clock_wall_us();
    day_t today = day_of(t, now);
    for (size_t i = 0; i < n; i++) {
        entry_t *e = &v[i];
        if (e->n.part == FILES_REJECTS || store_is_open(t, e->path)) continue;
        if (e->n.part == FILES_CURRENT) {
            if (day_cmp(e->day, today) >= 0 || (now / 1000000 - e->mtime) * 1000 < t->c->close_idle_ms) continue;
            int enc = e->n.encrypted;
            if (enc == (t->keys != NULL)) {
                /* open it through the store once: repairs a torn tail, ends the session */
                dayfile_t *f = store_get(t, e->day, 0);
                if (!f) continue;
                store_close(t, f);
            }
            if (e->size == 0 && !enc) { unlink(e->path); continue; }
            char dp[PATH_MAX];
            files_day_dir(t->c->dir, e->day, dp, sizeof dp);
            /* rename to the next part, as rotation does */
            long maxp = 0;
            for (size_t j = 0; j < n; j++)
                if (day_cmp(v[j].day, e->day) == 0 && v[j].n.part > maxp) maxp = v[j].n.part;
            char p[PATH_MAX + 64];
            snprintf(p, sizeof p, "%s/%02d.%ld.jsonl%s", dp, e->day.d % 100, maxp + 1, enc ? ".enc" : "");
            struct stat st;
            if (stat(p, &st) == 0) continue;       /* odd: leave it for the next round */
            if (rename(e->path, p) == 0) { fsync_dir_of(p); tee_log("sealed %s as %s", e->path, p); maint_queue(t, p); }
            continue;
        }
        if (e->n.compression == FILES_PLAIN) {
            /* a compressed twin finished (renamed) but the original stayed: drop it */
            char twin[PATH_MAX];
            size_t l = strlen(e->path);
            int enc = e->n.encrypted;
            int k;
            for (k = 0; k < 2; k++) {
                const char *ext = k ? ".gz" : ".zst";
                if (enc) snprintf(twin, sizeof twin, "%.*s%s.enc", (int)(l - 4), e->path, ext);
                else snprintf(twin, sizeof twin, "%s%s", e->path, ext);
                struct stat st;
                if (stat(twin, &st) == 0) break;
            }
            if (k < 2 && first) { unlink(e->path); fsync_dir_of(e->path); continue; }
            if (k < 2) continue;
            maint_queue(t, e->path);
        }
    }
    free_entries(v, n);
}

void maint_run(tee_t *t)
{
    static int first = 1;
    seal_and_queue(t, first);
    first = 0;
    start_child(t);
    if (t->c->keep_days > 0 || t->c->max_total > 0) {
        char err[ERRBUF_SIZE];
        if (maint_prune(t->c->dir, t, t->c->keep_days, t->c->max_total, 0, err, sizeof err) < 0)
            tee_log("warning: retention: %s", err);
    }
}
