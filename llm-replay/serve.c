/* serve.c — --serve: llm-replay as a recorded upstream (libmicrohttpd, a
 * thread per connection, so a paced answer may sleep). A request that
 * matches a recorded one (index.c) gets its answer: status, headers, and
 * the body's pieces at their recorded times divided by --speed (0: at
 * once). Asked without stream where a stream was recorded: the assembled
 * non-stream answer; asked to stream where only a non-stream answer was
 * recorded: a stream made from it (synth.c) for chat completions and
 * Anthropic messages, else 404. Unknown requests: 404 in the protocol's
 * error shape, or --fallback. */
#include "replay.h"
#include "clock.h"
#include "err.h"
#include "listen.h"
#include <curl/curl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX ((size_t)64 << 20)

typedef struct {
    const serve_opts_t *o;
    sindex_t *x;
} srv_t;

typedef struct {
    buf_t body;
    int too_big;
} req_t;

typedef struct {
    const answer_t *a;      /* paced pieces of a recorded answer, or */
    buf_t own;              /* one buffer sent at once, or */
    fwd_t *fwd;             /* a forwarded answer */
    double speed;
    int64_t t0;             /* monotonic, the request's arrival */
    int with_usage;
    size_t i, off;
} rd_t;

/* never copied from a recorded or forwarded answer: MHD frames the
 * response itself */
static const char *const framing[] = {
    "content-length", "transfer-encoding", "connection", "keep-alive", "date", "trailer", "upgrade", NULL
};

static int is_framing(const char *n)
{
    for (int i = 0; framing[i]; i++)
        if (!strcasecmp(n, framing[i])) return 1;
    return 0;
}

static void sleep_until(int64_t mono_us)
{
    int64_t d;
    while ((d = mono_us - clock_mono_us()) > 0) {
        struct timespec ts = { (time_t)(d / 1000000), (long)(d % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
}

static int skipped_piece(const rd_t *r, const piece_t *p)
{
    return p->len == 0 || (p->usage_only && !r->with_usage);
}

static ssize_t read_answer(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    rd_t *r = cls;
    if (r->fwd) {
        long n = fwd_read(r->fwd, buf, max);
        return n > 0 ? (ssize_t)n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (!r->a) {
        size_t n = buf_len(&r->own) < max ? buf_len(&r->own) : max;
        if (!n) return MHD_CONTENT_READER_END_OF_STREAM;
        memcpy(buf, buf_ptr(&r->own), n);
        buf_consume(&r->own, n);
        return (ssize_t)n;
    }
    const answer_t *a = r->a;
    while (r->i < a->npieces && skipped_piece(r, &a->pieces[r->i])) r->i++;
    if (r->i >= a->npieces) return MHD_CONTENT_READER_END_OF_STREAM;
    const piece_t *p = &a->pieces[r->i];
    if (r->off == 0 && r->speed > 0) sleep_until(r->t0 + (int64_t)((double)p->t_us / r->speed));
    size_t n = p->len - r->off < max ? p->len - r->off : max;
    memcpy(buf, buf_ptr(&a->bytes) + p->off + r->off, n);
    r->off += n;
    if (r->off == p->len) { r->i++; r->off = 0; }
    return (ssize_t)n;
}

static void free_reader(void *cls)
{
    rd_t *r = cls;
    buf_free(&r->own);
    fwd_free(r->fwd);
    free(r);
}

static enum MHD_Result send_json(struct MHD_Connection *c, int status, const char *body)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* an error in the protocol's own shape */
static enum MHD_Result native_error(struct MHD_Connection *c, int protocol, int status, const char *msg)
{
    const char *otype = status == 413 ? "invalid_request_error" : status >= 500 ? "api_error" : "invalid_request_error";
    const char *atype = status == 404 ? "not_found_error" : status == 413 ? "request_too_large"
                      : status >= 500 ? "api_error" : "invalid_request_error";
    json_t *j = protocol == PROTO_ANTHROPIC
        ? json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", atype, "message", msg)
        : json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", otype, "param",
                    "code", status == 404 ? "not_found" : status == 413 ? "request_too_large" : "server_error");
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    enum MHD_Result rc = send_json(c, status, s ? s : "{}");
    free(s);
    return rc;
}

static void copy_headers(struct MHD_Response *resp, const json_t *headers, int keep_type)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_array_get(h, 0)), *v = json_string_value(json_array_get(h, 1));
        if (!n || !v || is_framing(n) || rec_masked(v)) continue;
        if (!keep_type && (!strcasecmp(n, "content-type") || !strcasecmp(n, "content-encoding"))) continue;
        MHD_add_response_header(resp, n, v);
    }
}

static int asks_usage(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    int u = json_is_true(json_object_get(json_object_get(j, "stream_options"), "include_usage"));
    json_decref(j);
    return u;
}

static enum MHD_Result queue(struct MHD_Connection *c, int status, struct MHD_Response *resp)
{
    if (!resp) return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* every header of the request, as [[name, value], …] */
static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    json_array_append_new(cls, json_pack("[s,s]", k, v ? v : ""));
    return MHD_YES;
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    (void)kind;
    buf_t *b = cls;
    buf_append_str(b, buf_len(b) ? "&" : "?");
    char *ek = curl_easy_escape(NULL, k, 0), *ev = v ? curl_easy_escape(NULL, v, 0) : NULL;
    if (ek) buf_append_str(b, ek);
    if (ev) { buf_append_str(b, "="); buf_append_str(b, ev); }
    curl_free(ek);
    curl_free(ev);
    return MHD_YES;
}

static enum MHD_Result forward(srv_t *s, struct MHD_Connection *c, int protocol, const char *url,
                               const char *method, const req_t *q)
{
    json_t *hdrs = json_array();
    buf_t uri;
    buf_init(&uri, 0);
    if (!hdrs || buf_append_str(&uri, url)) {
        json_decref(hdrs);
        buf_free(&uri);
        return MHD_NO;
    }
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, hdrs);
    buf_t query;
    buf_init(&query, 0);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &query);
    buf_append(&uri, buf_ptr(&query), buf_len(&query));
    buf_free(&query);
    char err[ERRBUF_SIZE];
    fwd_t *f = fwd_start(s->o->fallback, method, buf_ptr(&uri), hdrs, buf_ptr(&q->body), buf_len(&q->body), 600,
                         err, sizeof err);
    json_decref(hdrs);
    buf_free(&uri);
    if (!f) {
        fprintf(stderr, PROG ": warning: %s\n", err);
        return native_error(c, protocol, 502, "llm-replay: the fallback upstream did not answer");
    }
    rd_t *r = calloc(1, sizeof *r);
    if (!r) { fwd_free(f); return MHD_NO; }
    buf_init(&r->own, 0);
    r->fwd = f;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_answer, r,
                                                                  free_reader);
    if (!resp) { free_reader(r); return MHD_NO; }
    copy_headers(resp, fwd_headers(f), 1);
    return queue(c, fwd_status(f), resp);
}

static enum MHD_Result respond(srv_t *s, struct MHD_Connection *c, const char *url, const char *method, req_t *q)
{
    int64_t t0 = clock_mono_us();
    const char *av = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "anthropic-version");
    int protocol = proto_of_path(url, av != NULL);
    if (q->too_big) return native_error(c, protocol, 413, "llm-replay: request body too large");
    const char *body = buf_ptr(&q->body);
    size_t len = buf_len(&q->body);
    int stream = body_streams(body, len), same = 0;
    const answer_t *a = sindex_find(s->x, protocol, method, url, body, len, stream, &same);
    if (!a) {
        if (s->o->fallback) return forward(s, c, protocol, url, method, q);
        return native_error(c, protocol, 404, "llm-replay: no recorded exchange matches this request "
                            "(method, path and body, stream flags aside)");
    }
    rd_t *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    buf_init(&r->own, 0);
    r->speed = s->o->speed;
    r->t0 = t0;
    r->with_usage = asks_usage(body, len);
    struct MHD_Response *resp;
    const char *ctype = NULL;
    if (same || !a->streamed == !stream) {
        r->a = a;
        uint64_t total = MHD_SIZE_UNKNOWN;
        if (!a->streamed) {
            total = 0;
            for (size_t i = 0; i < a->npieces; i++)
                if (!skipped_piece(r, &a->pieces[i])) total += a->pieces[i].len;
        }
        resp = MHD_create_response_from_callback(total, 64 * 1024, read_answer, r, free_reader);
    } else if (stream) {
        /* recorded non-stream, asked to stream */
        if (synth_stream(buf_ptr(&a->bytes), buf_len(&a->bytes), r->with_usage, &r->own)) {
            free_reader(r);
            return native_error(c, protocol, 404, "llm-replay: this request was recorded only without "
                                "streaming, and its answer cannot be made a stream");
        }
        ctype = "text/event-stream";
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, read_answer, r, free_reader);
    } else {
        /* recorded streaming, asked without */
        if (!a->assembled || buf_append_str(&r->own, a->assembled)) {
            free_reader(r);
            return native_error(c, protocol, 404, "llm-replay: this request was recorded only streaming, "
                                "and its answer could not be assembled");
        }
        ctype = "application/json";
        resp = MHD_create_response_from_callback(buf_len(&r->own), 64 * 1024, read_answer, r, free_reader);
    }
    if (!resp) { free_reader(r); return MHD_NO; }
    copy_headers(resp, a->headers, !ctype && !a->translated_client);
    if (ctype) MHD_add_response_header(resp, "Content-Type", ctype);
    else if (a->translated_client)
        MHD_add_response_header(resp, "Content-Type", a->streamed ? "text/event-stream" : "application/json");
    if (s->o->speed > 0) sleep_until(t0 + (int64_t)((double)a->resp_us / s->o->speed));
    return queue(c, a->status, resp);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    req_t *q = *con_cls;
    if (!q) {
        if (!(q = calloc(1, sizeof *q))) return MHD_NO;
        buf_init(&q->body, REQ_MAX);
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!q->too_big && buf_append(&q->body, upload, *upload_size)) q->too_big = 1;
        *upload_size = 0;
        return MHD_YES;
    }
    return respond(cls, c, url, method, q);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls; (void)c; (void)toe;
    req_t *q = *con_cls;
    if (q) {
        buf_free(&q->body);
        free(q);
        *con_cls = NULL;
    }
}

int serve_run(const serve_opts_t *o, load_opts_t *lo, jqwhere_t *w, char *err, size_t errlen)
{
    sindex_t *x = sindex_new();
    if (!x) { snprintf(err, errlen, "out of memory"); return EXIT_TEMP; }
    sindex_where(x, w);
    int rc = load_run(lo, sindex_add, x, err, errlen);
    if (!rc && sindex_error(x)) {
        snprintf(err, errlen, "%s", sindex_error(x));
        rc = strstr(err, "--where") ? EXIT_USAGE : EXIT_TEMP;
    }
    if (rc) { sindex_free(x); return rc; }
    size_t answers, keys, skipped;
    sindex_counts(x, &answers, &keys, &skipped);
    if (lo->malformed)
        fprintf(stderr, PROG ": warning: %llu lines were not capture events\n", (unsigned long long)lo->malformed);

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);      /* before MHD's threads exist */
    int fd = listen_open(o->listen, 128, err, errlen);
    if (fd == -2) snprintf(err, errlen, "--listen: not ADDR:PORT or [V6]:PORT: %s", o->listen);
    if (fd < 0) { sindex_free(x); return fd == -2 ? EXIT_USAGE : EXIT_TEMP; }
    srv_t s = { .o = o, .x = x };
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                                            0, NULL, NULL, handler, &s,
                                            MHD_OPTION_LISTEN_SOCKET, fd,
                                            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                                            MHD_OPTION_END);
    if (!d) {
        close(fd);
        sindex_free(x);
        snprintf(err, errlen, "unable to start the HTTP server");
        return EXIT_TEMP;
    }
    fprintf(stderr, PROG ": serving %zu recorded answers to %zu distinct requests (%zu exchanges not servable)\n",
            answers, keys, skipped);
    char addr[LISTEN_ADDR_LEN];
    if (listen_format(fd, addr, sizeof addr) == 0) fprintf(stderr, PROG ": listening on %s\n", addr);
    int sig;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    close(fd);
    sindex_free(x);
    return EXIT_OK;
}
