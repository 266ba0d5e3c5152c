/* resp_an2oa.c — a whole Anthropic message → an OpenAI chat.completion.
 * Text blocks are joined into message.content; tool_use blocks become
 * tool_calls (input dumped as the arguments string); thinking becomes
 * message.reasoning_content (vLLM/DeepSeek's field) and, with signatures,
 * message.thinking_blocks, which an OpenAI client may send back;
 * redacted_thinking goes to thinking_blocks only. Other block types
 * (server tools, which requests never ask for) are left out. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int64_t num(const json_t *o, const char *key)
{
    int ok;
    int64_t v = tr_int(json_object_get(o, key), &ok);
    return ok && v >= 0 ? v : -1;
}

json_t *tr_usage_openai_of(const json_t *u)
{
    return tr_usage_openai(num(u, "input_tokens"), num(u, "cache_read_input_tokens"),
                           num(u, "cache_creation_input_tokens"), num(u, "output_tokens"),
                           num(json_object_get(u, "output_tokens_details"), "thinking_tokens"));
}

json_t *tr_resp_an2oa(translate_t *t, const json_t *in)
{
    const json_t *content = json_object_get(in, "content");
    if (!json_is_array(content))
        return NULL;
    buf_t text, think;
    buf_init(&text, 0);
    buf_init(&think, 0);
    json_t *calls = json_array(), *blocks = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *type = tr_str(b, "type");
        if (!type)
            continue;
        if (!strcmp(type, "text") && json_is_string(json_object_get(b, "text"))) {
            const json_t *s = json_object_get(b, "text");
            buf_append(&text, json_string_value(s), json_string_length(s));
        } else if (!strcmp(type, "tool_use") && json_is_string(json_object_get(b, "name"))) {
            const json_t *input = json_object_get(b, "input");
            char *args = input ? json_dumps(input, TR_DUMP | JSON_ENCODE_ANY) : NULL;
            json_array_append_new(calls, json_pack("{s:O, s:s, s:{s:O, s:s}}", "id",
                                                   json_object_get(b, "id"), "type", "function",
                                                   "function", "name", json_object_get(b, "name"),
                                                   "arguments", args ? args : "{}"));
            free(args);
        } else if (!strcmp(type, "thinking") && json_is_string(json_object_get(b, "thinking"))) {
            const json_t *s = json_object_get(b, "thinking");
            buf_append(&think, json_string_value(s), json_string_length(s));
            json_array_append_new(blocks, json_pack("{s:s, s:O, s:o}", "type", "thinking", "thinking", s,
                                                    "signature", json_is_string(json_object_get(b, "signature"))
                                                    ? json_incref(json_object_get(b, "signature")) : json_string("")));
        } else if (!strcmp(type, "redacted_thinking") && json_is_string(json_object_get(b, "data"))) {
            json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "redacted_thinking", "data",
                                                    json_object_get(b, "data")));
        }
    }
    json_t *msg = json_pack("{s:s}", "role", "assistant");
    if (buf_len(&text) || json_array_size(calls) == 0)
        json_object_set_new(msg, "content", json_stringn(buf_ptr(&text), buf_len(&text)));
    else
        json_object_set_new(msg, "content", json_null());
    json_object_set_new(msg, "refusal", json_null());
    if (json_array_size(calls))
        json_object_set(msg, "tool_calls", calls);
    if (json_array_size(blocks)) {
        json_object_set_new(msg, "reasoning_content", json_stringn(buf_ptr(&think), buf_len(&think)));
        json_object_set(msg, "thinking_blocks", blocks);
    }
    const json_t *id = json_object_get(in, "id"), *model = json_object_get(in, "model");
    json_t *r = json_pack("{s:o, s:s, s:I, s:o, s:[{s:i, s:o, s:n, s:s}], s:o}",
                          "id", json_is_string(id) ? json_incref((json_t *)id) : json_string(""),
                          "object", "chat.completion", "created", (json_int_t)t->created,
                          "model", json_is_string(model) ? json_incref((json_t *)model)
                                                         : json_string(t->upstream_model),
                          "choices", "index", 0, "message", msg, "logprobs",
                          "finish_reason", tr_finish_of_stop(tr_str(in, "stop_reason")),
                          "usage", tr_usage_openai_of(json_object_get(in, "usage")));
    buf_free(&text);
    buf_free(&think);
    json_decref(calls);
    json_decref(blocks);
    return r;
}
