/* redact.c — --redact and --redact-regex: personal data and secrets out of
 * the string values of rows. Built in (in this order): API-key-like
 * strings (OpenAI/Anthropic sk-…, AWS AKIA…, GitHub gh?_…, Slack xox?-…,
 * Google AIza…, JWTs, Bearer tokens) → [REDACTED_KEY]; e-mail addresses →
 * [REDACTED_EMAIL]; card numbers (13–19 digits, spaces or dashes between
 * groups, Luhn-valid) → [REDACTED_CARD]; phone numbers (+country… or
 * North-American (555) 123-4567 forms) → [REDACTED_PHONE]; then each
 * --redact-regex (POSIX extended) → [REDACTED]. A match must not touch
 * letters or digits on either side. Structural fields (role, type, id,
 * tool_call_id, model, signatures, …) are left alone; tool arguments that
 * hold JSON are redacted inside the JSON, so they stay JSON. */
#include "export.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct {
    regex_t re;
    const char *label;
} pat_t;

struct redact {
    pat_t *p;
    int n;
    int cards;
};

static const struct { const char *re, *label; } builtin[] = {
    { "(sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|xox[abposr]-[A-Za-z0-9-]{10,}"
      "|AIza[0-9A-Za-z_-]{35}|eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}"
      "|[Bb]earer [A-Za-z0-9._~+/-]{16,}=*)", "[REDACTED_KEY]" },
    { "[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}", "[REDACTED_EMAIL]" },
    { "(\\+[1-9][0-9]{0,2}[ .-]?(\\([0-9]{1,4}\\)[ .-]?)?[0-9]{2,4}([ .-]?[0-9]{2,4}){1,4}"
      "|\\([2-9][0-9]{2}\\) ?[0-9]{3}[ .-][0-9]{4}|[2-9][0-9]{2}[ .-][0-9]{3}[ .-][0-9]{4})", "[REDACTED_PHONE]" },
};
#define N_BUILTIN (int)(sizeof builtin / sizeof builtin[0])

redact_t *redact_new(int use_builtin, const char *const *regexes, int n, char *err, size_t errlen)
{
    redact_t *r = calloc(1, sizeof *r);
    int total = (use_builtin ? N_BUILTIN : 0) + n;
    if (!r || !(r->p = calloc((size_t)(total ? total : 1), sizeof *r->p))) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->cards = use_builtin;
    for (int i = 0; i < total; i++) {
        int b = use_builtin && i < N_BUILTIN;
        const char *re = b ? builtin[i].re : regexes[i - (use_builtin ? N_BUILTIN : 0)];
        int rc = regcomp(&r->p[i].re, re, REG_EXTENDED);
        if (rc) {
            char m[128];
            regerror(rc, &r->p[i].re, m, sizeof m);
            snprintf(err, errlen, "--redact-regex '%.200s': %s", re, m);
            redact_free(r);
            return NULL;
        }
        r->p[i].label = b ? builtin[i].label : "[REDACTED]";
        r->n++;
    }
    return r;
}

void redact_free(redact_t *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        regfree(&r->p[i].re);
    free(r->p);
    free(r);
}

static int word(unsigned char c) { return isalnum(c) || c >= 0x80; }

/* Card numbers: digit groups with single spaces or dashes between them. */
static int luhn(const char *d, int n)
{
    int sum = 0;
    for (int i = 0; i < n; i++) {
        int x = d[n - 1 - i] - '0';
        if (i & 1) {
            x *= 2;
            if (x > 9)
                x -= 9;
        }
        sum += x;
    }
    return sum % 10 == 0;
}

/* One pass of the card rule over s[0..n) into out; count of replacements. */
static long cards(const char *s, size_t n, buf_t *out)
{
    long k = 0;
    size_t i = 0;
    while (i < n) {
        if (!isdigit((unsigned char)s[i]) || (i > 0 && word((unsigned char)s[i - 1]))) {
            buf_append(out, s + i, 1);
            i++;
            continue;
        }
        char d[20];
        int nd = 0;
        size_t j = i, last = i;
        while (j < n && nd < 20) {
            if (isdigit((unsigned char)s[j])) {
                d[nd++] = s[j];
                last = ++j;
            } else if ((s[j] == ' ' || s[j] == '-') && j + 1 < n && isdigit((unsigned char)s[j + 1]))
                j++;
            else
                break;
        }
        /* the longest prefix of 13..19 digits that is Luhn-valid and ends
         * where the digits end */
        int ok = nd >= 13 && nd <= 19 && (last >= n || !word((unsigned char)s[last])) && luhn(d, nd);
        if (ok) {
            buf_append_str(out, "[REDACTED_CARD]");
            i = last;
            k++;
        } else {
            buf_append(out, s + i, last - i);
            i = last;
        }
    }
    return k;
}

/* One regex over s into out. */
static long apply(const pat_t *p, const char *s, size_t n, buf_t *out)
{
    long k = 0;
    size_t pos = 0, copied = 0;
    while (pos <= n) {
        regmatch_t m[1];
        m[0].rm_so = (regoff_t)pos;
        m[0].rm_eo = (regoff_t)n;
        if (regexec(&p->re, s, 1, m, REG_STARTEND | (pos ? REG_NOTBOL : 0)))
            break;
        size_t a = (size_t)m[0].rm_so, b = (size_t)m[0].rm_eo;
        if (b == a) {                       /* empty match: step on */
            pos = a + 1;
            continue;
        }
        int edge = (a > 0 && word((unsigned char)s[a - 1]) && word((unsigned char)s[a])) ||
                   (b < n && word((unsigned char)s[b]) && word((unsigned char)s[b - 1]));
        if (edge) {
            pos = a + 1;
            continue;
        }
        buf_append(out, s + copied, a - copied);
        buf_append_str(out, p->label);
        copied = pos = b;
        k++;
    }
    buf_append(out, s + copied, n - copied);
    return k;
}

char *redact_str(redact_t *r, const char *s, size_t n, size_t *outlen, long *count)
{
    buf_t a, b;
    buf_init(&a, 0);
    buf_init(&b, 0);
    if (buf_append(&a, s, n) && n) {
        buf_free(&a);
        return NULL;
    }
    long k = 0;
    for (int i = 0; i < r->n; i++) {
        if (i == N_BUILTIN - 1 && r->cards) {      /* cards before phones */
            buf_reset(&b);
            long c = cards(buf_ptr(&a), buf_len(&a), &b);
            if (c) {
                k += c;
                buf_t t = a; a = b; b = t;
            }
        }
        buf_reset(&b);
        long c = apply(&r->p[i], buf_ptr(&a), buf_len(&a), &b);
        if (c) {
            k += c;
            buf_t t = a; a = b; b = t;
        }
    }
    buf_free(&b);
    *count += k;
    if (!k) {
        buf_free(&a);
        return NULL;
    }
    *outlen = buf_len(&a);
    char *res = malloc(buf_len(&a) + 1);
    if (res)
        memcpy(res, buf_ptr(&a), buf_len(&a) + 1);
    buf_free(&a);
    return res;
}

static int structural(const char *key)
{
    static const char *const keys[] = {
        "role", "type", "id", "tool_call_id", "call_id", "tool_use_id", "object", "model", "finish_reason",
        "stop_reason", "event", "outcome", "ts", "time", "protocol", "upstream_protocol", "method", "path",
        "route", "upstream", "signature", "data", "name", "status", "client_request_id", "replay_of",
        "media_type", "response_model", "from", NULL };
    for (int i = 0; keys[i]; i++)
        if (!strcmp(key, keys[i]))
            return 1;
    return 0;
}

static long walk(redact_t *r, json_t *j);

/* A string that holds JSON (tool arguments): redact inside it. */
static long in_json_string(redact_t *r, json_t *s)
{
    json_t *inner = json_loadb(json_string_value(s), json_string_length(s), JSON_DECODE_ANY, NULL);
    if (!inner || !(json_is_object(inner) || json_is_array(inner))) {
        json_decref(inner);
        return walk(r, s);
    }
    long k = walk(r, inner);
    if (k > 0) {
        char *d = json_dumps(inner, JSON_COMPACT | JSON_ENCODE_ANY);
        if (d)
            json_string_set(s, d);
        free(d);
    }
    json_decref(inner);
    return k;
}

static long walk(redact_t *r, json_t *j)
{
    long k = 0;
    if (json_is_string(j)) {
        size_t n;
        char *s = redact_str(r, json_string_value(j), json_string_length(j), &n, &k);
        if (s) {
            json_string_setn(j, s, n);
            free(s);
        }
    } else if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (structural(key))
                continue;
            k += (!strcmp(key, "arguments") || !strcmp(key, "value")) && json_is_string(v)
                     ? in_json_string(r, v) : walk(r, v);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
            k += walk(r, v);
    }
    return k;
}

long redact_json(redact_t *r, json_t *row)
{
    return walk(r, row);
}
