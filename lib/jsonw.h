/* jsonw.h — writing one JSON object straight into a buf_t, field by field,
 * without building a jansson tree: for events written at a high rate
 * (llm-relay's capture events). Strings are escaped as JSON; bytes that
 * are not UTF-8 go as base64 with an "<key>_encoding"-style marker field.
 * The writer never fails half-way silently: jw_failed() says if the buffer
 * refused an append, and the caller then drops the whole line. */
#ifndef PLLM_JSONW_H
#define PLLM_JSONW_H
#include <stddef.h>
#include "buf.h"

typedef struct { buf_t *b; size_t start; int n; int fail; } jw_t;

void jw_begin(jw_t *w, buf_t *b);                    /* "{" */
int jw_end(jw_t *w);                                 /* "}\n"; 0, or -1 (line removed) */
void jw_key(jw_t *w, const char *key);               /* ,"key": — then one jw_value_* */
void jw_value_str(jw_t *w, const char *s, size_t n); /* valid UTF-8 expected; else \uFFFD-free base64 is the caller's job */
void jw_value_raw(jw_t *w, const char *json, size_t n);
void jw_str(jw_t *w, const char *key, const char *s);          /* NULL → null */
void jw_int(jw_t *w, const char *key, long long v);
void jw_bool(jw_t *w, const char *key, int v);
void jw_null(jw_t *w, const char *key);
/* key: the bytes as a string when UTF-8, else base64 and enc_key: "base64" */
void jw_bytes(jw_t *w, const char *key, const char *enc_key, const char *p, size_t n);
int jw_failed(const jw_t *w);

#endif
