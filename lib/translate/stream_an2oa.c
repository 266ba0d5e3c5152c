/* stream_an2oa.c — Anthropic stream events → OpenAI chat.completion.chunk
 * events, one upstream event at a time.
 *   message_start        → {"delta": {"role": "assistant", "content": ""}}
 *   content_block_start  → text: its text if any; tool_use: a tool_calls
 *                          entry with id, name and "" arguments (index =
 *                          order of the tool call); redacted_thinking:
 *                          delta.thinking_blocks
 *   content_block_delta  → text_delta: content; input_json_delta:
 *                          tool_calls[].function.arguments; thinking_delta:
 *                          reasoning_content; signature_delta:
 *                          thinking_blocks [{thinking: "", signature}]
 *   message_delta        → the chunk with finish_reason (usage kept)
 *   message_stop         → usage chunk (if the client asked), data: [DONE]
 *   ping                 → an SSE comment (keeps the connection alive)
 *   error                → data: {"error": {...}}, and nothing after it
 * content_block_stop and unknown deltas (citations) produce nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static json_t *chunk(translate_t *t, json_t *delta, const char *finish)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:n, s:o}]}",
                     "id", t->id ? t->id : "", "object", "chat.completion.chunk",
                     "created", (json_int_t)t->created,
                     "model", t->model ? t->model : t->upstream_model ? t->upstream_model : "",
                     "choices", "index", 0, "delta", delta, "logprobs",
                     "finish_reason", finish ? json_string(finish) : json_null());
}

static int emit(translate_t *t, buf_t *out, json_t *delta, const char *finish)
{
    return delta ? tr_sse(out, NULL, chunk(t, delta, finish)) : -1;
}

static void keep(char **dst, const json_t *v)
{
    if (json_is_string(v) && !*dst)
        *dst = strdup(json_string_value(v));
}

static void take_usage(tr_an2oa_t *a, const json_t *u)
{
    int ok;
    int64_t v;
#define TAKE(key, field) \
    v = tr_int(json_object_get(u, key), &ok); \
    if (ok && v >= 0) a->field = v;
    TAKE("input_tokens", in)
    TAKE("cache_read_input_tokens", cache_read)
    TAKE("cache_creation_input_tokens", cache_create)
    TAKE("output_tokens", out)
#undef TAKE
    v = tr_int(json_object_get(json_object_get(u, "output_tokens_details"), "thinking_tokens"), &ok);
    if (ok && v >= 0)
        a->thinking = v;
}

static int start(translate_t *t, buf_t *out)
{
    if (t->started)
        return 0;
    if (emit(t, out, json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL))
        return -1;
    t->started = 1;
    return 0;
}

static int finish_chunk(translate_t *t, buf_t *out)
{
    if (t->a.finish_sent)
        return 0;
    if (emit(t, out, json_object(), t->a.finish[0] ? t->a.finish : "stop"))
        return -1;
    t->a.finish_sent = 1;
    return 0;
}

static int usage_chunk(translate_t *t, buf_t *out)
{
    if (!t->include_usage)
        return 0;
    tr_an2oa_t *a = &t->a;
    json_t *u = tr_usage_openai(a->in, a->cache_read, a->cache_create, a->out, a->thinking);
    json_t *c = json_pack("{s:s, s:s, s:I, s:s, s:[], s:o}", "id", t->id ? t->id : "",
                          "object", "chat.completion.chunk", "created", (json_int_t)t->created,
                          "model", t->model ? t->model : t->upstream_model ? t->upstream_model : "",
                          "choices", "usage", u);
    return tr_sse(out, NULL, c);
}

static int done(translate_t *t, buf_t *out)
{
    size_t len0 = out->len;
    if (finish_chunk(t, out) || usage_chunk(t, out) || tr_sse_raw(out, NULL, "[DONE]"))
        return tr_rollback(out, len0);
    t->done = 1;
    return 0;
}

static json_t *tool_delta(int index, json_t *fields)
{
    json_object_set_new(fields, "index", json_integer(index));
    return json_pack("{s:[o]}", "tool_calls", fields);
}

static int block_start(translate_t *t, const json_t *ev, buf_t *out)
{
    tr_an2oa_t *a = &t->a;
    const json_t *cb = json_object_get(ev, "content_block");
    const char *type = tr_str(cb, "type");
    int ok;
    int64_t idx = tr_int(json_object_get(ev, "index"), &ok);
    if (!type || !ok || idx < 0 || idx > 1000000)
        return 1;
    if (start(t, out))
        return -1;
    a->cur_index = (int)idx;
    a->cur_kind = TR_BLOCK_OTHER;
    const json_t *s;
    if (!strcmp(type, "text")) {
        a->cur_kind = TR_BLOCK_TEXT;
        s = json_object_get(cb, "text");
        if (json_is_string(s) && json_string_length(s))
            return emit(t, out, json_pack("{s:O}", "content", s), NULL);
    } else if (!strcmp(type, "thinking")) {
        a->cur_kind = TR_BLOCK_THINKING;
        s = json_object_get(cb, "thinking");
        if (json_is_string(s) && json_string_length(s))
            return emit(t, out, json_pack("{s:O}", "reasoning_content", s), NULL);
    } else if (!strcmp(type, "tool_use")) {
        a->cur_kind = TR_BLOCK_TOOL;
        a->cur_tool = a->ntools++;
        const json_t *input = json_object_get(cb, "input");
        char *args = json_object_size(input) ? json_dumps(input, TR_DUMP) : NULL;
        const json_t *id = json_object_get(cb, "id"), *name = json_object_get(cb, "name");
        json_t *f = json_pack("{s:o, s:s, s:{s:o, s:s}}",
                              "id", json_is_string(id) ? json_incref((json_t *)id) : json_string(""),
                              "type", "function", "function",
                              "name", json_is_string(name) ? json_incref((json_t *)name) : json_string(""),
                              "arguments", args ? args : "");
        free(args);
        return f ? emit(t, out, tool_delta(a->cur_tool, f), NULL) : -1;
    } else if (!strcmp(type, "redacted_thinking") && json_is_string(json_object_get(cb, "data"))) {
        return emit(t, out, json_pack("{s:[{s:s, s:O}]}", "thinking_blocks", "type",
                                      "redacted_thinking", "data", json_object_get(cb, "data")), NULL);
    }
    return 0;
}

static int block_delta(translate_t *t, const json_t *ev, buf_t *out)
{
    tr_an2oa_t *a = &t->a;
    int ok;
    int64_t idx = tr_int(json_object_get(ev, "index"), &ok);
    const json_t *d = json_object_get(ev, "delta");
    const char *type = tr_str(d, "type");
    if (!ok || idx != a->cur_index || !type)
        return 1;
    const json_t *s;
    if (!strcmp(type, "text_delta") && json_is_string(s = json_object_get(d, "text")))
        return json_string_length(s) ? emit(t, out, json_pack("{s:O}", "content", s), NULL) : 0;
    if (!strcmp(type, "thinking_delta") && json_is_string(s = json_object_get(d, "thinking")))
        return json_string_length(s) ? emit(t, out, json_pack("{s:O}", "reasoning_content", s), NULL) : 0;
    if (!strcmp(type, "input_json_delta") && a->cur_kind == TR_BLOCK_TOOL &&
        json_is_string(s = json_object_get(d, "partial_json"))) {
        if (!json_string_length(s))
            return 0;
        json_t *f = json_pack("{s:{s:O}}", "function", "arguments", s);
        return f ? emit(t, out, tool_delta(a->cur_tool, f), NULL) : -1;
    }
    if (!strcmp(type, "signature_delta") && json_is_string(s = json_object_get(d, "signature")))
        return emit(t, out, json_pack("{s:[{s:s, s:s, s:O}]}", "thinking_blocks", "type", "thinking",
                                      "thinking", "", "signature", s), NULL);
    return 1;
}

int tr_stream_an2oa(translate_t *t, const char *name, size_t nlen, const char *data, size_t dlen,
                    buf_t *out)
{
    (void)nlen;
    json_t *ev = tr_parse_object(data, dlen);
    const char *type = ev ? tr_str(ev, "type") : NULL;
    if (!type)
        type = name;
    int rc = 1;
    if (!ev && strcmp(type, "ping"))
        return 1;
    if (!strcmp(type, "message_start")) {
        const json_t *m = json_object_get(ev, "message");
        keep(&t->id, json_object_get(m, "id"));
        keep(&t->model, json_object_get(m, "model"));
        take_usage(&t->a, json_object_get(m, "usage"));
        rc = start(t, out);
    } else if (!strcmp(type, "content_block_start")) {
        rc = block_start(t, ev, out);
    } else if (!strcmp(type, "content_block_delta")) {
        rc = block_delta(t, ev, out);
    } else if (!strcmp(type, "content_block_stop")) {
        t->a.cur_index = -1;
        t->a.cur_kind = TR_BLOCK_NONE;
        rc = 0;
    } else if (!strcmp(type, "message_delta")) {
        const char *sr = tr_str(json_object_get(ev, "delta"), "stop_reason");
        take_usage(&t->a, json_object_get(ev, "usage"));
        if (sr)
            snprintf(t->a.finish, sizeof t->a.finish, "%s", tr_finish_of_stop(sr));
        rc = sr ? (start(t, out) || finish_chunk(t, out) ? -1 : 0) : 0;
    } else if (!strcmp(type, "message_stop")) {
        rc = start(t, out) || done(t, out) ? -1 : 0;
    } else if (!strcmp(type, "ping")) {
        rc = buf_append_str(out, ": ping\n\n");
    } else if (!strcmp(type, "error")) {
        rc = tr_stream_error(t, ev, "the upstream reported an error", out);
    }
    json_decref(ev);
    return rc;
}

int tr_finish_an2oa(translate_t *t, int ok, buf_t *out)
{
    size_t len0 = out->len;
    if (ok && t->started)
        return done(t, out);
    if (t->started && usage_chunk(t, out))
        return tr_rollback(out, len0);
    if (tr_stream_error(t, NULL, t->started ? "the upstream stream broke off before the message was complete"
                                            : "the upstream stream ended without a message", out))
        return tr_rollback(out, len0);
    return 0;
}
