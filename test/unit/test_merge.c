/* test_merge.c — unit tests for lib/merge.c: events → exchanges, order,
 * completeness, eviction, the request window, orphans, and the fast line
 * parser (it must build exactly what json_loadb builds, or fall back). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

#define ID1 "01a21744-cef0-7c3e-9a4b-5f1d2e6c8a71"
#define ID2 "01a21744-d0c5-7a01-8f3e-2b7c9d4e1f60"

typedef struct {
    int n;
    char ids[8][40];
    int complete[8], evicted[8];
    size_t nchunks[8], kept[8], other[8];
    int64_t seqs[8][8];
    int64_t request_us[8];
    int has_req[8], has_resp[8], has_end[8];
    int stop_at;
} got_t;

static int cb(void *arg, const merged_t *m)
{
    got_t *g = arg;
    int i = g->n++;
    assert_true(i < 8);
    snprintf(g->ids[i], sizeof g->ids[i], "%s", m->id);
    g->complete[i] = m->complete;
    g->evicted[i] = m->evicted;
    g->nchunks[i] = m->nchunks;
    g->kept[i] = json_array_size(m->chunks);
    g->other[i] = json_array_size(m->other);
    for (size_t k = 0; k < json_array_size(m->chunks) && k < 8; k++)
        g->seqs[i][k] = json_integer_value(json_object_get(json_array_get(m->chunks, k), "seq"));
    g->request_us[i] = m->request_us;
    g->has_req[i] = m->request != NULL;
    g->has_resp[i] = m->response != NULL;
    g->has_end[i] = m->end != NULL;
    return g->stop_at && g->n == g->stop_at ? 7 : 0;
}

static int line(merge_t *m, const char *s)
{
    const char *why;
    return merge_line(m, s, strlen(s), &why);
}

static char *ev(const char *kind, const char *id, const char *extra)
{
    static char b[1024];
    snprintf(b, sizeof b, "{\"v\":1,\"event\":\"%s\",\"id\":\"%s\",\"ts\":\"2026-11-26T09:51:55.120412Z\"%s%s}",
             kind, id, *extra ? "," : "", extra);
    return b;
}

static void test_one_exchange(void **state)
{
    (void)state;
    got_t g = {0};
    merge_opts_t o = { .keep_chunks = 1 };
    merge_t *m = merge_new(&o, cb, &g);
    assert_int_equal(line(m, ev("request", ID1, "\"model\":\"x\"")), 0);
    assert_int_equal(line(m, ev("response", ID1, "\"status\":200")), 0);
    assert_int_equal(line(m, ev("chunk", ID1, "\"seq\":0,\"data\":\"a\"")), 0);
    assert_int_equal(line(m, ev("chunk", ID1, "\"seq\":1,\"data\":\"b\"")), 0);
    assert_int_equal(merge_open(m), 1);
    assert_true(merge_is_open(m, ID1));
    assert_int_equal(g.n, 0);
    assert_int_equal(line(m, ev("end", ID1, "\"chunks\":2")), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], ID1);
    assert_int_equal(g.complete[0], 1);
    assert_int_equal(g.kept[0], 2);
    assert_int_equal(g.nchunks[0], 2);
    assert_int_equal(g.request_us[0], 1795686715120412LL);
    assert_int_equal(merge_open(m), 0);
    assert_false(merge_is_open(m, ID1));
    merge_free(m);
}

static void test_interleaved_and_flush_order(void **state)
{
    (void)state;
    got_t g = {0};
    merge_opts_t o = { .keep_chunks = 1 };
    merge_t *m = merge_new(&o, cb, &g);
    line(m, ev("request", ID1, ""));
    line(m, ev("request", ID2, ""));
    line(m, ev("chunk", ID2, "\"seq\":0"));
    line(m, ev("chunk", ID1, "\"seq\":0"));
    line(m, ev("end", ID2, "\"chunks\":1"));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], ID2);
    line(m, ev("request", "01a21744-0000-7000-8000-000000000003", ""));
    assert_int_equal(merge_flush(m), 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.ids[1], ID1);               /* first seen first */
    assert_int_equal(g.complete[1], 0);               /* no end */
    assert_int_equal(g.has_end[1], 0);
    assert_string_equal(g.ids[2], "01a21744-0000-7000-8000-000000000003");
    merge_free(m);
}

static void test_chunk_order_and_gaps(void **state)
{
    (void)state;
    got_t g = {0};
    merge_opts_t o = { .keep_chunks = 1 };
    merge_t *m = merge_new(&o, cb, &g);
    /* out of order: sorted, still complete */
    line(m, ev("request", ID1, ""));
    line(m, ev("chunk", ID1, "\"seq\":1"));
    line(m, ev("chunk", ID1, "\"seq\":2"));
    line(m, ev("chunk", ID1, "\"seq\":0"));
    line(m, ev("end", ID1, "\"chunks\":3"));
    assert_int_equal(g.complete[0], 1);
    assert_int_equal(g.seqs[0][0], 0);
    assert_int_equal(g.seqs[0][1], 1);
    assert_int_equal(g.seqs[0][2], 2);
    /* a gap: incomplete */
    line(m, ev("request", ID2, ""));
    line(m, ev("chunk", ID2, "\"seq\":0"));
    line(m, ev("chunk", ID2, "\"seq\":2"));
    line(m, ev("end", ID2, "\"chunks\":2"));
    assert_int_equal(g.complete[1], 0);
    /* fewer chunks than end.chunks says (dropped): incomplete */
    line(m, ev("request", ID1, ""));
    line(m, ev("chunk", ID1, "\"seq\":0"));
    line(m, ev("end", ID1, "\"chunks\":2"));
    assert_int_equal(g.complete[2], 0);
    /* no request seen: incomplete */
    line(m, ev("chunk", ID2, "\"seq\":0"));
    line(m, ev("end", ID2, "\"chunks\":1"));
    assert_int_equal(g.complete[3], 0);
    assert_int_equal(g.has_req[3], 0);
    merge_free(m);
}

static void test_without_chunks(void **state)
{
    (void)state;
    got_t g = {0};
    merge_t *m = merge_new(NULL, cb, &g);               /* keep_chunks 0 */
    line(m, ev("request", ID1, ""));
    line(m, ev("chunk", ID1, "\"seq\":1"));
    line(m, ev("chunk", ID1, "\"seq\":0"));
    line(m, ev("feedback", ID1, "\"rating\":1"));
    line(m, ev("end", ID1, "\"chunks\":2"));
    assert_int_equal(g.kept[0], 0);
    assert_int_equal(g.nchunks[0], 2);
    assert_int_equal(g.complete[0], 1);
    assert_int_equal(g.other[0], 1);
    merge_free(m);
}

static void test_eviction(void **state)
{
    (void)state;
    got_t g = {0};
    merge_opts_t o = { .max_open = 2 };
    merge_t *m = merge_new(&o, cb, &g);
    line(m, ev("request", "01a21744-0000-7000-8000-000000000001", ""));
    line(m, ev("request", "01a21744-0000-7000-8000-000000000002", ""));
    assert_int_equal(g.n, 0);
    line(m, ev("request", "01a21744-0000-7000-8000-000000000003", ""));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], "01a21744-0000-7000-8000-000000000001");
    assert_int_equal(g.evicted[0], 1);
    assert_int_equal(g.complete[0], 0);
    assert_int_equal(merge_evicted(m), 1);
    assert_int_equal(merge_open(m), 2);
    merge_free(m);                                       /* frees the open ones */
}

static void test_window_and_orphans(void **state)
{
    (void)state;
    got_t g = {0};
    merge_opts_t o = { .skip_orphans = 1, .from_us = 1795686715000000LL, .to_us = 1795686716000000LL };
    merge_t *m = merge_new(&o, cb, &g);
    /* an orphan: its request was earlier */
    line(m, ev("chunk", ID2, "\"seq\":3"));
    line(m, ev("end", ID2, "\"chunks\":4"));
    assert_int_equal(merge_open(m), 0);
    /* in the window */
    line(m, ev("request", ID1, ""));
    /* outside the window (a later second) */
    line(m, "{\"v\":1,\"event\":\"request\",\"id\":\"" ID2 "\",\"ts\":\"2026-11-26T09:51:56.000000Z\"}");
    line(m, ev("end", ID2, ""));
    line(m, ev("end", ID1, ""));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.ids[0], ID1);
    assert_int_equal(merge_skipped(m), 4);
    merge_free(m);
}

static void test_malformed_and_stop(void **state)
{
    (void)state;
    got_t g = { .stop_at = 1 };
    merge_t *m = merge_new(NULL, cb, &g);
    const char *why = NULL;
    assert_int_equal(merge_line(m, "not json", 8, &why), 0);
    assert_non_null(why);
    assert_int_equal(merge_line(m, "[1,2]", 5, &why), 0);
    assert_non_null(why);
    assert_int_equal(merge_line(m, "{\"v\":1}", 7, &why), 0);
    assert_non_null(why);
    assert_int_equal(merge_line(m, "{\"id\":\"x\",\"event\":\"end\"} x", 27, &why), 0);
    assert_non_null(why);
    assert_int_equal(merge_malformed(m), 4);
    /* the callback's non-zero value comes back */
    line(m, ev("request", ID1, ""));
    assert_int_equal(line(m, ev("end", ID1, "")), 7);
    /* a duplicate request keeps the first */
    line(m, ev("request", ID2, "\"n\":1"));
    line(m, ev("request", ID2, "\"n\":2"));
    assert_int_equal(merge_skipped(m), 1);
    merge_free(m);
}

/* The fast path must give what jansson gives, or fall back to it. */
static void same_as_jansson(const char *s)
{
    const char *why;
    json_t *a = merge_parse_line(s, strlen(s), &why);
    json_t *b = json_loadb(s, strlen(s), JSON_ALLOW_NUL, NULL);
    if (!b || !json_is_object(b)) {
        assert_null(a);
        assert_non_null(why);
    } else {
        assert_non_null(a);
        assert_true(json_equal(a, b));
    }
    json_decref(a);
    json_decref(b);
}

static void test_fast_parser(void **state)
{
    (void)state;
    same_as_jansson("{}");
    same_as_jansson(" { } ");
    same_as_jansson("{\"a\":1,\"b\":-20,\"c\":true,\"d\":false,\"e\":null,\"f\":\"x\"}\r");
    same_as_jansson("{\"data\":\"data: {\\\"a\\\":\\\"\\\\n\\\"}\\n\\n\",\"sse\":true}");
    same_as_jansson("{\"s\":\"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00 \\/ \\b\\f\\r\\t\"}");
    same_as_jansson("{\"s\":\"a\\u0000b\"}");                 /* NUL kept */
    same_as_jansson("{\"s\":\"\\ud83d\"}");                   /* lone surrogate: bad */
    same_as_jansson("{\"s\":\"\\udc00\"}");
    same_as_jansson("{\"s\":\"\xff\"}");                      /* bad UTF-8 */
    same_as_jansson("{\"s\":\"\xc3\"}");
    same_as_jansson("{\"s\":\"\xed\xa0\x80\"}");              /* encoded surrogate */
    same_as_jansson("{\"s\":\"a\tb\"}");                      /* raw control */
    same_as_jansson("{\"s\":\"\\x\"}");
    same_as_jansson("{\"n\":1.5,\"m\":1e3}");                 /* reals: jansson */
    same_as_jansson("{\"n\":01}");
    same_as_jansson("{\"n\":-}");
    same_as_jansson("{\"n\":123456789012345678901234}");
    same_as_jansson("{\"n\":9223372036854775807}");
    same_as_jansson("{\"o\":{\"x\":[1,2]},\"a\":[]}");         /* nested: jansson */
    same_as_jansson("{\"k\\u0041\":1}");                      /* escape in a key */
    same_as_jansson("{\"a\":1,}");
    same_as_jansson("{\"a\" 1}");
    same_as_jansson("{\"a\":1}}");
    same_as_jansson("{\"a\":tru}");
    same_as_jansson("{\"a\":1,\"a\":2}");                     /* last wins */
    same_as_jansson("{\"a\":\"unterminated}");
    same_as_jansson("");
    same_as_jansson("{");
    /* nested values, reals, the shapes of SSE data */
    same_as_jansson("{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,"
                    "\"finish_reason\":null}],\"usage\":{\"a\":[1,[2,[]],{}]}}");
    same_as_jansson("{\"r\":[0.5,-1.25e-3,1E+2,2e308,-0.0,0e0]}");
    same_as_jansson("{\"r\":1.}");
    same_as_jansson("{\"r\":.5}");
    same_as_jansson("{\"r\":1e}");
    same_as_jansson("{\"a\":[1,]}");
    same_as_jansson("{\"a\":[1 2]}");
    same_as_jansson("{\"a\":{\"b\":}}");
    same_as_jansson("{\"a\":[}");
    same_as_jansson("{\"a\" : [ 1 , { \"b\" : \"c\" } ] , \"d\" : { } }");
    char deep[400];
    size_t k = 0;
    k += (size_t)sprintf(deep + k, "{\"a\":");
    for (int i = 0; i < 100; i++) deep[k++] = '[';
    for (int i = 0; i < 100; i++) deep[k++] = ']';
    deep[k++] = '}';
    deep[k] = '\0';
    same_as_jansson(deep);                                   /* deep: jansson */
    buf_t scratch;
    buf_init(&scratch, 0);
    json_t *j = merge_parse_object("{\"x\":[1,2]}", 11, &scratch);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "x")), 2);
    json_decref(j);
    assert_null(merge_parse_object("[1]", 3, &scratch));
    buf_free(&scratch);
}

static int count_cb(void *arg, const merged_t *m)
{
    (void)m;
    (*(int *)arg)++;
    return 0;
}

/* Many exchanges open at once, closed in a scrambled order: the table
 * (growth, deletion with probing) keeps finding every one. */
static void test_many(void **state)
{
    (void)state;
    int n = 0;
    merge_t *m = merge_new(NULL, count_cb, &n);
    char id[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof id, "01a21744-0000-7000-8000-%012d", i);
        line(m, ev("request", id, ""));
    }
    assert_int_equal(merge_open(m), 5000);
    for (int k = 0; k < 5000; k++) {
        int i = (k * 7919) % 5000;                       /* a permutation */
        snprintf(id, sizeof id, "01a21744-0000-7000-8000-%012d", i);
        assert_true(merge_is_open(m, id));
        line(m, ev("end", id, ""));
        assert_false(merge_is_open(m, id));
        assert_int_equal(merge_open(m), (size_t)(4999 - k));
    }
    assert_int_equal(n, 5000);
    merge_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_exchange),
        cmocka_unit_test(test_interleaved_and_flush_order),
        cmocka_unit_test(test_chunk_order_and_gaps),
        cmocka_unit_test(test_without_chunks),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_window_and_orphans),
        cmocka_unit_test(test_malformed_and_stop),
        cmocka_unit_test(test_fast_parser),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
