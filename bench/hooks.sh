# hooks.sh — sourced by bench/run (after the memory points): the
# measurements other issues ask of their programs, each skipped with a note
# until its program is built. Each leaves one point {"kind":"hook"}:
#   tee        llm-tee MB/s against `cat > file` on a generated capture day
#   stats      llm-stats --by model,user against jq counting and summing tokens by model and user
#   export     llm-export --format openai-sft against jq -c . (issue 5's yardstick)
#   translated the relay translating Anthropic clients to an OpenAI upstream,
#              against the same relay untranslated
# The capture day (BENCH_DAY_SIZE, default 1G) is made by `bench-mock gen`
# from a sample that the relay wrote earlier in this run.
# Uses from bench/run: tmp BM TEE STATS EXPORT RELAY MOCK_PORT DUR C1DUR
# DAYSIZE here onsut onload point wait_for run_wrk say.

hook() {   # NAME STATUS NOTE [DATA-JSON]
    point "$(jq -nc --arg name "$1" --arg status "$2" --arg note "$3" --argjson data "${4:-null}" \
        '{kind:"hook", name:$name, status:$status, note:$note, data:$data}')"
}
ms_now() { date +%s%N | cut -c1-13; }
timed() {   # COMMAND... → elapsed ms in $elapsed; the command's status
    _t0=$(ms_now); "$@"; _rc=$?; elapsed=$(( $(ms_now) - _t0 )); [ $elapsed -gt 0 ] || elapsed=1
    return $_rc
}
mbs() { echo "$1 $2" | awk '{printf "%.1f", $1 / 1048576 / ($2 / 1000)}'; }   # BYTES MS

day=""
if [ -x "$TEE" ] || [ -x "$STATS" ] || [ -x "$EXPORT" ]; then
    if [ -s "$tmp/sample.jsonl" ]; then
        mkdir -p "$tmp/day/2026/11"
        day=$tmp/day/2026/11/26.jsonl
        say "hooks: generating a $DAYSIZE capture day"
        onload "$BM" gen --from "$tmp/sample.jsonl" --bytes "$DAYSIZE" --day 2026-11-26 -o "$day" 2>"$tmp/gen.log" || day=""
    fi
fi
daybytes=0; [ -n "$day" ] && daybytes=$(stat -c %s "$day")

# ---- issue 4: llm-tee against cat ----
if [ ! -x "$TEE" ]; then
    hook tee skipped "llm-tee is not built yet ($TEE)"
elif [ -z "$day" ]; then
    hook tee skipped "no capture day could be generated: $(cat "$tmp/gen.log" 2>/dev/null)"
else
    say "hooks: llm-tee against cat"
    cat "$day" > /dev/null                       # both read from the page cache
    timed sh -c "taskset -c $SUT cat '$day' | taskset -c $LOAD cat > '$tmp/cat.out'"; cat_ms=$elapsed
    rm -f "$tmp/cat.out"
    mkdir -p "$tmp/teeout"
    timed sh -c "taskset -c $SUT cat '$day' | taskset -c $LOAD '$TEE' -d '$tmp/teeout' ${BENCH_TEE_ARGS:-} 2>'$tmp/tee-hook.log'"
    tee_rc=$?; tee_ms=$elapsed
    lines_in=$("$BM" capcount "$day" | jq .lines)
    lines_out=$("$BM" capcount "$tmp/teeout" 2>/dev/null | jq .lines)
    rm -rf "$tmp/teeout"
    hook tee "$([ $tee_rc = 0 ] && echo ok || echo failed)" "cat DAY | llm-tee -d DIR ${BENCH_TEE_ARGS:-}, against cat DAY | cat > FILE (producer on CPU $SUT, writer on CPU $LOAD)" \
        "$(jq -nc --argjson b "$daybytes" --argjson cm "$cat_ms" --argjson tm "$tee_ms" --argjson li "${lines_in:-0}" \
            --argjson lo "${lines_out:-0}" --argjson rc "$tee_rc" --arg cmbs "$(mbs "$daybytes" "$cat_ms")" --arg tmbs "$(mbs "$daybytes" "$tee_ms")" \
            '{bytes:$b, cat_ms:$cm, cat_mb_s:($cmbs|tonumber), tee_ms:$tm, tee_mb_s:($tmbs|tonumber),
              ratio_to_cat:(($cm / $tm * 1000 | round) / 1000), lines_in:$li, lines_out:$lo, exit:$rc}')"
fi

# ---- issues 9 and 5: llm-stats and llm-export against jq ----
jq_stats='reduce (inputs | select(.event == "request" or .event == "end")) as $e ({r: {}, s: {}};
    if $e.event == "request" then
        .r[$e.id] = [($e.model // "?"), (($e.body | try fromjson catch {}) | (.user // .metadata.user_id // "") | tostring)]
    else
        (.r[$e.id] // ["?", ""]) as $k | del(.r[$e.id]) |
        .s[$k[0] + " " + $k[1]] |= ((. // {n: 0, tin: 0, tout: 0}) | .n += 1
            | .tin += ($e.usage.input_tokens // 0) | .tout += ($e.usage.output_tokens // 0))
    end) | .s'
jq_export='.'
reader_hook() {   # NAME PROG JQ-FLAGS JQ-PROGRAM EXTRA-ARGS
    if [ ! -x "$2" ]; then hook "$1" skipped "llm-$1 is not built yet ($2)"; return; fi
    if [ -z "$day" ]; then hook "$1" skipped "no capture day could be generated"; return; fi
    say "hooks: llm-$1 against jq"
    # peak RSS of each side from GNU time (%M, KiB)
    timed sh -c "/usr/bin/time -f %M -o '$tmp/$1.rss' taskset -c $LOAD '$2' $5 '$day' > '$tmp/$1.out' 2>'$tmp/$1.err'"; rc=$?; prog_ms=$elapsed
    # jq is stopped after BENCH_JQ_TIMEOUT s (default 240): its time is then a lower bound
    timed sh -c "/usr/bin/time -f %M -o '$tmp/$1.jq.rss' timeout ${BENCH_JQ_TIMEOUT:-240} taskset -c $LOAD jq $3 '$4' '$day' > '$tmp/$1.jq.out' 2>&1"; jq_rc=$?; jq_ms=$elapsed
    prog_rss=$(tail -1 "$tmp/$1.rss" 2>/dev/null | tr -dc 0-9); jq_rss=$(tail -1 "$tmp/$1.jq.rss" 2>/dev/null | tr -dc 0-9)
    hook "$1" "$([ $rc = 0 ] && echo ok || echo failed)" "llm-$1 $5 DAY against jq $3 '$(echo "$4" | tr -s ' \n' '  ')' DAY (both on CPU $LOAD)" \
        "$(jq -nc --argjson b "$daybytes" --argjson pm "$prog_ms" --argjson jm "$jq_ms" --argjson rc "$rc" \
            --argjson pr "${prog_rss:-null}" --argjson jr "${jq_rss:-null}" --argjson jto "$([ "$jq_rc" = 124 ] && echo true || echo false)" \
            --arg err "$(head -c 300 "$tmp/$1.err")" --arg pmbs "$(mbs "$daybytes" "$prog_ms")" --arg jmbs "$(mbs "$daybytes" "$jq_ms")" \
            '{bytes:$b, prog_ms:$pm, prog_mb_s:($pmbs|tonumber), jq_ms:$jm, jq_mb_s:($jmbs|tonumber),
              speedup_over_jq:(($jm / $pm * 100 | round) / 100), prog_rss_kib:$pr, jq_rss_kib:$jr, jq_stopped:$jto, exit:$rc, stderr:$err}')"
    rm -f "$tmp/$1.out" "$tmp/$1.jq.out"
}
reader_hook stats "$STATS" -n "$jq_stats" "${BENCH_STATS_ARGS:---json --by model,user}"
reader_hook export "$EXPORT" -c "$jq_export" "${BENCH_EXPORT_ARGS:---format openai-sft --include-incomplete}"
[ -n "$day" ] && rm -rf "$tmp/day"

# ---- issue 6: the translated path ----
tr_port=$("$BM" port)
sed -e "s|^listen: .*|listen: 127.0.0.1:$tr_port|" "$tmp/relay.yaml" > "$tmp/relay-tr.yaml"
: > "$tmp/relay-tr.log"
taskset -c $SUT "$RELAY" -c "$tmp/relay-tr.yaml" --capture "$tmp/tr-capture.jsonl" 2>"$tmp/relay-tr.log" &
TR_PID=$!; PIDS="$PIDS $TR_PID"
if ! wait_for "$tmp/relay-tr.log" 'listening on'; then
    hook translated failed "the relay did not start: $(head -c 300 "$tmp/relay-tr.log")"
else
    code=$(curl -s -o "$tmp/probe.out" -w '%{http_code}' -H 'content-type: application/json' \
        -H 'anthropic-version: 2023-06-01' -H 'x-api-key: sk-bench' \
        -d '{"model":"bench","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}' \
        "http://127.0.0.1:$tr_port/v1/messages")
    if [ "$code" != 200 ] || ! grep -q '"type": *"message"' "$tmp/probe.out"; then
        hook translated skipped "no translation yet: an Anthropic request (/v1/messages) to an OpenAI upstream was answered $code: $(head -c 160 "$tmp/probe.out" | tr -d '\n')"
    else
        say "hooks: translated path"
        a1=$(onload env BENCH_PROTO=anthropic wrk -t1 -c1 -d"$C1DUR"s -s "$here/wrk.lua" "http://127.0.0.1:$tr_port" 2>/dev/null | tail -n 1)
        o1=$(onload wrk -t1 -c1 -d"$C1DUR"s -s "$here/wrk.lua" "http://127.0.0.1:$tr_port" 2>/dev/null | tail -n 1)
        a64=$(onload env BENCH_PROTO=anthropic wrk -t1 -c64 -d"$DUR"s -s "$here/wrk.lua" "http://127.0.0.1:$tr_port" 2>/dev/null | tail -n 1)
        o64=$(onload wrk -t1 -c64 -d"$DUR"s -s "$here/wrk.lua" "http://127.0.0.1:$tr_port" 2>/dev/null | tail -n 1)
        hook translated ok "Anthropic client → relay → OpenAI mock, against OpenAI client → same relay → same mock (capture to a file)" \
            "$(jq -nc --argjson a1 "${a1:-null}" --argjson o1 "${o1:-null}" --argjson a64 "${a64:-null}" --argjson o64 "${o64:-null}" \
                '{c1:{translated:$a1, plain:$o1, added_p99_us:(($a1.lat_us.p99 // 0) - ($o1.lat_us.p99 // 0))},
                  c64:{translated:$a64, plain:$o64, rps_ratio:(if ($o64.rps // 0) > 0 then (($a64.rps / $o64.rps * 1000 | round) / 1000) else null end)}}')"
    fi
fi
kill -TERM $TR_PID 2>/dev/null; wait $TR_PID 2>/dev/null
rm -f "$tmp/tr-capture.jsonl"
