#!/usr/bin/env bats
# llm-tee: daily files, many writers, crash safety, rotation, compression,
# retention, encryption, the stdout copy, signals, and the relay link.
load helper
bats_require_minimum_version 1.5.0

TEE="$PLLM_BUILD/llm-tee/prog"
WRITER="$PLLM_ROOT/test/tee/writer.js"

setup() {
    D="$BATS_TEST_TMPDIR/d"
    SOCK="$BATS_TEST_TMPDIR/tee.sock"
    TEE_PID=
}

teardown() {
    stop_tee
    common_teardown
    if grep -q 'ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer' "$BATS_TEST_TMPDIR"/tee*.log 2>/dev/null; then
        cat "$BATS_TEST_TMPDIR"/tee*.log >&2
        return 1
    fi
}

# ev TS [FIELDS] — one event line
ev() { printf '{"v":1,"event":"t","id":"x","ts":"%s"%s}\n' "$1" "${2:+,$2}"; }

# gen N [TS] — N numbered events
gen() { awk -v n="$1" -v ts="${2:-2026-11-26T12:00:00.000000Z}" 'BEGIN { for (i = 0; i < n; i++) printf "{\"v\":1,\"event\":\"t\",\"id\":\"g\",\"ts\":\"%s\",\"seq\":%d,\"pad\":\"%0*d\"}\n", ts, i, i % 200, 0 }'; }

# start_tee LOG [flags] — llm-tee listening on $SOCK
start_tee() {
    local log="$BATS_TEST_TMPDIR/$1"; shift
    "$TEE" -d "$D" --listen "unix:$SOCK" "$@" 2>"$log" &
    TEE_PID=$!
    wait_for "$log" 'listening on' || { cat "$log"; return 1; }
}

stop_tee() {
    if [ -n "${TEE_PID:-}" ]; then
        kill -TERM "$TEE_PID" 2>/dev/null || true
        wait "$TEE_PID" 2>/dev/null || true
        TEE_PID=
    fi
}

# wait_file GLOB [TRIES×0.05s]
wait_file() {
    local i=0
    while ! compgen -G "$1" >/dev/null; do
        i=$((i + 1)); [ "$i" -gt "${2:-200}" ] && return 1
        sleep 0.05
    done
}

@test "stdin: a file per day of each event's ts (UTC), rejects kept with their reason, copy on stdout" {
    {
        ev 2026-11-25T23:59:59.999999Z
        ev 2026-11-26T00:00:00.000000Z
        echo 'not json'
        echo '[1,2]'
        printf '{"v":1,"bad":"\xff"}\n'
        echo '{"no":"ts"}'
        ev 2026-12-31T23:59:59Z '"a":1'
        printf '{"v":1,"event":"t","id":"x","ts":"2027-01-01T00:00:00+01:00","last":true}'
    } > "$BATS_TEST_TMPDIR/in"
    run --separate-stderr "$TEE" -d "$D" -o - < "$BATS_TEST_TMPDIR/in"
    assert_success
    # the copy: every accepted line, in order
    [ "$(echo "$output" | wc -l)" -eq 5 ]
    echo "$output" | jq -e . >/dev/null
    [ "$(echo "$output" | tail -1)" = '{"v":1,"event":"t","id":"x","ts":"2027-01-01T00:00:00+01:00","last":true}' ]
    grep -q '25T23:59:59.999999Z' "$D/2026/11/25.jsonl"
    grep -q '26T00:00:00.000000Z' "$D/2026/11/26.jsonl"
    [ "$(wc -l < "$D/2026/11/25.jsonl")" -eq 1 ]
    grep -q '"a":1' "$D/2026/12/31.jsonl"
    grep -q '"last":true' "$D/2026/12/31.jsonl"        # +01:00 is still Dec 31 in UTC
    # a JSON object without ts is kept, filed under the day it arrived
    today=$(date -u +%Y/%m/%d)
    grep -q '{"no":"ts"}' "$D/$today.jsonl"
    # rejects: reject events beside the day they arrived
    run jq -r '[.event, .reason, .source, .bytes, (.line_encoding // .line)] | @tsv' "$D/$today.rejects.jsonl"
    assert_line "$(printf 'reject\tnot a JSON object\tstdin\t8\tnot json')"
    assert_line "$(printf 'reject\tnot a JSON object\tstdin\t5\t[1,2]')"
    assert_line "$(printf 'reject\tinvalid UTF-8 in a string\tstdin\t17\tbase64')"
    [ "$(jq -r 'select(.line_encoding) | .line' "$D/$today.rejects.jsonl" | base64 -d | od -An -tx1 | tr -d ' \n')" = "$(printf '{"v":1,"bad":"\xff"}' | od -An -tx1 | tr -d ' \n')" ]
    [ "$(jq -s length "$D/$today.rejects.jsonl")" -eq 3 ]
    echo "$stderr" | grep -q 'warning: stdin: 8-byte line rejected: not a JSON object'
    echo "$stderr" | grep -q 'stopped: 5 lines written, 3 rejected, 1 without ts'
    [ -f "$D/.lock" ]
}

@test "a long line that is not UTF-8 is rejected and kept whole in base64; the lines around it go on" {
    {
        ev 2026-11-26T10:00:00Z '"n":1'
        printf '{"v":1,"bad":"'; head -c 20000 /dev/zero | tr '\0' '\377'; printf '"}\n'
        ev 2026-11-26T10:00:01Z '"n":2'
    } > "$BATS_TEST_TMPDIR/in"
    run --separate-stderr "$TEE" -d "$D" < "$BATS_TEST_TMPDIR/in"
    assert_success
    [ "$(wc -l < "$D/2026/11/26.jsonl")" -eq 2 ]
    today=$(date -u +%Y/%m/%d)
    [ "$(jq -r '.line' "$D/$today.rejects.jsonl" | base64 -d | wc -c)" -eq 20016 ]
    jq -e '.reason == "invalid UTF-8 in a string" and .bytes == 20016' "$D/$today.rejects.jsonl"
}

@test "stdin a pipe whose writer stays open: each line is in the file (and the copy) without waiting for the next" {
    mkfifo "$BATS_TEST_TMPDIR/fifo"
    "$TEE" -d "$D" -o - < "$BATS_TEST_TMPDIR/fifo" > "$BATS_TEST_TMPDIR/copy" 2>"$BATS_TEST_TMPDIR/tee.log" &
    TEE_PID=$!
    exec 7>"$BATS_TEST_TMPDIR/fifo"
    ev 2026-11-26T10:00:00Z '"n":1' >&7
    wait_for "$D/2026/11/26.jsonl" '"n":1' || { exec 7>&-; cat "$BATS_TEST_TMPDIR/tee.log"; false; }
    wait_for "$BATS_TEST_TMPDIR/copy" '"n":1' || { exec 7>&-; false; }
    ev 2026-11-26T10:00:01Z '"n":2' >&7
    wait_for "$D/2026/11/26.jsonl" '"n":2' || { exec 7>&-; false; }
    exec 7>&-
    wait "$TEE_PID" || false
    TEE_PID=
    [ "$(wc -l < "$D/2026/11/26.jsonl")" -eq 2 ]
    # the pipe is given back blocking, as it came, to whoever shares it
    run bash -c "ev() { printf '{\"ts\":\"%s\"}\n' \"\$1\"; }; ev 2026-11-26T10:00:02Z | { '$TEE' -d '$D' 2>/dev/null; python3 -c 'import fcntl, os; print(fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK)'; }"
    assert_output 0
    [ "$(wc -l < "$D/2026/11/26.jsonl")" -eq 3 ]
}

@test "--tz: local days, right across both DST changes of the year" {
    {
        # America/New_York 2026-03-08: EST until 02:00; local midnights 05:00Z and (next day) 04:00Z
        ev 2026-03-08T04:59:59.999999Z '"want":"03-07"'
        ev 2026-03-08T05:00:00.000000Z '"want":"03-08"'
        ev 2026-03-09T03:59:59.999999Z '"want":"03-08"'
        ev 2026-03-09T04:00:00.000000Z '"want":"03-09"'
        # 2026-11-01: EDT until 02:00; local midnights 04:00Z and (next day) 05:00Z
        ev 2026-11-01T03:59:59.999999Z '"want":"10-31"'
        ev 2026-11-01T04:00:00.000000Z '"want":"11-01"'
        ev 2026-11-02T04:59:59.999999Z '"want":"11-01"'
        ev 2026-11-02T05:00:00.000000Z '"want":"11-02"'
    } | "$TEE" -d "$D" --tz America/New_York 2>"$BATS_TEST_TMPDIR/tee.log"
    for f in "$D"/2026/*/*.jsonl; do
        md=$(echo "$f" | sed 's|.*/2026/\([0-9]*\)/\([0-9]*\)\.jsonl|\1-\2|')
        run jq -r .want "$f"
        for w in "${lines[@]}"; do [ "$w" = "$md" ]; done
    done
    [ "$(cat "$D"/2026/*/*.jsonl | wc -l)" -eq 8 ]
    [ "$(jq -s length "$D/2026/03/08.jsonl")" -eq 2 ]
    [ "$(jq -s length "$D/2026/11/01.jsonl")" -eq 2 ]
    run "$TEE" -d "$D" --tz Mars/Olympus_Mons < /dev/null
    assert_failure 100
    assert_output --partial 'unknown time zone'
}

@test "8 concurrent writers x 10000 events: every line intact, none lost, none duplicated" {
    start_tee tee.log
    for w in 1 2 3 4 5 6 7 8; do node "$WRITER" "$SOCK" "w$w" 10000 & done
    wait_writers=0
    for j in $(jobs -p); do [ "$j" = "$TEE_PID" ] || wait "$j" || wait_writers=1; done
    [ "$wait_writers" -eq 0 ]
    stop_tee
    F="$D/2026/11/26.jsonl"
    [ "$(wc -l < "$F")" -eq 80000 ]
    # each line parses, and each writer's seq runs 0..9999 once, in order
    run sh -c "jq -r '\"\\(.id) \\(.seq) \\(.pad | length)\"' '$F' | awk '{ if (\$2 != next_[\$1] + 0) bad++; next_[\$1] = \$2 + 1; n[\$1]++ } END { for (w in n) print w, n[w]; print \"bad\", bad + 0 }' | sort"
    assert_output "$(printf 'bad 0\nw1 10000\nw2 10000\nw3 10000\nw4 10000\nw5 10000\nw6 10000\nw7 10000\nw8 10000')"
    [ "$(sort "$F" | uniq -d | wc -l)" -eq 0 ]
    grep -q 'stopped: 80000 lines written, 0 rejected' "$BATS_TEST_TMPDIR/tee.log"
}

@test "kill -9 with --fsync always: every acknowledged line is on disk once; a torn tail goes to the rejects" {
    F="$D/2026/11/26.jsonl"
    # the copy on stdout is the acknowledgement: a line is copied once it is durable
    gen 400000 | "$TEE" -d "$D" --fsync always -o - > "$BATS_TEST_TMPDIR/acked" 2>"$BATS_TEST_TMPDIR/tee.log" &
    pid=$!
    wait_for "$BATS_TEST_TMPDIR/acked" '"seq":2000' 400
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    acked=$(grep -c . "$BATS_TEST_TMPDIR/acked")
    [ "$acked" -gt 2000 ]
    # every acknowledged (whole) line is in the file, once
    head -n "$((acked - 1))" "$BATS_TEST_TMPDIR/acked" > "$BATS_TEST_TMPDIR/acked.whole"
    [ "$(sort "$F" | uniq -d | wc -l)" -eq 0 ]
    [ "$(sort "$BATS_TEST_TMPDIR/acked.whole" "$F" | uniq -d | wc -l)" -eq "$((acked - 1))" ]
    # a write torn by the crash: the kill may have torn one; to be sure, tear one
    torn=0
    [ "$(tail -c 1 "$F" | od -An -tx1 | tr -d ' ')" = 0a ] || torn=$(tail -n 1 "$F" | wc -c)
    frag='{"v":1,"event":"t","id":"torn","ts":"2026-11-26T12:00:00Z","pad":"xxx'
    printf '%s' "$frag" >> "$F"
    size=$(($(stat -c %s "$F") - torn - 69))
    ev 2026-11-26T13:00:00Z '"after":"restart"' | "$TEE" -d "$D" --fsync always 2>"$BATS_TEST_TMPDIR/tee2.log"
    grep -q "repaired $F: a torn last line of $((torn + 69)) bytes moved to the rejects" "$BATS_TEST_TMPDIR/tee2.log"
    run jq -r 'select(.source=="repair") | [.reason, .bytes] | @tsv' "$D/2026/11/26.rejects.jsonl"
    assert_output "$(printf 'torn last line: llm-tee stopped in the middle of writing it\t%d' $((torn + 69)))"
    [[ "$(jq -r 'select(.source=="repair") | .line' "$D/2026/11/26.rejects.jsonl")" == *"$frag" ]]
    # the file: the lines before the tear, then the new one; all JSON
    [ "$(head -c "$size" "$F" | wc -l)" -eq "$(($(wc -l < "$F") - 1))" ]
    tail -1 "$F" | grep -q '"after":"restart"'
    jq -e . "$F" >/dev/null
}

@test "rotation by size and zstd compression: the day reads back whole, in order" {
    start_tee tee.log --rotate-size 64KiB --compress zstd --maintenance-interval 100ms
    gen 3000 > "$BATS_TEST_TMPDIR/in"
    node -e '
      const s = require("net").connect(process.argv[1]);
      s.on("connect", () => s.end(require("fs").readFileSync(process.argv[2])));' "$SOCK" "$BATS_TEST_TMPDIR/in"
    # parts appear, and each is compressed in the background
    wait_file "$D/2026/11/26.3.jsonl.zst"
    i=0; while compgen -G "$D/2026/11/26.[0-9]*.jsonl" >/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    stop_tee
    ! compgen -G "$D/2026/11/26.[0-9]*.jsonl" || false
    ! compgen -G "$D/2026/11/*.tmp" || false
    [ -f "$D/2026/11/26.jsonl" ]
    # each part is a zstd file below the rotation size (uncompressed)
    for p in "$D"/2026/11/26.[0-9]*.jsonl.zst; do
        [ "$(head -c 4 "$p" | od -An -tx1 | tr -d ' ')" = 28b52ffd ]
    done
    run "$TEE" --cat -d "$D" --day 2026-11-26
    assert_success
    [ "$output" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
    [ "$("$TEE" --cat "$D/2026/11/26.1.jsonl.zst" | wc -c)" -le 65536 ]
}

@test "gzip compression of a sealed past day; zcat reads it" {
    start_tee tee.log --compress gzip --close-idle 0 --maintenance-interval 100ms
    gen 50 2026-11-20T10:00:00Z > "$BATS_TEST_TMPDIR/in"
    node "$WRITER" "$SOCK" w 5 2026-11-20T11:00:00Z
    node -e '
      const s = require("net").connect(process.argv[1]);
      s.on("connect", () => s.end(require("fs").readFileSync(process.argv[2])));' "$SOCK" "$BATS_TEST_TMPDIR/in"
    # a past day, idle: closed, sealed as a part, compressed
    wait_file "$D/2026/11/20.1.jsonl.gz"
    stop_tee
    [ ! -f "$D/2026/11/20.jsonl" ]
    [ "$(zcat "$D/2026/11/20.1.jsonl.gz" | wc -l)" -eq 55 ]
    zcat "$D/2026/11/20.1.jsonl.gz" | tail -50 | cmp - "$BATS_TEST_TMPDIR/in"
    grep -q "sealed $D/2026/11/20.jsonl as $D/2026/11/20.1.jsonl" "$BATS_TEST_TMPDIR/tee.log"
}

@test "retention: --prune --keep-days and --max-total remove the oldest closed files, never an open one" {
    today=$(date -u +%Y-%m-%d)
    for back in 1 2 3 10 11; do
        d=$(date -u -d "$today - $back days" +%Y/%m/%d)
        mkdir -p "$D/$(dirname "$d")"
        head -c 1000 /dev/zero | tr '\0' 'x' > "$D/$d.1.jsonl.zst"
        printf '{}\n' > "$D/$d.rejects.jsonl"
    done
    old=$(date -u -d "$today - 11 days" +%Y/%m/%d)
    # a running llm-tee has day -11 open (a late event)
    start_tee tee.log
    node "$WRITER" "$SOCK" late 1 "$(date -u -d "$today - 11 days" +%Y-%m-%d)T12:00:00Z"
    wait_file "$D/$old.jsonl"
    sleep 0.2
    run "$TEE" --prune -d "$D" --keep-days 3 --dry-run
    assert_success
    assert_output --partial "$(date -u -d "$today - 10 days" +%Y/%m/%d).1.jsonl.zst"
    [ -f "$D/$(date -u -d "$today - 10 days" +%Y/%m/%d).1.jsonl.zst" ]     # dry run
    run "$TEE" --prune -d "$D" --keep-days 3
    assert_success
    [ ! -e "$D/$(date -u -d "$today - 10 days" +%Y/%m/%d).1.jsonl.zst" ]
    [ ! -e "$D/$old.1.jsonl.zst" ]
    [ -f "$D/$old.jsonl" ]                        # open: kept
    [ -f "$D/$(date -u -d "$today - 2 days" +%Y/%m/%d).1.jsonl.zst" ]
    [ ! -e "$D/$(date -u -d "$today - 3 days" +%Y/%m/%d).1.jsonl.zst" ]
    # --max-total: oldest first until the rest fits
    run "$TEE" --prune -d "$D" --max-total 1500
    assert_success
    [ ! -e "$D/$(date -u -d "$today - 2 days" +%Y/%m/%d).1.jsonl.zst" ]
    [ -f "$D/$(date -u -d "$today - 1 days" +%Y/%m/%d).1.jsonl.zst" ]
    [ -f "$D/$old.jsonl" ]
    run "$TEE" --prune -d "$D"
    assert_failure 100
}

@test "encryption: round trip, key rotation, tamper and truncation detected" {
    openssl rand -hex 32 > "$BATS_TEST_TMPDIR/k1"
    gen 300 > "$BATS_TEST_TMPDIR/in"
    "$TEE" -d "$D" --encrypt-key "$BATS_TEST_TMPDIR/k1" < "$BATS_TEST_TMPDIR/in" 2>"$BATS_TEST_TMPDIR/tee.log"
    F="$D/2026/11/26.jsonl.enc"
    [ -f "$F" ] && [ ! -e "$D/2026/11/26.jsonl" ]
    ! grep -q '"seq"' "$F" || false
    [ "$(head -c 8 "$F" | od -An -tx1 | tr -d ' ')" = 93504c4c4d454e43 ]
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k1" "$F"
    assert_success
    [ "$output" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
    run "$TEE" --cat "$F"
    assert_failure 100
    assert_output --partial 'a key file is needed'
    # a second run appends a session; a new key encrypts, the old one still reads
    { openssl rand -hex 32; cat "$BATS_TEST_TMPDIR/k1"; } > "$BATS_TEST_TMPDIR/k2"
    gen 5 2026-11-26T13:00:00Z | "$TEE" -d "$D" --encrypt-key "$BATS_TEST_TMPDIR/k2" 2>>"$BATS_TEST_TMPDIR/tee.log"
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k2" -d "$D" --day 2026-11-26
    assert_success
    [ "${#lines[@]}" -eq 305 ]
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k1" "$F"
    assert_failure 100
    assert_output --partial 'is not in the key file'
    # one changed byte in the middle
    cp "$F" "$BATS_TEST_TMPDIR/t.enc"
    printf 'Z' | dd of="$BATS_TEST_TMPDIR/t.enc" bs=1 seek=5000 conv=notrunc 2>/dev/null
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k2" "$BATS_TEST_TMPDIR/t.enc"
    assert_failure 100
    assert_output --partial 'authentication failed'
    # cut short
    head -c 6000 "$F" > "$BATS_TEST_TMPDIR/t.enc"
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k2" "$BATS_TEST_TMPDIR/t.enc"
    assert_failure 100
    assert_output --partial 'truncated'
}

@test "encryption with rotation, compression and crash repair" {
    openssl rand -hex 32 > "$BATS_TEST_TMPDIR/k"
    start_tee tee.log --encrypt-key "$BATS_TEST_TMPDIR/k" --rotate-size 32KiB --maintenance-interval 100ms
    gen 1000 > "$BATS_TEST_TMPDIR/in"
    node -e '
      const s = require("net").connect(process.argv[1]);
      s.on("connect", () => s.end(require("fs").readFileSync(process.argv[2])));' "$SOCK" "$BATS_TEST_TMPDIR/in"
    wait_file "$D/2026/11/26.2.jsonl.zst.enc"
    i=0; while compgen -G "$D/2026/11/26.[0-9]*.jsonl.enc" >/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
    # a crash: the current file's session is left open
    kill -9 "$TEE_PID"; wait "$TEE_PID" 2>/dev/null || true; TEE_PID=
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k" -d "$D" --day 2026-11-26
    assert_failure 100
    assert_output --partial 'has no final record'
    # a torn record at the end
    printf '\000\000\001\000garbage' >> "$D/2026/11/26.jsonl.enc"
    ev 2026-11-26T13:00:00Z '"after":"crash"' | "$TEE" -d "$D" --encrypt-key "$BATS_TEST_TMPDIR/k" 2>"$BATS_TEST_TMPDIR/tee2.log"
    grep -q 'repaired .*26.jsonl.enc: 11 torn bytes cut' "$BATS_TEST_TMPDIR/tee2.log"
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k" -d "$D" --day 2026-11-26
    assert_success
    [ "$(printf '%s\n' "${lines[@]}" | head -1000)" = "$(cat "$BATS_TEST_TMPDIR/in")" ]
    [ "${#lines[@]}" -eq 1001 ]
    [[ "${lines[1000]}" == *'"after":"crash"'* ]]
    run "$TEE" --cat --encrypt-key "$BATS_TEST_TMPDIR/k" "$D/2026/11/26.rejects.jsonl.enc"
    assert_success
    assert_output --partial '"reason":"torn encrypted write'
}

@test "-o -: a dead reader of the copy never stops the files" {
    gen 20000 | "$TEE" -d "$D" -o - 2>"$BATS_TEST_TMPDIR/tee.log" | head -1 > "$BATS_TEST_TMPDIR/first"
    [ "$(wc -l < "$D/2026/11/26.jsonl")" -eq 20000 ]
    grep -q '"seq":0,' "$BATS_TEST_TMPDIR/first"
    grep -q 'stdout: Broken pipe; the copy stops, the files go on' "$BATS_TEST_TMPDIR/tee.log"
    grep -Eq 'stopped: 20000 lines written, .*, [1-9][0-9]* copy drops' "$BATS_TEST_TMPDIR/tee.log"
}

@test "a line over --max-line is rejected (a sample kept), the next line goes on" {
    {
        ev 2026-11-26T01:00:00Z '"n":1'
        head -c 17000000 /dev/zero | tr '\0' 'a'; echo
        ev 2026-11-26T02:00:00Z '"n":2'
    } | "$TEE" -d "$D" --max-line 16MiB 2>"$BATS_TEST_TMPDIR/tee.log"
    run jq -r .n "$D/2026/11/26.jsonl"
    assert_output "$(printf '1\n2')"
    today=$(date -u +%Y/%m/%d)
    run jq -r '[.reason, .bytes, .truncated, (.line | length)] | @tsv' "$D/$today.rejects.jsonl"
    assert_output "$(printf 'line longer than --max-line\t%s\ttrue\t4096' 17000000)"
    run "$TEE" -d "$D" --max-line 1MiB < /dev/null
    assert_failure 100
}

@test "one llm-tee per directory; SIGHUP reopens files; SIGTERM exits 0" {
    start_tee tee.log
    run "$TEE" -d "$D" < /dev/null
    assert_failure 111
    assert_output --partial "is in use by another llm-tee (pid $TEE_PID)"
    node "$WRITER" "$SOCK" a 3
    wait_file "$D/2026/11/26.jsonl"
    sleep 0.1
    mv "$D/2026/11/26.jsonl" "$BATS_TEST_TMPDIR/rotated-away"
    kill -HUP "$TEE_PID"
    wait_for "$BATS_TEST_TMPDIR/tee.log" 'SIGHUP'
    node "$WRITER" "$SOCK" b 2
    wait_file "$D/2026/11/26.jsonl"
    kill -TERM "$TEE_PID"
    rc=0; wait "$TEE_PID" || rc=$?
    TEE_PID=
    [ "$rc" -eq 0 ]
    [ "$(wc -l < "$BATS_TEST_TMPDIR/rotated-away")" -eq 3 ]
    [ "$(jq -r .id "$D/2026/11/26.jsonl" | sort -u)" = b ]
    [ ! -e "$SOCK" ]
}

@test "usage errors exit 100" {
    run "$TEE"
    assert_failure 100
    run "$TEE" -d "$D" --fsync sometimes
    assert_failure 100
    run "$TEE" -d "$D" --listen tcp:1.2.3.4:5
    assert_failure 111
    run "$TEE" -d "$D" -o file.txt
    assert_failure 100
    run "$TEE" -d "$D" --encrypt-key /nonexistent < /dev/null
    assert_failure 100
    run "$TEE" --cat -d "$D" --day 2026-02-30
    assert_failure 100
}

@test "relay to llm-tee over a unix socket: llm-tee restarts under load, every exchange on disk exactly once" {
    start_mock
    start_tee tee1.log
    export TMPDIR="$BATS_TEST_TMPDIR"
    start_relay --upstream "$MOCK_URL" --capture "unix:$SOCK"
    ids="$BATS_TEST_TMPDIR/ids"
    (
        for i in $(seq 1 240); do
            curl -sS -D - -o /dev/null -H 'Content-Type: application/json' -H 'X-Mock-Chunks: 30' \
                --data '{"model":"m","stream":true,"messages":[]}' "$RELAY_URL/v1/chat/completions" |
                tr -d '\r' | sed -n 's/^X-Request-Id: //ip' >> "$ids" &
            [ $((i % 8)) -eq 0 ] && wait
        done
        wait
    ) &
    load=$!
    # restart llm-tee twice while the clients run
    wait_file "$D/2026/*/*.jsonl"
    stop_tee
    sleep 0.3                        # away for a while: the relay spools
    start_tee tee2.log
    sleep 0.5
    stop_tee
    start_tee tee3.log
    wait "$load"
    stop_relay
    stop_tee
    [ "$(wc -l < "$ids")" -eq 240 ]
    grep -q 'spooling to' "$BATS_TEST_TMPDIR/relay.log"
    grep -q 'capture spool sent' "$BATS_TEST_TMPDIR/relay.log"
    grep -q 'stopped: [0-9]* capture events, 0 dropped' "$BATS_TEST_TMPDIR/relay.log"
    cat "$D"/*/*/*.jsonl > "$BATS_TEST_TMPDIR/all"
    jq -e . "$BATS_TEST_TMPDIR/all" >/dev/null
    [ "$(sort "$BATS_TEST_TMPDIR/all" | uniq -d | wc -l)" -eq 0 ]
    # each exchange a client completed: one request, one response, 30 chunks and more, one end
    run sh -c "jq -r '.id + \" \" + .event' '$BATS_TEST_TMPDIR/all' | sort | uniq -c | awk '{ print \$3, \$1 }' | sort | uniq -c | awk '{ print \$2, \$3, \$1 }' | grep -v '^chunk' "
    assert_output "$(printf 'end 1 240\nrequest 1 240\nresponse 1 240')"
    sort -u "$ids" > "$BATS_TEST_TMPDIR/ids.s"
    jq -r 'select(.event=="end") | .id' "$BATS_TEST_TMPDIR/all" | sort > "$BATS_TEST_TMPDIR/ends"
    cmp "$BATS_TEST_TMPDIR/ids.s" "$BATS_TEST_TMPDIR/ends"
    [ "$(jq -r 'select(.event=="chunk") | "\(.id) \(.seq)"' "$BATS_TEST_TMPDIR/all" | sort | uniq -d | wc -l)" -eq 0 ]
    [ ! -s "$(ls "$BATS_TEST_TMPDIR"/llm-relay-spool.* 2>/dev/null | head -1)" ]
    CAP="$BATS_TEST_TMPDIR/all" validate_capture
}

@test "relay started while llm-tee is away: spools; a spool left at exit is sent by the next relay" {
    start_mock
    export TMPDIR="$BATS_TEST_TMPDIR"
    start_relay --upstream "$MOCK_URL" --capture "unix:$SOCK"
    grep -q 'events go to the spool' "$BATS_TEST_TMPDIR/relay.log"
    for i in 1 2 3; do
        curl -sS -o /dev/null -H 'Content-Type: application/json' --data '{"model":"m"}' "$RELAY_URL/v1/chat/completions"
    done
    stop_relay
    grep -q 'capture bytes left in the spool' "$BATS_TEST_TMPDIR/relay.log"
    ls "$BATS_TEST_TMPDIR"/llm-relay-spool.*
    start_tee tee.log
    start_relay --upstream "$MOCK_URL" --capture "unix:$SOCK"
    wait_for "$BATS_TEST_TMPDIR/relay.log" 'capture spool sent'
    grep -q 'taken over' "$BATS_TEST_TMPDIR/relay.log"
    stop_relay
    stop_tee
    run sh -c "cat '$D'/*/*/*.jsonl | jq -r .event | sort | uniq -c | awk '{ print \$2, \$1 }'"
    assert_output "$(printf 'chunk 3\nend 3\nrequest 3\nresponse 3')"
    ! ls "$BATS_TEST_TMPDIR"/llm-relay-spool.* 2>/dev/null || false
}

@test "systemd socket activation: writers on the socket systemd passes (LISTEN_FDS); stdin is not read" {
    command -v systemd-socket-activate >/dev/null || skip "systemd-socket-activate not installed"
    systemd-socket-activate -l "$SOCK" "$TEE" -d "$D" 2>"$BATS_TEST_TMPDIR/tee.log" < /dev/null &
    TEE_PID=$!
    wait_for "$BATS_TEST_TMPDIR/tee.log" "Listening on"
    node "$WRITER" "$SOCK" sa 100
    wait_for "$BATS_TEST_TMPDIR/tee.log" 'listening on 1 socket from systemd'
    stop_tee
    [ "$(wc -l < "$D/2026/11/26.jsonl")" -eq 100 ]
    grep -q 'stopped: 100 lines written' "$BATS_TEST_TMPDIR/tee.log"
    [ -S "$SOCK" ]                     # systemd's socket: not removed
}
