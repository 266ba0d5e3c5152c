/* xlate.c — the relay's side of protocol translation (lib/translate/):
 * when a route's upstream speaks the other protocol, the request body and
 * headers are translated on the way up, and the response on the way down:
 * event by event for streams, whole for other bodies. The capture keeps
 * both sides: the request event holds the client's body and the upstream's
 * (upstream_body), chunk events hold the upstream's bytes and, marked
 * "side":"client", the bytes the client got. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relay.h"
#include "translate/translate.h"

/* 1 when this request is a chat call in the client's protocol and the
 * upstream speaks the other one. */
int xlate_wanted(const exchange_t *ex, const char *rest)
{
    if (!ex->up || UP_PROTO(ex->up, ex->protocol) == ex->protocol || strcmp(ex->method, "POST") != 0) return 0;
    return ex->protocol == PROTO_OPENAI ? str_ends_with(rest, "/chat/completions") : str_ends_with(rest, "/messages");
}

/* Translate the body into ex->up_body; *rest becomes the upstream path.
 * Returns 0, or -1 after answering the client with a native error. */
int xlate_request(exchange_t *ex, const char **rest)
{
    translate_opts_t o;
    memset(&o, 0, sizeof o);
    o.model = ex->route->target_model;
    o.default_max_tokens = ex->route->max_tokens > 0 ? ex->route->max_tokens : ex->up->max_tokens;
    ex->tr = translate_new(ex->protocol, ex->up->protocol, &o);
    translate_error_t err;
    char *out = NULL;
    size_t outlen = 0;
    if (!ex->tr || translate_request(ex->tr, buf_ptr(&ex->body), buf_len(&ex->body), &out, &outlen, &err) < 0) {
        if (!ex->tr) { memset(&err, 0, sizeof err); err.status = 500; strcpy(err.type, "api_error"); strcpy(err.message, "out of memory"); }
        buf_t b; buf_init(&b, 0);
        translate_error_body(ex->protocol, &err, &b);
        ex_relay_error_body(ex, err.status, buf_ptr(&b), err.message);
        buf_free(&b);
        return -1;
    }
    free(ex->up_body);
    ex->up_body = out;
    ex->up_body_len = outlen;
    *rest = translate_upstream_path(ex->tr);
    return 0;
}

struct hcollect { hdr_t *v; size_t n, cap; };

static int collect(void *arg, const char *name, const char *value, size_t vlen)
{
    struct hcollect *c = arg;
    return hdr_push(&c->v, &c->n, &c->cap, name, strlen(name), value, vlen);
}

/* The client's headers as the upstream's protocol wants them. */
int xlate_headers(const exchange_t *ex, hdr_t **out, size_t *n)
{
    translate_header_t *th = calloc(ex->nqh ? ex->nqh : 1, sizeof *th);
    struct hcollect c = { 0 };
    if (!th) return -1;
    for (size_t i = 0; i < ex->nqh; i++) {
        th[i].name = ex->qh[i].name; th[i].value = ex->qh[i].value; th[i].vlen = ex->qh[i].vlen;
    }
    int rc = translate_request_headers(ex->tr, th, ex->nqh, collect, &c);
    free(th);
    if (rc) { hdr_free_all(c.v, c.n); return -1; }
    *out = c.v;
    *n = c.n;
    return 0;
}

/* Response headers are in: stream event by event, or hold the body. */
void xlate_on_headers(exchange_t *ex)
{
    if (ex->is_sse && !ex->encoded && ex->status < 400) ex->tr_stream = 1;
    else { ex->tr_whole = 1; buf_init(&ex->tr_body, 64u << 20); }
    /* the client gets translated bytes: drop what no longer holds */
    size_t k = 0;
    for (size_t i = 0; i < ex->nrh; i++) {
        if (translate_drop_response_header(ex->rh[i].name)) { hdr_free(&ex->rh[i]); continue; }
        ex->rh[k++] = ex->rh[i];
    }
    ex->nrh = k;
    const char *ct = translate_response_content_type(ex->tr_stream);
    hdr_push(&ex->rh, &ex->nrh, &ex->rh_cap, "Content-Type", 12, ct, strlen(ct));
    ex->content_length = -1;
}

void xlate_event(exchange_t *ex, const char *name, size_t nlen, const char *data, size_t dlen)
{
    size_t before = buf_len(&ex->out);
    translate_stream_event(ex->tr, name, nlen, data, dlen, &ex->out);
    if (buf_len(&ex->out) > before)
        ex_emit_client_chunk(ex, buf_ptr(&ex->out) + before, buf_len(&ex->out) - before);
}

/* The upstream body is complete (or broke off). */
void xlate_done(exchange_t *ex, int upstream_ok)
{
    if (ex->tr_stream) {
        size_t before = buf_len(&ex->out);
        translate_stream_finish(ex->tr, upstream_ok, &ex->out);
        if (buf_len(&ex->out) > before)
            ex_emit_client_chunk(ex, buf_ptr(&ex->out) + before, buf_len(&ex->out) - before);
        return;
    }
    if (!ex->tr_whole) return;
    translate_error_t err;
    int cs = ex->status;
    size_t before = buf_len(&ex->out);
    if (translate_response(ex->tr, ex->status, buf_ptr(&ex->tr_body), buf_len(&ex->tr_body), &ex->out, &cs, &err) < 0)
        cs = 502;
    ex->tr_status = cs;
    ex->content_length = (long long)(buf_len(&ex->out) - before);
    if (buf_len(&ex->out) > before)
        ex_emit_client_chunk(ex, buf_ptr(&ex->out) + before, buf_len(&ex->out) - before);
    buf_free(&ex->tr_body);
}

void xlate_free(exchange_t *ex)
{
    if (ex->tr) translate_free(ex->tr);
    ex->tr = NULL;
    buf_free(&ex->tr_body);
}
