/* summary.c — the summary table on stderr at the end of a replay: how many
 * exchanges were the same, different, failed or skipped; counts by kind of
 * difference; the latency and token deltas (p50, p99, exact: one number
 * per exchange is kept); what crossed the --fail-on thresholds. */
#include "replay.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct { double *v; size_t n, cap; } series_t;

enum { S_TTFT, S_TOTAL, S_RATIO, S_IN, S_OUT, S_SIM, S_N };
static const char *const series_names[S_N] = {
    "ttft delta", "total delta", "total ratio", "input tokens delta", "output tokens delta", "text similarity"
};

struct summary {
    uint64_t total, same, different, errors, skipped, crossed;
    uint64_t kinds[D_N];
    uint64_t crossed_by[X_N];
    series_t s[S_N];
};

summary_t *summary_new(void) { return calloc(1, sizeof(summary_t)); }

void summary_free(summary_t *s)
{
    if (!s) return;
    for (int i = 0; i < S_N; i++) free(s->s[i].v);
    free(s);
}

static int push(series_t *s, double v)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 64;
        double *nv = realloc(s->v, nc * sizeof *nv);
        if (!nv) return -1;
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = v;
    return 0;
}

int summary_add(summary_t *s, const outcome_t *o, int skipped, int error)
{
    s->total++;
    if (skipped) { s->skipped++; return 0; }
    if (error) s->errors++;
    else if (o->diffs) s->different++;
    else s->same++;
    if (o->crossed) s->crossed++;
    for (int k = 0; k < X_N; k++)
        if (o->crossed & (1u << k)) s->crossed_by[k]++;
    for (int k = 0; k < D_N; k++)
        if (o->diffs & (1u << k)) s->kinds[k]++;
    int rc = 0;
    if (o->d_ttft_us != INT64_MIN) rc |= push(&s->s[S_TTFT], (double)o->d_ttft_us / 1000.0);
    if (o->d_total_us != INT64_MIN) rc |= push(&s->s[S_TOTAL], (double)o->d_total_us / 1000.0);
    if (o->ratio_total >= 0) rc |= push(&s->s[S_RATIO], o->ratio_total);
    if (o->d_in != INT64_MIN) rc |= push(&s->s[S_IN], (double)o->d_in);
    if (o->d_out != INT64_MIN) rc |= push(&s->s[S_OUT], (double)o->d_out);
    if (o->similarity >= 0) rc |= push(&s->s[S_SIM], o->similarity);
    return rc;
}

uint64_t summary_crossed(const summary_t *s) { return s->crossed; }
uint64_t summary_errors(const summary_t *s) { return s->errors; }

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* the value of rank floor(q (n-1)) */
static double quantile(const series_t *s, double q)
{
    return s->v[(size_t)floor(q * (double)(s->n - 1))];
}

static void cell(char *out, size_t n, int which, double v)
{
    switch (which) {
    case S_TTFT:
    case S_TOTAL: snprintf(out, n, "%+.1f ms", v); break;
    case S_RATIO: snprintf(out, n, "%.2fx", v); break;
    case S_SIM: snprintf(out, n, "%.3f", v); break;
    default: snprintf(out, n, "%+.0f", v); break;
    }
}

void summary_print(summary_t *s, FILE *f, const failon_t *fo)
{
    fprintf(f, PROG ": %llu exchanges: %llu same, %llu different, %llu failed, %llu skipped\n",
            (unsigned long long)s->total, (unsigned long long)s->same, (unsigned long long)s->different,
            (unsigned long long)s->errors, (unsigned long long)s->skipped);
    int any = 0;
    for (int k = 0; k < D_N; k++) any |= s->kinds[k] > 0;
    if (any) {
        fprintf(f, "%-22s %10s\n", "difference", "exchanges");
        for (int k = 0; k < D_N; k++)
            if (s->kinds[k]) fprintf(f, "%-22s %10llu\n", diff_names[k], (unsigned long long)s->kinds[k]);
    }
    any = 0;
    for (int i = 0; i < S_N; i++) any |= s->s[i].n > 0;
    if (any) {
        fprintf(f, "%-22s %10s %12s %12s %12s\n", "replayed vs recorded", "exchanges", "p50", "p99", "min");
        for (int i = 0; i < S_N; i++) {
            series_t *x = &s->s[i];
            if (!x->n) continue;
            qsort(x->v, x->n, sizeof *x->v, cmp_double);
            char a[32], b[32], c[32];
            cell(a, sizeof a, i, quantile(x, 0.5));
            cell(b, sizeof b, i, quantile(x, 0.99));
            cell(c, sizeof c, i, x->v[0]);
            fprintf(f, "%-22s %10zu %12s %12s %12s\n", series_names[i], x->n, a, b, c);
        }
    }
    if (s->crossed) {
        fprintf(f, PROG ": %llu exchanges crossed the --fail-on thresholds:", (unsigned long long)s->crossed);
        const char *sep = " ";
        for (int k = 0; k < X_N; k++)
            if (s->crossed_by[k]) {
                char name[64];
                failon_name(fo, k, name, sizeof name);
                fprintf(f, "%s%s (%llu)", sep, name, (unsigned long long)s->crossed_by[k]);
                sep = ", ";
            }
        fputc('\n', f);
    }
}
