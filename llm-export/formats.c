/* formats.c — rows of the dataset formats, from a conversation (convo.c)
 * or an exchanges row (row.c):
 *   openai-sft  {"messages": [..., assistant], "tools"?, "parallel_tool_calls"?}
 *               (OpenAI chat fine-tuning)
 *   sharegpt    {"conversations": [{"from", "value"}], "tools"?}: from is
 *               system, human, gpt, function_call (value: JSON of name and
 *               arguments) or observation (a tool's result); tools is the
 *               JSON text of the function definitions
 *   dpo         {"input": {messages, tools?, parallel_tool_calls?},
 *                "preferred_output": [assistant], "non_preferred_output": [assistant]}
 *               (OpenAI preference fine-tuning)
 *   csv         id,time,model,user,status,outcome,input_tokens,
 *               output_tokens,ttft_ms,total_ms (RFC 4180, header first) */
#include "export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

json_t *fmt_sft(const convo_t *c)
{
    json_t *row = json_deep_copy(c->input);
    if (!row)
        return NULL;
    json_array_append(json_object_get(row, "messages"), c->answer);
    return row;
}

/* The text of a content value: a string, or its parts (text as is, other
 * parts as <image>, <audio>, <file>), joined by newlines. */
static json_t *text_of(const json_t *content)
{
    if (json_is_string(content))
        return json_incref((json_t *)content);
    buf_t b;
    buf_init(&b, 0);
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        const json_t *t = json_object_get(p, "text");
        if (i)
            buf_append(&b, "\n", 1);
        if (json_is_string(t))
            buf_append(&b, json_string_value(t), json_string_length(t));
        else if (type && !strcmp(type, "image_url"))
            buf_append_str(&b, "<image>");
        else if (type && !strcmp(type, "input_audio"))
            buf_append_str(&b, "<audio>");
        else
            buf_append_str(&b, "<file>");
    }
    json_t *s = json_stringn(buf_ptr(&b), buf_len(&b));
    buf_free(&b);
    return s;
}

static void turn(json_t *conv, const char *from, json_t *value)
{
    if (value)
        json_array_append_new(conv, json_pack("{s:s, s:o}", "from", from, "value", value));
}

json_t *fmt_sharegpt(const convo_t *c)
{
    json_t *conv = json_array();
    json_t *msgs = json_copy(json_object_get(c->input, "messages"));
    json_array_append(msgs, c->answer);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        const json_t *content = json_object_get(m, "content");
        if (!role)
            continue;
        if (!strcmp(role, "system"))
            turn(conv, "system", text_of(content));
        else if (!strcmp(role, "user"))
            turn(conv, "human", text_of(content));
        else if (!strcmp(role, "tool"))
            turn(conv, "observation", text_of(content));
        else if (!strcmp(role, "assistant")) {
            json_t *t = text_of(content);
            if (t && json_string_length(t))
                turn(conv, "gpt", t);
            else
                json_decref(t);
            size_t k;
            json_t *tc;
            json_array_foreach(json_object_get(m, "tool_calls"), k, tc) {
                const json_t *f = json_object_get(tc, "function");
                const json_t *args = json_object_get(f, "arguments");
                json_t *parsed = json_is_string(args)
                    ? json_loadb(json_string_value(args), json_string_length(args), JSON_DECODE_ANY, NULL) : NULL;
                json_t *call = json_pack("{s:O?, s:o}", "name", json_object_get(f, "name"), "arguments",
                                         parsed ? parsed : args ? json_incref((json_t *)args) : json_null());
                char *s = json_dumps(call, JSON_COMPACT);
                json_decref(call);
                if (s)
                    turn(conv, "function_call", json_string(s));
                free(s);
            }
        }
    }
    json_decref(msgs);
    json_t *row = json_pack("{s:o}", "conversations", conv);
    const json_t *tools = json_object_get(c->input, "tools");
    if (json_array_size(tools)) {
        json_t *defs = json_array();
        json_t *t;
        json_array_foreach(tools, i, t) {
            const json_t *f = json_object_get(t, "function");
            json_array_append(defs, f ? (json_t *)f : t);
        }
        char *s = json_dumps(defs, JSON_COMPACT);
        json_decref(defs);
        if (s)
            json_object_set_new(row, "tools", json_string(s));
        free(s);
    }
    return row;
}

json_t *fmt_dpo(const json_t *input, const json_t *preferred, const json_t *rejected)
{
    return json_pack("{s:O, s:[O], s:[O]}", "input", input, "preferred_output", preferred,
                     "non_preferred_output", rejected);
}

int fmt_csv_header(buf_t *out)
{
    return buf_append_str(out, "id,time,model,user,status,outcome,input_tokens,output_tokens,ttft_ms,total_ms\r\n");
}

static int field(buf_t *out, const char *s, size_t n, int last)
{
    int rc = 0;
    if (s && strpbrk(s, ",\"\r\n")) {
        rc |= buf_append(out, "\"", 1);
        for (size_t i = 0; i < n; i++)
            rc |= s[i] == '"' ? buf_append(out, "\"\"", 2) : buf_append(out, s + i, 1);
        rc |= buf_append(out, "\"", 1);
    } else if (s)
        rc |= buf_append(out, s, n);
    rc |= buf_append_str(out, last ? "\r\n" : ",");
    return rc ? -1 : 0;
}

static int sfield(buf_t *out, const json_t *v, int last)
{
    char num[32];
    if (json_is_string(v))
        return field(out, json_string_value(v), json_string_length(v), last);
    if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return field(out, num, strlen(num), last);
    }
    return field(out, NULL, 0, last);
}

/* microseconds as milliseconds with three decimals */
static int msfield(buf_t *out, const json_t *v, int last)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return field(out, NULL, 0, last);
    json_int_t us = json_integer_value(v);
    char num[40];
    snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT ".%03d", us / 1000, (int)(us % 1000));
    return field(out, num, strlen(num), last);
}

int fmt_csv_row(const json_t *row, buf_t *out)
{
    const json_t *u = json_object_get(row, "usage"), *t = json_object_get(row, "timing");
    int rc = 0;
    rc |= sfield(out, json_object_get(row, "id"), 0);
    rc |= sfield(out, json_object_get(row, "time"), 0);
    rc |= sfield(out, json_object_get(row, "model"), 0);
    rc |= sfield(out, json_object_get(row, "user"), 0);
    rc |= sfield(out, json_object_get(row, "status"), 0);
    rc |= sfield(out, json_object_get(row, "outcome"), 0);
    rc |= sfield(out, json_object_get(u, "input_tokens"), 0);
    rc |= sfield(out, json_object_get(u, "output_tokens"), 0);
    rc |= msfield(out, json_object_get(t, "ttft_us"), 0);
    rc |= msfield(out, json_object_get(t, "total_us"), 1);
    return rc ? -1 : 0;
}
