/* server.c — the inbound side: libmicrohttpd daemons on our epoll loop,
 * the request handler (header checks, body intake, relay-generated native
 * errors, /health and /metrics), and the streaming content reader. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include "relay.h"
#include "clock.h"

void server_resume(exchange_t *ex)
{
    if (ex->suspended && ex->conn) {
        ex->suspended = 0;
        MHD_resume_connection(ex->conn);
        ex->r->run_mhd = 1;
    }
}

static void suspend(exchange_t *ex)
{
    if (!ex->suspended) { ex->suspended = 1; MHD_suspend_connection(ex->conn); }
}

/* ---- responses the relay makes itself ---- */

/* IMF-fixdate (RFC 9110 §5.6.7), formatted once a second */
static void add_date(struct MHD_Response *resp)
{
    static char d[40];
    static time_t last = -1;
    time_t t = time(NULL);
    if (t != last) {
        static const char wd[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char mo[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        gmtime_r(&t, &tm);
        snprintf(d, sizeof d, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday % 7], tm.tm_mday,
                 mo[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        last = t;
    }
    MHD_add_response_header(resp, "Date", d);
}

static enum MHD_Result queue_buffer(struct MHD_Connection *conn, int status, const char *ctype,
                                    const char *body, size_t len, const char *reqid,
                                    const char *retry_after, int close)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    add_date(resp);
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (reqid) MHD_add_response_header(resp, "X-Request-Id", reqid);
    if (retry_after) MHD_add_response_header(resp, "Retry-After", retry_after);
    if (close) MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result rc = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return rc;
}

static enum MHD_Result queue_relay_error(exchange_t *ex)
{
    int close = ex->relay_status == 400 || ex->relay_status == 413 || ex->relay_status == 431 ||
                ex->relay_status == 501 ||
                ex->relay_status == 503;
    return queue_buffer(ex->conn, ex->relay_status, "application/json", ex->relay_body,
                        strlen(ex->relay_body), ex->id, ex->relay_retry_after, close);
}

/* ---- the streaming response ---- */

static ssize_t reader(void *cls, uint64_t pos, char *out, size_t max)
{
    exchange_t *ex = cls;
    (void)pos;
    if (buf_len(&ex->out) > 0 && !ex->client_gone) {
        size_t n = buf_len(&ex->out) < max ? buf_len(&ex->out) : max;
        memcpy(out, buf_ptr(&ex->out), n);
        buf_consume(&ex->out, n);
        ex->bytes_out += n;
        ex->last_io_mono = clock_mono_us();
        if (buf_len(&ex->out) == 0) buf_trim(&ex->out, 0);
        if (ex->paused) upstream_request_unpause(ex);
        return (ssize_t)n;
    }
    if (ex->client_gone) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (ex->curl_done)
        return ex->upstream_broke ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    suspend(ex);
    return 0;
}

static int skip_response_header(const exchange_t *ex, const char *name)
{
    return hdr_is_hop_by_hop(name, ex->rh, ex->nrh) || !strcasecmp(name, "content-length") ||
           !strcasecmp(name, "x-request-id");
}

/* The whole answer is here already (a small body read with its head, a
 * translated whole): handed over as one buffer, which libmicrohttpd
 * sends with the head in one system call. */
static struct MHD_Response *whole_response(exchange_t *ex)
{
    size_t n = buf_len(&ex->out);
    if (!ex->curl_done || ex->upstream_broke || ex->client_gone || ex->is_sse || ex->tr_stream ||
        !strcmp(ex->method, "HEAD") || ex->status < 200 || ex->status == 204 || ex->status == 304 ||
        (ex->content_length >= 0 && (uint64_t)ex->content_length != n))
        return NULL;
    struct MHD_Response *resp;
    if (ex->out.off == 0 && ex->out.data) {      /* the buffer itself changes hands */
        resp = MHD_create_response_from_buffer_with_free_callback(n, ex->out.data, free);
        if (resp) buf_init(&ex->out, ex->out.cap);
    } else {
        resp = MHD_create_response_from_buffer(n, (void *)buf_ptr(&ex->out), MHD_RESPMEM_MUST_COPY);
        if (resp) buf_free(&ex->out);
    }
    if (resp) { ex->bytes_out += n; ex->last_io_mono = clock_mono_us(); }
    return resp;
}

/* A response that has no body whatever its header says (RFC 9110 §6.4.1):
 * to HEAD, and 1xx, 204, 304. */
static int bodiless(const exchange_t *ex)
{
    return !strcmp(ex->method, "HEAD") || ex->status < 200 || ex->status == 204 || ex->status == 304;
}

/* A bodiless answer: libmicrohttpd frames an unsized answer to HEAD or a
 * 304 as an empty chunked body, which a keep-alive client would read as
 * the start of its next response. A size makes it send the head alone,
 * Content-Length being the upstream's (the size of the body a GET would
 * get). A HEAD or 304 the upstream gave no size: no framing header at all
 * and Connection: close (libmicrohttpd names any known size, and 0 would
 * be false). 204 and 1xx: an empty buffer. */
static struct MHD_Response *bodiless_response(exchange_t *ex)
{
    if (ex->status == 204 || ex->status < 200)
        return MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (ex->content_length >= 0)
        return MHD_create_response_from_callback((uint64_t)ex->content_length, 64, reader, ex, NULL);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64, reader, ex, NULL);
    if (resp) MHD_set_response_options(resp, MHD_RF_HTTP_1_0_COMPATIBLE_STRICT, MHD_RO_END);
    return resp;
}

static enum MHD_Result queue_upstream_response(exchange_t *ex)
{
    uint64_t size = MHD_SIZE_UNKNOWN;
    if (ex->content_length >= 0 && strcmp(ex->method, "HEAD") != 0 &&
        ex->status != 204 && ex->status != 304)
        size = (uint64_t)ex->content_length;
    /* MHD callocs the block with the response: a chunked answer (HTTP/1.1)
     * is built in the connection's own buffer and leaves it unused, a sized
     * one needs no more than its length */
    size_t block = size != MHD_SIZE_UNKNOWN ? (size < 1024 ? 1024 : size > 16384 ? 16384 : (size_t)size)
                   : ex->http10 ? 16384 : 64;
    int nobody = !ex->tr_whole && bodiless(ex);
    struct MHD_Response *resp = nobody ? bodiless_response(ex) : whole_response(ex);
    if (!resp && !nobody) resp = MHD_create_response_from_callback(size, block, reader, ex, NULL);
    if (!resp) return MHD_NO;
    int dated = 0;
    for (size_t i = 0; i < ex->nrh; i++) {
        if (!dated && !strcasecmp(ex->rh[i].name, "date")) dated = 1;
        if (!strcasecmp(ex->rh[i].name, "x-request-id"))
            MHD_add_response_header(resp, "X-Upstream-Request-Id", ex->rh[i].value);
        else if (!skip_response_header(ex, ex->rh[i].name))
            MHD_add_response_header(resp, ex->rh[i].name, ex->rh[i].value);
    }
    if (!dated) add_date(resp);   /* RFC 9110 §6.6.1: a forwarded response gets one */
    MHD_add_response_header(resp, "X-Request-Id", ex->id);
    enum MHD_Result rc = MHD_queue_response(ex->conn, (unsigned)(ex->tr_whole ? ex->tr_status : ex->status), resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Status and headers can go to the client (a translated whole body first
 * needs all of the upstream's; a bodiless answer goes once its transfer
 * is over, as one buffer). */
static int response_ready(const exchange_t *ex)
{
    return ex->headers_done && !ex->usage_probe && (!(ex->tr_whole || bodiless(ex)) || ex->curl_done);
}

/* ---- connections ---- */

static conn_t *conn_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = conn ? MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT) : NULL;
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    relay_t *r = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_t *c = calloc(1, sizeof *c);
        if (!c) return;
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ad = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        c->fd = fd ? fd->connect_fd : -1;
        conn_started(r, c, ad ? ad->client_addr : NULL);
        *socket_context = c;
    } else if (*socket_context) {
        conn_closed(r, *socket_context);
        free(*socket_context);
        *socket_context = NULL;
        if (r->inetd) r->stop = 1;   /* inetd: the one connection is over */
    }
}

/* ---- the handler ---- */

#define BODY_CHUNK (64u << 10)   /* a streamed body waits in at most this much */

/* Upload data of a body that streams to the upstream (limits.body_buffer). */
static enum MHD_Result body_streaming(exchange_t *ex, const char *upload, size_t *upload_size)
{
    if (*upload_size == 0) {                   /* the whole body is in */
        ex->body_done = 1;
        if (ex->read_paused) upstream_request_unpause(ex);
        ex->state = EX_UPSTREAM;
        if (ex->relay_status) { ex->state = EX_RESPONDING; return queue_relay_error(ex); }
        if (response_ready(ex)) { ex->state = EX_RESPONDING; return queue_upstream_response(ex); }
        suspend(ex);
        return MHD_YES;
    }
    if (ex->curl_done || ex->relay_status) {   /* the upstream answered already: drain */
        ex->body_seen += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    size_t have = buf_len(&ex->body);
    size_t room = have < BODY_CHUNK ? BODY_CHUNK - have : 0;
    size_t take = *upload_size < room ? *upload_size : room;
    if (take && buf_append(&ex->body, upload, take) == 0) {
        ex->body_seen += take;
        *upload_size -= take;
        if (ex->read_paused) upstream_request_unpause(ex);
    }
    if (ex->body_seen > ex->conf->max_request_body && !ex->headers_done) {
        upstream_cancel(ex);
        ex->curl_done = 1;
        *upload_size = 0;
        ex_relay_error(ex, 413, "request_too_large", "request body is larger than the relay accepts");
        ex->state = EX_RESPONDING;
        return queue_relay_error(ex);
    }
    if (*upload_size) {                        /* full: wait for the upstream to take some */
        ex->body_suspended = 1;
        suspend(ex);
    }
    return MHD_YES;
}


struct hdr_scan { exchange_t *ex; int ncl; char cl[32]; int cl_differs; int te; const char *te_val; int anth;
                  const char *bad; size_t head; int nhost; const char *host; size_t host_len; };

/* Of a connection's memory pool, what a request head may fill: the rest
 * holds the response head (upstream headers included). A head that fills
 * the pool would leave libmicrohttpd no room to answer at all. */
#define HEAD_RESERVE 4096u

/* What is left of the pool for the upstream's header lines once the request
 * head is in and libmicrohttpd has room for its own (status line, Date,
 * framing, X-Request-Id: measured at under 600 bytes; 1 KiB kept). */
#define HEAD_OWN 1024u

size_t server_head_room(const exchange_t *ex)
{
    size_t used = ex->req_head + HEAD_OWN;
    return ex->r->conn_pool > used ? ex->r->conn_pool - used : 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 9110 §5.1, §5.5: a field name is a token; a value has no CTL but HTAB.
 * libmicrohttpd 0.9.75 joins an obs-fold continuation onto the NAME of the
 * previous field and moves it: a name that does not sit right before its
 * value in the request head betrays it. */
static const char *header_problem(const char *key, size_t klen, const char *value, size_t vlen)
{
    if (klen == 0) return "empty header name";
    for (size_t i = 0; i < klen; i++)
        if (!is_tchar((unsigned char)key[i])) return "invalid character in a header name (space before colon?)";
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in a header value";
    }
    if (vlen && (value < key + klen || value > key + klen + 1 + 256))
        return "obsolete line folding in a header";
    return NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t klen, const char *value, size_t vlen)
{
    struct hdr_scan *s = cls;
    (void)kind;
    if (!value) { value = ""; vlen = 0; }
    if (!s->bad) s->bad = header_problem(key, klen, value, vlen);
    s->head += klen + vlen + 4;
    if (!strcasecmp(key, "content-length")) {
        if (s->ncl && (strlen(s->cl) != vlen || strncmp(s->cl, value, vlen))) s->cl_differs = 1;
        snprintf(s->cl, sizeof s->cl, "%.*s", (int)(vlen < 31 ? vlen : 31), value);
        s->ncl++;
    }
    if (!strcasecmp(key, "transfer-encoding")) { s->te++; s->te_val = value; }
    if (!strcasecmp(key, "anthropic-version")) s->anth = 1;
    if (!strcasecmp(key, "host")) { s->nhost++; s->host = value; s->host_len = vlen; }
    hdr_push(&s->ex->qh, &s->ex->nqh, &s->ex->qh_cap, key, klen, value, vlen);
    return MHD_YES;
}

static enum MHD_Result serve_internal(exchange_t *ex, const char *url)
{
    relay_t *r = ex->r;
    if (!strcmp(url, "*")) {              /* OPTIONS *: about the relay itself (RFC 9110 §9.3.7) */
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        add_date(resp);
        MHD_add_response_header(resp, "Allow", "OPTIONS, GET, HEAD, POST, PUT, PATCH, DELETE");
        enum MHD_Result rc = MHD_queue_response(ex->conn, 200, resp);
        MHD_destroy_response(resp);
        return rc;
    }
    if (!strcmp(url, "/health")) {
        char h[96];
        int n = snprintf(h, sizeof h, "{\"status\":\"%s\",\"pid\":%d,\"active\":%zu}\n",
                         r->draining ? "draining" : "ok", (int)getpid(), r->nactive);
        return queue_buffer(ex->conn, r->draining ? 503 : 200, "application/json", h, (size_t)n, NULL, NULL, 0);
    }
    size_t len;
    char *text = metrics_render(r, &len);
    if (!text) return MHD_NO;
    enum MHD_Result rc = queue_buffer(ex->conn, 200, "text/plain; version=0.0.4; charset=utf-8",
                                      text, len, NULL, NULL, 0);
    free(text);
    return rc;
}

/* RFC 9112 §3.2.2: a server MUST accept an absolute-form target
 * ("http://host/path?q"). The relay sends to its own upstream, so only the
 * origin form ("/path?q") counts: the length of the scheme and authority to
 * skip, 0 when the target is not absolute-form. */
static size_t absolute_prefix(const char *t)
{
    size_t k = !strncasecmp(t, "http://", 7) ? 7 : !strncasecmp(t, "https://", 8) ? 8 : 0;
    return k ? k + strcspn(t + k, "/?") : 0;
}

/* RFC 3986 §3.2.2-3: a reg-name, IPv4 or [IPv6] host and an optional port,
 * or nothing at all */
static int host_valid(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (!(isalnum(c) || (c && strchr("-._~!$&'()*+,;=%:[]", c)))) return 0;
    }
    return 1;
}

static int first_call(exchange_t *ex, struct MHD_Connection *conn, const char *url, const char *method)
{
    struct hdr_scan s = { .ex = ex };
    ex->conn = conn;
    ex->method = strdup(method);
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, &s);
    ex->protocol = proto_of_path(url, s.anth);
    const char *rid = hdr_get(ex->qh, ex->nqh, "x-request-id");
    if (rid) ex->client_request_id = strdup(rid);
    ex->state = EX_BODY;
    conn_t *cc = conn_of(conn);
    if (cc) conn_head_done(cc, ex);
    s.head += strlen(method) + strlen(ex->uri) + 12;
    ex->req_head = s.head;
    if (s.head + HEAD_RESERVE > ex->r->conn_pool) {
        ex_relay_error(ex, 431, "invalid_request_error", "request header fields too large"); return 1;
    }
    if (ex->uri[0] != '/') { ex_relay_error(ex, 400, "invalid_request_error", "invalid request-target"); return 1; }
    /* RFC 9112 §3.2: an HTTP/1.1 request has exactly one valid Host */
    if (s.nhost > 1) { ex_relay_error(ex, 400, "invalid_request_error", "more than one Host header"); return 1; }
    if (!s.nhost && !ex->http10) { ex_relay_error(ex, 400, "invalid_request_error", "missing Host header"); return 1; }
    if (s.nhost && !host_valid(s.host, s.host_len)) { ex_relay_error(ex, 400, "invalid_request_error", "invalid Host header"); return 1; }
    /* request smuggling shapes libmicrohttpd lets through (DESIGN.md) */
    if (s.bad) { ex_relay_error(ex, 400, "invalid_request_error", s.bad); return 1; }
    if (s.ncl > 1) { ex_relay_error(ex, 400, "invalid_request_error", s.cl_differs ? "differing Content-Length headers" : "duplicate Content-Length headers"); return 1; }
    if (s.te && ex->http10) {   /* RFC 9112 §6.1: its framing is faulty (nginx: 400 too) */
        ex_relay_error(ex, 400, "invalid_request_error", "Transfer-Encoding in an HTTP/1.0 request"); return 1;
    }
    if (s.ncl > 0 && s.te) { ex_relay_error(ex, 400, "invalid_request_error", "both Content-Length and Transfer-Encoding"); return 1; }
    if (s.te > 1 || (s.te && strcasecmp(s.te_val, "chunked") != 0)) {
        ex_relay_error(ex, 501, "invalid_request_error", "unsupported Transfer-Encoding"); return 1;
    }
    if (ex->r->draining) {
        ex->relay_retry_after = "1";
        ex_relay_error(ex, 503, "api_error", "the relay is shutting down"); return 1;
    }
    if (cc && cc->over_limit) {
        ex->relay_retry_after = "1";
        ex_relay_error(ex, 503, ex->protocol == PROTO_ANTHROPIC ? "overloaded_error" : "api_error",
                       "too many connections: retry later");
        return 1;
    }
    if (s.ncl) {
        char *e; unsigned long long cl = strtoull(s.cl, &e, 10);
        if (*e == 0) ex->request_cl = (long long)cl;
        if (*e == 0 && cl > ex->conf->max_request_body) {
            ex_relay_error(ex, 413, "request_too_large", "request body is larger than the relay accepts");
            return 1;
        }
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **req_cls)
{
    relay_t *r = cls;
    exchange_t *ex = *req_cls;
    size_t abs = absolute_prefix(url);
    if (abs) url = url[abs] ? url + abs : "/";
    if (!ex) { ex = ex_new(r, url); if (!ex) return MHD_NO; *req_cls = ex; }
    switch (ex->state) {
    case EX_NEW:
        ex->http10 = version && !strcmp(version, MHD_HTTP_VERSION_1_0);
        if (!strcmp(url, "/health") || !strcmp(url, "/metrics") ||
            (!strcmp(url, "*") && !strcmp(method, "OPTIONS")) ||
            (!strcmp(url, "/v1/feedback") && !strcmp(method, "POST"))) {
            conn_t *cc = conn_of(conn);
            if (cc) conn_head_done(cc, ex);
            ex->conn = conn;          /* answered once the request is read: keeps keep-alive */
            ex->internal = strcmp(url, "/v1/feedback") ? 1 : 2;
            ex->state = EX_BODY;
            return MHD_YES;
        }
        if (first_call(ex, conn, url, method)) {
            ex->state = EX_RESPONDING;
            return queue_relay_error(ex);
        }
        return MHD_YES;
    case EX_BODY:
        if (ex->internal) {
            if (*upload_size) {              /* only feedback keeps its body (64 KiB at most) */
                if (ex->internal == 2 && buf_len(&ex->body) + *upload_size <= 65536)
                    buf_append(&ex->body, upload, *upload_size);
                else if (ex->internal == 2) ex->too_large = 1;
                *upload_size = 0;
                return MHD_YES;
            }
            ex->state = EX_RESPONDING;
            if (ex->internal == 2) {
                char *answer = NULL;
                int st = ex->too_large ? 413 : feedback_handle(ex, &answer);
                const char *a = answer ? answer : "{\"error\":{\"message\":\"feedback body too large\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":null}}";
                enum MHD_Result rc = queue_buffer(ex->conn, st, "application/json", a, strlen(a), ex->id, NULL, st != 200);
                free(answer);
                return rc;
            }
            return serve_internal(ex, url);
        }
        if (ex->streaming_body) return body_streaming(ex, upload, upload_size);
        if (*upload_size) {
            ex->body_seen += *upload_size;
            if (buf_len(&ex->body) + *upload_size > ex->conf->body_buffer && ex_stream_body(ex)) {
                ex->body_seen -= *upload_size;
                if (ex->relay_status) { ex->state = EX_RESPONDING; return queue_relay_error(ex); }
                return body_streaming(ex, upload, upload_size);
            }
            if (!buf_len(&ex->body) && ex->request_cl > 0 && (size_t)ex->request_cl <= ex->conf->body_buffer)
                buf_reserve(&ex->body, (size_t)ex->request_cl);   /* the size is known: no doubling */
            if (!ex->too_large && buf_append(&ex->body, upload, *upload_size) < 0) {
                ex->too_large = 1;
                buf_free(&ex->body);
                *upload_size = 0;
                ex_relay_error(ex, 413, "request_too_large", "request body is larger than the relay accepts");
                ex->state = EX_RESPONDING;
                return queue_relay_error(ex);
            }
            *upload_size = 0;
            return MHD_YES;
        }
        ex->state = EX_UPSTREAM;
        ex_capture_request(ex);           /* routes, writes the request event, starts upstream */
        if (ex->relay_status) { ex->state = EX_RESPONDING; return queue_relay_error(ex); }
        if (response_ready(ex)) { ex->state = EX_RESPONDING; return queue_upstream_response(ex); }
        suspend(ex);
        return MHD_YES;
    case EX_UPSTREAM:
        if (ex->relay_status) { ex->state = EX_RESPONDING; return queue_relay_error(ex); }
        if (response_ready(ex)) { ex->state = EX_RESPONDING; return queue_upstream_response(ex); }
        if (ex->client_gone) return MHD_NO;
        suspend(ex);
        return MHD_YES;
    default:
        if (ex->relay_status && ex->state == EX_RESPONDING && *upload_size) { *upload_size = 0; return MHD_YES; }
        return MHD_YES;
    }
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)conn;
    size_t abs = absolute_prefix(uri);
    if (!abs || uri[abs] == '/') return ex_new(cls, uri + abs);
    char *origin = malloc(strlen(uri + abs) + 2);      /* "http://host?q" is "/?q" */
    if (!origin) return NULL;
    origin[0] = '/';
    strcpy(origin + 1, uri + abs);
    exchange_t *ex = ex_new(cls, origin);
    free(origin);
    return ex;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    exchange_t *ex = *req_cls;
    conn_t *cc = conn_of(conn);
    if (cc) conn_request_done(cc);
    if (!ex) return;
    *req_cls = NULL;
    ex->conn = NULL;
    ex->suspended = 0;
    ex->mhd_done = 1;
    if (!ex->ended && ex->request_written) {
        if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) {
            enum outcome o = ex->relay_status ? (ex->relay_status == 504 ? OUT_TIMEOUT : OUT_RELAY_ERROR)
                           : (ex->status >= 400 || ex->stream_error || ex->upstream_broke) ? OUT_UPSTREAM_ERROR : OUT_OK;
            ex_finish(ex, o, NULL);
        } else if (ex->upstream_broke) {
            ex_finish(ex, OUT_UPSTREAM_ERROR, NULL);
        } else if (ex->relay_status && ex->relay_status != 504) {
            ex_finish(ex, OUT_RELAY_ERROR, "client went away before the error response was sent");
        } else {
            ex_client_gone(ex);
        }
    } else if (!ex->ended && ex->relay_status) {
        ex_finish(ex, OUT_RELAY_ERROR, NULL);   /* refused before the body was read */
    }
    if (ex->easy && !ex->ended) return;   /* client_close finish: the upstream goes on */
    ex_free(ex);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n')) msg[--n] = 0;
    relay_log("http: %s", msg);
}

/* Start one daemon per listening socket, or (inetd) one without any
 * and hand it the connection on fd 0. */
int server_start(relay_t *r, const int *fds, size_t nfds, char *err, size_t errlen)
{
    relay_conf_t *c = r->conf;
    r->conn_pool = c->conn_memory;
    size_t nd = r->inetd ? 1 : nfds;
    r->daemons = calloc(nd, sizeof *r->daemons);
    r->mhd_watch = calloc(nd, sizeof *r->mhd_watch);
    if (!r->daemons || !r->mhd_watch) { snprintf(err, errlen, "out of memory"); return -1; }
    for (size_t i = 0; i < nd; i++) {
        unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_SUPPRESS_DATE_NO_CLOCK |
                         MHD_USE_ERROR_LOG | (r->inetd ? MHD_USE_NO_LISTEN_SOCKET : 0);
        struct MHD_OptionItem opts[] = {
            { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL },
            { r->inetd ? MHD_OPTION_END : MHD_OPTION_LISTEN_SOCKET, r->inetd ? 0 : fds[i], NULL },
            { MHD_OPTION_END, 0, NULL }
        };
        struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, r,
            MHD_OPTION_ARRAY, opts,
            MHD_OPTION_URI_LOG_CALLBACK, on_uri, r,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, r,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, r,
            MHD_OPTION_CONNECTION_MEMORY_LIMIT, c->conn_memory,
            /* the soft limits (503) are ours, in conn.c; this is the hard one */
            MHD_OPTION_CONNECTION_LIMIT, c->max_connections + 256,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->conn_timeout_s,
            /* 0: the relay checks Host itself (first_call); libmicrohttpd
             * 0.9.75 sends the head of its own 400 twice when it does */
            MHD_OPTION_STRICT_FOR_CLIENT, 0,
            MHD_OPTION_END);
        if (!d) { snprintf(err, errlen, "unable to start the HTTP server"); return -1; }
        r->daemons[r->ndaemons] = d;
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
        watch_t *w = &r->mhd_watch[r->ndaemons++];
        w->kind = W_MHD; w->fd = info->epoll_fd; w->ptr = d;
        if (loop_add(r, w, EPOLLIN) < 0) { snprintf(err, errlen, "epoll: %s", strerror(errno)); return -1; }
    }
    return 0;
}

/* Serve one connected socket (inetd mode; the fuzzer). MHD owns it then. */
int server_add_fd(relay_t *r, int fd, const struct sockaddr *sa, socklen_t len)
{
    if (!r->ndaemons || MHD_add_connection(r->daemons[0], fd, sa, len) != MHD_YES) return -1;
    r->run_mhd = 1;
    return 0;
}

void server_quiesce(relay_t *r)
{
    for (size_t i = 0; i < r->ndaemons; i++) {
        MHD_socket fd = MHD_quiesce_daemon(r->daemons[i]);
        if (fd != MHD_INVALID_SOCKET) close(fd);
    }
}

void server_stop(relay_t *r)
{
    for (size_t i = 0; i < r->ndaemons; i++) {
        loop_del(r, &r->mhd_watch[i]);
        MHD_stop_daemon(r->daemons[i]);
    }
    free(r->daemons); r->daemons = NULL; r->ndaemons = 0;
    free(r->mhd_watch); r->mhd_watch = NULL;
}
