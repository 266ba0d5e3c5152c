/* files.c — the daily layout of capture files (see files.h). */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int month_days(int y, int m)
{
    static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : n[m - 1];
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int day_parse(const char *s, day_t *d)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-') return -1;
    int y = digits(s, 4), m = digits(s + 5, 2), dd = digits(s + 8, 2);
    if (y < 0 || m < 1 || m > 12 || dd < 1 || dd > month_days(y, m)) return -1;
    d->y = y; d->m = m; d->d = dd;
    return 0;
}

void day_format(day_t d, char out[11])
{
    unsigned y = (unsigned)d.y % 10000, m = (unsigned)d.m % 100, dd = (unsigned)d.d % 100;
    out[0] = (char)('0' + y / 1000); out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10); out[3] = (char)('0' + y % 10); out[4] = '-';
    out[5] = (char)('0' + m / 10); out[6] = (char)('0' + m % 10); out[7] = '-';
    out[8] = (char)('0' + dd / 10); out[9] = (char)('0' + dd % 10); out[10] = '\0';
}

/* days since 1970-01-01 (proleptic Gregorian), and back */
static long to_days(day_t d)
{
    long y = d.y, m = d.m;
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d.d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static day_t from_days(long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    day_t r = { (int)(y + (m <= 2)), (int)m, (int)d };
    return r;
}

day_t day_add(day_t d, int days) { return from_days(to_days(d) + days); }
long day_to_epoch(day_t d) { return to_days(d); }
day_t day_from_epoch(long days) { return from_days(days); }

int day_cmp(day_t a, day_t b)
{
    if (a.y != b.y) return a.y < b.y ? -1 : 1;
    if (a.m != b.m) return a.m < b.m ? -1 : 1;
    if (a.d != b.d) return a.d < b.d ? -1 : 1;
    return 0;
}

int files_parse_name(const char *name, file_name_t *f)
{
    int dd = digits(name, 2);
    if (dd < 1 || dd > 31 || name[2] != '.') return -1;
    const char *s = name + 3;
    long part = FILES_CURRENT;
    if (!strncmp(s, "rejects.", 8)) {
        part = FILES_REJECTS;
        s += 8;
    } else if (*s >= '1' && *s <= '9') {
        char *e;
        errno = 0;
        long n = strtol(s, &e, 10);
        if (errno || *e != '.' || n > INT_MAX) return -1;
        part = n;
        s = e + 1;
    }
    if (strncmp(s, "jsonl", 5)) return -1;
    s += 5;
    int comp = FILES_PLAIN;
    if (!strncmp(s, ".zst", 4)) { comp = FILES_ZST; s += 4; }
    else if (!strncmp(s, ".gz", 3)) { comp = FILES_GZ; s += 3; }
    int enc = 0;
    if (!strcmp(s, ".enc")) { enc = 1; s += 4; }
    if (*s) return -1;
    if (part == FILES_REJECTS && comp != FILES_PLAIN) return -1;
    f->d = dd; f->part = part; f->compression = comp; f->encrypted = enc;
    return 0;
}

int files_day_dir(const char *dir, day_t d, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%04d/%02d", dir, d.y, d.m);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

typedef struct { long part; int rank; char *name; } cand_t;

static int cand_cmp(const void *a, const void *b)
{
    const cand_t *x = a, *y = b;
    long px = x->part == FILES_CURRENT ? LONG_MAX : x->part;
    long py = y->part == FILES_CURRENT ? LONG_MAX : y->part;
    if (px != py) return px < py ? -1 : 1;
    return x->rank - y->rank;
}

int files_for_day(const char *dir, day_t d, char ***paths, char *err, size_t errlen)
{
    char dpath[PATH_MAX];
    *paths = NULL;
    if (files_day_dir(dir, d, dpath, sizeof dpath) < 0) { snprintf(err, errlen, "%s: path too long", dir); return -1; }
    DIR *dh = opendir(dpath);
    if (!dh) {
        if (errno == ENOENT) return 0;
        snprintf(err, errlen, "%s: %s", dpath, strerror(errno));
        return -1;
    }
    cand_t *c = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(dh))) {
        file_name_t f;
        if (files_parse_name(e->d_name, &f) < 0 || f.d != d.d || f.part == FILES_REJECTS) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            cand_t *nc = realloc(c, cap * sizeof *c);
            if (!nc) { rc = -1; break; }
            c = nc;
        }
        c[n].part = f.part;
        c[n].rank = f.compression * 2 + f.encrypted;
        c[n].name = strdup(e->d_name);
        if (!c[n].name) { rc = -1; break; }
        n++;
    }
    closedir(dh);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) free(c[i].name);
        free(c);
        snprintf(err, errlen, "%s: out of memory", dpath);
        return -1;
    }
    if (n) qsort(c, n, sizeof *c, cand_cmp);
    char **out = calloc(n ? n : 1, sizeof *out);
    int k = 0;
    for (size_t i = 0; out && i < n; i++) {
        if (i > 0 && c[i].part == c[i - 1].part) continue;   /* one file per part */
        size_t len = strlen(dpath) + 1 + strlen(c[i].name) + 1;
        out[k] = malloc(len);
        if (!out[k]) { rc = -1; break; }
        snprintf(out[k], len, "%s/%s", dpath, c[i].name);
        k++;
    }
    for (size_t i = 0; i < n; i++) free(c[i].name);
    free(c);
    if (!out || rc < 0) {
        files_free(out, k);
        snprintf(err, errlen, "%s: out of memory", dpath);
        return -1;
    }
    if (k == 0) { free(out); out = NULL; }
    *paths = out;
    return k;
}

void files_free(char **paths, int n)
{
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

static int day_sort(const void *a, const void *b) { return day_cmp(*(const day_t *)a, *(const day_t *)b); }

int files_list_days(const char *dir, day_t **days, char *err, size_t errlen)
{
    *days = NULL;
    size_t n = 0, cap = 0;
    DIR *top = opendir(dir);
    if (!top) { snprintf(err, errlen, "%s: %s", dir, strerror(errno)); return -1; }
    struct dirent *ye;
    int rc = 0;
    while (rc == 0 && (ye = readdir(top))) {
        int y = strlen(ye->d_name) == 4 ? digits(ye->d_name, 4) : -1;
        if (y < 0) continue;
        char ypath[PATH_MAX];
        if ((size_t)snprintf(ypath, sizeof ypath, "%s/%s", dir, ye->d_name) >= sizeof ypath - 4) continue;
        DIR *yd = opendir(ypath);
        if (!yd) continue;
        struct dirent *me;
        while (rc == 0 && (me = readdir(yd))) {
            int m = strlen(me->d_name) == 2 ? digits(me->d_name, 2) : -1;
            if (m < 1 || m > 12) continue;
            char mpath[PATH_MAX + 4];
            snprintf(mpath, sizeof mpath, "%s/%.2s", ypath, me->d_name);
            DIR *md = opendir(mpath);
            if (!md) continue;
            unsigned seen = 0;   /* bit per day of the month */
            struct dirent *fe;
            while ((fe = readdir(md))) {
                file_name_t f;
                if (files_parse_name(fe->d_name, &f) == 0 && f.d <= month_days(y, m)) seen |= 1u << f.d;
            }
            closedir(md);
            for (int d = 1; d <= 31; d++) {
                if (!(seen & (1u << d))) continue;
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    day_t *nd = realloc(*days, cap * sizeof **days);
                    if (!nd) { rc = -1; break; }
                    *days = nd;
                }
                (*days)[n].y = y; (*days)[n].m = m; (*days)[n].d = d;
                n++;
            }
        }
        closedir(yd);
    }
    closedir(top);
    if (rc < 0) { free(*days); *days = NULL; snprintf(err, errlen, "%s: out of memory", dir); return -1; }
    if (n) qsort(*days, n, sizeof **days, day_sort);
    return (int)n;
}
