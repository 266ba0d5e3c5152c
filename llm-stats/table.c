/* table.c — the aligned text table (the default output) and CSV. */
#include "stats.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- the columns: header, shown without --wide, value */
enum { C_REQS, C_INCOMPL, C_ERRS, C_ERRPCT, C_E0, C_STRM = C_E0 + ERR_N, C_IN, C_OUT, C_CACHED, C_CWRITE, C_COST,
       C_TTFB50, C_TTFB90, C_TTFB99, C_TTFBMAX, C_TTFT50, C_TTFT90, C_TTFT99, C_TTFTMAX,
       C_LAT50, C_LAT90, C_LAT99, C_LATMAX, C_TPS50, C_TPS90, C_TPS99, C_TPSMAX, C_RETRY, C_N };

static const struct { const char *name; int compact; } COLS[C_N] = {
    [C_REQS] = { "REQS", 1 }, [C_INCOMPL] = { "OPEN", 0 }, [C_ERRS] = { "ERRS", 1 }, [C_ERRPCT] = { "ERR%", 1 },
    [C_E0 + ERR_4XX] = { "4XX", 0 }, [C_E0 + ERR_5XX] = { "5XX", 0 }, [C_E0 + ERR_UPOTHER] = { "UPERR", 0 },
    [C_E0 + ERR_TIMEOUT] = { "TIMEOUT", 0 }, [C_E0 + ERR_CLOSED] = { "CLOSED", 0 }, [C_E0 + ERR_RELAY] = { "RELAY", 0 },
    [C_E0 + ERR_ABORTED] = { "ABORTED", 0 }, [C_E0 + ERR_OTHER] = { "OTHER", 0 },
    [C_STRM] = { "STREAMS", 1 }, [C_IN] = { "IN", 1 }, [C_OUT] = { "OUT", 1 }, [C_CACHED] = { "CACHED", 1 },
    [C_CWRITE] = { "CWRITE", 0 }, [C_COST] = { "COST$", 1 },
    [C_TTFB50] = { "TTFB50", 1 }, [C_TTFB90] = { "TTFB90", 0 }, [C_TTFB99] = { "TTFB99", 0 }, [C_TTFBMAX] = { "TTFBMAX", 0 },
    [C_TTFT50] = { "TTFT50", 1 }, [C_TTFT90] = { "TTFT90", 1 }, [C_TTFT99] = { "TTFT99", 1 }, [C_TTFTMAX] = { "TTFTMAX", 0 },
    [C_LAT50] = { "LAT50", 1 }, [C_LAT90] = { "LAT90", 1 }, [C_LAT99] = { "LAT99", 1 }, [C_LATMAX] = { "LATMAX", 1 },
    [C_TPS50] = { "TOK/S50", 1 }, [C_TPS90] = { "TOK/S90", 0 }, [C_TPS99] = { "TOK/S99", 0 }, [C_TPSMAX] = { "TOK/SMAX", 0 },
    [C_RETRY] = { "RETRY", 1 },
};

#define CELL 32

static void fmt_ms(char *out, const histo_t *h, double q)
{
    double v = histo_quantile(h, q) / 1000.0;
    if (isnan(v)) strcpy(out, "-");
    else if (v < 10) snprintf(out, CELL, "%.2f", v);
    else if (v < 1000) snprintf(out, CELL, "%.1f", v);
    else snprintf(out, CELL, "%.0f", v);
}

static void fmt_tps(char *out, const histo_t *h, double q)
{
    double v = histo_quantile(h, q);
    if (isnan(v)) strcpy(out, "-");
    else snprintf(out, CELL, v < 100 ? "%.1f" : "%.0f", v);
}

/* cost: "unknown" when no request of the group has a price, "+?" after it
 * when some tokens could not be priced */
static void fmt_cost(char *out, const figures_t *f)
{
    if (f->priced == 0 && f->unpriced > 0) { strcpy(out, "unknown"); return; }
    snprintf(out, CELL, "%.6f%s", f->cost, f->unpriced_tokens ? "+?" : "");
}

static void cell(char *out, const figures_t *f, int c)
{
    unsigned long long v;
    switch (c) {
    case C_REQS: v = f->requests; break;
    case C_INCOMPL: v = f->incomplete; break;
    case C_ERRS: v = figures_errors(f); break;
    case C_ERRPCT:
        if (!f->requests) strcpy(out, "-");
        else snprintf(out, CELL, "%.1f", 100.0 * (double)figures_errors(f) / (double)f->requests);
        return;
    case C_STRM: v = f->streams; break;
    case C_IN: v = f->tok_in; break;
    case C_OUT: v = f->tok_out; break;
    case C_CACHED: v = f->tok_cached; break;
    case C_CWRITE: v = f->tok_cache_write; break;
    case C_COST: fmt_cost(out, f); return;
    case C_TTFB50: fmt_ms(out, &f->ttfb, 0.5); return;
    case C_TTFB90: fmt_ms(out, &f->ttfb, 0.9); return;
    case C_TTFB99: fmt_ms(out, &f->ttfb, 0.99); return;
    case C_TTFBMAX: fmt_ms(out, &f->ttfb, 1); return;
    case C_TTFT50: fmt_ms(out, &f->ttft, 0.5); return;
    case C_TTFT90: fmt_ms(out, &f->ttft, 0.9); return;
    case C_TTFT99: fmt_ms(out, &f->ttft, 0.99); return;
    case C_TTFTMAX: fmt_ms(out, &f->ttft, 1); return;
    case C_LAT50: fmt_ms(out, &f->total, 0.5); return;
    case C_LAT90: fmt_ms(out, &f->total, 0.9); return;
    case C_LAT99: fmt_ms(out, &f->total, 0.99); return;
    case C_LATMAX: fmt_ms(out, &f->total, 1); return;
    case C_TPS50: fmt_tps(out, &f->tps, 0.5); return;
    case C_TPS90: fmt_tps(out, &f->tps, 0.9); return;
    case C_TPS99: fmt_tps(out, &f->tps, 0.99); return;
    case C_TPSMAX: fmt_tps(out, &f->tps, 1); return;
    case C_RETRY: v = f->retries; break;
    default: v = f->errors[c - C_E0]; break;
    }
    snprintf(out, CELL, "%llu", v);
}

static const char *key_or_dash(const char *k) { return k ? k : "-"; }

int out_table(FILE *fp, const agg_t *a, int view, int wide)
{
    const view_t *v = &a->views[view];
    size_t n;
    group_t **gs = agg_sorted(v, &n);
    if (!gs) return -1;
    int cols[C_N], nc = 0;
    for (int c = 0; c < C_N; c++) if (wide || COLS[c].compact) cols[nc++] = c;
    size_t kw[DIM_N] = { 0 }, w[C_N] = { 0 };
    char buf[CELL];
    /* widths: headers, groups, totals */
    for (int d = 0; d < v->ndims; d++) {
        kw[d] = strlen(dim_names[v->dims[d]]);
        if (d == 0 && kw[d] < 5) kw[d] = 5;             /* "TOTAL" */
        for (size_t i = 0; i < n; i++) {
            size_t l = strlen(key_or_dash(gs[i]->key[v->dims[d]]));
            if (l > kw[d]) kw[d] = l;
        }
    }
    for (int i = 0; i < nc; i++) {
        w[i] = strlen(COLS[cols[i]].name);
        for (size_t g = 0; g <= n; g++) {
            cell(buf, g < n ? &gs[g]->f : &a->totals, cols[i]);
            if (strlen(buf) > w[i]) w[i] = strlen(buf);
        }
    }
    /* header */
    for (int d = 0; d < v->ndims; d++) {
        char up[16];
        size_t l = strlen(dim_names[v->dims[d]]);
        for (size_t k = 0; k <= l; k++) up[k] = (char)(dim_names[v->dims[d]][k] >= 'a' ? dim_names[v->dims[d]][k] - 32 : dim_names[v->dims[d]][k]);
        fprintf(fp, "%s%-*s", d ? "  " : "", (int)kw[d], up);
    }
    for (int i = 0; i < nc; i++) fprintf(fp, "  %*s", (int)w[i], COLS[cols[i]].name);
    fputc('\n', fp);
    /* rows, then the totals */
    for (size_t g = 0; g <= n; g++) {
        const figures_t *f = g < n ? &gs[g]->f : &a->totals;
        for (int d = 0; d < v->ndims; d++)
            fprintf(fp, "%s%-*s", d ? "  " : "", (int)kw[d],
                    g < n ? key_or_dash(gs[g]->key[v->dims[d]]) : d == 0 ? "TOTAL" : "");
        for (int i = 0; i < nc; i++) {
            cell(buf, f, cols[i]);
            fprintf(fp, "  %*s", (int)w[i], buf);
        }
        fputc('\n', fp);
    }
    free(gs);
    fprintf(fp, "\nlatencies in ms (successful exchanges): TTFB, TTFT and total (LAT) p50/p90/p99/max; "
                "TOK/S: output tokens per second; costs in USD, prices of %s (%s)\n",
            a->prices->taken, a->prices->source);
    if (a->totals.unpriced_tokens)
        fprintf(fp, "+?: %llu tokens of %llu requests to models without a price are not in the cost\n",
                (unsigned long long)a->totals.unpriced_tokens, (unsigned long long)a->totals.unpriced);
    if (a->incomplete)
        fprintf(fp, "%llu exchanges without an end (still open or lost) are not counted\n", (unsigned long long)a->incomplete);
    if (a->malformed)
        fprintf(fp, "%llu malformed lines skipped\n", (unsigned long long)a->malformed);
    return ferror(fp) ? -1 : 0;
}

/* ---- CSV (RFC 4180): a header line, one line per group */
static void csv_str(FILE *fp, const char *s)
{
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) { fputs(s, fp); return; }
    fputc('"', fp);
    for (; *s; s++) { if (*s == '"') fputc('"', fp); fputc(*s, fp); }
    fputc('"', fp);
}

static void csv_q(FILE *fp, const histo_t *h, double q, double scale, const char *fmt)
{
    double x = histo_quantile(h, q);
    fputc(',', fp);
    if (!isnan(x)) fprintf(fp, fmt, x * scale);
}

int out_csv(FILE *fp, const agg_t *a, int view)
{
    const view_t *v = &a->views[view];
    size_t n;
    group_t **gs = agg_sorted(v, &n);
    if (!gs) return -1;
    for (int d = 0; d < v->ndims; d++) fprintf(fp, "%s,", dim_names[v->dims[d]]);
    fputs("requests,incomplete,streams,errors", fp);
    for (int k = 0; k < ERR_N; k++) fprintf(fp, ",%s", err_names[k]);
    fputs(",input_tokens,output_tokens,cached_tokens,cache_write_tokens,cost_usd,unpriced_requests,unpriced_tokens", fp);
    static const char *const hs[] = { "ttfb_ms", "ttft_ms", "total_ms", "output_tokens_per_second" };
    static const char *const qn[] = { "p50", "p90", "p99", "max" };
    static const double qs[] = { 0.5, 0.9, 0.99, 1 };
    for (int h = 0; h < 4; h++)
        for (int q = 0; q < 4; q++) fprintf(fp, ",%s_%s", hs[h], qn[q]);
    fputs(",retries\n", fp);
    for (size_t g = 0; g < n; g++) {
        const figures_t *f = &gs[g]->f;
        for (int d = 0; d < v->ndims; d++) { csv_str(fp, gs[g]->key[v->dims[d]]); fputc(',', fp); }
        fprintf(fp, "%llu,%llu,%llu,%llu", (unsigned long long)f->requests, (unsigned long long)f->incomplete,
                (unsigned long long)f->streams, (unsigned long long)figures_errors(f));
        for (int k = 0; k < ERR_N; k++) fprintf(fp, ",%llu", (unsigned long long)f->errors[k]);
        fprintf(fp, ",%llu,%llu,%llu,%llu,", (unsigned long long)f->tok_in, (unsigned long long)f->tok_out,
                (unsigned long long)f->tok_cached, (unsigned long long)f->tok_cache_write);
        if (!(f->priced == 0 && f->unpriced > 0)) fprintf(fp, "%.9f", f->cost);
        fprintf(fp, ",%llu,%llu", (unsigned long long)f->unpriced, (unsigned long long)f->unpriced_tokens);
        const histo_t *hh[] = { &f->ttfb, &f->ttft, &f->total, &f->tps };
        for (int h = 0; h < 4; h++)
            for (int q = 0; q < 4; q++) csv_q(fp, hh[h], qs[q], h < 3 ? 1e-3 : 1, h < 3 ? "%.3f" : "%.2f");
        fprintf(fp, ",%llu\n", (unsigned long long)f->retries);
    }
    free(gs);
    return ferror(fp) ? -1 : 0;
}
