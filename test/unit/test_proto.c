/* test_proto.c — unit tests for lib/proto.c: which API dialect a request
 * speaks, by its path, then by its anthropic-version header. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "proto.h"

static void by_path(void **state)
{
    (void)state;
    const char *anthropic[] = { "/v1/messages", "/v1/messages/count_tokens", "/v1/complete",
                                "/anthropic/v1/models", "/anthropic/", "/prefix/v1/messages" };
    for (size_t i = 0; i < sizeof anthropic / sizeof anthropic[0]; i++) {
        assert_int_equal(proto_of_path(anthropic[i], 0), PROTO_ANTHROPIC);
        assert_int_equal(proto_of_path(anthropic[i], 1), PROTO_ANTHROPIC);
    }
    const char *openai[] = { "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses",
                             "/openai/v1/models", "/openai/", "/team/v1/chat/completions" };
    for (size_t i = 0; i < sizeof openai / sizeof openai[0]; i++) {
        assert_int_equal(proto_of_path(openai[i], 0), PROTO_OPENAI);
        /* the path wins over the header */
        assert_int_equal(proto_of_path(openai[i], 1), PROTO_OPENAI);
    }
    /* Anthropic's legacy /v1/complete and OpenAI's /v1/completions are
     * told apart */
    assert_int_equal(proto_of_path("/v1/complete", 0), PROTO_ANTHROPIC);
    assert_int_equal(proto_of_path("/v1/completions", 1), PROTO_OPENAI);
    /* the prefixes count only at the start */
    assert_int_equal(proto_of_path("/x/anthropic/v1/models", 0), PROTO_OPENAI);
    assert_int_equal(proto_of_path("/x/openai/v1/models", 1), PROTO_ANTHROPIC);
}

static void by_header(void **state)
{
    (void)state;
    const char *other[] = { "/", "/v1/models", "/health", "", "/anthropic", "/openai", "/v2/messages" };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        assert_int_equal(proto_of_path(other[i], 0), PROTO_OPENAI);
        assert_int_equal(proto_of_path(other[i], 1), PROTO_ANTHROPIC);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(by_path),
        cmocka_unit_test(by_header),
    };
    return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
