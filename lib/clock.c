/* clock.c — microsecond clocks and RFC 3339 UTC timestamps.
 * Calendar arithmetic is done by hand (days from civil date, proleptic
 * Gregorian) so that neither the TZ variable nor gmtime's range matter. */
#include "clock.h"

#include <time.h>

#define US_PER_SEC 1000000LL
#define SEC_PER_DAY 86400LL

/* Range that fits the fixed 4-digit year of the output:
 * 0000-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999Z. */
#define MIN_WALL_US (-62167219200LL * US_PER_SEC)
#define MAX_WALL_US (253402300799LL * US_PER_SEC + 999999LL)

static int64_t timespec_us(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

int64_t clock_wall_us(void) { return timespec_us(CLOCK_REALTIME); }
int64_t clock_mono_us(void) { return timespec_us(CLOCK_MONOTONIC); }

/* Days since 1970-01-01 of y-m-d (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* Floor division and modulo for negative times. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Write v (0 <= v < 10^n) as exactly n decimal digits. */
static char *put_digits(char *o, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + n;
}

size_t clock_rfc3339(int64_t wall_us, char *out)
{
    if (wall_us < MIN_WALL_US)
        wall_us = MIN_WALL_US;
    if (wall_us > MAX_WALL_US)
        wall_us = MAX_WALL_US;
    int64_t secs = floor_div(wall_us, US_PER_SEC);
    int64_t us = wall_us - secs * US_PER_SEC;
    int64_t days = floor_div(secs, SEC_PER_DAY);
    int64_t sod = secs - days * SEC_PER_DAY;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    char *o = out;
    o = put_digits(o, y, 4);
    *o++ = '-';
    o = put_digits(o, m, 2);
    *o++ = '-';
    o = put_digits(o, d, 2);
    *o++ = 'T';
    o = put_digits(o, sod / 3600, 2);
    *o++ = ':';
    o = put_digits(o, sod / 60 % 60, 2);
    *o++ = ':';
    o = put_digits(o, sod % 60, 2);
    *o++ = '.';
    o = put_digits(o, us, 6);
    *o++ = 'Z';
    *o = '\0';
    return (size_t)(o - out);
}

/* Read exactly n decimal digits from *s into *v; advance *s. */
static int digits(const char **s, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*s)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *s += n;
    *v = x;
    return 0;
}

static int expect(const char **s, char c)
{
    if (**s != c)
        return -1;
    (*s)++;
    return 0;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Optional ".digits": µs value, extra digits past 6 are truncated. */
static int fraction(const char **s, int *us)
{
    *us = 0;
    if (**s != '.')
        return 0;
    (*s)++;
    int n = 0, scale = 100000;
    while (**s >= '0' && **s <= '9') {
        if (n < 6)
            *us += (**s - '0') * scale;
        scale /= 10;
        n++;
        (*s)++;
    }
    return n > 0 ? 0 : -1;
}

/* 'Z' or "±HH:MM" → offset in seconds east of UTC. */
static int offset(const char **s, int *off)
{
    char c = **s;
    if (c == 'Z' || c == 'z') {
        (*s)++;
        *off = 0;
        return 0;
    }
    if (c != '+' && c != '-')
        return -1;
    (*s)++;
    int hh, mm;
    if (digits(s, 2, &hh) || expect(s, ':') || digits(s, 2, &mm))
        return -1;
    if (hh > 23 || mm > 59)
        return -1;
    *off = (c == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return 0;
}

int clock_parse_rfc3339(const char *s, int64_t *wall_us)
{
    int y, mo, d, h, mi, sec, us, off;
    if (!s)
        return -1;
    if (digits(&s, 4, &y) || expect(&s, '-') || digits(&s, 2, &mo) ||
        expect(&s, '-') || digits(&s, 2, &d))
        return -1;
    if (*s != 'T' && *s != 't' && *s != ' ')
        return -1;
    s++;
    if (digits(&s, 2, &h) || expect(&s, ':') || digits(&s, 2, &mi) ||
        expect(&s, ':') || digits(&s, 2, &sec))
        return -1;
    if (fraction(&s, &us) || offset(&s, &off) || *s != '\0')
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    if (h > 23 || mi > 59 || sec > 60) /* 60: a leap second */
        return -1;
    int64_t t = days_from_civil(y, mo, d) * SEC_PER_DAY + h * 3600 + mi * 60 + sec - off;
    *wall_us = t * US_PER_SEC + us;
    return 0;
}
