/* headers.c — ordered header lists, and which headers are hop-by-hop
 * (RFC 9110 §7.6.1: never forwarded, in either direction). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "relay.h"

int hdr_push(hdr_t **v, size_t *n, size_t *cap, const char *name, size_t nlen,
             const char *value, size_t vlen)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        hdr_t *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return -1;
        *v = nv; *cap = nc;
    }
    if (hdr_set(&(*v)[*n], name, nlen, value, vlen) < 0) return -1;
    (*n)++;
    return 0;
}

/* Name and value in one allocation (the name owns it): one malloc a header. */
int hdr_set(hdr_t *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    char *p = malloc(nlen + vlen + 2);
    if (!p) return -1;
    memcpy(p, name, nlen); p[nlen] = 0;
    memcpy(p + nlen + 1, value, vlen); p[nlen + 1 + vlen] = 0;
    h->name = p; h->value = p + nlen + 1; h->vlen = vlen;
    return 0;
}

void hdr_free(hdr_t *h)
{
    free(h->name);
    h->name = h->value = NULL;
}

void hdr_free_all(hdr_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) hdr_free(&v[i]);
    free(v);
}

const char *hdr_get(const hdr_t *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(v[i].name, name)) return v[i].value;
    return NULL;
}

/* 1 when the token name appears in a comma-separated list value */
static int list_has(const char *list, const char *name)
{
    size_t nl = strlen(name);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *s = p;
        while (*p && *p != ',') p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t')) e--;
        if ((size_t)(e - s) == nl && !strncasecmp(s, name, nl)) return 1;
    }
    return 0;
}

/* 1 when name is "connection" (checked on every header of every
 * exchange: the first letter and the length rule most out at once) */
static int is_connection(const char *name)
{
    return (name[0] | 0x20) == 'c' && strlen(name) == 10 && !strcasecmp(name, "connection");
}

int hdr_is_hop_by_hop(const char *name, const hdr_t *v, size_t n)
{
    static const char *const hop[] = { "connection", "keep-alive", "proxy-connection",
        "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", NULL };
    if (name[0] && strchr("cCkKpPtTuU", name[0]))       /* the first letters of the list */
        for (int i = 0; hop[i]; i++) if (!strcasecmp(name, hop[i])) return 1;
    for (size_t i = 0; i < n; i++)      /* named by Connection: */
        if (is_connection(v[i].name) && list_has(v[i].value, name)) return 1;
    return 0;
}
