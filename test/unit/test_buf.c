/* test_buf.c — unit tests for lib/buf.c: appends up to the cap and not
 * past it, consuming from the front, compaction, reset, trim, NUL end. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "buf.h"

static void test_empty(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(buf_len(&b), 0);
    assert_string_equal(buf_ptr(&b), "");
    assert_int_equal(buf_room(&b), 10);
    assert_int_equal(buf_append(&b, NULL, 0), 0);
    assert_null(b.data);
    buf_free(&b);
    buf_free(&b); /* twice is fine */
}

static void test_append_and_cap(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 10);
    assert_int_equal(buf_append_str(&b, "hello"), 0);
    assert_int_equal(buf_append(&b, "12345", 5), 0);
    assert_int_equal(buf_len(&b), 10);
    assert_int_equal(buf_room(&b), 0);
    assert_int_equal(buf_append(&b, "x", 1), -1);      /* full */
    assert_int_equal(buf_len(&b), 10);                 /* nothing appended */
    assert_string_equal(buf_ptr(&b), "hello12345");
    buf_consume(&b, 3);
    assert_int_equal(buf_room(&b), 3);
    assert_int_equal(buf_append(&b, "abcd", 4), -1);   /* all or nothing */
    assert_string_equal(buf_ptr(&b), "lo12345");
    assert_int_equal(buf_append(&b, "abc", 3), 0);
    assert_string_equal(buf_ptr(&b), "lo12345abc");
    assert_int_equal(b.cap, 10);
    assert_true(b.size <= 11);                         /* cap + NUL */
    buf_free(&b);
    assert_int_equal(b.cap, 10);                       /* cap kept */
    assert_int_equal(buf_len(&b), 0);
}

static void test_unlimited_growth(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    char chunk[1000];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 3000; i++)
        assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
    assert_int_equal(buf_len(&b), 3000000);
    assert_int_equal(buf_ptr(&b)[2999999], 'z');
    assert_int_equal(buf_ptr(&b)[3000000], '\0');
    assert_true(buf_room(&b) > 1000000000);
    buf_free(&b);
}

static void test_consume_reset(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "abcdef"), 0);
    buf_consume(&b, 2);
    assert_int_equal(buf_len(&b), 4);
    assert_string_equal(buf_ptr(&b), "cdef");
    buf_consume(&b, 100); /* more than held: empties */
    assert_int_equal(buf_len(&b), 0);
    assert_int_equal(b.off, 0);
    assert_string_equal(buf_ptr(&b), "");
    assert_int_equal(buf_append_str(&b, "xy"), 0);
    char *mem = b.data;
    buf_reset(&b);
    assert_int_equal(buf_len(&b), 0);
    assert_ptr_equal(b.data, mem); /* memory kept */
    assert_string_equal(buf_ptr(&b), "");
    buf_free(&b);
}

static void test_compaction_reuses_memory(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    char chunk[100];
    memset(chunk, 'q', sizeof chunk);
    assert_int_equal(buf_append(&b, chunk, 100), 0);
    size_t size = b.size;
    /* a queue that stays short never needs more memory */
    for (int i = 0; i < 10000; i++) {
        buf_consume(&b, 50);
        assert_int_equal(buf_append(&b, chunk, 50), 0);
        assert_int_equal(buf_len(&b), 100);
    }
    assert_int_equal(b.size, size);
    buf_free(&b);
}

static void test_binary_bytes(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    const char bin[] = {'a', '\0', 'b', '\xff'};
    assert_int_equal(buf_append(&b, bin, 4), 0);
    assert_int_equal(buf_len(&b), 4);
    assert_memory_equal(buf_ptr(&b), bin, 4);
    buf_free(&b);
}

static void test_trim(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    char big[5000];
    memset(big, 'a', sizeof big);
    assert_int_equal(buf_append(&b, big, sizeof big), 0);
    buf_trim(&b, 1024);
    assert_non_null(b.data); /* not empty: kept */
    buf_consume(&b, sizeof big);
    buf_trim(&b, 1 << 20);
    assert_non_null(b.data); /* small enough: kept */
    buf_trim(&b, 1024);
    assert_null(b.data);     /* empty and large: released */
    assert_int_equal(b.size, 0);
    assert_int_equal(buf_append_str(&b, "again"), 0);
    assert_string_equal(buf_ptr(&b), "again");
    buf_free(&b);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(buf_append_str(&b, "ab"), 0);
    assert_int_equal(buf_append(&b, "x", (size_t)-1), -1);
    assert_int_equal(buf_append(&b, "x", (size_t)-2), -1);
    assert_string_equal(buf_ptr(&b), "ab");
    buf_free(&b);
}

static void test_reserve_exact(void **state)
{
    (void)state;
    buf_t b;
    buf_init(&b, 100);
    assert_int_equal(buf_reserve(&b, 1000), -1);      /* past cap */
    assert_int_equal(buf_reserve(&b, 37), 0);
    assert_int_equal(b.size, 38);                     /* exactly, with the NUL */
    assert_string_equal(buf_ptr(&b), "");
    assert_int_equal(buf_append(&b, "0123456789012345678901234567890123456", 37), 0);
    assert_int_equal(b.size, 38);                     /* no growth */
    buf_consume(&b, 30);
    assert_int_equal(buf_reserve(&b, 31), 0);         /* consumed front reclaimed */
    assert_int_equal(b.size, 39);
    assert_string_equal(buf_ptr(&b), "0123456");
    assert_int_equal(buf_reserve(&b, 94), -1);        /* 7 + 94 > cap */
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_append_and_cap),
        cmocka_unit_test(test_unlimited_growth),
        cmocka_unit_test(test_consume_reset),
        cmocka_unit_test(test_compaction_reuses_memory),
        cmocka_unit_test(test_binary_bytes),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_overflow_refused),
        cmocka_unit_test(test_reserve_exact),
    };
    return cmocka_run_group_tests_name("buf", tests, NULL, NULL);
}
