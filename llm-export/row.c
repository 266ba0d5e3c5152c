/* row.c — the "exchanges" row: one merged exchange at full fidelity.
 *   {id, time, model, user, protocol, upstream_protocol?, method, path,
 *    route, upstream, stream, status, outcome, complete, finish_reason,
 *    request (the body as JSON, or its text when it is not JSON),
 *    request_truncated?, response (assembled, client side), response_error?,
 *    upstream_request?, upstream_response? (translated exchanges),
 *    usage, timing, attempts, error?, client_request_id?, replay_of?,
 *    feedback?}
 * This is also what --where sees. */
#include "export.h"

#include <string.h>

void copy_field(json_t *dst, const char *key, const json_t *src, const char *skey, int or_null)
{
    json_t *v = json_object_get(src, skey);
    if (v || or_null)
        json_object_set_new(dst, key, v ? json_incref(v) : json_null());
}

static void copy(json_t *row, const char *key, const json_t *src, const char *skey)
{
    copy_field(row, key, src, skey, 1);
}

static void copy_if(json_t *row, const char *key, const json_t *src)
{
    copy_field(row, key, src, key, 0);
}

/* The request's user: OpenAI's "user", Anthropic's metadata.user_id. */
const char *row_user(const json_t *body)
{
    const char *u = json_string_value(json_object_get(body, "user"));
    if (!u)
        u = json_string_value(json_object_get(json_object_get(body, "metadata"), "user_id"));
    return u;
}

static json_t *body_value(const json_t *req, const char *key, const char *enc_key, const json_t *parsed)
{
    if (parsed)
        return json_incref((json_t *)parsed);
    const json_t *b = json_object_get(req, key);
    if (!json_is_string(b))
        return json_null();
    if (!json_object_get(req, enc_key)) {
        json_t *j = json_loadb(json_string_value(b), json_string_length(b), JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        if (j)
            return j;
    }
    return json_incref((json_t *)b);       /* not JSON: its text (or base64) */
}

json_t *row_exchange(const merged_t *m, const json_t *body, const assembled_t *a, int assembled,
                     const assembled_t *up, int up_ok, const json_t *feedback)
{
    const json_t *req = m->request, *end = m->end;
    json_t *row = json_object();
    if (!row)
        return NULL;
    json_object_set_new(row, "id", json_string(m->id));
    copy(row, "time", req, "ts");
    copy(row, "model", req, "model");
    const char *user = row_user(body);
    json_object_set_new(row, "user", user ? json_string(user) : json_null());
    copy(row, "protocol", req, "protocol");
    copy_if(row, "upstream_protocol", req);
    copy(row, "method", req, "method");
    copy(row, "path", req, "path");
    copy(row, "route", req, "route");
    copy(row, "upstream", req, "upstream");
    copy(row, "stream", req, "stream");
    const json_t *st = json_object_get(end, "status");
    if (!json_is_integer(st))
        st = json_object_get(m->response, "status");
    json_object_set_new(row, "status", st ? json_incref((json_t *)st) : json_null());
    copy(row, "outcome", end, "outcome");
    json_object_set_new(row, "complete", json_boolean(m->complete && assembled && a->complete));
    const char *fin = assembled && a->finish_reason ? a->finish_reason
                      : json_string_value(json_object_get(end, "finish_reason"));
    json_object_set_new(row, "finish_reason", fin ? json_string(fin) : json_null());
    json_object_set_new(row, "request", body_value(req, "body", "body_encoding", body));
    if (json_is_true(json_object_get(req, "body_truncated")))
        json_object_set_new(row, "request_truncated", json_true());
    json_object_set_new(row, "response", assembled ? json_incref(a->message) : json_null());
    if (a->error[0])
        json_object_set_new(row, "response_error", json_string(a->error));
    if (json_object_get(req, "upstream_body"))
        json_object_set_new(row, "upstream_request",
                            body_value(req, "upstream_body", "upstream_body_encoding", NULL));
    if (up)
        json_object_set_new(row, "upstream_response", up_ok ? json_incref(up->message) : json_null());
    json_t *usage = json_object_get(end, "usage");
    json_object_set_new(row, "usage", usage ? json_incref(usage) : json_object());
    copy(row, "timing", end, "timing");
    copy(row, "attempts", end, "attempts");
    copy_if(row, "error", end);
    copy_if(row, "client_request_id", req);
    copy_if(row, "replay_of", req);
    if (json_array_size(feedback)) {
        json_t *fl = json_array();
        size_t i;
        json_t *f;
        json_array_foreach(feedback, i, f) {
            json_t *c = json_copy(f);
            json_object_del(c, "v");
            json_object_del(c, "event");
            json_object_del(c, "id");
            json_array_append_new(fl, c);
        }
        json_object_set_new(row, "feedback", fl);
    }
    return row;
}

int feedback_rating(const json_t *list, double *rating)
{
    int found = 0;
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f) {
        const json_t *r = json_object_get(f, "rating");
        if (json_is_number(r)) {
            *rating = json_number_value(r);
            found = 1;
        }
    }
    return found;
}
