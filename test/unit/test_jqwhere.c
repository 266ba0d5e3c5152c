/* test_jqwhere.c — unit tests for lib/jqwhere.c: a jq program compiled
 * once and run over jansson rows: what passes (neither false nor null),
 * no output, compile and run-time errors with their messages, every JSON
 * type as jq sees it, and reuse across rows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "jqwhere.h"
#include "err.h"

static jqwhere_t *compile_ok(const char *prog)
{
    char err[ERRBUF_SIZE] = "";
    jqwhere_t *w = jqwhere_compile(prog, "--where", err, sizeof err);
    if (!w)
        fail_msg("\"%s\" does not compile: %s", prog, err);
    return w;
}

/* the result of prog over the JSON text row */
static int run(const char *prog, const char *row, char *err, size_t errlen)
{
    jqwhere_t *w = compile_ok(prog);
    json_t *j = json_loads(row, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(j);
    err[0] = 0;
    int r = jqwhere_test(w, j, err, errlen);
    json_decref(j);
    jqwhere_free(w);
    return r;
}

static int pass(const char *prog, const char *row)
{
    char err[ERRBUF_SIZE];
    int r = run(prog, row, err, sizeof err);
    if (r < 0)
        fail_msg("\"%s\" over %s: error %s", prog, row, err);
    return r;
}

static void truthiness(void **state)
{
    (void)state;
    const char *row = "{\"a\":1,\"s\":\"x\",\"n\":null,\"f\":false,\"t\":true,\"z\":0,\"e\":\"\",\"l\":[]}";
    /* only false and null fail; 0, "", [] and {} pass (jq's truth) */
    assert_int_equal(pass(".t", row), 1);
    assert_int_equal(pass(".f", row), 0);
    assert_int_equal(pass(".n", row), 0);
    assert_int_equal(pass(".missing", row), 0);
    assert_int_equal(pass(".z", row), 1);
    assert_int_equal(pass(".e", row), 1);
    assert_int_equal(pass(".l", row), 1);
    assert_int_equal(pass(".", row), 1);
    assert_int_equal(pass(".a == 1 and .s == \"x\"", row), 1);
    assert_int_equal(pass(".a > 1", row), 0);
    /* no output at all does not pass; only the first output counts */
    assert_int_equal(pass("empty", row), 0);
    assert_int_equal(pass("select(.a == 2)", row), 0);
    assert_int_equal(pass("false, true", row), 0);
    assert_int_equal(pass("true, false", row), 1);
}

static void types_as_jq_sees_them(void **state)
{
    (void)state;
    const char *row = "{\"i\":42,\"big\":9007199254740993,\"r\":1.5,\"neg\":-7,\"s\":\"h\\u00e9\\u0000llo\","
                      "\"u\":\"\\ud83d\\ude00\",\"a\":[1,\"two\",null,{\"k\":[true]}],\"o\":{\"x\":{\"y\":\"z\"}}}";
    assert_int_equal(pass(".i == 42 and (.i|type) == \"number\"", row), 1);
    assert_int_equal(pass(".r == 1.5 and .neg == -7", row), 1);
    assert_int_equal(pass(".big > 9007199254740991", row), 1);
    /* strings keep their bytes, an embedded NUL included */
    assert_int_equal(pass(".s | length == 6", row), 1);
    assert_int_equal(pass(".s == \"h\\u00e9\\u0000llo\"", row), 1);
    assert_int_equal(pass(".u | length == 1", row), 1);
    assert_int_equal(pass(".a | length == 4 and .[1] == \"two\" and .[2] == null and .[3].k[0]", row), 1);
    assert_int_equal(pass(".o.x.y == \"z\" and (.o | keys) == [\"x\"]", row), 1);
    assert_int_equal(pass("[.a[] | type] == [\"number\",\"string\",\"null\",\"object\"]", row), 1);
    /* the whole row is the input, not a copy of a part */
    assert_int_equal(pass("keys == [\"a\",\"big\",\"i\",\"neg\",\"o\",\"r\",\"s\",\"u\"]", row), 1);
    /* rows need not be objects */
    assert_int_equal(pass(". == [1,2]", "[1,2]"), 1);
    assert_int_equal(pass(". == \"x\"", "\"x\""), 1);
}

static void compile_errors(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE] = "";
    assert_null(jqwhere_compile(".[", "--where", err, sizeof err));
    if (strncmp(err, "--where: ", 9) != 0 || strlen(err) <= 9)
        fail_msg("message \"%s\"", err);
    err[0] = 0;
    assert_null(jqwhere_compile("nosuchfunction(1)", "--where", err, sizeof err));
    assert_true(strncmp(err, "--where: ", 9) == 0);
    /* without a label: jq's message alone */
    err[0] = 0;
    assert_null(jqwhere_compile(".[", NULL, err, sizeof err));
    assert_true(err[0] && strncmp(err, "--where", 7) != 0 && strncmp(err, ": ", 2) != 0);
}

static void runtime_errors(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE];
    assert_int_equal(run(".a + \"x\"", "{\"a\":1}", err, sizeof err), -1);
    assert_string_equal(err, "--where: number (1) and string (\"x\") cannot be added");
    assert_int_equal(run("error(\"custom\")", "{}", err, sizeof err), -1);
    assert_string_equal(err, "--where: custom");
    /* an error value that is not a string */
    assert_int_equal(run("error({\"a\":1})", "{}", err, sizeof err), -1);
    assert_string_equal(err, "--where: jq error");
    assert_int_equal(run(".[0]", "{\"a\":1}", err, sizeof err), -1);
    assert_true(strncmp(err, "--where: Cannot index object with number", 40) == 0);
    /* an error after a first output does not matter */
    assert_int_equal(run("true, error(\"late\")", "{}", err, sizeof err), 1);
}

static void reuse_across_rows(void **state)
{
    (void)state;
    jqwhere_t *w = compile_ok(".n > 2");
    char err[ERRBUF_SIZE];
    for (int i = 0; i < 1000; i++) {
        json_t *row = json_pack("{s:i}", "n", i % 5);
        assert_int_equal(jqwhere_test(w, row, err, sizeof err), i % 5 > 2);
        json_decref(row);
    }
    /* an error on one row, then rows pass again */
    json_t *bad = json_pack("{s:s}", "n", "text");
    json_t *good = json_pack("{s:i}", "n", 3);
    assert_int_equal(jqwhere_test(w, bad, err, sizeof err), 1);   /* "text" > 2: strings sort after numbers */
    assert_int_equal(jqwhere_test(w, good, err, sizeof err), 1);
    json_decref(bad);
    json_decref(good);
    jqwhere_free(w);

    w = compile_ok(".n + 1 > 2");
    bad = json_pack("{s:{}}", "n");
    assert_int_equal(jqwhere_test(w, bad, err, sizeof err), -1);
    json_decref(bad);
    good = json_pack("{s:i}", "n", 5);
    assert_int_equal(jqwhere_test(w, good, err, sizeof err), 1);
    json_decref(good);
    jqwhere_free(w);
}

static void new_takes_the_row(void **state)
{
    (void)state;
    jqwhere_t *w = compile_ok(".ok");
    char err[ERRBUF_SIZE];
    /* the reference is taken (ASan/valgrind would see a leak otherwise) */
    assert_int_equal(jqwhere_test_new(w, json_pack("{s:b}", "ok", 1), err, sizeof err), 1);
    assert_int_equal(jqwhere_test_new(w, json_pack("{s:b}", "ok", 0), err, sizeof err), 0);
    /* a row that could not be built: memory */
    err[0] = 0;
    assert_int_equal(jqwhere_test_new(w, NULL, err, sizeof err), -1);
    assert_string_equal(err, "out of memory");
    assert_int_equal(jqwhere_test(w, NULL, err, sizeof err), -1);
    jqwhere_free(w);
    jqwhere_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truthiness),
        cmocka_unit_test(types_as_jq_sees_them),
        cmocka_unit_test(compile_errors),
        cmocka_unit_test(runtime_errors),
        cmocka_unit_test(reuse_across_rows),
        cmocka_unit_test(new_takes_the_row),
    };
    return cmocka_run_group_tests_name("jqwhere", tests, NULL, NULL);
}
