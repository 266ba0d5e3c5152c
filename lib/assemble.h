/* assemble.h — a response as the client's protocol would have returned it
 * non-streamed, rebuilt from a merged exchange: from its chunk events (SSE
 * streams of OpenAI chat/completions, completions, responses, and Anthropic
 * messages — text, tool calls by index with argument fragments, Anthropic
 * tool_use with input_json_delta, reasoning/thinking blocks with
 * signatures, refusals, finish/stop reason, usage) or from the body of a
 * non-streamed response (decoded when gzip/deflate). The same conversation
 * captured streaming and non-streaming assembles to the same object, up to
 * the fields that only one form carries (ids and "created" are kept from
 * the stream; "object" becomes the non-stream one). Used by llm-export and
 * llm-replay (diffs) and llm-stats where needed.
 *
 * Which chunks: for the client side of a translated exchange (chunks with
 * side "client" exist), those; otherwise the upstream's chunks, withheld
 * ones included (they only add the usage the relay asked for, which the
 * non-streamed answer would have carried too). A response body with
 * Content-Encoding gzip, x-gzip, deflate or zstd is decoded first. */
#ifndef PLLM_ASSEMBLE_H
#define PLLM_ASSEMBLE_H
#include <jansson.h>
#include "buf.h"
#include "merge.h"

typedef struct {
    int protocol;        /* 0 openai, 1 anthropic (the body's dialect) */
    int streamed;        /* rebuilt from SSE events */
    int status;          /* HTTP status, 0 if unknown */
    int complete;        /* the stream reached its terminal event */
    json_t *message;     /* the non-stream response object (caller owns) */
    /* normalised views, borrowed from message where possible: */
    const char *text;    /* all text content joined ("" if none); owned by the result */
    json_t *tool_calls;  /* [{id, name, arguments (string), input (parsed or null)}] (caller owns) */
    const char *finish_reason;  /* "stop"/"length"/"tool_calls"/... or Anthropic stop_reason */
    char error[256];     /* why assembly failed or is partial ("" if fine) */
    /* added: */
    int kind;            /* ASSEMBLE_CHAT, …: which API shape message has */
    size_t text_len;     /* bytes of text (it may hold NUL bytes) */
    const char *reasoning;      /* reasoning/thinking text joined ("" if none); owned by the result */
    const char *refusal;        /* the refusal text, or NULL */
    int error_body;      /* message is an error object (status >= 400 or an error event) */
} assembled_t;

/* Which side to rebuild for a translated exchange: what the upstream sent
 * (its protocol) or what the client got (the client's protocol). */
enum { ASSEMBLE_CLIENT = 0, ASSEMBLE_UPSTREAM = 1 };

/* The API shape of the assembled message. */
enum {
    ASSEMBLE_UNKNOWN = 0,  /* JSON of another shape (message is that JSON) */
    ASSEMBLE_CHAT,         /* OpenAI chat.completion */
    ASSEMBLE_COMPLETION,   /* OpenAI text_completion */
    ASSEMBLE_RESPONSES,    /* OpenAI Responses API response */
    ASSEMBLE_MESSAGES,     /* Anthropic message */
    ASSEMBLE_ERROR         /* an error body of either protocol */
};

/* Assemble m's response. Returns 0 (result filled; free with
 * assemble_free) or -1 when there is no response body to assemble (error
 * says why). */
int assemble_exchange(const merged_t *m, int side, assembled_t *out);
void assemble_free(assembled_t *a);

/* The response body bytes of one side, as received (chunk data in seq
 * order, base64 decoded; not decompressed), appended to out. Returns 0,
 * or -1 (memory, or a chunk's base64 is bad). */
int assemble_body(const merged_t *m, int side, buf_t *out);

#endif
