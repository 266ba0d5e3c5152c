/* internal.h — what the files of lib/translate/ share: the translator's
 * state (opaque to users of translate.h) and small helpers. */
#ifndef PLLM_TRANSLATE_INTERNAL_H
#define PLLM_TRANSLATE_INTERNAL_H
#include <stdarg.h>
#include <jansson.h>
#include "translate.h"

/* Compact JSON; reals with 15 digits so that 0.7 stays 0.7. */
#define TR_DUMP (JSON_COMPACT | JSON_REAL_PRECISION(15))
#define TR_MAX_TOOLS 1024   /* OpenAI tool_calls indexes followed in a stream */

/* Anthropic upstream → OpenAI client stream. */
typedef struct {
    int cur_index;          /* the open content block, -1 none */
    int cur_kind;           /* TR_BLOCK_* of the open block */
    int cur_tool;           /* its OpenAI tool_calls index */
    int ntools;
    int finish_sent;        /* the chunk with finish_reason */
    char finish[24];
    int64_t in, cache_read, cache_create, out, thinking; /* -1 unknown */
} tr_an2oa_t;

/* OpenAI upstream → Anthropic client stream. */
typedef struct {
    int open;               /* a content block is open */
    int kind;               /* TR_BLOCK_* of the open block */
    int index;              /* its index */
    int next;               /* next block index */
    int open_tool;          /* OpenAI index of the open tool block, -1 */
    int *tool_block;        /* OpenAI tool index → block index, -1 unseen */
    int ntool_block;
    int finish_seen;
    char stop[24];
    char *stop_sequence;
    int usage_seen;
    int64_t prompt, completion, cached; /* -1 unknown */
} tr_oa2an_t;

enum { TR_BLOCK_NONE, TR_BLOCK_TEXT, TR_BLOCK_THINKING, TR_BLOCK_TOOL, TR_BLOCK_OTHER };

struct translate {
    int client, upstream;
    translate_opts_t o;
    int requested, stream, include_usage;
    char *client_model, *upstream_model;
    int64_t created;
    /* stream state shared by both directions */
    int started;            /* first client event written */
    int done;               /* terminal events written */
    int errored;            /* an error event was written */
    char *id, *model;       /* message id and model seen upstream */
    tr_an2oa_t a;
    tr_oa2an_t b;
};

/* Fill e (status, client-protocol type, param, message); returns -1. */
int tr_fail(const translate_t *t, translate_error_t *e, int status, const char *param,
            const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Parse a JSON object (NULs in strings allowed); NULL if not an object. */
json_t *tr_parse_object(const char *p, size_t n);
/* Undo a partial append back to len0 bytes; returns -1. */
int tr_rollback(buf_t *out, size_t len0);
/* Append j as compact JSON. 0 or -1. */
int tr_append_json(buf_t *out, const json_t *j);
/* Append one SSE event: "event: name\n" when name, "data: <json>\n\n".
 * Steals j (decref'd). All or nothing: 0 or -1. */
int tr_sse(buf_t *out, const char *name, json_t *j);
/* Same with literal data. */
int tr_sse_raw(buf_t *out, const char *name, const char *data);
/* json helpers: string value or NULL; 1 if key absent or JSON null. */
const char *tr_str(const json_t *o, const char *key);
int tr_absent(const json_t *o, const char *key);
int tr_set(json_t *o, const char *key, json_t *v);   /* steals v; 0/-1 */
/* Number of JSON integer or real, as int64; 0 and *ok=0 otherwise. */
int64_t tr_int(const json_t *v, int *ok);

/* 0 if every key of o is in allowed (NULL-terminated); else -1 with e
 * naming path.key as not supported. */
int tr_check_keys(const translate_t *t, const json_t *o, const char *const *allowed,
                  const char *path, translate_error_t *e);
/* in[key] when it is an array: 1 with *v set; 0 when absent or null; -1
 * with e filled when it is something else. */
int tr_array(const translate_t *t, const json_t *in, const char *key, const json_t **v,
             translate_error_t *e);
/* "data:<media type>;base64,<data>": the media type into mt and the data.
 * 0, or -1 when url is not such a data URL. */
int tr_data_url(const char *url, size_t len, char *mt, size_t mtcap,
                const char **data, size_t *dlen);

/* stop_reason → finish_reason and back (never NULL). */
const char *tr_finish_of_stop(const char *stop_reason);
const char *tr_stop_of_finish(const char *finish_reason);
/* A tool call id for Anthropic: bytes outside [A-Za-z0-9_-] become '_';
 * a missing or empty id is made from msg_id and index. New reference. */
json_t *tr_anthropic_tool_id(const json_t *id, const char *msg_id, int index);

/* Error bodies (errors.c). */
const char *tr_error_type(int proto, int status);
int tr_error_status(int client, int upstream_status);
const char *tr_type_to_anthropic(const char *openai_type);
const char *tr_type_to_openai(const char *anthropic_type);
json_t *tr_error_json(int proto, const char *type, const char *message, const char *code);
int tr_error_response(translate_t *t, int status, const char *body, size_t len,
                      buf_t *out, int *client_status);
/* A stream error event in the client's protocol from an upstream error
 * object (either shape); marks t done. */
int tr_stream_error(translate_t *t, const json_t *err_obj, const char *fallback, buf_t *out);

/* Requests. Return a new body or NULL with e filled. */
json_t *tr_req_oa2an(translate_t *t, const json_t *in, translate_error_t *e);
json_t *tr_req_an2oa(translate_t *t, const json_t *in, translate_error_t *e);
/* Whole success bodies. Return a new body or NULL when unreadable. */
json_t *tr_resp_an2oa(translate_t *t, const json_t *in);
json_t *tr_resp_oa2an(translate_t *t, const json_t *in);
/* OpenAI usage object from Anthropic counts (-1 = unknown). */
json_t *tr_usage_openai(int64_t in, int64_t cache_read, int64_t cache_create,
                        int64_t out, int64_t thinking);
/* Anthropic tool input from OpenAI arguments (see resp_oa2an.c). */
json_t *tr_tool_input(const json_t *arguments);
/* OpenAI usage object from an Anthropic usage object. */
json_t *tr_usage_openai_of(const json_t *anthropic_usage);
/* Anthropic counts from an OpenAI usage object. */
void tr_usage_from_openai(const json_t *u, int64_t *prompt, int64_t *completion, int64_t *cached);
json_t *tr_usage_anthropic(int64_t prompt, int64_t completion, int64_t cached);

/* Streams. */
int tr_stream_an2oa(translate_t *t, const char *name, size_t nlen, const char *data, size_t dlen, buf_t *out);
int tr_finish_an2oa(translate_t *t, int ok, buf_t *out);
int tr_stream_oa2an(translate_t *t, const char *name, size_t nlen, const char *data, size_t dlen, buf_t *out);
int tr_finish_oa2an(translate_t *t, int ok, buf_t *out);

#endif
