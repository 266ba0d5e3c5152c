/* merge.c — capture events → exchanges (see merge.h).
 * The open exchanges live in a hash table by id (open addressing, linear
 * probing, backward-shift deletion) and on a list in the order their first
 * event arrived, which is the order merge_flush and max_open eviction use.
 * Chunk events are by far the most numerous lines of a capture, and each
 * holds another JSON text (the SSE event's data), so lines are parsed into
 * jansson values by a parser of our own that is several times faster than
 * json_loadb: one pass over the bytes, strings unescaped into a scratch
 * buffer; anything unusual (escapes in keys, invalid UTF-8, huge numbers,
 * deep nesting, bad syntax) is handed to json_loadb, which then decides. */
#include "merge.h"
#include "hash.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "capture.h"
#include "clock.h"

#define DEFAULT_MAX_OPEN 1000000

typedef struct ent {
    merged_t m;
    char *id;
    uint64_t hash;
    struct ent *prev, *next;      /* arrival order */
    int64_t next_seq;             /* the seq expected next */
    int64_t max_seq;
    int in_order;                 /* every chunk came with the expected seq */
} ent_t;

struct merge {
    merge_opts_t o;
    merge_cb cb;
    void *arg;
    ent_t **tab;                  /* open addressing; NULL = empty */
    size_t tabsize, count;
    ent_t *head, *tail;
    uint64_t malformed, skipped, evicted;
    buf_t tmp;                    /* merge_line's scratch for strings */
};

static uint64_t hash_id(const char *s)
{
    return hash_fnv1a(s, strlen(s));
}

merge_t *merge_new(const merge_opts_t *o, merge_cb cb, void *arg)
{
    merge_t *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (o)
        m->o = *o;
    if (!m->o.max_open)
        m->o.max_open = DEFAULT_MAX_OPEN;
    m->cb = cb;
    m->arg = arg;
    m->tabsize = 64;
    m->tab = calloc(m->tabsize, sizeof *m->tab);
    if (!m->tab) {
        free(m);
        return NULL;
    }
    return m;
}

static size_t slot_of(const merge_t *m, const char *id, uint64_t h)
{
    size_t mask = m->tabsize - 1, i = (size_t)h & mask;
    while (m->tab[i] && (m->tab[i]->hash != h || strcmp(m->tab[i]->id, id)))
        i = (i + 1) & mask;
    return i;
}

static ent_t *find(const merge_t *m, const char *id)
{
    return m->tab[slot_of(m, id, hash_id(id))];
}

int merge_is_open(const merge_t *m, const char *id) { return find(m, id) != NULL; }

static int grow(merge_t *m)
{
    size_t n = m->tabsize * 2;
    ent_t **t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < m->tabsize; i++) {
        ent_t *e = m->tab[i];
        if (!e)
            continue;
        size_t j = (size_t)e->hash & (n - 1);
        while (t[j])
            j = (j + 1) & (n - 1);
        t[j] = e;
    }
    free(m->tab);
    m->tab = t;
    m->tabsize = n;
    return 0;
}

/* Remove e from the table (backward-shift deletion) and the list. */
static void unlink_ent(merge_t *m, ent_t *e)
{
    size_t mask = m->tabsize - 1, i = slot_of(m, e->id, e->hash);
    m->tab[i] = NULL;
    for (size_t j = (i + 1) & mask; m->tab[j]; j = (j + 1) & mask) {
        size_t home = (size_t)m->tab[j]->hash & mask;
        /* move tab[j] into the hole when its home is not in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->tab[i] = m->tab[j];
            m->tab[j] = NULL;
            i = j;
        }
    }
    if (e->prev) e->prev->next = e->next; else m->head = e->next;
    if (e->next) e->next->prev = e->prev; else m->tail = e->prev;
    m->count--;
}

static void free_ent(ent_t *e)
{
    json_decref(e->m.request);
    json_decref(e->m.response);
    json_decref(e->m.end);
    json_decref(e->m.chunks);
    json_decref(e->m.other);
    free(e->id);
    free(e);
}

static ent_t *open_ent(merge_t *m, const char *id)
{
    if ((m->count + 1) * 4 > m->tabsize * 3 && grow(m))
        return NULL;
    ent_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->id = strdup(id);
    e->m.chunks = json_array();
    e->m.other = json_array();
    if (!e->id || !e->m.chunks || !e->m.other) {
        free_ent(e);
        return NULL;
    }
    e->m.id = e->id;
    e->hash = hash_id(id);
    e->in_order = 1;
    e->max_seq = -1;
    m->tab[slot_of(m, id, e->hash)] = e;
    e->prev = m->tail;
    if (m->tail) m->tail->next = e; else m->head = e;
    m->tail = e;
    m->count++;
    return e;
}

static int64_t seq_of(const json_t *ev)
{
    const json_t *s = json_object_get(ev, "seq");
    return json_is_integer(s) ? (int64_t)json_integer_value(s) : -1;
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = seq_of(*(json_t *const *)a), y = seq_of(*(json_t *const *)b);
    return x < y ? -1 : x > y;
}

/* Put the kept chunks in seq order (stable for equal seqs). */
static int sort_chunks(ent_t *e)
{
    size_t n = json_array_size(e->m.chunks);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(e->m.chunks, i));
    /* insertion sort: stable, and captures are nearly sorted */
    for (size_t i = 1; i < n; i++) {
        json_t *x = v[i];
        size_t j = i;
        while (j > 0 && by_seq(&v[j - 1], &x) > 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
    json_array_clear(e->m.chunks);
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(e->m.chunks, v[i]))
            rc = -1;
    free(v);
    return rc;
}

/* Decide complete, hand e to the callback, free it. */
static int deliver(merge_t *m, ent_t *e, int evicted)
{
    unlink_ent(m, e);
    int rc = 0;
    if (!e->in_order && m->o.keep_chunks && sort_chunks(e))
        rc = -1;
    int contiguous;
    if (e->in_order)
        contiguous = 1;
    else if (m->o.keep_chunks) {
        contiguous = 1;
        for (size_t i = 0; i < json_array_size(e->m.chunks); i++)
            if (seq_of(json_array_get(e->m.chunks, i)) != (int64_t)i)
                contiguous = 0;
    } else
        contiguous = e->max_seq + 1 == (int64_t)e->m.nchunks;
    const json_t *want = e->m.end ? json_object_get(e->m.end, "chunks") : NULL;
    e->m.complete = e->m.request && e->m.end && contiguous &&
                    (!json_is_integer(want) || json_integer_value(want) == (json_int_t)e->m.nchunks);
    e->m.evicted = evicted;
    if (!rc && m->cb)
        rc = m->cb(m->arg, &e->m);
    free_ent(e);
    return rc;
}

static int is_kind(const char *k, const char *want) { return strcmp(k, want) == 0; }

int merge_event(merge_t *m, json_t *ev)
{
    const char *id = json_string_value(json_object_get(ev, "id"));
    const char *kind = json_string_value(json_object_get(ev, "event"));
    if (!json_is_object(ev) || !id || !kind) {
        m->malformed++;
        return 0;
    }
    int request = is_kind(kind, "request");
    int64_t ts = 0;
    if (request) {
        const char *s = json_string_value(json_object_get(ev, "ts"));
        if (!s || clock_parse_rfc3339(s, &ts))
            ts = 0;
        if (m->o.to_us > 0 && (ts < m->o.from_us || ts >= m->o.to_us)) {
            m->skipped++;
            return 0;
        }
    }
    ent_t *e = find(m, id);
    if (!e) {
        if (!request && m->o.skip_orphans) {
            m->skipped++;
            return 0;
        }
        if (m->count >= m->o.max_open && m->head) {
            m->evicted++;
            int rc = deliver(m, m->head, 1);
            if (rc)
                return rc;
        }
        if (!(e = open_ent(m, id)))
            return -1;
    }
    if (request) {
        if (e->m.request) {            /* a second request with the same id */
            m->skipped++;
            return 0;
        }
        e->m.request = json_incref(ev);
        e->m.request_us = ts;
    } else if (is_kind(kind, "chunk")) {
        int64_t seq = seq_of(ev);
        if (seq != e->next_seq)
            e->in_order = 0;
        e->next_seq = seq + 1;
        if (seq > e->max_seq)
            e->max_seq = seq;
        e->m.nchunks++;
        if (m->o.keep_chunks && json_array_append(e->m.chunks, ev))
            return -1;
    } else if (is_kind(kind, "response")) {
        if (!e->m.response)
            e->m.response = json_incref(ev);
    } else if (is_kind(kind, "end")) {
        if (!e->m.end)
            e->m.end = json_incref(ev);
        return deliver(m, e, 0);
    } else if (json_array_append(e->m.other, ev))
        return -1;
    return 0;
}

int merge_flush(merge_t *m)
{
    while (m->head) {
        int rc = deliver(m, m->head, 0);
        if (rc)
            return rc;
    }
    return 0;
}

size_t merge_open(const merge_t *m) { return m->count; }
uint64_t merge_malformed(const merge_t *m) { return m->malformed; }
uint64_t merge_skipped(const merge_t *m) { return m->skipped; }
uint64_t merge_evicted(const merge_t *m) { return m->evicted; }

void merge_free(merge_t *m)
{
    if (!m)
        return;
    ent_t *e = m->head;
    while (e) {
        ent_t *n = e->next;
        free_ent(e);
        e = n;
    }
    free(m->tab);
    buf_free(&m->tmp);
    free(m);
}

/* ---- parsing lines ---- */

/* Bytes that end the plain run of a string: '"', '\\', controls, non-ASCII. */
static inline int special(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

static const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static int hexval(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* 1 when one of the 8 bytes in x is special (SWAR: the haszero trick on
 * x ^ '"' and x ^ '\\', hasless for controls, the top bit for non-ASCII). */
static inline int special8(uint64_t x)
{
    const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    uint64_t q = x ^ (lo * '"'), b = x ^ (lo * '\\');
    return (((q - lo) & ~q) | ((b - lo) & ~b) | ((x - lo * 0x20) & ~x) | x) & hi ? 1 : 0;
}

/* A string starting after its opening quote, decoded to d, which has room
 * for e - p bytes (a string never decodes longer than it is written).
 * Returns the byte after the closing quote and *dn, or NULL (fall back). */
static const char *str_fast(const char *p, const char *e, char *d, size_t *dn)
{
    char *d0 = d;
    for (;;) {
        while (e - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            if (special8(x))
                break;
            memcpy(d, p, 8);
            d += 8;
            p += 8;
        }
        if (p >= e)
            return NULL;
        unsigned char c = (unsigned char)*p;
        if (!special(c)) {
            *d++ = *p++;
            continue;
        }
        if (c == '"') {
            *dn = (size_t)(d - d0);
            return p + 1;
        }
        if (c >= 0x80) {                       /* UTF-8: the sequence whole */
            size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
            if ((size_t)(e - p) < k || !capture_utf8_valid(p, k))
                return NULL;
            memcpy(d, p, k);
            d += k;
            p += k;
            continue;
        }
        if (c != '\\' || p + 1 >= e)
            return NULL;                       /* a raw control byte */
        char x = p[1];
        p += 2;
        switch (x) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned u, lo;
            if (e - p < 4 || hexval(p, &u))
                return NULL;
            p += 4;
            if (u >= 0xd800 && u < 0xdc00) {
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u' || hexval(p + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                p += 6;
                u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            } else if (u >= 0xdc00 && u < 0xe000)
                return NULL;                   /* a lone low surrogate */
            if (u < 0x80)
                *d++ = (char)u;
            else if (u < 0x800) {
                *d++ = (char)(0xc0 | (u >> 6));
                *d++ = (char)(0x80 | (u & 0x3f));
            } else if (u < 0x10000) {
                *d++ = (char)(0xe0 | (u >> 12));
                *d++ = (char)(0x80 | ((u >> 6) & 0x3f));
                *d++ = (char)(0x80 | (u & 0x3f));
            } else {
                *d++ = (char)(0xf0 | (u >> 18));
                *d++ = (char)(0x80 | ((u >> 12) & 0x3f));
                *d++ = (char)(0x80 | ((u >> 6) & 0x3f));
                *d++ = (char)(0x80 | (u & 0x3f));
            }
            break;
        }
        default:
            return NULL;
        }
    }
}

/* A number by the JSON grammar → jansson (an integer when it has no
 * fraction or exponent, as jansson does); NULL to fall back (integers too
 * large for json_int_t, reals that overflow). */
static const char *num_fast(const char *p, const char *e, json_t **out)
{
    const char *s = p;
    int neg = 0, real = 0;
    if (p < e && *p == '-') { neg = 1; p++; }
    if (p >= e || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0' && p + 1 < e && p[1] >= '0' && p[1] <= '9')
        return NULL;
    unsigned long long v = 0;
    int digits = 0;
    while (p < e && *p >= '0' && *p <= '9') {
        digits++;
        v = v * 10 + (unsigned)(*p++ - '0');
    }
    if (p < e && *p == '.') {
        real = 1;
        if (++p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        real = 1;
        if (++p < e && (*p == '+' || *p == '-'))
            p++;
        if (p >= e || *p < '0' || *p > '9')
            return NULL;
        while (p < e && *p >= '0' && *p <= '9')
            p++;
    }
    if (!real) {
        if (digits > 18)
            return NULL;
        *out = json_integer(neg ? -(json_int_t)v : (json_int_t)v);
        return *out ? p : NULL;
    }
    char b[64];
    if ((size_t)(p - s) >= sizeof b)
        return NULL;
    memcpy(b, s, (size_t)(p - s));
    b[p - s] = '\0';
    double d = strtod(b, NULL);
    if (isinf(d) || isnan(d))
        return NULL;
    *out = json_real(d);
    return *out ? p : NULL;
}

#define FAST_DEPTH 64

static const char *value_fast(const char *p, const char *e, buf_t *tmp, json_t **out, int depth);

static const char *object_fast(const char *p, const char *e, buf_t *tmp, json_t **out, int depth)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == '}') {
        *out = o;
        return p + 1;
    }
    for (;;) {
        if (p >= e || *p != '"')
            break;
        const char *k = ++p;
        while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20 && (unsigned char)*p < 0x80)
            p++;
        if (p >= e || *p != '"')
            break;
        size_t klen = (size_t)(p - k);
        char key[256];
        if (klen >= sizeof key)
            break;
        memcpy(key, k, klen);
        key[klen] = '\0';
        p = ws(p + 1, e);
        if (p >= e || *p != ':')
            break;
        json_t *v;
        if (!(p = value_fast(ws(p + 1, e), e, tmp, &v, depth)))
            break;
        if (json_object_set_new_nocheck(o, key, v))
            break;
        p = ws(p, e);
        if (p < e && *p == ',') {
            p = ws(p + 1, e);
            continue;
        }
        if (p < e && *p == '}') {
            *out = o;
            return p + 1;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static const char *array_fast(const char *p, const char *e, buf_t *tmp, json_t **out, int depth)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == ']') {
        *out = a;
        return p + 1;
    }
    for (;;) {
        json_t *v;
        if (!(p = value_fast(p, e, tmp, &v, depth)))
            break;
        if (json_array_append_new(a, v))
            break;
        p = ws(p, e);
        if (p < e && *p == ',') {
            p = ws(p + 1, e);
            continue;
        }
        if (p < e && *p == ']') {
            *out = a;
            return p + 1;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

/* One JSON value at p → jansson in *out; the byte after it, or NULL to
 * fall back to jansson's parser. */
static const char *value_fast(const char *p, const char *e, buf_t *tmp, json_t **out, int depth)
{
    if (p >= e)
        return NULL;
    switch (*p) {
    case '"': {
        size_t n;
        if (!(p = str_fast(p + 1, e, tmp->data, &n)))
            return NULL;
        *out = json_stringn_nocheck(tmp->data, n);
        return *out ? p : NULL;
    }
    case '{':
        return depth < FAST_DEPTH ? object_fast(p, e, tmp, out, depth + 1) : NULL;
    case '[':
        return depth < FAST_DEPTH ? array_fast(p, e, tmp, out, depth + 1) : NULL;
    case 't':
        if (e - p < 4 || memcmp(p, "true", 4))
            return NULL;
        *out = json_true();
        return p + 4;
    case 'f':
        if (e - p < 5 || memcmp(p, "false", 5))
            return NULL;
        *out = json_false();
        return p + 5;
    case 'n':
        if (e - p < 4 || memcmp(p, "null", 4))
            return NULL;
        *out = json_null();
        return p + 4;
    default:
        return num_fast(p, e, out);
    }
}

/* A JSON object → jansson without jansson's parser; NULL to fall back.
 * tmp gets room for the longest string the text can hold. */
static json_t *object_whole(const char *p, size_t n, buf_t *tmp)
{
    const char *e = p + n;
    if (tmp->size <= n) {                     /* grow once, keep the memory */
        buf_reset(tmp);
        if (buf_append(tmp, p, n))
            return NULL;
    }
    buf_reset(tmp);
    json_t *o = NULL;
    p = ws(p, e);
    if (p >= e || *p != '{' || !(p = object_fast(p, e, tmp, &o, 1)))
        return NULL;
    if (ws(p, e) != e) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *parse_with(const char *p, size_t n, const char **why, buf_t *tmp)
{
    /* the reason, for the warning that names the line (per thread) */
    static _Thread_local char reason[JSON_ERROR_TEXT_LENGTH + 48];
    json_t *j = object_whole(p, n, tmp);
    const char *r = NULL;
    if (!j) {
        json_error_t je;
        j = json_loadb(p, n, JSON_ALLOW_NUL, &je);
        if (!j) {
            snprintf(reason, sizeof reason, "invalid JSON at column %d: %s", je.column, je.text);
            r = reason;
        } else if (!json_is_object(j)) {
            json_decref(j);
            j = NULL;
            r = "not a JSON object";
        }
    }
    if (why)
        *why = r;
    return j;
}

json_t *merge_parse_object(const char *p, size_t n, buf_t *scratch)
{
    if (scratch)
        return parse_with(p, n, NULL, scratch);
    return merge_parse_line(p, n, NULL);
}

json_t *merge_parse_line(const char *p, size_t n, const char **why)
{
    buf_t tmp;
    buf_init(&tmp, 0);
    json_t *j = parse_with(p, n, why, &tmp);
    buf_free(&tmp);
    return j;
}

int merge_line(merge_t *m, const char *p, size_t n, const char **why)
{
    json_t *j = parse_with(p, n, why, &m->tmp);
    buf_reset(&m->tmp);
    buf_trim(&m->tmp, (size_t)1 << 20);      /* keep no huge scratch */
    if (!j) {
        m->malformed++;
        return 0;
    }
    const char *id = json_string_value(json_object_get(j, "id"));
    const char *kind = json_string_value(json_object_get(j, "event"));
    if ((!id || !kind) && why)
        *why = "no \"id\" or \"event\"";
    int rc = merge_event(m, j);
    json_decref(j);
    return rc;
}
