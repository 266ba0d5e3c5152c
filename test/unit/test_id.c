/* test_id.c — unit tests for lib/id.c: UUIDv7 layout (version, variant,
 * timestamp), strict ordering within the process (same µs, counter carry,
 * clock stepping back), uniqueness, and id_valid. The id state is
 * per-process, so the tests run with times that only go forward except
 * where a step back is the point. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <unistd.h>
#include <sys/wait.h>
#include "clock.h"
#include "id.h"

static uint64_t hex_field(const char *s, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        v = v * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

static uint64_t id_ms(const char *id)
{
    char h[13];
    memcpy(h, id, 8);
    memcpy(h + 8, id + 9, 4);
    return hex_field(h, 12);
}

static unsigned id_rand_a(const char *id) { return (unsigned)hex_field(id + 15, 3); }

static void test_layout(void **state)
{
    (void)state;
    char id[ID_LEN];
    int64_t now = clock_wall_us();
    assert_int_equal(id_new(now, id), 0);
    assert_int_equal(strlen(id), 36);
    assert_true(id_valid(id));
    assert_int_equal(id[8], '-');
    assert_int_equal(id[13], '-');
    assert_int_equal(id[18], '-');
    assert_int_equal(id[23], '-');
    assert_int_equal(id[14], '7');                    /* version */
    assert_non_null(strchr("89ab", id[19]));          /* variant 10xx */
    for (int i = 0; i < 36; i++)
        assert_true(id[i] == '-' || strchr("0123456789abcdef", id[i]));
    assert_true(id_ms(id) >= (uint64_t)(now / 1000));
    assert_true(id_ms(id) <= (uint64_t)(now / 1000) + 1);
}

static void test_many_layout(void **state)
{
    (void)state;
    char id[ID_LEN];
    int seen_variant[4] = {0};
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(id_new(clock_wall_us(), id), 0);
        assert_int_equal(id[14], '7');
        const char *v = strchr("89ab", id[19]);
        assert_non_null(v);
        seen_variant[v - "89ab"]++;
    }
    /* the two random bits under the variant vary */
    for (int i = 0; i < 4; i++)
        assert_true(seen_variant[i] > 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_ordering_same_microsecond(void **state)
{
    (void)state;
    enum { N = 10000 };
    char (*ids)[ID_LEN] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    int64_t t = clock_wall_us() + 1000000; /* ahead of any earlier id */
    for (int i = 0; i < N; i++)
        assert_int_equal(id_new(t, ids[i]), 0);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    /* 10000 ids in one µs overflow the 12-bit counter: ms must carry */
    assert_int_equal(id_ms(ids[0]), (uint64_t)(t / 1000));
    assert_true(id_ms(ids[N - 1]) > id_ms(ids[0]));
    assert_true(id_ms(ids[N - 1]) <= id_ms(ids[0]) + 3);
    free(ids);
}

static void test_ordering_real_clock_and_unique(void **state)
{
    (void)state;
    enum { N = 10000 };
    char (*ids)[ID_LEN] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < N; i++)
        assert_int_equal(id_new(clock_wall_us(), ids[i]), 0);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) < 0);
    /* unique also as a set, and unique in the random part alone */
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    for (int i = 0; i < N; i++)
        memmove(ids[i], ids[i] + 19, 18);
    for (int i = 0; i < N; i++)
        ids[i][17] = '\0';
    qsort(ids, N, sizeof *ids, cmp_str);
    for (int i = 1; i < N; i++)
        assert_true(strcmp(ids[i - 1], ids[i]) != 0);
    free(ids);
}

static void test_clock_step_back(void **state)
{
    (void)state;
    char a[ID_LEN], b[ID_LEN], c[ID_LEN];
    int64_t t = clock_wall_us() + 5000000;
    assert_int_equal(id_new(t, a), 0);
    assert_int_equal(id_new(t - 3000000, b), 0); /* clock stepped back 3 s */
    assert_true(strcmp(a, b) < 0);
    assert_int_equal(id_ms(b), id_ms(a));
    assert_int_equal(id_rand_a(b), id_rand_a(a) + 1);
    assert_int_equal(id_new(t + 1000, c), 0);    /* time moves on again */
    assert_true(strcmp(b, c) < 0);
    assert_int_equal(id_ms(c), (uint64_t)((t + 1000) / 1000));
}

static void test_sub_ms_fraction(void **state)
{
    (void)state;
    char id[ID_LEN];
    int64_t base = (clock_wall_us() / 1000 + 100000) * 1000; /* a fresh ms */
    assert_int_equal(id_new(base + 500, id), 0);
    assert_int_equal(id_ms(id), (uint64_t)(base / 1000));
    assert_int_equal(id_rand_a(id), 2048); /* 500 µs * 4096 / 1000 */
    assert_int_equal(id_new(base + 999, id), 0);
    assert_int_equal(id_rand_a(id), 4091);
    assert_int_equal(id_new(base + 1000, id), 0);
    assert_int_equal(id_ms(id), (uint64_t)(base / 1000) + 1);
    assert_int_equal(id_rand_a(id), 0);
}

/* Workers fork from one parent: after a fork, parent and child must not
 * hand out the same random bits from a shared batch. */
static void test_fork_distinct(void **state)
{
    (void)state;
    char warm[ID_LEN], a[ID_LEN], b[ID_LEN];
    int64_t t = clock_wall_us();
    assert_int_equal(id_new(t, warm), 0);          /* the batch is now partly used */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c[ID_LEN];
        id_new(t, c);
        ssize_t w = write(fds[1], c, ID_LEN);
        _exit(w == ID_LEN ? 0 : 1);
    }
    assert_int_equal(id_new(t, a), 0);
    assert_int_equal(read(fds[0], b, ID_LEN), ID_LEN);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fds[0]); close(fds[1]);
    /* same time stamp and sequence: the random part must differ */
    assert_string_not_equal(a + 19, b + 19);
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(id_valid("0190d1f2-3a4b-7c5d-8e6f-0123456789ab"));
    assert_true(id_valid("0190D1F2-3A4B-7C5D-8E6F-0123456789AB"));
    assert_true(id_valid("550e8400-e29b-41d4-a716-446655440000")); /* v4 */
    assert_false(id_valid(""));
    assert_false(id_valid(NULL));
    assert_false(id_valid("0190d1f2-3a4b-7c5d-8e6f-0123456789a"));
    assert_false(id_valid("0190d1f2-3a4b-7c5d-8e6f-0123456789abc"));
    assert_false(id_valid("0190d1f2a3a4b-7c5d-8e6f-0123456789ab"));
    assert_false(id_valid("0190d1f2-3a4b-7c5d-8e6f-0123456789ag"));
    assert_false(id_valid("0190d1f23a4b7c5d8e6f0123456789ab"));
    assert_false(id_valid("{0190d1f2-3a4b-7c5d-8e6f-0123456789ab}"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_fork_distinct),
        cmocka_unit_test(test_many_layout),
        cmocka_unit_test(test_ordering_same_microsecond),
        cmocka_unit_test(test_ordering_real_clock_and_unique),
        cmocka_unit_test(test_clock_step_back),
        cmocka_unit_test(test_sub_ms_fraction),
        cmocka_unit_test(test_valid),
    };
    return cmocka_run_group_tests_name("id", tests, NULL, NULL);
}
