/* htab.c — the chained hash table under the interned strings, the open
 * exchanges and the groups: entries embed an hnode_t as their first member
 * and keep their hash, so the table grows without knowing them. */
#include "stats.h"
#include <stdlib.h>
#include "hash.h"

size_t hash_bytes(const void *p, size_t n)
{
    return (size_t)hash_fnv1a(p, n);
}

int htab_init(htab_t *h, size_t cap)
{
    h->n = 0;
    h->cap = cap;
    h->tab = calloc(cap, sizeof *h->tab);
    return h->tab ? 0 : -1;
}

void htab_free(htab_t *h)
{
    free(h->tab);
    h->tab = NULL;
    h->cap = h->n = 0;
}

static int grow(htab_t *h)
{
    size_t cap = h->cap * 2;
    hnode_t **tab = calloc(cap, sizeof *tab);
    if (!tab) return -1;
    for (size_t i = 0; i < h->cap; i++)
        for (hnode_t *e = h->tab[i], *nx; e; e = nx) {
            nx = e->next;
            e->next = tab[e->hash & (cap - 1)];
            tab[e->hash & (cap - 1)] = e;
        }
    free(h->tab);
    h->tab = tab;
    h->cap = cap;
    return 0;
}

int htab_room(htab_t *h)
{
    return h->n >= h->cap ? grow(h) : 0;
}

void htab_insert(htab_t *h, hnode_t *e)
{
    e->next = h->tab[e->hash & (h->cap - 1)];
    h->tab[e->hash & (h->cap - 1)] = e;
    h->n++;
}
