#!/usr/bin/env bats
# llm-relay against hostile clients: request smuggling shapes, oversized
# heads and bodies, slowloris, slow bodies, connection floods, clients that
# never read. Each gets the right status and Connection: close, and the
# relay keeps serving everyone else.
load helper

setup() { start_mock; }
teardown() { common_teardown; }

probe() { node "$TOOLS/probe.js" "$RELAY_PORT" "$@"; }

# smuggle NAME EXPECTED-STATUS REQUEST: the status, the close, and no request
# reached the upstream (the pipelined "smuggled" one included).
smuggle() {
    local want=$1 req=$2
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    run probe "$req" --timeout 2000
    echo "$output" | jq -e --argjson w "$want" '.statuses[0] == $w and (.statuses | length) == 1 and .closed' \
        || { echo "got: $output"; return 1; }
    echo "$output" | jq -e '.head | test("(?i)connection: close")' || { echo "no Connection: close: $output"; return 1; }
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 0' || { echo "a request reached the upstream"; return 1; }
}

SMUGGLED='GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Mock-Scenario: echo\r\n\r\n'

@test "request smuggling shapes are refused with 400/501 and close; nothing reaches the upstream" {
    start_relay --upstream "$MOCK_URL"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 30\r\n\r\nab$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED"
    smuggle 501 "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n$SMUGGLED"
    smuggle 501 "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n$SMUGGLED"
    smuggle 501 "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nX-A: b\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n$SMUGGLED"
    smuggle 400 "POST /v1/x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n$SMUGGLED"
    # the relay still serves everyone else
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    assert_output 200
}

@test "request-targets: absolute-form goes upstream in origin form, OPTIONS * is answered, others get 400 and close" {
    start_relay --upstream "$MOCK_URL"
    run probe 'GET http://api.example.com/v1/models?x=1 HTTP/1.1\r\nHost: api.example.com\r\nX-Mock-Scenario: echo\r\n\r\n' --timeout 500
    echo "$output" | jq -e '.statuses == [200]'
    curl -sS "$MOCK_URL/__mock/last" | jq -e '.target == "/v1/models?x=1"'
    run probe 'GET HTTPS://api.example.com?y=2 HTTP/1.1\r\nHost: api.example.com\r\nX-Mock-Scenario: echo\r\n\r\n' --timeout 500
    echo "$output" | jq -e '.statuses == [200]'
    curl -sS "$MOCK_URL/__mock/last" | jq -e '.target == "/?y=2"'
    # the relay's own paths are recognised in absolute-form too
    run probe 'GET http://relay.example/health HTTP/1.1\r\nHost: relay.example\r\n\r\n' --timeout 500
    echo "$output" | jq -e '.statuses == [200] and (.head | test("application/json"))'
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    run probe 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n' --timeout 500
    echo "$output" | jq -e '.statuses == [200] and (.head | test("\r\nAllow: [A-Z, ]*POST")) and (.closed | not)'
    smuggle 400 "GET * HTTP/1.1\r\nHost: a\r\n\r\n$SMUGGLED"
    smuggle 400 "GET v1/models HTTP/1.1\r\nHost: a\r\n\r\n$SMUGGLED"
    stop_relay
    run cap -r 'select(.event=="request") | .uri'
    assert_output "$(printf '/v1/models?x=1\n/?y=2\n*\nv1/models')"
    validate_capture
}

@test "a head that leaves no room for the answer's head gets a native 431 and close; smaller ones pass" {
    start_relay --upstream "$MOCK_URL"          # connection_memory 12KiB: heads up to 8KiB
    big=$(head -c 9000 /dev/zero | tr '\0' a)
    run probe "GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n"
    echo "$output" | jq -e '.statuses == [431] and .closed and (.head | test("(?i)content-type: application/json"))'
    ok=$(head -c 7000 /dev/zero | tr '\0' a)
    run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $ok" "$RELAY_URL/v1/models"
    assert_output 200
    stop_relay
    run cap -r 'select(.event=="end") | [.status, .error] | @tsv'
    assert_line --index 0 "$(printf '431\trequest header fields too large')"
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { connection_memory: 16KiB }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/c.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/c.yaml"
    run curl -sS -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$RELAY_URL/v1/models"
    assert_output 200
}

@test "invalid chunk sizes are refused with 400 and the connection closed" {
    start_relay --upstream "$MOCK_URL"
    for size in zz -5 0x5 '5 ;' FFFFFFFFFFFFFFFFFFFF1; do
        run probe "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n$size\r\nhello\r\n0\r\n\r\n$SMUGGLED" --timeout 2000
        echo "$output" | jq -e '(.statuses[0] == 400 or .statuses[0] == 413) and (.statuses|length) == 1 and .closed' || { echo "$size: $output"; false; }
    done
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 0'
}

@test "oversized head → 431, oversized body → 413, missing, doubled or invalid Host → 400, all with close" {
    start_relay --upstream "$MOCK_URL" --max-body 1k
    big=$(head -c 40000 /dev/zero | tr '\0' a)
    run probe "GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Big: $big\r\n\r\n"
    echo "$output" | jq -e '.statuses == [431] and .closed'
    run probe "POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n"
    echo "$output" | jq -e '.statuses == [413] and .closed'
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 0'
    # Host (RFC 9112 §3.2): one answer each, the relay's own JSON, nothing upstream
    smuggle 400 "GET /v1/models HTTP/1.1\r\n\r\n$SMUGGLED"
    echo "$output" | jq -e '.head | test("application/json")'
    smuggle 400 "GET /v1/models HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n$SMUGGLED"
    smuggle 400 "GET /v1/models HTTP/1.1\r\nHost: a b\r\n\r\n$SMUGGLED"
    smuggle 400 "GET /v1/models HTTP/1.1\r\nHost: a/b\r\n\r\n$SMUGGLED"
    # HTTP/1.0 needs none; an empty one and [IPv6]:port are valid
    run probe "GET /v1/models HTTP/1.0\r\n\r\n"
    echo "$output" | jq -e '.statuses == [200]'
    run probe "GET /v1/models HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n"
    echo "$output" | jq -e '.statuses == [200]'
    run probe "GET /v1/models HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"
    echo "$output" | jq -e '.statuses == [200]'
    stop_relay
    run cap -r 'select(.event=="end" and .status == 400) | .error'
    assert_output "$(printf 'missing Host header\nmore than one Host header\ninvalid Host header\ninvalid Host header')"
}

@test "slowloris: a head trickled byte by byte is closed at the header deadline; others are served meanwhile" {
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { header_timeout: 1s }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    probe 'GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n' --trickle 100 --timeout 6000 > "$BATS_TEST_TMPDIR/slow" &
    ppid=$!
    sleep 0.3
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    assert_output 200
    wait "$ppid"
    jq -e '.closed and (.statuses | length) == 0 and .ms < 4000 and .sent < 60' "$BATS_TEST_TMPDIR/slow"
}

@test "a body trickled below the minimum rate is closed" {
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { body_grace: 1s, body_min_rate: 1000 }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    body=$(head -c 200 /dev/zero | tr '\0' a)
    run probe "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n$body" --trickle 20 --timeout 8000
    echo "$output" | jq -e '.closed and .ms < 6000'
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.requests == 0'
}

@test "per-IP and global connection limits answer 503 with Retry-After and close" {
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { per_ip_connections: 3 }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    node "$TOOLS/idle.js" "$RELAY_PORT" 3 4 > "$BATS_TEST_TMPDIR/idle" &
    ipid=$!
    wait_for "$BATS_TEST_TMPDIR/idle" 'open 3'
    run probe 'GET /v1/models HTTP/1.1\r\nHost: a\r\n\r\n'
    echo "$output" | jq -e '.statuses == [503] and .closed and (.head | test("(?i)retry-after: 1")) and (.head | test("(?i)connection: close"))'
    wait "$ipid"
    stop_relay
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { max_connections: 2 }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    node "$TOOLS/idle.js" "$RELAY_PORT" 2 3 > "$BATS_TEST_TMPDIR/idle" &
    ipid=$!
    wait_for "$BATS_TEST_TMPDIR/idle" 'open 2'
    run curl -sS -i "$RELAY_URL/v1/models"
    assert_line --partial '503'
    wait "$ipid"
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    assert_output 200
}

@test "a client that never reads: upstream paused, memory bounded, ended at the idle deadline and captured" {
    printf 'upstreams:\n  m: { url: "%s", idle_timeout: 1s }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    curl -sS -o /dev/null "$RELAY_URL/v1/chat/completions" -d '{"model":"m","stream":true}'
    rss0=$(awk '/VmRSS/ {print $2}' /proc/$RELAY_PID/status)
    curl -sS -X POST "$MOCK_URL/__mock/reset" > /dev/null
    probe 'POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nX-Mock-Chunks: 1000000\r\nContent-Length: 28\r\n\r\n{"model":"m","stream":true}\n' --hold 6000 --timeout 500 > /dev/null &
    ppid=$!
    sleep 2.5
    rss=$(awk '/VmRSS/ {print $2}' /proc/$RELAY_PID/status)
    wait "$ppid"
    echo "RSS before $rss0 KiB, during $rss KiB"
    limit=16384; case "$PLLM_BUILD" in *san*) limit=65536 ;; esac   # ASan keeps freed memory a while
    [ $((rss - rss0)) -lt "$limit" ]     # the 180 MB stream is not held in memory
    # the upstream was paused, then cancelled: it never finished its stream
    curl -sS "$MOCK_URL/__mock/stats" | jq -e '.streams_completed == 0'
    stop_relay
    run cap -r 'select(.event=="end" and .outcome != "ok") | [.outcome, .error, (.timing.total_us < 5500000)] | @tsv'
    assert_output "$(printf 'client_closed\tidle timeout: the client stopped reading\ttrue')"
    validate_capture
}

@test "2,000 idle connections plus a slowloris attack do not stop a normal client" {
    ulimit -n 8192
    printf 'upstreams:\n  m: { url: "%s" }\nlimits: { header_timeout: 30s }\n' "$MOCK_URL" > "$BATS_TEST_TMPDIR/r.yaml"
    start_relay -c "$BATS_TEST_TMPDIR/r.yaml"
    node "$TOOLS/idle.js" "$RELAY_PORT" 2000 8 > "$BATS_TEST_TMPDIR/idle" &
    pids=$!
    for i in 1 2 3 4 5; do
        probe 'GET /v1/models HTTP/1.1\r\nHost: a\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaa\r\n\r\n' --trickle 200 --timeout 7000 > /dev/null &
        pids="$pids $!"
    done
    wait_for "$BATS_TEST_TMPDIR/idle" 'open 2000' 300
    run curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/chat/completions" -d '{"model":"m"}'
    assert_output 200
    run curl -sS --max-time 5 -N "$RELAY_URL/v1/chat/completions" -d '{"model":"m","stream":true}'
    assert_output --partial '[DONE]'
    kill $pids 2>/dev/null || true
}

@test "listens on IPv6 and IPv4 at once" {
    start_relay --upstream "$MOCK_URL" --listen '[::1]:0'
    port6=$(sed -n 's/.*listening on \[::1\]:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/relay.log")
    run curl -sS -g -o /dev/null -w '%{http_code}' "http://[::1]:$port6/v1/models"
    assert_output 200
    run curl -sS -o /dev/null -w '%{http_code}' "$RELAY_URL/v1/models"
    assert_output 200
}
