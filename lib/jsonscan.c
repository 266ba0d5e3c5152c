/* jsonscan.c — is this line one JSON object? (see jsonscan.h) */
#include "jsonscan.h"

#include <stdint.h>
#include <string.h>

typedef struct {
    const unsigned char *p, *end;
    const char *why;
    int depth;
    const char *const *keys;      /* jsonscan_members: top-level names wanted */
    size_t nkeys;
    jsonscan_span_t *spans;
} scan_t;

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

static int bad(scan_t *s, const char *why) { if (!s->why) s->why = why; return -1; }

static void ws(scan_t *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) s->p++;
}

static int hex4(const unsigned char *q, unsigned *v)
{
    unsigned x = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = q[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') d = (c | 0x20) - 'a' + 10;
        else return -1;
        x = x << 4 | d;
    }
    *v = x;
    return 0;
}

/* one UTF-8 sequence starting at p (first byte ≥ 0x80); its length or -1 */
static int utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t left = (size_t)(end - p);
    if (c >= 0xc2 && c <= 0xdf) {
        return left >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : -1;
    }
    if (c >= 0xe0 && c <= 0xef) {
        if (left < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) return -1;
        if (c == 0xe0 && p[1] < 0xa0) return -1;          /* overlong */
        if (c == 0xed && p[1] >= 0xa0) return -1;         /* surrogates */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if (left < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) return -1;
        if (c == 0xf0 && p[1] < 0x90) return -1;          /* overlong */
        if (c == 0xf4 && p[1] >= 0x90) return -1;         /* > U+10FFFF */
        return 4;
    }
    return -1;
}

/* s->p at the opening quote; leaves it after the closing one. *plain: no escapes */
static int string(scan_t *s, int *plain)
{
    const unsigned char *p = s->p + 1, *end = s->end;
    *plain = 1;
    for (;;) {
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
            uint64_t m = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x;
            if (m & HIGHS) break;
            p += 8;
        }
        if (p >= end) return bad(s, "unterminated string");
        unsigned c = *p;
        if (c == '"') { s->p = p + 1; return 0; }
        if (c < 0x20) return bad(s, "control character in a string");
        if (c == '\\') {
            *plain = 0;
            if (end - p < 2) return bad(s, "unterminated string");
            switch (p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                p += 2; continue;
            case 'u': {
                unsigned v;
                if (end - p < 6 || hex4(p + 2, &v) < 0) return bad(s, "bad \\u escape");
                p += 6;
                if (v >= 0xdc00 && v <= 0xdfff) return bad(s, "lone low surrogate escape");
                if (v >= 0xd800 && v <= 0xdbff) {
                    unsigned w;
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &w) < 0 || w < 0xdc00 || w > 0xdfff)
                        return bad(s, "lone high surrogate escape");
                    p += 6;
                }
                continue;
            }
            default:
                return bad(s, "bad escape in a string");
            }
        }
        if (c >= 0x80) {
            int k = utf8_seq(p, end);
            if (k < 0) return bad(s, "invalid UTF-8 in a string");
            p += k;
            continue;
        }
        p++;
    }
}

static int number(scan_t *s)
{
    const unsigned char *p = s->p, *end = s->end;
    if (p < end && *p == '-') p++;
    if (p >= end) return bad(s, "bad number");
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') { while (p < end && *p >= '0' && *p <= '9') p++; }
    else return bad(s, "bad number");
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') return bad(s, "bad number");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || *p < '0' || *p > '9') return bad(s, "bad number");
        while (p < end && *p >= '0' && *p <= '9') p++;
    }
    s->p = p;
    return 0;
}

static int literal(scan_t *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n)) return bad(s, "invalid literal");
    s->p += n;
    return 0;
}

static int value(scan_t *s, const char **ts, size_t *tslen);

static int object(scan_t *s, const char **ts, size_t *tslen)
{
    if (++s->depth > JSONSCAN_MAX_DEPTH) return bad(s, "nested too deep");
    int top = s->depth == 1;
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') { s->p++; s->depth--; return 0; }
    for (;;) {
        if (s->p >= s->end || *s->p != '"') return bad(s, "expected a member name");
        const unsigned char *k = s->p + 1;
        int plain;
        if (string(s, &plain) < 0) return -1;
        int is_ts = top && ts && plain && s->p - k == 3 && k[0] == 't' && k[1] == 's';
        size_t want = (size_t)-1;
        if (top && s->nkeys && plain)
            for (size_t i = 0; i < s->nkeys; i++)
                if ((size_t)(s->p - 1 - k) == strlen(s->keys[i]) && !memcmp(k, s->keys[i], (size_t)(s->p - 1 - k)) &&
                    !s->spans[i].p) { want = i; break; }
        ws(s);
        if (s->p >= s->end || *s->p != ':') return bad(s, "expected ':'");
        s->p++;
        ws(s);
        if (want != (size_t)-1) {
            const unsigned char *v = s->p;
            if (value(s, NULL, NULL) < 0) return -1;
            s->spans[want].p = (const char *)v;
            s->spans[want].n = (size_t)(s->p - v);
        } else if (is_ts && !*ts && s->p < s->end && *s->p == '"') {
            const unsigned char *v = s->p + 1;
            if (string(s, &plain) < 0) return -1;
            if (plain) { *ts = (const char *)v; *tslen = (size_t)(s->p - 1 - v); }
        } else if (value(s, NULL, NULL) < 0) {
            return -1;
        }
        ws(s);
        if (s->p >= s->end) return bad(s, "unterminated object");
        if (*s->p == ',') { s->p++; ws(s); continue; }
        if (*s->p == '}') { s->p++; s->depth--; return 0; }
        return bad(s, "expected ',' or '}'");
    }
}

static int array(scan_t *s)
{
    if (++s->depth > JSONSCAN_MAX_DEPTH) return bad(s, "nested too deep");
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == ']') { s->p++; s->depth--; return 0; }
    for (;;) {
        if (value(s, NULL, NULL) < 0) return -1;
        ws(s);
        if (s->p >= s->end) return bad(s, "unterminated array");
        if (*s->p == ',') { s->p++; ws(s); continue; }
        if (*s->p == ']') { s->p++; s->depth--; return 0; }
        return bad(s, "expected ',' or ']'");
    }
}

static int value(scan_t *s, const char **ts, size_t *tslen)
{
    if (s->p >= s->end) return bad(s, "expected a value");
    int plain;
    switch (*s->p) {
    case '{': return object(s, ts, tslen);
    case '[': return array(s);
    case '"': return string(s, &plain);
    case 't': return literal(s, "true", 4);
    case 'f': return literal(s, "false", 5);
    case 'n': return literal(s, "null", 4);
    default:  return number(s);
    }
}

int jsonscan_object(const char *p, size_t n, const char **ts, size_t *tslen, const char **why)
{
    scan_t s = { (const unsigned char *)p, (const unsigned char *)p + n, NULL, 0, NULL, 0, NULL };
    const char *t = NULL;
    size_t tl = 0;
    ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        if (why) *why = s.p >= s.end ? "empty line" : "not a JSON object";
        return -1;
    }
    if (object(&s, ts ? &t : NULL, &tl) < 0) { if (why) *why = s.why; return -1; }
    ws(&s);
    if (s.p != s.end) { if (why) *why = "text after the object"; return -1; }
    if (ts) { *ts = t; *tslen = tl; }
    return 0;
}

int jsonscan_members(const char *p, size_t n, const char *const *keys, jsonscan_span_t *spans,
                     size_t nkeys, const char **why)
{
    scan_t s = { (const unsigned char *)p, (const unsigned char *)p + n, NULL, 0, keys, nkeys, spans };
    for (size_t i = 0; i < nkeys; i++) { spans[i].p = NULL; spans[i].n = 0; }
    ws(&s);
    if (s.p >= s.end || *s.p != '{') {
        if (why) *why = s.p >= s.end ? "empty" : "not a JSON object";
        return -1;
    }
    if (object(&s, NULL, NULL) < 0) { if (why) *why = s.why; return -1; }
    ws(&s);
    if (s.p != s.end) { if (why) *why = "text after the object"; return -1; }
    return 0;
}
