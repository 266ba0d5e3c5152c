/* translate.c — the translator object: creation, the request entry point,
 * endpoint and headers, and dispatch of responses and streams to the
 * direction's own file (see translate.h for the contract). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "internal.h"

translate_t *translate_new(int client, int upstream, const translate_opts_t *opts)
{
    if ((client != TR_OPENAI && client != TR_ANTHROPIC) ||
        (upstream != TR_OPENAI && upstream != TR_ANTHROPIC) || client == upstream)
        return NULL;
    translate_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->client = client;
    t->upstream = upstream;
    if (opts)
        t->o = *opts;
    t->created = t->o.created ? t->o.created : (int64_t)time(NULL);
    t->a.cur_index = -1;
    t->a.in = t->a.cache_read = t->a.cache_create = t->a.out = t->a.thinking = -1;
    t->b.open_tool = -1;
    t->b.prompt = t->b.completion = t->b.cached = -1;
    return t;
}

void translate_free(translate_t *t)
{
    if (!t)
        return;
    free(t->client_model);
    free(t->upstream_model);
    free(t->id);
    free(t->model);
    free(t->b.tool_block);
    free(t->b.stop_sequence);
    free(t);
}

int translate_request(translate_t *t, const char *body, size_t len,
                      char **out, size_t *outlen, translate_error_t *err)
{
    *out = NULL;
    *outlen = 0;
    if (err)
        memset(err, 0, sizeof *err);
    if (t->requested)
        return tr_fail(t, err, 500, NULL, "translate_request called twice");
    json_error_t je;
    json_t *in = body && len ? json_loadb(body, len, JSON_ALLOW_NUL, &je) : NULL;
    if (!json_is_object(in)) {
        json_decref(in);
        return tr_fail(t, err, 400, NULL, "the request body is not a JSON object");
    }
    const char *model = tr_str(in, "model");
    if (!model) {
        json_decref(in);
        return tr_fail(t, err, 400, "model", "model: a string is required");
    }
    t->client_model = strdup(model);
    t->upstream_model = strdup(t->o.model ? t->o.model : model);
    if (!t->client_model || !t->upstream_model) {
        json_decref(in);
        return tr_fail(t, err, 500, NULL, "out of memory");
    }
    t->stream = json_is_true(json_object_get(in, "stream"));
    json_t *res = t->client == TR_OPENAI ? tr_req_oa2an(t, in, err) : tr_req_an2oa(t, in, err);
    json_decref(in);
    if (!res)
        return -1;
    char *s = json_dumps(res, TR_DUMP);
    json_decref(res);
    if (!s)
        return tr_fail(t, err, 500, NULL, "out of memory");
    *out = s;
    *outlen = strlen(s);
    t->requested = 1;
    return 0;
}

int translate_is_stream(const translate_t *t) { return t->stream; }
const char *translate_client_model(const translate_t *t) { return t->client_model; }
const char *translate_upstream_model(const translate_t *t) { return t->upstream_model; }

const char *translate_upstream_path(const translate_t *t)
{
    return t->upstream == TR_ANTHROPIC ? "/v1/messages" : "/v1/chat/completions";
}

static int is(const char *a, const char *b) { return strcasecmp(a, b) == 0; }

int translate_request_headers(const translate_t *t, const translate_header_t *h, size_t n,
                              translate_header_cb cb, void *arg)
{
    int has_version = 0, has_auth = 0, rc;
    for (size_t i = 0; i < n; i++) {
        if (is(h[i].name, "anthropic-version"))
            has_version = 1;
        if (is(h[i].name, "authorization"))
            has_auth = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const char *nm = h[i].name, *v = h[i].value;
        size_t vl = h[i].vlen;
        if (is(nm, "content-length") || is(nm, "transfer-encoding") ||
            is(nm, "content-type") || is(nm, "accept-encoding"))
            continue;
        if (t->upstream == TR_ANTHROPIC) {
            if (is(nm, "openai-organization") || is(nm, "openai-project") || is(nm, "openai-beta"))
                continue;
            if (is(nm, "authorization")) {
                if (vl >= 7 && !strncasecmp(v, "Bearer ", 7)) {
                    if ((rc = cb(arg, "x-api-key", v + 7, vl - 7)) != 0)
                        return rc;
                }
                continue; /* other schemes mean nothing to Anthropic */
            }
        } else {
            if (!strncasecmp(nm, "anthropic-", 10))
                continue;
            if (is(nm, "x-api-key")) {
                if (has_auth)
                    continue;
                size_t k = vl + 8;
                char *b = malloc(k + 1);
                if (!b)
                    return -1;
                memcpy(b, "Bearer ", 7);
                memcpy(b + 7, v, vl);
                b[7 + vl] = '\0';
                rc = cb(arg, "Authorization", b, 7 + vl);
                free(b);
                if (rc)
                    return rc;
                continue;
            }
        }
        if ((rc = cb(arg, nm, v, vl)) != 0)
            return rc;
    }
    if ((rc = cb(arg, "Content-Type", "application/json", 16)) != 0)
        return rc;
    if ((rc = cb(arg, "Accept-Encoding", "identity", 8)) != 0)
        return rc;
    if (t->upstream == TR_ANTHROPIC && !has_version)
        return cb(arg, "anthropic-version", TRANSLATE_ANTHROPIC_VERSION,
                  sizeof TRANSLATE_ANTHROPIC_VERSION - 1);
    return 0;
}

int translate_drop_response_header(const char *name)
{
    return is(name, "content-length") || is(name, "content-encoding") ||
           is(name, "transfer-encoding") || is(name, "content-type");
}

const char *translate_response_content_type(int sse)
{
    return sse ? "text/event-stream" : "application/json";
}

int translate_response(translate_t *t, int status, const char *body, size_t len,
                       buf_t *out, int *client_status, translate_error_t *err)
{
    if (status < 200 || status >= 300) {
        if (tr_error_response(t, status, body, len, out, client_status) == 0)
            return 0;
        return tr_fail(t, err, 500, NULL, "out of memory");
    }
    json_t *in = tr_parse_object(body, len);
    json_t *res = NULL;
    if (in)
        res = t->upstream == TR_ANTHROPIC ? tr_resp_an2oa(t, in) : tr_resp_oa2an(t, in);
    json_decref(in);
    if (!res) {
        translate_error_t e;
        tr_fail(t, &e, 502, NULL, "the upstream's %s response could not be read",
                t->upstream == TR_ANTHROPIC ? "Anthropic" : "OpenAI");
        size_t len0 = out->len;
        if (translate_error_body(t->client, &e, out)) {
            tr_rollback(out, len0);
            return tr_fail(t, err, 500, NULL, "out of memory");
        }
        *client_status = 502;
        return 0;
    }
    size_t len0 = out->len;
    int rc = tr_append_json(out, res);
    json_decref(res);
    if (rc) {
        tr_rollback(out, len0);
        return tr_fail(t, err, 500, NULL, "out of memory");
    }
    *client_status = status;
    return 0;
}

int translate_stream_event(translate_t *t, const char *name, size_t name_len,
                           const char *data, size_t data_len, buf_t *out)
{
    if (t->done)
        return 1;
    if (!name)
        name = "", name_len = 0;
    return t->upstream == TR_ANTHROPIC ? tr_stream_an2oa(t, name, name_len, data, data_len, out)
                                       : tr_stream_oa2an(t, name, name_len, data, data_len, out);
}

int translate_stream_finish(translate_t *t, int upstream_ok, buf_t *out)
{
    if (t->done)
        return 0;
    return t->upstream == TR_ANTHROPIC ? tr_finish_an2oa(t, upstream_ok, out)
                                       : tr_finish_oa2an(t, upstream_ok, out);
}

int translate_stream_done(const translate_t *t) { return t->done; }
