/* test_assemble.c — unit tests for lib/assemble.c: every stream shape
 * rebuilt into the non-stream answer, compared with the answer the API
 * gives non-streamed (the same conversation both ways must assemble to
 * equal objects), encodings, translated exchanges, errors and cut streams. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <brotli/encode.h>

#include "assemble.h"
#include "capture.h"

#define ID "01a21744-cef0-7c3e-9a4b-5f1d2e6c8a71"

static void ex_init(merged_t *m, const char *proto, const char *up_proto)
{
    memset(m, 0, sizeof *m);
    m->id = ID;
    m->request = json_pack("{s:s, s:s, s:s}", "event", "request", "id", ID, "protocol", proto);
    if (up_proto)
        json_object_set_new(m->request, "upstream_protocol", json_string(up_proto));
    m->chunks = json_array();
    m->other = json_array();
}

static void ex_resp(merged_t *m, int status, const char *ctype, const char *cenc)
{
    json_t *h = json_array();
    if (ctype)
        json_array_append_new(h, json_pack("[s, s]", "Content-Type", ctype));
    if (cenc)
        json_array_append_new(h, json_pack("[s, s]", "content-encoding", cenc));
    m->response = json_pack("{s:s, s:i, s:o}", "event", "response", "status", status, "headers", h);
}

static void ex_chunk(merged_t *m, const char *p, size_t n, int sse, const char *side, int withheld)
{
    json_t *c = json_pack("{s:s, s:I, s:b}", "event", "chunk", "seq",
                          (json_int_t)json_array_size(m->chunks), "sse", sse);
    assert_int_equal(capture_set_bytes(c, "data", "data_encoding", p, n), 0);
    if (side)
        json_object_set_new(c, "side", json_string(side));
    if (withheld)
        json_object_set_new(c, "withheld", json_true());
    json_array_append_new(m->chunks, c);
}

/* SSE events: "data: X\n\n" for each JSON in evs (NULL-terminated); a
 * string starting with "event:" is taken as the whole event. */
static void ex_sse(merged_t *m, const char *const *evs, const char *side)
{
    char b[8192];
    for (; *evs; evs++) {
        if (!strncmp(*evs, "event:", 6))
            snprintf(b, sizeof b, "%s\n\n", *evs);
        else
            snprintf(b, sizeof b, "data: %s\n\n", *evs);
        ex_chunk(m, b, strlen(b), 1, side, 0);
    }
}

static void ex_body(merged_t *m, const char *body)
{
    ex_chunk(m, body, strlen(body), 0, NULL, 0);
}

static void ex_free(merged_t *m)
{
    json_decref(m->request);
    json_decref(m->response);
    json_decref(m->end);
    json_decref(m->chunks);
    json_decref(m->other);
}

/* Assemble both and check they are equal, as are their views. */
static void same(merged_t *s, merged_t *b, int side)
{
    assembled_t x, y;
    assert_int_equal(assemble_exchange(s, side, &x), 0);
    assert_int_equal(assemble_exchange(b, side, &y), 0);
    assert_int_equal(x.streamed, 1);
    assert_int_equal(y.streamed, 0);
    assert_int_equal(x.complete, 1);
    assert_int_equal(y.complete, 1);
    assert_string_equal(x.error, "");
    if (!json_equal(x.message, y.message)) {
        char *p = json_dumps(x.message, JSON_COMPACT), *q = json_dumps(y.message, JSON_COMPACT);
        fprintf(stderr, "stream: %s\nbody:   %s\n", p, q);
        free(p);
        free(q);
        fail();
    }
    assert_string_equal(x.text, y.text);
    assert_true(json_equal(x.tool_calls, y.tool_calls));
    assert_string_equal(x.finish_reason, y.finish_reason);
    assert_int_equal(x.kind, y.kind);
    assemble_free(&x);
    assemble_free(&y);
}

#define CK "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"gpt-x\","

static void test_chat_text(void **state)
{
    (void)state;
    merged_t s, b;
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *evs[] = {
        CK "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"logprobs\":null,\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo \\u00e9\"},\"logprobs\":null,\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
        NULL };
    ex_sse(&s, evs, NULL);
    const char *usage = "data: " CK "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n";
    ex_chunk(&s, usage, strlen(usage), 1, NULL, 1);          /* withheld: still counted */
    ex_chunk(&s, "data: [DONE]\n\n", 14, 1, NULL, 0);
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    ex_body(&b, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-x\","
                "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \xc3\xa9\",\"refusal\":null},"
                "\"logprobs\":null,\"finish_reason\":\"stop\"}],"
                "\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}");
    same(&s, &b, ASSEMBLE_CLIENT);
    assembled_t a;
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_string_equal(a.text, "Hello \xc3\xa9");
    assert_int_equal(a.text_len, 8);
    assert_string_equal(a.finish_reason, "stop");
    assert_int_equal(a.kind, ASSEMBLE_CHAT);
    assert_int_equal(a.protocol, 0);
    assert_int_equal(a.status, 200);
    assert_null(a.refusal);
    assert_int_equal(json_array_size(a.tool_calls), 0);
    assemble_free(&a);
    ex_free(&s);
    ex_free(&b);
}

static void test_chat_parallel_tools(void **state)
{
    (void)state;
    merged_t s, b;
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *evs[] = {
        CK "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"ci\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"city\\\":\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"ty\\\":\\\"Tokyo\\\"}\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
        "[DONE]", NULL };
    ex_sse(&s, evs, NULL);
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    ex_body(&b, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-x\","
                "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
                "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
                "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":\"{\\\"city\\\":\\\"Tokyo\\\"}\"}}],"
                "\"refusal\":null},\"logprobs\":null,\"finish_reason\":\"tool_calls\"}]}");
    same(&s, &b, ASSEMBLE_CLIENT);
    assembled_t a;
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(json_array_size(a.tool_calls), 2);
    json_t *t1 = json_array_get(a.tool_calls, 1);
    assert_string_equal(json_string_value(json_object_get(t1, "id")), "call_2");
    assert_string_equal(json_string_value(json_object_get(t1, "name")), "get_time");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t1, "input"), "city")), "Tokyo");
    assert_string_equal(a.text, "");
    assemble_free(&a);
    ex_free(&s);
    ex_free(&b);
}

static void test_chat_refusal_reasoning_logprobs(void **state)
{
    (void)state;
    merged_t s;
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *evs[] = {
        CK "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"Think\"},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"ing.\"},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"sig1\"}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"I can't\"},\"logprobs\":{\"content\":null,\"refusal\":[{\"token\":\"I\"}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\" help.\"},\"logprobs\":{\"content\":null,\"refusal\":[{\"token\":\" help\"}]},\"finish_reason\":null}]}",
        CK "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"system_fingerprint\":\"fp_1\"}",
        "[DONE]", NULL };
    ex_sse(&s, evs, NULL);
    assembled_t a;
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    json_t *want = json_loads(
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":\"gpt-x\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"I can't help.\","
        "\"reasoning_content\":\"Thinking.\",\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"Thinking.\",\"signature\":\"sig1\"}]},"
        "\"logprobs\":{\"content\":null,\"refusal\":[{\"token\":\"I\"},{\"token\":\" help\"}]},\"finish_reason\":\"stop\"}],"
        "\"system_fingerprint\":\"fp_1\"}", 0, NULL);
    assert_non_null(want);
    assert_true(json_equal(a.message, want));
    assert_string_equal(a.refusal, "I can't help.");
    assert_string_equal(a.reasoning, "Thinking.");
    assert_int_equal(a.complete, 1);
    json_decref(want);
    assemble_free(&a);
    ex_free(&s);
}

static void test_anthropic_thinking_tools(void **state)
{
    (void)state;
    merged_t s, b;
    ex_init(&s, "anthropic", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *evs[] = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4,\"output_tokens\":1}}}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let me \"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"think.\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAhIM\"}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}",
        "event: ping\ndata: {\"type\": \"ping\"}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Checking.\"}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_time\",\"input\":{}}}",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":3}",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}",
        NULL };
    ex_sse(&s, evs, NULL);
    ex_init(&b, "anthropic", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    ex_body(&b, "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":["
                "{\"type\":\"thinking\",\"thinking\":\"Let me think.\",\"signature\":\"EqQBCgIYAhIM\"},"
                "{\"type\":\"text\",\"text\":\"Checking.\"},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}},"
                "{\"type\":\"tool_use\",\"id\":\"toolu_2\",\"name\":\"get_time\",\"input\":{}}],"
                "\"stop_reason\":\"tool_use\",\"stop_sequence\":null,"
                "\"usage\":{\"input_tokens\":20,\"output_tokens\":42,\"cache_read_input_tokens\":4,\"cache_creation_input_tokens\":0}}");
    same(&s, &b, ASSEMBLE_CLIENT);
    assembled_t a;
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.protocol, 1);
    assert_int_equal(a.kind, ASSEMBLE_MESSAGES);
    assert_string_equal(a.reasoning, "Let me think.");
    assert_string_equal(a.text, "Checking.");
    assert_string_equal(a.finish_reason, "tool_use");
    assert_int_equal(json_array_size(a.tool_calls), 2);
    json_t *t0 = json_array_get(a.tool_calls, 0), *t1 = json_array_get(a.tool_calls, 1);
    assert_string_equal(json_string_value(json_object_get(t0, "arguments")), "{\"city\":\"Paris\"}");
    assert_string_equal(json_string_value(json_object_get(t1, "arguments")), "{}");
    assemble_free(&a);
    ex_free(&s);
    ex_free(&b);
}

static void test_completions_and_responses(void **state)
{
    (void)state;
    merged_t s, b;
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *evs[] = {
        "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"w0 \",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}",
        "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"w1 \",\"index\":0,\"logprobs\":null,\"finish_reason\":null}]}",
        "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\",\"choices\":[{\"text\":\"\",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}",
        "[DONE]", NULL };
    ex_sse(&s, evs, NULL);
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    ex_body(&b, "{\"id\":\"cmpl-1\",\"object\":\"text_completion\",\"created\":1,\"model\":\"m\","
                "\"choices\":[{\"text\":\"w0 w1 \",\"index\":0,\"logprobs\":null,\"finish_reason\":\"stop\"}]}");
    same(&s, &b, ASSEMBLE_CLIENT);
    ex_free(&s);
    ex_free(&b);

    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *rev[] = {
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"in_progress\",\"output\":[]}}",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"Hi \"}",
        "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"output_index\":0,\"delta\":\"there\"}",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi there\",\"annotations\":[]}]},{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"}]}}",
        NULL };
    ex_sse(&s, rev, NULL);
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    ex_body(&b, "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi there\",\"annotations\":[]}]},{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\",\"arguments\":\"{}\"}]}");
    same(&s, &b, ASSEMBLE_CLIENT);
    assembled_t a;
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_string_equal(a.text, "Hi there");
    assert_string_equal(a.finish_reason, "completed");
    assert_int_equal(json_array_size(a.tool_calls), 1);
    assemble_free(&a);
    ex_free(&s);
    ex_free(&b);

    /* a Responses stream cut before response.completed: from the deltas */
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", NULL);
    const char *cut[] = { rev[0], rev[1], rev[2], NULL };
    ex_sse(&s, cut, NULL);
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.complete, 0);
    assert_string_equal(a.text, "Hi there");
    assert_string_not_equal(a.error, "");
    assemble_free(&a);
    ex_free(&s);
}

static size_t gzip(const char *in, size_t n, char *out, size_t cap, int sync_each)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    (void)sync_each;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t k = cap - z.avail_out;
    deflateEnd(&z);
    return k;
}

static void test_gzip_and_base64(void **state)
{
    (void)state;
    const char *body = "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"m\","
                       "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"caf\xc3\xa9\",\"refusal\":null},"
                       "\"logprobs\":null,\"finish_reason\":\"stop\"}]}";
    char z[4096];
    size_t zn = gzip(body, strlen(body), z, sizeof z, 0);
    merged_t b;
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", "gzip");
    ex_chunk(&b, z, zn / 2, 0, NULL, 0);                      /* base64 pieces */
    ex_chunk(&b, z + zn / 2, zn - zn / 2, 0, NULL, 0);
    assert_string_equal(json_string_value(json_object_get(json_array_get(b.chunks, 0), "data_encoding")), "base64");
    assembled_t a;
    assert_int_equal(assemble_exchange(&b, ASSEMBLE_CLIENT, &a), 0);
    assert_string_equal(a.text, "caf\xc3\xa9");
    assemble_free(&a);
    /* the raw body, as received */
    buf_t raw;
    buf_init(&raw, 0);
    assert_int_equal(assemble_body(&b, ASSEMBLE_CLIENT, &raw), 0);
    assert_int_equal(buf_len(&raw), zn);
    assert_memory_equal(buf_ptr(&raw), z, zn);
    buf_free(&raw);
    ex_free(&b);

    /* a gzip'd stream: not SSE-chunked in the capture */
    const char *sse = "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"zip\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
    zn = gzip(sse, strlen(sse), z, sizeof z, 0);
    merged_t s;
    ex_init(&s, "openai", NULL);
    ex_resp(&s, 200, "text/event-stream", "gzip");
    ex_chunk(&s, z, zn, 0, NULL, 0);
    assert_int_equal(assemble_exchange(&s, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.streamed, 1);
    assert_int_equal(a.complete, 1);
    assert_string_equal(a.text, "zip");
    assemble_free(&a);
    ex_free(&s);

    /* a body split inside a UTF-8 character (each piece base64) */
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", NULL);
    size_t cut = (size_t)(strstr(body, "\xc3") - body) + 1;
    ex_chunk(&b, body, cut, 0, NULL, 0);
    ex_chunk(&b, body + cut, strlen(body) - cut, 0, NULL, 0);
    assert_int_equal(assemble_exchange(&b, ASSEMBLE_CLIENT, &a), 0);
    assert_string_equal(a.text, "caf\xc3\xa9");
    assemble_free(&a);
    ex_free(&b);

    /* br and zstd bodies (what a client that accepts them may get) */
    static const char *const codings[] = { "br", "zstd" };
    for (size_t i = 0; i < 2; i++) {
        size_t cn = sizeof z;
        if (i == 0)
            assert_int_equal(BrotliEncoderCompress(5, 22, BROTLI_MODE_TEXT, strlen(body), (const uint8_t *)body, &cn, (uint8_t *)z), BROTLI_TRUE);
        else
            cn = ZSTD_compress(z, sizeof z, body, strlen(body), 3);
        ex_init(&b, "openai", NULL);
        ex_resp(&b, 200, "application/json", codings[i]);
        ex_chunk(&b, z, cn, 0, NULL, 0);
        assert_int_equal(assemble_exchange(&b, ASSEMBLE_CLIENT, &a), 0);
        assert_string_equal(a.text, "caf\xc3\xa9");
        assemble_free(&a);
        ex_free(&b);
    }

    /* an encoding we cannot read, and a corrupt one */
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", "compress");
    ex_chunk(&b, "xx", 2, 0, NULL, 0);
    assert_int_equal(assemble_exchange(&b, ASSEMBLE_CLIENT, &a), -1);
    assert_non_null(strstr(a.error, "Content-Encoding compress is not supported"));
    ex_free(&b);
    ex_init(&b, "openai", NULL);
    ex_resp(&b, 200, "application/json", "zstd");
    ex_chunk(&b, "not zstd at all", 15, 0, NULL, 0);
    assert_int_equal(assemble_exchange(&b, ASSEMBLE_CLIENT, &a), -1);
    assert_non_null(strstr(a.error, "the zstd body cannot be decoded"));
    ex_free(&b);
}

static void test_translated_sides(void **state)
{
    (void)state;
    merged_t m;
    ex_init(&m, "openai", "anthropic");
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *up[] = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}",
        NULL };
    const char *cl[] = {
        "{\"id\":\"msg_1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}",
        NULL };
    const char *up2[] = {
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}",
        NULL };
    const char *cl2[] = {
        "{\"id\":\"msg_1\",\"object\":\"chat.completion.chunk\",\"created\":5,\"model\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}",
        "[DONE]", NULL };
    ex_sse(&m, up, NULL);
    ex_sse(&m, cl, "client");
    ex_sse(&m, up2, NULL);
    ex_sse(&m, cl2, "client");
    assembled_t a;
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.protocol, 0);
    assert_int_equal(a.kind, ASSEMBLE_CHAT);
    assert_string_equal(a.finish_reason, "stop");
    assert_string_equal(a.text, "Hi");
    assert_int_equal(a.complete, 1);
    assemble_free(&a);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_UPSTREAM, &a), 0);
    assert_int_equal(a.protocol, 1);
    assert_int_equal(a.kind, ASSEMBLE_MESSAGES);
    assert_string_equal(a.finish_reason, "end_turn");
    assert_string_equal(a.text, "Hi");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a.message, "usage"), "output_tokens")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(a.message, "usage"), "input_tokens")), 3);
    assemble_free(&a);
    ex_free(&m);
}

static void test_errors_and_cuts(void **state)
{
    (void)state;
    assembled_t a;
    merged_t m;
    /* an error in the middle of an Anthropic stream */
    ex_init(&m, "anthropic", NULL);
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *evs[] = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"w0 \"}}",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}",
        NULL };
    ex_sse(&m, evs, NULL);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.complete, 0);
    assert_int_equal(a.error_body, 1);
    assert_non_null(strstr(a.error, "Overloaded"));
    assert_string_equal(a.text, "w0 ");                       /* what came before */
    assemble_free(&a);
    ex_free(&m);

    /* an OpenAI error body */
    ex_init(&m, "openai", NULL);
    ex_resp(&m, 429, "application/json", NULL);
    ex_body(&m, "{\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\"}}");
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.kind, ASSEMBLE_ERROR);
    assert_int_equal(a.status, 429);
    assert_int_equal(a.error_body, 1);
    assert_non_null(strstr(a.error, "Rate limit reached"));
    assemble_free(&a);
    ex_free(&m);

    /* nothing to assemble */
    ex_init(&m, "openai", NULL);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), -1);
    assert_string_not_equal(a.error, "");
    ex_free(&m);

    /* a body cut in half */
    ex_init(&m, "openai", NULL);
    ex_resp(&m, 200, "application/json", NULL);
    ex_body(&m, "{\"id\":\"x\",\"choices\":[");
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), -1);
    assert_non_null(strstr(a.error, "not JSON"));
    ex_free(&m);

    /* a chat stream cut before finish and [DONE], mid tool arguments */
    ex_init(&m, "openai", NULL);
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *cut[] = {
        CK "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\"}}]},\"finish_reason\":null}]}",
        NULL };
    ex_sse(&m, cut, NULL);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.complete, 0);
    assert_string_not_equal(a.error, "");
    assert_true(json_is_null(json_object_get(json_array_get(a.tool_calls, 0), "input")));
    assemble_free(&a);
    ex_free(&m);

    /* an Anthropic tool input cut short */
    ex_init(&m, "anthropic", NULL);
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *an[] = {
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}}",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"ci\"}}",
        NULL };
    ex_sse(&m, an, NULL);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_int_equal(a.complete, 0);
    assert_non_null(strstr(a.error, "not complete JSON"));
    assemble_free(&a);
    ex_free(&m);

    /* events that are no API at all */
    ex_init(&m, "openai", NULL);
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *junk[] = { "not json", "{\"what\":1}", NULL };
    ex_sse(&m, junk, NULL);
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), -1);
    ex_free(&m);
}

/* One SSE event cut into pieces by the capture's event limit, with a last
 * event that has no blank line. */
static void test_pieces(void **state)
{
    (void)state;
    merged_t m;
    ex_init(&m, "openai", NULL);
    ex_resp(&m, 200, "text/event-stream", NULL);
    const char *e1 = "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"long text\"},\"finish_reason\":null}]}\n\n";
    ex_chunk(&m, e1, 20, 1, NULL, 0);
    ex_chunk(&m, e1 + 20, strlen(e1) - 20, 1, NULL, 0);
    json_object_set_new(json_array_get(m.chunks, 0), "truncated", json_true());
    json_object_set_new(json_array_get(m.chunks, 1), "truncated", json_true());
    const char *e2 = "data: " CK "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n";
    ex_chunk(&m, e2, strlen(e2), 0, NULL, 0);
    assembled_t a;
    assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
    assert_string_equal(a.text, "long text");
    assert_string_equal(a.finish_reason, "length");
    assert_int_equal(a.complete, 1);
    assemble_free(&a);
    ex_free(&m);
}

/* The same stream written in every SSE shape a server may use: LF or CRLF
 * line ends, comments, ids, a JSON spread over several data lines, no
 * space after the colon, events split across chunks: one answer. */
static void test_sse_shapes(void **state)
{
    (void)state;
    const char *shapes[] = {
        "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n"
        "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n"
        "data: [DONE]\n\n",
        "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\r\n\r\n"
        "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\r\n\r\n"
        "data: [DONE]\r\n\r\n",
        ": keep-alive\n\nid: 1\nevent: message\ndata:" CK "\"choices\":[{\"index\":0,\n"
        "data: \"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n: note\n\n"
        "data: " CK "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"b\"},\"finish_reason\":\"stop\"}]}\n\n"
        "event: message\ndata: [DONE]\n\n",
    };
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (size_t cut = 0; cut < 3; cut++) {
            merged_t m;
            ex_init(&m, "openai", NULL);
            ex_resp(&m, 200, "text/event-stream", NULL);
            const char *p = shapes[k];
            size_t n = strlen(p);
            if (cut == 0) {                    /* one chunk per event */
                const char *q = p;
                while (q < p + n) {
                    const char *e = strstr(q, k == 1 ? "\r\n\r\n" : "\n\n");
                    size_t len = (size_t)(e - q) + (k == 1 ? 4 : 2);
                    ex_chunk(&m, q, len, 1, NULL, 0);
                    q += len;
                }
            } else {                           /* pieces across event bounds */
                size_t step = cut == 1 ? 7 : n / 2 + 1;
                for (size_t off = 0; off < n; off += step)
                    ex_chunk(&m, p + off, off + step > n ? n - off : step, 1, NULL, 0);
            }
            assembled_t a;
            assert_int_equal(assemble_exchange(&m, ASSEMBLE_CLIENT, &a), 0);
            assert_string_equal(a.text, "ab");
            assert_string_equal(a.finish_reason, "stop");
            assert_int_equal(a.complete, 1);
            assert_string_equal(a.error, "");
            assemble_free(&a);
            ex_free(&m);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chat_text),
        cmocka_unit_test(test_chat_parallel_tools),
        cmocka_unit_test(test_chat_refusal_reasoning_logprobs),
        cmocka_unit_test(test_anthropic_thinking_tools),
        cmocka_unit_test(test_completions_and_responses),
        cmocka_unit_test(test_gzip_and_base64),
        cmocka_unit_test(test_translated_sides),
        cmocka_unit_test(test_errors_and_cuts),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_sse_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
