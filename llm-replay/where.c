/* where.c — --where 'JQ': a jq program (libjq), compiled once, run over
 * each merged exchange; the exchange is replayed (or served) when the
 * program's first output is neither false nor null. The exchange as jq
 * sees it: {id, complete, request, response, end, chunks} where request,
 * response and end are the events as recorded (null when missing) and
 * chunks is the number of chunk events. */
#include "replay.h"
#include <jq.h>
#include <stdlib.h>
#include <string.h>

struct where {
    jq_state *jq;
    char msg[256];
};

static void on_error(void *data, jv msg)
{
    struct where *w = data;
    if (jv_get_kind(msg) == JV_KIND_STRING)
        snprintf(w->msg, sizeof w->msg, "%s", jv_string_value(msg));
    else if (!w->msg[0])
        snprintf(w->msg, sizeof w->msg, "jq error");
    jv_free(msg);
}

where_t *where_compile(const char *prog, char *err, size_t errlen)
{
    where_t *w = calloc(1, sizeof *w);
    if (!w || !(w->jq = jq_init())) {
        free(w);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    jq_set_error_cb(w->jq, on_error, w);
    if (!jq_compile(w->jq, prog)) {
        snprintf(err, errlen, "--where: %s", w->msg[0] ? w->msg : "does not compile");
        where_free(w);
        return NULL;
    }
    return w;
}

void where_free(where_t *w)
{
    if (!w) return;
    jq_teardown(&w->jq);
    free(w);
}

static jv exchange_jv(const merged_t *m)
{
    json_t *o = json_pack("{s:s, s:b, s:O?, s:O?, s:O?, s:I}", "id", m->id, "complete", m->complete,
                          "request", m->request, "response", m->response, "end", m->end,
                          "chunks", (json_int_t)json_array_size(m->chunks));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    jv v = s ? jv_parse(s) : jv_invalid_with_msg(jv_string("out of memory"));
    free(s);
    return v;
}

int where_test(where_t *w, const merged_t *m, char *err, size_t errlen)
{
    w->msg[0] = 0;
    jv in = exchange_jv(m);
    if (!jv_is_valid(in)) {
        jv_free(in);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    jq_start(w->jq, in, 0);
    jv r = jq_next(w->jq);
    int pass;
    if (jv_is_valid(r)) {
        jv_kind k = jv_get_kind(r);
        pass = k != JV_KIND_FALSE && k != JV_KIND_NULL;
    } else if (jv_invalid_has_msg(jv_copy(r))) {
        jv msg = jv_invalid_get_msg(jv_copy(r));
        snprintf(err, errlen, "--where: %s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "jq error");
        jv_free(msg);
        pass = -1;
    } else {
        pass = 0;
    }
    jv_free(r);
    return pass;
}
