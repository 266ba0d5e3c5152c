# markdown.jq — results.json → results.md (jq -r -f bench/markdown.jq).

def n: if . == null then "–" elif type == "number" then (if . == (. | floor) then tostring else ((. * 100 | round) / 100 | tostring) end) else tostring end;
def us: if . == null then "–" else n end;
def ms: if . == null then "–" else ((. / 10 | round) / 100 | tostring) end;
def k: if . == null then "–" else (. | round | tostring) end;
def row: "| " + (map(n) | join(" | ")) + " |";
def ratio(a; b): if (a | type) == "number" and (b | type) == "number" and b != 0 then ((a / b * 100 | round) / 100 | tostring) + "×" else "–" end;
def configs: ["direct", "relay", "nginx", "relay-nocap"];
def mark: if . == true then "met" elif . == false then "**missed**" else "n/a" end;

. as $r
| [
"# make bench — results",
"",
(if $r.quick then "**Quick run (`bench/run --quick`): short points, few levels — a smoke test, not the measurement.**\n" else empty end),
"Run \($r.date) to \($r.finished // "?") on \($r.machine.cpu), \($r.machine.cores) cores, \($r.machine.memory), \($r.machine.kernel); open files limit \($r.machine.nofile). Load average (shared machine) \($r.machine.loadavg_start // "?") at the start, \($r.machine.loadavg_end // "?") at the end.",
"Tree \($r.versions.tree); \($r.versions.relay); nginx \($r.versions.nginx); wrk \($r.versions.wrk).",
"",
"Pinning (taskset): the proxy under test on CPU \($r.pinning.proxy_cpu) (llm-relay: one process; nginx: one worker), the load generator (wrk -t1, or `bench-mock streams`) and the mock upstream (`bench-mock serve`, one thread) together on CPU \($r.pinning.load_and_mock_cpu). So *direct* is the ceiling of the load side itself, and a proxy is measured on a core of its own. Configurations alternate at every point; ratios from this one run are what count (the machine is shared and noisy).",
"",
"Capture: relay → \(if $r.capture_mode == "llm-tee" then "llm-tee -d DIR (pipe)" else "a file (`--capture FILE`; llm-tee is not built yet)" end). *relay-nocap* is the same relay with `--capture none`.",
"Requests: POST /v1/chat/completions, a 1 KiB body with a bearer key; non-streaming answers are 0.6 KiB; streams are a role chunk, 64 content chunks 20 ms apart, a final chunk with usage, `[DONE]`.",
"",
"## Targets",
"",
"| target | wanted | this run | |",
"|---|---|---|---|",
($r.targets[] | "| \(.name) | \(.target) | \(.value_text) | \(.pass | mark) |"),
"",
"## Non-streaming latency, concurrency 1 (wrk, in the sweep)",
"",
"| config | p50 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs | req/s |",
"|---|---|---|---|---|---|---|",
(configs[] as $c | $r.latency_c1[$c] | select(. != null) |
  "| \($c) | \(.p50_us | us) | \(.p99_us | us) | \(.p999_us | us) | \(.added_p50_us | us) | \(.added_p99_us | us) | \(.rps | k) |"),
"",
"Across cores (the pinning above), every proxy's p99 at concurrency 1 is mostly the wake-up of its idle vCPU on this VM. With everything on CPU \($r.pinning.load_and_mock_cpu) (proxy, load and mock), the added latency is the proxy's own processing; the four run at once and take turns, \($r.latency_c1_one_core.direct.rounds // "?") rounds, and each figure is the best round, the one least disturbed by the machine's other tenants (the target is judged here):",
"",
"| config | p50 µs | p99 µs | p99.9 µs | added p50 µs | added p99 µs | req/s | p99 of each round µs |",
"|---|---|---|---|---|---|---|---|",
(configs[] as $c | ($r.latency_c1_one_core // {})[$c] | select(. != null) |
  "| \($c) | \(.p50_us | us) | \(.p99_us | us) | \(.p999_us | us) | \(.added_p50_us | us) | \(.added_p99_us | us) | \(.rps | k) | \(.p99_rounds_us | map(tostring) | join(", ")) |"),
"",
"## Throughput frontier (wrk -t1, concurrency \($r.settings.concurrency | map(tostring) | join(", ")))",
"",
"The highest req/s among the points whose p99 stays under the bound (concurrency in brackets). " + (if ($r.settings.sweep_rounds // 1) > 1 then "Each point: \($r.settings.sweep_rounds) rounds of \($r.settings.round_s) s, the configurations taking turns; the best round stands for the point (median p99 and every round in results.json)." else "Each point: one run of \($r.settings.wrk_duration_s) s." end) + (if ([$r.noisy_latency // {} | .[] | select(.)] | length) > 0 then " **Noise:** a p99 over 2 ms more than twice the p99 at a higher concurrency (impossible for the proxy alone in a closed loop) for \([$r.noisy_latency | to_entries[] | select(.value) | .key] | join(", ")): their latency-bounded frontier is not judged." else "" end),
"",
"| config | p99 ≤ 1 ms | p99 ≤ 5 ms | p99 ≤ 10 ms | unbounded | unbounded × direct | unbounded × nginx |",
"|---|---|---|---|---|---|---|",
(configs[] as $c | $r.frontier[$c] as $f | select($f != null) |
  "| \($c) | " + ([ $f.p99_1ms, $f.p99_5ms, $f.p99_10ms, $f.unbounded ] | map(if . == null then "–" else "\(.rps) (c\(.c))" end) | join(" | ")) +
  " | \(ratio($f.unbounded.rps; $r.frontier.direct.unbounded.rps)) | \(ratio($f.unbounded.rps; $r.frontier.nginx.unbounded.rps)) |"),
"",
"relay ÷ nginx: unbounded \($r.ratios.relay_to_nginx.unbounded | n)×, p99 ≤ 5 ms \($r.ratios.relay_to_nginx.p99_5ms | n)×, p99 ≤ 1 ms \($r.ratios.relay_to_nginx.p99_1ms | n)×. Capture costs: relay ÷ relay-nocap unbounded = \($r.ratios.capture_cost_unbounded | n)×.",
"",
"### Every point: req/s / p99 µs",
"",
"| c | " + (configs | join(" | ")) + " |",
"|---|---|---|---|---|",
($r.points.http | group_by(.c)[] as $g |
  "| \($g[0].c) | " + (configs | map(. as $c | ($g | map(select(.config == $c)) | first) as $p |
    if $p == null or $p.wrk == null then "–" else "\($p.wrk.rps | round) / \($p.wrk.lat_us.p99)\(if ($p.wrk.errors | add) > 0 then " (\($p.wrk.errors | add) err)" else "" end)" end) | join(" | ")) + " |"),
"",
"## Streaming",
"",
"Time to first token: \($r.points.stream_c1[0].ttft.streams // "?") streams one after another on one keep-alive connection (concurrency 1), from the request's write to the first content chunk. Gaps between chunks: \($r.points.stream_c1[0].gaps.streams // "?") full streams, \($r.points.stream_c1[0].gaps.concurrency // "?") at a time (nominal gap 20 ms).",
"",
"| config | TTFT p50 µs | TTFT p99 µs | added TTFT p50 µs | added TTFT p99 µs | gap p99 µs | added gap p99 µs | gap max µs |",
"|---|---|---|---|---|---|---|---|",
(configs[] as $c | $r.streaming[$c] | select(. != null) |
  "| \($c) | \(.ttft_p50_us | us) | \(.ttft_p99_us | us) | \(.added_ttft_p50_us | us) | \(.added_ttft_p99_us | us) | \(.gap_p99_us | us) | \(.added_gap_p99_us | us) | \(.gap_max_us | us) |"),
"",
"## Streams sustained",
"",
"A level passes when every stream that was answered got all 67 events, no gap between events exceeded 200 ms and under 0.1% of the streams failed; streams are opened evenly over 1 s and each lasts 1.3 s, so all are open at once. A configuration stops climbing at its first failed level. Descriptor limit here: \($r.machine.nofile), so the relay (two per stream) can hold at most \($r.settings.stream_fd_cap) streams.",
"",
"| config | most streams sustained | first level failed |",
"|---|---|---|",
(configs[] as $c | $r.sustained[$c] | select(. != null) | "| \($c) | \(.max_sustained | n) | \(.first_failed | n) |"),
"",
"| streams | " + (configs | join(" | ")) + " |",
"|---|---|---|---|---|",
([configs[] as $c | $r.sustained[$c].levels[]?.n] | unique[] as $lvl |
  "| \($lvl) | " + (configs | map(. as $c | ($r.sustained[$c].levels // [] | map(select(.n == $lvl)) | first) as $p |
    if $p == null then "–" else "\(if $p.pass then "pass" else "**fail**" end): gap max \($p.gap_max_us | ms) ms, TTFT p99 \($p.ttft_p99_us | ms) ms, \($p.failed) failed\(if $p.rss_at_max_open_kib != null and $p.rss_at_max_open_kib >= 0 then ", RSS \($p.rss_at_max_open_kib) KiB (\($p.kib_per_stream | n) KiB/stream)" else "" end)" end) | join(" | ")) + " |"),
"",
"## Memory of the relay (capture on)",
"",
(if $r.memory == null then "not measured" else
"| idle RSS | at \($r.memory.streams) streams | per open stream | peak | \($r.memory.recover_s) s after | after ÷ idle | nginx worker at \($r.memory.streams) streams |\n|---|---|---|---|---|---|---|\n| \($r.memory.idle_kib) KiB | \($r.memory.at_streams_kib) KiB | \($r.memory.kib_per_stream | n) KiB | \($r.memory.peak_kib) KiB | \($r.memory.recovered_kib | n) KiB | \($r.memory.recovered_ratio | n)× | \($r.memory.nginx_at_streams_kib | n) KiB |\n\nHeld by the relay \($r.memory.recover_s) s after the load (/metrics): \($r.memory.held_then // {} | to_entries | map("\(.key) \(.value)") | join(", ") | if . == "" then "–" else . end)." end),
"",
"## Capture check",
"",
"At every relay point: chunks the clients received (wrk: one per response; streams: every SSE event) against chunk events on disk. *missing* = received − recorded (never below 0: requests still in flight when wrk stops are recorded but not counted by wrk). *consistent*: chunk events = Σ end.chunks, request events = end events, nothing dropped.",
"",
"| point | received | recorded | missing | consistent | outcomes | errors recorded |",
"|---|---|---|---|---|---|---|",
($r.capture_check.points[] | "| \(.kind) \(.config) \(.at // "") | \(.delivered) | \(.captured) | \(.missing) | \(.consistent) | \(.outcomes | to_entries | map("\(.key) \(.value)") | join(", ")) | \(.errors | to_entries | map("\(.key) (\(.value))") | join("; ") | gsub("\\|"; "/")) |"),
"",
(if ($r.incidents | length) > 0 then "**Incidents:** killed after ignoring SIGTERM for 30 s: \($r.incidents | join(", ")).\n" else empty end),
"",
"## The mock's own ceiling",
"",
(if $r.mock_ceiling then "The mock alone on CPU \($r.pinning.proxy_cpu), wrk -c64 on CPU \($r.pinning.load_and_mock_cpu): **\($r.mock_ceiling.wrk.rps | k) req/s**, p99 \($r.mock_ceiling.wrk.lat_us.p99) µs; \($r.mock_ceiling.streams.streams) streams: \(if $r.mock_ceiling.streams.pass then "pass" else "fail" end), gap max \($r.mock_ceiling.streams.gap_us.max | ms) ms. Compare *direct* above (mock and load sharing one core) with the proxies' numbers: a proxy that reaches *direct* is bounded by the load side, not by itself." else "not measured" end),
"",
"## Profile of the relay",
"",
(if $r.profile == null then "not run (`--no-profile`)" else
  ( "Raw reports: bench/profile.txt.",
    "",
    (if $r.profile.http_perf.by_object then
      "### perf: CPU time by object\n\n| object | non-streaming % | streams % |\n|---|---|---|\n" +
      ([($r.profile.http_perf.by_object // [])[], ($r.profile.stream_perf.by_object // [])[] | .dso] | unique | map(. as $d |
        {d: $d, h: (($r.profile.http_perf.by_object // []) | map(select(.dso == $d)) | first | .pct // null),
                s: (($r.profile.stream_perf.by_object // []) | map(select(.dso == $d)) | first | .pct // null)})
       | sort_by(-(.h // 0)) | map("| \(.d) | \(.h | n) | \(.s | n) |") | join("\n")) else empty end),
    "",
    (if $r.profile.http_perf then
      "### perf, non-streaming (wrk -c64: \($r.profile.http_perf.wrk.rps // 0 | round) req/s), self time\n\n| % | object | symbol |\n|---|---|---|\n" +
      ($r.profile.http_perf.top[:20] | map("| \(.pct) | \(.dso) | `\(.symbol)` |") | join("\n")) else empty end),
    "",
    (if $r.profile.stream_perf then
      "### perf, \($r.profile.stream_perf.streams.streams // "?") streams, self time\n\n| % | object | symbol |\n|---|---|---|\n" +
      ($r.profile.stream_perf.top[:20] | map("| \(.pct) | \(.dso) | `\(.symbol)` |") | join("\n")) else empty end),
    "",
    (if $r.profile.http_syscalls.per_request then
      "### System calls (perf stat, counted)\n\nPer non-streaming request (\($r.profile.http_syscalls.requests) requests): " +
      ($r.profile.http_syscalls.per_request | to_entries | sort_by(-.value) | .[:12] | map("\(.key) \(.value)") | join(", ")) +
      (if $r.profile.nginx_syscalls.per_request then ".\n\nnginx's worker, the same load, per request: " +
        ($r.profile.nginx_syscalls.per_request | to_entries | sort_by(-.value) | .[:12] | map("\(.key) \(.value)") | join(", ")) else "" end) +
      (if $r.profile.stream_syscalls.per_chunk then ".\n\nPer streamed chunk (\($r.profile.stream_syscalls.events) chunks): " +
        ($r.profile.stream_syscalls.per_chunk | to_entries | sort_by(-.value) | .[:12] | map("\(.key) \(.value)") | join(", ")) + "." else "." end)
     else empty end),
    "",
    (if $r.profile.allocations then
      "### Heap allocations (valgrind memcheck, less a start and stop without traffic)\n\n" +
      "Per non-streaming request: **\($r.profile.allocations.http.allocs_per_request | n) allocations**, \($r.profile.allocations.http.bytes_per_request | n) bytes (\($r.profile.allocations.http.requests) requests). " +
      "Per streamed chunk: **\($r.profile.allocations.streams.allocs_per_chunk | n) allocations**, \($r.profile.allocations.streams.bytes_per_chunk | n) bytes; per stream besides its chunks: \($r.profile.allocations.streams.allocs_per_stream_fixed | n) (40 streams of 64 chunks against 40 of 8)."
     else empty end),
    "",
    (if $r.profile.callgrind then
      "### Instructions (valgrind callgrind, wrk -c4)\n\n**\($r.profile.callgrind.per_request | n) instructions per request** (\($r.profile.callgrind.requests) requests; \($r.profile.callgrind.note)). Unnamed functions are in stripped libraries (no debug symbols).\n\n| % of the traffic's instructions (self) | per request | function | object |\n|---|---|---|---|\n" +
      ($r.profile.callgrind.self[:15] | map("| \(.pct) | \(.per_request) | `\(.function)` | \(.object) |") | join("\n")) +
      "\n\n| % (inclusive) | per request | function | object |\n|---|---|---|---|\n" +
      ($r.profile.callgrind.inclusive[:30] | map("| \(.pct) | \(.per_request) | `\(.function)` | \(.object) |") | join("\n"))
     else empty end)
  ) end),
"",
"## Other programs (hooks for issues 4, 5, 6, 9)",
"",
"| hook | status | result | how |",
"|---|---|---|---|",
($r.hooks[] | "| \(.name) | \(.status) | " +
  (if .status != "ok" then "–"
   elif .name == "tee" then "llm-tee \(.data.tee_mb_s) MB/s, cat \(.data.cat_mb_s) MB/s (\(.data.ratio_to_cat)× cat); lines \(.data.lines_in) in, \(.data.lines_out) out"
   elif .name == "translated" then "concurrency 1: translated p50 \(.data.c1.translated.lat_us.p50) µs, p99 \(.data.c1.translated.lat_us.p99) µs against \(.data.c1.plain.lat_us.p50) µs, \(.data.c1.plain.lat_us.p99) µs; concurrency 64: translated ÷ plain req/s \(.data.c64.rps_ratio)× (\(.data.c64.translated.rps | round) against \(.data.c64.plain.rps | round))"
   else "\(.data.prog_mb_s) MB/s against jq \(.data.jq_mb_s) MB/s (\(if .data.jq_stopped then "≥ " else "" end)\(.data.speedup_over_jq)× jq\(if .data.jq_stopped then ": jq was stopped unfinished" else "" end)); peak RSS \(.data.prog_rss_kib // "?") KiB against jq \(.data.jq_rss_kib // "?") KiB" end) +
  " | \(.note | gsub("\\|"; "\\|")) |"),
""
] | join("\n")
