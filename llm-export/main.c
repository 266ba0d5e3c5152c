/* llm-export — a calendar day (or a range of days) of captures becomes
 * training and analysis datasets: merged exchanges, OpenAI SFT, ShareGPT,
 * DPO preference pairs, CSV; to stdout, a file, or a bundle with a
 * manifest. See llm-export(1). */
#include "export.h"
#include "crypt.h"
#include "err.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fmt_names[] = { "exchanges", "openai-sft", "sharegpt", "dpo", "csv" };

const char *fmt_name(enum fmt f) { return fmt_names[f]; }
const char *fmt_ext(enum fmt f) { return f == FMT_CSV ? "csv" : "jsonl"; }

static void usage(FILE *f)
{
    fputs("usage: llm-export [--date DAY | --from DAY --to DAY] [--tz ZONE]\n"
          "                  [--format exchanges|openai-sft|sharegpt|dpo|csv]\n"
          "                  [-o FILE | --bundle FILE.tar.zst] [--split SHARE]\n"
          "                  [--model GLOB] [--user USER] [--status LIST] [--min-rating N]\n"
          "                  [--where JQ] [--dedup] [--redact] [--redact-regex RE]\n"
          "                  [--include-incomplete] [--key FILE] [--max-line BYTES]\n"
          "                  [--strict] [-q] [DIR | FILE | -]...\n", f);
}

/* "llm-export: fatal: ..." and exit; a usage error shows the usage too. */
static void die(int code, const char *fmt, const char *a)
{
    fprintf(stderr, PROG ": fatal: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    if (code == EXIT_USAGE)
        usage(stderr);
    exit(code);
}

static void bad_usage(const char *fmt, const char *a) { die(EXIT_USAGE, fmt, a); }

static day_t day_arg(const char *flag, const char *s)
{
    day_t d;
    if (day_parse(s, &d))
        bad_usage("%s: not a date (YYYY-MM-DD)", flag);
    return d;
}

static void push(const char ***v, int *n, const char *s)
{
    const char **nv = realloc(*v, (size_t)(*n + 1) * sizeof *nv);
    if (!nv)
        die(EXIT_TEMP, "%s", "out of memory");
    nv[(*n)++] = s;
    *v = nv;
}

enum { O_DATE = 256, O_FROM, O_TO, O_TZ, O_FORMAT, O_BUNDLE, O_SPLIT, O_MODEL, O_USER, O_STATUS,
       O_MIN_RATING, O_WHERE, O_DEDUP, O_REDACT, O_REDACT_RE, O_INCOMPLETE, O_KEY, O_MAX_LINE,
       O_STRICT, O_HELP, O_VERSION };

static void parse(int argc, char **argv, opts_t *o)
{
    static const struct option lo[] = {
        { "date", 1, 0, O_DATE }, { "from", 1, 0, O_FROM }, { "to", 1, 0, O_TO }, { "tz", 1, 0, O_TZ },
        { "format", 1, 0, O_FORMAT }, { "output", 1, 0, 'o' }, { "bundle", 1, 0, O_BUNDLE },
        { "split", 1, 0, O_SPLIT }, { "model", 1, 0, O_MODEL }, { "user", 1, 0, O_USER },
        { "status", 1, 0, O_STATUS }, { "min-rating", 1, 0, O_MIN_RATING }, { "where", 1, 0, O_WHERE },
        { "dedup", 0, 0, O_DEDUP }, { "redact", 0, 0, O_REDACT }, { "redact-regex", 1, 0, O_REDACT_RE },
        { "include-incomplete", 0, 0, O_INCOMPLETE }, { "key", 1, 0, O_KEY },
        { "max-line", 1, 0, O_MAX_LINE }, { "strict", 0, 0, O_STRICT }, { "quiet", 0, 0, 'q' },
        { "help", 0, 0, O_HELP }, { "version", 0, 0, O_VERSION }, { 0, 0, 0, 0 } };
    int c, have_date = 0, have_from = 0, have_to = 0;
    char *end;
    memset(o, 0, sizeof *o);
    o->fmt = FMT_EXCHANGES;
    while ((c = getopt_long(argc, argv, "o:q", lo, NULL)) != -1) {
        switch (c) {
        case O_DATE: o->from = o->to = day_arg("--date", optarg); have_date = 1; break;
        case O_FROM: o->from = day_arg("--from", optarg); have_from = 1; break;
        case O_TO: o->to = day_arg("--to", optarg); have_to = 1; break;
        case O_TZ: o->tz = optarg; break;
        case O_FORMAT: {
            int k;
            for (k = 0; k < 5 && strcmp(optarg, fmt_names[k]); k++)
                ;
            if (k == 5)
                bad_usage("--format: unknown format '%s'", optarg);
            o->fmt = (enum fmt)k;
            break;
        }
        case 'o': o->out = optarg; break;
        case O_BUNDLE: o->bundle = optarg; break;
        case O_SPLIT:
            errno = 0;
            o->split = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(o->split > 0 && o->split < 1))
                bad_usage("--split: '%s' is not a share between 0 and 1 (e.g. 0.9)", optarg);
            break;
        case O_MODEL: push(&o->models, &o->nmodels, optarg); break;
        case O_USER: push(&o->users, &o->nusers, optarg); break;
        case O_STATUS: o->status = optarg; break;
        case O_MIN_RATING:
            errno = 0;
            o->min_rating = strtod(optarg, &end);
            if (errno || *end || end == optarg)
                bad_usage("--min-rating: '%s' is not a number", optarg);
            o->have_min_rating = 1;
            break;
        case O_WHERE: o->where = optarg; break;
        case O_DEDUP: o->dedup = 1; break;
        case O_REDACT: o->redact = 1; break;
        case O_REDACT_RE: push(&o->regexes, &o->nregexes, optarg); break;
        case O_INCOMPLETE: o->include_incomplete = 1; break;
        case O_KEY: o->key_file = optarg; break;
        case O_MAX_LINE: {
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || end == optarg || v == 0)
                bad_usage("--max-line: '%s' is not a byte count", optarg);
            o->max_line = (size_t)v;
            break;
        }
        case O_STRICT: o->strict = 1; break;
        case 'q': o->quiet = 1; break;
        case O_HELP: usage(stdout); exit(EXIT_OK);
        case O_VERSION: puts(PROG " " PLLM_VERSION); exit(EXIT_OK);
        default: usage(stderr); exit(EXIT_USAGE);
        }
    }
    if (have_date && (have_from || have_to))
        bad_usage("%s", "--date and --from/--to exclude each other");
    if (have_from || have_to) {
        if (!have_to)
            o->to = o->from;
        if (!have_from)
            o->from = o->to;
        if (day_cmp(o->from, o->to) > 0)
            bad_usage("%s", "--from is after --to");
    }
    o->have_range = have_date || have_from || have_to;
    if (o->out && o->bundle)
        bad_usage("%s", "-o and --bundle exclude each other");
    if (o->split > 0 && !o->out && !o->bundle)
        bad_usage("%s", "--split writes two files: give -o FILE or --bundle FILE");
    static char *dash[] = { "-" };
    if (optind < argc) {
        o->inputs = argv + optind;
        o->ninputs = argc - optind;
    } else {
        o->inputs = dash;
        o->ninputs = 1;
    }
}

static json_t *strings(const char *const *v, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *manifest(const opts_t *o, const plan_t *p, const ctx_t *c, uint64_t malformed)
{
    json_t *m = json_pack("{s:s, s:s, s:s}", "tool", PROG, "version", PLLM_VERSION, "format", fmt_name(o->fmt));
    if (p->ranged) {
        char a[11], b[11];
        day_format(p->from, a);
        day_format(p->to, b);
        json_object_set_new(m, "range", json_pack("{s:s, s:s, s:s}", "from", a, "to", b, "tz",
                                                  o->tz ? o->tz : "UTC"));
    } else
        json_object_set_new(m, "range", json_null());
    json_t *src = json_array();
    for (int i = 0; i < p->nsrc; i++)
        json_array_append_new(src, json_string(p->spool && !strcmp(p->src[i].path, p->spool) ? "-"
                                                                                              : p->src[i].path));
    json_object_set_new(m, "sources", src);
    json_t *f = json_object();
    json_object_set_new(f, "model", strings(o->models, o->nmodels));
    json_object_set_new(f, "user", strings(o->users, o->nusers));
    json_object_set_new(f, "status", o->status ? json_string(o->status) : json_null());
    json_object_set_new(f, "min_rating", o->have_min_rating ? json_real(o->min_rating) : json_null());
    json_object_set_new(f, "where", o->where ? json_string(o->where) : json_null());
    json_object_set_new(f, "dedup", json_boolean(o->dedup));
    json_object_set_new(f, "redact", json_boolean(o->redact));
    json_object_set_new(f, "redact_regex", strings(o->regexes, o->nregexes));
    json_object_set_new(f, "include_incomplete", json_boolean(o->include_incomplete));
    json_object_set_new(f, "split", o->split > 0 ? json_real(o->split) : json_null());
    json_object_set_new(m, "filters", f);
    json_t *sk = json_object();
    for (int i = 0; i < SK_N; i++)
        if (c->skipped[i])
            json_object_set_new(sk, skip_names[i], json_integer((json_int_t)c->skipped[i]));
    json_object_set_new(m, "counts", json_pack("{s:I, s:I, s:o, s:I, s:I}",
                                               "exchanges", (json_int_t)c->exchanges,
                                               "rows", (json_int_t)c->rows, "skipped", sk,
                                               "malformed_lines", (json_int_t)malformed,
                                               "redactions", (json_int_t)c->redactions));
    json_object_set_new(m, "tokens", json_pack("{s:I, s:I}", "input", (json_int_t)c->tokens_in,
                                               "output", (json_int_t)c->tokens_out));
    return m;
}

static void summary(const opts_t *o, const plan_t *p, const ctx_t *c, uint64_t malformed)
{
    char range[32] = "";
    if (p->ranged) {
        char a[11], b[11];
        day_format(p->from, a);
        day_format(p->to, b);
        if (day_cmp(p->from, p->to))
            snprintf(range, sizeof range, "%s..%s: ", a, b);
        else
            snprintf(range, sizeof range, "%s: ", a);
    }
    fprintf(stderr, PROG ": %s%llu exchanges, %llu %s (%s)", range, (unsigned long long)c->exchanges,
            (unsigned long long)c->rows, o->fmt == FMT_DPO ? "pairs" : "rows", fmt_name(o->fmt));
    const char *sep = "; skipped: ";
    for (int i = 0; i < SK_N; i++)
        if (c->skipped[i]) {
            fprintf(stderr, "%s%s %llu", sep, skip_names[i], (unsigned long long)c->skipped[i]);
            sep = ", ";
        }
    if (malformed)
        fprintf(stderr, "; %llu malformed lines", (unsigned long long)malformed);
    if (c->redactions)
        fprintf(stderr, "; %llu redactions", (unsigned long long)c->redactions);
    fputc('\n', stderr);
}

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return EXIT_TEMP;
}

/* Everything after the plan: feedback, outputs, the merge, the commit.
 * The exit code (and err); *quiet when stdout's reader left. */
static int run(const opts_t *o, ctx_t *c, const plan_t *p, reader_t *rd, int need_fb, int *quiet,
               char *err, size_t errlen)
{
    int rc;
    if (need_fb && (rc = read_feedback(rd, p, &c->feedback, err, errlen)))
        return rc;
    if (o->fmt == FMT_DPO && !(c->dpo = dpo_new(c->feedback)))
        return oom(err, errlen);
    if (o->dedup && !(c->seen = json_object()))
        return oom(err, errlen);
    if (!(c->out = out_open(o, err, errlen)))
        return EXIT_TEMP;
    if (o->fmt == FMT_CSV) {
        buf_t h;
        buf_init(&h, 0);
        rc = fmt_csv_header(&h) || out_header(c->out, buf_ptr(&h), buf_len(&h));
        buf_free(&h);
        if (rc)
            return oom(err, errlen);
    }
    merge_opts_t mo = { .keep_chunks = 1, .skip_orphans = p->ranged, .from_us = p->from_us, .to_us = p->to_us };
    merge_t *m = merge_new(&mo, exchange_cb, c);
    if (!m)
        return oom(err, errlen);
    rc = read_all(rd, p, m, err, errlen);
    if (!rc && !c->stopped)
        rc = merge_flush(m);                  /* exchanges that never ended */
    if (!rc && !c->stopped && c->dpo)
        rc = dpo_pairs(c->dpo, pair_cb, c, c->skipped);
    merge_free(m);
    if (c->stopped) {
        snprintf(err, errlen, "%s", c->err);
        *quiet = c->rc == EXIT_OK;            /* stdout's reader left */
        return c->rc;
    }
    if (rc)
        return rc < 0 ? oom(err, errlen) : rc;
    json_t *man = o->bundle ? manifest(o, p, c, rd->malformed) : NULL;
    if (o->bundle && !man)
        return oom(err, errlen);
    rc = out_commit(c->out, man, p->ranged ? p->to_us / 1000000 : 0, err, errlen);
    c->out = NULL;
    json_decref(man);
    *quiet = rc == -2;
    return rc && !*quiet ? EXIT_TEMP : 0;
}

int main(int argc, char **argv)
{
    opts_t o;
    parse(argc, argv, &o);
    signal(SIGPIPE, SIG_IGN);
    char err[ERRBUF_SIZE] = "";
    int need_fb = o.fmt == FMT_EXCHANGES || o.fmt == FMT_DPO || o.have_min_rating || o.where;
    ctx_t c;
    memset(&c, 0, sizeof c);
    c.o = &o;
    if (o.key_file) {                         /* a bad key file is a usage error */
        crypt_keys_t *k = crypt_keys_load(o.key_file, err, sizeof err);
        if (!k)
            bad_usage("--key: %s", err);
        crypt_keys_free(k);
    }
    if (o.where && !(c.where = jqwhere_compile(o.where, "--where", err, sizeof err)))
        bad_usage("%s", err);
    if ((o.redact || o.nregexes) && !(c.red = redact_new(o.redact, o.regexes, o.nregexes, err, sizeof err)))
        bad_usage("%s", err);
    plan_t p;
    int rc = plan_make(&o, &p, need_fb, err, sizeof err);
    if (rc)
        die(rc, "%s", err);
    reader_t rd = { .o = &o };
    int quiet = 0;
    rc = run(&o, &c, &p, &rd, need_fb, &quiet, err, sizeof err);
    out_abort(c.out);                         /* NULL once committed */
    if (!rc && !o.quiet && !quiet)
        summary(&o, &p, &c, rd.malformed);
    plan_free(&p);                            /* the copy of stdin goes */
    json_decref(c.feedback);
    json_decref(c.seen);
    dpo_free(c.dpo);
    jqwhere_free(c.where);
    redact_free(c.red);
    free(o.models);
    free(o.users);
    free(o.regexes);
    if (rc && err[0])
        fprintf(stderr, PROG ": fatal: %s\n", err);
    if (rc)
        return rc;
    return c.rows || quiet ? EXIT_OK : EXIT_NO;
}
