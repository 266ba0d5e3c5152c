/* loop.c — the one epoll loop of a relay process: libmicrohttpd's epoll
 * fd, libcurl's sockets, client hang-up watches, signals, the capture sink
 * and the timers (curl's, MHD's, the sweep of per-exchange deadlines). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include "relay.h"
#include <systemd/sd-daemon.h>
#include "clock.h"

int loop_add(relay_t *r, watch_t *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };
    w->events = events;
    return epoll_ctl(r->epfd, EPOLL_CTL_ADD, w->fd, &ev);
}

int loop_mod(relay_t *r, watch_t *w, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.ptr = w };
    w->events = events;
    return epoll_ctl(r->epfd, EPOLL_CTL_MOD, w->fd, &ev);
}

void loop_del(relay_t *r, watch_t *w)
{
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

static void on_signal(relay_t *r)
{
    struct signalfd_siginfo si;
    while (read(r->sig_watch.fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGHUP) { r->reload = 1; continue; }
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            if (r->draining) { r->drain_deadline_mono = 0; continue; } /* second signal: now */
            relay_log("draining: %zu exchanges in flight (up to %ld ms)", r->nactive, r->conf->drain_ms);
            r->draining = 1;
            sd_notify(0, "STOPPING=1");
            r->drain_deadline_mono = clock_mono_us() + (int64_t)r->conf->drain_ms * 1000;
            server_quiesce(r);
        }
    }
}

static int mhd_timeout_ms(relay_t *r)
{
    int best = -1;
    for (size_t i = 0; i < r->ndaemons; i++) {
        MHD_UNSIGNED_LONG_LONG t;
        if (MHD_get_timeout(r->daemons[i], &t) == MHD_YES) {
            int ms = t > 60000 ? 60000 : (int)t;
            if (best < 0 || ms < best) best = ms;
        }
    }
    return best;
}

static int next_timeout(relay_t *r, int64_t now)
{
    int64_t t = r->next_sweep_mono - now;
    if (r->curl_deadline_mono >= 0 && r->curl_deadline_mono - now < t) t = r->curl_deadline_mono - now;
    if (r->draining && r->drain_deadline_mono - now < t) t = r->drain_deadline_mono - now;
    int ms = t <= 0 ? 0 : (int)((t + 999) / 1000);
    int m = mhd_timeout_ms(r);
    if (m >= 0 && m < ms) ms = m;
    return ms;
}

static void sink_watch_update(relay_t *r)
{
    int fd = sink_fd(r->sink);
    int want = fd >= 0 && sink_pending(r->sink);
    unsigned gen = sink_generation(r->sink);
    if (r->sink_watched && (fd != r->sink_watch.fd || gen != r->sink_gen)) {
        loop_del(r, &r->sink_watch);      /* a reconnect may reuse the fd number */
        r->sink_watched = 0;
    }
    r->sink_gen = gen;
    if (want && !r->sink_watched) {
        r->sink_watch.kind = W_SINK; r->sink_watch.fd = fd;
        if (loop_add(r, &r->sink_watch, EPOLLOUT) == 0) r->sink_watched = 1;
    } else if (!want && r->sink_watched) {
        loop_del(r, &r->sink_watch); r->sink_watched = 0;
    }
}

/* Backpressure from the capture sink: while its queue is over the limit
 * (policy block), wait for the sink alone — no new reads from clients or
 * upstreams. */
static void wait_for_sink(relay_t *r)
{
    while (sink_blocked(r->sink) && !r->stop) {
        int fd = sink_fd(r->sink);
        struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = r->sig_watch.fd, .events = POLLIN } };
        if (fd >= 0) poll(p, 2, 200); else poll(p + 1, 1, 100);
        if (r->sig_watch.fd >= 0 && (p[1].revents & POLLIN)) on_signal(r);
        sink_flush(r->sink);
        if (r->draining && clock_mono_us() >= r->drain_deadline_mono) break;
    }
}

static void run_mhd(relay_t *r)
{
    for (size_t i = 0; i < r->ndaemons; i++) MHD_run(r->daemons[i]);
    r->run_mhd = 0;
}

static int same_list(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb) return 0;
    for (size_t i = 0; i < na; i++) if (strcmp(a[i], b[i])) return 0;
    return 1;
}

/* SIGHUP: build the configuration again; on an error keep the one in use.
 * Exchanges in flight finish on the configuration they started with (each
 * holds a reference). Listening sockets, the capture sink and libmicrohttpd's
 * per-connection settings stay as they were started: those need a restart. */
static void reload(relay_t *r)
{
    char err[512];
    r->reload = 0;
    if (!relay_conf_loader) return;
    relay_conf_t *n = relay_conf_loader(err, sizeof err);
    if (!n) { relay_log("error: reload failed, keeping the configuration in use: %s", err); return; }
    relay_conf_t *o = r->conf;
    if (!same_list(o->listen, o->nlisten, n->listen, n->nlisten) && !r->inetd)
        relay_log("warning: reload: listen addresses change only with a restart");
    if ((o->capture || n->capture) && (!o->capture || !n->capture || strcmp(o->capture, n->capture)))
        relay_log("warning: reload: the capture sink changes only with a restart");
    if (o->queue_max != n->queue_max || o->on_full_drop != n->on_full_drop)
        relay_log("warning: reload: capture.queue and capture.on_full change only with a restart");
    if (o->conn_memory != n->conn_memory || o->conn_timeout_s != n->conn_timeout_s)
        relay_log("warning: reload: connection_memory and connection_timeout change only with a restart");
    r->conf = n;
    conf_unref(o);
    relay_log("reloaded: %zu upstreams, %zu routes", n->nups, n->nroutes);
}

/* One turn: wait for events (at most max_wait_ms, -1 = as the timers say),
 * run what is ready. Returns -1 on a fatal error. */
int loop_once(relay_t *r, int max_wait_ms)
{
    struct epoll_event evs[256];
    int64_t now = clock_mono_us();
    int wait = next_timeout(r, now);
    if (max_wait_ms >= 0 && wait > max_wait_ms) wait = max_wait_ms;
    int n = epoll_wait(r->epfd, evs, 256, wait);
    if (n < 0 && errno != EINTR) { relay_log("fatal: epoll_wait: %s", strerror(errno)); return -1; }
    for (int i = 0; i < n; i++) {
        watch_t *w = evs[i].data.ptr;
        switch (w->kind) {
        case W_MHD: r->run_mhd = 1; break;
        case W_CURL: upstream_socket_event(r, w, evs[i].events); break;
        case W_SIGNAL: on_signal(r); break;
        case W_SINK: sink_flush(r->sink); break;
        case W_CLIENT: ex_client_gone(w->ptr); r->run_mhd = 1; break;
        }
    }
    now = clock_mono_us();
    if (r->curl_deadline_mono >= 0 && now >= r->curl_deadline_mono) upstream_timeout(r);
    upstream_poll_done(r);
    upstream_do_unpause(r);
    run_mhd(r);          /* also processes connections resumed above */
    upstream_poll_done(r);
    if (r->run_mhd) run_mhd(r);
    now = clock_mono_us();
    if (now >= r->next_sweep_mono) {
        ex_sweep(r, now);
        conn_sweep(r, now);
        /* after a burst, give freed memory back once nothing is in flight;
         * after limits.upstream_idle of nothing at all, the idle upstream
         * connections and kept handles too */
        if (r->nactive > 0 || r->busy) { r->trim_pending = r->release_pending = 1; r->idle_since_mono = 0; }
        else if (!r->idle_since_mono) r->idle_since_mono = now;
        r->busy = 0;
        if (r->nactive == 0 && r->release_pending && r->idle_since_mono &&
            now - r->idle_since_mono >= (int64_t)r->conf->upstream_idle_ms * 1000) {
            upstream_idle_release(r);
            r->release_pending = 0;
            r->trim_pending = 1;
            r->last_trim_mono = 0;
        }
        if (r->nactive == 0 && r->trim_pending && now - r->last_trim_mono > 5000000) {
            malloc_trim(0);
            r->trim_pending = 0;
            r->last_trim_mono = now;
        }
        r->next_sweep_mono = now + (r->conf->header_timeout_ms < 1000 || r->conf->upstream_idle_ms < 1000 ? 10000 : 250000);
    }
    upstream_free_dead(r);
    if (r->reload) reload(r);
    sink_flush(r->sink);
    sink_watch_update(r);
    if (sink_blocked(r->sink)) wait_for_sink(r);
    if (r->draining) {
        if (r->nactive == 0) r->stop = 1;
        else if (now >= r->drain_deadline_mono) {
            relay_log("drain timeout: aborting %zu exchanges", r->nactive);
            ex_abort_all(r);
            run_mhd(r);
            r->stop = 1;
        }
    }
    return 0;
}

int loop_run(relay_t *r)
{
    r->next_sweep_mono = clock_mono_us() + 250000;
    while (!r->stop)
        if (loop_once(r, -1) < 0) return -1;
    return 0;
}
