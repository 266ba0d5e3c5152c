/* view.c — an answer reduced to what llm-replay compares, the same way for
 * the recorded exchange and for the replayed one (which send.c turns into
 * capture events first): the response lib/assemble rebuilds, its shape,
 * text, tool calls and finish reason; the usage the client saw (from the
 * bytes it received, so a usage chunk the relay withheld does not count);
 * the end event's times. */
#include "replay.h"
#include "assemble.h"
#include "sse.h"
#include <stdlib.h>
#include <string.h>

#define BODY_CAP ((size_t)256 << 20)

static int on_event(void *arg, const sse_event_t *e)
{
    if (e->has_data) usage_from_event(arg, e->name, e->name_len, e->data, e->data_len);
    return 0;
}

/* The bytes the client received; *sse when they are an event stream.
 * Usage from them into u. 0 or -1. */
static int client_bytes(const merged_t *m, buf_t *body, int *sse, usage_t *u)
{
    int translated = rec_has_client_side(m->chunks);
    size_t i;
    json_t *c;
    *sse = 0;
    json_array_foreach(m->chunks, i, c)
        if (rec_chunk_on(c, REC_CLIENT, translated) && json_is_true(json_object_get(c, "sse"))) *sse = 1;
    sse_t *p = *sse ? sse_new(0, on_event, u) : NULL;
    if (*sse && !p) return -1;
    int rc = 0;
    json_array_foreach(m->chunks, i, c) {
        if (!rec_chunk_on(c, REC_CLIENT, translated)) continue;
        size_t from = buf_len(body);
        if (rec_bytes(c, "data", "data_encoding", body)) { rc = -1; break; }
        if (p && sse_feed(p, buf_ptr(body) + from, buf_len(body) - from) < 0) { rc = -1; break; }
    }
    if (p) {
        sse_finish(p);
        sse_free(p);
    } else if (!rc && buf_len(body)) {
        usage_from_body(u, buf_ptr(body), buf_len(body));
    }
    return rc;
}

/* [{name, arguments}] with arguments parsed when they are JSON */
static json_t *tools_of(const json_t *calls)
{
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        json_t *args = json_object_get(c, "input");
        if (!args || json_is_null(args)) {
            const char *s = jstr(c, "arguments");
            json_t *parsed = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
            args = parsed ? parsed : json_string(s ? s : "");
        } else {
            json_incref(args);
        }
        const char *name = jstr(c, "name");
        json_array_append_new(out, json_pack("{s:s?, s:o}", "name", name, "arguments", args));
    }
    return out;
}

static char *dupstr(const char *s) { return s ? strdup(s) : NULL; }

int view_of(const merged_t *m, view_t *v)
{
    memset(v, 0, sizeof *v);
    usage_init(&v->usage);
    v->ttft_us = v->total_us = -1;
    v->status = (int)jint(m->response, "status", jint(m->end, "status", 0));
    json_t *timing = json_object_get(m->end, "timing");
    v->ttft_us = jint(timing, "ttft_us", -1);
    v->total_us = jint(timing, "total_us", -1);

    buf_t body;
    buf_init(&body, BODY_CAP);
    int sse = 0;
    if (client_bytes(m, &body, &sse, &v->usage)) {
        buf_free(&body);
        return -1;
    }
    v->streamed = sse;

    assembled_t a;
    memset(&a, 0, sizeof a);
    if (m->response && assemble_exchange(m, ASSEMBLE_CLIENT, &a) == 0) {
        v->assembled = 1;
        v->streamed = a.streamed;
        v->text_len = a.text ? a.text_len : 0;
        if ((v->text = malloc(v->text_len + 1))) {
            memcpy(v->text, a.text ? a.text : "", v->text_len);
            v->text[v->text_len] = 0;
        }
        v->tools = tools_of(a.tool_calls);
        v->finish = dupstr(a.finish_reason);
        /* usage is compared on its own, as the client saw it: a usage
         * the relay asked for and kept is in the assembled message only */
        json_t *msg = json_object_get(a.message, "usage") ? json_copy(a.message) : json_incref(a.message);
        if (msg) json_object_del(msg, "usage");
        v->shape = shape_of(msg);
        json_decref(msg);
        assemble_free(&a);
    } else {
        /* not a response assemble knows (an error body, plain text): its
         * shape is the body's */
        json_t *j = buf_len(&body) ? json_loadb(buf_ptr(&body), buf_len(&body), 0, NULL) : NULL;
        v->shape = j ? shape_of(j) : strdup(buf_len(&body) ? "bytes" : "empty");
        json_decref(j);
        v->tools = json_array();
    }
    buf_free(&body);
    if (!v->shape || !v->tools || (v->assembled && !v->text)) {
        view_free(v);
        return -1;
    }
    return 0;
}

void view_free(view_t *v)
{
    free(v->text);
    json_decref(v->tools);
    free(v->finish);
    free(v->shape);
    free(v->error);
    memset(v, 0, sizeof *v);
}
