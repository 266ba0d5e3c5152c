#!/usr/bin/env bats
# llm-replay: record through the relay against the mock, replay and compare
# (differences, thresholds, exit codes, X-Replay-Of, pacing), and serve
# captures as a recorded upstream (bytes, chunk timing, 404s, fallback,
# the official SDKs against the shipped sample set).
load helper

REPLAY="$PLLM_BUILD/llm-replay/prog"
FIX="$PLLM_ROOT/test/fixtures/replay"

setup() { start_mock; }
teardown() {
    stop_serve
    common_teardown
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$BATS_TEST_TMPDIR"/*.err 2>/dev/null; then
        cat "$BATS_TEST_TMPDIR"/*.err >&2
        return 1
    fi
}

EXTRA=()
CHAT='{"model":"mock-model","messages":[{"role":"user","content":"Hi"}]}'
SCHAT='{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
TOOLREQ='{"model":"mock-model","messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}'
STOOLREQ='{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Weather?"}],"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object"}}}]}'
MSG='{"model":"claude-x","max_tokens":50,"messages":[{"role":"user","content":"Hi"}],"tools":[{"name":"get_weather","input_schema":{"type":"object"}}]}'
SMSG='{"model":"claude-x","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'

post() {    # URL PATH BODY [curl args...]
    local url=$1 path=$2 body=$3; shift 3
    curl -sS -o /dev/null -H 'Content-Type: application/json' -H 'Authorization: Bearer sk-test-1' \
        "${EXTRA[@]}" "$@" --data-binary "$body" "$url$path"
}

# record: the six basic exchanges through a relay (relay.yaml: both
# protocols) into $REC
record() {
    MOCK_URL="$MOCK_URL" start_relay -c "$FIX/relay.yaml" "$@"
    post "$RELAY_URL" /v1/chat/completions "$CHAT"
    post "$RELAY_URL" /v1/chat/completions "$SCHAT"
    post "$RELAY_URL" /v1/chat/completions "$TOOLREQ"
    post "$RELAY_URL" /v1/chat/completions "$STOOLREQ"
    post "$RELAY_URL" /v1/messages "$MSG" -H 'anthropic-version: 2023-06-01'
    post "$RELAY_URL" /v1/messages "$SMSG" -H 'anthropic-version: 2023-06-01'
    stop_relay
    REC="$BATS_TEST_TMPDIR/recorded.jsonl"
    mv "$CAP" "$REC"
}

replay() { "$REPLAY" "$@" 2>"$BATS_TEST_TMPDIR/replay.err"; }

# start_serve [flags...] — llm-replay --serve on an ephemeral port: SERVE_URL
start_serve() {
    : > "$BATS_TEST_TMPDIR/serve.err"
    "$REPLAY" --serve --listen 127.0.0.1:0 "$@" 2>"$BATS_TEST_TMPDIR/serve.err" &
    SERVE_PID=$!
    wait_for "$BATS_TEST_TMPDIR/serve.err" 'listening on' || { cat "$BATS_TEST_TMPDIR/serve.err"; return 1; }
    SERVE_URL="http://127.0.0.1:$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/serve.err")"
}

stop_serve() {
    if [ -n "${SERVE_PID:-}" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
        SERVE_PID=
    fi
}

# gaps FILE: the milliseconds between consecutive chunks of the last
# exchange (client side), one per line
gaps() {
    jq -rs '[.[] | select(.event=="chunk" and (.withheld|not))] | group_by(.id) | last
            | [.[].t_us] | [range(1; length) as $i | (.[$i] - .[$i-1]) / 1000 | floor] | .[]' "$1"
}

# ---- replay and compare

@test "replay against the same mock: zero differences, exit 0" {
    record
    run replay --target "$MOCK_URL" "$REC"
    assert_success
    [ "${#lines[@]}" -eq 6 ]
    run jq -r '.result' <<<"$output"
    [ "$(sort -u <<<"$output")" = same ]
    run replay --target "$MOCK_URL" -o "$BATS_TEST_TMPDIR/diff.jsonl" "$REC"
    assert_success
    grep -q '6 exchanges: 6 same, 0 different, 0 failed, 0 skipped' "$BATS_TEST_TMPDIR/replay.err"
    # what was compared: text, tools, finish reasons, usage where both saw it
    run jq -r 'select(.uri=="/v1/chat/completions" and (.tools.calls|length)==2) | .tools.calls[1].arguments.city' "$BATS_TEST_TMPDIR/diff.jsonl"
    assert_output "$(printf 'Tokyo\nTokyo')"
    run jq -r 'select(.uri=="/v1/messages" and .stream==false) | [.finish_reason.replayed, .usage.replayed.output_tokens, .text.similarity == 1, .tools.calls[0].arguments.city] | @tsv' "$BATS_TEST_TMPDIR/diff.jsonl"
    assert_output "$(printf 'tool_use\t5\ttrue\tParis')"
    run jq -r '.latency.total_us.replayed > 0' "$BATS_TEST_TMPDIR/diff.jsonl"
    [ "$(sort -u <<<"$output")" = true ]
}

@test "a different text is reported with its similarity; exit 1, or 0 when --fail-on leaves text out" {
    record
    run replay --target "$MOCK_URL" --header 'X-Mock-Chunks: 3' "$REC"
    assert_failure 1
    run jq -r 'select(.uri=="/v1/chat/completions" and .tools.calls == null) | [.result, (.differences|join(",")), .text.recorded, .text.replayed, (.text.similarity < 1 and .text.similarity > 0.5)] | @tsv' <<<"$output"
    assert_line "$(printf 'different\ttext,usage\tw0 w1 w2 w3 w4 \tw0 w1 w2 \ttrue')"
    grep -q '^text  *3$' "$BATS_TEST_TMPDIR/replay.err"
    grep -q 'crossed the --fail-on thresholds' "$BATS_TEST_TMPDIR/replay.err"
    # thresholds: status and tools did not change, the similarity is above 0.5
    run replay --target "$MOCK_URL" --header 'X-Mock-Chunks: 3' --fail-on 'status,tools,text<0.5' "$REC"
    assert_success
    run jq -r '.crossed | length' <<<"$output"
    [ "$(sort -u <<<"$output")" = 0 ]
    run replay --target "$MOCK_URL" --header 'X-Mock-Chunks: 3' --fail-on 'text<0.99' "$REC"
    assert_failure 1
    run jq -r 'select(.crossed|length > 0) | .crossed[0]' <<<"$output"
    assert_line 'text<0.99'
}

@test "a changed tool argument is reported with both calls" {
    record
    # the recorded calls said Paris; edit the record so that the target's
    # answer (Paris) differs from it in one argument
    sed -i 's/Paris/Lyon/g; s/ris\\\\\\"}/on\\\\\\"}/g' "$REC"
    run replay --target "$MOCK_URL" --fail-on tools "$REC"
    assert_failure 1
    run jq -c 'select(.differences | index("tools")) | [.uri, .stream, .tools.recorded[0].arguments, .tools.replayed[0].arguments]' <<<"$output"
    assert_line '["/v1/chat/completions",false,{"city":"Lyon"},{"city":"Paris"}]'
    assert_line '["/v1/messages",false,{"city":"Lyon"},{"city":"Paris"}]'
    # the streamed one too: arguments were assembled from fragments
    assert_line --regexp '^\["/v1/chat/completions",true,\{"city":"[A-Za-z]+"\},\{"city":"Paris"\}\]$'
}

@test "a changed status is reported; --fail-on status fails, --fail-on tools does not" {
    record
    run replay --target "$MOCK_URL" --header 'X-Mock-Scenario: 500' --fail-on status "$REC"
    assert_failure 1
    run jq -r '[.status.recorded, .status.replayed, (.differences | index("status") != null)] | @tsv' <<<"$output"
    [ "$(sort -u <<<"$output")" = "$(printf '200\t500\ttrue')" ]
    grep -q '^status  *6$' "$BATS_TEST_TMPDIR/replay.err"
    run replay --target "$MOCK_URL" --header 'X-Mock-Scenario: 500' --fail-on tools --where '.request.stream | not' "$REC"
    assert_failure 1            # the tool calls are gone too
    run replay --target "$MOCK_URL" --header 'X-Mock-Scenario: 500' --fail-on finish,shape --where '.request.path == "/nothing"' "$REC"
    assert_success
    [ -z "$output" ]
}

@test "same traffic through a relay to another provider: X-Replay-Of links the new capture to the original" {
    record
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    run replay --target "$RELAY_URL" --where '.request.protocol == "openai"' --fail-on none "$REC"
    assert_success
    # the Anthropic upstream answers one call with a text before it
    run jq -r 'select(.tools.equal == false) | [(.tools.recorded|length), (.tools.replayed|length), .text.replayed] | @tsv' <<<"$output"
    assert_line "$(printf '2\t1\tLet me check.')"
    stop_relay
    validate_capture
    run jq -r 'select(.event=="request") | .replay_of' "$CAP"
    [ "${#lines[@]}" -eq 4 ]
    for id in "${lines[@]}"; do
        jq -se --arg id "$id" 'any(.[]; .id==$id and .event=="request" and .protocol=="openai")' "$REC" >/dev/null
    done
    # a replay is not replayed again
    run replay --target "$MOCK_URL" "$CAP"
    assert_success
    run jq -r '.result + " " + .reason' <<<"$output"
    [ "$(sort -u <<<"$output")" = 'skipped a replay (replay_of)' ]
}

@test "--timing original keeps the recorded spacing, --speed 2 halves it" {
    MOCK_URL="$MOCK_URL" start_relay -c "$FIX/relay.yaml"
    post "$RELAY_URL" /v1/chat/completions "$CHAT"
    sleep 0.3
    post "$RELAY_URL" /v1/chat/completions "$SCHAT"
    sleep 0.6
    post "$RELAY_URL" /v1/messages "$MSG" -H 'anthropic-version: 2023-06-01'
    stop_relay
    mv "$CAP" "$BATS_TEST_TMPDIR/rec.jsonl"
    starts() {      # ms between consecutive requests of a capture
        local prev= t
        for ts in $(jq -r 'select(.event=="request") | .ts' "$1"); do
            t=$(date -d "$ts" +%s%3N)
            [ -n "$prev" ] && echo $((t - prev))
            prev=$t
        done
    }
    within() { [ "$1" -ge $(($2 - 120)) ] && [ "$1" -le $(($2 + 120)) ]; }
    read -r -d '' a b < <(starts "$BATS_TEST_TMPDIR/rec.jsonl") || true
    start_relay --upstream "$MOCK_URL"
    run replay --target "$RELAY_URL" --timing original "$BATS_TEST_TMPDIR/rec.jsonl"
    assert_success
    stop_relay
    read -r -d '' c d < <(starts "$CAP") || true
    within "$c" "$a"
    within "$d" "$b"
    start_relay --upstream "$MOCK_URL"
    run replay --target "$RELAY_URL" --timing original --speed 2 "$BATS_TEST_TMPDIR/rec.jsonl"
    assert_success
    stop_relay
    read -r -d '' e f < <(starts "$CAP") || true
    within "$e" $((a / 2))
    within "$f" $((b / 2))
}

@test "--dry-run: what would be sent, secrets from the environment, --model in place, --limit" {
    record
    run env OPENAI_API_KEY=sk-new MY_TOKEN=t0k "$REPLAY" --dry-run --target http://example.invalid/v1 --model gpt-5 \
        --header 'X-Team: ${MY_TOKEN}' --limit 2 "$REC"
    assert_success
    [ "${#lines[@]}" -eq 2 ]
    run jq -r '.url' <<<"$output"
    assert_line 'http://example.invalid/v1/chat/completions'
    run env OPENAI_API_KEY=sk-new MY_TOKEN=t0k "$REPLAY" --dry-run --target http://h --model gpt-5 \
        --header 'X-Team: ${MY_TOKEN}' --limit 1 "$REC"
    # the body is the recorded one, byte for byte, with the model replaced
    run jq -r '.body' <<<"$output"
    assert_output "${CHAT/mock-model/gpt-5}"
    run env OPENAI_API_KEY=sk-new MY_TOKEN=t0k "$REPLAY" --dry-run --target http://h --header 'X-Team: ${MY_TOKEN}' --limit 1 "$REC"
    run jq -c '[.headers[] | select(.[0] | test("^(Authorization|X-Team|X-Replay-Of|Host|Content-Length)$"))] | map(.[0])' <<<"$output"
    assert_output '["X-Team","Authorization","X-Replay-Of"]'
    run jq -r '.headers[] | select(.[0]=="Authorization" or .[0]=="X-Team") | .[1]' <<<"$(env OPENAI_API_KEY=sk-new MY_TOKEN=t0k "$REPLAY" --dry-run --target http://h --header 'X-Team: ${MY_TOKEN}' --limit 1 "$REC")"
    assert_line --regexp '^\[masked sha256:[0-9a-f]{12}\]$'
    assert_line 't0k'
    # no key in the environment: the masked header is left out
    run jq -r '[.headers[][0]] | index("Authorization")' <<<"$(env -u OPENAI_API_KEY "$REPLAY" --dry-run --target http://h --limit 1 "$REC")"
    assert_output null
    run "$REPLAY" --dry-run --target http://h --header 'X-Team: ${NOT_SET_ANYWHERE}' "$REC"
    assert_failure 100
}

@test "--where over the merged exchange, streams only" {
    record
    run replay --target "$MOCK_URL" --where '.request.stream and .end.outcome == "ok"' "$REC"
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    run replay --target "$MOCK_URL" --where '.request |' "$REC"
    assert_failure 100
    grep -q 'fatal: --where' "$BATS_TEST_TMPDIR/replay.err"
}

@test "exit codes: usage 100, unreachable target 111 with error records, output closed early 0" {
    record
    run "$REPLAY" "$REC"
    assert_failure 100
    run "$REPLAY" --target "$MOCK_URL" --rate 2 --timing original "$REC"
    assert_failure 100
    run "$REPLAY" --target "$MOCK_URL" --fail-on 'text<2' "$REC"
    assert_failure 100
    run "$REPLAY" --target "$MOCK_URL" /nonexistent.jsonl
    assert_failure 111
    assert_output --partial 'llm-replay: fatal: unable to open'
    run replay --target http://127.0.0.1:1 "$REC"
    assert_failure 111
    run jq -r '.result' <<<"$output"
    [ "$(sort -u <<<"$output")" = error ]
    grep -q 'could not be replayed' "$BATS_TEST_TMPDIR/replay.err"
    # a reader that goes away: quiet, success
    run bash -c "'$REPLAY' --target '$MOCK_URL' --concurrency 1 '$REC' 2>'$BATS_TEST_TMPDIR/pipe.err' | head -1; echo \${PIPESTATUS[0]}"
    assert_line --index 1 0
    ! grep -q fatal "$BATS_TEST_TMPDIR/pipe.err" || false
}

@test "malformed lines are counted and skipped, or fatal under --strict; stdin is read" {
    record
    { echo 'not json'; head -c 40 "$REC"; echo; cat "$REC"; printf '{"v":1}'; } > "$BATS_TEST_TMPDIR/bad.jsonl"
    run replay --target "$MOCK_URL" "$BATS_TEST_TMPDIR/bad.jsonl"
    assert_success
    [ "${#lines[@]}" -eq 6 ]
    grep -q 'bad.jsonl:1: not a capture event: invalid JSON at column [0-9]*: ' "$BATS_TEST_TMPDIR/replay.err"
    grep -q 'bad.jsonl:2: not a capture event: invalid JSON at column [0-9]*: ' "$BATS_TEST_TMPDIR/replay.err"
    grep -q 'bad.jsonl:[0-9]*: not a capture event: no "event" and "id" strings' "$BATS_TEST_TMPDIR/replay.err"
    grep -q '3 lines were not capture events' "$BATS_TEST_TMPDIR/replay.err"
    run replay --target "$MOCK_URL" --strict "$BATS_TEST_TMPDIR/bad.jsonl"
    assert_failure 100
    run bash -c "'$REPLAY' --target '$MOCK_URL' < '$REC' 2>/dev/null | wc -l"
    assert_output 6
}

@test "-d DIR --date D: the day's exchanges from llm-tee's layout" {
    record
    day=$(jq -r 'select(.event=="request") | .ts[0:10]' "$REC" | head -1)
    mkdir -p "$BATS_TEST_TMPDIR/cap/${day:0:4}/${day:5:2}"
    cp "$REC" "$BATS_TEST_TMPDIR/cap/${day:0:4}/${day:5:2}/${day:8:2}.jsonl"
    run replay --target "$MOCK_URL" -d "$BATS_TEST_TMPDIR/cap" --date "$day"
    assert_success
    [ "${#lines[@]}" -eq 6 ]
    run replay --target "$MOCK_URL" -d "$BATS_TEST_TMPDIR/cap" --date 2001-01-01
    assert_success
    [ -z "$output" ]
    run replay --target "$MOCK_URL" -d "$BATS_TEST_TMPDIR/cap"
    assert_failure 100
}

@test "man page CI example: replay yesterday's captures against a candidate, fail on regressions" {
    # answers that take 200 ms, so that time ratios mean something (the
    # header is recorded, and so replayed too)
    EXTRA=(-H 'X-Mock-Delay-Ms: 200')
    record
    # the recording, as if it had been made yesterday, in llm-tee's layout
    day=$(jq -r 'select(.event=="request") | .ts[0:10]' "$REC" | head -1)
    yday=$(date -u -d yesterday +%F)
    mkdir -p "$BATS_TEST_TMPDIR/llm/${yday:0:4}/${yday:5:2}"
    jq -c --arg d "$day" --arg y "$yday" '.ts |= sub("^" + $d; $y)' "$REC" \
        > "$BATS_TEST_TMPDIR/llm/${yday:0:4}/${yday:5:2}/${yday:8:2}.jsonl"
    cd "$BATS_TEST_TMPDIR"
    # a candidate that answers as before (the upstream itself: a fresh
    # relay would make concurrent first requests wait for one another)
    run replay --target "$MOCK_URL" \
        -d "$BATS_TEST_TMPDIR/llm" --date yesterday --concurrency 4 \
        --fail-on 'status,tools,text<0.9,latency>1.5x' -o replay.jsonl
    assert_success
    grep -q '6 exchanges: 6 same' "$BATS_TEST_TMPDIR/replay.err"
    run jq -c 'select(.crossed != []) | {id, crossed}' replay.jsonl
    assert_output ''
    # a candidate that translates to the other protocol: regressions
    start_relay --upstream "$MOCK_URL" --protocol anthropic
    run replay --target "$RELAY_URL" \
        -d "$BATS_TEST_TMPDIR/llm" --date yesterday --concurrency 4 \
        --fail-on 'status,tools,text<0.9,latency>1.5x' -o replay.jsonl
    assert_failure 1
    run jq -c 'select(.crossed != []) | {id, crossed}' replay.jsonl
    assert_line --regexp '^\{"id":"[0-9a-f-]{36}","crossed":\["tools",.*\]\}$'
}

# ---- serve

@test "serve: byte-identical bodies, stream and not, both protocols; unknown request → native 404" {
    record
    start_serve --speed 0 "$REC"
    grep -q 'serving 6 recorded answers' "$BATS_TEST_TMPDIR/serve.err"
    for id in $(jq -r 'select(.event=="request") | .id' "$REC"); do
        path=$(jq -r --arg id "$id" 'select(.id==$id and .event=="request") | .path' "$REC")
        node "$TOOLS/rebuild.js" --request "$REC" "$id" > "$BATS_TEST_TMPDIR/req"
        node "$TOOLS/rebuild.js" --client "$REC" "$id" > "$BATS_TEST_TMPDIR/want"
        curl -sS -o "$BATS_TEST_TMPDIR/got" -D "$BATS_TEST_TMPDIR/got.h" -H 'anthropic-version: 2023-06-01' \
            --data-binary @"$BATS_TEST_TMPDIR/req" "$SERVE_URL$path"
        cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
        grep -q '^HTTP/1.1 200' "$BATS_TEST_TMPDIR/got.h"
    done
    # the body normalised: key order, whitespace, the stream flags do not matter
    run curl -sS "$SERVE_URL/v1/chat/completions" -d '{ "messages": [{"content":"Hi", "role":"user"}], "model": "mock-model", "stream": false, "stream_options": null }'
    assert_output --partial '"content":"w0 w1 w2 w3 w4 "'
    run curl -sS -w '%{http_code}' "$SERVE_URL/v1/chat/completions" -d '{"model":"other"}'
    assert_output '{"error":{"message":"llm-replay: no recorded exchange matches this request (method, path and body, stream flags aside)","type":"invalid_request_error","param":null,"code":"not_found"}}404'
    run curl -sS -w '%{http_code}' "$SERVE_URL/v1/messages" -H 'anthropic-version: 2023-06-01' -d '{"model":"other"}'
    assert_output --partial '{"type":"error","error":{"type":"not_found_error",'
    assert_output --partial '}404'
}

@test "serve: chunks at their recorded times (--speed 1), at once with --speed 0" {
    MOCK_URL="$MOCK_URL" start_relay -c "$FIX/relay.yaml"
    post "$RELAY_URL" /v1/chat/completions "$SCHAT" -H 'X-Mock-Interval-Ms: 150' -H 'X-Mock-Chunks: 4'
    post "$RELAY_URL" /v1/messages "$SMSG" -H 'anthropic-version: 2023-06-01' -H 'X-Mock-Interval-Ms: 150' -H 'X-Mock-Chunks: 3'
    post "$RELAY_URL" /v1/chat/completions "$CHAT" -H 'X-Mock-Scenario: drip' -H 'X-Mock-Interval-Ms: 150' -H 'X-Mock-Chunks: 3'
    stop_relay
    mv "$CAP" "$BATS_TEST_TMPDIR/rec.jsonl"
    start_serve --speed 1 "$BATS_TEST_TMPDIR/rec.jsonl"
    # a relay in front of the served upstream records what arrives, and when
    for n in 1 2 3; do
        jq -c "select(.event==\"request\")" "$BATS_TEST_TMPDIR/rec.jsonl" | sed -n "${n}p" > "$BATS_TEST_TMPDIR/req.json"
        id=$(jq -r .id "$BATS_TEST_TMPDIR/req.json"); path=$(jq -r .path "$BATS_TEST_TMPDIR/req.json")
        jq -c --arg id "$id" 'select(.id==$id)' "$BATS_TEST_TMPDIR/rec.jsonl" > "$BATS_TEST_TMPDIR/one.jsonl"
        MOCK_URL="$SERVE_URL" start_relay -c "$FIX/relay.yaml"
        post "$RELAY_URL" "$path" "$(jq -r .body "$BATS_TEST_TMPDIR/req.json")" -H 'anthropic-version: 2023-06-01'
        stop_relay
        want=$(gaps "$BATS_TEST_TMPDIR/one.jsonl" | tr '\n' ' ')
        got=$(gaps "$CAP" | tr '\n' ' ')
        echo "recorded gaps: $want / served gaps: $got"
        [ "$(wc -w <<<"$want")" -eq "$(wc -w <<<"$got")" ]
        set -- $got
        for w in $want; do
            [ "$1" -ge $((w - 60)) ] && [ "$1" -le $((w + 60)) ]
            shift
        done
        # the bytes the client got are the recorded ones
        node "$TOOLS/rebuild.js" --client "$BATS_TEST_TMPDIR/one.jsonl" "$id" > "$BATS_TEST_TMPDIR/want"
        node "$TOOLS/rebuild.js" --client "$CAP" > "$BATS_TEST_TMPDIR/got"
        cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
    done
    stop_serve
    start_serve --speed 0 "$BATS_TEST_TMPDIR/rec.jsonl"
    MOCK_URL="$SERVE_URL" start_relay -c "$FIX/relay.yaml"
    post "$RELAY_URL" /v1/chat/completions "$SCHAT"
    stop_relay
    for g in $(gaps "$CAP"); do [ "$g" -lt 60 ]; done
}

@test "serve: stream asked where a non-stream answer was recorded, and the reverse" {
    MOCK_URL="$MOCK_URL" start_relay -c "$FIX/relay.yaml"
    post "$RELAY_URL" /v1/chat/completions "$TOOLREQ"
    post "$RELAY_URL" /v1/messages "$MSG" -H 'anthropic-version: 2023-06-01'
    post "$RELAY_URL" /v1/chat/completions "$SCHAT"
    post "$RELAY_URL" /v1/messages/count_tokens '{"model":"m","messages":[]}' -H 'anthropic-version: 2023-06-01'
    stop_relay
    start_serve --speed 0 "$CAP"
    # recorded streaming, asked without: the assembled answer
    run curl -sS "$SERVE_URL/v1/chat/completions" -d "$CHAT"
    assert_output --partial '"object":"chat.completion"'
    assert_output --partial '"content":"w0 w1 w2 w3 w4 "'
    # recorded without, asked streaming: a stream made from the answer
    run curl -sS -N "$SERVE_URL/v1/chat/completions" -d "$STOOLREQ"
    assert_line --index 0 --partial '"object":"chat.completion.chunk"'
    assert_output --partial '"arguments":"{\"city\":\"Tokyo\"}"'
    assert_line 'data: [DONE]'
    run curl -sS -N "$SERVE_URL/v1/messages" -H 'anthropic-version: 2023-06-01' -d "${MSG/\"max_tokens\":50,/\"max_tokens\":50,\"stream\":true,}"
    assert_line 'event: message_start'
    assert_output --partial '"partial_json":"{\"city\":\"Paris\"}"'
    assert_line 'event: message_stop'
    # an answer that is no chat or message cannot become a stream
    run curl -sS -w '%{http_code}' "$SERVE_URL/v1/messages/count_tokens" -H 'anthropic-version: 2023-06-01' -d '{"model":"m","messages":[],"stream":true}'
    assert_output --partial 'recorded only without streaming'
    assert_output --partial '}404'
}

@test "serve --fallback: unknown requests go to another upstream, streams too" {
    record
    start_serve --speed 0 --fallback "$MOCK_URL" "$REC"
    run curl -sS "$SERVE_URL/v1/chat/completions" -H 'X-Mock-Chunks: 2' -d '{"model":"not-recorded"}'
    assert_output --partial '"content":"w0 w1 "'
    run curl -sS -N "$SERVE_URL/v1/chat/completions?x=1" -d '{"model":"not-recorded","stream":true}'
    assert_line 'data: [DONE]'
    run curl -sS "$MOCK_URL/__mock/last"
    assert_output --partial '"target":"/v1/chat/completions?x=1"'
    stop_serve
    kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null || true; MOCK_PID=
    start_serve --speed 0 --fallback "$MOCK_URL" "$REC"
    run curl -sS -w '%{http_code}' "$SERVE_URL/v1/chat/completions" -d '{"model":"not-recorded"}'
    assert_output --partial '}502'
}

@test "serve: the official SDKs against the shipped sample set" {
    [ -d "$PLLM_ROOT/test/sdk/node_modules/openai" ] || skip "npm test clients not installed (make deps)"
    start_serve --speed 0 "$FIX/sample.jsonl"
    demo='This is the proxy-llm offline demo upstream. Set OPENAI_API_KEY or ANTHROPIC_API_KEY to reach a real provider.'
    openai() { BASE_URL="$SERVE_URL/v1" node "$PLLM_ROOT/test/sdk/openai.mjs" "$@"; }
    anthropic() { BASE_URL="$SERVE_URL" node "$PLLM_ROOT/test/sdk/anthropic.mjs" "$@"; }
    run openai chat
    assert_success
    assert_line --index 0 "{\"content\":\"$demo\"}"
    run openai stream
    assert_line --index 0 "{\"content\":\"$demo\"}"
    assert_line --index 2 '{"usage":null}'
    run openai stream-usage
    assert_line --index 2 '{"usage":{"prompt_tokens":11,"completion_tokens":16,"total_tokens":27}}'
    run openai stream-tools
    assert_success
    assert_line --index 0 '{"tool_calls":[{"name":"get_weather","arguments":{"city":"Paris"}},{"name":"get_time","arguments":{"city":"Tokyo"}}]}'
    run openai models
    assert_output '{"models":["mock-model"]}'
    run anthropic stream
    assert_success
    assert_line --index 0 "{\"content\":\"$demo\"}"
    assert_line --index 3 '{"text_deltas":16}'
    run anthropic tools
    assert_line --index 1 '{"tool_use":[{"name":"get_weather","input":{"city":"Paris"}}]}'
    run anthropic count
    assert_output '{"input_tokens":11}'
    run anthropic models
    assert_output '{"models":["claude-mock"]}'
    MODEL=not-recorded run openai chat
    assert_failure 1
    assert_line --index 0 --partial '{"error":{"status":404,"type":"invalid_request_error"'
    MODEL=not-recorded run anthropic message
    assert_line --index 0 --partial '{"error":{"status":404,"type":"not_found_error"'
}

@test "serve behind the relay (make run's demo): the relay's own usage request is answered" {
    start_serve --speed 0 "$FIX/sample.jsonl"
    MOCK_URL="$SERVE_URL" start_relay -c "$FIX/relay.yaml"
    run curl -sS -N "$RELAY_URL/v1/chat/completions" -H 'Content-Type: application/json' \
        -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
    assert_output --partial '"content":" offline"'
    refute_output --partial '"usage"'
    run curl -sS -N "$RELAY_URL/v1/messages" -H 'Content-Type: application/json' -H 'anthropic-version: 2023-06-01' \
        -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Hi"}]}'
    assert_line 'event: message_stop'
    stop_relay
    run cap -r 'select(.event=="end") | [.outcome, .usage.output_tokens] | @tsv'
    assert_output "$(printf 'ok\t16\nok\t16')"
    validate_capture
    run "$REPLAY" --serve --listen 127.0.0.1:0 --target http://x "$FIX/sample.jsonl"
    assert_failure 100
}
