/* resp_oa2an.c — a whole OpenAI chat.completion → an Anthropic message.
 * Block order: thinking (from message.reasoning_content or .reasoning,
 * with an empty signature), text (content, then refusal), tool_use (ids
 * made safe for Anthropic, arguments parsed into input; arguments that are
 * not a JSON object become {"_arguments": "<the text>"} so that the
 * client's tool validation reports them instead of running a tool with
 * empty input). Only the first choice is read (requests ask for one). */
#include <string.h>
#include "internal.h"

static const json_t *reasoning_of(const json_t *m)
{
    const json_t *r = json_object_get(m, "reasoning_content");
    if (!json_is_string(r) || json_string_length(r) == 0)
        r = json_object_get(m, "reasoning");
    return json_is_string(r) && json_string_length(r) > 0 ? r : NULL;
}

json_t *tr_tool_input(const json_t *args)
{
    if (!json_is_string(args) || json_string_length(args) == 0)
        return json_object();
    json_t *in = tr_parse_object(json_string_value(args), json_string_length(args));
    return in ? in : json_pack("{s:O}", "_arguments", args);
}

/* Text of message content: a string, or an array of text parts. */
static void content_text(const json_t *c, buf_t *out)
{
    size_t i;
    json_t *p;
    if (json_is_string(c)) {
        buf_append(out, json_string_value(c), json_string_length(c));
        return;
    }
    json_array_foreach(c, i, p) {
        const json_t *s = json_object_get(p, "text");
        if (json_is_string(s))
            buf_append(out, json_string_value(s), json_string_length(s));
    }
}

json_t *tr_resp_oa2an(translate_t *t, const json_t *in)
{
    const json_t *ch = json_array_get(json_object_get(in, "choices"), 0);
    const json_t *m = json_object_get(ch, "message");
    if (!json_is_object(m))
        return NULL;
    const char *id = tr_str(in, "id");
    json_t *content = json_array();
    const json_t *r = reasoning_of(m);
    if (r)
        json_array_append_new(content, json_pack("{s:s, s:O, s:s}", "type", "thinking", "thinking", r,
                                                 "signature", ""));
    buf_t text;
    buf_init(&text, 0);
    content_text(json_object_get(m, "content"), &text);
    const json_t *refusal = json_object_get(m, "refusal");
    if (json_is_string(refusal))
        buf_append(&text, json_string_value(refusal), json_string_length(refusal));
    if (buf_len(&text))
        json_array_append_new(content, json_pack("{s:s, s:s%}", "type", "text", "text",
                                                 buf_ptr(&text), buf_len(&text)));
    buf_free(&text);
    size_t i;
    json_t *call;
    json_array_foreach(json_object_get(m, "tool_calls"), i, call) {
        const json_t *fn = json_object_get(call, "function");
        if (!json_is_string(json_object_get(fn, "name")))
            continue;
        json_array_append_new(content, json_pack("{s:s, s:o, s:O, s:o}", "type", "tool_use", "id",
                                                 tr_anthropic_tool_id(json_object_get(call, "id"), id, (int)i),
                                                 "name", json_object_get(fn, "name"),
                                                 "input", tr_tool_input(json_object_get(fn, "arguments"))));
    }
    const char *finish = tr_str(ch, "finish_reason");
    const char *stop = tr_stop_of_finish(finish);
    const json_t *seq = json_object_get(ch, "stop_reason"); /* vLLM: the matched stop string */
    if (json_is_string(refusal) && json_string_length(refusal) > 0)
        stop = "refusal";
    else if (finish && !strcmp(finish, "stop") && json_is_string(seq))
        stop = "stop_sequence";
    else
        seq = NULL;
    int64_t prompt = -1, completion = -1, cached = -1;
    tr_usage_from_openai(json_object_get(in, "usage"), &prompt, &completion, &cached);
    const json_t *model = json_object_get(in, "model");
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:s, s:O, s:o}",
                     "id", id ? id : "", "type", "message", "role", "assistant",
                     "model", json_is_string(model) ? json_incref((json_t *)model) : json_string(t->upstream_model),
                     "content", content, "stop_reason", stop, "stop_sequence", seq ? seq : json_null(),
                     "usage", tr_usage_anthropic(prompt, completion, cached));
}
