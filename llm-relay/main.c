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
    json_t *j = json_string(v);
    long long n = config_parse_size(j);
    json_decref(j);
    if (n <= 0) fatal(EXIT_USAGE, "%s: bad size '%s'", name, v);
    return n;
}

static long flag_ms(const char *name, const char *v)
{
    json_t *j = json_string(v);
    long long n = config_parse_duration_ms(j);
    json_decref(j);
    if (n < 0) fatal(EXIT_USAGE, "%s: bad duration '%s'", name, v);
    return (long)n;
}

int main(int argc, char **argv)
{
    const char *cfgfile = NULL, *up_url = NULL, *protocol = NULL, *keyenv = NULL;
    const char *capture = NULL, *onfull = NULL, *clientclose = NULL;
    long long queue = 0, capbody = 0, maxbody = 0;
    long drain = -1, timeout = -1;
    int check = 0, passkey = 0, ch, inetd = 0, workers = 1;
    char **listens = calloc((size_t)argc + 1, sizeof *listens);
    size_t nlisten = 0;

    while ((ch = getopt_long(argc, argv, "c:nl:qVh", opts, NULL)) != -1) {
        switch (ch) {
        case 'c': cfgfile = optarg; break;
        case 'n': check = 1; break;
        case 'l': listens[nlisten++] = optarg; break;
        case 'q': relay_quiet = 1; break;
        case 'V': printf("llm-relay %s\n", PLLM_VERSION); free(listens); return 0;
        case 'h': usage(stdout); free(listens); return 0;
        case O_UPSTREAM: up_url = optarg; break;
        case O_PROTOCOL: protocol = optarg; break;
        case O_KEYENV: keyenv = optarg; break;
        case O_PASSKEY: passkey = 1; break;
        case O_CAPTURE: capture = optarg; break;
        case O_ONFULL: onfull = optarg; break;
        case O_QUEUE: queue = flag_size("--queue", optarg); break;
        case O_CAPBODY: capbody = flag_size("--capture-max-body", optarg); break;
        case O_MAXBODY: maxbody = flag_size("--max-body", optarg); break;
        case O_DRAIN: drain = flag_ms("--drain-timeout", optarg); break;
        case O_CLOSE: clientclose = optarg; break;
        case O_TIMEOUT: timeout = flag_ms("--timeout", optarg); break;
        case O_INETD: inetd = 1; break;
        case O_WORKERS: {
            char *e; long w = strtol(optarg, &e, 10);
            if (*e || w < 1 || w > 256) fatal(EXIT_USAGE, "--workers: '%s' is not a number from 1 to 256", optarg, NULL);
            workers = (int)w;
            break;
        }
        default: usage(stderr); free(listens); return EXIT_USAGE;
        }
    }
    if (optind < argc) { usage(stderr); free(listens); return EXIT_USAGE; }

    char err[ERRBUF_SIZE] = "";
    relay_conf_t *c = conf_new_defaults();
    config_t *cfg = NULL;
    if (cfgfile) {
        cfg = config_load(cfgfile, err, sizeof err);
        if (!cfg) fatal(EXIT_USAGE, "%s%s", err, NULL);
        if (conf_apply_json(c, config_root(cfg), cfg, err, sizeof err) < 0) fatal(EXIT_USAGE, "%s%s", err, NULL);
    }
    if (nlisten) {           /* flags replace the file's listen list */
        for (size_t i = 0; i < c->nlisten; i++) free(c->listen[i]);
        free(c->listen);
        c->listen = calloc(nlisten, sizeof *c->listen);
        for (size_t i = 0; i < nlisten; i++) c->listen[i] = strdup(listens[i]);
        c->nlisten = nlisten;
    }
    free(listens);
    if (up_url) {
        if (strncmp(up_url, "http://", 7) && strncmp(up_url, "https://", 8))
            fatal(EXIT_USAGE, "--upstream: '%s' is not an http:// or https:// URL", up_url, NULL);
        upstream_t *u = conf_add_upstream(c, "default", up_url);
        if (protocol) {
            if (!strcmp(protocol, "openai")) u->protocol = PROTO_OPENAI;
            else if (!strcmp(protocol, "anthropic")) u->protocol = PROTO_ANTHROPIC;
            else fatal(EXIT_USAGE, "--protocol: '%s' is not openai or anthropic", protocol, NULL);
        }
        if (keyenv) {
            const char *k = getenv(keyenv);
            if (!k || !*k) fatal(EXIT_USAGE, "--api-key-env: %s is not set", keyenv, NULL);
            u->api_key = strdup(k);
        }
        u->pass_client_key = passkey;
        if (timeout >= 0) u->timeout_ms = timeout;
    } else if (protocol || keyenv || passkey) {
        fatal(EXIT_USAGE, "--protocol, --api-key-env and --pass-client-key go with --upstream%s", "", NULL);
    }
    if (timeout >= 0) for (size_t i = 0; i < c->nups; i++) c->ups[i]->timeout_ms = timeout;
    if (capture) { free(c->capture); c->capture = strdup(capture); }
    if (onfull) {
        if (!strcmp(onfull, "block")) c->on_full_drop = 0;
        else if (!strcmp(onfull, "drop")) c->on_full_drop = 1;
        else fatal(EXIT_USAGE, "--on-full: '%s' is not block or drop", onfull, NULL);
    }
    if (clientclose) {
        if (!strcmp(clientclose, "cancel")) c->client_close_finish = 0;
        else if (!strcmp(clientclose, "finish")) c->client_close_finish = 1;
        else fatal(EXIT_USAGE, "--client-close: '%s' is not cancel or finish", clientclose, NULL);
    }
    if (queue) c->queue_max = (size_t)queue;
    if (capbody) c->capture_max_body = (size_t)capbody;
    if (maxbody) c->max_request_body = (size_t)maxbody;
    if (drain >= 0) c->drain_ms = drain;
    if (conf_finish(c, err, sizeof err) < 0) fatal(EXIT_USAGE, "%s%s", err, NULL);
    if (check) {
        printf("%s: configuration ok: %zu upstreams, %zu routes\n", cfgfile ? cfgfile : "flags", c->nups, c->nroutes);
        config_free(cfg);
        conf_free(c);
        return 0;
    }
    config_free(cfg);

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
    conf_free(c);
    return rc;
}
