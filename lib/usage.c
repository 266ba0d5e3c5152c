/* usage.c — token usage, finish reason and model from responses of both
 * protocols (OpenAI chat/completions, completions, embeddings, responses;
 * Anthropic messages), whole bodies and stream events alike.
 * One mapping serves all shapes because their field names do not clash:
 *   prompt_tokens | input_tokens                        → input
 *   completion_tokens | output_tokens                   → output
 *   total_tokens                                        → total
 *   prompt_tokens_details.cached_tokens |
 *   input_tokens_details.cached_tokens |
 *   cache_read_input_tokens                             → cached
 *   cache_creation_input_tokens                         → cache_creation
 *   completion_tokens_details.reasoning_tokens |
 *   output_tokens_details.reasoning_tokens              → reasoning
 * Each field present with a usable number replaces the value held (stream
 * usage is cumulative). Anything else — bad JSON, wrong types, negative or
 * huge numbers — is ignored. */
#include "usage.h"
#include "jsonscan.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MAX_TOKENS 9007199254740992.0 /* 2^53: larger counts are not real */

void usage_init(usage_t *u)
{
    u->input_tokens = u->output_tokens = u->cached_tokens = -1;
    u->cache_creation_tokens = u->reasoning_tokens = u->total_tokens = -1;
    u->seen = 0;
    u->finish_reason[0] = '\0';
    u->model[0] = '\0';
}

static json_t *parse(const char *p, size_t len)
{
    if (!p || len == 0)
        return NULL;
    json_t *j = json_loadb(p, len, JSON_DECODE_ANY, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* A token count: a non-negative integer (or integral real) below 2^53. */
static int count_of(const json_t *v, int64_t *out)
{
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < 0 || x > ((json_int_t)1 << 53))
            return 0;
        *out = (int64_t)x;
        return 1;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (!isfinite(x) || x < 0 || x > MAX_TOKENS || x != floor(x))
            return 0;
        *out = (int64_t)x;
        return 1;
    }
    return 0;
}

/* Set *dst from obj[key] if usable; 1 when set. */
static int take(int64_t *dst, const json_t *obj, const char *key)
{
    int64_t v;
    if (!json_is_object(obj) || !count_of(json_object_get(obj, key), &v))
        return 0;
    *dst = v;
    return 1;
}

static int take2(int64_t *dst, const json_t *obj, const char *outer, const char *key)
{
    return take(dst, json_object_get(obj, outer), key);
}

/* Apply one usage object; 1 if it held any known field. */
static int apply_usage(usage_t *u, const json_t *us)
{
    if (!json_is_object(us))
        return 0;
    int n = 0;
    n += take(&u->input_tokens, us, "prompt_tokens");
    n += take(&u->input_tokens, us, "input_tokens");
    n += take(&u->output_tokens, us, "completion_tokens");
    n += take(&u->output_tokens, us, "output_tokens");
    n += take(&u->total_tokens, us, "total_tokens");
    n += take2(&u->cached_tokens, us, "prompt_tokens_details", "cached_tokens");
    n += take2(&u->cached_tokens, us, "input_tokens_details", "cached_tokens");
    n += take(&u->cached_tokens, us, "cache_read_input_tokens");
    n += take(&u->cache_creation_tokens, us, "cache_creation_input_tokens");
    n += take2(&u->reasoning_tokens, us, "completion_tokens_details", "reasoning_tokens");
    n += take2(&u->reasoning_tokens, us, "output_tokens_details", "reasoning_tokens");
    if (n > 0)
        u->seen = 1;
    return n > 0;
}

static void copy_str(char *dst, size_t size, const json_t *v)
{
    if (json_is_string(v) && json_string_length(v) > 0)
        snprintf(dst, size, "%s", json_string_value(v));
}

static void take_model(usage_t *u, const json_t *obj)
{
    copy_str(u->model, sizeof u->model, json_object_get(obj, "model"));
}

static void take_finish(usage_t *u, const json_t *v)
{
    copy_str(u->finish_reason, sizeof u->finish_reason, v);
}

/* finish_reason of the first choice (index 0, or no index given). */
static void take_choice_finish(usage_t *u, const json_t *choices)
{
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c) {
        const json_t *idx = json_object_get(c, "index");
        if (idx && !(json_is_integer(idx) && json_integer_value(idx) == 0))
            continue;
        take_finish(u, json_object_get(c, "finish_reason"));
    }
}

/* A Responses API response object: usage, model, status. */
static int apply_response(usage_t *u, const json_t *r)
{
    if (!json_is_object(r))
        return 0;
    take_model(u, r);
    const json_t *reason = json_object_get(json_object_get(r, "incomplete_details"), "reason");
    if (json_is_string(reason))
        take_finish(u, reason);
    else
        take_finish(u, json_object_get(r, "status"));
    return apply_usage(u, json_object_get(r, "usage"));
}

/* ---- the fast path: read the members straight from the bytes ----
 * Most bodies hold plain integers and strings without escapes; those are
 * read from the spans jsonscan finds, with no parse tree. Anything else
 * (a real number, a negative one, an escaped string, several choices)
 * answers FAST_NO and the body is parsed by jansson, so both paths give
 * the same result. */
#define FAST_NO (-1)

static const char *const body_keys[] = { "object", "model", "usage", "stop_reason", "status",
                                         "incomplete_details", "choices" };
enum { BK_OBJECT, BK_MODEL, BK_USAGE, BK_STOP, BK_STATUS, BK_INCOMPLETE, BK_CHOICES, NBK };

/* A count: 1 set, 0 not a number (ignored, as count_of does), FAST_NO. */
static int fast_count(jsonscan_span_t v, int64_t *dst)
{
    if (!v.p) return 0;
    if (v.p[0] == '-' || (v.p[0] >= '0' && v.p[0] <= '9')) {
        if (v.n > 15) return FAST_NO;                   /* 2^53 has 16 digits: let jansson judge */
        int64_t x = 0;
        for (size_t i = 0; i < v.n; i++) {
            if (v.p[i] < '0' || v.p[i] > '9') return FAST_NO;
            x = x * 10 + (v.p[i] - '0');
        }
        *dst = x;
        return 1;
    }
    return 0;
}

/* A string member's text into dst (as copy_str): 1 taken, 0 not a
 * non-empty string, FAST_NO when it holds escapes. */
static int fast_str(jsonscan_span_t v, char *dst, size_t size)
{
    if (!v.p || v.p[0] != '"') return 0;
    if (memchr(v.p, '\\', v.n)) return FAST_NO;
    size_t n = v.n - 2;
    if (n == 0) return 0;
    if (n > size - 1) n = size - 1;
    memcpy(dst, v.p + 1, n);
    dst[n] = 0;
    return 1;
}

/* obj[outer][key] of an object span */
static int fast_count2(jsonscan_span_t obj, const char *outer, const char *key, int64_t *dst)
{
    const char *k1[] = { outer }, *k2[] = { key };
    jsonscan_span_t o, v;
    if (jsonscan_members(obj.p, obj.n, k1, &o, 1, NULL) != 0 || !o.p || o.p[0] != '{') return 0;
    if (jsonscan_members(o.p, o.n, k2, &v, 1, NULL) != 0) return 0;
    return fast_count(v, dst);
}

static int fast_usage(usage_t *u, jsonscan_span_t us)
{
    static const char *const k[] = { "prompt_tokens", "input_tokens", "completion_tokens", "output_tokens",
        "total_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "prompt_tokens_details",
        "input_tokens_details", "completion_tokens_details", "output_tokens_details" };
    jsonscan_span_t v[11];
    if (!us.p || us.p[0] != '{') return 0;
    if (jsonscan_members(us.p, us.n, k, v, 11, NULL) != 0) return FAST_NO;
    int n = 0, r;
#define TAKE(dst, span) do { if ((r = fast_count(span, dst)) < 0) return FAST_NO; n += r; } while (0)
#define TAKE2(dst, i, key) do { if (v[i].p) { if ((r = fast_count2(us, k[i], key, dst)) < 0) return FAST_NO; \
                                              n += r; } } while (0)
    TAKE(&u->input_tokens, v[0]);
    TAKE(&u->input_tokens, v[1]);
    TAKE(&u->output_tokens, v[2]);
    TAKE(&u->output_tokens, v[3]);
    TAKE(&u->total_tokens, v[4]);
    TAKE2(&u->cached_tokens, 7, "cached_tokens");
    TAKE2(&u->cached_tokens, 8, "cached_tokens");
    TAKE(&u->cached_tokens, v[5]);
    TAKE(&u->cache_creation_tokens, v[6]);
    TAKE2(&u->reasoning_tokens, 9, "reasoning_tokens");
    TAKE2(&u->reasoning_tokens, 10, "reasoning_tokens");
#undef TAKE
#undef TAKE2
    if (n > 0) u->seen = 1;
    return n > 0;
}

/* The value of the first "finish_reason" member in the choices array
 * span, when it is a string (quotes included) or null; p = NULL else. */
static jsonscan_span_t first_finish_reason(jsonscan_span_t ch)
{
    jsonscan_span_t none = { NULL, 0 };
    const char *c = ch.p, *e = c + ch.n;
    const char *k = memmem(c, (size_t)(e - c), "\"finish_reason\":", 16);
    if (!k) return none;
    const char *v = k + 16;
    while (v < e && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')) v++;
    if (v < e && *v == '"') {
        const char *q = v + 1;
        while (q < e && *q != '"') q += (*q == '\\') ? 2 : 1;
        if (q < e) return (jsonscan_span_t){ v, (size_t)(q + 1 - v) };
    } else if (e - v >= 4 && !memcmp(v, "null", 4)) {
        return (jsonscan_span_t){ v, 4 };
    }
    return none;
}

/* finish_reason from the choices array span, as reduce_body takes it for
 * jansson */
static int fast_choice_finish(usage_t *u, jsonscan_span_t ch)
{
    jsonscan_span_t v = first_finish_reason(ch);
    if (!v.p || v.p[0] != '"') return 0;
    return fast_str(v, u->finish_reason, sizeof u->finish_reason);   /* escapes: FAST_NO */
}

/* The fast path over a body's member spans: found (0/1) or FAST_NO. */
static int fast_body(usage_t *u, const jsonscan_span_t *sp)
{
    char obj[16] = "";
    if (fast_str(sp[BK_OBJECT], obj, sizeof obj) < 0) return FAST_NO;
    if (fast_str(sp[BK_MODEL], u->model, sizeof u->model) < 0) return FAST_NO;
    if (!strcmp(obj, "response")) {
        if (sp[BK_INCOMPLETE].p && sp[BK_INCOMPLETE].p[0] != 'n') return FAST_NO;  /* not null: jansson */
        if (fast_str(sp[BK_STATUS], u->finish_reason, sizeof u->finish_reason) < 0) return FAST_NO;
        return fast_usage(u, sp[BK_USAGE]);
    }
    if (sp[BK_CHOICES].p && fast_choice_finish(u, sp[BK_CHOICES]) < 0) return FAST_NO;
    if (fast_str(sp[BK_STOP], u->finish_reason, sizeof u->finish_reason) < 0) return FAST_NO;
    return fast_usage(u, sp[BK_USAGE]);
}

/* The members usage needs, copied into a small document for jansson:
 * parsing a whole response (the answer's text, tool arguments, logprobs)
 * just to read these costs much more. */
static char *reduce_body(const jsonscan_span_t *sp, size_t *outlen)
{
    size_t cap = 64;
    for (int i = 0; i < BK_CHOICES; i++) if (sp[i].p) cap += sp[i].n + strlen(body_keys[i]) + 4;
    const char *fr = NULL; size_t frn = 0;
    if (sp[BK_CHOICES].p) {             /* choices: the first choice's finish_reason */
        jsonscan_span_t v = first_finish_reason(sp[BK_CHOICES]);
        fr = v.p; frn = v.n;
        cap += frn + 40;
    }
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    *o++ = '{';
    int first = 1;
    for (int i = 0; i < BK_CHOICES; i++) {
        if (!sp[i].p) continue;
        o += sprintf(o, "%s\"%s\":", first ? "" : ",", body_keys[i]);
        memcpy(o, sp[i].p, sp[i].n);
        o += sp[i].n;
        first = 0;
    }
    if (fr) {
        o += sprintf(o, "%s\"choices\":[{\"finish_reason\":", first ? "" : ",");
        memcpy(o, fr, frn);
        o += frn;
        o += sprintf(o, "}]");
    }
    *o++ = '}';
    *outlen = (size_t)(o - out);
    return out;
}

static int usage_from_json(usage_t *u, json_t *j)
{
    int found;
    const json_t *type = json_object_get(j, "object");
    if (json_is_string(type) && strcmp(json_string_value(type), "response") == 0) {
        found = apply_response(u, j);
    } else {
        take_model(u, j);
        take_choice_finish(u, json_object_get(j, "choices"));
        take_finish(u, json_object_get(j, "stop_reason"));
        found = apply_usage(u, json_object_get(j, "usage"));
    }
    json_decref(j);
    return found;
}

int usage_from_body(usage_t *u, const char *body, size_t len)
{
    jsonscan_span_t sp[NBK];
    if (!body || len == 0) return 0;
    if (jsonscan_members(body, len, body_keys, sp, NBK, NULL) != 0) {
        json_t *j = parse(body, len);      /* not one object by jsonscan: as jansson sees it */
        return j ? usage_from_json(u, j) : 0;
    }
    usage_t t = *u;
    int found = fast_body(&t, sp);
    if (found != FAST_NO) { *u = t; return found; }
    size_t rl = 0;
    char *reduced = reduce_body(sp, &rl);
    json_t *j = reduced ? parse(reduced, rl) : parse(body, len);
    free(reduced);
    return j ? usage_from_json(u, j) : 0;
}

static int str_nonempty(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static int is(const char *type, const char *name)
{
    return strcmp(type, name) == 0;
}

/* Anthropic events; returns 1 for content. */
static int anthropic_event(usage_t *u, const char *type, const json_t *j)
{
    if (is(type, "message_start")) {
        const json_t *m = json_object_get(j, "message");
        take_model(u, m);
        apply_usage(u, json_object_get(m, "usage"));
        return 0;
    }
    if (is(type, "message_delta")) {
        apply_usage(u, json_object_get(j, "usage"));
        take_finish(u, json_object_get(json_object_get(j, "delta"), "stop_reason"));
        return 0;
    }
    if (is(type, "content_block_delta")) {
        const json_t *t = json_object_get(json_object_get(j, "delta"), "type");
        const char *dt = json_is_string(t) ? json_string_value(t) : "";
        return is(dt, "text_delta") || is(dt, "input_json_delta") || is(dt, "thinking_delta");
    }
    if (is(type, "content_block_start")) {
        const json_t *b = json_object_get(j, "content_block");
        const json_t *t = json_object_get(b, "type");
        const char *bt = json_is_string(t) ? json_string_value(t) : "";
        if (is(bt, "tool_use") || is(bt, "server_tool_use"))
            return 1;
        return str_nonempty(json_object_get(b, "text")) ||
               str_nonempty(json_object_get(b, "thinking"));
    }
    return 0;
}

/* Responses API stream events; returns 1 for content. */
static int responses_event(usage_t *u, const char *type, const json_t *j)
{
    static const char *const content[] = {
        "response.output_text.delta", "response.function_call_arguments.delta",
        "response.reasoning_summary_text.delta", "response.refusal.delta",
        "response.reasoning_text.delta",
    };
    for (size_t i = 0; i < sizeof content / sizeof content[0]; i++)
        if (is(type, content[i]))
            return 1;
    if (is(type, "response.completed") || is(type, "response.incomplete") ||
        is(type, "response.failed"))
        apply_response(u, json_object_get(j, "response"));
    else if (is(type, "response.created") || is(type, "response.in_progress"))
        take_model(u, json_object_get(j, "response"));
    return 0;
}

static int delta_has_content(const json_t *d)
{
    if (!json_is_object(d))
        return 0;
    if (str_nonempty(json_object_get(d, "content")) ||
        str_nonempty(json_object_get(d, "refusal")) ||
        str_nonempty(json_object_get(d, "reasoning_content")) ||
        str_nonempty(json_object_get(d, "reasoning")))
        return 1;
    const json_t *tc = json_object_get(d, "tool_calls");
    return json_is_array(tc) && json_array_size(tc) > 0;
}

/* OpenAI chat/completions or completions stream chunk. */
static int openai_chunk(usage_t *u, const json_t *j)
{
    take_model(u, j);
    const json_t *choices = json_object_get(j, "choices");
    int content = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(choices, i, c) {
        if (delta_has_content(json_object_get(c, "delta")) ||
            str_nonempty(json_object_get(c, "text")))
            content = 1;
    }
    take_choice_finish(u, choices);
    apply_usage(u, json_object_get(j, "usage"));
    return content;
}

int usage_from_event(usage_t *u, const char *name, size_t name_len,
                     const char *data, size_t data_len)
{
    if (data_len == 6 && memcmp(data, "[DONE]", 6) == 0)
        return 0;
    json_t *j = parse(data, data_len);
    if (!j)
        return 0;
    char type[96] = "";
    const json_t *t = json_object_get(j, "type");
    if (json_is_string(t))
        snprintf(type, sizeof type, "%s", json_string_value(t));
    else if (name && name_len > 0 && name_len < sizeof type) {
        memcpy(type, name, name_len);
        type[name_len] = '\0';
    }
    int content;
    if (strncmp(type, "response.", 9) == 0)
        content = responses_event(u, type, j);
    else if (type[0] && !json_object_get(j, "choices"))
        content = anthropic_event(u, type, j);
    else
        content = openai_chunk(u, j);
    json_decref(j);
    return content;
}

int usage_is_usage_only_chunk(const char *data, size_t len)
{
    json_t *j = parse(data, len);
    if (!j)
        return 0;
    const json_t *c = json_object_get(j, "choices");
    int yes = json_is_array(c) && json_array_size(c) == 0 &&
              json_is_object(json_object_get(j, "usage"));
    json_decref(j);
    return yes;
}

static int put(json_t *o, const char *key, int64_t v)
{
    if (v < 0)
        return 0;
    return json_object_set_new(o, key, json_integer((json_int_t)v));
}

json_t *usage_to_json(const usage_t *u)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int64_t total = u->total_tokens;
    if (total < 0 && u->input_tokens >= 0 && u->output_tokens >= 0)
        total = u->input_tokens + u->output_tokens;
    if (put(o, "input_tokens", u->input_tokens) ||
        put(o, "output_tokens", u->output_tokens) ||
        put(o, "cached_tokens", u->cached_tokens) ||
        put(o, "cache_creation_tokens", u->cache_creation_tokens) ||
        put(o, "reasoning_tokens", u->reasoning_tokens) ||
        put(o, "total_tokens", total)) {
        json_decref(o);
        return NULL;
    }
    return o;
}
