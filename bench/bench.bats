#!/usr/bin/env bats
# bench.bats — the bench's own program (bench-mock: serve, streams,
# capcount, gen, port, rss) and a short bench/run end to end.
# Run: BUILD=build sh test/run bench/bench.bats
load '../test/helper'         # bats-support/assert, wait_for, start_relay, stop_relay, common_teardown

BM="$PLLM_BUILD/bench/bench-mock"

start_serve() {
    "$BM" serve --port-file "$BATS_TEST_TMPDIR/serve.port" "$@" 2>"$BATS_TEST_TMPDIR/serve.log" &
    MOCK_PID=$!                   # common_teardown stops it
    wait_for "$BATS_TEST_TMPDIR/serve.port" '[0-9]' || { cat "$BATS_TEST_TMPDIR/serve.log"; return 1; }
    PORT=$(cat "$BATS_TEST_TMPDIR/serve.port")
    URL="http://127.0.0.1:$PORT"
}

teardown() {
    common_teardown
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$BATS_TEST_TMPDIR/serve.log" 2>/dev/null; then
        cat "$BATS_TEST_TMPDIR/serve.log" >&2
        return 1
    fi
}

@test "usage errors exit 100" {
    run "$BM"
    assert_failure 100
    run "$BM" frobnicate
    assert_failure 100
    run "$BM" streams --streams 3
    assert_failure 100
    assert_output --partial "--url"
    run "$BM" gen --bytes 1M
    assert_failure 100
    run "$BM" serve --threads 0
    assert_failure 100
    run "$BM" capcount
    assert_failure 100
    run sh "$PLLM_ROOT/bench/run" --bogus
    assert_failure 100
}

@test "serve: a chat completion, with Content-Length, and its usage" {
    start_serve --chunks 3
    run curl -s -i -d '{"model":"x"}' "$URL/v1/chat/completions"
    assert_success
    assert_output --partial "HTTP/1.1 200 OK"
    body=$(curl -s -d '{"model":"x"}' "$URL/v1/chat/completions")
    assert_equal "$(printf '%s' "$body" | jq -r '.choices[0].message.content')" "w0 w1 w2 "
    assert_equal "$(printf '%s' "$body" | jq -c .usage)" '{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}'
    len=$(curl -s -i -d '{"model":"x"}' "$URL/v1/chat/completions" | tr -d '\r' | sed -n 's/^Content-Length: //p')
    assert_equal "$len" "${#body}"
}

@test "serve: a stream is role, N content chunks, final with usage, [DONE]; the interval holds" {
    start_serve
    start=$(date +%s%N)
    curl -s -N -H 'X-Bench-Chunks: 5' -H 'X-Bench-Interval-Ms: 40' \
        -d '{"model":"x","stream":true}' "$URL/v1/chat/completions" > "$BATS_TEST_TMPDIR/s.txt"
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    [ "$elapsed_ms" -ge 200 ]              # 5 intervals of 40 ms after the first content chunk
    run grep -c '^data: ' "$BATS_TEST_TMPDIR/s.txt"
    assert_output 8
    assert_equal "$(sed -n 1p "$BATS_TEST_TMPDIR/s.txt" | sed 's/^data: //' | jq -r '.choices[0].delta.role')" assistant
    assert_equal "$(grep '^data: {' "$BATS_TEST_TMPDIR/s.txt" | sed 's/^data: //' | jq -rj '.choices[0].delta.content // empty')" "w0 w1 w2 w3 w4 "
    assert_equal "$(grep '^data: {' "$BATS_TEST_TMPDIR/s.txt" | tail -1 | sed 's/^data: //' | jq -c '[.choices[0].finish_reason, .usage.completion_tokens]')" '["stop",5]'
    assert_equal "$(grep '^data: ' "$BATS_TEST_TMPDIR/s.txt" | tail -1)" "data: [DONE]"
}

@test "serve: keep-alive, 404 elsewhere, counters and reset, SIGTERM exits 0" {
    start_serve
    run curl -s -o /dev/null -o /dev/null -w '%{http_code} ' -d '{}' "$URL/v1/chat/completions" "$URL/v1/chat/completions"
    assert_output '200 200 '
    assert_equal "$(curl -s "$URL/__bench/stats" | jq -c '[.connections, .requests]')" '[2,2]'   # one for the two
    run curl -s -o /dev/null -w '%{http_code}' "$URL/v1/models"
    assert_output 404
    curl -s -N -H 'X-Bench-Chunks: 2' -H 'X-Bench-Interval-Ms: 0' -d '{"stream": true}' "$URL/v1/chat/completions" >/dev/null
    run curl -s "$URL/__bench/stats"
    assert_equal "$(jq -c '[.connections, .requests, .streams_started, .streams_completed, .streams_aborted, .events]' <<<"$output")" '[5,4,1,1,0,5]'
    curl -s -X POST "$URL/__bench/reset" >/dev/null
    assert_equal "$(curl -s "$URL/__bench/stats" | jq .requests)" 0
    kill -TERM "$MOCK_PID"
    rc=0; wait "$MOCK_PID" || rc=$?
    MOCK_PID=
    assert_equal "$rc" 0
}

@test "streams: every event arrives, gaps and time to first token are measured, RSS is watched" {
    start_serve
    run "$BM" streams --url "$URL/v1/chat/completions" --streams 40 --concurrency 20 --ramp-ms 100 \
        --chunks 4 --interval-ms 30 --watch-pid "$MOCK_PID" --label t
    assert_success
    j=$output
    assert_equal "$(jq -c '[.label, .ok, .failed, .events, .events_expected, .max_open, .pass]' <<<"$j")" '["t",40,0,280,280,20,true]'
    assert_equal "$(jq '.ttft_us.n' <<<"$j")" 40
    [ "$(jq '.gap_us.n' <<<"$j")" -eq 160 ]          # 4 gaps a stream ([DONE] excluded)
    [ "$(jq '.gap_us.p50' <<<"$j")" -ge 30000 ]
    [ "$(jq '.gap_us.max' <<<"$j")" -lt 200000 ]
    [ "$(jq '.rss_kib.peak' <<<"$j")" -gt 0 ]
    run curl -s "$URL/__bench/stats"
    assert_equal "$(jq .streams_completed <<<"$output")" 40
}

@test "streams: refused connections and streams cut short fail, and pass is false" {
    port=$("$BM" port)
    run "$BM" streams --url "http://127.0.0.1:$port/v1/chat/completions" --streams 5 --chunks 2
    assert_success
    assert_equal "$(jq -c '[.ok, .failed, .errors.connect, .pass]' <<<"$output")" '[0,5,5,false]'
    start_serve
    ( sleep 0.4; kill "$MOCK_PID" ) &
    run "$BM" streams --url "$URL/v1/chat/completions" --streams 6 --chunks 10 --interval-ms 200 --timeout-s 10
    assert_success
    assert_equal "$(jq -c '[.ok, .failed, .pass]' <<<"$output")" '[0,6,false]'
    assert_equal "$(jq '.errors.incomplete + .errors.io' <<<"$output")" 6
    MOCK_PID=
}

@test "streams: a gap over --max-gap-ms fails the run" {
    start_serve
    run "$BM" streams --url "$URL/v1/chat/completions" --streams 3 --chunks 2 --interval-ms 120 --max-gap-ms 50
    assert_success
    assert_equal "$(jq -c '[.ok, .pass, .gap_us.over_limit]' <<<"$output")" '[3,false,6]'
}

@test "capcount: the relay's capture holds every chunk the client received" {
    start_serve
    start_relay --upstream "$URL"
    s=$("$BM" streams --url "$RELAY_URL/v1/chat/completions" --streams 6 --concurrency 3 --chunks 5 --interval-ms 5)
    curl -s -d '{"model":"bench"}' "$RELAY_URL/v1/chat/completions" >/dev/null
    stop_relay
    run "$BM" capcount "$CAP"
    assert_success
    assert_equal "$(jq '.events' <<<"$s")" 48
    assert_equal "$(jq -c '[.request, .response, .chunk, .end, .end_chunks, .dropped, .outcomes.ok, .malformed]' <<<"$output")" \
        '[7,7,49,7,49,0,7,0]'
}

@test "capcount: folders, gzip, rejects left out, a last line without newline, malformed lines" {
    d="$BATS_TEST_TMPDIR/cap/2026/11"
    mkdir -p "$d"
    id=01234567-89ab-7def-8123-456789abcdef
    printf '{"v":1,"event":"request","id":"%s","ts":"x"}\n{"v":1,"event":"chunk","id":"%s"}\nnot json\n' $id $id > "$d/25.jsonl"
    printf '{"v":1,"event":"end","id":"%s","outcome":"ok","chunks":1,"error":"e1"}\n{"v":1,"event":"feedback","id":"%s"}' $id $id > "$d/26.jsonl"
    gzip -k "$d/25.jsonl"; mv "$d/25.jsonl.gz" "$d/24.jsonl.gz"
    echo '{"v":1,"event":"chunk"}' > "$d/26.rejects.jsonl"
    echo '{"v":1,"event":"chunk"}' > "$d/notes.txt"
    run "$BM" capcount "$BATS_TEST_TMPDIR/cap"
    assert_success
    assert_equal "$(jq -c '[.lines, .request, .chunk, .end, .other, .malformed, .end_chunks, .outcomes, .errors]' <<<"$output")" \
        '[8,2,2,1,1,2,1,{"ok":1},{"e1":1}]'
    run "$BM" capcount "$BATS_TEST_TMPDIR/nonexistent"
    assert_failure 111
}

@test "gen: a day of the relay's own events, fresh ids, valid by the schema" {
    start_serve
    start_relay --upstream "$URL"
    "$BM" streams --url "$RELAY_URL/v1/chat/completions" --streams 4 --chunks 3 --interval-ms 0 >/dev/null
    curl -s -d '{"model":"bench"}' "$RELAY_URL/v1/chat/completions" >/dev/null
    stop_relay
    out="$BATS_TEST_TMPDIR/day.jsonl"
    run "$BM" gen --from "$CAP" --bytes 100K --day 2026-11-20 -o "$out"
    assert_success
    [ "$(stat -c %s "$out")" -ge 102400 ]
    sample_ids=$(jq -r .id "$CAP" | sort -u | wc -l)
    ids=$(jq -r .id "$out" | sort -u | wc -l)
    [ "$ids" -gt $((sample_ids * 5)) ]
    assert_equal "$(jq -r '.ts[0:10]' "$out" | sort -u)" 2026-11-20
    # every exchange keeps its shape: as many chunk events per id as in the sample
    assert_equal "$(jq -r 'select(.event == "end") | .chunks' "$out" | sort -u | tr '\n' ' ')" \
                 "$(jq -r 'select(.event == "end") | .chunks' "$CAP" | sort -u | tr '\n' ' ')"
    if [ -d "$PLLM_ROOT/test/sdk/node_modules/ajv" ]; then
        run node "$PLLM_ROOT/test/tools/validate-capture.js" "$out"
        assert_success
    fi
}

@test "port and rss" {
    run "$BM" port
    assert_success
    [ "$output" -gt 0 ] && [ "$output" -lt 65536 ]
    run "$BM" rss $$
    assert_success
    [ "$output" -gt 0 ]
    run "$BM" rss 999999999
    assert_failure 1
}

@test "bench/run --quick: every configuration measured, capture checked, results written" {
    out="$BATS_TEST_TMPDIR/out"
    BUILD="$PLLM_BUILD" BENCH_CONC="1 8" BENCH_STREAM_LEVELS="50" BENCH_DURATION=1 BENCH_DAY_SIZE=1M \
        run sh "$PLLM_ROOT/bench/run" --quick --no-profile --out "$out"
    assert_success
    r="$out/results.json"
    assert_equal "$(jq -c '[.quick, (.targets | length), .capture_check.all_consistent, .capture_check.missing_total]' "$r")" '[true,8,true,0]'
    assert_equal "$(jq -c '[.points.http[] | .config] | unique' "$r")" '["direct","nginx","relay","relay-nocap"]'
    assert_equal "$(jq '[.points.http[] | select(.wrk.requests > 0)] | length' "$r")" 8
    assert_equal "$(jq -c '[.sustained[] | .max_sustained]' "$r")" '[50,50,50,50]'
    [ "$(jq '.memory.idle_kib' "$r")" -gt 0 ]
    assert_equal "$(jq -c '[.hooks[] | .name]' "$r")" '["tee","stats","export","translated"]'
    run grep -c '^## ' "$out/results.md"
    [ "$output" -ge 10 ]
    grep -q '^| throughput, unbounded | ≥ 0.8× nginx |' "$out/results.md"
}
