/* html.c — --html FILE: one self-contained page (no network: inline CSS,
 * inline SVG drawn here, one small inline script) with the totals, four
 * charts and the table of the --by grouping:
 *   requests and cost per day (bars, dots), latency percentiles per model
 *   (p50/p90/p99 bars), top users by cost (bars), error rate per hour
 *   (line and dots).
 * Every drawn data mark has class "mark"; after load the script counts the
 * marks that have a size on screen, per chart, into <output id="drawn">,
 * so a headless browser can check that the charts were drawn. */
#include "stats.h"
#include "clock.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 680          /* chart width */
#define PL 64          /* plot left */
#define PR 56          /* plot right margin */
#define TOP_USERS 10
#define MAX_MODELS 30

static const char *const COLOR[] = { "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f" };

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *key_text(const char *k) { return k ? k : "(none)"; }

/* a round number at or above v, for axis ends */
static double nice_max(double v)
{
    if (!(v > 0)) return 1;
    double p = pow(10, floor(log10(v))), m = v / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

static void fmt_num(char *out, size_t n, double v)
{
    if (v == 0) snprintf(out, n, "0");
    else if (fabs(v) >= 100) snprintf(out, n, "%.0f", v);
    else if (fabs(v) >= 1) snprintf(out, n, "%.3g", v);
    else snprintf(out, n, "%.2g", v);
}

static void chart_open(FILE *f, const char *id, const char *title, int h)
{
    fprintf(f, "<section><h2>");
    esc(f, title);
    fprintf(f, "</h2>\n<svg class=\"chart\" id=\"%s\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
            id, W, h, W, h);
    esc(f, title);
    fputs("\">\n", f);
}

static void chart_close(FILE *f) { fputs("</svg></section>\n", f); }

static void no_data(FILE *f, int h)
{
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"muted\">no data</text>\n", W / 2, h / 2);
}

/* y axis with 0, max/2, max; x from PL to W-PR; plot from y0 (bottom) up to y1 */
static void y_axis(FILE *f, int x, int y0, int y1, double max, const char *unit, int right)
{
    for (int i = 0; i <= 2; i++) {
        double v = max * i / 2;
        int y = y0 - (y0 - y1) * i / 2;
        char b[32];
        fmt_num(b, sizeof b, v);
        if (!right) fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" class=\"grid\"/>\n", PL, W - PR, y, y);
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" class=\"tick\">%s%s</text>\n",
                right ? x + 6 : x - 6, y + 4, right ? "start" : "end", b, i == 2 ? unit : "");
    }
}

static int has_cost(const figures_t *g) { return !(g->priced == 0 && g->unpriced > 0); }

/* 1. requests (bars) and cost (dots) per day */
static void chart_days(FILE *f, const agg_t *a, int view)
{
    int h = 260, y0 = h - 40, y1 = 24;
    chart_open(f, "chart-days", "Requests and cost per day", h);
    size_t n;
    group_t **gs = agg_sorted(&a->views[view], &n);
    if (!gs || !n) { no_data(f, h); chart_close(f); free(gs); return; }
    double rmax = 0, cmax = 0;
    for (size_t i = 0; i < n; i++) {
        if ((double)gs[i]->f.requests > rmax) rmax = (double)gs[i]->f.requests;
        if (has_cost(&gs[i]->f) && gs[i]->f.cost > cmax) cmax = gs[i]->f.cost;
    }
    rmax = nice_max(rmax);
    cmax = nice_max(cmax);
    y_axis(f, PL, y0, y1, rmax, " req", 0);
    y_axis(f, W - PR, y0, y1, cmax, " $", 1);
    double step = (double)(W - PL - PR) / (double)n, bw = step * 0.6;
    for (size_t i = 0; i < n; i++) {
        const figures_t *g = &gs[i]->f;
        double x = PL + step * (double)i + (step - bw) / 2, bh = (y0 - y1) * (double)g->requests / rmax;
        fprintf(f, "<rect class=\"mark\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
                x, y0 - bh, bw, bh, COLOR[0]);
        esc(f, key_text(gs[i]->key[DIM_DAY]));
        fprintf(f, ": %llu requests</title></rect>\n", (unsigned long long)g->requests);
        if (n <= 14 || i % (n / 14 + 1) == 0) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"tick\">", x + bw / 2, y0 + 16);
            esc(f, key_text(gs[i]->key[DIM_DAY]));
            fputs("</text>\n", f);
        }
    }
    /* cost dots joined by a line, over the bars */
    fputs("<polyline fill=\"none\" stroke-width=\"2\" stroke=\"", f);
    fputs(COLOR[1], f);
    fputs("\" points=\"", f);
    for (size_t i = 0; i < n; i++)
        if (has_cost(&gs[i]->f))
            fprintf(f, "%.1f,%.1f ", PL + step * ((double)i + 0.5), y0 - (y0 - y1) * gs[i]->f.cost / cmax);
    fputs("\"/>\n", f);
    for (size_t i = 0; i < n; i++) {
        if (!has_cost(&gs[i]->f)) continue;
        fprintf(f, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", PL + step * ((double)i + 0.5),
                y0 - (y0 - y1) * gs[i]->f.cost / cmax, COLOR[1]);
        esc(f, key_text(gs[i]->key[DIM_DAY]));
        fprintf(f, ": $%.6f%s</title></circle>\n", gs[i]->f.cost, gs[i]->f.unpriced_tokens ? " + unpriced" : "");
    }
    fprintf(f, "<rect x=\"%d\" y=\"4\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"13\" class=\"tick\">requests</text>\n"
               "<circle cx=\"%d\" cy=\"9\" r=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"13\" class=\"tick\">cost (USD)</text>\n",
            PL, COLOR[0], PL + 14, PL + 100, COLOR[1], PL + 108);
    free(gs);
    chart_close(f);
}

/* 2. total latency p50/p90/p99 per model, horizontal bars */
static void chart_latency(FILE *f, const agg_t *a, int view)
{
    size_t n, m = 0;
    group_t **gs = agg_sorted(&a->views[view], &n);
    for (size_t i = 0; gs && i < n; i++)
        if (gs[i]->f.total.count && m < MAX_MODELS) gs[m++] = gs[i];
    int row = 34, left = 200, h = 40 + (int)(m ? m : 3) * row;
    chart_open(f, "chart-latency", "Latency per model: p50, p90, p99 (ms, successful exchanges)", h);
    if (!m) { no_data(f, h); chart_close(f); free(gs); return; }
    double max = 0;
    for (size_t i = 0; i < m; i++) {
        double v = histo_quantile(&gs[i]->f.total, 0.99) / 1000;
        if (v > max) max = v;
    }
    max = nice_max(max);
    static const double qs[] = { 0.5, 0.9, 0.99 };
    static const char *const qn[] = { "p50", "p90", "p99" };
    double pw = W - left - PR;
    for (int k = 0; k <= 2; k++) {
        char b[32];
        fmt_num(b, sizeof b, max * k / 2);
        double x = left + pw * k / 2;
        fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"20\" y2=\"%d\" class=\"grid\"/>"
                   "<text x=\"%.1f\" y=\"14\" text-anchor=\"middle\" class=\"tick\">%s%s</text>\n",
                x, x, h - 16, x, b, k == 2 ? " ms" : "");
    }
    for (size_t i = 0; i < m; i++) {
        int y = 24 + (int)i * row;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"label\">", left - 8, y + 18);
        esc(f, key_text(gs[i]->key[DIM_MODEL]));
        fputs("</text>\n", f);
        for (int q = 0; q < 3; q++) {
            double v = histo_quantile(&gs[i]->f.total, qs[q]) / 1000, bw = pw * v / max;
            if (bw < 1) bw = 1;
            fprintf(f, "<rect class=\"mark\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"8\" fill=\"%s\"><title>",
                    left, y + 4 + q * 9, bw, COLOR[q == 0 ? 3 : q == 1 ? 0 : 2]);
            esc(f, key_text(gs[i]->key[DIM_MODEL]));
            fprintf(f, " %s: %.3f ms</title></rect>\n", qn[q], v);
        }
    }
    fprintf(f, "<text x=\"8\" y=\"%d\" class=\"tick\"><tspan style=\"fill:%s\">■</tspan> p50 "
               "<tspan style=\"fill:%s\">■</tspan> p90 <tspan style=\"fill:%s\">■</tspan> p99</text>\n",
            h - 4, COLOR[3], COLOR[0], COLOR[2]);
    free(gs);
    chart_close(f);
}

static int by_cost_desc(const void *x, const void *y)
{
    const group_t *a = *(group_t *const *)x, *b = *(group_t *const *)y;
    if (a->f.cost != b->f.cost) return a->f.cost < b->f.cost ? 1 : -1;
    return strcmp(key_text(a->key[DIM_USER]), key_text(b->key[DIM_USER]));
}

/* 3. the users who cost most (priced requests) */
static void chart_users(FILE *f, const agg_t *a, int view)
{
    size_t n, m = 0, unknown = 0;
    group_t **gs = agg_sorted(&a->views[view], &n);
    for (size_t i = 0; gs && i < n; i++) {
        if (!gs[i]->key[DIM_USER]) continue;
        if (!has_cost(&gs[i]->f)) { unknown++; continue; }
        gs[m++] = gs[i];
    }
    if (gs) qsort(gs, m, sizeof *gs, by_cost_desc);
    if (m > TOP_USERS) m = TOP_USERS;
    int row = 26, left = 200, h = 44 + (int)(m ? m : 3) * row;
    chart_open(f, "chart-users", "Top users by cost (USD)", h);
    if (!m) { no_data(f, h); chart_close(f); free(gs); return; }
    double max = nice_max(gs[0]->f.cost), pw = W - left - PR - 40;
    for (size_t i = 0; i < m; i++) {
        int y = 12 + (int)i * row;
        double bw = max > 0 ? pw * gs[i]->f.cost / max : 0;
        if (bw < 1) bw = 1;
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"label\">", left - 8, y + 14);
        esc(f, gs[i]->key[DIM_USER]);
        fprintf(f, "</text>\n<rect class=\"mark\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"18\" fill=\"%s\"><title>",
                left, y, bw, COLOR[4]);
        esc(f, gs[i]->key[DIM_USER]);
        fprintf(f, ": $%.6f</title></rect>\n<text x=\"%.1f\" y=\"%d\" class=\"tick\">$%.6f%s</text>\n",
                gs[i]->f.cost, left + bw + 6, y + 14, gs[i]->f.cost, gs[i]->f.unpriced_tokens ? " +?" : "");
    }
    if (unknown)
        fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"muted\">%zu more user%s with unknown cost (models without a price)</text>\n",
                left, h - 8, unknown, unknown == 1 ? "" : "s");
    free(gs);
    chart_close(f);
}

/* 4. errors / requests per hour */
static void chart_errors(FILE *f, const agg_t *a, int view)
{
    int h = 240, y0 = h - 40, y1 = 20;
    chart_open(f, "chart-errors", "Error rate per hour (%)", h);
    size_t n, m = 0;
    group_t **gs = agg_sorted(&a->views[view], &n);
    for (size_t i = 0; gs && i < n; i++) if (gs[i]->f.requests) gs[m++] = gs[i];
    if (!m) { no_data(f, h); chart_close(f); free(gs); return; }
    double max = 0;
    for (size_t i = 0; i < m; i++) {
        double r = 100.0 * (double)figures_errors(&gs[i]->f) / (double)gs[i]->f.requests;
        if (r > max) max = r;
    }
    max = max > 50 ? 100 : nice_max(max);
    y_axis(f, PL, y0, y1, max, " %", 0);
    double step = m > 1 ? (double)(W - PL - PR) / (double)(m - 1) : 0;
    double x0 = m > 1 ? PL : (PL + W - PR) / 2.0;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", COLOR[2]);
    for (size_t i = 0; i < m; i++)
        fprintf(f, "%.1f,%.1f ", x0 + step * (double)i,
                y0 - (y0 - y1) * (100.0 * (double)figures_errors(&gs[i]->f) / (double)gs[i]->f.requests) / max);
    fputs("\"/>\n", f);
    for (size_t i = 0; i < m; i++) {
        double r = 100.0 * (double)figures_errors(&gs[i]->f) / (double)gs[i]->f.requests;
        fprintf(f, "<circle class=\"mark\" cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>",
                x0 + step * (double)i, y0 - (y0 - y1) * r / max, COLOR[2]);
        esc(f, key_text(gs[i]->key[DIM_HOUR]));
        fprintf(f, ":00 — %llu of %llu requests failed (%.1f%%)</title></circle>\n",
                (unsigned long long)figures_errors(&gs[i]->f), (unsigned long long)gs[i]->f.requests, r);
        if (i == 0 || i == m - 1 || (m > 2 && i == m / 2)) {
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"tick\">", x0 + step * (double)i, y0 + 16);
            esc(f, key_text(gs[i]->key[DIM_HOUR]));
            fputs(":00</text>\n", f);
        }
    }
    free(gs);
    chart_close(f);
}

static void tile(FILE *f, const char *label, const char *value)
{
    fprintf(f, "<div class=\"tile\"><div class=\"v\">%s</div><div class=\"l\">%s</div></div>\n", value, label);
}

static void cell_ms(FILE *f, const histo_t *h, double q)
{
    double v = histo_quantile(h, q) / 1000;
    if (isnan(v)) fputs("<td>-</td>", f);
    else fprintf(f, "<td>%.1f</td>", v);
}

static void group_table(FILE *f, const agg_t *a, int view)
{
    const view_t *v = &a->views[view];
    size_t n;
    group_t **gs = agg_sorted(v, &n);
    fputs("<section><h2>By ", f);
    for (int d = 0; d < v->ndims; d++) fprintf(f, "%s%s", d ? ", " : "", dim_names[v->dims[d]]);
    fputs("</h2>\n<div class=\"scroll\"><table><thead><tr>", f);
    for (int d = 0; d < v->ndims; d++) fprintf(f, "<th>%s</th>", dim_names[v->dims[d]]);
    fputs("<th>requests</th><th>errors</th><th>streams</th><th>tokens in</th><th>tokens out</th><th>cached</th>"
          "<th>cost (USD)</th><th>TTFT p50</th><th>TTFT p99</th><th>total p50</th><th>total p90</th><th>total p99</th>"
          "<th>total max</th><th>retries</th></tr></thead>\n<tbody>\n", f);
    for (size_t i = 0; gs && i <= n; i++) {
        const figures_t *g = i < n ? &gs[i]->f : &a->totals;
        fputs(i < n ? "<tr>" : "<tr class=\"total\">", f);
        for (int d = 0; d < v->ndims; d++) {
            fputs("<td class=\"k\">", f);
            if (i < n) esc(f, key_text(gs[i]->key[v->dims[d]]));
            else if (d == 0) fputs("total", f);
            fputs("</td>", f);
        }
        fprintf(f, "<td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td><td>%llu</td>",
                (unsigned long long)g->requests, (unsigned long long)figures_errors(g), (unsigned long long)g->streams,
                (unsigned long long)g->tok_in, (unsigned long long)g->tok_out, (unsigned long long)g->tok_cached);
        if (!has_cost(g)) fputs("<td>unknown</td>", f);
        else fprintf(f, "<td>%.6f%s</td>", g->cost, g->unpriced_tokens ? " +?" : "");
        cell_ms(f, &g->ttft, 0.5);
        cell_ms(f, &g->ttft, 0.99);
        cell_ms(f, &g->total, 0.5);
        cell_ms(f, &g->total, 0.9);
        cell_ms(f, &g->total, 0.99);
        cell_ms(f, &g->total, 1);
        fprintf(f, "<td>%llu</td></tr>\n", (unsigned long long)g->retries);
    }
    fputs("</tbody></table></div>\n<p class=\"muted\">Latencies in ms, of successful exchanges. \"unknown\": "
          "no price for the model; \"+?\": some tokens could not be priced.</p></section>\n", f);
    free(gs);
}

static const char CSS[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px auto;max-width:1100px;color:#222;background:#fff;padding:0 16px}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}"
    ".muted{color:#777;font-size:12px}.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
    ".tile{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}.tile .v{font-size:20px;font-weight:600}"
    ".tile .l{color:#666;font-size:12px}.charts{display:flex;flex-wrap:wrap;gap:8px 24px}"
    "svg.chart{max-width:100%;height:auto;border:1px solid #eee;border-radius:6px}"
    "svg .tick{font-size:11px;fill:#555}svg .label{font-size:12px;fill:#222}svg .muted{font-size:12px;fill:#888}"
    "svg .grid{stroke:#e5e5e5;stroke-width:1}"
    "table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}"
    "th{background:#f6f6f6}td.k,th:first-child{text-align:left}tr.total td{font-weight:600;border-top:2px solid #ccc}"
    ".scroll{overflow-x:auto}output#drawn{display:block;color:#999;font-size:11px;margin-top:24px}";

static const char SCRIPT[] =
    "addEventListener('load',function(){var out=[],all=0;"
    "document.querySelectorAll('svg.chart').forEach(function(s){var n=0;"
    "s.querySelectorAll('.mark').forEach(function(m){var b=m.getBBox();if(b.width>0&&b.height>0)n++;});"
    "all+=n;out.push(s.id+'='+n);});"
    "var o=document.getElementById('drawn');o.textContent='drawn: '+out.join(' ')+' total='+all;"
    "o.setAttribute('data-total',all);});";

int out_html(FILE *f, const agg_t *a, const html_views_t *v, const report_meta_t *m)
{
    const figures_t *t = &a->totals;
    char b[64], s1[RFC3339_LEN], s2[RFC3339_LEN];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
    esc(f, m->title ? m->title : "LLM usage report");
    fprintf(f, "</title>\n<style>%s</style>\n</head><body>\n<h1>", CSS);
    esc(f, m->title ? m->title : "LLM usage report");
    fputs("</h1>\n<p class=\"muted\">", f);
    if (m->since_us != INT64_MIN) { clock_rfc3339(m->since_us, s1); fprintf(f, "from %s · ", s1); }
    if (m->until_us != INT64_MAX) { clock_rfc3339(m->until_us, s2); fprintf(f, "until %s · ", s2); }
    fputs("days and hours in ", f);
    esc(f, m->tz ? m->tz : "UTC");
    fprintf(f, " · prices of %s (", a->prices->taken);
    esc(f, a->prices->source);
    fprintf(f, ") · %llu lines read</p>\n<div class=\"tiles\">\n", (unsigned long long)a->lines);
    snprintf(b, sizeof b, "%llu", (unsigned long long)t->requests);
    tile(f, "requests", b);
    snprintf(b, sizeof b, "%.1f%%", t->requests ? 100.0 * (double)figures_errors(t) / (double)t->requests : 0.0);
    tile(f, "errors", b);
    snprintf(b, sizeof b, "%llu / %llu", (unsigned long long)t->tok_in, (unsigned long long)t->tok_out);
    tile(f, "tokens in / out", b);
    if (has_cost(t)) snprintf(b, sizeof b, "$%.4f%s", t->cost, t->unpriced_tokens ? " +?" : "");
    else snprintf(b, sizeof b, "unknown");
    tile(f, "cost", b);
    double p = histo_quantile(&t->ttft, 0.5) / 1000;
    if (isnan(p)) snprintf(b, sizeof b, "-"); else snprintf(b, sizeof b, "%.1f ms", p);
    tile(f, "TTFT p50", b);
    p = histo_quantile(&t->total, 0.99) / 1000;
    if (isnan(p)) snprintf(b, sizeof b, "-"); else snprintf(b, sizeof b, "%.1f ms", p);
    tile(f, "latency p99", b);
    snprintf(b, sizeof b, "%llu", (unsigned long long)a->incomplete);
    tile(f, "without an end", b);
    fputs("</div>\n<div class=\"charts\">\n", f);
    chart_days(f, a, v->day);
    chart_latency(f, a, v->model);
    chart_users(f, a, v->user);
    chart_errors(f, a, v->hour);
    fputs("</div>\n", f);
    group_table(f, a, v->main);
    fprintf(f, "<output id=\"drawn\"></output>\n<script>%s</script>\n</body></html>\n", SCRIPT);
    return ferror(f) ? -1 : 0;
}
