-- wrk.lua — the non-streaming request of the bench (a ~1 KiB chat
-- completion with a bearer key; BENCH_PROTO=anthropic: the same as an
-- Anthropic message to /v1/messages), and a JSON summary line on stdout:
-- requests, req/s, latency percentiles in µs, errors.
local pad = os.getenv("BENCH_BODY_BYTES") or "1024"
local words = { "The ", "relay ", "records ", "every ", "chunk ", "with ", "its ", "timing. " }
local content, i = {}, 0
local target = tonumber(pad) - 90
local len = 0
while len < target do
    local w = words[(i % 8) + 1]
    content[#content + 1] = w
    len = len + #w
    i = i + 1
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_PROTO") == "anthropic" then
    wrk.path = "/v1/messages"
    wrk.body = '{"model":"bench","max_tokens":1024,"messages":[{"role":"user","content":"' ..
               table.concat(content) .. '"}]}'
    wrk.headers["x-api-key"] = "sk-bench-0000000000000000"
    wrk.headers["anthropic-version"] = "2023-06-01"
else
    wrk.path = "/v1/chat/completions"
    wrk.body = '{"model":"bench","messages":[{"role":"user","content":"' .. table.concat(content) .. '"}]}'
    wrk.headers["Authorization"] = "Bearer sk-bench-0000000000000000"
end

function done(summary, latency, requests)
    local e = summary.errors
    local secs = summary.duration / 1e6
    io.write(string.format(
        '{"requests":%d,"duration_s":%.3f,"rps":%.1f,"bytes":%d,' ..
        '"lat_us":{"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d,"mean":%.1f},' ..
        '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
        summary.requests, secs, summary.requests / secs, summary.bytes,
        latency:percentile(50), latency:percentile(90), latency:percentile(99),
        latency:percentile(99.9), latency.max, latency.mean,
        e.connect, e.read, e.write, e.status, e.timeout))
end
