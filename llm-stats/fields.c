/* fields.c — the members of a JSON object that a caller asks for, found
 * without building a tree: values are only delimited (strings by their
 * closing quote, containers by counting brackets outside strings), so a
 * capture line is read at memchr speed and the large values (headers,
 * bodies) are never decoded. Only the structure is checked: a line that
 * is not one object { "key": value, ... } fails; the bytes inside strings
 * and scalars are not validated. */
#include "stats.h"
#include <stdlib.h>
#include <string.h>

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
    return p;
}

/* p at an opening quote: past the closing one, NULL if there is none */
static const char *skip_string(const char *p, const char *e)
{
    const char *start = ++p;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(e - p));
        if (!q) return NULL;
        size_t k = 0;
        while (q - k > start && q[-1 - (ptrdiff_t)k] == '\\') k++;
        if (k % 2 == 0) return q + 1;
        p = q + 1;
    }
}

static const char *skip_value(const char *p, const char *e)
{
    if (p >= e) return NULL;
    if (*p == '"') return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            char c = *p;
            if (c == '"') {
                if (!(p = skip_string(p, e))) return NULL;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if ((c == '}' || c == ']') && --depth == 0) return p + 1;
            p++;
        }
        return NULL;
    }
    const char *s = p;
    while (p < e && !strchr(",}] \t\r\n", *p)) p++;
    return p > s ? p : NULL;
}

int fields_scan(const char *p, size_t n, const char *const *keys, int nkeys, span_t *out)
{
    const char *e = p + n;
    for (int i = 0; i < nkeys; i++) out[i].p = NULL, out[i].n = 0;
    p = ws(p, e);
    if (p >= e || *p != '{') return -1;
    p = ws(p + 1, e);
    if (p < e && *p == '}') return ws(p + 1, e) == e ? 0 : -1;
    for (;;) {
        if (p >= e || *p != '"') return -1;
        const char *k = p + 1, *ke = skip_string(p, e);
        if (!ke) return -1;
        size_t kl = (size_t)(ke - 1 - k);
        p = ws(ke, e);
        if (p >= e || *p != ':') return -1;
        p = ws(p + 1, e);
        const char *v = p;
        if (!(p = skip_value(p, e))) return -1;
        for (int i = 0; i < nkeys; i++)
            if (keys[i][0] == k[0] && strlen(keys[i]) == kl && !memcmp(keys[i], k, kl)) {
                out[i].p = v;
                out[i].n = (size_t)(p - v);
                break;
            }
        p = ws(p, e);
        if (p < e && *p == ',') { p = ws(p + 1, e); continue; }
        if (p < e && *p == '}') return ws(p + 1, e) == e ? 0 : -1;
        return -1;
    }
}

int span_is_string(span_t s) { return s.n >= 2 && s.p[0] == '"'; }

const char *span_intern(strtab_t *t, span_t s)
{
    if (!span_is_string(s) || s.n == 2) return NULL;
    if (!memchr(s.p, '\\', s.n)) return strtab_get(t, s.p + 1, s.n - 2);
    json_t *j = json_loadb(s.p, s.n, JSON_DECODE_ANY, NULL);     /* escapes: let jansson decode */
    const char *r = json_is_string(j) && json_string_length(j)
                  ? strtab_get(t, json_string_value(j), json_string_length(j)) : NULL;
    json_decref(j);
    return r;
}

int64_t span_int(span_t s)
{
    if (!s.n || !(s.p[0] == '-' || (s.p[0] >= '0' && s.p[0] <= '9'))) return -1;
    int64_t v = 0;
    size_t i = s.p[0] == '-';
    for (; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9' || v > (INT64_MAX - 9) / 10) return -1;   /* reals, huge */
        v = v * 10 + (s.p[i] - '0');
    }
    return s.p[0] == '-' ? -1 : v;
}

int span_eq(span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && !memcmp(s.p, lit, n);
}
