/* llm-stats — usage, cost, latency and error statistics from captures:
 * an aligned table, JSON, CSV, Prometheus text, an HTML report; --follow
 * for a live stream; --serve for the usage API. See llm-stats(1). */
#include "stats.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

int serve_run(const cfg_t *c, const char *listen, const enum dim *by, int nby);

enum fmt { F_TABLE, F_JSON, F_CSV, F_PROM, F_NONE };

typedef struct {
    cfg_t cfg;
    enum fmt fmt;
    int wide;
    const char *out_file, *html_file, *title;
    enum dim by[DIM_N];
    int nby;
    report_meta_t meta;
    html_views_t hv;
    int clear;                      /* clear the terminal before a refresh */
} opts_t;

static void usage(FILE *f)
{
    fputs("usage: llm-stats [--by DIMS] [--json | --csv | --prom] [--wide] [--html FILE] [-o FILE]\n"
          "                 [--date DAY | --since TIME] [--until TIME] [--tz ZONE] [--where JQ]\n"
          "                 [--prices FILE] [--key FILE] [--strict] [--follow [--interval DUR]]\n"
          "                 [FILE | DIR | -]...\n"
          "       llm-stats --serve [--listen ADDR:PORT] [--by DIMS] [--tz ZONE] DIR...\n"
          "       llm-stats --show-prices [--prices FILE]\n"
          "DIMS: model,user,upstream,route,day,hour,status (default model)\n", f);
}

static void fatal(int code, const char *fmt, const char *a)
{
    fprintf(stderr, PROG ": fatal: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    exit(code);
}

/* A write to stdout or a file failed: EPIPE is a reader that left (exit
 * quietly), anything else (a full disk) is a temporary failure. */
static int write_failed(const char *what)
{
    if (errno == EPIPE) return EXIT_OK;
    fprintf(stderr, PROG ": fatal: unable to write %s: %s\n", what, strerror(errno));
    return EXIT_TEMP;
}

static int emit_format(FILE *f, const opts_t *o, const agg_t *a)
{
    switch (o->fmt) {
    case F_JSON: {
        json_t *j = report_json(a, o->hv.main, &o->meta);
        char *s = j ? json_dumps(j, REPORT_DUMP_FLAGS) : NULL;
        json_decref(j);
        if (!s) { errno = ENOMEM; return -1; }
        int rc = fputs(s, f) < 0 || fputc('\n', f) < 0 ? -1 : 0;
        free(s);
        return rc;
    }
    case F_CSV: return out_csv(f, a, o->hv.main);
    case F_PROM: return out_prom(f, a, o->hv.main);
    case F_TABLE: return out_table(f, a, o->hv.main, o->wide);
    default: return 0;
    }
}

/* write to path through path.tmp and rename: readers (node_exporter, a
 * browser) never see half a file */
static int emit_file(const char *path, const opts_t *o, const agg_t *a, int html)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device or a pipe: written in place, never replaced */
        FILE *f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, PROG ": fatal: unable to open %s: %s\n", path, strerror(errno));
            return EXIT_TEMP;
        }
        int bad = html ? out_html(f, a, &o->hv, &o->meta) : emit_format(f, o, a);
        if (fclose(f)) bad = -1;
        return bad ? write_failed(path) : EXIT_OK;
    }
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) return write_failed(path);
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, PROG ": fatal: unable to open %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return EXIT_TEMP;
    }
    int bad = html ? out_html(f, a, &o->hv, &o->meta) : emit_format(f, o, a);
    int e = errno;
    if (fclose(f) && !bad) { bad = -1; e = errno; }
    if (!bad && rename(tmp, path)) { bad = -1; e = errno; }
    if (bad) {
        unlink(tmp);
        free(tmp);
        errno = e;
        return write_failed(path);
    }
    free(tmp);
    return EXIT_OK;
}

static int emit(const opts_t *o, const agg_t *a)
{
    int rc = EXIT_OK;
    if (o->fmt != F_NONE) {
        if (o->out_file) {
            rc = emit_file(o->out_file, o, a, 0);
        } else {
            if (o->clear) fputs("\033[H\033[2J", stdout);
            if (emit_format(stdout, o, a) || fflush(stdout)) rc = write_failed("stdout");
        }
    }
    if (!rc && o->html_file) rc = emit_file(o->html_file, o, a, 1);
    return rc;
}

/* ---- --follow: a thread prints the summary every interval and on
 * SIGINT/SIGTERM; the reading thread holds the lock while it counts */
typedef struct {
    pthread_mutex_t mu;
    opts_t *o;
    agg_t *a;
    scan_t *s;
    long interval_ms;
    sigset_t sigs;
    volatile int stop;
} follow_ctx_t;

static void f_lock(void *p) { pthread_mutex_lock(&((follow_ctx_t *)p)->mu); }
static void f_unlock(void *p) { pthread_mutex_unlock(&((follow_ctx_t *)p)->mu); }

static int refresh(follow_ctx_t *fc)
{
    if (scan_report_open(fc->s)) { errno = ENOMEM; return write_failed("summary"); }
    return emit(fc->o, fc->a);
}

static void *printer(void *p)
{
    follow_ctx_t *fc = p;
    for (;;) {
        struct timespec ts = { fc->interval_ms / 1000, (fc->interval_ms % 1000) * 1000000 };
        int sig = sigtimedwait(&fc->sigs, NULL, &ts);
        if (sig < 0 && errno == EINTR) continue;
        pthread_mutex_lock(&fc->mu);
        int rc = refresh(fc);
        if (sig > 0 || rc) {
            /* the reader may be blocked in read(2) on a pipe: end here */
            fflush(stdout);
            _exit(rc);
        }
        pthread_mutex_unlock(&fc->mu);
    }
    return NULL;
}

static int run_follow(opts_t *o, agg_t *a, scan_t *s, long interval_ms)
{
    char err[ERRBUF_SIZE];
    src_t *src;
    int n, rc = sources_plan(&o->cfg, o->meta.since_us, o->meta.until_us, &src, &n, err, sizeof err);
    if (rc) fatal(rc, "%s", err);
    if (n == 0) { sources_free(src, n); fatal(EXIT_USAGE, "%s", "--follow: nothing to follow"); }
    follow_ctx_t fc = { .o = o, .a = a, .s = s, .interval_ms = interval_ms };
    pthread_mutex_init(&fc.mu, NULL);
    sigemptyset(&fc.sigs);
    sigaddset(&fc.sigs, SIGINT);
    sigaddset(&fc.sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &fc.sigs, NULL);
    follow_t f = { f_lock, f_unlock, &fc, &fc.stop };
    pthread_t th;
    if (pthread_create(&th, NULL, printer, &fc)) fatal(EXIT_TEMP, "%s", "unable to start a thread");
    /* everything but the last source is read to its end; the last one is
     * followed (a directory's newest file; stdin until its writer ends) */
    for (int i = 0; !rc && i < n; i++) {
        src[i].completion = 0;
        rc = read_source(&o->cfg, s, a, &src[i], o->meta.until_us, i == n - 1 ? &f : NULL, err, sizeof err);
    }
    sources_free(src, n);
    pthread_mutex_lock(&fc.mu);
    if (rc) {
        fflush(stdout);
        fprintf(stderr, PROG ": fatal: %s\n", err);
        _exit(rc);
    }
    rc = refresh(&fc);               /* stdin ended: the final summary */
    fflush(stdout);
    _exit(rc);
}

static long long parse_count(const char *s, const char *flag)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v <= 0) fatal(EXIT_USAGE, "%s: a positive number is required", flag);
    return v;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        { "by", 1, 0, 'b' }, { "json", 0, 0, 'J' }, { "csv", 0, 0, 'C' }, { "prom", 0, 0, 'P' },
        { "table", 0, 0, 'T' }, { "wide", 0, 0, 'w' }, { "html", 1, 0, 'H' }, { "output", 1, 0, 'o' },
        { "since", 1, 0, 's' }, { "until", 1, 0, 'u' }, { "date", 1, 0, 'd' }, { "tz", 1, 0, 'z' },
        { "where", 1, 0, 'W' }, { "prices", 1, 0, 'p' }, { "show-prices", 0, 0, 'S' },
        { "key", 1, 0, 'k' }, { "strict", 0, 0, 'x' }, { "follow", 0, 0, 'f' },
        { "interval", 1, 0, 'i' }, { "serve", 0, 0, 'r' }, { "listen", 1, 0, 'l' },
        { "max-line", 1, 0, 'm' }, { "max-open", 1, 0, 'M' }, { "title", 1, 0, 't' },
        { "help", 0, 0, 'h' }, { "version", 0, 0, 'V' }, { 0, 0, 0, 0 },
    };
    opts_t o = { .fmt = F_TABLE };
    const char *by = "model", *since = NULL, *until = NULL, *date = NULL, *tzname = "UTC";
    const char *where = NULL, *prices = NULL, *interval = "5s", *listen = "127.0.0.1:8090";
    int show_prices = 0, follow = 0, serve = 0, fmt_set = 0;
    char err[ERRBUF_SIZE];
    int c;
    while ((c = getopt_long(argc, argv, "b:o:fhV", lo, NULL)) != -1) {
        switch (c) {
        case 'b': by = optarg; break;
        case 'J': o.fmt = F_JSON; fmt_set++; break;
        case 'C': o.fmt = F_CSV; fmt_set++; break;
        case 'P': o.fmt = F_PROM; fmt_set++; break;
        case 'T': o.fmt = F_TABLE; fmt_set++; break;
        case 'w': o.wide = 1; break;
        case 'H': o.html_file = optarg; break;
        case 'o': o.out_file = optarg; break;
        case 's': since = optarg; break;
        case 'u': until = optarg; break;
        case 'd': date = optarg; break;
        case 'z': tzname = optarg; break;
        case 'W': where = optarg; break;
        case 'p': prices = optarg; break;
        case 'S': show_prices = 1; break;
        case 'k': o.cfg.key_file = optarg; break;
        case 'x': o.cfg.strict = 1; break;
        case 'f': follow = 1; break;
        case 'i': interval = optarg; break;
        case 'r': serve = 1; break;
        case 'l': listen = optarg; break;
        case 'm': {
            long long v = config_size_str(optarg);
            if (v <= 0) fatal(EXIT_USAGE, "%s", "--max-line: a size is required (16MiB, 64M, ...)");
            o.cfg.max_line = (size_t)v;
            break;
        }
        case 'M': o.cfg.max_open = (size_t)parse_count(optarg, "--max-open"); break;
        case 't': o.title = optarg; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': puts("llm-stats " PLLM_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (fmt_set > 1) fatal(EXIT_USAGE, "%s", "choose one of --json, --csv, --prom, --table");
    if (o.html_file && !fmt_set && !o.out_file) o.fmt = F_NONE;
    if (date && (since || until)) fatal(EXIT_USAGE, "%s", "--date goes alone, without --since or --until");
    if (serve && follow) fatal(EXIT_USAGE, "%s", "--serve and --follow do not go together");
    if (serve && optind == argc) fatal(EXIT_USAGE, "%s", "--serve: name the capture directory");
    signal(SIGPIPE, SIG_IGN);

    if (prices_load(&o.cfg.prices, prices, err, sizeof err)) fatal(EXIT_USAGE, "%s", err);
    if (show_prices) {
        printf("# prices of %s (%s), USD per 1M tokens\n%-28s %9s %9s %9s %11s\n", o.cfg.prices.taken,
               o.cfg.prices.source, "MODEL", "INPUT", "OUTPUT", "CACHED", "CACHE_WRITE");
        for (size_t i = 0; i < o.cfg.prices.n; i++) {
            const price_t *p = &o.cfg.prices.v[i];
            printf("%-28s %9.4g %9.4g %9.4g %11.4g\n", p->model, p->input, p->output, p->cached,
                   p->cache_write >= 0 ? p->cache_write : p->input);
        }
        prices_free(&o.cfg.prices);
        return fflush(stdout) ? write_failed("stdout") : EXIT_OK;
    }
    if ((o.nby = dims_parse(by, o.by, err, sizeof err)) <= 0)
        fatal(EXIT_USAGE, "--by: %s", o.nby < 0 ? err : "name at least one grouping");
    if (zone_set(&o.cfg.tz, tzname, err, sizeof err)) fatal(EXIT_USAGE, "--tz: %s", err);
    int64_t now = clock_wall_us();
    o.meta.since_us = INT64_MIN;
    o.meta.until_us = INT64_MAX;
    o.meta.tz = tzname;
    o.meta.title = o.title;
    if (date) {
        if (zone_parse_time(&o.cfg.tz, date, 0, now, &o.meta.since_us) ||
            zone_parse_time(&o.cfg.tz, date, 1, now, &o.meta.until_us) || strlen(date) != 10)
            fatal(EXIT_USAGE, "--date: not a day (YYYY-MM-DD): %s", date);
    }
    if (since && zone_parse_time(&o.cfg.tz, since, 0, now, &o.meta.since_us))
        fatal(EXIT_USAGE, "--since: not a day, a time or a duration: %s", since);
    if (until && zone_parse_time(&o.cfg.tz, until, 1, now, &o.meta.until_us))
        fatal(EXIT_USAGE, "--until: not a day, a time or a duration: %s", until);
    if (where && !(o.cfg.where = jqwhere_compile(where, "--where", err, sizeof err))) fatal(EXIT_USAGE, "%s", err);
    long long interval_ms = config_duration_ms_str(interval);
    if (interval_ms <= 0) fatal(EXIT_USAGE, "--interval: a duration is required (5s, 1m, ...)%s", "");

    static char dash[] = "-";
    static char *stdin_only[] = { dash };
    o.cfg.inputs = optind < argc ? argv + optind : stdin_only;
    o.cfg.ninputs = optind < argc ? argc - optind : 1;

    if (serve) {
        int rc = serve_run(&o.cfg, listen, o.by, o.nby);
        jqwhere_free(o.cfg.where);
        prices_free(&o.cfg.prices);
        return rc;
    }

    agg_t a;
    if (agg_init(&a, &o.cfg.prices)) fatal(EXIT_TEMP, "%s", "out of memory");
    o.hv.main = agg_add_view(&a, o.by, o.nby);
    o.hv.day = o.hv.hour = o.hv.model = o.hv.user = -1;
    if (o.html_file) {
        static const enum dim d_day[] = { DIM_DAY }, d_hour[] = { DIM_HOUR }, d_model[] = { DIM_MODEL },
                              d_user[] = { DIM_USER };
        o.hv.day = agg_add_view(&a, d_day, 1);
        o.hv.hour = agg_add_view(&a, d_hour, 1);
        o.hv.model = agg_add_view(&a, d_model, 1);
        o.hv.user = agg_add_view(&a, d_user, 1);
    }
    if (o.hv.main < 0 || (o.html_file && o.hv.user < 0)) fatal(EXIT_TEMP, "%s", "out of memory");
    scan_opts_t so = { .since_us = o.meta.since_us, .until_us = o.meta.until_us, .tz = &o.cfg.tz,
                       .where = o.cfg.where, .max_open = o.cfg.max_open };
    scan_t *s = scan_new(&a, &so);
    if (!s) fatal(EXIT_TEMP, "%s", "out of memory");
    if (follow) {
        o.clear = o.fmt == F_TABLE && !o.out_file && isatty(1);
        return run_follow(&o, &a, s, (long)interval_ms);
    }
    int rc = collect(&o.cfg, s, &a, o.meta.since_us, o.meta.until_us, err, sizeof err);
    if (rc) fprintf(stderr, PROG ": fatal: %s\n", err);
    else {
        if (a.malformed > 10)
            fprintf(stderr, PROG ": warning: %llu malformed lines skipped\n", (unsigned long long)a.malformed);
        rc = emit(&o, &a);
    }
    scan_free(s);
    agg_free(&a);
    jqwhere_free(o.cfg.where);
    prices_free(&o.cfg.prices);
    return rc;
}
