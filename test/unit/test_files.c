/* test_files.c — unit tests for lib/files.c: calendar days (parse, format,
 * arithmetic across months, leap years and centuries), layout names, the
 * files of a day in write order, the days of a directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "files.h"
#include "tmpdir.h"


static void test_day_parse_format(void **state)
{
    (void)state;
    day_t d;
    char s[11];
    assert_int_equal(day_parse("2026-11-26", &d), 0);
    assert_int_equal(d.y, 2026); assert_int_equal(d.m, 11); assert_int_equal(d.d, 26);
    day_format(d, s);
    assert_string_equal(s, "2026-11-26");
    assert_int_equal(day_parse("2024-02-29", &d), 0);
    assert_int_equal(day_parse("2023-02-29", &d), -1);
    assert_int_equal(day_parse("1900-02-29", &d), -1);
    assert_int_equal(day_parse("2000-02-29", &d), 0);
    assert_int_equal(day_parse("2026-13-01", &d), -1);
    assert_int_equal(day_parse("2026-04-31", &d), -1);
    assert_int_equal(day_parse("2026-1-01", &d), -1);
    assert_int_equal(day_parse("2026-01-01x", &d), -1);
    assert_int_equal(day_parse("", &d), -1);
    assert_int_equal(day_parse(NULL, &d), -1);
}

static void test_day_add_cmp(void **state)
{
    (void)state;
    day_t d, e;
    char s[11];
    day_parse("2026-12-31", &d);
    day_format(day_add(d, 1), s); assert_string_equal(s, "2027-01-01");
    day_parse("2024-02-28", &d);
    day_format(day_add(d, 1), s); assert_string_equal(s, "2024-02-29");
    day_format(day_add(d, 2), s); assert_string_equal(s, "2024-03-01");
    day_parse("2026-03-01", &d);
    day_format(day_add(d, -1), s); assert_string_equal(s, "2026-02-28");
    day_format(day_add(d, -365), s); assert_string_equal(s, "2025-03-01");
    day_format(day_add(d, 36524), s); assert_string_equal(s, "2126-03-01");
    day_parse("1970-01-01", &d);
    day_format(day_add(d, -1), s); assert_string_equal(s, "1969-12-31");
    day_parse("2026-11-26", &d); day_parse("2026-11-27", &e);
    assert_true(day_cmp(d, e) < 0); assert_true(day_cmp(e, d) > 0); assert_int_equal(day_cmp(d, d), 0);
    /* every day of 400 years round-trips through add */
    day_parse("2000-01-01", &d);
    for (int i = 0; i < 146097; i += 97) {
        day_t x = day_add(d, i), y;
        day_format(x, s);
        assert_int_equal(day_parse(s, &y), 0);
        assert_int_equal(day_cmp(day_add(x, -i), d), 0);
    }
}

static void test_parse_name(void **state)
{
    (void)state;
    file_name_t f;
    assert_int_equal(files_parse_name("26.jsonl", &f), 0);
    assert_int_equal(f.d, 26); assert_int_equal(f.part, FILES_CURRENT);
    assert_int_equal(f.compression, FILES_PLAIN); assert_int_equal(f.encrypted, 0);
    assert_int_equal(files_parse_name("03.12.jsonl.zst", &f), 0);
    assert_int_equal(f.d, 3); assert_int_equal(f.part, 12); assert_int_equal(f.compression, FILES_ZST);
    assert_int_equal(files_parse_name("03.1.jsonl.gz.enc", &f), 0);
    assert_int_equal(f.compression, FILES_GZ); assert_int_equal(f.encrypted, 1);
    assert_int_equal(files_parse_name("03.jsonl.enc", &f), 0);
    assert_int_equal(f.encrypted, 1);
    assert_int_equal(files_parse_name("03.rejects.jsonl", &f), 0);
    assert_int_equal(f.part, FILES_REJECTS);
    assert_int_equal(files_parse_name("03.rejects.jsonl.enc", &f), 0);
    assert_int_equal(files_parse_name("03.rejects.jsonl.zst", &f), -1);
    assert_int_equal(files_parse_name("03.1.jsonl.zst.tmp", &f), -1);
    assert_int_equal(files_parse_name("03.0.jsonl", &f), -1);
    assert_int_equal(files_parse_name("32.jsonl", &f), -1);
    assert_int_equal(files_parse_name("3.jsonl", &f), -1);
    assert_int_equal(files_parse_name("03.json", &f), -1);
    assert_int_equal(files_parse_name(".lock", &f), -1);
}

static void touch(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fclose(f);
}

static void test_files_for_day(void **state)
{
    (void)state;
    char p[512], err[ERRBUF_SIZE];
    snprintf(p, sizeof p, "mkdir -p %s/2026/11 %s/2026/12 %s/2025/02 %s/junk", tmpdir, tmpdir, tmpdir, tmpdir);
    assert_int_equal(system(p), 0);
    touch("2026/11/26.jsonl");
    touch("2026/11/26.2.jsonl.zst");
    touch("2026/11/26.10.jsonl.gz");
    touch("2026/11/26.1.jsonl.zst");
    touch("2026/11/26.3.jsonl");          /* compressed and not: the original wins */
    touch("2026/11/26.3.jsonl.zst");
    touch("2026/11/26.4.jsonl.zst.tmp");  /* not part of the record */
    touch("2026/11/26.rejects.jsonl");
    touch("2026/11/25.jsonl");
    touch("2026/12/01.rejects.jsonl");
    touch("2025/02/28.1.jsonl.zst.enc");
    touch("2026/11/notes.txt");
    day_t d;
    day_parse("2026-11-26", &d);
    char **paths;
    int n = files_for_day(tmpdir, d, &paths, err, sizeof err);
    assert_int_equal(n, 5);
    const char *want[] = { "26.1.jsonl.zst", "26.2.jsonl.zst", "26.3.jsonl", "26.10.jsonl.gz", "26.jsonl" };
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/2026/11/%s", tmpdir, want[i]);
        assert_string_equal(paths[i], p);
    }
    files_free(paths, n);
    day_parse("2026-11-24", &d);
    assert_int_equal(files_for_day(tmpdir, d, &paths, err, sizeof err), 0);
    assert_null(paths);
    day_parse("2027-01-01", &d);          /* no such folder */
    assert_int_equal(files_for_day(tmpdir, d, &paths, err, sizeof err), 0);

    day_t *days;
    n = files_list_days(tmpdir, &days, err, sizeof err);
    assert_int_equal(n, 4);
    char s[11];
    const char *wd[] = { "2025-02-28", "2026-11-25", "2026-11-26", "2026-12-01" };
    for (int i = 0; i < n; i++) { day_format(days[i], s); assert_string_equal(s, wd[i]); }
    free(days);
    assert_int_equal(files_list_days("/nonexistent", &days, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent"));
}

int main(void)
{
    if (tmpdir_make("test_files") < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_parse_format),
        cmocka_unit_test(test_day_add_cmp),
        cmocka_unit_test(test_parse_name),
        cmocka_unit_test(test_files_for_day),
    };
    return cmocka_run_group_tests_name("files", tests, NULL, tmpdir_remove);
}
