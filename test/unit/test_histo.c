/* test_histo.c — unit tests for lib/histo.c: percentiles against exact
 * values on generated sets (within HISTO_ALPHA), exact merge, bounded
 * memory, edge values. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "histo.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* xorshift: a fixed, portable sequence */
static uint64_t rng = 88172645463325252ull;
static double uniform(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static const double QS[] = { 0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0 };

/* every quantile of h is within HISTO_ALPHA of the exact one */
static void check_quantiles(const histo_t *h, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    for (size_t k = 0; k < sizeof QS / sizeof QS[0]; k++) {
        double exact = v[(size_t)floor(QS[k] * (double)(n - 1))];
        double est = histo_quantile(h, QS[k]);
        if (exact == 0) { assert_true(est == 0); continue; }
        double rel = fabs(est - exact) / exact;
        if (rel > HISTO_ALPHA + 1e-12)
            fail_msg("q=%g exact=%g est=%g rel=%g", QS[k], exact, est, rel);
    }
}

static void test_lognormal_latencies(void **state)
{
    (void)state;
    size_t n = 200000;
    double *v = malloc(n * sizeof *v);
    histo_t h;
    histo_init(&h);
    for (size_t i = 0; i < n; i++) {
        /* Box-Muller: latencies in µs around 300 ms, long right tail */
        double u1 = uniform(), u2 = uniform();
        double z = sqrt(-2 * log(u1 + 1e-300)) * cos(2 * M_PI * u2);
        v[i] = round(exp(12.6 + 1.1 * z));
        assert_int_equal(histo_add(&h, v[i]), 0);
    }
    assert_int_equal(h.count, n);
    check_quantiles(&h, v, n);
    /* memory bounded by the range of the values, not their number */
    assert_true(histo_buckets(&h) < 1200);
    free(v);
    histo_free(&h);
}

static void test_uniform_and_small_sets(void **state)
{
    (void)state;
    size_t sizes[] = { 1, 2, 3, 10, 101, 5000 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double *v = malloc(n * sizeof *v);
        histo_t h;
        histo_init(&h);
        for (size_t i = 0; i < n; i++) {
            v[i] = 0.5 + uniform() * 1e4;   /* tokens per second: fractions too */
            histo_add(&h, v[i]);
        }
        check_quantiles(&h, v, n);
        free(v);
        histo_free(&h);
    }
}

static void test_exact_min_max_sum(void **state)
{
    (void)state;
    histo_t h;
    histo_init(&h);
    assert_true(isnan(histo_quantile(&h, 0.5)));
    histo_add(&h, 1234567);
    assert_true(histo_quantile(&h, 0.5) == 1234567);   /* clamped to min = max */
    histo_add(&h, 10);
    histo_add(&h, 99);
    assert_true(h.min == 10);
    assert_true(h.max == 1234567);
    assert_true(histo_quantile(&h, 1) == 1234567);
    assert_true(histo_quantile(&h, 0) == 10);
    assert_true(h.sum == 1234676);
    assert_int_equal(h.count, 3);
    histo_free(&h);
}

static void test_zero_negative_huge(void **state)
{
    (void)state;
    histo_t h;
    histo_init(&h);
    histo_add(&h, 0);
    histo_add(&h, -5);
    histo_add(&h, NAN);
    histo_add(&h, 1e300);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.zero, 3);
    assert_true(histo_quantile(&h, 0.5) == 0);
    assert_true(histo_quantile(&h, 1) == HISTO_MAX);
    assert_true(h.n <= HISTO_MAX_BUCKETS);
    /* the widest possible range still fits the bound */
    histo_add(&h, 2e-9);
    assert_true(h.n <= HISTO_MAX_BUCKETS);
    histo_free(&h);
}

static void test_merge_is_exact(void **state)
{
    (void)state;
    histo_t a, b, all;
    histo_init(&a); histo_init(&b); histo_init(&all);
    size_t n = 50000;
    double *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
        /* two populations far apart: fast cache hits and slow generations */
        v[i] = i % 3 ? 50 + uniform() * 100 : 2e6 + uniform() * 3e7;
        histo_add(i % 2 ? &a : &b, v[i]);
        histo_add(&all, v[i]);
    }
    histo_t m;
    histo_init(&m);
    assert_int_equal(histo_merge(&m, &a), 0);
    assert_int_equal(histo_merge(&m, &b), 0);
    assert_int_equal(m.count, all.count);
    assert_true(m.min == all.min && m.max == all.max);
    for (size_t k = 0; k < sizeof QS / sizeof QS[0]; k++)
        assert_true(histo_quantile(&m, QS[k]) == histo_quantile(&all, QS[k]));
    check_quantiles(&m, v, n);
    /* merging an empty one changes nothing; into an empty one copies */
    histo_t e;
    histo_init(&e);
    assert_int_equal(histo_merge(&m, &e), 0);
    assert_int_equal(m.count, n);
    assert_int_equal(histo_merge(&e, &a), 0);
    assert_true(histo_quantile(&e, 0.9) == histo_quantile(&a, 0.9));
    free(v);
    histo_free(&a); histo_free(&b); histo_free(&all); histo_free(&m); histo_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lognormal_latencies),
        cmocka_unit_test(test_uniform_and_small_sets),
        cmocka_unit_test(test_exact_min_max_sum),
        cmocka_unit_test(test_zero_negative_huge),
        cmocka_unit_test(test_merge_is_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
