/* req_an2oa.c — an Anthropic /v1/messages request body → an OpenAI
 * /v1/chat/completions one. Which fields are mapped, ignored as harmless
 * or rejected: see translate.h. A user turn holding tool results becomes
 * the "tool" messages first (OpenAI wants them right after the assistant's
 * tool_calls), then a user message with the rest; images inside tool
 * results go into that user message, since OpenAI tool messages carry
 * text only. Tool result text blocks are joined with "\n" into one string,
 * the form every OpenAI-compatible server takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

typedef struct {
    translate_t *t;
    translate_error_t *e;
    json_t *out;          /* OpenAI messages */
    char path[96];
} ctx_t;

static int fail(ctx_t *c, const char *sub, const char *why)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s", c->path, sub);
    return tr_fail(c->t, c->e, 400, p, "%s: %s", p, why);
}

static int block_keys(ctx_t *c, const json_t *b, const char *const *ok, const char *sub)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s", c->path, sub);
    return tr_check_keys(c->t, b, ok, p, c->e);
}

/* The type of content block b, or NULL (e filled) when it has none. */
static const char *block_type(ctx_t *c, const json_t *b, const char *sub)
{
    const char *type = tr_str(b, "type");
    if (!json_is_object(b) || !type)
        fail(c, sub, "a content block must be an object with a type");
    return type;
}

static json_t *text_part(const json_t *text)
{
    return json_pack("{s:s, s:O}", "type", "text", "text", text);
}

static json_t *image_part(ctx_t *c, const json_t *b, const char *sub)
{
    static const char *const ok[] = { "type", "source", "cache_control", NULL };
    if (block_keys(c, b, ok, sub))
        return NULL;
    const json_t *src = json_object_get(b, "source");
    const char *st = tr_str(src, "type");
    if (st && !strcmp(st, "base64") && tr_str(src, "media_type") && tr_str(src, "data")) {
        const json_t *d = json_object_get(src, "data");
        buf_t u;
        buf_init(&u, 0);
        json_t *r = NULL;
        if (!buf_append_str(&u, "data:") && !buf_append_str(&u, tr_str(src, "media_type")) &&
            !buf_append_str(&u, ";base64,") && !buf_append(&u, json_string_value(d), json_string_length(d)))
            r = json_pack("{s:s, s:{s:s%}}", "type", "image_url", "image_url", "url", buf_ptr(&u), buf_len(&u));
        buf_free(&u);
        return r;
    }
    if (st && !strcmp(st, "url") && tr_str(src, "url"))
        return json_pack("{s:s, s:{s:O}}", "type", "image_url", "image_url", "url", json_object_get(src, "url"));
    char sub2[112];
    snprintf(sub2, sizeof sub2, "%s.source", sub);
    fail(c, sub2, "only base64 and url image sources can be translated");
    return NULL;
}

static json_t *document_part(ctx_t *c, const json_t *b, const char *sub)
{
    static const char *const ok[] = { "type", "source", "title", "cache_control", NULL };
    if (block_keys(c, b, ok, sub))
        return NULL;
    const json_t *src = json_object_get(b, "source");
    const char *st = tr_str(src, "type"), *mt = tr_str(src, "media_type");
    const json_t *d = json_object_get(src, "data");
    if (st && mt && json_is_string(d) && !strcmp(st, "text") && !strcmp(mt, "text/plain"))
        return text_part(d);
    if (st && mt && json_is_string(d) && !strcmp(st, "base64") && !strcmp(mt, "application/pdf")) {
        buf_t u;
        buf_init(&u, 0);
        json_t *r = NULL;
        const char *title = tr_str(b, "title");
        if (!buf_append_str(&u, "data:application/pdf;base64,") &&
            !buf_append(&u, json_string_value(d), json_string_length(d)))
            r = json_pack("{s:s, s:{s:s, s:s%}}", "type", "file", "file", "filename",
                          title ? title : "document.pdf", "file_data", buf_ptr(&u), buf_len(&u));
        buf_free(&u);
        return r;
    }
    fail(c, sub, "only base64 PDF and plain-text documents can be translated");
    return NULL;
}

/* A text block: 1 with *text set, 0 for an empty one, -1 on error. */
static int text_block(ctx_t *c, const json_t *b, const char *sub, const json_t **text)
{
    static const char *const ok[] = { "type", "text", "cache_control", "citations", NULL };
    if (block_keys(c, b, ok, sub))
        return -1;
    if (!tr_absent(b, "citations")) {
        char sub2[112];
        snprintf(sub2, sizeof sub2, "%s.citations", sub);
        return fail(c, sub2, "citations cannot be translated");
    }
    *text = json_object_get(b, "text");
    if (!json_is_string(*text))
        return fail(c, sub, "text must be a string");
    return json_string_length(*text) > 0;
}

/* tool_result → a "tool" message; images in it go to extra. */
static int tool_result(ctx_t *c, const json_t *b, const char *sub, json_t *tools, json_t *extra)
{
    static const char *const ok[] = { "type", "tool_use_id", "content", "is_error", "cache_control", NULL };
    if (block_keys(c, b, ok, sub))
        return -1;
    const json_t *id = json_object_get(b, "tool_use_id");
    if (!json_is_string(id))
        return fail(c, sub, "tool_use_id must be a string");
    buf_t s;
    buf_init(&s, 0);
    if (json_is_true(json_object_get(b, "is_error")))
        buf_append_str(&s, "Error: ");
    const json_t *v = json_object_get(b, "content");
    if (json_is_string(v)) {
        buf_append(&s, json_string_value(v), json_string_length(v));
    } else if (json_is_array(v)) {
        size_t k, ntext = 0;
        json_t *x;
        json_array_foreach(v, k, x) {
            char sub2[96];
            snprintf(sub2, sizeof sub2, "%s.content[%zu]", sub, k);
            const char *type = tr_str(x, "type");
            const json_t *text;
            int rc;
            if (type && !strcmp(type, "text")) {
                if ((rc = text_block(c, x, sub2, &text)) < 0)
                    goto bad;
                if (rc) {
                    if (ntext++)
                        buf_append_str(&s, "\n");
                    buf_append(&s, json_string_value(text), json_string_length(text));
                }
            } else if (type && !strcmp(type, "image")) {
                json_t *p = image_part(c, x, sub2);
                if (!p)
                    goto bad;
                json_array_append_new(extra, p);
            } else {
                fail(c, sub2, "only text and images can be translated in a tool result");
                goto bad;
            }
        }
    } else if (!tr_absent(b, "content")) {
        fail(c, sub, "content must be a string or an array");
        goto bad;
    }
    json_array_append_new(tools, json_pack("{s:s, s:O, s:s%}", "role", "tool", "tool_call_id", id,
                                           "content", buf_ptr(&s), buf_len(&s)));
    buf_free(&s);
    return 0;
bad:
    buf_free(&s);
    return -1;
}

static int user_msg(ctx_t *c, const json_t *content, const char *role)
{
    json_t *parts = json_array(), *tools = json_array(), *extra = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        char sub[48];
        snprintf(sub, sizeof sub, ".content[%zu]", i);
        const char *type = block_type(c, b, sub);
        const json_t *text;
        json_t *p = NULL;
        int rc;
        if (!type)
            goto bad;
        if (!strcmp(type, "text")) {
            if ((rc = text_block(c, b, sub, &text)) < 0)
                goto bad;
            if (rc)
                p = text_part(text);
            else
                continue;
        } else if (!strcmp(type, "image")) {
            p = image_part(c, b, sub);
        } else if (!strcmp(type, "document")) {
            p = document_part(c, b, sub);
        } else if (!strcmp(type, "tool_result") && !strcmp(role, "user")) {
            if (tool_result(c, b, sub, tools, extra))
                goto bad;
            continue;
        } else {
            char why[96];
            snprintf(why, sizeof why, "content block type '%.40s' cannot be translated", type);
            fail(c, sub, why);
            goto bad;
        }
        if (!p)
            goto bad;
        json_array_append_new(parts, p);
    }
    json_array_extend(c->out, tools);
    json_array_extend(extra, parts);
    if (json_array_size(extra) == 1 && !strcmp(tr_str(json_array_get(extra, 0), "type"), "text"))
        json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", role, "content",
                                                json_object_get(json_array_get(extra, 0), "text")));
    else if (json_array_size(extra) > 0 || json_array_size(tools) == 0)
        json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", role, "content", extra));
    json_decref(parts);
    json_decref(tools);
    json_decref(extra);
    return 0;
bad:
    json_decref(parts);
    json_decref(tools);
    json_decref(extra);
    return -1;
}

static int assistant_msg(ctx_t *c, const json_t *content)
{
    buf_t s;
    buf_init(&s, 0);
    json_t *calls = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        char sub[48];
        snprintf(sub, sizeof sub, ".content[%zu]", i);
        const char *type = block_type(c, b, sub);
        const json_t *text;
        int rc;
        if (!type)
            goto bad;
        if (!strcmp(type, "text")) {
            if ((rc = text_block(c, b, sub, &text)) < 0)
                goto bad;
            if (rc)
                buf_append(&s, json_string_value(text), json_string_length(text));
        } else if (!strcmp(type, "tool_use")) {
            static const char *const ok[] = { "type", "id", "name", "input", "cache_control", NULL };
            if (block_keys(c, b, ok, sub))
                goto bad;
            const json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
            const json_t *input = json_object_get(b, "input");
            if (!json_is_string(id) || !json_is_string(name) || !json_is_object(input)) {
                fail(c, sub, "tool_use needs a string id and name and an object input");
                goto bad;
            }
            char *args = json_dumps(input, TR_DUMP);
            if (!args)
                goto bad;
            json_array_append_new(calls, json_pack("{s:O, s:s, s:{s:O, s:s}}", "id", id, "type",
                                                   "function", "function", "name", name,
                                                   "arguments", args));
            free(args);
        } else if (!strcmp(type, "thinking") || !strcmp(type, "redacted_thinking")) {
            continue; /* signed for Anthropic only: an OpenAI upstream cannot use it */
        } else {
            char why[96];
            snprintf(why, sizeof why, "content block type '%.40s' cannot be translated", type);
            fail(c, sub, why);
            goto bad;
        }
    }
    json_t *m = json_pack("{s:s}", "role", "assistant");
    if (buf_len(&s) || json_array_size(calls) == 0)
        json_object_set_new(m, "content", json_stringn(buf_ptr(&s), buf_len(&s)));
    else
        json_object_set_new(m, "content", json_null());
    if (json_array_size(calls))
        json_object_set(m, "tool_calls", calls);
    json_array_append_new(c->out, m);
    buf_free(&s);
    json_decref(calls);
    return 0;
bad:
    buf_free(&s);
    json_decref(calls);
    return -1;
}

static int system_prompt(ctx_t *c, const json_t *in)
{
    const json_t *v = json_object_get(in, "system");
    if (!v || json_is_null(v))
        return 0;
    snprintf(c->path, sizeof c->path, "system");
    if (json_is_string(v))
        return json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", "system", "content", v));
    if (!json_is_array(v))
        return fail(c, "", "must be a string or an array of text blocks");
    json_t *parts = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b) {
        char sub[48];
        const json_t *text;
        int rc;
        snprintf(sub, sizeof sub, "[%zu]", i);
        const char *type = tr_str(b, "type");
        if (!type || strcmp(type, "text")) {
            json_decref(parts);
            return fail(c, sub, "system blocks must be text");
        }
        if ((rc = text_block(c, b, sub, &text)) < 0) {
            json_decref(parts);
            return -1;
        }
        if (rc)
            json_array_append_new(parts, text_part(text));
    }
    int rc = 0;
    if (json_array_size(parts) == 1)
        rc = json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", "system", "content",
                                                     json_object_get(json_array_get(parts, 0), "text")));
    else if (json_array_size(parts) > 1)
        rc = json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", "system", "content", parts));
    json_decref(parts);
    return rc;
}

static int messages(ctx_t *c, const json_t *in)
{
    const json_t *ms = json_object_get(in, "messages");
    if (!json_is_array(ms))
        return tr_fail(c->t, c->e, 400, "messages", "messages: an array is required");
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        static const char *const ok[] = { "role", "content", NULL };
        snprintf(c->path, sizeof c->path, "messages[%zu]", i);
        const char *role = tr_str(m, "role");
        const json_t *content = json_object_get(m, "content");
        int rc;
        if (!json_is_object(m) || !role)
            return fail(c, ".role", "each message needs a role");
        if (tr_check_keys(c->t, m, ok, c->path, c->e))
            return -1;
        if (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system"))
            return fail(c, ".role", "must be user, assistant or system");
        if (json_is_string(content))
            rc = json_array_append_new(c->out, json_pack("{s:s, s:O}", "role", role, "content", content));
        else if (!json_is_array(content))
            rc = fail(c, ".content", "must be a string or an array of blocks");
        else if (!strcmp(role, "assistant"))
            rc = assistant_msg(c, content);
        else
            rc = user_msg(c, content, role);
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- top-level fields ---- */

static const char *effort_of_budget(const translate_t *t, long long b)
{
    static const long long def[4] = { 1024, 2048, 8192, 16384 };
    long long low = t->o.effort_budget[1] > 0 ? t->o.effort_budget[1] : def[1];
    long long med = t->o.effort_budget[2] > 0 ? t->o.effort_budget[2] : def[2];
    return b <= low ? "low" : b <= med ? "medium" : "high";
}

static int reasoning(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *th = json_object_get(in, "thinking");
    const char *effort = NULL;
    if (th && !json_is_null(th)) {
        const char *type = tr_str(th, "type");
        if (!type)
            return tr_fail(t, e, 400, "thinking", "thinking: a type is required");
        if (!strcmp(type, "enabled")) {
            const json_t *b = json_object_get(th, "budget_tokens");
            if (!json_is_integer(b))
                return tr_fail(t, e, 400, "thinking.budget_tokens", "thinking.budget_tokens: must be an integer");
            effort = effort_of_budget(t, (long long)json_integer_value(b));
        } else if (strcmp(type, "disabled") && strcmp(type, "adaptive")) {
            return tr_fail(t, e, 400, "thinking.type", "thinking.type: '%.40s' cannot be translated", type);
        }
    }
    const json_t *oc = json_object_get(in, "output_config");
    if (oc && !json_is_null(oc)) {
        static const char *const ok[] = { "effort", "format", NULL };
        if (tr_check_keys(t, oc, ok, "output_config", e))
            return -1;
        const json_t *ef = json_object_get(oc, "effort");
        if (ef && !json_is_null(ef)) {
            const char *s = json_string_value(ef);
            if (!s || (strcmp(s, "low") && strcmp(s, "medium") && strcmp(s, "high")))
                return tr_fail(t, e, 400, "output_config.effort",
                               "output_config.effort: only low, medium or high can be translated");
            effort = s;
        }
        const json_t *f = json_object_get(oc, "format");
        if (f && !json_is_null(f)) {
            const json_t *schema = json_object_get(f, "schema");
            const char *ft = tr_str(f, "type");
            if (!ft || strcmp(ft, "json_schema") || !json_is_object(schema))
                return tr_fail(t, e, 400, "output_config.format",
                               "output_config.format: only json_schema with a schema can be translated");
            json_object_set_new(r, "response_format",
                                json_pack("{s:s, s:{s:s, s:O, s:b}}", "type", "json_schema", "json_schema",
                                          "name", "output", "schema", schema, "strict", 1));
        }
    }
    if (effort)
        json_object_set_new(r, "reasoning_effort", json_string(effort));
    return 0;
}

static int tools(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *v;
    int rc = tr_array(t, in, "tools", &v, e);
    if (rc <= 0)
        return rc;
    json_t *out = json_array();
    size_t i;
    json_t *tool;
    json_array_foreach(v, i, tool) {
        static const char *const ok[] = { "type", "name", "description", "input_schema",
                                          "cache_control", "strict", NULL };
        char p[96];
        snprintf(p, sizeof p, "tools[%zu]", i);
        const char *type = tr_str(tool, "type");
        if (!json_is_object(tool) || (type && strcmp(type, "custom")) ||
            (!tr_absent(tool, "type") && !type)) {
            json_decref(out);
            return tr_fail(t, e, 400, p, "%s: tool type '%.40s' (a server tool) cannot be translated",
                           p, type ? type : "?");
        }
        if (tr_check_keys(t, tool, ok, p, e)) {
            json_decref(out);
            return -1;
        }
        if (!json_is_string(json_object_get(tool, "name")) || !json_is_object(json_object_get(tool, "input_schema"))) {
            json_decref(out);
            return tr_fail(t, e, 400, p, "%s: a name and an input_schema object are required", p);
        }
        json_t *fn = json_pack("{s:O}", "name", json_object_get(tool, "name"));
        if (!tr_absent(tool, "description"))
            json_object_set(fn, "description", json_object_get(tool, "description"));
        json_object_set(fn, "parameters", json_object_get(tool, "input_schema"));
        if (!tr_absent(tool, "strict"))
            json_object_set(fn, "strict", json_object_get(tool, "strict"));
        json_array_append_new(out, json_pack("{s:s, s:o}", "type", "function", "function", fn));
    }
    return json_object_set_new(r, "tools", out);
}

static int tool_choice(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *v = json_object_get(in, "tool_choice");
    if (!v || json_is_null(v))
        return 0;
    static const char *const ok[] = { "type", "name", "disable_parallel_tool_use", NULL };
    if (tr_check_keys(t, v, ok, "tool_choice", e))
        return -1;
    const char *type = tr_str(v, "type");
    json_t *tc;
    if (type && !strcmp(type, "auto"))
        tc = json_string("auto");
    else if (type && !strcmp(type, "any"))
        tc = json_string("required");
    else if (type && !strcmp(type, "none"))
        tc = json_string("none");
    else if (type && !strcmp(type, "tool") && tr_str(v, "name"))
        tc = json_pack("{s:s, s:{s:O}}", "type", "function", "function", "name", json_object_get(v, "name"));
    else
        return tr_fail(t, e, 400, "tool_choice", "tool_choice: must be auto, any, none or a named tool");
    json_object_set_new(r, "tool_choice", tc);
    if (json_is_true(json_object_get(v, "disable_parallel_tool_use")))
        json_object_set_new(r, "parallel_tool_calls", json_false());
    return 0;
}

static int copy_if(json_t *r, const char *to, const json_t *in, const char *from)
{
    const json_t *v = json_object_get(in, from);
    return v && !json_is_null(v) ? json_object_set(r, to, (json_t *)v) : 0;
}

static int checks(translate_t *t, const json_t *in, translate_error_t *e)
{
    static const char *const known[] = { "model", "messages", "max_tokens", "system",
        "stop_sequences", "stream", "temperature", "top_p", "top_k", "metadata", "tools",
        "tool_choice", "thinking", "output_config", "service_tier", "cache_control", "speed", NULL };
    if (tr_check_keys(t, in, known, "", e))
        return -1;
    const json_t *md = json_object_get(in, "metadata");
    static const char *const mok[] = { "user_id", NULL };
    if (md && !json_is_null(md) && (!json_is_object(md) || tr_check_keys(t, md, mok, "metadata", e)))
        return e->status ? -1 : tr_fail(t, e, 400, "metadata", "metadata: must be an object");
    const json_t *sp = json_object_get(in, "speed");
    if (sp && !json_is_null(sp) && !(json_is_string(sp) && !strcmp(json_string_value(sp), "standard")))
        return tr_fail(t, e, 400, "speed", "speed: only standard can be translated");
    const json_t *mt = json_object_get(in, "max_tokens");
    if (mt && !json_is_integer(mt))
        return tr_fail(t, e, 400, "max_tokens", "max_tokens: must be an integer");
    const json_t *ss = json_object_get(in, "stop_sequences");
    size_t i;
    json_t *s;
    if (ss && !json_is_null(ss)) {
        if (!json_is_array(ss))
            return tr_fail(t, e, 400, "stop_sequences", "stop_sequences: must be an array of strings");
        json_array_foreach(ss, i, s)
            if (!json_is_string(s))
                return tr_fail(t, e, 400, "stop_sequences", "stop_sequences: must be an array of strings");
    }
    return 0;
}

json_t *tr_req_an2oa(translate_t *t, const json_t *in, translate_error_t *e)
{
    if (checks(t, in, e))
        return NULL;
    ctx_t c = { .t = t, .e = e, .out = json_array() };
    json_t *r = json_object();
    if (!c.out || !r)
        goto bad;
    json_object_set_new(r, "model", json_string(t->upstream_model));
    if (system_prompt(&c, in) || messages(&c, in))
        goto bad;
    json_object_set(r, "messages", c.out);
    copy_if(r, t->o.max_completion_tokens ? "max_completion_tokens" : "max_tokens", in, "max_tokens");
    if (json_array_size(json_object_get(in, "stop_sequences")))
        copy_if(r, "stop", in, "stop_sequences");
    if (t->stream) {
        json_object_set_new(r, "stream", json_true());
        json_object_set_new(r, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    copy_if(r, "temperature", in, "temperature");
    copy_if(r, "top_p", in, "top_p");
    copy_if(r, "top_k", in, "top_k");
    const json_t *uid = json_object_get(json_object_get(in, "metadata"), "user_id");
    if (json_is_string(uid))
        json_object_set(r, "user", (json_t *)uid);
    if (tools(t, in, r, e) || tool_choice(t, in, r, e) || reasoning(t, in, r, e))
        goto bad;
    json_decref(c.out);
    return r;
bad:
    if (e && !e->status)
        tr_fail(t, e, 500, NULL, "out of memory");
    json_decref(c.out);
    json_decref(r);
    return NULL;
}
