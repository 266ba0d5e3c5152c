/* mock-upstream: connections. Reads HTTP/1.1 requests (keep-alive,
 * pipelining, Content-Length or chunked bodies, Expect: 100-continue),
 * raw writes, waits that notice a peer hanging up, and the shared
 * counters and last-request record. */
#include "mock.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONN_BUF (128 * 1024)
#define HEAD_MAX (64 * 1024)
#define LINE_MAX_CHUNK 8192
#define BODY_MAX ((size_t)64 * 1024 * 1024)

/* ---- counters and last request ----------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct stats g_stats;
static char *g_last;
static size_t g_last_len;

void stats_inc(enum stat_field f)
{
	pthread_mutex_lock(&g_lock);
	switch (f) {
	case ST_CONNECTIONS: g_stats.connections++; break;
	case ST_REQUESTS: g_stats.requests++; break;
	case ST_STREAMS_STARTED: g_stats.streams_started++; break;
	case ST_STREAMS_COMPLETED: g_stats.streams_completed++; break;
	case ST_STREAMS_ABORTED: g_stats.streams_aborted++; break;
	}
	pthread_mutex_unlock(&g_lock);
}

void stats_get(struct stats *out)
{
	pthread_mutex_lock(&g_lock);
	*out = g_stats;
	pthread_mutex_unlock(&g_lock);
}

void stats_reset(void)
{
	pthread_mutex_lock(&g_lock);
	memset(&g_stats, 0, sizeof g_stats);
	free(g_last);
	g_last = NULL;
	g_last_len = 0;
	pthread_mutex_unlock(&g_lock);
}

void last_set(char *json, size_t n)
{
	pthread_mutex_lock(&g_lock);
	free(g_last);
	g_last = json;
	g_last_len = n;
	pthread_mutex_unlock(&g_lock);
}

char *last_get(size_t *n)
{
	char *copy = NULL;
	pthread_mutex_lock(&g_lock);
	if (g_last) {
		copy = xmalloc(g_last_len + 1);
		memcpy(copy, g_last, g_last_len + 1);
		*n = g_last_len;
	}
	pthread_mutex_unlock(&g_lock);
	return copy;
}

/* ---- raw I/O ------------------------------------------------------------ */

int send_all(int fd, const void *p, size_t n)
{
	const char *q = p;
	while (n > 0) {
		ssize_t w = send(fd, q, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		q += w;
		n -= (size_t)w;
	}
	return 0;
}

int wait_ms(int fd, long ms)
{
	int64_t deadline = now_ms() + ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		/* POLLRDHUP only: pipelined request bytes must not wake us. */
		struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
		int n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			struct timespec ts = {left / 1000, (left % 1000) * 1000000};
			nanosleep(&ts, NULL);
			return 0;
		}
		if (n > 0 && (pfd.revents &
			      (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
			return -1;
	}
}

void wait_peer_close(int fd)
{
	char tmp[4096];
	for (;;) {
		ssize_t n = recv(fd, tmp, sizeof tmp, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

void conn_reset(struct conn *c)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	close(c->fd);
	c->closed = true;
}

/* Sends our FIN first, then waits (at most 2 s) for the peer to close, so
 * that unread request bytes do not turn our last response into an RST. */
static void conn_close_gracefully(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	int64_t deadline = now_ms() + 2000;
	char tmp[4096];
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		ssize_t r = recv(c->fd, tmp, sizeof tmp, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
	}
	close(c->fd);
	c->closed = true;
}

const char *status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* ---- request parsing ---------------------------------------------------- */

/* Reads more bytes into the connection buffer. 1 read, 0 EOF, -1 error,
 * -2 buffer full. */
static int conn_fill(struct conn *c)
{
	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->len - c->start);
		c->len -= c->start;
		c->start = 0;
	}
	if (c->len >= c->cap)
		return -2;
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		c->len += (size_t)n;
		return 1;
	}
}

/* Offset (from c->start) just past the blank line ending the header block,
 * or 0 if not yet complete. */
static size_t find_head_end(const struct conn *c)
{
	const char *b = c->buf + c->start;
	size_t n = c->len - c->start;
	for (size_t i = 0; i < n; i++) {
		if (b[i] != '\n')
			continue;
		if (i + 1 < n && b[i + 1] == '\n')
			return i + 2;
		if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Ensures one line (ending in \n) is buffered; returns its length
 * including the \n, 0 on EOF/error, or -400 if the line is too long. */
static long need_line(struct conn *c)
{
	for (;;) {
		const char *b = c->buf + c->start;
		size_t n = c->len - c->start;
		const char *nl = memchr(b, '\n', n);
		if (nl)
			return (long)(nl - b) + 1;
		if (n > LINE_MAX_CHUNK)
			return -400;
		if (conn_fill(c) <= 0)
			return 0;
	}
}

static bool token_in_list(const char *v, size_t vn, const char *tok)
{
	size_t tl = strlen(tok), i = 0;
	while (i < vn) {
		while (i < vn && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < vn && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return true;
	}
	return false;
}

/* Last element of a comma list, trimmed. */
static bool last_token_is(const char *v, size_t vn, const char *tok)
{
	size_t e = vn;
	while (e > 0 && (v[e - 1] == ' ' || v[e - 1] == '\t'))
		e--;
	size_t s = e;
	while (s > 0 && v[s - 1] != ',')
		s--;
	while (s < e && (v[s] == ' ' || v[s] == '\t'))
		s++;
	size_t tl = strlen(tok);
	return e - s == tl && strncasecmp(v + s, tok, tl) == 0;
}

const char *req_header(const struct req *r, const char *name, size_t *vn)
{
	size_t l = strlen(name);
	for (size_t i = 0; i < r->nh; i++)
		if (r->h[i].nlen == l && strncasecmp(r->h[i].name, name, l) == 0) {
			if (vn)
				*vn = r->h[i].vlen;
			return r->h[i].value;
		}
	return NULL;
}

void req_free(struct req *r)
{
	free(r->head);
	free(r->h);
	free(r->body);
	free(r->path);
	memset(r, 0, sizeof *r);
}

static void make_path(struct req *r)
{
	const char *t = r->target, *e = r->target + r->tlen;
	if ((r->tlen > 7 && strncasecmp(t, "http://", 7) == 0) ||
	    (r->tlen > 8 && strncasecmp(t, "https://", 8) == 0)) {
		t = memchr(t, ':', r->tlen) + 3;
		const char *slash = memchr(t, '/', (size_t)(e - t));
		t = slash ? slash : e;
	}
	const char *q = t;
	while (q < e && *q != '?' && *q != '#')
		q++;
	size_t n = (size_t)(q - t);
	while (n > 1 && t[n - 1] == '/')
		n--;
	r->path = xmalloc(n + 2);
	if (n == 0 || t[0] != '/') {
		r->path[0] = '/';
		memcpy(r->path + 1, t, n);
		r->path[n + 1] = '\0';
	} else {
		memcpy(r->path, t, n);
		r->path[n] = '\0';
	}
}

static int parse_head(struct req *r, size_t hlen)
{
	char *p = r->head, *end = r->head + hlen;
	if (memchr(p, '\0', hlen))
		return -400;
	size_t lines = 0;
	for (char *q = p; q < end; q++)
		lines += *q == '\n';
	r->h = xmalloc(sizeof *r->h * (lines + 1));

	/* request line */
	char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return -400;
	char *le = nl;
	if (le > p && le[-1] == '\r')
		le--;
	*le = '\0';
	char *sp1 = strchr(p, ' ');
	if (!sp1 || sp1 == p)
		return -400;
	char *sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ') || !sp2[1])
		return -400;
	*sp1 = *sp2 = '\0';
	r->method = p;
	r->mlen = (size_t)(sp1 - p);
	r->target = sp1 + 1;
	r->tlen = (size_t)(sp2 - sp1 - 1);
	r->version = sp2 + 1;
	r->vlen = strlen(r->version);
	if (strcmp(r->version, "HTTP/1.1") == 0)
		r->http10 = false;
	else if (strcmp(r->version, "HTTP/1.0") == 0)
		r->http10 = true;
	else if (strncmp(r->version, "HTTP/", 5) == 0)
		return -505;
	else
		return -400;
	for (size_t i = 0; i < r->mlen; i++)
		if (r->method[i] <= ' ' || r->method[i] >= 127)
			return -400;
	for (size_t i = 0; i < r->tlen; i++)
		if ((unsigned char)r->target[i] <= ' ' || r->target[i] == 127)
			return -400;

	/* header lines */
	p = nl + 1;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -400;
		le = nl;
		if (le > p && le[-1] == '\r')
			le--;
		if (le == p)
			break; /* blank line */
		if (*p == ' ' || *p == '\t')
			return -400; /* obsolete line folding */
		char *colon = memchr(p, ':', (size_t)(le - p));
		if (!colon || colon == p)
			return -400;
		for (char *q = p; q < colon; q++)
			if ((unsigned char)*q <= ' ' || *q == 127)
				return -400;
		char *v = colon + 1, *ve = le;
		while (v < ve && (*v == ' ' || *v == '\t'))
			v++;
		while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		*colon = '\0';
		*ve = '\0';
		struct hdr *h = &r->h[r->nh++];
		h->name = p;
		h->nlen = (size_t)(colon - p);
		h->value = v;
		h->vlen = (size_t)(ve - v);
		p = nl + 1;
	}
	make_path(r);
	return 0;
}

static int read_body_length(struct conn *c, struct req *r, size_t cl)
{
	r->body = xmalloc(cl + 1);
	size_t have = c->len - c->start;
	if (have > cl)
		have = cl;
	memcpy(r->body, c->buf + c->start, have);
	c->start += have;
	while (have < cl) {
		ssize_t n = recv(c->fd, r->body + have, cl - have, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		have += (size_t)n;
	}
	r->body[cl] = '\0';
	r->blen = cl;
	return 1;
}

static int read_body_chunked(struct conn *c, struct req *r)
{
	struct sb body;
	sb_init(&body);
	sb_add(&body, "", 0);
	int rc = -400;
	for (;;) {
		long ll = need_line(c);
		if (ll <= 0) {
			rc = ll == 0 ? -1 : (int)ll;
			goto out;
		}
		const char *l = c->buf + c->start;
		size_t size = 0, i = 0;
		for (; i < (size_t)ll; i++) {
			int d;
			char ch = l[i];
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			else
				break;
			if (size > (BODY_MAX >> 4)) {
				rc = -413;
				goto out;
			}
			size = size * 16 + (size_t)d;
		}
		if (i == 0 || (l[i] != ';' && l[i] != '\r' && l[i] != '\n' &&
			       l[i] != ' ' && l[i] != '\t'))
			goto out;
		c->start += (size_t)ll;
		if (size == 0)
			break;
		if (size > BODY_MAX - body.len) {
			rc = -413;
			goto out;
		}
		while (size > 0) {
			size_t have = c->len - c->start;
			if (have == 0) {
				int f = conn_fill(c);
				if (f <= 0) {
					rc = -1;
					goto out;
				}
				continue;
			}
			if (have > size)
				have = size;
			sb_add(&body, c->buf + c->start, have);
			c->start += have;
			size -= have;
		}
		ll = need_line(c); /* the CRLF after the data */
		if (ll <= 0) {
			rc = ll == 0 ? -1 : (int)ll;
			goto out;
		}
		l = c->buf + c->start;
		if (!(ll == 1 || (ll == 2 && l[0] == '\r')))
			goto out;
		c->start += (size_t)ll;
	}
	/* trailer section, up to a blank line */
	for (;;) {
		long ll = need_line(c);
		if (ll <= 0) {
			rc = ll == 0 ? -1 : (int)ll;
			goto out;
		}
		const char *l = c->buf + c->start;
		c->start += (size_t)ll;
		if (ll == 1 || (ll == 2 && l[0] == '\r'))
			break;
	}
	r->blen = body.len;
	r->body = body.p;
	return 1;
out:
	sb_free(&body);
	return rc;
}

int read_request(struct conn *c, struct req *r)
{
	memset(r, 0, sizeof *r);
	size_t hlen;
	for (;;) {
		while (c->start < c->len &&
		       (c->buf[c->start] == '\r' || c->buf[c->start] == '\n'))
			c->start++;
		hlen = find_head_end(c);
		if (hlen)
			break;
		if (c->len - c->start >= HEAD_MAX)
			return -431;
		bool partial = c->len > c->start;
		int f = conn_fill(c);
		if (f == 0)
			return partial ? -1 : 0;
		if (f < 0)
			return f == -2 ? -431 : -1;
	}
	if (hlen > HEAD_MAX)
		return -431;
	r->head = xmalloc(hlen + 1);
	memcpy(r->head, c->buf + c->start, hlen);
	r->head[hlen] = '\0';
	c->start += hlen;
	int rc = parse_head(r, hlen);
	if (rc < 0)
		return rc;

	size_t vn;
	const char *v = req_header(r, "Connection", &vn);
	if (r->http10)
		r->close = !(v && token_in_list(v, vn, "keep-alive"));
	else
		r->close = v && token_in_list(v, vn, "close");

	bool chunked = false, have_cl = false;
	size_t cl = 0;
	for (size_t i = 0; i < r->nh; i++) {
		const struct hdr *h = &r->h[i];
		if (h->nlen == 17 &&
		    strncasecmp(h->name, "Transfer-Encoding", 17) == 0) {
			if (!last_token_is(h->value, h->vlen, "chunked"))
				return -501;
			chunked = true;
		} else if (h->nlen == 14 &&
			   strncasecmp(h->name, "Content-Length", 14) == 0) {
			size_t l = 0;
			if (h->vlen == 0)
				return -400;
			for (size_t k = 0; k < h->vlen; k++) {
				if (h->value[k] < '0' || h->value[k] > '9')
					return -400;
				if (l > BODY_MAX)
					return -413;
				l = l * 10 + (size_t)(h->value[k] - '0');
			}
			if (have_cl && l != cl)
				return -400;
			have_cl = true;
			cl = l;
		}
	}
	if (chunked && have_cl)
		r->close = true; /* RFC 9112 6.3: chunked wins, then close */
	if (!chunked && cl > BODY_MAX)
		return -413;

	v = req_header(r, "Expect", &vn);
	if (v && vn == 12 && strncasecmp(v, "100-continue", 12) == 0 &&
	    !r->http10 && (chunked || cl > 0) &&
	    send_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return -1;

	if (chunked)
		return read_body_chunked(c, r);
	return read_body_length(c, r, cl);
}

void *conn_thread(void *arg)
{
	struct conn *c = arg;
	c->cap = CONN_BUF;
	c->buf = xmalloc(c->cap);
	for (;;) {
		struct req r;
		int rc = read_request(c, &r);
		if (rc == 1) {
			c->nreq++;
			bool keep = handle_request(c, &r);
			req_free(&r);
			if (keep && !c->closed)
				continue;
			break;
		}
		req_free(&r);
		if (rc < -1)
			send_plain_error(c, -rc);
		break;
	}
	if (!c->counted && c->nreq == 0)
		stats_inc(ST_CONNECTIONS);
	if (!c->closed)
		conn_close_gracefully(c);
	free(c->buf);
	free(c);
	return NULL;
}
