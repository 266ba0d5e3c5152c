/* copy.c — -o -: every accepted line also goes to stdout, for a live
 * pipeline, once it is on disk (with --fsync always: once it is durable).
 * stdout never holds up the record: the copy waits in a bounded buffer,
 * and a line that does not fit is dropped from the copy only (counted). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "tee.h"
#include "clock.h"

void copy_setup(tee_t *t)
{
    buf_init(&t->copy, t->c->copy_buffer);
    buf_init(&t->copy_wait, 0);
    fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = { .events = 0, .data.u64 = (uint64_t)1 << 8 | 3 };
    t->copy_pollable = epoll_ctl(t->epfd, EPOLL_CTL_ADD, 1, &ev) == 0;
}

/* lines now on disk: into the copy buffer, whole lines or not at all */
void copy_commit(tee_t *t)
{
    if (!t->c->copy || buf_len(&t->copy_wait) == 0) return;
    const char *p = buf_ptr(&t->copy_wait), *end = p + buf_len(&t->copy_wait);
    if (t->copy_dead) {
        while (p < end) { const char *nl = memchr(p, '\n', (size_t)(end - p)); t->copy_dropped++; p = nl + 1; }
    } else if (buf_room(&t->copy) >= buf_len(&t->copy_wait)) {
        buf_append(&t->copy, p, buf_len(&t->copy_wait));
    } else {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)(nl - p) + 1;
            if (buf_append(&t->copy, p, n) < 0) {
                if (t->copy_dropped++ == 0 || clock_mono_us() > t->warn_at)
                    tee_warn_limited(t, "warning: stdout is slow: lines dropped from the copy (%llu so far); the files have them",
                                     (unsigned long long)t->copy_dropped);
            }
            p = nl + 1;
        }
    }
    buf_reset(&t->copy_wait);
    buf_trim(&t->copy_wait, 4u << 20);
}

void copy_flush(tee_t *t)
{
    if (!t->c->copy || t->copy_dead) return;
    while (buf_len(&t->copy) > 0) {
        ssize_t w = write(1, buf_ptr(&t->copy), buf_len(&t->copy));
        if (w > 0) { buf_consume(&t->copy, (size_t)w); continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        tee_log("warning: stdout: %s; the copy stops, the files go on", w < 0 ? strerror(errno) : "closed");
        t->copy_dead = 1;
        /* what stdout did not take is counted as dropped, line by line */
        const char *p = buf_ptr(&t->copy), *end = p + buf_len(&t->copy);
        while (p < end) { const char *nl = memchr(p, '\n', (size_t)(end - p)); t->copy_dropped++; p = nl ? nl + 1 : end; }
        buf_free(&t->copy);
        break;
    }
    if (buf_len(&t->copy) == 0) buf_trim(&t->copy, 1u << 20);
    if (t->copy_pollable) {
        int want = !t->copy_dead && buf_len(&t->copy) > 0;
        if (want != t->copy_watched) {
            struct epoll_event ev = { .events = want ? EPOLLOUT : 0, .data.u64 = (uint64_t)1 << 8 | 3 };
            epoll_ctl(t->epfd, EPOLL_CTL_MOD, 1, &ev);
            t->copy_watched = want;
        }
    }
}
