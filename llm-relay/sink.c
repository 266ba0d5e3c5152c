/* sink.c — the capture sink: a bounded queue of whole lines, written
 * without blocking the event loop to stdout, a file or a unix socket.
 *
 * A unix socket sink (llm-tee --listen) loses nothing when llm-tee
 * restarts: only lines that end in '\n' count for llm-tee, so a line
 * half-sent when the connection broke is sent again whole, from its start;
 * while llm-tee is away, lines go to a spool file, sent first when it is
 * back (reconnecting with backoff, 50 ms doubling to 2 s). llm-tee says
 * goodbye by shutting down its side (FIN) and reads on until we close ours:
 * on that FIN we stop writing and close, so every byte we wrote was read.
 * The spool lives in $STATE_DIRECTORY, else $TMPDIR, else /tmp, named
 * llm-relay-spool.<hash of the socket path>.<pid>; one left by a relay
 * that exited before it could send it is taken over by the next relay for
 * the same socket (files are flock'ed while in use). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "fdio.h"
#include "relay.h"
#include "clock.h"

#define STAGE (1u << 20)
#define BACKOFF_MIN_US 50000
#define BACKOFF_MAX_US 2000000

enum sink_kind { SINK_NONE, SINK_FD, SINK_FILE, SINK_UNIX };

struct sink {
    enum sink_kind kind;
    int fd;
    char *path;           /* unix socket path */
    buf_t q;              /* whole lines waiting */
    size_t qsent;         /* bytes at the front of q already written (unix) */
    size_t queue_max;     /* block/drop threshold */
    int drop;             /* policy */
    int dead;             /* the reader went away: counting drops */
    uint64_t dropped, events;
    int64_t next_retry_mono, last_warn_mono, backoff_us;
    /* spool (unix) */
    char *spool_dir, *spool_path;
    int spool_fd;
    uint64_t spool_size, spool_rd, spool_sent;
    char *stage; uint64_t stage_at; size_t stage_len;
    int spool_warned;
    unsigned gen;         /* bumped whenever fd is replaced */
};

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { int e = errno; close(fd); errno = e; return -1; }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static unsigned long fnv1a(const char *s)
{
    unsigned long h = 2166136261u;
    for (; *s; s++) { h ^= (unsigned char)*s; h = (h * 16777619u) & 0xffffffffu; }
    return h;
}

/* take over spool files of relays that are gone (same socket, unlocked) */
static void adopt_orphans(struct sink *s, const char *prefix)
{
    DIR *d = opendir(s->spool_dir);
    if (!d) return;
    struct dirent *e;
    char *b = malloc(STAGE);
    while (b && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix))) continue;
        char p[PATH_MAX];
        if ((size_t)snprintf(p, sizeof p, "%s/%s", s->spool_dir, e->d_name) >= sizeof p) continue;
        if (!strcmp(p, s->spool_path)) continue;
        /* its relay must be gone: a live one (a sibling worker that has
         * not locked its new spool yet) keeps it */
        long pid = strtol(e->d_name + strlen(prefix), NULL, 10);
        if (pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) { close(fd); continue; }
        ssize_t n;
        uint64_t took = 0;
        int ok = 1;
        while ((n = read(fd, b, STAGE)) > 0) {
            if (fd_write_all(s->spool_fd, b, (size_t)n) < 0) { ok = 0; break; }
            took += (uint64_t)n;
        }
        if (ok && n == 0 && fsync(s->spool_fd) == 0) {
            s->spool_size += took;
            unlink(p);
            if (took) relay_log("capture spool %s taken over: %llu bytes to send", p, (unsigned long long)took);
        } else if (ftruncate(s->spool_fd, (off_t)s->spool_size) < 0) {
            /* nothing more to do: the orphan stays for the next relay */
        }
        close(fd);
    }
    free(b);
    closedir(d);
}

static int spool_setup(struct sink *s, const char *dir, char *err, size_t errlen)
{
    if (!dir) dir = getenv("STATE_DIRECTORY");
    if (dir && strchr(dir, ':')) { static char first[PATH_MAX]; snprintf(first, sizeof first, "%.*s", (int)strcspn(dir, ":"), dir); dir = first; }
    if (!dir || !*dir) dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    s->spool_dir = strdup(dir);
    char prefix[64], p[PATH_MAX];
    snprintf(prefix, sizeof prefix, "llm-relay-spool.%08lx.", fnv1a(s->path));
    if ((size_t)snprintf(p, sizeof p, "%s/%s%ld", dir, prefix, (long)getpid()) >= sizeof p) {
        snprintf(err, errlen, "capture spool folder name too long: %s", dir);
        return -1;
    }
    s->spool_path = strdup(p);
    s->stage = malloc(STAGE);
    if (!s->spool_dir || !s->spool_path || !s->stage) { snprintf(err, errlen, "out of memory"); return -1; }
    s->spool_fd = open(p, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (s->spool_fd < 0 || flock(s->spool_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "unable to open the capture spool %s: %s", p, strerror(errno));
        return -1;
    }
    adopt_orphans(s, prefix);
    return 0;
}

struct sink *sink_open_spool(const char *spec, size_t queue_max, int drop, const char *spool_dir,
                             char *err, size_t errlen)
{
    struct sink *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->fd = -1; s->spool_fd = -1; s->queue_max = queue_max; s->drop = drop;
    /* the hard cap leaves room for one loop turn of events past the limit */
    buf_init(&s->q, drop ? queue_max : queue_max * 2 + (64u << 20));
    if (!spec || !strcmp(spec, "-") || !strcmp(spec, "stdout")) {
        s->kind = SINK_FD; s->fd = 1;
        struct stat st;
        if (fstat(1, &st) == 0 && S_ISREG(st.st_mode)) s->kind = SINK_FILE;
        else fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    } else if (!strcmp(spec, "none")) {
        s->kind = SINK_NONE;
    } else if (!strncmp(spec, "unix:", 5)) {
        s->kind = SINK_UNIX;
        s->path = strdup(spec + 5);
        s->backoff_us = BACKOFF_MIN_US;
        if (!s->path || spool_setup(s, spool_dir, err, errlen) < 0) { sink_close(s); return NULL; }
        s->fd = unix_connect(s->path);
        if (s->fd < 0) {
            relay_log("warning: capture socket %s: %s; events go to the spool %s until it is there",
                      s->path, strerror(errno), s->spool_path);
            s->next_retry_mono = clock_mono_us() + s->backoff_us;
        }
    } else {
        const char *path = !strncmp(spec, "file:", 5) ? spec + 5 : spec;
        s->kind = SINK_FILE;
        s->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (s->fd < 0) {
            snprintf(err, errlen, "unable to open %s: %s", path, strerror(errno));
            sink_close(s); return NULL;
        }
    }
    return s;
}

struct sink *sink_open(const char *spec, size_t queue_max, int drop, char *err, size_t errlen)
{
    return sink_open_spool(spec, queue_max, drop, NULL, err, errlen);
}

void sink_close(struct sink *s)
{
    if (!s) return;
    if (s->fd > 2) close(s->fd);
    if (s->spool_fd >= 0) {
        uint64_t left = s->spool_size - s->spool_rd;
        if (left == 0 && buf_len(&s->q) == 0) {
            unlink(s->spool_path);
        } else {
            /* keep only what was not sent, whole lines, for the next relay */
            if (buf_len(&s->q)) {
                if (pwrite(s->spool_fd, buf_ptr(&s->q), buf_len(&s->q), (off_t)s->spool_size) == (ssize_t)buf_len(&s->q))
                    { s->spool_size += buf_len(&s->q); left += buf_len(&s->q); }
            }
            if (s->spool_rd > 0) {
                /* move the unsent tail to the front */
                uint64_t r = s->spool_rd, w = 0;
                ssize_t n;
                while (s->stage && (n = pread(s->spool_fd, s->stage, STAGE, (off_t)r)) > 0) {
                    if (pwrite(s->spool_fd, s->stage, (size_t)n, (off_t)w) != n) break;
                    r += (uint64_t)n; w += (uint64_t)n;
                }
                if (ftruncate(s->spool_fd, (off_t)w) < 0) { /* the whole spool stays: duplicates over loss */ }
            }
            fsync(s->spool_fd);
            relay_log("warning: %llu capture bytes left in the spool %s; the next llm-relay for %s sends them",
                      (unsigned long long)left, s->spool_path, s->path);
        }
        close(s->spool_fd);
    }
    buf_free(&s->q);
    free(s->path); free(s->spool_dir); free(s->spool_path); free(s->stage);
    free(s);
}

int sink_put(struct sink *s, const char *line, size_t len)
{
    if (s->kind == SINK_NONE) return 0;
    s->events++;
    if (s->dead || (s->drop && buf_len(&s->q) + len > s->queue_max) ||
        buf_append(&s->q, line, len) < 0) {
        s->dropped++;
        int64_t now = clock_mono_us();
        if (now - s->last_warn_mono > 1000000) {
            relay_log("warning: capture queue full or sink gone: %llu events dropped so far",
                      (unsigned long long)s->dropped);
            s->last_warn_mono = now;
        }
        return 1;
    }
    return 0;
}

/* unix: the connection is gone (or llm-tee said goodbye); what was sent of
 * a line that was not finished is sent again whole after reconnecting */
static void unix_lost(struct sink *s, const char *why)
{
    relay_log("warning: capture socket %s: %s; spooling to %s and reconnecting", s->path, why, s->spool_path);
    close(s->fd);
    s->fd = -1;
    s->qsent = 0;
    s->spool_sent = 0;
    s->next_retry_mono = clock_mono_us() + s->backoff_us;
    s->backoff_us = s->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : s->backoff_us * 2;
}

static void sink_died(struct sink *s, int e)
{
    relay_log("error: capture sink write failed: %s; events are now counted as dropped", strerror(e));
    s->dead = 1;
    buf_reset(&s->q);
}

/* the queue to the spool file (after whatever the spool holds) */
static void to_spool(struct sink *s)
{
    if (buf_len(&s->q) == 0 || s->qsent) return;
    ssize_t w = pwrite(s->spool_fd, buf_ptr(&s->q), buf_len(&s->q), (off_t)s->spool_size);
    if (w != (ssize_t)buf_len(&s->q)) {
        if (!s->spool_warned) relay_log("warning: capture spool %s: %s; events wait in memory",
                                        s->spool_path, w < 0 ? strerror(errno) : "short write");
        s->spool_warned = 1;
        return;
    }
    s->spool_warned = 0;
    s->spool_size += (uint64_t)w;
    buf_reset(&s->q);
}

/* advance past whole lines sent: the last '\n' in p[0..n) */
static size_t whole(const char *p, size_t n)
{
    const char *nl = memrchr(p, '\n', n);
    return nl ? (size_t)(nl - p) + 1 : 0;
}

static int unix_flush(struct sink *s)
{
    int64_t now = clock_mono_us();
    if (s->fd < 0) {
        if (now >= s->next_retry_mono) {
            s->fd = unix_connect(s->path);
            s->gen++;
            if (s->fd >= 0) relay_log("capture socket %s connected%s", s->path,
                                      s->spool_size > s->spool_rd ? "; sending the spool first" : "");
            else { s->next_retry_mono = now + s->backoff_us;
                   s->backoff_us = s->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : s->backoff_us * 2; }
        }
    }
    if (s->fd >= 0) {               /* llm-tee's goodbye: it reads on until we close */
        char c;
        ssize_t r = recv(s->fd, &c, 1, MSG_DONTWAIT);
        if (r == 0) unix_lost(s, "llm-tee is stopping");
        else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) unix_lost(s, strerror(errno));
    }
    if (s->fd < 0 || s->spool_size > s->spool_rd) to_spool(s);
    while (s->fd >= 0 && s->spool_size > s->spool_rd) {
        uint64_t at = s->spool_rd + s->spool_sent;
        if (at < s->stage_at || at >= s->stage_at + s->stage_len) {
            ssize_t n = pread(s->spool_fd, s->stage, STAGE, (off_t)at);
            if (n <= 0) { relay_log("error: capture spool %s: %s", s->spool_path, n < 0 ? strerror(errno) : "short"); return 0; }
            s->stage_at = at; s->stage_len = (size_t)n;
        }
        const char *p = s->stage + (at - s->stage_at);
        size_t n = s->stage_len - (size_t)(at - s->stage_at);
        ssize_t w = write(s->fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
        if (w <= 0) { unix_lost(s, w < 0 ? strerror(errno) : "closed"); break; }
        s->backoff_us = BACKOFF_MIN_US;
        /* whole lines sent: from spool_rd through the last newline written */
        uint64_t end = at + (uint64_t)w;
        size_t k = whole(s->stage, (size_t)(end - s->stage_at));
        if (k && s->stage_at + k > s->spool_rd) {
            s->spool_rd = s->stage_at + k;
        }
        s->spool_sent = end - s->spool_rd;
        if (s->spool_rd == s->spool_size) {
            s->spool_rd = s->spool_size = s->spool_sent = 0;
            s->stage_at = 0; s->stage_len = 0;
            if (ftruncate(s->spool_fd, 0) < 0) relay_log("warning: capture spool %s: %s", s->spool_path, strerror(errno));
            relay_log("capture spool sent");
        }
    }
    if (s->fd < 0 || s->spool_size > s->spool_rd) { to_spool(s); return 0; }
    while (s->qsent < buf_len(&s->q)) {
        ssize_t w = write(s->fd, buf_ptr(&s->q) + s->qsent, buf_len(&s->q) - s->qsent);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (w <= 0) { unix_lost(s, w < 0 ? strerror(errno) : "closed"); to_spool(s); return 0; }
        s->backoff_us = BACKOFF_MIN_US;
        s->qsent += (size_t)w;
        size_t k = whole(buf_ptr(&s->q), s->qsent);
        if (k) { buf_consume(&s->q, k); s->qsent -= k; }
    }
    if (buf_len(&s->q) == 0) buf_trim(&s->q, 1 << 20);
    return 0;
}

int sink_flush(struct sink *s)
{
    if (s->kind == SINK_NONE || s->dead) return s->dead ? -1 : 0;
    if (s->kind == SINK_UNIX) return unix_flush(s);
    while (buf_len(&s->q) > 0) {
        ssize_t w = write(s->fd, buf_ptr(&s->q), buf_len(&s->q));
        if (w > 0) { buf_consume(&s->q, (size_t)w); continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        sink_died(s, w < 0 ? errno : EIO);
        return -1;
    }
    if (buf_len(&s->q) == 0) buf_trim(&s->q, 1 << 20);
    return 0;
}

int sink_fd(const struct sink *s)
{
    return (s->kind == SINK_FD || s->kind == SINK_UNIX) ? s->fd : -1;
}

int sink_pending(const struct sink *s)
{
    return !s->dead && (buf_len(&s->q) > 0 || (s->kind == SINK_UNIX && s->spool_size > s->spool_rd));
}
int sink_blocked(const struct sink *s) { return !s->drop && !s->dead && buf_len(&s->q) > s->queue_max; }
size_t sink_queued(const struct sink *s) { return buf_len(&s->q) + (size_t)(s->spool_size - s->spool_rd); }
uint64_t sink_dropped(const struct sink *s) { return s->dropped; }
uint64_t sink_events(const struct sink *s) { return s->events; }

int sink_drain(struct sink *s, int timeout_ms)
{
    int64_t deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
    while (sink_pending(s)) {
        if (sink_flush(s) < 0) return -1;
        if (!sink_pending(s)) break;
        int64_t left = (deadline - clock_mono_us()) / 1000;
        if (left <= 0) return -1;
        if (s->fd >= 0) {
            struct pollfd p = { .fd = s->fd, .events = POLLOUT };
            poll(&p, 1, (int)(left > 100 ? 100 : left));
        } else {
            usleep(20000);
        }
    }
    return 0;
}

unsigned sink_generation(const struct sink *s) { return s->gen; }

int sink_none(const struct sink *s) { return s->kind == SINK_NONE; }
