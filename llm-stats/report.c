/* report.c — the JSON document of --json and of the served usage API:
 *   {since, until, tz, by, prices:{taken, source},
 *    lines, malformed, unknown_version, exchanges, incomplete, orphan_ends,
 *    open_dropped, totals:{FIGURES}, groups:[{KEYS..., FIGURES}]}
 * FIGURES: requests, incomplete, streams, errors:{total, KIND...},
 * tokens:{input, output, cached, cache_write}, cost_usd (null: unknown),
 * unpriced_requests, unpriced_tokens, ttfb_ms, ttft_ms, total_ms,
 * output_tokens_per_second (each {count, p50, p90, p99, max}), retries. */
#include "stats.h"
#include "clock.h"
#include <math.h>
#include <stdlib.h>

double round_to(double v, double unit)
{
    return isnan(v) ? v : round(v / unit) * unit;
}

double q_ms(const histo_t *h, double q)
{
    return round_to(histo_quantile(h, q) / 1000.0, 0.001);
}

static json_t *real_or_null(double v)
{
    return isnan(v) ? json_null() : json_real(v);
}

static json_t *summary(const histo_t *h, double scale, double unit)
{
    json_t *o = json_object();
    json_object_set_new(o, "count", json_integer((json_int_t)h->count));
    static const struct { const char *k; double q; } qs[] = {
        { "p50", 0.5 }, { "p90", 0.9 }, { "p99", 0.99 }, { "max", 1.0 } };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        json_object_set_new(o, qs[i].k, real_or_null(round_to(histo_quantile(h, qs[i].q) * scale, unit)));
    return o;
}

static json_t *figures_json(json_t *o, const figures_t *f)
{
    json_object_set_new(o, "requests", json_integer((json_int_t)f->requests));
    json_object_set_new(o, "incomplete", json_integer((json_int_t)f->incomplete));
    json_object_set_new(o, "streams", json_integer((json_int_t)f->streams));
    json_t *e = json_object();
    json_object_set_new(e, "total", json_integer((json_int_t)figures_errors(f)));
    for (int k = 0; k < ERR_N; k++) json_object_set_new(e, err_names[k], json_integer((json_int_t)f->errors[k]));
    json_object_set_new(o, "errors", e);
    json_object_set_new(o, "tokens", json_pack("{s:I, s:I, s:I, s:I}",
        "input", (json_int_t)f->tok_in, "output", (json_int_t)f->tok_out,
        "cached", (json_int_t)f->tok_cached, "cache_write", (json_int_t)f->tok_cache_write));
    json_object_set_new(o, "cost_usd", f->priced == 0 && f->unpriced > 0 ? json_null()
                                                 : json_real(round_to(f->cost, 1e-9)));
    json_object_set_new(o, "unpriced_requests", json_integer((json_int_t)f->unpriced));
    json_object_set_new(o, "unpriced_tokens", json_integer((json_int_t)f->unpriced_tokens));
    json_object_set_new(o, "ttfb_ms", summary(&f->ttfb, 1e-3, 0.001));
    json_object_set_new(o, "ttft_ms", summary(&f->ttft, 1e-3, 0.001));
    json_object_set_new(o, "total_ms", summary(&f->total, 1e-3, 0.001));
    json_object_set_new(o, "output_tokens_per_second", summary(&f->tps, 1, 0.01));
    json_object_set_new(o, "retries", json_integer((json_int_t)f->retries));
    return o;
}

static json_t *time_or_null(int64_t us)
{
    if (us == INT64_MIN || us == INT64_MAX) return json_null();
    char b[RFC3339_LEN];
    clock_rfc3339(us, b);
    return json_string(b);
}

json_t *report_json(const agg_t *a, int view, const report_meta_t *m)
{
    const view_t *v = &a->views[view];
    json_t *o = json_object(), *by = json_array(), *groups = json_array();
    json_object_set_new(o, "since", time_or_null(m->since_us));
    json_object_set_new(o, "until", time_or_null(m->until_us));
    json_object_set_new(o, "tz", json_string(m->tz ? m->tz : "UTC"));
    for (int i = 0; i < v->ndims; i++) json_array_append_new(by, json_string(dim_names[v->dims[i]]));
    json_object_set_new(o, "by", by);
    json_object_set_new(o, "prices", json_pack("{s:s, s:s}", "taken", a->prices->taken, "source", a->prices->source));
    json_object_set_new(o, "lines", json_integer((json_int_t)a->lines));
    json_object_set_new(o, "malformed", json_integer((json_int_t)a->malformed));
    json_object_set_new(o, "unknown_version", json_integer((json_int_t)a->unknown_version));
    json_object_set_new(o, "exchanges", json_integer((json_int_t)a->totals.requests));
    json_object_set_new(o, "incomplete", json_integer((json_int_t)a->incomplete));
    json_object_set_new(o, "orphan_ends", json_integer((json_int_t)a->orphan_ends));
    json_object_set_new(o, "open_dropped", json_integer((json_int_t)a->open_dropped));
    json_object_set_new(o, "totals", figures_json(json_object(), &a->totals));
    size_t n;
    group_t **gs = agg_sorted(v, &n);
    for (size_t i = 0; gs && i < n; i++) {
        json_t *g = json_object();
        for (int d = 0; d < v->ndims; d++) {
            const char *k = gs[i]->key[v->dims[d]];
            json_object_set_new(g, dim_names[v->dims[d]], k ? json_string(k) : json_null());
        }
        json_array_append_new(groups, figures_json(g, &gs[i]->f));
    }
    free(gs);
    json_object_set_new(o, "groups", groups);
    return o;
}
