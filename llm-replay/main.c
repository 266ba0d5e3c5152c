/* llm-replay — re-send captured requests to a target and report what
 * changed (one diff record per exchange, a summary, --fail-on thresholds
 * for CI); or, with --serve, answer as a recorded upstream. See
 * llm-replay(1). */
#include "replay.h"
#include "err.h"
#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: llm-replay --target URL [--concurrency N] [--rate R | --timing original [--speed X]]\n"
          "                  [--where JQ] [--limit N] [--model M] [--header 'NAME: VALUE']...\n"
          "                  [--fail-on LIST] [--timeout SECS] [--max-body SIZE] [-o FILE] [--dry-run]\n"
          "                  [--key FILE] [--strict] [-q] [FILE... | -d DIR --date D]\n"
          "       llm-replay --serve [--listen ADDR:PORT] [--speed X] [--fallback URL] [--where JQ]\n"
          "                  [--key FILE] [--strict] [FILE... | -d DIR --date D]\n"
          "LIST: status,shape,text,tools,finish,usage,text<X,latency>Nx,ttft>Nx,tokens>Nx,all,none\n", f);
}

static void die(int code, const char *msg)
{
    fprintf(stderr, PROG ": fatal: %s\n", msg);
    exit(code);
}

static void bad_usage(const char *msg)
{
    if (msg) fprintf(stderr, PROG ": fatal: %s\n", msg);
    usage(stderr);
    exit(EXIT_USAGE);
}

static long num_arg(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        char m[160];
        snprintf(m, sizeof m, "%s: not a number from %ld to %ld: %s", opt, lo, hi, s);
        bad_usage(m);
    }
    return v;
}

static double real_arg(const char *opt, const char *s, double lo)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo) || v > 1e9) {
        char m[160];
        snprintf(m, sizeof m, "%s: not a number of at least %g: %s", opt, lo, s);
        bad_usage(m);
    }
    return v;
}

/* 123, 64k, 16M, 1G */
static size_t size_arg(const char *opt, const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned long long mult = 1;
    if (*end == 'k' || *end == 'K') mult = 1ull << 10, end++;
    else if (*end == 'm' || *end == 'M') mult = 1ull << 20, end++;
    else if (*end == 'g' || *end == 'G') mult = 1ull << 30, end++;
    if (end == s || *end || v == 0 || v > (1ull << 40) / mult) {
        char m[160];
        snprintf(m, sizeof m, "%s: not a size (123, 64k, 16M, 1G): %s", opt, s);
        bad_usage(m);
    }
    return (size_t)(v * mult);
}

/* "Name: value" with ${VAR} in the value taken from the environment (so a
 * key need not appear on the command line). A new string, or NULL and a
 * message in err. */
static char *header_arg(const char *s, char *err, size_t errlen)
{
    size_t nl = strcspn(s, ":");
    if (!nl || !s[nl]) {
        snprintf(err, errlen, "--header: not 'Name: value': %s", s);
        return NULL;
    }
    for (size_t i = 0; i < nl; i++)
        if (!isgraph((unsigned char)s[i]) || strchr("()<>@,;\\\"/[]?={}", s[i])) {
            snprintf(err, errlen, "--header: not a header name: %.*s", (int)nl, s);
            return NULL;
        }
    buf_t b;
    buf_init(&b, 1 << 20);
    int bad = buf_append(&b, s, nl + 1);
    for (const char *p = s + nl + 1; *p && !bad;) {
        if (p[0] == '$' && p[1] == '{') {
            const char *e = strchr(p + 2, '}');
            if (!e) break;
            char name[256];
            size_t n = (size_t)(e - p - 2);
            if (n == 0 || n >= sizeof name) break;
            memcpy(name, p + 2, n);
            name[n] = 0;
            const char *v = getenv(name);
            if (!v) {
                snprintf(err, errlen, "--header: %s is not set", name);
                buf_free(&b);
                return NULL;
            }
            bad = buf_append_str(&b, v);
            p = e + 1;
        } else {
            bad = buf_append(&b, p, 1);
            p++;
        }
    }
    char *out = bad ? NULL : strdup(buf_ptr(&b));
    buf_free(&b);
    if (!out) snprintf(err, errlen, "--header: too long or out of memory");
    else if (strpbrk(out, "\r\n")) {
        snprintf(err, errlen, "--header: a value may not hold CR or LF");
        free(out);
        out = NULL;
    }
    return out;
}

enum {
    O_TARGET = 256, O_CONC, O_RATE, O_TIMING, O_SPEED, O_WHERE, O_LIMIT, O_DRY, O_MODEL, O_FAILON,
    O_TIMEOUT, O_MAXBODY, O_DATE, O_KEY, O_STRICT, O_SERVE, O_LISTEN, O_FALLBACK
};

static const struct option longopts[] = {
    { "target", required_argument, NULL, O_TARGET },
    { "concurrency", required_argument, NULL, O_CONC },
    { "rate", required_argument, NULL, O_RATE },
    { "timing", required_argument, NULL, O_TIMING },
    { "speed", required_argument, NULL, O_SPEED },
    { "where", required_argument, NULL, O_WHERE },
    { "limit", required_argument, NULL, O_LIMIT },
    { "dry-run", no_argument, NULL, O_DRY },
    { "model", required_argument, NULL, O_MODEL },
    { "header", required_argument, NULL, 'H' },
    { "fail-on", required_argument, NULL, O_FAILON },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "max-body", required_argument, NULL, O_MAXBODY },
    { "output", required_argument, NULL, 'o' },
    { "dir", required_argument, NULL, 'd' },
    { "date", required_argument, NULL, O_DATE },
    { "key", required_argument, NULL, O_KEY },
    { "strict", no_argument, NULL, O_STRICT },
    { "quiet", no_argument, NULL, 'q' },
    { "serve", no_argument, NULL, O_SERVE },
    { "listen", required_argument, NULL, O_LISTEN },
    { "fallback", required_argument, NULL, O_FALLBACK },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'V' },
    { NULL, 0, NULL, 0 }
};

static int run_replay(plan_opts_t *po, load_opts_t *lo, send_opts_t *so, int dry, int quiet)
{
    char err[ERRBUF_SIZE];
    plan_t plan = { .o = po };
    int rc = load_run(lo, plan_add, &plan, err, sizeof err);
    if (!rc && plan.rc) {
        rc = plan.rc;
        snprintf(err, sizeof err, "%s", plan.err);
    }
    if (rc) {
        plan_free(&plan);
        die(rc, err);
    }
    if (lo->malformed && !quiet)
        fprintf(stderr, PROG ": warning: %llu lines were not capture events\n", (unsigned long long)lo->malformed);
    plan_finish(&plan);
    if (dry) {
        int bad = plan_print(&plan, so->out);
        plan_free(&plan);
        if (bad && errno != EPIPE) {
            snprintf(err, sizeof err, "unable to write %s: %s", so->out_name, strerror(errno));
            die(EXIT_TEMP, err);
        }
        return EXIT_OK;
    }
    summary_t *s = summary_new();
    if (!s) { plan_free(&plan); die(EXIT_TEMP, "out of memory"); }
    rc = send_all(so, &plan, s, err, sizeof err);
    plan_free(&plan);
    if (rc < 0) {                               /* the reader went away */
        summary_free(s);
        return EXIT_OK;
    }
    if (rc) {
        summary_free(s);
        die(rc, err);
    }
    if (!quiet) summary_print(s, stderr, so->failon);
    if (summary_errors(s)) {
        fprintf(stderr, PROG ": %llu exchanges could not be replayed (network or I/O failure)\n",
                (unsigned long long)summary_errors(s));
        rc = EXIT_TEMP;
    } else if (summary_crossed(s)) {
        rc = EXIT_NO;
    }
    summary_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    plan_opts_t po = { 0 };
    load_opts_t lo = { 0 };
    serve_opts_t sv = { .listen = "127.0.0.1:8081", .speed = 1 };
    failon_t fo;
    failon_default(&fo);
    send_opts_t so = { .concurrency = 8, .timing = TIMING_NONE, .speed = 1, .timeout_s = 300,
                       .max_body = (size_t)64 << 20, .failon = &fo, .out = stdout, .out_name = "stdout" };
    const char *where = NULL, *out_file = NULL;
    int dry = 0, quiet = 0, serve = 0, speed_set = 0, conc_set = 0;
    char err[ERRBUF_SIZE];
    int c;
    while ((c = getopt_long(argc, argv, "H:o:d:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case O_TARGET: po.target = optarg; break;
        case O_CONC: so.concurrency = (int)num_arg("--concurrency", optarg, 1, 10000); conc_set = 1; break;
        case O_RATE: so.rate = real_arg("--rate", optarg, 0.001); so.timing = TIMING_RATE; break;
        case O_TIMING:
            if (strcmp(optarg, "original")) bad_usage("--timing: only 'original' is known");
            so.timing = TIMING_ORIGINAL;
            break;
        case O_SPEED: so.speed = sv.speed = real_arg("--speed", optarg, 0); speed_set = 1; break;
        case O_WHERE: where = optarg; break;
        case O_LIMIT: po.limit = num_arg("--limit", optarg, 1, 1000000000L); break;
        case O_DRY: dry = 1; break;
        case O_MODEL: po.model = so.model_sent = optarg; break;
        case 'H': {
            char *h = header_arg(optarg, err, sizeof err);
            if (!h) bad_usage(err);
            char **nv = realloc(po.headers, (size_t)(po.nheaders + 1) * sizeof *nv);
            if (!nv) die(EXIT_TEMP, "out of memory");
            po.headers = nv;
            po.headers[po.nheaders++] = h;
            break;
        }
        case O_FAILON: if (failon_parse(&fo, optarg, err, sizeof err)) bad_usage(err); break;
        case O_TIMEOUT: so.timeout_s = num_arg("--timeout", optarg, 1, 86400); break;
        case O_MAXBODY: so.max_body = size_arg("--max-body", optarg); break;
        case 'o': out_file = optarg; break;
        case 'd': lo.dir = optarg; break;
        case O_DATE: lo.date = optarg; break;
        case O_KEY: lo.key_file = optarg; break;
        case O_STRICT: lo.strict = 1; break;
        case 'q': quiet = 1; break;
        case O_SERVE: serve = 1; break;
        case O_LISTEN: sv.listen = optarg; break;
        case O_FALLBACK: sv.fallback = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("llm-replay %s\n", PLLM_VERSION); return EXIT_OK;
        default: bad_usage(NULL);
        }
    }
    lo.inputs = argv + optind;
    lo.ninputs = argc - optind;
    if (lo.dir && !lo.date) bad_usage("-d DIR needs --date D");
    if (lo.date && !lo.dir) bad_usage("--date needs -d DIR");
    if (lo.dir && lo.ninputs) bad_usage("files and -d DIR do not go together");
    if (serve) {
        if (po.target || dry || out_file || po.model || po.nheaders || so.timing != TIMING_NONE || po.limit || conc_set)
            bad_usage("--serve takes --listen, --speed, --fallback, --where, --key, --strict and the capture");
    } else {
        if (!po.target && !dry) bad_usage("--target URL is needed (or --serve, or --dry-run)");
        if (po.target && strncmp(po.target, "http://", 7) && strncmp(po.target, "https://", 8))
            bad_usage("--target: not an http:// or https:// URL");
        if (speed_set && so.timing != TIMING_ORIGINAL) bad_usage("--speed goes with --timing original");
        if (so.timing == TIMING_ORIGINAL && so.rate > 0) bad_usage("--rate and --timing original do not go together");
        if (sv.fallback) bad_usage("--fallback goes with --serve");
    }
    if (where && !(po.where = jqwhere_compile(where, "--where", err, sizeof err))) bad_usage(err);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) die(EXIT_TEMP, "unable to start libcurl");
    int rc;
    if (serve) {
        rc = serve_run(&sv, &lo, po.where, err, sizeof err);
        if (rc) fprintf(stderr, PROG ": fatal: %s\n", err);
    } else {
        if (out_file) {
            if (!(so.out = fopen(out_file, "w"))) {
                snprintf(err, sizeof err, "unable to open %s: %s", out_file, strerror(errno));
                die(EXIT_TEMP, err);
            }
            so.out_name = out_file;
        }
        rc = run_replay(&po, &lo, &so, dry, quiet);
        if (out_file && fclose(so.out) && !rc) {
            fprintf(stderr, PROG ": fatal: unable to write %s: %s\n", out_file, strerror(errno));
            rc = EXIT_TEMP;
        }
    }
    jqwhere_free(po.where);
    for (int i = 0; i < po.nheaders; i++) free(po.headers[i]);
    free(po.headers);
    curl_global_cleanup();
    return rc;
}
