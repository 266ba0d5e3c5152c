/* mock-upstream: routing, scenarios and the OpenAI / Anthropic response
 * generators. Every answer is deterministic (fixed ids, fixed "created"),
 * so tests can compare bytes. See test/mock/README.md for the catalogue. */
#include "mock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

bool g_demo;

enum proto { P_OPENAI, P_ANTHROPIC };

enum ep {
	EP_NONE,
	EP_CHAT,
	EP_COMPLETIONS,
	EP_EMBEDDINGS,
	EP_RESPONSES,
	EP_MESSAGES,
	EP_COUNT_TOKENS,
	EP_MODELS
};

enum scen {
	SC_DEFAULT,
	SC_ECHO,
	SC_CRLF,
	SC_COMMENTS,
	SC_MULTILINE,
	SC_PING,
	SC_ERROR_MIDSTREAM,
	SC_SPLIT_UTF8,
	SC_BIG_EVENT,
	SC_429,
	SC_500,
	SC_RESET,
	SC_SLOW,
	SC_GZIP,
	SC_BR,
	SC_ZSTD,
	SC_DRIP,
	SC_HANG,
	SC_NOLENGTH,
	SC_HEADERS,
	SC_BIG_HEAD,
	SC_GARBAGE,
	SC_304,
	SC_STRICT,
	SC_COUNT
};

static const char *const scen_names[SC_COUNT] = {
	"default", "echo",  "crlf",    "comments", "multiline", "ping",
	"error-midstream",  "split-utf8", "big-event", "429", "500",
	"reset",   "slow",  "gzip",    "br",       "zstd",      "drip",     "hang",      "nolength",
	"headers", "big-head", "garbage", "304", "strict",
};

#define BIG_EVENT_BYTES 1048576
#define DEMO_TEXT                                                            \
	"This is the proxy-llm offline demo upstream. Set OPENAI_API_KEY or " \
	"ANTHROPIC_API_KEY to reach a real provider."

struct txt {
	char *p;
	size_t n;
};

struct ctx {
	struct conn *c;
	struct req *r;
	enum proto proto;
	enum ep ep;
	enum scen sc;
	long chunks, interval, delay, head_bytes;
	bool stream, include_usage, tools, head;
	const char *model;
	size_t model_len;
	const char *tool[2];
	size_t tool_len[2];
	struct txt *texts;
	size_t ntexts;
};

/* Stream events: each is written with its own write(). */
#define EV_CONTENT 1u /* carries generated content (text or tool args) */
#define EV_NOWAIT 2u  /* no X-Mock-Interval-Ms pause after this one */

struct ev {
	struct sb b;
	unsigned flags;
};

struct evl {
	struct ev *v;
	size_t n, cap;
};

static struct sb *evl_new(struct evl *l, unsigned flags)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	struct ev *e = &l->v[l->n++];
	sb_init(&e->b);
	e->flags = flags;
	return &e->b;
}

static void evl_free(struct evl *l)
{
	for (size_t i = 0; i < l->n; i++)
		sb_free(&l->v[i].b);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static void evl_add_str(struct evl *l, const char *s, unsigned flags)
{
	sb_puts(evl_new(l, flags), s);
}

/* ---- small builders ------------------------------------------------------ */

static void put_model(struct sb *b, const struct ctx *x)
{
	if (!x->model) {
		sb_puts(b, x->proto == P_ANTHROPIC ? "\"claude-mock\""
						   : "\"mock-model\"");
		return;
	}
	/* Verbatim when it is valid JSON string content, else re-escaped. */
	bool plain = true;
	for (size_t i = 0; i < x->model_len && plain; i++) {
		unsigned char ch = (unsigned char)x->model[i];
		if (ch < 0x20)
			plain = false;
		else if (ch == '\\') {
			char e = i + 1 < x->model_len ? x->model[i + 1] : 0;
			if (e == 'u') {
				for (size_t k = i + 2; k < i + 6; k++)
					if (k >= x->model_len ||
					    !strchr("0123456789abcdefABCDEF",
						    x->model[k]) || !x->model[k])
						plain = false;
				i += 5;
			} else if (e && strchr("\"\\/bfnrt", e))
				i++;
			else
				plain = false;
		}
	}
	if (plain && !utf8_valid((const unsigned char *)x->model, x->model_len))
		plain = false;
	if (plain) {
		sb_add(b, "\"", 1);
		sb_add(b, x->model, x->model_len);
		sb_add(b, "\"", 1);
	} else
		sb_json_str(b, x->model, x->model_len);
}

static void put_tool(struct sb *b, const struct ctx *x, int k)
{
	sb_add(b, "\"", 1);
	sb_add(b, x->tool[k], x->tool_len[k]);
	sb_add(b, "\"", 1);
}

static void full_text(const struct ctx *x, struct sb *t)
{
	for (size_t i = 0; i < x->ntexts; i++)
		sb_add(t, x->texts[i].p, x->texts[i].n);
}

static void oa_usage(struct sb *b, const struct ctx *x, bool details)
{
	long n = (long)x->ntexts;
	sb_printf(b,
		  "{\"prompt_tokens\":11,\"completion_tokens\":%ld,"
		  "\"total_tokens\":%ld",
		  n, 11 + n);
	if (details)
		sb_puts(b, ",\"prompt_tokens_details\":{\"cached_tokens\":3}");
	sb_puts(b, "}");
}

static const char *const frag[2][3] = {
	{"{\"ci", "ty\":\"Pa", "ris\"}"},
	{"{\"ci", "ty\":\"To", "kyo\"}"},
};
static const char *const city_args[2] = {"{\"city\":\"Paris\"}",
					 "{\"city\":\"Tokyo\"}"};

/* ---- OpenAI chat completions ---------------------------------------------- */

static void oa_chunk_head(struct sb *b, const struct ctx *x)
{
	sb_puts(b, "data: {\"id\":\"chatcmpl-mock1\",\"object\":"
		   "\"chat.completion.chunk\",\"created\":1700000000,"
		   "\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"choices\":[");
}

static void oa_choice_end(struct sb *b, const char *finish)
{
	sb_printf(b, ",\"logprobs\":null,\"finish_reason\":%s}]}\n\n", finish);
}

static void chat_stream(const struct ctx *x, struct evl *l)
{
	struct sb *b = evl_new(l, 0);
	oa_chunk_head(b, x);
	sb_puts(b, "{\"index\":0,\"delta\":{\"role\":\"assistant\","
		   "\"content\":\"\"}");
	oa_choice_end(b, "null");
	if (x->tools) {
		for (int k = 0; k < 2; k++) {
			b = evl_new(l, EV_CONTENT);
			oa_chunk_head(b, x);
			sb_printf(b,
				  "{\"index\":0,\"delta\":{\"tool_calls\":[{"
				  "\"index\":%d,\"id\":\"call_mock%d\","
				  "\"type\":\"function\",\"function\":{"
				  "\"name\":",
				  k, k + 1);
			put_tool(b, x, k);
			sb_puts(b, ",\"arguments\":\"\"}}]}");
			oa_choice_end(b, "null");
		}
		for (int j = 0; j < 3; j++)
			for (int k = 0; k < 2; k++) {
				b = evl_new(l, EV_CONTENT);
				oa_chunk_head(b, x);
				sb_printf(b,
					  "{\"index\":0,\"delta\":{\"tool_calls\":"
					  "[{\"index\":%d,\"function\":{"
					  "\"arguments\":",
					  k);
				sb_json_str(b, frag[k][j], strlen(frag[k][j]));
				sb_puts(b, "}}]}");
				oa_choice_end(b, "null");
			}
	} else {
		for (size_t i = 0; i < x->ntexts; i++) {
			b = evl_new(l, EV_CONTENT);
			oa_chunk_head(b, x);
			sb_puts(b, "{\"index\":0,\"delta\":{\"content\":");
			sb_json_str(b, x->texts[i].p, x->texts[i].n);
			sb_puts(b, "}");
			oa_choice_end(b, "null");
		}
	}
	b = evl_new(l, 0);
	oa_chunk_head(b, x);
	sb_puts(b, "{\"index\":0,\"delta\":{}");
	oa_choice_end(b, x->tools ? "\"tool_calls\"" : "\"stop\"");
	if (x->include_usage) {
		b = evl_new(l, 0);
		oa_chunk_head(b, x);
		sb_puts(b, "],\"usage\":");
		oa_usage(b, x, true);
		sb_puts(b, "}\n\n");
	}
	evl_add_str(l, "data: [DONE]\n\n", 0);
}

static void chat_body(const struct ctx *x, struct sb *b)
{
	sb_puts(b, "{\"id\":\"chatcmpl-mock1\",\"object\":\"chat.completion\","
		   "\"created\":1700000000,\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"choices\":[{\"index\":0,\"message\":{\"role\":"
		   "\"assistant\",\"content\":");
	if (x->tools) {
		sb_puts(b, "null,\"tool_calls\":[");
		for (int k = 0; k < 2; k++) {
			sb_printf(b,
				  "%s{\"id\":\"call_mock%d\",\"type\":"
				  "\"function\",\"function\":{\"name\":",
				  k ? "," : "", k + 1);
			put_tool(b, x, k);
			sb_puts(b, ",\"arguments\":");
			sb_json_str(b, city_args[k], strlen(city_args[k]));
			sb_puts(b, "}}");
		}
		sb_puts(b, "]");
	} else {
		struct sb t;
		sb_init(&t);
		full_text(x, &t);
		sb_json_str(b, t.p ? t.p : "", t.len);
		sb_free(&t);
	}
	sb_printf(b,
		  ",\"refusal\":null},\"logprobs\":null,\"finish_reason\":"
		  "\"%s\"}],\"usage\":",
		  x->tools ? "tool_calls" : "stop");
	oa_usage(b, x, true);
	sb_puts(b, "}");
}

/* ---- OpenAI legacy completions -------------------------------------------- */

static void cmpl_head(struct sb *b, const struct ctx *x)
{
	sb_puts(b, "data: {\"id\":\"cmpl-mock1\",\"object\":\"text_completion\","
		   "\"created\":1700000000,\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"choices\":[");
}

static void cmpl_stream(const struct ctx *x, struct evl *l)
{
	struct sb *b;
	for (size_t i = 0; i < x->ntexts; i++) {
		b = evl_new(l, EV_CONTENT);
		cmpl_head(b, x);
		sb_puts(b, "{\"text\":");
		sb_json_str(b, x->texts[i].p, x->texts[i].n);
		sb_puts(b, ",\"index\":0,\"logprobs\":null,\"finish_reason\":"
			   "null}]}\n\n");
	}
	b = evl_new(l, 0);
	cmpl_head(b, x);
	sb_puts(b, "{\"text\":\"\",\"index\":0,\"logprobs\":null,"
		   "\"finish_reason\":\"stop\"}]}\n\n");
	if (x->include_usage) {
		b = evl_new(l, 0);
		cmpl_head(b, x);
		sb_puts(b, "],\"usage\":");
		oa_usage(b, x, false);
		sb_puts(b, "}\n\n");
	}
	evl_add_str(l, "data: [DONE]\n\n", 0);
}

static void cmpl_body(const struct ctx *x, struct sb *b)
{
	struct sb t;
	sb_init(&t);
	full_text(x, &t);
	sb_puts(b, "{\"id\":\"cmpl-mock1\",\"object\":\"text_completion\","
		   "\"created\":1700000000,\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"choices\":[{\"text\":");
	sb_json_str(b, t.p ? t.p : "", t.len);
	sb_puts(b, ",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}],"
		   "\"usage\":");
	oa_usage(b, x, false);
	sb_puts(b, "}");
	sb_free(&t);
}

/* ---- OpenAI Responses API -------------------------------------------------- */

static void resp_object(const struct ctx *x, struct sb *b, bool done)
{
	sb_printf(b,
		  "{\"id\":\"resp_mock1\",\"object\":\"response\","
		  "\"created_at\":1700000000,\"status\":\"%s\",\"model\":",
		  done ? "completed" : "in_progress");
	put_model(b, x);
	if (!done) {
		sb_puts(b, ",\"output\":[],\"usage\":null}");
		return;
	}
	struct sb t;
	sb_init(&t);
	full_text(x, &t);
	sb_puts(b, ",\"output\":[{\"type\":\"message\",\"id\":\"msg_mock1\","
		   "\"status\":\"completed\",\"role\":\"assistant\","
		   "\"content\":[{\"type\":\"output_text\",\"text\":");
	sb_json_str(b, t.p ? t.p : "", t.len);
	sb_printf(b,
		  ",\"annotations\":[]}]}],\"usage\":{\"input_tokens\":11,"
		  "\"output_tokens\":%ld,\"total_tokens\":%ld}}",
		  (long)x->ntexts, 11 + (long)x->ntexts);
	sb_free(&t);
}

static void resp_stream(const struct ctx *x, struct evl *l)
{
	long seq = 0;
	struct sb *b = evl_new(l, 0);
	sb_printf(b,
		  "event: response.created\ndata: {\"type\":"
		  "\"response.created\",\"sequence_number\":%ld,"
		  "\"response\":",
		  seq++);
	resp_object(x, b, false);
	sb_puts(b, "}\n\n");
	for (size_t i = 0; i < x->ntexts; i++) {
		b = evl_new(l, EV_CONTENT);
		sb_printf(b,
			  "event: response.output_text.delta\ndata: {\"type\":"
			  "\"response.output_text.delta\",\"sequence_number\":"
			  "%ld,\"item_id\":\"msg_mock1\",\"output_index\":0,"
			  "\"content_index\":0,\"delta\":",
			  seq++);
		sb_json_str(b, x->texts[i].p, x->texts[i].n);
		sb_puts(b, "}\n\n");
	}
	b = evl_new(l, 0);
	sb_printf(b,
		  "event: response.completed\ndata: {\"type\":"
		  "\"response.completed\",\"sequence_number\":%ld,"
		  "\"response\":",
		  seq++);
	resp_object(x, b, true);
	sb_puts(b, "}\n\n");
}

/* ---- Anthropic messages ----------------------------------------------------- */

static void an_delta(struct evl *l, int index, const char *type,
		     const char *field, const char *s, size_t n)
{
	struct sb *b = evl_new(l, EV_CONTENT);
	sb_printf(b,
		  "event: content_block_delta\ndata: {\"type\":"
		  "\"content_block_delta\",\"index\":%d,\"delta\":{\"type\":"
		  "\"%s\",\"%s\":",
		  index, type, field);
	sb_json_str(b, s, n);
	sb_puts(b, "}}\n\n");
}

static void msg_stream(const struct ctx *x, struct evl *l)
{
	struct sb *b = evl_new(l, 0);
	sb_puts(b, "event: message_start\ndata: {\"type\":\"message_start\","
		   "\"message\":{\"id\":\"msg_mock1\",\"type\":\"message\","
		   "\"role\":\"assistant\",\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":"
		   "null,\"usage\":{\"input_tokens\":11,"
		   "\"cache_creation_input_tokens\":0,"
		   "\"cache_read_input_tokens\":2,\"output_tokens\":1}}}\n\n");
	evl_add_str(l,
		    "event: content_block_start\ndata: {\"type\":"
		    "\"content_block_start\",\"index\":0,\"content_block\":"
		    "{\"type\":\"text\",\"text\":\"\"}}\n\n",
		    0);
	evl_add_str(l, "event: ping\ndata: {\"type\": \"ping\"}\n\n", 0);
	if (x->tools)
		an_delta(l, 0, "text_delta", "text", "Let me check.", 13);
	else
		for (size_t i = 0; i < x->ntexts; i++)
			an_delta(l, 0, "text_delta", "text", x->texts[i].p,
				 x->texts[i].n);
	evl_add_str(l,
		    "event: content_block_stop\ndata: {\"type\":"
		    "\"content_block_stop\",\"index\":0}\n\n",
		    0);
	if (x->tools) {
		b = evl_new(l, 0);
		sb_puts(b, "event: content_block_start\ndata: {\"type\":"
			   "\"content_block_start\",\"index\":1,"
			   "\"content_block\":{\"type\":\"tool_use\",\"id\":"
			   "\"toolu_mock1\",\"name\":");
		put_tool(b, x, 0);
		sb_puts(b, ",\"input\":{}}}\n\n");
		an_delta(l, 1, "input_json_delta", "partial_json", "", 0);
		for (int j = 0; j < 3; j++)
			an_delta(l, 1, "input_json_delta", "partial_json",
				 frag[0][j], strlen(frag[0][j]));
		evl_add_str(l,
			    "event: content_block_stop\ndata: {\"type\":"
			    "\"content_block_stop\",\"index\":1}\n\n",
			    0);
	}
	b = evl_new(l, 0);
	sb_printf(b,
		  "event: message_delta\ndata: {\"type\":\"message_delta\","
		  "\"delta\":{\"stop_reason\":\"%s\",\"stop_sequence\":null},"
		  "\"usage\":{\"output_tokens\":%ld}}\n\n",
		  x->tools ? "tool_use" : "end_turn", (long)x->ntexts);
	evl_add_str(l,
		    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
		    0);
}

static void msg_body(const struct ctx *x, struct sb *b)
{
	sb_puts(b, "{\"id\":\"msg_mock1\",\"type\":\"message\",\"role\":"
		   "\"assistant\",\"model\":");
	put_model(b, x);
	sb_puts(b, ",\"content\":[{\"type\":\"text\",\"text\":");
	if (x->tools) {
		sb_puts(b, "\"Let me check.\"},{\"type\":\"tool_use\",\"id\":"
			   "\"toolu_mock1\",\"name\":");
		put_tool(b, x, 0);
		sb_puts(b, ",\"input\":{\"city\":\"Paris\"}}");
	} else {
		struct sb t;
		sb_init(&t);
		full_text(x, &t);
		sb_json_str(b, t.p ? t.p : "", t.len);
		sb_free(&t);
		sb_puts(b, "}");
	}
	sb_printf(b,
		  "],\"stop_reason\":\"%s\",\"stop_sequence\":null,\"usage\":"
		  "{\"input_tokens\":11,\"output_tokens\":%ld,"
		  "\"cache_read_input_tokens\":2,"
		  "\"cache_creation_input_tokens\":0}}",
		  x->tools ? "tool_use" : "end_turn", (long)x->ntexts);
}

/* ---- errors ------------------------------------------------------------------ */

static void error_body(struct sb *b, enum proto proto, const char *type,
		       const char *oa_code, const char *msg, size_t mlen)
{
	if (proto == P_ANTHROPIC) {
		sb_printf(b, "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
			     "\"message\":",
			  type);
		sb_json_str(b, msg, mlen);
		sb_puts(b, "}}");
		return;
	}
	sb_puts(b, "{\"error\":{\"message\":");
	sb_json_str(b, msg, mlen);
	sb_printf(b, ",\"type\":\"%s\",\"param\":null,\"code\":", type);
	if (oa_code)
		sb_printf(b, "\"%s\"}}", oa_code);
	else
		sb_puts(b, "null}}");
}

/* ---- stream transformations for the scenarios ------------------------------- */

static void sb_steal_into(struct sb *dst, struct sb *src)
{
	*dst = *src;
	sb_init(src);
}

/* error-midstream: cut after the 2nd content event, append an error. */
static void tf_error_midstream(const struct ctx *x, struct evl *l)
{
	size_t seen = 0, cut = l->n ? 1 : 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].flags & EV_CONTENT) {
			cut = i + 1;
			if (++seen == 2)
				break;
		}
	while (l->n > cut)
		sb_free(&l->v[--l->n].b);
	if (x->ep == EP_MESSAGES)
		evl_add_str(l,
			    "event: error\ndata: {\"type\":\"error\",\"error\":"
			    "{\"type\":\"overloaded_error\",\"message\":"
			    "\"Overloaded\"}}\n\n",
			    0);
	else if (x->ep == EP_RESPONSES)
		sb_printf(evl_new(l, 0),
			  "event: error\ndata: {\"type\":\"error\","
			  "\"sequence_number\":%zu,\"code\":\"server_error\","
			  "\"message\":\"Overloaded\",\"param\":null}\n\n",
			  l->n);
	else
		evl_add_str(l,
			    "data: {\"error\":{\"message\":\"Overloaded\","
			    "\"type\":\"server_error\",\"param\":null,"
			    "\"code\":null}}\n\n",
			    0);
}

/* multiline: the first content event's data is spread over 3 data: lines,
 * broken after the first two top-level commas of its JSON. */
static void tf_multiline(struct evl *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!(l->v[i].flags & EV_CONTENT))
			continue;
		struct sb *b = &l->v[i].b;
		char *d = strstr(b->p, "data: ");
		if (!d || (d != b->p && d[-1] != '\n'))
			return;
		char *js = d + 6, *je = strchr(js, '\n');
		if (!je)
			return;
		size_t cut[2], nc = 0, depth = 0;
		bool str = false;
		for (char *p = js; p < je && nc < 2; p++) {
			if (str) {
				if (*p == '\\')
					p++;
				else if (*p == '"')
					str = false;
			} else if (*p == '"')
				str = true;
			else if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']')
				depth--;
			else if (*p == ',' && depth == 1)
				cut[nc++] = (size_t)(p + 1 - b->p);
		}
		if (nc < 2)
			return;
		struct sb n;
		sb_init(&n);
		sb_add(&n, b->p, cut[0]);
		sb_puts(&n, "\ndata: ");
		sb_add(&n, b->p + cut[0], cut[1] - cut[0]);
		sb_puts(&n, "\ndata: ");
		sb_add(&n, b->p + cut[1], b->len - cut[1]);
		sb_free(b);
		sb_steal_into(b, &n);
		return;
	}
}

/* comments: ": keep-alive" events before every event, an "id:" line on
 * the first, a comment line inside the first content event, and (OpenAI,
 * whose events have no names) an "event: message" line on [DONE]. */
static void tf_comments(const struct ctx *x, struct evl *l)
{
	struct evl n = {0};
	bool first_content = true;
	for (size_t i = 0; i < l->n; i++) {
		evl_add_str(&n, ": keep-alive\n\n", EV_NOWAIT);
		struct ev *e = &l->v[i];
		struct sb *b = evl_new(&n, e->flags);
		if (i == 0)
			sb_puts(b, "id: 1\n");
		if (x->proto == P_OPENAI && x->ep != EP_RESPONSES &&
		    i + 1 == l->n)
			sb_puts(b, "event: message\n");
		if ((e->flags & EV_CONTENT) && first_content) {
			first_content = false;
			char *nl = strchr(e->b.p, '\n');
			size_t at = nl ? (size_t)(nl + 1 - e->b.p) : 0;
			sb_add(b, e->b.p, at);
			sb_puts(b, ": a comment inside an event\n");
			sb_add(b, e->b.p + at, e->b.len - at);
		} else
			sb_add(b, e->b.p, e->b.len);
	}
	evl_free(l);
	*l = n;
}

/* ping: an Anthropic ping event after every event but the last. */
static void tf_ping(struct evl *l)
{
	struct evl n = {0};
	for (size_t i = 0; i < l->n; i++) {
		struct sb *b = evl_new(&n, l->v[i].flags);
		sb_steal_into(b, &l->v[i].b);
		if (i + 1 < l->n)
			evl_add_str(&n,
				    "event: ping\ndata: {\"type\": \"ping\"}\n\n",
				    EV_NOWAIT);
	}
	evl_free(l);
	*l = n;
}

/* ---- output: framing, CRLF, gzip, split UTF-8 --------------------------------- */

struct out {
	struct ctx *x;
	bool chunked, crlf, split;
	struct enc enc;
};

/* The Content-Encoding of the answer: that of the gzip, br and zstd
 * scenarios, unless the request has an Accept-Encoding that does not name
 * it (no Accept-Encoding at all: encoded anyway, a careless server). */
static int enc_of(const struct ctx *x)
{
	int k = x->sc == SC_GZIP ? ENC_GZIP : x->sc == SC_BR ? ENC_BR :
		x->sc == SC_ZSTD ? ENC_ZSTD : ENC_NONE;
	size_t vn;
	const char *ae = k ? req_header(x->r, "Accept-Encoding", &vn) : NULL;
	if (ae) {
		const char *name = enc_name(k);
		size_t nl = strlen(name);
		bool named = false;
		for (size_t i = 0; i + nl <= vn; i++)
			if (!strncasecmp(ae + i, name, nl) &&
			    (i == 0 || ae[i - 1] == ' ' || ae[i - 1] == ',') &&
			    (i + nl == vn || ae[i + nl] == ',' || ae[i + nl] == ';' || ae[i + nl] == ' '))
				named = true;
		if (!named)
			k = ENC_NONE;
	}
	return k;
}

static int out_piece(struct out *o, const char *p, size_t n)
{
	if (n == 0)
		return 0;
	if (!o->chunked)
		return send_all(o->x->c->fd, p, n);
	struct sb f;
	sb_init(&f);
	sb_printf(&f, "%zx\r\n", n);
	sb_add(&f, p, n);
	sb_add(&f, "\r\n", 2);
	int rc = send_all(o->x->c->fd, f.p, f.len);
	sb_free(&f);
	return rc;
}

/* Writes bytes split in the middle of every multi-byte UTF-8 character,
 * pausing 50 ms between the pieces. */
static int write_split(struct out *o, const char *p, size_t n)
{
	size_t from = 0, i = 0;
	while (i < n) {
		size_t l = utf8_seq((const unsigned char *)p + i, n - i);
		if (l >= 2) {
			size_t at = i + l / 2;
			if (out_piece(o, p + from, at - from) < 0 ||
			    wait_ms(o->x->c->fd, 50) < 0)
				return -1;
			from = at;
			i += l;
		} else
			i += l ? l : 1;
	}
	return out_piece(o, p + from, n - from);
}

static int out_event(struct out *o, const char *p, size_t n)
{
	struct sb t, z;
	sb_init(&t);
	sb_init(&z);
	if (o->crlf) {
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '\n')
				sb_add(&t, "\r\n", 2);
			else
				sb_add(&t, p + i, 1);
		}
		p = t.p;
		n = t.len;
	}
	if (o->enc.on) {
		enc_put(&o->enc, p, n, false, &z);
		p = z.p;
		n = z.len;
	}
	int rc = o->split ? write_split(o, p, n) : out_piece(o, p, n);
	sb_free(&t);
	sb_free(&z);
	return rc;
}

static int out_finish(struct out *o)
{
	if (o->enc.on) {
		struct sb z;
		sb_init(&z);
		enc_put(&o->enc, "", 0, true, &z);
		int rc = out_piece(o, z.p, z.len);
		sb_free(&z);
		if (rc < 0)
			return -1;
	}
	if (o->chunked)
		return send_all(o->x->c->fd, "0\r\n\r\n", 5);
	return 0;
}

static void encode_all(int kind, const char *p, size_t n, struct sb *dst)
{
	struct enc e;
	if (enc_begin(&e, kind))
		enc_put(&e, p, n, true, dst);
	enc_end(&e);
}

static void head_start(struct sb *h, int status, const char *ctype)
{
	sb_printf(h, "HTTP/1.1 %d %s\r\n", status, status_text(status));
	if (ctype)
		sb_printf(h, "Content-Type: %s\r\n", ctype);
}

static void scenario_headers(const struct ctx *x, struct sb *h)
{
	if (x->sc == SC_HEADERS)
		sb_puts(h, "Set-Cookie: session=abc123; Path=/; HttpOnly\r\n"
			   "Set-Cookie: theme=dark; Path=/\r\n"
			   "X-Empty:\r\n"
			   "X-Upstream-Id: abc\r\n"
			   "x-request-id: upstream-req-1\r\n"
			   /* obsolete line folding, whitespace before the colon */
			   "X-Folded: first\r\n  second\r\n"
			   "X-Spaced \t: yes \r\n");
	if (enc_of(x))
		sb_printf(h, "Content-Encoding: %s\r\n", enc_name(enc_of(x)));
	/* header lines of up to 1000 bytes each, X-Mock-Head-Bytes in all */
	for (long left = x->sc == SC_BIG_HEAD ? x->head_bytes : 0, i = 0;
	     left > 0; i++) {
		char name[40];
		int pre = snprintf(name, sizeof name, "X-Pad-%ld: ", i);
		long v = (left < 1000 ? left : 1000) - pre - 2;
		sb_puts(h, name);
		for (long k = 0; k < v; k++)
			sb_add(h, "p", 1);
		sb_puts(h, "\r\n");
		left -= pre + (v > 0 ? v : 0) + 2;
	}
}

/* Sends a complete (non-stream) response. Returns true to keep alive. */
static bool send_body(struct ctx *x, int status, const char *ctype,
		      const char *extra, const struct sb *body)
{
	struct sb gz, h;
	sb_init(&gz);
	sb_init(&h);
	const char *p = body->p ? body->p : "";
	size_t n = body->len;
	if (enc_of(x)) {
		encode_all(enc_of(x), p, n, &gz);
		p = gz.p ? gz.p : "";
		n = gz.len;
	}
	bool nolen = x->sc == SC_NOLENGTH;
	bool close = x->r->close || nolen || x->sc == SC_RESET;
	head_start(&h, status, ctype);
	if (extra)
		sb_puts(&h, extra);
	scenario_headers(x, &h);
	if (!nolen)
		sb_printf(&h, "Content-Length: %zu\r\n", n);
	if (close)
		sb_puts(&h, "Connection: close\r\n");
	sb_puts(&h, "\r\n");
	int rc = 0;
	if (x->head)
		rc = send_all(x->c->fd, h.p, h.len);
	else if (x->sc == SC_RESET) {
		sb_add(&h, p, n / 2);
		send_all(x->c->fd, h.p, h.len);
		wait_ms(x->c->fd, 50);
		conn_reset(x->c);
		rc = -1;
	} else if (x->sc == SC_SPLIT_UTF8) {
		struct out o = {.x = x};
		rc = send_all(x->c->fd, h.p, h.len);
		if (rc == 0)
			rc = write_split(&o, p, n);
	} else if (x->sc == SC_DRIP && x->chunks > 1 && n > 0) {
		rc = send_all(x->c->fd, h.p, h.len);
		size_t pieces = (size_t)x->chunks, from = 0;
		if (pieces > n)
			pieces = n;
		for (size_t i = 0; rc == 0 && i < pieces; i++) {
			size_t to = n * (i + 1) / pieces;
			rc = send_all(x->c->fd, p + from, to - from);
			from = to;
			if (rc == 0 && i + 1 < pieces && x->interval > 0)
				rc = wait_ms(x->c->fd, x->interval);
		}
	} else {
		sb_add(&h, p, n);
		rc = send_all(x->c->fd, h.p, h.len);
	}
	sb_free(&gz);
	sb_free(&h);
	return rc == 0 && !close;
}

static bool send_json(struct ctx *x, int status, const struct sb *body)
{
	return send_body(x, status, "application/json", NULL, body);
}

/* Sends an SSE stream, one write() per event. Returns true to keep alive. */
static bool send_stream(struct ctx *x, struct evl *l)
{
	struct out o = {.x = x};
	o.chunked = !(x->sc == SC_NOLENGTH || x->r->http10);
	o.crlf = x->sc == SC_CRLF;
	o.split = x->sc == SC_SPLIT_UTF8;
	if (enc_of(x))
		enc_begin(&o.enc, enc_of(x));
	bool close = x->r->close || !o.chunked || x->sc == SC_RESET;
	bool ok = false;
	struct sb h;
	sb_init(&h);
	head_start(&h, 200, "text/event-stream");
	sb_puts(&h, "Cache-Control: no-cache\r\n");
	scenario_headers(x, &h);
	if (o.chunked)
		sb_puts(&h, "Transfer-Encoding: chunked\r\n");
	if (close)
		sb_puts(&h, "Connection: close\r\n");
	sb_puts(&h, "\r\n");
	stats_inc(ST_STREAMS_STARTED);
	if (send_all(x->c->fd, h.p, h.len) < 0)
		goto aborted;
	for (size_t i = 0; i < l->n; i++) {
		if (x->sc == SC_RESET && i == 2)
			break;
		if (out_event(&o, l->v[i].b.p, l->v[i].b.len) < 0)
			goto aborted;
		if (i + 1 < l->n && x->interval > 0 &&
		    !(l->v[i].flags & EV_NOWAIT) &&
		    wait_ms(x->c->fd, x->interval) < 0)
			goto aborted;
	}
	if (x->sc == SC_RESET) {
		wait_ms(x->c->fd, 50);
		conn_reset(x->c);
		goto done;
	}
	if (out_finish(&o) < 0)
		goto aborted;
	stats_inc(ST_STREAMS_COMPLETED);
	ok = !close;
	goto done;
aborted:
	stats_inc(ST_STREAMS_ABORTED);
done:
	enc_end(&o.enc);
	sb_free(&h);
	return ok;
}

/* ---- request analysis ------------------------------------------------------------ */

static bool valid_tool_name(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

static void find_tools(struct ctx *x, const char *v, size_t vn)
{
	const char *p = v, *e = v + vn;
	if (vn < 2 || *p != '[')
		return;
	p = json_ws(p + 1, e);
	if (p >= e || *p == ']')
		return;
	x->tools = true;
	int k = 0;
	while (k < 2 && p < e && *p != ']') {
		const char *q = json_skip_value(p, e);
		if (!q)
			break;
		const char *nv, *fv, *s;
		size_t nvn, fvn, sn;
		if ((json_get(p, (size_t)(q - p), "name", &nv, &nvn) ||
		     (json_get(p, (size_t)(q - p), "function", &fv, &fvn) &&
		      json_get(fv, fvn, "name", &nv, &nvn))) &&
		    json_str_raw(nv, nvn, &s, &sn) && valid_tool_name(s, sn)) {
			x->tool[k] = s;
			x->tool_len[k] = sn;
			k++;
		}
		p = json_ws(q, e);
		if (p < e && *p == ',')
			p = json_ws(p + 1, e);
		else
			break;
	}
	if (k == 0) {
		x->tool[0] = "get_weather";
		x->tool_len[0] = 11;
		k = 1;
	}
	if (k == 1) {
		x->tool[1] = x->tool[0];
		x->tool_len[1] = x->tool_len[0];
	}
}

static int scen_lookup(const char *s, size_t n)
{
	for (int i = 0; i < SC_COUNT; i++)
		if (strlen(scen_names[i]) == n &&
		    strncasecmp(scen_names[i], s, n) == 0)
			return i;
	return -1;
}

static long header_long(const struct req *r, const char *name, long def,
			long max)
{
	size_t vn;
	const char *v = req_header(r, name, &vn);
	long n;
	if (!v || !parse_long(v, vn, &n))
		return def;
	return n > max ? max : n;
}

static bool path_has(const char *path, const char *s)
{
	return strstr(path, s) != NULL;
}

static void classify(struct ctx *x)
{
	const char *p = x->r->path;
	size_t n = strlen(p);
	x->proto = path_has(p, "/messages") ? P_ANTHROPIC : P_OPENAI;
	if (ends_with(p, n, "/chat/completions"))
		x->ep = EP_CHAT;
	else if (ends_with(p, n, "/completions"))
		x->ep = EP_COMPLETIONS;
	else if (ends_with(p, n, "/embeddings"))
		x->ep = EP_EMBEDDINGS;
	else if (ends_with(p, n, "/responses"))
		x->ep = EP_RESPONSES;
	else if (path_has(p, "/messages/count_tokens"))
		x->ep = EP_COUNT_TOKENS;
	else if (path_has(p, "/messages"))
		x->ep = EP_MESSAGES;
	else if (ends_with(p, n, "/models")) {
		x->ep = EP_MODELS;
		if (req_header(x->r, "anthropic-version", NULL))
			x->proto = P_ANTHROPIC;
	} else
		x->ep = EP_NONE;
}

static void setup_texts(struct ctx *x)
{
	if (g_demo && x->sc == SC_DEFAULT) {
		static const char demo[] = DEMO_TEXT;
		size_t words = 1;
		for (const char *p = demo; *p; p++)
			words += *p == ' ';
		x->texts = xmalloc(words * sizeof *x->texts);
		const char *s = demo;
		while (*s) {
			const char *e = strchr(s + 1, ' ');
			if (!e)
				e = s + strlen(s);
			size_t n = (size_t)(e - s);
			struct txt *t = &x->texts[x->ntexts++];
			t->p = xmalloc(n + 1);
			memcpy(t->p, s, n);
			t->p[n] = '\0';
			t->n = n;
			s = e;
		}
		return;
	}
	if (x->sc == SC_SPLIT_UTF8) {
		static const char *const w[] = {"w0 ", "café ", "€5 ",
						"\xF0\x9F\x98\x80 ", "w4 "};
		x->ntexts = sizeof w / sizeof *w;
		x->texts = xmalloc(x->ntexts * sizeof *x->texts);
		for (size_t i = 0; i < x->ntexts; i++) {
			x->texts[i].n = strlen(w[i]);
			x->texts[i].p = xmalloc(x->texts[i].n + 1);
			memcpy(x->texts[i].p, w[i], x->texts[i].n + 1);
		}
		return;
	}
	size_t n = (size_t)x->chunks, big = x->sc == SC_BIG_EVENT;
	size_t at = n < 2 ? n : 2; /* the big event goes after w0 and w1 */
	x->texts = xmalloc((n + big) * sizeof *x->texts);
	for (size_t i = 0; i <= n; i++) {
		if (big && i == at) {
			struct txt *t = &x->texts[x->ntexts++];
			t->p = xmalloc(BIG_EVENT_BYTES + 1);
			memset(t->p, 'x', BIG_EVENT_BYTES);
			t->p[BIG_EVENT_BYTES] = '\0';
			t->n = BIG_EVENT_BYTES;
		}
		if (i == n)
			break;
		struct txt *t = &x->texts[x->ntexts++];
		t->p = xmalloc(24);
		t->n = (size_t)snprintf(t->p, 24, "w%zu ", i);
	}
}

static void free_texts(struct ctx *x)
{
	for (size_t i = 0; i < x->ntexts; i++)
		free(x->texts[i].p);
	free(x->texts);
	x->texts = NULL;
	x->ntexts = 0;
}

/* The request as received, as JSON (echo scenario, GET /__mock/last). */
static void build_echo(const struct req *r, struct sb *b)
{
	sb_puts(b, "{\"method\":");
	sb_json_str(b, r->method, r->mlen);
	sb_puts(b, ",\"target\":");
	sb_json_str(b, r->target, r->tlen);
	sb_puts(b, ",\"version\":");
	sb_json_str(b, r->version, r->vlen);
	sb_puts(b, ",\"headers\":[");
	for (size_t i = 0; i < r->nh; i++) {
		sb_puts(b, i ? ",[" : "[");
		sb_json_str(b, r->h[i].name, r->h[i].nlen);
		sb_puts(b, ",");
		sb_json_str(b, r->h[i].value, r->h[i].vlen);
		sb_puts(b, "]");
	}
	sb_puts(b, "],");
	const char *body = r->body ? r->body : "";
	if (utf8_valid((const unsigned char *)body, r->blen)) {
		sb_puts(b, "\"body\":");
		sb_json_str(b, body, r->blen);
	} else {
		sb_puts(b, "\"body_base64\":\"");
		sb_base64(b, (const unsigned char *)body, r->blen);
		sb_puts(b, "\"");
	}
	sb_puts(b, "}");
}

/* ---- /__mock/ endpoints -------------------------------------------------------------- */

static bool handle_mock(struct ctx *x)
{
	struct req *r = x->r;
	struct sb b;
	sb_init(&b);
	int status = 200;
	bool get = r->mlen == 3 && memcmp(r->method, "GET", 3) == 0;
	bool post = r->mlen == 4 && memcmp(r->method, "POST", 4) == 0;
	if (get && strcmp(r->path, "/__mock/stats") == 0) {
		struct stats s;
		stats_get(&s);
		sb_printf(&b,
			  "{\"connections\":%ld,\"requests\":%ld,"
			  "\"streams_started\":%ld,\"streams_completed\":%ld,"
			  "\"streams_aborted\":%ld}",
			  s.connections, s.requests, s.streams_started,
			  s.streams_completed, s.streams_aborted);
	} else if (get && strcmp(r->path, "/__mock/last") == 0) {
		size_t n;
		char *last = last_get(&n);
		if (last) {
			sb_add(&b, last, n);
			free(last);
		} else {
			status = 404;
			error_body(&b, P_OPENAI, "invalid_request_error",
				   "not_found", "no request recorded yet", 23);
		}
	} else if (post && strcmp(r->path, "/__mock/reset") == 0) {
		stats_reset();
		sb_puts(&b, "{\"ok\":true}");
	} else {
		status = 404;
		error_body(&b, P_OPENAI, "invalid_request_error", "not_found",
			   "unknown mock endpoint", 21);
	}
	bool keep = send_json(x, status, &b);
	sb_free(&b);
	return keep;
}

void send_plain_error(struct conn *c, int status)
{
	struct req r;
	memset(&r, 0, sizeof r);
	r.close = true;
	struct ctx x = {.c = c, .r = &r};
	struct sb b;
	sb_init(&b);
	const char *msg = status_text(status);
	error_body(&b, P_OPENAI, "invalid_request_error", NULL, msg,
		   strlen(msg));
	send_json(&x, status, &b);
	sb_free(&b);
}

static bool method_is(const struct req *r, const char *m)
{
	size_t n = strlen(m);
	return r->mlen == n && memcmp(r->method, m, n) == 0;
}

static bool not_found(struct ctx *x)
{
	struct sb b, m;
	sb_init(&b);
	sb_init(&m);
	sb_printf(&m, "Unknown request: %.*s %s", (int)x->r->mlen,
		  x->r->method, x->r->path);
	error_body(&b, x->proto,
		   x->proto == P_ANTHROPIC ? "not_found_error"
					   : "invalid_request_error",
		   "unknown_url", m.p, m.len);
	bool keep = send_json(x, 404, &b);
	sb_free(&b);
	sb_free(&m);
	return keep;
}

static bool answer(struct ctx *x)
{
	struct sb b;
	sb_init(&b);
	bool keep;
	switch (x->sc) {
	case SC_ECHO:
		build_echo(x->r, &b);
		keep = send_json(x, 200, &b);
		sb_free(&b);
		return keep;
	case SC_HANG:
		wait_peer_close(x->c->fd);
		return false;
	case SC_STRICT: /* refuses a field it does not know, as some servers do */
		if (x->r->body && memmem(x->r->body, x->r->blen, "\"stream_options\"", 16)) {
			sb_puts(&b, "{\"detail\":[{\"type\":\"extra_forbidden\",\"loc\":[\"body\","
				    "\"stream_options\"],\"msg\":\"Extra inputs are not permitted\"}]}");
			keep = send_json(x, 422, &b);
			sb_free(&b);
			return keep;
		}
		break;
	case SC_304: {
		static const char h[] = "HTTP/1.1 304 Not Modified\r\n"
					"ETag: \"mock\"\r\nContent-Length: 102\r\n\r\n";
		return send_all(x->c->fd, h, sizeof h - 1) == 0 && !x->r->close;
	}
	case SC_GARBAGE:
		send_all(x->c->fd, "HELLO THERE\r\n\r\n", 15);
		return false;
	case SC_429:
		error_body(&b, x->proto, "rate_limit_error",
			   "rate_limit_exceeded", "Rate limit reached", 18);
		keep = send_body(x, 429, "application/json",
				 "Retry-After: 7\r\n", &b);
		sb_free(&b);
		return keep;
	case SC_500:
		error_body(&b, x->proto,
			   x->proto == P_ANTHROPIC ? "api_error" : "server_error",
			   NULL, "Internal server error", 21);
		keep = send_json(x, 500, &b);
		sb_free(&b);
		return keep;
	default:
		break;
	}

	bool post = method_is(x->r, "POST");
	bool get = method_is(x->r, "GET") || x->head;
	switch (x->ep) {
	case EP_MODELS:
		if (!get)
			return not_found(x);
		if (x->proto == P_ANTHROPIC)
			sb_puts(&b, "{\"data\":[{\"type\":\"model\",\"id\":"
				    "\"claude-mock\",\"display_name\":"
				    "\"Claude Mock\",\"created_at\":"
				    "\"2025-01-01T00:00:00Z\"}],\"has_more\":"
				    "false,\"first_id\":\"claude-mock\","
				    "\"last_id\":\"claude-mock\"}");
		else
			sb_puts(&b, "{\"object\":\"list\",\"data\":[{\"id\":"
				    "\"mock-model\",\"object\":\"model\","
				    "\"created\":1700000000,\"owned_by\":"
				    "\"mock\"}]}");
		break;
	case EP_COUNT_TOKENS:
		if (!post)
			return not_found(x);
		sb_puts(&b, "{\"input_tokens\":11}");
		break;
	case EP_EMBEDDINGS:
		if (!post)
			return not_found(x);
		sb_puts(&b, "{\"object\":\"list\",\"data\":[{\"object\":"
			    "\"embedding\",\"index\":0,\"embedding\":"
			    "[0.1,0.2,0.3]}],\"model\":");
		put_model(&b, x);
		sb_puts(&b, ",\"usage\":{\"prompt_tokens\":5,\"total_tokens\":"
			    "5}}");
		break;
	case EP_CHAT:
	case EP_COMPLETIONS:
	case EP_RESPONSES:
	case EP_MESSAGES:
		if (!post)
			return not_found(x);
		if (x->stream) {
			struct evl l = {0};
			if (x->ep == EP_CHAT)
				chat_stream(x, &l);
			else if (x->ep == EP_COMPLETIONS)
				cmpl_stream(x, &l);
			else if (x->ep == EP_RESPONSES)
				resp_stream(x, &l);
			else
				msg_stream(x, &l);
			if (x->sc == SC_ERROR_MIDSTREAM)
				tf_error_midstream(x, &l);
			else if (x->sc == SC_MULTILINE)
				tf_multiline(&l);
			else if (x->sc == SC_COMMENTS)
				tf_comments(x, &l);
			else if (x->sc == SC_PING)
				tf_ping(&l);
			keep = send_stream(x, &l);
			evl_free(&l);
			return keep;
		}
		if (x->ep == EP_CHAT)
			chat_body(x, &b);
		else if (x->ep == EP_COMPLETIONS)
			cmpl_body(x, &b);
		else if (x->ep == EP_RESPONSES)
			resp_object(x, &b, true);
		else
			msg_body(x, &b);
		break;
	case EP_NONE:
	default:
		return not_found(x);
	}
	keep = send_json(x, 200, &b);
	sb_free(&b);
	return keep;
}

bool handle_request(struct conn *c, struct req *r)
{
	struct ctx x = {.c = c, .r = r};
	x.head = method_is(r, "HEAD");
	if (strcmp(r->path, "/__mock") == 0 ||
	    strncmp(r->path, "/__mock/", 8) == 0)
		return handle_mock(&x);

	stats_inc(ST_REQUESTS);
	if (!c->counted) {
		c->counted = true;
		stats_inc(ST_CONNECTIONS);
	}
	struct sb echo;
	sb_init(&echo);
	build_echo(r, &echo);
	last_set(echo.p, echo.len);

	classify(&x);
	const char *body = r->body ? r->body : "";
	const char *v;
	size_t vn;
	if (json_get(body, r->blen, "model", &v, &vn) &&
	    json_str_raw(v, vn, &x.model, &x.model_len) && x.model_len == 0)
		x.model = NULL;
	x.stream = json_get(body, r->blen, "stream", &v, &vn) &&
		   json_is_true(v, vn);
	const char *so;
	size_t son;
	x.include_usage = json_get(body, r->blen, "stream_options", &so, &son) &&
			  json_get(so, son, "include_usage", &v, &vn) &&
			  json_is_true(v, vn);
	if (json_get(body, r->blen, "tools", &v, &vn))
		find_tools(&x, v, vn);

	const char *sh = req_header(r, "X-Mock-Scenario", &vn);
	if (sh && vn > 0) {
		int s = scen_lookup(sh, vn);
		if (s < 0) {
			struct sb b, m;
			sb_init(&b);
			sb_init(&m);
			sb_printf(&m, "unknown X-Mock-Scenario: %.*s", (int)vn,
				  sh);
			error_body(&b, x.proto, "invalid_request_error",
				   "unknown_scenario", m.p, m.len);
			bool keep = send_json(&x, 400, &b);
			sb_free(&b);
			sb_free(&m);
			return keep;
		}
		x.sc = (enum scen)s;
	} else if (x.model && x.model_len > 5 &&
		   memcmp(x.model, "mock-", 5) == 0) {
		int s = scen_lookup(x.model + 5, x.model_len - 5);
		if (s > 0)
			x.sc = (enum scen)s;
	}

	bool drip = x.sc == SC_DRIP, demo = g_demo && x.sc == SC_DEFAULT;
	x.chunks = header_long(r, "X-Mock-Chunks", drip ? 50 : 5, 10000000);
	x.interval = header_long(r, "X-Mock-Interval-Ms",
				 drip ? 100 : demo ? 30 : 0, 600000);
	x.head_bytes = header_long(r, "X-Mock-Head-Bytes", 16384, 1048576);
	x.delay = header_long(r, "X-Mock-Delay-Ms", x.sc == SC_SLOW ? 1000 : 0,
			      600000);
	setup_texts(&x);

	bool keep = false;
	if (x.sc == SC_HANG || x.delay == 0 || wait_ms(c->fd, x.delay) == 0)
		keep = answer(&x);
	free_texts(&x);
	return keep;
}
