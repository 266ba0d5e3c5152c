/* sse.h — incremental Server-Sent Events splitter (WHATWG HTML §9.2).
 * Feed it bytes as they arrive; it calls back once per complete event with
 * the exact raw bytes of that event (from the first byte after the previous
 * event up to and including the blank line that ends it), so concatenating
 * every raw event plus sse_finish's remainder rebuilds the input exactly.
 * Line ends: CRLF, LF or CR (a CR at the end of one feed followed by LF in
 * the next is one line end). It also gives the parsed fields: the event name
 * ("" when absent), the data (data: lines joined with "\n"), and whether the
 * event was only comments. */
#ifndef PLLM_SSE_H
#define PLLM_SSE_H
#include <stddef.h>

typedef struct {
    const char *raw; size_t raw_len;   /* exact bytes of the event */
    const char *name; size_t name_len; /* value of the last event: field */
    const char *data; size_t data_len; /* data lines joined by '\n' */
    int has_data;                      /* at least one data: line */
    const char *id; size_t id_len; int has_id;
    int truncated;                     /* a piece of an event longer than
                                          max_event: raw only, no fields */
} sse_event_t;

/* Return 0 to go on, non-zero to stop (sse_feed then returns that value). */
typedef int (*sse_cb)(void *arg, const sse_event_t *ev);

typedef struct sse sse_t;

#define SSE_DEFAULT_MAX_EVENT ((size_t)16 << 20) /* used when max_event is 0 */

/* max_event: largest event held (bytes); a longer one is delivered in
 * pieces of max_event bytes (the last one shorter, ending at the blank
 * line), each with truncated=1, has_data=0 and no fields; it counts once
 * in sse_oversized. Events with only comments, or empty ones (a lone
 * blank line), are delivered too (has_data=0), so no byte is lost.
 * The callback must not call sse_feed on the same parser. */
sse_t *sse_new(size_t max_event, sse_cb cb, void *arg);
void sse_free(sse_t *s);
/* Returns 0, the callback's non-zero value, or -1 on memory failure
 * (after a non-zero return the rest of p is not consumed). */
int sse_feed(sse_t *s, const char *p, size_t n);
/* At end of input: deliver an event whose blank line ended with a CR as
 * the very last byte (held until now in case an LF followed). Returns 0
 * or the callback's value. Call before sse_remainder. */
int sse_finish(sse_t *s);
/* At end of input: bytes of an unfinished event (not delivered as an
 * event). *len = 0 when none. The pointer stays valid until the next call. */
const char *sse_remainder(sse_t *s, size_t *len);
/* Count of events that passed max_event and were cut into pieces. */
size_t sse_oversized(const sse_t *s);
/* Bytes currently held for an unfinished event. */
size_t sse_pending(const sse_t *s);

#endif
