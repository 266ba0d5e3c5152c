/* strtab.c — interned strings: one copy of each, compared by pointer.
 * Strings live in 64 KiB blocks until strtab_free. */
#include "stats.h"
#include <stdlib.h>
#include <string.h>

#define BLOCK (64 * 1024)

typedef struct ent { hnode_t node; uint32_t len; char s[]; } ent_t;
typedef struct block { struct block *next; size_t used, size; char mem[]; } block_t;

struct strtab {
    htab_t h;
    block_t *blocks;
};

strtab_t *strtab_new(void)
{
    strtab_t *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (htab_init(&t->h, 256)) { free(t); return NULL; }
    return t;
}

void strtab_free(strtab_t *t)
{
    if (!t) return;
    for (block_t *b = t->blocks, *nx; b; b = nx) { nx = b->next; free(b); }
    htab_free(&t->h);
    free(t);
}

static void *alloc(strtab_t *t, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    block_t *b = t->blocks;
    if (!b || b->size - b->used < n) {
        size_t size = n > BLOCK ? n : BLOCK;
        b = malloc(sizeof *b + size);
        if (!b) return NULL;
        b->size = size;
        b->used = 0;
        if (n > BLOCK && t->blocks) {      /* keep filling the current block */
            b->next = t->blocks->next;
            t->blocks->next = b;
        } else {
            b->next = t->blocks;
            t->blocks = b;
        }
    }
    void *p = b->mem + b->used;
    b->used += n;
    return p;
}

const char *strtab_get(strtab_t *t, const char *s, size_t n)
{
    if (n > UINT32_MAX) return NULL;
    size_t h = hash_bytes(s, n);
    for (hnode_t *x = *htab_chain(&t->h, h); x; x = x->next) {
        ent_t *e = (ent_t *)x;
        if (x->hash == h && e->len == n && !memcmp(e->s, s, n)) return e->s;
    }
    if (htab_room(&t->h)) return NULL;
    ent_t *e = alloc(t, sizeof *e + n + 1);
    if (!e) return NULL;
    e->node.hash = h;
    e->len = (uint32_t)n;
    memcpy(e->s, s, n);
    e->s[n] = 0;
    htab_insert(&t->h, &e->node);
    return e->s;
}
