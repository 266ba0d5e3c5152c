/* capture.h — the capture events (see llm-capture(5) and capture.schema.json):
 * building them, masking secrets, encoding bytes, writing one line. */
#ifndef PLLM_CAPTURE_H
#define PLLM_CAPTURE_H
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>
#include "buf.h"

#define CAPTURE_VERSION 1
#define CAPTURE_MASK_LEN 40 /* "[masked sha256:" + 12 hex + "]" + NUL */

/* New event object {"v","event","id","ts"}; caller owns it. */
json_t *capture_event(const char *kind, const char *id, int64_t wall_us);
/* Set key to the bytes p[0..n) as a JSON string when they are valid UTF-8,
 * else to their base64 and enc_key to "base64". Returns 0 or -1. */
int capture_set_bytes(json_t *ev, const char *key, const char *enc_key,
                      const char *p, size_t n);
/* 1 if a header of this name carries a secret (case-insensitive). */
int capture_is_secret(const char *name, size_t len);
/* "[masked sha256:<12 hex>]" for a secret value. */
void capture_mask(const char *value, size_t len, char out[CAPTURE_MASK_LEN]);
/* Append [name, value] to the array arr, masking secret values. */
int capture_add_header(json_t *arr, const char *name, size_t nlen,
                       const char *value, size_t vlen);
/* Append the compact JSON of ev and '\n' to out. Returns 0 or -1. */
int capture_dump(const json_t *ev, buf_t *out);
/* Append p[0..n) to out as the inside of a JSON string (no quotes).
 * Returns 0, 1 when the bytes are not valid UTF-8 (nothing appended),
 * or -1 when out is full. */
int capture_escape(buf_t *out, const char *p, size_t n);
/* Append the base64 of p[0..n) to out. Returns 0 or -1. */
int capture_base64(buf_t *out, const char *p, size_t n);
/* Append the bytes of the base64 s[0..n) to out: strict RFC 4648 (the
 * standard alphabet, padded to a multiple of 4, '=' only at the end; no
 * spaces or line breaks; bits after the last byte are ignored). Returns
 * 0; -1 on bad input (nothing appended) or when out is full or memory is
 * short (part of the bytes may have been appended). */
int capture_base64_decode(buf_t *out, const char *s, size_t n);
/* 1 if p[0..n) is valid UTF-8 (no overlongs, no surrogates). */
int capture_utf8_valid(const char *p, size_t n);

#endif
