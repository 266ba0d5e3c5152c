/* where.c — --where 'JQ': a jq program, compiled once, run over each
 * merged exchange; the exchange is counted when its first output is
 * neither false nor null. The exchange as jq sees it:
 *   {id, ts, day, hour, model, user, upstream, route, protocol, method,
 *    path, stream, status, outcome, complete,
 *    usage: {input_tokens, output_tokens, cached_tokens, cache_write_tokens},
 *    timing: {ttfb_us, ttft_us, total_us}, attempts}
 * (absent values are null; input_tokens counts every prompt token). */
#include "stats.h"
#include "clock.h"
#include <jq.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

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

static jv str(const char *s) { return s ? jv_string(s) : jv_null(); }
static jv num(int64_t v) { return v >= 0 ? jv_number((double)v) : jv_null(); }

static jv exch_jv(const exch_t *e)
{
    char ts[RFC3339_LEN];
    clock_rfc3339(e->ts_us, ts);
    int64_t in, out, cached, cw;
    exch_tokens(e, &in, &out, &cached, &cw);
    int known = e->in >= 0 || e->out >= 0;
    jv o = jv_object();
    o = jv_object_set(o, jv_string("id"), str(e->id));
    o = jv_object_set(o, jv_string("ts"), jv_string(ts));
    for (int d = 0; d < DIM_N; d++)
        if (d != DIM_STATUS) o = jv_object_set(o, jv_string(dim_names[d]), str(e->key[d]));
    o = jv_object_set(o, jv_string("protocol"), str(e->protocol));
    o = jv_object_set(o, jv_string("method"), str(e->method));
    o = jv_object_set(o, jv_string("path"), str(e->path));
    o = jv_object_set(o, jv_string("stream"), jv_bool(e->stream));
    o = jv_object_set(o, jv_string("status"), num(e->status));
    o = jv_object_set(o, jv_string("outcome"), str(e->outcome));
    o = jv_object_set(o, jv_string("complete"), jv_bool(e->complete));
    jv u = jv_object();
    u = jv_object_set(u, jv_string("input_tokens"), known ? num(in) : jv_null());
    u = jv_object_set(u, jv_string("output_tokens"), known ? num(out) : jv_null());
    u = jv_object_set(u, jv_string("cached_tokens"), known ? num(cached) : jv_null());
    u = jv_object_set(u, jv_string("cache_write_tokens"), known ? num(cw) : jv_null());
    o = jv_object_set(o, jv_string("usage"), u);
    jv t = jv_object();
    t = jv_object_set(t, jv_string("ttfb_us"), num(e->ttfb_us));
    t = jv_object_set(t, jv_string("ttft_us"), num(e->ttft_us));
    t = jv_object_set(t, jv_string("total_us"), num(e->total_us));
    o = jv_object_set(o, jv_string("timing"), t);
    o = jv_object_set(o, jv_string("attempts"), jv_number((double)e->attempts));
    return o;
}

int where_test(where_t *w, const exch_t *e, char *err, size_t errlen)
{
    w->msg[0] = 0;
    jq_start(w->jq, exch_jv(e), 0);
    jv r = jq_next(w->jq);
    int pass;
    if (jv_is_valid(r)) {
        jv_kind k = jv_get_kind(r);
        pass = k != JV_KIND_FALSE && k != JV_KIND_NULL;
    } else if (jv_invalid_has_msg(jv_copy(r))) {
        jv m = jv_invalid_get_msg(jv_copy(r));
        snprintf(err, errlen, "--where: %s", jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "jq error");
        jv_free(m);
        pass = -1;
    } else {
        pass = 0;                    /* no output (empty): not counted */
    }
    jv_free(r);
    return pass;
}
