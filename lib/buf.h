/* buf.h — growable byte buffers with a hard cap. A buffer never grows past
 * its cap: buf_append fails instead, and the caller pushes back.
 * A NUL byte always follows the bytes in use (not counted in len), so
 * buf_ptr can be used as a C string when the contents hold no NUL. */
#ifndef PLLM_BUF_H
#define PLLM_BUF_H
#include <stddef.h>

typedef struct {
    char *data;   /* owned; NULL until the first append */
    size_t len;   /* bytes in use, from data[off] */
    size_t off;   /* bytes already consumed at the front */
    size_t size;  /* allocated */
    size_t cap;   /* hard limit on len (0 = SIZE_MAX) */
} buf_t;

void buf_init(buf_t *b, size_t cap);
void buf_free(buf_t *b);                 /* releases memory, keeps cap */
/* Append n bytes; -1 (and nothing appended) if len+n would pass cap or
 * memory is short. */
int buf_append(buf_t *b, const void *p, size_t n);
int buf_append_str(buf_t *b, const char *s);
/* Room for n more bytes, allocated exactly (a known size: no doubling);
 * -1 past cap or when memory is short. */
int buf_reserve(buf_t *b, size_t n);
static inline const char *buf_ptr(const buf_t *b) { return b->data ? b->data + b->off : ""; }
static inline size_t buf_len(const buf_t *b) { return b->len; }
static inline size_t buf_room(const buf_t *b) { return (b->cap ? b->cap : (size_t)-1) - b->len; }
void buf_consume(buf_t *b, size_t n);    /* drop n bytes from the front */
/* Shorten to len bytes (len <= buf_len), the NUL kept after them. */
static inline void buf_cut(buf_t *b, size_t len) { if (len <= b->len && b->data) { b->len = len; b->data[b->off + len] = 0; } }
void buf_reset(buf_t *b);                /* len = 0, keeps memory */
/* Release memory when empty and larger than keep bytes (idle trimming). */
void buf_trim(buf_t *b, size_t keep);

#endif
