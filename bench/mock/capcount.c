/* capcount.c — `bench-mock capcount PATH...`: count the events of capture
 * files (folders are searched for *.jsonl), to check that the capture holds
 * every chunk the clients received. Prints one JSON object:
 *   lines, request, response, chunk, end, other, malformed,
 *   end_chunks (the sum of end.chunks: chunk events the relay emitted),
 *   dropped (the sum of end.capture_dropped), outcomes {name: count},
 *   errors {end.error text: count} (the first 20 distinct texts). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>
#include "bench.h"
#include "err.h"
#include "jsonl.h"

typedef struct {
    uint64_t lines, request, response, chunk, end, other, malformed, end_chunks, dropped;
    json_t *outcomes, *errors;   /* errors: end.error text → count (the first 20 texts) */
} counts_t;

static const char *event_kind(const char *p, size_t n, size_t *klen)
{
    size_t look = n < 256 ? n : 256;
    const char *k = memmem(p, look, "\"event\":\"", 9);
    if (!k) return NULL;
    k += 9;
    const char *q = memchr(k, '"', (size_t)(p + n - k));
    if (!q) return NULL;
    *klen = (size_t)(q - k);
    return k;
}

static void bump(json_t *obj, const char *key)
{
    json_int_t prev = json_integer_value(json_object_get(obj, key));
    json_object_set_new(obj, key, json_integer(prev + 1));
}

static void count_line(counts_t *c, const char *p, size_t n)
{
    size_t kl = 0;
    const char *k = event_kind(p, n, &kl);
    c->lines++;
    if (!k) { c->malformed++; return; }
    if (kl == 5 && !memcmp(k, "chunk", 5)) { c->chunk++; return; }
    if (kl == 7 && !memcmp(k, "request", 7)) { c->request++; return; }
    if (kl == 8 && !memcmp(k, "response", 8)) { c->response++; return; }
    if (kl != 3 || memcmp(k, "end", 3)) { c->other++; return; }
    c->end++;
    json_t *ev = json_loadb(p, n, 0, NULL);
    if (!ev) { c->malformed++; return; }
    c->end_chunks += (uint64_t)json_integer_value(json_object_get(ev, "chunks"));
    c->dropped += (uint64_t)json_integer_value(json_object_get(ev, "capture_dropped"));
    const char *o = json_string_value(json_object_get(ev, "outcome"));
    if (o) bump(c->outcomes, o);
    const char *e = json_string_value(json_object_get(ev, "error"));
    if (e && (json_object_get(c->errors, e) || json_object_size(c->errors) < 20)) bump(c->errors, e);
    json_decref(ev);
}

static int count_file(counts_t *c, const char *path)
{
    char err[ERRBUF_SIZE];
    jsonl_reader_t *r = jsonl_open(path, NULL, err, sizeof err);
    if (!r) { bwarn("unable to open %s", err); return -1; }
    const char *line; size_t len;
    int k, rc = 0;
    while ((k = jsonl_next(r, &line, &len)) != 0) {
        if (k == 1) { count_line(c, line, len); continue; }
        bwarn("%s", jsonl_error(r));
        c->malformed++;
        if (!strstr(jsonl_error(r), "longer")) { rc = -1; break; }   /* an over-long line: go on */
    }
    jsonl_close(r);
    return rc;
}

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* llm-tee's files (files.h): .jsonl, possibly .zst or .gz; not the rejects */
static int is_capture_file(const char *name)
{
    return !strstr(name, ".rejects.") && !ends_with(name, ".tmp") &&
           (ends_with(name, ".jsonl") || ends_with(name, ".jsonl.zst") || ends_with(name, ".jsonl.gz"));
}

static int count_path(counts_t *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) { bwarn("unable to open %s: %s", path, strerror(errno)); return -1; }
    if (!S_ISDIR(st.st_mode)) return count_file(c, path);
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort), rc = 0;
    if (n < 0) { bwarn("unable to read %s: %s", path, strerror(errno)); return -1; }
    for (int i = 0; i < n; i++) {
        const char *name = ents[i]->d_name;
        if (name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, name);
            struct stat s2;
            if (stat(sub, &s2) == 0 && (S_ISDIR(s2.st_mode) || (is_capture_file(name))))
                if (count_path(c, sub) < 0) rc = -1;
        }
        free(ents[i]);
    }
    free(ents);
    return rc;
}

int cmd_capcount(int argc, char **argv)
{
    if (argc < 2) { bwarn("capcount: name at least one file or folder"); return EXIT_USAGE; }
    counts_t c = { .outcomes = json_object(), .errors = json_object() };
    int rc = 0;
    for (int i = 1; i < argc; i++) if (count_path(&c, argv[i]) < 0) rc = EXIT_TEMP;
    json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:O}",
        "lines", (json_int_t)c.lines, "request", (json_int_t)c.request, "response", (json_int_t)c.response,
        "chunk", (json_int_t)c.chunk, "end", (json_int_t)c.end, "other", (json_int_t)c.other,
        "malformed", (json_int_t)c.malformed, "end_chunks", (json_int_t)c.end_chunks,
        "dropped", (json_int_t)c.dropped, "outcomes", c.outcomes, "errors", c.errors);
    char *s = json_dumps(out, JSON_COMPACT);
    if (s) puts(s);
    free(s);
    json_decref(out);
    json_decref(c.outcomes);
    json_decref(c.errors);
    return rc;
}
