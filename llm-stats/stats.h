/* stats.h — llm-stats: the types shared by its rooms.
 *   strtab.c   interned strings (group keys compare by pointer)
 *   tz.c       --tz day and hour keys (lib/tz.c), --since/--until/--date
 *   prices.c   the price table (prices.yaml built in, --prices FILE)
 *   figures.c  the figures of one group: counts, tokens, cost, histograms
 *   agg.c      views (one grouping each) and their groups
 *   scan.c     capture lines → exchanges (request + response + end merged)
 *   where.c    the merged exchange as --where (lib/jqwhere.c) sees it
 *   input.c    files, directories, days, stdin, --follow
 *   report.c   the JSON document (--json, the served API)
 *   table.c    the aligned table and CSV;  prom.c  Prometheus text
 *   html.c     the HTML report with inline SVG charts;  serve.c  --serve */
#ifndef LLM_STATS_H
#define LLM_STATS_H
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <jansson.h>
#include "histo.h"
#include "jqwhere.h"
#include "tz.h"

#define PROG "llm-stats"

/* ---- htab.c: chained hash tables of entries that start with an hnode_t */
typedef struct hnode { struct hnode *next; size_t hash; } hnode_t;
typedef struct { hnode_t **tab; size_t cap, n; } htab_t;     /* cap: a power of 2 */
size_t hash_bytes(const void *p, size_t n);
int htab_init(htab_t *h, size_t cap);
void htab_free(htab_t *h);                  /* the table, not the entries */
int htab_room(htab_t *h);                   /* grow before an insert: 0 or -1 */
void htab_insert(htab_t *h, hnode_t *e);    /* e->hash set */
static inline hnode_t **htab_chain(const htab_t *h, size_t hash) { return &h->tab[hash & (h->cap - 1)]; }

/* ---- strtab.c: interned strings, alive until strtab_free */
typedef struct strtab strtab_t;
strtab_t *strtab_new(void);
void strtab_free(strtab_t *t);
/* The one copy of s[0..n); NULL when memory is short. */
const char *strtab_get(strtab_t *t, const char *s, size_t n);

/* ---- the grouping dimensions (--by) */
enum dim { DIM_MODEL, DIM_USER, DIM_UPSTREAM, DIM_ROUTE, DIM_DAY, DIM_HOUR, DIM_STATUS, DIM_N };
extern const char *const dim_names[DIM_N];
/* "model,user" → dims; count, or -1 (err names the bad word). */
int dims_parse(const char *s, enum dim *dims, char *err, size_t errlen);

/* ---- tz.c: the --tz zone (lib/tz.c) with the keys of the last hour seen */
typedef struct {
    tz_t tz;
    const char *name;   /* as given ("UTC" by default) */
    int64_t hour_start, hour_end;
    char day[11], hour[16];
} zone_t;
/* "UTC", "+05:30", "-08:00", or a zone name ("Europe/Paris"). 0 or -1. */
int zone_set(zone_t *z, const char *name, char *err, size_t errlen);
/* Day "YYYY-MM-DD" and hour "YYYY-MM-DDTHH" (local) of an instant;
 * pointers into z, valid until the next call. */
void zone_keys(zone_t *z, int64_t us, const char **day, const char **hour);
/* A --since/--until value: a date (start of the day; with end=1 the end
 * of the day), an RFC 3339 time, or a duration ("90m", "7d") before now. */
int zone_parse_time(const zone_t *z, const char *s, int end, int64_t now_us, int64_t *us);

/* ---- prices.c */
typedef struct {
    char model[96];
    double input, output, cached, cache_write;   /* USD per 1M tokens; cache_write < 0: = input */
} price_t;
typedef struct {
    price_t *v;
    size_t n;
    char taken[32];          /* the date the prices were taken */
    char source[256];        /* "built-in" or the file */
    const char *last_model;  /* lookup cache (interned pointer) */
    const price_t *last;
} prices_t;
int prices_load(prices_t *p, const char *file, char *err, size_t errlen);  /* NULL = built-in */
void prices_free(prices_t *p);
/* The price of a model: exact name, else the name without a date suffix
 * (-YYYY-MM-DD, -YYYYMMDD) or "-latest"; NULL when unknown. */
const price_t *prices_find(prices_t *p, const char *model);
/* The built-in table, as shipped (llm-stats/prices.yaml). */
extern const char prices_builtin[];

/* ---- one exchange, merged from its events */
typedef struct {
    const char *id;
    int64_t ts_us;                  /* the request's time */
    const char *key[DIM_N];         /* interned; NULL = none */
    const char *protocol, *method, *path, *outcome;
    const char *usage_protocol;     /* the upstream's: the dialect of the usage */
    int stream, status;             /* status -1 = none */
    int complete;                   /* an end was seen */
    int64_t in, out, cached, cache_write;   /* -1 unknown */
    int64_t ttfb_us, ttft_us, total_us;     /* -1 null */
    int64_t attempts;
} exch_t;

/* ---- figures.c */
enum errkind { ERR_4XX, ERR_5XX, ERR_UPOTHER, ERR_TIMEOUT, ERR_CLOSED, ERR_RELAY, ERR_ABORTED, ERR_OTHER, ERR_N };
extern const char *const err_names[ERR_N];
typedef struct {
    uint64_t requests, streams, retries, incomplete;
    uint64_t priced, unpriced;      /* requests whose model has / has no price */
    uint64_t unpriced_tokens;       /* input + output tokens of the unpriced ones */
    uint64_t errors[ERR_N];
    uint64_t tok_in, tok_out, tok_cached, tok_cache_write;
    double cost;                    /* USD of the priced requests */
    histo_t ttfb, ttft, total, tps;
} figures_t;
void figures_init(figures_t *f);
void figures_free(figures_t *f);
/* Count one complete exchange; price may be NULL. 0, or -1 (memory). */
int figures_add(figures_t *f, const exch_t *e, const price_t *price);
int figures_merge(figures_t *dst, const figures_t *src);
uint64_t figures_errors(const figures_t *f);
/* -1 when the outcome is not an error, else its kind. */
int err_kind(const char *outcome, int status);
/* The tokens an exchange used, normalized: input counts every prompt
 * token (for Anthropic: input + cache reads + cache writes). */
void exch_tokens(const exch_t *e, int64_t *in, int64_t *out, int64_t *cached, int64_t *cache_write);

/* ---- agg.c */
typedef struct group {
    hnode_t node;
    const char *key[DIM_N];
    figures_t f;
} group_t;
typedef struct {
    int ndims;
    enum dim dims[DIM_N];
    htab_t groups;
} view_t;
typedef struct {
    strtab_t *strs;
    prices_t *prices;
    view_t *views;
    int nviews;
    figures_t totals;
    uint64_t lines, malformed, orphan_ends, unknown_version;
    uint64_t open_dropped;  /* requests not kept: too many open exchanges */
    uint64_t incomplete;    /* set by agg_incomplete_* */
} agg_t;
int agg_init(agg_t *a, prices_t *p);
void agg_free(agg_t *a);
int agg_add_view(agg_t *a, const enum dim *dims, int ndims);   /* index or -1 */
int agg_add(agg_t *a, const exch_t *e);                        /* complete exchanges */
void agg_incomplete_reset(agg_t *a);
int agg_incomplete(agg_t *a, const exch_t *e);                 /* one still open */
/* The groups of view v sorted by their keys (malloc'd array, caller frees). */
group_t **agg_sorted(const view_t *v, size_t *n);

/* ---- where.c: the exchange as --where (lib/jqwhere; NULL filter =
 * everything passes) sees it; a new object, NULL when memory is short */
json_t *where_row(const exch_t *e);

/* ---- fields.c: members of a JSON object, found without parsing it */
typedef struct { const char *p; size_t n; } span_t;   /* raw value bytes; p NULL: absent */
/* Set out[i] to the value of member keys[i] (keys without escapes) of the
 * object p[0..n). 0, or -1 when p is not one object. */
int fields_scan(const char *p, size_t n, const char *const *keys, int nkeys, span_t *out);
int span_is_string(span_t s);
const char *span_intern(strtab_t *t, span_t s);   /* a non-empty string, or NULL */
int64_t span_int(span_t s);                       /* an integer >= 0, or -1 */
int span_eq(span_t s, const char *lit);           /* raw bytes equal */

/* ---- scan.c */
typedef struct scan scan_t;
typedef struct {
    int64_t since_us, until_us;     /* the requests counted: [since, until) */
    zone_t *tz;
    jqwhere_t *where;
    size_t max_open;                /* open exchanges kept at most */
} scan_opts_t;
scan_t *scan_new(agg_t *a, const scan_opts_t *o);
void scan_free(scan_t *s);
/* One line of a capture. 0; 1 when the line is not a capture event
 * (malformed: counted in agg); -1 when memory is short, -2 when the
 * --where program failed (err). */
int scan_line(scan_t *s, const char *line, size_t len, char *err, size_t errlen);
const char *scan_why(const scan_t *s);   /* why the last line scan_line returned 1 for was not one */
/* Completion mode: new requests are not counted, only the ends of open
 * ones (reading past the last day to finish its exchanges). */
void scan_completing(scan_t *s, int on);
size_t scan_open_in_range(const scan_t *s);
/* Latest request time seen (µs), 0 if none. */
int64_t scan_last_ts(const scan_t *s);
/* Count the open exchanges into agg as incomplete (replacing the last count). */
int scan_report_open(scan_t *s);

/* ---- input.c: what to read, and reading it */
typedef struct {
    char **inputs;                  /* files, directories, "-" */
    int ninputs;
    const char *key_file;
    size_t max_line;
    int strict;
    size_t max_open;
    zone_t tz;
    jqwhere_t *where;
    prices_t prices;
} cfg_t;
typedef struct { char *path; int completion; } src_t;
/* The files to read for [since, until), in order: named files as they are,
 * a directory's days in the range (all its days when unbounded), then the
 * next day's files in completion mode. 0, or an exit code (err). */
int sources_plan(const cfg_t *c, int64_t since, int64_t until, src_t **out, int *n, char *err, size_t errlen);
void sources_free(src_t *s, int n);
/* Hooks of --follow: the lock held while a line is counted, and a stop flag */
typedef struct {
    void (*lock)(void *), (*unlock)(void *);
    void *ctx;
    volatile int *stop;
} follow_t;
/* Read one source into s (f: follow it, NULL: read to its end).
 * 0, or an exit code with err. */
int read_source(const cfg_t *c, scan_t *s, agg_t *a, const src_t *src, int64_t until,
                const follow_t *f, char *err, size_t errlen);
/* Plan, read everything, count the open exchanges. 0 or an exit code. */
int collect(const cfg_t *c, scan_t *s, agg_t *a, int64_t since, int64_t until, char *err, size_t errlen);

/* ---- report.c: the JSON document */
typedef struct {
    int64_t since_us, until_us;  /* INT64_MIN / INT64_MAX: unbounded */
    const char *tz;
    const char *title;           /* HTML */
} report_meta_t;
json_t *report_json(const agg_t *a, int view, const report_meta_t *m);
/* Dump flags used for every JSON output */
#define REPORT_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(12))
/* helpers shared by the outputs */
double round_to(double v, double unit);
/* latency µs → ms rounded to µs; NAN stays NAN */
double q_ms(const histo_t *h, double q);

/* ---- outputs: 0, or -1 on a write error (errno) */
int out_table(FILE *f, const agg_t *a, int view, int wide);
int out_csv(FILE *f, const agg_t *a, int view);
int out_prom(FILE *f, const agg_t *a, int view);
typedef struct { int main, day, hour, model, user; } html_views_t;
int out_html(FILE *f, const agg_t *a, const html_views_t *v, const report_meta_t *m);

#endif
