/* plan.c — what to read. A directory is the daily layout of llm-tee: the
 * files of every day of the range, then those of the next day (marked
 * "completion": read only to finish exchanges whose request was in the
 * range). A file is read as it is; "-" is stdin, copied to a temporary
 * file first when two passes are needed (the feedback pre-pass). The
 * request window is [start of --from, start of the day after --to) in the
 * --tz zone (lib/tz.c; UTC by default); with a directory and no range,
 * yesterday. */
#include "export.h"
#include "err.h"
#include "clock.h"
#include "tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int add(plan_t *p, int *cap, const char *path, int completion)
{
    if (p->nsrc == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        src_t *v = realloc(p->src, (size_t)nc * sizeof *v);
        if (!v)
            return -1;
        p->src = v;
        *cap = nc;
    }
    if (!(p->src[p->nsrc].path = strdup(path)))
        return -1;
    p->src[p->nsrc++].completion = completion;
    return 0;
}

static int spool_stdin(plan_t *p, char *err, size_t errlen)
{
    const char *dir = getenv("TMPDIR");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/llm-export.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        snprintf(err, errlen, "unable to create %s: %s", tmpl, strerror(errno));
        return EXIT_TEMP;
    }
    if (!(p->spool = strdup(tmpl))) {
        close(fd);
        unlink(tmpl);
        snprintf(err, errlen, "out of memory");
        return EXIT_TEMP;
    }
    static char blk[1 << 16];
    for (;;) {
        ssize_t n = read(0, blk, sizeof blk);
        if (n == 0)
            break;
        if (n < 0 && errno == EINTR)
            continue;
        const char *what = "stdin";
        if (n > 0) {
            size_t off = 0;
            while (off < (size_t)n) {
                ssize_t w = write(fd, blk + off, (size_t)n - off);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w < 0) {
                    what = tmpl;
                    n = -1;
                    break;
                }
                off += (size_t)w;
            }
            if (n > 0)
                continue;
        }
        snprintf(err, errlen, "unable to copy %s: %s", what, strerror(errno));
        close(fd);
        return EXIT_TEMP;
    }
    if (close(fd)) {
        snprintf(err, errlen, "unable to write %s: %s", tmpl, strerror(errno));
        return EXIT_TEMP;
    }
    return 0;
}

static int add_day(plan_t *p, int *cap, const char *dir, day_t d, int completion, char *err, size_t errlen)
{
    char **paths;
    int k = files_for_day(dir, d, &paths, err, errlen);
    if (k < 0)
        return EXIT_TEMP;
    int rc = 0;
    for (int i = 0; i < k && !rc; i++)
        if (add(p, cap, paths[i], completion)) {
            snprintf(err, errlen, "out of memory");
            rc = EXIT_TEMP;
        }
    files_free(paths, k);
    return rc;
}

int plan_make(const opts_t *o, plan_t *p, int two_pass, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    tz_t zone;
    char e[ERRBUF_SIZE];
    if (tz_setup(&zone, o->tz, e, sizeof e)) {
        snprintf(err, errlen, "--tz: %s", e);
        return EXIT_USAGE;
    }
    int cap = 0, rc = 0, dirs = 0, stdin_seen = 0;
    struct stat st;
    for (int i = 0; i < o->ninputs; i++)
        if (strcmp(o->inputs[i], "-") && stat(o->inputs[i], &st) == 0 && S_ISDIR(st.st_mode))
            dirs++;
    day_t from = o->from, to = o->to;
    int ranged = o->have_range;
    if (!ranged && dirs) {
        from = to = day_add(tz_day_of(&zone, clock_wall_us()), -1);
        ranged = 1;
    }
    if (ranged) {
        if (tz_day_bounds(&zone, from, &p->from_us, NULL) || tz_day_bounds(&zone, to, NULL, &p->to_us)) {
            snprintf(err, errlen, "the days of the range cannot be placed in time zone %s", o->tz);
            return EXIT_USAGE;
        }
        p->ranged = 1;
        p->from = from;
        p->to = to;
    }
    for (int i = 0; i < o->ninputs && !rc; i++) {
        const char *in = o->inputs[i];
        if (!strcmp(in, "-")) {
            if (stdin_seen++) {
                snprintf(err, errlen, "stdin (-) named twice");
                rc = EXIT_USAGE;
            } else if (two_pass) {
                if (!(rc = spool_stdin(p, err, errlen)) && add(p, &cap, p->spool, 0)) {
                    snprintf(err, errlen, "out of memory");
                    rc = EXIT_TEMP;
                }
            } else if (add(p, &cap, "-", 0)) {
                snprintf(err, errlen, "out of memory");
                rc = EXIT_TEMP;
            }
        } else if (stat(in, &st) == 0 && S_ISDIR(st.st_mode)) {
            for (day_t d = from; !rc && day_cmp(d, to) <= 0; d = day_add(d, 1))
                rc = add_day(p, &cap, in, d, 0, err, errlen);
            if (!rc)
                rc = add_day(p, &cap, in, day_add(to, 1), 1, err, errlen);
        } else if (add(p, &cap, in, 0)) {
            snprintf(err, errlen, "out of memory");
            rc = EXIT_TEMP;
        }
    }
    if (rc)
        plan_free(p);
    return rc;
}

void plan_free(plan_t *p)
{
    for (int i = 0; i < p->nsrc; i++)
        free(p->src[i].path);
    free(p->src);
    if (p->spool) {
        unlink(p->spool);
        free(p->spool);
    }
    memset(p, 0, sizeof *p);
}
