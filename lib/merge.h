/* merge.h — capture events → exchanges. Feed events (any order across
 * exchanges, each exchange's own events in the order written); when an
 * exchange's end event arrives the merged exchange is handed to the
 * callback, and its memory is released. Memory is bounded by the number of
 * exchanges open at once (and each one's chunk bytes), never by the size
 * of the input. Used by llm-export and llm-replay (and anything that needs
 * whole exchanges). */
#ifndef PLLM_MERGE_H
#define PLLM_MERGE_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "buf.h"

typedef struct {
    const char *id;
    json_t *request;     /* the request event, or NULL when it was not seen */
    json_t *response;    /* the response event, or NULL */
    json_t *end;         /* the end event, or NULL (incomplete) */
    json_t *chunks;      /* array of chunk events, in seq order (never NULL;
                            empty when the merger was told not to keep them) */
    json_t *other;       /* array of events of other kinds (feedback, …) */
    int complete;        /* request and end both seen, chunk seqs 0..n-1
                            without gaps, and as many as end.chunks says */
    int64_t request_us;  /* the request's ts, µs since the epoch (0 if none) */
    /* added: */
    size_t nchunks;      /* chunk events seen (also when not kept) */
    int evicted;         /* handed over early because max_open was reached */
} merged_t;

/* Return 0 to go on, non-zero to stop (merge_event/merge_flush return it). */
typedef int (*merge_cb)(void *arg, const merged_t *m);

typedef struct merge merge_t;

typedef struct {
    size_t max_open;        /* exchanges open at once before the oldest is
                               flushed incomplete (0 = 1,000,000) */
    int keep_chunks;        /* 0: drop chunk events (callers that need only
                               request/response/end), 1: keep them */
    /* added (all default to 0 = off): */
    int skip_orphans;       /* drop events other than request whose exchange
                               is not open (its request was in an earlier
                               part, or outside the window); counted in
                               merge_skipped */
    int64_t from_us, to_us; /* when to_us > 0: only requests whose ts is in
                               [from_us, to_us) open an exchange; the others
                               are dropped and counted in merge_skipped (with
                               skip_orphans their later events are too) */
} merge_opts_t;

merge_t *merge_new(const merge_opts_t *o, merge_cb cb, void *arg);
/* One event (a parsed capture line; the merger takes a reference). Events
 * without a string "id" or "event" are counted as malformed and skipped.
 * Returns 0, the callback's non-zero value, or -1 (memory). */
int merge_event(merge_t *m, json_t *ev);
/* One capture line (bytes, without the newline): parsed — chunk events and
 * other flat objects by a fast path that builds the same jansson values
 * json_loadb would, the rest by jansson — then merge_event. A line that is
 * not a JSON object is counted as malformed; *why (when why is not NULL)
 * then says why ("invalid JSON at column N: …" or "not a JSON object"; in a
 * buffer of the thread's, good until its next line), else NULL. Same returns as
 * merge_event. */
int merge_line(merge_t *m, const char *p, size_t n, const char **why);
/* Parse one capture line the way merge_line does: a new JSON object, or
 * NULL (and *why) when the line is not one. */
json_t *merge_parse_line(const char *p, size_t n, const char **why);
/* The same parser for any text that should be one JSON object (an SSE
 * event's data): the values json_loadb(p, n, JSON_ALLOW_NUL) would give,
 * several times faster. scratch (may be NULL) is a buffer reused for
 * strings. NULL when the text is not one JSON object. */
json_t *merge_parse_object(const char *p, size_t n, buf_t *scratch);
/* Hand every exchange still open to the callback (incomplete ones too), in
 * the order their first event arrived. */
int merge_flush(merge_t *m);
size_t merge_open(const merge_t *m);        /* exchanges open now */
int merge_is_open(const merge_t *m, const char *id);
uint64_t merge_malformed(const merge_t *m);
uint64_t merge_skipped(const merge_t *m);   /* orphans and requests outside the window */
uint64_t merge_evicted(const merge_t *m);   /* flushed early by max_open */
void merge_free(merge_t *m);

#endif
