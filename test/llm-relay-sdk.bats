#!/usr/bin/env bats
# llm-relay with the official SDKs (npm "openai" and "@anthropic-ai/sdk")
# as clients, streaming and not, with and without tool calls.
load helper

setup() {
    [ -d "$PLLM_ROOT/test/sdk/node_modules/openai" ] || skip "npm test clients not installed (make deps)"
    start_mock
}
teardown() { common_teardown; }

openai() { BASE_URL="$RELAY_URL/v1" node "$PLLM_ROOT/test/sdk/openai.mjs" "$@"; }
anthropic() { BASE_URL="$RELAY_URL" node "$PLLM_ROOT/test/sdk/anthropic.mjs" "$@"; }

@test "openai SDK: chat, streaming with and without usage, models" {
    start_relay --upstream "$MOCK_URL"
    run openai chat
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 2 '{"usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}'
    run openai stream
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 2 '{"usage":null}'      # the usage the relay asked for stays with the relay
    run openai stream-usage
    assert_line --index 2 '{"usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16}}'
    run openai models
    assert_output '{"models":["mock-model"]}'
    stop_relay
    # every exchange captured with usage, streams included
    run cap -r 'select(.event=="end" and .status==200 and (.usage|length)>0) | .usage.output_tokens'
    assert_output "$(printf '5\n5\n5')"
    validate_capture
}

@test "openai SDK: tool calls, parallel, streamed argument fragments" {
    start_relay --upstream "$MOCK_URL"
    expect='{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}},{"name":"get_time","arguments":{"city":"Tokyo"}}]}'
    run openai tools
    assert_success
    assert_line --index 0 "$expect"
    run openai stream-tools
    assert_success
    assert_line --index 0 "$expect"
    assert_line --index 1 '{"finish_reason":"tool_calls"}'
    stop_relay
    run cap -r 'select(.event=="end") | .finish_reason'
    assert_output "$(printf 'tool_calls\ntool_calls')"
    validate_capture
}

@test "anthropic SDK: message, stream, tools, streamed tool input, count_tokens, models" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    run anthropic message
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 2 '{"usage":{"input_tokens":11,"output_tokens":5}}'
    run anthropic stream
    assert_success
    assert_line --index 2 '{"usage":{"input_tokens":11,"output_tokens":5}}'
    assert_line --index 3 '{"text_deltas":5}'
    run anthropic tools
    assert_line --index 1 '{"tool_use":[{"name":"get_weather","input":{"city":"Paris"}}]}'
    run anthropic stream-tools
    assert_success
    assert_line --index 1 '{"tool_use":[{"name":"get_weather","input":{"city":"Paris"}}]}'
    run anthropic count
    assert_output '{"input_tokens":11}'
    run anthropic models
    assert_output '{"models":["claude-mock"]}'
    stop_relay
    run cap -r 'select(.event=="end" and .finish_reason != null) | [.finish_reason, .usage.input_tokens, .usage.output_tokens] | @tsv'
    assert_line "$(printf 'end_turn\t11\t5')"
    assert_line "$(printf 'tool_use\t11\t5')"
    validate_capture
}

@test "an upstream error reaches the SDK as its own error type" {
    start_relay --upstream "$MOCK_URL"
    MODEL=mock-429 run openai chat
    assert_failure
    assert_line --index 0 --partial '"status":429'
    stop_relay
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    MODEL=mock-500 run anthropic message
    assert_failure
    assert_line --index 0 --partial '"status":500'
}
