/* input.c — what to read (files, directories in the daily layout, stdin)
 * and reading it through jsonl.h, line by line, into the scan. */
#include "stats.h"
#include "err.h"
#include "files.h"
#include "jsonl.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WARN_MAX 10                         /* malformed lines named on stderr */
#define COMPLETION_GRACE ((int64_t)3600 * 1000000)

static day_t utc_day(int64_t us)
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    day_t d = { tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday };
    return d;
}

static int add(src_t **v, int *n, int *cap, const char *path, int completion)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        src_t *nv = realloc(*v, (size_t)nc * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = nc;
    }
    if (!((*v)[*n].path = strdup(path))) return -1;
    (*v)[*n].completion = completion;
    (*n)++;
    return 0;
}

/* the files of day d under dir, appended */
static int add_day(src_t **v, int *n, int *cap, const char *dir, day_t d, int completion, char *err, size_t errlen)
{
    char **paths;
    int k = files_for_day(dir, d, &paths, err, errlen);
    if (k < 0) return EXIT_TEMP;
    int rc = 0;
    for (int i = 0; i < k && !rc; i++)
        if (add(v, n, cap, paths[i], completion)) { snprintf(err, errlen, "out of memory"); rc = EXIT_TEMP; }
    files_free(paths, k);
    return rc;
}

static int plan_dir(const char *dir, int64_t since, int64_t until, src_t **v, int *n, int *cap,
                    char *err, size_t errlen)
{
    day_t *days;
    int nd = files_list_days(dir, &days, err, errlen);
    if (nd < 0) return EXIT_TEMP;
    int bounded = until != INT64_MAX;
    day_t first = since != INT64_MIN ? utc_day(since) : (day_t){ 0, 1, 1 };
    day_t last = bounded ? utc_day(until - 1) : (day_t){ 9999, 12, 31 };
    int rc = 0;
    for (int i = 0; i < nd && !rc; i++) {
        if (day_cmp(days[i], first) < 0) continue;
        if (day_cmp(days[i], last) > 0) {
            /* the next day with files: only to finish the range's exchanges */
            if (bounded) rc = add_day(v, n, cap, dir, days[i], 1, err, errlen);
            break;
        }
        rc = add_day(v, n, cap, dir, days[i], 0, err, errlen);
    }
    free(days);
    return rc;
}

int sources_plan(const cfg_t *c, int64_t since, int64_t until, src_t **out, int *n, char *err, size_t errlen)
{
    src_t *v = NULL;
    int cap = 0, rc = 0;
    *n = 0;
    for (int i = 0; i < c->ninputs && !rc; i++) {
        struct stat st;
        const char *p = c->inputs[i];
        if (strcmp(p, "-") && stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            rc = plan_dir(p, since, until, &v, n, &cap, err, errlen);
        else if (add(&v, n, &cap, p, 0)) {
            snprintf(err, errlen, "out of memory");
            rc = EXIT_TEMP;
        }
    }
    if (rc) { sources_free(v, *n); *n = 0; v = NULL; }
    *out = v;
    return rc;
}

void sources_free(src_t *s, int n)
{
    for (int i = 0; i < n; i++) free(s[i].path);
    free(s);
}

static int line_error(const cfg_t *c, agg_t *a, const char *name, uint64_t lineno, const char *why,
                      char *err, size_t errlen)
{
    if (c->strict) {
        snprintf(err, errlen, "%s:%llu: %s", name, (unsigned long long)lineno, why);
        return EXIT_USAGE;
    }
    if (a->malformed <= WARN_MAX)
        fprintf(stderr, PROG ": warning: %s:%llu: %s%s\n", name, (unsigned long long)lineno, why,
                a->malformed == WARN_MAX ? " (no more such warnings)" : "");
    return 0;
}

int read_source(const cfg_t *c, scan_t *s, agg_t *a, const src_t *src, int64_t until,
                const follow_t *f, char *err, size_t errlen)
{
    jsonl_opts_t o = { .max_line = c->max_line, .key_file = c->key_file, .follow = f != NULL };
    char oerr[ERRBUF_SIZE];
    jsonl_reader_t *r = jsonl_open(src->path, &o, oerr, sizeof oerr);
    if (!r) { snprintf(err, errlen, "unable to open %s", oerr); return EXIT_TEMP; }
    const char *name = strcmp(src->path, "-") ? src->path : "stdin";
    scan_completing(s, src->completion);
    if (src->completion && !scan_open_in_range(s)) { jsonl_close(r); return 0; }
    const char *line;
    size_t len;
    int rc = 0, k;
    while (!rc && (k = jsonl_next(r, &line, &len)) != 0) {
        if (f && *f->stop) break;
        if (k == 2) {                       /* following, nothing new yet */
            struct timespec ts = { 0, 100 * 1000000 };
            nanosleep(&ts, NULL);
            continue;
        }
        if (k < 0) {
            if (!jsonl_error_skipped(r)) {
                snprintf(err, errlen, "unable to read %s", jsonl_error(r));
                rc = EXIT_TEMP;
                break;
            }
            a->malformed++;
            rc = line_error(c, a, name, jsonl_lineno(r), "line too long", err, errlen);
            continue;
        }
        if (f) f->lock(f->ctx);
        int m = scan_line(s, line, len, err, errlen);
        if (f) f->unlock(f->ctx);
        if (m < 0) rc = m == -2 ? EXIT_USAGE : EXIT_TEMP;
        else if (m == 1) {
            char why[128];
            snprintf(why, sizeof why, "not a capture event: %s", scan_why(s));
            rc = line_error(c, a, name, jsonl_lineno(r), why, err, errlen);
        }
        if (src->completion &&
            (!scan_open_in_range(s) || scan_last_ts(s) > until + COMPLETION_GRACE)) break;
    }
    jsonl_close(r);
    scan_completing(s, 0);
    return rc;
}

int collect(const cfg_t *c, scan_t *s, agg_t *a, int64_t since, int64_t until, char *err, size_t errlen)
{
    src_t *src;
    int n, rc = sources_plan(c, since, until, &src, &n, err, errlen);
    for (int i = 0; !rc && i < n; i++) rc = read_source(c, s, a, &src[i], until, NULL, err, errlen);
    sources_free(src, n);
    if (!rc && scan_report_open(s)) { snprintf(err, errlen, "out of memory"); rc = EXIT_TEMP; }
    return rc;
}
