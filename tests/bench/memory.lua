-- memory.lua: case 3, memory batches of 20 samples (POST /api/{id}/memory/). Each thread owns
-- BENCH_WORKERS workers ("b<run>-t<thread>-w<k>") and cycles through them; each worker's
-- timestamps start 6.5 days ago and advance 10 s per sample (the sampler's default interval),
-- so they stay unique per worker and inside the 7-day window.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done

local path, headers, workers, k, started
local per_batch = 20

function init(args)
  path = "/api/" .. os.getenv("BENCH_PROJECT") .. "/memory/"
  headers = {
    ["Content-Type"] = "application/json",
    ["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_key=" .. os.getenv("BENCH_KEY") ..
      ", sentry_client=sluice-memory-bench/1",
  }
  local n = tonumber(os.getenv("BENCH_WORKERS") or "200")
  local t0 = os.time() - 6.5 * 86400
  started = t0 - 3600
  workers = {}
  for w = 1, n do
    workers[w] = {
      id = string.format("b%d-t%d-w%d", run_id or 0, thread_no or 0, w),
      pid = 1000 + w,
      ts = t0,
      rss = 100000000 + w * 1000,
    }
  end
  k = 0
end

function request()
  k = k % #workers + 1
  local w = workers[k]
  local s = {}
  for j = 1, per_batch do
    w.ts = w.ts + 10
    w.rss = w.rss + 4096
    s[j] = string.format('{"timestamp":%d,"rss_bytes":%d}', w.ts, w.rss)
  end
  local body = string.format('{"worker":{"id":"%s","pid":%d,"started_at":%d},"samples":[%s]}',
    w.id, w.pid, started, table.concat(s, ","))
  return wrk.format("POST", path, headers, body)
end
