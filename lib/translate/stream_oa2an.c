/* stream_oa2an.c — OpenAI chat.completion.chunk events → Anthropic stream
 * events, one upstream event at a time.
 *   first chunk              → message_start (input_tokens 0: OpenAI gives
 *                              usage only at the end)
 *   delta.reasoning_content
 *     | delta.reasoning      → a thinking block (empty signature):
 *                              content_block_start, thinking_delta
 *   delta.content, .refusal  → a text block: content_block_start,
 *                              text_delta
 *   delta.tool_calls[]       → per tool call index a tool_use block:
 *                              content_block_start {id, name, input: {}},
 *                              then input_json_delta of the arguments
 *   finish_reason            → content_block_stop of the open block; the
 *                              stop_reason is kept for message_delta
 *   usage (any chunk)        → kept (cumulative)
 *   data: [DONE]             → message_delta {stop_reason, stop_sequence,
 *                              usage: input, cache read, output}, then
 *                              message_stop
 *   {"error": ...}           → event: error, and nothing after it
 * A new kind of content closes the open block (content_block_stop) and
 * opens the next index. A late argument piece for an earlier tool call is
 * sent to that call's block index (the SDKs accumulate by index). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int ev(buf_t *out, const char *name, json_t *j)
{
    return tr_sse(out, name, j);
}

static int start(translate_t *t, const json_t *c, buf_t *out)
{
    if (t->started)
        return 0;
    const char *id = tr_str(c, "id"), *model = tr_str(c, "model");
    if (!t->id)
        t->id = strdup(id ? id : "msg_relay");
    if (!t->model)
        t->model = strdup(model ? model : t->upstream_model ? t->upstream_model : "");
    if (!t->id || !t->model)
        return -1;
    json_t *m = json_pack("{s:s, s:{s:s, s:s, s:s, s:s, s:[], s:n, s:n, s:o}}", "type", "message_start",
                          "message", "id", t->id, "type", "message", "role", "assistant",
                          "model", t->model, "content", "stop_reason", "stop_sequence",
                          "usage", tr_usage_anthropic(0, 0, 0));
    if (ev(out, "message_start", m))
        return -1;
    t->started = 1;
    return 0;
}

static int close_block(translate_t *t, buf_t *out)
{
    tr_oa2an_t *b = &t->b;
    if (!b->open)
        return 0;
    if (ev(out, "content_block_stop", json_pack("{s:s, s:i}", "type", "content_block_stop", "index", b->index)))
        return -1;
    b->open = 0;
    b->kind = TR_BLOCK_NONE;
    b->open_tool = -1;
    return 0;
}

/* Make the open block a text or thinking block. */
static int ensure(translate_t *t, int kind, buf_t *out)
{
    tr_oa2an_t *b = &t->b;
    if (b->open && b->kind == kind)
        return 0;
    if (close_block(t, out))
        return -1;
    json_t *cb = kind == TR_BLOCK_TEXT ? json_pack("{s:s, s:s}", "type", "text", "text", "")
               : json_pack("{s:s, s:s, s:s}", "type", "thinking", "thinking", "", "signature", "");
    if (ev(out, "content_block_start", json_pack("{s:s, s:i, s:o}", "type", "content_block_start",
                                                 "index", b->next, "content_block", cb)))
        return -1;
    b->open = 1;
    b->kind = kind;
    b->index = b->next++;
    return 0;
}

static int delta(buf_t *out, int index, json_t *d)
{
    return ev(out, "content_block_delta", json_pack("{s:s, s:i, s:o}", "type", "content_block_delta",
                                                    "index", index, "delta", d));
}

static int tool_call(translate_t *t, const json_t *tc, size_t pos, buf_t *out)
{
    tr_oa2an_t *b = &t->b;
    int ok;
    int64_t i = tr_int(json_object_get(tc, "index"), &ok);
    if (!ok)
        i = (int64_t)pos;
    if (i < 0 || i >= TR_MAX_TOOLS)
        return 1;
    if (i >= b->ntool_block) {
        int n = (int)i + 8 < TR_MAX_TOOLS ? (int)i + 8 : TR_MAX_TOOLS;
        int *p = realloc(b->tool_block, (size_t)n * sizeof *p);
        if (!p)
            return -1;
        for (int k = b->ntool_block; k < n; k++)
            p[k] = -1;
        b->tool_block = p;
        b->ntool_block = n;
    }
    const json_t *fn = json_object_get(tc, "function");
    if (b->tool_block[i] < 0) {
        if (close_block(t, out))
            return -1;
        const json_t *name = json_object_get(fn, "name");
        json_t *cb = json_pack("{s:s, s:o, s:o, s:{}}", "type", "tool_use",
                               "id", tr_anthropic_tool_id(json_object_get(tc, "id"), t->id, (int)i),
                               "name", json_is_string(name) ? json_incref((json_t *)name) : json_string(""),
                               "input");
        if (ev(out, "content_block_start", json_pack("{s:s, s:i, s:o}", "type", "content_block_start",
                                                     "index", b->next, "content_block", cb)))
            return -1;
        b->open = 1;
        b->kind = TR_BLOCK_TOOL;
        b->index = b->next++;
        b->open_tool = (int)i;
        b->tool_block[i] = b->index;
    }
    const json_t *args = json_object_get(fn, "arguments");
    if (json_is_string(args) && json_string_length(args) > 0)
        return delta(out, b->tool_block[i], json_pack("{s:s, s:O}", "type", "input_json_delta",
                                                      "partial_json", args));
    return 0;
}

static const json_t *reasoning_of(const json_t *d)
{
    const json_t *r = json_object_get(d, "reasoning_content");
    if (!json_is_string(r) || json_string_length(r) == 0)
        r = json_object_get(d, "reasoning");
    return json_is_string(r) && json_string_length(r) > 0 ? r : NULL;
}

static int text(translate_t *t, const json_t *s, buf_t *out)
{
    if (!json_is_string(s) || json_string_length(s) == 0)
        return 0;
    if (ensure(t, TR_BLOCK_TEXT, out))
        return -1;
    return delta(out, t->b.index, json_pack("{s:s, s:O}", "type", "text_delta", "text", s));
}

static int choice(translate_t *t, const json_t *ch, buf_t *out)
{
    tr_oa2an_t *b = &t->b;
    const json_t *d = json_object_get(ch, "delta");
    const json_t *r = reasoning_of(d);
    if (r && (ensure(t, TR_BLOCK_THINKING, out) ||
              delta(out, b->index, json_pack("{s:s, s:O}", "type", "thinking_delta", "thinking", r))))
        return -1;
    if (text(t, json_object_get(d, "content"), out))
        return -1;
    const json_t *refusal = json_object_get(d, "refusal");
    if (json_is_string(refusal) && json_string_length(refusal) > 0) {
        if (text(t, refusal, out))
            return -1;
        snprintf(b->stop, sizeof b->stop, "refusal");
    }
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(d, "tool_calls"), i, tc)
        if (tool_call(t, tc, i, out) < 0)
            return -1;
    const char *fr = tr_str(ch, "finish_reason");
    if (fr) {
        if (close_block(t, out))
            return -1;
        b->finish_seen = 1;
        if (strcmp(b->stop, "refusal"))
            snprintf(b->stop, sizeof b->stop, "%s", tr_stop_of_finish(fr));
        const json_t *seq = json_object_get(ch, "stop_reason"); /* vLLM: the matched stop string */
        if (!strcmp(fr, "stop") && json_is_string(seq) && !b->stop_sequence) {
            b->stop_sequence = strdup(json_string_value(seq));
            snprintf(b->stop, sizeof b->stop, "stop_sequence");
        }
    }
    return 0;
}

/* message_delta (stop_reason may be JSON null) with the usage so far. */
static int message_delta(translate_t *t, const char *stop, buf_t *out)
{
    tr_oa2an_t *b = &t->b;
    json_t *u = tr_usage_anthropic(b->prompt, b->completion, b->cached);
    json_t *m = json_pack("{s:s, s:{s:o, s:o}, s:o}", "type", "message_delta", "delta",
                          "stop_reason", stop ? json_string(stop) : json_null(),
                          "stop_sequence", b->stop_sequence ? json_string(b->stop_sequence) : json_null(),
                          "usage", u);
    return ev(out, "message_delta", m);
}

static int finish(translate_t *t, buf_t *out)
{
    size_t len0 = out->len;
    if (start(t, NULL, out) || close_block(t, out) ||
        message_delta(t, t->b.stop[0] ? t->b.stop : "end_turn", out) ||
        ev(out, "message_stop", json_pack("{s:s}", "type", "message_stop")))
        return tr_rollback(out, len0);
    t->done = 1;
    return 0;
}

int tr_stream_oa2an(translate_t *t, const char *name, size_t nlen, const char *data, size_t dlen,
                    buf_t *out)
{
    (void)name;
    (void)nlen;
    if (dlen == 6 && !memcmp(data, "[DONE]", 6))
        return finish(t, out);
    json_t *c = tr_parse_object(data, dlen);
    if (!c)
        return 1;
    int rc = 0;
    size_t len0 = out->len;
    if (json_object_get(c, "error")) {
        rc = tr_stream_error(t, c, "the upstream reported an error", out);
        json_decref(c);
        return rc;
    }
    if (start(t, c, out)) {
        json_decref(c);
        return tr_rollback(out, len0);
    }
    const json_t *u = json_object_get(c, "usage");
    if (json_is_object(u)) {
        tr_usage_from_openai(u, &t->b.prompt, &t->b.completion, &t->b.cached);
        t->b.usage_seen = 1;
    }
    size_t i;
    json_t *ch;
    json_array_foreach(json_object_get(c, "choices"), i, ch) {
        int ok;
        int64_t idx = tr_int(json_object_get(ch, "index"), &ok);
        if (ok && idx != 0)
            continue; /* requests ask for one choice */
        if (choice(t, ch, out)) {
            rc = -1;
            break;
        }
    }
    json_decref(c);
    return rc;
}

int tr_finish_oa2an(translate_t *t, int ok, buf_t *out)
{
    if (ok && t->started)
        return finish(t, out);
    size_t len0 = out->len;
    if (t->started && (close_block(t, out) || message_delta(t, NULL, out)))
        return tr_rollback(out, len0);
    if (tr_stream_error(t, NULL, t->started ? "the upstream stream broke off before the message was complete"
                                            : "the upstream stream ended without a message", out))
        return tr_rollback(out, len0);
    return 0;
}
