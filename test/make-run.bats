#!/usr/bin/env bats
# make run's script (bin/pllm-run): the relay in front of the offline demo
# upstream, capturing through llm-tee into daily files; SIGTERM stops every
# process it started, the capture complete.
load helper

BUILD_NAME=$(basename "$PLLM_BUILD")

setup() { RUN_PID=; }
teardown() {
    [ -n "$RUN_PID" ] && { kill -TERM "$RUN_PID" 2>/dev/null; wait "$RUN_PID" 2>/dev/null; }
    common_teardown
}

# run_script [VAR=value...]: bin/pllm-run, no provider keys, on the ports
# and data directory of this test
run_script() {
    exec env -u OPENAI_API_KEY -u ANTHROPIC_API_KEY BUILD="$BUILD_NAME" PLLM_LISTEN="127.0.0.1:$RUN_PORT" \
        PLLM_DEMO_PORT="$DEMO_PORT" PLLM_DATA="$DATA" "$@" sh "$PLLM_ROOT/bin/pllm-run"
}

# start_run [VAR=value...]: bin/pllm-run on free ports, data in the test's dir
start_run() {
    RUN_PORT=$(free_port)
    while :; do
        DEMO_PORT=$(free_port)      # and the next one, for the demo mock
        [ "$DEMO_PORT" != "$RUN_PORT" ] && [ $((DEMO_PORT + 1)) != "$RUN_PORT" ] && port_unused $((DEMO_PORT + 1)) && break
    done
    DATA="$BATS_TEST_TMPDIR/data"
    run_script "$@" > "$BATS_TEST_TMPDIR/run.log" 2>&1 &
    RUN_PID=$!
    for i in $(seq 1 200); do
        curl -s -m 1 -o /dev/null "http://127.0.0.1:$RUN_PORT/health" && return 0
        sleep 0.05
    done
    cat "$BATS_TEST_TMPDIR/run.log"
    return 1
}

stop_run() {
    kill -TERM "$RUN_PID"
    wait "$RUN_PID"; local rc=$?
    RUN_PID=
    return $rc
}

# none of the processes it started is left: nothing listens on its ports
# and nothing runs with its data directory
nothing_left() {
    ! pgrep -f "$DATA" > /dev/null || false
    ! pgrep -f "127.0.0.1:$DEMO_PORT" > /dev/null || false
    ! curl -s -m 1 -o /dev/null "http://127.0.0.1:$RUN_PORT/health" || false
}

@test "make run: relay, demo upstream and llm-tee; a chat and a message captured in today's file; SIGTERM stops all with 0" {
    start_run
    grep -q "capture in $BATS_TEST_TMPDIR/data/YYYY/MM/DD.jsonl (llm-tee" "$BATS_TEST_TMPDIR/run.log"
    run curl -sS -N "http://127.0.0.1:$RUN_PORT/v1/chat/completions" -H 'Content-Type: application/json' \
        -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Hi"}]}'
    assert_line 'data: [DONE]'
    run curl -sS "http://127.0.0.1:$RUN_PORT/v1/messages" -H 'Content-Type: application/json' \
        -H 'anthropic-version: 2023-06-01' -d '{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}'
    echo "$output" | jq -e '.type == "message"'
    stop_run
    nothing_left
    CAP="$DATA/$(date -u +%Y/%m/%d).jsonl"
    run jq -r 'select(.event == "end") | [.protocol // "", .outcome] | @tsv' "$CAP"
    [ "$(echo "$output" | grep -c 'ok$')" -eq 2 ]
    [ ! -e "$DATA/llm-tee.sock" ]
    validate_capture
}

@test "make run: PLLM_CAPTURE names a sink of one's own (no llm-tee); a relay that cannot start ends the rest" {
    start_run PLLM_CAPTURE="$BATS_TEST_TMPDIR/cap.jsonl"
    grep -q "capture in $BATS_TEST_TMPDIR/cap.jsonl" "$BATS_TEST_TMPDIR/run.log"
    run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RUN_PORT/v1/chat/completions" \
        -H 'Content-Type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]}'
    assert_output 200
    ! grep -q 'llm-tee' "$BATS_TEST_TMPDIR/run.log" || false
    stop_run
    nothing_left
    CAP="$BATS_TEST_TMPDIR/cap.jsonl"
    run jq -r 'select(.event == "end") | .outcome' "$CAP"
    assert_output ok
    validate_capture
    # the relay's port taken: it exits 111, and so does the script, leaving nothing behind
    python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$RUN_PORT" &
    BG_PIDS=$!
    wait_listen "$RUN_PORT"
    run run_script
    [ "$status" -eq 111 ]
    assert_output --partial 'unable to listen on 127.0.0.1:'"$RUN_PORT"': Address already in use'
    ! pgrep -f "$DATA" > /dev/null || false
    ! pgrep -f "127.0.0.1:$DEMO_PORT" > /dev/null || false
}
