/* read.c — the sources of a plan, line by line (lib/jsonl: plain, .gz,
 * .zst, encrypted), into the merger; and the feedback pre-pass, which
 * looks only at lines that contain the word "feedback" before parsing them. */
#include "export.h"
#include "err.h"
#include "jsonl.h"

#include <stdio.h>
#include <string.h>

#define WARN_MAX 10                 /* malformed lines named on stderr */

/* A source opened, or NULL with err and *code: EXIT_USAGE when a key is
 * missing or wrong (the command must change), else EXIT_TEMP. */
static jsonl_reader_t *open_src(const reader_t *r, const char *path, int *code, char *err, size_t errlen)
{
    jsonl_opts_t jo = { .max_line = r->o->max_line, .key_file = r->o->key_file };
    char e[ERRBUF_SIZE];
    jsonl_reader_t *j = jsonl_open(path, &jo, e, sizeof e);
    if (!j) {
        snprintf(err, errlen, "unable to open %s", e);
        *code = strstr(e, "key") ? EXIT_USAGE : EXIT_TEMP;
    }
    return j;
}

/* A line that is no capture event: warn (the first few) and count, or
 * fail under --strict. */
static int bad_line(reader_t *r, jsonl_reader_t *j, const char *why, char *err, size_t errlen)
{
    const char *name = strcmp(jsonl_path(j), "-") ? jsonl_path(j) : "stdin";
    r->malformed++;
    if (r->o->strict) {
        snprintf(err, errlen, "%s:%llu: %s", name, (unsigned long long)jsonl_lineno(j), why);
        return EXIT_USAGE;
    }
    if (r->malformed <= WARN_MAX && !r->o->quiet)
        fprintf(stderr, PROG ": warning: %s:%llu: %s%s\n", name, (unsigned long long)jsonl_lineno(j), why,
                r->malformed == WARN_MAX ? " (no more such warnings)" : "");
    return 0;
}

/* -1 with err for a read error that ends the file; 0 for a line too long
 * (the reader skips it). */
static int read_error(jsonl_reader_t *j, char *err, size_t errlen)
{
    if (jsonl_error_skipped(j))
        return 0;
    snprintf(err, errlen, "unable to read %s", jsonl_error(j));
    return -1;
}

int read_feedback(reader_t *r, const plan_t *p, json_t **out, char *err, size_t errlen)
{
    json_t *fb = json_object();
    if (!fb) {
        snprintf(err, errlen, "out of memory");
        return EXIT_TEMP;
    }
    int rc = 0;
    for (int i = 0; i < p->nsrc && !rc; i++) {
        jsonl_reader_t *j = open_src(r, p->src[i].path, &rc, err, errlen);
        if (!j)
            break;
        const char *line;
        size_t len;
        int k;
        while ((k = jsonl_next(j, &line, &len)) != 0) {
            if (k < 0) {
                if (read_error(j, err, errlen)) {
                    rc = EXIT_TEMP;
                    break;
                }
                continue;
            }
            if (!memmem(line, len, "feedback", 8))
                continue;
            json_t *ev = merge_parse_line(line, len, NULL);
            const char *kind = json_string_value(json_object_get(ev, "event"));
            const char *id = json_string_value(json_object_get(ev, "id"));
            if (kind && id && !strcmp(kind, "feedback")) {
                json_t *list = json_object_get(fb, id);
                if (!list)
                    json_object_set_new(fb, id, list = json_array());
                if (!list || json_array_append(list, ev)) {
                    snprintf(err, errlen, "out of memory");
                    rc = EXIT_TEMP;
                }
            }
            json_decref(ev);
            if (rc)
                break;
        }
        jsonl_close(j);
    }
    if (rc) {
        json_decref(fb);
        fb = NULL;
    }
    *out = fb;
    return rc;
}

int read_all(reader_t *r, const plan_t *p, merge_t *m, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 0; i < p->nsrc && !rc; i++) {
        /* the next day's files matter only while exchanges are open */
        if (p->src[i].completion && merge_open(m) == 0)
            continue;
        jsonl_reader_t *j = open_src(r, p->src[i].path, &rc, err, errlen);
        if (!j)
            return rc;
        const char *line, *why;
        size_t len;
        int k;
        while (!rc && (k = jsonl_next(j, &line, &len)) != 0) {
            if (k < 0) {
                if (read_error(j, err, errlen))
                    rc = EXIT_TEMP;
                else
                    rc = bad_line(r, j, "line too long", err, errlen);
                continue;
            }
            r->lines++;
            int x = merge_line(m, line, len, &why);
            if (x < 0) {
                snprintf(err, errlen, "out of memory");
                rc = EXIT_TEMP;
            } else if (x > 0)
                rc = x;
            else if (why)
                rc = bad_line(r, j, why, err, errlen);
            if (p->src[i].completion && merge_open(m) == 0)
                break;
        }
        jsonl_close(j);
    }
    return rc;
}
