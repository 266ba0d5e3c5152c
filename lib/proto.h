/* proto.h — the two API dialects, OpenAI and Anthropic, and which one a
 * request speaks: the relay's routing rule, shared by llm-replay to read
 * recorded requests the way the relay did. */
#ifndef PLLM_PROTO_H
#define PLLM_PROTO_H

/* The same values as lib/translate's TR_OPENAI and TR_ANTHROPIC;
 * PROTO_ANY: an upstream with no protocol of its own (the relay). */
enum proto { PROTO_ANY = -1, PROTO_OPENAI = 0, PROTO_ANTHROPIC = 1 };

/* The protocol of a request to path: Anthropic for a path containing
 * /v1/messages or /v1/complete or starting with /anthropic/; else OpenAI
 * for one containing /v1/chat/, /v1/completions, /v1/embeddings or
 * /v1/responses or starting with /openai/; else Anthropic when the request
 * has an anthropic-version header, OpenAI when not. */
int proto_of_path(const char *path, int has_anthropic_header);

#endif
