/* test_jsonscan.c — unit tests for lib/jsonscan.c: objects accepted and
 * everything else refused (with a reason), the top-level "ts" found, and
 * agreement with jansson on many mutated lines (differential test). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <jansson.h>

#include "jsonscan.h"

static int ok(const char *s) { const char *why; return jsonscan_object(s, strlen(s), NULL, NULL, &why) == 0; }

static void test_accept_refuse(void **state)
{
    (void)state;
    assert_true(ok("{}"));
    assert_true(ok(" {\"a\":1} \r"));
    assert_true(ok("{\"a\":[1,-2.5e+3,0,true,false,null,\"x\",{\"b\":[]}],\"c\":\"\\u00e9\\ud83d\\ude00\\n\"}"));
    assert_true(ok("{\"caf\xc3\xa9\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}"));
    const char *bad[] = { "", " ", "[]", "1", "\"s\"", "null", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}",
        "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":-}", "{\"a\":1e}", "{\"a\":tru}", "{\"a\":\"\\x\"}",
        "{\"a\":\"\\ud800\"}", "{\"a\":\"\\udc00\"}", "{\"a\":\"\\u12g4\"}", "{\"a\":\"\x01\"}", "{} {}", "{}x",
        "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xff\"}",
        "{\"a\":\"unterminated}", "{\"a\":[1,2}", "{\"a\":1]" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = NULL;
        assert_int_equal(jsonscan_object(bad[i], strlen(bad[i]), NULL, NULL, &why), -1);
        assert_non_null(why);
    }
    const char *why;
    assert_int_equal(jsonscan_object("[1]", 3, NULL, NULL, &why), -1);
    assert_string_equal(why, "not a JSON object");
    /* nesting limit */
    char deep[2 * JSONSCAN_MAX_DEPTH + 10];
    size_t n = 0;
    deep[n++] = '{'; deep[n++] = '"'; deep[n++] = 'a'; deep[n++] = '"'; deep[n++] = ':';
    for (int i = 0; i < JSONSCAN_MAX_DEPTH; i++) deep[n++] = '[';
    assert_int_equal(jsonscan_object(deep, n, NULL, NULL, &why), -1);
    assert_string_equal(why, "nested too deep");
}

static void test_ts(void **state)
{
    (void)state;
    const char *ts, *why;
    size_t len;
    const char *s = "{\"x\":{\"ts\":\"inner\"},\"ts\":\"2026-11-26T00:00:00Z\",\"ts\":\"second\"}";
    assert_int_equal(jsonscan_object(s, strlen(s), &ts, &len, &why), 0);
    assert_int_equal(len, 20);
    assert_memory_equal(ts, "2026-11-26T00:00:00Z", 20);
    s = "{\"ts\":5}";
    assert_int_equal(jsonscan_object(s, strlen(s), &ts, &len, &why), 0);
    assert_null(ts);
    s = "{\"t\\u0073\":\"x\",\"tsx\":\"y\"}";
    assert_int_equal(jsonscan_object(s, strlen(s), &ts, &len, &why), 0);
    assert_null(ts);
    s = "{\"ts\":\"a\\\"b\"}";                 /* with escapes: not taken */
    assert_int_equal(jsonscan_object(s, strlen(s), &ts, &len, &why), 0);
    assert_null(ts);
}

/* mutate valid lines at random; jsonscan and jansson agree on every one */
static void test_agrees_with_jansson(void **state)
{
    (void)state;
    const char *seeds[] = {
        "{\"v\":1,\"event\":\"chunk\",\"id\":\"0190\",\"ts\":\"2026-11-26T09:51:55.123456Z\",\"data\":\"{\\\"a\\\":[1,2.5e-3]}\\n\",\"n\":null}",
        "{\"a\":[true,false,{\"b\":\"caf\xc3\xa9 \\u20ac \\ud83d\\ude00\"}],\"c\":-0.0,\"d\":{}}",
        "{\"x\":\"\\t\\r\\n\\b\\f\\/\\\\\",\"y\":[[],[{}]],\"z\":1234567890}",
    };
    const char alphabet[] = "{}[]\":,\\u0123456789.eE+-tfn \xc3\xa9\xff\x01\x7f";
    srand(7);
    char buf[512];
    for (int round = 0; round < 200000; round++) {
        const char *s = seeds[round % 3];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        int muts = 1 + rand() % 3;
        for (int m = 0; m < muts; m++) {
            size_t at = (size_t)rand() % n;
            int op = rand() % 3;
            char c = alphabet[rand() % (sizeof alphabet - 1)];
            if (op == 0) buf[at] = c;
            else if (op == 1 && n < sizeof buf - 1) { memmove(buf + at + 1, buf + at, n - at); buf[at] = c; n++; }
            else if (n > 1) { memmove(buf + at, buf + at + 1, n - at - 1); n--; }
        }
        json_error_t je;
        json_t *j = json_loadb(buf, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        int want = j && json_is_object(j);
        json_decref(j);
        if (!j && (strstr(je.text, "overflow") || strstr(je.text, "too big"))) continue; /* jansson range limits, not JSON */
        const char *why;
        int got = jsonscan_object(buf, n, NULL, NULL, &why) == 0;
        if (want != got) {
            buf[n] = '\0';
            fail_msg("disagree (jansson %d, jsonscan %d) on: %s", want, got, buf);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_refuse),
        cmocka_unit_test(test_ts),
        cmocka_unit_test(test_agrees_with_jansson),
    };
    return cmocka_run_group_tests_name("jsonscan", tests, NULL, NULL);
}
