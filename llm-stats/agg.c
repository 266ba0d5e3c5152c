/* agg.c — views and groups: a view is one grouping (--by dims); its groups
 * are found by their interned key pointers in a hash table. Every complete
 * exchange is counted in every view and in the totals. */
#include "stats.h"
#include <stdlib.h>
#include <string.h>

const char *const dim_names[DIM_N] = { "model", "user", "upstream", "route", "day", "hour", "status" };

int dims_parse(const char *s, enum dim *dims, char *err, size_t errlen)
{
    int n = 0;
    while (*s) {
        size_t len = strcspn(s, ",");
        int k;
        for (k = 0; k < DIM_N; k++)
            if (strlen(dim_names[k]) == len && !memcmp(dim_names[k], s, len)) break;
        if (k == DIM_N) {
            snprintf(err, errlen, "unknown grouping '%.*s' (model, user, upstream, route, day, hour, status)", (int)len, s);
            return -1;
        }
        for (int i = 0; i < n; i++)
            if (dims[i] == (enum dim)k) { snprintf(err, errlen, "grouping '%s' given twice", dim_names[k]); return -1; }
        dims[n++] = (enum dim)k;
        s += len;
        if (*s == ',') s++;
    }
    return n;
}

int agg_init(agg_t *a, prices_t *p)
{
    memset(a, 0, sizeof *a);
    a->prices = p;
    figures_init(&a->totals);
    a->strs = strtab_new();
    return a->strs ? 0 : -1;
}

static void view_free(view_t *v)
{
    for (size_t i = 0; i < v->groups.cap; i++)
        for (hnode_t *x = v->groups.tab[i], *nx; x; x = nx) {
            nx = x->next;
            figures_free(&((group_t *)x)->f);
            free(x);
        }
    htab_free(&v->groups);
}

void agg_free(agg_t *a)
{
    for (int i = 0; i < a->nviews; i++) view_free(&a->views[i]);
    free(a->views);
    figures_free(&a->totals);
    strtab_free(a->strs);
    memset(a, 0, sizeof *a);
}

int agg_add_view(agg_t *a, const enum dim *dims, int ndims)
{
    view_t *vs = realloc(a->views, (size_t)(a->nviews + 1) * sizeof *vs);
    if (!vs) return -1;
    a->views = vs;
    view_t *v = &vs[a->nviews];
    memset(v, 0, sizeof *v);
    v->ndims = ndims;
    memcpy(v->dims, dims, (size_t)ndims * sizeof *dims);
    if (htab_init(&v->groups, 64)) return -1;
    return a->nviews++;
}

static size_t key_hash(const view_t *v, const char *const *key)
{
    const char *k[DIM_N];
    for (int i = 0; i < v->ndims; i++) k[i] = key[v->dims[i]];
    return hash_bytes(k, (size_t)v->ndims * sizeof *k);
}

static group_t *group_get(view_t *v, const exch_t *e)
{
    size_t h = key_hash(v, e->key);
    for (hnode_t *x = *htab_chain(&v->groups, h); x; x = x->next) {
        group_t *g = (group_t *)x;
        int i;
        for (i = 0; i < v->ndims; i++)
            if (g->key[v->dims[i]] != e->key[v->dims[i]]) break;
        if (x->hash == h && i == v->ndims) return g;
    }
    if (htab_room(&v->groups)) return NULL;
    group_t *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    for (int i = 0; i < v->ndims; i++) g->key[v->dims[i]] = e->key[v->dims[i]];
    figures_init(&g->f);
    g->node.hash = h;
    htab_insert(&v->groups, &g->node);
    return g;
}

int agg_add(agg_t *a, const exch_t *e)
{
    const price_t *p = prices_find(a->prices, e->key[DIM_MODEL]);
    if (figures_add(&a->totals, e, p)) return -1;
    for (int i = 0; i < a->nviews; i++) {
        group_t *g = group_get(&a->views[i], e);
        if (!g || figures_add(&g->f, e, p)) return -1;
    }
    return 0;
}

void agg_incomplete_reset(agg_t *a)
{
    a->incomplete = a->totals.incomplete = 0;
    for (int i = 0; i < a->nviews; i++)
        for (size_t k = 0; k < a->views[i].groups.cap; k++)
            for (hnode_t *x = a->views[i].groups.tab[k]; x; x = x->next) ((group_t *)x)->f.incomplete = 0;
}

int agg_incomplete(agg_t *a, const exch_t *e)
{
    a->incomplete++;
    a->totals.incomplete++;
    for (int i = 0; i < a->nviews; i++) {
        group_t *g = group_get(&a->views[i], e);
        if (!g) return -1;
        g->f.incomplete++;
    }
    return 0;
}

static int key_cmp(const void *x, const void *y, void *ctx)
{
    const view_t *sort_view = ctx;
    const group_t *a = *(group_t *const *)x, *b = *(group_t *const *)y;
    for (int i = 0; i < sort_view->ndims; i++) {
        const char *p = a->key[sort_view->dims[i]], *q = b->key[sort_view->dims[i]];
        if (p == q) continue;
        if (!p) return 1;             /* no value: last */
        if (!q) return -1;
        int c = strcmp(p, q);
        if (c) return c;
    }
    return 0;
}

group_t **agg_sorted(const view_t *v, size_t *n)
{
    group_t **out = malloc((v->groups.n ? v->groups.n : 1) * sizeof *out);
    *n = 0;
    if (!out) return NULL;
    for (size_t i = 0; i < v->groups.cap; i++)
        for (hnode_t *x = v->groups.tab[i]; x; x = x->next) {
            group_t *g = (group_t *)x;
            if (g->f.requests || g->f.incomplete) out[(*n)++] = g;
        }
    qsort_r(out, *n, sizeof *out, key_cmp, (void *)v);
    return out;
}
