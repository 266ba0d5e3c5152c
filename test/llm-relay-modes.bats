#!/usr/bin/env bats
# llm-relay process modes: systemd socket activation with workers (Accept=no),
# inetd (Accept=yes) with keep-alive, sd_notify, and the shipped unit files.
load helper

setup() { start_mock; }
teardown() {
    [ -n "${SSA_PID:-}" ] && { kill -TERM "$SSA_PID" 2>/dev/null; wait "$SSA_PID" 2>/dev/null; }
    common_teardown
}

@test "socket activation (Accept=no) with 2 workers: both serve, a killed worker is restarted, SIGTERM ends all with 0" {
    port=$(free_port)
    CAP="$BATS_TEST_TMPDIR/capture.jsonl"
    systemd-socket-activate -l "127.0.0.1:$port" -- "$RELAY" --workers 2 --upstream "$MOCK_URL" \
        --capture "$CAP" 2>"$BATS_TEST_TMPDIR/relay.log" &
    SSA_PID=$!
    wait_listen "$port"
    # which worker accepts is the kernel's choice: ask until both have answered
    : > "$BATS_TEST_TMPDIR/seen"
    for i in $(seq 1 500); do
        curl -sS "http://127.0.0.1:$port/health" | jq -r .pid >> "$BATS_TEST_TMPDIR/seen"
        [ "$(sort -u "$BATS_TEST_TMPDIR/seen" | wc -l)" -ge 2 ] && break
    done
    sort -u "$BATS_TEST_TMPDIR/seen" > "$BATS_TEST_TMPDIR/pids"
    [ "$(wc -l < "$BATS_TEST_TMPDIR/pids")" -eq 2 ]
    # the parent is the process systemd-socket-activate exec'd: SSA_PID itself
    [ "$(pgrep -P "$SSA_PID" | sort | tr '\n' ' ')" = "$(sort "$BATS_TEST_TMPDIR/pids" | tr '\n' ' ')" ]
    victim=$(head -1 "$BATS_TEST_TMPDIR/pids")
    kill -9 "$victim"
    for i in $(seq 1 30); do [ "$(pgrep -P "$SSA_PID" | wc -l)" -eq 2 ] && ! pgrep -P "$SSA_PID" | grep -qx "$victim" && break; sleep 0.1; done
    [ "$(pgrep -P "$SSA_PID" | wc -l)" -eq 2 ]
    ! pgrep -P "$SSA_PID" | grep -qx "$victim" || false
    grep -q 'died of signal 9: restarting' "$BATS_TEST_TMPDIR/relay.log"
    run curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions" -d '{"model":"m"}'
    assert_output 200
    kill -TERM "$SSA_PID"
    wait "$SSA_PID"; rc=$?; SSA_PID=
    [ "$rc" -eq 0 ]
    run jq -r 'select(.event=="end") | .outcome' "$CAP"
    assert_output ok
    validate_capture
}

@test "inetd mode (Accept=yes): keep-alive across several requests on fd 0, then exit" {
    port=$(free_port)
    CAP="$BATS_TEST_TMPDIR/capture.jsonl"
    systemd-socket-activate --inetd -a -l "127.0.0.1:$port" -- "$RELAY" --inetd --upstream "$MOCK_URL" \
        --capture "$CAP" 2>"$BATS_TEST_TMPDIR/relay.log" &
    SSA_PID=$!
    wait_listen "$port"
    run curl -sS -v -o /dev/null -o /dev/null -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" \
        "http://127.0.0.1:$port/v1/chat/completions" "http://127.0.0.1:$port/health" -d '{"model":"m","stream":true}'
    [ "$status" -eq 0 ] || { echo "$output"; cat "$BATS_TEST_TMPDIR/relay.log"; false; }
    [ "$(echo "$output" | grep -c 'Re-using existing connection')" -eq 2 ] || { echo "$output"; false; }
    [ "$(echo "$output" | grep -c '< HTTP/1.1 200')" -eq 3 ]
    for i in $(seq 1 30); do grep -q 'died with code 0' "$BATS_TEST_TMPDIR/relay.log" && break; sleep 0.1; done
    grep -q 'died with code 0' "$BATS_TEST_TMPDIR/relay.log"
    run jq -r 'select(.event=="request") | .path' "$CAP"
    assert_output "$(printf '/v1/chat/completions\n/v1/chat/completions')"
    validate_capture
}

@test "stdout capture is refused where processes would share it or it is the client" {
    run "$RELAY" --inetd --upstream "$MOCK_URL"
    [ "$status" -eq 100 ]
    assert_output --partial 'standard output is the client'
    run "$RELAY" --workers 2 --upstream "$MOCK_URL" --listen 127.0.0.1:0
    [ "$status" -eq 100 ]
    assert_output --partial 'must not share one pipe'
    run "$RELAY" --workers 0 --upstream "$MOCK_URL"
    [ "$status" -eq 100 ]
}

@test "sd_notify: READY=1 after start-up, STOPPING=1 on drain" {
    command -v python3 >/dev/null || skip "python3 not installed"
    sock="$BATS_TEST_TMPDIR/notify.sock"
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(10)
with open(sys.argv[2], "w") as f:
    for _ in range(2):
        try: f.write(s.recv(4096).decode() + "\n"); f.flush()
        except socket.timeout: break
' "$sock" "$BATS_TEST_TMPDIR/notes" &
    npid=$!
    sleep 0.3
    NOTIFY_SOCKET="$sock" start_relay --upstream "$MOCK_URL"
    wait_for "$BATS_TEST_TMPDIR/notes" 'READY=1'
    stop_relay
    wait "$npid"
    run cat "$BATS_TEST_TMPDIR/notes"
    assert_line 'READY=1'
    assert_line 'STOPPING=1'
}

@test "the shipped systemd units are valid" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
    d="$BATS_TEST_TMPDIR/units"; mkdir -p "$d/a"
    for f in llm-relay.socket llm-relay.service; do
        sed "s|/usr/local/bin/llm-relay|$RELAY|" "$PLLM_ROOT/systemd/$f" > "$d/$f"
    done
    sed "s|/usr/local/bin/llm-relay|$RELAY|" "$PLLM_ROOT/systemd/llm-relay@.service" > "$d/a/llm-relay@.service"
    cp "$PLLM_ROOT/systemd/accept/llm-relay.socket" "$d/a/llm-relay.socket"
    run bash -c "cd '$d' && systemd-analyze verify llm-relay.socket llm-relay.service 2>&1"
    assert_output ''
    run bash -c "cd '$d/a' && systemd-analyze verify llm-relay.socket llm-relay@.service 2>&1"
    refute_output --partial 'Unknown'
    refute_output --partial 'rror'
}
