/* tz.c — calendar days in a time zone (see tz.h). */
#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define US 1000000LL

int tz_setup(tz_t *z, const char *name, char *err, size_t errlen)
{
    z->kind = TZ_UTC;
    z->offset_s = 0;
    if (!name || !*name || !strcmp(name, "UTC") || !strcmp(name, "utc") || !strcmp(name, "Z"))
        return 0;
    int h, m, n = 0;
    if ((name[0] == '+' || name[0] == '-') && sscanf(name + 1, "%2d:%2d%n", &h, &m, &n) == 2 &&
        n == 5 && !name[6] && h >= 0 && h <= 23 && m >= 0 && m <= 59) {
        z->kind = TZ_FIXED;
        z->offset_s = (name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
        return 0;
    }
    if (!strcmp(name, "local")) {
        unsetenv("TZ");
    } else {
        /* glibc falls back to UTC silently for an unknown name: look for
         * the zone's file first */
        char path[512];
        const char *dir = getenv("TZDIR");
        if (name[0] == '/')
            snprintf(path, sizeof path, "%s", name);
        else
            snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
        if (strstr(name, "..") || access(path, R_OK)) {
            snprintf(err, errlen, "unknown time zone '%s' (no %s)", name, path);
            return -1;
        }
        if (setenv("TZ", name, 1)) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    tzset();
    z->kind = TZ_ZONE;
    return 0;
}

void tz_local(const tz_t *z, int64_t us, struct tm *tm)
{
    time_t t = (time_t)(us >= 0 ? us / US : -((-us + US - 1) / US));
    if (z->kind == TZ_ZONE) {
        localtime_r(&t, tm);
    } else {
        t += z->offset_s;
        gmtime_r(&t, tm);
    }
}

day_t tz_day_of(const tz_t *z, int64_t us)
{
    struct tm tm;
    tz_local(z, us, &tm);
    return (day_t){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
}

/* the first second of day d; 0 or -1 */
static int day_start(const tz_t *z, day_t d, int64_t *s)
{
    if (z->kind != TZ_ZONE) {
        *s = (int64_t)day_to_epoch(d) * 86400 - z->offset_s;
        return 0;
    }
    struct tm tm = { .tm_year = d.y - 1900, .tm_mon = d.m - 1, .tm_mday = d.d, .tm_isdst = -1 };
    time_t t = mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *s = (int64_t)t;
    return 0;
}

int tz_day_bounds(const tz_t *z, day_t d, int64_t *start_us, int64_t *end_us)
{
    int64_t a = 0, b = 0;
    if ((start_us && day_start(z, d, &a)) || (end_us && day_start(z, day_add(d, 1), &b)))
        return -1;
    if (start_us)
        *start_us = a * US;
    if (end_us)
        *end_us = b * US;
    return 0;
}
