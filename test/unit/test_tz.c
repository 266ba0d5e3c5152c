/* test_tz.c — unit tests for lib/tz.c: zone names (UTC, offsets, the time
 * zone database, local, unknown ones), the day of an instant and the
 * bounds of a day across both DST changes of America/New_York and
 * Europe/Berlin (days of 23 and 25 hours), fixed offsets, instants before
 * 1970. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "tz.h"

#define H (3600LL * 1000000)

static int64_t at(const char *rfc3339)
{
    int64_t us;
    if (clock_parse_rfc3339(rfc3339, &us))
        fail_msg("bad time %s", rfc3339);
    return us;
}

static tz_t zone(const char *name)
{
    tz_t z;
    char err[ERRBUF_SIZE] = "";
    if (tz_setup(&z, name, err, sizeof err))
        fail_msg("zone %s: %s", name, err);
    return z;
}

static void day_is(const tz_t *z, const char *when, const char *want)
{
    char got[11];
    day_format(tz_day_of(z, at(when)), got);
    if (strcmp(got, want))
        fail_msg("day of %s: %s, want %s", when, got, want);
}

/* [start, end) of day (YYYY-MM-DD) must be these instants */
static void bounds_are(const tz_t *z, const char *day, const char *start, const char *end)
{
    day_t d;
    assert_int_equal(day_parse(day, &d), 0);
    int64_t a = 0, b = 0;
    assert_int_equal(tz_day_bounds(z, d, &a, &b), 0);
    if (a != at(start) || b != at(end)) {
        char sa[RFC3339_LEN], sb[RFC3339_LEN];
        clock_rfc3339(a, sa);
        clock_rfc3339(b, sb);
        fail_msg("%s: [%s, %s), want [%s, %s)", day, sa, sb, start, end);
    }
    /* either end alone gives the same */
    int64_t only = 0;
    assert_int_equal(tz_day_bounds(z, d, &only, NULL), 0);
    assert_true(only == a);
    assert_int_equal(tz_day_bounds(z, d, NULL, &only), 0);
    assert_true(only == b);
    /* the first and last µs belong to the day, the ones around do not */
    char s[11];
    day_format(tz_day_of(z, a), s);
    assert_string_equal(s, day);
    day_format(tz_day_of(z, b - 1), s);
    assert_string_equal(s, day);
    assert_true(day_cmp(tz_day_of(z, a - 1), d) < 0);
    assert_true(day_cmp(tz_day_of(z, b), d) > 0);
}

static void names(void **state)
{
    (void)state;
    const char *utc[] = { NULL, "", "UTC", "utc", "Z" };
    for (size_t i = 0; i < sizeof utc / sizeof utc[0]; i++) {
        tz_t z = zone(utc[i]);
        assert_int_equal(z.kind, TZ_UTC);
        assert_int_equal(z.offset_s, 0);
    }
    tz_t z = zone("+05:30");
    assert_int_equal(z.kind, TZ_FIXED);
    assert_int_equal(z.offset_s, 5 * 3600 + 30 * 60);
    z = zone("-08:00");
    assert_int_equal(z.offset_s, -8 * 3600);
    z = zone("+00:00");
    assert_int_equal(z.kind, TZ_FIXED);
    assert_int_equal(zone("Europe/Berlin").kind, TZ_ZONE);
    assert_int_equal(zone("/usr/share/zoneinfo/America/New_York").kind, TZ_ZONE);
    assert_string_equal(getenv("TZ"), "/usr/share/zoneinfo/America/New_York");
    assert_int_equal(zone("local").kind, TZ_ZONE);
    assert_null(getenv("TZ"));

    char err[ERRBUF_SIZE] = "";
    assert_int_equal(tz_setup(&z, "Mars/Olympus_Mons", err, sizeof err), -1);
    assert_string_equal(err, "unknown time zone 'Mars/Olympus_Mons' (no /usr/share/zoneinfo/Mars/Olympus_Mons)");
    const char *bad[] = { "+24:00", "+05:60", "+5:30", "+05:30x", "05:30", "+-1:30", "../../etc/passwd",
                          "Europe/../Europe/Berlin", "/nonexistent/zone" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (tz_setup(&z, bad[i], err, sizeof err) != -1)
            fail_msg("zone \"%s\" accepted", bad[i]);
        assert_true(strncmp(err, "unknown time zone '", 19) == 0);
    }
    /* $TZDIR is where names are looked up */
    setenv("TZDIR", "/nonexistent", 1);
    assert_int_equal(tz_setup(&z, "Europe/Berlin", err, sizeof err), -1);
    assert_string_equal(err, "unknown time zone 'Europe/Berlin' (no /nonexistent/Europe/Berlin)");
    unsetenv("TZDIR");
}

static void utc_days(void **state)
{
    (void)state;
    tz_t z = zone("UTC");
    day_is(&z, "2026-11-26T00:00:00Z", "2026-11-26");
    day_is(&z, "2026-11-26T23:59:59.999999Z", "2026-11-26");
    day_is(&z, "2026-02-28T23:59:59Z", "2026-02-28");
    day_is(&z, "2028-02-29T12:00:00Z", "2028-02-29");
    bounds_are(&z, "2026-11-26", "2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z");
    bounds_are(&z, "2026-12-31", "2026-12-31T00:00:00Z", "2027-01-01T00:00:00Z");
    /* before 1970: days round down, not toward zero */
    char s[11];
    day_format(tz_day_of(&z, -1), s);
    assert_string_equal(s, "1969-12-31");
    day_format(tz_day_of(&z, 0), s);
    assert_string_equal(s, "1970-01-01");
    bounds_are(&z, "1969-12-31", "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z");
}

static void fixed_offsets(void **state)
{
    (void)state;
    tz_t z = zone("+05:30");
    day_is(&z, "2026-11-26T18:29:59.999999Z", "2026-11-26");
    day_is(&z, "2026-11-26T18:30:00Z", "2026-11-27");
    bounds_are(&z, "2026-11-27", "2026-11-26T18:30:00Z", "2026-11-27T18:30:00Z");
    z = zone("-08:00");
    day_is(&z, "2026-11-27T07:59:59Z", "2026-11-26");
    day_is(&z, "2026-11-27T08:00:00Z", "2026-11-27");
    bounds_are(&z, "2026-11-27", "2026-11-27T08:00:00Z", "2026-11-28T08:00:00Z");
    struct tm tm;
    tz_local(&z, at("2026-11-27T08:15:42.5Z"), &tm);
    assert_int_equal(tm.tm_hour, 0);
    assert_int_equal(tm.tm_min, 15);
    assert_int_equal(tm.tm_sec, 42);
}

static void new_york_dst(void **state)
{
    (void)state;
    tz_t z = zone("America/New_York");
    /* 2026-03-08: EST until 02:00, then EDT: a day of 23 hours */
    bounds_are(&z, "2026-03-08", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z");
    day_is(&z, "2026-03-08T04:59:59.999999Z", "2026-03-07");
    day_is(&z, "2026-03-09T03:59:59.999999Z", "2026-03-08");
    day_is(&z, "2026-03-09T04:00:00Z", "2026-03-09");
    /* the day before and after: 24 hours each */
    bounds_are(&z, "2026-03-07", "2026-03-07T05:00:00Z", "2026-03-08T05:00:00Z");
    bounds_are(&z, "2026-03-09", "2026-03-09T04:00:00Z", "2026-03-10T04:00:00Z");
    /* 2026-11-01: EDT until 02:00, then EST: a day of 25 hours */
    bounds_are(&z, "2026-11-01", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z");
    day_is(&z, "2026-11-01T03:59:59.999999Z", "2026-10-31");
    day_is(&z, "2026-11-02T04:59:59.999999Z", "2026-11-01");
    /* 01:30 happens twice that night */
    struct tm a, b;
    tz_local(&z, at("2026-11-01T05:30:00Z"), &a);
    tz_local(&z, at("2026-11-01T06:30:00Z"), &b);
    assert_int_equal(a.tm_hour, 1);
    assert_int_equal(b.tm_hour, 1);
    assert_int_equal(a.tm_min, 30);
    assert_int_equal(a.tm_isdst, 1);
    assert_int_equal(b.tm_isdst, 0);
    /* 02:30 never happens in March */
    tz_local(&z, at("2026-03-08T07:00:00Z"), &a);
    assert_int_equal(a.tm_hour, 3);
}

static void berlin_dst(void **state)
{
    (void)state;
    tz_t z = zone("Europe/Berlin");
    /* 2026-03-29: CET until 02:00, then CEST: 23 hours */
    bounds_are(&z, "2026-03-29", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z");
    /* 2026-10-25: CEST until 03:00, then CET: 25 hours */
    bounds_are(&z, "2026-10-25", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
    bounds_are(&z, "2026-11-26", "2026-11-25T23:00:00Z", "2026-11-26T23:00:00Z");
    bounds_are(&z, "2026-07-01", "2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z");
    day_is(&z, "2026-10-25T22:59:59Z", "2026-10-25");
    day_is(&z, "2026-10-25T23:00:00Z", "2026-10-26");
    /* a zone set later replaces the earlier one */
    z = zone("America/New_York");
    day_is(&z, "2026-10-25T23:00:00Z", "2026-10-25");
}

static void every_hour_of_a_year(void **state)
{
    (void)state;
    /* in both zones, each instant of 2026 (hourly, and just before each
     * hour) lies within the bounds of its own day, and days tile time */
    const char *zones[] = { "America/New_York", "Europe/Berlin", "+05:30", "UTC" };
    for (size_t k = 0; k < sizeof zones / sizeof zones[0]; k++) {
        tz_t z = zone(zones[k]);
        int64_t t0 = at("2026-01-01T00:00:00Z"), prev_end = 0;
        int days_23 = 0, days_25 = 0;
        for (int64_t us = t0; us < t0 + 365 * 24 * H; us += H) {
            for (int64_t u = us - 1; u <= us; u++) {
                day_t d = tz_day_of(&z, u);
                int64_t a, b;
                assert_int_equal(tz_day_bounds(&z, d, &a, &b), 0);
                if (!(a <= u && u < b))
                    fail_msg("%s: instant %lld outside its day", zones[k], (long long)u);
                if (prev_end && a != prev_end && a > prev_end)
                    fail_msg("%s: a gap between days", zones[k]);
                if (u == us && a == us) {
                    days_23 += b - a == 23 * H;
                    days_25 += b - a == 25 * H;
                    assert_true(b - a == 24 * H || b - a == 23 * H || b - a == 25 * H);
                }
                prev_end = b;
            }
        }
        int dst = k < 2;
        assert_int_equal(days_23, dst);
        assert_int_equal(days_25, dst);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(utc_days),
        cmocka_unit_test(fixed_offsets),
        cmocka_unit_test(new_york_dst),
        cmocka_unit_test(berlin_dst),
        cmocka_unit_test(every_hour_of_a_year),
    };
    return cmocka_run_group_tests_name("tz", tests, NULL, NULL);
}
