# profile.sh — sourced by bench/run: where the relay's time goes, with
# capture on, one process, on the proxy core.
#   perf record (call graphs) under wrk at concurrency 64, and under 2,000
#     streams: the top symbols, self time;
#   perf stat on the syscall tracepoints: system calls per request and per
#     streamed chunk (counted exactly, while the relay runs at full speed);
#   valgrind memcheck: heap allocations (count, bytes) per request and per
#     chunk, less those of a start and stop without traffic;
#   valgrind callgrind: instructions per request and the top functions.
# Writes $tmp/profile.txt (the raw reports) and one point {"kind":"profile"}.
# Uses from bench/run: tmp quick DUR RELAY_PID start_relay stop_relay
# run_wrk onload onsut point say BM.

PDUR=5; PSTREAMS=2000; VGDUR=4
[ $quick = 1 ] && { PDUR=1; PSTREAMS=200; VGDUR=1; }
P=$tmp/profile.txt
{
    echo "# llm-relay profile — $(date -u +%Y-%m-%dT%H:%M:%SZ), capture: $CAPMODE"
    echo "# raw reports behind bench/results.md (section Profile); made by bench/profile.sh"
} > "$P"
prof_json=$tmp/profile.json; echo '{}' > "$prof_json"
addj() {   # KEY JSON: merge into the profile point
    jq -c --arg k "$1" --argjson v "$2" '.[$k] = $v' "$prof_json" > "$prof_json.new" && mv "$prof_json.new" "$prof_json"
}
# perf report → [{pct, dso, symbol}] (self time, call graphs folded away)
perf_top() {
    perf report -i "$1" --stdio --no-children --sort dso,sym -g none --percent-limit 0.5 2>/dev/null |
        awk '/^ *[0-9.]+%/ { pct = $1; sub(/%/, "", pct); dso = $2; sym = "";
                             for (i = 4; i <= NF; i++) sym = sym (i > 4 ? " " : "") $i;
                             printf "{\"pct\":%s,\"dso\":\"%s\",\"symbol\":\"%s\"}\n", pct, dso, sym }' | jq -sc '.[:30]'
}
# perf report by object → [{pct, dso}]
perf_dso() {
    perf report -i "$1" --stdio --no-children --sort dso -g none --percent-limit 0.5 2>/dev/null |
        awk '/^ *[0-9.]+%/ { pct = $1; sub(/%/, "", pct); printf "{\"pct\":%s,\"dso\":\"%s\"}\n", pct, $2 }' | jq -sc .
}
# system calls counted exactly (perf stat on the syscall tracepoints)
SC_EVENTS=raw_syscalls:sys_enter
for sc in accept4 close connect epoll_ctl epoll_wait epoll_pwait epoll_pwait2 poll ppoll read readv recvfrom \
          recvmsg write writev sendto sendmsg getrandom shutdown setsockopt getsockopt getsockname getpeername \
          fcntl socket futex mmap munmap brk madvise ioctl; do
    [ -d "/sys/kernel/tracing/events/syscalls/sys_enter_$sc" ] || [ -d "/sys/kernel/debug/tracing/events/syscalls/sys_enter_$sc" ] &&
        SC_EVENTS="$SC_EVENTS,syscalls:sys_enter_$sc"
done
sc_start() {   # FILE [PID]: count the system calls of PID (the relay by default)
    taskset -c $LOAD perf stat -x, -e "$SC_EVENTS" -p "${2:-$RELAY_PID}" -o "$1" >/dev/null 2>&1 & SC_PID=$!; sleep 0.5
}
sc_stop() { sleep 0.2; kill -INT $SC_PID 2>/dev/null; wait $SC_PID 2>/dev/null; }
sc_counts() {   # perf stat -x, output → {syscall: count}, "all" for every system call
    awk -F, '$3 ~ /sys_enter/ && $1 ~ /^[0-9]+$/ && $1 > 0 { k = $3; sub(/^.*sys_enter_?/, "", k); if (k == "") k = "all";
             printf "{\"key\":\"%s\",\"value\":%s}\n", k, $1 }' "$1" | jq -sc 'sort_by(-.value) | from_entries'
}

if command -v perf >/dev/null 2>&1; then
    say "profile: perf under wrk (concurrency 64, ${PDUR}s)"
    start_relay capture
    taskset -c $LOAD perf record -F 1999 -g -p "$RELAY_PID" -o "$tmp/perf-http.data" -- sleep "$PDUR" >/dev/null 2>&1 &
    pp=$!
    r=$(run_wrk relay 64 "$PDUR")
    wait $pp
    { echo; echo "## perf: non-streaming, wrk -c64, self time by symbol"; echo "wrk: $r"
      perf report -i "$tmp/perf-http.data" --stdio --no-children --sort dso,sym -g none --percent-limit 0.3 2>/dev/null | grep -v '^$'
      echo; echo "## perf: non-streaming, inclusive time (children) of the relay's own functions"
      perf report -i "$tmp/perf-http.data" --stdio --children --sort sym -g none --percent-limit 2 2>/dev/null | grep -v '^$' | head -60
    } >> "$P"
    addj http_perf "$(jq -nc --argjson w "${r:-null}" --argjson top "$(perf_top "$tmp/perf-http.data")" \
        --argjson dso "$(perf_dso "$tmp/perf-http.data")" '{wrk:$w, top:$top, by_object:$dso}')"
    # system calls per request (counted, not traced: exact and cheap)
    sc_start "$tmp/sc-http.txt"
    r=$(run_wrk relay 16 $((PDUR > 2 ? PDUR - 2 : 1)))
    sc_stop
    { echo; echo "## system calls: non-streaming, wrk -c16 ($r)"; cat "$tmp/sc-http.txt"; } >> "$P"
    addj http_syscalls "$(jq -nc --argjson w "${r:-null}" --argjson s "$(sc_counts "$tmp/sc-http.txt")" \
        '{requests:($w.requests // 0), calls:$s, per_request:(if ($w.requests // 0) > 0 then ($s | map_values((. / $w.requests * 100 | round) / 100)) else null end)}')"
    # the same for nginx's worker, to compare
    sc_start "$tmp/sc-nginx.txt" "$NGINX_WORKER"
    r=$(run_wrk nginx 16 $((PDUR > 2 ? PDUR - 2 : 1)))
    sc_stop
    { echo; echo "## system calls: nginx worker, non-streaming, wrk -c16 ($r)"; cat "$tmp/sc-nginx.txt"; } >> "$P"
    addj nginx_syscalls "$(jq -nc --argjson w "${r:-null}" --argjson s "$(sc_counts "$tmp/sc-nginx.txt")" \
        '{requests:($w.requests // 0), calls:$s, per_request:(if ($w.requests // 0) > 0 then ($s | map_values((. / $w.requests * 100 | round) / 100)) else null end)}')"
    stop_relay

    say "profile: perf under $PSTREAMS streams"
    start_relay capture
    taskset -c $LOAD perf record -F 1999 -g -p "$RELAY_PID" -o "$tmp/perf-stream.data" -- sleep 2.5 >/dev/null 2>&1 &
    pp=$!
    s=$(onload "$BM" streams --url "http://127.0.0.1:$RELAY_PORT/v1/chat/completions" --streams "$PSTREAMS" --ramp-ms 500 --label profile)
    wait $pp
    { echo; echo "## perf: $PSTREAMS streams (64 chunks, 20 ms apart), self time by symbol"
      perf report -i "$tmp/perf-stream.data" --stdio --no-children --sort dso,sym -g none --percent-limit 0.3 2>/dev/null | grep -v '^$'
    } >> "$P"
    addj stream_perf "$(jq -nc --argjson s "${s:-null}" --argjson top "$(perf_top "$tmp/perf-stream.data")" \
        --argjson dso "$(perf_dso "$tmp/perf-stream.data")" '{streams:$s, top:$top, by_object:$dso}')"
    sc_start "$tmp/sc-stream.txt"
    s=$(onload "$BM" streams --url "http://127.0.0.1:$RELAY_PORT/v1/chat/completions" --streams $((PSTREAMS / 4)) --ramp-ms 200 --label syscalls)
    sc_stop
    { echo; echo "## system calls: $((PSTREAMS / 4)) streams"; cat "$tmp/sc-stream.txt"; } >> "$P"
    addj stream_syscalls "$(jq -nc --argjson st "${s:-null}" --argjson s "$(sc_counts "$tmp/sc-stream.txt")" \
        '{events:($st.events // 0), calls:$s, per_chunk:(if ($st.events // 0) > 0 then ($s | map_values((. / $st.events * 100 | round) / 100)) else null end)}')"
    stop_relay
else
    addj perf '"perf is not installed (linux-perf)"'
fi

if command -v valgrind >/dev/null 2>&1; then
    heap() { sed -n 's/.*total heap usage: \([0-9,]*\) allocs, [0-9,]* frees, \([0-9,]*\) bytes allocated.*/\1 \2/p' "$1" | tr -d , | tail -1; }
    vg_run() {   # TOOL WHAT: a relay under valgrind; WHAT: none | http | streams
        RELAY_WRAP="valgrind --tool=$1 --log-file=$tmp/vg-$1-$2.log ${3:-}"; RELAY_WAIT=600
        start_relay capture
        RELAY_WRAP=""; RELAY_WAIT=""
        case $2 in
        http) vg_out=$(run_wrk relay 4 "$VGDUR") ;;
        streams*) vg_out=$(onload "$BM" streams --url "http://127.0.0.1:$RELAY_PORT/v1/chat/completions" \
                     --streams 40 --concurrency 10 --chunks "${2#streams}" --interval-ms 5 --label valgrind) ;;
        *) vg_out=null ;;
        esac
        stop_relay
    }
    say "profile: valgrind memcheck (allocations per request and per chunk)"
    vg_run memcheck none; set -- $(heap "$tmp/vg-memcheck-none.log"); a0=${1:-0}; b0=${2:-0}
    vg_run memcheck http; w=$vg_out; set -- $(heap "$tmp/vg-memcheck-http.log"); a1=${1:-0}; b1=${2:-0}
    vg_run memcheck streams8; s8=$vg_out; set -- $(heap "$tmp/vg-memcheck-streams8.log"); a8=${1:-0}; b8=${2:-0}
    vg_run memcheck streams64; s64=$vg_out; set -- $(heap "$tmp/vg-memcheck-streams64.log"); a64=${1:-0}; b64=${2:-0}
    # per chunk: the difference of 64-chunk and 8-chunk streams; per stream: the rest
    addj allocations "$(jq -nc --argjson a0 "$a0" --argjson b0 "$b0" --argjson a1 "$a1" --argjson b1 "$b1" \
        --argjson a8 "$a8" --argjson b8 "$b8" --argjson a64 "$a64" --argjson b64 "$b64" \
        --argjson w "${w:-null}" --argjson s8 "${s8:-null}" --argjson s64 "${s64:-null}" '
        def r1: (. * 10 | round) / 10;
        ($w.requests // 0) as $n | ($s8.events // 0) as $e8 | ($s64.events // 0) as $e64 | ($s64.ok // 0) as $s |
        (if $e64 > $e8 then {a: (($a64 - $a8) / ($e64 - $e8)), b: (($b64 - $b8) / ($e64 - $e8))} else null end) as $pc |
        {baseline:{allocs:$a0, bytes:$b0},
         http:{requests:$n, allocs:($a1 - $a0), bytes:($b1 - $b0),
               allocs_per_request:(if $n > 0 then (($a1 - $a0) / $n) | r1 else null end),
               bytes_per_request:(if $n > 0 then (($b1 - $b0) / $n | round) else null end)},
         streams:{streams:$s, chunks_8:$e8, chunks_64:$e64,
               allocs_per_chunk:(if $pc then $pc.a | r1 else null end), bytes_per_chunk:(if $pc then $pc.b | round else null end),
               allocs_per_stream_fixed:(if $pc and ($s8.ok // 0) > 0 then (($a8 - $a0 - $pc.a * $e8) / $s8.ok) | r1 else null end)}}')"
    { echo; echo "## valgrind memcheck heap summaries (no traffic / wrk -c4 ${VGDUR}s / 40 streams of 8 and of 64 chunks)"
      for k in none http streams8 streams64; do echo "$k: $(grep 'total heap usage' "$tmp/vg-memcheck-$k.log")"; done; } >> "$P"

    say "profile: valgrind callgrind (instructions per request)"
    # callgrind_annotate lines → [{ir, function, object}], every function, start-up frames left out
    cg_list() {
        callgrind_annotate --threshold=100 ${2:-} "$1" 2>/dev/null |
        awk '/^ *[0-9,]+ +\( *[0-9.]+%\) +[^ ]/ && !/PROGRAM TOTALS/ {
                 ir = $1; gsub(/,/, "", ir)
                 match($0, /\( *[0-9.]+%\)/)
                 rest = substr($0, RSTART + RLENGTH); sub(/^ +/, "", rest); obj = ""
                 if (match(rest, /\[[^]]*\]$/)) { obj = substr(rest, RSTART + 1, RLENGTH - 2); rest = substr(rest, 1, RSTART - 1) }
                 sub(/ +$/, "", rest); fn = rest; sub(/^.*:/, "", fn); sub(/^.*\//, "", obj)
                 gsub(/["\\]/, "", fn); gsub(/["\\]/, "", obj)
                 printf "{\"ir\":%s,\"function\":\"%s\",\"object\":\"%s\"}\n", ir, fn, obj }' |
        jq -sc '[.[] | select(.object != "" and (.object | startswith("ld-linux") | not)
                        and (.function | test("^\\(below main\\)$|^__libc_start_main") | not))]
                | unique_by(.function + "@" + .object)'
    }
    cg_total() { callgrind_annotate "$1" 2>/dev/null | sed -n 's/^ *\([0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d , | head -1; }
    vg_run callgrind none "--callgrind-out-file=$tmp/callgrind0.out"
    vg_run callgrind http "--callgrind-out-file=$tmp/callgrind.out"; w=$vg_out
    if [ -s "$tmp/callgrind.out" ] && [ -s "$tmp/callgrind0.out" ]; then
        cg_list "$tmp/callgrind0.out" > "$tmp/cg0-self.json"; cg_list "$tmp/callgrind0.out" --inclusive=yes > "$tmp/cg0-incl.json"
        cg_list "$tmp/callgrind.out" > "$tmp/cg-self.json"; cg_list "$tmp/callgrind.out" --inclusive=yes > "$tmp/cg-incl.json"
        # what the traffic cost: each function's instructions less those of the run without traffic
        addj callgrind "$(jq -nc --argjson w "${w:-null}" --argjson t "$(cg_total "$tmp/callgrind.out")" \
            --argjson t0 "$(cg_total "$tmp/callgrind0.out")" \
            --slurpfile s "$tmp/cg-self.json" --slurpfile s0 "$tmp/cg0-self.json" \
            --slurpfile i "$tmp/cg-incl.json" --slurpfile i0 "$tmp/cg0-incl.json" '
            ($w.requests // 0) as $n | ($t - $t0) as $d |
            def less($base): ($base | map({key: (.function + "@" + .object), value: .ir}) | from_entries) as $b |
                map(.ir -= ($b[.function + "@" + .object] // 0)) | map(select(.ir > 0)) | sort_by(-.ir) | .[:30] |
                map(. + {pct: (if $d > 0 then (.ir / $d * 10000 | round) / 100 else null end),
                         per_request: (if $n > 0 then (.ir / $n | round) else null end)});
            {requests:$n, instructions:$t, baseline:$t0, per_request:(if $n > 0 then ($d / $n | round) else null end),
             note:"less a start and stop without traffic", self:($s[0] | less($s0[0])), inclusive:($i[0] | less($i0[0]))}')"
        { echo; echo "## callgrind: wrk -c4 ${VGDUR}s ($w), self (start-up included)"
          callgrind_annotate "$tmp/callgrind.out" 2>/dev/null | head -45
          echo; echo "## callgrind: inclusive (start-up included)"
          callgrind_annotate --inclusive=yes "$tmp/callgrind.out" 2>/dev/null | head -60; } >> "$P"
    fi
else
    addj valgrind '"valgrind is not installed"'
fi
point "$(jq -c '{kind:"profile"} + .' "$prof_json")"
