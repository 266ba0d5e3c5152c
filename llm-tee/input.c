/* input.c — where lines come from: stdin and the writers' connections on
 * unix stream sockets (--listen unix:PATH, or systemd socket activation).
 * Each input has its own line buffer (up to --max-line), so lines from
 * many writers are never interleaved: only a line ending in '\n' counts.
 * A partial line left when a writer disconnects is dropped and counted (the
 * writer re-sends it whole); on stdin a last line without '\n' is a line. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include "tee.h"
#include "clock.h"

#define READ_BLOCK (1u << 20)
#define SAMPLE     4096         /* bytes of an over-long line kept in its reject event */

static void reject_long(tee_t *t, conn_t *c, const char *why);
#define TURN_MAX   (8u << 20)
#define HOT        (128u << 10)     /* bytes read from one input per loop turn */

static int add_listener(tee_t *t, int fd, int owned)
{
    int *n = realloc(t->lfds, (t->nlfds + 1) * sizeof *n);
    if (!n) return -1;
    t->lfds = n;
    int *o = realloc(t->lfd_owned, (t->nlfds + 1) * sizeof *o);
    if (!o) return -1;
    t->lfd_owned = o;
    t->lfds[t->nlfds] = fd; t->lfd_owned[t->nlfds] = owned;
    t->nlfds++;
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)fd << 8 | 1 };
    return epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int input_listen(tee_t *t, const char *spec, char *err, size_t errlen)
{
    if (strncmp(spec, "unix:", 5) || !spec[5]) {
        snprintf(err, errlen, "--listen: '%s' is not unix:PATH", spec);
        return -1;
    }
    const char *path = spec + 5;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) { snprintf(err, errlen, "--listen: path too long: %s", path); return -1; }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { snprintf(err, errlen, "socket: %s", strerror(errno)); return -1; }
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    if (rc < 0 && errno == EADDRINUSE) {
        /* a socket file is there: in use, or left by a process that died? */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0) close(probe);
        struct stat st;
        if (live || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "unable to listen on %s: %s", path, live ? "another process listens there" : "not a socket");
            close(fd);
            return -1;
        }
        unlink(path);
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    if (rc < 0 || listen(fd, 128) < 0) {
        snprintf(err, errlen, "unable to listen on %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (add_listener(t, fd, 1) < 0) { snprintf(err, errlen, "epoll: %s", strerror(errno)); close(fd); return -1; }
    tee_log("listening on unix:%s", path);
    return 0;
}

/* sockets passed by systemd (LISTEN_FDS): the number taken */
int input_systemd(tee_t *t)
{
    int n = sd_listen_fds(1), k = 0;
    for (int i = 0; i < n; i++) {
        int fd = SD_LISTEN_FDS_START + i;
        if (sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) <= 0) {
            tee_log("warning: systemd fd %d is not a listening unix stream socket: ignored", fd);
            continue;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (add_listener(t, fd, 0) == 0) k++;
    }
    if (k) tee_log("listening on %d socket%s from systemd", k, k > 1 ? "s" : "");
    return k;
}

conn_t *input_add(tee_t *t, int fd, int is_stdin, const char *name)
{
    conn_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->fd = fd; c->is_stdin = is_stdin; c->restore_fl = -1;
    snprintf(c->name, sizeof c->name, "%s", name);
    struct stat st;
    if (is_stdin && fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
        /* a pipe (llm-relay | llm-tee) is blocking unless we say otherwise:
         * a read past what is there would wait for the next line, holding
         * the lines already read in memory, not in the file, until then */
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0)
            c->restore_fl = fl;     /* given back at the end: the pipe may be shared */
    }
    struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = c };
    if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        if (errno != EPERM) { free(c); return NULL; }
        c->always = 1;          /* a regular file or /dev/null: always readable */
    }
    c->next = t->conns;
    if (t->conns) t->conns->prev = c;
    t->conns = c;
    t->nconns++;
    return c;
}

void input_accept(tee_t *t, int lfd)
{
    static unsigned long seq;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                tee_log("warning: accept: %s", strerror(errno));
            return;
        }
        char name[32];
        snprintf(name, sizeof name, "writer#%lu", ++seq);
        if (!input_add(t, fd, 0, name)) { tee_log("warning: %s: out of memory, refused", name); close(fd); continue; }
        if (t->stopping) shutdown(fd, SHUT_WR);
    }
}

void input_close(tee_t *t, conn_t *c)
{
    if (c->end > c->start && !c->skipping) {
        t->partial_dropped++;
        tee_log("warning: %s: %zu bytes of an unfinished line dropped at disconnect (a writer re-sends it whole)",
                c->name, c->end - c->start);
    }
    if (c->skipping) {
        c->skip_total += c->end - c->start;
        reject_long(t, c, c->is_stdin ? "line longer than --max-line" : "line longer than --max-line, cut off at disconnect");
    }
    epoll_ctl(t->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (c->restore_fl >= 0) fcntl(c->fd, F_SETFL, c->restore_fl);
    if (!c->is_stdin) close(c->fd);
    if (c->prev) c->prev->next = c->next; else t->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    t->nconns--;
    free(c->sample);
    free(c->buf);
    free(c);
}

static void reject_long(tee_t *t, conn_t *c, const char *why)
{
    route_reject(t, c->name, why, c->sample ? c->sample : "", c->sample ? c->sample_len : 0, c->skip_total,
                 day_of(t, clock_wall_us()));
    c->rejects++;
    free(c->sample);
    c->sample = NULL;
    c->skipping = 0;
    c->skip_total = 0;
}

/* complete lines in c->buf */
static void take_lines(tee_t *t, conn_t *c)
{
    for (;;) {
        if (c->skipping) {
            char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
            if (!nl) { c->skip_total += c->end - c->start; c->start = c->end = c->scan = 0; return; }
            c->skip_total += (size_t)(nl - (c->buf + c->start));
            reject_long(t, c, "line longer than --max-line");
            c->start = c->scan = (size_t)(nl - c->buf) + 1;
            continue;
        }
        char *nl = memchr(c->buf + c->scan, '\n', c->end - c->scan);
        if (!nl) { c->scan = c->end; break; }
        size_t len = (size_t)(nl - (c->buf + c->start));
        if (len > t->c->max_line) {
            route_reject(t, c->name, "line longer than --max-line", c->buf + c->start, SAMPLE, len, day_of(t, clock_wall_us()));
            c->rejects++;
        } else {
            route_line(t, c, c->buf + c->start, len);
        }
        c->start = c->scan = (size_t)(nl - c->buf) + 1;
    }
    if (c->start == c->end) c->start = c->end = c->scan = 0;
    if (c->end - c->start > t->c->max_line) {
        /* the rest of it is skipped; its reject event is written at its end */
        free(c->sample);
        c->sample_len = SAMPLE;
        c->sample = malloc(SAMPLE);
        if (c->sample) memcpy(c->sample, c->buf + c->start, SAMPLE);
        c->skip_total = c->end - c->start;
        c->skipping = 1;
        c->start = c->end = c->scan = 0;
    }
}

int input_read(tee_t *t, conn_t *c)
{
    size_t got = 0;
    while (got < TURN_MAX) {
        if (c->size - c->end < READ_BLOCK / 2) {
            if (c->start > 0) {
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start; c->scan -= c->start; c->start = 0;
            }
            if (c->size - c->end < READ_BLOCK / 2) {
                size_t ns = c->size ? c->size * 2 : 2 * READ_BLOCK;
                if (ns > t->c->max_line + 2 * (size_t)READ_BLOCK) ns = t->c->max_line + 2 * (size_t)READ_BLOCK;
                char *nb = ns > c->size ? realloc(c->buf, ns) : NULL;
                if (!nb) { tee_log("warning: %s: out of memory; closing it", c->name); c->eof = 1; break; }
                c->buf = nb; c->size = ns;
            }
        }
        /* reads of 128 KiB into the front of the buffer keep the bytes hot
         * in the cache from read() through the check to write() */
        size_t want = c->size - c->end < HOT ? c->size - c->end : HOT;
        ssize_t n = read(c->fd, c->buf + c->end, want);
        if (n > 0) {
            c->end += (size_t)n; got += (size_t)n;
            take_lines(t, c);
            if (c->start > 0 && c->end - c->start <= HOT) {
                memmove(c->buf, c->buf + c->start, c->end - c->start);
                c->end -= c->start; c->scan -= c->start; c->start = 0;
            }
            /* less than asked for: the input is empty now (a terminal on
             * stdin, which stays blocking, would wait in another read) */
            if ((size_t)n < want) break;
            continue;
        }
        if (n == 0) { c->eof = 1; break; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        tee_log("warning: %s: read: %s", c->name, strerror(errno));
        c->eof = 1;
        break;
    }
    if (!c->eof) return 0;
    if (c->is_stdin && c->end > c->start && !c->skipping) {   /* a last line without newline */
        route_line(t, c, c->buf + c->start, c->end - c->start);
        c->start = c->end;
    }
    input_close(t, c);
    return 1;
}

void input_stop_listening(tee_t *t)
{
    for (size_t i = 0; i < t->nlfds; i++) {
        if (t->lfd_owned[i]) {
            struct sockaddr_un sa;
            socklen_t sl = sizeof sa;
            /* unlink first: no connect can start after this; then take
             * every connection already queued, so none is left unread */
            if (getsockname(t->lfds[i], (struct sockaddr *)&sa, &sl) == 0 && sa.sun_path[0])
                unlink(sa.sun_path);
        }
        input_accept(t, t->lfds[i]);
        epoll_ctl(t->epfd, EPOLL_CTL_DEL, t->lfds[i], NULL);
        close(t->lfds[i]);
    }
    free(t->lfds); free(t->lfd_owned);
    t->lfds = NULL; t->lfd_owned = NULL; t->nlfds = 0;
}

/* Shutdown: tell every writer we are leaving (FIN); read on until each has
 * closed its side, so every byte it wrote is read. */
void input_goodbye(tee_t *t)
{
    for (conn_t *c = t->conns; c; c = c->next) {
        if (!c->is_stdin && !c->closing) shutdown(c->fd, SHUT_WR);
        c->closing = 1;
    }
}

/* While the disk refuses writes, stop reading: writers queue or spool. */
void input_pause(tee_t *t, int paused)
{
    for (conn_t *c = t->conns; c; c = c->next) {
        struct epoll_event ev = { .events = paused ? 0 : (EPOLLIN | EPOLLRDHUP), .data.ptr = c };
        epoll_ctl(t->epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
    for (size_t i = 0; i < t->nlfds; i++) {
        struct epoll_event ev = { .events = paused ? 0 : EPOLLIN, .data.u64 = (uint64_t)t->lfds[i] << 8 | 1 };
        epoll_ctl(t->epfd, EPOLL_CTL_MOD, t->lfds[i], &ev);
    }
}
