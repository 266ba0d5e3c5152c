/* scan.c — capture lines → exchanges. A chunk line (most of the bytes) is
 * recognised by the prefix that capture_dump always writes,
 * {"v":1,"event":"chunk", and skipped without parsing. Between its request and its end
 * an exchange keeps a small record here (interned keys, times, status),
 * dropped at its end; the exchanges still open at the end of the input are
 * the incomplete ones. Request, response and end lines are read with
 * fields.c: only the members needed are delimited, nothing is decoded but
 * short strings. */
#include "stats.h"
#include "clock.h"
#include "id.h"
#include <stdlib.h>
#include <string.h>
#include <stdio.h>

typedef struct pend {
    hnode_t node;
    char id[ID_LEN];
    int64_t ts_us;
    const char *key[DIM_N];
    const char *protocol, *usage_protocol, *method, *path;
    int stream, status, counted;
} pend_t;

struct scan {
    agg_t *a;
    const char *why;                /* what the last malformed line lacked */
    scan_opts_t o;
    htab_t open;
    size_t n_counted;
    int completing;
    int64_t last_ts;
};

#define PREFIX "{\"v\":1,\"event\":\""
#define PREFIX_LEN (sizeof PREFIX - 1)

scan_t *scan_new(agg_t *a, const scan_opts_t *o)
{
    scan_t *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->a = a;
    s->o = *o;
    if (!s->o.max_open) s->o.max_open = 1000000;
    if (htab_init(&s->open, 1024)) { free(s); return NULL; }
    return s;
}

void scan_free(scan_t *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->open.cap; i++)
        for (hnode_t *x = s->open.tab[i], *nx; x; x = nx) { nx = x->next; free(x); }
    htab_free(&s->open);
    free(s);
}

void scan_completing(scan_t *s, int on) { s->completing = on; }
size_t scan_open_in_range(const scan_t *s) { return s->n_counted; }
int64_t scan_last_ts(const scan_t *s) { return s->last_ts; }

/* find the open exchange id; with unlink, take it out of the table */
static pend_t *pend_find(scan_t *s, const char *id, int unlink)
{
    size_t h = hash_bytes(id, strlen(id));
    for (hnode_t **pp = htab_chain(&s->open, h); *pp; pp = &(*pp)->next) {
        pend_t *p = (pend_t *)*pp;
        if (p->node.hash == h && !strcmp(p->id, id)) {
            if (unlink) {
                *pp = p->node.next;
                s->open.n--;
                if (p->counted) s->n_counted--;
            }
            return p;
        }
    }
    return NULL;
}

/* the members of an event that llm-stats reads */
enum { K_V, K_EVENT, K_ID, K_TS, K_MODEL, K_ROUTE, K_UPSTREAM, K_PROTOCOL, K_METHOD, K_PATH,
       K_STREAM, K_BODY, K_BODY_ENC, K_STATUS, K_OUTCOME, K_USAGE, K_TIMING, K_ATTEMPTS, K_UPROTO, K_N };
static const char *const KEYS[K_N] = {
    "v", "event", "id", "ts", "model", "route", "upstream", "protocol", "method", "path",
    "stream", "body", "body_encoding", "status", "outcome", "usage", "timing", "attempts",
    "upstream_protocol",
};

static const char *str_of(scan_t *s, json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v) || !json_string_length(v)) return NULL;
    return strtab_get(s->a->strs, json_string_value(v), json_string_length(v));
}

/* 1 if the JSON text has the key k (quotes included) followed by a colon */
static int has_key(const char *p, size_t n, const char *k, int escaped)
{
    size_t kl = strlen(k);
    const char *end = p + n;
    while ((p = memmem(p, (size_t)(end - p), k, kl))) {
        const char *q = p + kl;
        for (;;) {
            if (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
            else if (escaped && q + 1 < end && q[0] == '\\' && (q[1] == 'n' || q[1] == 't' || q[1] == 'r')) q += 2;
            else break;
        }
        if (q < end && *q == ':') return 1;
        p += kl;
    }
    return 0;
}

/* The user of a request: the body's "user" (OpenAI) or metadata.user_id
 * (Anthropic). The body is only decoded and parsed when one of the keys
 * occurs in it (looked for in the escaped bytes of the capture line). */
static const char *user_of(scan_t *s, span_t body, span_t enc)
{
    if (!span_is_string(body) || enc.p) return NULL;
    if (!has_key(body.p, body.n, "\\\"user\\\"", 1) && !has_key(body.p, body.n, "\\\"user_id\\\"", 1))
        return NULL;
    json_t *str = json_loadb(body.p, body.n, JSON_DECODE_ANY, NULL);
    json_t *b = json_is_string(str) ? json_loadb(json_string_value(str), json_string_length(str), 0, NULL) : NULL;
    const char *user = NULL;
    if (json_is_object(b)) {
        user = str_of(s, b, "user");
        if (!user) user = str_of(s, json_object_get(b, "metadata"), "user_id");
    }
    json_decref(b);
    json_decref(str);
    return user;
}

static int on_request(scan_t *s, const span_t *f, const char *id, int64_t ts)
{
    if (ts > s->last_ts) s->last_ts = ts;
    if (s->completing || pend_find(s, id, 0)) return 0;
    if (s->open.n >= s->o.max_open) { s->a->open_dropped++; return 0; }
    if (htab_room(&s->open)) return -1;
    pend_t *p = calloc(1, sizeof *p);
    if (!p) return -1;
    strtab_t *t = s->a->strs;
    strcpy(p->id, id);
    p->node.hash = hash_bytes(id, strlen(id));
    p->ts_us = ts;
    p->counted = ts >= s->o.since_us && ts < s->o.until_us;
    p->key[DIM_MODEL] = span_intern(t, f[K_MODEL]);
    p->key[DIM_USER] = user_of(s, f[K_BODY], f[K_BODY_ENC]);
    p->key[DIM_UPSTREAM] = span_intern(t, f[K_UPSTREAM]);
    p->key[DIM_ROUTE] = span_intern(t, f[K_ROUTE]);
    const char *day, *hour;
    zone_keys(s->o.tz, ts, &day, &hour);
    p->key[DIM_DAY] = strtab_get(t, day, strlen(day));
    p->key[DIM_HOUR] = strtab_get(t, hour, strlen(hour));
    p->protocol = span_intern(t, f[K_PROTOCOL]);
    /* the usage is in the upstream's dialect: it differs when translated */
    p->usage_protocol = f[K_UPROTO].p ? span_intern(t, f[K_UPROTO]) : p->protocol;
    p->method = span_intern(t, f[K_METHOD]);
    p->path = span_intern(t, f[K_PATH]);
    p->stream = span_eq(f[K_STREAM], "true");
    p->status = -1;
    htab_insert(&s->open, &p->node);
    if (p->counted) s->n_counted++;
    return 0;
}

static const char *status_key(scan_t *s, int status)
{
    if (status < 0) return NULL;
    char b[16];
    int n = snprintf(b, sizeof b, "%d", status);
    return strtab_get(s->a->strs, b, (size_t)n);
}

static void exch_of(scan_t *s, const pend_t *p, exch_t *e)
{
    memset(e, 0, sizeof *e);
    e->id = p->id;
    e->ts_us = p->ts_us;
    memcpy(e->key, p->key, sizeof e->key);
    e->key[DIM_STATUS] = status_key(s, p->status);
    e->protocol = p->protocol;
    e->usage_protocol = p->usage_protocol;
    e->method = p->method;
    e->path = p->path;
    e->stream = p->stream;
    e->status = p->status;
    e->in = e->out = e->cached = e->cache_write = -1;
    e->ttfb_us = e->ttft_us = e->total_us = -1;
    e->attempts = 1;
}

static int on_end(scan_t *s, const span_t *f, const char *id, char *err, size_t errlen)
{
    pend_t *p = pend_find(s, id, 1);
    if (!p) { s->a->orphan_ends++; return 0; }
    int rc = 0;
    if (p->counted) {
        int64_t st = span_int(f[K_STATUS]);
        if (st >= 0 && st < 1000) p->status = (int)st;
        exch_t e;
        exch_of(s, p, &e);
        e.complete = 1;
        e.outcome = span_intern(s->a->strs, f[K_OUTCOME]);
        static const char *const UK[] = { "input_tokens", "output_tokens", "cached_tokens", "cache_creation_tokens" };
        static const char *const TK[] = { "ttfb_us", "ttft_us", "total_us" };
        span_t u[4], t[3];
        if (f[K_USAGE].p && fields_scan(f[K_USAGE].p, f[K_USAGE].n, UK, 4, u) == 0) {
            e.in = span_int(u[0]);
            e.out = span_int(u[1]);
            e.cached = span_int(u[2]);
            e.cache_write = span_int(u[3]);
        }
        if (f[K_TIMING].p && fields_scan(f[K_TIMING].p, f[K_TIMING].n, TK, 3, t) == 0) {
            e.ttfb_us = span_int(t[0]);
            e.ttft_us = span_int(t[1]);
            e.total_us = span_int(t[2]);
        }
        int64_t at = span_int(f[K_ATTEMPTS]);
        e.attempts = at > 0 ? at : 1;
        int pass = s->o.where ? jqwhere_test_new(s->o.where, where_row(&e), err, errlen) : 1;
        if (pass < 0) rc = -2;
        else if (pass && agg_add(s->a, &e)) { snprintf(err, errlen, "out of memory"); rc = -1; }
    }
    free(p);
    return rc;
}

static int malformed(scan_t *s, const char *why)
{
    s->a->malformed++;
    s->why = why;
    return 1;
}

const char *scan_why(const scan_t *s)
{
    return s->why ? s->why : "malformed";
}

int scan_line(scan_t *s, const char *line, size_t len, char *err, size_t errlen)
{
    s->a->lines++;
    /* the fast path: the prefix every capture_dump line starts with */
    if (len > PREFIX_LEN + 6 && !memcmp(line, PREFIX, PREFIX_LEN)) {
        const char *k = line + PREFIX_LEN;
        if (!memcmp(k, "chunk\"", 6)) return 0;
        if (memcmp(k, "request\"", 8) && memcmp(k, "response\"", 9) && memcmp(k, "end\"", 4))
            return 0;                                   /* a kind added later */
    }
    span_t f[K_N];
    if (fields_scan(line, len, KEYS, K_N, f)) return malformed(s, "not one JSON object");
    if (!span_is_string(f[K_EVENT]) || !f[K_V].p) return malformed(s, "no \"event\" string or no \"v\"");
    if (!span_eq(f[K_V], "1")) {               /* never guess at another version */
        if (span_int(f[K_V]) < 0) return malformed(s, "\"v\" is not a version number");
        s->a->unknown_version++;
        return 0;
    }
    int kind = span_eq(f[K_EVENT], "\"request\"") ? 1 : span_eq(f[K_EVENT], "\"response\"") ? 2
             : span_eq(f[K_EVENT], "\"end\"") ? 3 : 0;
    if (!kind) return 0;
    char id[ID_LEN], ts_s[40];
    int64_t ts;
    if (!span_is_string(f[K_ID]) || f[K_ID].n - 2 >= ID_LEN) return malformed(s, "no \"id\" string of an exchange id");
    if (!span_is_string(f[K_TS]) || f[K_TS].n - 2 >= sizeof ts_s) return malformed(s, "no \"ts\" string");
    memcpy(id, f[K_ID].p + 1, f[K_ID].n - 2);
    id[f[K_ID].n - 2] = 0;
    memcpy(ts_s, f[K_TS].p + 1, f[K_TS].n - 2);
    ts_s[f[K_TS].n - 2] = 0;
    if (clock_parse_rfc3339(ts_s, &ts)) return malformed(s, "\"ts\" is not an RFC 3339 time");
    if (kind == 1) {
        if (on_request(s, f, id, ts)) { snprintf(err, errlen, "out of memory"); return -1; }
        return 0;
    }
    if (kind == 2) {
        pend_t *p = pend_find(s, id, 0);
        int64_t st = span_int(f[K_STATUS]);
        if (p && st >= 0 && st < 1000) p->status = (int)st;
        return 0;
    }
    return on_end(s, f, id, err, errlen);
}

int scan_report_open(scan_t *s)
{
    agg_incomplete_reset(s->a);
    char err[256];
    for (size_t i = 0; i < s->open.cap; i++)
        for (hnode_t *x = s->open.tab[i]; x; x = x->next) {
            pend_t *p = (pend_t *)x;
            if (!p->counted) continue;
            exch_t e;
            exch_of(s, p, &e);
            if (s->o.where && jqwhere_test_new(s->o.where, where_row(&e), err, sizeof err) != 1) continue;
            if (agg_incomplete(s->a, &e)) return -1;
        }
    return 0;
}
