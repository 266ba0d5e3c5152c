# helper.bash — shared set-up for the bats suites: start the mock upstream
# and the relay on ephemeral ports, capture to a file, stop them, and check
# every capture event against the schema.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${PLLM_ROOT:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${PLLM_BUILD:=$PLLM_ROOT/build}"
RELAY="$PLLM_BUILD/llm-relay/prog"
MOCK="$PLLM_BUILD/test/mock-upstream"
TOOLS="$PLLM_ROOT/test/tools"

# wait_for FILE PATTERN [TRIES×0.05s]
wait_for() {
    local i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ "$i" -gt "${3:-200}" ] && return 1
        sleep 0.05
    done
}

start_mock() {
    "$MOCK" --port-file "$BATS_TEST_TMPDIR/mock.port" "$@" 2>"$BATS_TEST_TMPDIR/mock.log" &
    MOCK_PID=$!
    wait_for "$BATS_TEST_TMPDIR/mock.port" '[0-9]' || { cat "$BATS_TEST_TMPDIR/mock.log"; return 1; }
    MOCK_PORT=$(cat "$BATS_TEST_TMPDIR/mock.port")
    MOCK_URL="http://127.0.0.1:$MOCK_PORT"
}

# start_relay [relay flags...] — default: --upstream $MOCK_URL, capture file
start_relay() {
    CAP="$BATS_TEST_TMPDIR/capture.jsonl"
    rm -f "$CAP"
    : > "$BATS_TEST_TMPDIR/relay.log"
    "$RELAY" --listen 127.0.0.1:0 --capture "$CAP" "$@" 2>"$BATS_TEST_TMPDIR/relay.log" &
    RELAY_PID=$!
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'listening on' || { cat "$BATS_TEST_TMPDIR/relay.log"; return 1; }
    RELAY_PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/relay.log" | head -1)
    RELAY_URL="http://127.0.0.1:$RELAY_PORT"
}

stop_relay() {
    if [ -n "${RELAY_PID:-}" ]; then
        kill -TERM "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
        RELAY_PID=
    fi
}

# free_port — a TCP port for a server that cannot bind port 0 itself
# (systemd-socket-activate): below the kernel's ephemeral range, so no
# client socket of another test (or its TIME_WAIT) holds it, and in no
# state in /proc/net/tcp{,6}.
free_port() {
    local low p i
    low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    # an ephemeral range that starts low leaves nothing below it: any port then
    [ "$low" -gt 12000 ] 2>/dev/null || low=60000
    for i in $(seq 1 100); do
        p=$((10000 + RANDOM % (low - 10000)))
        port_unused "$p" && { echo "$p"; return 0; }
    done
    return 1
}

# port_unused PORT — no TCP socket of this machine has it as its local port
port_unused() {
    ! awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        grep -qix "$(printf '%04X' "$1")"
}

# wait_listen PORT [TRIES×0.05s] — until something listens on 127.0.0.1:PORT
wait_listen() {
    local hex i=0
    hex=$(printf '%04X' "$1")
    until awk -v h="$hex" 'NR > 1 && $4 == "0A" { split($2, a, ":"); if (a[2] == h) f = 1 } END { exit !f }' \
            /proc/net/tcp /proc/net/tcp6 2>/dev/null; do
        i=$((i + 1)); [ "$i" -gt "${2:-200}" ] && return 1
        sleep 0.05
    done
}

# events of the capture: jq over the file
cap() { jq -c "$@" "$CAP"; }

validate_capture() {
    [ -s "${CAP:-/nonexistent}" ] || return 0
    node "$TOOLS/validate-capture.js" "$CAP"
}

common_teardown() {
    stop_relay
    # other servers a test started (BG_PIDS="pid …")
    for p in ${BG_PIDS:-}; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "${MOCK_PID:-}" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$BATS_TEST_TMPDIR/relay.log" 2>/dev/null; then
        cat "$BATS_TEST_TMPDIR/relay.log" >&2
        return 1
    fi
}
