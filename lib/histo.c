/* histo.c — mergeable log-bucketed histogram (see histo.h). */
#include "histo.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA ((1.0 + HISTO_ALPHA) / (1.0 - HISTO_ALPHA))
#define SLACK 16   /* extra buckets allocated on each side when growing */

/* log(GAMMA) is a constant expression that the compiler folds */
static double log_gamma(void) { return log(GAMMA); }

static int32_t index_min(void) { return (int32_t)ceil(log(HISTO_MIN) / log_gamma()); }
static int32_t index_max(void) { return (int32_t)ceil(log(HISTO_MAX) / log_gamma()); }

static int32_t bucket_of(double v)
{
    int32_t i = (int32_t)ceil(log(v) / log_gamma());
    int32_t a = index_min(), b = index_max();
    return i < a ? a : i > b ? b : i;
}

static double value_of(int32_t i)
{
    return 2.0 * pow(GAMMA, i) / (GAMMA + 1.0);
}

void histo_init(histo_t *h)
{
    memset(h, 0, sizeof *h);
}

void histo_free(histo_t *h)
{
    free(h->counts);
    histo_init(h);
}

/* Make the store cover buckets [a, b]. */
static int cover(histo_t *h, int32_t a, int32_t b)
{
    if (h->n && a >= h->lo && b < h->lo + (int32_t)h->n) return 0;
    int32_t lo = h->n ? (a < h->lo ? a : h->lo) : a;
    int32_t hi = h->n ? (b > h->lo + (int32_t)h->n - 1 ? b : h->lo + (int32_t)h->n - 1) : b;
    int32_t imin = index_min(), imax = index_max();
    lo = lo - SLACK < imin ? imin : lo - SLACK;
    hi = hi + SLACK > imax ? imax : hi + SLACK;
    uint32_t n = (uint32_t)(hi - lo + 1);
    uint64_t *c = calloc(n, sizeof *c);
    if (!c) return -1;
    if (h->n) memcpy(c + (h->lo - lo), h->counts, h->n * sizeof *c);
    free(h->counts);
    h->counts = c;
    h->lo = lo;
    h->n = n;
    return 0;
}

int histo_add(histo_t *h, double v)
{
    if (!(v > 0)) v = 0;                    /* negatives and NaN */
    if (v > HISTO_MAX) v = HISTO_MAX;
    if (v > HISTO_MIN) {
        int32_t i = bucket_of(v);
        if (cover(h, i, i)) return -1;
        h->counts[i - h->lo]++;
    } else {
        h->zero++;
    }
    if (h->count == 0 || v < h->min) h->min = v;
    if (h->count == 0 || v > h->max) h->max = v;
    h->count++;
    h->sum += v;
    return 0;
}

int histo_merge(histo_t *dst, const histo_t *src)
{
    if (src->count == 0) return 0;
    if (src->n) {
        /* the used range of src: skip its empty slack */
        uint32_t a = 0, b = src->n - 1;
        while (a < b && !src->counts[a]) a++;
        while (b > a && !src->counts[b]) b--;
        if (src->counts[a] && cover(dst, src->lo + (int32_t)a, src->lo + (int32_t)b)) return -1;
        for (uint32_t k = a; k <= b; k++)
            dst->counts[src->lo + (int32_t)k - dst->lo] += src->counts[k];
    }
    dst->zero += src->zero;
    if (dst->count == 0 || src->min < dst->min) dst->min = src->min;
    if (dst->count == 0 || src->max > dst->max) dst->max = src->max;
    dst->count += src->count;
    dst->sum += src->sum;
    return 0;
}

double histo_quantile(const histo_t *h, double q)
{
    if (h->count == 0) return NAN;
    if (q <= 0) return h->min;
    if (q >= 1) return h->max;
    uint64_t rank = (uint64_t)floor(q * (double)(h->count - 1));
    uint64_t cum = h->zero;
    double est = 0;
    if (cum <= rank) {
        for (uint32_t k = 0; k < h->n; k++) {
            cum += h->counts[k];
            if (cum > rank) { est = value_of(h->lo + (int32_t)k); break; }
        }
    }
    if (est < h->min) est = h->min;
    if (est > h->max) est = h->max;
    return est;
}
