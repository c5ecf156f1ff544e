-- envelope.lua: case 1, an envelope with one error event (BENCH_BODY, a captured SDK request)
-- and a fresh event id per request in both the envelope header and the event.
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")
setup = common.setup
done = common.done

local parts, path, headers

function init(args)
  local body = common.read_file(os.getenv("BENCH_BODY"))
  local old = body:match('"event_id":"(%x+)"')
  assert(old and #old == 32, "BENCH_BODY has no 32-digit event_id")
  parts = {}
  local pos = 1
  while true do
    local s, e = body:find(old, pos, true)
    if not s then break end
    parts[#parts + 1] = body:sub(pos, s - 1)
    pos = e + 1
  end
  parts[#parts + 1] = body:sub(pos)
  path = "/api/" .. os.getenv("BENCH_PROJECT") .. "/envelope/"
  headers = {
    ["Content-Type"] = "application/x-sentry-envelope",
    ["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_key=" .. os.getenv("BENCH_KEY") ..
      ", sentry_client=sluice-bench/1",
  }
end

function request()
  local id = common.event_id()
  return wrk.format("POST", path, headers, table.concat(parts, id))
end
