/* plan.c — which exchanges are replayed and what is sent for each: the
 * recorded method, request-target and body (the model replaced with
 * --model), the recorded headers without the framing and hop-by-hop ones
 * and without masked secrets, then --header, auth from the environment,
 * and X-Replay-Of. Exchanges that cannot be compared fairly are kept as
 * "skipped" records: no recorded end, a truncated body, a client that hung
 * up, a replay of a replay. */
#include "replay.h"
#include "capture.h"
#include "err.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_CAP ((size_t)256 << 20)

/* never copied from the recording: curl frames the request itself */
static const char *const dropped[] = {
    "host", "content-length", "transfer-encoding", "connection", "keep-alive", "expect", "te",
    "upgrade", "trailer", "proxy-connection", "accept-encoding", "x-replay-of", NULL
};

static int is_dropped(const char *name)
{
    for (int i = 0; dropped[i]; i++)
        if (!strcasecmp(name, dropped[i])) return 1;
    return 0;
}

void job_free(job_t *j)
{
    if (!j) return;
    free(j->id);
    json_decref(j->request);
    free(j->skip);
    free(j->url);
    json_decref(j->headers);
    buf_free(&j->body);
    if (j->has_rec) view_free(&j->rec);
    free(j);
}

void plan_free(plan_t *p)
{
    for (size_t i = 0; i < p->n; i++) job_free(p->jobs[i]);
    free(p->jobs);
    p->jobs = NULL;
    p->n = p->cap = 0;
}

/* ---- the body with another model: the top-level "model" value is
 * replaced in place, every other byte kept */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* i at a '"': index after the closing quote, or n */
static size_t skip_string(const char *s, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (s[i] == '\\') i++;
        else if (s[i] == '"') return i + 1;
    }
    return n;
}

/* i at the start of a value: index after it, or n */
static size_t skip_value(const char *s, size_t n, size_t i)
{
    if (i >= n) return n;
    if (s[i] == '"') return skip_string(s, n, i);
    if (s[i] == '{' || s[i] == '[') {
        int depth = 0;
        for (; i < n; i++) {
            if (s[i] == '"') { i = skip_string(s, n, i) - 1; continue; }
            if (s[i] == '{' || s[i] == '[') depth++;
            else if ((s[i] == '}' || s[i] == ']') && --depth == 0) return i + 1;
        }
        return n;
    }
    while (i < n && !strchr(",}] \t\r\n", s[i])) i++;
    return i;
}

/* The span of the top-level member "model"'s value; 0 when found. */
static int find_model(const char *s, size_t n, size_t *from, size_t *to)
{
    size_t i = skip_ws(s, n, 0);
    if (i >= n || s[i] != '{') return -1;
    i = skip_ws(s, n, i + 1);
    while (i < n && s[i] == '"') {
        size_t k = skip_string(s, n, i);
        int is_model = k - i == 7 && !memcmp(s + i, "\"model\"", 7);
        i = skip_ws(s, n, k);
        if (i >= n || s[i] != ':') return -1;
        i = skip_ws(s, n, i + 1);
        size_t e = skip_value(s, n, i);
        if (e >= n) return -1;
        if (is_model) { *from = i; *to = e; return 0; }
        i = skip_ws(s, n, e);
        if (i < n && s[i] == ',') i = skip_ws(s, n, i + 1);
        else break;
    }
    return -1;
}

static int set_model(buf_t *body, const char *model)
{
    json_t *v = json_string(model);
    char *q = v ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!q) return -1;
    size_t from, to;
    buf_t out;
    buf_init(&out, BODY_CAP);
    int rc;
    if (!find_model(buf_ptr(body), buf_len(body), &from, &to)) {
        rc = buf_append(&out, buf_ptr(body), from) || buf_append_str(&out, q) ||
             buf_append(&out, buf_ptr(body) + to, buf_len(body) - to);
    } else {
        /* no model member: add one (the body is re-encoded) */
        json_t *j = json_loadb(buf_ptr(body), buf_len(body), 0, NULL);
        char *s = NULL;
        if (json_is_object(j) && !json_object_set_new(j, "model", json_string(model)))
            s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        rc = !s || buf_append_str(&out, s);
        free(s);
    }
    free(q);
    if (rc) { buf_free(&out); return -1; }
    buf_free(body);
    *body = out;
    return 0;
}

/* ---- the URL: target + the recorded request-target; a target ending in
 * /v1 and a target path starting with /v1/ say /v1 once */
static char *make_url(const char *target, const char *uri)
{
    size_t tl = strlen(target);
    while (tl && target[tl - 1] == '/') tl--;
    if (tl >= 3 && !strncmp(target + tl - 3, "/v1", 3) && (!strncmp(uri, "/v1/", 4) || !strcmp(uri, "/v1")))
        uri += 3;
    size_t n = tl + strlen(uri) + 2;
    char *u = malloc(n);
    if (u) snprintf(u, n, "%.*s%s%s", (int)tl, target, uri[0] == '/' || !uri[0] ? "" : "/", uri);
    return u;
}

static int has_header(const json_t *h, const char *name)
{
    return rec_header(h, name) != NULL;
}

static int push_header(json_t *h, const char *name, size_t nlen, const char *value)
{
    return json_array_append_new(h, json_pack("[s%,s]", name, nlen, value));
}

/* Headers to send: recorded ones (masked and framing ones left out), then
 * --header (replacing recorded ones of the same name), auth from the
 * environment for masked auth headers, X-Replay-Of. */
static json_t *make_headers(const plan_opts_t *o, const json_t *rec, const char *id)
{
    json_t *h = json_array();
    if (!h) return NULL;
    size_t i;
    json_t *pair;
    int want_bearer = 0, want_xkey = 0;
    json_array_foreach(rec, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0));
        const char *v = json_string_value(json_array_get(pair, 1));
        if (!n || !v || is_dropped(n)) continue;
        int given = 0;
        for (int k = 0; k < o->nheaders && !given; k++) {
            size_t nl = strcspn(o->headers[k], ":");
            given = nl == strlen(n) && !strncasecmp(o->headers[k], n, nl);
        }
        if (given) continue;
        if (rec_masked(v)) {
            if (!strcasecmp(n, "authorization")) want_bearer = 1;
            else if (!strcasecmp(n, "x-api-key")) want_xkey = 1;
            continue;
        }
        if (push_header(h, n, strlen(n), v)) goto oom;
    }
    for (int k = 0; k < o->nheaders; k++) {
        const char *s = o->headers[k];
        size_t nl = strcspn(s, ":");
        const char *v = s + nl + (s[nl] == ':');
        while (*v == ' ' || *v == '\t') v++;
        if (push_header(h, s, nl, v)) goto oom;
    }
    const char *key;
    if (want_bearer && !has_header(h, "authorization") && (key = getenv("OPENAI_API_KEY")) && *key) {
        char *b = malloc(strlen(key) + 8);
        if (!b) goto oom;
        sprintf(b, "Bearer %s", key);
        int rc = push_header(h, "Authorization", 13, b);
        free(b);
        if (rc) goto oom;
    }
    if (want_xkey && !has_header(h, "x-api-key") && (key = getenv("ANTHROPIC_API_KEY")) && *key &&
        push_header(h, "x-api-key", 9, key))
        goto oom;
    if (push_header(h, "X-Replay-Of", 11, id)) goto oom;
    return h;
oom:
    json_decref(h);
    return NULL;
}

/* why m cannot be replayed and compared, or NULL */
static const char *skip_reason(const merged_t *m)
{
    if (jstr(m->request, "replay_of")) return "a replay (replay_of)";
    if (json_is_true(json_object_get(m->request, "body_truncated"))) return "request body truncated in the capture";
    if (!m->end) return "incomplete: no end event";
    const char *outcome = jstr(m->end, "outcome");
    if (outcome && (!strcmp(outcome, "client_closed") || !strcmp(outcome, "aborted")))
        return "the recorded answer is partial (client_closed or aborted)";
    if (!m->response) return "no recorded response";
    if (!m->complete) return "incomplete: chunks missing";
    return NULL;
}

static int plan_push(plan_t *p, job_t *j)
{
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        job_t **nv = realloc(p->jobs, nc * sizeof *nv);
        if (!nv) return -1;
        p->jobs = nv;
        p->cap = nc;
    }
    p->jobs[p->n++] = j;
    return 0;
}

static int build(plan_t *p, const merged_t *m, job_t *j)
{
    const plan_opts_t *o = p->o;
    const char *why = skip_reason(m);
    if (why) return (j->skip = strdup(why)) ? 0 : -1;
    if (view_of(m, &j->rec)) return -1;
    j->has_rec = 1;
    const char *uri = jstr(m->request, "uri");
    const char *method = jstr(m->request, "method");
    if (!uri || !method) return (j->skip = strdup("no method or uri in the request event")) ? 0 : -1;
    if (rec_bytes(m->request, "body", "body_encoding", &j->body)) return -1;
    if (o->model && json_is_true(json_object_get(m->request, "body_json"))) {
        if (set_model(&j->body, o->model)) return -1;
        json_object_set_new(j->request, "model", json_string(o->model));
    }
    /* the request event of the replay: the body as sent */
    json_object_del(j->request, "body_encoding");
    if (capture_set_bytes(j->request, "body", "body_encoding", buf_ptr(&j->body), buf_len(&j->body)))
        return -1;
    json_object_del(j->request, "upstream_body");
    json_object_del(j->request, "upstream_body_encoding");
    if (!(j->url = make_url(o->target ? o->target : "", uri))) return -1;
    if (!(j->headers = make_headers(o, json_object_get(m->request, "headers"), m->id))) return -1;
    p->replayable++;
    return 0;
}

int plan_add(void *arg, const merged_t *m)
{
    plan_t *p = arg;
    if (!m->request) return 0;                  /* nothing to send */
    if (p->o->where) {
        int w = jqwhere_test_new(p->o->where, where_row(m), p->err, sizeof p->err);
        if (w < 0) { p->rc = EXIT_USAGE; return 1; }
        if (!w) return 0;
    }
    job_t *j = calloc(1, sizeof *j);
    if (!j) goto oom;
    buf_init(&j->body, BODY_CAP);
    j->request_us = m->request_us;
    if (!(j->id = strdup(m->id)) || !(j->request = json_copy(m->request))) goto oom;
    if (build(p, m, j) || plan_push(p, j)) goto oom;
    return 0;
oom:
    job_free(j);
    snprintf(p->err, sizeof p->err, "out of memory");
    p->rc = EXIT_TEMP;
    return 1;
}

static int by_time(const void *a, const void *b)
{
    const job_t *x = *(job_t *const *)a, *y = *(job_t *const *)b;
    if (x->request_us != y->request_us) return x->request_us < y->request_us ? -1 : 1;
    return strcmp(x->id, y->id);
}

void plan_finish(plan_t *p)
{
    if (p->n > 1) qsort(p->jobs, p->n, sizeof *p->jobs, by_time);
    if (p->o->limit <= 0) return;
    size_t k = 0, kept = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (kept >= (size_t)p->o->limit) { job_free(p->jobs[i]); continue; }
        if (!p->jobs[i]->skip) kept++;
        p->jobs[k++] = p->jobs[i];
    }
    p->n = k;
    p->replayable = kept;
}

int plan_print(const plan_t *p, FILE *f)
{
    for (size_t i = 0; i < p->n; i++) {
        const job_t *j = p->jobs[i];
        json_t *r;
        if (j->skip) {
            r = skipped_record(j->id, j->request, j->skip);
        } else {
            json_t *h = json_array();
            size_t k;
            json_t *pair;
            json_array_foreach(j->headers, k, pair) {
                const char *n = json_string_value(json_array_get(pair, 0));
                const char *v = json_string_value(json_array_get(pair, 1));
                capture_add_header(h, n, strlen(n), v, strlen(v));
            }
            r = json_pack("{s:s, s:s, s:O, s:s, s:o}", "id", j->id, "result", "dry-run",
                          "method", json_object_get(j->request, "method"), "url", j->url, "headers", h);
            if (r && capture_set_bytes(r, "body", "body_encoding", buf_ptr(&j->body), buf_len(&j->body))) {
                json_decref(r);
                r = NULL;
            }
        }
        if (!r) { errno = ENOMEM; return -1; }
        int bad = json_dumpf(r, f, JSON_COMPACT | JSON_REAL_PRECISION(6)) || fputc('\n', f) == EOF;
        json_decref(r);
        if (bad) return -1;
    }
    return fflush(f) ? -1 : 0;
}
