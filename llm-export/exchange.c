/* exchange.c — one merged exchange through the filters into a row of the
 * chosen format (merge.h's callback), and one preference pair into a dpo
 * row. Cheap filters first (model, user, status, rating), then assembly
 * of the answer, the training rules (complete and successful unless
 * --include-incomplete), --where, and last --dedup, --redact and --split
 * as the row is written. Every exchange that gives no row is counted
 * under one reason. */
#include "export.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/sha.h>

#include "buf.h"

const char *const skip_names[SK_N] = {
    "incomplete", "failed", "no_response", "not_chat", "untranslatable", "body_truncated",
    "model", "user", "status", "rating", "where", "duplicate",
    "unrated", "pair_missing", "pair_prompt_differs", "pair_same_answer",
};

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* The request body as a JSON object, when it is one and whole. */
static json_t *parse_body(const json_t *req)
{
    const json_t *b = json_object_get(req, "body");
    if (!json_is_string(b) || json_object_get(req, "body_encoding") ||
        json_is_true(json_object_get(req, "body_truncated")))
        return NULL;
    json_t *j = json_loadb(json_string_value(b), json_string_length(b), 0, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static int64_t status_of(const merged_t *m)
{
    const json_t *s = json_object_get(m->end, "status");
    if (!json_is_integer(s))
        s = json_object_get(m->response, "status");
    return json_is_integer(s) ? (int64_t)json_integer_value(s) : 0;
}

/* --status: a comma list of outcomes (ok, upstream_error, …, incomplete
 * for no end), statuses (429) or classes (4xx). */
static int status_match(const char *list, const merged_t *m)
{
    const char *outcome = m->end ? str(m->end, "outcome") : "incomplete";
    int64_t st = status_of(m);
    char num[8];
    snprintf(num, sizeof num, "%lld", (long long)st);
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (outcome && strlen(outcome) == n && !strncmp(p, outcome, n))
            return 1;
        if (st && n == 3 && p[1] == 'x' && p[2] == 'x' && p[0] == num[0] && strlen(num) == 3)
            return 1;
        if (st && strlen(num) == n && !strncmp(p, num, n))
            return 1;
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int any_glob(const char *const *pats, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (!fnmatch(pats[i], s, 0))
            return 1;
    return 0;
}

static int any_eq(const char *const *v, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (!strcmp(v[i], s))
            return 1;
    return 0;
}

/* A tool call whose arguments are not JSON: the answer was cut. */
static int bad_tool_args(const assembled_t *a)
{
    size_t i;
    json_t *t;
    json_array_foreach(a->tool_calls, i, t)
        if (json_is_null(json_object_get(t, "input")))
            return 1;
    return 0;
}

static void usage_add(ctx_t *c, const merged_t *m)
{
    const json_t *u = json_object_get(m->end, "usage");
    const json_t *in = json_object_get(u, "input_tokens"), *out = json_object_get(u, "output_tokens");
    if (json_is_integer(in))
        c->tokens_in += (uint64_t)json_integer_value(in);
    if (json_is_integer(out))
        c->tokens_out += (uint64_t)json_integer_value(out);
}

/* Stop the run with exit code code (EXIT_OK: stdout's reader left). */
static int fatal(ctx_t *c, int code, const char *msg)
{
    if (msg && code != EXIT_OK)
        snprintf(c->err, sizeof c->err, "%s", msg);
    c->rc = code;
    c->stopped = 1;
    return 1;
}

/* Write a row (stolen): dedup by hash, redact, pick the split file. */
static int emit(ctx_t *c, json_t *row, const char *key, const unsigned char *hash)
{
    if (!row)
        return fatal(c, EXIT_TEMP, "out of memory");
    if (c->seen && hash) {
        char hx[65];
        hex32(hash, hx);
        if (json_object_get(c->seen, hx)) {
            c->skipped[SK_DUPLICATE]++;
            json_decref(row);
            return 0;
        }
        json_object_set_new(c->seen, hx, json_true());
    }
    if (c->red) {
        /* a row may share values with what is kept for later (dpo
         * candidates): redact a copy of its own */
        json_t *own = json_deep_copy(row);
        json_decref(row);
        if (!(row = own))
            return fatal(c, EXIT_TEMP, "out of memory");
        long k = redact_json(c->red, row);
        if (k > 0)
            c->redactions += (uint64_t)k;
    }
    int rc;
    if (c->o->fmt == FMT_CSV) {
        buf_t b;
        buf_init(&b, 0);
        rc = fmt_csv_row(row, &b) ? -1 : out_write(c->out, out_pick(c->out, key, strlen(key)),
                                                   buf_ptr(&b), buf_len(&b));
        buf_free(&b);
    } else {
        char *s = json_dumps(row, JSON_COMPACT);
        if (!s) {
            json_decref(row);
            return fatal(c, EXIT_TEMP, "out of memory");
        }
        size_t n = strlen(s);
        s[n] = '\n';
        rc = out_write(c->out, out_pick(c->out, key, strlen(key)), s, n + 1);
        free(s);
    }
    json_decref(row);
    if (rc)
        return fatal(c, out_epipe(c->out) ? EXIT_OK : EXIT_TEMP, out_error(c->out));
    c->rows++;
    return 0;
}

/* sha256 of two hashes, for --dedup */
static void pair_hash(const unsigned char a[32], const unsigned char b[32], unsigned char out[32])
{
    unsigned char ab[64];
    memcpy(ab, a, 32);
    memcpy(ab + 32, b, 32);
    SHA256(ab, sizeof ab, out);
}

static int skip(ctx_t *c, enum skip why)
{
    c->skipped[why]++;
    return 0;
}

/* The row of a training format (sft, sharegpt) or a dpo candidate. */
static int training_row(ctx_t *c, const merged_t *m, const json_t *body, const assembled_t *a)
{
    convo_t cv;
    enum skip why;
    if (convo_make(m, body, a, &cv, &why))
        return skip(c, why);
    int rc = 0;
    if (c->o->fmt == FMT_DPO) {
        convo_hash(&cv);
        if (dpo_add(c->dpo, m->id, &cv))
            rc = fatal(c, EXIT_TEMP, "out of memory");
        else
            usage_add(c, m);
    } else {
        unsigned char h[32];
        if (c->seen) {
            convo_hash(&cv);
            pair_hash(cv.prompt_hash, cv.answer_hash, h);
        }
        usage_add(c, m);
        rc = emit(c, c->o->fmt == FMT_SFT ? fmt_sft(&cv) : fmt_sharegpt(&cv), m->id, c->seen ? h : NULL);
    }
    convo_free(&cv);
    return rc;
}

static int process(ctx_t *c, const merged_t *m, const json_t *body, assembled_t *a, int aok)
{
    const opts_t *o = c->o;
    int training = o->fmt == FMT_SFT || o->fmt == FMT_SHAREGPT || o->fmt == FMT_DPO;
    if (training) {
        if (json_is_true(json_object_get(m->request, "body_truncated")))
            return skip(c, SK_TRUNCATED);        /* the prompt is not all there */
        const char *outcome = str(m->end, "outcome");
        int cut = outcome && (!strcmp(outcome, "client_closed") || !strcmp(outcome, "aborted") ||
                              !strcmp(outcome, "timeout"));
        int failed = !cut && ((outcome && strcmp(outcome, "ok")) || status_of(m) >= 400 ||
                              (aok && a->error_body));
        int incomplete = cut || !m->complete || !aok || !a->complete || bad_tool_args(a);
        if (!o->include_incomplete) {
            if (failed)
                return skip(c, SK_FAILED);
            if (incomplete)
                return skip(c, aok || m->end ? SK_INCOMPLETE : SK_NO_RESPONSE);
        }
        if (!aok)
            return skip(c, SK_NO_RESPONSE);
    }
    json_t *xrow = NULL;
    if (!training || c->where) {
        const char *upp = str(m->request, "upstream_protocol");
        assembled_t up;
        int up_ok = 0, want_up = upp && o->fmt == FMT_EXCHANGES;
        if (want_up)
            up_ok = assemble_exchange(m, ASSEMBLE_UPSTREAM, &up) == 0;
        xrow = row_exchange(m, body, a, aok, want_up ? &up : NULL, up_ok,
                            c->feedback ? json_object_get(c->feedback, m->id) : NULL);
        if (up_ok)
            assemble_free(&up);
        if (!xrow)
            return fatal(c, EXIT_TEMP, "out of memory");
    }
    if (c->where) {
        int w = jqwhere_test(c->where, xrow, c->err, sizeof c->err);
        if (w <= 0) {
            json_decref(xrow);
            if (w < 0) {
                c->rc = EXIT_USAGE;
                c->stopped = 1;
                return 1;
            }
            return skip(c, SK_WHERE);
        }
    }
    if (training) {
        json_decref(xrow);
        return training_row(c, m, body, a);
    }
    unsigned char h[32];
    if (c->seen) {
        json_t *k = json_pack("[O?, O?]", json_object_get(xrow, "request"), json_object_get(xrow, "response"));
        hash_json(k, h);
        json_decref(k);
    }
    usage_add(c, m);
    return emit(c, xrow, m->id, c->seen ? h : NULL);
}

int exchange_cb(void *arg, const merged_t *m)
{
    ctx_t *c = arg;
    const opts_t *o = c->o;
    if (!m->request)
        return 0;              /* only events of an exchange begun elsewhere */
    c->exchanges++;
    json_t *body = parse_body(m->request);
    enum skip why = SK_N;
    double r;
    if (o->nmodels && !any_glob(o->models, o->nmodels, str(m->request, "model")))
        why = SK_MODEL;
    else if (o->nusers && !any_eq(o->users, o->nusers, row_user(body)))
        why = SK_USER;
    else if (o->status && !status_match(o->status, m))
        why = SK_STATUS;
    else if (o->have_min_rating &&
             (!feedback_rating(c->feedback ? json_object_get(c->feedback, m->id) : NULL, &r) ||
              r < o->min_rating))
        why = SK_RATING;
    else if (o->fmt == FMT_DPO && !dpo_wants(c->dpo, m->id))
        why = SK_UNRATED;
    if (why != SK_N) {
        json_decref(body);
        return skip(c, why);
    }
    assembled_t a;
    int aok = assemble_exchange(m, ASSEMBLE_CLIENT, &a) == 0;
    int rc = process(c, m, body, &a, aok);
    assemble_free(&a);
    json_decref(body);
    return rc;
}

int pair_cb(void *arg, const json_t *input, const json_t *preferred, const json_t *rejected, const char *key)
{
    ctx_t *c = arg;
    unsigned char h[32];
    if (c->seen) {
        json_t *k = json_pack("[O, O, O]", input, preferred, rejected);
        hash_json(k, h);
        json_decref(k);
    }
    return emit(c, fmt_dpo(input, preferred, rejected), key, c->seen ? h : NULL);
}
