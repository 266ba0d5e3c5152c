/* assemble.c — a merged exchange's response rebuilt as the non-streamed
 * answer (see assemble.h). Steps: pick the side's chunks; take their bytes
 * (base64 decoded); for a stream, split them into SSE events (lib/sse.c)
 * and feed each event's JSON to the accumulator of its API shape, then
 * build the message from the accumulator; for a body, decode it
 * (Content-Encoding) and parse it. The normalised views (text, tool calls,
 * finish reason) are read from the final message alone, so both paths give
 * the same views for the same answer. */
#include "assemble.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture.h"
#include "sse.h"
#include "decode.h"

#define MAX_EVENT ((size_t)64 << 20)     /* one SSE event */
#define MAX_BODY  ((size_t)1 << 30)      /* a decoded body */

/* ---- small helpers ---- */

static int fail(assembled_t *a, const char *fmt, const char *s)
{
    snprintf(a->error, sizeof a->error, fmt, s ? s : "");
    return -1;
}

static void note(assembled_t *a, const char *fmt, const char *s)
{
    if (!a->error[0])
        snprintf(a->error, sizeof a->error, fmt, s ? s : "");
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int is_str(const json_t *o, const char *key, const char *want)
{
    const char *s = str(o, key);
    return s && !strcmp(s, want);
}

static int64_t int_of(const json_t *v, int64_t dflt)
{
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

/* Append a JSON string's bytes (NUL bytes included). */
static int append_js(buf_t *b, const json_t *s)
{
    return json_is_string(s) ? buf_append(b, json_string_value(s), json_string_length(s)) : 0;
}

static json_t *jstr(const buf_t *b)
{
    return json_stringn(buf_ptr(b), buf_len(b));
}

/* Set key to v (stolen) unless v is NULL. */
static void put(json_t *o, const char *key, json_t *v)
{
    if (v)
        json_object_set_new(o, key, v);
}

/* The value of the first header called name in an event's [name, value]
 * pairs, or NULL. */
static const char *header(const json_t *ev, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(ev, "headers"), i, h) {
        const char *n = json_string_value(json_array_get(h, 0));
        if (n && !strcasecmp(n, name))
            return json_string_value(json_array_get(h, 1));
    }
    return NULL;
}

/* ---- the chunks of a side and their bytes ---- */

static int has_client_chunks(const json_t *chunks)
{
    size_t i;
    json_t *c;
    json_array_foreach(chunks, i, c)
        if (is_str(c, "side", "client"))
            return 1;
    return 0;
}

static int wanted(const json_t *c, int client)
{
    return is_str(c, "side", "client") == client;
}

/* The bytes of one chunk event: in place, or decoded into tmp. */
static int chunk_bytes(const json_t *c, buf_t *tmp, const char **p, size_t *n)
{
    const json_t *d = json_object_get(c, "data");
    if (!json_is_string(d))
        return -1;
    if (is_str(c, "data_encoding", "base64")) {
        buf_reset(tmp);
        if (capture_base64_decode(tmp, json_string_value(d), json_string_length(d)))
            return -1;
        *p = buf_ptr(tmp);
        *n = buf_len(tmp);
    } else {
        *p = json_string_value(d);
        *n = json_string_length(d);
    }
    return 0;
}

static int use_client(const merged_t *m, int side)
{
    return side == ASSEMBLE_CLIENT && has_client_chunks(m->chunks);
}

int assemble_body(const merged_t *m, int side, buf_t *out)
{
    int client = use_client(m, side);
    buf_t tmp;
    buf_init(&tmp, 0);
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(m->chunks, i, c) {
        const char *p;
        size_t n;
        if (!wanted(c, client))
            continue;
        if (chunk_bytes(c, &tmp, &p, &n) || buf_append(out, p, n)) {
            rc = -1;
            break;
        }
    }
    buf_free(&tmp);
    return rc;
}

/* ---- Content-Encoding ---- */

typedef struct { buf_t *out; int full; } decoded_t;

static int into(void *arg, const char *p, size_t n)
{
    decoded_t *k = arg;
    if (buf_append(k->out, p, n)) k->full = 1;
    return k->full;
}

/* Decode body per enc into out. 0, or -1 with a's error set. A body cut
 * short still gives what was decodable: the caller sees a partial body. */
static int decode(assembled_t *a, const char *enc, const buf_t *body, buf_t *out)
{
    decoder_t *d = decoder_new(enc);
    if (!d)
        return decode_supported(enc) ? fail(a, "%s", "out of memory") :
               fail(a, "Content-Encoding %.64s is not supported", enc);
    decoded_t k = { out, 0 };
    int rc = decoder_feed(d, buf_ptr(body), buf_len(body), into, &k);
    decoder_free(d);
    if (rc || k.full)
        return fail(a, "the %.64s body cannot be decoded", enc);
    return 0;
}

/* ---- accumulators for streams ---- */

typedef struct {
    int64_t index;
    json_t *id, *type;
    buf_t name, args;
    int has_name;
} tool_t;

typedef struct {
    int64_t index;
    json_t *role;
    int has_content, has_refusal, has_reasoning, has_fc;
    buf_t content, refusal, reasoning, pending, fc_name, fc_args, text;
    const char *reasoning_key;
    json_t *thinking_blocks, *annotations, *lp_content, *lp_refusal;
    int has_logprobs;
    tool_t *tools;
    size_t ntools;
    json_t *finish;
} choice_t;

typedef struct {
    json_t *block;
    int has_text, has_json, has_thinking, has_sig;
    buf_t text, json, thinking, sig;
} ablock_t;

typedef struct {
    assembled_t *a;
    int kind;
    int done, errored;
    /* OpenAI chat and completions */
    json_t *id, *created, *model, *fingerprint, *tier, *usage;
    choice_t *ch;
    size_t nch;
    /* Anthropic */
    json_t *msg;
    ablock_t *bl;
    size_t nbl;
    /* Responses */
    json_t *resp, *items;
    buf_t rtext;
    int64_t rindex;
    json_t *err;
    int bad_events;
    buf_t scratch;          /* the JSON parser's strings */
} acc_t;

static void set_ref(json_t **dst, json_t *v)
{
    if (!v || json_is_null(v))
        return;
    json_decref(*dst);
    *dst = json_incref(v);
}

static choice_t *choice(acc_t *s, int64_t index)
{
    for (size_t i = 0; i < s->nch; i++)
        if (s->ch[i].index == index)
            return &s->ch[i];
    choice_t *v = realloc(s->ch, (s->nch + 1) * sizeof *v);
    if (!v)
        return NULL;
    s->ch = v;
    choice_t *c = &v[s->nch++];
    memset(c, 0, sizeof *c);
    c->index = index;
    buf_init(&c->content, 0); buf_init(&c->refusal, 0); buf_init(&c->reasoning, 0);
    buf_init(&c->pending, 0); buf_init(&c->fc_name, 0); buf_init(&c->fc_args, 0);
    buf_init(&c->text, 0);
    return c;
}

static tool_t *tool(choice_t *c, int64_t index)
{
    for (size_t i = 0; i < c->ntools; i++)
        if (c->tools[i].index == index)
            return &c->tools[i];
    tool_t *v = realloc(c->tools, (c->ntools + 1) * sizeof *v);
    if (!v)
        return NULL;
    c->tools = v;
    tool_t *t = &v[c->ntools++];
    memset(t, 0, sizeof *t);
    t->index = index;
    buf_init(&t->name, 0);
    buf_init(&t->args, 0);
    return t;
}

static void append_all(json_t **dst, const json_t *arr)
{
    if (!json_is_array(arr))
        return;
    if (!*dst)
        *dst = json_array();
    json_array_extend(*dst, (json_t *)arr);
}

/* One delta of an OpenAI chat.completion.chunk choice. */
static int chat_delta(choice_t *c, const json_t *d)
{
    const json_t *v;
    set_ref(&c->role, json_object_get(d, "role"));
    if (json_is_string(v = json_object_get(d, "content"))) {
        c->has_content = 1;
        if (append_js(&c->content, v)) return -1;
    }
    if (json_is_string(v = json_object_get(d, "refusal"))) {
        c->has_refusal = 1;
        if (append_js(&c->refusal, v)) return -1;
    }
    static const char *const rkeys[] = { "reasoning_content", "reasoning" };
    for (int k = 0; k < 2; k++)
        if (json_is_string(v = json_object_get(d, rkeys[k]))) {
            c->has_reasoning = 1;
            if (!c->reasoning_key) c->reasoning_key = rkeys[k];
            if (append_js(&c->reasoning, v) || append_js(&c->pending, v)) return -1;
        }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(d, "thinking_blocks"), i, x) {
        /* the translator's stream form: a signed thinking block arrives as
         * {thinking: "", signature} once its text has gone as reasoning */
        json_t *b = json_deep_copy(x);
        if (!b) return -1;
        if (is_str(b, "type", "thinking")) {
            const json_t *t = json_object_get(b, "thinking");
            if (!json_is_string(t) || json_string_length(t) == 0)
                json_object_set_new(b, "thinking", jstr(&c->pending));
            buf_reset(&c->pending);
        }
        if (!c->thinking_blocks) c->thinking_blocks = json_array();
        json_array_append_new(c->thinking_blocks, b);
    }
    append_all(&c->annotations, json_object_get(d, "annotations"));
    json_array_foreach(json_object_get(d, "tool_calls"), i, x) {
        int64_t idx = int_of(json_object_get(x, "index"), (int64_t)i);
        tool_t *t = tool(c, idx);
        if (!t) return -1;
        set_ref(&t->id, json_object_get(x, "id"));
        set_ref(&t->type, json_object_get(x, "type"));
        const json_t *f = json_object_get(x, "function");
        if (json_is_string(v = json_object_get(f, "name")) && json_string_length(v)) {
            t->has_name = 1;
            if (append_js(&t->name, v)) return -1;
        }
        if (append_js(&t->args, json_object_get(f, "arguments"))) return -1;
    }
    if (json_is_object(v = json_object_get(d, "function_call"))) {
        c->has_fc = 1;
        if (append_js(&c->fc_name, json_object_get(v, "name")) ||
            append_js(&c->fc_args, json_object_get(v, "arguments")))
            return -1;
    }
    return 0;
}

/* One choice of a chat chunk or a completion chunk. */
static int oa_choice(acc_t *s, const json_t *cj)
{
    choice_t *c = choice(s, int_of(json_object_get(cj, "index"), 0));
    if (!c)
        return -1;
    const json_t *d = json_object_get(cj, "delta"), *v;
    if (json_is_object(d) && chat_delta(c, d))
        return -1;
    if (json_is_string(v = json_object_get(cj, "text")) && append_js(&c->text, v))
        return -1;
    const json_t *lp = json_object_get(cj, "logprobs");
    if (json_is_object(lp)) {
        c->has_logprobs = 1;
        append_all(&c->lp_content, json_object_get(lp, "content"));
        append_all(&c->lp_refusal, json_object_get(lp, "refusal"));
    }
    set_ref(&c->finish, json_object_get(cj, "finish_reason"));
    return 0;
}

static int oa_event(acc_t *s, const json_t *j)
{
    const json_t *e = json_object_get(j, "error");
    if (e && !json_is_null(e)) {
        set_ref(&s->err, (json_t *)j);
        s->errored = 1;
        return 0;
    }
    set_ref(&s->id, json_object_get(j, "id"));
    set_ref(&s->created, json_object_get(j, "created"));
    set_ref(&s->model, json_object_get(j, "model"));
    set_ref(&s->fingerprint, json_object_get(j, "system_fingerprint"));
    set_ref(&s->tier, json_object_get(j, "service_tier"));
    set_ref(&s->usage, json_object_get(j, "usage"));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(j, "choices"), i, c)
        if (oa_choice(s, c))
            return -1;
    return 0;
}

static int by_tool(const void *x, const void *y)
{
    int64_t a = ((const tool_t *)x)->index, b = ((const tool_t *)y)->index;
    return a < b ? -1 : a > b;
}

/* The tool calls by index: the order the model produced them. */
static json_t *tool_calls_json(choice_t *c)
{
    qsort(c->tools, c->ntools, sizeof *c->tools, by_tool);
    json_t *arr = json_array();
    for (size_t i = 0; i < c->ntools; i++) {
        const tool_t *t = &c->tools[i];
        json_array_append_new(arr, json_pack("{s:o, s:o, s:{s:o, s:o}}",
                                             "id", t->id ? json_incref(t->id) : json_string(""),
                                             "type", t->type ? json_incref(t->type) : json_string("function"),
                                             "function", "name", jstr(&t->name),
                                             "arguments", jstr(&t->args)));
    }
    return arr;
}

static int by_index(const void *x, const void *y)
{
    int64_t a = ((const choice_t *)x)->index, b = ((const choice_t *)y)->index;
    return a < b ? -1 : a > b;
}

static json_t *oa_build(acc_t *s)
{
    int chat = s->kind == ASSEMBLE_CHAT;
    qsort(s->ch, s->nch, sizeof *s->ch, by_index);
    json_t *choices = json_array();
    for (size_t i = 0; i < s->nch; i++) {
        choice_t *c = &s->ch[i];
        json_t *lp = json_null();
        if (c->has_logprobs) {
            lp = json_object();
            put(lp, "content", c->lp_content ? json_incref(c->lp_content) : json_null());
            put(lp, "refusal", c->lp_refusal ? json_incref(c->lp_refusal) : json_null());
        }
        json_t *cj;
        if (chat) {
            json_t *m = json_object();
            put(m, "role", c->role ? json_incref(c->role) : json_string("assistant"));
            /* content: the text; "" when only empty text came and no tool
             * call; null when there was none (as a tool-call answer has) */
            if (buf_len(&c->content) || (c->has_content && !c->ntools && !c->has_fc))
                put(m, "content", jstr(&c->content));
            else
                put(m, "content", json_null());
            if (c->ntools)
                put(m, "tool_calls", tool_calls_json(c));
            if (c->has_fc)
                put(m, "function_call", json_pack("{s:o, s:o}", "name", jstr(&c->fc_name),
                                                  "arguments", jstr(&c->fc_args)));
            put(m, "refusal", c->has_refusal ? jstr(&c->refusal) : json_null());
            if (c->annotations)
                put(m, "annotations", json_incref(c->annotations));
            if (c->has_reasoning)
                put(m, c->reasoning_key, jstr(&c->reasoning));
            if (c->thinking_blocks)
                put(m, "thinking_blocks", json_incref(c->thinking_blocks));
            cj = json_pack("{s:I, s:o, s:o, s:O}", "index", (json_int_t)c->index, "message", m,
                           "logprobs", lp, "finish_reason", c->finish ? c->finish : json_null());
        } else {
            cj = json_pack("{s:o, s:I, s:o, s:O}", "text", jstr(&c->text), "index", (json_int_t)c->index,
                           "logprobs", lp, "finish_reason", c->finish ? c->finish : json_null());
        }
        json_array_append_new(choices, cj);
    }
    json_t *r = json_object();
    put(r, "id", s->id ? json_incref(s->id) : json_string(""));
    put(r, "object", json_string(chat ? "chat.completion" : "text_completion"));
    put(r, "created", s->created ? json_incref(s->created) : json_integer(0));
    put(r, "model", s->model ? json_incref(s->model) : json_string(""));
    put(r, "choices", choices);
    if (s->usage)
        put(r, "usage", json_incref(s->usage));
    if (s->tier)
        put(r, "service_tier", json_incref(s->tier));
    if (s->fingerprint)
        put(r, "system_fingerprint", json_incref(s->fingerprint));
    return r;
}

/* Anthropic */

static ablock_t *ablock(acc_t *s, int64_t index)
{
    if (index < 0 || index > 100000)
        return NULL;
    if ((size_t)index >= s->nbl) {
        ablock_t *v = realloc(s->bl, ((size_t)index + 1) * sizeof *v);
        if (!v)
            return NULL;
        memset(v + s->nbl, 0, ((size_t)index + 1 - s->nbl) * sizeof *v);
        s->bl = v;
        s->nbl = (size_t)index + 1;
    }
    return &s->bl[index];
}

static int an_event(acc_t *s, const char *type, const json_t *j)
{
    const json_t *v;
    if (!strcmp(type, "message_start")) {
        if (json_is_object(v = json_object_get(j, "message"))) {
            json_decref(s->msg);
            s->msg = json_deep_copy(v);
        }
        return 0;
    }
    if (!strcmp(type, "content_block_start")) {
        ablock_t *b = ablock(s, int_of(json_object_get(j, "index"), -1));
        const json_t *cb = json_object_get(j, "content_block");
        if (!b || !json_is_object(cb))
            return 1;
        json_decref(b->block);
        b->block = json_deep_copy(cb);
        if (json_is_string(v = json_object_get(cb, "text"))) { b->has_text = 1; append_js(&b->text, v); }
        if (json_is_string(v = json_object_get(cb, "thinking"))) { b->has_thinking = 1; append_js(&b->thinking, v); }
        if (json_is_string(v = json_object_get(cb, "signature"))) { b->has_sig = 1; append_js(&b->sig, v); }
        return 0;
    }
    if (!strcmp(type, "content_block_delta")) {
        int64_t idx = int_of(json_object_get(j, "index"), -1);
        ablock_t *b = idx >= 0 && (size_t)idx < s->nbl ? &s->bl[idx] : NULL;
        const json_t *d = json_object_get(j, "delta");
        const char *dt = str(d, "type");
        if (!b || !b->block || !dt)
            return 1;
        int rc = 0;
        if (!strcmp(dt, "text_delta")) { b->has_text = 1; rc = append_js(&b->text, json_object_get(d, "text")); }
        else if (!strcmp(dt, "input_json_delta")) { b->has_json = 1; rc = append_js(&b->json, json_object_get(d, "partial_json")); }
        else if (!strcmp(dt, "thinking_delta")) { b->has_thinking = 1; rc = append_js(&b->thinking, json_object_get(d, "thinking")); }
        else if (!strcmp(dt, "signature_delta")) { b->has_sig = 1; rc = append_js(&b->sig, json_object_get(d, "signature")); }
        else if (!strcmp(dt, "citations_delta")) {
            json_t *c = json_object_get(b->block, "citations");
            if (!json_is_array(c))
                json_object_set_new(b->block, "citations", c = json_array());
            v = json_object_get(d, "citation");
            if (v)
                json_array_append(c, (json_t *)v);
        } else
            return 1;
        return rc ? -1 : 0;
    }
    if (!strcmp(type, "content_block_stop"))
        return 0;
    if (!strcmp(type, "message_delta")) {
        if (!s->msg)
            s->msg = json_object();
        const json_t *d = json_object_get(j, "delta");
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)d, k, x)
            json_object_set(s->msg, k, x);
        if (json_is_object(v = json_object_get(j, "usage"))) {
            json_t *u = json_object_get(s->msg, "usage");
            if (!json_is_object(u))
                json_object_set_new(s->msg, "usage", u = json_object());
            json_object_foreach((json_t *)v, k, x)
                if (!json_is_null(x) || !json_object_get(u, k))
                    json_object_set(u, k, x);
        }
        return 0;
    }
    if (!strcmp(type, "message_stop")) {
        s->done = 1;
        return 0;
    }
    if (!strcmp(type, "ping"))
        return 0;
    if (!strcmp(type, "error")) {
        set_ref(&s->err, (json_t *)j);
        s->errored = 1;
        return 0;
    }
    return 1;
}

static json_t *an_build(acc_t *s)
{
    json_t *m = s->msg ? json_incref(s->msg) : json_pack("{s:s, s:s, s:s}", "id", "", "type", "message",
                                                          "role", "assistant");
    json_t *content = json_array();
    for (size_t i = 0; i < s->nbl; i++) {
        ablock_t *b = &s->bl[i];
        if (!b->block)
            continue;
        if (b->has_text) json_object_set_new(b->block, "text", jstr(&b->text));
        if (b->has_thinking) json_object_set_new(b->block, "thinking", jstr(&b->thinking));
        if (b->has_sig) json_object_set_new(b->block, "signature", jstr(&b->sig));
        if (b->has_json) {
            json_t *in = buf_len(&b->json) ? json_loadb(buf_ptr(&b->json), buf_len(&b->json), 0, NULL)
                                           : json_object();
            if (in)
                json_object_set_new(b->block, "input", in);
            else {
                char idx[24];
                snprintf(idx, sizeof idx, "%zu", i);
                note(s->a, "the input of content block %s is not complete JSON", idx);
                json_object_set_new(b->block, "input", jstr(&b->json));
            }
        }
        json_array_append(content, b->block);
    }
    json_object_set_new(m, "content", content);
    return m;
}

/* Responses API */

static int rs_event(acc_t *s, const char *type, const json_t *j)
{
    const json_t *v;
    if (!strcmp(type, "response.created") || !strcmp(type, "response.in_progress") ||
        !strcmp(type, "response.completed") || !strcmp(type, "response.incomplete") ||
        !strcmp(type, "response.failed")) {
        if (json_is_object(v = json_object_get(j, "response")))
            set_ref(&s->resp, (json_t *)v);
        if (strcmp(type, "response.created") && strcmp(type, "response.in_progress"))
            s->done = 1;
        if (!strcmp(type, "response.failed"))
            s->errored = 1;
        return 0;
    }
    if (!strcmp(type, "response.output_item.done")) {
        int64_t idx = int_of(json_object_get(j, "output_index"), -1);
        v = json_object_get(j, "item");
        if (idx < 0 || idx > 100000 || !json_is_object(v))
            return 1;
        if (!s->items)
            s->items = json_array();
        while (json_array_size(s->items) <= (size_t)idx)
            json_array_append_new(s->items, json_null());
        json_array_set(s->items, (size_t)idx, (json_t *)v);
        return 0;
    }
    if (!strcmp(type, "response.output_text.delta")) {
        s->rindex = int_of(json_object_get(j, "output_index"), 0);
        return append_js(&s->rtext, json_object_get(j, "delta")) ? -1 : 0;
    }
    if (!strcmp(type, "error")) {
        set_ref(&s->err, (json_t *)j);
        s->errored = 1;
        return 0;
    }
    return 0;                  /* the many other progress events */
}

static json_t *rs_build(acc_t *s)
{
    json_t *r = s->resp ? json_deep_copy(s->resp) : json_pack("{s:s, s:s}", "id", "", "object", "response");
    if (!r)
        return NULL;
    if (!s->done || json_array_size(json_object_get(r, "output")) == 0) {
        /* no final response: the output from the items or the text deltas */
        json_t *out = json_array();
        size_t i;
        json_t *it;
        json_array_foreach(s->items, i, it)
            if (!json_is_null(it))
                json_array_append(out, it);
        if (!json_array_size(out) && buf_len(&s->rtext))
            json_array_append_new(out, json_pack("{s:s, s:s, s:[{s:s, s:o, s:[]}]}", "type", "message",
                                                 "role", "assistant", "content", "type", "output_text",
                                                 "text", jstr(&s->rtext), "annotations"));
        json_object_set_new(r, "output", out);
    }
    return r;
}

/* ---- feeding events ---- */

static int detect(const json_t *j, const char *name)
{
    const char *type = str(j, "type");
    if (type && !strncmp(type, "response.", 9))
        return ASSEMBLE_RESPONSES;
    if (type && (!strcmp(type, "message_start") || !strncmp(type, "content_block_", 14) ||
                 !strncmp(type, "message_", 8)))
        return ASSEMBLE_MESSAGES;
    if (name && (!strcmp(name, "message_start") || !strncmp(name, "content_block_", 14)))
        return ASSEMBLE_MESSAGES;
    const json_t *ch = json_object_get(j, "choices");
    if (json_is_array(ch) || is_str(j, "object", "chat.completion.chunk") ||
        is_str(j, "object", "text_completion")) {
        if (is_str(j, "object", "text_completion"))
            return ASSEMBLE_COMPLETION;
        const json_t *c0 = json_array_get(ch, 0);
        if (c0 && json_is_string(json_object_get(c0, "text")) && !json_object_get(c0, "delta"))
            return ASSEMBLE_COMPLETION;
        return ASSEMBLE_CHAT;
    }
    return ASSEMBLE_UNKNOWN;
}

static int on_sse(void *arg, const sse_event_t *ev)
{
    acc_t *s = arg;
    if (!ev->has_data || (s->done && s->kind != ASSEMBLE_RESPONSES))
        return 0;
    if (ev->data_len == 6 && !memcmp(ev->data, "[DONE]", 6)) {
        s->done = 1;
        return 0;
    }
    json_t *j = merge_parse_object(ev->data, ev->data_len, &s->scratch);
    buf_reset(&s->scratch);
    if (!j) {
        s->bad_events++;
        return 0;
    }
    char name[64] = "";
    if (ev->name_len && ev->name_len < sizeof name) {
        memcpy(name, ev->name, ev->name_len);
        name[ev->name_len] = '\0';
    }
    if (s->kind == ASSEMBLE_UNKNOWN)
        s->kind = detect(j, name);
    int rc = 0;
    const char *type = str(j, "type");
    if (!type)
        type = name;
    switch (s->kind) {
    case ASSEMBLE_CHAT:
    case ASSEMBLE_COMPLETION:
        rc = oa_event(s, j);
        break;
    case ASSEMBLE_MESSAGES:
        rc = an_event(s, type, j);
        break;
    case ASSEMBLE_RESPONSES:
        rc = rs_event(s, type, j);
        break;
    default:
        if (json_object_get(j, "error") || !strcmp(type, "error")) {
            set_ref(&s->err, j);
            s->errored = 1;
        } else if (strcmp(type, "ping"))      /* a keep-alive before the first event */
            s->bad_events++;
    }
    json_decref(j);
    if (rc > 0) {
        s->bad_events++;
        rc = 0;
    }
    return rc;
}

static void acc_free(acc_t *s)
{
    json_decref(s->id); json_decref(s->created); json_decref(s->model);
    json_decref(s->fingerprint); json_decref(s->tier); json_decref(s->usage);
    for (size_t i = 0; i < s->nch; i++) {
        choice_t *c = &s->ch[i];
        json_decref(c->role); json_decref(c->finish);
        json_decref(c->thinking_blocks); json_decref(c->annotations);
        json_decref(c->lp_content); json_decref(c->lp_refusal);
        buf_free(&c->content); buf_free(&c->refusal); buf_free(&c->reasoning);
        buf_free(&c->pending); buf_free(&c->fc_name); buf_free(&c->fc_args); buf_free(&c->text);
        for (size_t k = 0; k < c->ntools; k++) {
            json_decref(c->tools[k].id); json_decref(c->tools[k].type);
            buf_free(&c->tools[k].name); buf_free(&c->tools[k].args);
        }
        free(c->tools);
    }
    free(s->ch);
    json_decref(s->msg);
    for (size_t i = 0; i < s->nbl; i++) {
        ablock_t *b = &s->bl[i];
        json_decref(b->block);
        buf_free(&b->text); buf_free(&b->json); buf_free(&b->thinking); buf_free(&b->sig);
    }
    free(s->bl);
    json_decref(s->resp); json_decref(s->items);
    buf_free(&s->rtext);
    buf_free(&s->scratch);
    json_decref(s->err);
}

/* ---- normalised views ---- */

static void add_tool(json_t *arr, const json_t *id, const json_t *name, const json_t *args_s,
                     const json_t *input)
{
    json_t *in = NULL;
    json_t *args;
    if (input) {                       /* Anthropic: arguments from the input */
        char *d = json_dumps(input, JSON_COMPACT | JSON_ENCODE_ANY);
        args = d ? json_string(d) : json_string("");
        free(d);
        in = json_is_string(input) ? json_null() : json_incref((json_t *)input);
    } else {
        args = json_is_string(args_s) ? json_incref((json_t *)args_s) : json_string("");
        in = json_is_string(args_s) ? json_loadb(json_string_value(args_s), json_string_length(args_s),
                                                 JSON_DECODE_ANY, NULL) : NULL;
        if (!in)
            in = json_null();
    }
    json_array_append_new(arr, json_pack("{s:o, s:o, s:o, s:o}",
                                         "id", json_is_string(id) ? json_incref((json_t *)id) : json_string(""),
                                         "name", json_is_string(name) ? json_incref((json_t *)name) : json_string(""),
                                         "arguments", args, "input", in));
}

/* Text of an OpenAI content value: a string, or the text of its parts. */
static void content_text(const json_t *c, buf_t *out)
{
    if (json_is_string(c)) {
        append_js(out, c);
        return;
    }
    size_t i;
    json_t *p;
    json_array_foreach(c, i, p)
        append_js(out, json_object_get(p, "text"));
}

static int views(assembled_t *a)
{
    buf_t text, reason;
    buf_init(&text, 0);
    buf_init(&reason, 0);
    a->tool_calls = json_array();
    const json_t *msg = a->message, *v;
    size_t i;
    json_t *x;
    switch (a->kind) {
    case ASSEMBLE_CHAT: {
        const json_t *c0 = json_array_get(json_object_get(msg, "choices"), 0);
        const json_t *m = json_object_get(c0, "message");
        content_text(json_object_get(m, "content"), &text);
        if (!(v = json_object_get(m, "reasoning_content")) || !json_is_string(v))
            v = json_object_get(m, "reasoning");
        append_js(&reason, v);
        a->refusal = str(m, "refusal");
        a->finish_reason = str(c0, "finish_reason");
        json_array_foreach(json_object_get(m, "tool_calls"), i, x) {
            const json_t *f = json_object_get(x, "function");
            add_tool(a->tool_calls, json_object_get(x, "id"), json_object_get(f, "name"),
                     json_object_get(f, "arguments"), NULL);
        }
        if (json_is_object(v = json_object_get(m, "function_call")))
            add_tool(a->tool_calls, NULL, json_object_get(v, "name"), json_object_get(v, "arguments"), NULL);
        break;
    }
    case ASSEMBLE_COMPLETION: {
        const json_t *c0 = json_array_get(json_object_get(msg, "choices"), 0);
        append_js(&text, json_object_get(c0, "text"));
        a->finish_reason = str(c0, "finish_reason");
        break;
    }
    case ASSEMBLE_MESSAGES:
        a->finish_reason = str(msg, "stop_reason");
        json_array_foreach(json_object_get(msg, "content"), i, x) {
            const char *t = str(x, "type");
            if (!t)
                continue;
            if (!strcmp(t, "text"))
                append_js(&text, json_object_get(x, "text"));
            else if (!strcmp(t, "thinking"))
                append_js(&reason, json_object_get(x, "thinking"));
            else if (!strcmp(t, "tool_use"))
                add_tool(a->tool_calls, json_object_get(x, "id"), json_object_get(x, "name"), NULL,
                         json_object_get(x, "input") ? json_object_get(x, "input") : json_null());
        }
        break;
    case ASSEMBLE_RESPONSES:
        a->finish_reason = str(msg, "status");
        json_array_foreach(json_object_get(msg, "output"), i, x) {
            const char *t = str(x, "type");
            size_t k;
            json_t *p;
            if (t && !strcmp(t, "message"))
                json_array_foreach(json_object_get(x, "content"), k, p) {
                    if (is_str(p, "type", "output_text"))
                        append_js(&text, json_object_get(p, "text"));
                    else if (is_str(p, "type", "refusal"))
                        a->refusal = str(p, "refusal");
                }
            else if (t && !strcmp(t, "reasoning"))
                json_array_foreach(json_object_get(x, "summary"), k, p)
                    append_js(&reason, json_object_get(p, "text"));
            else if (t && !strcmp(t, "function_call"))
                add_tool(a->tool_calls, json_object_get(x, "call_id"), json_object_get(x, "name"),
                         json_object_get(x, "arguments"), NULL);
        }
        break;
    default:
        break;
    }
    a->text_len = buf_len(&text);
    char *t = malloc(buf_len(&text) + 1), *r = malloc(buf_len(&reason) + 1);
    if (!t || !r) {
        free(t);
        free(r);
        buf_free(&text);
        buf_free(&reason);
        return -1;
    }
    memcpy(t, buf_ptr(&text), buf_len(&text) + 1);
    memcpy(r, buf_ptr(&reason), buf_len(&reason) + 1);
    a->text = t;
    a->reasoning = r;
    buf_free(&text);
    buf_free(&reason);
    return 0;
}

static const char *error_text(const json_t *j)
{
    const json_t *e = json_object_get(j, "error");
    const char *s = str(e, "message");
    if (!s)
        s = json_string_value(e);
    if (!s)
        s = str(j, "message");
    return s ? s : "";
}

static int body_kind(const json_t *j, int status)
{
    if (status >= 400 || (json_object_get(j, "error") && !json_object_get(j, "choices")) ||
        is_str(j, "type", "error"))
        return ASSEMBLE_ERROR;
    if (is_str(j, "type", "message"))
        return ASSEMBLE_MESSAGES;
    if (is_str(j, "object", "response"))
        return ASSEMBLE_RESPONSES;
    if (is_str(j, "object", "text_completion"))
        return ASSEMBLE_COMPLETION;
    const json_t *c0 = json_array_get(json_object_get(j, "choices"), 0);
    if (is_str(j, "object", "chat.completion") || json_object_get(c0, "message"))
        return ASSEMBLE_CHAT;
    if (c0 && json_object_get(c0, "text"))
        return ASSEMBLE_COMPLETION;
    return ASSEMBLE_UNKNOWN;
}

static int protocol_of(const merged_t *m, int side)
{
    const char *p = NULL;
    if (side == ASSEMBLE_UPSTREAM)
        p = str(m->request, "upstream_protocol");
    if (!p)
        p = str(m->request, "protocol");
    return p && !strcmp(p, "anthropic");
}

/* A chunk that is one whole SSE event with LF line ends and at most one
 * data line (what servers send, and what the relay records as one chunk):
 * its fields in place, without the splitter's copies. 1 when handled, 0
 * for the splitter, -1 on memory failure. */
static int sse_inplace(acc_t *s, const char *p, size_t n)
{
    if (n < 2 || p[n - 1] != '\n' || p[n - 2] != '\n' || (unsigned char)p[0] == 0xef || memchr(p, '\r', n))
        return 0;
    sse_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.raw = p;
    ev.raw_len = n;
    ev.name = "";
    const char *e = p + n - 1;                 /* the blank line's LF */
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t len = (size_t)(nl - p);
        const char *colon = memchr(p, ':', len);
        size_t flen = colon ? (size_t)(colon - p) : len;
        const char *v = colon ? colon + 1 : nl;
        if (v < nl && *v == ' ')
            v++;
        if (flen == 4 && !memcmp(p, "data", 4)) {
            if (ev.has_data)
                return 0;                      /* several data lines: the splitter joins them */
            ev.has_data = 1;
            ev.data = v;
            ev.data_len = (size_t)(nl - v);
        } else if (flen == 5 && !memcmp(p, "event", 5)) {
            ev.name = v;
            ev.name_len = (size_t)(nl - v);
        }
        p = nl + 1;
    }
    return on_sse(s, &ev) < 0 ? -1 : 1;
}

/* Feed the side's stream into the SSE splitter. */
static int feed_stream(const merged_t *m, int client, const char *enc, acc_t *s, assembled_t *a)
{
    sse_t *sp = sse_new(MAX_EVENT, on_sse, s);
    if (!sp)
        return fail(a, "out of memory%s", "");
    int rc = 0;
    buf_t tmp, body, dec;
    buf_init(&tmp, 0);
    buf_init(&body, MAX_BODY);
    buf_init(&dec, MAX_BODY);
    size_t i;
    json_t *c;
    json_array_foreach(m->chunks, i, c) {
        const char *p;
        size_t n;
        if (!wanted(c, client))
            continue;
        if (chunk_bytes(c, &tmp, &p, &n)) {
            rc = fail(a, "chunk %s: bad data", "");
            break;
        }
        if (!enc && json_is_true(json_object_get(c, "sse")) && !sse_pending(sp) &&
            !json_object_get(c, "truncated")) {
            int k = sse_inplace(s, p, n);
            if (k < 0) {
                rc = fail(a, "out of memory%s", "");
                break;
            }
            if (k)
                continue;
        }
        if (enc ? buf_append(&body, p, n) : sse_feed(sp, p, n) < 0) {
            rc = fail(a, "out of memory%s", "");
            break;
        }
    }
    if (!rc && enc) {
        if (decode(a, enc, &body, &dec))
            rc = -1;
        else if (sse_feed(sp, buf_ptr(&dec), buf_len(&dec)) < 0)
            rc = fail(a, "out of memory%s", "");
    }
    if (!rc) {
        sse_finish(sp);
        if (sse_pending(sp))            /* a last event without its blank line */
            sse_feed(sp, "\n\n", 2);
    }
    sse_free(sp);
    buf_free(&tmp);
    buf_free(&body);
    buf_free(&dec);
    return rc;
}

int assemble_exchange(const merged_t *m, int side, assembled_t *a)
{
    memset(a, 0, sizeof *a);
    a->protocol = protocol_of(m, side);
    int client = use_client(m, side);
    int64_t st = int_of(json_object_get(m->response, "status"), 0);
    if (!st && m->end)
        st = int_of(json_object_get(m->end, "status"), 0);
    a->status = (int)st;
    size_t nused = 0, i;
    int sse = 0;
    json_t *c;
    json_array_foreach(m->chunks, i, c)
        if (wanted(c, client)) {
            nused++;
            if (json_is_true(json_object_get(c, "sse")))
                sse = 1;
        }
    if (!nused)
        return fail(a, "%s", m->response ? "the response has no body" : "no response was captured");
    const char *enc = client ? NULL : header(m->response, "Content-Encoding");
    if (enc && (!*enc || !strcasecmp(enc, "identity")))
        enc = NULL;
    const char *ctype = client ? NULL : header(m->response, "Content-Type");
    a->streamed = sse || (ctype && strcasestr(ctype, "text/event-stream"));
    if (a->streamed) {
        acc_t s;
        memset(&s, 0, sizeof s);
        s.a = a;
        buf_init(&s.rtext, 0);
        if (feed_stream(m, client, enc, &s, a)) {
            acc_free(&s);
            return -1;
        }
        a->kind = s.kind;
        switch (s.kind) {
        case ASSEMBLE_CHAT:
        case ASSEMBLE_COMPLETION:
            a->message = oa_build(&s);
            a->complete = s.done || (s.nch > 0 && !s.errored && s.ch[0].finish);
            break;
        case ASSEMBLE_MESSAGES:
            a->message = an_build(&s);
            a->complete = s.done;
            break;
        case ASSEMBLE_RESPONSES:
            a->message = rs_build(&s);
            a->complete = s.done && !s.errored;
            break;
        default:
            break;
        }
        if (s.errored) {
            a->complete = 0;
            a->error_body = 1;
            note(a, "error event in the stream: %.200s", error_text(s.err));
            if (!a->message) {
                a->message = json_incref(s.err);
                a->kind = ASSEMBLE_ERROR;
            }
        } else if (!a->message) {
            acc_free(&s);
            return fail(a, "%s", s.bad_events ? "the stream's events are not of a known API"
                                              : "the stream has no events");
        } else if (!a->complete)
            note(a, "the stream ended before its terminal event%s", "");
        if (s.bad_events && !a->error[0]) {
            char k[24];
            snprintf(k, sizeof k, "%d", s.bad_events);
            note(a, "%s stream events could not be read", k);
        }
        acc_free(&s);
    } else {
        buf_t body, dec;
        buf_init(&body, MAX_BODY);
        buf_init(&dec, MAX_BODY);
        if (assemble_body(m, side, &body)) {
            buf_free(&body);
            return fail(a, "the body cannot be read (bad base64 or too large)%s", "");
        }
        const buf_t *use = &body;
        if (enc) {
            if (decode(a, enc, &body, &dec)) {
                buf_free(&body);
                buf_free(&dec);
                return -1;
            }
            use = &dec;
        }
        json_error_t je;
        a->message = json_loadb(buf_ptr(use), buf_len(use), JSON_ALLOW_NUL, &je);
        buf_free(&body);
        buf_free(&dec);
        if (!a->message)
            return fail(a, "the response body is not JSON: %.200s", je.text);
        a->kind = body_kind(a->message, a->status);
        a->complete = 1;
        if (a->kind == ASSEMBLE_ERROR) {
            a->error_body = 1;
            note(a, "error response: %.200s", error_text(a->message));
        }
    }
    if (views(a)) {
        assemble_free(a);
        return fail(a, "out of memory%s", "");
    }
    return 0;
}

void assemble_free(assembled_t *a)
{
    if (!a)
        return;
    json_decref(a->message);
    json_decref(a->tool_calls);
    free((char *)a->text);
    free((char *)a->reasoning);
    a->message = a->tool_calls = NULL;
    a->text = a->reasoning = NULL;
    a->finish_reason = a->refusal = NULL;
}
