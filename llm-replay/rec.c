/* rec.c — reading a recorded exchange: members of events, captured byte
 * strings (UTF-8 text or base64), which chunks one side received, headers,
 * the protocol of a request. */
#include "replay.h"
#include "capture.h"
#include <strings.h>
#include <string.h>

const char *jstr(const json_t *ev, const char *key)
{
    return json_string_value(json_object_get(ev, key));
}

int64_t jint(const json_t *ev, const char *key, int64_t def)
{
    json_t *v = json_object_get(ev, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

int rec_bytes(const json_t *ev, const char *key, const char *enc_key, buf_t *out)
{
    json_t *v = json_object_get(ev, key);
    if (!json_is_string(v)) return 0;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    const char *enc = jstr(ev, enc_key);
    if (enc && !strcmp(enc, "base64")) return capture_base64_decode(out, s, n);
    return n ? buf_append(out, s, n) : 0;
}

int rec_protocol(const json_t *request)
{
    const char *path = jstr(request, "path");
    return proto_of_path(path ? path : "/", rec_header(json_object_get(request, "headers"), "anthropic-version") != NULL);
}

static int on_client_side(const json_t *ev)
{
    const char *side = jstr(ev, "side");
    return side && !strcmp(side, "client");
}

int rec_has_client_side(const json_t *chunks)
{
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c)
        if (on_client_side(c)) return 1;
    return 0;
}

int rec_chunk_on(const json_t *ev, int side, int translated)
{
    if (translated) return side == REC_CLIENT ? on_client_side(ev) : !on_client_side(ev);
    return side == REC_UPSTREAM || !json_is_true(json_object_get(ev, "withheld"));
}

const char *rec_header(const json_t *headers, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(headers, i, h) {
        const char *n = json_string_value(json_array_get(h, 0));
        if (n && !strcasecmp(n, name)) return json_string_value(json_array_get(h, 1));
    }
    return NULL;
}

int rec_masked(const char *value)
{
    return value && !strncmp(value, "[masked sha256:", 15);
}

void url_path(const char *url, char *out, size_t outlen)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    if (!p) p = "/";
    size_t n = strcspn(p, "?#");
    if (n >= outlen) n = outlen - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

int body_streams(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    int s = json_is_true(json_object_get(j, "stream"));
    json_decref(j);
    return s;
}
