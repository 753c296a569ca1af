-- wrk script: GET /v1/verify with one Bearer token on every request.
-- Usage: wrk ... -s verify-one.lua URL -- TOKEN_FILE
-- The request is static (no request() function), so wrk builds it once and
-- the client spends as little CPU as possible.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

function init(args)
   local tokens = common.read_lines(args[1])
   wrk.headers["Authorization"] = "Bearer " .. tokens[1]
end

function done(summary, latency, requests)
   common.report(summary, latency, nil)
end
