/* gen.c — `bench-mock gen`: a capture day of a given size for the reader
 * benchmarks (llm-tee, llm-stats, llm-export against cat and jq). It
 * replays a sample capture that the real relay wrote (--from) over and
 * over: every pass gives each exchange a fresh UUIDv7 and moves its
 * timestamps into the day (--day), so the output is the relay's own bytes,
 * valid by the schema, with as many distinct exchanges as the size needs.
 * Lines of the sample that carry no "id" and "ts" are copied as they are. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"
#include "buf.h"
#include "clock.h"
#include "err.h"
#include "id.h"

#define TS_LEN 27

typedef struct { char old[ID_LEN]; char fresh[ID_LEN]; } idmap_t;

typedef struct {
    const char *p; size_t n;     /* the line, newline included */
    long id_at, ts_at;           /* offsets of the values, -1 when absent */
    int64_t ts;                  /* parsed ts, µs */
    size_t ex;                   /* index of its exchange in the map */
} line_t;

static long find_value(const char *p, size_t n, const char *key, size_t vlen)
{
    size_t look = n < 256 ? n : 256, kl = strlen(key);
    const char *k = memmem(p, look, key, kl);
    if (!k || (size_t)(k - p) + kl + vlen + 1 > n || k[kl + vlen] != '"') return -1;
    return (long)(k - p + (long)kl);
}

static int cmp_idmap(const void *a, const void *b)
{
    return memcmp(((const idmap_t *)a)->old, ((const idmap_t *)b)->old, ID_LEN - 1);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    buf_t b; buf_init(&b, 0);
    char tmp[65536]; size_t k;
    while ((k = fread(tmp, 1, sizeof tmp, f)) > 0)
        if (buf_append(&b, tmp, k) < 0) { buf_free(&b); fclose(f); errno = ENOMEM; return NULL; }
    int bad = ferror(f);
    fclose(f);
    if (bad) { buf_free(&b); errno = EIO; return NULL; }
    if (buf_len(&b) && buf_ptr(&b)[buf_len(&b) - 1] != '\n') buf_append(&b, "\n", 1);
    *len = buf_len(&b);
    return b.data ? b.data : calloc(1, 1);   /* off is 0: data is the bytes */
}

int cmd_gen(int argc, char **argv)
{
    const char *from = NULL, *out = NULL, *day = "2026-11-26";
    long long bytes = -1;
    int ch;
    static const struct option o[] = {
        { "from", 1, 0, 'f' }, { "bytes", 1, 0, 'b' }, { "day", 1, 0, 'd' }, { "output", 1, 0, 'o' },
        { 0, 0, 0, 0 } };
    while ((ch = getopt_long(argc, argv, "f:b:d:o:", o, NULL)) != -1) {
        switch (ch) {
        case 'f': from = optarg; break;
        case 'b': bytes = parse_count(optarg); break;
        case 'd': day = optarg; break;
        case 'o': out = optarg; break;
        default: return EXIT_USAGE;
        }
    }
    char daybuf[40];
    int64_t day0;
    snprintf(daybuf, sizeof daybuf, "%.10sT00:00:00.000000Z", day);
    if (!from || bytes < 0 || strlen(day) != 10 || clock_parse_rfc3339(daybuf, &day0) < 0) {
        bwarn("gen: --from SAMPLE --bytes SIZE [--day YYYY-MM-DD] [-o FILE] are needed");
        return EXIT_USAGE;
    }
    size_t slen;
    char *sample = read_all(from, &slen);
    if (!sample) bfatal(EXIT_TEMP, "unable to read %s: %s", from, strerror(errno));

    /* index the sample: its lines, their ids and times */
    size_t nl = 0, cap = 1024, nids = 0;
    line_t *L = malloc(cap * sizeof *L);
    idmap_t *M = malloc(cap * sizeof *M);
    int64_t tmin = INT64_MAX, tmax = INT64_MIN;
    if (!L || !M) bfatal(EXIT_TEMP, "out of memory");
    for (char *p = sample, *e = sample + slen; p < e; ) {
        char *nlp = memchr(p, '\n', (size_t)(e - p));
        size_t n = (size_t)(nlp - p) + 1;
        if (nl == cap) {
            cap *= 2;
            line_t *nL = realloc(L, cap * sizeof *L); idmap_t *nM = realloc(M, cap * sizeof *M);
            if (!nL || !nM) bfatal(EXIT_TEMP, "out of memory");
            L = nL; M = nM;
        }
        line_t *l = &L[nl++];
        l->p = p; l->n = n;
        l->id_at = find_value(p, n, "\"id\":\"", ID_LEN - 1);
        l->ts_at = find_value(p, n, "\"ts\":\"", TS_LEN);
        if (l->ts_at >= 0) {
            char ts[TS_LEN + 1];
            memcpy(ts, p + l->ts_at, TS_LEN); ts[TS_LEN] = 0;
            if (clock_parse_rfc3339(ts, &l->ts) < 0) l->ts_at = -1;
        }
        if (l->id_at < 0 || l->ts_at < 0) l->id_at = l->ts_at = -1;
        else {
            if (l->ts < tmin) tmin = l->ts;
            if (l->ts > tmax) tmax = l->ts;
            memcpy(M[nids].old, p + l->id_at, ID_LEN - 1); M[nids].old[ID_LEN - 1] = 0;
            nids++;
        }
        p += n;
    }
    qsort(M, nids, sizeof *M, cmp_idmap);
    size_t u = 0;
    for (size_t i = 0; i < nids; i++) if (!u || cmp_idmap(&M[u - 1], &M[i])) M[u++] = M[i];
    nids = u;
    for (size_t i = 0; i < nl; i++) {
        if (L[i].id_at < 0) continue;
        idmap_t key; memcpy(key.old, L[i].p + L[i].id_at, ID_LEN - 1);
        L[i].ex = (size_t)((idmap_t *)bsearch(&key, M, nids, sizeof *M, cmp_idmap) - M);
    }
    if (nids == 0) bfatal(EXIT_USAGE, "%s: no capture events with id and ts", from);

    FILE *f = out ? fopen(out, "wb") : stdout;
    if (!f) bfatal(EXIT_TEMP, "unable to open %s: %s", out, strerror(errno));
    long long passes = bytes / (long long)slen + 1;
    int64_t span = tmax - tmin + 1000, day_us = 86400LL * 1000000 - 1000000;
    int64_t step = span * passes <= day_us ? span : (day_us - span) / passes;
    if (step < 0) step = 0;
    long long written = 0, pass = 0, exchanges = 0;
    char *line = NULL; size_t line_cap = 0;
    while (written < bytes) {
        int64_t shift = day0 + pass * step - tmin;
        for (size_t i = 0; i < nids; i++) M[i].fresh[0] = 0;
        for (size_t i = 0; i < nl && written < bytes; i++) {
            line_t *l = &L[i];
            if (l->id_at < 0) { fwrite(l->p, 1, l->n, f); written += (long long)l->n; continue; }
            if (l->n > line_cap) {
                line_cap = l->n;
                char *nb = realloc(line, line_cap);
                if (!nb) bfatal(EXIT_TEMP, "out of memory");
                line = nb;
            }
            memcpy(line, l->p, l->n);
            idmap_t *m = &M[l->ex];
            if (!m->fresh[0]) {
                if (id_new(l->ts + shift, m->fresh) < 0) bfatal(EXIT_TEMP, "no randomness for ids");
                exchanges++;
            }
            memcpy(line + l->id_at, m->fresh, ID_LEN - 1);
            char ts[RFC3339_LEN];
            clock_rfc3339(l->ts + shift, ts);
            memcpy(line + l->ts_at, ts, TS_LEN);
            fwrite(line, 1, l->n, f);
            written += (long long)l->n;
        }
        pass++;
    }
    int bad = ferror(f) | (out ? fclose(f) : fflush(f));
    free(line); free(L); free(M); free(sample);
    if (bad) bfatal(EXIT_TEMP, "unable to write %s: %s", out ? out : "stdout", strerror(errno));
    fprintf(stderr, "%s: gen: %lld bytes, %lld exchanges, %lld passes over %s\n",
            progname, written, exchanges, pass, from);
    return 0;
}
