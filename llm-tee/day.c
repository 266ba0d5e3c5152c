/* day.c — the calendar day of an event's time: UTC by default, or the
 * local day in a --tz zone (the C library's zone rules, so days of 23 and
 * 25 hours across DST changes come out right). The bounds of the last day
 * seen are cached: most events fall in the same day as the previous one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tee.h"

int day_setup(tee_t *t, const char *tz, char *err, size_t errlen)
{
    t->utc = !tz || !strcmp(tz, "UTC") || !strcmp(tz, "utc");
    t->day_lo = 1; t->day_hi = 0;
    if (t->utc) return 0;
    if (!strcmp(tz, "local")) {
        unsetenv("TZ");
    } else {
        /* glibc falls back to UTC silently for an unknown name: check it */
        char p[512];
        const char *zdir = getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo";
        if (tz[0] == '/') snprintf(p, sizeof p, "%s", tz);
        else snprintf(p, sizeof p, "%s/%s", zdir, tz);
        if (strstr(tz, "..") || access(p, R_OK) != 0) {
            snprintf(err, errlen, "--tz: unknown time zone '%s' (no %s)", tz, p);
            return -1;
        }
        setenv("TZ", tz, 1);
    }
    tzset();
    return 0;
}

day_t day_of(tee_t *t, int64_t us)
{
    if (us >= t->day_lo && us < t->day_hi) return t->day_cached;
    int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
    day_t d;
    if (t->utc) {
        long days = (long)(sec >= 0 ? sec / 86400 : -((-sec + 86399) / 86400));
        d = day_from_epoch(days);
        t->day_lo = (int64_t)days * 86400 * 1000000;
        t->day_hi = t->day_lo + (int64_t)86400 * 1000000;
    } else {
        time_t tt = (time_t)sec;
        struct tm tm;
        localtime_r(&tt, &tm);
        d.y = tm.tm_year + 1900; d.m = tm.tm_mon + 1; d.d = tm.tm_mday;
        struct tm a = { .tm_year = tm.tm_year, .tm_mon = tm.tm_mon, .tm_mday = tm.tm_mday, .tm_isdst = -1 };
        day_t n = day_add(d, 1);
        struct tm b = { .tm_year = n.y - 1900, .tm_mon = n.m - 1, .tm_mday = n.d, .tm_isdst = -1 };
        time_t lo = mktime(&a), hi = mktime(&b);
        if (lo != (time_t)-1 && hi != (time_t)-1 && lo <= tt && tt < hi) {
            t->day_lo = (int64_t)lo * 1000000;
            t->day_hi = (int64_t)hi * 1000000;
        } else {
            t->day_lo = 1; t->day_hi = 0;     /* no cache for odd days */
        }
    }
    t->day_cached = d;
    return d;
}
