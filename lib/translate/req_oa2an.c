/* req_oa2an.c — an OpenAI /v1/chat/completions request body → an
 * Anthropic /v1/messages one. Which fields are mapped, ignored as harmless
 * or rejected: see translate.h. Consecutive turns of the same role (tool
 * results, or a user message after them) are merged into one Anthropic
 * turn; system and developer messages are hoisted into system, in order. */
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

typedef struct {
    translate_t *t;
    translate_error_t *e;
    json_t *msgs;         /* Anthropic messages */
    json_t *sys;          /* system blocks */
    int sys_msgs;         /* system/developer messages seen */
    int sys_plain;        /* each was a plain string */
    char path[96];        /* "messages[i]" */
} ctx_t;

static int fail(ctx_t *c, const char *sub, const char *why)
{
    char p[256];
    snprintf(p, sizeof p, "%s%s", c->path, sub);
    return tr_fail(c->t, c->e, 400, p, "%s: %s", p, why);
}

/* ---- turns ---- */

static json_t *text_block(const char *s, size_t n)
{
    return json_pack("{s:s, s:s%}", "type", "text", "text", s, n);
}

/* Content of the last turn as an array (a string becomes a text block). */
static json_t *as_array(json_t *turn)
{
    json_t *c = json_object_get(turn, "content");
    if (json_is_array(c))
        return c;
    json_t *a = json_array();
    if (json_is_string(c) && json_string_length(c) > 0)
        json_array_append_new(a, text_block(json_string_value(c), json_string_length(c)));
    json_object_set_new(turn, "content", a);
    return a;
}

/* Add content (string or block array, stolen) as a turn of role, merged
 * into the previous turn when it has the same role. */
static int add_turn(ctx_t *c, const char *role, json_t *content)
{
    if (!content)
        return -1;
    size_t n = json_array_size(c->msgs);
    json_t *last = n ? json_array_get(c->msgs, n - 1) : NULL;
    if (last && !strcmp(tr_str(last, "role"), role)) {
        json_t *a = as_array(last);
        if (json_is_string(content)) {
            if (json_string_length(content) > 0)
                json_array_append_new(a, text_block(json_string_value(content),
                                                    json_string_length(content)));
        } else {
            json_array_extend(a, content);
        }
        json_decref(content);
        return 0;
    }
    return json_array_append_new(c->msgs, json_pack("{s:s, s:o}", "role", role, "content", content));
}

/* ---- content parts ---- */

static json_t *image_block(ctx_t *c, const json_t *iu, const char *sub)
{
    const json_t *urlj = json_is_object(iu) ? json_object_get(iu, "url") : iu;
    const char *url = json_string_value(urlj);
    if (!url) {
        fail(c, sub, "image_url.url must be a string");
        return NULL;
    }
    if (json_is_object(iu)) {
        static const char *const ok[] = { "url", "detail", NULL };
        char p[256];
        snprintf(p, sizeof p, "%s%s.image_url", c->path, sub);
        if (tr_check_keys(c->t, iu, ok, p, c->e))
            return NULL;
    }
    size_t len = json_string_length(urlj), dlen;
    char mt[96];
    const char *data;
    if (!tr_data_url(url, len, mt, sizeof mt, &data, &dlen))
        return json_pack("{s:s, s:{s:s, s:s, s:s%}}", "type", "image", "source", "type", "base64",
                         "media_type", mt, "data", data, dlen);
    if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))
        return json_pack("{s:s, s:{s:s, s:O}}", "type", "image", "source", "type", "url", "url", urlj);
    fail(c, sub, "image_url.url must be a data: URL (base64) or an http(s) URL");
    return NULL;
}

static json_t *file_block(ctx_t *c, const json_t *f, const char *sub)
{
    static const char *const ok[] = { "file_data", "filename", NULL };
    char p[256];
    snprintf(p, sizeof p, "%s%s.file", c->path, sub);
    if (!json_is_object(f)) {
        fail(c, sub, "file must be an object");
        return NULL;
    }
    if (tr_check_keys(c->t, f, ok, p, c->e))
        return NULL;
    const json_t *fd = json_object_get(f, "file_data");
    char mt[96];
    const char *data;
    size_t dlen;
    if (!json_is_string(fd) ||
        tr_data_url(json_string_value(fd), json_string_length(fd), mt, sizeof mt, &data, &dlen) ||
        strcmp(mt, "application/pdf")) {
        fail(c, sub, "file.file_data must be a data:application/pdf;base64 URL");
        return NULL;
    }
    return json_pack("{s:s, s:{s:s, s:s, s:s%}}", "type", "document", "source", "type", "base64",
                     "media_type", mt, "data", data, dlen);
}

/* One content part → a block, or json_null() for a part with nothing to
 * say (empty text); NULL on error. roles: 'u' user, 'a' assistant,
 * 's' system, 't' tool. */
static json_t *part_block(ctx_t *c, const json_t *part, size_t k, int role)
{
    char sub[48];
    snprintf(sub, sizeof sub, ".content[%zu]", k);
    const char *type = tr_str(part, "type");
    if (!json_is_object(part) || !type) {
        fail(c, sub, "a content part must be an object with a type");
        return NULL;
    }
    char p[256];
    snprintf(p, sizeof p, "%s%s", c->path, sub);
    json_t *b = NULL;
    if (!strcmp(type, "text") || (role == 'a' && !strcmp(type, "refusal"))) {
        const char *key = type[0] == 't' ? "text" : "refusal";
        const char *const ok[] = { "type", key, "cache_control", NULL };
        json_t *tx = json_object_get(part, key);
        if (tr_check_keys(c->t, part, ok, p, c->e))
            return NULL;
        if (!json_is_string(tx)) {
            fail(c, sub, "text must be a string");
            return NULL;
        }
        if (json_string_length(tx) == 0)
            return json_null();
        b = text_block(json_string_value(tx), json_string_length(tx));
    } else if (role == 'u' && !strcmp(type, "image_url")) {
        static const char *const ok[] = { "type", "image_url", "cache_control", NULL };
        if (tr_check_keys(c->t, part, ok, p, c->e))
            return NULL;
        b = image_block(c, json_object_get(part, "image_url"), sub);
    } else if (role == 'u' && !strcmp(type, "file")) {
        static const char *const ok[] = { "type", "file", "cache_control", NULL };
        if (tr_check_keys(c->t, part, ok, p, c->e))
            return NULL;
        b = file_block(c, json_object_get(part, "file"), sub);
    } else {
        char why[96];
        snprintf(why, sizeof why, "content part type '%.40s' cannot be translated", type);
        fail(c, sub, why);
        return NULL;
    }
    json_t *cc = json_object_get(part, "cache_control");
    if (b && cc && !json_is_null(cc))
        json_object_set(b, "cache_control", cc);
    return b;
}

/* content (string or parts) → a string (kept) or a block array. */
static json_t *content(ctx_t *c, const json_t *v, int role)
{
    if (json_is_string(v))
        return json_incref((json_t *)v);
    if (!json_is_array(v)) {
        fail(c, ".content", "must be a string or an array of parts");
        return NULL;
    }
    json_t *a = json_array();
    size_t k;
    json_t *part;
    json_array_foreach(v, k, part) {
        json_t *b = part_block(c, part, k, role);
        if (!b) {
            json_decref(a);
            return NULL;
        }
        if (json_is_null(b))
            json_decref(b);
        else
            json_array_append_new(a, b);
    }
    return a;
}

/* ---- messages by role ---- */

static int null_or_absent(const json_t *m, const char *key) { return tr_absent(m, key); }

/* The content of a system, developer or user message (role, content and a
 * null name only), or NULL on error. */
static json_t *plain_content(ctx_t *c, const json_t *m, int role)
{
    static const char *const ok[] = { "role", "content", "name", NULL };
    if (tr_check_keys(c->t, m, ok, c->path, c->e))
        return NULL;
    if (!null_or_absent(m, "name")) {
        fail(c, ".name", "message names cannot be translated");
        return NULL;
    }
    return content(c, json_object_get(m, "content"), role);
}

static int system_msg(ctx_t *c, const json_t *m)
{
    json_t *v = plain_content(c, m, 's');
    if (!v)
        return -1;
    c->sys_msgs++;
    if (json_is_string(v)) {
        if (json_string_length(v) > 0)
            json_array_append_new(c->sys, text_block(json_string_value(v), json_string_length(v)));
    } else {
        c->sys_plain = 0;
        json_array_extend(c->sys, v);
    }
    json_decref(v);
    return 0;
}

static int user_msg(ctx_t *c, const json_t *m)
{
    json_t *v = plain_content(c, m, 'u');
    return v ? add_turn(c, "user", v) : -1;
}

static int tool_msg(ctx_t *c, const json_t *m)
{
    static const char *const ok[] = { "role", "content", "tool_call_id", NULL };
    if (tr_check_keys(c->t, m, ok, c->path, c->e))
        return -1;
    const json_t *id = json_object_get(m, "tool_call_id");
    if (!json_is_string(id))
        return fail(c, ".tool_call_id", "must be a string");
    json_t *v = content(c, json_object_get(m, "content"), 't');
    if (!v)
        return -1;
    json_t *b = json_pack("{s:s, s:o, s:o}", "type", "tool_result", "tool_use_id",
                          tr_anthropic_tool_id(id, NULL, 0), "content", v);
    return b ? add_turn(c, "user", json_pack("[o]", b)) : -1;
}

static int tool_calls(ctx_t *c, const json_t *tc, json_t *blocks)
{
    size_t j;
    json_t *call;
    if (!json_is_array(tc))
        return fail(c, ".tool_calls", "must be an array");
    json_array_foreach(tc, j, call) {
        static const char *const ok[] = { "id", "type", "function", "index", NULL };
        static const char *const fok[] = { "name", "arguments", NULL };
        char sub[64], p[256];
        snprintf(sub, sizeof sub, ".tool_calls[%zu]", j);
        snprintf(p, sizeof p, "%s%s", c->path, sub);
        if (!json_is_object(call))
            return fail(c, sub, "must be an object");
        if (tr_check_keys(c->t, call, ok, p, c->e))
            return -1;
        const char *type = tr_str(call, "type");
        if (type && strcmp(type, "function"))
            return fail(c, sub, "only function tool calls can be translated");
        const json_t *fn = json_object_get(call, "function");
        const json_t *name = json_object_get(fn, "name");
        if (!json_is_object(fn) || !json_is_string(name))
            return fail(c, sub, "function.name must be a string");
        snprintf(p + strlen(p), sizeof p - strlen(p), ".function");
        if (tr_check_keys(c->t, fn, fok, p, c->e))
            return -1;
        const json_t *args = json_object_get(fn, "arguments");
        json_t *input;
        if (tr_absent(fn, "arguments") || (json_is_string(args) && json_string_length(args) == 0))
            input = json_object();
        else if (json_is_string(args))
            input = tr_parse_object(json_string_value(args), json_string_length(args));
        else
            input = NULL;
        if (!input) {
            snprintf(sub + strlen(sub), sizeof sub - strlen(sub), ".function.arguments");
            return fail(c, sub, "must be a string holding a JSON object");
        }
        json_array_append_new(blocks, json_pack("{s:s, s:o, s:O, s:o}", "type", "tool_use", "id",
                                                tr_anthropic_tool_id(json_object_get(call, "id"), "call", (int)j),
                                                "name", name, "input", input));
    }
    return 0;
}

static int thinking_blocks(ctx_t *c, const json_t *tb, json_t *blocks)
{
    size_t j;
    json_t *b;
    if (!json_is_array(tb))
        return fail(c, ".thinking_blocks", "must be an array");
    json_array_foreach(tb, j, b) {
        const char *type = tr_str(b, "type");
        char sub[64];
        snprintf(sub, sizeof sub, ".thinking_blocks[%zu]", j);
        if (type && !strcmp(type, "thinking") && json_is_string(json_object_get(b, "thinking")) &&
            json_is_string(json_object_get(b, "signature")))
            json_array_append_new(blocks, json_pack("{s:s, s:O, s:O}", "type", "thinking", "thinking",
                                                    json_object_get(b, "thinking"), "signature",
                                                    json_object_get(b, "signature")));
        else if (type && !strcmp(type, "redacted_thinking") && json_is_string(json_object_get(b, "data")))
            json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "redacted_thinking", "data",
                                                    json_object_get(b, "data")));
        else
            return fail(c, sub, "must be a signed thinking block or a redacted_thinking block");
    }
    return 0;
}

static int assistant_msg(ctx_t *c, const json_t *m)
{
    static const char *const ok[] = { "role", "content", "name", "tool_calls", "refusal",
        "reasoning_content", "reasoning", "thinking_blocks", "function_call", "audio", NULL };
    if (tr_check_keys(c->t, m, ok, c->path, c->e))
        return -1;
    if (!null_or_absent(m, "name"))
        return fail(c, ".name", "message names cannot be translated");
    if (!null_or_absent(m, "function_call"))
        return fail(c, ".function_call", "legacy function calls cannot be translated; use tool_calls");
    if (!null_or_absent(m, "audio"))
        return fail(c, ".audio", "audio cannot be translated");
    json_t *blocks = json_array();
    const json_t *v = json_object_get(m, "content");
    json_t *text = NULL;
    if (!null_or_absent(m, "thinking_blocks") &&
        thinking_blocks(c, json_object_get(m, "thinking_blocks"), blocks))
        goto bad;
    if (v && !json_is_null(v)) {
        if (!(text = content(c, v, 'a')))
            goto bad;
    }
    int plain = json_array_size(blocks) == 0 && json_is_string(text) && tr_absent(m, "refusal") &&
                tr_absent(m, "tool_calls");
    if (plain) {
        json_decref(blocks);
        return add_turn(c, "assistant", text);
    }
    if (json_is_string(text)) {
        if (json_string_length(text) > 0)
            json_array_append_new(blocks, text_block(json_string_value(text), json_string_length(text)));
    } else if (text) {
        json_array_extend(blocks, text);
    }
    json_decref(text);
    text = NULL;
    const json_t *refusal = json_object_get(m, "refusal");
    if (json_is_string(refusal) && json_string_length(refusal) > 0)
        json_array_append_new(blocks, text_block(json_string_value(refusal), json_string_length(refusal)));
    if (!null_or_absent(m, "tool_calls") && tool_calls(c, json_object_get(m, "tool_calls"), blocks))
        goto bad;
    return add_turn(c, "assistant", blocks);
bad:
    json_decref(text);
    json_decref(blocks);
    return -1;
}

static int messages(ctx_t *c, const json_t *in)
{
    const json_t *ms = json_object_get(in, "messages");
    if (!json_is_array(ms))
        return tr_fail(c->t, c->e, 400, "messages", "messages: an array is required");
    size_t i;
    json_t *m;
    json_array_foreach(ms, i, m) {
        snprintf(c->path, sizeof c->path, "messages[%zu]", i);
        const char *role = tr_str(m, "role");
        int rc;
        if (!json_is_object(m) || !role)
            rc = fail(c, ".role", "each message needs a role");
        else if (!strcmp(role, "system") || !strcmp(role, "developer"))
            rc = system_msg(c, m);
        else if (!strcmp(role, "user"))
            rc = user_msg(c, m);
        else if (!strcmp(role, "assistant"))
            rc = assistant_msg(c, m);
        else if (!strcmp(role, "tool"))
            rc = tool_msg(c, m);
        else
            rc = fail(c, ".role", "this role cannot be translated (function messages: use tools)");
        if (rc)
            return -1;
    }
    return 0;
}

/* ---- top-level fields ---- */

static long long default_max_tokens(const translate_t *t, const char *model)
{
    if (t->o.max_tokens_cb) {
        long long v = t->o.max_tokens_cb(t->o.cb_arg, model);
        if (v > 0)
            return v;
    }
    for (size_t i = 0; i < t->o.n_max_tokens; i++)
        if (t->o.max_tokens[i].pattern && fnmatch(t->o.max_tokens[i].pattern, model, 0) == 0 &&
            t->o.max_tokens[i].max_tokens > 0)
            return t->o.max_tokens[i].max_tokens;
    return t->o.default_max_tokens > 0 ? t->o.default_max_tokens : TRANSLATE_DEFAULT_MAX_TOKENS;
}

static long long effort_budget(const translate_t *t, int i)
{
    static const long long def[4] = { 1024, 2048, 8192, 16384 };
    return t->o.effort_budget[i] > 0 ? t->o.effort_budget[i] : def[i];
}

/* Fields ignored when they hold their harmless value; -1 otherwise. */
static int harmless(translate_t *t, const json_t *in, translate_error_t *e)
{
    const json_t *v;
    if (!tr_absent(in, "n") && !((v = json_object_get(in, "n")) && json_is_integer(v) &&
                                 json_integer_value(v) == 1))
        return tr_fail(t, e, 400, "n", "n: only 1 choice can be translated to Anthropic");
    if (json_is_true(json_object_get(in, "store")))
        return tr_fail(t, e, 400, "store", "store: stored completions cannot be translated to Anthropic");
    v = json_object_get(in, "service_tier");
    if (v && !json_is_null(v) && !(json_is_string(v) && (!strcmp(json_string_value(v), "auto") ||
                                                         !strcmp(json_string_value(v), "default"))))
        return tr_fail(t, e, 400, "service_tier", "service_tier: only auto or default can be translated");
    v = json_object_get(in, "modalities");
    if (v && !json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 1 &&
                                   json_is_string(json_array_get(v, 0)) &&
                                   !strcmp(json_string_value(json_array_get(v, 0)), "text")))
        return tr_fail(t, e, 400, "modalities", "modalities: only [\"text\"] can be translated");
    static const char *const zero[] = { "frequency_penalty", "presence_penalty", "top_logprobs", NULL };
    for (int i = 0; zero[i]; i++) {
        v = json_object_get(in, zero[i]);
        if (v && !json_is_null(v) && !(json_is_number(v) && json_number_value(v) == 0))
            return tr_fail(t, e, 400, zero[i], "%s: has no Anthropic equivalent", zero[i]);
    }
    if (json_is_true(json_object_get(in, "logprobs")))
        return tr_fail(t, e, 400, "logprobs", "logprobs: has no Anthropic equivalent");
    v = json_object_get(in, "logit_bias");
    if (v && !json_is_null(v) && !(json_is_object(v) && json_object_size(v) == 0))
        return tr_fail(t, e, 400, "logit_bias", "logit_bias: has no Anthropic equivalent");
    v = json_object_get(in, "stream_options");
    if (v && !json_is_null(v) && !json_is_object(v))
        return tr_fail(t, e, 400, "stream_options", "stream_options: must be an object");
    t->include_usage = json_is_true(json_object_get(v, "include_usage"));
    return 0;
}

static int max_tokens(translate_t *t, const json_t *in, json_t *r, int *explicit,
                      translate_error_t *e)
{
    const char *key = !tr_absent(in, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    const json_t *v = json_object_get(in, key);
    long long mt;
    *explicit = v && !json_is_null(v);
    if (*explicit) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return tr_fail(t, e, 400, key, "%s: must be a positive integer", key);
        mt = (long long)json_integer_value(v);
    } else {
        mt = default_max_tokens(t, t->upstream_model);
    }
    return json_object_set_new(r, "max_tokens", json_integer(mt));
}

static int copy_number(translate_t *t, const json_t *in, json_t *r, const char *key,
                       translate_error_t *e)
{
    const json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_number(v))
        return tr_fail(t, e, 400, key, "%s: must be a number", key);
    return json_object_set(r, key, (json_t *)v);
}

static int stop(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *v = json_object_get(in, "stop");
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return json_object_set_new(r, "stop_sequences", json_pack("[O]", v));
    size_t i;
    json_t *s;
    if (!json_is_array(v))
        return tr_fail(t, e, 400, "stop", "stop: must be a string or an array of strings");
    json_array_foreach(v, i, s)
        if (!json_is_string(s))
            return tr_fail(t, e, 400, "stop", "stop: must be a string or an array of strings");
    return json_array_size(v) ? json_object_set(r, "stop_sequences", (json_t *)v) : 0;
}

static int user(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const char *key = !tr_absent(in, "safety_identifier") ? "safety_identifier" : "user";
    const json_t *v = json_object_get(in, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return tr_fail(t, e, 400, key, "%s: must be a string", key);
    return json_object_set_new(r, "metadata", json_pack("{s:O}", "user_id", v));
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
        static const char *const ok[] = { "type", "function", "cache_control", NULL };
        static const char *const fok[] = { "name", "description", "parameters", "strict", NULL };
        char p[96];
        snprintf(p, sizeof p, "tools[%zu]", i);
        const char *type = tr_str(tool, "type");
        const json_t *fn = json_object_get(tool, "function");
        if (!json_is_object(tool) || !type || strcmp(type, "function") || !json_is_object(fn) ||
            !json_is_string(json_object_get(fn, "name"))) {
            json_decref(out);
            return tr_fail(t, e, 400, p, "%s: only function tools with a name can be translated", p);
        }
        if (tr_check_keys(t, tool, ok, p, e)) {
            json_decref(out);
            return -1;
        }
        snprintf(p + strlen(p), sizeof p - strlen(p), ".function");
        if (tr_check_keys(t, fn, fok, p, e)) {
            json_decref(out);
            return -1;
        }
        json_t *a = json_pack("{s:O}", "name", json_object_get(fn, "name"));
        if (!tr_absent(fn, "description"))
            json_object_set(a, "description", json_object_get(fn, "description"));
        json_t *params = json_object_get(fn, "parameters");
        json_object_set_new(a, "input_schema", params && !json_is_null(params) ? json_incref(params)
                            : json_pack("{s:s, s:{}}", "type", "object", "properties"));
        if (!tr_absent(fn, "strict"))
            json_object_set(a, "strict", json_object_get(fn, "strict"));
        if (!tr_absent(tool, "cache_control"))
            json_object_set(a, "cache_control", json_object_get(tool, "cache_control"));
        json_array_append_new(out, a);
    }
    return json_object_set_new(r, "tools", out);
}

static int tool_choice(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *v = json_object_get(in, "tool_choice");
    int no_parallel = json_is_false(json_object_get(in, "parallel_tool_calls"));
    int have_tools = json_array_size(json_object_get(in, "tools")) > 0;
    json_t *tc = NULL;
    if (!tr_absent(in, "parallel_tool_calls") && !json_is_boolean(json_object_get(in, "parallel_tool_calls")))
        return tr_fail(t, e, 400, "parallel_tool_calls", "parallel_tool_calls: must be a boolean");
    if (!v || json_is_null(v)) {
        if (!no_parallel || !have_tools)
            return 0;
        tc = json_pack("{s:s}", "type", "auto");
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        const char *type = !strcmp(s, "none") ? "none" : !strcmp(s, "auto") ? "auto"
                         : !strcmp(s, "required") ? "any" : NULL;
        if (!type)
            return tr_fail(t, e, 400, "tool_choice", "tool_choice: '%.40s' cannot be translated", s);
        tc = json_pack("{s:s}", "type", type);
    } else {
        const json_t *name = json_object_get(json_object_get(v, "function"), "name");
        const char *type = tr_str(v, "type");
        if (!type || strcmp(type, "function") || !json_is_string(name))
            return tr_fail(t, e, 400, "tool_choice",
                           "tool_choice: only none, auto, required or a named function can be translated");
        tc = json_pack("{s:s, s:O}", "type", "tool", "name", name);
    }
    if (no_parallel && strcmp(tr_str(tc, "type"), "none"))
        json_object_set_new(tc, "disable_parallel_tool_use", json_true());
    return json_object_set_new(r, "tool_choice", tc);
}

static int thinking(translate_t *t, const json_t *in, json_t *r, int explicit, translate_error_t *e)
{
    const json_t *re = json_object_get(in, "reasoning_effort");
    const json_t *th = json_object_get(in, "thinking");
    if (!tr_absent(in, "thinking")) {
        if (!tr_absent(in, "reasoning_effort"))
            return tr_fail(t, e, 400, "reasoning_effort", "reasoning_effort: give it or thinking, not both");
        if (!json_is_object(th))
            return tr_fail(t, e, 400, "thinking", "thinking: must be an object");
        return json_object_set(r, "thinking", (json_t *)th);
    }
    if (!re || json_is_null(re))
        return 0;
    static const char *const names[] = { "minimal", "low", "medium", "high", NULL };
    const char *s = json_string_value(re);
    if (s && !strcmp(s, "none"))
        return json_object_set_new(r, "thinking", json_pack("{s:s}", "type", "disabled"));
    int i;
    for (i = 0; s && names[i] && strcmp(s, names[i]); i++)
        ;
    if (!s || !names[i])
        return tr_fail(t, e, 400, "reasoning_effort", "reasoning_effort: '%.40s' cannot be translated",
                       s ? s : "(not a string)");
    long long budget = effort_budget(t, i);
    long long mt = (long long)json_integer_value(json_object_get(r, "max_tokens"));
    if (budget >= mt) {
        if (!explicit) {
            mt += budget;
            json_object_set_new(r, "max_tokens", json_integer(mt));
        } else if (mt / 2 >= 1024) {
            budget = mt / 2;
        } else {
            return tr_fail(t, e, 400, "reasoning_effort",
                           "reasoning_effort: a max_tokens of %lld leaves no room for Anthropic's "
                           "smallest thinking budget (1024)", mt);
        }
    }
    return json_object_set_new(r, "thinking", json_pack("{s:s, s:I}", "type", "enabled",
                                                        "budget_tokens", (json_int_t)budget));
}

static int response_format(translate_t *t, const json_t *in, json_t *r, translate_error_t *e)
{
    const json_t *v = json_object_get(in, "response_format");
    if (!v || json_is_null(v))
        return 0;
    const char *type = tr_str(v, "type");
    if (type && !strcmp(type, "text"))
        return 0;
    const json_t *schema = json_object_get(json_object_get(v, "json_schema"), "schema");
    if (type && !strcmp(type, "json_schema") && json_is_object(schema))
        return json_object_set_new(r, "output_config", json_pack("{s:{s:s, s:O}}", "format", "type",
                                                                 "json_schema", "schema", schema));
    return tr_fail(t, e, 400, "response_format",
                   "response_format: only text or json_schema (with a schema) can be translated");
}

json_t *tr_req_oa2an(translate_t *t, const json_t *in, translate_error_t *e)
{
    static const char *const known[] = { "model", "messages", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "top_k", "stop", "stream", "stream_options", "n", "user",
        "safety_identifier", "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort",
        "thinking", "response_format", "store", "metadata", "prompt_cache_key", "service_tier",
        "modalities", "frequency_penalty", "presence_penalty", "logprobs", "top_logprobs",
        "logit_bias", NULL };
    if (tr_check_keys(t, in, known, "", e) || harmless(t, in, e))
        return NULL;
    ctx_t c = { .t = t, .e = e, .msgs = json_array(), .sys = json_array(), .sys_plain = 1 };
    json_t *r = json_object();
    int explicit = 0;
    if (!c.msgs || !c.sys || !r)
        goto bad;
    if (json_object_set_new(r, "model", json_string(t->upstream_model)) ||
        max_tokens(t, in, r, &explicit, e) || messages(&c, in))
        goto bad;
    if (json_array_size(c.sys)) {
        if (c.sys_msgs == 1 && c.sys_plain)
            json_object_set(r, "system", json_object_get(json_array_get(c.sys, 0), "text"));
        else
            json_object_set(r, "system", c.sys);
    }
    json_object_set(r, "messages", c.msgs);
    if (user(t, in, r, e) || stop(t, in, r, e))
        goto bad;
    if (t->stream)
        json_object_set_new(r, "stream", json_true());
    if (copy_number(t, in, r, "temperature", e) || copy_number(t, in, r, "top_p", e) ||
        copy_number(t, in, r, "top_k", e) || tools(t, in, r, e) || tool_choice(t, in, r, e) ||
        thinking(t, in, r, explicit, e) || response_format(t, in, r, e))
        goto bad;
    json_decref(c.msgs);
    json_decref(c.sys);
    return r;
bad:
    if (e && !e->status)
        tr_fail(t, e, 500, NULL, "out of memory");
    json_decref(c.msgs);
    json_decref(c.sys);
    json_decref(r);
    return NULL;
}
