-- wrk script: POST /oauth/token with grant_type=refresh_token, honestly.
-- Usage: wrk ... -s refresh.lua URL -- REFRESH_TOKEN_FILE [EXTRA_FORM]
--
-- Refresh tokens are single use and every refresh returns the next one, so
-- the script keeps a pool (a FIFO queue) of live refresh tokens, one per
-- session created beforehand by a login: request() takes a token out of the
-- pool, response() parses the successor from the 200 answer and puts it back.
-- Each token is therefore presented exactly once, each session is a chain of
-- rotations, and no request can be a replay served from the grace window.
-- The pool must hold more sessions than there are connections. A non-200
-- answer loses that session; if the pool runs dry, request() sends an
-- invalid token, which the server refuses, so the run fails instead of
-- quietly measuring errors.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")

local queue, head, tail = {}, 1, 0
local extra = ""
ok, bad = 0, 0 -- globals, so that done() can read them with thread:get()

local function push(token)
   tail = tail + 1
   queue[tail] = token
end

local function pop()
   if head > tail then return nil end
   local token = queue[head]
   queue[head] = nil
   head = head + 1
   return token
end

local function form_escape(s)
   return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

function init(args)
   for _, token in ipairs(common.read_lines(args[1])) do push(token) end
   if args[2] and #args[2] > 0 then extra = "&" .. args[2] end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end

function request()
   local token = pop() or "pool-exhausted"
   local body = "grant_type=refresh_token&refresh_token=" .. form_escape(token) .. extra
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   local successor = status == 200 and body:match('"refresh_token"%s*:%s*"([^"]+)"')
   if successor then
      ok = ok + 1
      push(successor)
   else
      bad = bad + 1
   end
end

function done(summary, latency, _)
   common.report(summary, latency, threads)
end
