/* decode.h — Content-Encoding decoders, fed as bytes arrive: gzip (x-gzip),
 * deflate (zlib-wrapped, or raw as some servers send it), br (brotli) and
 * zstd. What is decoded goes to a callback, in pieces of up to 64 KiB.
 * Concatenated gzip members and zstd frames are decoded one after another. */
#ifndef PLLM_DECODE_H
#define PLLM_DECODE_H
#include <stddef.h>

typedef struct decoder decoder_t;
/* gets each decoded piece; nonzero stops the decoding (for good) */
typedef int (*decode_out_fn)(void *arg, const char *p, size_t n);

/* 1 when enc (a Content-Encoding value, one coding, any case, blanks
 * around it allowed) can be decoded; "identity" is not a coding here. */
int decode_supported(const char *enc);
/* NULL when the coding is not supported or memory is short. */
decoder_t *decoder_new(const char *enc);
/* Decode n more bytes. 0; -1 once the data is found corrupt; 1 when the
 * callback said stop. After -1 or 1 nothing more is decoded (-1 from then
 * on). A stream cut short is not an error: what could be decoded was given. */
int decoder_feed(decoder_t *d, const char *p, size_t n, decode_out_fn out, void *arg);
/* 1 when the input so far ends exactly at the end of a complete stream. */
int decoder_complete(const decoder_t *d);
void decoder_free(decoder_t *d);

#endif
