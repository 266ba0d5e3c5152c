/* serve.c — `bench-mock serve`: the bench's mock upstream. An OpenAI
 * chat-completions server built to be cheap: one epoll loop per thread
 * (SO_REUSEPORT listeners), keep-alive and pipelining, the non-stream answer
 * prepared once, streams paced by a timer heap on a fixed schedule
 * (content event i at t0 + i × interval; a stream that fell behind goes
 * round-robin with the others, one event a turn), one write() per SSE event.
 *
 *   POST …/chat/completions   {"stream":true} → role chunk, N content chunks
 *                             (X-Bench-Chunks, default 64) interval apart
 *                             (X-Bench-Interval-Ms, default 20), a final
 *                             chunk with finish_reason and usage, [DONE];
 *                             otherwise one chat.completion (Content-Length)
 *   GET  /__bench/stats       counters (JSON)
 *   POST /__bench/reset       zero the counters
 *   anything else             404 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "bench.h"
#include "buf.h"
#include "clock.h"
#include "err.h"

#define IN_START  (16u << 10)
#define IN_MAX    (256u << 10)     /* request head + body */
#define OUT_MAX   (8u << 20)       /* pending bytes for a slow client */
#define MAX_CHUNKS 100000

typedef struct conn {
    int fd;
    uint32_t gen;
    char *in; size_t in_len, in_cap;
    buf_t out;
    uint32_t events;               /* registered epoll interest */
    int streaming, next, nchunks, close_after;
    int64_t t0, interval_us;
} conn_t;

typedef struct { int64_t due; int fd; uint32_t gen; } tmr_t;

typedef struct counters {
    uint64_t connections, requests, streams_started, streams_completed,
             streams_aborted, events;
} counters_t;

typedef struct worker {
    int lfd, epfd;
    conn_t **conns; size_t nconns;     /* by fd */
    tmr_t *heap; size_t nheap, heap_cap;
    uint32_t gen;
    counters_t c;
    pthread_t th;
} worker_t;

static struct {
    int chunks; int64_t interval_us;
    char *plain; size_t plain_len;     /* the prepared non-stream answer */
    worker_t *w; int nw;
} S;

static volatile sig_atomic_t stopping;
static void on_stop(int sig) { (void)sig; stopping = 1; }

#define CNT(w, f) __atomic_fetch_add(&(w)->c.f, 1, __ATOMIC_RELAXED)

/* ---- answers ---- */

static const char CHUNK_ID[] = "\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\","
                               "\"created\":1700000000,\"model\":\"bench\"";

static size_t completion_body(char *out, size_t cap, int n)
{
    size_t len = (size_t)snprintf(out, cap,
        "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1700000000,"
        "\"model\":\"bench\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
    for (int i = 0; i < n && len + 32 < cap; i++) len += (size_t)snprintf(out + len, cap - len, "w%d ", i);
    len += (size_t)snprintf(out + len, cap - len,
        "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":%d,"
        "\"total_tokens\":%d}}", n, n + 11);
    return len < cap ? len : cap - 1;
}

static char *plain_answer(int n, size_t *len)
{
    size_t cap = 256 + (size_t)n * 10;
    char *body = malloc(cap), *all = malloc(cap + 256);
    if (!body || !all) { free(body); free(all); return NULL; }
    size_t bl = completion_body(body, cap, n);
    *len = (size_t)snprintf(all, cap + 256,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", bl, body);
    free(body);
    return all;
}

/* ---- connections ---- */

static void set_events(worker_t *w, conn_t *c, uint32_t ev)
{
    if (c->events == ev) return;
    struct epoll_event e = { .events = ev, .data.fd = c->fd };
    epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void conn_close(worker_t *w, conn_t *c)
{
    if (c->streaming) CNT(w, streams_aborted);
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    w->conns[c->fd] = NULL;
    buf_free(&c->out);
    free(c->in);
    free(c);
}

/* Send bytes in order: after what is pending, else straight away. -1 when
 * the connection was closed. */
static int conn_send(worker_t *w, conn_t *c, const char *p, size_t n)
{
    if (buf_len(&c->out) == 0) {
        ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno != EAGAIN && errno != EINTR) { conn_close(w, c); return -1; }
        if (k > 0) { p += k; n -= (size_t)k; }
        if (n == 0) return 0;
    }
    if (buf_append(&c->out, p, n) < 0) { conn_close(w, c); return -1; }
    set_events(w, c, c->events | EPOLLOUT);
    return 0;
}

static int conn_flush(worker_t *w, conn_t *c)
{
    while (buf_len(&c->out)) {
        ssize_t k = send(c->fd, buf_ptr(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
        if (k > 0) { buf_consume(&c->out, (size_t)k); continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) return 0;
        conn_close(w, c);
        return -1;
    }
    buf_trim(&c->out, 0);
    set_events(w, c, c->events & ~(uint32_t)EPOLLOUT);
    if (c->close_after && !c->streaming) { conn_close(w, c); return -1; }
    return 0;
}

/* ---- the timer heap (streams' next events) ---- */

static void heap_push(worker_t *w, int64_t due, conn_t *c)
{
    if (w->nheap == w->heap_cap) {
        size_t nc = w->heap_cap ? w->heap_cap * 2 : 1024;
        tmr_t *nh = realloc(w->heap, nc * sizeof *nh);
        if (!nh) bfatal(EXIT_TEMP, "out of memory");
        w->heap = nh; w->heap_cap = nc;
    }
    size_t i = w->nheap++;
    tmr_t t = { due, c->fd, c->gen };
    while (i > 0 && w->heap[(i - 1) / 2].due > due) { w->heap[i] = w->heap[(i - 1) / 2]; i = (i - 1) / 2; }
    w->heap[i] = t;
}

static tmr_t heap_pop(worker_t *w)
{
    tmr_t top = w->heap[0], last = w->heap[--w->nheap];
    size_t i = 0, n = w->nheap;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && w->heap[l].due < last.due) m = l;
        if (l + 1 < n && w->heap[l + 1].due < (m == i ? last.due : w->heap[m].due)) m = l + 1;
        if (m == i) break;
        w->heap[i] = w->heap[m]; i = m;
    }
    if (n) w->heap[i] = last;
    return top;
}

/* ---- streams ---- */

/* One SSE event as one HTTP chunk: "<hex>\r\n<data: …\n\n>\r\n". */
static int send_event(worker_t *w, conn_t *c, const char *ev, size_t len, int last)
{
    char out[1024];
    int n = snprintf(out, sizeof out, "%zx\r\n%.*s\r\n%s", len, (int)len, ev, last ? "0\r\n\r\n" : "");
    CNT(w, events);
    return conn_send(w, c, out, (size_t)n);
}

static void stream_done(worker_t *w, conn_t *c);

/* Send event number c->next: 0 the role chunk (with the headers), 1..N the
 * content chunks, N+1 the final chunk, usage and [DONE]. */
static int stream_step(worker_t *w, conn_t *c)
{
    char ev[512];
    int i = c->next++;
    if (i == 0) {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                   "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
        int n = snprintf(ev, sizeof ev, "data: {%s,\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
                         "\"content\":\"\"},\"finish_reason\":null}]}\n\n", CHUNK_ID);
        char out[1024];
        int m = snprintf(out, sizeof out, "%s%x\r\n%s\r\n", head, n, ev);
        CNT(w, events);
        return conn_send(w, c, out, (size_t)m);
    }
    if (i <= c->nchunks) {
        int n = snprintf(ev, sizeof ev, "data: {%s,\"choices\":[{\"index\":0,\"delta\":{\"content\":\"w%d \"},"
                         "\"finish_reason\":null}]}\n\n", CHUNK_ID, i - 1);
        return send_event(w, c, ev, (size_t)n, 0);
    }
    int n = snprintf(ev, sizeof ev, "data: {%s,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],"
                     "\"usage\":{\"prompt_tokens\":11,\"completion_tokens\":%d,\"total_tokens\":%d}}\n\n",
                     CHUNK_ID, c->nchunks, c->nchunks + 11);
    if (send_event(w, c, ev, (size_t)n, 0) < 0) return -1;
    return send_event(w, c, "data: [DONE]\n\n", 14, 1);
}

static void process(worker_t *w, conn_t *c);

/* Send what is due: the role and the first content chunk at once, then one
 * event per interval on the fixed schedule. A stream that is late sends one
 * event and queues behind the others (due = now + 1 µs, not picked again in
 * this pass): when the mock is short of CPU every stream slows down alike
 * instead of the late ones sending their backlog in a burst. */
static void stream_run(worker_t *w, conn_t *c, int64_t now)
{
    for (;;) {
        if (stream_step(w, c) < 0) return;
        if (c->next > c->nchunks + 1) { stream_done(w, c); return; }
        if (c->next == 1) continue;
        int64_t due = c->t0 + (int64_t)(c->next - 1) * c->interval_us;
        heap_push(w, due > now ? due : now + 1, c);
        return;
    }
}

static void stream_done(worker_t *w, conn_t *c)
{
    c->streaming = 0;
    CNT(w, streams_completed);
    if (c->close_after && buf_len(&c->out) == 0) { conn_close(w, c); return; }
    set_events(w, c, c->events | EPOLLIN);
    if (c->in_len) process(w, c);        /* a pipelined request waits */
}

/* ---- requests ---- */

static int header_value(const char *h, const char *end, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = h; p < end; ) {
        const char *e = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!e) e = end;
        if ((size_t)(e - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            size_t n = (size_t)(e - v) < cap - 1 ? (size_t)(e - v) : cap - 1;
            memcpy(out, v, n); out[n] = 0;
            return 1;
        }
        p = e + 2;
    }
    return 0;
}

static void stats_answer(worker_t *w, conn_t *c)
{
    counters_t t = { 0 };
    for (int i = 0; i < S.nw; i++) {
        counters_t *k = &S.w[i].c;
        t.connections += __atomic_load_n(&k->connections, __ATOMIC_RELAXED);
        t.requests += __atomic_load_n(&k->requests, __ATOMIC_RELAXED);
        t.streams_started += __atomic_load_n(&k->streams_started, __ATOMIC_RELAXED);
        t.streams_completed += __atomic_load_n(&k->streams_completed, __ATOMIC_RELAXED);
        t.streams_aborted += __atomic_load_n(&k->streams_aborted, __ATOMIC_RELAXED);
        t.events += __atomic_load_n(&k->events, __ATOMIC_RELAXED);
    }
    char body[512], out[768];
    int bl = snprintf(body, sizeof body,
        "{\"connections\":%llu,\"requests\":%llu,\"streams_started\":%llu,\"streams_completed\":%llu,"
        "\"streams_aborted\":%llu,\"events\":%llu}\n",
        (unsigned long long)t.connections, (unsigned long long)t.requests,
        (unsigned long long)t.streams_started, (unsigned long long)t.streams_completed,
        (unsigned long long)t.streams_aborted, (unsigned long long)t.events);
    int n = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\n\r\n%s", bl, body);
    conn_send(w, c, out, (size_t)n);
}

static int simple_answer(worker_t *w, conn_t *c, int status, const char *reason, int close_conn)
{
    char out[512];
    static const char body[] = "{\"error\":{\"message\":\"bench-mock: not here\",\"type\":\"invalid_request_error\"}}";
    int n = snprintf(out, sizeof out, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s", status, reason, sizeof body - 1,
                     close_conn ? "Connection: close\r\n" : "", body);
    if (close_conn) c->close_after = 1;
    return conn_send(w, c, out, (size_t)n);
}

/* A request we will not serve: answer, stop reading, close once sent. */
static void refuse(worker_t *w, conn_t *c, int status, const char *reason, int *gone)
{
    int fd = c->fd;
    *gone = 1;
    if (simple_answer(w, c, status, reason, 1) < 0 || w->conns[fd] != c) return;
    c->in_len = 0;
    if (buf_len(&c->out) == 0) conn_close(w, c);
    else set_events(w, c, EPOLLOUT | EPOLLRDHUP);
}

/* Answer one request at in[0..). 0 when it was handled and consumed (the
 * connection may be gone: *gone), 1 when more bytes are needed. */
static int one_request(worker_t *w, conn_t *c, int *gone)
{
    int fd = c->fd;
    char *p = c->in, *end = p + c->in_len;
    char *he = memmem(p, c->in_len, "\r\n\r\n", 4);
    if (!he) {
        if (c->in_len >= IN_MAX) refuse(w, c, 431, "Request Header Fields Too Large", gone);
        return 1;
    }
    char *le = memmem(p, (size_t)(he - p), "\r\n", 2);
    if (!le) le = he;
    char *sp1 = memchr(p, ' ', (size_t)(le - p)), *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(le - sp1 - 1)) : NULL;
    if (!sp1 || !sp2) { refuse(w, c, 400, "Bad Request", gone); return 0; }
    char v[32];
    long long cl = 0;
    if (header_value(le + 2, he + 2, "content-length", v, sizeof v)) cl = atoll(v);
    if (header_value(le + 2, he + 2, "transfer-encoding", v, sizeof v)) {
        refuse(w, c, 501, "Not Implemented", gone); return 0;
    }
    size_t total = (size_t)(he + 4 - p) + (size_t)cl;
    if (cl < 0 || total > IN_MAX) { refuse(w, c, 413, "Content Too Large", gone); return 0; }
    if (total > (size_t)(end - p)) return 1;
    int http10 = !memcmp(le - 3, "1.0", 3);
    if (http10 || (header_value(le + 2, he + 2, "connection", v, sizeof v) && !strcasecmp(v, "close")))
        c->close_after = 1;
    const char *target = sp1 + 1; size_t tl = (size_t)(sp2 - target);
    const char *body = he + 4;
    int chunks = S.chunks; int64_t iv = S.interval_us;
    if (header_value(le + 2, he + 2, "x-bench-chunks", v, sizeof v)) chunks = atoi(v);
    if (header_value(le + 2, he + 2, "x-bench-interval-ms", v, sizeof v)) iv = (int64_t)(atof(v) * 1000);
    if (chunks < 0) chunks = 0;
    if (chunks > MAX_CHUNKS) chunks = MAX_CHUNKS;
    if (iv < 0) iv = 0;
    int is_stats = tl >= 14 && !memcmp(target, "/__bench/stats", 14);
    int is_reset = tl >= 14 && !memcmp(target, "/__bench/reset", 14);
    int is_chat = tl >= 17 && memmem(target, tl, "/chat/completions", 17);
    int stream = is_chat && (memmem(body, (size_t)cl, "\"stream\":true", 13) ||
                             memmem(body, (size_t)cl, "\"stream\": true", 14));
    int rc;
    if (is_stats) {
        stats_answer(w, c); rc = 0;
    } else if (is_reset) {
        for (int i = 0; i < S.nw; i++) memset(&S.w[i].c, 0, sizeof S.w[i].c);
        rc = simple_answer(w, c, 200, "OK", 0);
    } else if (!is_chat || strncmp(p, "POST ", 5)) {
        CNT(w, requests);
        rc = simple_answer(w, c, 404, "Not Found", 0);
    } else if (!stream) {
        CNT(w, requests);
        if (chunks == S.chunks) {
            rc = conn_send(w, c, S.plain, S.plain_len);
        } else {
            size_t n; char *a = plain_answer(chunks, &n);
            rc = a ? conn_send(w, c, a, n) : -1;
            free(a);
        }
    } else {
        CNT(w, requests); CNT(w, streams_started);
        c->streaming = 1; c->next = 0; c->nchunks = chunks; c->interval_us = iv;
        c->t0 = clock_mono_us();
        rc = 0;
    }
    if (rc < 0 || w->conns[fd] != c) { *gone = 1; return 0; }
    memmove(c->in, c->in + total, c->in_len - total);
    c->in_len -= total;
    if (c->streaming) { stream_run(w, c, c->t0); if (w->conns[fd] != c) *gone = 1; }
    else if (c->close_after && buf_len(&c->out) == 0) { conn_close(w, c); *gone = 1; }
    return 0;
}

static void process(worker_t *w, conn_t *c)
{
    int fd = c->fd;
    while (w->conns[fd] == c && !c->streaming && c->in_len) {
        int gone = 0;
        if (one_request(w, c, &gone) || gone) break;
    }
}

static void on_readable(worker_t *w, conn_t *c)
{
    for (;;) {
        if (c->in_len == c->in_cap) {
            if (c->in_cap >= IN_MAX) {
                if (c->streaming) { set_events(w, c, c->events & ~(uint32_t)EPOLLIN); return; }
                break;
            }
            char *ni = realloc(c->in, c->in_cap * 2);
            if (!ni) { conn_close(w, c); return; }
            c->in = ni; c->in_cap *= 2;
        }
        ssize_t k = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
        if (k > 0) { c->in_len += (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) break;
        conn_close(w, c);                /* EOF or error */
        return;
    }
    if (!c->streaming) process(w, c);
}

static void on_accept(worker_t *w)
{
    for (;;) {
        int fd = accept4(w->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != ECONNABORTED) bwarn("accept: %s", strerror(errno));
            return;
        }
        if ((size_t)fd >= w->nconns) {
            size_t nn = w->nconns ? w->nconns : 1024;
            while (nn <= (size_t)fd) nn *= 2;
            conn_t **nc = realloc(w->conns, nn * sizeof *nc);
            if (!nc) { close(fd); continue; }
            memset(nc + w->nconns, 0, (nn - w->nconns) * sizeof *nc);
            w->conns = nc; w->nconns = nn;
        }
        conn_t *c = calloc(1, sizeof *c);
        if (c) c->in = malloc(IN_START);
        if (!c || !c->in) { if (c) free(c); close(fd); continue; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        c->fd = fd; c->gen = ++w->gen; c->in_cap = IN_START;
        buf_init(&c->out, OUT_MAX);
        c->events = EPOLLIN | EPOLLRDHUP;
        struct epoll_event e = { .events = c->events, .data.fd = fd };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) { free(c->in); free(c); close(fd); continue; }
        w->conns[fd] = c;
        CNT(w, connections);
    }
}

static void fire_timers(worker_t *w)
{
    int64_t now = clock_mono_us();
    while (w->nheap && w->heap[0].due <= now) {
        tmr_t t = heap_pop(w);
        conn_t *c = (size_t)t.fd < w->nconns ? w->conns[t.fd] : NULL;
        if (c && c->gen == t.gen && c->streaming) stream_run(w, c, now);
    }
}

static void *worker_run(void *arg)
{
    worker_t *w = arg;
    struct epoll_event evs[512];
    while (!stopping) {
        int64_t d = 200000;                         /* wake to notice a signal */
        if (w->nheap && w->heap[0].due - clock_mono_us() < d) d = w->heap[0].due - clock_mono_us();
        int n = epoll_wait_us(w->epfd, evs, 512, d);
        if (n < 0 && errno != EINTR) bfatal(EXIT_TEMP, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == w->lfd) { on_accept(w); continue; }
            conn_t *c = (size_t)fd < w->nconns ? w->conns[fd] : NULL;
            if (!c) continue;
            uint32_t e = evs[i].events;
            if (e & (EPOLLERR | EPOLLHUP)) { conn_close(w, c); continue; }
            if ((e & EPOLLOUT) && conn_flush(w, c) < 0) continue;
            if (e & (EPOLLIN | EPOLLRDHUP)) on_readable(w, c);
        }
        fire_timers(w);
    }
    return NULL;
}

int cmd_serve(int argc, char **argv)
{
    const char *listen_spec = "127.0.0.1:0", *port_file = NULL;
    int threads = 1, ch;
    S.chunks = 64; S.interval_us = 20000;
    static const struct option o[] = {
        { "listen", 1, 0, 'l' }, { "port-file", 1, 0, 'p' }, { "threads", 1, 0, 't' },
        { "chunks", 1, 0, 'c' }, { "interval-ms", 1, 0, 'i' }, { 0, 0, 0, 0 } };
    while ((ch = getopt_long(argc, argv, "l:p:t:c:i:", o, NULL)) != -1) {
        switch (ch) {
        case 'l': listen_spec = optarg; break;
        case 'p': port_file = optarg; break;
        case 't': threads = atoi(optarg); break;
        case 'c': S.chunks = atoi(optarg); break;
        case 'i': S.interval_us = (int64_t)(atof(optarg) * 1000); break;
        default: return EXIT_USAGE;
        }
    }
    if (threads < 1 || threads > 64 || S.chunks < 0 || S.chunks > MAX_CHUNKS || S.interval_us < 0) {
        bwarn("serve: bad --threads, --chunks or --interval-ms");
        return EXIT_USAGE;
    }
    S.plain = plain_answer(S.chunks, &S.plain_len);
    S.w = calloc((size_t)threads, sizeof *S.w);
    if (!S.plain || !S.w) bfatal(EXIT_TEMP, "out of memory");
    S.nw = threads;
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_stop };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int port = 0;
    for (int i = 0; i < threads; i++) {
        char spec[300];
        if (i == 0) snprintf(spec, sizeof spec, "%s", listen_spec);
        else { /* the other threads share the port the first one got */
            const char *colon = strrchr(listen_spec, ':');
            snprintf(spec, sizeof spec, "%.*s:%d", colon ? (int)(colon - listen_spec) : 9, colon ? listen_spec : "127.0.0.1", port);
        }
        worker_t *w = &S.w[i];
        w->lfd = listen_on(spec, threads > 1, 65535);
        if (w->lfd < 0) bfatal(EXIT_TEMP, "unable to listen on %s: %s", spec, strerror(errno));
        if (i == 0) port = bound_port(w->lfd);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        struct epoll_event e = { .events = EPOLLIN, .data.fd = w->lfd };
        if (w->epfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->lfd, &e) < 0)
            bfatal(EXIT_TEMP, "epoll: %s", strerror(errno));
    }
    fprintf(stderr, "%s: serve: listening on 127.0.0.1:%d (%d thread%s, %d chunks, %lld ms apart)\n",
            progname, port, threads, threads > 1 ? "s" : "", S.chunks, (long long)(S.interval_us / 1000));
    if (port_file && write_port_file(port_file, port) < 0)
        bfatal(EXIT_TEMP, "unable to write %s: %s", port_file, strerror(errno));
    for (int i = 1; i < threads; i++)
        if (pthread_create(&S.w[i].th, NULL, worker_run, &S.w[i]) != 0) bfatal(EXIT_TEMP, "pthread_create failed");
    worker_run(&S.w[0]);
    for (int i = 1; i < threads; i++) pthread_join(S.w[i].th, NULL);
    for (int i = 0; i < threads; i++) {
        worker_t *w = &S.w[i];
        for (size_t k = 0; k < w->nconns; k++) if (w->conns[k]) conn_close(w, w->conns[k]);
        free(w->conns); free(w->heap);
        close(w->epfd); close(w->lfd);
    }
    free(S.w); free(S.plain);
    return 0;
}
