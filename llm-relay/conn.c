/* conn.c — client connections: the deadlines libmicrohttpd does not keep
 * (a request head must be complete within header_timeout: slowloris; a
 * body must keep a minimum rate after a grace period) and the soft
 * connection limits (global and per IP) answered with 503 + Retry-After
 * instead of a silent close. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "relay.h"
#include "clock.h"
#include "hash.h"

struct ipcount { unsigned char ip[16]; unsigned n; int used; };

static size_t ip_hash(const unsigned char ip[16])
{
    return (size_t)hash_fnv1a(ip, 16);
}

/* Find or make the slot of ip (open addressing, grows at 50%). */
static struct ipcount *ip_slot(relay_t *r, const unsigned char ip[16], int create)
{
    if (create && (r->ipc_cap == 0 || r->nconns * 2 >= r->ipc_cap)) {
        size_t nc = r->ipc_cap ? r->ipc_cap * 2 : 256;
        struct ipcount *n = calloc(nc, sizeof *n);
        if (!n) return NULL;
        for (size_t i = 0; i < r->ipc_cap; i++) {
            if (!r->ipc[i].used || !r->ipc[i].n) continue;
            size_t j = ip_hash(r->ipc[i].ip) & (nc - 1);
            while (n[j].used) j = (j + 1) & (nc - 1);
            n[j] = r->ipc[i];
        }
        free(r->ipc);
        r->ipc = n; r->ipc_cap = nc;
    }
    if (!r->ipc_cap) return NULL;
    size_t j = ip_hash(ip) & (r->ipc_cap - 1);
    while (r->ipc[j].used) {
        if (!memcmp(r->ipc[j].ip, ip, 16)) return &r->ipc[j];
        j = (j + 1) & (r->ipc_cap - 1);
    }
    if (!create) return NULL;
    r->ipc[j].used = 1;
    memcpy(r->ipc[j].ip, ip, 16);
    r->ipc[j].n = 0;
    return &r->ipc[j];
}

void conn_started(relay_t *r, conn_t *c, const struct sockaddr *sa)
{
    memset(c->ip, 0, 16);
    if (sa && sa->sa_family == AF_INET) memcpy(c->ip + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa && sa->sa_family == AF_INET6) { memcpy(c->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16); c->ipv6 = 1; }
    c->t_head = clock_mono_us();
    c->in_head = 1;
    c->next = r->conns;
    if (r->conns) r->conns->prev = c;
    r->conns = c;
    r->nconns++;
    struct ipcount *ic = ip_slot(r, c->ip, 1);
    if (ic) ic->n++;
    unsigned per_ip = r->conf->per_ip_connections;
    if (r->nconns > r->conf->max_connections || (per_ip && ic && ic->n > per_ip)) {
        c->over_limit = 1;
        r->refused_limit++;
    }
}

void conn_closed(relay_t *r, conn_t *c)
{
    if (c->prev) c->prev->next = c->next; else r->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    r->nconns--;
    struct ipcount *ic = ip_slot(r, c->ip, 0);
    if (ic && ic->n) ic->n--;
    if (c->ex) c->ex->conn_ctx = NULL;
}

void conn_head_done(conn_t *c, struct exchange *ex)
{
    c->in_head = 0;
    c->ex = ex;
    if (ex) ex->conn_ctx = c;
}

void conn_request_done(conn_t *c)
{
    if (c->ex) c->ex->conn_ctx = NULL;
    c->ex = NULL;
    c->in_head = 1;
    c->t_head = clock_mono_us();
}

static void cut(relay_t *r, conn_t *c, const char *why)
{
    c->closing = 1;
    r->closed_slow++;
    shutdown(c->fd, SHUT_RDWR);     /* libmicrohttpd sees the end and closes */
    relay_log("closed a connection: %s", why);
}

void conn_sweep(relay_t *r, int64_t now)
{
    const relay_conf_t *cf = r->conf;
    for (conn_t *c = r->conns; c; c = c->next) {
        if (c->closing) continue;
        if (c->in_head) {
            if (now - c->t_head > (int64_t)cf->header_timeout_ms * 1000)
                cut(r, c, "request head not complete in time");
            continue;
        }
        exchange_t *ex = c->ex;
        if (!ex || ex->state != EX_BODY || ex->internal || ex->body_suspended) continue;
        int64_t since = now - ex->t0_mono;
        if (since > (int64_t)cf->body_grace_ms * 1000 &&
            (double)ex->body_seen < (double)cf->body_min_rate * ((double)since / 1e6 - (double)cf->body_grace_ms / 1e3))
            cut(r, c, "request body below the minimum rate");
    }
}

void conn_cleanup(relay_t *r)
{
    free(r->ipc);
    r->ipc = NULL;
    r->ipc_cap = 0;
}
