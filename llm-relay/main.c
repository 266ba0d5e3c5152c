/* main.c — llm-relay: flags, configuration, start-up, signals, shutdown. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include "relay.h"
#include "config.h"
#include "err.h"

static void usage(FILE *f)
{
    fprintf(f,
"usage: llm-relay [-c FILE] [-n] [--listen ADDR:PORT]... [--upstream URL [--protocol P]\n"
"                 [--api-key-env VAR] [--pass-client-key]] [--capture SINK]\n"
"                 [--on-full block|drop] [--queue SIZE] [--capture-max-body SIZE]\n"
"                 [--max-body SIZE] [--drain-timeout DUR] [--client-close cancel|finish]\n"
"                 [--timeout DUR] [--workers N | --inetd] [-q] [-V]\n"
"SINK is '-' (stdout, the default), FILE, file:FILE, unix:PATH or none. See llm-relay(1).\n");
}

static void fatal(int code, const char *fmt, const char *a, const char *b)
{
    fprintf(stderr, "%s: fatal: ", progname);
    fprintf(stderr, fmt, a, b ? b : "");
    fputc('\n', stderr);
    exit(code);
}

enum { O_UPSTREAM = 256, O_PROTOCOL, O_KEYENV, O_PASSKEY, O_CAPTURE, O_ONFULL, O_QUEUE,
       O_CAPBODY, O_MAXBODY, O_DRAIN, O_CLOSE, O_TIMEOUT, O_INETD, O_WORKERS };

static const struct option opts[] = {
    { "config", required_argument, 0, 'c' }, { "check", no_argument, 0, 'n' },
    { "listen", required_argument, 0, 'l' }, { "upstream", required_argument, 0, O_UPSTREAM },
    { "protocol", required_argument, 0, O_PROTOCOL }, { "api-key-env", required_argument, 0, O_KEYENV },
    { "pass-client-key", no_argument, 0, O_PASSKEY }, { "capture", required_argument, 0, O_CAPTURE },
    { "on-full", required_argument, 0, O_ONFULL }, { "queue", required_argument, 0, O_QUEUE },
    { "capture-max-body", required_argument, 0, O_CAPBODY }, { "max-body", required_argument, 0, O_MAXBODY },
    { "drain-timeout", required_argument, 0, O_DRAIN }, { "client-close", required_argument, 0, O_CLOSE },
    { "timeout", required_argument, 0, O_TIMEOUT },
    { "inetd", no_argument, 0, O_INETD }, { "workers", required_argument, 0, O_WORKERS },
    { "quiet", no_argument, 0, 'q' }, { "version", no_argument, 0, 'V' }, { "help", no_argument, 0, 'h' },
    { 0, 0, 0, 0 }
};

static long long flag_size(const char *name, const char *v)
{
    long long n = config_size_str(v);
    if (n <= 0) fatal(EXIT_USAGE, "%s: bad size '%s'", name, v);
    return n;
}

static long flag_ms(const char *name, const char *v)
{
    long long n = config_duration_ms_str(v);
    if (n < 0) fatal(EXIT_USAGE, "%s: bad duration '%s'", name, v);
    return (long)n;
}

/* The command line, kept to build the configuration again on SIGHUP. */
static struct cli {
    const char *cfgfile, *up_url, *protocol, *keyenv, *capture, *onfull, *clientclose;
    long long queue, capbody, maxbody;
    long drain, timeout;
    int passkey;
    char **listens; size_t nlisten;
} cli = { .drain = -1, .timeout = -1 };

#define CONF_FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); conf_free(c); config_free(cfg); return NULL; } while (0)

/* The configuration: defaults, then the file, then the flags. NULL and a
 * message in err when something is wrong. */
static relay_conf_t *build_conf(char *err, size_t errlen)
{
    relay_conf_t *c = conf_new_defaults();
    config_t *cfg = NULL;
    if (!c) { snprintf(err, errlen, "out of memory"); return NULL; }
    if (cli.cfgfile) {
        cfg = config_load(cli.cfgfile, err, errlen);
        if (!cfg) { conf_free(c); return NULL; }
        if (conf_apply_json(c, config_root(cfg), cfg, err, errlen) < 0) { conf_free(c); config_free(cfg); return NULL; }
    }
    if (cli.nlisten) {           /* flags replace the file's listen list */
        for (size_t i = 0; i < c->nlisten; i++) free(c->listen[i]);
        free(c->listen);
        c->listen = calloc(cli.nlisten, sizeof *c->listen);
        for (size_t i = 0; i < cli.nlisten; i++) c->listen[i] = strdup(cli.listens[i]);
        c->nlisten = cli.nlisten;
    }
    if (cli.up_url) {
        if (strncmp(cli.up_url, "http://", 7) && strncmp(cli.up_url, "https://", 8))
            CONF_FAIL("--upstream: '%s' is not an http:// or https:// URL", cli.up_url);
        upstream_t *u = conf_add_upstream(c, "default", cli.up_url);
        if (cli.protocol) {
            if (!strcmp(cli.protocol, "openai")) u->protocol = PROTO_OPENAI;
            else if (!strcmp(cli.protocol, "anthropic")) u->protocol = PROTO_ANTHROPIC;
            else CONF_FAIL("--protocol: '%s' is not openai or anthropic", cli.protocol);
        }
        if (cli.keyenv) {
            const char *k = getenv(cli.keyenv);
            if (!k || !*k) CONF_FAIL("--api-key-env: %s is not set", cli.keyenv);
            u->api_key = strdup(k);
        }
        u->pass_client_key = cli.passkey;
    } else if (cli.protocol || cli.keyenv || cli.passkey) {
        CONF_FAIL("--protocol, --api-key-env and --pass-client-key go with --upstream");
    }
    if (cli.timeout >= 0) for (size_t i = 0; i < c->nups; i++) c->ups[i]->timeout_ms = cli.timeout;
    if (cli.capture) { free(c->capture); c->capture = strdup(cli.capture); }
    if (cli.onfull) {
        if (!strcmp(cli.onfull, "block")) c->on_full_drop = 0;
        else if (!strcmp(cli.onfull, "drop")) c->on_full_drop = 1;
        else CONF_FAIL("--on-full: '%s' is not block or drop", cli.onfull);
    }
    if (cli.clientclose) {
        if (!strcmp(cli.clientclose, "cancel")) c->client_close_finish = 0;
        else if (!strcmp(cli.clientclose, "finish")) c->client_close_finish = 1;
        else CONF_FAIL("--client-close: '%s' is not cancel or finish", cli.clientclose);
    }
    if (cli.queue) c->queue_max = (size_t)cli.queue;
    if (cli.capbody) c->capture_max_body = (size_t)cli.capbody;
    if (cli.maxbody) c->max_request_body = (size_t)cli.maxbody;
    if (cli.drain >= 0) c->drain_ms = cli.drain;
    if (conf_finish(c, err, errlen) < 0) { conf_free(c); config_free(cfg); return NULL; }
    config_free(cfg);
    return c;
}


int main(int argc, char **argv)
{
    int check = 0, ch, inetd = 0, workers = 1;
    cli.listens = calloc((size_t)argc + 1, sizeof *cli.listens);

    while ((ch = getopt_long(argc, argv, "c:nl:qVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cli.cfgfile = optarg; break;
        case 'n': check = 1; break;
        case 'l': cli.listens[cli.nlisten++] = optarg; break;
        case 'q': relay_quiet = 1; break;
        case 'V': printf("llm-relay %s\n", PLLM_VERSION); free(cli.listens); return 0;
        case 'h': usage(stdout); free(cli.listens); return 0;
        case O_UPSTREAM: cli.up_url = optarg; break;
        case O_PROTOCOL: cli.protocol = optarg; break;
        case O_KEYENV: cli.keyenv = optarg; break;
        case O_PASSKEY: cli.passkey = 1; break;
        case O_CAPTURE: cli.capture = optarg; break;
        case O_ONFULL: cli.onfull = optarg; break;
        case O_QUEUE: cli.queue = flag_size("--queue", optarg); break;
        case O_CAPBODY: cli.capbody = flag_size("--capture-max-body", optarg); break;
        case O_MAXBODY: cli.maxbody = flag_size("--max-body", optarg); break;
        case O_DRAIN: cli.drain = flag_ms("--drain-timeout", optarg); break;
        case O_CLOSE: cli.clientclose = optarg; break;
        case O_TIMEOUT: cli.timeout = flag_ms("--timeout", optarg); break;
        case O_INETD: inetd = 1; break;
        case O_WORKERS: {
            char *e; long w = strtol(optarg, &e, 10);
            if (*e || w < 1 || w > 256) fatal(EXIT_USAGE, "--workers: '%s' is not a number from 1 to 256", optarg, NULL);
            workers = (int)w;
            break;
        }
        default: usage(stderr); free(cli.listens); return EXIT_USAGE;
        }
    }
    if (optind < argc) { usage(stderr); free(cli.listens); return EXIT_USAGE; }

    char err[ERRBUF_SIZE] = "";
    relay_conf_t *c = build_conf(err, sizeof err);
    if (!c) fatal(EXIT_USAGE, "%s%s", err, NULL);
    relay_conf_loader = build_conf;
    if (check) {
        printf("%s: configuration ok: %zu upstreams, %zu routes\n", cli.cfgfile ? cli.cfgfile : "flags", c->nups, c->nroutes);
        conf_free(c);
        free(cli.listens);
        return 0;
    }

    struct rlimit rl;                   /* one fd per connection and per upstream socket */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    int to_stdout = !c->capture || !strcmp(c->capture, "-") || !strcmp(c->capture, "stdout");
    if (inetd && workers > 1)
        fatal(EXIT_USAGE, "--inetd serves one connection: --workers does not go with it%s", "", NULL);
    if (inetd && to_stdout)
        fatal(EXIT_USAGE, "--inetd: standard output is the client: give --capture FILE or unix:PATH%s", "", NULL);
    if (workers > 1 && to_stdout)
        fatal(EXIT_USAGE, "--workers: processes must not share one pipe: give --capture FILE or unix:PATH%s", "", NULL);
    int *fds = NULL;
    size_t nfds = 0;
    if (!inetd && modes_listeners(c, &fds, &nfds, err, sizeof err) < 0) fatal(EXIT_TEMP, "%s%s", err, NULL);
    int rc = workers > 1 ? modes_supervise(c, fds, nfds, workers) : modes_serve(c, fds, nfds, inetd, 0);
    for (size_t i = 0; i < nfds; i++) close(fds[i]);
    free(fds);
    conf_unref(c);
    free(cli.listens);
    return rc;
}
