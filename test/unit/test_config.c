/* test_config.c — unit tests for lib/config.c: scalar types, lines of
 * values, ${ENV} interpolation and its errors, duplicate keys, YAML
 * syntax errors with lines, anchors/aliases/merge keys, files, and the
 * size and duration parsers (JSON values and flag strings). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static config_t *load_ok(const char *text)
{
    char err[ERRBUF_SIZE] = "unset";
    config_t *c = config_load_string(text, "test.yaml", err, sizeof err);
    if (!c)
        fail_msg("unexpected error: %s", err);
    assert_string_equal(err, "");
    return c;
}

/* Load must fail with exactly this message. */
static void load_err(const char *text, const char *want)
{
    char err[ERRBUF_SIZE] = "";
    config_t *c = config_load_string(text, "test.yaml", err, sizeof err);
    if (c) {
        config_free(c);
        fail_msg("loaded, expected error: %s", want);
    }
    assert_string_equal(err, want);
}

/* Load must fail with a message starting with prefix. */
static void load_err_prefix(const char *text, const char *prefix)
{
    char err[ERRBUF_SIZE] = "";
    config_t *c = config_load_string(text, "test.yaml", err, sizeof err);
    if (c) {
        config_free(c);
        fail_msg("loaded, expected error: %s", prefix);
    }
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, prefix);
}

static json_t *get(const config_t *c, const char *key)
{
    return json_object_get(config_root(c), key);
}

/* ---- types ---- */

static void test_scalar_types(void **state)
{
    (void)state;
    config_t *c = load_ok(
        "int: 42\n"
        "neg: -7\n"
        "plus: +3\n"
        "zero: 0\n"
        "real: 1.5\n"
        "exp: 1e3\n"
        "dot: .5\n"
        "t: true\n"
        "T: TRUE\n"
        "f: False\n"
        "yes: yes\n"
        "no: no\n"
        "n1: null\n"
        "n2: ~\n"
        "n3:\n"
        "s: hello world\n"
        "q1: \"123\"\n"
        "q2: 'true'\n"
        "q3: \"\"\n"
        "tagged: !!str 42\n"
        "big: 99999999999999999999\n"
        "inf: .inf\n"
        "ver: 1.2.3\n"
        "ip: 10.0.0.1\n"
        "hex: 0x1F\n"
        "multi: |\n  line1\n  line2\n");
    json_t *r = config_root(c);
    assert_true(json_is_object(r));
    assert_true(json_is_integer(get(c, "int")));
    assert_int_equal(json_integer_value(get(c, "int")), 42);
    assert_int_equal(json_integer_value(get(c, "neg")), -7);
    assert_int_equal(json_integer_value(get(c, "plus")), 3);
    assert_int_equal(json_integer_value(get(c, "zero")), 0);
    assert_true(json_is_real(get(c, "real")));
    assert_true(json_real_value(get(c, "real")) == 1.5);
    assert_true(json_real_value(get(c, "exp")) == 1000.0);
    assert_true(json_real_value(get(c, "dot")) == 0.5);
    assert_true(json_is_true(get(c, "t")));
    assert_true(json_is_true(get(c, "T")));
    assert_true(json_is_false(get(c, "f")));
    assert_string_equal(json_string_value(get(c, "yes")), "yes");
    assert_string_equal(json_string_value(get(c, "no")), "no");
    assert_true(json_is_null(get(c, "n1")));
    assert_true(json_is_null(get(c, "n2")));
    assert_true(json_is_null(get(c, "n3")));
    assert_string_equal(json_string_value(get(c, "s")), "hello world");
    assert_string_equal(json_string_value(get(c, "q1")), "123");
    assert_string_equal(json_string_value(get(c, "q2")), "true");
    assert_string_equal(json_string_value(get(c, "q3")), "");
    assert_string_equal(json_string_value(get(c, "tagged")), "42");
    assert_string_equal(json_string_value(get(c, "big")), "99999999999999999999");
    assert_string_equal(json_string_value(get(c, "inf")), ".inf");
    assert_string_equal(json_string_value(get(c, "ver")), "1.2.3");
    assert_string_equal(json_string_value(get(c, "ip")), "10.0.0.1");
    assert_string_equal(json_string_value(get(c, "hex")), "0x1F");
    assert_string_equal(json_string_value(get(c, "multi")), "line1\nline2\n");
    config_free(c);
}

static void test_structure_and_lines(void **state)
{
    (void)state;
    config_t *c = load_ok(
        "# comment\n"                       /* 1 */
        "listen: 127.0.0.1:8080\n"          /* 2 */
        "upstreams:\n"                      /* 3 */
        "  - name: openai\n"                /* 4 */
        "    url: https://api.openai.com\n" /* 5 */
        "    weight: 3\n"                   /* 6 */
        "    tls: true\n"                   /* 7 */
        "  - name: local\n"                 /* 8 */
        "    url: http://localhost:8000\n"  /* 9 */
        "flow: {a: 1, b: [x, y]}\n");       /* 10 */
    assert_string_equal(config_file(c), "test.yaml");
    json_t *r = config_root(c);
    json_t *ups = get(c, "upstreams");
    assert_true(json_is_array(ups));
    assert_int_equal(json_array_size(ups), 2);
    json_t *u0 = json_array_get(ups, 0), *u1 = json_array_get(ups, 1);
    assert_string_equal(json_string_value(json_object_get(u1, "name")), "local");
    assert_int_equal(config_line(c, get(c, "listen")), 2);
    assert_int_equal(config_line(c, ups), 4);
    assert_int_equal(config_line(c, u0), 4);
    assert_int_equal(config_line(c, json_object_get(u0, "url")), 5);
    assert_int_equal(config_line(c, json_object_get(u0, "weight")), 6);
    assert_int_equal(config_line(c, json_object_get(u1, "url")), 9);
    /* the singletons true/false/null: by key or index */
    assert_int_equal(config_line(c, json_object_get(u0, "tls")), 0);
    assert_int_equal(config_key_line(c, u0, "tls"), 7);
    assert_int_equal(config_key_line(c, r, "upstreams"), 3);
    assert_int_equal(config_key_line(c, r, "missing"), 0);
    assert_int_equal(config_index_line(c, ups, 1), 8);
    assert_int_equal(config_index_line(c, ups, 2), 0);
    json_t *flow = get(c, "flow");
    assert_int_equal(json_integer_value(json_object_get(flow, "a")), 1);
    assert_int_equal(config_line(c, json_object_get(flow, "b")), 10);
    /* values not from this config */
    json_t *other = json_string("x");
    assert_int_equal(config_line(c, other), 0);
    json_decref(other);
    assert_int_equal(config_line(c, NULL), 0);
    config_free(c);
}

static void test_json_input(void **state)
{
    (void)state;
    config_t *c = load_ok(
        "{\n"
        "  \"port\": 8080,\n"
        "  \"name\": \"relay\",\n"
        "  \"ratio\": 0.25,\n"
        "  \"on\": true,\n"
        "  \"list\": [1, \"2\", null]\n"
        "}\n");
    assert_int_equal(json_integer_value(get(c, "port")), 8080);
    assert_string_equal(json_string_value(get(c, "name")), "relay");
    assert_true(json_real_value(get(c, "ratio")) == 0.25);
    assert_true(json_is_true(get(c, "on")));
    json_t *l = get(c, "list");
    assert_true(json_is_integer(json_array_get(l, 0)));
    assert_true(json_is_string(json_array_get(l, 1)));
    assert_true(json_is_null(json_array_get(l, 2)));
    assert_int_equal(config_line(c, get(c, "name")), 3);
    config_free(c);
    /* JSON indented with tabs */
    c = load_ok("{\n\t\"a\": 1,\n\t\"b\": [1,\n\t\t2]\n}\n");
    assert_int_equal(json_array_size(get(c, "b")), 2);
    assert_int_equal(config_line(c, get(c, "b")), 3);
    config_free(c);
}

static void test_empty_document(void **state)
{
    (void)state;
    config_t *c = load_ok("");
    assert_true(json_is_object(config_root(c)));
    assert_int_equal(json_object_size(config_root(c)), 0);
    config_free(c);
    c = load_ok("# only a comment\n");
    assert_true(json_is_object(config_root(c)));
    config_free(c);
    c = load_ok("- 1\n- 2\n");
    assert_true(json_is_array(config_root(c)));
    config_free(c);
}

/* ---- interpolation ---- */

static void test_interpolation(void **state)
{
    (void)state;
    setenv("PLLM_T_HOST", "example.com", 1);
    setenv("PLLM_T_PORT", "8443", 1);
    setenv("PLLM_T_EMPTY", "", 1);
    setenv("PLLM_T_BOOL", "TRUE", 1);
    unsetenv("PLLM_T_UNSET");
    config_t *c = load_ok(
        "url: https://${PLLM_T_HOST}:${PLLM_T_PORT}/v1\n"
        "port: ${PLLM_T_PORT}\n"
        "qport: \"${PLLM_T_PORT}\"\n"
        "sq: '${PLLM_T_HOST}'\n"
        "dflt: ${PLLM_T_UNSET:-fallback}\n"
        "dnum: ${PLLM_T_UNSET:-30}\n"
        "dempty: ${PLLM_T_EMPTY:-used}\n"
        "empty: ${PLLM_T_EMPTY}\n"
        "none: ${PLLM_T_UNSET:-}\n"
        "flag: ${PLLM_T_BOOL}\n"
        "dollar: price $$5 and $HOME and $\n"
        "keep_$: ok\n"
        "${PLLM_T_HOST}: key not expanded\n");
    assert_string_equal(json_string_value(get(c, "url")), "https://example.com:8443/v1");
    assert_true(json_is_integer(get(c, "port")));
    assert_int_equal(json_integer_value(get(c, "port")), 8443);
    assert_string_equal(json_string_value(get(c, "qport")), "8443");
    assert_string_equal(json_string_value(get(c, "sq")), "example.com");
    assert_string_equal(json_string_value(get(c, "dflt")), "fallback");
    assert_int_equal(json_integer_value(get(c, "dnum")), 30);
    assert_string_equal(json_string_value(get(c, "dempty")), "used");
    assert_string_equal(json_string_value(get(c, "empty")), "");
    assert_string_equal(json_string_value(get(c, "none")), "");
    assert_true(json_is_true(get(c, "flag")));
    assert_string_equal(json_string_value(get(c, "dollar")), "price $5 and $HOME and $");
    assert_string_equal(json_string_value(get(c, "keep_$")), "ok");
    assert_non_null(get(c, "${PLLM_T_HOST}"));
    config_free(c);
}

static void test_interpolation_errors(void **state)
{
    (void)state;
    unsetenv("PLLM_T_UNDEF_X");
    load_err("a: 1\nb:\n  c: x${PLLM_T_UNDEF_X}y\n",
             "test.yaml:3: undefined environment variable PLLM_T_UNDEF_X");
    load_err("list:\n  - ok\n  - \"${PLLM_T_UNDEF_X}\"\n",
             "test.yaml:3: undefined environment variable PLLM_T_UNDEF_X");
    load_err("a: ${PLLM_T_UNDEF_X\n", "test.yaml:1: unterminated ${ in value");
    load_err("a: ok\nb: ${1BAD}\n", "test.yaml:2: bad variable name in ${1BAD}");
    load_err("a: ${}\n", "test.yaml:1: bad variable name in ${}");
    load_err("a: ${A B}\n", "test.yaml:1: bad variable name in ${A B}");
}

/* ---- errors ---- */

static void test_duplicate_key(void **state)
{
    (void)state;
    load_err("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n",
             "test.yaml:5: duplicate key \"x\" (first on line 3)");
    load_err("a: 1\na: 1\n", "test.yaml:2: duplicate key \"a\" (first on line 1)");
    load_err("{\"k\": 1,\n \"k\": 2}\n", "test.yaml:2: duplicate key \"k\" (first on line 1)");
}

static void test_yaml_syntax_errors(void **state)
{
    (void)state;
    load_err_prefix("a: 1\nb: 2\n  c: 3\n", "test.yaml:3: mapping values are not allowed");
    load_err_prefix("a: [1, 2\nb: 3\n", "test.yaml:");
    load_err_prefix("a:\n\tb: 1\n", "test.yaml:2: found character that cannot start any token");
    load_err_prefix("a: \"unterminated\n", "test.yaml:2: found unexpected end of stream");
    load_err_prefix("a: 1\n---\nb: 2\n", "test.yaml:2: more than one YAML document");
    load_err_prefix("? [a, b]\n: 1\n", "test.yaml:1: mapping keys must be scalars");
    /* invalid UTF-8 */
    load_err_prefix("a: ok\nb: \xff\xfe\n", "test.yaml:2: ");
}

static void test_bad_yaml_error_line_exact(void **state)
{
    (void)state;
    char err[ERRBUF_SIZE];
    config_t *c = config_load_string("ok: 1\nlist:\n  - a\n  - b\n  bad\n", "x.yml", err, sizeof err);
    assert_null(c);
    /* libyaml notices at the next line; the key's line is named too */
    assert_string_equal(err, "x.yml:6: could not find expected ':' "
                             "(while scanning a simple key at line 5)");
    c = config_load_string("a: [1, 2\nb: 3\n", "x.yml", err, sizeof err);
    assert_null(c);
    assert_string_equal(err, "x.yml:2: did not find expected ',' or ']' "
                             "(while parsing a flow sequence at line 1)");
}

/* ---- anchors, aliases, merge keys ---- */

static void test_aliases_and_merge(void **state)
{
    (void)state;
    config_t *c = load_ok(
        "defaults: &d\n"            /* 1 */
        "  timeout: 30s\n"          /* 2 */
        "  retries: 2\n"            /* 3 */
        "  tls: true\n"             /* 4 */
        "a: *d\n"                   /* 5 */
        "b:\n"                      /* 6 */
        "  <<: *d\n"                /* 7 */
        "  retries: 5\n"            /* 8 */
        "name: &n relay\n"          /* 9 */
        "copy: *n\n"                /* 10 */
        "c:\n"                      /* 11 */
        "  <<: [{x: 1, y: 1}, {x: 2, z: 2}]\n");
    json_t *d = get(c, "defaults"), *a = get(c, "a"), *b = get(c, "b");
    assert_true(json_equal(d, a));
    assert_ptr_not_equal(d, a);       /* a deep copy */
    assert_ptr_not_equal(json_object_get(d, "timeout"), json_object_get(a, "timeout"));
    assert_int_equal(config_line(c, json_object_get(a, "retries")), 3);
    assert_int_equal(config_key_line(c, a, "tls"), 4);
    assert_int_equal(json_integer_value(json_object_get(b, "retries")), 5);
    assert_string_equal(json_string_value(json_object_get(b, "timeout")), "30s");
    assert_true(json_is_true(json_object_get(b, "tls")));
    assert_null(json_object_get(b, "<<"));
    assert_int_equal(config_key_line(c, b, "retries"), 8);
    assert_int_equal(config_key_line(c, b, "timeout"), 2);
    assert_string_equal(json_string_value(get(c, "copy")), "relay");
    json_t *cc = get(c, "c");
    assert_int_equal(json_integer_value(json_object_get(cc, "x")), 1); /* first wins */
    assert_int_equal(json_integer_value(json_object_get(cc, "z")), 2);
    assert_int_equal(json_object_size(cc), 3);
    config_free(c);
}

static void test_alias_errors(void **state)
{
    (void)state;
    load_err("a: 1\nb: *nope\n", "test.yaml:2: unknown alias *nope");
    load_err("a: &x [1, *x]\n", "test.yaml:1: unknown alias *x"); /* no cycles */
    load_err("a: &x 1\nb:\n  <<: *x\n",
             "test.yaml:3: merge key << needs a mapping or a list of mappings");
    /* exponential alias expansion is cut off */
    load_err_prefix(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
        "test.yaml:");
}

static void test_deep_nesting_rejected(void **state)
{
    (void)state;
    char text[2000];
    size_t n = 0;
    for (int i = 0; i < 300; i++)
        text[n++] = '[';
    for (int i = 0; i < 300; i++)
        text[n++] = ']';
    text[n] = '\0';
    load_err_prefix(text, "test.yaml:1: nesting deeper than");
}

/* ---- files ---- */

static void test_load_file(void **state)
{
    (void)state;
    char path[] = "/tmp/pllm-config-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "port: 8080\nname: x\nname: y\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char err[ERRBUF_SIZE], want[ERRBUF_SIZE];
    assert_null(config_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s:3: duplicate key \"name\" (first on line 2)", path);
    assert_string_equal(err, want);

    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("port: 8080\n", f);
    fclose(f);
    config_t *c = config_load(path, err, sizeof err);
    assert_non_null(c);
    assert_string_equal(config_file(c), path);
    assert_int_equal(json_integer_value(get(c, "port")), 8080);
    config_free(c);
    unlink(path);

    assert_null(config_load(path, err, sizeof err));
    snprintf(want, sizeof want, "%s: cannot read: No such file or directory", path);
    assert_string_equal(err, want);
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    char err[12];
    assert_null(config_load_string("a: 1\na: 2\n", "test.yaml", err, sizeof err));
    assert_string_equal(err, "test.yaml:2");
    assert_null(config_load_string("a: 1\na: 2\n", "t", NULL, 0));
}

/* ---- sizes and durations ---- */

/* the JSON string's value; the C string form must agree */
static long long size_of_str(const char *s)
{
    json_t *j = json_string(s);
    long long v = config_parse_size(j);
    json_decref(j);
    if (config_size_str(s) != v)
        fail_msg("size \"%s\": config_size_str %lld, config_parse_size %lld", s, config_size_str(s), v);
    return v;
}

static long long ms_of_str(const char *s)
{
    json_t *j = json_string(s);
    long long v = config_parse_duration_ms(j);
    json_decref(j);
    if (config_duration_ms_str(s) != v)
        fail_msg("duration \"%s\": config_duration_ms_str %lld, config_parse_duration_ms %lld", s,
                 config_duration_ms_str(s), v);
    return v;
}

/* the string forms on their own: flag values (-1: refused) */
static void test_string_forms(void **state)
{
    (void)state;
    static const struct { const char *s; long long size, ms; } v[] = {
        { "16MiB", 16777216, -1 }, { "0", 0, 0 }, { "1.5K", 1536, -1 }, { "1.5", -1, 1500 },
        { "250ms", -1, 250 }, { "1h30m", -1, 5400000 }, { "1.5s", -1, 1500 }, { "10", 10, 10000 },
        { "10 s", -1, 10000 }, { "5x", -1, -1 }, { "1m 5", -1, -1 }, { "\xff", -1, -1 }, { "", -1, -1 },
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        if (config_size_str(v[i].s) != v[i].size || config_duration_ms_str(v[i].s) != v[i].ms)
            fail_msg("\"%s\": size %lld, duration %lld ms; want %lld, %lld", v[i].s, config_size_str(v[i].s),
                     config_duration_ms_str(v[i].s), v[i].size, v[i].ms);
    }
    assert_int_equal(config_size_str(NULL), -1);
    assert_int_equal(config_duration_ms_str(NULL), -1);
}

static void test_sizes(void **state)
{
    (void)state;
    struct { const char *s; long long v; } ok[] = {
        {"0", 0}, {"1024", 1024}, {"100B", 100}, {"64k", 65536}, {"64K", 65536},
        {"64KiB", 65536}, {"64kb", 65536}, {"16MiB", 16777216}, {"16M", 16777216},
        {"16 MiB", 16777216}, {"1G", 1073741824}, {"1GiB", 1073741824},
        {"2T", 2199023255552LL}, {"1.5K", 1536}, {"0.5MiB", 524288},
        {"8388607TiB", 9223370937343148032LL},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (size_of_str(ok[i].s) != ok[i].v)
            fail_msg("size \"%s\": got %lld want %lld", ok[i].s, size_of_str(ok[i].s), ok[i].v);
    }
    const char *bad[] = {
        "", "k", "-1", "-1K", "+1K", "1X", "1KiBs", "1 K B", " 1K", "1K ", "1.5",
        "1..5K", "1e3", "0x10", "8388608TiB", "99999999999999999999", "16 MiB!",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (size_of_str(bad[i]) != -1)
            fail_msg("size \"%s\" accepted as %lld", bad[i], size_of_str(bad[i]));
    }
    json_t *j = json_integer(1048576);
    assert_int_equal(config_parse_size(j), 1048576);
    json_decref(j);
    j = json_integer(-5);
    assert_int_equal(config_parse_size(j), -1);
    json_decref(j);
    j = json_real(1.5);
    assert_int_equal(config_parse_size(j), -1);
    json_decref(j);
    assert_int_equal(config_parse_size(json_true()), -1);
    assert_int_equal(config_parse_size(NULL), -1);
}

static void test_sizes_from_yaml(void **state)
{
    (void)state;
    config_t *c = load_ok("a: 16MiB\nb: 4096\nc: -1\n");
    assert_int_equal(config_parse_size(get(c, "a")), 16777216);
    assert_int_equal(config_parse_size(get(c, "b")), 4096);
    assert_int_equal(config_parse_size(get(c, "c")), -1);
    config_free(c);
}

static void test_durations(void **state)
{
    (void)state;
    struct { const char *s; long long v; } ok[] = {
        {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"1h", 3600000},
        {"1.5s", 1500}, {"0.25s", 250}, {"2d", 172800000}, {"1h30m", 5400000},
        {"1m30s500ms", 90500}, {"10", 10000}, {"0.5", 500}, {"0s", 0},
        {"30 s", 30000}, {"4.35s", 4350}, {"1.9ms", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (ms_of_str(ok[i].s) != ok[i].v)
            fail_msg("duration \"%s\": got %lld want %lld", ok[i].s, ms_of_str(ok[i].s), ok[i].v);
    }
    const char *bad[] = {
        "", "s", "-1s", "+1s", "1x", "1sec", "1mo", "1h30", "1.2.3s", "ms",
        " 1s", "1s ", "99999999999999999999s", "106751991168d", "1e3s",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ms_of_str(bad[i]) != -1)
            fail_msg("duration \"%s\" accepted as %lld", bad[i], ms_of_str(bad[i]));
    }
    json_t *j = json_integer(10);
    assert_int_equal(config_parse_duration_ms(j), 10000);
    json_decref(j);
    j = json_real(1.5);
    assert_int_equal(config_parse_duration_ms(j), 1500);
    json_decref(j);
    j = json_real(0.0001);
    assert_int_equal(config_parse_duration_ms(j), 0);
    json_decref(j);
    j = json_integer(-1);
    assert_int_equal(config_parse_duration_ms(j), -1);
    json_decref(j);
    j = json_real(-0.5);
    assert_int_equal(config_parse_duration_ms(j), -1);
    json_decref(j);
    j = json_integer(9223372036854775807LL);
    assert_int_equal(config_parse_duration_ms(j), -1);
    json_decref(j);
    j = json_real(1e300);
    assert_int_equal(config_parse_duration_ms(j), -1);
    json_decref(j);
    assert_int_equal(config_parse_duration_ms(json_null()), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalar_types),
        cmocka_unit_test(test_structure_and_lines),
        cmocka_unit_test(test_json_input),
        cmocka_unit_test(test_empty_document),
        cmocka_unit_test(test_interpolation),
        cmocka_unit_test(test_interpolation_errors),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_yaml_syntax_errors),
        cmocka_unit_test(test_bad_yaml_error_line_exact),
        cmocka_unit_test(test_aliases_and_merge),
        cmocka_unit_test(test_alias_errors),
        cmocka_unit_test(test_deep_nesting_rejected),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_sizes_from_yaml),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_string_forms),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
