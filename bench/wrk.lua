-- File: wrk.lua
-- The one wrk script bench/run uses for every HTTP load: it is driven by environment variables so each
-- scenario differs only in data, and it prints one machine-readable line at the end, because wrk's own
-- summary is meant for people. Requests are built once (wrk.format) so the script costs nothing per
-- request; no response() callback is defined, because defining one makes wrk hand every response to Lua.
--
--   BENCH_LABEL     copied into the result line
--   BENCH_METHOD    GET (default) or POST/PUT
--   BENCH_PATH      request target; "{id}" is replaced by each line of BENCH_IDS_FILE in turn
--   BENCH_IDS_FILE  optional: one id per line (requests cycle through them, each thread from its own offset)
--   BENCH_BODY_FILE optional: request body
--   BENCH_HEADERS   optional: "Name: value" lines separated by newlines
--
-- Output: BENCH_JSON {"label":..,"requests":..,"duration_us":..,"p50_us":..,"p99_us":..,"err_status":..}
-- (wrk counts responses with status >= 400 in err_status; latencies are microseconds).

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local label = os.getenv("BENCH_LABEL") or ""

local body = nil
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

local headers = {}
for line in (os.getenv("BENCH_HEADERS") or ""):gmatch("[^\n]+") do
  local k, v = line:match("^%s*([^:]+):%s*(.-)%s*$")
  if k then
    headers[k] = v
  end
end
-- wrk.format adds no Host when given its own header table, and nginx rejects HTTP/1.1 without one.
if not headers["Host"] then
  headers["Host"] = wrk.port and (wrk.host .. ":" .. wrk.port) or wrk.host
end
if body and not headers["Content-Type"] then
  headers["Content-Type"] = "application/json"
end

local requests = {}
local ids_file = os.getenv("BENCH_IDS_FILE")
if ids_file and ids_file ~= "" then
  for id in io.lines(ids_file) do
    if id ~= "" then
      local p = path:gsub("{id}", function() return id end)
      requests[#requests + 1] = wrk.format(method, p, headers, body)
    end
  end
else
  requests[1] = wrk.format(method, path, headers, body)
end
assert(#requests > 0, "no requests to send")

local next_index = 0

function init(args)
  -- Spread threads over the id list so they do not all hit the same ids in step.
  math.randomseed(os.time() + #tostring({}) + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 100000)
  next_index = math.random(#requests) - 1
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"label":"%s","requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%.1f,"p90_us":%.1f,' ..
    '"p99_us":%.1f,"mean_us":%.1f,"max_us":%.1f,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
    '"err_status":%d,"err_timeout":%d}\n',
    label, summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
