/* serve.c — --serve: the usage API over HTTP (libmicrohttpd, its own
 * polling thread, one request at a time):
 *   GET /usage, GET /api/usage/summary   ?since=&until=&date=&by=
 *     the document of --json for those options, read from the files;
 *     an answer is kept and given again while none of the files it was
 *     read from changed (size or time), so the figures follow the files
 *     as they grow
 *   GET /health                          {"status":"ok"} */
#include "stats.h"
#include "clock.h"
#include "err.h"
#include "listen.h"
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int serve_run(const cfg_t *c, const char *listen, const enum dim *by, int nby);

#define CACHE_N 16

typedef struct {
    char *key;            /* the query */
    uint64_t sig;         /* the files read: paths, sizes, times */
    char *body;
    uint64_t used;
} cached_t;

typedef struct {
    const cfg_t *c;
    const enum dim *by;
    int nby;
    cached_t cache[CACHE_N];
    uint64_t tick;
} server_t;

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result fail(struct MHD_Connection *conn, unsigned status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *s = j ? json_dumps(j, REPORT_DUMP_FLAGS) : NULL;
    json_decref(j);
    enum MHD_Result rc = answer(conn, status, s ? s : "{\"error\":\"out of memory\"}");
    free(s);
    return rc;
}

/* a hash of the planned files, their sizes and times */
static uint64_t signature(const src_t *src, int n)
{
    uint64_t h = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        int64_t v[4] = { -1, 0, 0, (int64_t)hash_bytes(src[i].path, strlen(src[i].path)) };
        if (stat(src[i].path, &st) == 0) {
            v[0] = (int64_t)st.st_size;
            v[1] = (int64_t)st.st_mtim.tv_sec;
            v[2] = (int64_t)st.st_mtim.tv_nsec;
        }
        h = h * 31 + hash_bytes(v, sizeof v);
    }
    return h;
}

static cached_t *cache_find(server_t *sv, const char *key)
{
    for (int i = 0; i < CACHE_N; i++)
        if (sv->cache[i].key && !strcmp(sv->cache[i].key, key)) return &sv->cache[i];
    cached_t *old = &sv->cache[0];
    for (int i = 1; i < CACHE_N; i++)
        if (sv->cache[i].used < old->used) old = &sv->cache[i];
    free(old->key);
    free(old->body);
    memset(old, 0, sizeof *old);
    return old;
}

/* the figures for one query; NULL and *status, err on failure */
static char *compute(server_t *sv, const char *since, const char *until, const char *date,
                     const char *bys, unsigned *status, char *err, size_t errlen)
{
    const cfg_t *c = sv->c;
    zone_t tz = c->tz;                          /* a copy: its hour cache is ours */
    enum dim by[DIM_N];
    int nby = sv->nby;
    memcpy(by, sv->by, sizeof by);
    *status = 400;
    if (bys && (nby = dims_parse(bys, by, err, errlen)) <= 0) {
        if (nby == 0) snprintf(err, errlen, "by: name at least one grouping");
        return NULL;
    }
    int64_t now = clock_wall_us(), s_us = INT64_MIN, u_us = INT64_MAX;
    if (date && (since || until)) { snprintf(err, errlen, "date goes alone, without since or until"); return NULL; }
    if (date && (strlen(date) != 10 || zone_parse_time(&tz, date, 0, now, &s_us) || zone_parse_time(&tz, date, 1, now, &u_us))) {
        snprintf(err, errlen, "date: not a day (YYYY-MM-DD)");
        return NULL;
    }
    if (since && zone_parse_time(&tz, since, 0, now, &s_us)) { snprintf(err, errlen, "since: not a day, a time or a duration"); return NULL; }
    if (until && zone_parse_time(&tz, until, 1, now, &u_us)) { snprintf(err, errlen, "until: not a day, a time or a duration"); return NULL; }

    char key[1024];
    snprintf(key, sizeof key, "%s|%s|%s|%s", since ? since : "", until ? until : "", date ? date : "", bys ? bys : "");
    src_t *src;
    int n, rc = sources_plan(c, s_us, u_us, &src, &n, err, errlen);
    if (rc) { *status = 500; return NULL; }
    uint64_t sig = signature(src, n);
    sources_free(src, n);
    cached_t *e = cache_find(sv, key);
    e->used = ++sv->tick;
    if (e->key && e->sig == sig) return strdup(e->body);

    agg_t a;
    prices_t prices = c->prices;              /* a copy: its lookup cache is ours */
    prices.last_model = NULL;
    if (agg_init(&a, &prices)) { *status = 500; snprintf(err, errlen, "out of memory"); return NULL; }
    int view = agg_add_view(&a, by, nby);
    scan_opts_t so = { .since_us = s_us, .until_us = u_us, .tz = &tz, .where = c->where, .max_open = c->max_open };
    scan_t *s = view < 0 ? NULL : scan_new(&a, &so);
    char *body = NULL;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        *status = 500;
    } else if ((rc = collect(c, s, &a, s_us, u_us, err, errlen))) {
        *status = rc == EXIT_USAGE ? 422 : 500;
    } else {
        report_meta_t m = { .since_us = s_us, .until_us = u_us, .tz = c->tz.name };
        json_t *j = report_json(&a, view, &m);
        char *d = j ? json_dumps(j, REPORT_DUMP_FLAGS) : NULL;
        json_decref(j);
        /* the same bytes as --json: a newline ends the document */
        if (d && (body = malloc(strlen(d) + 2))) sprintf(body, "%s\n", d);
        free(d);
        if (!body) { snprintf(err, errlen, "out of memory"); *status = 500; }
    }
    scan_free(s);
    agg_free(&a);
    if (body) {
        free(e->key);             /* the same question, files changed since */
        free(e->body);
        e->key = strdup(key);
        e->body = strdup(body);
        e->sig = sig;
        if (!e->key || !e->body) { free(e->key); free(e->body); memset(e, 0, sizeof *e); }
    }
    return body;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **state)
{
    (void)version; (void)upload; (void)upload_size; (void)state;
    server_t *sv = cls;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) return fail(conn, 405, "only GET");
    if (!strcmp(url, "/health")) return answer(conn, 200, "{\"status\":\"ok\"}");
    if (strcmp(url, "/usage") && strcmp(url, "/api/usage/summary")) return fail(conn, 404, "not found: try /usage or /api/usage/summary");
    char err[ERRBUF_SIZE];
    unsigned status;
    char *body = compute(sv, MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "since"),
                         MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "until"),
                         MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "date"),
                         MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "by"),
                         &status, err, sizeof err);
    if (!body) {
        if (status >= 500) fprintf(stderr, PROG ": warning: %s: %s\n", url, err);
        return fail(conn, status, err);
    }
    enum MHD_Result rc = answer(conn, 200, body);
    free(body);
    return rc;
}

int serve_run(const cfg_t *c, const char *listen, const enum dim *by, int nby)
{
    char err[ERRBUF_SIZE];
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);      /* before MHD's thread exists */
    int fd = listen_open(listen, 64, err, sizeof err);
    if (fd < 0) { fprintf(stderr, PROG ": fatal: %s\n", err); return EXIT_TEMP; }
    char addr[LISTEN_ADDR_LEN];
    if (listen_format(fd, addr, sizeof addr) == 0) fprintf(stderr, PROG ": listening on %s\n", addr);
    server_t sv = { .c = c, .by = by, .nby = nby };
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handler, &sv,
                                            MHD_OPTION_LISTEN_SOCKET, fd,
                                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                                            MHD_OPTION_END);
    if (!d) {
        close(fd);
        fprintf(stderr, PROG ": fatal: unable to start the HTTP server\n");
        return EXIT_TEMP;
    }
    int sig;
    sigwait(&sigs, &sig);
    MHD_stop_daemon(d);
    close(fd);
    for (int i = 0; i < CACHE_N; i++) { free(sv.cache[i].key); free(sv.cache[i].body); }
    return EXIT_OK;
}
