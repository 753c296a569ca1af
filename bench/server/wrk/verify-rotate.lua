-- wrk script: GET /v1/verify rotating through many distinct Bearer tokens
-- (one per line of TOKEN_FILE), so that no per-token cache can help.
-- Usage: wrk ... -s verify-rotate.lua URL -- TOKEN_FILE
-- Every request is formatted once in init(); request() only picks the next.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local requests = {}
local next_index = 0

function init(args)
   local tokens = common.read_lines(args[1])
   for i, token in ipairs(tokens) do
      requests[i] = wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token })
   end
end

function request()
   next_index = next_index % #requests + 1
   return requests[next_index]
end

function done(summary, latency, _)
   common.report(summary, latency, nil)
end
