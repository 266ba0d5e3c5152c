/* conf.c — the relay's configuration: defaults, the YAML/JSON file
 * (validated with file, line and key in every error), and flags. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relay.h"
#include "config.h"

relay_conf_t *conf_new_defaults(void)
{
    relay_conf_t *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->refs = 1;
    c->queue_max = 64u << 20;
    c->capture_max_body = 16u << 20;
    c->max_event = 16u << 20;
    c->max_request_body = 32u << 20;
    c->body_buffer = 4u << 20;
    c->header_timeout_ms = 20000;
    c->body_grace_ms = 10000;
    c->body_min_rate = 1024;
    c->out_buffer = 64u << 10;
    c->drain_ms = 30000;
    c->upstream_idle_ms = 15000;
    c->feedback_max_age_ms = 30LL * 86400 * 1000;
    c->conn_memory = 12u << 10;
    c->max_connections = 10000;
    c->per_ip_connections = 0;
    c->conn_timeout_s = 120;
    return c;
}

static void upstream_free(upstream_t *u)
{
    if (!u) return;
    free(u->name); free(u->url); free(u->api_key); free(u->ca_file);
    free(u);
}

relay_conf_t *conf_ref(relay_conf_t *c)
{
    if (c) c->refs++;
    return c;
}

void conf_unref(relay_conf_t *c)
{
    if (c && --c->refs <= 0) conf_free(c);
}

void conf_free(relay_conf_t *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->nlisten; i++) free(c->listen[i]);
    free(c->listen);
    for (size_t i = 0; i < c->nups; i++) upstream_free(c->ups[i]);
    free(c->ups);
    for (size_t i = 0; i < c->nroutes; i++) {
        free(c->routes[i].name); free(c->routes[i].prefix); free(c->routes[i].model);
        free(c->routes[i].target_model);
    }
    free(c->routes);
    free(c->capture);
    free(c->spool_dir);
    json_decref(c->source);
    free(c);
}

static char *trim_slash(const char *url)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/') n--;
    return strndup(url, n);
}

upstream_t *conf_add_upstream(relay_conf_t *c, const char *name, const char *url)
{
    upstream_t *u = calloc(1, sizeof *u);
    upstream_t **nu = realloc(c->ups, (c->nups + 1) * sizeof *nu);
    if (!u || !nu) { free(u); if (nu) c->ups = nu; return NULL; }
    c->ups = nu;
    u->name = strdup(name);
    u->url = trim_slash(url);
    /* known providers by host; anything else passes either protocol through
     * untranslated until a protocol is configured */
    u->protocol = strstr(url, "anthropic.com") ? PROTO_ANTHROPIC : strstr(url, "openai.com") ? PROTO_OPENAI : PROTO_ANY;
    u->connect_timeout_ms = 10000;
    u->timeout_ms = 300000;
    u->idle_timeout_ms = 300000;
    u->inject_stream_usage = 1;
    u->max_tokens = 4096;
    c->ups[c->nups++] = u;
    return u;
}

static upstream_t *find_upstream(relay_conf_t *c, const char *name)
{
    for (size_t i = 0; i < c->nups; i++)
        if (!strcmp(c->ups[i]->name, name)) return c->ups[i];
    return NULL;
}

/* ---- validation helpers: every error names file:line and the key ---- */
typedef struct { const config_t *cfg; char *err; size_t errlen; } vctx;

static int verr(vctx *v, const json_t *at, const char *key, const char *fmt, const char *detail)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, detail ? detail : "");
    snprintf(v->err, v->errlen, "%s:%d: %s: %s", v->cfg ? config_file(v->cfg) : "config",
             v->cfg ? config_line(v->cfg, at) : 0, key, msg);
    return -1;
}

static int check_keys(vctx *v, json_t *obj, const char *where, const char *const *allowed)
{
    const char *k; json_t *val;
    json_object_foreach(obj, k, val) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++) if (!strcmp(allowed[i], k)) ok = 1;
        if (!ok) {
            char key[160];
            snprintf(key, sizeof key, "%s%s%s", where, *where ? "." : "", k);
            return verr(v, val, key, "unknown key%s", "");
        }
    }
    return 0;
}

static int get_str(vctx *v, json_t *obj, const char *k, const char *key, char **out)
{
    json_t *x = json_object_get(obj, k);
    if (!x || json_is_null(x)) return 0;
    if (!json_is_string(x)) return verr(v, x, key, "must be a string%s", "");
    free(*out);
    *out = strdup(json_string_value(x));
    return 0;
}

static int get_bool(vctx *v, json_t *obj, const char *k, const char *key, int *out)
{
    json_t *x = json_object_get(obj, k);
    if (!x) return 0;
    if (!json_is_boolean(x)) return verr(v, x, key, "must be true or false%s", "");
    *out = json_is_true(x);
    return 0;
}

static int get_size(vctx *v, json_t *obj, const char *k, const char *key, size_t *out)
{
    json_t *x = json_object_get(obj, k);
    if (!x) return 0;
    long long n = config_parse_size(x);
    if (n <= 0) return verr(v, x, key, "must be a size such as 65536, 64KiB or 16MiB%s", "");
    *out = (size_t)n;
    return 0;
}

static int get_ms(vctx *v, json_t *obj, const char *k, const char *key, long *out)
{
    json_t *x = json_object_get(obj, k);
    if (!x) return 0;
    long long n = config_parse_duration_ms(x);
    if (n < 0) return verr(v, x, key, "must be a duration such as 30s, 250ms or 5m%s", "");
    *out = (long)n;
    return 0;
}

static int get_protocol(vctx *v, json_t *obj, const char *k, const char *key, int *out)
{
    json_t *x = json_object_get(obj, k);
    if (!x) return 0;
    const char *s = json_is_string(x) ? json_string_value(x) : "";
    if (!strcmp(s, "openai")) *out = PROTO_OPENAI;
    else if (!strcmp(s, "anthropic")) *out = PROTO_ANTHROPIC;
    else return verr(v, x, key, "must be \"openai\" or \"anthropic\"%s", "");
    return 0;
}

static int apply_upstream(vctx *v, relay_conf_t *c, const char *name, json_t *o)
{
    static const char *const keys[] = { "url", "protocol", "api_key", "pass_client_key",
        "ca_file", "insecure", "connect_timeout", "timeout", "idle_timeout",
        "inject_stream_usage", "max_tokens", NULL };
    char where[160]; snprintf(where, sizeof where, "upstreams.%s", name);
    if (!json_is_object(o)) return verr(v, o, where, "must be a mapping%s", "");
    if (check_keys(v, o, where, keys)) return -1;
    json_t *url = json_object_get(o, "url");
    if (!json_is_string(url)) return verr(v, o, where, "needs a url%s", "");
    const char *u = json_string_value(url);
    if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
        return verr(v, url, where, "url must start with http:// or https://%s", "");
    if (find_upstream(c, name)) return verr(v, o, where, "defined twice%s", "");
    upstream_t *up = conf_add_upstream(c, name, u);
    if (!up) return verr(v, o, where, "out of memory%s", "");
    char key[200];
#define K(x) (snprintf(key, sizeof key, "%s.%s", where, x), key)
    if (get_protocol(v, o, "protocol", K("protocol"), &up->protocol) ||
        get_str(v, o, "api_key", K("api_key"), &up->api_key) ||
        get_bool(v, o, "pass_client_key", K("pass_client_key"), &up->pass_client_key) ||
        get_str(v, o, "ca_file", K("ca_file"), &up->ca_file) ||
        get_bool(v, o, "insecure", K("insecure"), &up->insecure) ||
        get_ms(v, o, "connect_timeout", K("connect_timeout"), &up->connect_timeout_ms) ||
        get_ms(v, o, "timeout", K("timeout"), &up->timeout_ms) ||
        get_ms(v, o, "idle_timeout", K("idle_timeout"), &up->idle_timeout_ms) ||
        get_bool(v, o, "inject_stream_usage", K("inject_stream_usage"), &up->inject_stream_usage))
        return -1;
    json_t *mt = json_object_get(o, "max_tokens");
    if (mt) {
        if (!json_is_integer(mt) || json_integer_value(mt) < 1) return verr(v, mt, K("max_tokens"), "must be a positive integer%s", "");
        up->max_tokens = json_integer_value(mt);
    }
#undef K
    if (up->api_key && !*up->api_key) { free(up->api_key); up->api_key = NULL; }
    return 0;
}

static int apply_route(vctx *v, relay_conf_t *c, size_t i, json_t *o)
{
    static const char *const keys[] = { "name", "prefix", "model", "protocol", "upstream", NULL };
    char where[64]; snprintf(where, sizeof where, "routes[%zu]", i);
    if (!json_is_object(o)) return verr(v, o, where, "must be a mapping%s", "");
    if (check_keys(v, o, where, keys)) return -1;
    route_t *rt = &c->routes[c->nroutes];
    memset(rt, 0, sizeof *rt);
    rt->protocol = -1;
    char key[100];
#define K(x) (snprintf(key, sizeof key, "%s.%s", where, x), key)
    char *upname = NULL;
    if (get_str(v, o, "name", K("name"), &rt->name) ||
        get_str(v, o, "prefix", K("prefix"), &rt->prefix) ||
        get_str(v, o, "model", K("model"), &rt->model) ||
        get_protocol(v, o, "protocol", K("protocol"), &rt->protocol) ||
        get_str(v, o, "upstream", K("upstream"), &upname)) {
        free(rt->name); free(rt->prefix); free(rt->model); free(upname);
        return -1;
    }
    c->nroutes++;  /* owned by c from here */
    if (!upname) return verr(v, o, K("upstream"), "is required%s", "");
    rt->up = find_upstream(c, upname);
    if (!rt->up) {
        int rc = verr(v, json_object_get(o, "upstream"), K("upstream"), "no upstream named \"%s\"", upname);
        free(upname);
        return rc;
    }
    free(upname);
    if (rt->prefix && (rt->prefix[0] != '/' || rt->prefix[1] == 0))
        return verr(v, json_object_get(o, "prefix"), K("prefix"), "must start with / and name a path%s", "");
    if (rt->prefix) {
        size_t n = strlen(rt->prefix);
        while (n > 1 && rt->prefix[n - 1] == '/') rt->prefix[--n] = 0;
    }
    if (!rt->name) {
        char nm[64]; snprintf(nm, sizeof nm, "route%zu", i);
        rt->name = strdup(nm);
    }
#undef K
    return 0;
}

/* models: an alias name → { upstream, model, max_tokens }: a request for the
 * alias goes to that upstream (either protocol) asking for that model. The
 * aliases are routes tried before the routes list. */
static int apply_models(vctx *v, relay_conf_t *c, json_t *o)
{
    static const char *const keys[] = { "upstream", "model", "max_tokens", NULL };
    if (!json_is_object(o)) return verr(v, o, "models", "must be a mapping of alias to {upstream, model}%s", "");
    route_t *nr = realloc(c->routes, (c->nroutes + json_object_size(o)) * sizeof *nr);
    if (!nr) return -1;
    c->routes = nr;
    const char *name; json_t *a;
    json_object_foreach(o, name, a) {
        char where[200]; snprintf(where, sizeof where, "models.%s", name);
        if (!json_is_object(a)) return verr(v, a, where, "must be a mapping {upstream, model, max_tokens}%s", "");
        if (check_keys(v, a, where, keys)) return -1;
        json_t *u = json_object_get(a, "upstream"), *m = json_object_get(a, "model"), *mt = json_object_get(a, "max_tokens");
        char key[240];
        snprintf(key, sizeof key, "%s.upstream", where);
        if (!json_is_string(u)) return verr(v, a, key, "is required: the name of an upstream%s", "");
        upstream_t *up = find_upstream(c, json_string_value(u));
        if (!up) return verr(v, u, key, "no upstream named \"%s\"", json_string_value(u));
        snprintf(key, sizeof key, "%s.model", where);
        if (m && !json_is_string(m)) return verr(v, m, key, "must be a string%s", "");
        snprintf(key, sizeof key, "%s.max_tokens", where);
        if (mt && (!json_is_integer(mt) || json_integer_value(mt) < 1)) return verr(v, mt, key, "must be a positive integer%s", "");
        route_t *rt = &c->routes[c->nroutes++];
        memset(rt, 0, sizeof *rt);
        rt->name = strdup(where);
        rt->model = strdup(name);
        rt->exact_model = 1;
        rt->protocol = -1;
        rt->up = up;
        rt->target_model = m ? strdup(json_string_value(m)) : NULL;
        rt->max_tokens = mt ? json_integer_value(mt) : 0;
    }
    return 0;
}

int conf_apply_json(relay_conf_t *c, json_t *root, const config_t *cfg, char *err, size_t errlen)
{
    vctx v = { cfg, err, errlen };
    static const char *const top[] = { "listen", "capture", "limits", "upstreams", "routes", "models", NULL };
    static const char *const cap[] = { "sink", "on_full", "queue", "max_body", "max_event", "spool_dir", NULL };
    static const char *const lim[] = { "max_request_body", "body_buffer", "drain_timeout", "client_close",
        "out_buffer", "connection_memory", "max_connections", "per_ip_connections",
        "connection_timeout", "header_timeout", "body_grace", "body_min_rate", "feedback_max_age",
        "upstream_idle", NULL };
    if (!json_is_object(root)) return verr(&v, root, "(top)", "the configuration must be a mapping%s", "");
    if (check_keys(&v, root, "", top)) return -1;

    json_t *l = json_object_get(root, "listen");
    if (l) {
        json_t *arr = json_is_string(l) ? json_pack("[O]", l) : json_incref(l);
        if (!json_is_array(arr)) { json_decref(arr); return verr(&v, l, "listen", "must be ADDR:PORT or a list of them%s", ""); }
        size_t i; json_t *x;
        json_array_foreach(arr, i, x) {
            if (!json_is_string(x)) { json_decref(arr); return verr(&v, l, "listen", "must be ADDR:PORT or a list of them%s", ""); }
            char **nl = realloc(c->listen, (c->nlisten + 1) * sizeof *nl);
            if (!nl) { json_decref(arr); return -1; }
            c->listen = nl;
            c->listen[c->nlisten++] = strdup(json_string_value(x));
        }
        json_decref(arr);
    }
    json_t *o = json_object_get(root, "capture");
    if (o) {
        if (!json_is_object(o)) return verr(&v, o, "capture", "must be a mapping%s", "");
        if (check_keys(&v, o, "capture", cap) ||
            get_str(&v, o, "sink", "capture.sink", &c->capture) ||
            get_str(&v, o, "spool_dir", "capture.spool_dir", &c->spool_dir) ||
            get_size(&v, o, "queue", "capture.queue", &c->queue_max) ||
            get_size(&v, o, "max_body", "capture.max_body", &c->capture_max_body) ||
            get_size(&v, o, "max_event", "capture.max_event", &c->max_event))
            return -1;
        json_t *f = json_object_get(o, "on_full");
        if (f) {
            const char *s = json_is_string(f) ? json_string_value(f) : "";
            if (!strcmp(s, "block")) c->on_full_drop = 0;
            else if (!strcmp(s, "drop")) c->on_full_drop = 1;
            else return verr(&v, f, "capture.on_full", "must be \"block\" or \"drop\"%s", "");
        }
    }
    o = json_object_get(root, "limits");
    if (o) {
        if (!json_is_object(o)) return verr(&v, o, "limits", "must be a mapping%s", "");
        size_t n;
        if (check_keys(&v, o, "limits", lim) ||
            get_size(&v, o, "max_request_body", "limits.max_request_body", &c->max_request_body) ||
            get_size(&v, o, "body_buffer", "limits.body_buffer", &c->body_buffer) ||
            get_ms(&v, o, "header_timeout", "limits.header_timeout", &c->header_timeout_ms) ||
            get_ms(&v, o, "body_grace", "limits.body_grace", &c->body_grace_ms) ||
            get_size(&v, o, "body_min_rate", "limits.body_min_rate", &c->body_min_rate) ||
            get_ms(&v, o, "drain_timeout", "limits.drain_timeout", &c->drain_ms) ||
            get_ms(&v, o, "upstream_idle", "limits.upstream_idle", &c->upstream_idle_ms) ||
            get_size(&v, o, "out_buffer", "limits.out_buffer", &c->out_buffer) ||
            get_size(&v, o, "connection_memory", "limits.connection_memory", &c->conn_memory))
            return -1;
        long ms = -1;
        if (get_ms(&v, o, "feedback_max_age", "limits.feedback_max_age", &ms)) return -1;
        if (ms >= 0) c->feedback_max_age_ms = ms;
        ms = -1;
        if (get_ms(&v, o, "connection_timeout", "limits.connection_timeout", &ms)) return -1;
        if (ms >= 0) c->conn_timeout_s = (ms + 999) / 1000;
        json_t *x = json_object_get(o, "max_connections");
        if (x) { if (!json_is_integer(x) || json_integer_value(x) < 1) return verr(&v, x, "limits.max_connections", "must be a positive integer%s", ""); c->max_connections = (unsigned)json_integer_value(x); }
        x = json_object_get(o, "per_ip_connections");
        if (x) { if (!json_is_integer(x) || json_integer_value(x) < 0) return verr(&v, x, "limits.per_ip_connections", "must be an integer ≥ 0%s", ""); c->per_ip_connections = (unsigned)json_integer_value(x); }
        x = json_object_get(o, "client_close");
        if (x) {
            const char *s = json_is_string(x) ? json_string_value(x) : "";
            if (!strcmp(s, "cancel")) c->client_close_finish = 0;
            else if (!strcmp(s, "finish")) c->client_close_finish = 1;
            else return verr(&v, x, "limits.client_close", "must be \"cancel\" or \"finish\"%s", "");
        }
        (void)n;
    }
    o = json_object_get(root, "upstreams");
    if (o) {
        if (!json_is_object(o)) return verr(&v, o, "upstreams", "must be a mapping of name to upstream%s", "");
        const char *k; json_t *u;
        json_object_foreach(o, k, u) if (apply_upstream(&v, c, k, u)) return -1;
    }
    o = json_object_get(root, "models");
    if (o && apply_models(&v, c, o)) return -1;
    o = json_object_get(root, "routes");
    if (o) {
        if (!json_is_array(o)) return verr(&v, o, "routes", "must be a list%s", "");
        route_t *nr = realloc(c->routes, (c->nroutes + json_array_size(o)) * sizeof *nr);
        if (!nr) return -1;
        c->routes = nr;
        size_t i; json_t *x;
        json_array_foreach(o, i, x) if (apply_route(&v, c, i, x)) return -1;
    }
    return 0;
}

/* After file and flags: add the implicit default route, check sense. */
int conf_finish(relay_conf_t *c, char *err, size_t errlen)
{
    if (c->nups == 0) {
        snprintf(err, errlen, "no upstream: give --upstream URL or a config file with upstreams");
        return -1;
    }
    size_t plain = 0;
    for (size_t i = 0; i < c->nroutes; i++) if (!c->routes[i].exact_model) plain++;
    if (plain == 0) {                /* one upstream per protocol as default */
        route_t *nr = realloc(c->routes, (c->nroutes + c->nups) * sizeof *nr);
        if (!nr) return -1;
        c->routes = nr;
        memset(c->routes + c->nroutes, 0, c->nups * sizeof *nr);
        for (size_t i = 0; i < c->nups; i++) {
            route_t *rt = &c->routes[c->nroutes++];
            rt->name = strdup(c->ups[i]->name);
            rt->protocol = c->nups > 1 ? c->ups[i]->protocol : -1;
            rt->up = c->ups[i];
        }
    }
    if (c->nlisten == 0) {
        c->listen = calloc(1, sizeof *c->listen);
        c->listen[c->nlisten++] = strdup("127.0.0.1:8080");
    }
    if (c->out_buffer < 32768) c->out_buffer = 32768;
    if (c->conn_memory < 8192) c->conn_memory = 8192;   /* 4 KiB of head, 4 KiB for the answer's */
    return 0;
}
