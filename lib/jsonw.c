/* jsonw.c — one JSON object into a buf_t, field by field (see jsonw.h). */
#include <stdio.h>
#include <string.h>
#include "jsonw.h"
#include "capture.h"

static void put(jw_t *w, const char *p, size_t n)
{
    if (!w->fail && buf_append(w->b, p, n) < 0) w->fail = 1;
}

void jw_begin(jw_t *w, buf_t *b)
{
    w->b = b; w->start = buf_len(b); w->n = 0; w->fail = 0;
    put(w, "{", 1);
}

int jw_end(jw_t *w)
{
    put(w, "}\n", 2);
    if (w->fail) { buf_cut(w->b, w->start); return -1; }
    return 0;
}

void jw_key(jw_t *w, const char *key)
{
    size_t kl = strlen(key), need = kl + 3 + (w->n ? 1 : 0);
    if (w->fail) return;
    if (buf_reserve(w->b, need) < 0) { w->fail = 1; return; }   /* ,"key": in one go */
    char *o = w->b->data + w->b->off + w->b->len;
    if (w->n++) *o++ = ',';
    *o++ = '"';
    memcpy(o, key, kl);
    o += kl;
    *o++ = '"';
    *o++ = ':';
    w->b->len += need;
    *o = 0;
}

void jw_value_str(jw_t *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    if (!w->fail) {
        int rc = capture_escape(w->b, s, n);
        if (rc == 1) put(w, "\xef\xbf\xbd", 3);   /* not UTF-8: callers use jw_bytes for such */
        else if (rc < 0) w->fail = 1;
    }
    put(w, "\"", 1);
}

void jw_value_raw(jw_t *w, const char *json, size_t n)
{
    put(w, json, n);
}

void jw_str(jw_t *w, const char *key, const char *s)
{
    jw_key(w, key);
    if (s) jw_value_str(w, s, strlen(s));
    else put(w, "null", 4);
}

void jw_int(jw_t *w, const char *key, long long v)
{
    char num[24], *e = num + sizeof num, *d = e;   /* digits from the right: no printf per number */
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do { *--d = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) *--d = '-';
    jw_key(w, key);
    put(w, d, (size_t)(e - d));
}

void jw_bool(jw_t *w, const char *key, int v)
{
    jw_key(w, key);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw_t *w, const char *key)
{
    jw_key(w, key);
    put(w, "null", 4);
}

void jw_bytes(jw_t *w, const char *key, const char *enc_key, const char *p, size_t n)
{
    jw_key(w, key);
    put(w, "\"", 1);
    int rc = w->fail ? 0 : capture_escape(w->b, p, n);   /* checks UTF-8 as it goes */
    if (rc < 0) w->fail = 1;
    if (rc == 1 && !w->fail && capture_base64(w->b, p, n) < 0) w->fail = 1;
    put(w, "\"", 1);
    if (rc == 1) jw_str(w, enc_key, "base64");
}

int jw_failed(const jw_t *w) { return w->fail; }
