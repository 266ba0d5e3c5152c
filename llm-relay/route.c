/* route.c — which upstream serves a request: by path prefix, by the
 * body's model (glob), by the client's protocol; and the upstream URL. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "relay.h"

static int prefix_match(const char *prefix, const char *path, const char **rest)
{
    size_t n = strlen(prefix);
    if (strncmp(path, prefix, n) != 0) return 0;
    if (path[n] != 0 && path[n] != '/') return 0;
    *rest = path[n] ? path + n : "/";
    return 1;
}

const route_t *route_pick(const relay_conf_t *c, int protocol, const char *path,
                          const char *model, const char **rest)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        const route_t *rt = &c->routes[i];
        const char *r = path;
        if (rt->prefix && !prefix_match(rt->prefix, path, &r)) continue;
        if (rt->model && (!model || (rt->exact_model ? strcmp(rt->model, model) : fnmatch(rt->model, model, 0)) != 0))
            continue;
        if (rt->protocol >= 0 && rt->protocol != protocol) continue;
        *rest = r;
        return rt;
    }
    return NULL;
}

/* The route when it can be known without the body: the first rule that
 * matches by path and protocol alone, provided no earlier rule that also
 * matches them depends on the model. NULL when the body is needed. */
const route_t *route_pick_early(const relay_conf_t *c, int protocol, const char *path,
                                const char **rest)
{
    for (size_t i = 0; i < c->nroutes; i++) {
        const route_t *rt = &c->routes[i];
        const char *r = path;
        if (rt->prefix && !prefix_match(rt->prefix, path, &r)) continue;
        if (rt->protocol >= 0 && rt->protocol != protocol) continue;
        if (rt->model) return NULL;
        *rest = r;
        return rt;
    }
    return NULL;
}

char *route_upstream_url(const upstream_t *up, const char *rest, const char *query)
{
    size_t bl = strlen(up->url);
    /* a base ending in /v1 and a path starting with /v1: say /v1 once */
    if (bl >= 3 && !strcmp(up->url + bl - 3, "/v1") &&
        (!strncmp(rest, "/v1/", 4) || !strcmp(rest, "/v1")))
        rest += 3;
    size_t n = bl + strlen(rest) + (query ? strlen(query) + 1 : 0) + 1;
    char *u = malloc(n);
    if (!u) return NULL;
    snprintf(u, n, "%s%s%s%s", up->url, rest, query ? "?" : "", query ? query : "");
    return u;
}
