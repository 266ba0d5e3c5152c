/* upstream.c — the outbound side: one libcurl multi handle driven by the
 * epoll loop (multi_socket_action), one easy handle per exchange, request
 * headers (hop-by-hop removed, provider keys injected), pause/unpause for
 * backpressure, completion. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "relay.h"
#include "clock.h"

static relay_t *g_relay;

/* Watches are freed only after the turn of the loop that let them go: an
 * event for one may still wait in the same epoll batch. */
static void watch_bury(relay_t *r, watch_t *w)
{
    w->dead = 1;
    w->next_dead = r->dead_watches;
    r->dead_watches = w;
}

void upstream_free_dead(relay_t *r)
{
    while (r->dead_watches) {
        watch_t *w = r->dead_watches;
        r->dead_watches = w->next_dead;
        free(w);
    }
}

static watch_t *csock_of(relay_t *r, curl_socket_t s)
{
    return s >= 0 && (size_t)s < r->csock_cap ? r->csock[s] : NULL;
}

/* Connection sockets are opened and closed through these callbacks, so the
 * relay knows each one's whole life: it can leave one registered with
 * epoll between transfers (no EPOLL_CTL_DEL and ADD per request on a
 * kept-alive connection) and still never mistake a reused fd number. */
static curl_socket_t on_open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    relay_t *r = arg;
    (void)purpose;
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    if ((size_t)fd >= r->csock_cap) {
        size_t nc = r->csock_cap ? r->csock_cap : 64;
        while (nc <= (size_t)fd) nc *= 2;
        watch_t **n = realloc(r->csock, nc * sizeof *n);
        if (!n) { close(fd); return CURL_SOCKET_BAD; }
        memset(n + r->csock_cap, 0, (nc - r->csock_cap) * sizeof *n);
        r->csock = n; r->csock_cap = nc;
    }
    watch_t *w = calloc(1, sizeof *w);
    if (!w) { close(fd); return CURL_SOCKET_BAD; }
    w->kind = W_CURL; w->fd = fd; w->conn_sock = 1;
    if (r->csock[fd]) watch_bury(r, r->csock[fd]);   /* not expected: a close we did not see */
    r->csock[fd] = w;
    return fd;
}

static int on_close_socket(void *arg, curl_socket_t s)
{
    relay_t *r = arg;
    watch_t *w = csock_of(r, s);
    if (w) { r->csock[s] = NULL; watch_bury(r, w); }   /* closing the fd leaves epoll too */
    return close(s);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    relay_t *r = userp;
    watch_t *w = csock_of(r, s);
    (void)e;
    uint32_t ev = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (w) {                                      /* a connection socket */
        if (what == CURL_POLL_REMOVE) {
            /* idle in curl's cache: left registered for input only, so
             * the next transfer on it costs no system call; if the peer
             * closes or sends meanwhile, the loop unregisters it */
            w->active = 0;
            if (w->registered && w->events != EPOLLIN) loop_mod(r, w, EPOLLIN);
            return 0;
        }
        w->active = 1;
        if (!w->registered) {
            if (loop_add(r, w, ev) < 0) return -1;
            w->registered = 1;
        } else if (w->events != ev && loop_mod(r, w, ev) < 0 && errno == ENOENT) {
            if (loop_add(r, w, ev) < 0) return -1;   /* left epoll without our knowing */
        }
        return 0;
    }
    /* another socket of curl's (a resolver's): registered while wanted */
    w = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (w) { loop_del(r, w); watch_bury(r, w); curl_multi_assign(r->multi, s, NULL); }
        return 0;
    }
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w) return -1;
        w->kind = W_CURL; w->fd = s; w->active = 1;
        if (loop_add(r, w, ev) < 0) { free(w); return -1; }
        w->registered = 1;
        curl_multi_assign(r->multi, s, w);
    } else {
        loop_mod(r, w, ev);
    }
    return 0;
}

static int on_timer(CURLM *m, long ms, void *userp)
{
    relay_t *r = userp;
    (void)m;
    r->curl_deadline_mono = ms < 0 ? -1 : clock_mono_us() + ms * 1000;
    return 0;   /* never call multi_socket_action from here (DESIGN.md) */
}

static int multi_new(relay_t *r)
{
    r->multi = curl_multi_init();
    if (!r->multi) return -1;
    r->curl_deadline_mono = -1;
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(r->multi, CURLMOPT_SOCKETDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(r->multi, CURLMOPT_TIMERDATA, r);
    curl_multi_setopt(r->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(r->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    /* idle upstream connections kept for reuse; more come and go under load */
    curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, 128L);
    return 0;
}

int upstream_init(relay_t *r)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
    g_relay = r;
    return multi_new(r);
}

void upstream_cleanup(relay_t *r)
{
    while (r->nidle_easy) curl_easy_cleanup(r->idle_easy[--r->nidle_easy]);
    if (r->multi) curl_multi_cleanup(r->multi);
    r->multi = NULL;
    upstream_free_dead(r);
    for (size_t i = 0; i < r->csock_cap; i++) free(r->csock[i]);   /* sockets curl left open (none expected) */
    free(r->csock);
    r->csock = NULL; r->csock_cap = 0;
    curl_global_cleanup();
}

/* Nothing in flight for a while: give back what a burst left behind — the
 * reset handles kept for reuse and the idle upstream connections with
 * their buffers (a fresh multi handle; the next request connects anew).
 * 0 when done, -1 when the new multi handle could not be made (the old
 * one is kept). */
int upstream_idle_release(relay_t *r)
{
    if (r->nactive) return 0;
    while (r->nidle_easy) curl_easy_cleanup(r->idle_easy[--r->nidle_easy]);
    CURLM *old = r->multi;
    if (multi_new(r) < 0) { r->multi = old; return -1; }
    curl_multi_cleanup(old);   /* closes its connections: their sockets leave the loop (CURL_POLL_REMOVE) */
    return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    exchange_t *ex = arg;
    size_t len = size * n;
    if (ex->ttfb_us < 0) ex->ttfb_us = ex_now_us(ex);
    if (len >= 5 && !strncmp(p, "HTTP/", 5)) {        /* a status line: new header block */
        hdr_free_all(ex->rh, ex->nrh);
        ex->rh = NULL; ex->nrh = ex->rh_cap = 0;
        const char *sp = memchr(p, ' ', len);
        ex->status = sp ? atoi(sp + 1) : 0;
        ex->up_head = 0;
        return len;
    }
    size_t l = len;
    while (l && (p[l - 1] == '\n' || p[l - 1] == '\r')) l--;
    /* the head goes to the client from the connection's pool: one that
     * cannot fit there ends here, with a 502 that says so */
    if (ex->status >= 200 && (ex->up_head += len) > server_head_room(ex)) {
        ex->up_head_over = 1;
        return 0;
    }
    if (l == 0) {                                     /* end of a header block */
        if (ex->status >= 200) ex_on_headers(ex);
        return len;
    }
    if ((p[0] == ' ' || p[0] == '\t') && ex->nrh) {   /* obs-fold: join to the previous value */
        hdr_t *h = &ex->rh[ex->nrh - 1], joined;
        size_t s = 0; while (s < l && (p[s] == ' ' || p[s] == '\t')) s++;
        char *nv = malloc(h->vlen + 1 + l - s);
        if (!nv) return 0;
        memcpy(nv, h->value, h->vlen);
        nv[h->vlen] = ' ';
        memcpy(nv + h->vlen + 1, p + s, l - s);
        int rc = hdr_set(&joined, h->name, strlen(h->name), nv, h->vlen + 1 + l - s);
        free(nv);
        if (rc < 0) return 0;
        hdr_free(h);
        *h = joined;
        return len;
    }
    const char *colon = memchr(p, ':', l);
    if (!colon) return len;                           /* not a header: ignore */
    const char *v = colon + 1, *e = p + l, *ne = colon;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    /* "Name : value": a proxy removes the whitespace before the colon
     * (RFC 9112 §5.1), it does not drop the field */
    while (ne > p && (ne[-1] == ' ' || ne[-1] == '\t')) ne--;
    if (hdr_push(&ex->rh, &ex->nrh, &ex->rh_cap, p, (size_t)(ne - p), v, (size_t)(e - v)) < 0) return 0;
    return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    return ex_on_body(arg, p, size * n);
}

#define BODY_LOW (32u << 10)   /* resume reading the client below this */

/* A streamed request body: what the client sent so far, then EOF. */
static size_t on_read(char *p, size_t size, size_t n, void *arg)
{
    exchange_t *ex = arg;
    size_t max = size * n, have = buf_len(&ex->body);
    if (have) {
        size_t k = have < max ? have : max;
        memcpy(p, buf_ptr(&ex->body), k);
        buf_consume(&ex->body, k);
        if (buf_len(&ex->body) < BODY_LOW) ex_body_resume(ex);
        return k;
    }
    if (ex->body_done) return 0;
    ex->read_paused = 1;
    ex_body_resume(ex);
    return CURL_READFUNC_PAUSE;
}

static int client_has_auth(const exchange_t *ex)
{
    return hdr_get(ex->qh, ex->nqh, "authorization") || hdr_get(ex->qh, ex->nqh, "x-api-key");
}

static int is_credential(const char *name)
{
    return !strcasecmp(name, "authorization") || !strcasecmp(name, "x-api-key") ||
           !strcasecmp(name, "api-key") || !strcasecmp(name, "x-goog-api-key");
}

static struct curl_slist *build_headers(exchange_t *ex)
{
    struct curl_slist *l = NULL, *t;
    upstream_t *up = ex->up;
    int inject = up->api_key && !(up->pass_client_key && client_has_auth(ex));
    int keep_client_auth = up->pass_client_key;
    int has_ctype = 0, has_accept = 0;
    /* a stream whose usage chunk the relay takes out must come uncompressed */
    int identity = ex->withhold_usage && !ex->tr;
    hdr_t *qh = ex->qh, *xh = NULL;
    size_t nqh = ex->nqh;
    if (ex->tr) {                        /* the other protocol's headers */
        if (xlate_headers(ex, &xh, &nqh) < 0) return NULL;
        qh = xh;
    }
    for (size_t i = 0; i < nqh; i++) {
        const hdr_t *h = &qh[i];
        if (hdr_is_hop_by_hop(h->name, qh, nqh) || !strcasecmp(h->name, "host") ||
            !strcasecmp(h->name, "content-length") || !strcasecmp(h->name, "expect"))
            continue;
        if (is_credential(h->name) && (!keep_client_auth || inject)) continue;
        if (identity && !strcasecmp(h->name, "accept-encoding")) continue;
        if (!strcasecmp(h->name, "content-type")) has_ctype = 1;
        if (!strcasecmp(h->name, "accept")) has_accept = 1;
        size_t nl = strlen(h->name);
        char *line = malloc(nl + h->vlen + 3);
        if (!line) goto fail;
        if (h->vlen) sprintf(line, "%s: %s", h->name, h->value);
        else sprintf(line, "%s;", h->name);       /* curl's way to send an empty value */
        t = curl_slist_append(l, line);
        free(line);
        if (!t) goto fail;
        l = t;
    }
    hdr_free_all(xh, xh ? nqh : 0);
    xh = NULL;
    if (inject) {
        char *line = malloc(strlen(up->api_key) + 32);
        if (!line) goto fail;
        if (UP_PROTO(up, ex->protocol) == PROTO_ANTHROPIC) sprintf(line, "x-api-key: %s", up->api_key);
        else sprintf(line, "Authorization: Bearer %s", up->api_key);
        t = curl_slist_append(l, line);
        free(line);
        if (!t) goto fail;
        l = t;
    }
    if (identity) {
        if (!(t = curl_slist_append(l, "Accept-Encoding: identity"))) goto fail;
        l = t;
    }
    /* headers curl would add on its own: not ours to add */
    const char *off[] = { "Expect:", has_ctype ? NULL : "Content-Type:", has_accept ? NULL : "Accept:" };
    for (size_t i = 0; i < sizeof off / sizeof *off; i++) {
        if (!off[i]) continue;
        if (!(t = curl_slist_append(l, off[i]))) goto fail;
        l = t;
    }
    return l;
fail:
    hdr_free_all(xh, xh ? nqh : 0);
    curl_slist_free_all(l);
    return NULL;
}

int upstream_start(exchange_t *ex, char *err, size_t errlen)
{
    relay_t *r = ex->r;
    const char *url = ex->up_url;
    CURL *e = r->nidle_easy ? r->idle_easy[--r->nidle_easy] : curl_easy_init();
    if (!e) { snprintf(err, errlen, "out of memory"); return -1; }
    ex->up_headers = build_headers(ex);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, r);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, r);
    curl_easy_setopt(e, CURLOPT_PRIVATE, ex);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, ex->up_headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, ex);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ex);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, ex->curl_err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);   /* bytes as sent */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    if (!strncmp(url, "https:", 6))   /* wait for an HTTP/2 connection to multiplex on; never for HTTP/1.1 */
        curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ex->up->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 2048L);       /* memory per open stream: SSE events are small */
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    if (ex->up->ca_file) curl_easy_setopt(e, CURLOPT_CAINFO, ex->up->ca_file);
    if (ex->up->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    const char *body = ex->up_body ? ex->up_body : buf_ptr(&ex->body);
    size_t blen = ex->up_body ? ex->up_body_len : buf_len(&ex->body);
    if (ex->streaming_body) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, ex);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)ex->request_cl); /* -1: chunked */
        if (strcmp(ex->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, ex->method);
    } else if (!strcmp(ex->method, "GET") && blen == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (!strcmp(ex->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        if (strcmp(ex->method, "POST") != 0) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, ex->method);
    }
    ex->easy = e;
    if (curl_multi_add_handle(r->multi, e) != CURLM_OK) {
        ex->easy = NULL;
        curl_easy_cleanup(e);
        snprintf(err, errlen, "unable to start the upstream transfer");
        return -1;
    }
    return 0;
}

/* Finished handles are kept (reset) for the next transfers: no allocation
 * and zeroing of a fresh handle per request. */
#define IDLE_EASY_MAX 256

static void release(exchange_t *ex)
{
    relay_t *r = ex->r;
    if (ex->easy) {
        curl_multi_remove_handle(r->multi, ex->easy);
        if (r->nidle_easy < IDLE_EASY_MAX) {
            curl_easy_reset(ex->easy);
            r->idle_easy[r->nidle_easy++] = ex->easy;
        } else {
            curl_easy_cleanup(ex->easy);
        }
        ex->easy = NULL;
    }
    curl_slist_free_all(ex->up_headers);
    ex->up_headers = NULL;
    ex->want_unpause = 0;
}

void upstream_cancel(exchange_t *ex)
{
    release(ex);
}

void upstream_socket_event(relay_t *r, watch_t *w, uint32_t events)
{
    int running, flags = 0, fd = w->fd;
    if (w->dead) return;                    /* let go earlier in this turn */
    if (!w->active) {                       /* idle connection: closed or sent to; curl checks it before reuse */
        loop_del(r, w);
        w->registered = 0;
        return;
    }
    if (events & EPOLLIN) flags |= CURL_CSELECT_IN;
    if (events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
    if (events & (EPOLLERR | EPOLLHUP)) flags |= CURL_CSELECT_ERR;
    curl_multi_socket_action(r->multi, fd, flags, &running);
}

void upstream_timeout(relay_t *r)
{
    int running;
    r->curl_deadline_mono = -1;
    curl_multi_socket_action(r->multi, CURL_SOCKET_TIMEOUT, 0, &running);
}

void upstream_poll_done(relay_t *r)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(r->multi, &left))) {
        if (m->msg != CURLMSG_DONE) continue;
        exchange_t *ex = NULL;
        CURLcode rc = m->data.result;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&ex);
        if (!ex) continue;
        release(ex);
        ex_on_upstream_done(ex, rc);
    }
}

void upstream_request_unpause(exchange_t *ex)
{
    relay_t *r = ex->r;
    if (ex->want_unpause || !ex->easy) return;
    if (r->nunpause == r->unpause_cap) {
        size_t nc = r->unpause_cap ? r->unpause_cap * 2 : 64;
        exchange_t **nu = realloc(r->unpause, nc * sizeof *nu);
        if (!nu) return;
        r->unpause = nu; r->unpause_cap = nc;
    }
    ex->want_unpause = 1;
    r->unpause[r->nunpause++] = ex;
}

/* Unpause outside any callback: curl_easy_pause may call the write
 * callback at once (DESIGN.md, re-entrancy). */
void upstream_do_unpause(relay_t *r)
{
    for (size_t i = 0; i < r->nunpause; i++) {
        exchange_t *ex = r->unpause[i];
        if (!ex || !ex->want_unpause) continue;
        ex->want_unpause = 0;
        if (!ex->easy) continue;
        int changed = 0;
        if (ex->paused && (ex->client_gone || buf_len(&ex->out) < ex->conf->out_buffer)) {
            ex->paused = 0; changed = 1;
        }
        if (ex->read_paused && (buf_len(&ex->body) || ex->body_done)) {
            ex->read_paused = 0; changed = 1;
        }
        if (changed)
            curl_easy_pause(ex->easy, (ex->paused ? CURLPAUSE_RECV : 0) | (ex->read_paused ? CURLPAUSE_SEND : 0));
    }
    r->nunpause = 0;
}

void upstream_forget(exchange_t *ex)
{
    relay_t *r = ex->r;
    for (size_t i = 0; i < r->nunpause; i++) if (r->unpause[i] == ex) r->unpause[i] = NULL;
    (void)g_relay;
}
