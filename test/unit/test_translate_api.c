/* test_translate_api.c — the parts of lib/translate/ that fixtures do not
 * show: arguments, headers, endpoint, the max_tokens callback, a full
 * output buffer (nothing half-written), native error bodies. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include "translate/translate.h"

typedef struct { char names[16][64]; char values[16][128]; int n; } hdrs_t;

static int collect(void *arg, const char *name, const char *value, size_t vlen)
{
    hdrs_t *h = arg;
    assert_true(h->n < 16);
    snprintf(h->names[h->n], sizeof h->names[0], "%s", name);
    snprintf(h->values[h->n], sizeof h->values[0], "%.*s", (int)vlen, value);
    h->n++;
    return 0;
}

static const char *get(const hdrs_t *h, const char *name)
{
    for (int i = 0; i < h->n; i++)
        if (!strcasecmp(h->names[i], name))
            return h->values[i];
    return NULL;
}

static translate_t *primed(int client, int upstream, const char *body, const translate_opts_t *o)
{
    translate_t *t = translate_new(client, upstream, o);
    assert_non_null(t);
    char *out;
    size_t n;
    translate_error_t e;
    if (translate_request(t, body, strlen(body), &out, &n, &e))
        fail_msg("%s", e.message);
    free(out);
    return t;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(translate_new(TR_OPENAI, TR_OPENAI, NULL));
    assert_null(translate_new(7, TR_OPENAI, NULL));
    translate_t *t = translate_new(TR_OPENAI, TR_ANTHROPIC, NULL);
    char *out;
    size_t n;
    translate_error_t e;
    assert_int_equal(translate_request(t, "", 0, &out, &n, &e), -1);
    assert_int_equal(e.status, 400);
    assert_null(out);
    assert_int_equal(translate_request(t, "{\"messages\":[]}", 15, &out, &n, &e), -1);
    assert_string_equal(e.param, "model");
    translate_free(t);
    translate_free(NULL);
}

static void test_called_twice(void **state)
{
    (void)state;
    translate_t *t = primed(TR_ANTHROPIC, TR_OPENAI,
                            "{\"model\":\"claude\",\"max_tokens\":5,\"stream\":true,\"messages\":[]}", NULL);
    assert_int_equal(translate_is_stream(t), 1);
    assert_string_equal(translate_client_model(t), "claude");
    assert_string_equal(translate_upstream_model(t), "claude");
    assert_string_equal(translate_upstream_path(t), "/v1/chat/completions");
    char *out;
    size_t n;
    translate_error_t e;
    assert_int_equal(translate_request(t, "{}", 2, &out, &n, &e), -1);
    assert_int_equal(e.status, 500);
    translate_free(t);
}

static void test_headers_to_anthropic(void **state)
{
    (void)state;
    translate_t *t = translate_new(TR_OPENAI, TR_ANTHROPIC, NULL);
    assert_string_equal(translate_upstream_path(t), "/v1/messages");
    translate_header_t in[] = {
        { "Authorization", "Bearer sk-ant-123", 17 }, { "Content-Type", "application/json; charset=utf-8", 31 },
        { "Content-Length", "99", 2 }, { "OpenAI-Organization", "org-1", 5 }, { "Accept-Encoding", "gzip", 4 },
        { "X-Stainless-Lang", "js", 2 },
    };
    hdrs_t h = {0};
    assert_int_equal(translate_request_headers(t, in, 6, collect, &h), 0);
    assert_string_equal(get(&h, "x-api-key"), "sk-ant-123");
    assert_null(get(&h, "authorization"));
    assert_null(get(&h, "content-length"));
    assert_null(get(&h, "openai-organization"));
    assert_string_equal(get(&h, "content-type"), "application/json");
    assert_string_equal(get(&h, "accept-encoding"), "identity");
    assert_string_equal(get(&h, "anthropic-version"), TRANSLATE_ANTHROPIC_VERSION);
    assert_string_equal(get(&h, "x-stainless-lang"), "js");
    assert_int_equal(h.n, 5);
    /* a client's own anthropic-version is kept, not doubled */
    translate_header_t v[] = { { "anthropic-version", "2023-01-01", 10 } };
    memset(&h, 0, sizeof h);
    assert_int_equal(translate_request_headers(t, v, 1, collect, &h), 0);
    assert_string_equal(get(&h, "anthropic-version"), "2023-01-01");
    assert_int_equal(h.n, 3);
    translate_free(t);
}

static void test_headers_to_openai(void **state)
{
    (void)state;
    translate_t *t = translate_new(TR_ANTHROPIC, TR_OPENAI, NULL);
    translate_header_t in[] = {
        { "x-api-key", "sk-1", 4 }, { "anthropic-version", "2023-06-01", 10 },
        { "anthropic-beta", "tools-2024", 10 }, { "User-Agent", "claude-cli", 10 },
    };
    hdrs_t h = {0};
    assert_int_equal(translate_request_headers(t, in, 4, collect, &h), 0);
    assert_string_equal(get(&h, "authorization"), "Bearer sk-1");
    assert_null(get(&h, "x-api-key"));
    assert_null(get(&h, "anthropic-version"));
    assert_null(get(&h, "anthropic-beta"));
    assert_string_equal(get(&h, "user-agent"), "claude-cli");
    /* both credentials: Authorization wins, x-api-key is not sent */
    translate_header_t both[] = { { "x-api-key", "a", 1 }, { "Authorization", "Bearer b", 8 } };
    memset(&h, 0, sizeof h);
    assert_int_equal(translate_request_headers(t, both, 2, collect, &h), 0);
    assert_string_equal(get(&h, "authorization"), "Bearer b");
    assert_null(get(&h, "x-api-key"));
    translate_free(t);
}

static int stop_cb(void *arg, const char *name, const char *value, size_t vlen)
{
    (void)name; (void)value; (void)vlen;
    return ++*(int *)arg == 2 ? 9 : 0;
}

static void test_header_cb_stops(void **state)
{
    (void)state;
    translate_t *t = translate_new(TR_OPENAI, TR_ANTHROPIC, NULL);
    translate_header_t in[] = { { "A", "1", 1 }, { "B", "2", 1 }, { "C", "3", 1 } };
    int calls = 0;
    assert_int_equal(translate_request_headers(t, in, 3, stop_cb, &calls), 9);
    assert_int_equal(calls, 2);
    translate_free(t);
}

static void test_response_headers(void **state)
{
    (void)state;
    assert_true(translate_drop_response_header("Content-Length"));
    assert_true(translate_drop_response_header("content-encoding"));
    assert_true(translate_drop_response_header("Content-Type"));
    assert_false(translate_drop_response_header("retry-after"));
    assert_string_equal(translate_response_content_type(1), "text/event-stream");
    assert_string_equal(translate_response_content_type(0), "application/json");
}

static long long cb_max(void *arg, const char *model)
{
    (*(int *)arg)++;
    return !strcmp(model, "claude-big") ? 64000 : 0;
}

static void test_max_tokens_callback(void **state)
{
    (void)state;
    int calls = 0;
    translate_opts_t o = { .model = "claude-big", .max_tokens_cb = cb_max, .cb_arg = &calls,
                           .effort_budget = { 0, 0, 3000, 0 } };
    translate_t *t = translate_new(TR_OPENAI, TR_ANTHROPIC, &o);
    const char *req = "{\"model\":\"gpt\",\"reasoning_effort\":\"medium\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    char *out;
    size_t n;
    translate_error_t e;
    assert_int_equal(translate_request(t, req, strlen(req), &out, &n, &e), 0);
    assert_int_equal(calls, 1);
    json_t *j = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 64000);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "claude-big");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "thinking"), "budget_tokens")), 3000);
    assert_string_equal(translate_client_model(t), "gpt");
    json_decref(j);
    free(out);
    translate_free(t);
}

static void test_full_buffer(void **state)
{
    (void)state;
    translate_t *t = primed(TR_OPENAI, TR_ANTHROPIC,
                            "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    buf_t out;
    buf_init(&out, 40); /* too small for any chunk */
    const char *ev = "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"c\",\"usage\":{\"input_tokens\":3}}}";
    assert_int_equal(translate_stream_event(t, "message_start", 13, ev, strlen(ev), &out), -1);
    assert_int_equal(buf_len(&out), 0);
    buf_t big;
    buf_init(&big, 0);
    assert_int_equal(translate_stream_event(t, "message_start", 13, ev, strlen(ev), &big), 0);
    assert_true(buf_len(&big) > 0);
    /* a whole response does not fit either: -1, nothing appended */
    int st = 0;
    translate_error_t e;
    const char *resp = "{\"id\":\"msg_1\",\"content\":[{\"type\":\"text\",\"text\":\"hello there\"}],\"stop_reason\":\"end_turn\"}";
    assert_int_equal(translate_response(t, 200, resp, strlen(resp), &out, &st, &e), -1);
    assert_int_equal(buf_len(&out), 0);
    assert_int_equal(translate_stream_finish(t, 1, &out), -1);
    assert_int_equal(buf_len(&out), 0);
    assert_false(translate_stream_done(t));
    assert_int_equal(translate_stream_finish(t, 1, &big), 0);
    assert_true(translate_stream_done(t));
    buf_free(&out);
    buf_free(&big);
    translate_free(t);
}

static void test_error_bodies(void **state)
{
    (void)state;
    translate_error_t e = { .status = 400, .type = "invalid_request_error", .param = "n", .message = "n: no" };
    buf_t b;
    buf_init(&b, 0);
    assert_int_equal(translate_error_body(TR_OPENAI, &e, &b), 0);
    json_t *j = json_loads(buf_ptr(&b), 0, NULL);
    json_t *er = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(er, "param")), "n");
    assert_true(json_is_null(json_object_get(er, "code")));
    json_decref(j);
    buf_reset(&b);
    assert_int_equal(translate_error_body(TR_ANTHROPIC, &e, &b), 0);
    j = json_loads(buf_ptr(&b), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "message")), "n: no");
    json_decref(j);
    buf_free(&b);
}

/* Stream events that make no sense are skipped (1), not fatal. */
static void test_garbage_events(void **state)
{
    (void)state;
    translate_t *t = primed(TR_OPENAI, TR_ANTHROPIC,
                            "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", NULL);
    buf_t out;
    buf_init(&out, 0);
    assert_int_equal(translate_stream_event(t, NULL, 0, "not json", 8, &out), 1);
    assert_int_equal(translate_stream_event(t, "x", 1, "{\"type\":\"what\"}", 16, &out), 1);
    const char *d = "{\"type\":\"content_block_delta\",\"index\":5,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}";
    assert_int_equal(translate_stream_event(t, "content_block_delta", 19, d, strlen(d), &out), 1);
    translate_free(t);
    t = primed(TR_ANTHROPIC, TR_OPENAI, "{\"model\":\"m\",\"max_tokens\":1,\"stream\":true,\"messages\":[]}", NULL);
    assert_int_equal(translate_stream_event(t, NULL, 0, "[1]", 3, &out), 1);
    translate_free(t);
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_called_twice),
        cmocka_unit_test(test_headers_to_anthropic),
        cmocka_unit_test(test_headers_to_openai),
        cmocka_unit_test(test_header_cb_stops),
        cmocka_unit_test(test_response_headers),
        cmocka_unit_test(test_max_tokens_callback),
        cmocka_unit_test(test_full_buffer),
        cmocka_unit_test(test_error_bodies),
        cmocka_unit_test(test_garbage_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
