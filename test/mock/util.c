/* mock-upstream: growable strings, JSON escaping and scanning, UTF-8 and
 * base64 helpers. Nothing here reads outside the spans it is given. */
#include "mock.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p) {
		fputs("mock-upstream: fatal: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q) {
		fputs("mock-upstream: fatal: out of memory\n", stderr);
		abort();
	}
	return q;
}

void sb_init(struct sb *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
}

void sb_free(struct sb *b)
{
	free(b->p);
	sb_init(b);
}

static void sb_reserve(struct sb *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

void sb_add(struct sb *b, const void *p, size_t n)
{
	sb_reserve(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sb *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

size_t utf8_seq(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2;
	else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else
		return 0;
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return len;
}

bool utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t l = utf8_seq(p + i, n - i);
		if (!l)
			return false;
		i += l;
	}
	return true;
}

void sb_json_str(struct sb *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	sb_reserve(b, n + 2);
	sb_add(b, "\"", 1);
	size_t i = 0, run = 0; /* run: start of bytes copied verbatim */
	while (i < n) {
		unsigned c = p[i];
		const char *esc = NULL;
		char tmp[8];
		size_t l = 1;
		if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else if (c < 0x20) {
			snprintf(tmp, sizeof tmp, "\\u%04x", c);
			esc = tmp;
		} else if (c >= 0x80) {
			l = utf8_seq(p + i, n - i);
			if (!l) {
				snprintf(tmp, sizeof tmp, "\\u%04x", c);
				esc = tmp;
				l = 1;
			}
		}
		if (esc) {
			sb_add(b, s + run, i - run);
			sb_puts(b, esc);
			i += l;
			run = i;
		} else
			i += l;
	}
	sb_add(b, s + run, n - run);
	sb_add(b, "\"", 1);
}

void sb_base64(struct sb *b, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	sb_reserve(b, (n + 2) / 3 * 4);
	size_t i = 0;
	char o[4];
	for (; i + 3 <= n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 |
			     p[i + 2];
		o[0] = tab[v >> 18];
		o[1] = tab[(v >> 12) & 63];
		o[2] = tab[(v >> 6) & 63];
		o[3] = tab[v & 63];
		sb_add(b, o, 4);
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		o[0] = tab[v >> 18];
		o[1] = tab[(v >> 12) & 63];
		o[2] = o[3] = '=';
		sb_add(b, o, 4);
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		o[0] = tab[v >> 18];
		o[1] = tab[(v >> 12) & 63];
		o[2] = tab[(v >> 6) & 63];
		o[3] = '=';
		sb_add(b, o, 4);
	}
}

/* ---- JSON scanning ---------------------------------------------------- */

const char *json_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* p at '"'; returns the position after the closing quote or NULL. */
static const char *skip_str(const char *p, const char *e)
{
	p++;
	while (p < e) {
		if (*p == '\\') {
			if (e - p < 2)
				return NULL;
			p += 2;
			continue;
		}
		if (*p == '"')
			return p + 1;
		p++;
	}
	return NULL;
}

const char *json_skip_value(const char *p, const char *e)
{
	if (p >= e)
		return NULL;
	if (*p == '"')
		return skip_str(p, e);
	if (*p == '{' || *p == '[') {
		size_t depth = 0;
		while (p < e) {
			char c = *p;
			if (c == '"') {
				p = skip_str(p, e);
				if (!p)
					return NULL;
				continue;
			}
			if (c == '{' || c == '[')
				depth++;
			else if (c == '}' || c == ']') {
				if (--depth == 0)
					return p + 1;
			}
			p++;
		}
		return NULL;
	}
	const char *s = p;
	while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
	       *p != '\t' && *p != '\r' && *p != '\n')
		p++;
	return p > s ? p : NULL;
}

bool json_get(const char *obj, size_t n, const char *key, const char **v,
	      size_t *vn)
{
	const char *e = obj + n, *p = json_ws(obj, e);
	size_t klen = strlen(key);
	if (p >= e || *p != '{')
		return false;
	p++;
	for (;;) {
		p = json_ws(p, e);
		if (p >= e || *p != '"')
			return false;
		const char *ks = p + 1, *ke = skip_str(p, e);
		if (!ke)
			return false;
		p = json_ws(ke, e);
		if (p >= e || *p != ':')
			return false;
		p = json_ws(p + 1, e);
		const char *vs = p, *ve = json_skip_value(p, e);
		if (!ve)
			return false;
		if ((size_t)(ke - 1 - ks) == klen && memcmp(ks, key, klen) == 0) {
			*v = vs;
			*vn = (size_t)(ve - vs);
			return true;
		}
		p = json_ws(ve, e);
		if (p < e && *p == ',') {
			p++;
			continue;
		}
		return false;
	}
}

bool json_str_raw(const char *v, size_t vn, const char **s, size_t *sn)
{
	if (vn < 2 || v[0] != '"' || v[vn - 1] != '"')
		return false;
	*s = v + 1;
	*sn = vn - 2;
	return true;
}

bool json_is_true(const char *v, size_t vn)
{
	return vn == 4 && memcmp(v, "true", 4) == 0;
}

bool ends_with(const char *s, size_t n, const char *suffix)
{
	size_t l = strlen(suffix);
	return n >= l && memcmp(s + n - l, suffix, l) == 0;
}

bool parse_long(const char *s, size_t n, long *out)
{
	char tmp[32];
	if (n == 0 || n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	long v = strtol(tmp, &end, 10);
	if (errno || *end || v < 0)
		return false;
	*out = v;
	return true;
}

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
