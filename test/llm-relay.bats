#!/usr/bin/env bats
# llm-relay: transparent forwarding, streaming, capture, errors, shutdown.
load helper

setup() { start_mock; }
teardown() { common_teardown; }

CHAT='{"model":"mock-model","messages":[{"role":"user","content":"Hi"}]}'
SCHAT='{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
SMSG='{"model":"claude-x","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'

# fetch URL PATH BODY OUT [curl args...]: body to OUT, status+headers to OUT.h
fetch() {
    local url=$1 path=$2 body=$3 out=$4; shift 4
    curl -sS -D "$out.h" -o "$out" -H 'Content-Type: application/json' "$@" --data-binary "$body" "$url$path"
}

# compare_direct PATH BODY [curl args...]: the relay's body equals the mock's,
# and the capture rebuilds it from its chunks.
compare_direct() {
    local path=$1 body=$2; shift 2
    fetch "$MOCK_URL" "$path" "$body" "$BATS_TEST_TMPDIR/direct" "$@" || true
    fetch "$RELAY_URL" "$path" "$body" "$BATS_TEST_TMPDIR/relayed" "$@" || true
    cmp "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/relayed"
    [ "$(head -1 "$BATS_TEST_TMPDIR/direct.h")" = "$(head -1 "$BATS_TEST_TMPDIR/relayed.h")" ]
    stop_relay
    node "$TOOLS/rebuild.js" --client "$CAP" > "$BATS_TEST_TMPDIR/rebuilt"
    cmp "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/rebuilt"
    validate_capture
}

@test "non-streaming chat: byte-identical body, capture with usage" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT"
    run cap -r 'select(.event=="end") | [.outcome, .status, .usage.input_tokens, .usage.output_tokens, .usage.cached_tokens, .finish_reason] | @tsv'
    assert_output "$(printf 'ok\t200\t11\t5\t3\tstop')"
    run cap -r 'select(.event=="request") | [.model, .stream, .protocol, .route, .body_json] | @tsv'
    assert_output "$(printf 'mock-model\tfalse\topenai\tdefault\ttrue')"
    # the mock sends no Date: the relay adds one (RFC 9110 §6.6.1), an IMF-fixdate
    ! grep -qi '^date:' "$BATS_TEST_TMPDIR/direct.h" || false
    [ "$(grep -ci '^date:' "$BATS_TEST_TMPDIR/relayed.h")" -eq 1 ]
    grep -Eq '^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT.?$' "$BATS_TEST_TMPDIR/relayed.h"
}

@test "streaming chat: events pass through as they come, usage asked for and withheld" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$SCHAT"
    # the client got no usage chunk, the upstream was asked for one
    ! grep -q '"usage"' "$BATS_TEST_TMPDIR/relayed" || false
    run cap -r 'select(.event=="chunk" and .withheld) | .data'
    assert_output --partial '"choices":[]'
    run cap -r 'select(.event=="end") | [.usage.input_tokens, .usage.output_tokens, .chunks, (.timing.ttft_us > 0)] | @tsv'
    assert_output "$(printf '11\t5\t9\ttrue')"
    run cap -r 'select(.event=="request") | .upstream_changes[0]'
    assert_output 'stream_options.include_usage'
    curl -sS "$MOCK_URL/__mock/last" | jq -r .body | jq -e '.stream_options.include_usage == true'
}

@test "--capture none: the request goes upstream as the client sent it (no stream_options added)" {
    start_relay --upstream "$MOCK_URL" --capture none
    curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'Content-Type: application/json' -d "$SCHAT" > "$BATS_TEST_TMPDIR/relayed"
    grep -q 'data: \[DONE\]' "$BATS_TEST_TMPDIR/relayed"
    [ "$(curl -sS "$MOCK_URL/__mock/last" | jq -r .body)" = "$SCHAT" ]
    [ ! -e "$CAP" ]
}

@test "an upstream that refuses the added stream_options: asked again without it, the client never sees the refusal" {
    start_relay --upstream "$MOCK_URL"
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    fetch "$MOCK_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/direct"
    fetch "$RELAY_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/relayed" -H 'X-Mock-Scenario: strict'
    cmp "$BATS_TEST_TMPDIR/direct" "$BATS_TEST_TMPDIR/relayed"
    head -1 "$BATS_TEST_TMPDIR/relayed.h" | grep -q '^HTTP/1.1 200'
    # the direct one, the refused one, the one without: 3 upstream requests
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 3'
    curl -sS "$MOCK_URL/__mock/last" | jq -r .body | jq -e 'has("stream_options") | not'
    grep -q 'answered 422 to the stream_options the relay added' "$BATS_TEST_TMPDIR/relay.log"
    # this upstream is asked no more; a client's own stream_options still gets the upstream's answer
    fetch "$RELAY_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/relayed2" -H 'X-Mock-Scenario: strict'
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 4'
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: strict' \
        -d '{"model":"m","stream":true,"stream_options":{"include_usage":true}}'
    assert_line --index 1 422
    echo "${lines[0]}" | jq -e '.detail[0].type == "extra_forbidden"'
    stop_relay
    cp "$CAP" "$BATS_TEST_TMPDIR/cap1.jsonl"
    # a 400 that is about something else reaches the client as it came (a new relay: asked again)
    start_relay --upstream "$MOCK_URL"
    fetch "$MOCK_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/direct400" -H 'X-Mock-Scenario: no-such-one'
    fetch "$RELAY_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/relayed400" -H 'X-Mock-Scenario: no-such-one'
    head -1 "$BATS_TEST_TMPDIR/relayed400.h" | grep -q '^HTTP/1.1 400'
    cmp "$BATS_TEST_TMPDIR/direct400" "$BATS_TEST_TMPDIR/relayed400"
    curl -sS "$MOCK_URL/__mock/last" | jq -r .body | jq -e '.stream_options.include_usage'
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .status, .attempts] | @tsv'
    assert_output "$(printf 'upstream_error\t400\t1')"
    validate_capture
    CAP="$BATS_TEST_TMPDIR/cap1.jsonl"
    run cap -r 'select(.event=="end") | [.outcome, .status, .attempts, .retry_reason // "-"] | @tsv'
    assert_output "$(printf 'ok\t200\t2\tthe upstream refused the stream_options the relay added\nok\t200\t1\t-\nupstream_error\t422\t1\t-')"
    run cap -r 'select(.event=="response") | .status'
    assert_output "$(printf '200\n200\n422')"
    run cap -r 'select(.event=="request") | .upstream_changes | length'
    assert_output "$(printf '1\n0\n0')"
    id=$(cap -r 'select(.event=="end" and .attempts == 2) | .id')
    node "$TOOLS/rebuild.js" --client "$CAP" "$id" | cmp - "$BATS_TEST_TMPDIR/direct"
    validate_capture
}

@test "streaming chat with client-requested usage: nothing withheld, nothing changed" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions '{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[]}'
    grep -q '"usage"' "$BATS_TEST_TMPDIR/relayed"
    run cap -c 'select(.event=="chunk" and .withheld)'
    assert_output ''
    run cap -c 'select(.event=="request") | .upstream_changes'
    assert_output '[]'
}

@test "anthropic stream: message events, ping, usage from message_start and message_delta" {
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    compare_direct /v1/messages "$SMSG" -H 'anthropic-version: 2023-06-01'
    run cap -r 'select(.event=="end") | [.outcome, .usage.input_tokens, .usage.output_tokens, .usage.cached_tokens, .finish_reason] | @tsv'
    assert_output "$(printf 'ok\t11\t5\t2\tend_turn')"
    run cap -r 'select(.event=="chunk") | .event_name' 
    assert_line 'ping'
    assert_line 'message_stop'
}

@test "SSE edge cases pass byte for byte: CRLF, comments, multi-line data, split UTF-8" {
    # the client asks for usage itself: nothing is withheld, so every byte compares
    for s in crlf comments multiline ping split-utf8; do
        start_relay --upstream "$MOCK_URL"
        compare_direct /v1/chat/completions '{"model":"m","stream":true,"stream_options":{"include_usage":true}}' -H "X-Mock-Scenario: $s"
    done
    # the split character arrived whole in one capture event
    run cap -r 'select(.event=="chunk") | .data'
    assert_output --partial '😀'
}

@test "a single 1 MiB SSE event is relayed and captured whole" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$SCHAT" -H 'X-Mock-Scenario: big-event'
    run cap -r 'select(.event=="chunk") | .data | length | select(. > 1000000)'
    [ "${#lines[@]}" -eq 1 ]
}

@test "mid-stream error event: relayed, end says upstream_error" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/messages "$SMSG" -H 'X-Mock-Scenario: error-midstream'
    run cap -r 'select(.event=="end") | .outcome'
    assert_output upstream_error
}

@test "429 with Retry-After and 500 pass through unchanged" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: 429'
    grep -qi '^retry-after: 7' "$BATS_TEST_TMPDIR/relayed.h"
    grep -q ' 429' "$BATS_TEST_TMPDIR/relayed.h"
    run cap -r 'select(.event=="end") | [.outcome, .status] | @tsv'
    assert_output "$(printf 'upstream_error\t429')"
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: 500'
}

@test "gzip-, br- and zstd-encoded responses: the compressed bytes pass unchanged, usage still read" {
    local own='{"model":"mock-model","stream":true,"stream_options":{"include_usage":true},"messages":[]}'
    for enc in gzip br zstd; do
        for body in "$CHAT" "$own"; do
            start_relay --upstream "$MOCK_URL"
            compare_direct /v1/chat/completions "$body" -H "X-Mock-Scenario: $enc" -H "Accept-Encoding: $enc"
            grep -qi "^content-encoding: $enc" "$BATS_TEST_TMPDIR/relayed.h"
            run cap -r 'select(.event=="end") | [.outcome, .usage.input_tokens, .usage.output_tokens] | @tsv'
            assert_output "$(printf 'ok\t11\t5')"
        done
        # a stream whose usage chunk the relay adds and takes out: asked for
        # uncompressed (a compressed one could not be cut), the client's
        # Accept-Encoding replaced, its stream without usage
        start_relay --upstream "$MOCK_URL"
        fetch "$RELAY_URL" /v1/chat/completions "$SCHAT" "$BATS_TEST_TMPDIR/relayed" -H "X-Mock-Scenario: $enc" -H "Accept-Encoding: $enc"
        ! grep -qi '^content-encoding' "$BATS_TEST_TMPDIR/relayed.h" || false
        grep -q 'data: \[DONE\]' "$BATS_TEST_TMPDIR/relayed"
        ! grep -q '"usage"' "$BATS_TEST_TMPDIR/relayed" || false
        curl -sS "$MOCK_URL/__mock/last" | jq -e '[.headers[] | select(.[0] | ascii_downcase == "accept-encoding") | .[1]] == ["identity"]'
        stop_relay
        run cap -r 'select(.event=="end") | [.outcome, .usage.input_tokens, .usage.output_tokens] | @tsv'
        assert_output "$(printf 'ok\t11\t5')"
    done
}

@test "a compressed stream that decodes to far more than it weighs (a bomb) is relayed whole, its usage left unknown" {
    python3 "$TOOLS/bomb-server.py" "$BATS_TEST_TMPDIR/bomb.port" &
    BG_PIDS="${BG_PIDS:-} $!"
    wait_for "$BATS_TEST_TMPDIR/bomb.port" "[0-9]" || false
    local up="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/bomb.port")"
    start_relay --upstream "$up"
    local own='{"model":"m","stream":true,"stream_options":{"include_usage":true}}'
    # an ordinary ratio: decoded, usage read
    curl -sS "$RELAY_URL/v1/small" -H 'Accept-Encoding: gzip' -d "$own" -o "$BATS_TEST_TMPDIR/small"
    # 100 MB from about 100 KB: passed as it came, not decoded past 64 MiB
    curl -sS "$RELAY_URL/v1/bomb" -H 'Accept-Encoding: gzip' -d "$own" -o "$BATS_TEST_TMPDIR/bomb"
    curl -sS "$up/v1/bomb" -H 'Accept-Encoding: gzip' -d "$own" -o "$BATS_TEST_TMPDIR/direct"
    cmp "$BATS_TEST_TMPDIR/bomb" "$BATS_TEST_TMPDIR/direct"
    [ "$(gzip -dc "$BATS_TEST_TMPDIR/bomb" | tail -c 200 | grep -c prompt_tokens)" -eq 1 ]
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .usage.input_tokens // "-"] | @tsv'
    assert_output "$(printf 'ok\t7\nok\t-')"
}

@test "slow first byte, body without length, tricky headers" {
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: slow' -H 'X-Mock-Delay-Ms: 300'
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: nolength'
    start_relay --upstream "$MOCK_URL"
    compare_direct /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: headers'
    [ "$(grep -ci '^set-cookie:' "$BATS_TEST_TMPDIR/relayed.h")" -eq 2 ]
    grep -qi '^x-upstream-request-id: upstream-req-1' "$BATS_TEST_TMPDIR/relayed.h"
    # obs-fold joined with a space, the whitespace before a colon removed (RFC 9112 §5.1, §5.2)
    grep -q $'^X-Folded: first second\r$' "$BATS_TEST_TMPDIR/relayed.h"
    grep -q $'^X-Spaced: yes\r$' "$BATS_TEST_TMPDIR/relayed.h"
    # secrets are masked in the capture
    run cap -r 'select(.event=="response") | .headers[] | select(.[0]|ascii_downcase=="set-cookie") | .[1]'
    assert_line --regexp '^\[masked sha256:[0-9a-f]{12}\]$'
}

@test "connection reset mid-stream: the client sees the break, end says upstream_error" {
    start_relay --upstream "$MOCK_URL"
    run curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: reset' -d "$SCHAT"
    [ "$status" -ne 0 ]
    stop_relay
    run cap -r 'select(.event=="end") | .outcome'
    assert_output upstream_error
    validate_capture
}

@test "request reaches the upstream unchanged: method, target, headers, body bytes" {
    start_relay --upstream "$MOCK_URL"
    printf '{"model":"m",\n "x":"\377\376 not utf-8"}' > "$BATS_TEST_TMPDIR/body"
    curl -sS -X PUT "$RELAY_URL/v1/files/abc?purpose=a%20b&x=1" -H 'X-Mock-Scenario: echo' \
        -H 'X-Custom: one' -H 'X-Custom: two' -H 'Content-Type: application/json' \
        -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: secret-hop' -H 'Keep-Alive: timeout=5' \
        -H 'TE: trailers' -H 'Upgrade: h2c' -H 'Proxy-Authorization: Basic eDp5' -H 'Proxy-Connection: keep-alive' \
        -H 'Trailer: X-T' -H 'Teapot: kept' -H 'Upgraded: kept' \
        --data-binary @"$BATS_TEST_TMPDIR/body" -o "$BATS_TEST_TMPDIR/echo"
    run jq -r .method "$BATS_TEST_TMPDIR/echo"; assert_output PUT
    run jq -r .target "$BATS_TEST_TMPDIR/echo"; assert_output '/v1/files/abc?purpose=a%20b&x=1'
    run jq -r '[.headers[] | select(.[0]=="X-Custom") | .[1]] | join(",")' "$BATS_TEST_TMPDIR/echo"; assert_output 'one,two'
    run jq -r '[.headers[] | .[0] | ascii_downcase] | join(",")' "$BATS_TEST_TMPDIR/echo"
    refute_output --partial 'x-hop'
    refute_output --partial 'connection'
    for h in keep-alive te upgrade proxy-authorization trailer; do ! echo ",$output," | grep -q ",$h," || false; done
    assert_output --partial 'teapot'
    assert_output --partial 'upgraded'
    jq -r .body_base64 "$BATS_TEST_TMPDIR/echo" | base64 -d | cmp - "$BATS_TEST_TMPDIR/body"
    stop_relay
    node "$TOOLS/rebuild.js" --request "$CAP" | cmp - "$BATS_TEST_TMPDIR/body"
    run cap -r 'select(.event=="request") | [.body_encoding, .body_json, .uri] | @tsv'
    assert_output "$(printf 'base64\tfalse\t/v1/files/abc?purpose=a%%20b&x=1')"
    validate_capture
}

@test "malformed JSON is forwarded and captured as a string" {
    start_relay --upstream "$MOCK_URL"
    curl -sS "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: echo' -d '{"model": "m", oops' -o "$BATS_TEST_TMPDIR/echo"
    run jq -r .body "$BATS_TEST_TMPDIR/echo"; assert_output '{"model": "m", oops'
    stop_relay
    run cap -r 'select(.event=="request") | [.body, .body_json] | @tsv'
    assert_output "$(printf '{"model": "m", oops\tfalse')"
}

@test "provider key injected, the client's key never reaches the upstream, capture masks it" {
    export PLLM_TEST_KEY=sk-provider-secret
    start_relay --upstream "$MOCK_URL" --api-key-env PLLM_TEST_KEY
    curl -sS "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: echo' -H 'Authorization: Bearer sk-client' -d "$CHAT" -o "$BATS_TEST_TMPDIR/echo"
    run jq -r '.headers[] | select(.[0]|ascii_downcase=="authorization") | .[1]' "$BATS_TEST_TMPDIR/echo"
    assert_output 'Bearer sk-provider-secret'
    stop_relay
    # the client's key is nowhere in the capture; its Authorization is masked.
    # (The provider's key is in the echo body: the mock answers with the
    # headers it received. Bodies are recorded as they came.)
    ! grep -q 'sk-client' "$CAP" || false
    run cap -r 'select(.headers) | .event as $e | .headers[] | select(.[0]|ascii_downcase=="authorization") | [$e, .[1]] | @tsv'
    assert_output --regexp '^request	\[masked sha256:[0-9a-f]{12}\]$'
    ! cap -r 'select(.headers) | .headers[][1]' | grep -q 'sk-provider' || false
    start_relay --upstream "$MOCK_URL" --protocol anthropic --api-key-env PLLM_TEST_KEY
    curl -sS "$RELAY_URL/v1/messages" -H 'X-Mock-Scenario: echo' -H 'x-api-key: sk-client' -d '{}' -o "$BATS_TEST_TMPDIR/echo"
    run jq -r '[.headers[] | select(.[0]|ascii_downcase=="x-api-key") | .[1]] | join(",")' "$BATS_TEST_TMPDIR/echo"
    assert_output 'sk-provider-secret'
}

@test "client key passes through only with --pass-client-key" {
    start_relay --upstream "$MOCK_URL"
    curl -sS "$RELAY_URL/v1/models" -H 'X-Mock-Scenario: echo' -H 'Authorization: Bearer sk-client' -o "$BATS_TEST_TMPDIR/echo"
    run jq -r '[.headers[] | select(.[0]|ascii_downcase=="authorization")] | length' "$BATS_TEST_TMPDIR/echo"
    assert_output 0
    stop_relay
    start_relay --upstream "$MOCK_URL" --pass-client-key
    curl -sS "$RELAY_URL/v1/models" -H 'X-Mock-Scenario: echo' -H 'Authorization: Bearer sk-client' -o "$BATS_TEST_TMPDIR/echo"
    run jq -r '.headers[] | select(.[0]|ascii_downcase=="authorization") | .[1]' "$BATS_TEST_TMPDIR/echo"
    assert_output 'Bearer sk-client'
}

@test "X-Request-Id is the exchange id; a client's X-Request-Id is recorded" {
    start_relay --upstream "$MOCK_URL"
    curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null "$RELAY_URL/v1/chat/completions" -H 'X-Request-Id: client-42' -d "$CHAT"
    rid=$(sed -n 's/^X-Request-Id: \([^\r]*\).*/\1/ip' "$BATS_TEST_TMPDIR/h")
    [[ "$rid" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]]
    stop_relay
    run cap -r 'select(.event=="request") | [.id, .client_request_id] | @tsv'
    assert_output "$(printf '%s\tclient-42' "$rid")"
}

@test "routes: path prefixes and model globs pick the upstream; unknown model gets a native 404" {
    cat > "$BATS_TEST_TMPDIR/relay.yaml" <<YAML
upstreams:
  a: { url: "$MOCK_URL", protocol: openai }
  b: { url: "$MOCK_URL/v1", protocol: anthropic }
routes:
  - { prefix: /openai, upstream: a }
  - { prefix: /anthropic, upstream: b }
  - { model: "gpt-*", upstream: a, name: gpt }
  - { model: "claude-*", upstream: b, name: claude }
YAML
    start_relay -c "$BATS_TEST_TMPDIR/relay.yaml"
    curl -sS "$RELAY_URL/openai/v1/chat/completions?k=v" -H 'X-Mock-Scenario: echo' -d '{"model":"zzz"}' | jq -e '.target == "/v1/chat/completions?k=v"'
    curl -sS "$RELAY_URL/anthropic/v1/messages" -H 'X-Mock-Scenario: echo' -d '{"model":"zzz"}' | jq -e '.target == "/v1/messages"'
    curl -sS "$RELAY_URL/v1/chat/completions" -d '{"model":"gpt-4o"}' | jq -e '.object == "chat.completion"'
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"llama-3"}'
    assert_line --index 1 404
    echo "${lines[0]}" | jq -e '.error.type == "invalid_request_error" and (.error.message | contains("llama-3"))'
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/messages" -d '{"model":"llama-3"}'
    assert_line --index 1 404
    echo "${lines[0]}" | jq -e '.type == "error" and .error.type == "not_found_error"'
    stop_relay
    run cap -r 'select(.event=="request") | .route'
    assert_output "$(printf 'route0\nroute1\ngpt\nnull\nnull')"
    run cap -r 'select(.event=="end") | .outcome'
    assert_output "$(printf 'ok\nok\nok\nrelay_error\nrelay_error')"
    validate_capture
}

@test "upstream unreachable → native 502; upstream too slow → native 504" {
    start_relay --upstream "http://127.0.0.1:1"
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    assert_line --index 1 502
    echo "${lines[0]}" | jq -e '.error.message | startswith("upstream unreachable")'
    stop_relay
    run cap -r 'select(.event=="end") | .outcome'
    assert_output relay_error
    validate_capture
    start_relay --upstream "$MOCK_URL" --timeout 300ms
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/messages" -H 'X-Mock-Scenario: hang' -d '{}'
    assert_line --index 1 504
    echo "${lines[0]}" | jq -e '.type == "error"'
    stop_relay
    run cap -r 'select(.event=="end") | .outcome'
    assert_output timeout
}

@test "an upstream that does not speak HTTP, or whose head cannot fit the client's connection, gets a native 502 that says so" {
    start_relay --upstream "$MOCK_URL"
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: garbage' -d "$CHAT"
    assert_line --index 1 502
    echo "${lines[0]}" | jq -e '.error.message | startswith("upstream sent an invalid response")'
    # connection_memory 12KiB: 8,000 bytes of upstream header lines pass whole ...
    run curl -sS -D - -o /dev/null "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: big-head' \
        -H 'X-Mock-Head-Bytes: 8000' -d "$CHAT"
    assert_line --partial 'HTTP/1.1 200'
    [ "$(echo "$output" | grep -c '^X-Pad-')" -eq 8 ]
    # ... 12,000 cannot fit: a 502 naming the limit, not a dropped connection
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: big-head' \
        -H 'X-Mock-Head-Bytes: 12000' -d "$CHAT"
    assert_line --index 1 502
    echo "${lines[0]}" | jq -e '.error.message | contains("limits.connection_memory")'
    # and the connection serves the next request
    run curl -sS -o /dev/null -w '%{http_code} %{num_connects}\n' "$RELAY_URL/v1/chat/completions" \
        -H 'X-Mock-Scenario: big-head' -H 'X-Mock-Head-Bytes: 12000' -d "$CHAT" \
        --next -o /dev/null -w '%{http_code} %{num_connects}\n' "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    assert_output "$(printf '502 1\n200 0')"
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .status] | @tsv'
    assert_output "$(printf 'relay_error\t502\nok\t200\nrelay_error\t502\nrelay_error\t502\nok\t200')"
    validate_capture
    # more connection memory, more room
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { connection_memory: 32KiB }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/c.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/c.yaml"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: big-head' \
        -H 'X-Mock-Head-Bytes: 12000' -d "$CHAT"
    assert_output 200
}

# heads REQUEST... — sends each request on one connection after the answer
# to the one before; prints every answer's bytes as they came, a line
# "--" after each (the bytes that come within 300 ms of a head count).
heads() {
    python3 - "$RELAY_PORT" "$@" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(0.3)
for req in sys.argv[2:]:
    s.sendall(req.encode().decode("unicode_escape").encode("latin1"))
    got = b""
    while True:
        try:
            d = s.recv(65536)
        except socket.timeout:
            break
        if not d:
            break
        got += d
    sys.stdout.write(got.decode("latin1").replace("\r", "") + "--\n")
PY
}

@test "HEAD and 304 answers are a head alone with the upstream's Content-Length; the connection goes on (closes when there is none)" {
    start_relay --upstream "$MOCK_URL"
    run heads 'HEAD /v1/models HTTP/1.1\r\nHost: x\r\n\r\n' \
              'GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Mock-Scenario: 304\r\n\r\n' \
              'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n'
    answer() { echo "$output" | awk -v k="$1" '/^--$/ { n++; next } n == k'; }
    after_head() { answer "$1" | awk 'body { print } /^$/ { body = 1 }'; }
    [ "$(echo "$output" | grep -c '^HTTP/1.1 ')" -eq 3 ]
    # each head ends its answer: nothing follows the blank line
    [ -z "$(after_head 0)" ]
    [ -z "$(after_head 1)" ]
    [ "$(answer 0 | grep -ci '^content-length:')" -eq 1 ]
    answer 0 | grep -qx 'Content-Length: 102'
    answer 1 | grep -qx 'HTTP/1.1 304 Not Modified'
    [ "$(answer 1 | grep -ci '^content-length:')" -eq 1 ]
    answer 1 | grep -qx 'Content-Length: 102'
    answer 1 | grep -qx 'ETag: "mock"'
    ! echo "$output" | grep -qi '^transfer-encoding' || false
    after_head 2 | grep -q '"object":"list"'
    # a HEAD the upstream gives no size: no framing header (0 would be
    # false), the connection closed after the head
    run heads 'HEAD /v1/models HTTP/1.1\r\nHost: x\r\nX-Mock-Scenario: nolength\r\n\r\n' \
              'GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n'
    answer 0 | grep -qx 'HTTP/1.1 200 OK'
    answer 0 | grep -qix 'connection: close'
    ! answer 0 | grep -qi '^content-length:\|^transfer-encoding:' || false
    [ -z "$(after_head 0)" ]
    [ -z "$(answer 1)" ]
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .status] | @tsv'
    assert_output "$(printf 'ok\t200\nok\t304\nok\t200\nok\t200')"
    validate_capture
}

@test "a body over the limit gets a native 413 and is captured as refused" {
    start_relay --upstream "$MOCK_URL" --max-body 1k
    head -c 5000 /dev/zero | tr '\0' a > "$BATS_TEST_TMPDIR/big"
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" --data-binary @"$BATS_TEST_TMPDIR/big"
    assert_line --index 1 413
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .status] | @tsv'
    assert_output "$(printf 'relay_error\t413')"
    run curl -sS "$MOCK_URL/__mock/stats"
    echo "$output" | jq -e '.requests == 0'
}

@test "client hang-up mid-stream cancels the upstream at once and is captured" {
    start_relay --upstream "$MOCK_URL"
    curl -sS -N --max-time 0.6 "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: drip' -d "$SCHAT" > /dev/null || true
    sleep 0.4
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.streams_aborted == 1'
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, (.chunks > 0)] | @tsv'
    assert_output "$(printf 'client_closed\ttrue')"
    validate_capture
}

@test "SIGTERM drains: in-flight streams finish, the relay exits 0" {
    start_relay --upstream "$MOCK_URL"
    curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: drip' -H 'X-Mock-Chunks: 10' -d "$SCHAT" > "$BATS_TEST_TMPDIR/out" &
    cpid=$!
    sleep 0.3
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID"; rc=$?; RELAY_PID=
    [ "$rc" -eq 0 ]
    wait "$cpid"
    grep -q 'data: \[DONE\]' "$BATS_TEST_TMPDIR/out"
    run cap -r 'select(.event=="end") | .outcome'
    assert_output ok
}

@test "SIGTERM past the drain timeout: aborted end events, exit 0" {
    start_relay --upstream "$MOCK_URL" --drain-timeout 200ms
    curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: drip' -d "$SCHAT" > /dev/null &
    sleep 0.3
    kill -TERM "$RELAY_PID"
    wait "$RELAY_PID"; rc=$?; RELAY_PID=
    [ "$rc" -eq 0 ]
    run cap -r 'select(.event=="end") | .outcome'
    assert_output aborted
    validate_capture
}

@test "capture queue full, policy drop: clients served, drops counted and logged" {
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    exec 7<>"$BATS_TEST_TMPDIR/fifo"      # hold the pipe open, read nothing
    "$RELAY" --listen 127.0.0.1:0 --upstream "$MOCK_URL" --on-full drop --queue 64k \
        > "$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/relay.log" &
    RELAY_PID=$!
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'listening on'
    RELAY_URL="http://127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/relay.log" | head -1)"
    for i in 1 2 3; do
        timeout 10 curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: big-event' -d "$SCHAT" -o /dev/null
    done
    curl -sS "$RELAY_URL/metrics" | grep -E '^llm_relay_capture_dropped_total [1-9]'
    grep -q 'events dropped' "$BATS_TEST_TMPDIR/relay.log"
    exec 7<&-
}

@test "capture queue full, policy block: the relay waits for the sink and loses nothing" {
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    exec 7<>"$BATS_TEST_TMPDIR/fifo"
    "$RELAY" --listen 127.0.0.1:0 --upstream "$MOCK_URL" --on-full block --queue 64k \
        > "$BATS_TEST_TMPDIR/fifo" 2>"$BATS_TEST_TMPDIR/relay.log" &
    RELAY_PID=$!
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'listening on'
    RELAY_URL="http://127.0.0.1:$(sed -n 's/.*127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/relay.log" | head -1)"
    # with nobody reading, the big stream cannot finish
    run timeout 2 curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: big-event' -d "$SCHAT" -o /dev/null
    [ "$status" -ne 0 ]
    # start reading: everything arrives, nothing dropped
    CAP="$BATS_TEST_TMPDIR/capture.jsonl"
    cat <&7 > "$CAP" &
    reader=$!
    curl -sS -N "$RELAY_URL/v1/chat/completions" -d "$SCHAT" -o /dev/null
    curl -sS "$RELAY_URL/metrics" | grep -E '^llm_relay_capture_dropped_total 0$'
    stop_relay
    sleep 0.3; kill "$reader" 2>/dev/null || true; exec 7<&-
    [ "$(jq -r 'select(.event=="end") | .outcome' "$CAP" | sort | tr '\n' ' ')" = "client_closed ok " ]
    validate_capture
}

@test "/health and /metrics answer; metrics count requests by route and status" {
    start_relay --upstream "$MOCK_URL"
    curl -sS "$RELAY_URL/health" | jq -e '.status == "ok"'
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: 429' -d "$CHAT"
    run curl -sS "$RELAY_URL/metrics"
    assert_line 'llm_relay_requests_total{route="default",status="200"} 1'
    assert_line 'llm_relay_requests_total{route="default",status="429"} 1'
    assert_line 'llm_relay_active_requests 0'
    assert_line --regexp '^llm_relay_capture_queue_bytes [0-9]+$'
}

@test "config: checked with -n; a bad file exits 100 naming file, line and key" {
    cat > "$BATS_TEST_TMPDIR/ok.yaml" <<YAML
upstreams:
  x: { url: "http://127.0.0.1:9", api_key: "\${PLLM_UNSET_VAR:-}" }
YAML
    run "$RELAY" -n -c "$BATS_TEST_TMPDIR/ok.yaml"
    assert_success
    printf 'upstreams:\n  x:\n    url: http://h\n    timeuot: 5s\n' > "$BATS_TEST_TMPDIR/bad.yaml"
    run "$RELAY" -n -c "$BATS_TEST_TMPDIR/bad.yaml"
    [ "$status" -eq 100 ]
    assert_output --partial "bad.yaml:4: upstreams.x.timeuot: unknown key"
    printf 'routes:\n  - { upstream: nowhere }\n' > "$BATS_TEST_TMPDIR/bad2.yaml"
    run "$RELAY" -n -c "$BATS_TEST_TMPDIR/bad2.yaml"
    [ "$status" -eq 100 ]
    assert_output --partial 'bad2.yaml:2: routes[0].upstream: no upstream named "nowhere"'
    printf 'upstreams:\n  x: { url: "${PLLM_UNSET_VAR}" }\n' > "$BATS_TEST_TMPDIR/bad3.yaml"
    run "$RELAY" -n -c "$BATS_TEST_TMPDIR/bad3.yaml"
    [ "$status" -eq 100 ]
    assert_output --partial 'bad3.yaml:2'
    assert_output --partial 'PLLM_UNSET_VAR'
    run "$RELAY" --bogus-flag
    [ "$status" -eq 100 ]
}

@test "client hang-up with --client-close finish: the upstream runs to the end and is captured" {
    start_relay --upstream "$MOCK_URL" --client-close finish
    curl -sS -N --max-time 0.4 "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: drip' \
        -H 'X-Mock-Chunks: 8' -d "$SCHAT" > /dev/null || true
    # the stream lasts about 0.9 s; wait for the relay to finish it
    for i in $(seq 1 40); do
        curl -sS "$MOCK_URL/__mock/stats" | jq -e '.streams_completed == 1' >/dev/null && break
        sleep 0.1
    done
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.streams_completed == 1 and .streams_aborted == 0'
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .usage.output_tokens] | @tsv'
    assert_output "$(printf 'client_closed\t8')"
    run cap -r 'select(.event=="chunk") | .data' 
    assert_line --partial '[DONE]'
    validate_capture
}

@test "health and metrics keep the connection alive" {
    start_relay --upstream "$MOCK_URL"
    run curl -sS -v "$RELAY_URL/health" "$RELAY_URL/metrics" -o /dev/null -o /dev/null
    assert_output --partial 'Re-using existing connection'
}

@test "TLS upstream: verification on by default, a custom CA makes it pass" {
    command -v openssl >/dev/null || skip "openssl not installed"
    cd "$BATS_TEST_TMPDIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null
    python3 "$BATS_TEST_DIRNAME/tools/tls-server.py" cert.pem key.pem tls.port >/dev/null 2>tls.log &
    BG_PIDS=$!
    wait_for tls.port '[0-9]' || { cat tls.log; return 1; }
    port=$(cat tls.port)
    curl -sS --cacert cert.pem -o /dev/null "https://127.0.0.1:$port/v1/models"
    start_relay --upstream "https://127.0.0.1:$port"
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/models"
    assert_line --index 1 502
    stop_relay
    printf 'upstreams:\n  tls: { url: "https://127.0.0.1:%s", ca_file: "%s/cert.pem" }\n' "$port" "$BATS_TEST_TMPDIR" > tls.yaml
    start_relay -c tls.yaml
    run curl -sS -D "$BATS_TEST_TMPDIR/h" -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    [ "$output" = 200 ] || cat "$BATS_TEST_TMPDIR/relay.log"
    assert_output 200
    # this upstream sends its own Date: passed on, not doubled
    [ "$(grep -ci '^date:' "$BATS_TEST_TMPDIR/h")" -eq 1 ]
}

@test "a large body streams to the upstream (Content-Length and chunked), capture keeps a marked prefix" {
    start_relay --upstream "$MOCK_URL"
    head -c 6000000 /dev/urandom | base64 -w 0 > "$BATS_TEST_TMPDIR/big"
    size=$(stat -c %s "$BATS_TEST_TMPDIR/big")
    curl -sS "$RELAY_URL/v1/files" -H 'X-Mock-Scenario: echo' --data-binary @"$BATS_TEST_TMPDIR/big" -o "$BATS_TEST_TMPDIR/echo1"
    curl -sS "$RELAY_URL/v1/files" -H 'X-Mock-Scenario: echo' -H 'Transfer-Encoding: chunked' \
        --data-binary @"$BATS_TEST_TMPDIR/big" -o "$BATS_TEST_TMPDIR/echo2"
    for f in echo1 echo2; do
        jq -j .body "$BATS_TEST_TMPDIR/$f" | cmp - "$BATS_TEST_TMPDIR/big"
    done
    # the upstream got chunked encoding only when the client used it
    jq -e '[.headers[] | select(.[0]|ascii_downcase=="content-length") | .[1]] == ["'"$size"'"]' "$BATS_TEST_TMPDIR/echo1"
    jq -e '[.headers[] | select(.[0]|ascii_downcase=="transfer-encoding") | .[1]] == ["chunked"]' "$BATS_TEST_TMPDIR/echo2"
    stop_relay
    # the prefix is what was read when streaming began: at most limits.body_buffer (4 MiB)
    run cap -r 'select(.event=="request") | [.body_truncated, .body_size, (.body|length > 4000000 and length <= 4194304)] | @tsv'
    assert_line --index 0 "$(printf 'true\t%s\ttrue' "$size")"
    assert_line --index 1 "$(printf 'true\t\ttrue')"
    run cap -r 'select(.event=="end") | [.outcome, .bytes.request] | @tsv'
    assert_output "$(printf 'ok\t%s\nok\t%s' "$size" "$size")"
    validate_capture
}

@test "a large body on a route chosen by model is read whole, routed, captured whole" {
    cat > "$BATS_TEST_TMPDIR/relay.yaml" <<YAML
upstreams:
  a: { url: "$MOCK_URL" }
routes:
  - { model: "big-*", upstream: a }
YAML
    start_relay -c "$BATS_TEST_TMPDIR/relay.yaml"
    { printf '{"messages":[{"role":"user","content":"'; head -c 6000000 /dev/zero | tr '\0' a; printf '"}],"model":"big-1"}'; } > "$BATS_TEST_TMPDIR/big.json"
    curl -sS "$RELAY_URL/v1/embeddings" -H 'X-Mock-Scenario: echo' --data-binary @"$BATS_TEST_TMPDIR/big.json" -o "$BATS_TEST_TMPDIR/echo"
    jq -j .body "$BATS_TEST_TMPDIR/echo" | cmp - "$BATS_TEST_TMPDIR/big.json"
    stop_relay
    run cap -r 'select(.event=="request") | [.model, .body_truncated, .route] | @tsv'
    assert_output "$(printf 'big-1\tfalse\troute0')"
}

@test "feedback: POST /v1/feedback writes a feedback event for a known exchange; bad ones get a native 400" {
    start_relay --upstream "$MOCK_URL"
    curl -sS -D "$BATS_TEST_TMPDIR/h1" -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    curl -sS -D "$BATS_TEST_TMPDIR/h2" -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    a=$(sed -n 's/^X-Request-Id: \([^\r]*\).*/\1/ip' "$BATS_TEST_TMPDIR/h1")
    b=$(sed -n 's/^X-Request-Id: \([^\r]*\).*/\1/ip' "$BATS_TEST_TMPDIR/h2")
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/feedback" -d "{\"id\":\"$a\",\"rating\":5,\"label\":\"good\",\"comment\":\"ok\",\"preferred_over\":\"$b\"}"
    assert_line --index 1 200
    echo "${lines[0]}" | jq -e --arg a "$a" '.object == "feedback" and .id == $a'
    for bad in '{"id":"01a2174e-3dc5-7bc2-98e0-a9f115c42b30","rating":1}' '{"rating":1}' "{\"id\":\"$a\"}" \
               "{\"id\":\"$a\",\"rating\":\"high\"}" "{\"id\":\"$a\",\"bogus\":1}" 'not json' \
               "{\"id\":\"$a\",\"preferred_over\":\"$a\"}"; do
        run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/feedback" -d "$bad"
        assert_line --index 1 400
        echo "${lines[0]}" | jq -e '.error.type == "invalid_request_error" and (.error.message | length > 0)'
    done
    stop_relay
    run cap -c --arg a "$a" --arg b "$b" 'select(.event=="feedback") | [.id == $a, .rating, .label, .comment, .preferred_over == $b]'
    assert_output '[true,5,"good","ok",true]'
    validate_capture
}

@test "SIGHUP reloads the configuration; a bad one is refused and the old one kept; in-flight exchanges finish on theirs" {
    printf 'upstreams:\n  a: { url: "%s" }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"alias-1"}'
    assert_output 200
    # a stream in flight while the configuration changes under it
    curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'X-Mock-Scenario: drip' -H 'X-Mock-Chunks: 10' \
        -d '{"model":"m","stream":true}' > "$BATS_TEST_TMPDIR/stream" &
    spid=$!
    sleep 0.3
    printf 'upstreams:\n  a: { url: "%s" }\n  dead: { url: "http://127.0.0.1:1" }\nmodels:\n  alias-1: { upstream: a, model: real-model }\nroutes:\n  - { upstream: dead }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    kill -HUP "$RELAY_PID"
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'reloaded: 2 upstreams'
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"alias-1"}'
    assert_output 200
    curl -sS "$MOCK_URL/__mock/last" | jq -e '(.body | fromjson | .model) == "real-model"'
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"other"}'
    assert_output 502
    wait "$spid"
    grep -q 'data: \[DONE\]' "$BATS_TEST_TMPDIR/stream"
    # a broken file: refused with its line, the configuration in use stays
    printf 'upstreams:\n  a: { url: "%s", bogus: 1 }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    kill -HUP "$RELAY_PID"
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'reload failed'
    grep -q 'r.yaml:2: upstreams.a.bogus: unknown key' "$BATS_TEST_TMPDIR/relay.log"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"alias-1"}'
    assert_output 200
    stop_relay
    run cap -r 'select(.event=="end") | .outcome'
    assert_output "$(printf 'ok\nok\nrelay_error\nok\nok')"
    validate_capture
}

@test "the proxy environment variables are honoured for upstream requests" {
    # the mock plays an HTTP proxy: it gets the absolute-form target
    http_proxy="$MOCK_URL" start_relay --upstream "http://upstream.invalid:9999"
    curl -sS "$RELAY_URL/v1/models?x=1" -H 'X-Mock-Scenario: echo' -o "$BATS_TEST_TMPDIR/echo"
    jq -e '.target == "http://upstream.invalid:9999/v1/models?x=1"' "$BATS_TEST_TMPDIR/echo"
    stop_relay
    # no_proxy exempts a host
    http_proxy="http://127.0.0.1:1" no_proxy="127.0.0.1" start_relay --upstream "$MOCK_URL"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    assert_output 200
}

@test "limits.upstream_idle: idle upstream connections are kept for reuse, and closed once nothing was in flight that long" {
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { upstream_idle: 1s }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/c.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/c.yaml"
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    run curl -sS "$MOCK_URL/__mock/stats"
    echo "$output" | jq -e '.connections == 1 and .requests == 2'     # reused
    sleep 1.6
    run curl -sS -w '\n%{http_code}' "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    assert_line --index 1 200
    run curl -sS "$MOCK_URL/__mock/stats"
    echo "$output" | jq -e '.connections == 2 and .requests == 3'     # closed while idle, a new one
    stop_relay
    start_relay --upstream "$MOCK_URL"                                   # default: 15 s
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    sleep 1.6
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d "$CHAT"
    run curl -sS "$MOCK_URL/__mock/stats"
    echo "$output" | jq -e '.connections == 1 and .requests == 2'
}
