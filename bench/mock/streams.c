/* streams.c — `bench-mock streams`: the streaming load client. Opens up
 * to --concurrency connections (started evenly over --ramp-ms), runs
 * --streams chat-completion streams over them (keep-alive: a connection
 * carries its next stream when one ends), splits each response into SSE
 * events (lib/sse) and measures, per stream, the time to the first content
 * event and every gap between events; optionally samples the RSS of the
 * processes named by --watch-pid. Prints one JSON object.
 *
 * A stream is complete when its response is 200 and holds every event the
 * mock sends: the role chunk, --chunks content chunks, the final chunk and
 * [DONE] (chunks + 3). The time to first token is measured from the write
 * of the request to the first content event (the second event); gaps are
 * between consecutive events from the first content event on, [DONE]
 * excluded (it travels with the final chunk); they are kept in a histogram
 * (lib/histo, 1% relative error) as lateness, gap minus the interval, so
 * that the percentiles resolve microseconds (gaps below the interval count
 * as on time). */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "bench.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "histo.h"
#include "sse.h"

enum cstate { C_IDLE, C_CONNECTING, C_HEAD, C_BODY, C_CLOSED };
enum chunk_state { CS_SIZE, CS_EXT, CS_SIZE_LF, CS_DATA, CS_DATA_CR, CS_DATA_LF, CS_TRAILER };
enum fail { F_CONNECT, F_STATUS, F_SHORT, F_TIMEOUT, F_IO, F_NFAIL };
static const char *const fail_name[F_NFAIL] = { "connect", "status", "incomplete", "timeout", "io" };

typedef struct sconn {
    int fd, slot;
    enum cstate st;
    char head[8192]; size_t hlen;
    int status, chunked, close_delim;
    long long clen;                   /* body bytes left with Content-Length */
    enum chunk_state cs; uint64_t csize; size_t tline;
    sse_t *sse;
    int events, saw_done, in_stream;
    int64_t t_req, t_last, now;
} sconn_t;

static struct {
    char host[256], path[1024]; int port;
    struct sockaddr_in addr;
    long streams, conc; int64_t ramp_us, timeout_us, max_gap_us;
    int chunks; double interval_ms;
    char *req; size_t req_len;
    pid_t pids[16]; int npids;
    const char *label;
    /* progress */
    long started, done, ok, open, max_open, fails[F_NFAIL];
    uint64_t events, events_ok, gaps_over;
    int64_t max_gap;
    histo_t ttft, gaps;                   /* µs; gaps: minus the interval */
    int64_t interval_us;
    long rss_peak, rss_at_max_open, rss_before;
    int epfd;
    sconn_t *c;
    int *restart; long nrestart, extra;   /* slots waiting; streams past the first conc */
} T;

/* ---- per-event measurements ---- */

static int on_event(void *arg, const sse_event_t *ev)
{
    sconn_t *c = arg;
    int idx = c->events++;
    T.events++;
    if (ev->has_data && ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) { c->saw_done = 1; return 0; }
    if (idx == 1) histo_add(&T.ttft, (double)(c->now - c->t_req));
    if (idx >= 2) {
        int64_t g = c->now - c->t_last;
        histo_add(&T.gaps, (double)(g - T.interval_us));   /* lateness: fine resolution */
        if (g > T.max_gap) T.max_gap = g;
        if (g > T.max_gap_us) T.gaps_over++;
    }
    c->t_last = c->now;
    return 0;
}

/* ---- connections ---- */

static void conn_close(sconn_t *c)
{
    if (c->fd >= 0) { epoll_ctl(T.epfd, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); T.open--; }
    c->fd = -1;
    c->st = C_CLOSED;
    if (c->sse) { sse_free(c->sse); c->sse = NULL; }
}

/* a slot whose stream ended takes the next one, from the main loop */
static int more_streams(void) { return T.conc + T.extra < T.streams; }

static void queue_next(sconn_t *c)
{
    if (more_streams()) { T.extra++; T.restart[T.nrestart++] = c->slot; }
}

static void stream_failed(sconn_t *c, enum fail f)
{
    conn_close(c);
    if (!c->in_stream) return;
    T.fails[f]++; T.done++; c->in_stream = 0;
    queue_next(c);
}

static int send_request(sconn_t *c)
{
    c->hlen = 0; c->status = 0; c->chunked = 0; c->close_delim = 0; c->clen = -1;
    c->cs = CS_SIZE; c->csize = 0; c->tline = 0;
    c->events = 0; c->saw_done = 0;
    if (c->sse) sse_free(c->sse);
    c->sse = sse_new(1 << 20, on_event, c);
    if (!c->sse) { stream_failed(c, F_IO); return -1; }
    c->t_req = clock_mono_us();
    ssize_t k = send(c->fd, T.req, T.req_len, MSG_NOSIGNAL);  /* small: fits the socket buffer */
    if (k != (ssize_t)T.req_len) { stream_failed(c, F_IO); return -1; }
    c->st = C_HEAD;
    struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
    epoll_ctl(T.epfd, EPOLL_CTL_MOD, c->fd, &e);
    return 0;
}

static void start_stream(sconn_t *c)
{
    if (T.started >= T.streams) return;
    T.started++;
    c->in_stream = 1;
    if (c->fd >= 0 && c->st != C_CLOSED) { send_request(c); return; }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { stream_failed(c, F_CONNECT); return; }
    T.open++;
    if (T.open > T.max_open) T.max_open = T.open;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int r = connect(c->fd, (struct sockaddr *)&T.addr, sizeof T.addr);
    if (r < 0 && errno != EINPROGRESS) { stream_failed(c, F_CONNECT); return; }
    c->st = C_CONNECTING;
    struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(T.epfd, EPOLL_CTL_ADD, c->fd, &e) < 0) { stream_failed(c, F_CONNECT); return; }
}

/* The response ended; keep: the connection may carry the next stream. */
static void stream_complete(sconn_t *c, int keep)
{
    int ok = c->status == 200 && c->saw_done && c->events == T.chunks + 3;
    if (!ok) { stream_failed(c, c->status == 200 ? F_SHORT : F_STATUS); return; }
    T.ok++; T.events_ok += (uint64_t)c->events; T.done++; c->in_stream = 0;
    c->st = C_IDLE;
    if (!keep || !more_streams()) conn_close(c);
    queue_next(c);
}

static int parse_head(sconn_t *c)
{
    char *e = memmem(c->head, c->hlen, "\r\n\r\n", 4);
    if (!e) return c->hlen == sizeof c->head ? -1 : 0;
    *e = 0;
    if (strncmp(c->head, "HTTP/1.", 7) || c->hlen < 12) return -1;
    c->status = atoi(c->head + 9);
    int http10 = c->head[7] == '0';
    c->close_delim = 1;
    for (char *l = strstr(c->head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        char *v = l + 2;
        if (!strncasecmp(v, "transfer-encoding:", 18) && strcasestr(v + 18, "chunked")) { c->chunked = 1; c->close_delim = 0; }
        else if (!strncasecmp(v, "content-length:", 15)) { c->clen = atoll(v + 15); c->close_delim = 0; }
        else if (!strncasecmp(v, "connection:", 11) && strcasestr(v + 11, "close")) http10 = 1;
    }
    if (http10 && !c->close_delim) c->close_delim = 2;   /* framed, then closed */
    return (int)(e + 4 - c->head);
}

/* Body bytes: de-chunk and feed the SSE splitter. 1 when the response ended. */
static int body_bytes(sconn_t *c, const char *p, size_t n)
{
    if (!c->chunked) {
        size_t take = n;
        if (c->clen >= 0 && (long long)take > c->clen) take = (size_t)c->clen;
        sse_feed(c->sse, p, take);
        if (c->clen >= 0) { c->clen -= (long long)take; if (c->clen == 0) { sse_finish(c->sse); return 1; } }
        return 0;
    }
    const char *e = p + n;
    while (p < e) {
        char ch = *p;
        switch (c->cs) {
        case CS_SIZE:
            if (ch >= '0' && ch <= '9') c->csize = c->csize * 16 + (uint64_t)(ch - '0');
            else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f') c->csize = c->csize * 16 + (uint64_t)((ch | 0x20) - 'a' + 10);
            else if (ch == ';') c->cs = CS_EXT;
            else if (ch == '\r') c->cs = CS_SIZE_LF;
            else if (ch == '\n') goto size_done;
            else return -1;
            p++; continue;
        case CS_EXT:
            if (ch == '\n') { p++; goto size_done; }
            p++; continue;
        case CS_SIZE_LF:
            if (ch != '\n') return -1;
            p++;
        size_done:
            if (c->csize == 0) { c->cs = CS_TRAILER; c->tline = 0; }
            else c->cs = CS_DATA;
            continue;
        case CS_DATA: {
            size_t take = (size_t)(e - p) < c->csize ? (size_t)(e - p) : (size_t)c->csize;
            sse_feed(c->sse, p, take);
            p += take; c->csize -= take;
            if (c->csize == 0) c->cs = CS_DATA_CR;
            continue;
        }
        case CS_DATA_CR:
            if (ch == '\r') { c->cs = CS_DATA_LF; p++; continue; }
            if (ch == '\n') { c->cs = CS_SIZE; p++; continue; }
            return -1;
        case CS_DATA_LF:
            if (ch != '\n') return -1;
            c->cs = CS_SIZE; p++; continue;
        case CS_TRAILER:
            p++;
            if (ch == '\n') { if (c->tline == 0) { sse_finish(c->sse); return 1; } c->tline = 0; }
            else if (ch != '\r') c->tline++;
            continue;
        }
    }
    return 0;
}

static void on_readable(sconn_t *c)
{
    char buf[65536];
    for (;;) {
        ssize_t k = read(c->fd, buf, sizeof buf);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && errno == EAGAIN) return;
        c->now = clock_mono_us();
        if (k <= 0) {                           /* EOF or error */
            if (c->st == C_BODY && c->close_delim == 1) { sse_finish(c->sse); stream_complete(c, 0); }
            else stream_failed(c, c->st == C_HEAD && c->hlen == 0 && k == 0 ? F_IO : F_SHORT);
            return;
        }
        const char *p = buf; size_t n = (size_t)k;
        if (c->st == C_HEAD) {
            size_t take = n < sizeof c->head - c->hlen ? n : sizeof c->head - c->hlen;
            memcpy(c->head + c->hlen, p, take);
            size_t before = c->hlen;
            c->hlen += take;
            int h = parse_head(c);
            if (h < 0) { stream_failed(c, F_IO); return; }
            if (h == 0) continue;
            p += (size_t)h - before; n -= (size_t)h - before;
            c->st = C_BODY;
            if (c->clen == 0) { stream_complete(c, !c->close_delim); return; }
        }
        int r = body_bytes(c, p, n);
        if (r < 0) { stream_failed(c, F_IO); return; }
        if (r == 1) { stream_complete(c, c->close_delim != 2); return; }
    }
}

static void on_event_fd(sconn_t *c, uint32_t ev)
{
    if (c->st == C_CONNECTING) {
        int err = 0; socklen_t sl = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl);
        if (err || (ev & (EPOLLERR | EPOLLHUP))) { stream_failed(c, F_CONNECT); return; }
        send_request(c);
        return;
    }
    if (c->st == C_HEAD || c->st == C_BODY) on_readable(c);
    else if (c->fd >= 0 && c->st == C_IDLE) conn_close(c);      /* closed while idle */
}

/* ---- the request ---- */

static void build_request(int body_bytes)
{
    buf_t b, body;
    buf_init(&b, 0); buf_init(&body, 0);
    buf_append_str(&body, "{\"model\":\"bench\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                          "\"messages\":[{\"role\":\"user\",\"content\":\"");
    static const char *const words[] = { "The ", "relay ", "records ", "every ", "chunk ", "with ", "its ", "timing. " };
    for (int i = 0; (int)buf_len(&body) + 4 < body_bytes; i++) buf_append_str(&body, words[i % 8]);
    buf_append_str(&body, "\"}]}");
    char h[2048];
    snprintf(h, sizeof h, "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
             "Authorization: Bearer sk-bench-0000000000000000\r\nAccept: text/event-stream\r\n"
             "X-Bench-Chunks: %d\r\nX-Bench-Interval-Ms: %g\r\nContent-Length: %zu\r\n\r\n",
             T.path, T.host, T.port, T.chunks, T.interval_ms, buf_len(&body));
    buf_append_str(&b, h);
    buf_append(&b, buf_ptr(&body), buf_len(&body));
    T.req_len = buf_len(&b);
    T.req = malloc(T.req_len);
    if (!T.req) bfatal(EXIT_TEMP, "out of memory");
    memcpy(T.req, buf_ptr(&b), T.req_len);
    buf_free(&b); buf_free(&body);
}

static long rss_sum(void)
{
    long t = 0;
    for (int i = 0; i < T.npids; i++) { long r = rss_kib(T.pids[i]); if (r < 0) return -1; t += r; }
    return t;
}

static long long q(const histo_t *h, double x)
{
    return h->count ? (long long)(histo_quantile(h, x) + 0.5) : 0;
}

static void print_result(int64_t elapsed_us)
{
    long failed = 0;
    for (int i = 0; i < F_NFAIL; i++) failed += T.fails[i];
    double err_rate = T.streams ? (double)failed / (double)T.streams : 0;
    int pass = err_rate < 0.001 && T.gaps_over == 0;
    printf("{\"label\":\"%s\",\"streams\":%ld,\"concurrency\":%ld,\"chunks\":%d,\"interval_ms\":%g,"
           "\"ok\":%ld,\"failed\":%ld,\"errors\":{", T.label ? T.label : "", T.streams, T.conc,
           T.chunks, T.interval_ms, T.ok, failed);
    for (int i = 0; i < F_NFAIL; i++) printf("%s\"%s\":%ld", i ? "," : "", fail_name[i], T.fails[i]);
    printf("},\"error_rate\":%.6f,\"events\":%llu,\"events_ok_streams\":%llu,\"events_expected\":%llu,"
           "\"max_open\":%ld,\"duration_ms\":%lld,"
           "\"ttft_us\":{\"n\":%llu,\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,\"max\":%lld},"
           "\"gap_us\":{\"n\":%llu,\"p50\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld,\"over_limit\":%llu,\"limit\":%lld},",
           err_rate, (unsigned long long)T.events, (unsigned long long)T.events_ok,
           (unsigned long long)T.streams * (unsigned long long)(T.chunks + 3),
           T.max_open, (long long)(elapsed_us / 1000),
           (unsigned long long)T.ttft.count, q(&T.ttft, 0.50), q(&T.ttft, 0.90), q(&T.ttft, 0.99), q(&T.ttft, 1),
           (unsigned long long)T.gaps.count, T.interval_us + q(&T.gaps, 0.50),
           T.interval_us + q(&T.gaps, 0.99), T.interval_us + q(&T.gaps, 0.999),
           (long long)T.max_gap, (unsigned long long)T.gaps_over, (long long)T.max_gap_us);
    printf("\"rss_kib\":{\"before\":%ld,\"peak\":%ld,\"at_max_open\":%ld},\"pass\":%s}\n",
           T.rss_before, T.rss_peak, T.rss_at_max_open, pass ? "true" : "false");
    fflush(stdout);
}

int cmd_streams(int argc, char **argv)
{
    const char *url = NULL;
    int body = 1024, ch;
    T.streams = 100; T.conc = -1; T.chunks = 64; T.interval_ms = 20;
    T.timeout_us = 120 * 1000000LL; T.max_gap_us = 200000;
    static const struct option o[] = {
        { "url", 1, 0, 'u' }, { "streams", 1, 0, 'n' }, { "concurrency", 1, 0, 'c' },
        { "ramp-ms", 1, 0, 'r' }, { "chunks", 1, 0, 'k' }, { "interval-ms", 1, 0, 'i' },
        { "timeout-s", 1, 0, 't' }, { "max-gap-ms", 1, 0, 'g' }, { "body-bytes", 1, 0, 'b' },
        { "watch-pid", 1, 0, 'w' }, { "label", 1, 0, 'L' }, { 0, 0, 0, 0 } };
    while ((ch = getopt_long(argc, argv, "u:n:c:r:k:i:t:g:b:w:L:", o, NULL)) != -1) {
        switch (ch) {
        case 'u': url = optarg; break;
        case 'n': T.streams = atol(optarg); break;
        case 'c': T.conc = atol(optarg); break;
        case 'r': T.ramp_us = (int64_t)(atof(optarg) * 1000); break;
        case 'k': T.chunks = atoi(optarg); break;
        case 'i': T.interval_ms = atof(optarg); break;
        case 't': T.timeout_us = (int64_t)(atof(optarg) * 1e6); break;
        case 'g': T.max_gap_us = (int64_t)(atof(optarg) * 1000); break;
        case 'b': body = atoi(optarg); break;
        case 'w': if (T.npids < 16) T.pids[T.npids++] = (pid_t)atol(optarg); break;
        case 'L': T.label = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    if (!url || parse_url(url, T.host, sizeof T.host, &T.port, T.path, sizeof T.path) < 0) {
        bwarn("streams: --url http://HOST:PORT/PATH is required");
        return EXIT_USAGE;
    }
    if (T.conc <= 0 || T.conc > T.streams) T.conc = T.streams;
    if (T.streams <= 0 || T.chunks < 0 || T.ramp_us < 0 || body < 0 || body > (1 << 20)) {
        bwarn("streams: bad --streams, --chunks, --ramp-ms or --body-bytes");
        return EXIT_USAGE;
    }
    T.addr.sin_family = AF_INET;
    T.addr.sin_port = htons((uint16_t)T.port);
    if (inet_pton(AF_INET, T.host, &T.addr.sin_addr) != 1) {
        struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
        if (getaddrinfo(T.host, NULL, &hints, &ai) != 0) bfatal(EXIT_USAGE, "streams: unknown host %s", T.host);
        T.addr.sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
        freeaddrinfo(ai);
    }
    signal(SIGPIPE, SIG_IGN);
    histo_init(&T.ttft); histo_init(&T.gaps);
    T.interval_us = (int64_t)(T.interval_ms * 1000);
    build_request(body);
    T.c = calloc((size_t)T.conc, sizeof *T.c);
    T.restart = calloc((size_t)T.conc, sizeof *T.restart);
    T.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!T.c || !T.restart || T.epfd < 0) bfatal(EXIT_TEMP, "out of memory or no epoll");
    for (long i = 0; i < T.conc; i++) { T.c[i].fd = -1; T.c[i].slot = (int)i; T.c[i].st = C_IDLE; }
    T.rss_before = T.npids ? rss_sum() : -1;
    T.rss_peak = T.rss_at_max_open = T.rss_before;

    int64_t t0 = clock_mono_us(), deadline = t0 + T.ramp_us + T.timeout_us, next_rss = t0;
    long next_slot = 0, rss_open = -1;
    struct epoll_event evs[1024];
    while (T.done < T.streams) {
        int64_t now = clock_mono_us();
        while (next_slot < T.conc && now >= t0 + T.ramp_us * next_slot / T.conc) start_stream(&T.c[next_slot++]);
        if (T.npids && now >= next_rss) {
            long r = rss_sum();
            if (r > T.rss_peak) T.rss_peak = r;
            if (T.open >= rss_open) { rss_open = T.open; T.rss_at_max_open = r; }
            next_rss = now + 50000;
        }
        if (now >= deadline) break;
        int64_t wake = deadline;
        if (next_slot < T.conc) { int64_t s = t0 + T.ramp_us * next_slot / T.conc; if (s < wake) wake = s; }
        if (T.npids && next_rss < wake) wake = next_rss;
        int n = epoll_wait_us(T.epfd, evs, 1024, wake - now);
        if (n < 0 && errno != EINTR) bfatal(EXIT_TEMP, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) on_event_fd(evs[i].data.ptr, evs[i].events);
        /* slots whose stream ended start the next one (keep-alive when it can) */
        while (T.nrestart > 0) start_stream(&T.c[T.restart[--T.nrestart]]);
    }
    for (long i = 0; i < T.conc; i++) {
        if (T.c[i].in_stream) stream_failed(&T.c[i], F_TIMEOUT);
        conn_close(&T.c[i]);
    }
    T.fails[F_TIMEOUT] += T.streams - T.started;     /* never started in time */
    print_result(clock_mono_us() - t0);
    histo_free(&T.ttft); histo_free(&T.gaps);
    free(T.c); free(T.restart); free(T.req);
    close(T.epfd);
    return 0;
}
