/* store.c — the files of the record: DIR/YYYY/MM/DD.jsonl (the day's
 * current file), its rotated parts DD.N.jsonl, the rejects file; opening
 * with an exclusive lock and crash repair, batched appends of whole lines,
 * fsync policy, rotation by size, encryption (crypt.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include "tee.h"
#include "clock.h"
#include "err.h"

#define FLUSH_AT  (256u << 10)  /* a file's pending bytes that trigger a write (small: hot in the cache) */
#define MAX_OPEN  8             /* day files open at once */

int fsync_dir_of(const char *path)
{
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s", path);
    char *s = strrchr(d, '/');
    if (s) *s = '\0'; else strcpy(d, ".");
    int fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int mkdir_one(const char *p)
{
    if (mkdir(p, 0750) == 0) { fsync_dir_of(p); return 0; }
    return errno == EEXIST ? 0 : -1;
}

int store_mkdirs(const char *dir, day_t d, char *err, size_t errlen)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%04d", dir, d.y);
    if (mkdir_one(p) < 0) { snprintf(err, errlen, "unable to create %s: %s", p, strerror(errno)); return -1; }
    snprintf(p, sizeof p, "%s/%04d/%02d", dir, d.y, d.m);
    if (mkdir_one(p) < 0) { snprintf(err, errlen, "unable to create %s: %s", p, strerror(errno)); return -1; }
    return 0;
}

int store_lock_dir(tee_t *t, char *err, size_t errlen)
{
    char p[PATH_MAX];
    if (mkdir(t->c->dir, 0750) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "unable to create %s: %s", t->c->dir, strerror(errno));
        return -1;
    }
    snprintf(p, sizeof p, "%s/.lock", t->c->dir);
    t->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (t->lockfd < 0) { snprintf(err, errlen, "unable to open %s: %s", p, strerror(errno)); return -1; }
    if (flock(t->lockfd, LOCK_EX | LOCK_NB) < 0) {
        char pid[32] = "";
        ssize_t n = pread(t->lockfd, pid, sizeof pid - 1, 0);
        if (n > 0) pid[n] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "%s is in use by another llm-tee%s%s%s", t->c->dir,
                 *pid ? " (pid " : "", pid, *pid ? ")" : "");
        close(t->lockfd); t->lockfd = -1;
        return -1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(t->lockfd, 0) == 0 && pwrite(t->lockfd, pid, (size_t)n, 0) != n) { /* informative only */ }
    return 0;
}

static char *day_path(tee_t *t, day_t d, int rejects, int enc)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%04d/%02d/%02d.%s%s", t->c->dir, d.y, d.m, d.d,
             rejects ? "rejects.jsonl" : "jsonl", enc ? ".enc" : "");
    return strdup(p);
}

/* the next free part number of day d */
static long next_part(tee_t *t, day_t d)
{
    char dp[PATH_MAX];
    files_day_dir(t->c->dir, d, dp, sizeof dp);
    DIR *dh = opendir(dp);
    long max = 0;
    if (!dh) return 1;
    struct dirent *e;
    while ((e = readdir(dh))) {
        /* .tmp names count too: a part number is never reused */
        if (e->d_name[0] < '0' || e->d_name[0] > '3') continue;
        int dd = (e->d_name[0] - '0') * 10 + (e->d_name[1] - '0');
        if (dd != d.d || e->d_name[2] != '.') continue;
        char *end;
        long n = strtol(e->d_name + 3, &end, 10);
        if (end != e->d_name + 3 && *end == '.' && n > max) max = n;
    }
    closedir(dh);
    return max + 1;
}

/* Rename a current file into the next part; returns the new path (malloc'd). */
static char *to_part(tee_t *t, day_t d, const char *path, int enc)
{
    char p[PATH_MAX];
    long n = next_part(t, d);
    snprintf(p, sizeof p, "%s/%04d/%02d/%02d.%ld.jsonl%s", t->c->dir, d.y, d.m, d.d, n, enc ? ".enc" : "");
    if (rename(path, p) < 0) {
        tee_log("error: unable to rename %s to %s: %s", path, p, strerror(errno));
        return NULL;
    }
    fsync_dir_of(p);
    return strdup(p);
}

/* Plain file: a last line without '\n' was torn by a crash: move it to the
 * rejects, then cut the file after its last newline. */
static int repair_plain(tee_t *t, dayfile_t *f)
{
    if (f->size == 0) return 0;
    char last;
    if (pread(f->fd, &last, 1, (off_t)f->size - 1) != 1) return -1;
    if (last == '\n') return 0;
    size_t back = t->c->max_line + 1, chunk = 1u << 20;
    uint64_t pos = f->size, cut = 0;
    char *b = malloc(chunk);
    if (!b) return -1;
    int found = 0;
    while (pos > 0 && f->size - pos < back && !found) {
        size_t k = pos < chunk ? (size_t)pos : chunk;
        pos -= k;
        if (pread(f->fd, b, k, (off_t)pos) != (ssize_t)k) { free(b); return -1; }
        char *nl = memrchr(b, '\n', k);
        if (nl) { cut = pos + (uint64_t)(nl - b) + 1; found = 1; }
    }
    free(b);
    size_t tail = (size_t)(f->size - cut);
    size_t keep = tail < 65536 ? tail : 65536;
    char *tb = malloc(keep ? keep : 1);
    if (!tb || pread(f->fd, tb, keep, (off_t)cut) != (ssize_t)keep) { free(tb); return -1; }
    if (!f->rejects) {
        route_reject(t, "repair", "torn last line: llm-tee stopped in the middle of writing it", tb, keep, tail, f->day);
        /* the reject must be on disk before the line leaves the file */
        dayfile_t *r = store_get(t, f->day, 1);
        if (!r || store_flush_all(t) < 0 || fdatasync(r->fd) < 0) { free(tb); return -1; }
    } else {
        tee_log("warning: %s: %zu bytes of a torn reject event dropped in repair", f->path, tail);
    }
    free(tb);
    if (ftruncate(f->fd, (off_t)cut) < 0 || fdatasync(f->fd) < 0) return -1;
    tee_log("repaired %s: a torn last line of %zu bytes moved to the rejects", f->path, tail);
    f->size = cut;
    return 0;
}

/* Encrypted file: check every session; cut after the last whole batch,
 * the torn rest (its readable plaintext) to the rejects. -1: unusable
 * (damaged, or a key we do not have): the caller sets it aside. */
static int repair_enc(tee_t *t, dayfile_t *f)
{
    if (f->size == 0) return 0;
    crypt_reader_t *cr = crypt_reader_new(t->keys);
    size_t cap = (2u << 20) + CRYPT_HDR_LEN, have = 0;
    char *raw = malloc(cap);
    buf_t plain, tail;
    buf_init(&plain, 0); buf_init(&tail, 0);
    uint64_t pos = 0, total = 0;
    int rc = 0;
    if (!cr || !raw) rc = -1;
    while (rc == 0) {
        ssize_t n = pread(f->fd, raw + have, cap - have, (off_t)pos);
        if (n < 0) { rc = -1; break; }
        pos += (uint64_t)n; have += (size_t)n;
        ssize_t used = crypt_reader_feed(cr, raw, have, &plain, 0);
        if (used < 0) {
            tee_log("error: %s: %s", f->path, crypt_reader_error(cr));
            rc = -1; break;
        }
        memmove(raw, raw + used, have - (size_t)used);
        have -= (size_t)used;
        total += buf_len(&plain);
        /* keep only plaintext past the last good cut */
        uint64_t past = total - crypt_reader_good_plain(cr);
        buf_append(&tail, buf_ptr(&plain), buf_len(&plain));
        if (buf_len(&tail) > past) buf_consume(&tail, buf_len(&tail) - (size_t)past);
        buf_reset(&plain);
        if (n == 0 && used == 0) break;
    }
    uint64_t good = rc == 0 ? crypt_reader_good_offset(cr) : 0;
    if (rc == 0) f->recovered = crypt_reader_open_session(cr) || good < f->size;
    crypt_reader_free(cr);
    free(raw);
    buf_free(&plain);
    if (rc == 0 && good < f->size) {
        uint64_t torn = f->size - good;
        if (!f->rejects) {
            route_reject(t, "repair", "torn encrypted write: llm-tee stopped in the middle of it",
                         buf_ptr(&tail), buf_len(&tail), buf_len(&tail), f->day);
            dayfile_t *r = store_get(t, f->day, 1);
            if (!r || store_flush_all(t) < 0 || fdatasync(r->fd) < 0) rc = -1;
        }
        if (rc == 0 && (ftruncate(f->fd, (off_t)good) < 0 || fdatasync(f->fd) < 0)) rc = -1;
        if (rc == 0) {
            tee_log("repaired %s: %llu torn bytes cut (%zu bytes of plaintext moved to the rejects)",
                    f->path, (unsigned long long)torn, buf_len(&tail));
            f->size = good;
        }
    }
    buf_free(&tail);
    return rc;
}

static void file_free(dayfile_t *f)
{
    buf_free(&f->out);
    buf_free(&f->enc);
    crypt_writer_free(f->cw);
    free(f->path);
    free(f);
}

static int open_file(tee_t *t, dayfile_t *f)
{
    int enc = t->keys != NULL;
    char err[ERRBUF_SIZE];
    if (store_mkdirs(t->c->dir, f->day, err, sizeof err) < 0) { tee_log("error: %s", err); return -1; }
    /* the other variant (encrypted or not) of the current file: make it a part */
    if (!f->rejects) {
        char *other = day_path(t, f->day, 0, !enc);
        struct stat st;
        if (other && stat(other, &st) == 0) {
            char *p = to_part(t, f->day, other, !enc);
            if (p) { maint_queue(t, p); free(p); }
        }
        free(other);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        free(f->path);
        f->path = day_path(t, f->day, f->rejects, enc);
        if (!f->path) return -1;
        struct stat st;
        int existed = stat(f->path, &st) == 0;
        f->fd = open(f->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (f->fd < 0) { tee_log("error: unable to open %s: %s", f->path, strerror(errno)); return -1; }
        if (!existed) fsync_dir_of(f->path);
        flock(f->fd, LOCK_EX);          /* readers see the file is being written */
        if (fstat(f->fd, &st) < 0) { close(f->fd); f->fd = -1; return -1; }
        f->size = (uint64_t)st.st_size;
        f->recovered = 0;
        int rc = enc ? repair_enc(t, f) : repair_plain(t, f);
        if (rc == 0) break;
        if (!enc || f->rejects || attempt == 1) {
            tee_log("error: unable to repair %s", f->path);
            close(f->fd); f->fd = -1;
            return -1;
        }
        /* unreadable with our keys, or damaged: keep it as a part, start anew */
        close(f->fd); f->fd = -1;
        char *p = to_part(t, f->day, f->path, 1);
        tee_log("warning: %s set aside as %s; a new file is started", f->path, p ? p : "(rename failed)");
        if (!p) return -1;
        free(p);
    }
    if (enc && !f->cw) f->cw = crypt_writer_new(t->keys);
    if (enc && !f->cw) return -1;
    return 0;
}

dayfile_t *store_get(tee_t *t, day_t day, int rejects)
{
    dayfile_t *f, *prev = NULL;
    for (f = t->files; f; prev = f, f = f->next) {
        if (f->rejects == rejects && day_cmp(f->day, day) == 0) {
            if (prev) { prev->next = f->next; f->next = t->files; t->files = f; } /* most recent first */
            f->last_use = t->now;
            return f;
        }
    }
    f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->day = day; f->rejects = rejects; f->fd = -1;
    buf_init(&f->out, 0);
    buf_init(&f->enc, 0);
    if (open_file(t, f) < 0) { file_free(f); return NULL; }
    f->last_use = t->now = clock_mono_us();
    f->next = t->files;
    t->files = f;
    t->nfiles++;
    if (t->nfiles > MAX_OPEN) {          /* close the least recently used */
        dayfile_t *l = t->files, *lp = NULL;
        while (l->next) { lp = l; l = l->next; }
        if (l != f && lp) store_close(t, l);
    }
    return f;
}

int store_append(tee_t *t, dayfile_t *f, const char *line, size_t len)
{
    if (buf_append(&f->out, line, len) < 0 || buf_append(&f->out, "\n", 1) < 0) return -1;
    if (buf_len(&f->out) >= FLUSH_AT && !t->write_failing) {
        int saved = t->write_failing;
        store_flush_all(t);
        (void)saved;
    }
    return 0;
}

/* write the first n bytes of b (consumed as written); -1 on a write error,
 * the rest kept for a retry */
static int write_buf(tee_t *t, dayfile_t *f, buf_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = write(f->fd, buf_ptr(b), n);
        if (w > 0) { buf_consume(b, (size_t)w); n -= (size_t)w; f->size += (uint64_t)w; f->dirty = 1; continue; }
        if (w < 0 && errno == EINTR) continue;
        int e = w < 0 ? errno : EIO;
        if (!t->write_failing)
            tee_log("error: unable to write %s: %s; %llu bytes held, inputs paused, retrying",
                    f->path, strerror(e), (unsigned long long)store_pending(t));
        t->write_failing = 1;
        return -1;
    }
    if (buf_len(b) == 0) buf_trim(b, 8u << 20);
    return 0;
}

static void rotate(tee_t *t, dayfile_t *f);

/* how many bytes of the pending lines go into the current file before it
 * is rotated: whole lines up to the rotation size (at least one line) */
static size_t fits(tee_t *t, dayfile_t *f, int *rot)
{
    size_t n = buf_len(&f->out);
    *rot = 0;
    if (f->rejects || t->c->rotate_size <= 0) return n;
    uint64_t lim = (uint64_t)t->c->rotate_size;
    uint64_t room = f->size < lim ? lim - f->size : 0;
    if (n <= room) return n;
    const char *p = buf_ptr(&f->out);
    const char *nl = room ? memrchr(p, '\n', (size_t)room) : NULL;
    *rot = 1;
    if (nl) return (size_t)(nl - p) + 1;
    if (f->size > 0) return 0;                 /* rotate first */
    nl = memchr(p, '\n', n);                   /* one line over the size: alone */
    return nl ? (size_t)(nl - p) + 1 : n;
}

static int flush_one(tee_t *t, dayfile_t *f)
{
    if (f->fd < 0) return -1;
    if (f->cw && buf_len(&f->enc) > 0 && write_buf(t, f, &f->enc, buf_len(&f->enc)) < 0) return -1;
    while (buf_len(&f->out) > 0) {
        int rot;
        size_t n = fits(t, f, &rot);
        if (n > 0) {
            if (f->cw) {
                if (!crypt_in_session(f->cw)) {
                    if (crypt_begin(f->cw, f->size, f->recovered ? CRYPT_FLAG_RECOVERED : 0, &f->enc) < 0) return -1;
                    f->recovered = 0;
                }
                if (crypt_write(f->cw, buf_ptr(&f->out), n, &f->enc) < 0) return -1;
                buf_consume(&f->out, n);
                if (write_buf(t, f, &f->enc, buf_len(&f->enc)) < 0) return -1;
            } else if (write_buf(t, f, &f->out, n) < 0) {
                return -1;
            }
        }
        if (rot) {
            rotate(t, f);
            if (f->fd < 0) return -1;
        }
    }
    if (buf_len(&f->out) == 0) buf_trim(&f->out, 8u << 20);
    return 0;
}

int store_flush_all(tee_t *t)
{
    int rc = 0;
    for (dayfile_t *f = t->files; f; f = f->next)
        if (flush_one(t, f) < 0) rc = -1;
    if (rc == 0 && t->write_failing) {
        tee_log("writes succeed again");
        t->write_failing = 0;
    }
    return rc;
}

int store_sync_all(tee_t *t)
{
    int rc = 0;
    for (dayfile_t *f = t->files; f; f = f->next) {
        if (!f->dirty || f->fd < 0) continue;
        if (fdatasync(f->fd) < 0) { tee_log("error: fsync %s: %s", f->path, strerror(errno)); rc = -1; continue; }
        f->dirty = 0;
    }
    return rc;
}

uint64_t store_pending(tee_t *t)
{
    uint64_t n = 0;
    for (dayfile_t *f = t->files; f; f = f->next) n += buf_len(&f->out) + buf_len(&f->enc);
    return n;
}

/* flush, end the session, sync, close; 0 when everything reached the disk */
static int finish(tee_t *t, dayfile_t *f)
{
    int rc = flush_one(t, f);
    if (rc == 0 && f->cw && f->recovered && !crypt_in_session(f->cw)) {
        /* a repaired file gets its recovery session even with no new line */
        if (crypt_begin(f->cw, f->size, CRYPT_FLAG_RECOVERED, &f->enc) < 0) rc = -1;
        f->recovered = 0;
    }
    if (rc == 0 && f->cw && crypt_in_session(f->cw)) {
        if (crypt_end(f->cw, &f->enc) < 0 || write_buf(t, f, &f->enc, buf_len(&f->enc)) < 0) rc = -1;
    }
    if (f->fd >= 0) {
        if (fdatasync(f->fd) < 0) rc = -1;
        close(f->fd);
        f->fd = -1;
    }
    return rc;
}

static void rotate(tee_t *t, dayfile_t *f)
{
    if (f->cw && crypt_in_session(f->cw)) {
        if (crypt_end(f->cw, &f->enc) < 0 || write_buf(t, f, &f->enc, buf_len(&f->enc)) < 0) return;
    }
    fdatasync(f->fd);
    close(f->fd);
    f->fd = -1;
    char *p = to_part(t, f->day, f->path, f->cw != NULL);
    if (p) { maint_queue(t, p); free(p); }
    f->dirty = 0;
    if (open_file(t, f) < 0) tee_log("error: unable to open a new %s after rotation", f->path);
}

void store_close(tee_t *t, dayfile_t *f)
{
    if (finish(t, f) < 0)
        tee_log("error: %s: %llu bytes could not be written", f->path,
                (unsigned long long)(buf_len(&f->out) + buf_len(&f->enc)));
    dayfile_t **pp = &t->files;
    while (*pp && *pp != f) pp = &(*pp)->next;
    if (*pp) { *pp = f->next; t->nfiles--; }
    file_free(f);
}

void store_close_all(tee_t *t)
{
    while (t->files) store_close(t, t->files);
}

int store_is_open(tee_t *t, const char *path)
{
    for (dayfile_t *f = t->files; f; f = f->next)
        if (f->path && !strcmp(f->path, path)) return 1;
    return 0;
}

/* past days idle for --close-idle: close them (maintenance seals them) */
void store_tick(tee_t *t, int64_t now)
{
    day_t today = day_of(t, clock_wall_us());
    int closed = 0;
    for (dayfile_t *f = t->files, *n; f; f = n) {
        n = f->next;
        if (day_cmp(f->day, today) < 0 && now - f->last_use >= (int64_t)t->c->close_idle_ms * 1000 &&
            buf_len(&f->out) == 0 && buf_len(&f->enc) == 0) {
            store_close(t, f);
            closed = 1;
        }
    }
    if (closed) t->next_maint = now;
}
