-- wrk script for the admission workload: POST one AdmissionReview (a file) on keep-alive connections, and check
-- every answer. Environment: BENCH_REVIEW (path of the review's JSON), BENCH_EXPECT (allowed|refused), BENCH_PATH,
-- BENCH_DELAY_MS (optional: a pause before each request on a connection, for latency at a low rate).
-- Prints one line "BENCHJSON {...}": reviews/s, latency percentiles (ms), wrk's error counts, and the answers that
-- were not 200 (bad_status) or did not carry the expected verdict (bad_verdict).
local f = assert(io.open(os.getenv("BENCH_REVIEW"), "rb"))
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local expect = os.getenv("BENCH_EXPECT") == "refused" and '"allowed":false' or '"allowed":true'
local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
if delay_ms > 0 then
  function delay() return delay_ms end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

bad_status, bad_verdict, sample = 0, 0, ""
function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
    if sample == "" then sample = status .. " " .. string.sub(body or "", 1, 200) end
  elseif not string.find(body, expect, 1, true) then
    bad_verdict = bad_verdict + 1
    if sample == "" then sample = string.sub(body, 1, 200) end
  end
end

function done(summary, latency, requests)
  local bs, bv, s = 0, 0, ""
  for _, t in ipairs(threads) do
    bs = bs + t:get("bad_status")
    bv = bv + t:get("bad_verdict")
    if s == "" then s = t:get("sample") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"seconds":%.3f,"req_per_s":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"err_status":%d,"err_connect":%d,"err_read":%d,"err_write":%d,"err_timeout":%d,' ..
    '"bad_status":%d,"bad_verdict":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    e.status, e.connect, e.read, e.write, e.timeout, bs, bv))
  if s ~= "" then io.write("BENCHSAMPLE " .. string.gsub(s, "\n", " ") .. "\n") end
end
