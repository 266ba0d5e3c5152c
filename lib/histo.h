/* histo.h — a mergeable histogram for latencies and rates, with bounded
 * relative error (the DDSketch idea, with a dense log-bucketed store):
 * a value v > 0 goes to bucket i = ceil(log(v) / log(g)), g = (1+a)/(1-a),
 * a = HISTO_ALPHA = 0.01; bucket i holds (g^(i-1), g^i] and is read back as
 * 2 g^i / (g+1), which is within a (1%) of every value in it. Values at or
 * below HISTO_MIN count as 0; values above HISTO_MAX count as HISTO_MAX.
 * Memory does not grow with the number of values: at most HISTO_MAX_BUCKETS
 * counters (about 3100), in practice a few hundred, since a histogram only
 * holds the buckets between its smallest and largest value.
 * Two histograms merge exactly (bucket by bucket): the merge equals the
 * histogram of all the values, so groups and files can be summed.
 * The q-quantile is the value of rank floor(q * (count - 1)) in sorted
 * order (0-based), estimated within a relative error of HISTO_ALPHA, and
 * clamped to the exact minimum and maximum, which are kept. */
#ifndef PLLM_HISTO_H
#define PLLM_HISTO_H
#include <stdint.h>
#include <stddef.h>

#define HISTO_ALPHA 0.01
#define HISTO_MIN   1e-9
#define HISTO_MAX   1e18
#define HISTO_MAX_BUCKETS 3200

typedef struct {
    uint64_t *counts;   /* owned; counts[k] is bucket lo + k */
    int32_t lo;         /* index of counts[0] */
    uint32_t n;         /* buckets allocated */
    uint64_t zero;      /* values <= HISTO_MIN */
    uint64_t count;     /* all values */
    double sum, min, max;
} histo_t;

void histo_init(histo_t *h);
void histo_free(histo_t *h);              /* releases memory; h is empty after */
/* Add one value (negatives and NaN count as 0). 0, or -1 when memory is
 * short (h unchanged). */
int histo_add(histo_t *h, double v);
/* dst += src. 0, or -1 when memory is short (dst unchanged). */
int histo_merge(histo_t *dst, const histo_t *src);
/* The q-quantile (0 <= q <= 1) as described above; NAN when empty. */
double histo_quantile(const histo_t *h, double q);
/* Buckets allocated (memory is 8 bytes each). */
static inline size_t histo_buckets(const histo_t *h) { return h->n; }

#endif
