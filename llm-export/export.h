/* export.h — llm-export's rooms and what they share.
 *   main.c     flags, the run, the summary, exit status
 *   plan.c     what to read: days in the daily layout (+ the next day),
 *              files, stdin; the request window of --date/--from/--to/--tz
 *   read.c     reading sources line by line into the merger; the
 *              feedback pre-pass
 *   exchange.c one merged exchange → a row of every format, filters, the
 *              skip reasons
 *   row.c      the "exchanges" row (full fidelity)
 *   convo.c    the OpenAI chat conversation of an exchange (Anthropic
 *              normalised through lib/translate) and its hashes
 *   formats.c  openai-sft, sharegpt, dpo and csv rows
 *   dpo.c      preference pairs from feedback
 *   redact.c   --redact, --redact-regex
 *   (--where: lib/jqwhere.c, run over the row of row.c)
 *   out.c      outputs: stdout, -o (temporary name, rename), --split,
 *              --bundle (tar.zst with manifest.json) */
#ifndef LLM_EXPORT_H
#define LLM_EXPORT_H
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "assemble.h"
#include "files.h"
#include "jqwhere.h"
#include "merge.h"
#include "err.h"

#define PROG "llm-export"

enum fmt { FMT_EXCHANGES, FMT_SFT, FMT_SHAREGPT, FMT_DPO, FMT_CSV };

/* Why an exchange (or a pair) did not become a row. */
enum skip {
    SK_INCOMPLETE,      /* no end, lost chunks, a stream cut short */
    SK_FAILED,          /* outcome not ok, or an error answer */
    SK_NO_RESPONSE,     /* nothing to assemble */
    SK_ENDPOINT,        /* not a chat conversation (embeddings, …) */
    SK_UNTRANSLATABLE,  /* the request cannot be read as a conversation */
    SK_TRUNCATED,       /* the captured request body is cut */
    SK_MODEL, SK_USER, SK_STATUS, SK_RATING, SK_WHERE, SK_DUPLICATE,
    SK_UNRATED,         /* dpo: no feedback names it */
    SK_PAIR_MISSING,    /* dpo: the other exchange was not exported */
    SK_PAIR_PROMPT,     /* dpo: the two prompts differ */
    SK_PAIR_SAME,       /* dpo: the two answers are the same */
    SK_N
};
extern const char *const skip_names[SK_N];

typedef struct {
    enum fmt fmt;
    const char *out, *bundle;
    double split;                   /* train share, 0 = no split */
    const char *key_file, *tz;
    int have_range;
    day_t from, to;
    const char **models; int nmodels;
    const char **users; int nusers;
    const char *status;             /* --status list */
    int have_min_rating;
    double min_rating;
    const char *where;
    int dedup, redact;
    const char **regexes; int nregexes;
    int include_incomplete, strict, quiet;
    size_t max_line;
    char **inputs; int ninputs;
} opts_t;

const char *fmt_name(enum fmt f);
const char *fmt_ext(enum fmt f);    /* "jsonl" or "csv" */

/* ---- plan.c */
typedef struct {
    char *path;
    int completion;                 /* read only to finish exchanges (next day) */
} src_t;
typedef struct {
    src_t *src; int nsrc;
    int ranged;                     /* a request window applies */
    day_t from, to;                 /* its days */
    int64_t from_us, to_us;         /* [from_us, to_us) */
    char *spool;                    /* stdin copied here (unlinked at the end) */
} plan_t;
/* two_pass: stdin must be readable twice (copied to a temporary file). */
int plan_make(const opts_t *o, plan_t *p, int two_pass, char *err, size_t errlen);
void plan_free(plan_t *p);

/* ---- redact.c */
typedef struct redact redact_t;
redact_t *redact_new(int builtin, const char *const *regexes, int n, char *err, size_t errlen);
/* Redact the strings of a row in place (structural fields left alone).
 * Returns the number of replacements, or -1 (memory). */
long redact_json(redact_t *r, json_t *row);
/* Redact one string: a new malloc'd string, or NULL when unchanged. */
char *redact_str(redact_t *r, const char *s, size_t n, size_t *outlen, long *count);
void redact_free(redact_t *r);

/* ---- out.c */
typedef struct outset outset_t;
typedef struct {
    const char *name;               /* name in the bundle / manifest */
    uint64_t rows, bytes;
    char sha256[65];
} outinfo_t;
outset_t *out_open(const opts_t *o, char *err, size_t errlen);
int out_nfiles(const outset_t *s);
/* Write one row (bytes with their newline) to file k (0, or 1 = validation). */
int out_write(outset_t *s, int k, const char *p, size_t n);
/* A header line at the start of every file (not counted as a row). */
int out_header(outset_t *s, const char *p, size_t n);
/* Which file a row goes to: 0, or 1 when --split puts its key in validation. */
int out_pick(const outset_t *s, const char *key, size_t keylen);
/* Finish: flush, (bundle, with manifest and files' time mtime,) rename
 * into place; frees s either way. The manifest gets "files". 0, -1 (err),
 * or -2 when the reader of stdout left. */
int out_commit(outset_t *s, json_t *manifest, int64_t mtime, char *err, size_t errlen);
const outinfo_t *out_info(const outset_t *s, int k);
void out_abort(outset_t *s);        /* remove temporary files, free */
const char *out_error(const outset_t *s);
int out_epipe(const outset_t *s);   /* the reader of stdout left */

/* ---- convo.c */
typedef struct {
    json_t *input;      /* {messages, tools?, parallel_tool_calls?} */
    json_t *answer;     /* {role: assistant, content, tool_calls?} */
    unsigned char prompt_hash[32], answer_hash[32];
} convo_t;
/* The conversation of an exchange; 0, or -1 with *why a skip reason. */
int convo_make(const merged_t *m, const json_t *body, const assembled_t *a, convo_t *c, enum skip *why);
void convo_hash(convo_t *c);        /* fill prompt_hash and answer_hash */
void convo_free(convo_t *c);
void hash_json(const json_t *j, unsigned char out[32]);
void hex32(const unsigned char h[32], char out[65]);

/* ---- row.c */
json_t *row_exchange(const merged_t *m, const json_t *body, const assembled_t *a, int assembled,
                     const assembled_t *up, int up_ok, const json_t *feedback);
const char *row_user(const json_t *body);
/* dst[key] = src[skey]; when src has none: null if or_null, else nothing. */
void copy_field(json_t *dst, const char *key, const json_t *src, const char *skey, int or_null);

/* ---- formats.c */
json_t *fmt_sft(const convo_t *c);
json_t *fmt_sharegpt(const convo_t *c);
json_t *fmt_dpo(const json_t *input, const json_t *preferred, const json_t *rejected);
int fmt_csv_header(buf_t *out);
int fmt_csv_row(const json_t *row, buf_t *out);

/* ---- dpo.c */
typedef struct dpo dpo_t;
dpo_t *dpo_new(const json_t *feedback);
/* Is this exchange named by feedback (rated, or the other of a pair)? */
int dpo_wants(const dpo_t *d, const char *id);
/* Keep an exchange's conversation (steals nothing; copies references). */
int dpo_add(dpo_t *d, const char *id, const convo_t *c);
/* The pairs, in a stable order: cb(arg, input, preferred, rejected, key)
 * for each; skip counts added to skipped[]. */
typedef int (*dpo_cb)(void *arg, const json_t *input, const json_t *preferred,
                      const json_t *rejected, const char *key);
int dpo_pairs(dpo_t *d, dpo_cb cb, void *arg, uint64_t *skipped);
void dpo_free(dpo_t *d);

/* ---- read.c */
typedef struct {
    const opts_t *o;
    uint64_t malformed;
    uint64_t lines;
} reader_t;
/* Feedback events of the plan's files: {id: [event, …]} (caller owns). */
int read_feedback(reader_t *r, const plan_t *p, json_t **out, char *err, size_t errlen);
/* Every line of the plan into the merger. Returns 0, EXIT_USAGE (strict),
 * EXIT_TEMP, or the callback's code. */
int read_all(reader_t *r, const plan_t *p, merge_t *m, char *err, size_t errlen);

/* the last numeric rating of an exchange's feedback, 1 when there is one */
int feedback_rating(const json_t *list, double *rating);

/* ---- exchange.c */
typedef struct {
    const opts_t *o;
    outset_t *out;
    jqwhere_t *where;               /* --where over the exchanges row */
    redact_t *red;
    dpo_t *dpo;
    json_t *feedback;               /* {id: [events]}, or NULL (not read) */
    json_t *seen;                   /* --dedup: hashes written */
    uint64_t exchanges, rows, skipped[SK_N], redactions;
    uint64_t tokens_in, tokens_out;
    int stopped, rc;                /* stopped early, with this exit code */
    char err[ERRBUF_SIZE];
} ctx_t;
/* merge_cb: one merged exchange. 1 stops the run (stopped, rc, err set). */
int exchange_cb(void *arg, const merged_t *m);
/* dpo_cb: one pair. */
int pair_cb(void *arg, const json_t *input, const json_t *preferred, const json_t *rejected, const char *key);

#endif
