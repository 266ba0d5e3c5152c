/* main.c — llm-tee: flags, start-up, the epoll loop, signals, shutdown.
 * One process, one loop: stdin and/or listening unix sockets and their
 * connections in, day files out, an optional copy on stdout. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include "tee.h"
#include "clock.h"
#include "config.h"
#include "err.h"

const char *progname = "llm-tee";
static int quiet;

void tee_log(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (quiet && strncmp(msg, "warning", 7) && strncmp(msg, "error", 5) && strncmp(msg, "fatal", 5)) return;
    fprintf(stderr, "%s: %s\n", progname, msg);
}

/* at most 10 such lines a second; the rest are counted and summed up */
void tee_warn_limited(tee_t *t, const char *fmt, ...)
{
    int64_t now = clock_mono_us();
    if (now >= t->warn_at) {
        if (t->warn_skipped)
            tee_log("warning: %llu more warnings like the above were not shown", (unsigned long long)t->warn_skipped);
        t->warn_skipped = 0;
        t->warn_burst = 0;
        t->warn_at = now + 1000000;
    }
    if (t->warn_burst++ >= 10) { t->warn_skipped++; return; }
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tee_log("%s", msg);
}

static void usage(FILE *f)
{
    fprintf(f,
"usage: llm-tee -d DIR [--listen unix:PATH]... [--stdin] [-o -] [--fsync always|interval=MS|never]\n"
"               [--tz ZONE] [--rotate-size SIZE] [--compress zstd|gzip|none] [--keep-days N]\n"
"               [--max-total SIZE] [--encrypt-key FILE] [--max-line SIZE] [--copy-buffer SIZE]\n"
"               [--drain-timeout DUR] [--close-idle DUR] [-q]\n"
"       llm-tee --prune -d DIR [--keep-days N] [--max-total SIZE] [--tz ZONE] [--dry-run]\n"
"       llm-tee --cat [--encrypt-key FILE] (FILE... | -d DIR --day YYYY-MM-DD)\n"
"See llm-tee(1).\n");
}

static void fatal(int code, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: fatal: ", progname);
    fprintf(stderr, fmt, a, b ? b : "");
    fputc('\n', stderr);
    exit(code);
}

static long long flag_size(const char *name, const char *v, int zero_ok)
{
    long long n = config_size_str(v);
    if (n < 0 || (n == 0 && !zero_ok)) fatal(EXIT_USAGE, "%s: bad size '%s'", name, v);
    return n;
}

static long flag_ms(const char *name, const char *v)
{
    long long n = config_duration_ms_str(v);
    if (n < 0) fatal(EXIT_USAGE, "%s: bad duration '%s'", name, v);
    return (long)n;
}

enum { O_LISTEN = 256, O_STDIN, O_FSYNC, O_TZ, O_MAXLINE, O_ROTATE, O_COMPRESS, O_KEEP, O_MAXTOTAL,
       O_KEY, O_COPYBUF, O_DRAIN, O_IDLE, O_PRUNE, O_DRY, O_CAT, O_DAY, O_MAINT };

static const struct option opts[] = {
    { "dir", required_argument, 0, 'd' }, { "listen", required_argument, 0, O_LISTEN },
    { "stdin", no_argument, 0, O_STDIN }, { "output", required_argument, 0, 'o' },
    { "fsync", required_argument, 0, O_FSYNC }, { "tz", required_argument, 0, O_TZ },
    { "max-line", required_argument, 0, O_MAXLINE }, { "rotate-size", required_argument, 0, O_ROTATE },
    { "compress", required_argument, 0, O_COMPRESS }, { "keep-days", required_argument, 0, O_KEEP },
    { "max-total", required_argument, 0, O_MAXTOTAL }, { "encrypt-key", required_argument, 0, O_KEY },
    { "copy-buffer", required_argument, 0, O_COPYBUF }, { "drain-timeout", required_argument, 0, O_DRAIN },
    { "close-idle", required_argument, 0, O_IDLE }, { "maintenance-interval", required_argument, 0, O_MAINT },
    { "prune", no_argument, 0, O_PRUNE }, { "dry-run", no_argument, 0, O_DRY },
    { "cat", no_argument, 0, O_CAT }, { "day", required_argument, 0, O_DAY },
    { "quiet", no_argument, 0, 'q' }, { "version", no_argument, 0, 'V' }, { "help", no_argument, 0, 'h' },
    { 0, 0, 0, 0 }
};

#define TAG_LISTEN 1
#define TAG_SIGNAL 2
#define TAG_STDOUT 3

static void on_signal(tee_t *t)
{
    struct signalfd_siginfo si;
    while (read(t->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        switch (si.ssi_signo) {
        case SIGTERM: case SIGINT:
            if (!t->stopping) {
                t->stopping = 1;
                t->drain_deadline = clock_mono_us() + (int64_t)t->c->drain_ms * 1000;
                tee_log("stopping: taking what the writers sent (up to %ld ms)", t->c->drain_ms);
                sd_notify(0, "STOPPING=1");
                input_stop_listening(t);
                input_goodbye(t);
                maint_stop(t);
            }
            break;
        case SIGHUP: t->hup = 1; break;
        case SIGCHLD: maint_child_done(t); break;
        }
    }
}

static int next_timeout(tee_t *t, int64_t now)
{
    int64_t next = t->next_tick;
    if (t->c->fsync_mode == FS_INTERVAL && t->next_fsync < next) next = t->next_fsync;
    if (t->next_maint < next) next = t->next_maint;
    if (t->stopping && t->drain_deadline < next) next = t->drain_deadline;
    if (t->write_failing && t->retry_at < next) next = t->retry_at;
    for (conn_t *c = t->conns; c; c = c->next) if (c->always && !t->write_failing) return 0;
    int64_t d = next - now;
    return d <= 0 ? 0 : (int)((d + 999) / 1000);
}

static int run(tee_t *t)
{
    struct epoll_event evs[64];
    int paused = 0;
    int64_t now = clock_mono_us();
    t->next_tick = now + 1000000;
    t->next_fsync = now + (int64_t)t->c->fsync_ms * 1000;
    t->next_maint = now;
    for (;;) {
        now = clock_mono_us();
        int n = epoll_wait(t->epfd, evs, 64, next_timeout(t, now));
        if (n < 0 && errno != EINTR) { tee_log("fatal: epoll_wait: %s", strerror(errno)); return -1; }
        t->now = clock_mono_us();
        for (int i = 0; i < n; i++) {
            uint64_t u = evs[i].data.u64;
            switch (u & 3) {
            case 0: input_read(t, (conn_t *)evs[i].data.ptr); break;
            case TAG_LISTEN: if (!t->stopping) input_accept(t, (int)(u >> 8)); break;
            case TAG_SIGNAL: on_signal(t); break;
            case TAG_STDOUT: copy_flush(t); break;
            }
        }
        if (!paused) {
            for (conn_t *c = t->conns, *nx; c; c = nx) { nx = c->next; if (c->always) input_read(t, c); }
        }
        /* the turn's lines to disk, then (durable) to the copy */
        now = clock_mono_us();
        int ok = (!t->write_failing || now >= t->retry_at) ? store_flush_all(t) == 0 : 0;
        if (ok && t->c->fsync_mode == FS_ALWAYS && store_sync_all(t) < 0) ok = 0;
        if (ok) copy_commit(t);
        copy_flush(t);
        if (!ok) t->retry_at = now + 1000000;
        if ((!ok) != paused) { paused = !ok; input_pause(t, paused); }
        if (t->c->fsync_mode == FS_INTERVAL && now >= t->next_fsync) {
            store_sync_all(t);
            t->next_fsync = now + (int64_t)t->c->fsync_ms * 1000;
        }
        if (t->hup) {
            t->hup = 0;
            store_close_all(t);
            tee_log("SIGHUP: files closed; they are opened again for the next line");
        }
        if (now >= t->next_tick) { store_tick(t, now); t->next_tick = now + 1000000; }
        if (now >= t->next_maint && !t->stopping) { maint_run(t); t->next_maint = now + (int64_t)t->c->maint_ms * 1000; }
        if (t->stopping) {
            if (!t->conns) return 0;
            if (now >= t->drain_deadline) {
                for (conn_t *c = t->conns, *nx; c; c = nx) {
                    nx = c->next;
                    tee_log("warning: %s did not close in time; taking what it sent so far", c->name);
                    if (input_read(t, c) == 0) input_close(t, c);
                }
                return 0;
            }
        } else if (!t->conns && t->nlfds == 0) {
            return 0;   /* stdin ended and nothing listens */
        }
    }
}

static int final_flush(tee_t *t)
{
    int rc = store_flush_all(t);
    if (rc == 0) copy_commit(t);
    uint64_t held = store_pending(t);
    store_close_all(t);
    if (t->c->copy && !t->copy_dead) {   /* give stdout a moment for the rest */
        int64_t end = clock_mono_us() + 1000000;
        while (buf_len(&t->copy) > 0 && !t->copy_dead && clock_mono_us() < end) {
            copy_flush(t);
            struct pollfd p = { .fd = 1, .events = POLLOUT };
            if (buf_len(&t->copy)) poll(&p, 1, 50);
        }
        if (buf_len(&t->copy)) t->copy_dropped++;
    }
    tee_log("stopped: %llu lines written, %llu rejected, %llu without ts, %llu unfinished lines dropped at disconnect%s%llu copy drops",
            (unsigned long long)t->accepted, (unsigned long long)t->rejected, (unsigned long long)t->no_ts,
            (unsigned long long)t->partial_dropped, ", ", (unsigned long long)t->copy_dropped);
    if (held) { tee_log("error: %llu bytes could not be written", (unsigned long long)held); return -1; }
    return 0;
}

int main(int argc, char **argv)
{
    tee_conf_t c = {
        .fsync_mode = FS_INTERVAL, .fsync_ms = 1000, .max_line = 64u << 20,
        .rotate_size = 1LL << 30, .compress = COMP_ZSTD, .copy_buffer = 0,
        .drain_ms = 5000, .close_idle_ms = 600000, .maint_ms = 60000,
    };
    const char **listens = calloc((size_t)argc + 1, sizeof *listens);
    const char *day = NULL;
    int prune = 0, dry = 0, cat = 0, want_stdin = 0, ch;
    long long copybuf = 0;
    while ((ch = getopt_long(argc, argv, "d:o:qVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'd': c.dir = optarg; break;
        case 'o':
            if (strcmp(optarg, "-")) fatal(EXIT_USAGE, "-o: only '-' (stdout) is supported, not '%s'", optarg, NULL);
            c.copy = 1;
            break;
        case 'q': quiet = c.quiet = 1; break;
        case 'V': printf("llm-tee %s\n", PLLM_VERSION); free(listens); return 0;
        case 'h': usage(stdout); free(listens); return 0;
        case O_LISTEN: listens[c.nlisten++] = optarg; break;
        case O_STDIN: want_stdin = 1; break;
        case O_FSYNC:
            if (!strcmp(optarg, "always")) c.fsync_mode = FS_ALWAYS;
            else if (!strcmp(optarg, "never")) c.fsync_mode = FS_NEVER;
            else if (!strncmp(optarg, "interval=", 9)) {
                char *e;
                long v = strtol(optarg + 9, &e, 10);
                if (e == optarg + 9 || *e || v <= 0) fatal(EXIT_USAGE, "--fsync: bad interval '%s'", optarg, NULL);
                c.fsync_mode = FS_INTERVAL; c.fsync_ms = v;
            } else fatal(EXIT_USAGE, "--fsync: '%s' is not always, interval=MS or never", optarg, NULL);
            break;
        case O_TZ: c.tz = optarg; break;
        case O_MAXLINE: c.max_line = (size_t)flag_size("--max-line", optarg, 0); break;
        case O_ROTATE: c.rotate_size = flag_size("--rotate-size", optarg, 1); break;
        case O_COMPRESS:
            if (!strcmp(optarg, "zstd")) c.compress = COMP_ZSTD;
            else if (!strcmp(optarg, "gzip")) c.compress = COMP_GZIP;
            else if (!strcmp(optarg, "none")) c.compress = COMP_NONE;
            else fatal(EXIT_USAGE, "--compress: '%s' is not zstd, gzip or none", optarg, NULL);
            break;
        case O_KEEP: {
            char *e;
            long v = strtol(optarg, &e, 10);
            if (e == optarg || *e || v < 1 || v > 1000000) fatal(EXIT_USAGE, "--keep-days: '%s' is not a number of days (1 or more)", optarg, NULL);
            c.keep_days = (int)v;
            break;
        }
        case O_MAXTOTAL: c.max_total = flag_size("--max-total", optarg, 0); break;
        case O_KEY: c.key_file = optarg; break;
        case O_COPYBUF: copybuf = flag_size("--copy-buffer", optarg, 0); break;
        case O_DRAIN: c.drain_ms = flag_ms("--drain-timeout", optarg); break;
        case O_IDLE: c.close_idle_ms = flag_ms("--close-idle", optarg); break;
        case O_MAINT: c.maint_ms = flag_ms("--maintenance-interval", optarg); if (c.maint_ms < 10) c.maint_ms = 10; break;
        case O_PRUNE: prune = 1; break;
        case O_DRY: dry = 1; break;
        case O_CAT: cat = 1; break;
        case O_DAY: day = optarg; break;
        default: usage(stderr); free(listens); return EXIT_USAGE;
        }
    }
    if (c.max_line < (16u << 20)) fatal(EXIT_USAGE, "--max-line: at least 16MiB%s%s", "", NULL);
    c.copy_buffer = copybuf ? (size_t)copybuf : c.max_line;
    if (cat) {
        int rc = cat_main(c.dir, day, c.key_file, c.max_line, argv + optind, argc - optind);
        free(listens);
        return rc;
    }
    if (optind < argc) { usage(stderr); free(listens); return EXIT_USAGE; }
    if (!c.dir) { usage(stderr); free(listens); return EXIT_USAGE; }
    c.listen = listens;

    char err[ERRBUF_SIZE];
    tee_t t = { .c = &c, .lockfd = -1, .sigfd = -1 };
    if (day_setup(&t, c.tz, err, sizeof err) < 0) fatal(EXIT_USAGE, "%s%s", err, NULL);
    if (prune) {
        if (!c.keep_days && !c.max_total) fatal(EXIT_USAGE, "--prune needs --keep-days or --max-total%s%s", "", NULL);
        int rc = maint_prune(c.dir, &t, c.keep_days, c.max_total, dry, err, sizeof err);
        free(listens);
        if (rc < 0) fatal(EXIT_TEMP, "%s%s", err, NULL);
        return 0;
    }
    if (c.key_file) {
        t.keys = crypt_keys_load(c.key_file, err, sizeof err);
        if (!t.keys) fatal(EXIT_USAGE, "--encrypt-key: %s%s", err, NULL);
        char id[17];
        crypt_key_id_hex(t.keys, 0, id);
        tee_log("encrypting with key %s", id);
    }

    signal(SIGPIPE, SIG_IGN);
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT); sigaddset(&ss, SIGHUP); sigaddset(&ss, SIGCHLD);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    t.epfd = epoll_create1(EPOLL_CLOEXEC);
    t.sigfd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    struct epoll_event sev = { .events = EPOLLIN, .data.u64 = (uint64_t)t.sigfd << 8 | TAG_SIGNAL };
    if (t.epfd < 0 || t.sigfd < 0 || epoll_ctl(t.epfd, EPOLL_CTL_ADD, t.sigfd, &sev) < 0)
        fatal(EXIT_TEMP, "unable to set up the event loop: %s%s", strerror(errno), NULL);
    if (store_lock_dir(&t, err, sizeof err) < 0) fatal(EXIT_TEMP, "%s%s", err, NULL);
    int from_systemd = input_systemd(&t);
    for (size_t i = 0; i < c.nlisten; i++)
        if (input_listen(&t, c.listen[i], err, sizeof err) < 0) fatal(EXIT_TEMP, "%s%s", err, NULL);
    c.use_stdin = want_stdin || (!from_systemd && c.nlisten == 0);
    if (c.use_stdin && !input_add(&t, 0, 1, "stdin")) fatal(EXIT_TEMP, "stdin: %s%s", strerror(errno), NULL);
    if (c.copy) copy_setup(&t);
    sd_notify(0, "READY=1");

    int rc = run(&t) < 0 ? EXIT_TEMP : 0;
    while (t.conns) input_close(&t, t.conns);
    if (t.nlfds) input_stop_listening(&t);
    if (final_flush(&t) < 0) rc = EXIT_TEMP;
    maint_stop(&t);
    buf_free(&t.copy); buf_free(&t.copy_wait);
    crypt_keys_free(t.keys);
    close(t.sigfd); close(t.epfd);
    if (t.lockfd >= 0) close(t.lockfd);
    free(listens);
    return rc;
}
