/* capture.c — building capture events, masking secrets, escaping bytes. */
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include "capture.h"
#include "clock.h"

json_t *capture_event(const char *kind, const char *id, int64_t wall_us)
{
    char ts[RFC3339_LEN];
    clock_rfc3339(wall_us, ts);
    return json_pack("{s:i, s:s, s:s, s:s}", "v", CAPTURE_VERSION,
                     "event", kind, "id", id, "ts", ts);
}

int capture_utf8_valid(const char *s, size_t n)
{
    if (n == 0) return 1;
    const unsigned char *p = (const unsigned char *)s, *e = p + n;
    while (p < e) {
        unsigned c = *p;
        if (c < 0x80) { p++; continue; }
        size_t k; unsigned min, cp;
        if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if ((size_t)(e - p) <= k) return 0;
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        p += k + 1;
    }
    return 1;
}

int capture_base64(buf_t *out, const char *p, size_t n)
{
    char tmp[4096 + 1];
    /* encode in slices of 3072 input bytes → 4096 output bytes, and the
     * NUL that EVP_EncodeBlock always writes after them */
    while (n > 0) {
        size_t take = n > 3072 ? 3072 : n;
        int len = EVP_EncodeBlock((unsigned char *)tmp, (const unsigned char *)p, (int)take);
        if (len < 0 || buf_append(out, tmp, (size_t)len) < 0) return -1;
        p += take; n -= take;
    }
    return 0;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* the number of '=' ending s[0..n), or -1 when s is not strict base64 */
static int b64_check(const char *s, size_t n)
{
    if (n % 4)
        return -1;
    int pad = n && s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
    for (size_t i = 0; i < n - (size_t)pad; i++)
        if (b64_value((unsigned char)s[i]) < 0)
            return -1;
    return pad;
}

int capture_base64_decode(buf_t *out, const char *s, size_t n)
{
    int pad = b64_check(s, n);
    if (pad < 0)
        return -1;
    char tmp[768];
    size_t t = 0;
    for (size_t i = 0; i < n; i += 4) {
        unsigned x = 0;
        for (int k = 0; k < 4; k++)
            x = x << 6 | (s[i + k] == '=' ? 0u : (unsigned)b64_value((unsigned char)s[i + k]));
        size_t take = i + 4 == n ? 3 - (size_t)pad : 3;
        char b[3] = { (char)(x >> 16), (char)(x >> 8), (char)x };
        memcpy(tmp + t, b, take);
        t += take;
        if (t > sizeof tmp - 3) {
            if (buf_append(out, tmp, t))
                return -1;
            t = 0;
        }
    }
    return t && buf_append(out, tmp, t) ? -1 : 0;
}

int capture_set_bytes(json_t *ev, const char *key, const char *enc_key,
                      const char *p, size_t n)
{
    if (capture_utf8_valid(p, n)) {
        json_t *s = json_stringn_nocheck(p, n);
        return s ? json_object_set_new(ev, key, s) : -1;
    }
    buf_t b; buf_init(&b, 0);
    int rc = capture_base64(&b, p, n);
    if (rc == 0) {
        rc = json_object_set_new(ev, key, json_stringn_nocheck(buf_ptr(&b), buf_len(&b)));
        if (rc == 0) rc = json_object_set_new(ev, enc_key, json_string("base64"));
    }
    buf_free(&b);
    return rc;
}

static const char *const secret_headers[] = {
    "authorization", "proxy-authorization", "x-api-key", "api-key",
    "x-goog-api-key", "cookie", "set-cookie", NULL
};

int capture_is_secret(const char *name, size_t len)
{
    for (int i = 0; secret_headers[i]; i++)
        if (strlen(secret_headers[i]) == len && strncasecmp(secret_headers[i], name, len) == 0)
            return 1;
    return 0;
}

/* The masks of the last few secrets seen, per thread: clients send the
 * same key with every request, and a SHA-256 through OpenSSL 3's EVP
 * layer costs more than the rest of the request head's capture. */
#define MASK_CACHE 4
#define MASK_CACHE_MAX 256            /* longer values are not kept */
static _Thread_local struct { size_t len; char value[MASK_CACHE_MAX]; char mask[CAPTURE_MASK_LEN]; }
    mask_cache[MASK_CACHE];
static _Thread_local unsigned mask_next;

void capture_mask(const char *value, size_t len, char out[CAPTURE_MASK_LEN])
{
    for (int i = 0; i < MASK_CACHE; i++)
        if (mask_cache[i].len == len + 1 && !memcmp(mask_cache[i].value, value, len)) {
            memcpy(out, mask_cache[i].mask, CAPTURE_MASK_LEN);
            return;
        }
    unsigned char md[SHA256_DIGEST_LENGTH];
    static const char hex[] = "0123456789abcdef";
    SHA256((const unsigned char *)value, len, md);
    memcpy(out, "[masked sha256:", 15);
    for (int i = 0; i < 6; i++) {
        out[15 + 2 * i] = hex[md[i] >> 4];
        out[16 + 2 * i] = hex[md[i] & 15];
    }
    out[27] = ']';
    out[28] = 0;
    if (len < MASK_CACHE_MAX) {
        unsigned k = mask_next++ % MASK_CACHE;
        memcpy(mask_cache[k].value, value, len);
        memcpy(mask_cache[k].mask, out, CAPTURE_MASK_LEN);
        mask_cache[k].len = len + 1;      /* 0: an empty slot */
    }
}

static json_t *header_value(const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (capture_is_secret(name, nlen)) {
        char m[CAPTURE_MASK_LEN];
        capture_mask(value, vlen, m);
        return json_string(m);
    }
    json_t *s = json_stringn(value, vlen);
    if (s) return s;
    /* not UTF-8 (obs-text): keep the bytes as Latin-1 code points */
    buf_t b; buf_init(&b, 0);
    for (size_t i = 0; i < vlen; i++) {
        unsigned char c = (unsigned char)value[i];
        char u[2];
        if (c < 0x80) { if (buf_append(&b, &value[i], 1) < 0) break; continue; }
        u[0] = (char)(0xC0 | (c >> 6)); u[1] = (char)(0x80 | (c & 0x3F));
        if (buf_append(&b, u, 2) < 0) break;
    }
    s = json_stringn(buf_ptr(&b), buf_len(&b));
    buf_free(&b);
    return s;
}

int capture_add_header(json_t *arr, const char *name, size_t nlen,
                       const char *value, size_t vlen)
{
    json_t *n = json_stringn(name, nlen);
    json_t *v = header_value(name, nlen, value, vlen);
    if (!n || !v) { json_decref(n); json_decref(v); return -1; }
    json_t *pair = json_array();
    json_array_append_new(pair, n);
    json_array_append_new(pair, v);
    return json_array_append_new(arr, pair);
}

static int dump_cb(const char *p, size_t n, void *data)
{
    return buf_append((buf_t *)data, p, n);
}

int capture_dump(const json_t *ev, buf_t *out)
{
    size_t before = buf_len(out);
    if (json_dump_callback(ev, dump_cb, out, JSON_COMPACT) < 0 ||
        buf_append(out, "\n", 1) < 0) {
        buf_cut(out, before); /* never leave half a line */
        return -1;
    }
    return 0;
}

/* Eight bytes at once: nonzero when one of them is not plain printable
 * ASCII that JSON takes as it is (a control, '"', '\\', or >= 0x80). */
static inline uint64_t word_needs_care(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
    return (v | ((v - ones * 0x20) & ~v) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high;
}

int capture_escape(buf_t *out, const char *s, size_t n)
{
    /* one pass: escape, and check UTF-8 on the way (no overlongs, no
     * surrogates, nothing past U+10FFFF); plain runs are copied whole,
     * escapes written in place, room reserved for what is left at once */
    static const char hex[] = "0123456789abcdef";
    size_t before = buf_len(out);
    const unsigned char *p = (const unsigned char *)s, *end = p + n, *run = p;
    char *o = NULL, *olim = NULL;   /* write position in out, end of its room */
#define ROOM(need) do { \
        if (!o || (size_t)(olim - o) < (need)) { \
            if (o) out->len = (size_t)(o - (out->data + out->off)); \
            size_t want_ = (need) + (size_t)(end - p) + (size_t)(end - p) / 4 + 16; \
            if (buf_reserve(out, want_) < 0 && buf_reserve(out, (need)) < 0) goto full; \
            o = out->data + out->off + out->len; olim = out->data + out->size - 1; \
        } } while (0)
    while (p < end) {
        while (end - p >= 8) {
            uint64_t v, m;
            memcpy(&v, p, 8);
            if ((m = word_needs_care(v))) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
                p += __builtin_ctzll(m) >> 3;   /* the lowest flag is exact (borrows only go up) */
#endif
                break;
            }
            p += 8;
        }
        if (p >= end) break;
        unsigned c = *p;
        if (c >= 0x80) {
            size_t k; unsigned min, cp;
            if ((c & 0xE0) == 0xC0) { k = 1; cp = c & 0x1F; min = 0x80; }
            else if ((c & 0xF0) == 0xE0) { k = 2; cp = c & 0x0F; min = 0x800; }
            else if ((c & 0xF8) == 0xF0) { k = 3; cp = c & 0x07; min = 0x10000; }
            else goto invalid;
            if ((size_t)(end - p) <= k) goto invalid;
            for (size_t i = 1; i <= k; i++) {
                if ((p[i] & 0xC0) != 0x80) goto invalid;
                cp = (cp << 6) | (p[i] & 0x3F);
            }
            if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto invalid;
            p += k + 1;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') { p++; continue; }
        /* the run before it, then the escape */
        size_t rl = (size_t)(p - run);
        char e2 = c == '"' ? '"' : c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' :
                  c == '\t' ? 't' : c == '\b' ? 'b' : c == '\f' ? 'f' : 0;
        ROOM(rl + (e2 ? 2 : 6));
        memcpy(o, run, rl);
        o += rl;
        *o++ = '\\';
        if (e2) *o++ = e2;
        else { *o++ = 'u'; *o++ = '0'; *o++ = '0'; *o++ = hex[c >> 4]; *o++ = hex[c & 15]; }
        p++;
        run = p;
    }
    if (end > run) {
        size_t rl = (size_t)(end - run);
        ROOM(rl);
        memcpy(o, run, rl);
        o += rl;
    }
    if (o) {
        out->len = (size_t)(o - (out->data + out->off));
        out->data[out->off + out->len] = 0;
    }
    return 0;
#undef ROOM
invalid:
    buf_cut(out, before);
    return 1;
full:
    buf_cut(out, before);
    return -1;
}
