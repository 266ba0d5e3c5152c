/* tz.h — calendar days in a time zone: the day of a UTC instant, and the
 * instants a day starts and ends. A zone is UTC, a fixed offset, or a
 * zone of the time zone database (or the system's zone), whose rules the
 * C library applies (localtime_r, mktime): days of 23 and 25 hours across
 * DST changes come out right. Such a zone becomes the process's TZ, so a
 * process works in one zone of the database at a time. */
#ifndef PLLM_TZ_H
#define PLLM_TZ_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "files.h"      /* day_t */

enum { TZ_UTC, TZ_FIXED, TZ_ZONE };

typedef struct {
    int kind;           /* TZ_UTC, TZ_FIXED or TZ_ZONE */
    int offset_s;       /* TZ_FIXED: seconds east of UTC */
} tz_t;

/* Set up zone name: NULL, "", "UTC", "utc" or "Z": UTC; "+HH:MM" or
 * "-HH:MM": a fixed offset; "local": the system's zone (TZ unset); else a
 * name of the time zone database under $TZDIR or /usr/share/zoneinfo
 * ("Europe/Paris"), or the absolute path of a zone file. The last two set
 * TZ (setenv, tzset). 0, or -1 with err "unknown time zone 'NAME' (no
 * FILE)" (glibc would fall back to UTC silently) or "out of memory". */
int tz_setup(tz_t *z, const char *name, char *err, size_t errlen);
/* The local broken-down time of the second that holds us (µs since the
 * epoch, floored). */
void tz_local(const tz_t *z, int64_t us, struct tm *tm);
/* The local calendar day that holds us. */
day_t tz_day_of(const tz_t *z, int64_t us);
/* The instants day d starts and ends in the zone, as µs since the epoch:
 * [*start_us, *end_us) (either pointer may be NULL). 0, or -1 when the C
 * library cannot place the day (mktime fails). */
int tz_day_bounds(const tz_t *z, day_t d, int64_t *start_us, int64_t *end_us);

#endif
