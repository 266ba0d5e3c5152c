/* tz.c — the day and hour keys of --tz (the zone itself is lib/tz.c), and
 * the instants of --since, --until and --date. UTC unless told otherwise. */
#include "stats.h"
#include "clock.h"
#include "config.h"
#include <string.h>
#include <stdio.h>

int zone_set(zone_t *z, const char *name, char *err, size_t errlen)
{
    memset(z, 0, sizeof *z);
    z->hour_end = INT64_MIN;
    z->name = name && *name ? name : "UTC";
    return tz_setup(&z->tz, z->name, err, errlen);
}

void zone_keys(zone_t *z, int64_t us, const char **day, const char **hour)
{
    if (us < z->hour_start || us >= z->hour_end) {
        struct tm tm;
        tz_local(&z->tz, us, &tm);
        int64_t t = us >= 0 ? us / 1000000 : (us - 999999) / 1000000;
        day_format((day_t){ tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday }, z->day);
        snprintf(z->hour, sizeof z->hour, "%.10sT%02u", z->day, (unsigned)tm.tm_hour % 24u);
        z->hour_start = (t - tm.tm_min * 60 - tm.tm_sec) * 1000000;
        z->hour_end = z->hour_start + 3600 * (int64_t)1000000;
    }
    *day = z->day;
    *hour = z->hour;
}

int zone_parse_time(const zone_t *z, const char *s, int end, int64_t now_us, int64_t *us)
{
    day_t d;
    if (strlen(s) == 10 && day_parse(s, &d) == 0)
        return tz_day_bounds(&z->tz, d, end ? NULL : us, end ? us : NULL);
    if (strchr(s, 'T') || strchr(s, 't') || strchr(s, ' '))
        return clock_parse_rfc3339(s, us);
    long long ms = config_duration_ms_str(s);
    if (ms < 0) return -1;
    *us = now_us - ms * 1000;
    return 0;
}
