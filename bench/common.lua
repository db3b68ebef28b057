-- Shared helpers for the Behalf wrk scripts (loaded with dofile by each scenario script).
--
-- Every thread keeps three globals that done() collects through thread:get():
--   statuses   : { [http status] = count }
--   unexpected : number of responses whose status was not the one the scenario expects
--   cycles     : scenario-defined count of completed units of work (start-return cycles)
-- done() prints a human summary and one machine-readable line starting with BENCH_RESULT
-- that bench/run.sh parses.

local M = {}

local threads = {}

statuses = {}
unexpected = 0
cycles = 0

-- setup(thread) runs in wrk's main Lua state once per thread, before that thread's init().
function M.setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function M.count(status)
   statuses[status] = (statuses[status] or 0) + 1
end

function M.unexpected()
   unexpected = unexpected + 1
end

-- application/x-www-form-urlencoded encoding of one value
function M.urlencode(s)
   return (tostring(s):gsub("[^%w%-%._~]", function(c)
      return string.format("%%%02X", string.byte(c))
   end))
end

-- The value of a cookie set by a Set-Cookie response header (header names matched case-insensitively).
function M.set_cookie_value(headers, name)
   for k, v in pairs(headers) do
      if string.lower(k) == "set-cookie" then
         local val = string.match(v, "^%s*" .. name .. "=([^;]*)")
         if val and val ~= "" then
            return val
         end
      end
   end
   return nil
end

-- The first CSRF token in an HTML page.
function M.csrf_from(body)
   if not body then return nil end
   return string.match(body, 'name="csrf_token"%s+value="([^"]+)"')
end

local function ms(us)
   return us / 1000.0
end

function M.done(summary, latency, requests)
   local totals, bad, done_cycles = {}, 0, 0
   for _, t in ipairs(threads) do
      local s = t:get("statuses")
      if type(s) == "table" then
         for k, v in pairs(s) do
            totals[k] = (totals[k] or 0) + v
         end
      end
      bad = bad + (tonumber(t:get("unexpected")) or 0)
      done_cycles = done_cycles + (tonumber(t:get("cycles")) or 0)
   end
   local keys = {}
   for k in pairs(totals) do table.insert(keys, k) end
   table.sort(keys)
   local parts = {}
   for _, k in ipairs(keys) do table.insert(parts, string.format("%s=%d", tostring(k), totals[k])) end
   local status_str = #parts > 0 and table.concat(parts, ",") or "none"

   local secs = summary.duration / 1e6
   local rps = secs > 0 and summary.requests / secs or 0
   local cps = secs > 0 and done_cycles / secs or 0
   local e = summary.errors
   local p50, p90, p99, p999 = ms(latency:percentile(50)), ms(latency:percentile(90)),
      ms(latency:percentile(99)), ms(latency:percentile(99.9))

   io.write("---- lua summary ----\n")
   io.write(string.format("requests: %d in %.2fs = %.1f req/s\n", summary.requests, secs, rps))
   io.write(string.format("latency ms: p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
      p50, p90, p99, p999, ms(latency.max)))
   io.write(string.format("statuses: %s\n", status_str))
   io.write(string.format("unexpected statuses: %d\n", bad))
   io.write(string.format("socket errors: connect %d, read %d, write %d, timeout %d\n",
      e.connect, e.read, e.write, e.timeout))
   if done_cycles > 0 then
      io.write(string.format("completed cycles: %d = %.1f cycles/s\n", done_cycles, cps))
   end
   io.write(string.format(
      "BENCH_RESULT rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d unexpected=%d cycles=%d cycles_per_s=%.1f " ..
      "sock_errors=%d statuses=%s\n",
      rps, p50, p99, summary.requests, bad, done_cycles, cps,
      e.connect + e.read + e.write + e.timeout, status_str))
end

return M
