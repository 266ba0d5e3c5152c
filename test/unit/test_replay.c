/* test_replay.c — unit tests for llm-replay's pure parts: the text
 * similarity, the shape of a response, the --fail-on grammar. The program's
 * sources are not in libpllm.a, so the three files are compiled in here. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../llm-replay/similar.c"
#include "../../llm-replay/shape.c"
#include "../../llm-replay/failon.c"

static double sim(const char *a, const char *b)
{
    return text_similarity(a, strlen(a), b, strlen(b));
}

static void similarity_values(void **state)
{
    (void)state;
    assert_true(sim("", "") == 1.0);
    assert_true(sim("same text", "same text") == 1.0);
    assert_true(sim("abc", "xyz") == 0.0);
    assert_true(sim("a", "b") == 0.0);
    assert_true(sim("", "something") == 0.0);
    /* night: ni ig gh ht; nacht: na ac ch ht → 2·1/8 */
    assert_true(fabs(sim("night", "nacht") - 0.25) < 1e-12);
    /* symmetric, and order of shared passages does not matter much */
    assert_true(sim("w0 w1 w2 w3 w4 ", "w0 w1 w2 ") == sim("w0 w1 w2 ", "w0 w1 w2 w3 w4 "));
    assert_true(sim("the cat sat", "sat the cat") > 0.7);
    /* multisets: a repeated bigram counts as often as it appears */
    assert_true(fabs(sim("aaaa", "aa") - 2.0 * 1 / 4) < 1e-12);
}

static void similarity_utf8(void **state)
{
    (void)state;
    /* code points, not bytes: café/cafe share ca af (2 of 3 each) */
    assert_true(fabs(sim("café", "cafe") - 2.0 * 2 / 6) < 1e-12);
    /* invalid UTF-8 is compared byte by byte without reading past the end */
    const char bad1[] = { 'a', (char)0xc3, 'b' }, bad2[] = { 'a', (char)0xc3, 'c' };
    double s = text_similarity(bad1, 3, bad2, 3);
    assert_true(s > 0.4 && s < 0.6);
    assert_true(text_similarity("\xe2\x82", 2, "\xe2\x82", 2) == 1.0);
}

static char *shape_str(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    char *s = shape_of(j);
    json_decref(j);
    assert_non_null(s);
    return s;
}

static void shapes(void **state)
{
    (void)state;
    char *a = shape_str("{\"b\":[1,2.5,3],\"a\":{\"y\":null,\"x\":\"s\"},\"c\":true}");
    assert_string_equal(a, "{a:{x:s,y:null},b:[n],c:b}");
    /* values and key order do not matter */
    char *b = shape_str("{\"c\":false,\"a\":{\"x\":\"other\",\"y\":null},\"b\":[7]}");
    assert_string_equal(a, b);
    /* a new key, a type change, a mixed array do */
    char *c = shape_str("{\"a\":{\"x\":\"s\",\"y\":\"now a string\"},\"b\":[1],\"c\":true}");
    assert_string_not_equal(a, c);
    char *d = shape_str("[1,\"x\",2,{\"k\":1}]");
    assert_string_equal(d, "[n|s|{k:n}]");
    char *e = shape_str("[]");
    assert_string_equal(e, "[]");
    char *f = shape_of(NULL);
    assert_string_equal(f, "empty");
    free(a); free(b); free(c); free(d); free(e); free(f);
}

static void failon_grammar(void **state)
{
    (void)state;
    failon_t f;
    char err[256];
    assert_int_equal(failon_parse(&f, "status,tools,text<0.9,latency>1.5x", err, sizeof err), 0);
    assert_int_equal(f.kinds, (1u << D_STATUS) | (1u << D_TOOLS));
    assert_true(fabs(f.text_min - 0.9) < 1e-12);
    assert_true(fabs(f.latency_x - 1.5) < 1e-12);
    assert_true(f.ttft_x == 0 && f.tokens_x == 0);
    assert_int_equal(failon_parse(&f, " ttft>2 , tokens>3X ", err, sizeof err), 0);
    assert_true(f.ttft_x == 2 && f.tokens_x == 3 && f.kinds == 0 && f.text_min < 0);
    assert_int_equal(failon_parse(&f, "none", err, sizeof err), 0);
    assert_int_equal(f.kinds, 0);
    assert_int_equal(failon_parse(&f, "all", err, sizeof err), 0);
    failon_t def;
    failon_default(&def);
    assert_int_equal(f.kinds, def.kinds);
    assert_int_equal(def.kinds & (1u << D_ERROR), 0);
    /* mistakes name themselves */
    assert_int_equal(failon_parse(&f, "status,txt", err, sizeof err), -1);
    assert_non_null(strstr(err, "'txt'"));
    assert_int_equal(failon_parse(&f, "text<1.5", err, sizeof err), -1);
    assert_int_equal(failon_parse(&f, "latency>0x", err, sizeof err), -1);
    assert_int_equal(failon_parse(&f, "latency>fast", err, sizeof err), -1);
    assert_int_equal(failon_parse(&f, "error", err, sizeof err), -1);
    assert_int_equal(failon_parse(&f, ",", err, sizeof err), -1);
    assert_int_equal(failon_parse(&f, "", err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(similarity_values),
        cmocka_unit_test(similarity_utf8),
        cmocka_unit_test(shapes),
        cmocka_unit_test(failon_grammar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
