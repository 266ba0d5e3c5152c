/* usage.h — token usage and time-to-first-token from both protocols:
 * OpenAI chat/completions, completions, embeddings, responses, and
 * Anthropic messages; whole JSON bodies and stream events alike. */
#ifndef PLLM_USAGE_H
#define PLLM_USAGE_H
#include <stdint.h>
#include <stddef.h>
#include <jansson.h>

typedef struct {
    int64_t input_tokens;          /* -1 = unknown */
    int64_t output_tokens;
    int64_t cached_tokens;         /* cache reads (OpenAI cached_tokens, Anthropic cache_read_input_tokens) */
    int64_t cache_creation_tokens; /* Anthropic cache_creation_input_tokens */
    int64_t reasoning_tokens;
    int64_t total_tokens;
    int seen;                      /* any usage seen */
    char finish_reason[64];        /* last finish_reason / stop_reason seen, "" if none */
    char model[128];               /* model named by the response, "" if none */
} usage_t;

void usage_init(usage_t *u);
/* A whole (non-stream) JSON response body. Returns 1 if usage was found. */
int usage_from_body(usage_t *u, const char *body, size_t len);
/* One stream event: name is the SSE event name (may be ""), data the
 * joined data. Returns 1 if this event carried output content (text,
 * tool call, reasoning/thinking, refusal) — the time to first token is the
 * time of the first such event — else 0. Updates u from usage it carries
 * (OpenAI final usage chunk; Anthropic message_start / message_delta;
 * Responses API response.completed). */
int usage_from_event(usage_t *u, const char *name, size_t name_len,
                     const char *data, size_t data_len);
/* 1 if data is an OpenAI usage-only chunk ("choices": [] and a usage
 * object), the one the relay asked for and keeps from the client. */
int usage_is_usage_only_chunk(const char *data, size_t len);
/* New JSON object {input_tokens, output_tokens, cached_tokens, ...}
 * with only the known fields; caller owns it. */
json_t *usage_to_json(const usage_t *u);

#endif
