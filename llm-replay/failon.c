/* failon.c — --fail-on: which differences fail the run (exit 1).
 * A comma-separated list of
 *   status shape text tools finish usage   any difference of that kind
 *   text<X         the text similarity below X (0..1)
 *   latency>Nx     total time more than N times the recorded one
 *   ttft>Nx        time to first token more than N times the recorded one
 *   tokens>Nx      output tokens more than N times the recorded ones
 *   all | none
 * Without --fail-on every kind of difference fails (all). */
#include "replay.h"
#include <stdlib.h>
#include <string.h>

const char *const diff_names[D_N] = { "status", "shape", "text", "tools", "finish", "usage", "error" };

#define ALL_KINDS ((1u << D_STATUS) | (1u << D_SHAPE) | (1u << D_TEXT) | (1u << D_TOOLS) | \
                   (1u << D_FINISH) | (1u << D_USAGE))

void failon_default(failon_t *f)
{
    memset(f, 0, sizeof *f);
    f->kinds = ALL_KINDS;
    f->text_min = -1;
}

void failon_name(const failon_t *f, int k, char *out, size_t n)
{
    switch (k) {
    case X_TEXT: snprintf(out, n, "text<%g", f->text_min); break;
    case X_LATENCY: snprintf(out, n, "latency>%gx", f->latency_x); break;
    case X_TTFT: snprintf(out, n, "ttft>%gx", f->ttft_x); break;
    case X_TOKENS: snprintf(out, n, "tokens>%gx", f->tokens_x); break;
    default: snprintf(out, n, "%s", k >= 0 && k < D_N ? diff_names[k] : "?"); break;
    }
}

/* "1.5x" or "1.5" → 1.5 (> 0) */
static int ratio(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0) return -1;
    if (*end == 'x' || *end == 'X') end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

static int item(failon_t *f, const char *w, char *err, size_t errlen)
{
    if (!strcmp(w, "all")) { f->kinds = ALL_KINDS; return 0; }
    if (!strcmp(w, "none")) return 0;
    for (int k = 0; k < D_N; k++)
        if (k != D_ERROR && !strcmp(w, diff_names[k])) { f->kinds |= 1u << k; return 0; }
    if (!strncmp(w, "text<", 5)) {
        char *end;
        double v = strtod(w + 5, &end);
        if (end != w + 5 && !*end && v >= 0 && v <= 1) { f->text_min = v; return 0; }
    } else if (!strncmp(w, "latency>", 8)) {
        if (!ratio(w + 8, &f->latency_x)) return 0;
    } else if (!strncmp(w, "ttft>", 5)) {
        if (!ratio(w + 5, &f->ttft_x)) return 0;
    } else if (!strncmp(w, "tokens>", 7)) {
        if (!ratio(w + 7, &f->tokens_x)) return 0;
    }
    snprintf(err, errlen, "--fail-on: not understood: '%s' (status, shape, text, tools, finish, usage, "
             "text<X, latency>Nx, ttft>Nx, tokens>Nx, all, none)", w);
    return -1;
}

int failon_parse(failon_t *f, const char *spec, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->text_min = -1;
    char w[64];
    const char *p = spec;
    int any = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (p[i] != ' ' && k + 1 < sizeof w) w[k++] = p[i];
        w[k] = 0;
        if (k && item(f, w, err, errlen)) return -1;
        any |= k > 0;
        p += n;
        if (*p == ',') p++;
    }
    if (!any) {
        snprintf(err, errlen, "--fail-on: empty (say none to never fail on differences)");
        return -1;
    }
    return 0;
}
