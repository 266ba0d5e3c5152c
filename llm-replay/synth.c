/* synth.c — --serve: a request asks for a stream where only a non-stream
 * answer was recorded. For an OpenAI chat.completion and an Anthropic
 * message the answer is turned into the stream the API would have sent:
 * whole blocks, one event each (the text in one delta, tool arguments in
 * one fragment), all at once. Other answers are not streamed (404). */
#include "replay.h"
#include <stdlib.h>
#include <string.h>

/* "[event: NAME\n]data: JSON\n\n"; steals j */
static int event(buf_t *out, const char *name, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) return -1;
    int rc = (name && (buf_append_str(out, "event: ") || buf_append_str(out, name) || buf_append_str(out, "\n"))) ||
             buf_append_str(out, "data: ") || buf_append_str(out, s) || buf_append_str(out, "\n\n");
    free(s);
    return rc;
}

/* the members every chat.completion.chunk carries */
static json_t *chat_chunk(const json_t *msg, json_t *choices)
{
    json_t *c = json_pack("{s:O?, s:s, s:O?, s:O?, s:o}", "id", json_object_get(msg, "id"),
                          "object", "chat.completion.chunk", "created", json_object_get(msg, "created"),
                          "model", json_object_get(msg, "model"), "choices", choices);
    json_t *fp = json_object_get(msg, "system_fingerprint");
    if (c && fp) json_object_set(c, "system_fingerprint", fp);
    return c;
}

static int chat(const json_t *msg, int with_usage, buf_t *out)
{
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(msg, "choices"), i, ch) {
        json_t *index = json_object_get(ch, "index");
        json_t *m = json_object_get(ch, "message");
        json_t *delta = json_pack("{s:s}", "role", "assistant");
        json_t *content = json_object_get(m, "content");
        if (json_is_string(content)) json_object_set(delta, "content", content);
        json_t *refusal = json_object_get(m, "refusal");
        if (json_is_string(refusal)) json_object_set(delta, "refusal", refusal);
        if (event(out, NULL, chat_chunk(msg, json_pack("[{s:O?, s:o, s:n}]", "index", index, "delta", delta,
                                                       "finish_reason"))))
            return -1;
        size_t k;
        json_t *tc;
        json_array_foreach(json_object_get(m, "tool_calls"), k, tc) {
            json_t *call = json_deep_copy(tc);
            if (!call) return -1;
            json_object_set_new(call, "index", json_integer((json_int_t)k));
            json_t *d = json_pack("{s:[o]}", "tool_calls", call);
            if (event(out, NULL, chat_chunk(msg, json_pack("[{s:O?, s:o, s:n}]", "index", index, "delta", d,
                                                           "finish_reason"))))
                return -1;
        }
        if (event(out, NULL, chat_chunk(msg, json_pack("[{s:O?, s:{}, s:O?}]", "index", index, "delta",
                                                       "finish_reason", json_object_get(ch, "finish_reason")))))
            return -1;
    }
    json_t *usage = json_object_get(msg, "usage");
    if (with_usage && usage) {
        json_t *c = chat_chunk(msg, json_array());
        if (c) json_object_set(c, "usage", usage);
        if (event(out, NULL, c)) return -1;
    }
    return buf_append_str(out, "data: [DONE]\n\n");
}

static int block(buf_t *out, size_t k, const json_t *b)
{
    const char *type = jstr(b, "type");
    json_t *start, *delta = NULL, *delta2 = NULL;
    if (type && !strcmp(type, "text")) {
        start = json_pack("{s:s, s:s}", "type", "text", "text", "");
        delta = json_pack("{s:s, s:O?}", "type", "text_delta", "text", json_object_get(b, "text"));
    } else if (type && !strcmp(type, "tool_use")) {
        start = json_pack("{s:s, s:O?, s:O?, s:{}}", "type", "tool_use", "id", json_object_get(b, "id"),
                          "name", json_object_get(b, "name"), "input");
        char *in = json_dumps(json_object_get(b, "input"), JSON_COMPACT | JSON_ENCODE_ANY);
        delta = json_pack("{s:s, s:s}", "type", "input_json_delta", "partial_json", in ? in : "{}");
        free(in);
    } else if (type && !strcmp(type, "thinking")) {
        start = json_pack("{s:s, s:s}", "type", "thinking", "thinking", "");
        delta = json_pack("{s:s, s:O?}", "type", "thinking_delta", "thinking", json_object_get(b, "thinking"));
        if (json_object_get(b, "signature"))
            delta2 = json_pack("{s:s, s:O}", "type", "signature_delta", "signature", json_object_get(b, "signature"));
    } else {
        start = json_incref((json_t *)b);
    }
    int rc = event(out, "content_block_start", json_pack("{s:s, s:I, s:o}", "type", "content_block_start",
                                                         "index", (json_int_t)k, "content_block", start));
    if (!rc && delta)
        rc = event(out, "content_block_delta", json_pack("{s:s, s:I, s:o}", "type", "content_block_delta",
                                                         "index", (json_int_t)k, "delta", delta));
    else json_decref(delta);
    if (!rc && delta2)
        rc = event(out, "content_block_delta", json_pack("{s:s, s:I, s:o}", "type", "content_block_delta",
                                                         "index", (json_int_t)k, "delta", delta2));
    else json_decref(delta2);
    return rc || event(out, "content_block_stop", json_pack("{s:s, s:I}", "type", "content_block_stop",
                                                            "index", (json_int_t)k));
}

static int message(const json_t *msg, buf_t *out)
{
    json_t *head = json_deep_copy(msg);
    if (!head) return -1;
    json_object_set_new(head, "content", json_array());
    json_object_set_new(head, "stop_reason", json_null());
    json_object_set_new(head, "stop_sequence", json_null());
    json_t *usage = json_object_get(head, "usage");
    if (json_is_object(usage)) json_object_set_new(usage, "output_tokens", json_integer(0));
    if (event(out, "message_start", json_pack("{s:s, s:o}", "type", "message_start", "message", head))) return -1;
    size_t k;
    json_t *b;
    json_array_foreach(json_object_get(msg, "content"), k, b)
        if (block(out, k, b)) return -1;
    json_t *u = json_object_get(json_object_get(msg, "usage"), "output_tokens");
    json_t *md = json_pack("{s:s, s:{s:O?, s:O?}, s:{s:O?}}", "type", "message_delta", "delta",
                           "stop_reason", json_object_get(msg, "stop_reason"),
                           "stop_sequence", json_object_get(msg, "stop_sequence"),
                           "usage", "output_tokens", u);
    return event(out, "message_delta", md) ||
           event(out, "message_stop", json_pack("{s:s}", "type", "message_stop"));
}

int synth_stream(const char *body, size_t len, int with_usage, buf_t *out)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    int rc = -1;
    const char *obj = jstr(j, "object"), *type = jstr(j, "type");
    if (obj && !strcmp(obj, "chat.completion")) rc = chat(j, with_usage, out);
    else if (type && !strcmp(type, "message")) rc = message(j, out);
    json_decref(j);
    return rc;
}
