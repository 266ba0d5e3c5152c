/* where.c — the merged exchange as a --where program sees it (the filter
 * itself is lib/jqwhere.c):
 *   {id, ts, day, hour, model, user, upstream, route, protocol, method,
 *    path, stream, status, outcome, complete,
 *    usage: {input_tokens, output_tokens, cached_tokens, cache_write_tokens},
 *    timing: {ttfb_us, ttft_us, total_us}, attempts}
 * (absent values are null; input_tokens counts every prompt token). */
#include "stats.h"
#include "clock.h"
#include <string.h>

/* strings unchecked: jq replaces bytes that are not UTF-8, as before */
static json_t *str(const char *s) { return s ? json_stringn_nocheck(s, strlen(s)) : json_null(); }
static json_t *num(int64_t v) { return v >= 0 ? json_integer((json_int_t)v) : json_null(); }

json_t *where_row(const exch_t *e)
{
    char ts[RFC3339_LEN];
    clock_rfc3339(e->ts_us, ts);
    int64_t in, out, cached, cw;
    exch_tokens(e, &in, &out, &cached, &cw);
    int known = e->in >= 0 || e->out >= 0;
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "id", str(e->id));
    bad |= json_object_set_new(o, "ts", json_string(ts));
    for (int d = 0; d < DIM_N; d++)
        if (d != DIM_STATUS) bad |= json_object_set_new(o, dim_names[d], str(e->key[d]));
    bad |= json_object_set_new(o, "protocol", str(e->protocol));
    bad |= json_object_set_new(o, "method", str(e->method));
    bad |= json_object_set_new(o, "path", str(e->path));
    bad |= json_object_set_new(o, "stream", json_boolean(e->stream));
    bad |= json_object_set_new(o, "status", num(e->status));
    bad |= json_object_set_new(o, "outcome", str(e->outcome));
    bad |= json_object_set_new(o, "complete", json_boolean(e->complete));
    json_t *u = json_pack("{s:o, s:o, s:o, s:o}",
                          "input_tokens", known ? num(in) : json_null(),
                          "output_tokens", known ? num(out) : json_null(),
                          "cached_tokens", known ? num(cached) : json_null(),
                          "cache_write_tokens", known ? num(cw) : json_null());
    bad |= json_object_set_new(o, "usage", u);
    json_t *t = json_pack("{s:o, s:o, s:o}", "ttfb_us", num(e->ttfb_us), "ttft_us", num(e->ttft_us),
                          "total_us", num(e->total_us));
    bad |= json_object_set_new(o, "timing", t);
    bad |= json_object_set_new(o, "attempts", json_integer((json_int_t)e->attempts));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
