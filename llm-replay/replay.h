/* replay.h — llm-replay: the types shared by its rooms.
 *   load.c     capture files (arguments, stdin, -d DIR --date D) → merged
 *              exchanges (lib/merge), --strict, malformed lines
 *   rec.c      reading a recorded exchange: bodies, chunks, headers,
 *              protocol, the bytes one side of it received
 *   view.c     an answer reduced to what is compared (lib/assemble):
 *              status, shape, text, tool calls, finish reason, usage, times
 *   shape.c    the JSON shape of a response;  similar.c  text similarity
 *   where.c    the merged exchange as --where (lib/jqwhere.c) sees it
 *   plan.c     which exchanges are replayed, and the requests to send
 *   send.c     the libcurl multi loop: concurrency, --rate, --timing original
 *   compare.c  one diff record per exchange;  failon.c  --fail-on
 *   summary.c  the summary table on stderr
 *   index.c    --serve: recorded answers by normalised request
 *   serve.c    --serve: the libmicrohttpd server, paced chunks
 *   synth.c    --serve: a stream made from a non-stream answer
 *   forward.c  --serve --fallback: unknown requests to another upstream
 *   http.c     libcurl helpers: header lists, methods, header lines */
#ifndef LLM_REPLAY_H
#define LLM_REPLAY_H
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <curl/curl.h>
#include <jansson.h>
#include "buf.h"
#include "jqwhere.h"
#include "merge.h"
#include "proto.h"
#include "usage.h"

#define PROG "llm-replay"

/* ---- load.c */
typedef struct {
    char **inputs;           /* files, or "-" (none: stdin) */
    int ninputs;
    const char *dir;         /* -d DIR */
    const char *date;        /* --date D (YYYY-MM-DD, today, yesterday) */
    const char *key_file;    /* --key FILE (encrypted captures) */
    int strict;
    size_t max_line;
    uint64_t malformed;      /* out: lines that were not capture events */
} load_opts_t;
/* Read every source into merged exchanges handed to cb (the merger's own
 * callback type). Returns 0, or an exit code with err filled. */
int load_run(load_opts_t *o, merge_cb cb, void *arg, char *err, size_t errlen);

/* ---- rec.c: reading recorded events */
/* The string member key of ev, or NULL. */
const char *jstr(const json_t *ev, const char *key);
/* Integer member, or def when absent or not an integer. */
int64_t jint(const json_t *ev, const char *key, int64_t def);
/* Decode a captured byte string: ev[key], base64 when ev[enc_key] says so.
 * Appends to out; 0, or -1 (bad base64, out full). */
int rec_bytes(const json_t *ev, const char *key, const char *enc_key, buf_t *out);
/* The protocol of a recorded request event (its path and headers, by
 * lib/proto.c's rule). */
int rec_protocol(const json_t *request);
/* 1 when the chunks hold a client side (a translated exchange). */
int rec_has_client_side(const json_t *chunks);
/* Whether chunk ev belongs to the bytes side received: side is
 * REC_CLIENT (what the client got) or REC_UPSTREAM (what the upstream
 * sent, withheld chunks included). */
enum { REC_CLIENT = 0, REC_UPSTREAM = 1 };
int rec_chunk_on(const json_t *ev, int side, int translated);
/* The header value named name (case-insensitive) in a [[n, v], …] array. */
const char *rec_header(const json_t *headers, const char *name);
/* 1 when a captured header value is a masked secret. */
int rec_masked(const char *value);
/* The path part of a URL ("http://h:p/a/b?q" → "/a/b"), into out. */
void url_path(const char *url, char *out, size_t outlen);
/* The body's "stream" is true. */
int body_streams(const char *body, size_t len);

/* ---- view.c: one answer as compared */
typedef struct {
    int status;              /* 0: no answer (transport failure) */
    int streamed;
    int assembled;           /* assemble_exchange succeeded */
    char *text;              /* assembled text, NULL when not assembled */
    size_t text_len;
    json_t *tools;           /* [{name, arguments}] (arguments parsed when JSON) */
    char *finish;            /* finish / stop reason, or NULL */
    char *shape;             /* shape signature of the response */
    usage_t usage;           /* as the client saw it (usage.seen) */
    int64_t ttft_us, total_us;   /* -1 unknown */
    char *error;             /* transport error, or NULL */
} view_t;
/* The view of m's answer as its client received it. 0, or -1 (memory). */
int view_of(const merged_t *m, view_t *v);
void view_free(view_t *v);

/* ---- shape.c */
/* A signature of j's structure: keys (sorted) and value types, arrays by
 * the distinct shapes of their elements. Caller frees. */
char *shape_of(const json_t *j);

/* ---- similar.c */
/* Similarity of two UTF-8 texts in [0, 1]: the Sørensen–Dice coefficient
 * of their character bigrams (multisets); 1 when equal, 1 when both are
 * shorter than two characters and equal. */
double text_similarity(const char *a, size_t alen, const char *b, size_t blen);

/* ---- where.c: the exchange as --where (lib/jqwhere) sees it; a new
 * object, NULL when memory is short */
json_t *where_row(const merged_t *m);

/* ---- failon.c: --fail-on */
enum diffkind { D_STATUS, D_SHAPE, D_TEXT, D_TOOLS, D_FINISH, D_USAGE, D_ERROR, D_N };
extern const char *const diff_names[D_N];
typedef struct {
    unsigned kinds;          /* bit per diffkind: any difference fails */
    double text_min;         /* text<X: similarity below X fails (-1 = off) */
    double latency_x;        /* latency>Nx: total time ratio above N (0 = off) */
    double ttft_x;           /* ttft>Nx */
    double tokens_x;         /* tokens>Nx: output tokens ratio */
} failon_t;
/* What can be crossed: a kind of difference (enum diffkind) or one of
 * these thresholds. */
enum { X_TEXT = D_N, X_LATENCY, X_TTFT, X_TOKENS, X_N };
/* The name of item k as --fail-on says it ("status", "text<0.9"). */
void failon_name(const failon_t *f, int k, char *out, size_t n);
/* Parse "status,tools,text<0.9,latency>1.5x" (or "all", "none"). */
int failon_parse(failon_t *f, const char *spec, char *err, size_t errlen);
void failon_default(failon_t *f);

/* ---- compare.c */
typedef struct {
    unsigned diffs;          /* bit per diffkind */
    double similarity;       /* text similarity, -1 when not compared */
    double ratio_total, ratio_ttft;   /* replayed / recorded, -1 unknown */
    int64_t d_total_us, d_ttft_us;    /* replayed - recorded; INT64_MIN unknown */
    int64_t d_in, d_out;              /* token deltas; INT64_MIN unknown */
    double ratio_out;
    unsigned crossed;        /* bit per item crossed (diffkind or X_*) */
} outcome_t;
/* Compare and build the diff record (caller owns it). */
json_t *compare(const char *id, const json_t *request, const char *sent_model,
                const view_t *rec, const view_t *rep, const failon_t *f, outcome_t *out);
/* The record of an exchange that was not replayed. */
json_t *skipped_record(const char *id, const json_t *request, const char *why);

typedef struct summary summary_t;

/* ---- plan.c: what to replay */
typedef struct {
    const char *target;          /* --target URL */
    const char *model;           /* --model M, or NULL */
    char **headers;              /* --header "Name: value" (expanded) */
    int nheaders;
    jqwhere_t *where;
    long limit;                  /* 0 = no limit */
} plan_opts_t;

typedef struct job {
    char *id;
    int64_t request_us;
    json_t *request;             /* the request event as sent (body replaced with --model) */
    char *skip;                  /* why it is not replayed, or NULL */
    char *url;
    json_t *headers;             /* [[name, value], …] to send */
    buf_t body;
    view_t rec;                  /* the recorded answer */
    int has_rec;
} job_t;

typedef struct {
    const plan_opts_t *o;
    job_t **jobs;
    size_t n, cap;
    size_t replayable;
    char err[512];
    int rc;                      /* an exit code when the plan failed */
} plan_t;
/* The merger's callback (arg: a plan_t). */
int plan_add(void *arg, const merged_t *m);
/* Order by request time and apply --limit. */
void plan_finish(plan_t *p);
void plan_free(plan_t *p);
void job_free(job_t *j);
/* --dry-run: one line per job on f (secret header values masked).
 * 0, or -1 with errno (a write failed). */
int plan_print(const plan_t *p, FILE *f);

/* ---- send.c: the replay loop */
enum { TIMING_NONE, TIMING_RATE, TIMING_ORIGINAL };
typedef struct {
    int concurrency;
    int timing;
    double rate;                 /* requests per second */
    double speed;                /* --timing original: 2 = twice as fast */
    long timeout_s;
    size_t max_body;
    const failon_t *failon;
    const char *model_sent;      /* --model, for the records */
    FILE *out;
    const char *out_name;
} send_opts_t;
/* Replay every job; records to o->out, totals into s. Returns 0, -1 when
 * the reader of the output went away (EPIPE: stop quietly), or an exit
 * code with err filled (EXIT_TEMP: a write failed, memory). */
int send_all(const send_opts_t *o, plan_t *p, summary_t *s, char *err, size_t errlen);

/* ---- index.c: recorded answers by request (--serve) */
typedef struct {
    int64_t t_us;                /* from the request's arrival */
    size_t off, len;             /* in the answer's bytes */
    int usage_only;              /* an OpenAI usage-only chunk (withheld or
                                    not): sent when the request asks for usage */
} piece_t;

typedef struct {
    char *id;                    /* the recorded exchange */
    int status;
    int protocol;                /* of the answer's body */
    int streamed;                /* an event stream */
    int translated_client;       /* the client side of a translated exchange */
    int64_t resp_us;             /* response headers, from the request */
    json_t *headers;             /* [[name, value]] as recorded */
    buf_t bytes;
    piece_t *pieces;
    size_t npieces;
    char *assembled;             /* streamed: the non-stream body (lib/assemble), or NULL */
} answer_t;

typedef struct sindex sindex_t;
sindex_t *sindex_new(void);
void sindex_free(sindex_t *x);
/* The merger's callback (arg: a sindex_t *; the --where filter via sindex_where). */
int sindex_add(void *arg, const merged_t *m);
void sindex_where(sindex_t *x, jqwhere_t *w);
/* Counts: answers indexed, exchanges skipped. An error text when adding
 * failed (memory, --where), else NULL. */
void sindex_counts(const sindex_t *x, size_t *answers, size_t *keys, size_t *skipped);
const char *sindex_error(const sindex_t *x);
/* The answer for a request, in the order they were recorded, round robin:
 * one of the same stream-ness when there is one (*same = 1), else any.
 * NULL when none matches. */
const answer_t *sindex_find(sindex_t *x, int protocol, const char *method, const char *path,
                            const char *body, size_t len, int stream, int *same);

/* ---- synth.c */
/* An event stream for a non-stream answer body (OpenAI chat.completion or
 * Anthropic message); with usage, OpenAI gets its usage chunk. 0, or -1
 * when the body is not one of those. */
int synth_stream(const char *body, size_t len, int with_usage, buf_t *out);

/* ---- http.c: libcurl helpers */
/* [[name, value], …] as curl header lines, then the extra lines (NULLs
 * skipped). NULL when memory is short. */
struct curl_slist *http_header_list(const json_t *headers, const char *const *extra, size_t nextra);
/* The method, and the body unless GET or HEAD. */
void http_set_method(CURL *h, const char *method, const char *body, size_t len);
typedef struct { const char *name, *value; size_t nlen, vlen; } hdr_t;
enum { HDR_OTHER, HDR_STATUS, HDR_FIELD, HDR_END };
/* One line of libcurl's header callback: a status line clears headers and
 * sets *status; a field is appended to headers (the value masked when it
 * is a secret and mask is set) and given in *out; the blank line ends
 * them. Returns HDR_*, or -1 when memory is short. */
int http_header_line(const char *p, size_t n, int mask, int *status, json_t *headers, hdr_t *out);

/* ---- forward.c (--fallback) */
typedef struct fwd fwd_t;
/* Start forwarding; pumps until the response headers are in. NULL and err
 * when the fallback cannot be reached. */
fwd_t *fwd_start(const char *base, const char *method, const char *uri, const json_t *headers,
                 const char *body, size_t len, long timeout_s, char *err, size_t errlen);
int fwd_status(const fwd_t *f);
const json_t *fwd_headers(const fwd_t *f);
/* Up to max bytes of body into p: the count, 0 at the end, -1 on error.
 * Waits for data. */
long fwd_read(fwd_t *f, char *p, size_t max);
void fwd_free(fwd_t *f);

/* ---- serve.c */
typedef struct {
    const char *listen;          /* ADDR:PORT */
    double speed;                /* 0: at once, 1: as recorded */
    const char *fallback;        /* URL, or NULL */
} serve_opts_t;
int serve_run(const serve_opts_t *o, load_opts_t *lo, jqwhere_t *w, char *err, size_t errlen);

/* ---- summary.c */
summary_t *summary_new(void);
void summary_free(summary_t *s);
/* 0 or -1 (memory) */
int summary_add(summary_t *s, const outcome_t *o, int skipped, int error);
void summary_print(summary_t *s, FILE *f, const failon_t *fo);
uint64_t summary_crossed(const summary_t *s);
uint64_t summary_errors(const summary_t *s);

#endif
