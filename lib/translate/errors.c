/* errors.c — errors in each protocol's native shape, with status mapping.
 *   OpenAI:    {"error": {"message", "type", "param", "code"}}
 *   Anthropic: {"type": "error", "error": {"type", "message"}}
 * Status, upstream → client: Anthropic 529 overloaded_error → OpenAI 503;
 * OpenAI 503 → Anthropic 529 (overloaded_error), 422 → 400; every other
 * status is kept. The type is the client protocol's name for the client
 * status (Anthropic: invalid_request_error 400 and other 4xx,
 * authentication_error 401, billing_error 402, permission_error 403,
 * not_found_error 404, request_too_large 413, rate_limit_error 429,
 * api_error 500 and other 5xx, timeout_error 504, overloaded_error 529;
 * OpenAI: invalid_request_error 4xx, authentication_error 401,
 * permission_error 403, not_found_error 404, rate_limit_error 429,
 * server_error 5xx). The upstream's message is kept, and for an OpenAI
 * client the upstream's own error type is given as "code". A body that is
 * not a JSON error becomes a message quoting its first bytes. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

const char *tr_error_type(int proto, int status)
{
    if (proto == TR_ANTHROPIC) {
        switch (status) {
        case 401: return "authentication_error";
        case 402: return "billing_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 413: return "request_too_large";
        case 429: return "rate_limit_error";
        case 504: return "timeout_error";
        case 503: case 529: return "overloaded_error";
        default: return status >= 500 ? "api_error" : "invalid_request_error";
        }
    }
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

int tr_error_status(int client, int st)
{
    if (client == TR_OPENAI)
        return st == 529 ? 503 : st;
    if (st == 503)
        return 529;
    if (st == 422)
        return 400;
    return st;
}

/* Error types both protocols name alike, then the ones that differ. */
static const char *map_type(const char *t, const char *const (*pairs)[2], const char *dflt)
{
    static const char *const same[] = { "invalid_request_error", "authentication_error",
        "permission_error", "not_found_error", "rate_limit_error", NULL };
    if (!t)
        return dflt;
    for (int i = 0; same[i]; i++)
        if (!strcmp(t, same[i]))
            return same[i];
    for (int i = 0; pairs[i][0]; i++)
        if (!strcmp(t, pairs[i][0]))
            return pairs[i][1];
    return dflt;
}

const char *tr_type_to_anthropic(const char *t)
{
    static const char *const pairs[][2] = { { "insufficient_quota", "billing_error" },
        { "requests", "rate_limit_error" }, { "tokens", "rate_limit_error" }, { NULL, NULL } };
    return map_type(t, pairs, "api_error");
}

const char *tr_type_to_openai(const char *t)
{
    static const char *const pairs[][2] = { { "request_too_large", "invalid_request_error" },
        { "billing_error", "insufficient_quota" }, { NULL, NULL } };
    return map_type(t, pairs, "server_error");
}

json_t *tr_error_json(int proto, const char *type, const char *message, const char *code)
{
    if (proto == TR_ANTHROPIC)
        return json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type,
                         "message", message);
    return json_pack("{s:{s:s, s:s, s:n, s:o}}", "error", "message", message, "type", type,
                     "param", "code", code ? json_string(code) : json_null());
}

int translate_error_body(int proto, const translate_error_t *e, buf_t *out)
{
    json_t *j;
    if (proto == TR_ANTHROPIC)
        j = tr_error_json(proto, e->type, e->message, NULL);
    else
        j = json_pack("{s:{s:s, s:s, s:o, s:n}}", "error", "message", e->message, "type",
                      e->type, "param", e->param[0] ? json_string(e->param) : json_null(), "code");
    if (!j)
        return -1;
    size_t len0 = out->len;
    int rc = tr_append_json(out, j);
    json_decref(j);
    if (rc)
        tr_rollback(out, len0);
    return rc;
}

/* The message and type of an upstream error object of either shape. */
static void read_error(const json_t *err, const char **msg, const char **type)
{
    const json_t *e = json_object_get(err, "error");
    if (json_is_object(e)) {
        *msg = tr_str(e, "message");
        *type = tr_str(e, "type");
        if (!*type)
            *type = tr_str(e, "code");
    } else if (json_is_string(e)) {
        *msg = json_string_value(e);        /* {"error": "text"} (Ollama, vLLM) */
    } else {
        *msg = tr_str(err, "message");
        *type = tr_str(err, "type");
    }
}

/* A printable quote of the first bytes of a body that is not JSON. */
static void quote_body(char *dst, size_t cap, const char *p, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap && i < 200; i++) {
        unsigned char c = (unsigned char)p[i];
        dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    dst[k] = '\0';
}

int tr_error_response(translate_t *t, int status, const char *body, size_t len,
                      buf_t *out, int *client_status)
{
    int cs = tr_error_status(t->client, status);
    const char *msg = NULL, *utype = NULL;
    char text[300];
    json_t *in = tr_parse_object(body, len);
    if (in)
        read_error(in, &msg, &utype);
    if (!msg) {
        char q[220];
        quote_body(q, sizeof q, body ? body : "", len);
        snprintf(text, sizeof text, "upstream answered %d%s%s", status, q[0] ? ": " : "", q);
        msg = text;
    }
    json_t *j = tr_error_json(t->client, tr_error_type(t->client, cs), msg,
                              t->client == TR_OPENAI ? utype : NULL);
    json_decref(in);
    if (!j)
        return -1;
    size_t len0 = out->len;
    int rc = tr_append_json(out, j);
    json_decref(j);
    if (rc) {
        tr_rollback(out, len0);
        return -1;
    }
    *client_status = cs;
    return 0;
}

int tr_stream_error(translate_t *t, const json_t *err_obj, const char *fallback, buf_t *out)
{
    const char *msg = NULL, *utype = NULL;
    if (err_obj)
        read_error(err_obj, &msg, &utype);
    if (!msg)
        msg = fallback;
    json_t *j;
    if (t->client == TR_ANTHROPIC)
        j = tr_error_json(TR_ANTHROPIC, tr_type_to_anthropic(utype), msg, NULL);
    else
        j = tr_error_json(TR_OPENAI, tr_type_to_openai(utype), msg, utype);
    if (tr_sse(out, t->client == TR_ANTHROPIC ? "error" : NULL, j))
        return -1;
    t->done = t->errored = 1;
    return 0;
}
