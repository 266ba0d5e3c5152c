/* exchange.c — one exchange's life: routing the request, the capture
 * events (request, response, chunk, end) and the only place they leave
 * from, the client buffer with backpressure, usage and timings, hang-ups,
 * timeouts and shutdown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include "relay.h"
#include "capture.h"
#include "jsonw.h"
#include "jsonscan.h"
#include "decode.h"
#include "clock.h"
#include "translate/translate.h"

#define PIECE_MAX   (64u << 10)   /* non-SSE body pieces are coalesced up to this */
#define USAGE_MAX   (8u << 20)    /* non-SSE body kept to read usage from */

static buf_t scratch;             /* one event being formatted (single-threaded) */

int64_t ex_now_us(const exchange_t *ex) { return clock_mono_us() - ex->t0_mono; }

const char *ex_outcome_name(enum outcome o)
{
    static const char *const n[] = { "ok", "upstream_error", "timeout", "client_closed",
                                     "aborted", "relay_error" };
    return n[o];
}

exchange_t *ex_new(relay_t *r, const char *uri)
{
    exchange_t *ex = calloc(1, sizeof *ex);
    if (!ex) return NULL;
    ex->r = r;
    ex->conf = conf_ref(r->conf);
    ex->t0_wall = clock_wall_us();
    ex->t0_mono = clock_mono_us();
    if (id_new(ex->t0_wall, ex->id) < 0 || !(ex->uri = strdup(uri ? uri : "/"))) { conf_unref(ex->conf); free(ex); return NULL; }
    buf_init(&ex->body, ex->conf->max_request_body);
    buf_init(&ex->out, 0);
    buf_init(&ex->piece, 0);
    buf_init(&ex->usage_copy, USAGE_MAX);
    ex->ttfb_us = ex->ttft_us = -1;
    ex->content_length = -1;
    ex->request_cl = -1;
    ex->attempts = 1;
    ex->client_fd = -1;
    ex->last_io_mono = ex->t0_mono;
    usage_init(&ex->usage);
    return ex;
}

static void unwatch_client(exchange_t *ex)
{
    if (ex->client_fd_watched) { loop_del(ex->r, &ex->cw); ex->client_fd_watched = 0; }
}

static void deactivate(exchange_t *ex)
{
    relay_t *r = ex->r;
    if (!ex->activated) return;
    if (ex->prev) ex->prev->next = ex->next; else r->active = ex->next;
    if (ex->next) ex->next->prev = ex->prev;
    ex->next = ex->prev = NULL;
    ex->activated = 0;
    r->nactive--;
}

void ex_activate(exchange_t *ex)
{
    relay_t *r = ex->r;
    if (ex->activated) return;
    ex->activated = 1;
    r->busy = 1;                 /* the loop's sweep: not idle */
    ex->next = r->active;
    if (r->active) r->active->prev = ex;
    r->active = ex;
    r->nactive++;
}

void ex_free(exchange_t *ex)
{
    if (!ex) return;
    if (ex->conn_ctx && ex->conn_ctx->ex == ex) ex->conn_ctx->ex = NULL;
    unwatch_client(ex);
    deactivate(ex);
    if (ex->easy) upstream_cancel(ex);
    curl_slist_free_all(ex->up_headers);
    upstream_forget(ex);
    hdr_free_all(ex->qh, ex->nqh);
    hdr_free_all(ex->rh, ex->nrh);
    buf_free(&ex->body); buf_free(&ex->out); buf_free(&ex->piece); buf_free(&ex->usage_copy);
    buf_free(&ex->probe);
    if (ex->sse) sse_free(ex->sse);
    if (ex->zsse) sse_free(ex->zsse);
    decoder_free(ex->dec);
    xlate_free(ex);
    free(ex->uri); free(ex->method); free(ex->model); free(ex->up_url); free(ex->up_body);
    free(ex->relay_body); free(ex->client_request_id); free(ex->errtext);
    conf_unref(ex->conf);
    free(ex);
}

/* ---- emitting events ---- */

/* 1 when the exchange is recorded (not --capture none): no event is built
 * otherwise, and nothing is read from bodies for the capture (usage) */
static int recording(const exchange_t *ex) { return !sink_none(ex->r->sink); }

static void put_line(exchange_t *ex, buf_t *line)
{
    if (sink_put(ex->r->sink, buf_ptr(line), buf_len(line)) == 1) ex->dropped++;
    buf_reset(line);
}

static void emit_json(exchange_t *ex, json_t *ev)
{
    if (ev && capture_dump(ev, &scratch) == 0) put_line(ex, &scratch);
    else ex->dropped++;
    json_decref(ev);
}

/* An event not of the exchange kinds (feedback): written as it is. */
void ex_emit_event(exchange_t *ex, json_t *ev)
{
    emit_json(ex, ev);
}


/* The head every event starts with: {"v":1,"event":…,"id":…,"ts":…. */
static void jw_event(jw_t *w, const exchange_t *ex, const char *kind, int64_t wall_us)
{
    char ts[RFC3339_LEN];
    clock_rfc3339(wall_us, ts);
    jw_begin(w, &scratch);
    jw_int(w, "v", CAPTURE_VERSION);
    jw_str(w, "event", kind);
    jw_str(w, "id", ex->id);
    jw_str(w, "ts", ts);
}

/* "key": [[name, value], …] with secrets masked; a value that is not UTF-8
 * (obs-text) is kept as Latin-1 code points. */
static void jw_headers(jw_t *w, const char *key, const hdr_t *h, size_t n)
{
    jw_key(w, key);
    jw_value_raw(w, "[", 1);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(h[i].name);
        jw_value_raw(w, i ? ",[" : "[", i ? 2 : 1);
        jw_value_str(w, h[i].name, nl);
        jw_value_raw(w, ",", 1);
        if (capture_is_secret(h[i].name, nl)) {
            char m[CAPTURE_MASK_LEN];
            capture_mask(h[i].value, h[i].vlen, m);
            jw_value_str(w, m, strlen(m));
        } else if (capture_utf8_valid(h[i].value, h[i].vlen)) {
            jw_value_str(w, h[i].value, h[i].vlen);
        } else {
            char u[1024]; size_t k = 0;
            for (size_t j = 0; j < h[i].vlen && k + 2 < sizeof u; j++) {
                unsigned char c = (unsigned char)h[i].value[j];
                if (c < 0x80) u[k++] = (char)c;
                else { u[k++] = (char)(0xC0 | (c >> 6)); u[k++] = (char)(0x80 | (c & 0x3F)); }
            }
            jw_value_str(w, u, k);
        }
        jw_value_raw(w, "]", 1);
    }
    jw_value_raw(w, "]", 1);
}

static void jw_emit(exchange_t *ex, jw_t *w)
{
    if (jw_end(w) == 0) put_line(ex, &scratch);
    else { buf_reset(&scratch); ex->dropped++; }
}

/* One chunk event, formatted by hand: no allocation per chunk. */
static void emit_chunk_side(exchange_t *ex, const char *p, size_t n, int sse, const char *name,
                            size_t name_len, int withheld, int truncated, const char *side);

static void emit_chunk(exchange_t *ex, const char *p, size_t n, int sse,
                       const char *name, size_t name_len, int withheld, int truncated)
{
    emit_chunk_side(ex, p, n, sse, name, name_len, withheld, truncated, NULL);
}

/* What the client received when the relay changed the body (translation). */
void ex_emit_client_chunk(exchange_t *ex, const char *p, size_t n)
{
    emit_chunk_side(ex, p, n, ex->tr_stream, NULL, 0, 0, 0, "client");
}

static void emit_chunk_side(exchange_t *ex, const char *p, size_t n, int sse, const char *name,
                            size_t name_len, int withheld, int truncated, const char *side)
{
    if (!recording(ex)) { ex->seq++; return; }
    if (ex->capture_truncated) return;
    if (ex->captured_bytes + n > ex->conf->capture_max_body) { ex->capture_truncated = 1; return; }
    ex->captured_bytes += n;
    char head[256], ts[RFC3339_LEN];
    clock_rfc3339(clock_wall_us(), ts);
    buf_t *b = &scratch;
    int hl = snprintf(head, sizeof head,
                      "{\"v\":%d,\"event\":\"chunk\",\"id\":\"%s\",\"ts\":\"%s\",\"seq\":%llu,\"t_us\":%lld,\"sse\":%s",
                      CAPTURE_VERSION, ex->id, ts, (unsigned long long)ex->seq++,
                      (long long)ex_now_us(ex), sse ? "true" : "false");
    buf_append(b, head, (size_t)hl);
    if (withheld) buf_append_str(b, ",\"withheld\":true");
    if (side) { buf_append_str(b, ",\"side\":\""); buf_append_str(b, side); buf_append_str(b, "\""); }
    if (truncated) buf_append_str(b, ",\"truncated\":true");
    if (name_len && capture_utf8_valid(name, name_len)) {
        buf_append_str(b, ",\"event_name\":\"");
        capture_escape(b, name, name_len);
        buf_append_str(b, "\"");
    }
    buf_append_str(b, ",\"data\":\"");
    int rc = capture_escape(b, p, n);
    if (rc == 1) {
        capture_base64(b, p, n);
        buf_append_str(b, "\",\"data_encoding\":\"base64\"}\n");
    } else {
        buf_append_str(b, "\"}\n");
    }
    put_line(ex, b);
}

static json_t *native_error(int protocol, const char *type, const char *msg)
{
    if (protocol == PROTO_ANTHROPIC)
        return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type, "message", msg);
    return json_pack("{s:{s:s, s:s, s:n, s:n}}", "error", "message", msg, "type", type, "param", "code");
}

/* ---- the request ---- */

static int body_is_json_object(const buf_t *b)
{
    const char *p = buf_ptr(b), *e = p + buf_len(b);
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p < e && *p == '{';
}

static const char *path_end(const char *uri, char *path, size_t cap, const char **query)
{
    const char *q = strchr(uri, '?');
    size_t n = q ? (size_t)(q - uri) : strlen(uri);
    if (n >= cap) n = cap - 1;
    memcpy(path, uri, n); path[n] = 0;
    *query = q ? q + 1 : NULL;
    return path;
}

/* 1 when a request to this upstream path may get stream usage injected
 * (only for the capture: without one the request goes as it came). */
static int injectable(const exchange_t *ex, const upstream_t *up, const char *rest)
{
    return recording(ex) && UP_PROTO(up, ex->protocol) == PROTO_OPENAI && ex->protocol == PROTO_OPENAI &&
           up->inject_stream_usage && !strcmp(ex->method, "POST") &&
           (str_ends_with(rest, "/chat/completions") || str_ends_with(rest, "/completions"));
}

/* Ask an OpenAI-compatible stream for usage when the client did not. */
static void maybe_inject_usage(exchange_t *ex, json_t *root, int has_so, const char *rest, int as_json)
{
    if (!ex->stream || !injectable(ex, ex->up, rest) || ex->up->stream_options_rejected)
        return;
    if ((has_so || as_json) && !root) return;      /* could not parse it: leave it alone */
    json_t *so = root ? json_object_get(root, "stream_options") : NULL;
    if (so && json_is_true(json_object_get(so, "include_usage"))) return;
    if (!so && as_json) {           /* the body is re-encoded anyway */
        json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
    } else if (!so) {               /* insert before the final '}': all other bytes unchanged */
        const char *b = buf_ptr(&ex->body);
        size_t n = buf_len(&ex->body);
        while (n > 0 && (b[n - 1] == ' ' || b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == '\t')) n--;
        if (n == 0 || b[n - 1] != '}') return;
        static const char add[] = ",\"stream_options\":{\"include_usage\":true}";
        size_t k = n - 1, len = buf_len(&ex->body);
        ex->up_body = malloc(len + sizeof add);
        if (!ex->up_body) return;
        memcpy(ex->up_body, b, k);
        memcpy(ex->up_body + k, add, sizeof add - 1);
        memcpy(ex->up_body + k + sizeof add - 1, b + k, len - k);
        ex->up_body_len = len + sizeof add - 1;
    } else if (json_is_object(so)) {
        json_object_set_new(so, "include_usage", json_true());
    } else {
        return;
    }
    if (!ex->up_body) {
        ex->up_body = json_dumps(root, JSON_COMPACT);
        if (!ex->up_body) return;
        ex->up_body_len = strlen(ex->up_body);
    }
    ex->withhold_usage = 1;
    ex->so_added = !so;
}

static void write_request_event(exchange_t *ex, const char *path, const char *query)
{
    (void)query;
    if (!recording(ex)) goto written;
    char client[80] = "";
    const union MHD_ConnectionInfo *ci = ex->conn ?
        MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (ci && ci->client_addr) {
        char host[64] = "";
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *s4 = (const void *)sa;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
            snprintf(client, sizeof client, "%s:%u", host, ntohs(s4->sin_port));
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const void *)sa;
            inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
            snprintf(client, sizeof client, "[%s]:%u", host, ntohs(s6->sin6_port));
        }
    }
    jw_t w;
    jw_event(&w, ex, "request", ex->t0_wall);
    jw_str(&w, "method", ex->method ? ex->method : "");
    jw_bytes(&w, "uri", "uri_encoding", ex->uri, strlen(ex->uri));
    jw_bytes(&w, "path", "path_encoding", path, strlen(path));
    jw_str(&w, "client", client);
    jw_headers(&w, "headers", ex->qh, ex->nqh);
    jw_str(&w, "protocol", ex->protocol == PROTO_ANTHROPIC ? "anthropic" : "openai");
    jw_str(&w, "route", ex->route ? ex->route->name : NULL);
    jw_str(&w, "upstream", ex->up ? ex->up->url : NULL);
    jw_str(&w, "upstream_url", ex->up_url);
    jw_str(&w, "model", ex->model);
    jw_bool(&w, "stream", ex->stream);
    if (ex->client_request_id) jw_str(&w, "client_request_id", ex->client_request_id);
    const char *ro = hdr_get(ex->qh, ex->nqh, "x-replay-of");
    if (ro) jw_str(&w, "replay_of", ro);
    size_t n = buf_len(&ex->body), keep = n;
    int truncated = n > ex->conf->capture_max_body || ex->streaming_body;
    if (keep > ex->conf->capture_max_body) keep = ex->conf->capture_max_body;
    if (keep < n) {
        const unsigned char *b = (const unsigned char *)buf_ptr(&ex->body);
        while (keep > 0 && (b[keep] & 0xC0) == 0x80) keep--;   /* cut at a character */
    }
    jw_bytes(&w, "body", "body_encoding", buf_ptr(&ex->body), keep);
    /* a streamed body's size is known only from Content-Length, if any */
    if (!ex->streaming_body) jw_int(&w, "body_size", (long long)ex->body_seen);
    else if (ex->request_cl >= 0) jw_int(&w, "body_size", ex->request_cl);
    else jw_null(&w, "body_size");
    jw_bool(&w, "body_truncated", truncated);
    jw_bool(&w, "body_json", ex->body_json);
    jw_key(&w, "upstream_changes");
    {
        const char *ch[3]; int nc = 0;
        if (ex->tr) ch[nc++] = ex->protocol == PROTO_OPENAI ? "translated:openai->anthropic" : "translated:anthropic->openai";
        if (ex->model_rewritten) ch[nc++] = "model";
        if (ex->withhold_usage) ch[nc++] = "stream_options.include_usage";
        jw_value_raw(&w, "[", 1);
        for (int i = 0; i < nc; i++) {
            if (i) jw_value_raw(&w, ",", 1);
            jw_value_str(&w, ch[i], strlen(ch[i]));
        }
        jw_value_raw(&w, "]", 1);
    }
    if (ex->up && UP_PROTO(ex->up, ex->protocol) != ex->protocol)
        jw_str(&w, "upstream_protocol", ex->up->protocol == PROTO_ANTHROPIC ? "anthropic" : "openai");
    if (ex->route && ex->route->target_model && (ex->tr || ex->model_rewritten))
        jw_str(&w, "upstream_model", ex->route->target_model);
    if ((ex->tr || ex->model_rewritten) && ex->up_body) {
        size_t ul = ex->up_body_len < ex->conf->capture_max_body ? ex->up_body_len : ex->conf->capture_max_body;
        jw_bytes(&w, "upstream_body", "upstream_body_encoding", ex->up_body, ul);
    }
    jw_emit(ex, &w);
written:
    ex->request_written = 1;
    feedback_seen(ex->r, ex->id);
    ex_activate(ex);
}

static void watch_client(exchange_t *ex)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(ex->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return;
    ex->cw.kind = W_CLIENT; ex->cw.fd = ci->connect_fd; ex->cw.ptr = ex;
    if (loop_add(ex->r, &ex->cw, EPOLLRDHUP) == 0) ex->client_fd_watched = 1;
}

void ex_capture_request(exchange_t *ex)
{
    char path[4096];
    const char *query, *rest = NULL;
    path_end(ex->uri, path, sizeof path, &query);
    json_t *root = NULL;
    int has_so = 0;
    if (buf_len(&ex->body) && body_is_json_object(&ex->body)) {
        /* model and stream without a parse tree; jansson only for a body
         * that must change, or a model name written with escapes */
        static const char *const keys[] = { "model", "stream", "stream_options" };
        jsonscan_span_t sp[3];
        if (jsonscan_members(buf_ptr(&ex->body), buf_len(&ex->body), keys, sp, 3, NULL) == 0) {
            ex->body_json = 1;
            ex->stream = sp[1].p && sp[1].n == 4 && !memcmp(sp[1].p, "true", 4);
            has_so = sp[2].p != NULL;
            if (sp[0].p && sp[0].n >= 2 && sp[0].p[0] == '"') {
                if (!memchr(sp[0].p, '\\', sp[0].n)) ex->model = strndup(sp[0].p + 1, sp[0].n - 2);
                else {
                    root = json_loadb(buf_ptr(&ex->body), buf_len(&ex->body), 0, NULL);
                    json_t *m = json_object_get(root, "model");
                    if (json_is_string(m)) ex->model = strdup(json_string_value(m));
                }
            }
        }
    }
    ex->route = route_pick(ex->conf, ex->protocol, path, ex->model, &rest);
    if (!ex->route) {
        json_decref(root);
        char msg[300];
        if (ex->model) snprintf(msg, sizeof msg, "no route for model '%.200s'", ex->model);
        else snprintf(msg, sizeof msg, "no route for %.200s", path);
        ex_relay_error(ex, 404, ex->protocol == PROTO_ANTHROPIC ? "not_found_error" : "invalid_request_error", msg);
        return;
    }
    ex->up = ex->route->up;
    if (xlate_wanted(ex, rest)) {
        if (!ex->body_json) {
            json_decref(root);
            ex_relay_error(ex, 400, "invalid_request_error", "the request body must be a JSON object to be translated");
            return;
        }
        if (xlate_request(ex, &rest) < 0) { json_decref(root); return; }
    } else if (ex->body_json) {
        const char *target = ex->route->target_model;
        int rewrite = target && ex->model && strcmp(target, ex->model) != 0;
        if (!root && (rewrite || (has_so && ex->stream && injectable(ex, ex->up, rest))))
            root = json_loadb(buf_ptr(&ex->body), buf_len(&ex->body), 0, NULL);
        if (rewrite && root) {          /* a model alias on the same protocol */
            json_object_set_new(root, "model", json_string(target));
            ex->model_rewritten = 1;
        }
        maybe_inject_usage(ex, root, has_so, rest, rewrite);
        if (rewrite && !ex->up_body) {
            ex->up_body = json_dumps(root, JSON_COMPACT);
            ex->up_body_len = ex->up_body ? strlen(ex->up_body) : 0;
        }
    }
    ex->up_url = route_upstream_url(ex->up, rest, query);
    json_decref(root);
    write_request_event(ex, path, query);
    char err[256];
    if (upstream_start(ex, err, sizeof err) < 0)
        ex_relay_error(ex, 502, "api_error", err);
}

/* A body larger than limits.body_buffer: when the route needs nothing from
 * it, send it upstream as it arrives. Returns 1 when now streaming. */
int ex_stream_body(exchange_t *ex)
{
    char path[4096];
    const char *query, *rest = NULL;
    path_end(ex->uri, path, sizeof path, &query);
    const route_t *rt = route_pick_early(ex->conf, ex->protocol, path, &rest);
    if (!rt || injectable(ex, rt->up, rest)) return 0;
    ex->route = rt;
    ex->up = rt->up;
    if (xlate_wanted(ex, rest)) {            /* translation needs the whole body */
        ex->route = NULL;
        ex->up = NULL;
        return 0;
    }
    ex->up_url = route_upstream_url(ex->up, rest, query);
    ex->streaming_body = 1;
    write_request_event(ex, path, query);
    char err[256];
    if (upstream_start(ex, err, sizeof err) < 0) ex_relay_error(ex, 502, "api_error", err);
    return 1;
}

/* The upstream took body bytes: let MHD read more from the client. */
void ex_body_resume(exchange_t *ex)
{
    if (ex->body_suspended) {
        ex->body_suspended = 0;
        server_resume(ex);
    }
}

/* ---- the response ---- */

static int header_is(const hdr_t *h, const char *name, const char *prefix)
{
    return !strcasecmp(h->name, name) && !strncasecmp(h->value, prefix, strlen(prefix));
}

static void response_event(exchange_t *ex);

void ex_on_headers(exchange_t *ex)
{
    ex->headers_done = 1;
    for (size_t i = 0; i < ex->nrh; i++) {
        const hdr_t *h = &ex->rh[i];
        if (header_is(h, "content-type", "text/event-stream")) ex->is_sse = 1;
        if (!strcasecmp(h->name, "content-encoding") && strcasecmp(h->value, "identity")) ex->encoded = 1;
        if (!strcasecmp(h->name, "content-length")) {
            char *e; long long v = strtoll(h->value, &e, 10);
            if (*e == 0 && v >= 0) ex->content_length = v;
        }
        if (!strcasecmp(h->name, "transfer-encoding")) ex->content_length = -1;
    }
    /* an upstream that does not take the stream_options the relay added
     * (some OpenAI-compatible servers refuse unknown fields): hold the
     * answer until its body says whether that is why */
    if (ex->so_added && ex->attempts < 2 && !ex->tr && !ex->model_rewritten &&
        (ex->status == 400 || ex->status == 422)) {
        ex->usage_probe = 1;
        return;
    }
    response_event(ex);
}

static void response_event(exchange_t *ex)
{
    if (recording(ex)) {
        jw_t w;
        jw_event(&w, ex, "response", clock_wall_us());
        jw_int(&w, "status", ex->status);
        jw_headers(&w, "headers", ex->rh, ex->nrh);
        jw_int(&w, "t_us", ex_now_us(ex));
        jw_str(&w, "source", "upstream");
        jw_emit(ex, &w);
    }
    if (ex->tr) xlate_on_headers(ex);
    if (!ex->tr_whole) server_resume(ex);   /* a translated whole body waits for its end */
}

#define PROBE_MAX (256u << 10)   /* an error body longer than this is passed on as it is */

/* The held answer goes on as any other: its response event, then its body. */
static void probe_release(exchange_t *ex)
{
    ex->usage_probe = 0;
    response_event(ex);
    if (buf_len(&ex->probe)) ex_on_body(ex, buf_ptr(&ex->probe), buf_len(&ex->probe));
    buf_free(&ex->probe);
}

/* The held answer names stream_options: ask again with the client's own
 * body, and no more of this upstream. 1 when the new attempt is under way. */
static int probe_retry(exchange_t *ex)
{
    if (!memmem(buf_ptr(&ex->probe), buf_len(&ex->probe), "stream_options", 14)) return 0;
    relay_log("upstream %s answered %d to the stream_options the relay added: asked again without; "
              "not added for it any more (until a reload)", ex->up->name, ex->status);
    ex->up->stream_options_rejected = 1;
    ex->usage_probe = 0;
    buf_free(&ex->probe);
    hdr_free_all(ex->rh, ex->nrh);
    ex->rh = NULL; ex->nrh = ex->rh_cap = 0;
    ex->status = 0; ex->up_head = 0;
    ex->headers_done = ex->curl_done = 0;
    ex->content_length = -1;
    ex->is_sse = ex->encoded = 0;
    decoder_free(ex->dec); ex->dec = NULL;
    ex->ttfb_us = -1;
    ex->bytes_up = 0;
    ex->curl_err[0] = 0;
    ex->withhold_usage = ex->so_added = 0;
    free(ex->up_body);
    ex->up_body = NULL; ex->up_body_len = 0;
    ex->attempts = 2;
    char err[256];
    if (upstream_start(ex, err, sizeof err) < 0) {
        ex_relay_error(ex, 502, "api_error", err);
        server_resume(ex);
    }
    return 1;
}

static int is_stream_error(const sse_event_t *ev)
{
    if (ev->name_len == 5 && !memcmp(ev->name, "error", 5)) return 1;
    if (!ev->has_data || ev->data_len < 8) return 0;
    size_t n = ev->data_len < 24 ? ev->data_len : 24;
    return memmem(ev->data, n, "\"error\"", 7) != NULL;
}

/* 1 when data may carry usage, a finish/stop reason or an error: once the
 * first token is seen, only such events are worth parsing. */
static int may_matter(const char *d, size_t n)
{
    if (memmem(d, n, "usage", 5) || memmem(d, n, "stop_reason", 11) || memmem(d, n, "\"error\"", 7))
        return 1;
    const char *p = d, *e = d + n;
    while ((p = memmem(p, (size_t)(e - p), "finish_reason", 13))) {  /* a string value, not null */
        p += 14;
        while (p < e && (*p == ' ' || *p == ':' || *p == '\t')) p++;
        if (p < e && *p == '"') return 1;
    }
    return 0;
}

static void analyse_event(exchange_t *ex, const sse_event_t *ev)
{
    if (!ev->has_data) return;
    if (ex->ttft_us >= 0 && !may_matter(ev->data, ev->data_len)) return;
    if (usage_from_event(&ex->usage, ev->name, ev->name_len, ev->data, ev->data_len) && ex->ttft_us < 0)
        ex->ttft_us = ex_now_us(ex);
    if (is_stream_error(ev)) ex->stream_error = 1;
}

static int on_sse_event(void *arg, const sse_event_t *ev)
{
    exchange_t *ex = arg;
    int withheld = 0;
    if (!ex->encoded) analyse_event(ex, ev);
    if (ex->withhold_usage && ev->has_data && memmem(ev->data, ev->data_len, "\"usage\"", 7) &&
        usage_is_usage_only_chunk(ev->data, ev->data_len))
        withheld = 1;
    emit_chunk(ex, ev->raw, ev->raw_len, 1, ev->name, ev->name_len, withheld, !ev->has_data && sse_oversized(ex->sse) > 0 && ev->raw_len >= ex->conf->max_event);
    if (ex->withhold_usage && !withheld && !ex->client_gone)
        buf_append(&ex->out, ev->raw, ev->raw_len);
    if (ex->tr_stream && ev->has_data && !ex->client_gone)
        xlate_event(ex, ev->name, ev->name_len, ev->data, ev->data_len);
    return 0;
}

static int on_decoded_event(void *arg, const sse_event_t *ev)
{
    analyse_event(arg, ev);
    return 0;
}

static void flush_piece(exchange_t *ex)
{
    if (buf_len(&ex->piece)) emit_chunk(ex, buf_ptr(&ex->piece), buf_len(&ex->piece), 0, NULL, 0, 0, 0);
    buf_reset(&ex->piece);
}

/* Decoded bytes of a compressed body, for usage only. 1: no more needed
 * (a whole body's usage is read from its first USAGE_MAX bytes). */
static int analyse_decoded(exchange_t *ex, const char *p, size_t n)
{
    if (ex->is_sse) {
        if (!ex->zsse) ex->zsse = sse_new(ex->conf->max_event, on_decoded_event, ex);
        if (ex->zsse) sse_feed(ex->zsse, p, n);
        return 0;
    }
    return buf_append(&ex->usage_copy, p, n) < 0;
}

/* A decompression bomb gets no more of the relay's time than this: past
 * 64 MiB decoded at over 200 times the encoded size (JSON and event
 * streams compress 5 to 20 times), decoding stops (within a 16 KiB piece
 * of output, even inside one feed) and the usage is left unknown. */
#define BOMB_FLOOR (64u << 20)
#define BOMB_RATIO 200

static int on_decoded(void *arg, const char *p, size_t n)
{
    exchange_t *ex = arg;
    ex->dec_out += n;
    if (analyse_decoded(ex, p, n)) return 1;
    return ex->dec_out > BOMB_FLOOR && ex->dec_out / BOMB_RATIO > ex->dec_in;
}

/* An encoded body (gzip, deflate, br, zstd), decoded for usage only: the
 * client and the capture get the bytes as they came. */
static void decode_some(exchange_t *ex, const char *p, size_t n)
{
    if (!ex->dec) {
        ex->dec = decoder_new(hdr_get(ex->rh, ex->nrh, "content-encoding"));
        if (!ex->dec) { ex->encoded = 2; return; }
    }
    ex->dec_in += n;
    /* corrupt, a bomb, or all the usage copy holds: decoded no further */
    if (decoder_feed(ex->dec, p, n, on_decoded, ex) != 0) ex->encoded = 2;
}

size_t ex_on_body(exchange_t *ex, const char *p, size_t n)
{
    relay_conf_t *c = ex->conf;
    if (ex->usage_probe) {
        if (buf_len(&ex->probe) + n <= PROBE_MAX && buf_append(&ex->probe, p, n) == 0) return n;
        probe_release(ex);                     /* too long for an error about a field */
    }
    if (!ex->client_gone && buf_len(&ex->out) >= c->out_buffer) {
        ex->paused = 1;                        /* backpressure: the client is slow */
        return CURL_WRITEFUNC_PAUSE;
    }
    ex->last_io_mono = clock_mono_us();
    ex->bytes_up += n;
    if (!ex->is_sse && ex->ttft_us < 0 && ex->status < 400) ex->ttft_us = ex_now_us(ex);
    if (ex->is_sse && !ex->encoded) {
        if (!ex->sse) ex->sse = sse_new(c->max_event, on_sse_event, ex);
        if (ex->sse) sse_feed(ex->sse, p, n);
    } else {
        buf_append(&ex->piece, p, n);
        if (buf_len(&ex->piece) >= PIECE_MAX) flush_piece(ex);
        if (!recording(ex)) {
            /* usage is read for the capture only */
        } else if (ex->encoded == 1) {
            decode_some(ex, p, n);
        } else if (!ex->encoded) {
            buf_append(&ex->usage_copy, p, n);
        }
    }
    if (ex->tr_whole) {
        if (buf_append(&ex->tr_body, p, n) < 0) ex->upstream_broke = 1;
        return n;                    /* the client waits for the translated whole */
    }
    if (!ex->client_gone && !ex->tr_stream && !(ex->withhold_usage && ex->is_sse && !ex->encoded))
        buf_append(&ex->out, p, n);
    server_resume(ex);
    return n;
}

/* The error the end event reports (allocated: most exchanges have none). */
static void set_errtext(exchange_t *ex, const char *prefix, const char *msg)
{
    free(ex->errtext);
    size_t lp = strlen(prefix), lm = strlen(msg);
    if ((ex->errtext = malloc(lp + lm + 1))) { memcpy(ex->errtext, prefix, lp); memcpy(ex->errtext + lp, msg, lm + 1); }
}

/* What kind of failure ended a transfer before the upstream's head was in:
 * the first words of the 502's message. */
static const char *failure_kind(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_PEER_FAILED_VERIFICATION: case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER: case CURLE_SSL_CACERT_BADFILE: case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH: case CURLE_SSL_INVALIDCERTSTATUS: case CURLE_SSL_CRL_BADFILE:
    case CURLE_USE_SSL_FAILED: case CURLE_PROXY:
        return "upstream unreachable";
    case CURLE_UNSUPPORTED_PROTOCOL: case CURLE_WEIRD_SERVER_REPLY: case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: case CURLE_OUT_OF_MEMORY: case CURLE_BAD_CONTENT_ENCODING:
        return "upstream sent an invalid response";
    case CURLE_GOT_NOTHING: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_PARTIAL_FILE:
        return "upstream closed the connection before answering";
    default:
        return "upstream request failed";
    }
}

void ex_on_upstream_done(exchange_t *ex, CURLcode rc)
{
    if (ex->usage_probe) {
        if (rc == CURLE_OK && !ex->client_gone && probe_retry(ex)) return;
        probe_release(ex);
    }
    ex->curl_done = 1;
    ex->curl_rc = rc;
    if (!ex->headers_done) {
        if (ex->client_gone) { ex_finish(ex, OUT_CLIENT_CLOSED, "client closed the connection"); return; }
        char msg[CURL_ERROR_SIZE + 160];
        const char *why = ex->curl_err[0] ? ex->curl_err : curl_easy_strerror(rc);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(msg, sizeof msg, "upstream timed out: %s", why);
            ex_relay_error(ex, 504, ex->protocol == PROTO_ANTHROPIC ? "api_error" : "timeout", msg);
        } else {
            if (ex->up_head_over)
                snprintf(msg, sizeof msg, "upstream sent an invalid response: its header lines exceed the %zu bytes "
                         "that limits.connection_memory leaves after this request's head", server_head_room(ex));
            else if (rc == CURLE_OUT_OF_MEMORY && ex->status > 0)   /* libcurl's cap on one header line */
                snprintf(msg, sizeof msg, "upstream sent an invalid response: a header line over libcurl's 100 KiB");
            else
                snprintf(msg, sizeof msg, "%s: %s", failure_kind(rc), why);
            ex_relay_error(ex, 502, "api_error", msg);
        }
        server_resume(ex);
        return;
    }
    if (ex->sse) {
        size_t len;
        const char *rem = sse_remainder(ex->sse, &len);
        if (len) {
            emit_chunk(ex, rem, len, 0, NULL, 0, 0, 0);
            if (ex->withhold_usage && !ex->tr && !ex->client_gone) buf_append(&ex->out, rem, len);
        }
    }
    flush_piece(ex);
    if (ex->tr && !ex->client_gone) xlate_done(ex, rc == CURLE_OK);
    if (!ex->is_sse && buf_len(&ex->usage_copy))
        usage_from_body(&ex->usage, buf_ptr(&ex->usage_copy), buf_len(&ex->usage_copy));
    if (rc != CURLE_OK) {
        ex->upstream_broke = 1;
        set_errtext(ex, "upstream broke off: ", ex->curl_err[0] ? ex->curl_err : curl_easy_strerror(rc));
    }
    if (ex->client_gone) ex_finish(ex, OUT_CLIENT_CLOSED, "client closed the connection");
    server_resume(ex);
    ex_maybe_free(ex);
}

/* An exchange whose client is gone (MHD done with it) and whose upstream
 * transfer has ended is freed here; else whichever side ends last frees it. */
void ex_maybe_free(exchange_t *ex)
{
    if (ex->mhd_done && !ex->easy) ex_free(ex);
}

/* A response the relay makes itself, in the client's protocol. */
void ex_relay_error(exchange_t *ex, int status, const char *type, const char *msg)
{
    json_t *body = native_error(ex->protocol, type, msg);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ex_relay_error_body(ex, status, text ? text : "{}", msg);
    free(text);
}

/* A response the relay makes itself, with a ready body. */
void ex_relay_error_body(exchange_t *ex, int status, const char *body, const char *msg)
{
    free(ex->relay_body);
    ex->relay_body = strdup(body);
    ex->relay_status = status;
    set_errtext(ex, "", msg);
    if (!ex->request_written) {
        char path[4096]; const char *query;
        path_end(ex->uri, path, sizeof path, &query);
        write_request_event(ex, path, query);
    }
    json_t *ev = capture_event("response", ex->id, clock_wall_us());
    json_t *h = json_array();
    capture_add_header(h, "Content-Type", 12, "application/json", 16);
    if (ex->relay_retry_after) capture_add_header(h, "Retry-After", 11, ex->relay_retry_after, strlen(ex->relay_retry_after));
    json_object_set_new(ev, "status", json_integer(status));
    json_object_set_new(ev, "headers", h);
    json_object_set_new(ev, "t_us", json_integer(ex_now_us(ex)));
    json_object_set_new(ev, "source", json_string("relay"));
    emit_json(ex, ev);
    emit_chunk(ex, ex->relay_body, strlen(ex->relay_body), 0, NULL, 0, 0, 0);
    ex->bytes_out = strlen(ex->relay_body);
}

void ex_finish(exchange_t *ex, enum outcome o, const char *err)
{
    if (ex->ended || !ex->request_written) return;
    ex->ended = 1;
    ex->outcome = o;
    unwatch_client(ex);
    int status = ex->relay_status ? ex->relay_status : ex->tr_whole && ex->tr_status ? ex->tr_status : ex->status;
    int64_t total = ex_now_us(ex);
    jw_t w;
    if (!recording(ex)) goto ended;
    jw_event(&w, ex, "end", clock_wall_us());
    jw_str(&w, "outcome", ex_outcome_name(o));
    if (status) jw_int(&w, "status", status); else jw_null(&w, "status");
    jw_key(&w, "usage");
    {
        const usage_t *u = &ex->usage;
        int64_t total_t = u->total_tokens;
        if (total_t < 0 && u->input_tokens >= 0 && u->output_tokens >= 0) total_t = u->input_tokens + u->output_tokens;
        const char *names[] = { "input_tokens", "output_tokens", "cached_tokens", "cache_creation_tokens",
                                "reasoning_tokens", "total_tokens" };
        int64_t vals[] = { u->input_tokens, u->output_tokens, u->cached_tokens, u->cache_creation_tokens,
                           u->reasoning_tokens, total_t };
        jw_t uw = { .b = w.b, .n = 0, .fail = w.fail };
        jw_value_raw(&w, "{", 1);
        for (int i = 0; i < 6; i++) if (vals[i] >= 0) jw_int(&uw, names[i], vals[i]);
        w.fail |= uw.fail;
        jw_value_raw(&w, "}", 1);
    }
    jw_str(&w, "finish_reason", ex->usage.finish_reason[0] ? ex->usage.finish_reason : NULL);
    jw_key(&w, "timing");
    {
        jw_t tw = { .b = w.b, .n = 0, .fail = w.fail };
        jw_value_raw(&w, "{", 1);
        if (ex->ttfb_us >= 0) jw_int(&tw, "ttfb_us", ex->ttfb_us); else jw_null(&tw, "ttfb_us");
        if (ex->ttft_us >= 0) jw_int(&tw, "ttft_us", ex->ttft_us); else jw_null(&tw, "ttft_us");
        jw_int(&tw, "total_us", total);
        w.fail |= tw.fail;
        jw_value_raw(&w, "}", 1);
        jw_key(&w, "bytes");
        jw_t bw = { .b = w.b, .n = 0, .fail = w.fail };
        jw_value_raw(&w, "{", 1);
        jw_int(&bw, "request", (long long)ex->body_seen);
        jw_int(&bw, "response", (long long)ex->bytes_out);
        jw_int(&bw, "upstream_response", (long long)ex->bytes_up);
        w.fail |= bw.fail;
        jw_value_raw(&w, "}", 1);
    }
    jw_int(&w, "chunks", (long long)ex->seq);
    jw_int(&w, "attempts", ex->attempts);
    if (ex->attempts > 1) jw_str(&w, "retry_reason", "the upstream refused the stream_options the relay added");
    const char *e = err ? err : ex->errtext;
    if (!e && ex->stream_error) e = "the upstream sent an error event mid-stream";
    if (e) jw_str(&w, "error", e);
    if (ex->capture_truncated) jw_bool(&w, "capture_truncated", 1);
    if (ex->dropped) jw_int(&w, "capture_dropped", (long long)ex->dropped);
    jw_emit(ex, &w);
ended:
    metrics_request_done(ex->r->m, ex->route ? ex->route->name : "", status, o, ex->body_seen,
                         ex->bytes_out, ex->stream, total);
    deactivate(ex);
}

/* The client hung up (EPOLLRDHUP while we wait, or MHD saw it). */
void ex_client_gone(exchange_t *ex)
{
    unwatch_client(ex);
    if (ex->client_gone) return;
    if (ex->conn && (ex->relay_status || (ex->curl_done && buf_len(&ex->out) == 0)))
        return;   /* the response is all handed to MHD: its completion decides */
    ex->client_gone = 1;
    buf_free(&ex->out);
    if (!ex->curl_done && ex->headers_done && ex->conf->client_close_finish && ex->easy) {
        if (ex->paused) { ex->paused = 0; upstream_request_unpause(ex); ex->paused = 1; }
    } else {
        if (ex->easy) upstream_cancel(ex);
        ex_finish(ex, OUT_CLIENT_CLOSED, "client closed the connection");
    }
    server_resume(ex);
}

/* Per-exchange deadlines, checked a few times a second. */
void ex_sweep(relay_t *r, int64_t now)
{
    exchange_t *next;
    for (exchange_t *ex = r->active; ex; ex = next) {
        next = ex->next;
        if (!ex->up || ex->ended) continue;
        /* an exchange that lasts gets its client watched for a hang-up
         * (libmicrohttpd does not see one while the connection is suspended);
         * short ones are spared the two epoll_ctl calls */
        if (!ex->client_fd_watched && ex->conn && !ex->client_gone) watch_client(ex);
        if (ex->curl_done && ex->headers_done && buf_len(&ex->out) > 0 && !ex->client_gone &&
            now - ex->last_io_mono > (int64_t)ex->up->idle_timeout_ms * 1000) {
            /* all received, but the client does not take it */
            ex_finish(ex, OUT_CLIENT_CLOSED, "idle timeout: the client stopped reading");
            ex->client_gone = 1;
            if (ex->client_fd_watched || ex->conn_ctx) shutdown(ex->conn_ctx ? ex->conn_ctx->fd : ex->cw.fd, SHUT_RDWR);
            server_resume(ex);
            continue;
        }
        if (ex->curl_done || !ex->easy) continue;
        if (!ex->headers_done && now - ex->t0_mono > (int64_t)ex->up->timeout_ms * 1000) {
            upstream_cancel(ex);
            ex->curl_done = 1;
            ex_relay_error(ex, 504, ex->protocol == PROTO_ANTHROPIC ? "api_error" : "timeout",
                           "upstream did not answer in time");
            server_resume(ex);
            if (ex->mhd_done) { ex_finish(ex, OUT_TIMEOUT, NULL); ex_maybe_free(ex); }
        } else if (ex->headers_done && now - ex->last_io_mono > (int64_t)ex->up->idle_timeout_ms * 1000) {
            upstream_cancel(ex);
            ex->curl_done = 1;
            ex->upstream_broke = 1;
            const char *why = ex->paused ? "idle timeout: the client stopped reading" : "idle timeout: the upstream stopped sending";
            int client_stalled = ex->paused;
            ex_finish(ex, client_stalled ? OUT_CLIENT_CLOSED : OUT_TIMEOUT, why);
            ex->client_gone = 1;
            if (client_stalled && ex->conn_ctx) shutdown(ex->conn_ctx->fd, SHUT_RDWR); /* it will not read the rest */
            server_resume(ex);
            ex_maybe_free(ex);
        }
    }
}

void ex_abort_all(relay_t *r)
{
    while (r->active) {
        exchange_t *ex = r->active;
        if (ex->easy) upstream_cancel(ex);
        ex->client_gone = 1;
        ex_finish(ex, OUT_ABORTED, "the relay shut down before the exchange finished");
        deactivate(ex);
        server_resume(ex);
        ex_maybe_free(ex);
    }
}
