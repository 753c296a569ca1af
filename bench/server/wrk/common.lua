-- Shared by the wrk scripts of the tesserad benchmark: reading token files
-- and printing one machine-readable result line ("WRK {json}") from done(),
-- which scripts/bench-server.sh parses. Latencies are in microseconds.

local common = {}

-- Reads a file of one token per line; fails the run if it is empty, so a
-- benchmark can never silently run without credentials.
function common.read_lines(path)
   local lines = {}
   local f = assert(io.open(path, "r"), "cannot open " .. tostring(path))
   for line in f:lines() do
      if #line > 0 then lines[#lines + 1] = line end
   end
   f:close()
   assert(#lines > 0, "no tokens in " .. path)
   return lines
end

-- Sums a per-thread counter kept in each thread's Lua state (0 when the
-- script does not keep it).
local function thread_sum(threads, name)
   local total = 0
   for _, t in ipairs(threads or {}) do
      total = total + (tonumber(t:get(name)) or 0)
   end
   return total
end

function common.report(summary, latency, threads)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      'WRK {"requests":%d,"duration_us":%d,"rps":%.1f,' ..
      '"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,' ..
      '"err_connect":%d,"err_read":%d,"err_write":%d,"err_status":%d,' ..
      '"err_timeout":%d,"ok":%d,"bad":%d}\n',
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
      e.connect, e.read, e.write, e.status, e.timeout,
      thread_sum(threads, "ok"), thread_sum(threads, "bad")))
end

return common
