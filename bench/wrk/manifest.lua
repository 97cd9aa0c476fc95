-- wrk script for W4: GET or HEAD one manifest by tag with Basic auth, on keep-alive connections.
-- Environment: BENCH_METHOD (GET|HEAD), BENCH_PATH, BENCH_AUTH (base64 user:pass), BENCH_ACCEPT.
-- Prints one line "BENCHJSON {...}" with req/s, latency percentiles (ms) and error counts.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_AUTH")
wrk.headers["Accept"] = os.getenv("BENCH_ACCEPT")

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"seconds":%.3f,"req_per_s":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"err_status":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
