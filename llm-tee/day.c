/* day.c — the calendar day of an event's time: UTC by default, or the
 * local day in a --tz zone (lib/tz.c: days of 23 and 25 hours across DST
 * changes come out right). The bounds of the last day seen are cached:
 * most events fall in the same day as the previous one. */
#include <stdio.h>
#include "tee.h"
#include "err.h"

int day_setup(tee_t *t, const char *tz, char *err, size_t errlen)
{
    t->day_lo = 1; t->day_hi = 0;
    char e[ERRBUF_SIZE];
    if (tz_setup(&t->zone, tz, e, sizeof e)) {
        snprintf(err, errlen, "--tz: %s", e);
        return -1;
    }
    return 0;
}

day_t day_of(tee_t *t, int64_t us)
{
    if (us >= t->day_lo && us < t->day_hi) return t->day_cached;
    day_t d = tz_day_of(&t->zone, us);
    if (tz_day_bounds(&t->zone, d, &t->day_lo, &t->day_hi) || us < t->day_lo || us >= t->day_hi) {
        t->day_lo = 1; t->day_hi = 0;     /* no cache for odd days */
    }
    t->day_cached = d;
    return d;
}
