#!/usr/bin/env bats
# llm-stats: figures from captures, every output format against golden
# files, inputs (files, days, compressed, stdin), filters, prices,
# percentiles, --follow, --serve, the HTML report in a real browser.
# Golden files: test/fixtures/stats/golden/; regenerate them with
#   PLLM_UPDATE_GOLDEN=1 sh test/run test/llm-stats.bats   (and read the diff)
load helper

STATS="$PLLM_BUILD/llm-stats/prog"
FIX="$PLLM_ROOT/test/fixtures/stats"
RELAYCAP="$FIX/relay.jsonl"     # a real capture: relay + mock (make-fixtures.sh)

teardown() {
    [ -n "${STATS_PID:-}" ] && { kill "$STATS_PID" 2>/dev/null || true; wait "$STATS_PID" 2>/dev/null || true; }
    common_teardown
}

# golden NAME COMMAND...: the output of COMMAND equals golden/NAME
golden() {
    local name=$1; shift
    "$@" > "$BATS_TEST_TMPDIR/out"
    if [ -n "${PLLM_UPDATE_GOLDEN:-}" ]; then
        mkdir -p "$FIX/golden"
        cp "$BATS_TEST_TMPDIR/out" "$FIX/golden/$name"
    fi
    diff -u "$FIX/golden/$name" "$BATS_TEST_TMPDIR/out"
}

# days DIR: three days in the daily layout, made from the real capture
# (times and ids moved): 24th at 09h, 25th twice (14h, 15h), 26th as is
days() {
    mkdir -p "$1/2026/11"
    sed 's/2026-11-26T10:/2026-11-24T09:/g; s/"id":"01a2/"id":"24a2/g' "$RELAYCAP" > "$1/2026/11/24.jsonl"
    { sed 's/2026-11-26T10:/2026-11-25T14:/g; s/"id":"01a2/"id":"25a2/g' "$RELAYCAP"
      sed 's/2026-11-26T10:/2026-11-25T15:/g; s/"id":"01a2/"id":"25b2/g' "$RELAYCAP"; } > "$1/2026/11/25.jsonl"
    cp "$RELAYCAP" "$1/2026/11/26.jsonl"
}

@test "golden: table, wide table, JSON, CSV, Prometheus from a real capture (both protocols, streams, errors, unknown price)" {
    golden relay.model.txt "$STATS" "$RELAYCAP"
    golden relay.user-status.wide.txt "$STATS" --wide --by user,status "$RELAYCAP"
    golden relay.model.json "$STATS" --json "$RELAYCAP"
    golden relay.model-user.csv "$STATS" --csv --by model,user "$RELAYCAP"
    golden relay.route-upstream.prom "$STATS" --prom --by route,upstream "$RELAYCAP"
    golden edge.model-user.json "$STATS" --json --by model,user "$FIX/edge.jsonl"
}

@test "figures: errors by kind, streams, tokens, cost, unknown price, dated model names" {
    run "$STATS" --json --by model "$RELAYCAP"
    assert_success
    j=$output
    # totals cross-checked with jq over the same capture
    [ "$(echo "$j" | jq .totals.requests)" = "$(jq -s 'map(select(.event=="end")) | length' "$RELAYCAP")" ]
    [ "$(echo "$j" | jq .totals.streams)" = "$(jq -s 'map(select(.event=="request" and .stream)) | length' "$RELAYCAP")" ]
    [ "$(echo "$j" | jq .totals.tokens.output)" = "$(jq -s 'map(select(.event=="end") | .usage.output_tokens // 0) | add' "$RELAYCAP")" ]
    echo "$j" | jq -e '.totals.errors == {"total":6,"upstream_4xx":1,"upstream_5xx":1,"upstream_other":1,"timeout":1,"client_closed":1,"relay":1,"aborted":0,"other":0}'
    # Anthropic input counts the cache reads: 11 + 2 per exchange
    echo "$j" | jq -e '.groups[] | select(.model=="claude-haiku-4-5") | .tokens == {"input":26,"output":41,"cached":4,"cache_write":0}'
    # translated (an OpenAI client, an Anthropic upstream): the usage is in the upstream's dialect
    id=$(jq -r 'select(.event=="request" and .model=="claude-haiku-4-5") | .id' "$RELAYCAP" | head -1)
    jq -c --arg id "$id" 'select(.id==$id) | if .event=="request" then .protocol="openai" | .upstream_protocol="anthropic" else . end' \
        "$RELAYCAP" > "$BATS_TEST_TMPDIR/translated.jsonl"
    "$STATS" --json "$BATS_TEST_TMPDIR/translated.jsonl" | jq -e '.totals.tokens == {"input":13,"output":40,"cached":2,"cache_write":0}'
    # the dated name is priced as gpt-4o: (16 × 2.50 + 6 × 1.25 + 25 × 10) / 1e6
    echo "$j" | jq -e '.groups[] | select(.model=="gpt-4o-2024-08-06") | .cost_usd == 0.0002975'
    echo "$j" | jq -e '.groups[] | select(.model=="claude-sonnet-4-5-20250929") | .cost_usd > 0'
    # no price: unknown, never zero; the totals say what is missing
    echo "$j" | jq -e '.groups[] | select(.model=="mock-model") | .cost_usd == null and .unpriced_requests == 2'
    echo "$j" | jq -e '.groups[] | select(.model=="llama-3-70b") | .cost_usd == null'
    echo "$j" | jq -e '.totals.unpriced_tokens == 32 and .totals.cost_usd > 0'
    run "$STATS" "$RELAYCAP"
    assert_line --regexp '^mock-model .* unknown '
    assert_line --regexp '^TOTAL .* 0\.000642\+\? '
}

@test "merging: retries, incomplete, orphan ends, malformed lines, later kinds and versions, a last line without newline" {
    run bash -c "'$STATS' --json --by model,user '$FIX/edge.jsonl' 2>/dev/null"
    assert_success
    echo "$output" | jq -e '.lines == 13 and .malformed == 2 and .unknown_version == 1'
    echo "$output" | jq -e '.exchanges == 2 and .incomplete == 1 and .orphan_ends == 1'
    echo "$output" | jq -e '.totals.retries == 1 and .totals.tokens.cache_write == 100'
    # the user from metadata.user_id, from "user" in a body written with spaces
    echo "$output" | jq -e '[.groups[] | .user] == ["carol", "frank", "alice"]'
    echo "$output" | jq -e '.groups[2].incomplete == 1 and .groups[2].requests == 0'
    run "$STATS" --strict "$FIX/edge.jsonl"
    [ "$status" -eq 100 ]
    assert_output --partial 'edge.jsonl:7: not a capture event: not one JSON object'
}

@test "inputs: a directory's days, --date, --since/--until, .gz and .zst, stdin, several files" {
    days "$BATS_TEST_TMPDIR/d"
    run "$STATS" --json --by day "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '[.groups[] | [.day, .requests]] == [["2026-11-24",14],["2026-11-25",28],["2026-11-26",14]]'
    run "$STATS" --json --by day --date 2026-11-25 "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '[.groups[] | .day] == ["2026-11-25"] and .totals.requests == 28 and .since == "2026-11-25T00:00:00.000000Z"'
    run "$STATS" --json --by hour --since 2026-11-25T15:00:00Z --until 2026-11-26 "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '[.groups[] | .hour] == ["2026-11-25T15", "2026-11-26T10"]'
    # compressed days read the same
    gzip -k "$BATS_TEST_TMPDIR/d/2026/11/24.jsonl"
    zstd -q --rm "$BATS_TEST_TMPDIR/d/2026/11/25.jsonl"
    rm "$BATS_TEST_TMPDIR/d/2026/11/24.jsonl"
    run "$STATS" --json --by day "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '[.groups[] | .requests] == [14,28,14]'
    run "$STATS" --json "$BATS_TEST_TMPDIR/d/2026/11/25.jsonl.zst" "$BATS_TEST_TMPDIR/d/2026/11/24.jsonl.gz"
    echo "$output" | jq -e '.totals.requests == 42'
    # stdin, named or not
    run bash -c "'$STATS' --json < '$RELAYCAP'"
    echo "$output" | jq -e '.totals.requests == 14'
    run bash -c "cat '$RELAYCAP' | '$STATS' --json -"
    echo "$output" | jq -e '.totals.requests == 14'
}

@test "an exchange across midnight counts on its request's day, its end read from the next day's file" {
    mkdir -p "$BATS_TEST_TMPDIR/d/2026/11"
    ID=0bb00000-0000-7000-8000-000000000001
    jq -c 'select(.event=="request") | .id="'$ID'" | .ts="2026-11-24T23:59:59.900000Z"' "$RELAYCAP" | head -1 > "$BATS_TEST_TMPDIR/d/2026/11/24.jsonl"
    { jq -c 'select(.event=="end") | .id="'$ID'" | .ts="2026-11-25T00:00:00.100000Z"' "$RELAYCAP" | head -1
      sed 's/2026-11-26T10:/2026-11-25T10:/g' "$RELAYCAP"; } > "$BATS_TEST_TMPDIR/d/2026/11/25.jsonl"
    run "$STATS" --json --date 2026-11-24 "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '.totals.requests == 1 and .incomplete == 0 and .orphan_ends == 0'
    run "$STATS" --json --date 2026-11-25 "$BATS_TEST_TMPDIR/d"
    echo "$output" | jq -e '.totals.requests == 14 and .orphan_ends == 1'
}

@test "--where filters merged exchanges with jq; --tz moves day and hour keys" {
    run "$STATS" --json --where '.stream and .outcome == "ok"' "$RELAYCAP"
    echo "$output" | jq -e '.totals.requests == 4 and .totals.streams == 4'
    run "$STATS" --json --by user --where '.user == "carol" and .usage.input_tokens > 10' "$RELAYCAP"
    echo "$output" | jq -e '[.groups[] | .user] == ["carol"] and .totals.requests == 2'
    run "$STATS" --where '.status >= 400 | not' --json "$RELAYCAP"
    echo "$output" | jq -e '.totals.requests == 10'
    run "$STATS" --where '.[' "$RELAYCAP"
    [ "$status" -eq 100 ]
    assert_output --partial '--where'
    run "$STATS" --json --by hour --tz +05:30 "$RELAYCAP"
    echo "$output" | jq -e '[.groups[] | .hour] == ["2026-11-26T15"] and .tz == "+05:30"'
    run "$STATS" --json --by day --tz America/Los_Angeles "$RELAYCAP"
    echo "$output" | jq -e '[.groups[] | .day] == ["2026-11-26"]'
    run "$STATS" --json --by hour --tz America/Los_Angeles "$RELAYCAP"
    echo "$output" | jq -e '[.groups[] | .hour] == ["2026-11-26T02"]'
    run "$STATS" --tz Mars/Olympus_Mons "$RELAYCAP"
    [ "$status" -eq 100 ]
}

@test "prices: the built-in table is llm-stats/prices.yaml; --prices replaces it; a bad file names its line" {
    run "$STATS" --show-prices
    assert_success
    taken=$(sed -n 's/^taken: "\(.*\)"/\1/p' "$PLLM_ROOT/llm-stats/prices.yaml")
    assert_line --index 0 --partial "prices of $taken (built-in)"
    [ "$(($(echo "$output" | wc -l) - 2))" = "$(grep -cE '^  [a-z0-9.-]+: *\{' "$PLLM_ROOT/llm-stats/prices.yaml")" ]
    assert_line --regexp '^gpt-4o +2\.5 +10 +1\.25 +2\.5$'
    printf 'taken: "2026-01-01"\nmodels:\n  mock-model: { input: 1000000, output: 2000000 }\n' > "$BATS_TEST_TMPDIR/p.yaml"
    run "$STATS" --json --prices "$BATS_TEST_TMPDIR/p.yaml" "$RELAYCAP"
    # 2 × (11 in + 5 out): cached tokens at the input price when no cached price is given
    echo "$output" | jq -e '(.groups[] | select(.model=="mock-model") | .cost_usd) == 42'
    echo "$output" | jq -e '.prices == {"taken":"2026-01-01","source":"'"$BATS_TEST_TMPDIR"'/p.yaml"}'
    echo "$output" | jq -e '(.groups[] | select(.model=="gpt-4o-mini") | .cost_usd) == null'
    printf 'taken: "2026-01-01"\nmodels:\n  m:\n    input: 1\n    output: -2\n' > "$BATS_TEST_TMPDIR/bad.yaml"
    run "$STATS" --prices "$BATS_TEST_TMPDIR/bad.yaml" "$RELAYCAP"
    [ "$status" -eq 100 ]
    assert_output --partial 'bad.yaml:5: models.m.output'
}

@test "percentiles: within 1% of the exact values on a generated set of 5000 exchanges" {
    # total_us from a skewed distribution; exact percentiles by sort
    awk 'BEGIN { srand(7); for (i = 0; i < 5000; i++) {
        id = sprintf("0cc00000-0000-7000-8000-%012d", i); t = int(1000 * exp(6 * rand() * rand())) + i % 97
        printf "{\"v\":1,\"event\":\"request\",\"id\":\"%s\",\"ts\":\"2026-11-26T10:00:00.000000Z\",\"model\":\"m\",\"stream\":false}\n", id
        printf "{\"v\":1,\"event\":\"end\",\"id\":\"%s\",\"ts\":\"2026-11-26T10:00:01.000000Z\",\"outcome\":\"ok\",\"status\":200,\"usage\":{},\"timing\":{\"ttfb_us\":%d,\"ttft_us\":null,\"total_us\":%d},\"attempts\":1}\n", id, t, t
        print t > "/dev/stderr" } }' > "$BATS_TEST_TMPDIR/gen.jsonl" 2> "$BATS_TEST_TMPDIR/exact"
    sort -n "$BATS_TEST_TMPDIR/exact" > "$BATS_TEST_TMPDIR/sorted"
    run "$STATS" --json "$BATS_TEST_TMPDIR/gen.jsonl"
    for q in 50 90 99; do
        # the value of rank floor(q/100 × (n − 1)), 0-based
        exact=$(sed -n "$((q * 4999 / 100 + 1))p" "$BATS_TEST_TMPDIR/sorted")
        got=$(echo "$output" | jq ".totals.total_ms.p$q * 1000")
        echo "p$q exact $exact got $got"
        awk -v e="$exact" -v g="$got" 'BEGIN { d = (g - e) / e; if (d < 0) d = -d; exit !(d <= 0.0101) }'
    done
    [ "$(echo "$output" | jq '.totals.total_ms.max * 1000 | round')" = "$(tail -1 "$BATS_TEST_TMPDIR/sorted")" ]
}

@test "--follow picks up appended events and prints a refreshed summary every interval" {
    head -c 0 /dev/null > "$BATS_TEST_TMPDIR/live.jsonl"
    "$STATS" --follow --interval 100ms --json "$BATS_TEST_TMPDIR/live.jsonl" > "$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" &
    STATS_PID=$!
    wait_for "$BATS_TEST_TMPDIR/out" '"exchanges":0'
    # an open exchange shows as incomplete, then its end completes it
    grep '"id":"01a21757-e331' "$RELAYCAP" | head -2 >> "$BATS_TEST_TMPDIR/live.jsonl"
    wait_for "$BATS_TEST_TMPDIR/out" '"incomplete":1'
    cat "$RELAYCAP" >> "$BATS_TEST_TMPDIR/live.jsonl"
    wait_for "$BATS_TEST_TMPDIR/out" '"exchanges":14'
    kill -TERM "$STATS_PID"
    wait "$STATS_PID"; rc=$?; STATS_PID=
    [ "$rc" -eq 0 ]
    tail -1 "$BATS_TEST_TMPDIR/out" | jq -e '.exchanges == 14 and .incomplete == 0 and .orphan_ends == 0'
    [ ! -s "$BATS_TEST_TMPDIR/err" ]
}

@test "--follow on a live relay's capture pipe (the man page's example, relay stdout instead of llm-tee)" {
    start_mock
    mkfifo "$BATS_TEST_TMPDIR/pipe"
    "$STATS" --follow --interval 100ms --json --by user < "$BATS_TEST_TMPDIR/pipe" > "$BATS_TEST_TMPDIR/out" &
    STATS_PID=$!
    "$RELAY" --listen 127.0.0.1:0 --upstream "$MOCK_URL" > "$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/relay.log" &
    RELAY_PID=$!
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'listening on'
    RELAY_URL="http://127.0.0.1:$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/relay.log" | head -1)"
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d '{"model":"gpt-4o","user":"u1","messages":[]}'
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d '{"model":"gpt-4o","user":"u2","stream":true,"messages":[]}'
    wait_for "$BATS_TEST_TMPDIR/out" '"exchanges":2'
    tail -1 "$BATS_TEST_TMPDIR/out" | jq -e '[.groups[] | .user] == ["u1","u2"] and .totals.tokens.output == 10'
    # the relay exits: the pipe ends, llm-stats prints its last summary and exits 0
    stop_relay
    wait "$STATS_PID"; rc=$?; STATS_PID=
    [ "$rc" -eq 0 ]
    tail -1 "$BATS_TEST_TMPDIR/out" | jq -e '.exchanges == 2'
}

@test "--serve: /usage and /api/usage/summary answer what --json says, and follow the files as they grow" {
    days "$BATS_TEST_TMPDIR/d"
    "$STATS" --serve --listen 127.0.0.1:0 "$BATS_TEST_TMPDIR/d" 2>"$BATS_TEST_TMPDIR/serve.log" &
    STATS_PID=$!
    wait_for "$BATS_TEST_TMPDIR/serve.log" 'listening on'
    URL="http://127.0.0.1:$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/serve.log")"
    curl -sS "$URL/api/usage/summary?by=user,model&since=2026-11-25" > "$BATS_TEST_TMPDIR/served"
    "$STATS" --json --by user,model --since 2026-11-25 "$BATS_TEST_TMPDIR/d" > "$BATS_TEST_TMPDIR/cli"
    cmp "$BATS_TEST_TMPDIR/served" "$BATS_TEST_TMPDIR/cli"
    curl -sS "$URL/usage?date=2026-11-24&by=day" > "$BATS_TEST_TMPDIR/served"
    "$STATS" --json --by day --date 2026-11-24 "$BATS_TEST_TMPDIR/d" > "$BATS_TEST_TMPDIR/cli"
    cmp "$BATS_TEST_TMPDIR/served" "$BATS_TEST_TMPDIR/cli"
    curl -sS "$URL/usage" | jq -e '.by == ["model"] and .totals.requests == 56'
    # the file grows: the answer follows
    sed 's/"id":"01a2/"id":"26b2/g' "$RELAYCAP" >> "$BATS_TEST_TMPDIR/d/2026/11/26.jsonl"
    curl -sS "$URL/usage" | jq -e '.totals.requests == 70'
    run curl -sS -w '\n%{http_code}' "$URL/usage?by=colour"
    assert_line --index 1 400
    echo "${lines[0]}" | jq -e '.error | contains("colour")'
    run curl -sS -o /dev/null -w '%{http_code}' "$URL/nothing"
    assert_output 404
    curl -sS "$URL/health" | jq -e '.status == "ok"'
    kill -TERM "$STATS_PID"
    wait "$STATS_PID" || { rc=$?; cat "$BATS_TEST_TMPDIR/serve.log"; echo "exit $rc"; false; }
    STATS_PID=
}

@test "--html: a self-contained report whose charts a headless Chromium draws" {
    days "$BATS_TEST_TMPDIR/d"
    run "$STATS" --html "$BATS_TEST_TMPDIR/r.html" --by day "$BATS_TEST_TMPDIR/d"
    assert_success
    assert_output ''
    golden days.day.html cat "$BATS_TEST_TMPDIR/r.html"
    # nothing to fetch: no src or href at all
    ! grep -Eo '(src|href)=' "$BATS_TEST_TMPDIR/r.html" || false
    command -v chromium >/dev/null || skip "chromium is not installed (bin/pllm-deps installs it)"
    marks=$(grep -o 'class="mark"' "$BATS_TEST_TMPDIR/r.html" | wc -l)
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$BATS_TEST_TMPDIR/chrome" --dump-dom "file://$BATS_TEST_TMPDIR/r.html" \
        2>/dev/null > "$BATS_TEST_TMPDIR/dom"
    run grep -o 'drawn: chart[^<]*' "$BATS_TEST_TMPDIR/dom"
    echo "$output"
    # 3 days: 3 bars + 3 cost dots; 5 models with latencies × 3 bars; 4 priced users; 4 hours
    assert_output "drawn: chart-days=6 chart-latency=15 chart-users=4 chart-errors=4 total=$marks"
}

@test "conventions: usage errors 100, unreadable 111, | head -1 quiet, a full disk 111" {
    run "$STATS" --by colour "$RELAYCAP"
    [ "$status" -eq 100 ]
    assert_output --partial "llm-stats: fatal: --by: unknown grouping 'colour'"
    run "$STATS" --bogus
    [ "$status" -eq 100 ]
    run "$STATS" --date 2026-02-30 "$RELAYCAP"
    [ "$status" -eq 100 ]
    run "$STATS" "$BATS_TEST_TMPDIR/missing.jsonl"
    [ "$status" -eq 111 ]
    assert_output "llm-stats: fatal: unable to open $BATS_TEST_TMPDIR/missing.jsonl: No such file or directory"
    run bash -c "'$STATS' --csv --by model,user,status '$RELAYCAP' | head -1"
    assert_success
    assert_output --regexp '^model,user,status,requests,'
    # a cut compressed file is an error, never a silent end
    zstd -q -c "$RELAYCAP" | head -c 3000 > "$BATS_TEST_TMPDIR/cut.jsonl.zst"
    run "$STATS" "$BATS_TEST_TMPDIR/cut.jsonl.zst"
    [ "$status" -eq 111 ]
    assert_output --partial 'cut.jsonl.zst: Truncated'
    run "$STATS" --json "$RELAYCAP" -o /dev/full
    [ "$status" -eq 111 ]
    run bash -c "'$STATS' '$RELAYCAP' > /dev/full"
    [ "$status" -eq 111 ]
    assert_output --partial 'unable to write stdout'
    run "$STATS" --version
    assert_output --regexp '^llm-stats [0-9]'
}

@test "-o writes the output file whole; Prometheus text is well formed" {
    run "$STATS" --prom -o "$BATS_TEST_TMPDIR/llm.prom" --by model,user,status "$RELAYCAP"
    assert_success
    [ ! -e "$BATS_TEST_TMPDIR/llm.prom.tmp" ]
    # every line: a comment (HELP/TYPE) or NAME{LABELS} VALUE
    ! grep -Ev '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? (NaN|-?[0-9.e+-]+))$' "$BATS_TEST_TMPDIR/llm.prom" || false
    grep -q '^llm_stats_requests{model="gpt-4o-mini",user="bob",status="429"} 1$' "$BATS_TEST_TMPDIR/llm.prom"
    grep -q '^llm_stats_errors{model="gpt-4o-mini",user="bob",status="429",kind="upstream_4xx"} 1$' "$BATS_TEST_TMPDIR/llm.prom"
    ! grep -q '^llm_stats_cost_usd{model="mock-model"' "$BATS_TEST_TMPDIR/llm.prom" || false
}

@test "encrypted days need --key; llm-tee -o - piped into llm-stats --follow (the man page's example)" {
    TEE="$PLLM_BUILD/llm-tee/prog"
    [ -x "$TEE" ] || skip "llm-tee is not built"
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$BATS_TEST_TMPDIR/key"
    # llm-tee stores the day encrypted and copies the stream to llm-stats
    "$TEE" -d "$BATS_TEST_TMPDIR/d" --stdin -o - --encrypt-key "$BATS_TEST_TMPDIR/key" -q < "$RELAYCAP" |
        "$STATS" --follow --json --by model > "$BATS_TEST_TMPDIR/out"
    tail -1 "$BATS_TEST_TMPDIR/out" | jq -e '.exchanges == 14'
    run "$STATS" --json --key "$BATS_TEST_TMPDIR/key" "$BATS_TEST_TMPDIR/d"
    assert_success
    echo "$output" | jq -e '.totals.requests == 14'
    run "$STATS" "$BATS_TEST_TMPDIR/d"
    [ "$status" -eq 111 ]
    assert_output --partial 'a key file is needed'
}

@test "man page: lint clean; the CSV example is what the program prints" {
    cd "$PLLM_ROOT"
    sed -n '/^\$ llm-stats --csv --by route/,/^\.Ed/p' man/llm-stats.1 | sed '1,2d;$d' > "$BATS_TEST_TMPDIR/want"
    [ -s "$BATS_TEST_TMPDIR/want" ]
    "$STATS" --csv --by route test/fixtures/stats/relay.jsonl | cut -d, -f1-5 | diff "$BATS_TEST_TMPDIR/want" -

    run mandoc -Tlint -Wwarning "$PLLM_ROOT/man/llm-stats.1"
    assert_success
    assert_output ''
}
