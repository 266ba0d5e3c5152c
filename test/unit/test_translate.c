/* test_translate.c — runs every golden fixture of lib/translate/ found in
 * test/fixtures/translate/ (see README there): requests, whole responses
 * and error bodies compared as JSON; streams fed event by event through
 * lib/sse.c, whole, byte by byte and in random splits, compared event by
 * event, with the check that every upstream event carrying content is
 * translated during its own feed (nothing is held back).
 * PLLM_ROOT names the tree (test/run sets it); else the current directory.
 * TRANSLATE_WRITE=1 writes the outputs of fixtures that have none (for
 * review before they are kept). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include "sse.h"
#include "usage.h"
#include "translate/translate.h"

static char dir[4096];

typedef struct {
    char name[256];       /* fixture stem, e.g. req-oa2an-system */
} fixture_t;

/* ---- files ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap);
    assert_non_null(p);
    size_t k;
    while ((k = fread(p + n, 1, cap - n - 1, f)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            cap *= 2;
            p = realloc(p, cap);
            assert_non_null(p);
        }
    }
    fclose(f);
    p[n] = '\0';
    *len = n;
    return p;
}

static char *fixture_file(const fixture_t *fx, const char *suffix, size_t *len)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s%s", dir, fx->name, suffix);
    return slurp(path, len);
}

static void write_file(const fixture_t *fx, const char *suffix, const char *p, size_t n)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s%s", dir, fx->name, suffix);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    fclose(f);
    print_message("wrote %s\n", path);
}

static json_t *load_json(const char *p, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(p, n, JSON_ALLOW_NUL, &e);
    if (!j)
        fail_msg("bad JSON: %s (line %d)", e.text, e.line);
    return j;
}

static void assert_json_equal(const json_t *want, const json_t *got, const char *what)
{
    if (!json_equal(want, got)) {
        char *a = json_dumps(want, JSON_INDENT(1) | JSON_SORT_KEYS);
        char *b = json_dumps(got, JSON_INDENT(1) | JSON_SORT_KEYS);
        print_error("%s differs\n--- want\n%s\n--- got\n%s\n", what, a, b);
        free(a);
        free(b);
        fail();
    }
}

/* ---- the translator of a fixture ---- */

typedef struct {
    json_t *meta;
    translate_t *t;
    translate_max_tokens_t table[8];
} run_t;

/* The name says which way the data goes: req-oa2an-* is an OpenAI
 * client's request made Anthropic; resp-an2oa-* and stream-an2oa-* are an
 * Anthropic upstream's answer made OpenAI (so the client is OpenAI). */
static int dir_of(const char *name, int *client, int *upstream)
{
    const char *d = strchr(name, '-');
    if (!d)
        return -1;
    int from_oa = !strncmp(d + 1, "oa2an", 5), from_an = !strncmp(d + 1, "an2oa", 5);
    if (!from_oa && !from_an)
        return -1;
    int req = !strncmp(name, "req-", 4);
    *client = (from_oa == req) ? TR_OPENAI : TR_ANTHROPIC;
    *upstream = *client == TR_OPENAI ? TR_ANTHROPIC : TR_OPENAI;
    return 0;
}

static void opts_of(run_t *r, const json_t *o, translate_opts_t *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->created = 1700000000;
    opts->model = json_string_value(json_object_get(o, "model"));
    json_t *v = json_object_get(o, "default_max_tokens");
    if (v)
        opts->default_max_tokens = json_integer_value(v);
    opts->max_completion_tokens = json_is_true(json_object_get(o, "max_completion_tokens"));
    size_t i;
    json_array_foreach(json_object_get(o, "max_tokens"), i, v) {
        assert_true(i < 8);
        r->table[i].pattern = json_string_value(json_array_get(v, 0));
        r->table[i].max_tokens = json_integer_value(json_array_get(v, 1));
        opts->n_max_tokens = i + 1;
    }
    opts->max_tokens = r->table;
    json_array_foreach(json_object_get(o, "effort_budget"), i, v)
        if (i < 4)
            opts->effort_budget[i] = json_integer_value(v);
}

/* A translator for the fixture; for responses and streams it has seen the
 * client request of meta "request" (or a small default one). */
static void setup_run(run_t *r, const fixture_t *fx, int prime, int stream)
{
    memset(r, 0, sizeof *r);
    size_t n;
    char *m = fixture_file(fx, ".meta.json", &n);
    r->meta = m ? load_json(m, n) : json_object();
    free(m);
    int client = -1, upstream = -1;
    assert_int_equal(dir_of(fx->name, &client, &upstream), 0);
    translate_opts_t opts;
    opts_of(r, json_object_get(r->meta, "opts"), &opts);
    r->t = translate_new(client, upstream, &opts);
    assert_non_null(r->t);
    if (!prime)
        return;
    json_t *req = json_object_get(r->meta, "request");
    json_t *def = NULL;
    if (!req)
        req = def = json_pack("{s:s, s:[{s:s, s:s}], s:i, s:b}", "model", "test-model", "messages",
                              "role", "user", "content", "hi", "max_tokens", 100, "stream", stream);
    char *body = json_dumps(req, JSON_COMPACT);
    char *out;
    size_t outlen;
    translate_error_t err;
    if (translate_request(r->t, body, strlen(body), &out, &outlen, &err) != 0)
        fail_msg("priming request failed: %s", err.message);
    free(out);
    free(body);
    json_decref(def);
}

static void free_run(run_t *r)
{
    translate_free(r->t);
    json_decref(r->meta);
}

/* ---- requests ---- */

static void run_request(const fixture_t *fx)
{
    run_t r;
    setup_run(&r, fx, 0, 0);
    size_t n;
    char *in = fixture_file(fx, ".in.json", &n);
    assert_non_null(in);
    char *out = NULL;
    size_t outlen = 0;
    translate_error_t err;
    int rc = translate_request(r.t, in, n, &out, &outlen, &err);
    size_t wn;
    char *want = fixture_file(fx, ".out.json", &wn);
    char *want_err = fixture_file(fx, ".err.json", &wn);
    if (!want && !want_err && getenv("TRANSLATE_WRITE")) {
        if (rc == 0) {
            json_t *j = load_json(out, outlen);
            char *p = json_dumps(j, JSON_INDENT(2));
            write_file(fx, ".out.json", p, strlen(p));
            free(p);
            json_decref(j);
        } else {
            json_t *j = json_pack("{s:i, s:s, s:s, s:s}", "status", err.status, "type", err.type,
                                  "param", err.param, "message", err.message);
            char *p = json_dumps(j, JSON_INDENT(2));
            write_file(fx, ".err.json", p, strlen(p));
            free(p);
            json_decref(j);
        }
    } else if (want) {
        if (rc != 0)
            fail_msg("%s: translation failed: %s", fx->name, err.message);
        json_t *w = load_json(want, strlen(want)), *g = load_json(out, outlen);
        assert_int_equal(strlen(out), outlen);
        assert_json_equal(w, g, fx->name);
        assert_non_null(translate_upstream_path(r.t));
        json_decref(w);
        json_decref(g);
    } else {
        assert_non_null(want_err);
        if (rc == 0)
            fail_msg("%s: translation should have failed: %s", fx->name, out);
        assert_null(out);
        json_t *w = load_json(want_err, strlen(want_err));
        json_t *g = json_pack("{s:i, s:s, s:s, s:s}", "status", err.status, "type", err.type,
                              "param", err.param, "message", err.message);
        assert_json_equal(w, g, fx->name);
        /* the native body names the field */
        buf_t b;
        buf_init(&b, 0);
        int client = -1, upstream = -1;
        assert_int_equal(dir_of(fx->name, &client, &upstream), 0);
        assert_int_equal(translate_error_body(client, &err, &b), 0);
        json_t *body = load_json(buf_ptr(&b), buf_len(&b));
        json_t *e = json_object_get(body, "error");
        assert_string_equal(json_string_value(json_object_get(e, "message")), err.message);
        assert_string_equal(json_string_value(json_object_get(e, "type")), err.type);
        if (err.param[0])
            assert_non_null(strstr(err.message, err.param));
        json_decref(body);
        buf_free(&b);
        json_decref(w);
        json_decref(g);
    }
    free(out);
    free(in);
    free(want);
    free(want_err);
    free_run(&r);
}

/* ---- whole responses ---- */

static void run_response(const fixture_t *fx)
{
    run_t r;
    setup_run(&r, fx, 1, 0);
    size_t n;
    char *in = fixture_file(fx, ".in.json", &n);
    if (!in)
        in = fixture_file(fx, ".in.txt", &n);
    assert_non_null(in);
    json_t *st = json_object_get(r.meta, "status");
    int status = st ? (int)json_integer_value(st) : 200, cstatus = 0;
    buf_t out;
    buf_init(&out, 0);
    translate_error_t err;
    assert_int_equal(translate_response(r.t, status, in, n, &out, &cstatus, &err), 0);
    json_t *g = load_json(buf_ptr(&out), buf_len(&out));
    size_t wn;
    char *want = fixture_file(fx, ".out.json", &wn);
    if (!want && getenv("TRANSLATE_WRITE")) {
        json_t *w = json_pack("{s:i, s:O}", "status", cstatus, "body", g);
        char *p = json_dumps(w, JSON_INDENT(2));
        write_file(fx, ".out.json", p, strlen(p));
        free(p);
        json_decref(w);
    } else {
        assert_non_null(want);
        json_t *w = load_json(want, wn);
        assert_int_equal(json_integer_value(json_object_get(w, "status")), cstatus);
        assert_json_equal(json_object_get(w, "body"), g, fx->name);
        json_decref(w);
    }
    json_decref(g);
    free(want);
    free(in);
    buf_free(&out);
    free_run(&r);
}

/* ---- streams ---- */

typedef struct {
    translate_t *t;
    buf_t out;
    int events, grew_on_content, content_events;
} feed_t;

static int on_event(void *arg, const sse_event_t *ev)
{
    feed_t *f = arg;
    if (!ev->has_data)
        return 0;
    size_t before = buf_len(&f->out);
    int was_done = translate_stream_done(f->t);
    int rc = translate_stream_event(f->t, ev->name, ev->name_len, ev->data, ev->data_len, &f->out);
    assert_true(rc >= 0);
    f->events++;
    usage_t u;
    usage_init(&u);
    /* an upstream event with content (lib/usage.c says which) is
     * translated at once; not an empty argument piece, nor after the end */
    if (usage_from_event(&u, ev->name, ev->name_len, ev->data, ev->data_len) && !was_done &&
        !memmem(ev->data, ev->data_len, "\"partial_json\":\"\"", 17)) {
        f->content_events++;
        if (buf_len(&f->out) > before)
            f->grew_on_content++;
    }
    /* what was written is whole events */
    if (buf_len(&f->out) > before)
        assert_memory_equal(buf_ptr(&f->out) + buf_len(&f->out) - 2, "\n\n", 2);
    return 0;
}

/* Feed in through sse.c in pieces of the given sizes (0: one piece; -1:
 * random sizes from seed). Returns the client bytes (caller frees). */
static char *feed(const fixture_t *fx, const char *in, size_t n, long piece, unsigned seed,
                  size_t *outlen, int *content_events)
{
    run_t r;
    setup_run(&r, fx, 1, 1);
    feed_t f = { .t = r.t };
    buf_init(&f.out, 0);
    sse_t *s = sse_new(0, on_event, &f);
    assert_non_null(s);
    size_t i = 0;
    while (i < n) {
        size_t k = n - i;
        if (piece > 0 && (size_t)piece < k)
            k = (size_t)piece;
        else if (piece < 0) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 40;
            if (want < k)
                k = want;
        }
        assert_int_equal(sse_feed(s, in + i, k), 0);
        i += k;
    }
    assert_int_equal(sse_finish(s), 0);
    json_t *ok = json_object_get(r.meta, "finish_ok");
    assert_int_equal(translate_stream_finish(r.t, ok ? json_is_true(ok) : 1, &f.out), 0);
    assert_true(translate_stream_done(r.t));
    /* after the end, nothing more is written */
    size_t end = buf_len(&f.out);
    assert_int_equal(translate_stream_event(r.t, "", 0, "{}", 2, &f.out), 1);
    assert_int_equal(buf_len(&f.out), end);
    assert_int_equal(f.grew_on_content, f.content_events);
    *content_events = f.content_events;
    sse_free(s);
    free_run(&r);
    *outlen = buf_len(&f.out);
    char *p = malloc(*outlen + 1);
    memcpy(p, buf_ptr(&f.out), *outlen + 1);
    buf_free(&f.out);
    return p;
}

typedef struct { char **name, **data; int *json; size_t n, cap; } evs_t;

static int collect(void *arg, const sse_event_t *ev)
{
    evs_t *e = arg;
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->name = realloc(e->name, e->cap * sizeof *e->name);
        e->data = realloc(e->data, e->cap * sizeof *e->data);
    }
    e->name[e->n] = strndup(ev->name, ev->name_len);
    e->data[e->n] = ev->has_data ? strndup(ev->data, ev->data_len) : strdup("(comment)");
    e->n++;
    return 0;
}

static void events_of(evs_t *e, const char *p, size_t n)
{
    memset(e, 0, sizeof *e);
    sse_t *s = sse_new(0, collect, e);
    assert_int_equal(sse_feed(s, p, n), 0);
    assert_int_equal(sse_finish(s), 0);
    size_t rem;
    sse_remainder(s, &rem);
    assert_int_equal(rem, 0); /* every event is complete */
    sse_free(s);
}

static void events_free(evs_t *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->name[i]);
        free(e->data[i]);
    }
    free(e->name);
    free(e->data);
}

static void assert_same_events(const fixture_t *fx, const char *want, size_t wn,
                               const char *got, size_t gn)
{
    evs_t w, g;
    events_of(&w, want, wn);
    events_of(&g, got, gn);
    if (w.n != g.n)
        fail_msg("%s: %zu events expected, got %zu:\n%.*s", fx->name, w.n, g.n, (int)gn, got);
    for (size_t i = 0; i < w.n; i++) {
        if (strcmp(w.name[i], g.name[i]))
            fail_msg("%s: event %zu: name '%s' expected, got '%s'", fx->name, i, w.name[i], g.name[i]);
        json_t *a = json_loads(w.data[i], JSON_DECODE_ANY, NULL);
        json_t *b = json_loads(g.data[i], JSON_DECODE_ANY, NULL);
        char what[300];
        snprintf(what, sizeof what, "%s: event %zu", fx->name, i);
        if (a && b)
            assert_json_equal(a, b, what);
        else if (strcmp(w.data[i], g.data[i]))
            fail_msg("%s: '%s' expected, got '%s'", what, w.data[i], g.data[i]);
        json_decref(a);
        json_decref(b);
    }
    events_free(&w);
    events_free(&g);
}

static void run_stream(const fixture_t *fx)
{
    size_t n, wn, gn, kn;
    int ce;
    char *in = fixture_file(fx, ".in.sse", &n);
    assert_non_null(in);
    char *got = feed(fx, in, n, 0, 0, &gn, &ce);
    char *want = fixture_file(fx, ".out.sse", &wn);
    if (!want && getenv("TRANSLATE_WRITE")) {
        write_file(fx, ".out.sse", got, gn);
    } else {
        assert_non_null(want);
        assert_same_events(fx, want, wn, got, gn);
    }
    /* the same bytes for any split of the input */
    long pieces[] = { 1, 2, 3, 7, -1, -1, -1, -1, -1, -1 };
    for (size_t i = 0; i < sizeof pieces / sizeof *pieces; i++) {
        char *k = feed(fx, in, n, pieces[i], (unsigned)(i * 7919 + n), &kn, &ce);
        if (kn != gn || memcmp(k, got, gn))
            fail_msg("%s: split %zu gave other bytes", fx->name, i);
        free(k);
    }
    free(got);
    free(want);
    free(in);
}

/* ---- the runner ---- */

static void run_fixture(void **state)
{
    const fixture_t *fx = *state;
    if (!strncmp(fx->name, "req-", 4))
        run_request(fx);
    else if (!strncmp(fx->name, "resp-", 5))
        run_response(fx);
    else if (!strncmp(fx->name, "stream-", 7))
        run_stream(fx);
    else
        fail_msg("%s: unknown fixture kind", fx->name);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fixture_t *)a)->name, ((const fixture_t *)b)->name);
}

int main(void)
{
    const char *root = getenv("PLLM_ROOT");
    snprintf(dir, sizeof dir, "%s/test/fixtures/translate", root ? root : ".");
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "test_translate: fatal: unable to open %s\n", dir);
        return 111;
    }
    fixture_t *fx = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *dot = strstr(de->d_name, ".in.");
        if (!dot || (size_t)(dot - de->d_name) >= sizeof fx->name)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            fx = realloc(fx, cap * sizeof *fx);
        }
        snprintf(fx[n].name, sizeof fx[n].name, "%.*s", (int)(dot - de->d_name), de->d_name);
        n++;
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "test_translate: fatal: no fixtures in %s\n", dir);
        return 111;
    }
    qsort(fx, n, sizeof *fx, by_name);
    struct CMUnitTest *tests = calloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = fx[i].name;
        tests[i].test_func = run_fixture;
        tests[i].initial_state = &fx[i];
    }
    int rc = _cmocka_run_group_tests("translate fixtures", tests, n, NULL, NULL);
    free(tests);
    free(fx);
    return rc;
}
