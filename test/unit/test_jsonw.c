/* test_jsonw.c — unit tests for lib/jsonw.c: a line written field by field
 * is one JSON object that jansson reads back with the same values
 * (integers at their limits, escaped strings, null, booleans, bytes that
 * are not UTF-8 as base64), and a full buffer removes the whole line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <jansson.h>

#include "jsonw.h"

static void integers_round_trip(void **state)
{
    (void)state;
    static const long long vals[] = { 0, 1, -1, 9, 10, -10, 123456789, -987654321, 9007199254740993LL,
                                      LLONG_MAX, LLONG_MIN, LLONG_MIN + 1 };
    enum { N = sizeof vals / sizeof *vals };
    buf_t b;
    buf_init(&b, 0);
    jw_t w;
    jw_begin(&w, &b);
    for (int i = 0; i < N; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        jw_int(&w, k, vals[i]);
    }
    assert_int_equal(jw_end(&w), 0);
    json_error_t e;
    json_t *j = json_loadb(buf_ptr(&b), buf_len(&b), 0, &e);
    assert_non_null(j);
    for (int i = 0; i < N; i++) {
        char k[16], want[48];
        snprintf(k, sizeof k, "k%d", i);
        assert_true(json_is_integer(json_object_get(j, k)));
        assert_true(json_integer_value(json_object_get(j, k)) == vals[i]);
        snprintf(want, sizeof want, "\"%s\":%lld", k, vals[i]);   /* the exact text, too */
        assert_non_null(strstr(buf_ptr(&b), want));
    }
    json_decref(j);
    buf_free(&b);
}

static void strings_and_others(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    jw_t w;
    jw_begin(&w, &b);
    jw_str(&w, "s", "a \"quoted\"\n\\ line\x01 é");
    jw_str(&w, "n", NULL);
    jw_bool(&w, "t", 1);
    jw_null(&w, "z");
    jw_bytes(&w, "raw", "raw_encoding", "\xff\xfe", 2);
    assert_int_equal(jw_end(&w), 0);
    assert_int_equal(buf_ptr(&b)[buf_len(&b) - 1], '\n');
    json_t *j = json_loadb(buf_ptr(&b), buf_len(&b), 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "s")), "a \"quoted\"\n\\ line\x01 é");
    assert_true(json_is_null(json_object_get(j, "n")));
    assert_true(json_is_true(json_object_get(j, "t")));
    assert_string_equal(json_string_value(json_object_get(j, "raw")), "//4=");
    assert_string_equal(json_string_value(json_object_get(j, "raw_encoding")), "base64");
    json_decref(j);
    buf_free(&b);
}

static void full_buffer_removes_the_line(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 24);
    assert_int_equal(buf_append(&b, "kept\n", 5), 0);
    jw_t w;
    jw_begin(&w, &b);
    jw_int(&w, "a", 1);
    jw_str(&w, "long", "more than the buffer holds");
    assert_int_equal(jw_end(&w), -1);
    assert_int_equal(buf_len(&b), 5);
    assert_string_equal(buf_ptr(&b), "kept\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_round_trip),
        cmocka_unit_test(strings_and_others),
        cmocka_unit_test(full_buffer_removes_the_line),
    };
    return cmocka_run_group_tests_name("jsonw", tests, NULL, NULL);
}
