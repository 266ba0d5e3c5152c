#!/usr/bin/env bats
# llm-relay translating between the OpenAI and Anthropic protocols, end to
# end with the official SDKs, streaming included; the capture keeps both
# sides; model aliases point at either protocol.
load helper

setup() {
    [ -d "$PLLM_ROOT/test/sdk/node_modules/openai" ] || skip "npm test clients not installed (make deps)"
    start_mock
}
teardown() { common_teardown; }

openai() { BASE_URL="$RELAY_URL/v1" node "$PLLM_ROOT/test/sdk/openai.mjs" "$@"; }
anthropic() { BASE_URL="$RELAY_URL" node "$PLLM_ROOT/test/sdk/anthropic.mjs" "$@"; }

@test "openai SDK → Anthropic upstream: text, stream with usage, tool calls with streamed arguments" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    run openai chat
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 1 '{"finish_reason":"stop"}'
    # prompt tokens = input 11 + cache read 2 (OpenAI counts cached tokens in the prompt)
    assert_line --index 2 '{"usage":{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18}}'
    run openai stream-usage
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 2 '{"usage":{"prompt_tokens":13,"completion_tokens":5,"total_tokens":18}}'
    run openai stream
    assert_line --index 2 '{"usage":null}'
    run openai stream-tools
    assert_success
    assert_line --index 0 '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}}]}'
    assert_line --index 1 '{"finish_reason":"tool_calls"}'
    stop_relay
    validate_capture
    # the capture has both sides: the Anthropic body that went upstream
    run cap -r 'select(.event=="request") | [.protocol, .upstream_protocol, .upstream_changes[0], (.upstream_body | fromjson | .max_tokens)] | @tsv'
    assert_line --index 0 "$(printf 'openai\tanthropic\ttranslated:openai->anthropic\t4096')"
    run cap -r 'select(.event=="end") | [.outcome, .usage.input_tokens, .usage.output_tokens] | @tsv'
    assert_line --index 0 "$(printf 'ok\t11\t5')"
}

@test "anthropic SDK → OpenAI upstream: text, stream, parallel tool calls, streamed tool input" {
    start_relay --upstream "$MOCK_URL" --protocol openai
    run anthropic message
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    assert_line --index 1 '{"stop_reason":"end_turn"}'
    assert_line --index 2 '{"usage":{"input_tokens":8,"output_tokens":5}}'   # 11 prompt - 3 cached
    run anthropic stream
    assert_success
    assert_line --index 2 '{"usage":{"input_tokens":8,"output_tokens":5}}'
    assert_line --index 3 '{"text_deltas":5}'
    run anthropic tools
    assert_line --index 1 '{"tool_use":[{"name":"get_weather","input":{"city":"Paris"}},{"name":"get_time","input":{"city":"Tokyo"}}]}'
    assert_line --index 2 '{"stop_reason":"tool_use"}'
    run anthropic stream-tools
    assert_success
    assert_line --index 1 '{"tool_use":[{"name":"get_weather","input":{"city":"Paris"}},{"name":"get_time","input":{"city":"Tokyo"}}]}'
    stop_relay
    validate_capture
    # the upstream was asked for usage on the stream (the Anthropic client needs it)
    run cap -r 'select(.event=="request" and .stream) | .upstream_body | fromjson | .stream_options.include_usage'
    assert_line --index 0 true
}

@test "an upstream error mid-stream reaches either SDK as an error" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    MODEL=mock-error-midstream run openai stream
    assert_failure
    assert_output --partial 'Overloaded'
    stop_relay
    start_relay --upstream "$MOCK_URL" --protocol openai
    MODEL=mock-error-midstream run anthropic stream
    assert_failure
    assert_output --partial 'Overloaded'
    stop_relay
    run cap -r 'select(.event=="end") | .outcome'
    assert_output upstream_error
}

@test "translated capture: the client side rebuilds what the client got, the upstream side what the upstream sent" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    body='{"model":"m","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
    curl -sS -N "$RELAY_URL/v1/chat/completions" -d "$body" > "$BATS_TEST_TMPDIR/client"
    grep -q '^data: \[DONE\]' "$BATS_TEST_TMPDIR/client"
    stop_relay
    node "$TOOLS/rebuild.js" --client "$CAP" | cmp - "$BATS_TEST_TMPDIR/client"
    # replaying the captured upstream body against the upstream gives the captured upstream bytes
    cap -r 'select(.event=="request") | .upstream_body' | tr -d '\n' > "$BATS_TEST_TMPDIR/upbody"
    curl -sS -N "$MOCK_URL/v1/messages" --data-binary @"$BATS_TEST_TMPDIR/upbody" > "$BATS_TEST_TMPDIR/direct"
    node "$TOOLS/rebuild.js" "$CAP" | cmp - "$BATS_TEST_TMPDIR/direct"
    validate_capture
}

@test "a field that cannot be translated gets a native 400 naming it; nothing goes upstream" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"m","n":2,"messages":[{"role":"user","content":"x"}]}'
    assert_line --index 1 400
    echo "${lines[0]}" | jq -e '.error.param == "n" and (.error.message | contains("n"))'
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 0'
}

@test "model aliases point at either protocol, with the alias' model and max_tokens" {
    cat > "$BATS_TEST_TMPDIR/relay.yaml" <<YAML
upstreams:
  oa: { url: "$MOCK_URL", protocol: openai }
  an: { url: "$MOCK_URL", protocol: anthropic, max_tokens: 1000 }
models:
  claude-sonnet: { upstream: oa, model: open-model-7b }
  gpt-4o: { upstream: an, model: claude-target, max_tokens: 2222 }
  fast: { upstream: oa, model: small-model }
routes:
  - { upstream: oa }
YAML
    start_relay -c "$BATS_TEST_TMPDIR/relay.yaml"
    MODEL=claude-sonnet run anthropic message
    assert_success
    curl -sS "$MOCK_URL/__mock/last" | jq -e '.target == "/v1/chat/completions" and (.body | fromjson | .model) == "open-model-7b"'
    MODEL=gpt-4o run openai chat
    assert_success
    assert_line --index 0 '{"content":"w0 w1 w2 w3 w4 "}'
    curl -sS "$MOCK_URL/__mock/last" | jq -e '.target == "/v1/messages" and (.body | fromjson | .model == "claude-target" and .max_tokens == 2222)'
    MODEL=fast run openai chat      # same protocol: only the model changes
    assert_success
    curl -sS "$MOCK_URL/__mock/last" | jq -e '(.body | fromjson | .model) == "small-model"'
    stop_relay
    run cap -r 'select(.event=="request" and .model=="fast") | [.route, .upstream_changes[0], (.upstream_body|fromjson|.model)] | @tsv'
    assert_output "$(printf 'models.fast\tmodel\tsmall-model')"
    validate_capture
}

@test "a large body to an upstream of the other protocol is read whole and translated, not streamed raw" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    { printf '{"model":"m","messages":[{"role":"user","content":"'; head -c 5000000 /dev/zero | tr '\0' a; printf '"}]}'; } > "$BATS_TEST_TMPDIR/big.json"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" --data-binary @"$BATS_TEST_TMPDIR/big.json"
    assert_output 200
    curl -sS "$MOCK_URL/__mock/last" | jq -e '.target == "/v1/messages" and (.body | fromjson | .max_tokens == 4096 and (.messages[0].content | length) == 5000000)'
}
