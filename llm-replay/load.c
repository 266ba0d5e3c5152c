/* load.c — the capture to read: files named as arguments (or stdin), or
 * one day of a directory in llm-tee's daily layout (-d DIR --date D).
 * Lines become events, events become merged exchanges (lib/merge). For a
 * day, only the exchanges whose request was written that day (UTC) count;
 * the next day's files are read as far as needed to finish the exchanges
 * that were still running at midnight. */
#include "replay.h"
#include "clock.h"
#include "err.h"
#include "files.h"
#include "jsonl.h"
#include <stdlib.h>
#include <string.h>

#define WARN_MAX 10

typedef struct {
    load_opts_t *o;
    int tail;            /* reading the next day: only until nothing is open */
} load_t;

static int malformed(load_t *l, const char *name, uint64_t lineno, const char *why,
                     char *err, size_t errlen)
{
    l->o->malformed++;
    if (l->o->strict) {
        snprintf(err, errlen, "%s:%llu: %s", name, (unsigned long long)lineno, why);
        return EXIT_USAGE;
    }
    if (l->o->malformed <= WARN_MAX)
        fprintf(stderr, PROG ": warning: %s:%llu: %s%s\n", name, (unsigned long long)lineno, why,
                l->o->malformed == WARN_MAX ? " (no more such warnings)" : "");
    return 0;
}


static int read_file(load_t *l, merge_t *mg, const char *path, char *err, size_t errlen)
{
    jsonl_opts_t jo = { .max_line = l->o->max_line, .key_file = l->o->key_file };
    char oerr[ERRBUF_SIZE];
    jsonl_reader_t *r = jsonl_open(path, &jo, oerr, sizeof oerr);
    if (!r) { snprintf(err, errlen, "unable to open %s", oerr); return EXIT_TEMP; }
    const char *name = strcmp(path, "-") ? path : "stdin";
    const char *line;
    size_t len;
    int rc = 0, k;
    while (!rc && (k = jsonl_next(r, &line, &len)) != 0) {
        if (k < 0) {
            if (!jsonl_error_skipped(r)) {
                snprintf(err, errlen, "unable to read %s", jsonl_error(r));
                rc = EXIT_TEMP;
                break;
            }
            rc = malformed(l, name, jsonl_lineno(r), "line too long", err, errlen);
            continue;
        }
        if (k != 1) continue;
        const char *why = NULL;
        json_t *ev = merge_parse_line(line, len, &why);
        if (!ev || !jstr(ev, "id") || !jstr(ev, "event")) {
            char msg[256];
            snprintf(msg, sizeof msg, "not a capture event: %s",
                     ev ? "no \"event\" and \"id\" strings" : why);
            json_decref(ev);
            rc = malformed(l, name, jsonl_lineno(r), msg, err, errlen);
            continue;
        }
        int m = merge_event(mg, ev);
        json_decref(ev);
        if (m < 0) { snprintf(err, errlen, "out of memory"); rc = EXIT_TEMP; }
        else if (m) rc = 1;                 /* the callback asked to stop */
        if (l->tail && merge_open(mg) == 0) break;
    }
    jsonl_close(r);
    return rc;
}

static int read_day(load_t *l, merge_t *mg, day_t d, char *err, size_t errlen)
{
    char **paths;
    int n = files_for_day(l->o->dir, d, &paths, err, errlen);
    if (n < 0) return EXIT_TEMP;
    int rc = 0;
    for (int i = 0; i < n && !rc; i++) {
        rc = read_file(l, mg, paths[i], err, errlen);
        if (l->tail && merge_open(mg) == 0) break;
    }
    files_free(paths, n);
    return rc;
}

static int parse_date(const char *s, day_t *d)
{
    if (!strcmp(s, "today") || !strcmp(s, "yesterday")) {
        long days = (long)(clock_wall_us() / 1000000 / 86400);
        *d = day_from_epoch(days - (s[0] == 'y'));
        return 0;
    }
    return day_parse(s, d);
}

int load_run(load_opts_t *o, merge_cb cb, void *arg, char *err, size_t errlen)
{
    load_t l = { .o = o };
    merge_opts_t mo = { .keep_chunks = 1 };
    day_t d = { 0, 0, 0 };
    if (o->dir) {
        if (parse_date(o->date, &d)) {
            snprintf(err, errlen, "--date: not a day (YYYY-MM-DD, today, yesterday): %s", o->date);
            return EXIT_USAGE;
        }
        /* the day's requests only; events of exchanges begun the day
         * before are not ours */
        mo.from_us = (int64_t)day_to_epoch(d) * 86400 * 1000000;
        mo.to_us = mo.from_us + (int64_t)86400 * 1000000;
        mo.skip_orphans = 1;
    }
    merge_t *mg = merge_new(&mo, cb, arg);
    if (!mg) { snprintf(err, errlen, "out of memory"); return EXIT_TEMP; }
    int rc = 0;
    if (o->dir) {
        rc = read_day(&l, mg, d, err, errlen);
        if (!rc && merge_open(mg) > 0) {
            l.tail = 1;
            rc = read_day(&l, mg, day_add(d, 1), err, errlen);
        }
    } else if (o->ninputs == 0) {
        rc = read_file(&l, mg, "-", err, errlen);
    } else {
        for (int i = 0; i < o->ninputs && !rc; i++) rc = read_file(&l, mg, o->inputs[i], err, errlen);
    }
    if (rc == 1) rc = 0;                    /* the callback stopped the reading */
    else if (!rc && merge_flush(mg) < 0) { snprintf(err, errlen, "out of memory"); rc = EXIT_TEMP; }
    o->malformed += merge_malformed(mg);
    merge_free(mg);
    return rc;
}
