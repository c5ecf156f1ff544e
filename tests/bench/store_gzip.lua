-- store_gzip.lua: case 2, gzip /store/ events like sentry-python's, each with a fresh event id.
-- BENCH_GZIP_HEAD (from make_bodies.py) is the gzip stream of the event without its id, cut at
-- a sync flush; request() appends '"event_id":"<id>"}' as a final stored deflate block and the
-- gzip trailer (CRC-32 continued over the suffix, total length).
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
local common = require("common")
local bit = require("bit")
setup = common.setup
done = common.done

local head, prefix_crc, prefix_len, path, headers
local crc_table = {}

local function le16(n)
  return string.char(bit.band(n, 255), bit.band(bit.rshift(n, 8), 255))
end

local function le32(n)
  return string.char(bit.band(n, 255), bit.band(bit.rshift(n, 8), 255),
    bit.band(bit.rshift(n, 16), 255), bit.band(bit.rshift(n, 24), 255))
end

-- Continues a CRC-32 (IEEE, as zlib.crc32) over s.
local function crc32(crc, s)
  crc = bit.bnot(crc)
  for i = 1, #s do
    crc = bit.bxor(bit.rshift(crc, 8), crc_table[bit.band(bit.bxor(crc, s:byte(i)), 255)])
  end
  return bit.bnot(crc)
end

function init(args)
  for i = 0, 255 do
    local c = i
    for _ = 1, 8 do
      if bit.band(c, 1) == 1 then c = bit.bxor(bit.rshift(c, 1), 0xEDB88320) else c = bit.rshift(c, 1) end
    end
    crc_table[i] = c
  end
  local data = common.read_file(os.getenv("BENCH_GZIP_HEAD"))
  local nl = data:find("\n", 1, true)
  local crc, len = data:sub(1, nl - 1):match("(%d+) (%d+)")
  prefix_crc, prefix_len = bit.tobit(tonumber(crc)), tonumber(len)
  head = data:sub(nl + 1)
  path = "/api/" .. os.getenv("BENCH_PROJECT") .. "/store/"
  headers = {
    ["Content-Type"] = "application/json",
    ["Content-Encoding"] = "gzip",
    ["X-Sentry-Auth"] = "Sentry sentry_version=7, sentry_key=" .. os.getenv("BENCH_KEY") ..
      ", sentry_client=sentry.python/1.9.10",
  }
end

function request()
  local suffix = '"event_id":"' .. common.event_id() .. '"}'
  local n = #suffix
  local body = head .. "\1" .. le16(n) .. le16(bit.band(bit.bnot(n), 0xffff)) .. suffix ..
    le32(crc32(prefix_crc, suffix)) .. le32(prefix_len + n)
  return wrk.format("POST", path, headers, body)
end
