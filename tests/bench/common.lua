-- common.lua: helpers shared by the wrk scripts (wrk runs LuaJIT, one state per thread).
-- setup() numbers the threads so every thread makes ids no other thread makes; a run id from
-- the clock keeps ids unique across runs on the same database.
local common = {}
local counter = 0

local next_thread = 0
function common.setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_no", next_thread)
  thread:set("run_id", (os.time() * 7919 + next_thread) % 2147483647)
end

-- A fresh 32-hex-digit event id per call: run id, thread number, per-thread counter.
function common.event_id()
  counter = counter + 1
  return string.format("%08x%08x%08x%08x", run_id or 0, thread_no or 0, 0x5eed, counter)
end

function common.read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local s = f:read("*a")
  f:close()
  return s
end

-- Collects wrk's per-run numbers in one line the run script parses.
function common.done(summary, latency, requests)
  local errs = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, errs.status, errs.connect + errs.read + errs.write + errs.timeout))
end

return common
