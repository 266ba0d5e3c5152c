/* test_clock.c — unit tests for lib/clock.c: clocks, RFC 3339 formatting,
 * parsing with offsets and fractions, calendar edge cases, round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "clock.h"

static void test_clocks_plausible(void **state)
{
    (void)state;
    int64_t w = clock_wall_us();
    assert_true(w > 1700000000LL * 1000000); /* after 2023-11 */
    int64_t m1 = clock_mono_us(), m2 = clock_mono_us();
    assert_true(m1 > 0);
    assert_true(m2 >= m1);
}

static void fmt_is(int64_t us, const char *want)
{
    char out[RFC3339_LEN];
    size_t n = clock_rfc3339(us, out);
    assert_string_equal(out, want);
    assert_int_equal(n, 27);
}

static void test_format_known_values(void **state)
{
    (void)state;
    fmt_is(0, "1970-01-01T00:00:00.000000Z");
    fmt_is(1700000000123456LL, "2023-11-14T22:13:20.123456Z");
    fmt_is(1709208000500000LL, "2024-02-29T12:00:00.500000Z"); /* leap day */
    fmt_is(951782400000000LL, "2000-02-29T00:00:00.000000Z");  /* 400-year leap */
    fmt_is(4107542399999999LL, "2100-02-28T23:59:59.999999Z"); /* 2100: no leap */
    fmt_is(4107542400000000LL, "2100-03-01T00:00:00.000000Z");
    fmt_is(-1, "1969-12-31T23:59:59.999999Z");
    fmt_is(-86400000001LL, "1969-12-30T23:59:59.999999Z");
}

static void test_format_clamps_range(void **state)
{
    (void)state;
    fmt_is(INT64_MAX, "9999-12-31T23:59:59.999999Z");
    fmt_is(INT64_MIN, "0000-01-01T00:00:00.000000Z");
}

static void parse_is(const char *s, int64_t want)
{
    int64_t got = 12345;
    assert_int_equal(clock_parse_rfc3339(s, &got), 0);
    assert_int_equal(got, want);
}

static void parse_bad(const char *s)
{
    int64_t got = 12345;
    assert_int_equal(clock_parse_rfc3339(s, &got), -1);
    assert_int_equal(got, 12345); /* untouched */
}

static void test_parse_utc_and_fractions(void **state)
{
    (void)state;
    parse_is("1970-01-01T00:00:00Z", 0);
    parse_is("2023-11-14T22:13:20.123456Z", 1700000000123456LL);
    parse_is("2023-11-14T22:13:20.1Z", 1700000000100000LL);
    parse_is("2023-11-14T22:13:20.000001Z", 1700000000000001LL);
    parse_is("2023-11-14T22:13:20.123456789Z", 1700000000123456LL); /* truncated */
    parse_is("2023-11-14t22:13:20z", 1700000000000000LL);
    parse_is("2023-11-14 22:13:20Z", 1700000000000000LL);
    parse_is("1969-12-31T23:59:59.999999Z", -1);
}

static void test_parse_offsets(void **state)
{
    (void)state;
    /* 22:13:20Z == 03:43:20+05:30 next day == 14:13:20-08:00 */
    parse_is("2023-11-15T03:43:20+05:30", 1700000000000000LL);
    parse_is("2023-11-14T14:13:20-08:00", 1700000000000000LL);
    parse_is("2023-11-14T22:13:20+00:00", 1700000000000000LL);
    parse_is("2023-11-14T22:13:20-00:00", 1700000000000000LL);
    parse_is("2023-11-14T22:13:20.5+23:59", 1700000000500000LL - (23 * 3600 + 59 * 60) * 1000000LL);
    /* an offset that crosses a leap day */
    parse_is("2024-03-01T01:00:00+02:00", 1709247600000000LL);
    parse_is("2024-02-29T23:00:00Z", 1709247600000000LL);
}

static void test_parse_calendar(void **state)
{
    (void)state;
    parse_is("2024-02-29T00:00:00Z", 1709164800000000LL);
    parse_is("2000-02-29T00:00:00Z", 951782400000000LL);
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2023-04-31T00:00:00Z");
    parse_bad("2023-13-01T00:00:00Z");
    parse_bad("2023-00-01T00:00:00Z");
    parse_bad("2023-01-00T00:00:00Z");
    parse_bad("2023-01-01T24:00:00Z");
    parse_bad("2023-01-01T23:60:00Z");
    parse_bad("2023-01-01T23:59:61Z");
    /* a leap second is the next minute's :00 */
    parse_is("2016-12-31T23:59:60Z", 1483228800000000LL);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("2023-11-14");
    parse_bad("2023-11-14T22:13:20");       /* no offset */
    parse_bad("2023-11-14T22:13:20.Z");     /* empty fraction */
    parse_bad("2023-11-14T22:13:20Zjunk");
    parse_bad("2023-11-14T22:13:20+0530");  /* colon required */
    parse_bad("2023-11-14T22:13:20+24:00");
    parse_bad("2023-11-14T22:13:20+05:60");
    parse_bad("2023-11-14X22:13:20Z");
    parse_bad("23-11-14T22:13:20Z");
    parse_bad("2023-1-14T22:13:20Z");
    parse_bad("2023-11-14T22:13:2Z");
    parse_bad(" 2023-11-14T22:13:20Z");
    int64_t t;
    assert_int_equal(clock_parse_rfc3339(NULL, &t), -1);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint64_t x = 88172645463325252ULL;
    char out[RFC3339_LEN];
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* years 0000..9999 */
        int64_t us = (int64_t)(x % 315537897600000000ULL) - 62167219200000000LL;
        clock_rfc3339(us, out);
        int64_t back;
        assert_int_equal(clock_parse_rfc3339(out, &back), 0);
        assert_int_equal(back, us);
    }
    int64_t now = clock_wall_us(), back;
    clock_rfc3339(now, out);
    assert_int_equal(clock_parse_rfc3339(out, &back), 0);
    assert_int_equal(back, now);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clocks_plausible),
        cmocka_unit_test(test_format_known_values),
        cmocka_unit_test(test_format_clamps_range),
        cmocka_unit_test(test_parse_utc_and_fractions),
        cmocka_unit_test(test_parse_offsets),
        cmocka_unit_test(test_parse_calendar),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
