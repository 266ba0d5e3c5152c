/* modes.c — how the relay meets its clients, one code path for all:
 * sockets it opens itself (--listen), sockets systemd passes (LISTEN_FDS,
 * Accept=no), the one connection on fd 0 (--inetd: systemd Accept=yes,
 * inetd, s6-tcpserver), and pre-forked workers sharing the listening
 * sockets under a supervising parent (--workers N). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include "relay.h"
#include "clock.h"
#include "listen.h"
#include "err.h"

static void log_bound(int fd)
{
    char addr[LISTEN_ADDR_LEN];
    if (listen_format(fd, addr, sizeof addr) == 0)
        relay_log("listening on %s", addr);
    else
        relay_log("listening on fd %d", fd);
}

/* The listening sockets: systemd's when it passed some, else --listen's. */
int modes_listeners(const relay_conf_t *c, int **fds, size_t *nfds, char *err, size_t errlen)
{
    int n = sd_listen_fds(1);
    if (n < 0) { snprintf(err, errlen, "LISTEN_FDS: %s", strerror(-n)); return -1; }
    *nfds = 0;
    *fds = calloc(n > 0 ? (size_t)n : c->nlisten, sizeof **fds);
    if (!*fds) { snprintf(err, errlen, "out of memory"); return -1; }
    if (n > 0) {
        for (int i = 0; i < n; i++) {
            int fd = SD_LISTEN_FDS_START + i;
            if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
                snprintf(err, errlen, "fd %d from systemd is not a listening stream socket", fd);
                return -1;
            }
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
            fcntl(fd, F_SETFD, FD_CLOEXEC);
            (*fds)[(*nfds)++] = fd;
            log_bound(fd);
        }
        return 0;
    }
    for (size_t i = 0; i < c->nlisten; i++) {
        int fd = listen_open(c->listen[i], 4096, err, errlen);
        if (fd < 0) return -1;
        (*fds)[(*nfds)++] = fd;
        log_bound(fd);
    }
    return 0;
}

/* In inetd mode fd 0 is the client: stdout must not stay open on it (the
 * client would never see the connection close), nor stderr. */
static void inetd_fds(void)
{
    struct stat s0, s2;
    int null = open("/dev/null", O_RDWR);
    if (null < 0) return;
    dup2(null, 1);
    if (fstat(0, &s0) == 0 && fstat(2, &s2) == 0 && s0.st_ino == s2.st_ino && s0.st_dev == s2.st_dev)
        dup2(null, 2);
    if (null > 2) close(null);
}

/* One relay process: the event loop until drained. Returns an exit code. */
int modes_serve(relay_conf_t *c, const int *fds, size_t nfds, int inetd, int worker)
{
    char err[ERRBUF_SIZE];
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT); sigaddset(&ss, SIGHUP);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    if (inetd) inetd_fds();

    relay_t r = { .conf = conf_ref(c), .inetd = inetd, .workers = worker ? 2 : 1 };
    r.epfd = epoll_create1(EPOLL_CLOEXEC);
    r.m = metrics_new();
    r.sink = sink_open_spool(c->capture, c->queue_max, c->on_full_drop, c->spool_dir, err, sizeof err);
    if (!r.sink) { relay_log("fatal: capture: %s", err); return EXIT_TEMP; }
    r.sig_watch.kind = W_SIGNAL;
    r.sig_watch.fd = signalfd(-1, &ss, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r.epfd < 0 || r.sig_watch.fd < 0 || loop_add(&r, &r.sig_watch, EPOLLIN) < 0) {
        relay_log("fatal: unable to set up the event loop: %s", strerror(errno));
        return EXIT_TEMP;
    }
    if (upstream_init(&r) < 0) { relay_log("fatal: unable to start libcurl"); return EXIT_TEMP; }
    if (server_start(&r, fds, nfds, err, sizeof err) < 0) { relay_log("fatal: %s", err); return EXIT_TEMP; }
    if (!inetd && feedback_init(&r) < 0) { relay_log("fatal: out of memory"); return EXIT_TEMP; }
    if (inetd) {
        struct sockaddr_storage peer; socklen_t sl = sizeof peer;
        if (getpeername(0, (struct sockaddr *)&peer, &sl) < 0) {
            relay_log("fatal: --inetd: standard input is not a connected socket: %s", strerror(errno));
            return EXIT_USAGE;
        }
        if (server_add_fd(&r, 0, (struct sockaddr *)&peer, sl) < 0) {
            relay_log("fatal: --inetd: unable to serve the connection on standard input");
            return EXIT_TEMP;
        }
    }
    if (worker <= 1 && !inetd)
        for (size_t i = 0; i < c->nroutes; i++)
            relay_log("route %s: %s%s%s%s -> %s (%s)", c->routes[i].name,
                      c->routes[i].prefix ? "prefix " : "", c->routes[i].prefix ? c->routes[i].prefix : "",
                      c->routes[i].model ? " model " : "", c->routes[i].model ? c->routes[i].model : "",
                      c->routes[i].up->url, c->routes[i].up->protocol == PROTO_ANTHROPIC ? "anthropic" : c->routes[i].up->protocol == PROTO_OPENAI ? "openai" : "either protocol");
    if (!worker) sd_notify(0, "READY=1");

    int rc = loop_run(&r) < 0 ? EXIT_TEMP : 0;

    ex_abort_all(&r);
    server_stop(&r);          /* completes and frees every exchange */
    if (sink_drain(r.sink, 5000) < 0) relay_log("warning: capture sink did not take every event before exit");
    if (!inetd)
        relay_log("stopped: %llu capture events, %llu dropped",
                  (unsigned long long)sink_events(r.sink), (unsigned long long)sink_dropped(r.sink));
    upstream_cleanup(&r);
    conn_cleanup(&r);
    feedback_cleanup(&r);
    sink_close(r.sink);
    metrics_free(r.m);
    free(r.unpause);
    close(r.sig_watch.fd);
    close(r.epfd);
    conf_unref(r.conf);
    return rc;
}

static pid_t spawn(relay_conf_t *c, const int *fds, size_t nfds, int id)
{
    pid_t pid = fork();
    if (pid != 0) return pid;
    unsetenv("NOTIFY_SOCKET");           /* the parent speaks to systemd */
    char name[48];
    snprintf(name, sizeof name, "llm-relay[%d]", id);
    progname = strdup(name);
    int rc = modes_serve(c, fds, nfds, 0, id);
    conf_unref(c);
    _exit(rc);
}

/* --workers N: N processes share the listening sockets; the parent
 * restarts one that dies and forwards SIGTERM, SIGINT and SIGHUP. */
int modes_supervise(relay_conf_t *c, const int *fds, size_t nfds, int workers)
{
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM); sigaddset(&ss, SIGINT); sigaddset(&ss, SIGHUP); sigaddset(&ss, SIGCHLD);
    sigprocmask(SIG_BLOCK, &ss, NULL);
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    int64_t *started = calloc((size_t)workers, sizeof *started);
    if (!pids || !started) { free(pids); free(started); return EXIT_TEMP; }
    for (int i = 0; i < workers; i++) { pids[i] = spawn(c, fds, nfds, i + 1); started[i] = clock_mono_us(); }
    relay_log("%d workers started", workers);
    sd_notifyf(0, "READY=1\nMAINPID=%d", (int)getpid());
    int stopping = 0, alive = workers, rc = 0;
    while (alive > 0) {
        siginfo_t si;
        struct timespec ts = { 1, 0 };
        int sig = sigtimedwait(&ss, &si, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) {
            if (sig != SIGHUP && !stopping) { stopping = 1; sd_notify(0, "STOPPING=1"); relay_log("stopping %d workers", alive); }
            for (int i = 0; i < workers; i++) if (pids[i] > 0) kill(pids[i], sig);
            continue;
        }
        int status;
        pid_t p;
        while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
            for (int i = 0; i < workers; i++) {
                if (pids[i] != p) continue;
                pids[i] = 0;
                alive--;
                if (stopping) { if (!WIFEXITED(status) || WEXITSTATUS(status)) rc = EXIT_TEMP; break; }
                if (WIFSIGNALED(status)) relay_log("worker %d (pid %d) died of signal %d: restarting", i + 1, (int)p, WTERMSIG(status));
                else relay_log("worker %d (pid %d) exited %d: restarting", i + 1, (int)p, WEXITSTATUS(status));
                if (clock_mono_us() - started[i] < 1000000) sleep(1);   /* crash loop: slow down */
                pids[i] = spawn(c, fds, nfds, i + 1);
                started[i] = clock_mono_us();
                if (pids[i] > 0) alive++;
            }
        }
    }
    free(pids);
    free(started);
    return rc;
}
