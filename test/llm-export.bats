#!/usr/bin/env bats
# llm-export: a day of captures into datasets. Every format against golden
# files from fixtures of both protocols (real relay + mock + SDK captures,
# and hand-made edge cases: thinking, refusals, multi-turn tools, midnight,
# relay death); streamed and whole answers give the same rows; compressed
# and encrypted input; feedback → DPO; filters; split, bundle, redaction;
# the OpenAI fine-tuning rules; exit codes, stdin, EPIPE, a full disk.
# Fixtures: test/fixtures/export/ (make-fixtures.sh); golden files:
# test/fixtures/export/golden/ (make-golden.sh, or PLLM_UPDATE_GOLDEN=1).
load helper

EXPORT="$PLLM_BUILD/llm-export/prog"
FIX="$PLLM_ROOT/test/fixtures/export"
VALIDATE="$FIX/validate-sft.js"

setup() { cd "$FIX"; }
teardown() { cd "$PLLM_ROOT"; common_teardown; }

x() { "$EXPORT" "$@"; }
day26() { "$EXPORT" -q --date 2026-11-26 "$@" day; }
# summary ARGS...: what llm-export says on stderr (its rows thrown away)
summary() { "$EXPORT" "$@" 2>&1 >/dev/null; }

# golden NAME COMMAND...: the output of COMMAND equals golden/NAME
golden() {
    local name=$1; shift
    "$@" > "$BATS_TEST_TMPDIR/out"
    if [ -n "${PLLM_UPDATE_GOLDEN:-}" ]; then cp "$BATS_TEST_TMPDIR/out" "$FIX/golden/$name"; fi
    diff -u "$FIX/golden/$name" "$BATS_TEST_TMPDIR/out"
}

@test "every format equals its golden file (both protocols, tools, thinking, translation)" {
    golden exchanges.jsonl day26 --format exchanges
    golden openai-sft.jsonl day26 --format openai-sft
    golden sharegpt.jsonl day26 --format sharegpt
    golden dpo.jsonl day26 --format dpo
    golden csv.csv day26 --format csv
    # the default format is exchanges
    day26 | cmp - golden/exchanges.jsonl
}

@test "the summary counts every exchange: rows and skips by reason, malformed lines" {
    run summary --date 2026-11-26 --format openai-sft day
    assert_success
    assert_output "$(printf '%s\n' "llm-export: warning: day/2026/11/26.jsonl:40: invalid JSON at column 4: '[' or '{' expected near 'this'" \
        'llm-export: 2026-11-26: 33 exchanges, 25 rows (openai-sft); skipped: incomplete 2, failed 4, not_chat 1, body_truncated 1; 1 malformed lines')"
    run summary -q --date 2026-11-26 --format openai-sft day
    assert_output ''
    run summary --date 2026-11-26 --format dpo day
    assert_line --index 1 'llm-export: 2026-11-26: 33 exchanges, 2 pairs (dpo); skipped: failed 1, unrated 28, pair_missing 1; 1 malformed lines'
    # analysis formats keep every exchange, failed and cut ones too
    run summary --date 2026-11-26 --format csv day
    assert_line --index 1 'llm-export: 2026-11-26: 33 exchanges, 33 rows (csv); 1 malformed lines'
    # --include-incomplete lets cut answers in (what was said before the cut)
    run summary --date 2026-11-26 --format openai-sft --include-incomplete day
    assert_line --index 1 'llm-export: 2026-11-26: 33 exchanges, 28 rows (openai-sft); skipped: failed 2, no_response 1, not_chat 1, body_truncated 1; 1 malformed lines'
    day26 --format openai-sft --include-incomplete | grep -q '"content":"Once upon a time"'
}

@test "a streamed answer exports to the same row as the same answer whole" {
    day26 --format exchanges > "$BATS_TEST_TMPDIR/x"
    # pairs (whole, streamed) of one conversation: the SDK cases of both
    # protocols with and without tools, and the hand-made thinking answer
    pair() {   # pair JQ-SELECT: the responses of the whole and the streamed exchange
        jq -c -S "select((.request|type)==\"object\" and .complete) | select($1) | [.stream, (.response | del(.object))]" \
            "$BATS_TEST_TMPDIR/x" | sort -u
    }
    for sel in '.protocol=="openai" and .upstream_protocol==null and .request.messages[0].content=="Say hello." and (.request.stream_options==null)' \
               '.protocol=="openai" and .upstream_protocol==null and (.request.tools|length)>0 and (.request.messages|length)==1' \
               '.protocol=="anthropic" and .request.messages[0].content=="Say hello."' \
               '.protocol=="anthropic" and (.request.tools|length)>0 and .request.thinking==null and (.request.messages|length)==1' \
               '.request.thinking!=null'; do
        run pair "$sel"
        [ "${#lines[@]}" -eq 2 ]
        a=$(echo "${lines[0]}" | jq -c -S '.[1]'); b=$(echo "${lines[1]}" | jq -c -S '.[1]')
        [ "$(echo "${lines[0]}" | jq '.[0]')" != "$(echo "${lines[1]}" | jq '.[0]')" ]   # one of each
        [ "$a" = "$b" ]
    done
    # and the training rows are byte for byte the same
    day26 --format openai-sft --where '.request.thinking!=null' > "$BATS_TEST_TMPDIR/t"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/t")" -eq 2 ]
    [ "$(sort -u "$BATS_TEST_TMPDIR/t" | wc -l)" -eq 1 ]
    day26 --format sharegpt --where '.request.messages[0].content=="Say hello." and .protocol=="anthropic"' | sort -u > "$BATS_TEST_TMPDIR/s"
    run cat "$BATS_TEST_TMPDIR/s"
    assert_output '{"conversations":[{"from":"human","value":"Say hello."},{"from":"gpt","value":"w0 w1 w2 w3 w4 "}]}'
}

@test "rebuilt answers: parallel tool calls, Anthropic tool_use and thinking, refusal, reasoning, usage" {
    day26 --format exchanges --where '(.request|type)=="object"' > "$BATS_TEST_TMPDIR/x"
    q() { jq -c "$@" "$BATS_TEST_TMPDIR/x"; }
    # OpenAI parallel calls streamed as interleaved argument fragments
    run q 'select(.stream and .protocol=="openai" and .upstream_protocol==null and (.request.tools|length)==2) | .response.choices[0].message.tool_calls | map([.id, .function.name, .function.arguments])'
    assert_output '[["call_mock1","get_weather","{\"city\":\"Paris\"}"],["call_mock2","get_time","{\"city\":\"Tokyo\"}"]]'
    # Anthropic thinking with its signature, text, tool_use input from input_json_delta
    run q 'select(.stream and .request.thinking!=null) | .response.content | map(.type, (.signature // .text // .input))'
    assert_output '["thinking","EqQBCgIYAhIMsig0123456789","text","Let me look that up.","tool_use",{"city":"Paris"}]'
    run q 'select(.stream and .request.thinking!=null) | [.response.stop_reason, .response.usage.output_tokens]'
    assert_output '["tool_use",64]'
    # refusal and reasoning_content
    run q 'select(.request.messages[0].content=="How do I pick a lock?") | .response.choices[0].message | [.content, .refusal]'
    assert_output "[null,\"I'm sorry, I can't help with that.\"]"
    run q 'select(.model=="deepseek-reasoner") | .response.choices[0].message | [.content, .reasoning_content]'
    assert_output '["17 × 3 = 51","17 * 3 = 51."]'
    # the usage the relay asked for (withheld from the client) is in the answer
    run q 'select(.stream and .request.messages[0].content=="Say hello." and .protocol=="openai" and .upstream_protocol==null and .request.stream_options==null) | .response.usage.completion_tokens'
    assert_output '5'
    # a translated exchange: what the client got and what the upstream sent
    run q 'select(.upstream_protocol=="anthropic" and .stream) | [.response.object, .response.choices[0].finish_reason, .upstream_response.type, .upstream_response.stop_reason]'
    assert_output '["chat.completion","tool_calls","message","tool_use"]'
    # gzip-encoded answers, streamed and whole
    run q 'select(.request.messages[0].content=="Name some words." and .response_error==null and .complete) | .response.choices[0].message.content' 
    assert_line '"w0 w1 w2 w3 w4 "'
}

@test "Anthropic conversations are normalised to the OpenAI chat form" {
    day26 --format openai-sft --where '.protocol=="anthropic" and (.request.messages|length)==3' > "$BATS_TEST_TMPDIR/a"
    run jq -c '.messages | map(.role)' "$BATS_TEST_TMPDIR/a"
    assert_output '["system","user","assistant","tool","assistant"]'
    run jq -c '.messages[2].tool_calls[0] | [.id, .function.name, .function.arguments]' "$BATS_TEST_TMPDIR/a"
    assert_output '["toolu_X1","get_weather","{\"city\":\"Paris\"}"]'
    run jq -c '.messages[3] | [.tool_call_id, .content]' "$BATS_TEST_TMPDIR/a"
    assert_output '["toolu_X1","rain, 18 °C"]'
    run jq -c '.tools[0].function.name, .messages[4].content' "$BATS_TEST_TMPDIR/a"
    assert_line --index 0 '"get_weather"'
    assert_line --index 1 '"It is raining in Paris (18 °C)."'
}

@test "every openai-sft and dpo row follows the OpenAI fine-tuning rules" {
    day26 --format openai-sft > "$BATS_TEST_TMPDIR/sft"
    run node "$VALIDATE" sft "$BATS_TEST_TMPDIR/sft"
    assert_success
    assert_output 'validate-sft: 25 rows ok'
    day26 --format openai-sft --include-incomplete > "$BATS_TEST_TMPDIR/sft2"
    run node "$VALIDATE" sft "$BATS_TEST_TMPDIR/sft2"
    assert_success
    day26 --format dpo > "$BATS_TEST_TMPDIR/dpo"
    run node "$VALIDATE" dpo "$BATS_TEST_TMPDIR/dpo"
    assert_success
    # the validator itself rejects what it must
    printf '%s\n' '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}]}' \
        '{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c2","content":"x"},{"role":"assistant","content":"b"}]}' \
        '{"messages":[{"role":"developer","content":"a"},{"role":"user","content":"b"}]}' > "$BATS_TEST_TMPDIR/bad"
    run node "$VALIDATE" sft "$BATS_TEST_TMPDIR/bad"
    assert_failure
    assert_line --partial ':1: tool call c1: arguments do not parse as JSON'
    assert_line --partial ':2: message 2: tool_call_id c2 answers no open tool call'
    assert_line --partial ':3: message 0: role developer is not allowed'
    assert_line --partial ":3: the last message is not the assistant's"
}

@test "midnight: an exchange belongs to the day of its request, its end read from the next day" {
    day26 --format openai-sft --where '.request.messages[0].content? // "" | tostring | test("Midnight|Yesterday|Tomorrow")' > "$BATS_TEST_TMPDIR/m"
    run cat "$BATS_TEST_TMPDIR/m"
    assert_output '{"messages":[{"role":"user","content":"Midnight question"},{"role":"assistant","content":"Before and after midnight."}]}'
    # the 27th has its own exchange, not the tail of the 26th's
    golden exchanges.27.jsonl x -q --date 2026-11-27 day
    # a range takes both days; the 25th's exchange ended on the 26th is complete too
    run x -q --from 2026-11-25 --to 2026-11-27 --format csv day
    [ "${#lines[@]}" -eq 36 ]
    run x -q --from 2026-11-25 --to 2026-11-25 --format openai-sft day
    assert_output '{"messages":[{"role":"user","content":"Yesterday question"},{"role":"assistant","content":"Late answer."}]}'
    # without the next day's file the midnight exchange is incomplete
    mkdir -p "$BATS_TEST_TMPDIR/d/2026/11"
    cp day/2026/11/26.jsonl "$BATS_TEST_TMPDIR/d/2026/11/"
    run summary --date 2026-11-26 --format openai-sft "$BATS_TEST_TMPDIR/d"
    assert_line --regexp 'skipped: incomplete 3,'
    # days of another zone (llm-tee --tz): 23:59:59.8 UTC on the 26th is
    # the 27th in Tokyo, and 12:00 UTC still the 26th
    T="$BATS_TEST_TMPDIR/tokyo"
    cat day/2026/11/25.jsonl day/2026/11/26.jsonl day/2026/11/27.jsonl |
        "$PLLM_BUILD/llm-tee/prog" -q -d "$T" --tz Asia/Tokyo 2>/dev/null
    run x -q --date 2026-11-27 --tz Asia/Tokyo --format csv "$T"
    assert_line --index 1 --regexp '^[0-9a-f-]+,2026-11-26T23:59:59.800000Z,'
    assert_line --index 2 --regexp '^[0-9a-f-]+,2026-11-27T00:10:00.000000Z,'
    [ "${#lines[@]}" -eq 3 ]
}

@test "compressed (zstd, gzip) and encrypted captures export the same rows" {
    D="$BATS_TEST_TMPDIR/z"
    cp -r day "$D"
    zstd -q --rm "$D/2026/11/26.jsonl"
    gzip "$D/2026/11/27.jsonl"
    x -q --date 2026-11-26 --format openai-sft "$D" | cmp - golden/openai-sft.jsonl
    x -q --date 2026-11-26 --format dpo "$D" | cmp - golden/dpo.jsonl
    # encrypted by llm-tee, read with the key
    E="$BATS_TEST_TMPDIR/e"
    printf '%s\n' 3f1c9a7d6b5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a > "$BATS_TEST_TMPDIR/key"
    cat day/2026/11/25.jsonl day/2026/11/26.jsonl day/2026/11/27.jsonl |
        "$PLLM_BUILD/llm-tee/prog" -q -d "$E" --encrypt-key "$BATS_TEST_TMPDIR/key" 2>/dev/null
    [ -f "$E/2026/11/26.jsonl.enc" ]
    x -q --date 2026-11-26 --format openai-sft --key "$BATS_TEST_TMPDIR/key" "$E" | cmp - golden/openai-sft.jsonl
    run x -q --date 2026-11-26 "$E"
    [ "$status" -eq 100 ]
    assert_output --partial 'fatal: unable to open'
    assert_output --partial 'key'
}

@test "feedback: rated answers to one prompt and explicit preferences become DPO pairs" {
    golden dpo.jsonl day26 --format dpo
    run jq -c '[.preferred_output[0].content, .non_preferred_output[0].content]' golden/dpo.jsonl
    assert_line --index 0 '["w0 w1 w2 w3 w4 ","w0 w1 w2 "]'      # rating 5 over rating 1
    assert_line --index 1 '["w0 w1 w2 w3 ","w0 w1 "]'            # preferred_over
    # feedback reaches the exchanges rows, and --min-rating selects on it
    run x -q --date 2026-11-26 --min-rating 3 --format csv day
    [ "${#lines[@]}" -eq 2 ]
    run sh -c "'$EXPORT' -q --date 2026-11-26 day | jq -c 'select(.feedback) | [.feedback[].rating // .feedback[].preferred_over | type]'"
    assert_line '["number"]'
    assert_line '["string","string"]'
}

@test "a live relay: SDK traffic and feedback through the relay export to pairs and rows" {
    start_mock
    start_relay --upstream "$MOCK_URL"
    BASE_URL="$RELAY_URL/v1" node "$PLLM_ROOT/test/sdk/openai.mjs" stream-tools >/dev/null
    BASE_URL="$RELAY_URL/v1" node "$PLLM_ROOT/test/sdk/openai.mjs" tools >/dev/null
    q='{"model":"m","messages":[{"role":"user","content":"Hi"}]'
    id() { curl -sS -o /dev/null -D - -H 'Content-Type: application/json' "$@" "$RELAY_URL/v1/chat/completions" | tr -d '\r' | sed -n 's/^X-Request-Id: //p'; }
    a=$(id --data-binary "$q,\"stream\":true}")
    b=$(id --data-binary "$q}" -H 'X-Mock-Chunks: 2')
    curl -sS -o /dev/null "$RELAY_URL/v1/feedback" --data-binary "{\"id\":\"$a\",\"preferred_over\":\"$b\"}"
    stop_relay
    run x -q --format openai-sft "$CAP"
    assert_success
    [ "${#lines[@]}" -eq 4 ]
    [ "${lines[0]}" = "${lines[1]}" ]                    # streamed tools = whole tools
    run x -q --format dpo "$CAP"
    assert_output '{"input":{"messages":[{"role":"user","content":"Hi"}]},"preferred_output":[{"role":"assistant","content":"w0 w1 w2 w3 w4 "}],"non_preferred_output":[{"role":"assistant","content":"w0 w1 "}]}'
}

@test "split: deterministic by exchange, the two parts make the whole" {
    golden split.train.jsonl sh -c "'$EXPORT' -q --date 2026-11-26 --format openai-sft --split 0.7 -o '$BATS_TEST_TMPDIR/s.jsonl' day && cat '$BATS_TEST_TMPDIR/s.train.jsonl'"
    diff -u golden/split.validation.jsonl "$BATS_TEST_TMPDIR/s.validation.jsonl"
    cat "$BATS_TEST_TMPDIR/s.train.jsonl" "$BATS_TEST_TMPDIR/s.validation.jsonl" | sort > "$BATS_TEST_TMPDIR/u"
    sort golden/openai-sft.jsonl | cmp - "$BATS_TEST_TMPDIR/u"
    # an exchange's side depends on its id alone, not on the other rows
    x -q --date 2026-11-26 --format csv --split 0.7 -o "$BATS_TEST_TMPDIR/all.csv" day
    x -q --date 2026-11-26 --format csv --split 0.7 --model 'gpt-*' -o "$BATS_TEST_TMPDIR/gpt.csv" day
    grep -Fxf "$BATS_TEST_TMPDIR/gpt.validation.csv" "$BATS_TEST_TMPDIR/all.validation.csv" | cmp - "$BATS_TEST_TMPDIR/gpt.validation.csv"
    head -1 "$BATS_TEST_TMPDIR/gpt.train.csv" | grep -q '^id,time,model'
    run x --split 0.7 day
    [ "$status" -eq 100 ]
    run x --split 1.5 -o f day
    [ "$status" -eq 100 ]
}

@test "bundle: tar.zst with the dataset files and a manifest, byte-identical when run again" {
    B="$BATS_TEST_TMPDIR/b.tar.zst"
    x -q --date 2026-11-26 --format openai-sft --split 0.7 --redact --bundle "$B" day
    x -q --date 2026-11-26 --format openai-sft --split 0.7 --redact --bundle "$B.2" day
    cmp "$B" "$B.2"
    run tar --zstd -tf "$B"
    assert_output "$(printf 'manifest.json\nopenai-sft.train.jsonl\nopenai-sft.validation.jsonl')"
    mkdir "$BATS_TEST_TMPDIR/u" && tar --zstd -xf "$B" -C "$BATS_TEST_TMPDIR/u"
    cd "$BATS_TEST_TMPDIR/u"
    run jq -c '[.tool, .format, .range, .counts.exchanges, .counts.rows, .counts.skipped.failed, .counts.malformed_lines, .tokens.input > 0, .filters.redact, .filters.split, .sources]' manifest.json
    assert_output '["llm-export","openai-sft",{"from":"2026-11-26","to":"2026-11-26","tz":"UTC"},33,25,4,1,true,true,0.7,["day/2026/11/26.jsonl","day/2026/11/27.jsonl"]]'
    for f in openai-sft.train.jsonl openai-sft.validation.jsonl; do
        [ "$(jq -r --arg f "$f" '.files[] | select(.name==$f) | .sha256' manifest.json)" = "$(sha256sum "$f" | cut -d' ' -f1)" ]
        [ "$(jq -r --arg f "$f" '.files[] | select(.name==$f) | .rows' manifest.json)" = "$(wc -l < "$f")" ]
    done
    ! ls -a "$BATS_TEST_TMPDIR" | grep -q '^\.b\.tar\.zst' || false          # no temporary files left
}

@test "redaction: e-mails, phones, cards, keys and --redact-regex; tool arguments stay JSON" {
    golden openai-sft.redact.jsonl day26 --format openai-sft --redact --redact-regex 'Tok[a-z]+'
    run grep -c 'REDACTED_CARD\].*REDACTED_PHONE' golden/openai-sft.redact.jsonl
    assert_output '3'
    ! grep -q '4111\|555 0100\|Tokyo' golden/openai-sft.redact.jsonl || false
    grep -q '"arguments":"{\\"city\\":\\"\[REDACTED\]\\"}"' golden/openai-sft.redact.jsonl
    node "$VALIDATE" sft golden/openai-sft.redact.jsonl
    # the exchanges rows too: the user is an e-mail
    run sh -c "'$EXPORT' -q --date 2026-11-26 --redact --user alice@example.com day | jq -r .user | sort -u"
    assert_output '[REDACTED_EMAIL]'
    # the patterns one by one, and what they leave alone
    printf '%s\n' '{"v":1,"event":"request","id":"01a21744-cef0-7c3e-9a4b-5f1d2e6c8a71","ts":"2026-11-26T09:00:00.000000Z","protocol":"openai","path":"/v1/chat/completions","body":"{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"key sk-proj-abcdefghijklmnop1234 aws AKIAABCDEFGHIJKLMNOP mail bob.smith@mail.example.org card 4012-8888-8888-1881 not 4012 8888 8888 1882 tel (415) 555-2671 or +44 20 7946 0958 date 2026-11-26 order 1234567890123 token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abcdefghijklmnop\"}]}"}' \
        '{"v":1,"event":"end","id":"01a21744-cef0-7c3e-9a4b-5f1d2e6c8a71","ts":"2026-11-26T09:00:01.000000Z","outcome":"ok","status":200,"usage":{}}' > "$BATS_TEST_TMPDIR/r.jsonl"
    run sh -c "'$EXPORT' -q --redact '$BATS_TEST_TMPDIR/r.jsonl' | jq -r '.request.messages[0].content'"
    assert_output 'key [REDACTED_KEY] aws [REDACTED_KEY] mail [REDACTED_EMAIL] card [REDACTED_CARD] not 4012 8888 8888 1882 tel [REDACTED_PHONE] or [REDACTED_PHONE] date 2026-11-26 order 1234567890123 token [REDACTED_KEY]'
    run x --redact-regex '(' day
    [ "$status" -eq 100 ]
}

@test "filters: model, user, status, rating, where, dedup" {
    run x -q --date 2026-11-26 --format csv --model 'claude-*' --model deepseek-reasoner day
    [ "${#lines[@]}" -eq 7 ]
    [ "$(printf '%s\n' "${lines[@]}" | grep -c ',claude-\|,deepseek-reasoner,')" -eq 6 ]
    run x -q --date 2026-11-26 --format csv --user user-42 day
    assert_line --index 1 --partial ',claude-haiku-4-5,user-42,200,ok,90,11,'
    run x -q --date 2026-11-26 --format csv --status 429,client_closed day
    [ "${#lines[@]}" -eq 3 ]
    run x -q --date 2026-11-26 --format csv --status 5xx,incomplete day
    assert_line --index 1 --partial ',500,upstream_error,'
    [ "${#lines[@]}" -eq 3 ]
    run summary --date 2026-11-26 --format openai-sft --dedup day
    assert_line --regexp 'rows \(openai-sft\); skipped: .*duplicate 11'
    run x -q --date 2026-11-26 --format openai-sft --dedup day
    [ "$(printf '%s\n' "${lines[@]}" | sort -u | wc -l)" -eq "${#lines[@]}" ]
    run x -q --date 2026-11-26 --format csv --where '.usage.output_tokens > 50' day
    [ "${#lines[@]}" -eq 3 ]
    run x --where '.[' day
    [ "$status" -eq 100 ]
    assert_output --partial 'fatal: --where'
    run x -q --date 2026-11-26 --where 'error("boom")' day
    [ "$status" -eq 100 ]
    assert_output --partial 'boom'
}

@test "output: -o renames a complete file into place, nothing left on failure" {
    O="$BATS_TEST_TMPDIR/out.jsonl"
    echo old > "$O"
    x -q --date 2026-11-26 --format openai-sft -o "$O" day
    cmp "$O" golden/openai-sft.jsonl
    # a failure (no key for the encrypted day) keeps the old file, leaves no temporary
    E="$BATS_TEST_TMPDIR/e"; mkdir -p "$E/2026/11"
    printf '%s\n' 3f1c9a7d6b5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a > "$BATS_TEST_TMPDIR/key"
    "$PLLM_BUILD/llm-tee/prog" -q -d "$E" --encrypt-key "$BATS_TEST_TMPDIR/key" < day/2026/11/26.jsonl 2>/dev/null
    cp day/2026/11/25.jsonl "$E/2026/11/"
    run x -q --from 2026-11-25 --to 2026-11-26 -o "$O" "$E"
    [ "$status" -eq 100 ]
    cmp "$O" golden/openai-sft.jsonl 2>/dev/null || [ "$(cat "$O")" = old ] || cmp "$O" golden/openai-sft.jsonl
    [ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.out')" -eq 0 ]
    # a directory that cannot be written: 111
    run x -q --date 2026-11-26 -o /nonexistent/dir/out.jsonl day
    [ "$status" -eq 111 ]
    assert_output --partial 'fatal: unable to create a temporary file for /nonexistent/dir/out.jsonl'
    # a full disk: 111
    run sh -c "'$EXPORT' -q --date 2026-11-26 day > /dev/full"
    [ "$status" -eq 111 ]
    assert_output --partial 'fatal: unable to write stdout'
}

@test "inputs: files and stdin, a last line without newline, malformed lines and --strict, EPIPE" {
    cat day/2026/11/26.jsonl day/2026/11/27.jsonl > "$BATS_TEST_TMPDIR/all.jsonl"
    # files and stdin: no day unless asked; --date picks by request time
    x -q --date 2026-11-26 --format openai-sft "$BATS_TEST_TMPDIR/all.jsonl" | cmp - golden/openai-sft.jsonl
    x -q --date 2026-11-26 --format openai-sft - < "$BATS_TEST_TMPDIR/all.jsonl" | cmp - golden/openai-sft.jsonl
    # read twice (feedback first): stdin is copied to TMPDIR, and removed
    mkdir "$BATS_TEST_TMPDIR/tmp"
    TMPDIR="$BATS_TEST_TMPDIR/tmp" x -q --date 2026-11-26 --format dpo < "$BATS_TEST_TMPDIR/all.jsonl" | cmp - golden/dpo.jsonl
    run sh -c "TMPDIR='$BATS_TEST_TMPDIR/tmp' '$EXPORT' -q --strict --format dpo < '$BATS_TEST_TMPDIR/all.jsonl'"
    [ "$status" -eq 100 ]
    [ -z "$(ls -A "$BATS_TEST_TMPDIR/tmp")" ]
    # a last line without its newline is a line
    printf '%s' "$(grep -v 'not JSON' "$BATS_TEST_TMPDIR/all.jsonl")" > "$BATS_TEST_TMPDIR/nonl.jsonl"
    x -q --date 2026-11-26 --format openai-sft "$BATS_TEST_TMPDIR/nonl.jsonl" | cmp - golden/openai-sft.jsonl
    # --strict: the malformed line is fatal
    run x --strict --date 2026-11-26 day
    [ "$status" -eq 100 ]
    assert_output "llm-export: fatal: day/2026/11/26.jsonl:40: invalid JSON at column 4: '[' or '{' expected near 'this'"
    # | head -1: quiet, status 0 (a day of many rows, so the pipe closes early)
    for i in $(seq 40); do cat "$BATS_TEST_TMPDIR/all.jsonl"; done > "$BATS_TEST_TMPDIR/big.jsonl"
    run bash -c "set -o pipefail; '$EXPORT' -q '$BATS_TEST_TMPDIR/big.jsonl' 2>'$BATS_TEST_TMPDIR/err' | head -1 | cut -c1-8"
    assert_success
    assert_output '{"id":"0'
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "exit status: 0 rows, 1 nothing matched, 100 usage" {
    run x -q --date 2026-11-28 day
    [ "$status" -eq 1 ]
    assert_output ''
    run x -q --date 2026-11-26 --model nothing day
    [ "$status" -eq 1 ]
    for bad in '--date 2026-13-01' '--date 2026-11-26 --from 2026-11-25' '--from 2026-11-27 --to 2026-11-26' \
               '--format parquet' '--min-rating x' '-o a --bundle b' '--tz Mars/Olympus' '--nonsense'; do
        run x $bad day
        [ "$status" -eq 100 ]
    done
    run x --help
    assert_success
    assert_output --partial 'usage: llm-export'
}

@test "man page: lint clean, and its examples run" {
    run mandoc -Tlint -Wwarning "$PLLM_ROOT/man/llm-export.1"
    assert_output ''
    # the EXAMPLES, on the fixtures
    cd "$BATS_TEST_TMPDIR"
    ln -s "$FIX/day" capture
    x -q --date 2026-11-26 --format openai-sft -o sft.jsonl capture
    cmp sft.jsonl "$FIX/golden/openai-sft.jsonl"
    x -q --date 2026-11-26 --format openai-sft --split 0.9 --redact --dedup --bundle sft-2026-11-26.tar.zst capture
    tar --zstd -tf sft-2026-11-26.tar.zst | grep -qx manifest.json
    x -q --date 2026-11-26 --format dpo capture | node "$VALIDATE" dpo /dev/stdin
    x -q --date 2026-11-26 --format csv --status 4xx,5xx capture | grep -q ',429,upstream_error,'
    x -q --date 2026-11-26 --where '.usage.output_tokens > 50 and .protocol == "anthropic"' --format sharegpt capture | grep -q 'function_call'
}

@test "systemd: the timer and service pair for the daily export" {
    U="$PLLM_ROOT/systemd"
    grep -q '^OnCalendar=' "$U/llm-export.timer"
    grep -q '^Unit=llm-export.service' "$U/llm-export.timer"
    grep -q '^ExecStart=.*llm-export .*--bundle' "$U/llm-export.service"
    grep -q '^Type=oneshot' "$U/llm-export.service"
    if command -v systemd-analyze >/dev/null 2>&1; then
        run systemd-analyze verify --man=no "$U/llm-export.service" "$U/llm-export.timer"
        refute_output --partial 'llm-export.service:'
    fi
}
