/* jsonscan.h — a fast, allocation-free check that a line is exactly one
 * JSON object (RFC 8259: strings valid UTF-8 with valid escapes and
 * surrogate pairs, numbers by the grammar, nesting at most
 * JSONSCAN_MAX_DEPTH), finding the top-level "ts" string on the way.
 * Used by llm-tee on every line it accepts, so it must run near memory
 * speed: strings are scanned eight bytes at a time. */
#ifndef PLLM_JSONSCAN_H
#define PLLM_JSONSCAN_H
#include <stddef.h>

#define JSONSCAN_MAX_DEPTH 1000

/* 0 if p[0..n) is one JSON object (whitespace around it allowed), else -1
 * and *why (static text) says what is wrong. When ts is not NULL, *ts and
 * *tslen get the raw bytes inside the quotes of the first top-level member
 * named "ts" (written without escapes) whose value is a string, or NULL. */
int jsonscan_object(const char *p, size_t n, const char **ts, size_t *tslen, const char **why);

/* The raw bytes of a member's value (a string's include its quotes). */
typedef struct { const char *p; size_t n; } jsonscan_span_t;

/* Like jsonscan_object, and for each of the nkeys top-level member names
 * (written without escapes) the span of its first value, or p = NULL when
 * absent. Used by the relay to read model and stream without a parse tree. */
int jsonscan_members(const char *p, size_t n, const char *const *keys, jsonscan_span_t *spans,
                     size_t nkeys, const char **why);

#endif
