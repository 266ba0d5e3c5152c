/* mock-upstream: the test upstream of proxy-llm (see test/mock/README.md).
 * A small, deliberately hand-written HTTP/1.1 server, one thread per
 * connection, that answers like OpenAI or Anthropic and misbehaves on
 * request. Shared declarations of its three files:
 *   util.c     growable strings, JSON escaping and scanning, UTF-8, base64
 *   encode.c   Content-Encodings: gzip, br, zstd
 *   http.c     connections: request parsing, raw writes, waits, counters
 *   respond.c  routing, scenarios, the response and stream generators
 *   main.c     flags, listening socket, accept loop, signals */
#ifndef MOCK_H
#define MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* ---- util.c ---------------------------------------------------------- */
struct sb {
	char *p;
	size_t len, cap;
};
void sb_init(struct sb *b);
void sb_free(struct sb *b);
void sb_add(struct sb *b, const void *p, size_t n);
void sb_puts(struct sb *b, const char *s);
void sb_printf(struct sb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Appends a quoted JSON string; bytes that are not valid UTF-8 become
 * \u00XX (used only for headers/targets; bodies go through base64). */
void sb_json_str(struct sb *b, const char *s, size_t n);
void sb_base64(struct sb *b, const unsigned char *p, size_t n);
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* Length of the valid UTF-8 sequence at p (1..4), 0 if invalid. */
size_t utf8_seq(const unsigned char *p, size_t n);
bool utf8_valid(const unsigned char *p, size_t n);

/* Minimal JSON scanning over spans (no allocation, never reads past e). */
const char *json_ws(const char *p, const char *e);
const char *json_skip_value(const char *p, const char *e);
/* Looks up key in the object spanning [obj, obj+n); gives the value span. */
bool json_get(const char *obj, size_t n, const char *key,
	      const char **v, size_t *vn);
/* If [v, v+vn) is a JSON string, gives its raw (still escaped) content. */
bool json_str_raw(const char *v, size_t vn, const char **s, size_t *sn);
bool json_is_true(const char *v, size_t vn);

bool ends_with(const char *s, size_t n, const char *suffix);
bool parse_long(const char *s, size_t n, long *out);
int64_t now_ms(void);

/* ---- encode.c -------------------------------------------------------- */
enum { ENC_NONE, ENC_GZIP, ENC_BR, ENC_ZSTD };
struct enc {
	int kind;
	bool on;
	struct z_stream_s z;
	struct BrotliEncoderStateStruct *br;
	struct ZSTD_CCtx_s *zs;
};
const char *enc_name(int kind);          /* the Content-Encoding, or NULL */
bool enc_begin(struct enc *e, int kind);
/* n more bytes, flushed; last: the end of the encoded stream */
void enc_put(struct enc *e, const char *p, size_t n, bool last, struct sb *dst);
void enc_end(struct enc *e);

/* ---- http.c ---------------------------------------------------------- */
struct hdr {
	const char *name, *value;
	size_t nlen, vlen;
};

struct req {
	char *head; /* private copy of the header block */
	const char *method, *target, *version;
	size_t mlen, tlen, vlen;
	struct hdr *h;
	size_t nh;
	char *body;
	size_t blen;
	char *path; /* target without query, origin-form, NUL-terminated */
	bool close; /* close the connection after this response */
	bool http10;
};

struct conn {
	int fd;
	char *buf;
	size_t start, len, cap;
	bool closed;    /* fd already closed (reset) */
	bool counted;   /* counted in stats.connections */
	unsigned nreq;  /* requests parsed on this connection */
};

struct stats {
	long connections, requests, streams_started, streams_completed,
		streams_aborted;
};

enum stat_field {
	ST_CONNECTIONS,
	ST_REQUESTS,
	ST_STREAMS_STARTED,
	ST_STREAMS_COMPLETED,
	ST_STREAMS_ABORTED
};

void stats_inc(enum stat_field f);
void stats_get(struct stats *out);
void stats_reset(void);
void last_set(char *json, size_t n); /* takes ownership */
char *last_get(size_t *n);           /* caller frees; NULL if none */

void *conn_thread(void *arg);
/* Reads one request. 1 ok, 0 clean EOF before a request, <0 -HTTP status
 * to answer (and close) for a malformed request, or -1 for an I/O error. */
int read_request(struct conn *c, struct req *r);
void req_free(struct req *r);
const char *req_header(const struct req *r, const char *name, size_t *vn);

/* All-or-nothing write with MSG_NOSIGNAL. 0 ok, -1 failed (peer gone). */
int send_all(int fd, const void *p, size_t n);
/* Sleeps ms milliseconds, watching for the peer closing. 0 slept, -1 the
 * peer went away. */
int wait_ms(int fd, long ms);
/* Waits until the peer closes its side, discarding anything it sends. */
void wait_peer_close(int fd);
/* Closes with an RST (SO_LINGER {1,0}). */
void conn_reset(struct conn *c);
const char *status_text(int status);

/* ---- respond.c ------------------------------------------------------- */
extern bool g_demo;
/* Answers one request. Returns true to keep the connection open. */
bool handle_request(struct conn *c, struct req *r);
void send_plain_error(struct conn *c, int status);

#endif
