/* buf.c — growable byte buffers with a hard cap (see buf.h). The bytes in
 * use are data[off .. off+len); a NUL byte always follows them, so buf_ptr
 * is also a C string when the contents hold no NUL. Consumed bytes at the
 * front are reclaimed by moving the rest down before growing. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(buf_t *b, size_t cap)
{
    b->data = NULL;
    b->len = b->off = b->size = 0;
    b->cap = cap;
}

void buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->off = b->size = 0;
}

/* Make room for need bytes in use plus the NUL; -1 when out of memory. */
static int reserve(buf_t *b, size_t need)
{
    if (b->off > 0 && b->off + need + 1 > b->size) {
        memmove(b->data, b->data + b->off, b->len + 1);
        b->off = 0;
    }
    if (need + 1 <= b->size)
        return 0;
    size_t size = b->size ? b->size : 64;
    while (size < need + 1)
        size = size > (size_t)-1 / 2 ? need + 1 : size * 2;
    size_t limit = b->cap ? b->cap + 1 : (size_t)-1;
    if (size > limit)
        size = limit;
    char *p = realloc(b->data, size);
    if (!p)
        return -1;
    b->data = p;
    b->size = size;
    return 0;
}

int buf_reserve(buf_t *b, size_t n)
{
    if (n > buf_room(b) || b->len + n == (size_t)-1)
        return -1;
    size_t need = b->len + n;
    if (b->off > 0 && b->off + need + 1 > b->size) {
        memmove(b->data, b->data + b->off, b->len + 1);
        b->off = 0;
    }
    if (need + 1 <= b->size)
        return 0;
    char *p = realloc(b->data, need + 1);   /* exactly: the caller knows the size */
    if (!p)
        return -1;
    if (!b->data) p[0] = '\0';
    b->data = p;
    b->size = need + 1;
    return 0;
}

int buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return 0;
    if (n > buf_room(b) || b->len + n == (size_t)-1)
        return -1;
    if (reserve(b, b->len + n) != 0)
        return -1;
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
    b->data[b->off + b->len] = '\0';
    return 0;
}

int buf_append_str(buf_t *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

void buf_consume(buf_t *b, size_t n)
{
    if (n >= b->len) {
        buf_reset(b);
        return;
    }
    b->off += n;
    b->len -= n;
}

void buf_reset(buf_t *b)
{
    b->len = 0;
    b->off = 0;
    if (b->data)
        b->data[0] = '\0';
}

void buf_trim(buf_t *b, size_t keep)
{
    if (b->len == 0 && b->size > keep)
        buf_free(b);
}
