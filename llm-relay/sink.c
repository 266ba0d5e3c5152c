/* sink.c — the capture sink: a bounded queue of whole lines, written
 * without blocking the event loop to stdout, a file or a unix socket. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "relay.h"
#include "clock.h"

enum sink_kind { SINK_NONE, SINK_FD, SINK_FILE, SINK_UNIX };

struct sink {
    enum sink_kind kind;
    int fd;
    char *path;           /* unix socket path */
    buf_t q;              /* whole lines waiting */
    size_t queue_max;     /* block/drop threshold */
    int drop;             /* policy */
    int dead;             /* the reader went away: counting drops */
    uint64_t dropped, events;
    int64_t next_retry_mono, last_warn_mono;
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

struct sink *sink_open(const char *spec, size_t queue_max, int drop, char *err, size_t errlen)
{
    struct sink *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->fd = -1; s->queue_max = queue_max; s->drop = drop;
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
        s->fd = unix_connect(s->path);
        if (s->fd < 0) {
            snprintf(err, errlen, "unable to connect to %s: %s", s->path, strerror(errno));
            sink_close(s); return NULL;
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

void sink_close(struct sink *s)
{
    if (!s) return;
    if (s->fd > 2) close(s->fd);
    buf_free(&s->q);
    free(s->path);
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

static void sink_died(struct sink *s, int e)
{
    if (s->kind == SINK_UNIX) {
        relay_log("warning: capture socket %s: %s; reconnecting", s->path, strerror(e));
        close(s->fd); s->fd = -1;
        s->next_retry_mono = clock_mono_us() + 1000000;
        return;
    }
    relay_log("error: capture sink write failed: %s; events are now counted as dropped", strerror(e));
    s->dead = 1;
    s->dropped += 0;
    buf_reset(&s->q);
}

int sink_flush(struct sink *s)
{
    if (s->kind == SINK_NONE || s->dead) return s->dead ? -1 : 0;
    if (s->fd < 0) {                     /* unix socket away: retry */
        int64_t now = clock_mono_us();
        if (now < s->next_retry_mono) return 0;
        s->fd = unix_connect(s->path);
        if (s->fd < 0) { s->next_retry_mono = now + 1000000; return 0; }
        relay_log("capture socket %s reconnected", s->path);
    }
    while (buf_len(&s->q) > 0) {
        ssize_t w = write(s->fd, buf_ptr(&s->q), buf_len(&s->q));
        if (w > 0) { buf_consume(&s->q, (size_t)w); continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        sink_died(s, w < 0 ? errno : EIO);
        return s->dead ? -1 : 0;
    }
    if (buf_len(&s->q) == 0) buf_trim(&s->q, 1 << 20);
    return 0;
}

int sink_fd(const struct sink *s)
{
    return (s->kind == SINK_FD || s->kind == SINK_UNIX) ? s->fd : -1;
}

int sink_pending(const struct sink *s) { return buf_len(&s->q) > 0 && !s->dead; }
int sink_blocked(const struct sink *s) { return !s->drop && !s->dead && buf_len(&s->q) > s->queue_max; }
size_t sink_queued(const struct sink *s) { return buf_len(&s->q); }
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
            usleep(100000);
        }
    }
    return 0;
}
