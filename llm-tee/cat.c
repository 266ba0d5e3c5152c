/* cat.c — llm-tee --cat: the lines of capture files as plain JSONL on
 * stdout, whatever their form (plain, .zst, .gz, encrypted with a key
 * file), or of a whole day of DIR in write order. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tee.h"
#include "err.h"
#include "jsonl.h"

static int put(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(1, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

static int cat_one(const char *path, const jsonl_opts_t *o, char *out, size_t cap, size_t *used)
{
    char err[ERRBUF_SIZE];
    jsonl_reader_t *r = jsonl_open(path, o, err, sizeof err);
    if (!r) { tee_log("error: %s", err); return EXIT_USAGE; }
    const char *line; size_t len; int n, rc = 0;
    while ((n = jsonl_next(r, &line, &len)) != 0) {
        if (n < 0) {
            tee_log("error: %s", jsonl_error(r));
            rc = EXIT_USAGE;
            if (jsonl_error_skipped(r)) continue;
            break;
        }
        if (*used + len + 1 > cap) {
            if (put(out, *used) < 0) { jsonl_close(r); return -2; }
            *used = 0;
        }
        if (len + 1 > cap) {
            if (put(line, len) < 0 || put("\n", 1) < 0) { jsonl_close(r); return -2; }
            continue;
        }
        memcpy(out + *used, line, len);
        out[*used + len] = '\n';
        *used += len + 1;
    }
    jsonl_close(r);
    return rc;
}

int cat_main(const char *dir, const char *day, const char *key_file, size_t max_line, char **files, int nfiles)
{
    signal(SIGPIPE, SIG_IGN);
    jsonl_opts_t o = { .max_line = max_line, .key_file = key_file };
    char **paths = files;
    int n = nfiles, rc = 0;
    char err[ERRBUF_SIZE];
    if (day || dir) {
        day_t d;
        if (!dir || !day || nfiles) { tee_log("fatal: --cat takes FILE... or -d DIR --day YYYY-MM-DD"); return EXIT_USAGE; }
        if (day_parse(day, &d) < 0) { tee_log("fatal: --day: '%s' is not a date YYYY-MM-DD", day); return EXIT_USAGE; }
        n = files_for_day(dir, d, &paths, err, sizeof err);
        if (n < 0) { tee_log("fatal: %s", err); return EXIT_TEMP; }
        if (n == 0) { tee_log("no files for %s in %s", day, dir); return EXIT_NO; }
    } else if (nfiles == 0) {
        static char *dash[] = { "-" };
        paths = dash; n = 1;
    }
    static char out[1 << 20];
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        int r = cat_one(paths[i], &o, out, sizeof out, &used);
        if (r == -2) { rc = errno == EPIPE ? rc : EXIT_TEMP; used = 0; goto done; }
        if (r > rc) rc = r;
    }
    if (used && put(out, used) < 0 && errno != EPIPE) rc = EXIT_TEMP;
done:
    if (paths != files && n > 0 && (day || dir)) files_free(paths, n);
    if (rc == EXIT_TEMP) tee_log("fatal: unable to write to stdout: %s", strerror(errno));
    return rc;
}
