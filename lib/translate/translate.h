/* translate.h — OpenAI Chat Completions ⇄ Anthropic Messages translation,
 * requests, whole responses, error bodies and streams, both directions.
 *
 * The contract (one translator per exchange, single-threaded use):
 *
 *   translate_t *t = translate_new(client, upstream, &opts);
 *   if (translate_request(t, body, len, &up_body, &up_len, &err) < 0)
 *       answer err.status with translate_error_body(client, &err, &out);
 *   url  = upstream base + translate_upstream_path(t);
 *   hdrs = translate_request_headers(t, client_headers, n, cb, arg);
 *   send up_body; free(up_body);
 *   response headers: drop those translate_drop_response_header() names,
 *     Content-Type: translate_response_content_type(t, sse);
 *   whole body (any status, JSON or not, also a non-SSE answer to a stream
 *   request):   translate_response(t, status, body, len, &out, &cstatus, &err)
 *   stream (upstream answered text/event-stream):
 *       for each SSE event (lib/sse.c gives name + data):
 *           translate_stream_event(t, name, nlen, data, dlen, &out);
 *       at the end of the upstream body:
 *           translate_stream_finish(t, upstream_ok, &out);
 *   translate_free(t);
 *
 * Everything appended to out is in the client's protocol and complete: a
 * stream event is appended whole ("event: x\ndata: {...}\n\n" or
 * "data: {...}\n\n"), at once, as the upstream event that caused it is fed;
 * nothing of a stream is held back beyond the one event being translated,
 * except the final message_delta of an Anthropic stream made from an OpenAI
 * one, which waits for the upstream's usage chunk (it follows the finish
 * chunk) or its [DONE].
 *
 * Usage the way each client's SDK expects it:
 *   OpenAI client ← Anthropic upstream: usage chunk ("choices": [] and
 *     "usage") just before "data: [DONE]", only when the client asked for
 *     stream_options.include_usage; prompt_tokens = input_tokens +
 *     cache_read_input_tokens + cache_creation_input_tokens,
 *     prompt_tokens_details.cached_tokens = cache_read_input_tokens,
 *     completion_tokens_details.reasoning_tokens from
 *     output_tokens_details.thinking_tokens when given.
 *   Anthropic client ← OpenAI upstream: the upstream request always asks
 *     for stream_options.include_usage; message_start carries
 *     input_tokens 0 (not known yet), and message_delta carries the
 *     cumulative input_tokens (prompt_tokens - cached_tokens),
 *     cache_read_input_tokens (cached_tokens), cache_creation_input_tokens
 *     (0) and output_tokens (completion_tokens), which the Anthropic SDKs
 *     take as the message's usage.
 *
 * Request fields (anything not listed is rejected with a 400 naming it):
 *   OpenAI → Anthropic
 *     mapped: model, messages (system/developer → system, hoisted in order;
 *       user text/image_url (data: → base64 source, http(s) → url source)/
 *       file (file_data of application/pdf → document); assistant content,
 *       refusal, tool_calls → tool_use (arguments parsed to input),
 *       thinking_blocks (extension) → thinking/redacted_thinking; tool →
 *       tool_result, consecutive ones merged into one user turn),
 *       max_completion_tokens | max_tokens (else the per-model default),
 *       temperature, top_p, top_k (extension), stop → stop_sequences,
 *       stream, user | safety_identifier → metadata.user_id, tools,
 *       tool_choice (none/auto/required/{function} → none/auto/any/tool),
 *       parallel_tool_calls:false → disable_parallel_tool_use,
 *       reasoning_effort → thinking {enabled, budget_tokens} ("none" →
 *       disabled), thinking (extension, as is), response_format json_schema
 *       → output_config.format, cache_control on parts (extension).
 *     ignored as harmless: n:1, stream_options (recorded), store:false,
 *       metadata (only used with store), prompt_cache_key, service_tier
 *       auto/default, modalities ["text"], response_format text, zero
 *       frequency/presence penalties, logprobs:false, empty logit_bias,
 *       image_url.detail, reasoning_content on assistant messages
 *       (unsigned: Anthropic cannot take it back), empty text parts.
 *   Anthropic → OpenAI
 *     mapped: model, messages (text, image base64/url → image_url,
 *       document base64 pdf → file, plain-text document → text, tool_use →
 *       tool_calls, tool_result → role "tool" messages placed before the
 *       rest of the turn, with is_error:true prefixing "Error: " and images
 *       in a result moved to a user message after the tool messages),
 *       system (string, or text blocks), max_tokens (or
 *       max_completion_tokens by option), temperature, top_p, top_k,
 *       stop_sequences → stop, stream (+ stream_options.include_usage),
 *       metadata.user_id → user, tools (custom only), tool_choice,
 *       disable_parallel_tool_use → parallel_tool_calls:false,
 *       thinking enabled → reasoning_effort by budget, output_config.effort
 *       (low/medium/high) → reasoning_effort, output_config.format →
 *       response_format json_schema.
 *     ignored as harmless: cache_control (anywhere), thinking
 *       disabled/adaptive, thinking and redacted_thinking blocks of earlier
 *       assistant turns (their signatures cannot be checked by an OpenAI
 *       upstream), service_tier, speed "standard", empty text blocks.
 *   Thinking signatures: an Anthropic client's signed thinking cannot go
 *   through an OpenAI upstream and come back signed; an OpenAI client gets
 *   Anthropic thinking as message.reasoning_content plus thinking_blocks
 *   (with signatures, non-stream and stream), and only a client that sends
 *   thinking_blocks back keeps them; reasoning_content alone is unsigned and
 *   is not sent to Anthropic.
 *
 * Responses: stop_reason ↔ finish_reason: end_turn, stop_sequence,
 * pause_turn → stop; max_tokens, model_context_window_exceeded → length;
 * tool_use → tool_calls; refusal → content_filter; and back: stop →
 * end_turn (stop_sequence when a vLLM-style choices[].stop_reason names the
 * string), length → max_tokens, tool_calls/function_call → tool_use,
 * content_filter → refusal. Ids (message and tool call) are kept as they
 * are; a tool call id going to an Anthropic client has every byte outside
 * [A-Za-z0-9_-] replaced by '_' (the same in requests, so ids stay
 * consistent), and a missing one is made from the message id and index.
 * Reasoning from OpenAI-compatible upstreams (message/delta
 * reasoning_content or reasoning) becomes thinking with an empty signature.
 * Error bodies become the client's native shape with a mapped status
 * (see errors.c).
 *
 * Memory: every function appends to the caller's buf_t; each client event
 * goes in whole or not at all. On -1 (out full, or memory short)
 * translate_response and translate_stream_finish have appended nothing;
 * translate_stream_event may have written some whole events of the
 * upstream event before the failing one, so the exchange should end
 * there. The translator owns its state; the body from translate_request
 * is the caller's to free(). Nothing here prints or exits. */
#ifndef PLLM_TRANSLATE_H
#define PLLM_TRANSLATE_H
#include <stddef.h>
#include <stdint.h>
#include "buf.h"

/* The two protocols; the same values as the relay's PROTO_OPENAI and
 * PROTO_ANTHROPIC. */
enum { TR_OPENAI = 0, TR_ANTHROPIC = 1 };

#define TRANSLATE_DEFAULT_MAX_TOKENS 4096
#define TRANSLATE_ANTHROPIC_VERSION "2023-06-01"

/* Default max_tokens for an Anthropic upstream, by model glob (fnmatch). */
typedef struct {
    const char *pattern;
    long long max_tokens;
} translate_max_tokens_t;

typedef struct {
    /* Model to send upstream (the alias' target); NULL keeps the client's. */
    const char *model;
    /* max_tokens when an OpenAI client names none (Anthropic requires it):
     * max_tokens_cb first (a value > 0 is used), then the first matching
     * entry of the table, then default_max_tokens, then
     * TRANSLATE_DEFAULT_MAX_TOKENS. Only read during translate_request. */
    long long (*max_tokens_cb)(void *arg, const char *model);
    void *cb_arg;
    const translate_max_tokens_t *max_tokens; size_t n_max_tokens;
    long long default_max_tokens;
    /* budget_tokens for reasoning_effort minimal, low, medium, high
     * (0 = 1024, 2048, 8192, 16384); an Anthropic budget maps back to the
     * first effort (low, medium, high) whose budget it does not pass. */
    long long effort_budget[4];
    /* Anthropic → OpenAI: send max_completion_tokens (OpenAI reasoning
     * models) instead of max_tokens (every OpenAI-compatible server). */
    int max_completion_tokens;
    /* "created" of OpenAI bodies made from Anthropic ones; 0 = time(). */
    int64_t created;
} translate_opts_t;

/* Why a request cannot be translated (or a response read): ready to send
 * as the client's native error with translate_error_body. */
typedef struct {
    int status;          /* HTTP status for the client (400, 502, ...) */
    char type[48];       /* error type in the client's protocol */
    char param[128];     /* the request field at fault ("" if none) */
    char message[512];   /* names the field and why */
} translate_error_t;

typedef struct translate translate_t;

/* A translator from the client's protocol to the upstream's (TR_OPENAI or
 * TR_ANTHROPIC; they differ). opts may be NULL; it is copied, and the
 * strings and table it points to must stay valid until translate_request
 * returns. NULL on bad arguments or memory failure. */
translate_t *translate_new(int client, int upstream, const translate_opts_t *opts);
void translate_free(translate_t *t);

/* Translate the client's JSON request body. On success returns 0 and sets
 * *out (malloc'd, NUL-terminated, caller frees) and *outlen; on failure
 * returns -1 with err filled (status 400 for a request that cannot be
 * mapped, 500 for memory failure). Call once per translator. */
int translate_request(translate_t *t, const char *body, size_t len,
                      char **out, size_t *outlen, translate_error_t *err);

/* After translate_request: 1 when the client asked for a stream. */
int translate_is_stream(const translate_t *t);
/* After translate_request: the client's model name and the upstream's. */
const char *translate_client_model(const translate_t *t);
const char *translate_upstream_model(const translate_t *t);
/* The upstream endpoint: "/v1/messages" or "/v1/chat/completions". */
const char *translate_upstream_path(const translate_t *t);

/* Request headers. For every client header, in order, and then for the
 * ones to add, cb is called with a header to send upstream (the name and
 * value stay valid only during the call). What changes: Content-Length and
 * Transfer-Encoding are dropped (the caller sets them for the new body);
 * Content-Type becomes application/json; Accept-Encoding becomes identity
 * (the translator reads plain bytes); to Anthropic: Authorization: Bearer K
 * becomes x-api-key: K, OpenAI-Organization/-Project/-Beta are dropped,
 * anthropic-version: 2023-06-01 is added when absent; to OpenAI: x-api-key:
 * K becomes Authorization: Bearer K (dropped when Authorization is also
 * there), anthropic-* headers are dropped. Other headers pass as they are.
 * Returns 0, or the first non-zero value cb returned. */
typedef struct { const char *name; const char *value; size_t vlen; } translate_header_t;
typedef int (*translate_header_cb)(void *arg, const char *name, const char *value, size_t vlen);
int translate_request_headers(const translate_t *t, const translate_header_t *h, size_t n,
                              translate_header_cb cb, void *arg);
/* 1 for an upstream response header the client must not get as is
 * (Content-Length, Content-Encoding, Transfer-Encoding, Content-Type: the
 * body changes; set Content-Type from translate_response_content_type). */
int translate_drop_response_header(const char *name);
/* "text/event-stream" when sse, else "application/json". */
const char *translate_response_content_type(int sse);

/* A whole upstream response (status and body, JSON or not, error or not).
 * Appends the client-protocol body to out and sets *client_status. A
 * success body that cannot be read becomes a native 502 error body (and
 * returns 0); -1 only when out is full or memory is short (err filled). */
int translate_response(translate_t *t, int status, const char *body, size_t len,
                       buf_t *out, int *client_status, translate_error_t *err);

/* One upstream SSE event (name "" or NULL when absent; data joined). Appends
 * the client-protocol events it makes to out (maybe none). Returns 0, 1 when
 * the event was not understood and was skipped (bad JSON, unknown kind,
 * after the end), or -1 when out is full or memory is short. */
int translate_stream_event(translate_t *t, const char *name, size_t name_len,
                           const char *data, size_t data_len, buf_t *out);
/* The upstream body ended: upstream_ok is 1 when the transfer completed,
 * 0 when it broke off. Appends what the client's protocol still needs: for
 * a complete stream whose terminal events were missing, the finish/usage/
 * [DONE] or message_delta/message_stop; for a broken one, the open block's
 * end, the usage so far (message_delta, or the usage chunk when asked) and
 * then an error event, so that the client's SDK raises instead of taking a
 * cut answer as whole. Nothing after an upstream error event. Returns 0
 * or -1 (out full). */
int translate_stream_finish(translate_t *t, int upstream_ok, buf_t *out);
/* 1 once the client's stream has its terminal event(s). */
int translate_stream_done(const translate_t *t);

/* The native error body of proto for err: OpenAI {"error": {"message",
 * "type", "param", "code"}}; Anthropic {"type": "error", "error": {"type",
 * "message"}}. Returns 0 or -1 (out full). */
int translate_error_body(int proto, const translate_error_t *err, buf_t *out);

#endif
