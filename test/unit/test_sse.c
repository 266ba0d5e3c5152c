/* test_sse.c — unit tests for lib/sse.c: line ends (CR, LF, CRLF, CRLF
 * split across feeds), fields, comments, BOM, big and oversized events,
 * and the property that the raw bytes of all events plus the remainder
 * rebuild the input exactly for any split of it into feeds. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "sse.h"

/* ---- a collector of delivered events ---- */

typedef struct {
    char *raw, *name, *data, *id;
    size_t raw_len, name_len, data_len, id_len;
    int has_data, has_id, truncated;
} rec_t;

typedef struct {
    rec_t *ev;
    size_t n, size;
    int stop_at; /* stop (return 7) when delivering event number stop_at (1-based) */
    size_t max_piece;
} coll_t;

static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n + 1);
    assert_non_null(d);
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

static int collect(void *arg, const sse_event_t *ev)
{
    coll_t *c = arg;
    if (c->n == c->size) {
        c->size = c->size ? c->size * 2 : 16;
        c->ev = realloc(c->ev, c->size * sizeof *c->ev);
        assert_non_null(c->ev);
    }
    rec_t *r = &c->ev[c->n++];
    r->raw = dup_bytes(ev->raw, ev->raw_len);
    r->raw_len = ev->raw_len;
    r->name = dup_bytes(ev->name, ev->name_len);
    r->name_len = ev->name_len;
    r->data = dup_bytes(ev->data, ev->data_len);
    r->data_len = ev->data_len;
    r->id = dup_bytes(ev->id, ev->id_len);
    r->id_len = ev->id_len;
    r->has_data = ev->has_data;
    r->has_id = ev->has_id;
    r->truncated = ev->truncated;
    if (ev->raw_len > c->max_piece)
        c->max_piece = ev->raw_len;
    return c->stop_at && (int)c->n == c->stop_at ? 7 : 0;
}

static void coll_free(coll_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->ev[i].raw);
        free(c->ev[i].name);
        free(c->ev[i].data);
        free(c->ev[i].id);
    }
    free(c->ev);
    memset(c, 0, sizeof *c);
}

/* Feed s in the given pieces (lens sum to strlen or 0-terminated list). */
static sse_t *feed_all(coll_t *c, size_t max, const char *s, size_t len)
{
    sse_t *p = sse_new(max, collect, c);
    assert_non_null(p);
    assert_int_equal(sse_feed(p, s, len), 0);
    return p;
}

static void assert_raw(const rec_t *r, const char *raw)
{
    assert_int_equal(r->raw_len, strlen(raw));
    assert_memory_equal(r->raw, raw, r->raw_len);
}

/* ---- basic parsing ---- */

static void test_single_lf_event(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "data: hello\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 1);
    assert_raw(&c.ev[0], in);
    assert_string_equal(c.ev[0].data, "hello");
    assert_int_equal(c.ev[0].has_data, 1);
    assert_string_equal(c.ev[0].name, "");
    assert_int_equal(c.ev[0].has_id, 0);
    assert_int_equal(c.ev[0].truncated, 0);
    size_t len;
    sse_remainder(p, &len);
    assert_int_equal(len, 0);
    assert_int_equal(sse_pending(p), 0);
    sse_free(p);
    coll_free(&c);
}

static void test_event_name_and_multiline_data(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "event: first\nevent: message_start\ndata: {\"a\":\ndata:1}\nid: 42\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ev[0].name, "message_start");
    assert_string_equal(c.ev[0].data, "{\"a\":\n1}");
    assert_int_equal(c.ev[0].data_len, 8);
    assert_int_equal(c.ev[0].has_id, 1);
    assert_string_equal(c.ev[0].id, "42");
    sse_free(p);
    coll_free(&c);
}

static void test_value_space_rules(void **state)
{
    (void)state;
    coll_t c = {0};
    /* one space stripped, not two; no colon = empty value; empty data */
    const char *in = "data:x\ndata:  y\ndata\ndata:\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0].data_len, 6);
    assert_memory_equal(c.ev[0].data, "x\n y\n\n", 6);
    sse_free(p);
    coll_free(&c);
}

static void test_data_only_field_without_colon(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = feed_all(&c, 0, "data\n\n", 6);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0].has_data, 1);
    assert_int_equal(c.ev[0].data_len, 0);
    sse_free(p);
    coll_free(&c);
}

static void test_comments_and_unknown_fields(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = ": keep-alive\n\n: note\ndata: a\nretry: 100\nfoo: bar\n:data: no\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 2);
    assert_raw(&c.ev[0], ": keep-alive\n\n");
    assert_int_equal(c.ev[0].has_data, 0);
    assert_int_equal(c.ev[0].data_len, 0);
    assert_int_equal(c.ev[1].has_data, 1);
    assert_string_equal(c.ev[1].data, "a");
    assert_raw(&c.ev[1], ": note\ndata: a\nretry: 100\nfoo: bar\n:data: no\n\n");
    sse_free(p);
    coll_free(&c);
}

static void test_id_with_nul_ignored(void **state)
{
    (void)state;
    coll_t c = {0};
    const char in[] = "id: a\0b\ndata: x\n\n";
    sse_t *p = feed_all(&c, 0, in, sizeof in - 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0].has_id, 0);
    assert_int_equal(c.ev[0].raw_len, sizeof in - 1);
    sse_free(p);
    coll_free(&c);
}

static void test_empty_blank_lines_are_events(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "\ndata: x\n\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 3);
    assert_raw(&c.ev[0], "\n");
    assert_int_equal(c.ev[0].has_data, 0);
    assert_raw(&c.ev[1], "data: x\n\n");
    assert_raw(&c.ev[2], "\n");
    sse_free(p);
    coll_free(&c);
}

/* ---- line ends ---- */

static void test_crlf_events(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "event: e\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 2);
    assert_raw(&c.ev[0], "event: e\r\ndata: 1\r\n\r\n");
    assert_string_equal(c.ev[0].name, "e");
    assert_string_equal(c.ev[0].data, "1");
    assert_raw(&c.ev[1], "data: 2\r\n\r\n");
    sse_free(p);
    coll_free(&c);
}

static void test_cr_only_events(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "data: 1\rdata: 2\r\rdata: 3\r\rx";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 2);
    assert_raw(&c.ev[0], "data: 1\rdata: 2\r\r");
    assert_string_equal(c.ev[0].data, "1\n2");
    assert_raw(&c.ev[1], "data: 3\r\r");
    size_t len;
    const char *rem = sse_remainder(p, &len);
    assert_int_equal(len, 1);
    assert_memory_equal(rem, "x", 1);
    sse_free(p);
    coll_free(&c);
}

static void test_crlf_split_across_feeds(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    /* "data: a\r" | "\n\r" | "\n" : CR LF pairs split across feeds */
    assert_int_equal(sse_feed(p, "data: a\r", 8), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(sse_feed(p, "\n\r", 2), 0);
    assert_int_equal(c.n, 0); /* the blank line's CR may still get its LF */
    assert_int_equal(sse_pending(p), 10);
    assert_int_equal(sse_feed(p, "\n", 1), 0);
    assert_int_equal(c.n, 1);
    assert_raw(&c.ev[0], "data: a\r\n\r\n");
    assert_string_equal(c.ev[0].data, "a");
    /* the LF after a CR line end must not count as a blank line */
    assert_int_equal(sse_feed(p, "data: b\r", 8), 0);
    assert_int_equal(sse_feed(p, "\n", 1), 0);
    assert_int_equal(sse_feed(p, "data: c\n\n", 9), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.ev[1].data, "b\nc");
    assert_raw(&c.ev[1], "data: b\r\ndata: c\n\n");
    sse_free(p);
    coll_free(&c);
}

static void test_blank_cr_then_other_byte(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    assert_int_equal(sse_feed(p, "data: a\n\r", 9), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(sse_feed(p, "data: b\n\n", 9), 0);
    assert_int_equal(c.n, 2);
    assert_raw(&c.ev[0], "data: a\n\r");
    assert_raw(&c.ev[1], "data: b\n\n");
    assert_string_equal(c.ev[1].data, "b");
    sse_free(p);
    coll_free(&c);
}

static void test_finish_delivers_trailing_cr_event(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    assert_int_equal(sse_feed(p, "data: z\r\r", 9), 0);
    assert_int_equal(c.n, 0);
    size_t len;
    sse_remainder(p, &len);
    assert_int_equal(len, 9); /* not yet delivered: still exact as remainder */
    assert_int_equal(sse_finish(p), 0);
    assert_int_equal(c.n, 1);
    assert_raw(&c.ev[0], "data: z\r\r");
    sse_remainder(p, &len);
    assert_int_equal(len, 0);
    assert_int_equal(sse_finish(p), 0); /* idempotent */
    assert_int_equal(c.n, 1);
    sse_free(p);
    coll_free(&c);
}

static void test_finish_keeps_unfinished_event(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    assert_int_equal(sse_feed(p, "data: 1\n\ndata: partial\n", 23), 0);
    assert_int_equal(sse_finish(p), 0);
    assert_int_equal(c.n, 1);
    size_t len;
    const char *rem = sse_remainder(p, &len);
    assert_int_equal(len, 14);
    assert_memory_equal(rem, "data: partial\n", 14);
    assert_int_equal(sse_pending(p), 14);
    sse_free(p);
    coll_free(&c);
}

static void test_bom_at_start(void **state)
{
    (void)state;
    coll_t c = {0};
    const char *in = "\xEF\xBB\xBF" "data: x\n\n\xEF\xBB\xBF" "data: y\n\n";
    sse_t *p = feed_all(&c, 0, in, strlen(in));
    assert_int_equal(c.n, 2);
    assert_raw(&c.ev[0], "\xEF\xBB\xBF" "data: x\n\n");
    assert_int_equal(c.ev[0].has_data, 1);
    assert_string_equal(c.ev[0].data, "x");
    /* only the stream's first BOM is special */
    assert_int_equal(c.ev[1].has_data, 0);
    sse_free(p);
    coll_free(&c);
}

static void test_bom_split_across_feeds(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    assert_int_equal(sse_feed(p, "\xEF", 1), 0);
    assert_int_equal(sse_feed(p, "\xBB\xBF" "da", 4), 0);
    assert_int_equal(sse_feed(p, "ta: x\n\n", 7), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.ev[0].data, "x");
    assert_int_equal(c.ev[0].raw_len, 3 + 9);
    sse_free(p);
    coll_free(&c);
}

/* ---- callbacks, limits ---- */

static void test_callback_stop_value(void **state)
{
    (void)state;
    coll_t c = {0};
    c.stop_at = 2;
    sse_t *p = sse_new(0, collect, &c);
    const char *in = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    assert_int_equal(sse_feed(p, in, strlen(in)), 7);
    assert_int_equal(c.n, 2);
    sse_free(p);
    coll_free(&c);
}

static void test_one_mib_event_fed_in_pieces(void **state)
{
    (void)state;
    size_t big = 1 << 20;
    size_t len = 6 + big + 2;
    char *in = malloc(len);
    assert_non_null(in);
    memcpy(in, "data: ", 6);
    for (size_t i = 0; i < big; i++)
        in[6 + i] = (char)('a' + i % 26);
    memcpy(in + 6 + big, "\n\n", 2);
    coll_t c = {0};
    sse_t *p = sse_new(16u << 20, collect, &c);
    for (size_t off = 0; off < len; off += 4096) {
        size_t n = len - off < 4096 ? len - off : 4096;
        assert_int_equal(sse_feed(p, in + off, n), 0);
    }
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0].raw_len, len);
    assert_memory_equal(c.ev[0].raw, in, len);
    assert_int_equal(c.ev[0].data_len, big);
    assert_memory_equal(c.ev[0].data, in + 6, big);
    assert_int_equal(sse_oversized(p), 0);
    sse_free(p);
    coll_free(&c);
    free(in);
}

static void test_one_mib_event_byte_by_byte(void **state)
{
    (void)state;
    /* quadratic rescanning would make this test take minutes */
    size_t big = 1 << 20;
    coll_t c = {0};
    sse_t *p = sse_new(0, collect, &c);
    assert_int_equal(sse_feed(p, "data: ", 6), 0);
    for (size_t i = 0; i < big; i++)
        assert_int_equal(sse_feed(p, "x", 1), 0);
    assert_int_equal(sse_feed(p, "\r", 1), 0);
    assert_int_equal(sse_feed(p, "\n", 1), 0);
    assert_int_equal(sse_feed(p, "\r", 1), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(sse_feed(p, "\n", 1), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.ev[0].data_len, big);
    assert_int_equal(c.ev[0].raw_len, big + 10);
    sse_free(p);
    coll_free(&c);
}

static void test_oversized_event_pieces(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(100, collect, &c);
    char ev[351];
    memcpy(ev, "data: ", 6);
    memset(ev + 6, 'q', 342);
    memcpy(ev + 348, "\n\n", 2);
    ev[350] = '\0';
    const char *after = "event: ok\ndata: fine\n\n";
    assert_int_equal(sse_feed(p, ev, 350), 0);
    assert_int_equal(sse_feed(p, after, strlen(after)), 0);
    assert_int_equal(c.n, 5);
    size_t sizes[4] = {100, 100, 100, 50}, off = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(c.ev[i].raw_len, sizes[i]);
        assert_memory_equal(c.ev[i].raw, ev + off, sizes[i]);
        assert_int_equal(c.ev[i].truncated, 1);
        assert_int_equal(c.ev[i].has_data, 0);
        assert_int_equal(c.ev[i].data_len, 0);
        off += sizes[i];
    }
    assert_int_equal(sse_oversized(p), 1);
    assert_int_equal(c.ev[4].truncated, 0);
    assert_string_equal(c.ev[4].name, "ok");
    assert_string_equal(c.ev[4].data, "fine");
    sse_free(p);
    coll_free(&c);
}

static void test_event_exactly_max(void **state)
{
    (void)state;
    coll_t c = {0};
    sse_t *p = sse_new(9, collect, &c);
    assert_int_equal(sse_feed(p, "data: x\n\ndata: yy\n\n", 19), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.ev[0].truncated, 0);
    assert_string_equal(c.ev[0].data, "x");
    assert_int_equal(c.ev[1].truncated, 1);
    assert_int_equal(c.ev[1].raw_len, 9);
    assert_int_equal(c.ev[2].truncated, 1);
    assert_raw(&c.ev[2], "\n");
    assert_int_equal(sse_oversized(p), 1);
    sse_free(p);
    coll_free(&c);
}

static void test_oversized_cut_before_lf_of_crlf(void **state)
{
    (void)state;
    /* the cut falls between the CR and LF of the blank line */
    coll_t c = {0};
    sse_t *p = sse_new(10, collect, &c);
    assert_int_equal(sse_feed(p, "data: x\r\n\r", 10), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(sse_feed(p, "\ndata: y\n\n", 10), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.ev[0].raw_len, 10);
    assert_raw(&c.ev[1], "\n");
    assert_int_equal(c.ev[1].truncated, 1);
    assert_string_equal(c.ev[2].data, "y");
    assert_int_equal(c.ev[2].truncated, 0);
    sse_free(p);
    coll_free(&c);
}

/* ---- property: any split gives the same events and exact raw bytes ---- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t random_stream(char *out, size_t cap)
{
    static const char *const parts[] = {
        "data: ", "data:", "data", "event: ", "event:x", "id: 7", "retry: 5",
        ": comment", ":", "x", "{\"a\":1}", " ", "\xEF\xBB\xBF", "\xC3\xA9",
        "\n", "\r", "\r\n", "\n\n", "\r\r", "\r\n\r\n", "\n\r", "\0",
    };
    size_t nparts = sizeof parts / sizeof parts[0];
    size_t len = 0;
    size_t target = rnd() % cap;
    while (len < target) {
        const char *s = parts[rnd() % nparts];
        size_t n = s[0] ? strlen(s) : 1;
        if (len + n > cap)
            break;
        memcpy(out + len, s, n);
        len += n;
    }
    return len;
}

/* Feed in[0..len) in random pieces; check raw concatenation. */
static void run_split(coll_t *c, size_t max, const char *in, size_t len, int mode)
{
    sse_t *p = sse_new(max, collect, c);
    assert_non_null(p);
    size_t off = 0;
    while (off < len) {
        size_t n = mode == 0 ? len : mode == 1 ? 1 : 1 + rnd() % 9;
        if (n > len - off)
            n = len - off;
        assert_int_equal(sse_feed(p, in + off, n), 0);
        off += n;
    }
    assert_int_equal(sse_finish(p), 0);
    size_t rlen, total = 0;
    const char *rem = sse_remainder(p, &rlen);
    char *joined = malloc(len + 1);
    assert_non_null(joined);
    for (size_t i = 0; i < c->n; i++) {
        assert_true(total + c->ev[i].raw_len <= len);
        memcpy(joined + total, c->ev[i].raw, c->ev[i].raw_len);
        total += c->ev[i].raw_len;
        assert_true(c->ev[i].raw_len > 0);
    }
    assert_int_equal(total + rlen, len);
    if (rlen)
        memcpy(joined + total, rem, rlen);
    assert_memory_equal(joined, in, len);
    assert_true(c->max_piece <= max);
    free(joined);
    sse_free(p);
}

static void same_events(const coll_t *a, const coll_t *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const rec_t *x = &a->ev[i], *y = &b->ev[i];
        assert_int_equal(x->raw_len, y->raw_len);
        assert_memory_equal(x->raw, y->raw, x->raw_len);
        assert_int_equal(x->has_data, y->has_data);
        assert_int_equal(x->data_len, y->data_len);
        assert_memory_equal(x->data, y->data, x->data_len);
        assert_int_equal(x->name_len, y->name_len);
        assert_memory_equal(x->name, y->name, x->name_len);
        assert_int_equal(x->has_id, y->has_id);
        assert_int_equal(x->truncated, y->truncated);
    }
}

static void test_property_random_splits(void **state)
{
    (void)state;
    char in[600];
    static const size_t maxes[] = {1 << 20, 64, 7, 1};
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = random_stream(in, sizeof in);
        size_t max = maxes[iter % 4];
        coll_t whole = {0}, bytes = {0}, rand_split = {0};
        run_split(&whole, max, in, len, 0);
        run_split(&bytes, max, in, len, 1);
        run_split(&rand_split, max, in, len, 2);
        same_events(&whole, &bytes);
        same_events(&whole, &rand_split);
        coll_free(&whole);
        coll_free(&bytes);
        coll_free(&rand_split);
    }
}

/* Reference: events of a whole, unsplit stream by a plain re-implementation
 * of the WHATWG rules (no limits), compared with the parser's events. */
static void test_property_against_reference(void **state)
{
    (void)state;
    char in[400];
    for (int iter = 0; iter < 2000; iter++) {
        size_t len = random_stream(in, sizeof in);
        coll_t got = {0};
        run_split(&got, 1 << 20, in, len, 2);
        /* reference split: find blank lines */
        size_t start = 0, i = 0, k = 0, line_start = 0;
        int first = 1;
        while (i < len) {
            if (in[i] != '\r' && in[i] != '\n') {
                i++;
                continue;
            }
            size_t ls = line_start;
            if (first && i - ls >= 3 && memcmp(in + ls, "\xEF\xBB\xBF", 3) == 0)
                ls += 3;
            int blank = i == ls;
            first = 0;
            size_t end = i + 1;
            if (in[i] == '\r' && end < len && in[end] == '\n')
                end++;
            if (blank) {
                assert_true(k < got.n);
                assert_int_equal(got.ev[k].raw_len, end - start);
                assert_memory_equal(got.ev[k].raw, in + start, end - start);
                k++;
                start = end;
            }
            i = line_start = end;
        }
        assert_int_equal(k, got.n);
        coll_free(&got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_lf_event),
        cmocka_unit_test(test_event_name_and_multiline_data),
        cmocka_unit_test(test_value_space_rules),
        cmocka_unit_test(test_data_only_field_without_colon),
        cmocka_unit_test(test_comments_and_unknown_fields),
        cmocka_unit_test(test_id_with_nul_ignored),
        cmocka_unit_test(test_empty_blank_lines_are_events),
        cmocka_unit_test(test_crlf_events),
        cmocka_unit_test(test_cr_only_events),
        cmocka_unit_test(test_crlf_split_across_feeds),
        cmocka_unit_test(test_blank_cr_then_other_byte),
        cmocka_unit_test(test_finish_delivers_trailing_cr_event),
        cmocka_unit_test(test_finish_keeps_unfinished_event),
        cmocka_unit_test(test_bom_at_start),
        cmocka_unit_test(test_bom_split_across_feeds),
        cmocka_unit_test(test_callback_stop_value),
        cmocka_unit_test(test_one_mib_event_fed_in_pieces),
        cmocka_unit_test(test_one_mib_event_byte_by_byte),
        cmocka_unit_test(test_oversized_event_pieces),
        cmocka_unit_test(test_event_exactly_max),
        cmocka_unit_test(test_oversized_cut_before_lf_of_crlf),
        cmocka_unit_test(test_property_random_splits),
        cmocka_unit_test(test_property_against_reference),
    };
    return cmocka_run_group_tests_name("sse", tests, NULL, NULL);
}
