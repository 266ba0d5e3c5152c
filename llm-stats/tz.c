/* tz.c — the time zone of the day and hour keys (--tz), and the instants
 * of --since, --until and --date. UTC unless told otherwise. */
#include "stats.h"
#include "clock.h"
#include "config.h"
#include "files.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int tz_set(tz_t *tz, const char *name, char *err, size_t errlen)
{
    memset(tz, 0, sizeof *tz);
    tz->hour_end = INT64_MIN;
    if (!name || !*name) name = "UTC";
    if (strlen(name) >= sizeof tz->name) { snprintf(err, errlen, "time zone too long"); return -1; }
    strcpy(tz->name, name);
    tz->fixed = 1;
    if (!strcmp(name, "UTC") || !strcmp(name, "Z")) return 0;
    int h, m, n = 0;
    if ((name[0] == '+' || name[0] == '-') && sscanf(name + 1, "%2d:%2d%n", &h, &m, &n) == 2 &&
        n == 5 && !name[6] && h <= 23 && m <= 59) {
        tz->offset_s = (name[0] == '-' ? -1 : 1) * (h * 3600 + m * 60);
        return 0;
    }
    /* a zone of the TZ database: glibc falls back to UTC silently for an
     * unknown name, so look for its file first */
    char path[512];
    const char *dir = getenv("TZDIR");
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (strstr(name, "..") || access(path, R_OK)) {
        snprintf(err, errlen, "unknown time zone: %s", name);
        return -1;
    }
    if (setenv("TZ", name, 1)) { snprintf(err, errlen, "setenv: out of memory"); return -1; }
    tzset();
    tz->fixed = 0;
    return 0;
}

/* broken-down local time of t (seconds) */
static void local(const tz_t *tz, time_t t, struct tm *tm)
{
    if (tz->fixed) {
        time_t l = t + tz->offset_s;
        gmtime_r(&l, tm);
    } else {
        localtime_r(&t, tm);
    }
}

void tz_keys(tz_t *tz, int64_t us, const char **day, const char **hour)
{
    if (us < tz->hour_start || us >= tz->hour_end) {
        time_t t = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
        struct tm tm;
        local(tz, t, &tm);
        day_format((day_t){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday }, tz->day);
        snprintf(tz->hour, sizeof tz->hour, "%.10sT%02u", tz->day, (unsigned)tm.tm_hour % 24u);
        tz->hour_start = ((int64_t)t - tm.tm_min * 60 - tm.tm_sec) * 1000000;
        tz->hour_end = tz->hour_start + 3600 * (int64_t)1000000;
    }
    *day = tz->day;
    *hour = tz->hour;
}

int tz_day_start(tz_t *tz, const char *s, int64_t *us)
{
    day_t d;
    if (strlen(s) != 10 || day_parse(s, &d) != 0) return -1;
    struct tm tm = { .tm_year = d.y - 1900, .tm_mon = d.m - 1, .tm_mday = d.d, .tm_isdst = -1 };
    time_t t;
    if (tz->fixed) {
        t = timegm(&tm) - tz->offset_s;
    } else {
        t = mktime(&tm);
        if (t == (time_t)-1) return -1;
    }
    *us = (int64_t)t * 1000000;
    return 0;
}

int tz_parse_time(tz_t *tz, const char *s, int end, int64_t now_us, int64_t *us)
{
    if (tz_day_start(tz, s, us) == 0) {
        if (end) {
            day_t d;
            day_parse(s, &d);
            char next[11];
            day_format(day_add(d, 1), next);
            return tz_day_start(tz, next, us);
        }
        return 0;
    }
    if (strchr(s, 'T') || strchr(s, 't') || strchr(s, ' '))
        return clock_parse_rfc3339(s, us);
    json_t *j = json_string(s);
    long long ms = j ? config_parse_duration_ms(j) : -1;
    json_decref(j);
    if (ms < 0) return -1;
    *us = now_us - ms * 1000;
    return 0;
}
