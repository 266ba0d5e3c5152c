/* test_usage.c — unit tests for lib/usage.c: usage, finish reason, model
 * and content detection for every protocol shape, whole bodies and
 * streams, and garbage that must be ignored; the fast path over raw
 * members against the parse by jansson over many generated bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "usage.h"

static int body(usage_t *u, const char *s) { return usage_from_body(u, s, strlen(s)); }

static int ev(usage_t *u, const char *name, const char *data)
{
    return usage_from_event(u, name, strlen(name), data, strlen(data));
}

static void json_has(const json_t *o, const char *key, long long want)
{
    json_t *v = json_object_get(o, key);
    assert_non_null(v);
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), want);
}

static void test_init(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(u.input_tokens, -1);
    assert_int_equal(u.output_tokens, -1);
    assert_int_equal(u.total_tokens, -1);
    assert_int_equal(u.seen, 0);
    assert_string_equal(u.finish_reason, "");
    json_t *j = usage_to_json(&u);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
}

static void test_openai_chat_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
        "\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
        "\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":3}}}"), 1);
    assert_int_equal(u.input_tokens, 19);
    assert_int_equal(u.output_tokens, 10);
    assert_int_equal(u.total_tokens, 29);
    assert_int_equal(u.cached_tokens, 4);
    assert_int_equal(u.reasoning_tokens, 3);
    assert_int_equal(u.cache_creation_tokens, -1);
    assert_int_equal(u.seen, 1);
    assert_string_equal(u.finish_reason, "stop");
    assert_string_equal(u.model, "gpt-4o-2024-08-06");
    json_t *j = usage_to_json(&u);
    json_has(j, "input_tokens", 19);
    json_has(j, "output_tokens", 10);
    json_has(j, "total_tokens", 29);
    json_has(j, "cached_tokens", 4);
    json_has(j, "reasoning_tokens", 3);
    assert_null(json_object_get(j, "cache_creation_tokens"));
    json_decref(j);
}

static void test_openai_completions_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"object\":\"text_completion\",\"model\":\"gpt-3.5-turbo-instruct\","
        "\"choices\":[{\"text\":\"x\",\"index\":0,\"finish_reason\":\"length\"},"
        "{\"text\":\"y\",\"index\":1,\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":7,\"total_tokens\":12}}"), 1);
    assert_string_equal(u.finish_reason, "length"); /* choices[0] */
    assert_int_equal(u.output_tokens, 7);
}

static void test_openai_embeddings_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,"
        "\"embedding\":[0.1,-0.2]}],\"model\":\"text-embedding-3-small\","
        "\"usage\":{\"prompt_tokens\":8,\"total_tokens\":8}}"), 1);
    assert_int_equal(u.input_tokens, 8);
    assert_int_equal(u.output_tokens, -1);
    assert_int_equal(u.total_tokens, 8);
    assert_string_equal(u.model, "text-embedding-3-small");
    json_t *j = usage_to_json(&u);
    json_has(j, "input_tokens", 8);
    json_has(j, "total_tokens", 8);
    assert_null(json_object_get(j, "output_tokens"));
    json_decref(j);
}

static void test_responses_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\","
        "\"model\":\"o4-mini\",\"output\":[],"
        "\"usage\":{\"input_tokens\":36,\"input_tokens_details\":{\"cached_tokens\":2},"
        "\"output_tokens\":87,\"output_tokens_details\":{\"reasoning_tokens\":64},"
        "\"total_tokens\":123}}"), 1);
    assert_int_equal(u.input_tokens, 36);
    assert_int_equal(u.output_tokens, 87);
    assert_int_equal(u.cached_tokens, 2);
    assert_int_equal(u.reasoning_tokens, 64);
    assert_int_equal(u.total_tokens, 123);
    assert_string_equal(u.finish_reason, "completed");
    assert_string_equal(u.model, "o4-mini");

    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"object\":\"response\",\"status\":\"incomplete\","
        "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
        "\"usage\":{\"input_tokens\":1,\"output_tokens\":2,\"total_tokens\":3}}"), 1);
    assert_string_equal(u.finish_reason, "max_output_tokens");
}

static void test_anthropic_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u,
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-sonnet-4-20250514\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],"
        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":12,\"cache_creation_input_tokens\":100,"
        "\"cache_read_input_tokens\":2000,\"output_tokens\":6}}"), 1);
    assert_int_equal(u.input_tokens, 12);
    assert_int_equal(u.output_tokens, 6);
    assert_int_equal(u.cached_tokens, 2000);
    assert_int_equal(u.cache_creation_tokens, 100);
    assert_int_equal(u.total_tokens, -1);
    assert_string_equal(u.finish_reason, "end_turn");
    assert_string_equal(u.model, "claude-sonnet-4-20250514");
    json_t *j = usage_to_json(&u);
    json_has(j, "total_tokens", 18); /* input + output when not given */
    json_has(j, "cache_creation_tokens", 100);
    json_decref(j);
}

static void test_error_body(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\"}}"), 0);
    assert_int_equal(u.seen, 0);
    assert_int_equal(body(&u, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"}}"), 0);
    assert_int_equal(u.seen, 0);
}

static void test_openai_stream(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    const char *base = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\",";
    char buf[512];
    /* role-only delta: not content */
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}", base);
    assert_int_equal(ev(&u, "", buf), 0);
    assert_string_equal(u.model, "gpt-4o");
    assert_int_equal(u.seen, 0);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}", base);
    assert_int_equal(ev(&u, "", buf), 1);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"refusal\":\"no\"}}]}", base);
    assert_int_equal(ev(&u, "", buf), 1);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"}}]}", base);
    assert_int_equal(ev(&u, "", buf), 1);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hmm\"}}]}", base);
    assert_int_equal(ev(&u, "", buf), 1);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\"}}]}}]}", base);
    assert_int_equal(ev(&u, "", buf), 1);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[]}}]}", base);
    assert_int_equal(ev(&u, "", buf), 0);
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}", base);
    assert_int_equal(ev(&u, "", buf), 0);
    assert_string_equal(u.finish_reason, "tool_calls");
    /* a later null finish_reason does not erase it */
    snprintf(buf, sizeof buf, "%s\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":null}]}", base);
    assert_int_equal(ev(&u, "", buf), 0);
    assert_string_equal(u.finish_reason, "tool_calls");
    /* the usage-only chunk */
    snprintf(buf, sizeof buf, "%s\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13,"
             "\"prompt_tokens_details\":{\"cached_tokens\":0}}}", base);
    assert_int_equal(usage_is_usage_only_chunk(buf, strlen(buf)), 1);
    assert_int_equal(ev(&u, "", buf), 0);
    assert_int_equal(u.seen, 1);
    assert_int_equal(u.input_tokens, 9);
    assert_int_equal(u.output_tokens, 4);
    assert_int_equal(u.total_tokens, 13);
    assert_int_equal(u.cached_tokens, 0);
    assert_int_equal(ev(&u, "", "[DONE]"), 0);
    assert_int_equal(u.input_tokens, 9);
}

static void test_openai_completions_stream(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(ev(&u, "", "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":null}]}"), 0);
    assert_int_equal(ev(&u, "", "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"Hi\",\"index\":0,\"finish_reason\":null}]}"), 1);
    assert_int_equal(ev(&u, "", "{\"object\":\"text_completion\",\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}]}"), 0);
    assert_string_equal(u.finish_reason, "length");
}

static void test_usage_only_chunk_negative(void **state)
{
    (void)state;
    const char *no[] = {
        "{\"choices\":[{\"delta\":{}}],\"usage\":{\"prompt_tokens\":1}}",
        "{\"choices\":[],\"usage\":null}",
        "{\"choices\":[]}",
        "{\"usage\":{\"prompt_tokens\":1}}",
        "[DONE]", "", "not json", "[]",
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_int_equal(usage_is_usage_only_chunk(no[i], strlen(no[i])), 0);
}

static void test_anthropic_stream(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(ev(&u, "message_start",
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-opus-4-1\",\"content\":[],\"stop_reason\":null,"
        "\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":0,"
        "\"cache_read_input_tokens\":300,\"output_tokens\":1}}}"), 0);
    assert_int_equal(u.input_tokens, 25);
    assert_int_equal(u.output_tokens, 1);
    assert_int_equal(u.cached_tokens, 300);
    assert_int_equal(u.cache_creation_tokens, 0);
    assert_string_equal(u.model, "claude-opus-4-1");
    assert_int_equal(ev(&u, "ping", "{\"type\":\"ping\"}"), 0);
    assert_int_equal(ev(&u, "content_block_start",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}"), 0);
    assert_int_equal(ev(&u, "content_block_start",
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}"), 0);
    assert_int_equal(ev(&u, "content_block_delta",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"Let\"}}"), 1);
    assert_int_equal(ev(&u, "content_block_delta",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"signature_delta\",\"signature\":\"EqQ\"}}"), 0);
    assert_int_equal(ev(&u, "content_block_delta",
        "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}"), 1);
    assert_int_equal(ev(&u, "content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"), 0);
    assert_int_equal(ev(&u, "content_block_start",
        "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get\",\"input\":{}}}"), 1);
    assert_int_equal(ev(&u, "content_block_delta",
        "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\"}}"), 1);
    assert_int_equal(ev(&u, "message_delta",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},"
        "\"usage\":{\"output_tokens\":15}}"), 0);
    assert_int_equal(u.output_tokens, 15);
    assert_int_equal(u.input_tokens, 25);   /* absent: kept */
    assert_string_equal(u.finish_reason, "tool_use");
    /* newer servers repeat input and cache counts in message_delta */
    assert_int_equal(ev(&u, "message_delta",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
        "\"usage\":{\"input_tokens\":26,\"cache_read_input_tokens\":null,\"output_tokens\":16}}"), 0);
    assert_int_equal(u.input_tokens, 26);
    assert_int_equal(u.cached_tokens, 300); /* null: kept */
    assert_int_equal(u.output_tokens, 16);
    assert_string_equal(u.finish_reason, "end_turn");
    assert_int_equal(ev(&u, "message_stop", "{\"type\":\"message_stop\"}"), 0);
    assert_int_equal(u.seen, 1);
}

static void test_anthropic_stream_without_event_names(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(ev(&u, "",
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}"), 1);
    assert_int_equal(ev(&u, "",
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":3}}"), 0);
    assert_int_equal(u.output_tokens, 3);
    assert_string_equal(u.finish_reason, "max_tokens");
}

static void test_responses_stream(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(ev(&u, "response.created",
        "{\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"resp_1\","
        "\"object\":\"response\",\"status\":\"in_progress\",\"model\":\"gpt-4.1\",\"usage\":null}}"), 0);
    assert_string_equal(u.model, "gpt-4.1");
    assert_int_equal(ev(&u, "response.output_item.added",
        "{\"type\":\"response.output_item.added\",\"item\":{\"type\":\"message\"}}"), 0);
    const char *content[] = {
        "response.output_text.delta", "response.function_call_arguments.delta",
        "response.reasoning_summary_text.delta", "response.refusal.delta",
        "response.reasoning_text.delta",
    };
    char buf[256];
    for (size_t i = 0; i < 5; i++) {
        snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"delta\":\"x\"}", content[i]);
        assert_int_equal(ev(&u, content[i], buf), 1);
        assert_int_equal(ev(&u, "", buf), 1); /* type from the data alone */
    }
    assert_int_equal(ev(&u, "response.output_text.done",
        "{\"type\":\"response.output_text.done\",\"text\":\"xyz\"}"), 0);
    assert_int_equal(u.seen, 0);
    assert_int_equal(ev(&u, "response.completed",
        "{\"type\":\"response.completed\",\"response\":{\"object\":\"response\",\"status\":\"completed\","
        "\"model\":\"gpt-4.1-2025-04-14\",\"usage\":{\"input_tokens\":10,"
        "\"input_tokens_details\":{\"cached_tokens\":5},\"output_tokens\":20,"
        "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":30}}}"), 0);
    assert_int_equal(u.seen, 1);
    assert_int_equal(u.input_tokens, 10);
    assert_int_equal(u.cached_tokens, 5);
    assert_int_equal(u.output_tokens, 20);
    assert_int_equal(u.reasoning_tokens, 0);
    assert_int_equal(u.total_tokens, 30);
    assert_string_equal(u.finish_reason, "completed");
    assert_string_equal(u.model, "gpt-4.1-2025-04-14");

    usage_init(&u);
    assert_int_equal(ev(&u, "",
        "{\"type\":\"response.incomplete\",\"response\":{\"status\":\"incomplete\","
        "\"incomplete_details\":{\"reason\":\"content_filter\"},"
        "\"usage\":{\"input_tokens\":1,\"output_tokens\":1,\"total_tokens\":2}}}"), 0);
    assert_string_equal(u.finish_reason, "content_filter");
    assert_int_equal(u.total_tokens, 2);

    usage_init(&u);
    assert_int_equal(ev(&u, "response.failed",
        "{\"type\":\"response.failed\",\"response\":{\"status\":\"failed\",\"usage\":null}}"), 0);
    assert_string_equal(u.finish_reason, "failed");
    assert_int_equal(u.seen, 0);
}

static void test_garbage_ignored(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    const char *bad[] = {
        "", "{", "null", "42", "\"str\"", "[1,2]", "{\"usage\":\"abc\"}",
        "{\"usage\":[1]}", "{\"usage\":{\"prompt_tokens\":\"5\"}}",
        "{\"usage\":{\"prompt_tokens\":-3,\"completion_tokens\":1.5}}",
        "{\"usage\":{\"prompt_tokens\":1e300}}",
        "{\"usage\":{\"prompt_tokens\":99999999999999999999999}}",
        "{\"usage\":{\"prompt_tokens\":9007199254740993}}",
        "{\"usage\":{\"prompt_tokens_details\":5,\"input_tokens_details\":[]}}",
        "{\"choices\":\"x\",\"model\":5,\"stop_reason\":{}}",
        "{\"choices\":[1,null,\"x\",{\"delta\":5,\"finish_reason\":7}]}",
        "{\"type\":5}", "{\"type\":\"message_start\",\"message\":7}",
        "{\"type\":\"message_delta\",\"usage\":\"x\",\"delta\":[]}",
        "{\"type\":\"content_block_delta\",\"delta\":{\"type\":5}}",
        "{\"type\":\"content_block_start\",\"content_block\":null}",
        "{\"type\":\"response.completed\",\"response\":[]}",
        "{\"type\":\"response.completed\",\"response\":{\"usage\":{\"input_tokens\":{}}}}",
        "\xff\xfe{}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(usage_from_body(&u, bad[i], strlen(bad[i])), 0);
        assert_int_equal(usage_from_event(&u, "", 0, bad[i], strlen(bad[i])), 0);
        assert_int_equal(usage_from_event(&u, "message_delta", 13, bad[i], strlen(bad[i])), 0);
    }
    assert_int_equal(u.seen, 0);
    assert_int_equal(u.input_tokens, -1);
    assert_int_equal(u.output_tokens, -1);
    assert_string_equal(u.finish_reason, "");
    assert_string_equal(u.model, "");
    assert_int_equal(usage_from_body(&u, NULL, 0), 0);
    assert_int_equal(usage_from_event(&u, NULL, 0, NULL, 0), 0);
    /* a body with NUL inside is not JSON */
    assert_int_equal(usage_from_body(&u, "{\"usage\":{\"prompt_tokens\":1}}\0x", 33), 0);
}

static void test_integral_real_counts(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    assert_int_equal(body(&u, "{\"usage\":{\"prompt_tokens\":12.0,\"completion_tokens\":3}}"), 1);
    assert_int_equal(u.input_tokens, 12);
}

static void test_long_strings_truncated(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    char buf[1024];
    char model[400];
    memset(model, 'm', sizeof model - 1);
    model[sizeof model - 1] = '\0';
    snprintf(buf, sizeof buf, "{\"model\":\"%s\",\"stop_reason\":\"%s\"}", model, model);
    assert_int_equal(body(&u, buf), 0);
    assert_int_equal(strlen(u.model), sizeof u.model - 1);
    assert_int_equal(strlen(u.finish_reason), sizeof u.finish_reason - 1);
}

static void test_to_json_keeps_given_total(void **state)
{
    (void)state;
    usage_t u;
    usage_init(&u);
    u.input_tokens = 5;
    u.output_tokens = 6;
    u.total_tokens = 100;
    json_t *j = usage_to_json(&u);
    json_has(j, "total_tokens", 100);
    json_decref(j);
    usage_init(&u);
    u.input_tokens = 5;
    j = usage_to_json(&u);
    assert_null(json_object_get(j, "total_tokens"));
    assert_int_equal(json_object_size(j), 1);
    json_decref(j);
}

/* Bodies built from random members. Each is read twice: as it is, and
 * with its model written with an escape ("\\u006d…", the same text), which
 * sends usage_from_body to jansson. Both must agree on everything. */
static void test_fast_path_agrees_with_jansson(void **state)
{
    (void)state;
    static const char *const objects[] = { NULL, "\"chat.completion\"", "\"response\"", "\"text_completion\"", "7" };
    static const char *const counts[] = { "12", "0", "1.0", "5e1", "-3", "\"7\"", "null", "123456789012345",
                                          "9007199254740993", "{\"cached_tokens\":3}", "1234567890123456" };
    static const char *const ukeys[] = { "prompt_tokens", "input_tokens", "completion_tokens", "output_tokens",
                                         "total_tokens", "cache_read_input_tokens", "cache_creation_input_tokens" };
    static const char *const dkeys[] = { "prompt_tokens_details", "input_tokens_details",
                                         "completion_tokens_details", "output_tokens_details" };
    static const char *const choices[] = { NULL, "[]", "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"a \\\"q\\\"\"},\"finish_reason\":\"stop\"}]",
        "[{\"finish_reason\":null}]", "[{\"finish_reason\":\"le\\ngth\"}]",
        "[{\"index\":1,\"finish_reason\":\"x\"},{\"index\":0,\"finish_reason\":\"tool_calls\"}]", "\"no\"",
        "[{\"text\":\"\\\"finish_reason\\\":\\\"fake\\\"\",\"finish_reason\":\"length\"}]" };
    static const char *const reasons[] = { NULL, "\"end_turn\"", "\"a\\\"b\"", "5", "\"\"" };
    static const char *const incomplete[] = { NULL, "null", "{\"reason\":\"max_output_tokens\"}" };
    unsigned seed = 7;
#define RND(n) (seed = seed * 1103515245u + 12345u, (int)((seed >> 16) % (unsigned)(n)))
    for (int round = 0; round < 5000; round++) {
        char doc[2][4096];
        for (int twin = 0; twin < 2; twin++) {
            unsigned keep = seed;
            char *o = doc[twin];
            o += sprintf(o, "{\"id\":\"x\",\"model\":\"%s\"", twin ? "\\u006dodel-1" : "model-1");
            const char *ob = objects[RND(5)];
            if (ob) o += sprintf(o, ",\"object\":%s", ob);
            const char *ch = choices[RND(8)];
            if (ch) o += sprintf(o, ",\"choices\":%s", ch);
            const char *sr = reasons[RND(5)];
            if (sr) o += sprintf(o, ",\"stop_reason\":%s", sr);
            if (RND(2)) o += sprintf(o, ",\"status\":\"%s\"", RND(2) ? "completed" : "incomplete");
            const char *inc = incomplete[RND(3)];
            if (inc) o += sprintf(o, ",\"incomplete_details\":%s", inc);
            int uk = RND(4);
            if (uk == 1) o += sprintf(o, ",\"usage\":null");
            else if (uk >= 2) {
                o += sprintf(o, ",\"usage\":{\"x\":1");
                for (int i = 0; i < 7; i++) if (RND(2)) o += sprintf(o, ",\"%s\":%s", ukeys[i], counts[RND(11)]);
                for (int i = 0; i < 4; i++) if (RND(3) == 0)
                    o += sprintf(o, ",\"%s\":{\"%s\":%s}", dkeys[i], i < 2 ? "cached_tokens" : "reasoning_tokens", counts[RND(11)]);
                o += sprintf(o, "}");
            }
            o += sprintf(o, "}");
            if (twin == 0) seed = keep;     /* the twin draws the same members */
        }
        usage_t a, b;
        usage_init(&a); usage_init(&b);
        int ra = body(&a, doc[0]), rb = body(&b, doc[1]);
        if (ra != rb || a.input_tokens != b.input_tokens || a.output_tokens != b.output_tokens ||
            a.cached_tokens != b.cached_tokens || a.cache_creation_tokens != b.cache_creation_tokens ||
            a.reasoning_tokens != b.reasoning_tokens || a.total_tokens != b.total_tokens || a.seen != b.seen ||
            strcmp(a.finish_reason, b.finish_reason) || strcmp(a.model, b.model))
            fail_msg("fast and jansson paths differ on %s", doc[0]);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_openai_chat_body),
        cmocka_unit_test(test_openai_completions_body),
        cmocka_unit_test(test_openai_embeddings_body),
        cmocka_unit_test(test_responses_body),
        cmocka_unit_test(test_anthropic_body),
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_openai_stream),
        cmocka_unit_test(test_openai_completions_stream),
        cmocka_unit_test(test_usage_only_chunk_negative),
        cmocka_unit_test(test_anthropic_stream),
        cmocka_unit_test(test_anthropic_stream_without_event_names),
        cmocka_unit_test(test_responses_stream),
        cmocka_unit_test(test_garbage_ignored),
        cmocka_unit_test(test_integral_real_counts),
        cmocka_unit_test(test_long_strings_truncated),
        cmocka_unit_test(test_to_json_keeps_given_total),
        cmocka_unit_test(test_fast_path_agrees_with_jansson),
    };
    return cmocka_run_group_tests_name("usage", tests, NULL, NULL);
}
