/* util.c — small helpers shared by the translators: error filling, JSON
 * parsing and output, SSE framing, stop/finish reasons, tool call ids,
 * usage in both shapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "internal.h"

int tr_fail(const translate_t *t, translate_error_t *e, int status, const char *param,
            const char *fmt, ...)
{
    if (!e)
        return -1;
    e->status = status;
    snprintf(e->type, sizeof e->type, "%s", tr_error_type(t ? t->client : TR_OPENAI, status));
    snprintf(e->param, sizeof e->param, "%s", param ? param : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return -1;
}

json_t *tr_parse_object(const char *p, size_t n)
{
    if (!p || n == 0)
        return NULL;
    json_t *j = json_loadb(p, n, JSON_ALLOW_NUL, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static int dump_cb(const char *p, size_t n, void *arg)
{
    return buf_append(arg, p, n);
}

int tr_append_json(buf_t *out, const json_t *j)
{
    return json_dump_callback(j, dump_cb, out, TR_DUMP) == 0 ? 0 : -1;
}

int tr_rollback(buf_t *out, size_t len0)
{
    if (out->len > len0) {
        out->len = len0;
        if (out->data)
            out->data[out->off + len0] = '\0';
    }
    return -1;
}

int tr_sse(buf_t *out, const char *name, json_t *j)
{
    size_t len0 = out->len;
    int rc = -1;
    if (!j)
        return -1;
    if (name && (buf_append_str(out, "event: ") || buf_append_str(out, name) ||
                 buf_append_str(out, "\n")))
        goto done;
    if (buf_append_str(out, "data: ") || tr_append_json(out, j) || buf_append_str(out, "\n\n"))
        goto done;
    rc = 0;
done:
    json_decref(j);
    return rc ? tr_rollback(out, len0) : 0;
}

int tr_sse_raw(buf_t *out, const char *name, const char *data)
{
    size_t len0 = out->len;
    if (name && (buf_append_str(out, "event: ") || buf_append_str(out, name) ||
                 buf_append_str(out, "\n")))
        return tr_rollback(out, len0);
    if (buf_append_str(out, "data: ") || buf_append_str(out, data) || buf_append_str(out, "\n\n"))
        return tr_rollback(out, len0);
    return 0;
}

const char *tr_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

int tr_absent(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return !v || json_is_null(v);
}

int tr_set(json_t *o, const char *key, json_t *v)
{
    return v ? json_object_set_new(o, key, v) : -1;
}

int64_t tr_int(const json_t *v, int *ok)
{
    *ok = 0;
    if (json_is_integer(v)) {
        *ok = 1;
        return (int64_t)json_integer_value(v);
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && d >= -9007199254740992.0 && d <= 9007199254740992.0) {
            *ok = 1;
            return (int64_t)d;
        }
    }
    return 0;
}

const char *tr_finish_of_stop(const char *s)
{
    if (!s)
        return "stop";
    if (!strcmp(s, "max_tokens") || !strcmp(s, "model_context_window_exceeded"))
        return "length";
    if (!strcmp(s, "tool_use"))
        return "tool_calls";
    if (!strcmp(s, "refusal"))
        return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn, unknown */
}

const char *tr_stop_of_finish(const char *f)
{
    if (!f)
        return "end_turn";
    if (!strcmp(f, "length"))
        return "max_tokens";
    if (!strcmp(f, "tool_calls") || !strcmp(f, "function_call"))
        return "tool_use";
    if (!strcmp(f, "content_filter"))
        return "refusal";
    return "end_turn";
}

json_t *tr_anthropic_tool_id(const json_t *id, const char *msg_id, int index)
{
    const char *s = json_string_value(id);
    size_t n = s ? json_string_length(id) : 0;
    if (n == 0) {
        char made[160];
        snprintf(made, sizeof made, "toolu_%.100s_%d", msg_id ? msg_id : "relay", index);
        json_t *m = json_string(made);
        json_t *r = tr_anthropic_tool_id(m, NULL, 0);
        json_decref(m);
        return r;
    }
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        d[i] = ok ? (char)c : '_';
    }
    json_t *r = json_stringn(d, n);
    free(d);
    return r;
}

/* ---- usage ---- */

static json_t *count(int64_t v)
{
    return json_integer(v < 0 ? 0 : (json_int_t)v);
}

json_t *tr_usage_openai(int64_t in, int64_t cr, int64_t cc, int64_t out, int64_t thinking)
{
    int64_t prompt = (in > 0 ? in : 0) + (cr > 0 ? cr : 0) + (cc > 0 ? cc : 0);
    int64_t comp = out > 0 ? out : 0;
    json_t *u = json_object();
    if (!u)
        return NULL;
    json_object_set_new(u, "prompt_tokens", count(prompt));
    json_object_set_new(u, "completion_tokens", count(comp));
    json_object_set_new(u, "total_tokens", count(prompt + comp));
    json_object_set_new(u, "prompt_tokens_details", json_pack("{s:o}", "cached_tokens", count(cr)));
    if (thinking >= 0)
        json_object_set_new(u, "completion_tokens_details",
                            json_pack("{s:o}", "reasoning_tokens", count(thinking)));
    return u;
}

void tr_usage_from_openai(const json_t *u, int64_t *prompt, int64_t *completion, int64_t *cached)
{
    int ok;
    int64_t v = tr_int(json_object_get(u, "prompt_tokens"), &ok);
    if (ok && v >= 0)
        *prompt = v;
    v = tr_int(json_object_get(u, "completion_tokens"), &ok);
    if (ok && v >= 0)
        *completion = v;
    v = tr_int(json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"), &ok);
    if (ok && v >= 0)
        *cached = v;
}

json_t *tr_usage_anthropic(int64_t prompt, int64_t completion, int64_t cached)
{
    int64_t c = cached > 0 ? cached : 0, p = prompt > 0 ? prompt : 0;
    if (c > p)
        c = p;
    return json_pack("{s:o, s:o, s:o, s:o}", "input_tokens", count(p - c),
                     "cache_creation_input_tokens", json_integer(0),
                     "cache_read_input_tokens", count(c), "output_tokens", count(completion));
}

int tr_check_keys(const translate_t *t, const json_t *o, const char *const *allowed,
                  const char *path, translate_error_t *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int ok = 0;
        for (int i = 0; allowed[i] && !ok; i++)
            ok = !strcmp(key, allowed[i]);
        if (!ok) {
            char p[256];
            snprintf(p, sizeof p, "%s%s%s", path, path[0] ? "." : "", key);
            return tr_fail(t, e, 400, p, "%s: not supported when translating to the %s API", p,
                           t->upstream == TR_ANTHROPIC ? "Anthropic Messages" : "OpenAI Chat Completions");
        }
    }
    return 0;
}

int tr_data_url(const char *url, size_t len, char *mt, size_t mtcap,
                const char **data, size_t *dlen)
{
    if (len < 5 || strncmp(url, "data:", 5))
        return -1;
    const char *p = url + 5, *end = url + len;
    const char *comma = memchr(p, ',', (size_t)(end - p));
    if (!comma)
        return -1;
    const char *semi = memchr(p, ';', (size_t)(comma - p));
    if (!semi || (size_t)(comma - semi) != 7 || strncmp(semi, ";base64", 7))
        return -1;
    size_t n = (size_t)(semi - p);
    if (n == 0 || n >= mtcap)
        return -1;
    memcpy(mt, p, n);
    mt[n] = '\0';
    *data = comma + 1;
    *dlen = (size_t)(end - comma - 1);
    return 0;
}

int tr_array(const translate_t *t, const json_t *in, const char *key, const json_t **v,
             translate_error_t *e)
{
    *v = json_object_get(in, key);
    if (!*v || json_is_null(*v))
        return 0;
    if (!json_is_array(*v))
        return tr_fail(t, e, 400, key, "%s: must be an array", key);
    return 1;
}
