/* convo.c — the conversation of an exchange in OpenAI chat form, the
 * common ground of the training formats: the request's messages (and
 * tools, parallel_tool_calls) and the final assistant turn. An Anthropic
 * exchange is normalised through lib/translate: its request as the relay
 * would send it to an OpenAI upstream (system prompt first, content
 * blocks, tool_use → tool_calls, tool_result → "tool" messages), its
 * assembled answer as the chat.completion an OpenAI client would get.
 * Messages keep only what the fine-tuning format knows: role, content,
 * name, tool_calls, tool_call_id, weight; "developer" becomes "system"; an
 * assistant turn that only refused has its refusal as content. */
#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "buf.h"
#include "translate/translate.h"

void hash_json(const json_t *j, unsigned char out[32])
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    SHA256((const unsigned char *)(s ? s : ""), s ? strlen(s) : 0, out);
    free(s);
}

void hex32(const unsigned char h[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[h[i] >> 4];
        out[2 * i + 1] = hx[h[i] & 15];
    }
    out[64] = '\0';
}

/* One request message, cleaned; NULL when it is not one. */
static json_t *clean_message(const json_t *m)
{
    const char *role = json_string_value(json_object_get(m, "role"));
    if (!role)
        return NULL;
    if (!strcmp(role, "developer"))
        role = "system";
    json_t *o = json_pack("{s:s}", "role", role);
    copy_field(o, "content", m, "content", 1);
    copy_field(o, "name", m, "name", 0);
    if (!strcmp(role, "assistant")) {
        copy_field(o, "tool_calls", m, "tool_calls", 0);
        if (json_is_null(json_object_get(o, "content")) && json_is_string(json_object_get(m, "refusal")) &&
            !json_array_size(json_object_get(m, "tool_calls")))
            copy_field(o, "content", m, "refusal", 0);   /* the refusal is what was said */
        copy_field(o, "weight", m, "weight", 0);
    } else if (!strcmp(role, "tool"))
        copy_field(o, "tool_call_id", m, "tool_call_id", 0);
    return o;
}

/* The final assistant turn from a chat.completion choice's message. */
static json_t *answer_of(const json_t *msg)
{
    json_t *o = json_pack("{s:s}", "role", "assistant");
    json_t *content = json_object_get(msg, "content");
    const json_t *calls = json_object_get(msg, "tool_calls");
    const json_t *refusal = json_object_get(msg, "refusal");
    if ((!content || json_is_null(content)) && json_is_string(refusal) && !json_array_size(calls))
        content = (json_t *)refusal;           /* a refusal is the answer given */
    json_object_set_new(o, "content", content ? json_incref(content) : json_null());
    if (json_array_size(calls)) {
        json_t *tc = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(calls, i, c) {
            const json_t *f = json_object_get(c, "function"), *args = json_object_get(f, "arguments");
            json_t *parsed = json_is_string(args) ? json_loadb(json_string_value(args), json_string_length(args), 0, NULL)
                                                  : NULL;
            int whole = json_is_object(parsed);
            json_decref(parsed);
            if (!whole)
                continue;               /* cut short (only with --include-incomplete) */
            json_array_append_new(tc, json_pack("{s:O?, s:s, s:{s:O?, s:O?}}", "id", json_object_get(c, "id"),
                                                "type", "function", "function", "name",
                                                json_object_get(f, "name"), "arguments",
                                                json_object_get(f, "arguments")));
        }
        if (json_array_size(tc))
            json_object_set_new(o, "tool_calls", tc);
        else
            json_decref(tc);
    }
    return o;
}

/* Did the assistant say anything (text or a whole tool call)? */
static int said(const json_t *answer)
{
    const json_t *c = json_object_get(answer, "content");
    return json_array_size(json_object_get(answer, "tool_calls")) ||
           (json_is_string(c) && json_string_length(c)) || json_array_size(c);
}

static int path_is(const json_t *req, const char *suffix)
{
    const char *p = json_string_value(json_object_get(req, "path"));
    size_t n = p ? strlen(p) : 0, k = strlen(suffix);
    return n >= k && !strcmp(p + n - k, suffix);
}

/* An Anthropic request body → the OpenAI request (new reference). */
static json_t *an_request(const json_t *body)
{
    translate_opts_t to = { .created = 1 };
    translate_t *t = translate_new(TR_ANTHROPIC, TR_OPENAI, &to);
    if (!t)
        return NULL;
    char *in = json_dumps(body, JSON_COMPACT), *out = NULL;
    size_t outlen;
    translate_error_t e;
    json_t *r = NULL;
    if (in && translate_request(t, in, strlen(in), &out, &outlen, &e) == 0)
        r = json_loadb(out, outlen, 0, NULL);
    free(in);
    free(out);
    translate_free(t);
    return r;
}

/* An Anthropic message → the OpenAI chat.completion's message. */
static json_t *an_answer(const json_t *msg)
{
    translate_opts_t to = { .created = 1 };
    translate_t *t = translate_new(TR_OPENAI, TR_ANTHROPIC, &to);
    if (!t)
        return NULL;
    char *in = json_dumps(msg, JSON_COMPACT);
    buf_t out;
    buf_init(&out, 0);
    int status;
    translate_error_t e;
    json_t *r = NULL, *m = NULL;
    if (in && translate_response(t, 200, in, strlen(in), &out, &status, &e) == 0 && status == 200)
        r = json_loadb(buf_ptr(&out), buf_len(&out), 0, NULL);
    if (r)
        m = json_incref(json_object_get(json_array_get(json_object_get(r, "choices"), 0), "message"));
    json_decref(r);
    free(in);
    buf_free(&out);
    translate_free(t);
    return m;
}

int convo_make(const merged_t *m, const json_t *body, const assembled_t *a, convo_t *c, enum skip *why)
{
    memset(c, 0, sizeof *c);
    const json_t *req = m->request;
    if (json_is_true(json_object_get(req, "body_truncated"))) {
        *why = SK_TRUNCATED;
        return -1;
    }
    if (!json_is_object(body)) {
        *why = SK_UNTRANSLATABLE;
        return -1;
    }
    if (a->kind == ASSEMBLE_ERROR) {
        *why = SK_FAILED;                     /* an error answer says nothing */
        return -1;
    }
    const char *proto = json_string_value(json_object_get(req, "protocol"));
    int anthropic = proto && !strcmp(proto, "anthropic");
    json_t *oreq = NULL, *amsg = NULL;
    if (anthropic) {
        if (!path_is(req, "/messages") || a->kind != ASSEMBLE_MESSAGES) {
            *why = SK_ENDPOINT;
            return -1;
        }
        if (!(oreq = an_request(body)) || !(amsg = an_answer(a->message))) {
            json_decref(oreq);
            *why = SK_UNTRANSLATABLE;
            return -1;
        }
    } else {
        if (!json_is_array(json_object_get(body, "messages")) || a->kind != ASSEMBLE_CHAT) {
            *why = SK_ENDPOINT;
            return -1;
        }
        oreq = json_incref((json_t *)body);
        amsg = json_incref(json_object_get(json_array_get(json_object_get(a->message, "choices"), 0), "message"));
        if (!amsg) {
            json_decref(oreq);
            *why = SK_NO_RESPONSE;
            return -1;
        }
    }
    json_t *msgs = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(oreq, "messages"), i, x) {
        json_t *cm = clean_message(x);
        if (cm)
            json_array_append_new(msgs, cm);
    }
    c->input = json_pack("{s:o}", "messages", msgs);
    const json_t *tools = json_object_get(oreq, "tools");
    if (json_array_size(tools))
        json_object_set(c->input, "tools", (json_t *)tools);
    const json_t *ptc = json_object_get(body, "parallel_tool_calls");
    if (!json_is_boolean(ptc))
        ptc = json_object_get(oreq, "parallel_tool_calls");
    if (json_is_boolean(ptc))
        json_object_set(c->input, "parallel_tool_calls", (json_t *)ptc);
    c->answer = answer_of(amsg);
    json_decref(oreq);
    json_decref(amsg);
    if (!c->input || !c->answer || !said(c->answer)) {
        *why = c->input && c->answer ? SK_NO_RESPONSE : SK_UNTRANSLATABLE;
        convo_free(c);
        return -1;
    }
    return 0;
}

void convo_hash(convo_t *c)
{
    hash_json(c->input, c->prompt_hash);
    hash_json(c->answer, c->answer_hash);
}

void convo_free(convo_t *c)
{
    json_decref(c->input);
    json_decref(c->answer);
    c->input = c->answer = NULL;
}
