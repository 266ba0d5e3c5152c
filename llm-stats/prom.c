/* prom.c — Prometheus text exposition (format 0.0.4), for node_exporter's
 * textfile collector: every figure of every group as a gauge labelled with
 * the group's keys (an absent key is the empty string), the latencies and
 * speeds as summaries (quantile="1" is the maximum). */
#include "stats.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void label_value(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\') fputs("\\\\", fp);
        else if (*s == '"') fputs("\\\"", fp);
        else if (*s == '\n') fputs("\\n", fp);
        else fputc(*s, fp);
    }
}

/* {dim="key",...,extra="val"}; extra may be NULL */
static void labels(FILE *fp, const view_t *v, const group_t *g, const char *extra, const char *val)
{
    fputc('{', fp);
    for (int d = 0; d < v->ndims; d++) {
        fprintf(fp, "%s%s=\"", d ? "," : "", dim_names[v->dims[d]]);
        label_value(fp, g->key[v->dims[d]]);
        fputc('"', fp);
    }
    if (extra) fprintf(fp, "%s%s=\"%s\"", v->ndims ? "," : "", extra, val);
    fputc('}', fp);
}

static void number(FILE *fp, double x)
{
    if (isnan(x)) fputs(" NaN\n", fp);
    else fprintf(fp, " %.12g\n", x);
}

static void head(FILE *fp, const char *name, const char *type, const char *help)
{
    fprintf(fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum { M_REQ, M_INC, M_STRM, M_RETRY, M_UNPRICED };

static uint64_t count_of(const figures_t *f, int m)
{
    switch (m) {
    case M_REQ: return f->requests;
    case M_INC: return f->incomplete;
    case M_STRM: return f->streams;
    case M_RETRY: return f->retries;
    default: return f->unpriced;
    }
}

int out_prom(FILE *fp, const agg_t *a, int view)
{
    const view_t *v = &a->views[view];
    size_t n;
    group_t **gs = agg_sorted(v, &n);
    if (!gs) return -1;
    static const struct { const char *name, *help; } counts[] = {
        { "llm_stats_requests", "Exchanges that ended, in the period." },
        { "llm_stats_incomplete", "Exchanges without an end (still open or lost)." },
        { "llm_stats_streams", "Streamed exchanges." },
        { "llm_stats_retries", "Exchanges that took more than one attempt." },
        { "llm_stats_unpriced_requests", "Exchanges whose model has no price." },
    };
    for (int m = 0; m < 5; m++) {
        head(fp, counts[m].name, "gauge", counts[m].help);
        for (size_t i = 0; i < n; i++) {
            fputs(counts[m].name, fp);
            labels(fp, v, gs[i], NULL, NULL);
            fprintf(fp, " %llu\n", (unsigned long long)count_of(&gs[i]->f, m));
        }
    }
    head(fp, "llm_stats_errors", "gauge", "Exchanges that ended in an error, by kind.");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ERR_N; k++) {
            fputs("llm_stats_errors", fp);
            labels(fp, v, gs[i], "kind", err_names[k]);
            fprintf(fp, " %llu\n", (unsigned long long)gs[i]->f.errors[k]);
        }
    head(fp, "llm_stats_tokens", "gauge", "Tokens used, by type (input counts every prompt token).");
    static const char *const types[] = { "input", "output", "cached", "cache_write" };
    for (size_t i = 0; i < n; i++) {
        const figures_t *f = &gs[i]->f;
        uint64_t t[] = { f->tok_in, f->tok_out, f->tok_cached, f->tok_cache_write };
        for (int k = 0; k < 4; k++) {
            fputs("llm_stats_tokens", fp);
            labels(fp, v, gs[i], "type", types[k]);
            fprintf(fp, " %llu\n", (unsigned long long)t[k]);
        }
    }
    head(fp, "llm_stats_cost_usd", "gauge", "Cost in US dollars of the priced exchanges (absent: unknown).");
    for (size_t i = 0; i < n; i++) {
        const figures_t *f = &gs[i]->f;
        if (f->priced == 0 && f->unpriced > 0) continue;
        fputs("llm_stats_cost_usd", fp);
        labels(fp, v, gs[i], NULL, NULL);
        number(fp, round_to(f->cost, 1e-9));
    }
    static const struct { const char *name, *help; double scale; } sums[] = {
        { "llm_stats_ttfb_seconds", "Time to the first response byte (successful exchanges).", 1e-6 },
        { "llm_stats_ttft_seconds", "Time to the first output token (successful exchanges).", 1e-6 },
        { "llm_stats_duration_seconds", "Total time of an exchange (successful exchanges).", 1e-6 },
        { "llm_stats_output_tokens_per_second", "Output tokens per second of generation.", 1 },
    };
    static const char *const qn[] = { "0.5", "0.9", "0.99", "1" };
    static const double qs[] = { 0.5, 0.9, 0.99, 1 };
    for (int m = 0; m < 4; m++) {
        head(fp, sums[m].name, "summary", sums[m].help);
        for (size_t i = 0; i < n; i++) {
            const figures_t *f = &gs[i]->f;
            const histo_t *h = m == 0 ? &f->ttfb : m == 1 ? &f->ttft : m == 2 ? &f->total : &f->tps;
            for (int q = 0; q < 4; q++) {
                fputs(sums[m].name, fp);
                labels(fp, v, gs[i], "quantile", qn[q]);
                number(fp, histo_quantile(h, qs[q]) * sums[m].scale);
            }
            fprintf(fp, "%s_sum", sums[m].name);
            labels(fp, v, gs[i], NULL, NULL);
            number(fp, h->sum * sums[m].scale);
            fprintf(fp, "%s_count", sums[m].name);
            labels(fp, v, gs[i], NULL, NULL);
            fprintf(fp, " %llu\n", (unsigned long long)h->count);
        }
    }
    head(fp, "llm_stats_lines", "gauge", "Capture lines read.");
    fprintf(fp, "llm_stats_lines %llu\n", (unsigned long long)a->lines);
    head(fp, "llm_stats_malformed_lines", "gauge", "Capture lines that were not capture events.");
    fprintf(fp, "llm_stats_malformed_lines %llu\n", (unsigned long long)a->malformed);
    free(gs);
    return ferror(fp) ? -1 : 0;
}
